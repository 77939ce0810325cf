"""Simulation regression of the all-reduce ring on every simulator.

Each case simulates an all-reduce ring (:func:`tb.launch.simulate`: Verilog generated, built
once per simulator) and runs the cocotb tests of ``tb.allreduce_tb`` on it. Measurements go to
``build/results/allreduce/<config>_<sim>.jsonl``. Environment (read by :mod:`tb.regression`):
SEED (default 1) reseeds every random test; SIM restricts to one simulator.
"""


import pytest

from sim_models.config import AllReduceConfig, FabricConfig

from .regression import regression_runs, run_case


#: Rings and vector lengths: even and uneven chunks, one and two elements per flit, buffers
#: shallower than the credit loop (payload at 2 flits per 3 cycles), and a vector shorter than
#: the ring (empty chunks, sent as header-only packets); FP32 on a ring of 4, BF16 with three
#: elements per 48-bit flit.
CASES = [
    AllReduceConfig(FabricConfig.ring(2), 8),
    AllReduceConfig(FabricConfig.ring(3, flit_width=64), 10),
    AllReduceConfig(FabricConfig.ring(3, buffer_depth=2), 20),
    AllReduceConfig(FabricConfig.ring(5), 23),
    AllReduceConfig(FabricConfig.ring(5), 3),
    AllReduceConfig(FabricConfig.ring(4), 13, "fp32"),
    AllReduceConfig(FabricConfig.ring(3, flit_width=48), 17, "bf16"),
]
#: Cases Verilator also runs: its C++ build of a ring takes over half a minute on two shared
#: cores, so it runs the one case with uneven chunks and two elements per flit.
VERILATOR_CASES = ("ring3_w64_v10",)
TESTS = ("random_traffic", "ideal_cycles")


@pytest.mark.parametrize("sim, config, tests",
                         regression_runs([(config, TESTS) for config in CASES], VERILATOR_CASES))
def test_allreduce(sim, config, tests, request):
    run_case("tb.allreduce_tb", "allreduce", sim, config, tests, request)
