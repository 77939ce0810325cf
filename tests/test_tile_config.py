"""TileConfig validation: each bad parameter gets an error naming it, its value and the range;
the command lines' formats text."""

import re

import pytest

from sim_models.config import (DEFAULT_FLOAT_PE_STAGES, FORMAT_SETS, TRAINIUM2_FORMATS,
                               TRAINIUM3_FORMATS, TileConfig, config_from_dict, config_to_dict,
                               parse_formats)
from sim_models.timing import MAX_FLOAT_PE_STAGES


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


@pytest.mark.parametrize("formats, kind, message", [
    (("int16",), ValueError, "Parameter 'formats': unknown format 'int16'; known: int8, bf16, "
                             "fp16, fp8_e4m3, fp8_e5m2, fp8_e4m3fn, fp4_e2m1"),
    (("INT8",), ValueError, "Parameter 'formats': unknown format 'INT8'; known: "),
    (("bf16", "fp8_e4m3fn"), ValueError, "Parameter 'rows' must be a multiple of 8 on a tile "
                                         "with MX formats (one E8M0 block scale spans 8 PE "
                                         "rows), not 4"),
    ("int8", TypeError, "Parameter 'formats' must be a non-empty tuple of format names "),
    ((), TypeError, "Parameter 'formats' must be a non-empty tuple of format names "),
    ((8,), TypeError, "Parameter 'formats' must be a non-empty tuple of format names "),
    (("bf16", "bf16"), ValueError, "Parameter 'formats' must name each format once, not "
                                   "('bf16', 'bf16')"),
])
def test_formats_refused(formats, kind, message):
    """A value of the wrong type is a TypeError; a tuple of strings naming no format, or one
    twice, a ValueError (amaranth's convention)."""
    with pytest.raises(kind, match="^" + re.escape(message)):
        TileConfig(4, 4, formats=formats)


def test_int8_does_not_mix_with_floating_point():
    with pytest.raises(ValueError, match=r"^Parameter 'formats': int8 \(the NeuronCore-v1 "
                                         r"integer path\) cannot share a tile with "):
        TileConfig(4, 4, formats=("bf16", "int8"))


def test_format_set_is_canonical():
    config = TileConfig(4, 4, formats=("fp8_e5m2", "bf16", "fp8_e4m3", "fp16"))
    assert config.formats == ("bf16", "fp16", "fp8_e4m3", "fp8_e5m2")
    assert config.name == "r4c4_bf16_fp16_fp8e4m3_fp8e5m2"
    assert (config.floating, config.lane_bits, config.double_row) == (True, 16, True)
    assert TileConfig(4, 4, formats=("bf16",)).double_row is False
    assert (TileConfig(4, 4).floating, TileConfig(4, 4).lane_bits) == (False, 8)


def test_valid_extremes():
    assert TileConfig(1, 1).macs_per_cycle == 1
    assert TileConfig(128, 128, psum_banks=16, psum_depth=4096).macs_per_cycle == 128 * 128
    assert TileConfig(8, 16).name == "r8c16_int8"
    assert TileConfig(3, 5, psum_banks=1, psum_depth=8, formats=("int8",)).name == "r3c5_b1d8_int8"


FLOAT_STAGES = f"1..{MAX_FLOAT_PE_STAGES}"


@pytest.mark.parametrize("formats, stages, allowed", [
    (("int8",), 2, "1..1"), (("int8",), 0, "1..1"), (("bf16",), 0, FLOAT_STAGES),
    (("bf16", "fp8_e4m3"), MAX_FLOAT_PE_STAGES + 1, FLOAT_STAGES),
    (("bf16",), "3", FLOAT_STAGES), (("bf16",), True, FLOAT_STAGES),
])
def test_pe_stages_out_of_range(formats, stages, allowed):
    with pytest.raises(TypeError, match=rf"^Parameter 'pe_stages' \(formats "
                                        rf"{re.escape(','.join(formats))}\) must be an integer "
                                        rf"in {allowed}, not {re.escape(repr(stages))}$"):
        TileConfig(4, 4, formats=formats, pe_stages=stages)


def test_pe_stages_default_and_names():
    """None is the formats' default, stored resolved; only other depths enter the name and the
    configuration's dictionary (so sidecars and digests of default tiles stay as they were)."""
    default = TileConfig(4, 4, formats=("bf16",))
    assert default.pe_stages == DEFAULT_FLOAT_PE_STAGES and TileConfig(4, 4).pe_stages == 1
    assert default == TileConfig(4, 4, formats=("bf16",), pe_stages=DEFAULT_FLOAT_PE_STAGES)
    assert default.name == "r4c4_bf16"
    shallow = TileConfig(4, 4, formats=("bf16",), pe_stages=1)
    assert shallow.name == "r4c4_bf16_s1"
    assert "pe_stages" not in config_to_dict(default)
    assert config_to_dict(shallow)["pe_stages"] == 1
    assert config_from_dict(config_to_dict(shallow)) == shallow


def test_formats_text_names_formats_or_a_set():
    """``--formats`` of the command lines: comma-separated names (spaces ignored), or a set by
    name; the names are checked by the configuration, not here."""
    assert parse_formats(" bf16, fp8_e4m3") == ("bf16", "fp8_e4m3")
    assert parse_formats("trainium2") == TRAINIUM2_FORMATS == FORMAT_SETS["trainium2"]
    assert parse_formats("fp9") == ("fp9",)
    assert TileConfig(2, 2, formats=parse_formats("trainium2")).formats == TRAINIUM2_FORMATS
    assert parse_formats("trainium3") == TRAINIUM3_FORMATS == FORMAT_SETS["trainium3"]


def test_mx_formats_give_the_tile_mx_mode_and_32_bit_lanes():
    """A set with an MX-only format (Trainium3's) has MX mode: 32-bit lanes, four rows per PE,
    K a multiple of 128 from 32 rows on (R14), of the whole 4R below; Trainium2's set has
    neither, and E5M2 alone keeps double-row."""
    trn3 = TileConfig(8, 8, formats=TRAINIUM3_FORMATS)
    assert (trn3.mx, trn3.double_row, trn3.lane_bits, trn3.rows_per_pe) == (True, True, 32, 4)
    assert trn3.mx_k_multiple == 32
    assert TileConfig(40, 8, formats=TRAINIUM3_FORMATS).mx_k_multiple == 128
    trn2 = TileConfig(8, 8, formats=TRAINIUM2_FORMATS)
    assert (trn2.mx, trn2.double_row, trn2.lane_bits, trn2.rows_per_pe) == (False, True, 16, 2)
    fn_only = TileConfig(8, 8, formats=("fp8_e4m3fn",))
    assert (fn_only.mx, fn_only.double_row, fn_only.floating) == (True, False, True)
