"""Operand formats: the seam between the array structure and the arithmetic inside a PE.

The array, the skew buffers and PSUM only move values of the widths a format declares; the
arithmetic itself (one multiply-accumulate in a PE, one accumulation into PSUM) is asked of the
format. A floating-point format (FP8 or BF16 operands with FP32 accumulation) is added by
writing another subclass; nothing else in the tile changes.
"""

from amaranth.hdl import Shape, signed

__all__ = ["OperandFormat", "IntegerFormat", "INT8"]


class OperandFormat:
    """Number format of a tile's PEs.

    Members
    -------
    name : str
        Short name used in configuration names (``int8``).
    operand_shape : Shape
        Shape of one stationary or moving element.
    accumulator_shape : Shape
        Shape of one partial sum and of one PSUM entry.
    """
    name: str
    operand_shape: Shape
    accumulator_shape: Shape

    def multiply_add(self, partial, moving, stationary):
        """Amaranth expression for one PE step: ``partial + moving * stationary``."""
        raise NotImplementedError

    def accumulate(self, stored, incoming):
        """Amaranth expression for one PSUM accumulation: ``stored + incoming``."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"


class IntegerFormat(OperandFormat):
    """Signed integer operands with a two's-complement accumulator that wraps on overflow.

    Parameters
    ----------
    operand_width : int
        Bits per operand (8 for int8).
    accumulator_width : int
        Bits per partial sum and PSUM entry (32 for int32).
    """
    def __init__(self, operand_width, accumulator_width):
        self.name = f"int{operand_width}"
        self.operand_shape = signed(operand_width)
        self.accumulator_shape = signed(accumulator_width)

    def _wrap(self, value):
        return value.as_unsigned()[:self.accumulator_shape.width].as_signed()

    def multiply_add(self, partial, moving, stationary):
        return self._wrap(partial + moving * stationary)

    def accumulate(self, stored, incoming):
        return self._wrap(stored + incoming)


#: int8 x int8 products accumulated in int32, as the Tensor Engine's integer path.
INT8 = IntegerFormat(8, 32)
