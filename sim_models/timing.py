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
is delayed the same; column m sees everything m hops later.
"""

from dataclasses import dataclass

__all__ = ["HOP_CYCLES", "INJECTION_CYCLES", "OP_QUEUE_DEPTH", "PSUM_LOOKAHEAD_CYCLES",
           "PSUM_READ_CYCLES", "TileLatency", "drain_cycles", "tile_latency"]

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

    def load_arrival(self, col):
        """Cycles from a stationary beat being taken to column ``col`` writing it."""
        return INJECTION_CYCLES + col * HOP_CYCLES

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


def tile_latency(config):
    """The :class:`TileLatency` of a :class:`~sim_models.config.TileConfig`."""
    return TileLatency(config.rows, config.cols)


def drain_cycles(config):
    """Cycles from a moving beat until no later read of its bank can miss its PSUM write
    (:attr:`TileLatency.drain`; R + C - 1 with one-cycle PEs)."""
    return tile_latency(config).drain
