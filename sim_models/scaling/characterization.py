"""What the RTL measured, and how well the models that the scaling layer uses reproduce it.

Takes the characterization results (:mod:`sim_models.results`) of ``python -m
tb.characterize_tile`` (tile runs at several array sizes; the full 128 x 128 run, committed
under ``characterization/``) and of ``python -m tb.characterize_fabric``, and recomputes every
measured figure from the models: tile cycles with
:func:`~sim_models.scaling.core_cycles.tile_cycles` (the path the chip model takes), all-reduce
cycles with the alpha-beta model and the RTL estimate.
"""

from dataclasses import dataclass

from sim_models.config import TileConfig

from .core_cycles import tile_cycles

__all__ = ["TileCheck", "AllReduceCheck", "allreduce_checks", "tile_checks"]


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
        """MACs over R x C x RTL cycles."""
        return self.macs / (self.rows * self.cols * self.rtl_cycles)


def _check(run):
    config = TileConfig(run.rows, run.cols, psum_banks=run.psum_banks,
                        psum_depth=run.psum_depth)
    return TileCheck(run.config, run.rows, run.cols, run.sim, run.m, run.k, run.n,
                     run.rtl_cycles, tile_cycles(config, run.m, run.k, run.n), run.bit_exact,
                     run.handshakes_checked, run.handshakes_matching)


def tile_checks(document):
    """Every run of a :class:`~sim_models.results.TileCharacterization`, its cycles recomputed
    by the scaling layer's model path, as a tuple of :class:`TileCheck`."""
    return tuple(_check(run) for run in document.runs)


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
