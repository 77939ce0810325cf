"""The tile's instruction stream: a tile program packed into the beats of its op, stationary
and moving streams (``hdl.isa``'s op layout, operands as packed lanes).

Floating-point operands travel as bit patterns in 16-bit lanes: a BF16 or FP16 element, an FP8
element in the low byte, or, in FP8 double-row mode (K even, NKI's ``[K/2, 2, X]`` layout), two
FP8 elements of contraction indices p (low byte) and p + K/2 (high byte); so stationary beat b
carries rows b and b + K/2 and moving lane p carries elements p and p + K/2.

A tile with MX mode has 32-bit lanes. In MX mode (NKI's x4 layout) lane p carries the x4 word of
contraction indices p + qK/4, q = 0..3: byte q for FP8, nibble q of the low 16 bits for E2M1;
each stationary lane carries the E8M0 scale of its row's group above its 32 bits, and each
moving beat the R/8 scales of its column above its R lanes (``hdl.isa``). A LoadFp4Table is one
op beat carrying its 16 E4M3FN codes."""

from dataclasses import dataclass

import numpy as np

from hdl.isa import op_layout, opcodes
from sim_models.config import MX_SCALE_GROUP_ROWS
from sim_models.floats import ENCODINGS, as_bits, check_double_row_k
from sim_models.mx import X4, check_fp4_table, check_scales, scale_rows, x4_words
from sim_models.program import (LoadFp4Table, LoadStationary, MultiplyMoving, ReadPsum,
                                ReseedRounding)

from .streams import pack, pack_array

__all__ = ["ProgramPacker", "StreamBeats", "operand_lanes"]


def operand_lanes(operand, format_name, double_row, mx=False):
    """The lane values of a [K, X] operand, one row per contraction row of the array:
    [K, X] as it is (int8 values, or bit patterns), [K / 2, X] in double-row mode (K even),
    row p in the low byte and row p + K/2 in the high byte, or [K / 4, X] in MX mode (K a
    multiple of 4), row p + qK/4 in byte q (nibble q for E2M1)."""
    if format_name == "int8":
        return operand
    bits = as_bits(operand, format_name).astype(np.int64)
    if mx:
        words = x4_words(bits)
        shift = ENCODINGS[format_name].bits
        return sum(words[:, q] << (shift * q) for q in range(X4))
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
        elif isinstance(operation, LoadFp4Table):
            fields = (ops.LOAD_FP4_TABLE, 0, 0, 0, 0, 0)
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
        if self.config.mx and carries_format:
            fields += (int(operation.mx),)
            names += ("mx",)
        if self.config.bf16_psum:
            multiply = isinstance(operation, MultiplyMoving)
            fields += (int(multiply and operation.psum_dtype == "bf16"),
                       int(multiply and operation.rounding == "sr"),
                       operation.seed if isinstance(operation, ReseedRounding) else 0)
            names += ("psum_bf16", "stochastic", "seed")
        if isinstance(operation, LoadFp4Table):
            fields += (tuple(int(code) for code in check_fp4_table(operation.table, "table")),)
            names += ("table",)
        if fields not in self._op_cache:
            self._op_cache[fields] = pack(self._layout, dict(zip(names, fields)))
        return self._op_cache[fields]

    def beats(self, program):
        """The packed beats of ``program`` and the number of result beats it reads."""
        rows, cols = self.config.rows, self.config.cols
        width = self.config.lane_bits
        loads = [op for op in program if isinstance(op, LoadStationary)]
        multiplies = [op for op in program if isinstance(op, MultiplyMoving)]
        stationary = [np.pad(operand_lanes(op.stationary, op.format, op.double_row, op.mx),
                             ((0, 0), (0, cols - op.m))) for op in loads]
        moving = [operand_lanes(op.moving, op.format, op.double_row, op.mx).T
                  for op in multiplies]
        moving = [np.pad(lanes, ((0, 0), (0, rows - lanes.shape[1]))) for lanes in moving]
        if self.config.mx:
            # Each stationary lane's scale sits above its 32 bits (lanes of 40 bits); a moving
            # beat's R/8 scales above its R lanes.
            stationary = [lanes | _scales(op, op.beats, cols) << width
                          for lanes, op in zip(stationary, loads)]
            width += 8
            moving_scales = [_scales(op, op.n, rows // MX_SCALE_GROUP_ROWS, by_row=False)
                             for op in multiplies]
        stationary = pack_array(width, np.vstack(stationary)) if stationary else []
        moving = pack_array(self.config.lane_bits, np.vstack(moving)) if moving else []
        if self.config.mx and multiplies:
            moving = [lanes | scales << (rows * self.config.lane_bits) for lanes, scales in
                      zip(moving, pack_array(8, np.vstack(moving_scales)))]
        return StreamBeats(
            ops=[self._pack_op(op) for op in program],
            stationary=stationary, moving=moving,
            results=sum(op.n for op in program if isinstance(op, ReadPsum)))


def _scales(op, beats, lanes, by_row=True):
    """The E8M0 scales an operation's beats carry on a tile with MX mode, [beats, lanes] (zero
    outside MX mode and in unused lanes): per stationary beat b (``by_row``) the scale of row
    b's group for each column, else per moving beat its column's group scales."""
    values = np.zeros((beats, lanes), np.int64)
    if op.mx:
        scale = check_scales("scale", op.scale, op.k, op.m if by_row else op.n)
        scale = (scale_rows(scale) if by_row else scale.T).astype(np.int64)
        values[:, :scale.shape[1]] = scale
    return values
