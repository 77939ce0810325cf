"""The tile's FP4-to-FP8 table at the array's edge (rule R12 of docs/numerics.md).

An ``fp4_e2m1`` operand enters the tile as x4 words of four E2M1 codes (nibble q of a lane's low
16 bits, contraction index p + qK/4, NKI's ``float4_e2m1fn_x4``). Before the first PE column
(moving lanes) and the first PE row (stationary lanes) each code is replaced by the E4M3FN code
of the table, byte q of the 32-bit lane, so that no PE sees an FP4 code: the PE reads an
``fp4_e2m1`` operand's bytes as E4M3FN (``hdl.float_arith``).

The table is this round a constant, ``sim_models.mx.DEFAULT_FP4_TABLE`` (the exact E2M1
values); a program cannot load another mapping yet (docs/mx-tile-plan.md).
"""

from amaranth.hdl import Array, Cat, Const

from sim_models.mx import DEFAULT_FP4_TABLE, X4

__all__ = ["fp4_to_fp8"]

#: Bits of one E2M1 code in a lane.
_FP4_BITS = 4


def fp4_to_fp8(lane):
    """The 32-bit lane of four E4M3FN codes (byte q) that the table gives for the four E2M1 codes
    of ``lane`` (nibble q)."""
    table = Array(Const(int(code), 8) for code in DEFAULT_FP4_TABLE)
    return Cat(table[lane[_FP4_BITS * q:_FP4_BITS * (q + 1)]] for q in range(X4))
