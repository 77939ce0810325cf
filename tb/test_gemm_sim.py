"""Simulation regression of the distributed GEMM ring on every simulator.

Each case generates a ring of tiles with all-reduce interfaces, builds it once per simulator (in
its own directory under ``build/gemm/``) and runs the cocotb tests of
``tb.distributed_gemm_tb`` on it. Measurements go to ``build/results/gemm/<config>_<sim>.jsonl``. Environment: GEMM_SEED
(default 1) reseeds every random test; SIM restricts to one simulator.
"""


import pytest

from hdl.emit import generate, write
from sim_models.config import DistributedGemmConfig, FabricConfig, TileConfig

from .regression import BUILD, SIMULATORS, fresh_results, seed_from_env
from .runner import run_simulation


#: Tiles, rings and result vectors per all-reduce: three 4x4 tiles (24-element vectors in
#: chunks of 8), and two 2x3 tiles with two elements per 64-bit flit (an odd vector of 15).
CASES = [
    (TileConfig(4, 4), FabricConfig.ring(3), 6),
    (TileConfig(2, 3), FabricConfig.ring(2, flit_width=64), 5),
]
#: Cases Verilator also runs: one, as its C++ build of three tiles and a ring is the cost.
VERILATOR_CASES = ("r4c4_int8_ring3_n6",)
TESTS = ("gemm_stalled", "gemm_ideal")


def case_name(tile, ring, columns):
    return f"{tile.name}_{ring.name}_n{columns}"


RUNS = [(sim, *case) for sim in SIMULATORS for case in CASES
        if sim == "icarus" or case_name(*case) in VERILATOR_CASES]


@pytest.mark.parametrize("sim, tile, ring, columns", RUNS,
                         ids=[f"{sim}-{case_name(*case)}" for sim, *case in RUNS])
def test_gemm(sim, tile, ring, columns):
    seed = seed_from_env("GEMM_SEED")
    name = case_name(tile, ring, columns)
    results = fresh_results("gemm", name, sim)
    generated = write(generate(DistributedGemmConfig(tile, ring, columns)),
                      BUILD / "gemm" / "verilog")
    run_directory = BUILD / "gemm" / sim / name
    outcome = run_simulation(
        sim, [generated], generated.stem, "tb.distributed_gemm_tb",
        build_dir=run_directory, test_dir=run_directory, testcase=list(TESTS), seed=int(seed),
        extra_env={"GEMM_ROWS": str(tile.rows), "GEMM_COLS": str(tile.cols),
                   "GEMM_NODES": str(ring.nodes), "GEMM_COLUMNS": str(columns),
                   "GEMM_FLIT_WIDTH": str(ring.flit_width),
                   "GEMM_LENGTH_WIDTH": str(ring.length_width),
                   "GEMM_BUFFER_DEPTH": str(ring.buffer_depth),
                   "GEMM_SEED": seed, "GEMM_RESULTS": str(results)})
    assert outcome.passed == len(TESTS), f"{outcome.passed} of {len(TESTS)} cocotb tests passed"
    print(f"{name} on {sim}: {outcome.passed} cocotb tests passed in {outcome.wall_time:.1f} s "
          f"(build {outcome.build_time:.1f} s)")
