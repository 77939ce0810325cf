"""What every simulation regression shares on the pytest side: where its files go, which
simulators it runs on, its seed, and the command that reruns one of its cases.

The environment is read here, once, when pytest starts (``conftest.py`` imports this module
from ``pytest_configure``): a bad value stops pytest with one line naming the variable, its
value and what is allowed. The cocotb tests never read the environment; their seed and
configuration come through :mod:`tb.launch`'s run request.

- ``SEED``: seed of every randomized test, a non-negative integer (default 1).
- ``SIM``: the one simulator to run, ``icarus`` or ``verilator`` (default: both).
- ``BUILD_DIR``: build directory (default ``build/`` in the repository; the Makefile sets it).
"""

import os
import shlex
import sys
from pathlib import Path

import pytest

from .toolchain import SIMULATORS as KNOWN_SIMULATORS

__all__ = ["BUILD", "SEED", "SIMULATORS", "rerun_command", "results_path"]

REPOSITORY = Path(__file__).resolve().parent.parent


def _seed():
    text = os.environ.get("SEED", "1")
    if not (text.isascii() and text.isdigit()):
        raise pytest.UsageError(f"SEED must be a non-negative integer, not {text!r}")
    return int(text)


def _simulators():
    name = os.environ.get("SIM")
    if not name:
        return list(KNOWN_SIMULATORS)
    if name not in KNOWN_SIMULATORS:
        raise pytest.UsageError(f"SIM must be one of {', '.join(KNOWN_SIMULATORS)} "
                                f"(or unset for both), not {name!r}")
    return [name]


#: Seed of every randomized test (SEED, default 1).
SEED = _seed()
#: Simulators of a run: the one named by SIM, else both.
SIMULATORS = _simulators()
#: Build directory: BUILD_DIR if set, else build/ in the repository.
BUILD = Path(os.environ.get("BUILD_DIR", REPOSITORY / "build")).resolve()


def results_path(kind, name, sim):
    """``<build>/results/<kind>/<name>_<sim>.jsonl``: the measurements of one case."""
    return BUILD / "results" / kind / f"{name}_{sim}.jsonl"


def rerun_command(request):
    """Shell command that reruns the pytest case of ``request`` (a pytest fixture request)
    with this run's seed, from the repository."""
    python = Path(sys.executable)
    if python.is_relative_to(REPOSITORY):
        python = python.relative_to(REPOSITORY)
    return f"SEED={SEED} {python} -m pytest {shlex.quote(request.node.nodeid)}"
