"""The layering rule: ``sim_models`` runs where only numpy (and matplotlib, for the report's
plots) is installed. Every one of its modules is imported in a fresh interpreter in which
Amaranth, cocotb, ``hdl``, ``tb`` and ml_dtypes (the golden floating-point model computes its
own encodings) cannot be imported; one that reaches for them fails."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import sim_models

REPOSITORY = Path(__file__).resolve().parent.parent
FORBIDDEN = ("amaranth", "cocotb", "cocotb_tools", "hdl", "tb", "ml_dtypes")

#: Run in the child interpreter: a finder that refuses the forbidden packages, then the import.
_BLOCKED_IMPORT = """
import importlib, importlib.abc, sys
FORBIDDEN = {forbidden!r}

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError(f"{{name}} may not be imported by sim_models")
        return None

sys.meta_path.insert(0, Refuse())
importlib.import_module({module!r})
leaked = sorted(name for name in sys.modules if name.split(".")[0] in FORBIDDEN)
assert not leaked, leaked
"""


def _modules():
    names = [sim_models.__name__]
    for module in pkgutil.walk_packages(sim_models.__path__, prefix="sim_models."):
        names.append(module.name)
    return names


def test_every_module_is_listed():
    assert {"sim_models.config", "sim_models.scaling.__main__", "sim_models.scaling.report",
            "sim_models.golden", "sim_models.cycle_model"} <= set(_modules())


@pytest.mark.parametrize("module", _modules())
def test_imports_without_hdl_or_simulator(module):
    code = _BLOCKED_IMPORT.format(forbidden=FORBIDDEN, module=module)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, capture_output=True,
                            text=True)
    assert result.returncode == 0, f"{module}:\n{result.stderr.strip().splitlines()[-1]}"


def test_the_rule_catches_a_violation():
    """The check itself: a module that imports Amaranth is refused."""
    code = _BLOCKED_IMPORT.format(forbidden=FORBIDDEN, module="hdl.emit")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, capture_output=True,
                            text=True)
    assert result.returncode != 0 and "may not be imported by sim_models" in result.stderr
