"""TileConfig validation: each bad parameter gets an error naming it, its value and the range."""

import re

import pytest

from sim_models.config import TileConfig


@pytest.mark.parametrize("field, value, allowed", [
    ("rows", 0, "1..128"), ("rows", 129, "1..128"), ("rows", "8", "1..128"),
    ("rows", True, "1..128"), ("rows", 8.0, "1..128"),
    ("cols", 0, "1..128"), ("cols", 200, "1..128"),
    ("psum_banks", 0, "1..16"), ("psum_banks", 17, "1..16"),
    ("psum_depth", 0, "1..4096"), ("psum_depth", 4097, "1..4096"),
])
def test_out_of_range(field, value, allowed):
    arguments = {"rows": 4, "cols": 4, field: value}
    with pytest.raises(TypeError, match=rf"^Parameter '{field}' must be an integer in "
                                        rf"{allowed}, not {value!r}$"):
        TileConfig(**arguments)


@pytest.mark.parametrize("operands", ["int16", "INT8", 8, None])
def test_operands_name(operands):
    # The golden model and the tiler take int8 only; a tile of another format is refused here.
    with pytest.raises(TypeError, match=rf"^Parameter 'operands' must be one of int8, "
                                        rf"not {re.escape(repr(operands))}$"):
        TileConfig(4, 4, operands=operands)


def test_valid_extremes():
    assert TileConfig(1, 1).macs_per_cycle == 1
    assert TileConfig(128, 128, psum_banks=16, psum_depth=4096).macs_per_cycle == 128 * 128
    assert TileConfig(8, 16).name == "r8c16_int8"
    assert TileConfig(3, 5, psum_banks=1, psum_depth=8, operands="int8").name == "r3c5_b1d8_int8"
