"""Simulation regression of the distributed GEMM ring on every simulator.

Each case simulates a ring of tiles with all-reduce interfaces (:func:`tb.launch.simulate`:
Verilog generated, built once per simulator) and runs the cocotb tests of
``tb.distributed_gemm_tb`` on it. Measurements go to
``build/results/gemm/<config>_<sim>.jsonl``. Environment (read by :mod:`tb.regression`): SEED
(default 1) reseeds every random test; SIM restricts to one simulator.
"""


import pytest

from sim_models.config import DistributedGemmConfig, FabricConfig, TileConfig

from .regression import regression_runs, run_case


#: Tiles, rings and result vectors per all-reduce: three 4x4 tiles (24-element vectors in
#: chunks of 8), and two 2x3 tiles with two elements per 64-bit flit (an odd vector of 15);
#: three 4x4 BF16 tiles, and two 2x3 FP8 tiles (E4M3 and E5M2, double-row or not), whose FP32
#: results the all-reduce adds in the rule's order.
CASES = [
    DistributedGemmConfig(TileConfig(4, 4), FabricConfig.ring(3), 6),
    DistributedGemmConfig(TileConfig(2, 3), FabricConfig.ring(2, flit_width=64), 5),
    DistributedGemmConfig(TileConfig(4, 4, formats=("bf16",)), FabricConfig.ring(3), 6),
    DistributedGemmConfig(TileConfig(2, 3, formats=("fp8_e4m3", "fp8_e5m2")),
                          FabricConfig.ring(2, flit_width=64), 5),
]
#: Cases Verilator also runs: the int8 and the BF16 ring of three 4x4 tiles (a cold build of
#: each took 20 s on an idle machine), as C++ builds of three tiles and a ring are the cost.
VERILATOR_CASES = ("r4c4_int8_ring3_n6", "r4c4_bf16_ring3_n6")
TESTS = ("gemm_stalled", "gemm_ideal")


@pytest.mark.parametrize("sim, config, tests",
                         regression_runs([(config, TESTS) for config in CASES], VERILATOR_CASES))
def test_gemm(sim, config, tests, request):
    run_case("tb.distributed_gemm_tb", "gemm", sim, config, tests, request)
