# amaranth: UnusedElaboratable=no
"""The fast path's harness memories: sized per stream to the programs, within bounds, refused
in one line otherwise (no simulator: the harness is only elaborated; the refused ones are never
elaborated, which the first line tells Amaranth's linter)."""

import numpy as np
import pytest
from amaranth.back import rtlil

from hdl.tile_testbench import CAPACITY, TileTestbench
from sim_models.config import TileConfig
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum
from tb.fast_tile import DEFAULT_CAPACITIES, capacities_for

TILE = TileConfig(4, 4, psum_depth=64)


def _program(loads, multiplies, n):
    """``loads`` loads of 4 rows, ``multiplies`` multiplies of ``n`` beats, one read of n."""
    stationary = LoadStationary(np.zeros((4, 4), np.int8))
    moving = MultiplyMoving(np.zeros((4, n), np.int8), 0, False)
    return [stationary] * loads + [moving] * multiplies + [ReadPsum(0, 4, n)]


def test_capacities_hold_the_largest_program_rounded_up_to_a_power_of_two():
    programs = [_program(1, 2, 40), _program(80, 10, 60)]
    # op: at most 80 + 10 + 1 beats; stationary 4 x 80; moving 10 x 60; result 60
    assert capacities_for(TILE, programs) == (256, 512, 1024, 256)


def test_capacities_stop_at_the_harness_limit():
    program = _program(1, CAPACITY // 64 + 1, 64)
    assert capacities_for(TILE, [program])[2] == CAPACITY
    assert DEFAULT_CAPACITIES == (CAPACITY,) * 4


def test_the_memories_are_the_sizes_asked_for():
    text = rtlil.convert(TileTestbench(TILE, (256, 512, 1024, 2048)))
    sizes = {line.split()[-1]: int(line.split()[4]) for line in text.splitlines()
             if line.lstrip().startswith("memory ")}
    assert {name.split(".")[-1].lstrip("\\"): size for name, size in sizes.items()} == {
        "op_beats": 256, "op_trace": 256, "stationary_beats": 512, "stationary_trace": 512,
        "moving_beats": 1024, "moving_trace": 1024, "result_trace": 2048,
        "result_beats": 2048}


@pytest.mark.parametrize("capacities", [(256, 512, 1024), (0, 256, 256, 256),
                                        (256, 256, CAPACITY + 1, 256)])
def test_capacities_out_of_bounds_are_refused_in_one_line(capacities):
    with pytest.raises(ValueError, match=rf"^Parameter 'capacities' must be 4 beat counts in "
                                         rf"1\.\.{CAPACITY}, one per stream, not "):
        TileTestbench(TILE, capacities)
