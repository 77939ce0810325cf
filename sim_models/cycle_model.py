"""Analytic cycle model of the tile: when every operation and every stream beat happens.

The model assumes ideal streams: from cycle 0 on, the op, stationary and moving producers always
offer their next beat and the result consumer is always ready. Under that assumption it gives,
for each operation, the cycle the op stream accepts it, the cycle the sequencer issues it to its
engine, and the cycles of its first and last data beats. The testbench timestamps the same
handshakes on the RTL's ports and requires equality for every one of them.

The recurrences follow the hardware (``hdl.sequencer`` and ``hdl.tile``), with Q the op queue
depth, K/M/N the operation's shape and R/C the array:

- op i is accepted at ``a_i = max(a_{i-1} + 1, d_{i-Q} + 1)`` and issued at
  ``d_i >= max(a_i + 1, d_{i-1} + 1)`` once its engine is free (an engine is free in the cycle
  of its last beat);
- a load's beats are ``d + 1 .. d + B``, B = K beats, ceil(K / 2) in FP8 double-row mode (two
  stationary rows per beat), or K / 4 in MX mode (an x4 word of four rows per lane); a multiply
  may issue in the cycle of the last beat of the load before it, so the next stationary loads in
  the background of the current multiply; a load writes the weight bank the newest multiply does
  not use (the same bank again if no multiply used the newest load) and waits for no vector that
  used that bank: its rows travel down the columns behind the vectors taken before it
  (``TileLatency.load_arrival``), at any PE depth;
- a multiply's beats are ``d + 1 .. d + N``; it waits while the read engine reads its bank;
- a read waits until its bank's last moving beat e has left the array (``d >= e + W``, with
  the write of column C - 1 in cycle e + W, W = ``TileLatency.psum_write(C - 1)``: R + C with
  one-cycle PEs); its result beats are ``d + 2 .. d + N + 1`` (the read requests, then the
  PSUM read latency);
- a reseed of the stochastic-rounding generators (``TileConfig.bf16_psum``) waits until every
  bank has drained as a read would (``d >= e + W`` for the last moving beat e of any bank); it
  has no data beats: its ``first_beat`` and ``last_beat`` are ``d + 1``, the cycle whose clock
  edge restarts the generators;
- a load of the FP4-to-FP8 table (``TileConfig.has_fp4_table``) waits until the load and
  multiply engines are free (``d >=`` the last beat of the newest load and of the newest
  multiply), so that every beat taken before it is mapped through the old table and every beat
  after it through the new one; like a reseed it has no data beats: ``first_beat`` and
  ``last_beat`` are ``d + 1``, the first cycle the new table maps.

Every array latency is ``sim_models.timing``'s.
"""

from dataclasses import dataclass, field

from .config import indices_per_pe_row
from .timing import OP_QUEUE_DEPTH, PSUM_READ_CYCLES, drain_cycles

from .program import LoadFp4Table, LoadStationary, MultiplyMoving, ReadPsum, ReseedRounding

__all__ = ["CONTROL_KINDS", "OperationTiming", "ProgramTiming", "time_program",
           "scale_sim_fold_cycles"]


@dataclass(frozen=True)
class OperationTiming:
    """Cycles (counted from cycle 0, when every stream starts) of one operation.

    Members
    -------
    kind : str
        ``load``, ``multiply``, ``read``, or one of :data:`CONTROL_KINDS` (``reseed``,
        ``fp4_table``), which have no data beats.
    accepted : int
        Cycle the op stream accepts the operation.
    issued : int
        Cycle the sequencer hands it to its engine (internal; not visible on the ports).
    first_beat, last_beat : int
        Cycles of its first and last stationary, moving or result beat (a reseed: the cycle
        that restarts the generators, no port handshake).
    macs : int
        Useful multiply-accumulates (K x M x N for a multiply, 0 otherwise; in double-row mode
        K reaches 2R, two MACs per PE and cycle; in MX mode 4R, four: one MX moving beat is 4R
        MACs per column).
    """
    kind: str
    accepted: int
    issued: int
    first_beat: int
    last_beat: int
    macs: int = 0

    @property
    def beats(self):
        return self.last_beat - self.first_beat + 1


@dataclass(frozen=True)
class ProgramTiming:
    """Timing of a whole program on a tile.

    Members
    -------
    operations : list of OperationTiming
    total_cycles : int
        Cycles from cycle 0 to the last handshake on any port, inclusive.
    macs : int
        Useful multiply-accumulates of the program.
    peak_macs_per_cycle : int
        R x C, 2 R x C when a multiply of the program is in FP8 double-row mode, 4 R x C when
        one is in MX mode.
    """
    operations: list = field(repr=False)
    total_cycles: int
    macs: int
    peak_macs_per_cycle: int

    @property
    def utilization(self):
        """Useful MACs over the array's peak for ``total_cycles`` (0..1)."""
        return self.macs / (self.peak_macs_per_cycle * self.total_cycles)


class _Engines:
    """Cycle from which each engine and each PSUM bank is free for the next operation."""
    def __init__(self, config):
        self.config = config
        self.load_last = -1          # last stationary beat of the newest load
        self.multiply_last = -1      # last moving beat of the newest multiply
        self.read_last = -1          # last PSUM read issue of the newest read
        self.read_bank = None        # bank of the newest read
        self.bank_last_beat = {}     # bank -> last moving beat into it
        self.stationary_shape = (0, 0)

    def earliest_issue(self, operation):
        if isinstance(operation, LoadStationary):
            return self.load_last
        if isinstance(operation, MultiplyMoving):
            reading = self.read_last + 1 if operation.bank == self.read_bank else -1
            return max(self.multiply_last, self.load_last, reading)
        if isinstance(operation, ReseedRounding):
            return -1 if not self.bank_last_beat else \
                max(self.bank_last_beat.values()) + drain_cycles(self.config) + 1
        if isinstance(operation, LoadFp4Table):
            return max(self.load_last, self.multiply_last)
        last_beat = self.bank_last_beat.get(operation.bank)
        drained = -1 if last_beat is None else last_beat + drain_cycles(self.config) + 1
        return max(self.read_last, drained)

    def issue(self, operation, cycle):
        """Start ``operation`` in ``cycle``; return its (first beat, last beat, MACs)."""
        if isinstance(operation, LoadStationary):
            self.load_last = cycle + operation.beats
            self.stationary_shape = (operation.k, operation.m)
            return cycle + 1, self.load_last, 0
        if isinstance(operation, MultiplyMoving):
            self.multiply_last = cycle + operation.n
            self.bank_last_beat[operation.bank] = self.multiply_last
            k, m = self.stationary_shape
            return cycle + 1, self.multiply_last, k * m * operation.n
        if isinstance(operation, (ReseedRounding, LoadFp4Table)):
            return cycle + 1, cycle + 1, 0
        self.read_last = cycle + operation.n
        self.read_bank = operation.bank
        return (cycle + 1 + PSUM_READ_CYCLES, self.read_last + PSUM_READ_CYCLES, 0)


_KINDS = {LoadStationary: "load", MultiplyMoving: "multiply", ReadPsum: "read",
          ReseedRounding: "reseed", LoadFp4Table: "fp4_table"}
#: Kinds of the operations without data beats, which act inside the tile.
CONTROL_KINDS = ("reseed", "fp4_table")


def time_program(config, program):
    """Time ``program`` (a list of operations) on the tile ``config`` with ideal streams.

    Returns
    -------
    ProgramTiming
    """
    engines = _Engines(config)
    timings = []
    issued = []
    for index, operation in enumerate(program):
        accepted = 0 if index == 0 else timings[-1].accepted + 1
        if index >= OP_QUEUE_DEPTH:
            accepted = max(accepted, issued[index - OP_QUEUE_DEPTH] + 1)
        cycle = max(accepted + 1, issued[-1] + 1 if issued else 0,
                    engines.earliest_issue(operation))
        first, last, macs = engines.issue(operation, cycle)
        issued.append(cycle)
        timings.append(OperationTiming(_KINDS[type(operation)], accepted, cycle, first, last,
                                       macs))
    total = max((t.last_beat for t in timings if t.kind not in CONTROL_KINDS), default=-1) + 1
    macs = sum(t.macs for t in timings)
    rows_per_pe = max((indices_per_pe_row(operation.double_row, operation.mx)
                       for operation in program if isinstance(operation, MultiplyMoving)),
                      default=1)
    return ProgramTiming(timings, total, macs, rows_per_pe * config.rows * config.cols)


def scale_sim_fold_cycles(config, m, k, n):
    """Cycles SCALE-Sim's weight-stationary model gives a GEMM: ``2R + C + T - 2`` per fold.

    A fold is one stationary tile (ceil(K / R) x ceil(M / C) of them); T = N is the number of
    moving vectors streamed through each fold. No weight load overlaps the previous fold.
    """
    folds = -(-k // config.rows) * -(-m // config.cols)
    return folds * (2 * config.rows + config.cols + n - 2)
