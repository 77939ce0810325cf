"""The program packer: float lanes, FP8 double-row pairs and op format fields, unpacked with
the RTL's own layouts (``hdl.isa``)."""

import numpy as np
import pytest

from hdl.isa import Opcode, moving_layout, op_layout, stationary_layout
from sim_models.config import TileConfig
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum
from tb.program_packer import ProgramPacker
from tb.streams import unpack

CONFIG = TileConfig(3, 2, psum_depth=8, formats=("bf16", "fp8_e4m3", "fp8_e5m2"))


def test_double_row_pairs_rows_into_lanes():
    """K = 6 in double-row mode (NKI's [K/2, 2, X] layout): stationary beat b holds rows b (low
    byte) and b + 3 (high byte); moving lane p holds elements p and p + 3."""
    stationary = np.arange(1, 13, dtype=np.uint8).reshape(6, 2)
    moving = np.arange(0x21, 0x2D, dtype=np.uint8).reshape(6, 2)
    beats = ProgramPacker(CONFIG).beats([
        LoadStationary(stationary, "fp8_e4m3", True),
        MultiplyMoving(moving, 1, True, "fp8_e5m2", True), ReadPsum(1, 2, 2)])
    assert [unpack(stationary_layout(CONFIG), beat) for beat in beats.stationary] == [
        [0x0701, 0x0802], [0x0903, 0x0A04], [0x0B05, 0x0C06]]
    assert [unpack(moving_layout(CONFIG), beat) for beat in beats.moving] == [
        [0x2721, 0x2923, 0x2B25], [0x2822, 0x2A24, 0x2C26]]
    load, multiply, read = (unpack(op_layout(CONFIG), beat) for beat in beats.ops)
    assert (load["opcode"], load["k"], load["m"], load["format"], load["double_row"]) == \
        (Opcode.LOAD_STATIONARY, 6, 2, 1, 1)
    assert (multiply["n"], multiply["bank"], multiply["accumulate"], multiply["format"],
            multiply["double_row"]) == (2, 1, 1, 2, 1)
    assert (read["opcode"], read["format"], read["double_row"]) == (Opcode.READ_PSUM, 0, 0)
    assert beats.results == 2


def test_single_row_lanes_hold_one_element():
    """BF16 fills a lane; single-row FP8 sits in the low byte; lanes >= K and >= M are zero."""
    stationary = np.array([[0x3F80, 0xC000]], np.uint16)
    moving = np.array([[0xF1, 0x7E]], np.uint8)
    beats = ProgramPacker(CONFIG).beats([LoadStationary(stationary, "bf16"),
                                         MultiplyMoving(moving, 0, False, "fp8_e5m2")])
    assert [unpack(stationary_layout(CONFIG), beat) for beat in beats.stationary] == \
        [[0x3F80, 0xC000]]
    assert [unpack(moving_layout(CONFIG), beat) for beat in beats.moving] == \
        [[0xF1, 0, 0], [0x7E, 0, 0]]


def test_double_row_odd_k_is_refused():
    with pytest.raises(ValueError, match=r"^K \(rows of the operand\) is 5: double-row mode "
                                         r"needs an even K .*zero-pad"):
        ProgramPacker(CONFIG).beats([LoadStationary(np.ones((5, 2), np.uint8), "fp8_e4m3",
                                                    True)])
