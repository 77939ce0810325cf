"""PE arithmetic: the seam between the array structure and the number format inside a PE.

The array, the skew buffers and PSUM only move values of the widths a format declares
(:class:`sim_models.config.OperandFormat`); the arithmetic itself (one multiply-accumulate in a
PE, one accumulation into PSUM) is asked of the format's :class:`Arithmetic`. A floating-point
format (FP8 or BF16 operands with FP32 accumulation) is added by writing another subclass and
naming it in :data:`ARITHMETIC`; nothing else in the tile changes.
"""

from amaranth.hdl import Shape, signed

__all__ = ["ARITHMETIC", "Arithmetic", "IntegerArithmetic", "arithmetic"]


class Arithmetic:
    """The Amaranth arithmetic of one operand format.

    Members
    -------
    operand_shape : Shape
        Shape of one stationary or moving element.
    accumulator_shape : Shape
        Shape of one partial sum and of one PSUM entry.
    """
    operand_shape: Shape
    accumulator_shape: Shape

    def multiply_add(self, partial, moving, stationary):
        """Amaranth expression for one PE step: ``partial + moving * stationary``."""
        raise NotImplementedError

    def accumulate(self, stored, incoming):
        """Amaranth expression for one PSUM accumulation: ``stored + incoming``."""
        raise NotImplementedError


class IntegerArithmetic(Arithmetic):
    """Signed integer operands with a two's-complement accumulator that wraps on overflow.

    Parameters
    ----------
    operand_width : int
        Bits per operand (8 for int8).
    accumulator_width : int
        Bits per partial sum and PSUM entry (32 for int32).
    """
    def __init__(self, operand_width, accumulator_width):
        self.operand_shape = signed(operand_width)
        self.accumulator_shape = signed(accumulator_width)

    def _wrap(self, value):
        return value.as_unsigned()[:self.accumulator_shape.width].as_signed()

    def multiply_add(self, partial, moving, stationary):
        return self._wrap(partial + moving * stationary)

    def accumulate(self, stored, incoming):
        return self._wrap(stored + incoming)


#: The arithmetic of every operand format of ``sim_models.config.OPERAND_FORMATS``, by name.
ARITHMETIC = {
    # int8 x int8 products accumulated in int32, as the first NeuronCore's integer path.
    "int8": IntegerArithmetic(8, 32),
}


def arithmetic(config):
    """The :class:`Arithmetic` of a tile configuration's operand formats."""
    if config.floating:
        raise ValueError(f"Tile {config.name}: floating-point PEs are not generated yet; "
                         f"formats must be ('int8',)")
    return ARITHMETIC["int8"]
