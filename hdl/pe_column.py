"""One column of processing elements: the unit the array is built from.

A column is generated once and instantiated C times (see ``hdl.leaf``). Emitting the R x C PEs
of a 128 x 128 array as one flat netlist takes minutes; a column of R PEs takes about a second,
and a column's instance ports are narrow (R moving values across, one stationary lane, one
partial sum out of the bottom), so the C instances cost little.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sim_models.timing import tile_latency

from .delay import delay_line
from .numerics import arithmetic
from .placement import register_placement
from .shapes import index_shape

__all__ = ["PEColumn", "pe_column_signature"]


def pe_column_signature(config):
    """Ports of :class:`PEColumn` (see its Members)."""
    rows = config.rows
    operands = arithmetic(config)
    control = {} if operands.control_layout is None else \
        {"control": In(data.ArrayLayout(operands.control_layout, rows))}
    # One load control per PE row when the rows write a stationary row at different cycles.
    load_rows = rows if tile_latency(config).load_row_hop else 1
    load_row = index_shape(rows) if load_rows == 1 else \
        data.ArrayLayout(index_shape(rows), load_rows)
    return wiring.Signature({
        "moving_in": In(data.ArrayLayout(operands.lane_layout, rows)),
        "moving_out": Out(data.ArrayLayout(operands.lane_layout, rows)),
        "weight_select": In(rows),
        **control,
        "load_valid": In(load_rows),
        "load_bank": In(load_rows),
        "load_row": In(load_row),
        "load_data": In(operands.weight_shape),
        "partial_out": Out(arithmetic(config).accumulator_shape),
    })


class PEColumn(wiring.Component):
    """Column m of a weight-stationary systolic array: R PEs in a vertical chain.

    PE (k, m) holds two stationary values (a front and a background weight register, chosen per
    cycle by ``weight_select[k]``). Each cycle it passes its moving value right to PE (k, m + 1)
    and its partial sum ``partial from PE (k - 1, m) + moving * weight`` down to PE (k + 1, m),
    both registered (``sim_models.timing``: HOP_CYCLES to the right, the MAC latency down).

    With operands held in the column (``hdl.placement.RegisterPlacement.operands_in_column``,
    floating point), ``moving_in``, ``weight_select`` and ``control`` arrive one cycle before the
    PEs use them and the column holds them in registers ("this cycle" below is then the next
    cycle), so that the PEs' steps read registers only.

    Parameters
    ----------
    config : TileConfig
        Array shape and operand format.

    Members
    -------
    moving_in : In(ArrayLayout(lane, R))
        Moving lane entering PE (k, m) from the left, for every row k (on a floating-point
        tile, its value and which of its products are active).
    moving_out : Out(ArrayLayout(lane, R))
        The same values one cycle later, for column m + 1.
    weight_select : In(R)
        Bit k chooses the weight register PE (k, m) multiplies with this cycle.
    control : In(ArrayLayout(control, R))
        Floating-point tiles only: element k is the formats and mode of the operation whose
        vector PE (k, m) multiplies this cycle (``hdl.numerics.FloatArithmetic``).
    load_valid, load_bank, load_row, load_data : In
        When ``load_valid`` is set, PE (``load_row``, m) writes ``load_data`` (its operand, with
        MX mode and its E8M0 scale) into its weight register ``load_bank``. With pipelined PEs
        (``TileLatency.load_row_hop`` > 0) the stationary row travels down the column, reaching
        PE row k k x ``load_row_hop`` cycles after row 0: ``load_data`` passes down through
        registers, and the tile gives each row its own ``load_valid``, ``load_bank`` and
        ``load_row`` (bit or element k), taken as many cycles later from one delay line shared
        by the columns.
    partial_out : Out(accumulator)
        Partial sum leaving the bottom PE, one cycle after its moving value reached it.
    """
    def __init__(self, config):
        self._config = config
        super().__init__(pe_column_signature(config))

    @property
    def config(self):
        return self._config

    def _load_control(self, row, load_row_hop):
        """(valid, bank, row index) of the load as PE row ``row`` sees them."""
        if not load_row_hop:
            return self.load_valid, self.load_bank, self.load_row
        return self.load_valid[row], self.load_bank[row], self.load_row[row]

    def elaborate(self, platform):
        m = Module()
        operands = arithmetic(self._config)
        # All moving values move right together: one wide register, not one per PE, so that
        # simulators see one net change per column and cycle instead of R (Icarus re-evaluates
        # a concatenated port once per changed element).
        passed_on = Signal.like(self.moving_out, name="moving", reset_less=True)
        m.d.sync += passed_on.eq(self.moving_in)
        m.d.comb += self.moving_out.eq(passed_on)
        moving, select, control = self.moving_in, self.weight_select, \
            None if operands.control_layout is None else self.control
        if register_placement(self._config).operands_in_column:
            # The inputs arrive a cycle early and the PEs take them from registers (see
            # RegisterPlacement.operands_in_column); the control line powers up all ones, as
            # the tile's (hdl.tile).
            moving = passed_on
            select = Signal.like(self.weight_select, name="weight_select_held",
                                 reset_less=True)
            width = len(self.control.as_value())
            held = Signal(width, init=(1 << width) - 1, name="control_held", reset_less=True)
            m.d.sync += [select.eq(self.weight_select), held.eq(self.control)]
            control = data.View(self.control.shape(), held)
        # The stationary row being loaded travels down the column, load_row_hop cycles per PE
        # row (sim_models.timing.TileLatency.load_arrival; no registers with one-stage PEs).
        load_row_hop = tile_latency(self._config).load_row_hop
        load_data = self.load_data
        partial = 0
        for row in range(self._config.rows):
            if row and load_row_hop:
                load_data = delay_line(m, load_data, load_row_hop, name=f"load_data_{row}",
                                       reset_less=True)[-1]
            load_valid, load_bank, load_row = self._load_control(row, load_row_hop)
            # Reset clears the weights. A load with K < R leaves rows K.. as they were; they only
            # ever meet zero moving values, but Verilog's X * 0 is X, and Icarus gives a register
            # that only holds its value X at the first clock edge (the hold logic has not been
            # evaluated yet), which would spoil every sum of its column.
            weights = [Signal(operands.weight_shape, name=f"weight{bank}_{row}")
                       for bank in range(2)]
            with m.If(load_valid & (load_row == row)):
                with m.If(load_bank):
                    m.d.sync += weights[1].eq(load_data)
                with m.Else():
                    m.d.sync += weights[0].eq(load_data)
            weight = Mux(select[row], weights[1], weights[0])
            if isinstance(operands.weight_shape, data.Layout):   # with MX: value and scale
                weight = data.View(operands.weight_shape, weight)
            below = Signal(operands.accumulator_shape, name=f"partial_{row}", reset_less=True)
            m.d.sync += below.eq(operands.multiply_add(
                m, f"mac{row}", partial, moving[row], weight,
                None if control is None else control[row]))
            partial = below
        m.d.comb += self.partial_out.eq(partial)
        return m
