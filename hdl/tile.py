"""The systolic matrix-multiply tile: sequencer, skew buffers, C PE and PSUM columns.

Timing, for a moving vector taken in cycle t and a stationary row taken in cycle u (all streams
share the ``sync`` clock; the offsets are ``sim_models.timing.TileLatency``'s, which
``sim_models.cycle_model`` uses too; with one-cycle PEs):

- row k of the vector enters PE (k, m) in cycle t + ``operand_arrival(k, m)`` = t + 1 + k + m;
- column m of stationary row k reaches PE (k, m) in cycle u + ``load_arrival(k, m)`` = u + 1 + m
  (plus k (``row_hop`` - 1) with pipelined PEs: the row travels down the column), and is used
  from the next cycle on, so a vector taken after the last beat of its load sees all of it and
  one taken before the load never sees it;
- the vector's result for column m is written to PSUM in cycle t + ``psum_write(m)``
  = t + R + m + 1.

With ``bf16_psum``, PSUM lane m's stochastic-rounding generator steps in the cycle of that
write whenever the vector's operation rounds stochastically (whatever M: R17), and a reseed
restarts every lane at once (``hdl.sequencer``).
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .bf16_psum import StochasticRoundingGenerator
from .delay import delay_line, staircase
from .isa import moving_layout, op_layout, result_layout, stationary_layout
from .leaf import instantiate, leaf_module_name
from .placement import register_placement
from sim_models.timing import tile_latency

from .numerics import arithmetic
from .pe_column import pe_column_signature
from .psum import ResultStage, psum_address, psum_column_signature
from .sequencer import Sequencer

__all__ = ["SystolicTile"]


def _anti_diagonal(line, width, latency, lead, col):
    """What the PEs of column ``col`` take from ``line``, a shift register whose element j
    (``width`` bits) was taken j cycles ago: for row k, element ``operand_arrival(k, col) -
    lead``. With rows one cycle apart that is one part-select (simulators evaluate it as one
    value), else a concatenation of the rows' elements."""
    taps = [latency.operand_arrival(row, col) - lead for row in range(latency.rows)]
    if latency.row_hop == 1:
        return line[taps[0] * width:(taps[-1] + 1) * width]
    return Cat(line[tap * width:(tap + 1) * width] for tap in taps)


class SystolicTile(wiring.Component):
    """Weight-stationary systolic tile with background weight load and PSUM accumulation.

    The PE columns and PSUM columns are instances of leaf modules (``hdl.leaf``), which
    ``hdl.emit`` writes into the same Verilog file.

    Parameters
    ----------
    config : TileConfig

    Members
    -------
    op : In(stream.Signature(op_layout))
        Operations: load stationary, multiply moving, read PSUM (see ``hdl.isa``).
    stationary : In(stream.Signature(stationary_layout))
        K beats per load: row k of the stationary operand.
    moving : In(stream.Signature(moving_layout))
        N beats per multiply: column n of the moving operand.
    result : Out(stream.Signature(result_layout))
        N beats per PSUM read: column n of the bank, M lanes.
    """
    def __init__(self, config):
        self._config = config
        super().__init__({
            "op": In(stream.Signature(op_layout(config))),
            "stationary": In(stream.Signature(stationary_layout(config))),
            "moving": In(stream.Signature(moving_layout(config))),
            "result": Out(stream.Signature(result_layout(config))),
        })

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        config = self._config
        rows, cols = config.rows, config.cols
        m = Module()

        m.submodules.sequencer = sequencer = Sequencer(config)
        m.submodules.result_stage = result_stage = ResultStage(config)
        wiring.connect(m, wiring.flipped(self.op), sequencer.op)
        wiring.connect(m, wiring.flipped(self.stationary), sequencer.stationary)
        wiring.connect(m, wiring.flipped(self.moving), sequencer.moving)
        wiring.connect(m, result_stage.result, wiring.flipped(self.result))
        injection = sequencer.injection
        m.d.comb += [
            result_stage.read_request.eq(sequencer.read_request),
            sequencer.read_advance.eq(result_stage.read_advance),
        ]

        # Moving skew: lane k reaches PE (k, 0) operand_arrival(k, 0) cycles after it was taken.
        # The weight bank it multiplies with travels the anti-diagonals: PE (k, m) uses the
        # bank taken operand_arrival(k, m) cycles ago. Columns that hold their operands in
        # registers (RegisterPlacement.operands_in_column) are given each `lead` cycles early.
        latency = tile_latency(config)
        lead = register_placement(config).lead
        moving = staircase(m, [injection.lanes[k] for k in range(rows)],
                           [latency.operand_arrival(k, 0) - lead for k in range(rows)],
                           name="moving_skew")
        # One shift register: bit j holds the bank taken j + 1 cycles ago, so column m's
        # selects are taps of bits taken 0, 1, .. cycles ago (_anti_diagonal).
        select_line = Signal(latency.skew_span - lead, name="weight_select", reset_less=True)
        m.d.sync += select_line.eq(Cat(injection.weight_bank, select_line[:-1]))
        selects = Cat(injection.weight_bank, select_line)
        # The formats and mode of a floating-point vector travel the same anti-diagonals. The
        # line powers up all ones, so that the first operation's formats reach every PE as a
        # value change: Icarus (11, under cocotb) evaluates a Yosys `always @*` block only when
        # one of its inputs changes, and the FloatMac's decode blocks would otherwise hold X.
        pe_control = arithmetic(config).control_layout
        if pe_control is not None:
            width = pe_control.size
            length = (latency.skew_span - lead) * width
            format_line = Signal(length, init=(1 << length) - 1, name="pe_control",
                                 reset_less=True)
            m.d.sync += format_line.eq(Cat(injection.control, format_line[:-width]))
            controls = Cat(injection.control, format_line)

        # Load skew: PE (k, m) writes the stationary row taken in cycle u in cycle
        # u + load_arrival(k, m). The data enters column m at row 0 and the column passes it
        # down (hdl.pe_column); each row's valid, bank and row index are taps of one line.
        write = sequencer.weight_write
        control_layout = data.StructLayout({"valid": 1, "row": write.row.shape(), "bank": 1})
        control = Signal(control_layout)
        m.d.comb += [control.valid.eq(write.valid), control.row.eq(write.row),
                     control.bank.eq(write.bank)]
        control_taps = delay_line(m, control, latency.load_arrival(rows - 1, cols - 1),
                                  name="load_control")

        # PSUM write tags: tap psum_lookup(m) is the tag of the vector whose partial sum leaves
        # column m PSUM_LOOKAHEAD_CYCLES later (read ahead for accumulation); tap psum_write(m)
        # writes it.
        tags = delay_line(m, injection.psum, latency.psum_write(cols - 1), name="psum_tag")
        read = sequencer.read_request
        if config.bf16_psum:
            m.submodules.rounding = rounding = StochasticRoundingGenerator(cols)
            m.d.comb += [rounding.reseed.eq(sequencer.reseed.valid),
                         rounding.seed.eq(sequencer.reseed.seed)]

        pe_signature, psum_signature = pe_column_signature(config), psum_column_signature(config)
        load_data = staircase(m, [write.data[col] for col in range(cols)],
                              [latency.load_arrival(0, col) for col in range(cols)],
                              name="load_skew")
        for col in range(cols):
            moving_out = Signal(pe_signature.members["moving_out"].shape, name=f"moving_col{col}")
            partial = Signal(arithmetic(config).accumulator_shape,
                             name=f"partial_col{col}")
            # One tap for every row, or one for the whole column when rows write at once.
            loads = [control_taps[latency.load_arrival(row, col)]
                     for row in range(rows if latency.load_row_hop else 1)]
            m.submodules[f"column{col}"] = instantiate(
                leaf_module_name("pe_column", config), pe_signature, {
                    "moving_in": moving,
                    "moving_out": moving_out,
                    "weight_select": _anti_diagonal(selects, 1, latency, lead, col),
                    **({} if pe_control is None else
                       {"control": _anti_diagonal(controls, width, latency, lead, col)}),
                    "load_valid": Cat(load.valid for load in loads),
                    "load_bank": Cat(load.bank for load in loads),
                    "load_row": Cat(load.row for load in loads),
                    "load_data": load_data[col],
                    "partial_out": partial,
                })
            lookup, arriving = tags[latency.psum_lookup(col)], tags[latency.psum_write(col)]
            destination = {}
            if config.bf16_psum:
                m.d.comb += rounding.step[col].eq(arriving.valid & arriving.stochastic)
                destination = {"write_bf16": arriving.bf16,
                               "write_stochastic": arriving.stochastic,
                               "random": rounding.random[col]}
            m.submodules[f"psum{col}"] = instantiate(
                leaf_module_name("psum_column", config), psum_signature, {
                    "lookup_addr": psum_address(config, lookup),
                    "write_addr": psum_address(config, arriving),
                    "write_en": arriving.valid & (col < arriving.width),
                    "write_accumulate": arriving.accumulate,
                    "partial": partial,
                    "readout_addr": psum_address(config, read),
                    "readout_en": result_stage.read_advance,
                    "readout_data": result_stage.readout[col],
                    **destination,
                })
            moving = moving_out
        return m

