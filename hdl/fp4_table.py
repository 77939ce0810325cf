"""The tile's FP4-to-FP8 table at the array's edge (rule R12 of docs/numerics.md).

An ``fp4_e2m1`` operand enters the tile as x4 words of four E2M1 codes (nibble q of a lane's low
16 bits, contraction index p + qK/4, NKI's ``float4_e2m1fn_x4``). Before the first PE column
(moving lanes) and the first PE row (stationary lanes) each code is replaced by the E4M3FN code
of the table, byte q of the 32-bit lane, so that no PE sees an FP4 code: the PE reads an
``fp4_e2m1`` operand's bytes as E4M3FN (``hdl.float_arith``).

The table is a register of 16 E4M3FN codes (128 flip-flops) that a LOAD_FP4_TABLE operation
writes (``sim_models.program.LoadFp4Table``); reset gives ``sim_models.mx.DEFAULT_FP4_TABLE``,
the exact E2M1 values. A code is mapped in the cycle its beat is taken, so the table in force
then is the one that applies (``hdl.sequencer`` issues a table load only when no load or
multiply has beats left to take).
"""

from amaranth.hdl import Cat, Signal
from amaranth.lib import data

from sim_models.mx import DEFAULT_FP4_TABLE, X4

from .isa import FP4_CODES

__all__ = ["fp4_table_register", "fp4_to_fp8"]

#: Bits of one E2M1 code in a lane.
_FP4_BITS = 4


def fp4_table_register():
    """The table register: 16 E4M3FN codes, element e the code of E2M1 code e; reset value
    :data:`~sim_models.mx.DEFAULT_FP4_TABLE`."""
    return Signal(data.ArrayLayout(8, FP4_CODES), init=[int(code) for code in DEFAULT_FP4_TABLE],
                  name="fp4_table")


def fp4_to_fp8(lane, table):
    """The 32-bit lane of four E4M3FN codes (byte q) that ``table`` (a view of
    :func:`fp4_table_register`'s layout) gives for the four E2M1 codes of ``lane`` (nibble q)."""
    return Cat(table[lane[_FP4_BITS * q:_FP4_BITS * (q + 1)]] for q in range(X4))
