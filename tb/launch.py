"""The one way to simulate a design: generate its Verilog, build it once per simulator and run
cocotb tests on it.

A :class:`Design` says what is simulated (a configuration of ``sim_models.config``), which
cocotb module tests it, and how Verilator builds it; :func:`simulate` does the rest. The
tests learn what to do from a run request (:mod:`tb.run_request`) whose path they get as a
plusarg; their configuration is the sidecar's, never an environment variable.

Files under the build directory ``<build>``:

- ``verilog/<top>.v`` and ``<top>.ports.json`` of tiles (what ``make verilog`` writes and
  ``make lint`` checks); of the other designs under ``verilog/<kind>/``;
- ``sim/<sim>/<case>/``: the simulator build of one design, shared by every run of it;
- ``sim/<sim>/<case>/<test module>/``: the run directory of a test module, with
  ``request.json``, ``results.xml`` and ``simulation.log``.
"""

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hdl.emit import EmitError, generate, write
from hdl.fabric import router_leaves
from hdl.fabric.torus_collective import node_module_name
from hdl.leaf import leaf_module_name
from hdl.pe_column import tile_leaf_kinds
from sim_models.config import (AllReduceConfig, DistributedGemmConfig, FabricConfig, TileConfig,
                               config_to_dict, module_name)
from sim_models.results import ResultsError

from .run_request import PLUSARG, RunRequest
from .runner import SimulationResult, build_model, run_simulation
from .toolchain import check_simulator

__all__ = ["Design", "build_model_of", "exit_on_failure", "hierarchical_config",
           "simulate", "verilog_path"]

def hierarchical_config(config):
    """Verilator control file text that makes each leaf module of ``config`` (a TileConfig:
    its PE and PSUM columns; a FabricConfig: its router, one per level of a switched fabric; a
    collective on a torus: its router and its node, ``hdl.fabric.torus_collective``) a
    hierarchical block: with ``--hierarchical`` it is Verilated and compiled once, not once per
    instance.

    A floating-point tile's FloatMac is not a block of its own but part of its PE column's, or
    of its PE group's in columns of more than 8 rows (``hdl.pe_column.pe_group_rows``), where
    the group is a block too, inside the column's block. Every block is entered through a
    wrapper that locks Verilator's context twice per evaluation, and a pipelined (clocked)
    FloatMac is evaluated twice per cycle, so one block per PE made the 8 x 8 tile of the four
    formats simulate 24,911 instead of 50,319 cycles per CPU second; but inside a block
    Verilator writes the FloatMac's code once per instance, so a block of 64 of them ran the 64
    x 64 tile at a third of the speed of blocks of 8 (docs/simulation_speed.md)."""
    if isinstance(config, FabricConfig):
        modules = [name for _, name in router_leaves(config)]
    elif isinstance(config, AllReduceConfig):  # a torus collective: its router and its node
        modules = [name for _, name in router_leaves(config.ring)] + [node_module_name(config)]
    else:
        modules = [leaf_module_name(kind, config) for kind in tile_leaf_kinds(config)]
    return "`verilator_config\n" + "".join(f'hier_block -module "{module}"\n' for module in modules)


@dataclass(frozen=True)
class Design:
    """A design to simulate and the cocotb module that tests it.

    Parameters
    ----------
    config : TileConfig, FabricConfig, AllReduceConfig or DistributedGemmConfig
        What is generated (:func:`hdl.emit.generate`).
    test_module : str
        Importable name of the cocotb test module, e.g. ``"tb.tile_tb"``.
    hierarchical : bool
        Tiles and fabrics in Verilator only: build each column module and PE group
        (``hdl.pe_column.tile_leaf_kinds``, the FloatMac inside them), or the router, once
        as a hierarchical block (``--hierarchical``) instead of once per instance.
    verilog : Path or None
        The Verilog file of ``config`` as :func:`hdl.emit.write` wrote it, its
        ``<top>.ports.json`` beside it: built and simulated as it is, nothing elaborated. None:
        generated (once per process) and written under the build directory.

    Raises
    ------
    TypeError
        If ``config`` is not one of the four configurations, or ``hierarchical`` is set for a
        design that is neither a tile nor a fabric.
    """
    config: TileConfig | FabricConfig | AllReduceConfig | DistributedGemmConfig
    test_module: str
    hierarchical: bool = False
    verilog: Path | None = None

    def __post_init__(self):
        config_to_dict(self.config)  # raises TypeError for anything but a configuration
        torus = isinstance(self.config, AllReduceConfig) and self.config.torus
        if self.hierarchical and not (isinstance(self.config, (TileConfig, FabricConfig)) or
                                      torus):
            raise TypeError(f"Parameter 'hierarchical' needs a TileConfig, a FabricConfig or "
                            f"an AllReduceConfig on a torus, not {type(self.config).__name__}")

    @property
    def case(self):
        """Name of the design's build directories: the configuration's name, with
        ``_hierarchical`` for a hierarchical build."""
        return self.config.name + ("_hierarchical" if self.hierarchical else "")

    @property
    def build_args(self):
        """Simulator arguments beyond the runner's defaults."""
        return ["--hierarchical"] if self.hierarchical else []


@cache
def _generated(config):
    """The generated design of ``config``, elaborated once per process."""
    return generate(config)


def verilog_path(config, build):
    """Where :func:`simulate` writes the Verilog of ``config`` under ``build``:
    ``<build>/verilog/<top>.v`` for a tile, ``<build>/verilog/<kind>/<top>.v`` otherwise."""
    kind = config_to_dict(config)["kind"]
    # `make lint` checks <build>/verilog/*.v against waivers written for the tile; the
    # all-reduce and GEMM designs have -Wall warnings without waivers, so other kinds go
    # one level down.
    directory = build / "verilog" if kind == "tile" else build / "verilog" / kind
    return directory / f"{module_name(config)}.v"


def _prepare(design, sim, build):
    """Check that ``sim`` can build ``design``, write its Verilog unless given and its control
    file beside it; return them, the sidecar's path and the simulator build directory."""
    check_simulator(sim)
    if design.hierarchical and sim != "verilator":
        raise ValueError(f"Hierarchical builds need sim 'verilator', not {sim!r}")
    build = Path(build)
    verilog = Path(design.verilog) if design.verilog else \
        write(_generated(design.config), verilog_path(design.config, build).parent)
    sources = [verilog]
    if design.hierarchical:
        control = verilog.with_suffix(".hier.vlt")
        control.write_text(hierarchical_config(design.config))
        sources.append(control)
    return sources, verilog.with_suffix(".ports.json"), build / "sim" / sim / design.case


def build_model_of(design: Design, sim: str, *, build) -> float:
    """Generate ``design`` (unless its Verilog is given) and build it with ``sim`` under
    ``build`` (where :func:`simulate` would) unless up to date, running nothing; return the
    build seconds, 0 if up to date.

    Raises
    ------
    ValueError
        If a hierarchical build is asked of another simulator than Verilator.
    RuntimeError, tb.toolchain.SimulatorMissing, hdl.emit.EmitError
        From :func:`tb.runner.build_model` and :func:`hdl.emit.write`.
    """
    sources, _, build_dir = _prepare(design, sim, build)
    return build_model(sim, sources, sources[0].stem, build_dir, design.build_args)


def simulate(design: Design, sim: str, tests=None, seed: int = 1, *, build, results=None,
             options=None, rerun=None, run=None) -> SimulationResult:
    """Generate ``design`` (unless its Verilog is given), build it with ``sim`` unless up to
    date, and run its tests.

    Parameters
    ----------
    design : Design
    sim : str
        ``"icarus"`` or ``"verilator"``.
    tests : sequence of str or None
        Names of the cocotb tests to run; all tests of the module if None.
    seed : int
        Seed of every randomized test (and of cocotb), >= 0.
    build : path
        Build directory (see the module docstring for what goes where).
    results : path or None
        JSON-lines file the tests append their measurements to; emptied first. None: the
        tests record nothing.
    options : dict or None
        Options of the test module, JSON values (see :class:`~tb.run_request.RunRequest`).
    rerun : str or None
        Shell command that reproduces this run, logged by the tests with the seed.
    run : str or None
        Name of the run directory under the build directory; the test module's name if None.
        Runs of one build that may overlap in time need names of their own.

    Returns
    -------
    SimulationResult

    Raises
    ------
    ValueError
        If ``sim`` is not a simulator, or a hierarchical build is asked of another simulator
        than Verilator.
    TypeError
        If ``seed`` is not a non-negative integer.
    AssertionError
        If a test failed or none ran; the message lists the failures, names the log and ends
        with ``rerun``.
    RuntimeError, tb.toolchain.SimulatorMissing, hdl.emit.EmitError
        From :func:`tb.runner.run_simulation` and :func:`hdl.emit.write`.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TypeError(f"Parameter 'seed' must be a non-negative integer, not {seed!r}")
    sources, sidecar, build_dir = _prepare(design, sim, build)
    run_dir = build_dir / (run or design.test_module.rsplit(".", 1)[-1])
    run_dir.mkdir(parents=True, exist_ok=True)
    if results is not None:
        results = Path(results).resolve()
        results.parent.mkdir(parents=True, exist_ok=True)
        results.unlink(missing_ok=True)
    request = run_dir / "request.json"
    RunRequest(sidecar.resolve(), seed, results, options or {}, rerun).write(request)
    try:
        return run_simulation(sim, sources, sources[0].stem, design.test_module, build_dir,
                              run_dir, tests, seed, plusargs=[f"+{PLUSARG}={request.resolve()}"],
                              build_args=design.build_args)
    except AssertionError as error:
        if rerun is None:
            raise
        raise AssertionError(f"{error}\nrerun: {rerun}") from None


@contextmanager
def exit_on_failure():
    """For command lines that simulate: a failure inside the block ends the process with one
    line on stderr and exit status 1, not a traceback. Failures are a simulation that failed
    its checks (the message names the tests, the log and the rerun command), a build that
    failed, a missing simulator, and files that cannot be written or read. Ctrl-C ends it with
    one line and status 130; results files are written only whole, so nothing half-done is
    left to trust and a rerun starts the interrupted step again."""
    try:
        yield
    except KeyboardInterrupt:
        print("interrupted: no results file was written; rerun to continue", file=sys.stderr)
        sys.exit(130)
    except (AssertionError, RuntimeError, EmitError, ResultsError) as error:
        sys.exit(f"error: {error}")
    except OSError as error:
        sys.exit(f"error: cannot write {error.filename or 'the build directory'}: "
                 f"{error.strerror or error}")
