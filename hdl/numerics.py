"""PE arithmetic: the seam between the array structure and the number format inside a PE.

The array, the skew buffers and PSUM only move values of the widths the arithmetic declares;
the arithmetic itself (one multiply-accumulate in a PE, one accumulation into PSUM) is asked of
the tile's :class:`Arithmetic`: :class:`IntegerArithmetic` for the int8 tile (the first
NeuronCore's integer path), :class:`FloatArithmetic` for a tile of floating-point formats
(``hdl.float_arith``: products exact, one FP32 rounding per PE step, FP32 PSUM).
"""

from functools import cache, cached_property

from amaranth.hdl import Const, Shape, Signal, signed, unsigned
from amaranth.lib import data

from .float_arith import FloatAdd, FloatMac
from .leaf import FLOAT_MAC, instantiate, leaf_module_name
from .placement import register_placement
from .shapes import index_shape

__all__ = ["Arithmetic", "FloatArithmetic", "IntegerArithmetic", "arithmetic",
           "format_index_shape"]


class Arithmetic:
    """The Amaranth arithmetic of a tile's operand formats.

    Members
    -------
    operand_shape : Shape
        Shape of one stationary or moving lane of the streams.
    weight_shape : Shape or data.Layout
        What a PE holds of one stationary element (and a stationary lane carries): the operand,
        with MX mode its E8M0 block scale too.
    accumulator_shape : Shape
        Shape of one partial sum and of one PSUM entry.
    lane_layout : Shape or data.Layout
        One moving lane inside the array, as the PEs take it.
    control_layout : data.Layout or None
        What every PE of a moving vector's anti-diagonal needs besides its lane (formats,
        modes), or None when nothing.
    """
    operand_shape: Shape
    weight_shape: object
    accumulator_shape: Shape
    lane_layout: object
    control_layout: object

    def multiply_add(self, m, name, partial, lane, stationary, control):
        """Value of one PE step, ``partial + lane * stationary``, built in module ``m`` (what it
        adds to ``m`` is named after ``name``). With a pipelined MAC (``TileConfig.pe_stages``
        > 1) the value appears ``pe_stages - 1`` cycles after ``lane``, ``stationary`` and
        ``control``, and ``partial`` is taken ``TileLatency.partial_stage`` cycles after them."""
        raise NotImplementedError

    def accumulate(self, m, stored, incoming):
        """Value of one PSUM accumulation, ``stored + incoming``, built in module ``m``."""
        raise NotImplementedError


class IntegerArithmetic(Arithmetic):
    """Signed integer operands with a two's-complement accumulator that wraps on overflow.

    Lanes of rows k >= K are zeroed before they enter the array, so a PE needs no control.

    Parameters
    ----------
    operand_width : int
        Bits per operand (8 for int8).
    accumulator_width : int
        Bits per partial sum and PSUM entry (32 for int32).
    """
    control_layout = None

    def __init__(self, operand_width, accumulator_width):
        self.operand_shape = signed(operand_width)
        self.weight_shape = self.operand_shape
        self.accumulator_shape = signed(accumulator_width)
        self.lane_layout = self.operand_shape

    def _wrap(self, value):
        return value.as_unsigned()[:self.accumulator_shape.width].as_signed()

    def multiply_add(self, m, name, partial, lane, stationary, control):
        return self._wrap(partial + lane * stationary)

    def accumulate(self, m, stored, incoming):
        return self._wrap(stored + incoming)


def format_index_shape(config):
    """Shape of an index into ``config.formats`` (the ISA's and the PEs' format fields)."""
    return index_shape(len(config.formats))


class FloatArithmetic(Arithmetic):
    """Floating-point operands in 16-bit lanes (BF16, FP16, FP8 in the low byte, or two FP8 in
    double-row mode), FP32 partial sums and PSUM entries (``hdl.float_arith``); with MX mode
    (``TileConfig.mx``) 32-bit lanes, an x4 word each.

    A moving lane carries its value and ``active`` (bit 0: the low or only product is used,
    in MX mode the whole x4 word; bit 1: the high FP8 product is), so that rows beyond K leave
    the partial sum untouched whatever their stale weights hold. The control holds the
    operation's stationary and moving format (indices into ``config.formats``) and, when the
    tile has FP8, double-row mode; with MX mode, the ``mx`` bit. With MX mode a moving lane
    also carries the E8M0 block scale of its row's group and moving column, and a PE holds its
    stationary element's scale beside it (:attr:`weight_shape`): one scale pair per PE and
    cycle.

    Every PE instantiates one :class:`~hdl.float_arith.FloatMac` leaf module
    (:attr:`mac_leaf`), emitted once per design.

    Parameters
    ----------
    config : TileConfig
        A tile of floating-point formats.
    """
    def __init__(self, config):
        self._config = config
        self.operand_shape = unsigned(config.lane_bits)
        self.accumulator_shape = unsigned(config.accumulator_bits)
        scale = {"scale": 8} if config.mx else {}
        self.weight_shape = data.StructLayout({"value": self.operand_shape, **scale}) \
            if config.mx else self.operand_shape
        self.lane_layout = data.StructLayout({"value": self.operand_shape, "active": 2, **scale})
        index = format_index_shape(config)
        self.control_layout = data.StructLayout({
            "stationary_format": index, "moving_format": index,
            **({"double_row": 1} if config.double_row else {}),
            **({"mx": 1} if config.mx else {})})

    @cached_property
    def mac_leaf(self):
        """(component, Verilog module name) of the PEs' multiply-accumulate leaf: one
        component, which the emitter elaborates and the PEs instantiate by name."""
        cuts = register_placement(self._config).mac_cuts
        return FloatMac(self._config.formats, cuts), leaf_module_name(FLOAT_MAC, self._config)

    def multiply_add(self, m, name, partial, lane, stationary, control):
        mac, module = self.mac_leaf
        result = Signal(self.accumulator_shape, name=f"{name}_result")
        if isinstance(partial, int):  # row 0: the incoming partial is the constant +0.0
            partial = Const(partial, self.accumulator_shape)
        ports = {"partial": partial, "moving": lane.value, "stationary": stationary,
                 "active": lane.active, "result": result,
                 **{field: control[field] for field, _ in self.control_layout}}
        if self._config.mx:
            ports.update(stationary=stationary.value, stationary_scale=stationary.scale,
                         moving_scale=lane.scale)
        m.submodules[name] = instantiate(module, mac.signature, ports, clocked=bool(mac.cuts))
        return result

    def accumulate(self, m, stored, incoming):
        m.submodules.add = add = FloatAdd()
        m.d.comb += [add.stored.eq(stored), add.incoming.eq(incoming)]
        return add.sum


#: The arithmetic of the int8 tile: int8 x int8 products accumulated in int32, as the first
#: NeuronCore's integer path.
INT8_ARITHMETIC = IntegerArithmetic(8, 32)


@cache
def arithmetic(config):
    """The :class:`Arithmetic` of a tile configuration's operand formats (one per
    configuration, so that its leaf components are shared)."""
    return FloatArithmetic(config) if config.floating else INT8_ARITHMETIC
