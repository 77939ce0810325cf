"""What the RTL measured, and how well the models that the scaling layer uses reproduce it.

Takes the characterization results (:mod:`sim_models.results`) of ``python -m
tb.characterize_tile`` (tile runs at several array sizes; the full 128 x 128 run, committed
under ``characterization/``) and of ``python -m tb.characterize_fabric``, and recomputes every
measured figure from the models: tile cycles with
:func:`~sim_models.scaling.core_cycles.tile_cycles` (the path the chip model takes), all-reduce
cycles with the alpha-beta model and the RTL estimate.
"""

import math
from dataclasses import dataclass

from sim_models.config import TileConfig
from sim_models.program import MatmulFormat
from sim_models.stimulus import steady_state_shapes

from .core_cycles import tile_cycles, timing_tile
from .peak import RTL_MODELLED_CHIPS

__all__ = ["MEASURED_DATATYPES", "AllReduceCheck", "MeasuredRate", "TileCheck",
           "allreduce_checks", "chip_rates", "measured_rates", "tile_checks", "tile_chip"]


@dataclass(frozen=True)
class TileCheck:
    """One simulated GEMM and the cycle model's prediction for it.

    Members
    -------
    config : str
        Tile configuration name (``r16c16_int8``).
    rows, cols : int
    sim : str
    m, k, n : int
        GEMM shape.
    rtl_cycles : int
        Cycles the RTL took, measured on its ports (read-out included).
    model_cycles : int
        Cycles the scaling layer's cycle-model path gives for the same GEMM.
    bit_exact : bool
        Every result element equalled the golden model in the simulation.
    handshakes_checked, handshakes_matching : int
        Port handshakes compared with the cycle model in the simulation, and how many agreed.
    matmul_format : MatmulFormat
        The GEMM's operand formats and FP8 double-row mode.
    pe_stages : int
        MAC latency of the tile's PEs in cycles (``TileConfig.pe_stages``).
    chip : str
        The chip whose Tensor Engine the tile models (:func:`tile_chip`).
    """
    config: str
    rows: int
    cols: int
    sim: str
    m: int
    k: int
    n: int
    rtl_cycles: int
    model_cycles: int
    bit_exact: bool
    handshakes_checked: int
    handshakes_matching: int
    matmul_format: MatmulFormat
    pe_stages: int = 1
    chip: str = "trn2"

    @property
    def macs(self):
        return self.m * self.k * self.n

    @property
    def matches(self):
        """The model's cycles equal the RTL's, every handshake agreed and every bit matched."""
        return (self.rtl_cycles == self.model_cycles and self.bit_exact
                and self.handshakes_checked == self.handshakes_matching)

    @property
    def utilization(self):
        """MACs over the mode's peak in the RTL's cycles: R x C x products per PE per cycle (4
        in MX mode, 2 in FP8 double-row, else 1) x cycles; at most 1."""
        return self.macs / (self.rows * self.cols * self.matmul_format.rows_per_pe
                            * self.rtl_cycles)


def tile_chip(config):
    """The chip whose Tensor Engine a tile configuration models, of
    :data:`~sim_models.scaling.peak.RTL_MODELLED_CHIPS`: ``trn3`` when it has MX mode
    (``TileConfig.mx``), which only Trainium3 has, else ``trn2``. A rate measured on one chip's
    tile never stands for the other's."""
    return "trn3" if config.mx else "trn2"


def _check(run, design):
    # A double-row (MX) pass takes ceil(K / 2) (K / 4) load beats for K contraction rows and
    # the tiler cuts K in chunks of 2R (4R), so the schedule is the single-row one of
    # K' = ceil(K / 2) (K / 4). The design's MAC latency enters the fill and drain
    # (timing_tile).
    passes = math.ceil(run.k / run.matmul_format.rows_per_pe)
    return TileCheck(run.config, run.rows, run.cols, run.sim, run.m, run.k, run.n,
                     run.rtl_cycles, tile_cycles(timing_tile(design), run.m, passes, run.n),
                     run.bit_exact, run.handshakes_checked, run.handshakes_matching,
                     run.matmul_format, design.pe_stages, tile_chip(design))


def tile_checks(document):
    """Every run of a :class:`~sim_models.results.TileCharacterization`, its cycles recomputed
    by the scaling layer's model path (on the run's design, MAC latency included), as a tuple
    of :class:`TileCheck`."""
    designs = {design.configuration.name: design.configuration for design in document.designs}
    return tuple(_check(run, designs[run.config]) for run in document.runs)


@dataclass(frozen=True)
class AllReduceCheck:
    """One RTL all-reduce and the models' cycles for it.

    Members
    -------
    nodes, length, elements_per_flit : int
    rtl_cycles : int
    estimate_cycles : int
        The RTL-timing estimate (:class:`sim_models.allreduce.AllReduceEstimate`).
    model_cycles : float
        The alpha-beta network time plus the local streaming of the vector: the model the
        scaling layer uses.
    """
    nodes: int
    length: int
    elements_per_flit: int
    rtl_cycles: int
    estimate_cycles: int
    model_cycles: float

    @property
    def model_error(self):
        """(model - RTL) / RTL."""
        return (self.model_cycles - self.rtl_cycles) / self.rtl_cycles


def allreduce_checks(document):
    """The all-reduce runs of a :class:`~sim_models.results.FabricCharacterization`, as a
    tuple of :class:`AllReduceCheck`."""
    return tuple(AllReduceCheck(run.nodes, run.length, run.elements_per_flit, run.rtl_cycles,
                                run.estimate_cycles, run.alpha_beta_cycles + run.local_cycles)
                 for run in document.allreduce)


#: The scaling layer's datatype of each single-format, single-mode GEMM the RTL measures: BF16
#: and FP16 one product per PE per cycle, FP8 in double-row mode (E4M3 or E5M2 alike) two,
#: Trainium3's MXFP8 (E4M3FN or E5M2 elements alike) and MXFP4 in MX mode four.
MEASURED_DATATYPES = {MatmulFormat("bf16", "bf16"): "bf16",
                      MatmulFormat("fp16", "fp16"): "fp16",
                      MatmulFormat("fp8_e4m3", "fp8_e4m3", double_row=True): "fp8",
                      MatmulFormat("fp8_e5m2", "fp8_e5m2", double_row=True): "fp8",
                      MatmulFormat("fp8_e4m3fn", "fp8_e4m3fn", mx=True): "mxfp8",
                      MatmulFormat("fp8_e5m2", "fp8_e5m2", mx=True): "mxfp8",
                      MatmulFormat("fp4_e2m1", "fp4_e2m1", mx=True): "mxfp4"}


@dataclass(frozen=True)
class MeasuredRate:
    """MACs per PE per cycle of one datatype, measured on the RTL in steady state.

    Two GEMMs of the characterization differ only in their number of K chunks (M = C, N = 512,
    K = 2P and 4P with P = R, 2R in FP8 double-row mode, 4R in MX mode), each chunk's
    stationary loading behind the multiply before it. Their difference is two whole passes and
    nothing else, so ``(MACs_4 - MACs_2) / (R x C x (cycles_4 - cycles_2))`` is the rate at which
    the array does useful work once streaming, fill and drain cancelled out.

    Members
    -------
    datatype : str
        ``bf16``, ``fp16``, ``fp8``, ``mxfp8`` or ``mxfp4`` (the spec's datatype names).
    value : float
        MACs per PE per cycle; the lowest over the formats measured for the datatype (E4M3 and
        E5M2 for ``fp8``, E4M3FN and E5M2 elements for ``mxfp8``).
    config : str
        Tile configuration the two GEMMs ran on.
    shapes : tuple of (int, int, int)
        (M, K, N) of the two GEMMs.
    pe_stages : int
        MAC latency in cycles of that tile's PEs: the chip model's fill and drain take it.
    """
    datatype: str
    value: float
    config: str
    shapes: tuple
    pe_stages: int = 1

    @property
    def gemms(self):
        """The two GEMMs as text: ``(8, 16, 512) and (8, 32, 512)``."""
        return " and ".join(str(shape) for shape in self.shapes)


def _rate(pair):
    short, long = pair
    return (long.macs - short.macs) / (long.rows * long.cols *
                                       (long.rtl_cycles - short.rtl_cycles))


def measured_rates(checks, chip):
    """The :class:`MeasuredRate` of each datatype of :data:`MEASURED_DATATYPES` that ``checks``
    (TileCheck) of tiles of ``chip`` (:func:`tile_chip`: ``trn2`` or ``trn3``) hold the two
    steady-state GEMMs of, as a dict by datatype; only checks that matched the models bit- and
    cycle-exactly count."""
    pairs = {}
    for check in checks:
        datatype = MEASURED_DATATYPES.get(check.matmul_format)
        if datatype is None or not check.matches or check.chip != chip:
            continue
        shapes = steady_state_shapes(TileConfig(check.rows, check.cols), check.matmul_format)
        if (check.m, check.k, check.n) in shapes:
            pairs.setdefault((datatype, check.config, check.matmul_format), {})[check.k] = check
    rates = {}
    for (datatype, config, matmul_format), by_k in sorted(pairs.items(), key=str):
        if len(by_k) != 2:
            continue
        pair = tuple(by_k[k] for k in sorted(by_k))
        rate = MeasuredRate(datatype, _rate(pair), config,
                            tuple((check.m, check.k, check.n) for check in pair),
                            pair[0].pe_stages)
        if datatype not in rates or rate.value < rates[datatype].value:
            rates[datatype] = rate
    return rates


def chip_rates(checks):
    """:func:`measured_rates` of every chip of ``RTL_MODELLED_CHIPS`` that ``checks`` measure a
    rate of, as a dict by chip (``trn2``, ``trn3``) of dicts by datatype."""
    rates = {chip: measured_rates(checks, chip) for chip in RTL_MODELLED_CHIPS}
    return {chip: by_datatype for chip, by_datatype in rates.items() if by_datatype}
