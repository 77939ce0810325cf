"""The records of characterization results: typed, frozen dataclasses, each checking its own
consistency on construction (``ValueError`` naming the field).

- :class:`TileCharacterization` (schema ``tile-characterization/2``): GEMMs of many shapes on
  tiles, checked bit- and cycle-exactly (``python -m tb.characterize_tile``).
- :class:`FabricCharacterization` (schema ``fabric-characterization/3``): hop latency, link
  efficiency, all-reduce cycles, and every collective measured per topology with its
  alpha-beta fit and held-out errors (``python -m tb.characterize_fabric``).

Every document lists the designs it simulated (:class:`SimulatedDesign`), each with the SHA-256
of the Verilog file that was simulated and of what the run was checked against
(:mod:`sim_models.digests`).
"""

import math
import re
from dataclasses import dataclass, replace
from typing import ClassVar

from ..collective_fit import (ALGORITHMS, TORUS_ALGORITHMS, TORUS_DIMENSIONS, algorithm_of,
                              fit, held_out)
from ..config import (AllReduceConfig, AllToAllConfig, FabricConfig, TileConfig,
                      config_from_dict, module_name)
from ..program import MatmulFormat

__all__ = ["AllReduceRun", "AlphaBetaFit", "CollectiveFit", "CollectiveRun",
           "FabricCharacterization", "HopLatency", "HopPoint", "LinkEfficiency", "ModelBuild",
           "SimulatedDesign", "TileCharacterization", "TileRun", "TOPOLOGIES", "fit_series"]

#: Topology kinds of collective measurements: a fabric's by its dimensions; ``switch`` is
#: reserved for the switched fabric.
TOPOLOGIES = ("ring", "torus2d", "torus3d", "switch")

_SHA256 = re.compile(r"[0-9a-f]{64}")


def _check_digest(name, value):
    if not _SHA256.fullmatch(value) or not value.strip("0"):
        raise ValueError(f"field '{name}' must be a SHA-256 digest, 64 hex digits not all "
                         f"zero, not {value!r}")


@dataclass(frozen=True)
class SimulatedDesign:
    """One design a characterization simulated, and what it was checked against.

    Members
    -------
    config : dict
        Its configuration, :func:`sim_models.config.config_to_dict` form.
    top : str
        Its top module, :func:`sim_models.config.module_name` of the configuration: the
        Verilog file simulated was ``<top>.v``.
    verilog_sha256 : str
        SHA-256 (64 hex digits) of that Verilog file.
    checked_sha256 : str
        SHA-256 of what the run was checked against: the GEMM programs and their cycle-model
        timing for a tile, the analytic models' predictions for a fabric or all-reduce ring
        (:mod:`sim_models.digests`).

    Raises
    ------
    ValueError
        If the configuration does not load, ``top`` is not its module name, or a digest is not
        64 hex digits or is all zeros.
    """
    config: dict
    top: str
    verilog_sha256: str
    checked_sha256: str

    def __post_init__(self):
        try:
            configuration = config_from_dict(self.config)
        except (TypeError, ValueError) as error:
            raise ValueError(f"field 'config': {error}") from None
        if self.top != module_name(configuration):
            raise ValueError(f"field 'top' must be {module_name(configuration)!r} for the "
                             f"configuration {configuration.name}, not {self.top!r}")
        _check_digest("verilog_sha256", self.verilog_sha256)
        _check_digest("checked_sha256", self.checked_sha256)

    @property
    def configuration(self):
        """The design's configuration object (TileConfig, FabricConfig, ...)."""
        return config_from_dict(self.config)


@dataclass(frozen=True)
class TileRun:
    """One GEMM simulated on a tile, bit-exact and checked handshake by handshake.

    Members
    -------
    config : str
        Tile configuration name (``r16c16_int8``): the ``name`` of one of the document's
        designs.
    rows, cols, psum_banks, psum_depth : int
        That configuration's shape.
    sim : str
        Simulator, ``icarus`` or ``verilator``.
    m, k, n : int
        GEMM shape: ``out[M, N] = stationary[K, M]^T @ moving[K, N]``.
    macs : int
        M x K x N.
    rtl_cycles : int
        Cycles the RTL took, measured on its ports, read-out included.
    model_cycles : int
        Cycles the cycle model gives the same program.
    rtl_last_write_cycle : int
        Cycles up to and including the last PSUM write (what SCALE-Sim counts).
    handshakes_checked, handshakes_matching : int
        Port handshakes compared with the cycle model, and how many happened in its cycle.
    bit_exact : bool
        Every result element equalled the golden model.
    build_seconds : float or None
        Seconds to build the simulation model that ran it (None if unknown).
    sim_seconds : float
        Seconds of simulating this GEMM alone.
    stationary_format, moving_format : str
        Operand formats (names of ``sim_models.config.OPERAND_FORMATS``); int8 by default.
    double_row : bool
        FP8 double-row mode (K up to 2R per pass).
    mx : bool
        MX mode (K up to 4R per pass, E8M0 block scales); absent (false) in files written
        before MX GEMMs were characterized.
    """
    config: str
    rows: int
    cols: int
    psum_banks: int
    psum_depth: int
    sim: str
    m: int
    k: int
    n: int
    macs: int
    rtl_cycles: int
    model_cycles: int
    rtl_last_write_cycle: int
    handshakes_checked: int
    handshakes_matching: int
    bit_exact: bool
    build_seconds: float | None
    sim_seconds: float
    stationary_format: str = "int8"
    moving_format: str = "int8"
    double_row: bool = False
    mx: bool = False

    def __post_init__(self):
        if self.macs != self.m * self.k * self.n:
            raise ValueError(f"field 'macs' must be m * k * n = {self.m * self.k * self.n}, "
                             f"not {self.macs}")
        # A run is recorded only once its checks passed: a record that says otherwise was not
        # written by the characterization and cannot be trusted.
        if self.bit_exact is not True:
            raise ValueError("field 'bit_exact' must be true: a run is recorded only when every "
                             "result element matched the golden model")
        if self.rtl_cycles != self.model_cycles:
            raise ValueError(f"field 'rtl_cycles' is {self.rtl_cycles} but 'model_cycles' is "
                             f"{self.model_cycles}: a run is recorded only when the RTL took "
                             f"the cycle model's cycles")
        if self.handshakes_matching != self.handshakes_checked:
            raise ValueError(f"field 'handshakes_matching' is {self.handshakes_matching} of "
                             f"{self.handshakes_checked}: a run is recorded only when every "
                             f"handshake was where the cycle model put it")

    @property
    def shape(self):
        """(M, K, N) of the GEMM."""
        return self.m, self.k, self.n

    @property
    def matmul_format(self):
        """The GEMM's :class:`~sim_models.program.MatmulFormat`."""
        return MatmulFormat(self.stationary_format, self.moving_format, self.double_row,
                            self.mx)


@dataclass(frozen=True)
class ModelBuild:
    """How one simulation model was built (seconds None where unknown).

    Members
    -------
    build_seconds : float or None
        The whole build.
    verilation_seconds : float or None
        Verilator itself (Verilator builds only).
    compile_seconds : float or None
        The rest: C++ compile and link.
    build_args : tuple of str
        Extra simulator build arguments (``--hierarchical``).
    """
    build_seconds: float | None
    verilation_seconds: float | None
    compile_seconds: float | None
    build_args: tuple[str, ...]


def _designs_by_name(designs, kinds):
    """The designs by configuration name, each of one of the configuration types ``kinds``."""
    if not designs:
        raise ValueError("field 'designs' is empty: the file names no simulated design")
    found = {}
    for index, design in enumerate(designs):
        configuration = design.configuration
        if not isinstance(configuration, kinds):
            raise ValueError(f"field 'designs[{index}].config' must be of kind "
                             f"{' or '.join(kind.__name__ for kind in kinds)}, not "
                             f"{type(configuration).__name__}")
        if configuration.name in found:
            raise ValueError(f"field 'designs[{index}]' repeats the design "
                             f"{configuration.name}")
        found[configuration.name] = configuration
    return found


@dataclass(frozen=True)
class TileCharacterization:
    """A tile characterization: GEMMs on one or more tile configurations.

    Members
    -------
    seed : int
        Seed of the GEMMs' random operands (:func:`sim_models.stimulus.characterization_gemm`).
    designs : tuple of SimulatedDesign
        Every tile simulated, once each.
    runs : tuple of TileRun
        Every GEMM, in the order it ran; each tile's in the order of its program.
    date : str or None
        ISO 8601 time of the run (the dated full-size run).
    builds : dict of str to ModelBuild, or None
        Per configuration name, how its model was built (the dated full-size run).

    Raises
    ------
    ValueError
        If a run names no design or disagrees with its shape, a design has no run, or the file
        holds no design.
    """
    SCHEMA: ClassVar[str] = "tile-characterization/2"
    seed: int
    designs: tuple[SimulatedDesign, ...]
    runs: tuple[TileRun, ...]
    date: str | None = None
    builds: dict[str, ModelBuild] | None = None

    def __post_init__(self):
        configs = _designs_by_name(self.designs, (TileConfig,))
        for index, run in enumerate(self.runs):
            config = configs.get(run.config)
            if config is None:
                raise ValueError(f"field 'runs[{index}].config' must name a design "
                                 f"({', '.join(configs)}), not {run.config!r}")
            shape = (config.rows, config.cols, config.psum_banks, config.psum_depth)
            if (run.rows, run.cols, run.psum_banks, run.psum_depth) != shape:
                raise ValueError(f"field 'runs[{index}]': rows, cols, psum_banks, psum_depth "
                                 f"must be those of {run.config}, {shape}")
        idle = set(configs) - {run.config for run in self.runs}
        if idle:
            raise ValueError(f"field 'runs' has no run of the design {sorted(idle)[0]}")
        unknown = set(self.builds or ()) - set(configs)
        if unknown:
            raise ValueError(f"field 'builds' names no design: {sorted(unknown)[0]!r}")

    def shapes(self, name):
        """The GEMM shapes (M, K, N) run on the configuration ``name``, in run order."""
        return [run.shape for run in self.runs if run.config == name]

    def matmul_formats(self, name):
        """The :class:`~sim_models.program.MatmulFormat` of each GEMM run on the configuration
        ``name``, in run order."""
        return [run.matmul_format for run in self.runs if run.config == name]


@dataclass(frozen=True)
class HopPoint:
    """Zero-load header latency over one distance.

    Members
    -------
    fabric : str
        Fabric configuration name (``ring8``): the ``name`` of one of the document's designs.
    hops : int
        Links crossed.
    cycles, model_cycles : int
        Cycles from the inject to the eject handshake, measured and modelled.
    """
    fabric: str
    hops: int
    cycles: int
    model_cycles: int


@dataclass(frozen=True)
class HopLatency:
    """Zero-load latency measured from node 0 to every node, and its least-squares line.

    Members
    -------
    per_hop_cycles, base_cycles : float
        The fit: ``base_cycles + per_hop_cycles * hops`` cycles.
    points : tuple of HopPoint
    """
    per_hop_cycles: float
    base_cycles: float
    points: tuple[HopPoint, ...]


@dataclass(frozen=True)
class LinkEfficiency:
    """Link efficiency of one fabric at saturation.

    Members
    -------
    fabric : str
        Fabric configuration name: the ``name`` of one of the document's designs.
    pattern : str
        Traffic pattern (``saturation``).
    flits_per_cycle_per_link : float
        0..1: a link carries at most one flit per cycle.
    window_cycles : int
        Cycles from the first injection to the last ejection.
    packets_delivered : int
    """
    fabric: str
    pattern: str
    flits_per_cycle_per_link: float
    window_cycles: int
    packets_delivered: int


@dataclass(frozen=True)
class AllReduceRun:
    """One hardware ring all-reduce of int32 vectors with ideal local streams.

    Members
    -------
    nodes, length, elements_per_flit : int
        Ring nodes, int32 elements per vector, elements per payload flit.
    rtl_cycles : int
        Cycles from the first input element to the last result, measured.
    estimate_cycles : int
        The analytic estimate of the RTL (:class:`sim_models.allreduce.AllReduceEstimate`).
    local_cycles : int
        ``2 * length + 1``: streaming the vector in and the result out.
    alpha_beta_cycles : float
        The alpha-beta network time with the fitted alpha, one flit per cycle.
    """
    nodes: int
    length: int
    elements_per_flit: int
    rtl_cycles: int
    estimate_cycles: int
    local_cycles: int
    alpha_beta_cycles: float


@dataclass(frozen=True)
class AlphaBetaFit:
    """Alpha of the alpha-beta model, fitted to the all-reduce runs.

    Members
    -------
    alpha_cycles : float
        Cycles per all-reduce step.
    flit_bytes : int
        Bytes per flit.
    fit_max_relative_error : float
        Largest ``|alpha-beta + local - RTL| / RTL`` over the runs.
    """
    alpha_cycles: float
    flit_bytes: int
    fit_max_relative_error: float


@dataclass(frozen=True)
class CollectiveRun:
    """One collective simulated on the RTL with ideal local streams, checked element for
    element against its reference model.

    Members
    -------
    topology : str
        One of :data:`TOPOLOGIES`.
    design : str
        Configuration name of the design simulated (one of the document's designs).
    collective, algorithm : str
        A key of :data:`sim_models.collective_fit.ALGORITHMS`.
    element : str
        Element format: ``int32``, ``fp32``, ``bf16`` (all-reduce) or ``word32`` (all-to-all).
    nodes : int
    message_bytes : int
        The algorithm's message size (vector bytes per node; block bytes per destination).
    rtl_cycles : int
        Cycles from the first input element to the last result, measured.
    local_cycles : int
        Cycles of streaming through the testbench's one-element-per-cycle ports that the fit
        leaves out (``2 * length + 1`` for the all-reduce, which streams in and out around the
        network phase; 0 for the all-to-all, whose streaming overlaps the network).
    held_out : bool
        True when the fit did not see this point (:func:`sim_models.collective_fit.held_out`).
    model_cycles : float
        The fit's alpha-beta cycles plus ``local_cycles``.
    """
    topology: str
    design: str
    collective: str
    algorithm: str
    element: str
    nodes: int
    message_bytes: int
    rtl_cycles: int
    local_cycles: int
    held_out: bool
    model_cycles: float

    def __post_init__(self):
        if self.topology not in TOPOLOGIES:
            raise ValueError(f"field 'topology' must be one of {', '.join(TOPOLOGIES)}, "
                             f"not {self.topology!r}")
        if (self.collective, self.algorithm) not in ALGORITHMS:
            raise ValueError(f"fields 'collective', 'algorithm' must be one of "
                             f"{', '.join('/'.join(key) for key in ALGORITHMS)}, not "
                             f"{self.collective}/{self.algorithm}")
        if self.algorithm in TORUS_ALGORITHMS and self.topology not in TORUS_DIMENSIONS:
            raise ValueError(f"field 'topology' of a dimension-wise run must be one of "
                             f"{', '.join(TORUS_DIMENSIONS)}, not {self.topology!r}")
        if self.rtl_cycles <= self.local_cycles:
            raise ValueError(f"field 'rtl_cycles' ({self.rtl_cycles}) must exceed "
                             f"'local_cycles' ({self.local_cycles})")

    @property
    def series(self):
        """(topology, collective, algorithm, element): the fit this run belongs to."""
        return self.topology, self.collective, self.algorithm, self.element

    @property
    def error(self):
        """(model - RTL) / RTL."""
        return (self.model_cycles - self.rtl_cycles) / self.rtl_cycles


@dataclass(frozen=True)
class CollectiveFit:
    """Alpha and beta of one collective on one topology, fitted to the runs not held out.

    Members
    -------
    topology, collective, algorithm, element : str
        As :class:`CollectiveRun`; one fit per combination.
    alpha_cycles : float
        Cycles per operation (step or message).
    beta_cycles_per_byte : float
        Cycles per byte through the busiest link or port.
    flit_bytes : int
        Payload bytes a link carries per cycle at full rate: the ideal beta is
        ``1 / flit_bytes``.
    nodes_min, nodes_max : int
        Node counts measured (fitted and held out).
    bytes_min, bytes_max : int
        Message sizes measured.
    fitted_points, held_out_points : int
    fit_max_error : float
        Largest ``|model - RTL| / RTL`` over the fitted runs.
    held_out_max_error : float
        The same over the held-out runs: how sure the fit is away from its own points.
    """
    topology: str
    collective: str
    algorithm: str
    element: str
    alpha_cycles: float
    beta_cycles_per_byte: float
    flit_bytes: int
    nodes_min: int
    nodes_max: int
    bytes_min: int
    bytes_max: int
    fitted_points: int
    held_out_points: int
    fit_max_error: float
    held_out_max_error: float

    @property
    def series(self):
        """(topology, collective, algorithm, element)."""
        return self.topology, self.collective, self.algorithm, self.element

    @property
    def link_efficiency(self):
        """The ideal beta over the fitted one: the fraction of a link's flit rate the
        collective's payload moved at, at most 1 when the link is the bottleneck."""
        return 1 / (self.flit_bytes * self.beta_cycles_per_byte)


def fit_series(runs, flit_bytes):
    """The :class:`CollectiveFit` of ``runs`` (one series, :attr:`CollectiveRun.series`), and the
    runs with their ``held_out`` flag and ``model_cycles`` set from it."""
    first = runs[0]
    algorithm = algorithm_of(first.topology, first.collective, first.algorithm)
    points = [(run.nodes, run.message_bytes) for run in runs]
    hidden = held_out(points)
    result = fit(algorithm, points, [run.rtl_cycles - run.local_cycles for run in runs],
                 [not flag for flag in hidden])
    runs = tuple(replace(run, held_out=flag, model_cycles=run.local_cycles + algorithm.cycles(
        run.nodes, run.message_bytes, result.alpha, result.beta))
        for run, flag in zip(runs, hidden))
    errors = [abs(run.error) for run in runs]

    def worst(flag):
        chosen = [error for error, hide in zip(errors, hidden) if hide == flag]
        return max(chosen) if chosen else 0.0
    return CollectiveFit(*first.series, result.alpha, result.beta, flit_bytes,
                         min(n for n, _ in points), max(n for n, _ in points),
                         min(s for _, s in points), max(s for _, s in points),
                         hidden.count(False), hidden.count(True), worst(False),
                         worst(True)), runs


@dataclass(frozen=True)
class FabricCharacterization:
    """The fabric characterization: hop latency, link efficiency and all-reduce cycles.

    Members
    -------
    simulator : str
        Simulator of every figure.
    designs : tuple of SimulatedDesign
        Every fabric and all-reduce ring simulated, once each.
    hop_latency : HopLatency
    link_efficiency : tuple of LinkEfficiency
        At least one fabric.
    allreduce : tuple of AllReduceRun
        At least one run.
    alpha_beta : AlphaBetaFit
    collectives : tuple of CollectiveRun
        Every collective run, per topology, collective, algorithm and element.
    fits : tuple of CollectiveFit
        One per series of ``collectives``, equal to what :func:`fit_series` gives them.

    Raises
    ------
    ValueError
        If a measurement names no design, a list the scaling layer needs is empty, or a fit
        (or a run's held-out flag or model cycles) is not what the runs give.
    """
    SCHEMA: ClassVar[str] = "fabric-characterization/3"
    simulator: str
    designs: tuple[SimulatedDesign, ...]
    hop_latency: HopLatency
    link_efficiency: tuple[LinkEfficiency, ...]
    allreduce: tuple[AllReduceRun, ...]
    alpha_beta: AlphaBetaFit
    collectives: tuple[CollectiveRun, ...]
    fits: tuple[CollectiveFit, ...]

    def __post_init__(self):
        configs = _designs_by_name(self.designs, (FabricConfig, AllReduceConfig,
                                                  AllToAllConfig))
        fabrics = [point.fabric for point in self.hop_latency.points] + \
            [entry.fabric for entry in self.link_efficiency]
        for name in fabrics:
            if not isinstance(configs.get(name), FabricConfig):
                raise ValueError(f"fabric {name!r} of a measurement names no fabric design")
        rings = {(config.ring.nodes, config.vector_length) for config in configs.values()
                 if isinstance(config, AllReduceConfig)}
        for index, run in enumerate(self.allreduce):
            if (run.nodes, run.length) not in rings:
                raise ValueError(f"field 'allreduce[{index}]' ({run.nodes} nodes, "
                                 f"{run.length} elements) names no all-reduce design")
        for name in ("link_efficiency", "allreduce", "collectives"):
            if not getattr(self, name):
                raise ValueError(f"field '{name}' is empty")
        self._check_collectives(configs)

    def _check_collectives(self, configs):
        """Every collective run names a design of its kind; every fit is its series' fit."""
        kinds = {"allreduce": AllReduceConfig, "reducescatter": AllReduceConfig,
                 "allgather": AllReduceConfig, "alltoall": AllToAllConfig}
        for index, run in enumerate(self.collectives):
            if not isinstance(configs.get(run.design), kinds[run.collective]):
                raise ValueError(f"field 'collectives[{index}].design' ({run.design!r}) names "
                                 f"no {kinds[run.collective].__name__} design")
        fits = {fitted.series: fitted for fitted in self.fits}
        if not any(key[:2] == ("ring", "allreduce") for key in fits):
            raise ValueError("field 'fits' has no ring all-reduce fit: the scaling layer "
                             "needs one")
        if len(fits) != len(self.fits):
            raise ValueError("field 'fits' repeats a series")
        for series in {run.series for run in self.collectives} | set(fits):
            runs = tuple(run for run in self.collectives if run.series == series)
            stored = fits.get(series)
            if stored is None or not runs:
                raise ValueError(f"series {'/'.join(series)}: "
                                 f"{'no fit' if stored is None else 'a fit without runs'}")
            expected, expected_runs = fit_series(runs, stored.flit_bytes)
            same = all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) if isinstance(a, float)
                       else a == b for a, b in zip(
                           [*vars(stored).values(), *(v for run in runs
                                                      for v in vars(run).values())],
                           [*vars(expected).values(), *(v for run in expected_runs
                                                        for v in vars(run).values())]))
            if not same:
                raise ValueError(f"series {'/'.join(series)}: the fit or the runs' held-out "
                                 f"flags and model cycles are not what the runs give")

    def fit(self, topology, collective, element):
        """The :class:`CollectiveFit` of ``collective`` on ``topology`` for ``element``, or
        None when not measured."""
        return next((fitted for fitted in self.fits if (fitted.topology, fitted.collective,
                     fitted.element) == (topology, collective, element)), None)
