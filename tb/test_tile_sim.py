"""Simulation regression of the tile: every configuration on every simulator.

Each case simulates the tile (:func:`tb.launch.simulate`: Verilog generated, built once per
simulator) and runs the cocotb tests of ``tb.tile_tb``. Measurements go to
``build/results/tile/<config>_<sim>.jsonl``. Floating-point tiles (small, as their PEs cost
simulation time) run every test once per matmul format of :data:`FLOAT_FORMATS`; their
measurements go to ``build/results/tile/<config>_<format>_<sim>.jsonl``. Environment (read by :mod:`tb.regression`): SEED
(default 1) reseeds every random test; SIM restricts to one simulator.
"""


import pytest

from sim_models.config import TRAINIUM2_FORMATS, TileConfig
from sim_models.program import MatmulFormat

from .regression import regression_runs, run_case
from .run_request import matmul_format_option


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


#: Floating-point tiles of the regression: square, and not square with one shallow PSUM bank.
FLOAT_CONFIGS = [
    TileConfig(4, 4, formats=TRAINIUM2_FORMATS),
    TileConfig(3, 5, psum_banks=1, psum_depth=8, formats=TRAINIUM2_FORMATS),
]
#: Matmul formats each floating-point tile runs: each format, mixed formats (16 x 8 bits and
#: E4M3 x E5M2), and FP8 double-row (both FP8 formats, and mixed).
FLOAT_FORMATS = [MatmulFormat(name, name) for name in TRAINIUM2_FORMATS] + [
    MatmulFormat("bf16", "fp8_e4m3"), MatmulFormat("fp8_e4m3", "fp8_e5m2"),
    MatmulFormat("fp8_e4m3", "fp8_e4m3", double_row=True),
    MatmulFormat("fp8_e5m2", "fp8_e5m2", double_row=True),
    MatmulFormat("fp8_e5m2", "fp8_e4m3", double_row=True)]


@pytest.mark.parametrize("matmul_format", FLOAT_FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("sim, config, tests",
                         regression_runs([(config, None) for config in FLOAT_CONFIGS]))
def test_float_tile(sim, config, tests, matmul_format, request):
    run_case("tb.tile_tb", "tile", sim, config, tests, request,
             matmul_format_option(matmul_format), f"{config.name}_{matmul_format.name}")
