"""The tile's instruction stream: a tile program packed into the beats of its op, stationary
and moving streams (``hdl.isa``'s op layout, operands as packed lanes).

Floating-point operands travel as bit patterns in 16-bit lanes: a BF16 or FP16 element, an FP8
element in the low byte, or, in FP8 double-row mode (K even, NKI's ``[K/2, 2, X]`` layout), two
FP8 elements of contraction indices p (low byte) and p + K/2 (high byte); so stationary beat b
carries rows b and b + K/2 and moving lane p carries elements p and p + K/2."""

from dataclasses import dataclass

import numpy as np

from hdl.isa import op_layout, opcodes
from sim_models.floats import as_bits, check_double_row_k
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum, ReseedRounding

from .streams import pack, pack_array

__all__ = ["ProgramPacker", "StreamBeats", "operand_lanes"]


def operand_lanes(operand, format_name, double_row):
    """The lane values of a [K, X] operand, one row per contraction row of the array:
    [K, X] as it is (int8 values, or bit patterns), or [K / 2, X] in double-row mode (K even),
    row p in the low byte and row p + K/2 in the high byte."""
    if format_name == "int8":
        return operand
    bits = as_bits(operand, format_name).astype(np.int64)
    if not double_row:
        return bits
    check_double_row_k("K (rows of the operand)", bits.shape[0], double_row)
    half = bits.shape[0] // 2
    return bits[:half] | bits[half:] << 8


@dataclass
class StreamBeats:
    """Packed beats of one program on the three input streams, and the result beat count.

    Members
    -------
    ops : list of int
        One op beat per operation (``hdl.isa.op_layout``).
    stationary : list of int
        K beats (ceil(K / 2) in double-row mode) per LoadStationary: C operand lanes each.
    moving : list of int
        N beats per MultiplyMoving: a column of R operand lanes each.
    results : int
        Result beats the program's reads return: the sum of their N.
    """
    ops: list
    stationary: list
    moving: list
    results: int


class ProgramPacker:
    """Packs a tile program into the beats of the tile's op, stationary and moving streams.

    Parameters
    ----------
    config : TileConfig
    """
    def __init__(self, config):
        self.config = config
        self._layout = op_layout(config)
        self._op_cache = {}

    def _pack_op(self, operation):
        ops = opcodes(self.config)
        if isinstance(operation, LoadStationary):
            fields = (ops.LOAD_STATIONARY, operation.k, operation.m, 0, 0, 0)
        elif isinstance(operation, MultiplyMoving):
            fields = (ops.MULTIPLY_MOVING, 0, 0, operation.n, operation.bank,
                      int(operation.accumulate))
        elif isinstance(operation, ReseedRounding):
            fields = (ops.RESEED_ROUNDING, 0, 0, 0, 0, 0)
        else:
            fields = (ops.READ_PSUM, 0, operation.m, operation.n, operation.bank, 0)
        names = ("opcode", "k", "m", "n", "bank", "accumulate")
        carries_format = isinstance(operation, (LoadStationary, MultiplyMoving))
        if self.config.floating and carries_format:
            fields += (self.config.formats.index(operation.format),)
            names += ("format",)
        if self.config.double_row and carries_format:
            fields += (int(operation.double_row),)
            names += ("double_row",)
        if self.config.bf16_psum:
            multiply = isinstance(operation, MultiplyMoving)
            fields += (int(multiply and operation.psum_dtype == "bf16"),
                       int(multiply and operation.rounding == "sr"),
                       operation.seed if isinstance(operation, ReseedRounding) else 0)
            names += ("psum_bf16", "stochastic", "seed")
        if fields not in self._op_cache:
            self._op_cache[fields] = pack(self._layout, dict(zip(names, fields)))
        return self._op_cache[fields]

    def beats(self, program):
        """The packed beats of ``program`` and the number of result beats it reads."""
        rows, cols = self.config.rows, self.config.cols
        width = self.config.lane_bits
        stationary = [np.pad(operand_lanes(op.stationary, op.format, op.double_row),
                             ((0, 0), (0, cols - op.m)))
                      for op in program if isinstance(op, LoadStationary)]
        moving = [operand_lanes(op.moving, op.format, op.double_row).T
                  for op in program if isinstance(op, MultiplyMoving)]
        moving = [np.pad(lanes, ((0, 0), (0, rows - lanes.shape[1]))) for lanes in moving]
        return StreamBeats(
            ops=[self._pack_op(op) for op in program],
            stationary=pack_array(width, np.vstack(stationary)) if stationary else [],
            moving=pack_array(width, np.vstack(moving)) if moving else [],
            results=sum(op.n for op in program if isinstance(op, ReadPsum)))
