"""The sweep without a simulator: the grid file, its one-line errors, the store, the Pareto
front, the chip projection of a tile and the command line's bad input."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim_models.config import (DEFAULT_FLOAT_PE_STAGES, OPERAND_FORMATS, TRAINIUM2_FORMATS,
                               TRAINIUM3_FORMATS, TileConfig)
from sim_models.scaling.peak import core_peak
from sim_models.scaling.tile_projection import (MFU_RESOLUTION, chip_with_tile,
                                                ideal_limit_caveat, project_tile)
from sim_models.scaling.workloads import load_workloads
from sim_models.specs import load_specs
from sweep.grid import GridError, load_grid, parse_grid
from sweep.report import pareto_front, results_table
from sweep.store import FAILED, OK, PointRow, ResultStore

REPOSITORY = Path(__file__).resolve().parent.parent
GRID = """
[tile]
rows = [2, 4]
cols = [2]
formats = ["int8"]
psum_banks = [2]
psum_depth = [64]
[measure]
simulator = "icarus"
gemms = ["2x2x8", "1x2x4"]
[projection]
system = "trn2-instance"
workloads = ["llama3-8b", "llama3-70b"]
"""


def test_grid_points_share_rtl_and_have_distinct_digests():
    points = parse_grid(GRID)
    assert [point.name for point in points] == [
        "r2c2_b2d64_int8.llama3-8b", "r2c2_b2d64_int8.llama3-70b",
        "r4c2_b2d64_int8.llama3-8b", "r4c2_b2d64_int8.llama3-70b"]
    assert len({point.config for point in points}) == 2
    assert len({point.digest for point in points}) == 4
    assert points[0].shapes == ((2, 2, 8), (1, 2, 4))
    assert parse_grid(GRID)[0].digest == points[0].digest


def test_points_differing_only_in_their_projection_share_one_measurement():
    points = parse_grid(GRID)
    assert [len({point.measurement_digest for point in points[i:i + 2]}) for i in (0, 2)] == \
        [1, 1]
    assert points[0].measurement_digest != points[2].measurement_digest   # another tile
    for changed in (GRID.replace('"icarus"', '"verilator"'),
                    GRID.replace('"2x2x8", ', ""),
                    GRID.replace("psum_depth = [64]", "psum_depth = [32]")):
        assert parse_grid(changed)[0].measurement_digest != points[0].measurement_digest
    other_system = parse_grid(GRID.replace('"trn2-instance"', '"trn2-ultraserver"'))
    assert other_system[0].measurement_digest == points[0].measurement_digest


def test_every_operand_format_is_a_grid_value():
    sets = ["int8", ",".join(TRAINIUM2_FORMATS)] + [name for name in OPERAND_FORMATS
                                                   if name != "int8"]
    text = GRID.replace('["int8"]', repr(sets).replace("'", '"'))
    formats = {point.config.formats for point in parse_grid(text)}
    assert formats == {("int8",), TRAINIUM2_FORMATS} | {(name,) for name in OPERAND_FORMATS}


def test_pe_stages_is_an_axis_and_default_is_the_format_sets():
    """Each format set at each depth; int8 at 1 and at "default" is one tile."""
    text = GRID.replace('["int8"]', '["int8", "bf16"]').replace(
        "psum_depth = [64]", 'psum_depth = [64]\npe_stages = [1, "default"]')
    configs = list(dict.fromkeys(point.config for point in parse_grid(text)))
    assert [(config.formats, config.pe_stages) for config in configs if config.rows == 2] == [
        (("int8",), 1), (("bf16",), 1), (("bf16",), DEFAULT_FLOAT_PE_STAGES)]


def test_characterization_shapes_per_tile():
    points = parse_grid(GRID.replace('["2x2x8", "1x2x4"]', '"characterization"'))
    assert points[0].shapes[0] == (2, 2, 512) and points[2].shapes[0] == (2, 4, 512)


def test_a_tile_with_mx_mode_measures_in_mx_mode_with_whole_k_multiples():
    """Its fastest mode is MX: the standard shapes are MX mode's (K in passes of 4R) and a GEMM
    whose K is not a multiple of the tile's MX K multiple is refused in one line."""
    trn3 = ",".join(TRAINIUM3_FORMATS)
    text = GRID.replace('["int8"]', f'["{trn3}"]').replace("rows = [2, 4]", "rows = [8]")
    points = parse_grid(text.replace('["2x2x8", "1x2x4"]', '"characterization"'))
    assert points[0].shapes[:2] == ((2, 32, 512), (2, 64, 512))
    assert parse_grid(text.replace('["2x2x8", "1x2x4"]', '["8x64x8"]'))[0].shapes == \
        ((8, 64, 8),)
    with pytest.raises(GridError) as caught:
        parse_grid(text)
    assert str(caught.value) == (
        f"grid gemms: 2x2x8 on {points[0].config.name}: a tile with MX mode runs its GEMMs in "
        f"MX mode, whose K must be a multiple of 32 (NKI's), not 2")


@pytest.mark.parametrize("old, new, message", [
    ("[tile]", "[tile", "grid: not valid TOML: "),
    ("[measure]", "colour = 1\n[measure]",
     "grid [tile]: unknown key 'colour'; allowed: rows, cols, formats, psum_banks, "
     "psum_depth"),
    ("[measure]", "[extra]\n[measure]", "grid: unknown key 'extra'; allowed tables: "),
    ('["int8"]', '["int8", "fp7"]', "grid [tile] formats 'fp7': unknown format 'fp7'; known: int8, "),
    ('["int8"]', '["int8,bf16"]', "grid [tile] formats 'int8,bf16': int8 (the NeuronCore-v1 "),
    ("rows = [2, 4]", "rows = [2, 400]",
     "grid [tile]: Parameter 'rows' must be an integer in 1..128, not 400"),
    ("rows = [2, 4]", 'rows = ["2"]', "grid rows = ['2']: must be a int or a non-empty list"),
    ('"icarus"', '"xcelium"', "grid [measure] simulator = 'xcelium': must be one of "),
    ('"2x2x8"', '"2x2"', "grid gemms = ['2x2', '1x2x4']: must be \"characterization\" or "),
    ('"trn2-instance"', '"trn9"', "grid [projection] system: Unknown system 'trn9'; known: "),
    ('"llama3-70b"', '"gpt-9"', "grid [projection] workloads: unknown workload 'gpt-9'; "),
    ("[projection]", "[projection_]", "grid: unknown key 'projection_'"),
    ("psum_depth = [64]", "psum_depth = [64]\npe_stages = [2]",
     "grid [tile]: Parameter 'pe_stages' (formats int8) must be an integer in 1..1, not 2"),
    ("psum_depth = [64]", 'psum_depth = [64]\npe_stages = ["deep"]',
     "grid pe_stages = ['deep']: must be an integer, \"default\" or a non-empty list of them"),
    ("rows = [2, 4]", "rows = [2, 2]",
     "grid rows = [2, 2]: 2 appears more than once; give each value once"),
    ('"llama3-70b"]', '"llama3-70b", "llama3-8b"]',
     "grid workloads = ['llama3-8b', 'llama3-70b', 'llama3-8b']: 'llama3-8b' appears more "
     "than once"),
    ('"2x2x8"', '"100000x100000x100000"',
     "grid gemms: 100000x100000x100000 is beyond what a sweep simulates: M, K and N at most "
     "4,096 and M x K x N at most 1,073,741,824 MACs"),
    ('"2x2x8"', '"4096x4096x4096"', "grid gemms: 4096x4096x4096 is beyond what a sweep "),
])
def test_bad_grid_is_one_line(old, new, message):
    assert old in GRID
    with pytest.raises(GridError) as caught:
        parse_grid(GRID.replace(old, new, 1))
    text = str(caught.value)
    assert text.startswith(message) and "\n" not in text, text


def test_missing_grid_file(tmp_path):
    with pytest.raises(GridError, match=r"nope.toml: cannot read the grid file: No such file"):
        load_grid(tmp_path / "nope.toml")


def test_shipped_grids_parse():
    smoke = load_grid(REPOSITORY / "sweeps" / "smoke.toml")
    assert len(smoke) >= 8 and len({point.config for point in smoke}) < len(smoke)
    assert len(load_grid(REPOSITORY / "sweeps" / "shapes.toml")) > len(smoke)
    trn3 = load_grid(REPOSITORY / "sweeps" / "formats_trn3.toml")
    assert [point.config.formats for point in trn3] == [TRAINIUM3_FORMATS]


def _row(digest, status, error=None):
    return PointRow(digest, f"p{digest}", {}, status, error, None, {}, {})


def test_store_keeps_a_finished_point_once(tmp_path):
    store = ResultStore(tmp_path / "s.sqlite")
    assert store.put(_row("a", FAILED, "build: boom"))
    assert store.finished() == set()
    assert store.put(_row("a", OK))           # a failed point is replaced when it finishes
    assert not store.put(_row("a", OK))       # a task run twice is stored once
    assert not store.put(_row("a", FAILED, "late"))
    store.close()
    again = ResultStore(tmp_path / "s.sqlite")
    assert [(row.digest, row.status) for row in again.rows()] == [("a", OK)]


def test_pareto_front():
    pairs = [(4, 0.5), (4, 0.9), (16, 0.95), (16, 0.7), (64, 0.9), (64, 0.99)]
    assert pareto_front(pairs) == [1, 2, 5]


def test_projection_of_the_specs_own_array_is_the_spec():
    specs = load_specs()
    chip = specs.chip(specs.system("trn2-instance").chip)
    core = chip.core
    own = TileConfig(int(core.array_rows.value), int(core.array_cols.value),
                     int(core.psum_banks.value), int(core.psum_bank_entries.value))
    assert core_peak(chip_with_tile(chip, own), "bf16") == core_peak(chip, "bf16")
    small = chip_with_tile(chip, TileConfig(4, 8))
    assert core_peak(small, "bf16") == core_peak(chip, "bf16") * 32 / (own.rows * own.cols)
    projection = project_tile(specs, "trn2-instance", load_workloads()["llama3-8b"],
                              TileConfig(64, 64))
    assert 0 < projection.mfu <= 1
    assert projection.system_peak_flops == pytest.approx(
        projection.chip_peak_flops * specs.system("trn2-instance").chips.value)


def test_a_tiny_array_projects_an_mfu_that_is_not_a_result():
    specs, workload = load_specs(), load_workloads()["llama3-8b"]
    tiny, small = (project_tile(specs, "trn2-instance", workload,
                                TileConfig(side, side, psum_banks=2, psum_depth=64))
                   for side in (2, 32))
    # With the report's assumptions both lose recomputation and the per-layer overhead: results.
    assert 1 - tiny.mfu >= MFU_RESOLUTION and 1 - small.mfu >= MFU_RESOLUTION
    assert tiny.mfu_not_meaningful is None and small.mfu_not_meaningful is None
    # A step that loses nothing the model has is its ideal-stream limit, not a result.
    spec_core = specs.chip(specs.system("trn2-instance").chip).core
    caveat = ideal_limit_caveat(1 - 6e-8, TileConfig(2, 2), spec_core)
    assert caveat == ("MFU 100.0000% is the model's ideal-stream limit, not a result: "
                      "everything the model has costs under 0.1% of the step, the chip around "
                      "the 2 x 2 array being sized for 128 x 128")
    tiny = dataclasses.replace(tiny, mfu=1 - 6e-8, mfu_not_meaningful=caveat)
    point = parse_grid(GRID.replace("rows = [2, 4]", "rows = [2]"))[0]
    gemms = {"macs_per_cycle": 3.0, "runs": []}
    row = PointRow(point.digest, point.name, point.as_dict(), OK, None, None,
                   {"gemms": gemms, "projection": dataclasses.asdict(tiny)}, {})
    line = results_table([point], [row]).splitlines()[-1]
    assert "| not a result | MFU 100.0000% is the model's ideal-stream limit" in line
    assert "100.0%" not in line


@pytest.mark.parametrize("arguments, message", [
    (["nope.toml"], "error: nope.toml: cannot read the grid file: No such file or directory"),
    (["sweeps/smoke.toml", "--workers", "0"],
     "python -m sweep: error: --workers must be at least 1, not 0"),
    (["sweeps/smoke.toml", "--scheduler", "tcp://127.0.0.1:9", "--store", "STORE"],
     "error: scheduler 'tcp://127.0.0.1:9': no connection within 5s: Timed out "),
    (["sweeps/smoke.toml", "--scheduler", "nowhere", "--store", "STORE"],
     "error: scheduler 'nowhere': no connection within 5s: missing port number"),
    (["sweeps/smoke.toml", "--synthesis-limit", "0"],
     "python -m sweep: error: --synthesis-limit must be a positive number of seconds, not 0"),
    (["sweeps/smoke.toml", "--workers", "100000"],
     f"python -m sweep: error: --workers 100000: this machine has {os.cpu_count()} cores; "
     f"allowed: 1 to {os.cpu_count()} (--oversubscribe allows more)"),
    (["LARGE", "--workers", "1"],
     "error: LARGE: 1024 points over 256 RTLs, about 9.0 h on 1 workers at about 127 s per "
     "RTL; grids of more than 64 points need --large"),
])
def test_command_line_bad_input_is_one_line(arguments, message, tmp_path):
    large = tmp_path / "large.toml"
    large.write_text(GRID.replace("rows = [2, 4]", f"rows = {list(range(1, 17))}")
                     .replace("cols = [2]", f"cols = {list(range(1, 17))}")
                     .replace('workloads = ["llama3-8b", "llama3-70b"]',
                              'workloads = ["llama3-8b", "llama3-70b", "llama3-405b", '
                              '"mistral-7b"]'))
    arguments = [str(tmp_path / "s.sqlite") if item == "STORE" else
                 str(large) if item == "LARGE" else item for item in arguments]
    message = message.replace("LARGE", str(large))
    result = subprocess.run([sys.executable, "-m", "sweep", *arguments], cwd=REPOSITORY,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message), \
        result.stderr
    assert result.stdout == ""


#: Modules a refused command line must not wait for: Dask and the engine behind it (Amaranth,
#: the simulators' runners) and the plots, seconds to import (tens under load).
HEAVY_MODULES = ("dask", "distributed", "amaranth", "cocotb", "cocotb_tools", "matplotlib",
                 "hdl", "tb")


@pytest.mark.parametrize("arguments", [
    ["nope.toml"], ["LARGE", "--workers", "1"], ["GRID", "--store", "DIRECTORY"]])
def test_bad_input_is_refused_before_the_engine_is_imported(arguments, tmp_path):
    """The checks of the command line, the grid file and the store come before Dask, the
    engine and matplotlib are imported (``python -m sweep`` with a bad grid took 43-61 s of
    wall time at load 8 when it imported them first)."""
    large = tmp_path / "large.toml"
    large.write_text(GRID.replace("rows = [2, 4]", f"rows = {list(range(1, 66))}"))
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    arguments = [{"LARGE": str(large), "GRID": str(grid), "DIRECTORY": str(tmp_path)}
                 .get(item, item) for item in arguments]
    code = ("import sys, sweep.__main__ as cli; status = cli.main(sys.argv[1:]); "
            f"print(status, *sorted({{name.split('.')[0] for name in sys.modules}} & "
            f"set({HEAVY_MODULES!r})))")
    result = subprocess.run([sys.executable, "-c", code, *arguments], cwd=REPOSITORY,
                            capture_output=True, text=True, timeout=60)
    assert result.stdout == "2\n", (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_ctrl_c_in_a_sweep_is_one_line(monkeypatch, capsys):
    import sweep.__main__ as sweep_cli

    def interrupted(path):
        raise KeyboardInterrupt
    monkeypatch.setattr(sweep_cli, "load_grid", interrupted)
    assert sweep_cli.main(["sweeps/smoke.toml", "--workers", "1"]) == 130
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (
        "", "interrupted: finished points are kept in the store; rerun to go on\n")
