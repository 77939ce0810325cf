"""make refuses a bad variable before it builds anything: one line naming the variable, its
value and what is allowed (``make -n`` so that nothing runs even if the check were missing).
The Makefile spells no format set or range (``tb.make_variables`` and the command lines take
them from ``sim_models.config``), and it has no side effect while it is read: a corrupt results
file is removed by the recipe that checks it, not by ``make help``."""

import subprocess
import time
from pathlib import Path

import pytest

from samples import tile_document
from sim_models.config import (MAX_ARRAY_DIM, MAX_PSUM_BANKS, MAX_PSUM_DEPTH, OPERAND_FORMATS,
                               TileConfig)
from sim_models.results import save
from tb.make_variables import VariableError, check

REPOSITORY = Path(__file__).resolve().parent.parent
#: The grid files make lists, as its $(wildcard) sorts them.
GRIDS = " ".join(sorted(f"sweeps/{path.name}" for path in (REPOSITORY / "sweeps").glob("*.toml")))


@pytest.mark.parametrize("arguments, message", [
    (["sim", "SIM=foo"], "SIM='foo' is not a simulator: use SIM=icarus or SIM=verilator"),
    (["test", "SEED=abc"], "SEED='abc' must be a non-negative integer, e.g. SEED=7"),
    (["verilog", "ROWS=4"], "ROWS=4 needs COLS too: make verilog ROWS=R COLS=C, each 1..128"),
    (["verilog", "COLS=4"], "COLS=4 needs ROWS too: make verilog ROWS=R COLS=C, each 1..128"),
    (["verilog", "ROWS=4", "COLS=x"], "COLS='x' must be a positive integer: ROWS and COLS "
                                      "1..128; PSUM_BANKS 1..16; PSUM_DEPTH 1..4096"),
    (["verilog", "ROWS=4", "COLS=4", "NAMED=tiny"],
     "NAMED='tiny' and ROWS/COLS exclude each other: give one of them"),
    (["sweep"], "SWEEP is empty: give a grid file, e.g. make sweep SWEEP=sweeps/smoke.toml "
                f"({GRIDS})"),
    (["sweep", "SWEEP=none.toml"], "SWEEP='none.toml' is not a file: give a grid file, e.g. "
                                   f"one of {GRIDS}"),
    (["sweep", "SWEEP=sweeps/smoke.toml", "WORKERS=two"],
     "WORKERS='two' must be a positive integer, e.g. WORKERS=2"),
    (["verilog", "ROWS=4", "COLS=4", "FORMATS=bf16,fp9"],
     "FORMATS='bf16,fp9' has an unknown format 'fp9': known are int8,bf16,fp16,fp8_e4m3,"
     "fp8_e5m2 (comma-separated, e.g. FORMATS=bf16,fp8_e4m3)"),
    (["verilog", "ROWS=4", "COLS=4", "FORMATS=,"],
     "FORMATS=',' names no format: give int8 or some of bf16,fp16,fp8_e4m3,fp8_e5m2"),
    (["verilog", "FORMATS=bf16"],
     "FORMATS=bf16 needs ROWS and COLS: make verilog ROWS=R COLS=C FORMATS=bf16"),
    (["verilog", "ROWS=0", "COLS=4"],
     "ROWS=0: Parameter 'rows' must be an integer in 1..128, not 0"),
    (["verilog", "ROWS=4", "COLS=4", "PSUM_DEPTH=5000"],
     "PSUM_DEPTH=5000: Parameter 'psum_depth' must be an integer in 1..4096, not 5000"),
    (["verilog", "ROWS=4", "COLS=4", "FORMATS=int8,bf16"],
     "FORMATS='int8,bf16': int8 (the NeuronCore-v1 integer path) cannot share a tile with "
     "floating-point formats, not ('int8', 'bf16')"),
    (["verilog", "NAMED=r4c4 r5c5"],
     "NAMED='r4c4 r5c5' has an unknown configuration 'r5c5': known are tiny small r4c4 r8c8 "
     "r8c16 r16c16 r8c8_trn2 r8c8_trn3"),
    (["sweep", "SWEEP=sweeps/smoke.toml", "WORKERS=0"],
     "WORKERS='0' must be a positive integer, e.g. WORKERS=2"),
])
def test_bad_variable(arguments, message):
    result = subprocess.run(["make", "-n", *arguments], cwd=REPOSITORY, capture_output=True,
                            text=True)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].endswith(f"*** {message}.  Stop."), result.stderr


def test_the_makefile_copies_no_format_set_or_range():
    """The floating-point format names and the configuration ranges are sim_models.config's
    alone: the Makefile names a format set only by its name (trainium2)."""
    text = (REPOSITORY / "Makefile").read_text()
    copies = [name for name, item in OPERAND_FORMATS.items() if item.floating] + \
        [f"1..{limit}" for limit in (MAX_ARRAY_DIM, MAX_PSUM_BANKS, MAX_PSUM_DEPTH)]
    assert [copy for copy in copies if copy in text] == []
    assert "--formats trainium2" in text


def test_formats_reach_the_generator():
    result = subprocess.run(["make", "-n", "verilog", "ROWS=4", "COLS=4",
                             "FORMATS=bf16,fp8_e4m3"], cwd=REPOSITORY, capture_output=True,
                            text=True)
    assert result.returncode == 0 and '--formats "bf16,fp8_e4m3"' in result.stdout


def test_pe_stages_reach_the_generator():
    result = subprocess.run(["make", "-n", "verilog", "ROWS=4", "COLS=4", "FORMATS=bf16",
                             "PE_STAGES=2"], cwd=REPOSITORY, capture_output=True, text=True)
    assert result.returncode == 0 and '--pe-stages "2"' in result.stdout


def test_formats_are_passed_only_when_given():
    result = subprocess.run(["make", "-n", "verilog", "ROWS=4", "COLS=4"], cwd=REPOSITORY,
                            capture_output=True, text=True)
    assert result.returncode == 0
    [line] = [line for line in result.stdout.splitlines() if "hdl.emit tile" in line]
    assert "--formats" not in line and "--psum-banks" not in line


def _corrupt_tile_json(build):
    path = build / "characterization" / "tile.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"schema": "tile-characterization/2", "seed": ')
    return path


def test_help_leaves_a_corrupt_results_file_in_place(tmp_path):
    path = _corrupt_tile_json(tmp_path)
    result = subprocess.run(["make", "help", f"BUILD={tmp_path}"], cwd=REPOSITORY,
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == ""
    assert path.read_text() == '{"schema": "tile-characterization/2", "seed": '


def test_the_check_recipe_removes_a_corrupt_results_file_and_dates_its_marker_now(tmp_path):
    """What make report runs before it judges build/characterization/tile.json: a file that
    does not load is removed (one line naming it and the target that rebuilds it) and its
    marker is newer than anything, so the file is rebuilt."""
    path = _corrupt_tile_json(tmp_path)
    marker = path.parent / "tile.json.loads"
    result = subprocess.run(["make", f"BUILD={tmp_path}", str(marker)], cwd=REPOSITORY,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"{path}: not JSON, truncated or corrupt (Expecting value: line 1 column 47); make "
        f"characterize-tile rebuilds it (removed)"]
    assert not path.exists() and marker.stat().st_mtime > time.time() - 60


def test_the_check_recipe_keeps_a_results_file_that_loads(tmp_path):
    path = tmp_path / "characterization" / "tile.json"
    save(tile_document({TileConfig(2, 2): [(2, 2, 4)]}, tmp_path / "verilog"), path)
    marker = path.parent / "tile.json.loads"
    result = subprocess.run(["make", f"BUILD={tmp_path}", str(marker)], cwd=REPOSITORY,
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert path.is_file() and marker.stat().st_mtime == 0


def test_a_variable_the_check_does_not_know_is_an_error_of_the_makefile():
    with pytest.raises(VariableError, match=r"^tb.make_variables: unknown variable 'ROWZ'; "
                                            r"known are SIM, SEED, ROWS, "):
        check({"ROWS": "4", "ROWZ": "4"})
    check({"SIM": "verilator", "SEED": "", "ROWS": "", "COLS": "", "NAMED": "r4c4"})
