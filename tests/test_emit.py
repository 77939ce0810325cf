"""Verilog emission: deterministic output, a faithful port map, and clear command-line errors."""

import json
import os
import subprocess
import sys

from hdl.emit import generate, write
from hdl.isa import op_layout
from sim_models.config import TileConfig, config_from_dict


def _emit_in_fresh_process(tmp_path, hash_seed):
    out = tmp_path / f"seed{hash_seed}"
    subprocess.run([sys.executable, "-m", "hdl.emit", "tile", "--rows", "3", "--cols", "2",
                    "--out", str(out)], check=True, capture_output=True,
                   env={**os.environ, "PYTHONHASHSEED": str(hash_seed)})
    return (out / "systolic_tile_r3c2_int8.v").read_bytes()


def test_verilog_is_byte_identical_across_processes(tmp_path):
    # Different hash seeds change dict and set iteration order between processes.
    first = _emit_in_fresh_process(tmp_path, 1)
    second = _emit_in_fresh_process(tmp_path, 2)
    assert first == second
    assert generate(TileConfig(3, 2)).verilog.encode() == first


def test_verilog_has_no_absolute_paths():
    text = generate(TileConfig(2, 2)).verilog
    assert os.getcwd() not in text and "/home/" not in text and "/work/" not in text


def test_port_map_matches_layouts(tmp_path):
    config = TileConfig(4, 3, psum_banks=2, psum_depth=16)
    generated = generate(config)
    write(generated, tmp_path)
    ports = json.loads((tmp_path / "systolic_tile_r4c3_b2d16_int8.ports.json").read_text())
    assert ports["top"] == "systolic_tile_r4c3_b2d16_int8"
    op = ports["streams"]["op"]
    assert op["direction"] == "in" and op["payload"] == "op__payload"
    layout = op_layout(config)
    assert op["layout"]["width"] == layout.size
    assert {name: field["offset"] for name, field in op["layout"]["fields"].items()} == \
        {name: field.offset for name, field in layout}
    result = ports["streams"]["result"]["layout"]
    assert (result["length"], result["element_width"], result["element_signed"]) == (3, 32, True)
    for stream in ports["streams"].values():
        for port in ("valid", "ready", "payload"):
            assert f"{stream[port]}" in generated.verilog


def test_command_line_rejects_bad_rows(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hdl.emit", "tile", "--rows", "0", "--cols", "4",
                             "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == "error: Parameter 'rows' must be an integer in 1..128, not 0\n"


def _emit(*arguments):
    return subprocess.run([sys.executable, "-m", "hdl.emit", *arguments], capture_output=True,
                          text=True)


def test_command_line_rejects_unknown_named_configuration(tmp_path):
    result = _emit("named", "r4c4", "r5c5", "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr == ("error: Named configuration 'r5c5' is not one of tiny, small, "
                             "r4c4, r8c8, r8c16, r16c16, r8c8_trn2, r8c8_trn3\n")
    assert not list(tmp_path.iterdir())


def test_command_line_usage_errors_are_one_line(tmp_path):
    for arguments, message in [
            (("tile", "--rows", "4"), "the following arguments are required: --cols"),
            (("tile", "--rows", "x", "--cols", "4"), "argument --rows: invalid int value: 'x'"),
            ((), "the following arguments are required: DESIGN")]:
        result = _emit(*arguments, "--out", str(tmp_path)) if arguments else _emit()
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and result.stderr.endswith(f"error: {message}\n")


def test_command_line_reports_an_unwritable_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = _emit("tile", "--rows", "2", "--cols", "2", "--out", str(blocker / "verilog"))
    assert result.returncode == 1
    assert result.stderr == (f"error: cannot write the Verilog of systolic_tile_r2c2_int8 to "
                             f"{blocker / 'verilog'}: Not a directory\n")


def test_help_names_every_design_and_its_ranges():
    assert all(design in _emit("--help").stdout
               for design in ("named", "tile", "fabric", "allreduce", "gemm"))
    assert "PE rows, 1..128" in _emit("tile", "--help").stdout


def test_sidecar_carries_the_configuration(tmp_path):
    config = TileConfig(2, 3, psum_banks=4, psum_depth=64)
    write(generate(config), tmp_path)
    ports = json.loads((tmp_path / "systolic_tile_r2c3_b4d64_int8.ports.json").read_text())
    assert config_from_dict(ports["config"]) == config


def test_unchanged_files_are_left_alone(tmp_path):
    path = write(generate(TileConfig(1, 1)), tmp_path)
    os.utime(path, (0, 0))
    write(generate(TileConfig(1, 1)), tmp_path)
    assert path.stat().st_mtime == 0


def test_command_line_formats(tmp_path):
    """--formats selects the PEs' formats; the FloatMac leaf is emitted once, instantiated
    once per PE; an unknown name or int8 among floating-point formats is refused."""
    result = _emit("tile", "--rows", "3", "--cols", "2", "--formats", "fp8_e5m2,bf16",
                   "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "systolic_tile_r3c2_bf16_fp8e5m2.v").read_text()
    mac = "systolic_float_mac_r3c2_bf16_fp8e5m2"
    assert text.count(f"module {mac}(") == 1 and text.count(f"  {mac} mac") == 3
    for formats, message in [
            ("bf16,fp9", "Parameter 'formats': unknown format 'fp9'; known: int8, bf16, fp16, "
                         "fp8_e4m3, fp8_e5m2, fp8_e4m3fn, fp4_e2m1"),
            ("trainium3", "Parameter 'rows' must be a multiple of 8 on a tile with MX formats "
                          "(one E8M0 block scale spans 8 PE rows), not 2"),
            ("int8,bf16", "Parameter 'formats': int8 (the NeuronCore-v1 integer path) cannot "
                          "share a tile with floating-point formats, not ('int8', 'bf16')")]:
        result = _emit("tile", "--rows", "2", "--cols", "2", "--formats", formats,
                       "--out", str(tmp_path))
        assert (result.returncode, result.stderr) == (2, f"error: {message}\n")


def test_float_op_layout_has_format_fields():
    """Only a floating-point tile's ops carry format (and, with FP8, double_row); K reaches
    2R in double-row mode."""
    assert "format" not in dict(op_layout(TileConfig(4, 4)).members)
    bf16 = dict(op_layout(TileConfig(4, 4, formats=("bf16", "fp16"))).members)
    assert bf16["format"].width == 1 and "double_row" not in bf16 and bf16["k"].width == 3
    fp8 = dict(op_layout(TileConfig(4, 4, formats=("bf16", "fp16", "fp8_e4m3"))).members)
    assert fp8["format"].width == 2 and fp8["double_row"].width == 1 and fp8["k"].width == 4


def test_command_line_pe_stages(tmp_path):
    """--pe-stages names the depth of the PEs' MAC: a pipelined FloatMac is clocked; a depth
    out of range is refused with one line."""
    result = _emit("tile", "--rows", "2", "--cols", "2", "--formats", "bf16", "--pe-stages",
                   "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "systolic_tile_r2c2_bf16_s2.v").read_text()
    assert "module systolic_float_mac_r2c2_bf16_s2(" in text and "always @(posedge clk)" in text
    result = _emit("tile", "--rows", "2", "--cols", "2", "--pe-stages", "2",
                   "--out", str(tmp_path))
    assert (result.returncode, result.stderr) == (
        2, "error: Parameter 'pe_stages' (formats int8) must be an integer in 1..1, not 2\n")
