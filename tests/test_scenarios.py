"""The int8 tile's directed scenarios: where the int32 wrap-around is checked."""

import numpy as np
import pytest

from sim_models.config import TileConfig
from sim_models.golden import TileModel
from tb.scenarios import directed_scenarios

#: Tiles whose Verilator and Icarus runs are part of ``make test`` (``tb/test_tile_sim.py``).
TILES_BOTH_SIMULATORS_RUN = [TileConfig(8, 8)]


def _wrap_scenario(config):
    scenarios = directed_scenarios(config, np.random.default_rng(1))
    return next((s for s in scenarios if s.name == "all_min_wraps_int32"), None)


@pytest.mark.parametrize("config", TILES_BOTH_SIMULATORS_RUN, ids=lambda c: c.name)
def test_the_wrap_scenario_runs_and_wraps_on_a_tile_both_simulators_run(config):
    scenario = _wrap_scenario(config)
    assert scenario is not None
    (read,) = TileModel(config).execute(scenario.program)
    multiplies = len(scenario.program) - 2
    unwrapped = multiplies * config.rows * 128 * 128
    assert unwrapped > 2 ** 31 - 1
    assert np.all(read == unwrapped - 2 ** 32), "every entry wrapped exactly once"


@pytest.mark.parametrize("config", [TileConfig(1, 1), TileConfig(4, 4)], ids=lambda c: c.name)
def test_tiles_that_would_need_over_16k_multiplies_to_wrap_leave_it_to_larger_ones(config):
    assert _wrap_scenario(config) is None
