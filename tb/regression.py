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

from .launch import Design, simulate
from .toolchain import SIMULATORS as KNOWN_SIMULATORS

__all__ = ["BUILD", "SEED", "SIMULATORS", "regression_runs", "rerun_command", "results_path",
           "run_case"]

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


def regression_runs(cases, verilator_cases=None, verilator_long=()):
    """pytest parameters ``(sim, config, tests)`` of ``cases``, pairs of a configuration and
    the names of the cocotb tests it runs (None for all), on every simulator of this run;
    Verilator runs only the configurations named in ``verilator_cases`` (all if None), and
    marks ``long`` those named in ``verilator_long`` (left out of ``make test``, run by ``make
    regress``). Each case's id is ``<sim>-<configuration name>``."""
    return [pytest.param(sim, config, tests, id=f"{sim}-{config.name}",
                         marks=pytest.mark.long if sim == "verilator" and
                         config.name in verilator_long else ())
            for sim in SIMULATORS for config, tests in cases
            if sim == "icarus" or verilator_cases is None or config.name in verilator_cases]


def run_case(test_module, kind, sim, config, tests, request, options=None, name=None,
             hierarchical=False):
    """Simulate ``config`` with ``sim`` and run the cocotb ``tests`` of ``test_module`` (all
    if None), this run's seed and the run request ``options``; measurements go to
    :func:`results_path` ``(kind, name, sim)``, ``name`` being the configuration's name unless
    given (cases that share a design name themselves, and their run directory, apart);
    ``hierarchical`` builds a tile's leaf modules once each (Verilator).

    Raises
    ------
    AssertionError
        If a test failed, none ran, or fewer than ``tests`` passed; the message ends with the
        command that reruns the case.
    """
    outcome = simulate(Design(config, test_module, hierarchical), sim, tests, SEED, build=BUILD,
                       results=results_path(kind, name or config.name, sim), options=options,
                       rerun=rerun_command(request), run=name)
    if tests is not None:
        assert outcome.passed == len(tests), \
            f"{outcome.passed} of {len(tests)} cocotb tests passed"
