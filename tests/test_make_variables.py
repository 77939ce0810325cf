"""make refuses a bad variable before it builds anything: one line naming the variable, its
value and what is allowed (``make -n`` so that nothing runs even if the check were missing)."""

import subprocess
from pathlib import Path

import pytest

from sim_models.config import OPERAND_FORMATS, TRAINIUM2_FORMATS

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
    (["test", "TILE_SEED=3"],
     "TILE_SEED='3' is no longer read: use SEED=n, which seeds every random test"),
])
def test_bad_variable(arguments, message):
    result = subprocess.run(["make", "-n", *arguments], cwd=REPOSITORY, capture_output=True,
                            text=True)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].endswith(f"*** {message}.  Stop."), result.stderr


def test_known_formats_are_the_generators():
    """The Makefile's list of format names is sim_models.config.OPERAND_FORMATS, in order."""
    text = (REPOSITORY / "Makefile").read_text()
    [line] = [line for line in text.splitlines() if line.startswith("KNOWN_FORMATS :=")]
    assert line.split(":=")[1].split() == list(OPERAND_FORMATS)


def test_trainium2_formats_are_the_configs():
    """The Makefile's Trainium2 set (the full-size floating-point run's) is
    sim_models.config.TRAINIUM2_FORMATS."""
    text = (REPOSITORY / "Makefile").read_text()
    [line] = [line for line in text.splitlines() if line.startswith("TRAINIUM2_FORMATS :=")]
    assert line.split(":=")[1].strip().split(",") == list(TRAINIUM2_FORMATS)


def test_formats_reach_the_generator():
    result = subprocess.run(["make", "-n", "verilog", "ROWS=4", "COLS=4",
                             "FORMATS=bf16,fp8_e4m3"], cwd=REPOSITORY, capture_output=True,
                            text=True)
    assert result.returncode == 0 and '--formats "bf16,fp8_e4m3"' in result.stdout


def test_pe_stages_reach_the_generator():
    result = subprocess.run(["make", "-n", "verilog", "ROWS=4", "COLS=4", "FORMATS=bf16",
                             "PE_STAGES=2"], cwd=REPOSITORY, capture_output=True, text=True)
    assert result.returncode == 0 and '--pe-stages "2"' in result.stdout
