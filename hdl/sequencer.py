"""Sequencer: issues tile operations in order to three engines that run concurrently.

The load engine takes stationary beats, the multiply engine takes moving beats and the read
engine sends PSUM results. Operations leave the queue in order, one per cycle, each as soon as
the engine it needs is free and its data hazards are clear; an engine counts as free in the
cycle it takes its last beat, so back-to-back operations of one kind leave no idle cycle.

Hazards, and why each rule is enough:

- The weights have two banks per PE. A load writes the bank the most recent multiply is *not*
  using, so a load that follows a multiply runs in the background while that multiply streams.
  A load's row k travels down the column behind the rows above it (``TileLatency.load_arrival``):
  it reaches PE (k, m) after every vector taken before the load has used the bank there, and
  before any vector taken after the load's last beat arrives, so a multiply may start the cycle
  after the last stationary beat of its load, and a load the cycle after the multiply that
  frees its bank started, at any PE depth.
- A multiply may not overwrite a PSUM bank that the read engine is still reading.
- A read of a PSUM bank waits until every vector already sent into that bank has left the
  array: ``drain_cycles`` (``sim_models.timing``; R + C - 1 with one-cycle PEs) cycles after the
  bank's last moving beat.
- A reseed of the stochastic-rounding generators (``TileConfig.bf16_psum``) waits until the
  multiply engine is idle and every bank has drained; it restarts the generators one cycle
  after it issues, after the last PSUM lane's last write, and before the first write of any
  multiply after it.
- A load of the FP4-to-FP8 table (``TileConfig.has_fp4_table``) waits until the load and
  multiply engines are free: both take their last beat no later than its issue cycle, so they
  map every beat through the old table, and the new one is written at the end of that cycle,
  before the first beat of any operation after it (which issues a cycle later at the
  earliest). The table maps operands at the array's edge, so nothing in the array waits for it.
"""

from amaranth.hdl import Array, Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from sim_models.config import MX_SCALE_GROUP_ROWS
from sim_models.timing import OP_QUEUE_DEPTH, drain_cycles

from .fp4_table import fp4_table_register, fp4_to_fp8
from .isa import moving_layout, op_layout, opcodes, stationary_layout
from .numerics import arithmetic
from .shapes import index_shape

__all__ = ["Sequencer", "psum_access_layout", "reseed_layout", "weight_write_layout",
           "injection_layout"]


def _row_shape(config):
    return index_shape(config.rows)


def psum_access_layout(config):
    """One PSUM access: column ``column`` of bank ``bank``, rows (lanes) below ``width``; with
    ``bf16_psum``, also the write's ``bf16`` and ``stochastic`` bits (``hdl.isa.op_layout``'s
    ``psum_bf16`` and ``stochastic``)."""
    fields = {
        "valid": 1,
        "bank": op_layout(config)["bank"].shape,
        "column": index_shape(config.psum_depth),
        "width": op_layout(config)["m"].shape,
        "accumulate": 1,
    }
    if config.bf16_psum:
        fields.update(bf16=1, stochastic=1)
    return data.StructLayout(fields)


#: A reseed of the stochastic-rounding generators: in a cycle with ``valid`` set, every lane
#: restarts from ``seed`` (``hdl.bf16_psum.StochasticRoundingGenerator``).
reseed_layout = data.StructLayout({"valid": 1, "seed": 32})


def weight_write_layout(config):
    """One stationary row to write into the background weight bank of every column."""
    return data.StructLayout({
        "valid": 1,
        "row": _row_shape(config),
        "bank": 1,
        "data": stationary_layout(config),
    })


def injection_layout(config):
    """One moving vector entering the array, with the PSUM write it will end in (and, on a
    floating-point tile, the ``control`` of ``hdl.numerics.FloatArithmetic``)."""
    operands = arithmetic(config)
    fields = {
        "lanes": data.ArrayLayout(operands.lane_layout, config.rows),
        "weight_bank": 1,
        "psum": psum_access_layout(config),
    }
    if operands.control_layout is not None:
        fields["control"] = operands.control_layout
    return data.StructLayout(fields)


class _Engine:
    """Busy flag and beat counter of one engine: it takes ``count`` beats once started.

    ``beat`` is set in a cycle the engine takes a beat (``handshake`` while busy), ``last`` in
    the cycle of its last beat, and ``free`` while it can be started (idle, or on its last beat).
    """
    def __init__(self, m, name, position_shape, count_shape, handshake):
        self.busy = Signal(name=f"{name}_busy")
        self.position = Signal(position_shape, name=f"{name}_position")
        self.count = Signal(count_shape, name=f"{name}_count")
        self.beat = self.busy & handshake
        self.last = self.beat & (self.position == self.count - 1)
        self.free = ~self.busy | self.last
        with m.If(self.beat):
            m.d.sync += self.position.eq(self.position + 1)
        with m.If(self.last):
            m.d.sync += self.busy.eq(0)

    def start(self, count):
        """Statements (for ``sync``) that start the engine for ``count`` beats."""
        return [self.busy.eq(1), self.position.eq(0), self.count.eq(count)]


class Sequencer(wiring.Component):
    """Dispatcher and engines of a tile.

    Parameters
    ----------
    config : TileConfig

    Members
    -------
    op : In(stream.Signature(op_layout))
    stationary : In(stream.Signature(stationary_layout))
    moving : In(stream.Signature(moving_layout))
    weight_write : Out(weight_write_layout)
        A stationary beat taken this cycle, with its row and weight bank.
    injection : Out(injection_layout)
        A moving beat taken this cycle (all lanes zero when none is taken). Rows k >= K
        contribute nothing: their int8 lanes are zeroed; their floating-point lanes have
        ``active`` clear (in double-row mode, K even: both FP8 halves of rows p >= K/2; in MX
        mode the x4 words of rows p >= K/4). With MX mode, E2M1 operands leave through the
        FP4-to-FP8 table (``hdl.fp4_table``, loaded by LOAD_FP4_TABLE) and each moving lane
        takes its group's scale.
    read_request : Out(psum_access_layout)
        A PSUM column to read this cycle; only issued while ``read_advance`` is set.
    read_advance : In(1)
        The result stage can take a read this cycle.
    reseed : Out(reseed_layout)
        With ``bf16_psum`` only: the generators' reseed, one cycle after a RESEED_ROUNDING
        issues.
    """
    def __init__(self, config):
        self._config = config
        members = {
            "op": In(stream.Signature(op_layout(config))),
            "stationary": In(stream.Signature(stationary_layout(config))),
            "moving": In(stream.Signature(moving_layout(config))),
            "weight_write": Out(weight_write_layout(config)),
            "injection": Out(injection_layout(config)),
            "read_request": Out(psum_access_layout(config)),
            "read_advance": In(1),
        }
        if config.bf16_psum:
            members["reseed"] = Out(reseed_layout)
        super().__init__(members)

    def elaborate(self, platform):
        config = self._config
        layout = op_layout(config)
        ops = opcodes(config)
        m = Module()

        m.submodules.queue = queue = SyncFIFO(width=layout.size, depth=OP_QUEUE_DEPTH)
        m.d.comb += [
            queue.w_data.eq(self.op.payload),
            queue.w_en.eq(self.op.valid),
            self.op.ready.eq(queue.w_rdy),
        ]
        head = layout(queue.r_data)

        # Weight bank holding the stationary loaded last, and its shape.
        loaded_bank = Signal()
        loaded_used = Signal()  # a multiply has used it, so the next load takes the other bank
        loaded_rows = Signal.like(head.k)
        loaded_cols = Signal.like(head.m)
        if config.floating:
            loaded_format = Signal.like(head.format)

        # Load engine: stationary beats, row by row (two rows per beat in double-row mode, four
        # in MX mode).
        load = _Engine(m, "load", _row_shape(config), head.k.shape(), self.stationary.valid)
        load_beats = Mux(head.double_row, (head.k + 1) >> 1, head.k) if config.double_row \
            else head.k
        if config.mx:
            load_beats = Mux(head.mx, head.k >> 2, load_beats)
        load_bank = Signal()
        m.d.comb += [
            self.stationary.ready.eq(load.busy),
            self.weight_write.valid.eq(load.beat),
            self.weight_write.row.eq(load.position),
            self.weight_write.bank.eq(load_bank),
        ]
        # An E2M1 operand is mapped to E4M3FN codes here, the stationary's edge of the array.
        fp4 = config.formats.index("fp4_e2m1") if config.has_fp4_table else None
        if fp4 is None:
            m.d.comb += self.weight_write.data.eq(self.stationary.payload)
        else:
            fp4_table = fp4_table_register()
            for lane, (taken, written) in enumerate(zip(self.stationary.payload,
                                                        self.weight_write.data)):
                m.d.comb += [written.eq(taken),
                             written.value.eq(Mux(loaded_format == fp4,
                                                  fp4_to_fp8(taken.value, fp4_table),
                                                  taken.value))]

        # Multiply engine: moving beats, column by column.
        multiply = _Engine(m, "multiply", self.injection.psum.column.shape(), head.n.shape(),
                           self.moving.valid)
        mm_bank = Signal.like(head.bank)
        mm_accumulate = Signal()
        mm_rows = Signal.like(head.k)
        mm_cols = Signal.like(head.m)
        mm_weight_bank = Signal()
        m.d.comb += [
            self.moving.ready.eq(multiply.busy),
            self.injection.weight_bank.eq(mm_weight_bank),
            self.injection.psum.valid.eq(multiply.beat),
            self.injection.psum.bank.eq(mm_bank),
            self.injection.psum.column.eq(multiply.position),
            self.injection.psum.width.eq(mm_cols),
            self.injection.psum.accumulate.eq(mm_accumulate),
        ]
        if config.bf16_psum:
            mm_bf16, mm_stochastic = Signal(name="mm_bf16"), Signal(name="mm_stochastic")
            m.d.comb += [self.injection.psum.bf16.eq(mm_bf16),
                         self.injection.psum.stochastic.eq(mm_stochastic)]
        operands = arithmetic(config)
        if operands.control_layout is None:
            # Lanes >= K are zeroed with one wide AND; the mask changes once per multiply.
            lane_width = operands.operand_shape.width
            lane_mask = Cat((lane < mm_rows).replicate(lane_width)
                            for lane in range(config.rows))
            m.d.comb += self.injection.lanes.eq(
                Mux(multiply.beat, self.moving.payload.as_value() & lane_mask, 0))
        else:
            # The operation's formats travel with its vectors; row k's products are active
            # while their contraction index is < K: k, or in double-row mode (K even, NKI's
            # layout) p and p + K/2, both < K exactly when 2p < K (= 2p + 1 < K), or in MX mode
            # (K a multiple of 4) the x4 word p + qK/4 while 4p < K.
            control = Signal(operands.control_layout)
            m.d.comb += self.injection.control.eq(control)
            lanes = self.moving.payload.lanes if config.mx else self.moving.payload
            for lane in range(config.rows):
                single, low, high = lane < mm_rows, 2 * lane < mm_rows, 2 * lane + 1 < mm_rows
                active = Mux(control.double_row, Cat(low, high), Cat(single, 0)) \
                    if config.double_row else Cat(single, 0)
                value = lanes[lane]
                injected = self.injection.lanes[lane]
                if config.mx:
                    active = Mux(control.mx, Cat(4 * lane < mm_rows, 0), active)
                    m.d.comb += injected.scale.eq(
                        self.moving.payload.scales[lane // MX_SCALE_GROUP_ROWS])
                if fp4 is not None:
                    value = Mux(control.moving_format == fp4, fp4_to_fp8(value, fp4_table),
                                value)
                m.d.comb += [
                    injected.value.eq(Mux(multiply.beat, value, 0)),
                    injected.active.eq(Mux(multiply.beat, active, 0)),
                ]

        # Cycles until each PSUM bank has taken every write already sent into the array.
        drain = Array(Signal(range(drain_cycles(config) + 1), name=f"drain_{bank}")
                      for bank in range(config.psum_banks))
        for bank, counter in enumerate(drain):
            with m.If(multiply.beat & (mm_bank == bank)):
                m.d.sync += counter.eq(drain_cycles(config))
            with m.Elif(counter != 0):
                m.d.sync += counter.eq(counter - 1)

        # Read engine: PSUM columns to the result stage.
        read = _Engine(m, "read", self.read_request.column.shape(), head.n.shape(),
                       self.read_advance)
        read_bank = Signal.like(head.bank)
        read_width = Signal.like(head.m)
        m.d.comb += [
            self.read_request.valid.eq(read.beat),
            self.read_request.bank.eq(read_bank),
            self.read_request.column.eq(read.position),
            self.read_request.width.eq(read_width),
        ]

        # Issue: the operation at the head of the queue leaves once its engine is free.
        can_issue = Signal()
        with m.Switch(head.opcode):
            with m.Case(ops.LOAD_STATIONARY):
                m.d.comb += can_issue.eq(load.free)
            with m.Case(ops.MULTIPLY_MOVING):
                bank_in_read = read.busy & (read_bank == head.bank)
                m.d.comb += can_issue.eq(multiply.free & load.free & ~bank_in_read)
            with m.Case(ops.READ_PSUM):
                bank_in_flight = (multiply.busy & (mm_bank == head.bank)) | \
                    (drain[head.bank] != 0)
                m.d.comb += can_issue.eq(read.free & ~bank_in_flight)
            if config.bf16_psum:
                with m.Case(ops.RESEED_ROUNDING):
                    m.d.comb += can_issue.eq(~multiply.busy &
                                             ~Cat(counter != 0 for counter in drain).any())
            if fp4 is not None:
                with m.Case(ops.LOAD_FP4_TABLE):
                    m.d.comb += can_issue.eq(load.free & multiply.free)
        issue = queue.r_rdy & can_issue
        m.d.comb += queue.r_en.eq(issue)
        if config.bf16_psum:
            m.d.sync += [self.reseed.valid.eq(issue & (head.opcode == ops.RESEED_ROUNDING)),
                         self.reseed.seed.eq(head.seed)]
        if fp4 is not None:
            with m.If(issue & (head.opcode == ops.LOAD_FP4_TABLE)):
                m.d.sync += fp4_table.eq(head.table)

        with m.If(issue):
            with m.Switch(head.opcode):
                with m.Case(ops.LOAD_STATIONARY):
                    target = Mux(loaded_used, ~loaded_bank, loaded_bank)
                    if config.floating:
                        m.d.sync += loaded_format.eq(head.format)
                    m.d.sync += [
                        *load.start(load_beats), load_bank.eq(target),
                        loaded_bank.eq(target), loaded_used.eq(0),
                        loaded_rows.eq(head.k), loaded_cols.eq(head.m),
                    ]
                with m.Case(ops.MULTIPLY_MOVING):
                    if config.bf16_psum:
                        m.d.sync += [mm_bf16.eq(head.psum_bf16),
                                     mm_stochastic.eq(head.stochastic)]
                    if config.floating:
                        m.d.sync += [control.stationary_format.eq(loaded_format),
                                     control.moving_format.eq(head.format)]
                    if config.double_row:
                        m.d.sync += control.double_row.eq(head.double_row)
                    if config.mx:
                        m.d.sync += control.mx.eq(head.mx)
                    m.d.sync += [
                        *multiply.start(head.n), mm_bank.eq(head.bank),
                        mm_accumulate.eq(head.accumulate), mm_rows.eq(loaded_rows),
                        mm_cols.eq(loaded_cols), mm_weight_bank.eq(loaded_bank),
                        loaded_used.eq(1),
                    ]
                with m.Case(ops.READ_PSUM):
                    m.d.sync += [*read.start(head.n), read_bank.eq(head.bank),
                                 read_width.eq(head.m)]
        return m
