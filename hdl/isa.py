"""Operation set and stream payload layouts of the tile, modelled on the NKI ``nc_matmul`` ISA.

The same layouts pack and unpack values in the testbench, so the bit layout of every stream has
one source of truth.
"""

from amaranth.hdl import unsigned
from amaranth.lib import data, enum

from sim_models.config import MX_SCALE_GROUP_ROWS
from sim_models.mx import DEFAULT_FP4_TABLE

from .numerics import arithmetic, format_index_shape
from .shapes import index_shape

__all__ = ["FP4_CODES", "Opcode", "PsumOpcode", "PsumTableOpcode", "TableOpcode", "opcodes",
           "op_layout", "stationary_layout", "moving_layout", "result_layout"]


#: Entries of the FP4-to-FP8 table: one per E2M1 code.
FP4_CODES = len(DEFAULT_FP4_TABLE)


class Opcode(enum.Enum, shape=2):
    """Kind of one tile operation."""
    #: Take K beats of the stationary stream (row k of a K x M operand each) into the array.
    LOAD_STATIONARY = 0
    #: Stream N moving vectors (K long each) through the array into one PSUM bank.
    MULTIPLY_MOVING = 1
    #: Send N result vectors (M long each) of one PSUM bank to the result stream.
    READ_PSUM = 2


class PsumOpcode(enum.Enum, shape=2):
    """Kind of one operation of a tile with Trainium3's PSUM destinations
    (``TileConfig.bf16_psum``): :class:`Opcode`'s, and a reseed. A class of its own, because
    Verilog names an enum's members, and every other tile's Verilog stays as it was."""
    LOAD_STATIONARY = Opcode.LOAD_STATIONARY.value
    MULTIPLY_MOVING = Opcode.MULTIPLY_MOVING.value
    READ_PSUM = Opcode.READ_PSUM.value
    #: Restart every stochastic-rounding generator from ``seed`` once every vector already
    #: sent into the array has been written to PSUM (``sim_models.program.ReseedRounding``).
    RESEED_ROUNDING = 3


class TableOpcode(enum.Enum, shape=2):
    """Kind of one operation of a tile with an FP4-to-FP8 table (``TileConfig.has_fp4_table``)
    and FP32 PSUM only: :class:`Opcode`'s, and a table load."""
    LOAD_STATIONARY = Opcode.LOAD_STATIONARY.value
    MULTIPLY_MOVING = Opcode.MULTIPLY_MOVING.value
    READ_PSUM = Opcode.READ_PSUM.value
    #: Replace the FP4-to-FP8 table by ``table`` once the load and multiply engines have taken
    #: their last beats (``sim_models.program.LoadFp4Table``).
    LOAD_FP4_TABLE = 3


class PsumTableOpcode(enum.Enum, shape=3):
    """Kind of one operation of a tile with an FP4-to-FP8 table and ``bf16_psum``:
    :class:`PsumOpcode`'s, and a table load."""
    LOAD_STATIONARY = Opcode.LOAD_STATIONARY.value
    MULTIPLY_MOVING = Opcode.MULTIPLY_MOVING.value
    READ_PSUM = Opcode.READ_PSUM.value
    RESEED_ROUNDING = PsumOpcode.RESEED_ROUNDING.value
    LOAD_FP4_TABLE = 4


def opcodes(config):
    """The opcode enum of tile ``config``: :class:`Opcode`, with ``bf16_psum``
    :class:`PsumOpcode`, with an FP4-to-FP8 table :class:`TableOpcode`, with both
    :class:`PsumTableOpcode`."""
    if config.has_fp4_table:
        return PsumTableOpcode if config.bf16_psum else TableOpcode
    return PsumOpcode if config.bf16_psum else Opcode


def op_layout(config):
    """Layout of one operation.

    Fields used by each opcode:

    - ``LOAD_STATIONARY``: ``k`` (1..R, 1..2R in double-row mode, 1..4R in MX mode), ``m``
      (1..C).
    - ``MULTIPLY_MOVING``: ``n`` (1..depth), ``bank``, ``accumulate`` (0 overwrites, 1 adds).
      K and M come from the stationary loaded last.
    - ``READ_PSUM``: ``m`` (1..C), ``n`` (1..depth), ``bank``.

    A floating-point tile adds, for loads and multiplies: ``format`` (index into
    ``config.formats`` of the operand streamed: the stationary's or the moving's) and, when
    the tile has FP8, ``double_row`` (FP8 double-row mode; a load then takes ceil(K / 2)
    beats, and a multiply must use the mode of its stationary); when the tile has MX formats,
    ``mx`` (MX mode: a load takes K / 4 beats of x4 words and scales, and a multiply must use
    the mode of its stationary).

    A tile with ``bf16_psum`` adds, for multiplies, ``psum_bf16`` (1: the bank's elements are
    written as BF16, 0: as FP32) and ``stochastic`` (1: a BF16 write rounds stochastically,
    0: to nearest even; docs/numerics.md R16-R17), and ``seed`` (32 bits) for
    ``RESEED_ROUNDING``.

    A tile with an FP4-to-FP8 table (``TileConfig.has_fp4_table``) adds ``table`` for
    ``LOAD_FP4_TABLE``: 16 E4M3FN codes, element e the code E2M1 code e maps to (R12).
    """
    max_k = config.rows * config.rows_per_pe
    fields = {
        "opcode": opcodes(config),
        "k": unsigned(max_k.bit_length()),
        "m": unsigned(config.cols.bit_length()),
        "n": unsigned(config.psum_depth.bit_length()),
        "bank": index_shape(config.psum_banks),
        "accumulate": unsigned(1),
    }
    if config.floating:
        fields["format"] = format_index_shape(config)
    if config.double_row:
        fields["double_row"] = unsigned(1)
    if config.mx:
        fields["mx"] = unsigned(1)
    if config.bf16_psum:
        fields.update(psum_bf16=unsigned(1), stochastic=unsigned(1), seed=unsigned(32))
    if config.has_fp4_table:
        fields["table"] = data.ArrayLayout(8, FP4_CODES)
    return data.StructLayout(fields)


def stationary_layout(config):
    """One stationary beat: row k of the stationary operand, lanes 0..C-1 (lanes >= M unused).

    In FP8 double-row mode (K even, NKI's layout) beat b carries rows b (low byte of each lane)
    and b + K/2 (high byte); a single FP8 element sits in the low byte of its 16-bit lane.

    With MX mode a lane is ``value`` (32 bits) and ``scale`` (8): in an MX load beat b carries
    the x4 words of rows b, b + K/4, b + K/2, b + 3K/4 (byte q, or nibble q of the low 16 bits
    for E2M1) and the E8M0 scale of row b's group (b // 8) for each column; other modes use the
    low bits of ``value`` as without MX."""
    return data.ArrayLayout(arithmetic(config).weight_shape, config.cols)


def moving_layout(config):
    """One moving beat: column n of the moving operand, lanes 0..R-1 (lanes >= K unused).

    In FP8 double-row mode (K even) lane p carries elements p (low byte) and p + K/2 (high
    byte).

    With MX mode the beat is ``lanes`` (R lanes of 32 bits; in an MX multiply lane p is the x4
    word of elements p + qK/4, byte q, or nibble q of the low 16 bits for E2M1) and ``scales``
    (R/8 E8M0 bytes, byte g the scale of rows 8g .. 8g + 7 for this moving column)."""
    lanes = data.ArrayLayout(arithmetic(config).operand_shape, config.rows)
    if not config.mx:
        return lanes
    return data.StructLayout({"lanes": lanes, "scales": data.ArrayLayout(
        8, config.rows // MX_SCALE_GROUP_ROWS)})


def result_layout(config):
    """One result beat: column n of a PSUM bank, lanes 0..C-1 (lanes >= M read as zero). A
    lane holds an int32 or FP32 word, or a BF16 element in its low 16 bits with zeros above
    (a tile with ``bf16_psum``; as PSUM stores it)."""
    return data.ArrayLayout(arithmetic(config).accumulator_shape, config.cols)
