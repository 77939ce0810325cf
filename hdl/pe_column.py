"""One column of processing elements: the unit the array is built from.

A column is generated once and instantiated C times (see ``hdl.leaf``). Emitting the R x C PEs
of a 128 x 128 array as one flat netlist takes minutes; a column of R PEs takes about a second,
and a column's instance ports are narrow (R moving values across, one stationary lane, one
partial sum out of the bottom), so the C instances cost little.

A floating-point column of more than 8 rows is itself built of groups of rows
(:class:`PEGroup`, :func:`pe_group_rows`), a leaf module emitted once and instantiated R / G
times per column, so that Verilator compiles a group's FloatMacs once for the whole array
(``tb.launch.hierarchical_config``). The Verilog's behaviour is the same either way.
"""

from amaranth.hdl import C, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sim_models.timing import tile_latency

from .delay import delay_line
from .leaf import LEAF_KINDS, instantiate, leaf_module_name
from .numerics import arithmetic
from .placement import register_placement
from .shapes import index_shape

__all__ = ["PEColumn", "PEGroup", "PE_GROUP", "PE_GROUP_ROWS", "pe_chain", "pe_column_signature",
           "pe_group_rows", "pe_group_signature", "tile_leaf_kinds"]

#: Leaf kind of a group of rows of a floating-point PE column (:class:`PEGroup`).
PE_GROUP = "pe_group"
#: Most rows in a :class:`PEGroup`: one MX scale group of partitions.
PE_GROUP_ROWS = 8


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
        load_row_hop = tile_latency(self._config).load_row_hop
        rows = range(self._config.rows)
        loads = [self._load_control(row, load_row_hop) for row in rows]
        enables = [valid & (index == row) for row, (valid, _, index) in enumerate(loads)]
        banks = [bank for _, bank, _ in loads]
        group_rows = pe_group_rows(self._config)
        if group_rows == self._config.rows:
            partial, _ = pe_chain(m, self._config, moving, select, control, enables, banks,
                                  self.load_data, 0)
            m.d.comb += self.partial_out.eq(partial)
            return m
        # Groups of rows, each an instance of the pe_group leaf (see pe_group_rows).
        partial, load_data = C(0, operands.accumulator_shape), self.load_data
        group_signature = pe_group_signature(self._config)
        for first in range(0, self._config.rows, group_rows):
            group = range(first, first + group_rows)
            if first and load_row_hop:
                load_data = delay_line(m, load_data, load_row_hop, name=f"load_data_{first}",
                                       reset_less=True)[-1]
            below = Signal(operands.accumulator_shape, name=f"partial_group{first}")
            last = Signal(operands.weight_shape, name=f"load_data_last{first}") \
                if load_row_hop else None
            ports = {
                "moving": [moving[row] for row in group],
                "weight_select": [select[row] for row in group],
                "load_enable": [enables[row] for row in group],
                "load_bank": [banks[row] for row in group] if load_row_hop else banks[0],
                "load_data": load_data,
                "partial_in": partial,
                "partial_out": below,
                **({} if control is None else {"control": [control[row] for row in group]}),
                **({"load_data_last": last} if load_row_hop else {}),
            }
            m.submodules[f"group{first}"] = instantiate(
                leaf_module_name(PE_GROUP, self._config), group_signature, ports)
            partial = below
            if load_row_hop:
                load_data = last
        m.d.comb += self.partial_out.eq(partial)
        return m


def pe_chain(m, config, moving, select, control, enables, banks, load_data, partial):
    """The PEs of a column, or of a group of its rows, chained top to bottom in ``m``.

    Parameters
    ----------
    m : Module
    config : TileConfig
    moving, select, control : indexable by row
        Each PE row's moving lane, weight-register choice and (floating point) control, as
        the PEs read them this cycle.
    enables, banks : list of Value
        Per row: whether the stationary row being loaded is written into this row's PE this
        cycle, and into which of its two weight registers.
    load_data : Value
        The stationary value as the first row sees it; with pipelined PEs it reaches each
        further row ``load_row_hop`` cycles later (``sim_models.timing.TileLatency``).
    partial : Value or int
        Partial sum entering the first row (0: the column's top, +0.0 or integer 0).

    Returns
    -------
    (partial, load_data)
        The partial sum leaving the last row, registered; the stationary value as the last row
        sees it.
    """
    operands = arithmetic(config)
    load_row_hop = tile_latency(config).load_row_hop
    for row, enable in enumerate(enables):
        if row and load_row_hop:
            load_data = delay_line(m, load_data, load_row_hop, name=f"load_data_{row}",
                                   reset_less=True)[-1]
        # Reset clears the weights. A load with K < R leaves rows K.. as they were; they only
        # ever meet zero moving values, but Verilog's X * 0 is X, and Icarus gives a register
        # that only holds its value X at the first clock edge (the hold logic has not been
        # evaluated yet), which would spoil every sum of its column.
        weights = [Signal(operands.weight_shape, name=f"weight{bank}_{row}")
                   for bank in range(2)]
        with m.If(enable):
            with m.If(banks[row]):
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
    return partial, load_data


def pe_group_rows(config):
    """Rows of PEs in each group a column of ``config`` is built of.

    A floating-point column is built of groups of at most :data:`PE_GROUP_ROWS` rows, the
    largest that divides R, each an instance of the ``pe_group`` leaf that Verilator builds
    once as a hierarchical block (``tb.launch.hierarchical_config``): Verilator writes the
    code of a module once per instance inside a block, so a column of 128 FloatMacs is 128
    copies of the FloatMac's code, which outgrow the processor's caches and the compiler's
    patience (docs/simulation_speed.md). An integer column is one group: its PEs are small
    and each block costs a locked call per evaluation."""
    if not config.floating:
        return config.rows
    return max(size for size in range(1, min(PE_GROUP_ROWS, config.rows) + 1)
               if config.rows % size == 0)


def tile_leaf_kinds(config):
    """Kinds of the leaf modules (``hdl.leaf``) of tile ``config`` besides its FloatMac: its PE
    group when its columns are built of groups (:func:`pe_group_rows`), then the PE and PSUM
    columns (``hdl.leaf.LEAF_KINDS``)."""
    return ((PE_GROUP,) if pe_group_rows(config) < config.rows else ()) + LEAF_KINDS


def pe_group_signature(config):
    """Ports of :class:`PEGroup` (see its Members)."""
    rows = pe_group_rows(config)
    operands = arithmetic(config)
    hop = tile_latency(config).load_row_hop
    control = {} if operands.control_layout is None else \
        {"control": In(data.ArrayLayout(operands.control_layout, rows))}
    return wiring.Signature({
        "moving": In(data.ArrayLayout(operands.lane_layout, rows)),
        "weight_select": In(rows),
        **control,
        "load_enable": In(rows),
        "load_bank": In(rows if hop else 1),
        "load_data": In(operands.weight_shape),
        **({"load_data_last": Out(operands.weight_shape)} if hop else {}),
        "partial_in": In(operands.accumulator_shape),
        "partial_out": Out(operands.accumulator_shape),
    })


class PEGroup(wiring.Component):
    """Consecutive rows of a PE column (:func:`pe_group_rows` of them), the leaf Verilator
    builds once for every group of every column.

    Parameters
    ----------
    config : TileConfig

    Members
    -------
    moving, weight_select, control : In
        The group's rows' moving lanes, weight-register choices and controls, as the PEs read
        them this cycle (the column's held values).
    load_enable, load_bank : In
        Per row: write the stationary value into this row's PE this cycle, and into which
        weight register (one bank bit for all rows when they write at once).
    load_data : In(weight)
        The stationary value as the group's first row sees it.
    load_data_last : Out(weight)
        With pipelined PEs only: the stationary value as the group's last row sees it; the
        column delays it ``load_row_hop`` cycles for the next group.
    partial_in, partial_out : In, Out(accumulator)
        Partial sum entering the first row; partial sum leaving the last row, registered.
    """
    def __init__(self, config):
        self._config = config
        super().__init__(pe_group_signature(config))

    def elaborate(self, platform):
        m = Module()
        hop = tile_latency(self._config).load_row_hop
        rows = pe_group_rows(self._config)
        control = self.control if "control" in self.signature.members else None
        partial, load_data = pe_chain(
            m, self._config, self.moving, self.weight_select, control, list(self.load_enable),
            list(self.load_bank) if hop else [self.load_bank] * rows, self.load_data,
            self.partial_in)
        m.d.comb += self.partial_out.eq(partial)
        if hop:
            m.d.comb += self.load_data_last.eq(load_data)
        return m
