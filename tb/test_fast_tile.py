"""The fast path (:mod:`tb.fast_tile`): the HDL-side harness under its C++ driver keeps every
check of the cocotb path, and its checks catch a wrong result bit, a late handshake and a beat
that moved against its stall pattern.

Verilator only (skipped when SIM=icarus). Seeded by SEED like every random test.
"""

import numpy as np
import pytest

from sim_models.config import TRAINIUM2_FORMATS, TileConfig
from sim_models.cycle_model import time_program
from sim_models.program import INT8, LoadStationary, MatmulFormat, MultiplyMoving, ReadPsum

from .fast_tile import FastTile, check_stall_pattern
from .regression import BUILD, SEED, SIMULATORS
from .scenarios import gemm_scenarios
from .streams import Transfers
from .tile_checks import check_timing, check_values, handshake_agreement

pytestmark = pytest.mark.skipif("verilator" not in SIMULATORS,
                                reason="the fast path runs on Verilator only")

INT8_TILE = TileConfig(4, 4, psum_depth=64)
#: 12 rows: two groups of 6 PE rows (``hdl.pe_column.pe_group_rows``), each a hierarchical block
#: of its own, with the partial sums and the stationary rows crossing between them.
FLOAT_TILE = TileConfig(12, 2, psum_depth=64, formats=TRAINIUM2_FORMATS)
#: Beats per stream memory of the harnesses here: the programs of these tests move at most 256
#: per stream; memories of the default 8,192 beats make the harness slower to generate and build.
CAPACITIES = (1024,) * 4


@pytest.fixture(scope="module")
def int8_tile():
    return FastTile(INT8_TILE, BUILD, capacities=CAPACITIES)


def _scenarios(config, test, matmul_format=INT8):
    rng = np.random.default_rng([SEED, sum(map(ord, test))])
    print(f"seed {SEED}; rerun: SEED={SEED} python -m pytest tb/test_fast_tile.py -k {test}")
    return gemm_scenarios(config, rng, matmul_format)


def _check_ideal(tile, scenario, outcome):
    check_values(tile.config, scenario, outcome["reads"])
    model = check_timing(tile.config, scenario.name, scenario.program, outcome["transfers"],
                         exact=True)
    checked, matching = handshake_agreement(model, scenario.program, outcome["transfers"])
    assert checked == matching > 0


def test_gemms_with_ideal_streams_are_bit_and_cycle_exact(int8_tile):
    for scenario in _scenarios(INT8_TILE, "ideal"):
        _check_ideal(int8_tile, scenario, int8_tile.run(scenario.program))


def test_float_gemms_with_ideal_streams_are_bit_and_cycle_exact():
    tile = FastTile(FLOAT_TILE, BUILD, capacities=CAPACITIES)
    for matmul_format in (MatmulFormat("bf16", "bf16"),
                          MatmulFormat("fp8_e4m3", "fp8_e5m2", double_row=True)):
        for scenario in _scenarios(FLOAT_TILE, "float", matmul_format)[:2]:
            _check_ideal(tile, scenario, tile.run(scenario.program, run=matmul_format.name))


def test_gemms_with_stalls_keep_every_check(int8_tile):
    stalled = 0
    for scenario in _scenarios(INT8_TILE, "stalled"):
        outcome = int8_tile.run(scenario.program, stall_seed=SEED)
        check_values(INT8_TILE, scenario, outcome["reads"])
        model = check_timing(INT8_TILE, scenario.name, scenario.program, outcome["transfers"],
                             exact=False)
        check_stall_pattern(outcome["transfers"], outcome["seeds"], outcome["threshold"])
        stalled += outcome["cycles"] > model.total_cycles
    assert stalled  # the stalls did stall


def test_reset_mid_operation_then_the_program_runs_exactly(int8_tile):
    scenario = _scenarios(INT8_TILE, "reset")[1]
    multiplies = [op for op in time_program(INT8_TILE, scenario.program).operations
                  if op.kind == "multiply"]
    middle = multiplies[len(multiplies) // 2]
    outcome = int8_tile.run(scenario.program, reset_at=(middle.first_beat + middle.last_beat) // 2)
    _check_ideal(int8_tile, scenario, outcome)


def test_a_wrong_result_bit_is_caught(int8_tile):
    scenario = _scenarios(INT8_TILE, "wrong_bit")[0]
    outcome = int8_tile.run(scenario.program)
    rng = np.random.default_rng(SEED)
    read = outcome["reads"][int(rng.integers(len(outcome["reads"])))]
    row, column = (int(rng.integers(size)) for size in read.shape)
    read[row, column] ^= 1 << int(rng.integers(32))
    with pytest.raises(AssertionError):
        check_values(INT8_TILE, scenario, outcome["reads"])


def test_a_late_handshake_is_caught(int8_tile):
    scenario = _scenarios(INT8_TILE, "late")[0]
    moving = [op for op in time_program(INT8_TILE, scenario.program).operations
              if op.kind == "multiply"][0]
    outcome = int8_tile.run(scenario.program, holds=[moving.first_beat + 1])
    check_values(INT8_TILE, scenario, outcome["reads"])  # late, but right
    with pytest.raises(AssertionError, match="RTL cycles must equal the cycle model"):
        check_timing(INT8_TILE, scenario.name, scenario.program, outcome["transfers"],
                     exact=True)


def test_a_beat_against_its_stall_pattern_is_caught(int8_tile):
    scenario = _scenarios(INT8_TILE, "pattern")[0]
    outcome = int8_tile.run(scenario.program, stall_seed=SEED)
    transfers = outcome["transfers"]
    cycles = transfers["moving"].cycles
    stalled = next(beat for beat in range(1, len(cycles)) if cycles[beat] > cycles[beat - 1] + 1)
    moved = {**transfers, "moving": Transfers([], [*cycles[:stalled], cycles[stalled - 1] + 1,
                                                  *cycles[stalled + 1:]])}
    if moved["moving"].cycles == cycles:
        pytest.fail("no stall to move a beat into")
    with pytest.raises(AssertionError, match="before it was offered"):
        check_stall_pattern(moved, outcome["seeds"], outcome["threshold"])


def test_a_program_beyond_the_harness_is_refused_in_one_line(int8_tile):
    multiplies = CAPACITIES[2] // INT8_TILE.psum_depth + 1
    moving = np.zeros((4, INT8_TILE.psum_depth), np.int8)
    program = [LoadStationary(np.zeros((4, 4), np.int8)),
               *[MultiplyMoving(moving, 0, False)] * multiplies, ReadPsum(0, 4, 1)]
    beats = multiplies * INT8_TILE.psum_depth
    with pytest.raises(ValueError, match=f"moving stream has {beats} beats.*at most"):
        int8_tile.run(program)
