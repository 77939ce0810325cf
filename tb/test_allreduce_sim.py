"""Simulation regression of the all-reduce ring on every simulator.

Each case generates an all-reduce ring's Verilog, builds it once per simulator (in its own
directory under ``build/allreduce/``) and runs the cocotb tests of ``tb.allreduce_tb`` on it.
Measurements go to ``build/results/allreduce/<config>_<sim>.jsonl``. Environment:
ALLREDUCE_SEED (default 1) reseeds every random test; SIM restricts to one simulator.
"""


import pytest

from sim_models.config import FabricConfig

from .fabric_runs import allreduce_case_name as case_name
from .fabric_runs import simulate_allreduce
from .regression import SIMULATORS, fresh_results, seed_from_env


#: Rings and vector lengths: even and uneven chunks, one and two elements per flit, buffers
#: shallower than the credit loop (payload at 2 flits per 3 cycles), and a vector shorter than
#: the ring (empty chunks, sent as header-only packets).
CASES = [
    (FabricConfig.ring(2), 8),
    (FabricConfig.ring(3, flit_width=64), 10),
    (FabricConfig.ring(3, buffer_depth=2), 20),
    (FabricConfig.ring(5), 23),
    (FabricConfig.ring(5), 3),
]
#: Cases Verilator also runs: its C++ build of a ring takes over half a minute on two shared
#: cores, so it runs the one case with uneven chunks and two elements per flit.
VERILATOR_CASES = ("ring3_w64_v10",)
TESTS = ("random_traffic", "ideal_cycles")


RUNS = [(sim, config, length) for sim in SIMULATORS for config, length in CASES
        if sim == "icarus" or case_name(config, length) in VERILATOR_CASES]


@pytest.mark.parametrize("sim, config, length", RUNS,
                         ids=[f"{sim}-{case_name(config, length)}" for sim, config, length in RUNS])
def test_allreduce(sim, config, length):
    seed = seed_from_env("ALLREDUCE_SEED")
    name = case_name(config, length)
    results = fresh_results("allreduce", name, sim)
    outcome = simulate_allreduce(sim, config, length, TESTS, seed, results)
    assert outcome.passed == len(TESTS), f"{outcome.passed} of {len(TESTS)} cocotb tests passed"
    print(f"{name} on {sim}: {outcome.passed} cocotb tests passed in {outcome.wall_time:.1f} s "
          f"(build {outcome.build_time:.1f} s)")
