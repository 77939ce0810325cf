"""The program packer: float lanes, FP8 double-row pairs and op format fields, unpacked with
the RTL's own layouts (``hdl.isa``)."""

import numpy as np

from hdl.isa import Opcode, moving_layout, op_layout, stationary_layout
from sim_models.config import TileConfig
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum
from tb.program_packer import ProgramPacker
from tb.streams import unpack

CONFIG = TileConfig(3, 2, psum_depth=8, formats=("bf16", "fp8_e4m3", "fp8_e5m2"))


def test_double_row_pairs_rows_into_lanes():
    """K = 5 in double-row mode: stationary beat b holds rows 2b (low byte) and 2b + 1 (high
    byte), the last beat's high bytes zero; moving lane k holds elements 2k and 2k + 1."""
    stationary = np.arange(1, 11, dtype=np.uint8).reshape(5, 2)
    moving = np.arange(0x21, 0x2B, dtype=np.uint8).reshape(5, 2)
    beats = ProgramPacker(CONFIG).beats([
        LoadStationary(stationary, "fp8_e4m3", True),
        MultiplyMoving(moving, 1, True, "fp8_e5m2", True), ReadPsum(1, 2, 2)])
    assert [unpack(stationary_layout(CONFIG), beat) for beat in beats.stationary] == [
        [0x0301, 0x0402], [0x0705, 0x0806], [0x0009, 0x000A]]
    assert [unpack(moving_layout(CONFIG), beat) for beat in beats.moving] == [
        [0x2321, 0x2725, 0x0029], [0x2422, 0x2826, 0x002A]]
    load, multiply, read = (unpack(op_layout(CONFIG), beat) for beat in beats.ops)
    assert (load["opcode"], load["k"], load["m"], load["format"], load["double_row"]) == \
        (Opcode.LOAD_STATIONARY, 5, 2, 1, 1)
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
