"""Simulation regression of the tile: every configuration on every simulator.

Each case generates the tile's Verilog, builds it once per simulator and runs the cocotb tests
of ``tb.tile_tb``. Measurements go to ``build/results/tile/<config>_<sim>.jsonl``.
Environment: TILE_SEED (default 1) reseeds every random test; SIM restricts to one simulator.
"""


import pytest

from hdl.emit import generate, write
from sim_models.config import TileConfig

from .regression import BUILD, SIMULATORS, fresh_results, seed_from_env
from .runner import run_simulation


#: Array sizes of the regression: the sizes the issue names, plus one with a single shallow PSUM
#: bank so that results leave through several banks' worth of passes.
CONFIGS = [
    TileConfig(1, 1), TileConfig(2, 3), TileConfig(4, 4), TileConfig(8, 8),
    TileConfig(16, 16), TileConfig(8, 16), TileConfig(3, 5, psum_banks=1, psum_depth=8),
]


def tile_verilog(config):
    """Path of the tile's generated Verilog, written under build/verilog."""
    return write(generate(config), BUILD / "verilog")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda config: config.name)
@pytest.mark.parametrize("sim", SIMULATORS)
def test_tile(sim, config):
    seed = seed_from_env("TILE_SEED")
    results = fresh_results("tile", config.name, sim)
    generated = tile_verilog(config)
    run_directory = BUILD / "sim" / sim / config.name
    outcome = run_simulation(
        sim, [generated], generated.stem, "tb.tile_tb", build_dir=run_directory,
        test_dir=run_directory, seed=int(seed),
        extra_env={"TILE_ROWS": str(config.rows), "TILE_COLS": str(config.cols),
                   "TILE_PSUM_BANKS": str(config.psum_banks),
                   "TILE_PSUM_DEPTH": str(config.psum_depth),
                   "TILE_SEED": seed, "TILE_RESULTS": str(results)})
    print(f"{config.name} on {sim}: {outcome.passed} cocotb tests passed "
          f"in {outcome.wall_time:.1f} s (build {outcome.build_time:.1f} s)")
