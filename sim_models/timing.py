"""Latencies of the tile, the one place they are named: the RTL (``hdl.tile``,
``hdl.sequencer``), the cycle model and the tests all derive their cycle counts from here.

Two per-element latencies and a few fixed ones make up every delay in the array:

- a PE's MAC latency (:attr:`TileLatency.pe_stages`): cycles from a PE taking its operands to
  its partial sum leaving it; the partial sum from the PE above enters the MAC
  :attr:`TileLatency.partial_stage` cycles after the operands did (the stages before compute
  the products), so the partial sum takes :attr:`TileLatency.row_hop` cycles per PE row;
- a hop (:data:`HOP_CYCLES`): a moving value, a weight select, a format or a stationary row
  passing from one PE column to the next.

The skews follow: row k of a moving vector is delayed k x ``row_hop`` cycles so that it meets the
partial sum coming down, and every signal that travels with it (its weight select, its formats)
is delayed the same; column m sees everything m hops later. A stationary row travels down its
column too, k x (``row_hop`` - 1) cycles to row k: late enough that every vector taken before
the load has used the old weight, early enough that every vector taken after it finds the new
one (:meth:`TileLatency.load_arrival`), so a load never waits for a vector to drain.
"""

from dataclasses import dataclass

__all__ = ["HOP_CYCLES", "INJECTION_CYCLES", "MAC_CUTS", "MAC_CUT_POINTS",
           "MAX_FLOAT_PE_STAGES", "OP_QUEUE_DEPTH", "PSUM_LOOKAHEAD_CYCLES", "PSUM_READ_CYCLES",
           "TileLatency", "drain_cycles", "mac_cuts", "tile_latency"]

#: Operations buffered between the op stream and the sequencer's dispatcher.
OP_QUEUE_DEPTH = 4
#: Cycles from the sequencer taking a moving or stationary beat to PE (0, 0) seeing it.
INJECTION_CYCLES = 1
#: Cycles a value takes from one PE column to the next (moving values, weight selects, formats,
#: stationary rows being loaded).
HOP_CYCLES = 1
#: Cycles a PSUM column reads the entry it accumulates into ahead of the partial sum's arrival.
PSUM_LOOKAHEAD_CYCLES = 1
#: Cycles from a PSUM read request to its result beat (the read port's data register).
PSUM_READ_CYCLES = 1


@dataclass(frozen=True)
class TileLatency:
    """Cycle offsets inside a tile of ``rows`` x ``cols`` PEs, relative to the cycle the
    sequencer takes the beat concerned.

    Parameters
    ----------
    rows, cols : int
        The array, R x C.
    pe_stages : int
        MAC latency of one PE in cycles (1: one register, the partial sum's).
    partial_stage : int
        Cycles after its operands at which a PE takes the partial sum from above, 0 ..
        ``pe_stages`` - 1.
    """
    rows: int
    cols: int
    pe_stages: int = 1
    partial_stage: int = 0

    @property
    def row_hop(self):
        """Cycles the partial sum takes from one PE row to the next, and so the skew between
        consecutive rows of a moving vector."""
        return self.pe_stages - self.partial_stage

    def operand_arrival(self, row, col):
        """Cycles from a moving beat being taken to PE (``row``, ``col``) taking its lane, its
        weight select and its formats."""
        return INJECTION_CYCLES + row * self.row_hop + col * HOP_CYCLES

    @property
    def load_row_hop(self):
        """Cycles a stationary row takes from one PE row to the next: one less than a moving
        vector's rows, as a load takes one row per beat (0 with one-stage PEs)."""
        return self.row_hop - 1

    def load_arrival(self, row, col):
        """Cycles from stationary beat ``row`` being taken to PE (``row``, ``col``) writing it.

        Row k of a load is taken at least k + 1 cycles after the last moving beat that used the
        bank it overwrites (loads issue after that vector, one row per beat) and, as a multiply
        issues after its load's last beat, before the first moving beat that uses it. Arriving
        k x :attr:`load_row_hop` cycles later than row 0, it is written no earlier than that old
        vector's row k used the old weight (``operand_arrival``: k x ``row_hop``), and before
        the new vector's row k arrives."""
        return INJECTION_CYCLES + row * self.load_row_hop + col * HOP_CYCLES

    def psum_write(self, col):
        """Cycles from a moving beat being taken to the PSUM write of its result for column
        ``col``: its bottom PE's operand arrival plus the MAC latency."""
        return self.operand_arrival(self.rows - 1, col) + self.pe_stages

    def psum_lookup(self, col):
        """Cycles from a moving beat being taken to the PSUM read of the entry it accumulates
        into, in column ``col``."""
        return self.psum_write(col) - PSUM_LOOKAHEAD_CYCLES

    @property
    def skew_span(self):
        """Cycles from a moving beat being taken to the last PE, (R - 1, C - 1), taking it: the
        length of the delay line its weight selects and formats travel."""
        return self.operand_arrival(self.rows - 1, self.cols - 1)

    @property
    def drain(self):
        """Cycles after a bank's last moving beat until no later read of the bank can miss its
        PSUM write (a read issued ``drain + 1`` cycles after the beat reads after the last
        write): the last column's write, less one."""
        return self.psum_write(self.cols - 1) - 1

    @property
    def fill_drain(self):
        """Cycles one operation spends beyond its N moving beats (the pipeline fill and drain
        of the array): from its first moving beat to its last PSUM write, both included, is
        N + ``fill_drain`` cycles."""
        return self.psum_write(self.cols - 1)


#: The places a pipeline register may cut the floating-point MAC (``hdl.float_arith``), in
#: datapath order: after decoding the operands (``decoded``), after multiplying them
#: (``products``), after shifting the double-row products onto one grid (``grid``), after their
#: exact sum (``term``), after counting the leading zeros of the two addends (``counted``: the
#: products' term and the partial sum), after normalizing them (``terms``), after ordering them
#: by size (``ordered``: the larger, the smaller and their exponent distance), after aligning
#: them (``aligned``), after adding them (``sum``), after counting the sum's leading zeros
#: (``sum_counted``), after normalizing it (``normalized``), after rounding it to 24 bits
#: (``rounded``), after the result's range checks (``ranged``: its biased exponent and whether
#: it under- or overflows); the specials and the FP32 encoding are last. The partial
#: sum from the PE above enters after ``term``, so the cuts before it lengthen the moving
#: values' path, not the partial sum's.
MAC_CUT_POINTS = ("decoded", "products", "grid", "term", "counted", "terms", "ordered",
                  "aligned", "sum", "sum_counted", "normalized", "rounded", "ranged")
#: Cut points before the partial sum enters the MAC.
_BEFORE_PARTIAL = ("decoded", "products", "grid", "term")
#: Where the ``pe_stages - 1`` pipeline registers of a floating-point MAC go, by depth: the cuts
#: that balance the stages of the critical path measured on an ECP5 (``sweep.pe_timing``;
#: docs/pipelined-pe.md), the longest stage first split.
MAC_CUTS = {
    1: (),
    2: ("terms",),
    3: ("term", "aligned"),
    4: ("products", "terms", "sum"),
    5: ("products", "term", "aligned", "sum"),
    6: ("products", "term", "terms", "aligned", "normalized"),
    7: ("products", "term", "terms", "ordered", "aligned", "normalized"),
    8: ("products", "term", "terms", "ordered", "aligned", "sum", "normalized"),
    9: ("products", "term", "terms", "ordered", "aligned", "sum", "normalized", "rounded"),
    10: ("products", "grid", "term", "terms", "ordered", "aligned", "sum", "normalized",
         "rounded"),
    11: ("products", "grid", "term", "counted", "terms", "ordered", "aligned", "sum",
         "normalized", "rounded"),
    12: ("products", "grid", "term", "counted", "terms", "ordered", "aligned", "sum",
         "sum_counted", "normalized", "rounded"),
    13: ("decoded", "products", "grid", "term", "counted", "terms", "ordered", "aligned", "sum",
         "sum_counted", "normalized", "rounded"),
    14: MAC_CUT_POINTS,
}
#: Deepest floating-point MAC: one register per cut point.
MAX_FLOAT_PE_STAGES = len(MAC_CUT_POINTS) + 1


def mac_cuts(pe_stages):
    """The cut points (names of :data:`MAC_CUT_POINTS`) of a MAC of ``pe_stages`` stages."""
    return MAC_CUTS[pe_stages]


def tile_latency(config):
    """The :class:`TileLatency` of a :class:`~sim_models.config.TileConfig`."""
    cuts = mac_cuts(config.pe_stages)
    return TileLatency(config.rows, config.cols, config.pe_stages,
                       sum(cut in _BEFORE_PARTIAL for cut in cuts))


def drain_cycles(config):
    """Cycles from a moving beat until no later read of its bank can miss its PSUM write
    (:attr:`TileLatency.drain`; R + C - 1 with one-cycle PEs)."""
    return tile_latency(config).drain
