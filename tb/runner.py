"""Build a Verilog design and run a cocotb test module on it, from Python.

Wraps ``cocotb_tools.runner`` with what every simulation of this project needs: the simulator
environment from :mod:`tb.toolchain`, a 1 ns / 1 ps timescale (Amaranth's Verilog has none),
Verilator's width warnings kept non-fatal, a build log in the build directory and a simulation
log (simulator banners and cocotb's log) in the run directory instead of on stdout, a build
that is skipped while its inputs are unchanged and taken from the model store
(:mod:`tb.model_store`) when the same inputs were built anywhere before, the JUnit results read back into a
:class:`SimulationResult`, and one line per simulation on stdout: design, simulator, tests
passed, build and run seconds, and where the log is.
"""

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from importlib import metadata
from xml.etree import ElementTree

import cocotb_tools.config
from cocotb_tools.runner import get_runner

from . import model_store
from .toolchain import simulator_env

__all__ = ["VERILATOR_OPTIMIZATION", "SimulationResult", "build_digest", "build_model",
           "ports_config", "run_simulation", "top_ports"]

TIMESCALE = ("1ns", "1ps")
#: C++ optimization of Verilator models: -O2 after verilated.mk's -Os. The 8 x 8 tile of the four
#: floating-point formats ran 81,515 instead of 64,244 cycles per CPU second
#: (docs/simulation_speed.md).
VERILATOR_OPTIMIZATION = ("-CFLAGS", "-O2")
_BUILD_ARGS = {
    "icarus": [],
    # Amaranth's Verilog has width mismatches that Verilator reports as fatal warnings.
    # cocotb builds with --public-flat-rw, which lets VPI write every variable of the design, so
    # Verilator must re-evaluate all combinational logic on every evaluation (5 per clock cycle
    # under cocotb) instead of once after the clock edge that changed its registers: a 16 x 16
    # floating-point tile ran 17 times slower. The tests reach only the top module's ports, so
    # only those are made public (_PORTS_CONFIG, each port by name: `-var "*"` would take every
    # variable of the top module, the tile's skew registers among them).
    "verilator": ["-Wno-fatal", "--no-public-flat-rw", *VERILATOR_OPTIMIZATION],
}
#: Verilator control file, written into each Verilator build directory: the top module's
#: variables (its ports) public and writable over VPI, as cocotb needs them.
_PORTS_CONFIG = "vpi_ports.vlt"
_BUILD_LOG = "build.log"
_SIMULATION_LOG = "simulation.log"
#: Written when a build (or a fetch from the model store) has finished, removed when one
#: starts: simulator files in a build directory without it were left by a build that was
#: interrupted or failed.
_BUILD_STAMP = "build.sha256"
#: Held (flock) by the process building in a build directory: runs in other processes that
#: need the same model wait for it, then find it up to date.
_BUILD_LOCK = "build.lock"

_LOG_TAIL_LINES = 40
#: Lines of a failed test's message shown in the failure report; the log has all of it.
_REASON_LINES = 20


@dataclass(frozen=True)
class SimulationResult:
    """Outcome of one simulation run.

    Members
    -------
    sim : str
        Simulator used.
    results_xml : Path
        JUnit XML file written by cocotb.
    passed, failed, skipped : int
        Number of cocotb tests in each state; tests that errored count as failed.
    failures : tuple of str
        ``module.test`` name and message (its first 20 lines) of each failed test.
    build_time : float
        Seconds spent building; 0 if the build was up to date or taken from the model store.
    wall_time : float
        Seconds spent in :func:`run_simulation`, build included.
    build_dir : Path
        Directory of the simulator build, with its ``build.log``.
    log : Path
        Log of the simulation: the simulator's output and cocotb's log.
    model_build_time : float or None
        Seconds the model took to build: now, or when it was built for the model store
        (:mod:`tb.model_store`), whose ``build.log`` is then in ``build_dir``; None if the
        build directory was up to date.
    """
    sim: str
    results_xml: Path
    passed: int
    failed: int
    skipped: int
    failures: tuple[str, ...]
    build_time: float
    wall_time: float
    build_dir: Path
    log: Path
    model_build_time: float | None = None


def _update_environ(values):
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@contextmanager
def _environ(changes):
    # cocotb's runner takes PATH and the build environment from os.environ; so the changes go
    # into os.environ, and only for the run.
    saved = {key: os.environ.get(key) for key in changes}
    try:
        _update_environ(changes)
        yield
    finally:
        _update_environ(saved)


def _tool_identity(sim):
    """What, besides the sources and arguments, decides the model a build makes: the
    simulator's version and cocotb's (whose Verilator main and VPI library a Verilator model
    is built with). Not where cocotb is installed: a model built by another clone's venv is
    the same model, and its runs load this venv's cocotb libraries (:func:`_run_env`)."""
    if sim == "verilator":
        simulator = metadata.version("verilator")
    else:
        run = subprocess.run(["iverilog", "-V"], capture_output=True, text=True, check=False)
        simulator = (run.stdout or run.stderr).splitlines()[0] if run.stdout or run.stderr else ""
    return simulator, metadata.version("cocotb")


def _run_env(sim):
    """What a run of a ``sim`` model adds to the environment. A Verilator model records the
    cocotb library directory of the venv that built it as its run path (``DT_RUNPATH``), which
    the model store shares between clones and which may since have been removed; the dynamic
    loader searches ``LD_LIBRARY_PATH`` first, so this venv's libraries (same cocotb version,
    by the build digest) are put there. Icarus is given its VPI module's directory at run
    time already."""
    if sim != "verilator":
        return {}
    paths = [str(cocotb_tools.config.libs_dir), os.environ.get("LD_LIBRARY_PATH")]
    return {"LD_LIBRARY_PATH": os.pathsep.join(filter(None, paths))}


def build_digest(sim, toplevel, sources, build_args):
    """SHA-256 (hex) of everything a build of ``toplevel`` from ``sources`` with ``sim`` depends
    on: the simulator and its version, the cocotb libraries, the arguments, the timescale, and
    each source's file name and contents (not its directory, so that the same Verilog written
    anywhere is the same model)."""
    arguments = [*_BUILD_ARGS[sim], *build_args]
    digest = hashlib.sha256(repr((sim, _tool_identity(sim), toplevel, arguments,
                                  TIMESCALE)).encode())
    for source in sources:
        digest.update(Path(source).name.encode())
        digest.update(Path(source).read_bytes())
    return digest.hexdigest()


def _log_tail(path):
    lines = path.read_text(errors="replace").splitlines() if path.is_file() else []
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def top_ports(sources, toplevel):
    """Names of the ports of module ``toplevel``, in the order of its header, from the first of
    ``sources`` (Verilog files as Yosys writes them: ``module name(a, b, ...);``) that defines
    it.

    Raises
    ------
    ValueError
        If no source defines ``toplevel``.
    """
    header = re.compile(rf"^module {re.escape(toplevel)}\((.*?)\);", re.MULTILINE | re.DOTALL)
    for source in sources:
        found = header.search(Path(source).read_text(errors="replace"))
        if found:
            return [name.strip() for name in found.group(1).split(",") if name.strip()]
    raise ValueError(f"Parameter 'toplevel': no module {toplevel!r} with a port list in "
                     f"{', '.join(map(str, sources))}")


def ports_config(toplevel, ports):
    """Verilator control file text that makes the ports ``ports`` of module ``toplevel`` public
    and writable over VPI, and nothing else: the rest of the design, the top module's own
    variables included, stays private (see ``_BUILD_ARGS``). Every variable of the top made
    public (``-var "*"``) turned the tile's skew registers into inputs of its combinational
    logic: Verilator evaluated all of the top's logic on every input change and wrote it into
    functions of 10,000-16,000 lines that g++ compiled for minutes (docs/simulation_speed.md)."""
    return "`verilator_config\n" + "".join(
        f'public_flat_rw -module "{toplevel}" -var "{port}"\n' for port in ports)


def _is_simulator_output(path, toplevel):
    """Whether ``path`` in a build directory was written by a simulator build: Verilator's
    files and block directories (all named after its prefix ``V...``), objects, archives and
    dependency files, the model; not the run directories of the tests, named after their
    modules."""
    return (path.name.startswith("V") or path.suffix in (".o", ".a", ".d")
            or path.name in (toplevel, "sim.vvp"))


def _clear_half_built(build_dir, toplevel):
    """If the last build in ``build_dir`` did not finish (simulator files but no stamp), say
    so and remove what it left: Verilator skips work whose inputs did not change without
    checking that all of its outputs exist, so a directory it left half-built kept failing
    ("No rule to make target 'Vtop.mk'")."""
    if (build_dir / _BUILD_STAMP).is_file():
        return
    left = [path for path in build_dir.iterdir() if _is_simulator_output(path, toplevel)]
    if not left:
        return
    print(f"[build] {_shown(build_dir)} was left half-built by an interrupted or failed build; "
          f"its {len(left)} files and directories removed, building again", flush=True)
    for path in left:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _build(runner, sim, sources, toplevel, build_dir, build_args, store):
    """Build unless the stamp in ``build_dir`` matches the inputs or the model store ``store``
    (:mod:`tb.model_store`) holds the model; return the seconds spent compiling now (0 if
    nothing was compiled) and the seconds the model took when it was compiled, now or before
    (None if that is not known). One process builds in a directory at a time."""
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / _BUILD_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_locked(runner, sim, sources, toplevel, build_dir, build_args, store)


def _build_locked(runner, sim, sources, toplevel, build_dir, build_args, store):
    stamp = build_dir / _BUILD_STAMP
    if sim == "verilator":
        control = build_dir / _PORTS_CONFIG
        verilog = [source for source in sources if Path(source).suffix in (".v", ".sv")]
        control.write_text(ports_config(toplevel, top_ports(verilog, toplevel)))
        sources = [*sources, control]
    digest = build_digest(sim, toplevel, sources, build_args)
    model = build_dir / model_store.model_file(sim, toplevel)
    if stamp.is_file() and stamp.read_text() == digest and model.is_file():
        return 0.0, None
    _clear_half_built(build_dir, toplevel)
    stamp.unlink(missing_ok=True)
    stored_seconds = model_store.fetch(store, sim, toplevel, digest, build_dir)
    if stored_seconds is not None:
        stamp.write_text(digest)
        return 0.0, stored_seconds
    # The model may be a hard link into the store: a build writing into it in place would
    # change the stored model too.
    model.unlink(missing_ok=True)
    log = build_dir / _BUILD_LOG
    start = time.perf_counter()
    try:
        # `always`: Icarus compares modification times only, and the stamp already says that
        # the inputs changed.
        runner.build(sources=sources, hdl_toplevel=toplevel,
                     build_args=[*_BUILD_ARGS[sim], *build_args], build_dir=build_dir,
                     always=True, timescale=TIMESCALE, log_file=log)
    except RuntimeError as error:
        raise RuntimeError(f"Building {toplevel} with {sim} failed; the log is {log}, ending "
                           f"with:\n{_log_tail(log)}") from error
    seconds = time.perf_counter() - start
    model_store.publish(store, sim, toplevel, digest, build_dir, seconds)
    stamp.write_text(digest)
    return seconds, seconds


def _store(store):
    return Path(store) if store is not None else model_store.default_store()


def build_model(sim: str, verilog_sources: Sequence[os.PathLike | str], toplevel: str,
                build_dir: os.PathLike | str, build_args: Sequence[str] = (),
                store: os.PathLike | str | None = None) -> float:
    """Build ``verilog_sources`` in ``build_dir`` unless up to date or in the model store (as
    :func:`run_simulation` would) without running anything; return the seconds spent building,
    0 if nothing was compiled. ``store``: the :mod:`tb.model_store` directory, the user's
    (:func:`tb.model_store.default_store`) if None.

    Raises
    ------
    RuntimeError
        If the build fails (the message ends with the end of the build log).
    ValueError, tb.toolchain.SimulatorMissing
        From :func:`tb.toolchain.simulator_env`.
    """
    sources = [Path(source).resolve() for source in verilog_sources]
    with _environ({**simulator_env(sim), "PYTEST_CURRENT_TEST": None}):
        return _build(get_runner(sim), sim, sources, toplevel, Path(build_dir).resolve(),
                      tuple(build_args), _store(store))[0]


def _read_results(results_xml):
    passed = failed = skipped = 0
    failures = []
    for testcase in ElementTree.parse(results_xml).getroot().iter("testcase"):
        problem = testcase.find("failure")
        if problem is None:
            problem = testcase.find("error")
        if problem is not None:
            failed += 1
            reason = (problem.get("message") or problem.text or "").strip().splitlines()
            if len(reason) > _REASON_LINES:
                reason[_REASON_LINES:] = [f"... ({len(reason) - _REASON_LINES} more lines)"]
            failures.append(f"{testcase.get('classname')}.{testcase.get('name')}: "
                            + ("\n    ".join(reason) if reason else "no reason given"))
        elif testcase.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped, tuple(failures)


def _shown(path):
    """``path`` relative to the working directory when it lies below it, else absolute."""
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def _summary_line(result, toplevel, test_module):
    """The one line a simulation prints: design, simulator, tests passed, seconds, log."""
    ran = result.passed + result.failed + result.skipped
    run_time = result.wall_time - result.build_time
    return (f"[simulate] {toplevel} on {result.sim}: {test_module} {result.passed} of {ran} "
            f"tests passed; build {result.build_time:.1f} s, run {run_time:.1f} s; "
            f"log {_shown(result.log)}")


def run_simulation(sim: str, verilog_sources: Sequence[os.PathLike | str], toplevel: str,
                   test_module: str, build_dir: os.PathLike | str, test_dir: os.PathLike | str,
                   testcase: str | Sequence[str] | None = None, seed: int | None = None, *,
                   plusargs: Sequence[str] = (), build_args: Sequence[str] = (),
                   check: bool = True,
                   store: os.PathLike | str | None = None) -> SimulationResult:
    """Build ``verilog_sources`` if needed and run the cocotb tests of ``test_module`` on them.

    The simulator's output and cocotb's log go to ``simulation.log`` in ``test_dir``; stdout
    gets one line: design, simulator, tests passed, build and run seconds, the log.

    Parameters
    ----------
    sim : str
        ``"icarus"`` or ``"verilator"``.
    verilog_sources : sequence of path
        Verilog files of the design, and any Verilator control files (``.vlt``) for it.
    toplevel : str
        Name of the top module, the ``dut`` of the tests.
    test_module : str
        Importable name of the Python module holding the cocotb tests (``tb.tile_tb``).
    build_dir : path
        Directory of the simulator build and its ``build.log``; use one per design
        configuration and simulator. The build is skipped while the simulator, top module,
        build arguments and the names and contents of the sources are those of the last
        successful build in this directory, or the model store holds their model.
    test_dir : path
        Directory the simulation runs in; ``results.xml`` and ``simulation.log`` are written
        there.
    testcase : str or sequence of str or None
        Names of the cocotb tests to run; all tests of the module if None.
    seed : int or None
        cocotb's random seed (``COCOTB_RANDOM_SEED``, ``cocotb.RANDOM_SEED`` in the tests);
        cocotb picks one if None.
    plusargs : sequence of str
        Simulator plusargs (``+name=value``), read by the tests from ``cocotb.plusargs``.
    build_args : sequence of str
        Simulator arguments added after the project's defaults (for example Verilator's
        ``--hierarchical``); part of what decides whether the build is up to date.
    check : bool
        Raise if a test failed or no test ran.
    store : path or None
        The :mod:`tb.model_store` directory models are taken from and kept in; the user's
        (:func:`tb.model_store.default_store`) if None.

    Returns
    -------
    SimulationResult
        Test counts, failures, the results file, the logs and timings.

    Raises
    ------
    AssertionError
        If ``check`` is true and a cocotb test failed (the message lists the failures and
        names the log), or no test ran.
    RuntimeError
        If the build fails (the message ends with the end of the build log), or if the
        simulator stops without writing results.
    ValueError, tb.toolchain.SimulatorMissing
        From :func:`tb.toolchain.simulator_env`, if ``sim`` is unknown or not installed.
    """
    start = time.perf_counter()
    sources = [Path(source).resolve() for source in verilog_sources]
    build_dir = Path(build_dir).resolve()
    test_dir = Path(test_dir).resolve()
    results_xml = test_dir / "results.xml"
    log = test_dir / _SIMULATION_LOG
    # Without PYTEST_CURRENT_TEST, cocotb's runner returns the results file instead of
    # exiting the process when a test fails, and leaves the results file where it is told.
    changes = {**simulator_env(sim), "PYTEST_CURRENT_TEST": None}
    with _environ(changes):
        runner = get_runner(sim)
        build_time, model_build_time = _build(runner, sim, sources, toplevel, build_dir,
                                              tuple(build_args), _store(store))
    with _environ({**changes, **_run_env(sim)}):
        try:
            # The language is given because a skipped build leaves the runner without sources.
            runner.test(test_module=test_module, hdl_toplevel=toplevel,
                        hdl_toplevel_lang="verilog", testcase=testcase, seed=seed,
                        plusargs=list(plusargs), build_dir=build_dir, test_dir=test_dir,
                        results_xml=str(results_xml), timescale=TIMESCALE, log_file=log)
            stopped = None
        except (RuntimeError, SystemExit) as error:
            # With a log file the runner raises when the simulator returns non-zero; results
            # may still exist.
            stopped = error
    if not results_xml.is_file():
        reason = f" ({stopped})" if stopped else ""
        raise RuntimeError(f"Simulating {toplevel} with {sim} stopped{reason} without writing "
                           f"{results_xml}; the log is {log}, ending with:\n{_log_tail(log)}")
    passed, failed, skipped, failures = _read_results(results_xml)
    result = SimulationResult(sim=sim, results_xml=results_xml, passed=passed, failed=failed,
                              skipped=skipped, failures=failures, build_time=build_time,
                              wall_time=time.perf_counter() - start, build_dir=build_dir,
                              log=log, model_build_time=model_build_time)
    print(_summary_line(result, toplevel, test_module), flush=True)
    if check and failed:
        raise AssertionError(f"{failed} cocotb test(s) of {test_module} failed with {sim} "
                             f"(log {log}):\n" + "\n".join(failures))
    if check and passed + failed + skipped == 0:
        raise AssertionError(f"No cocotb test of {test_module} ran with {sim} "
                             f"(testcase {testcase!r}; log {log})")
    return result
