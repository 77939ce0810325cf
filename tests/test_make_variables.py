"""make refuses a bad variable before it builds anything: one line naming the variable, its
value and what is allowed (``make -n`` so that nothing runs even if the check were missing)."""

import subprocess
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent


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
                "(sweeps/shapes.toml sweeps/smoke.toml)"),
    (["sweep", "SWEEP=none.toml"], "SWEEP='none.toml' is not a file: give a grid file, e.g. "
                                   "one of sweeps/shapes.toml sweeps/smoke.toml"),
    (["sweep", "SWEEP=sweeps/smoke.toml", "WORKERS=two"],
     "WORKERS='two' must be a positive integer, e.g. WORKERS=2"),
    (["test", "TILE_SEED=3"],
     "TILE_SEED='3' is no longer read: use SEED=n, which seeds every random test"),
])
def test_bad_variable(arguments, message):
    result = subprocess.run(["make", "-n", *arguments], cwd=REPOSITORY, capture_output=True,
                            text=True)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].endswith(f"*** {message}.  Stop."), result.stderr
