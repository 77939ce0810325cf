"""A test harness on the HDL side of the tile: stream memories, a handshake trace and seeded
stall patterns, so that a simulation runs without Python in the loop (``tb.fast_tile``).

The harness instantiates the tile's top module (emitted into its own Verilog file by
``hdl.emit``) and plays every stream end:

- op, stationary and moving streams are fed from memories of packed beats, which a driver
  loads through the ``load_*`` ports, clocked by their own domain ``load`` so that loading does
  not clock the tile;
- the result stream's beats are written into a result memory;
- every transfer on every stream writes the cycle it happened in into that stream's trace
  memory (cycle 0 is the first cycle with ``go`` high);
- each stream has a 32-bit Galois LFSR (shifting right, :data:`LFSR_MASK` applied when the
  bit shifted out is 1; seeded from its ``*_seed`` port, stepped every cycle with ``go``): in a cycle whose LFSR value has its low 16 bits below the
  stream's ``*_threshold``, an input stream raises no new ``valid`` (a beat already offered is
  held until it transfers, as ``lib.stream`` asks) and the result stream lowers ``ready``.
  Threshold 0 gives ideal streams; Python reproduces the sequence (``tb.fast_tile``);
- ``hold`` blocks every handshake in the cycles it is high (fault injection: a late
  handshake);
- ``done`` rises once every stream has moved its ``*_count`` beats; ``cycle`` counts cycles.

After the run, ``read_target``/``read_addr`` select a word of a trace memory or of the result
memory on ``read_data`` combinationally (no clock needed).
"""

from amaranth.hdl import ClockDomain, ClockSignal, Instance, Module, Mux, ResetSignal, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from sim_models.config import module_name

from .isa import moving_layout, op_layout, result_layout, stationary_layout

__all__ = ["CAPACITY", "INPUT_STREAMS", "LFSR_MASK", "STREAMS", "TileTestbench",
           "testbench_name"]

#: Beats a stream memory holds by default, and at most.
CAPACITY = 8192
#: The input streams in the order of ``load_target`` and trace targets.
INPUT_STREAMS = ("op", "stationary", "moving")
#: Every stream; ``read_target`` i < 4 reads the trace of ``STREAMS[i]``, 4 the result memory.
STREAMS = INPUT_STREAMS + ("result",)
#: Feedback mask of the right-shifting Galois LFSRs (taps 32, 30, 26, 25).
LFSR_MASK = 0xA3000000
CYCLE_BITS = 32


def testbench_name(config):
    """Verilog module name of the harness around the tile ``config``."""
    return f"{module_name(config)}_testbench"


def _payload_widths(config):
    layouts = (op_layout(config), stationary_layout(config), moving_layout(config),
               result_layout(config))
    return dict(zip(STREAMS, (layout.size for layout in layouts)))


class TileTestbench(wiring.Component):
    """The harness around the tile of ``config`` (see the module docstring).

    Parameters
    ----------
    config : TileConfig
    capacities : sequence of int
        Beats of each stream's memory (and entries of its trace), in :data:`STREAMS` order,
        each in 1 .. :data:`CAPACITY`. A memory's size is its bits' cost in generation (Amaranth
        writes every bit's initial value), Verilation and compilation: the 32 x 32 tile's
        harness took 23.7 s and 1.1 GB to generate with 8,192 beats per stream, 3.3 s and 184
        MB with 1,024.
    """
    def __init__(self, config, capacities=(CAPACITY,) * len(STREAMS)):
        if len(capacities) != len(STREAMS) or not all(
                isinstance(beats, int) and 1 <= beats <= CAPACITY for beats in capacities):
            raise ValueError(f"Parameter 'capacities' must be {len(STREAMS)} beat counts in "
                             f"1..{CAPACITY}, one per stream, not {capacities!r}")
        self._config = config
        self._capacities = dict(zip(STREAMS, capacities))
        self._widths = _payload_widths(config)
        input_width = max(self._widths[name] for name in INPUT_STREAMS)
        address = range(max(capacities))
        members = {
            "load_clk": In(1), "load_valid": In(1), "load_target": In(range(len(INPUT_STREAMS))),
            "load_addr": In(address), "load_data": In(input_width),
            "go": In(1), "hold": In(1), "done": Out(1), "cycle": Out(CYCLE_BITS),
            "read_target": In(range(len(STREAMS) + 1)), "read_addr": In(address),
            "read_data": Out(max(CYCLE_BITS, self._widths["result"])),
        }
        for name in STREAMS:
            members[f"{name}_count"] = In(range(self._capacities[name] + 1))
            members[f"{name}_seed"] = In(32)
            members[f"{name}_threshold"] = In(17)
        super().__init__(members)

    def _lfsr_stall(self, m, name):
        """The stream's stall decision this cycle, from its LFSR (seeded at the first cycle)."""
        state, started = Signal(32, name=f"{name}_lfsr"), Signal(name=f"{name}_started")
        value = Mux(started, state, getattr(self, f"{name}_seed"))
        with m.If(self.go):
            m.d.sync += [state.eq((value >> 1) ^ Mux(value[0], LFSR_MASK, 0)), started.eq(1)]
        return value[:16] < getattr(self, f"{name}_threshold")

    def _trace(self, m, name, index, fire):
        trace = memory.Memory(shape=CYCLE_BITS, depth=self._capacities[name], init=[])
        m.submodules[f"{name}_trace"] = trace
        write = trace.write_port(domain="sync")
        m.d.comb += [write.addr.eq(index), write.data.eq(self.cycle), write.en.eq(fire)]
        read = trace.read_port(domain="comb")
        m.d.comb += read.addr.eq(self.read_addr)
        return read.data

    def elaborate(self, platform):
        m = Module()
        m.domains.load = ClockDomain("load", reset_less=True)
        m.d.comb += ClockSignal("load").eq(self.load_clk)
        ports = {"i_clk": ClockSignal("sync"), "i_rst": ResetSignal("sync")}
        readable = []
        with m.If(self.go):
            m.d.sync += self.cycle.eq(self.cycle + 1)
        finished = []
        for target, name in enumerate(INPUT_STREAMS):
            beats = memory.Memory(shape=self._widths[name], depth=self._capacities[name],
                                  init=[])
            m.submodules[f"{name}_beats"] = beats
            load = beats.write_port(domain="load")
            m.d.comb += [load.addr.eq(self.load_addr), load.data.eq(self.load_data),
                         load.en.eq(self.load_valid & (self.load_target == target))]
            index = Signal(range(self._capacities[name] + 1), name=f"{name}_index")
            offering = Signal(name=f"{name}_offering")
            valid, ready = Signal(name=f"{name}_valid"), Signal(name=f"{name}_ready")
            fire = valid & ready
            read = beats.read_port(domain="comb")
            more = index < getattr(self, f"{name}_count")
            m.d.comb += [read.addr.eq(index),
                         valid.eq(self.go & ~self.hold & more &
                                  (offering | ~self._lfsr_stall(m, name)))]
            with m.If(fire):
                m.d.sync += [index.eq(index + 1), offering.eq(0)]
            with m.Elif(valid):
                m.d.sync += offering.eq(1)
            ports.update({f"i_{name}__valid": valid, f"o_{name}__ready": ready,
                          f"i_{name}__payload": read.data})
            readable.append(self._trace(m, name, index, fire))
            finished.append(~more)
        index = Signal(range(self._capacities["result"] + 1), name="result_index")
        valid, ready = Signal(name="result_valid"), Signal(name="result_ready")
        payload = Signal(self._widths["result"], name="result_payload")
        more = index < self.result_count
        m.d.comb += ready.eq(self.go & ~self.hold & more & ~self._lfsr_stall(m, "result"))
        fire = valid & ready
        with m.If(fire):
            m.d.sync += index.eq(index + 1)
        ports.update({"o_result__valid": valid, "i_result__ready": ready,
                      "o_result__payload": payload})
        readable.append(self._trace(m, "result", index, fire))
        results = memory.Memory(shape=self._widths["result"],
                                depth=self._capacities["result"], init=[])
        m.submodules.result_beats = results
        write = results.write_port(domain="sync")
        m.d.comb += [write.addr.eq(index), write.data.eq(payload), write.en.eq(fire)]
        read = results.read_port(domain="comb")
        m.d.comb += read.addr.eq(self.read_addr)
        readable.append(read.data)
        finished.append(~more)
        m.d.comb += self.done.eq(self.go & finished[0] & finished[1] & finished[2] & finished[3])
        with m.Switch(self.read_target):
            for target, value in enumerate(readable):
                with m.Case(target):
                    m.d.comb += self.read_data.eq(value)
        m.submodules.tile = Instance(module_name(self._config), **ports)
        return m
