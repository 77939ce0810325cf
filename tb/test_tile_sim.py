"""Simulation regression of the tile: every configuration on every simulator.

Each case simulates the tile (:func:`tb.launch.simulate`: Verilog generated, built once per
simulator) and runs the cocotb tests of ``tb.tile_tb``. Measurements go to
``build/results/tile/<config>_<sim>.jsonl``. Environment (read by :mod:`tb.regression`): SEED
(default 1) reseeds every random test; SIM restricts to one simulator.
"""


import pytest

from sim_models.config import TileConfig

from .regression import regression_runs, run_case


#: Array sizes of the regression: the sizes the issue names, plus one with a single shallow PSUM
#: bank so that results leave through several banks' worth of passes.
CONFIGS = [
    TileConfig(1, 1), TileConfig(2, 3), TileConfig(4, 4), TileConfig(8, 8),
    TileConfig(16, 16), TileConfig(8, 16), TileConfig(3, 5, psum_banks=1, psum_depth=8),
]


@pytest.mark.parametrize("sim, config, tests",
                         regression_runs([(config, None) for config in CONFIGS]))
def test_tile(sim, config, tests, request):
    run_case("tb.tile_tb", "tile", sim, config, tests, request)
