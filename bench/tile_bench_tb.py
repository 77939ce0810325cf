"""cocotb program of the tile benchmark: one GEMM given in the environment, fully checked.

BENCH_M, BENCH_K, BENCH_N give the GEMM; the tile configuration, seed and results file come as
in ``tb.tile_tb``. The run is checked bit-exactly and cycle-exactly like any regression test, so
a benchmark figure always comes from a correct run.
"""

import os

import cocotb
from cocotb.triggers import RisingEdge

from sim_models.tiler import tile_gemm
from tb.scenarios import Scenario
from tb.regression import seeded_rng
from tb.tile_tb import TileHarness, check_timing, check_values, config_from_env, record


@cocotb.test()
async def gemm(dut):
    """Run the benchmark GEMM with ideal streams."""
    config = config_from_env()
    rng = seeded_rng("TILE_SEED", "bench_gemm")
    m, k, n = (int(os.environ[f"BENCH_{name}"]) for name in "MKN")
    stationary = rng.integers(-128, 128, size=(k, m), dtype="int8")
    moving = rng.integers(-128, 128, size=(k, n), dtype="int8")
    tiled = tile_gemm(config, stationary, moving)
    scenario = Scenario(f"bench_m{m}_k{k}_n{n}", tiled.program, tiled, (stationary, moving))
    harness = TileHarness(dut, config)
    await harness.reset()
    await RisingEdge(dut.clk)
    outcome = await harness.run(scenario.program)
    check_values(config, scenario, outcome["reads"])
    model = check_timing(config, scenario.name, scenario.program, outcome["transfers"],
                         exact=True)
    record(config, scenario.name, "ideal", scenario.program, outcome["transfers"], model,
           outcome["wall_seconds"])
