"""The Makefile's variables, checked before a target runs: the first bad one gives one line
naming the variable, its value and what is allowed, the allowed values taken from where the
command lines take them (:mod:`sim_models.config`, :mod:`tb.toolchain`, ``sweeps/``).

The Makefile passes every variable it reads, empty ones included (the sweep's only for ``make
sweep``)::

    python -m tb.make_variables SIM=icarus SEED= ROWS=4 COLS=x PSUM_BANKS= PSUM_DEPTH= \
        FORMATS= NAMED=

prints the problem and exits 1, or exits 0 silently. A variable it does not know is refused
(an error in the Makefile, not in the user's input).
"""

import sys
from pathlib import Path

from sim_models.config import (MAX_ARRAY_DIM, MAX_PSUM_BANKS, MAX_PSUM_DEPTH, NAMED_TILES,
                               OPERAND_FORMATS, TileConfig, check_formats, parse_formats)

from .toolchain import SIMULATORS

__all__ = ["VariableError", "check", "main"]

REPOSITORY = Path(__file__).resolve().parent.parent
_SHAPE = ("ROWS", "COLS", "PSUM_BANKS", "PSUM_DEPTH")
_RANGES = (f"ROWS and COLS 1..{MAX_ARRAY_DIM}; PSUM_BANKS 1..{MAX_PSUM_BANKS}; "
           f"PSUM_DEPTH 1..{MAX_PSUM_DEPTH}")


class VariableError(Exception):
    """A bad variable: the message is the one line make prints."""


def _is_count(text):
    return text.isascii() and text.isdigit()


def _grids():
    """The grid files of ``sweeps/``, sorted, as make's $(wildcard) listed them."""
    grids = (REPOSITORY / "sweeps").glob("*.toml")
    return " ".join(sorted(f"sweeps/{path.name}" for path in grids))


def _check_simulator(value):
    if value not in SIMULATORS:
        choices = " or ".join(f"SIM={name}" for name in SIMULATORS)
        raise VariableError(f"SIM='{value}' is not a simulator: use {choices}")


def _check_seed(value):
    if value and not _is_count(value):
        raise VariableError(f"SEED='{value}' must be a non-negative integer, e.g. SEED=7")


def _formats(value):
    names = [name for name in parse_formats(value) if name]
    floating = ",".join(name for name, item in OPERAND_FORMATS.items() if item.floating)
    if not names:
        raise VariableError(f"FORMATS='{value}' names no format: give int8 or some of {floating}")
    unknown = [name for name in names if name not in OPERAND_FORMATS]
    if unknown:
        raise VariableError(f"FORMATS='{value}' has an unknown format '{unknown[0]}': known are "
                            f"{','.join(OPERAND_FORMATS)} (comma-separated, e.g. "
                            f"FORMATS=bf16,fp8_e4m3)")
    try:
        return check_formats(f"FORMATS='{value}'", tuple(names))
    except (TypeError, ValueError) as error:
        raise VariableError(str(error)) from None


def _check_tile(values):
    """ROWS, COLS, PSUM_BANKS, PSUM_DEPTH, FORMATS and NAMED of ``make verilog``."""
    given = {name: values[name] for name in _SHAPE if values.get(name)}
    formats, named = values.get("FORMATS", ""), values.get("NAMED", "")
    if "ROWS" not in given and "COLS" not in given:
        if formats:
            _formats(formats)
            raise VariableError(f"FORMATS={formats} needs ROWS and COLS: make verilog ROWS=R "
                                f"COLS=C FORMATS={formats}")
        unknown = [name for name in named.split() if name not in NAMED_TILES]
        if unknown:
            raise VariableError(f"NAMED='{named}' has an unknown configuration "
                                f"'{unknown[0]}': known are {' '.join(NAMED_TILES)}")
        return
    for name, other in (("ROWS", "COLS"), ("COLS", "ROWS")):
        if other not in given:
            raise VariableError(f"{name}={given[name]} needs {other} too: make verilog ROWS=R "
                                f"COLS=C, each 1..{MAX_ARRAY_DIM}")
    for name, value in given.items():
        if not _is_count(value):
            raise VariableError(f"{name}='{value}' must be a positive integer: {_RANGES}")
    if named:
        raise VariableError(f"NAMED='{named}' and ROWS/COLS exclude each other: give one of "
                            f"them")
    operand_formats = _formats(formats) if formats else ("int8",)
    for name, value in given.items():
        sizes = {"rows": 1, "cols": 1, name.lower(): int(value)}
        try:
            TileConfig(**sizes)
        except (TypeError, ValueError) as error:
            raise VariableError(f"{name}={value}: {error}") from None
    try:
        TileConfig(**{name.lower(): int(value) for name, value in given.items()},
                   formats=operand_formats)
    except (TypeError, ValueError) as error:
        assignments = " ".join(f"{name}={value}" for name, value in given.items())
        raise VariableError(f"{assignments} FORMATS={formats}: {error}") from None


def _check_sweep(values):
    grid, workers = values.get("SWEEP", ""), values.get("WORKERS", "")
    if not grid:
        raise VariableError(f"SWEEP is empty: give a grid file, e.g. make sweep "
                            f"SWEEP=sweeps/smoke.toml ({_grids()})")
    if not Path(grid).is_file():
        raise VariableError(f"SWEEP='{grid}' is not a file: give a grid file, e.g. one of "
                            f"{_grids()}")
    if workers and (not _is_count(workers) or int(workers) == 0):
        raise VariableError(f"WORKERS='{workers}' must be a positive integer, e.g. WORKERS=2")


#: Each variable the Makefile may pass -> the check of the group it belongs to.
_CHECKS = {"SIM": lambda values: _check_simulator(values["SIM"]),
           "SEED": lambda values: _check_seed(values["SEED"]),
           **dict.fromkeys((*_SHAPE, "FORMATS", "NAMED"), _check_tile),
           **dict.fromkeys(("SWEEP", "WORKERS"), _check_sweep)}


def check(values):
    """Raise :class:`VariableError` for the first bad variable of ``values`` (name -> text as
    make gives it, empty when unset), checking each group of variables once."""
    unknown = [name for name in values if name not in _CHECKS]
    if unknown:
        raise VariableError(f"tb.make_variables: unknown variable {unknown[0]!r}; known are "
                            f"{', '.join(_CHECKS)}")
    for group in dict.fromkeys(_CHECKS[name] for name in values):
        group(values)


def main(argv=None):
    """Check the ``NAME=VALUE`` arguments; print the problem and return 1, or return 0."""
    values = dict(argument.partition("=")[::2] for argument in
                  (sys.argv[1:] if argv is None else argv))
    try:
        check(values)
    except VariableError as error:
        print(error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
