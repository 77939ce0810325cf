"""Self-test of :mod:`tb.streams`: random beats through a FIFO come out exactly, in order.

Holds the design under test (a stream loopback through a small FIFO) and the cocotb tests run on
its Verilog; ``tb/test_streams.py`` generates the Verilog and launches the simulations. The
random seed is cocotb's (``cocotb.RANDOM_SEED``, the SEED of the pytest run) and is logged.
"""

import cocotb
import numpy as np
from amaranth.hdl import Module, Shape, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles

from .checker import check_equal
from .streams import CycleCounter, StreamDriver, StreamMonitor, pack_array, unpack_array

__all__ = ["PAYLOAD", "FIFO_DEPTH", "StreamLoopback"]

#: Payload of both streams: four signed 8-bit lanes.
PAYLOAD = data.ArrayLayout(signed(8), 4)
#: Entries of the FIFO between the streams.
FIFO_DEPTH = 4
#: Beats sent through the loopback by each test.
BEATS = 500
#: Probability of an idle gap before each input beat, and of backpressure in each cycle.
IDLE_PROBABILITY = 0.3
BACKPRESSURE_PROBABILITY = 0.3
#: Clock period (ns).
CLOCK_PERIOD = 10
#: Simulated time after which a test fails instead of waiting for lost beats forever (ns):
#: 20 cycles per beat, about 12 times what the random gaps and backpressure cost.
TIMEOUT = 20 * BEATS * CLOCK_PERIOD


class StreamLoopback(wiring.Component):
    """Passes every beat of ``i`` to ``o``, in order, through a synchronous FIFO.

    Parameters
    ----------
    payload : ShapeLike
        Payload shape of both streams.
    depth : int
        FIFO entries. A beat taken from ``i`` on one rising edge can leave on ``o`` on the next.

    Members
    -------
    i : In(stream.Signature(payload))
        Incoming beats.
    o : Out(stream.Signature(payload))
        Outgoing beats.
    """
    def __init__(self, payload, depth):
        self._depth = depth
        super().__init__({
            "i": In(stream.Signature(payload)),
            "o": Out(stream.Signature(payload)),
        })

    def elaborate(self, platform):
        m = Module()
        width = Shape.cast(self.i.payload.shape()).width
        m.submodules.fifo = fifo = SyncFIFO(width=width, depth=self._depth)
        m.d.comb += [
            fifo.w_data.eq(self.i.payload),
            fifo.w_en.eq(self.i.valid),
            self.i.ready.eq(fifo.w_rdy),
            self.o.payload.eq(fifo.r_data),
            self.o.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.o.ready),
        ]
        return m


async def _start(dut, rng, idle_probability, backpressure_probability):
    """Start the clock and both stream endpoints, reset the design, return the endpoints."""
    Clock(dut.clk, CLOCK_PERIOD, unit="ns").start()
    counter = CycleCounter(dut.clk)
    driver = StreamDriver(dut.clk, dut.i__valid, dut.i__ready, dut.i__payload,
                          idle_probability, rng, counter)
    monitor = StreamMonitor(dut.clk, dut.o__valid, dut.o__ready, dut.o__payload,
                            backpressure_probability, rng, counter)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    return driver, monitor


async def _loop_back(dut, idle_probability, backpressure_probability):
    """Send random beats through the design; check values and order; return both cycle lists."""
    dut._log.info("seed %d", cocotb.RANDOM_SEED)
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    driver, monitor = await _start(dut, rng, idle_probability, backpressure_probability)
    width = Shape.cast(PAYLOAD.elem_shape).width
    values = rng.integers(-2 ** (width - 1), 2 ** (width - 1), size=(BEATS, PAYLOAD.length))
    sending = cocotb.start_soon(driver.send(pack_array(width, values)))
    received = await monitor.collect(BEATS)
    sent = await sending
    check_equal(values, unpack_array(width, PAYLOAD.length, received.payloads), "payload",
                index_names=("beat", "lane"))
    sent_cycles, received_cycles = np.array(sent.cycles), np.array(received.cycles)
    span = received_cycles[-1] - sent_cycles[0] + 1
    dut._log.info("%d beats in %d cycles (%.2f beats per cycle)", BEATS, span, BEATS / span)
    return sent_cycles, received_cycles


@cocotb.test(timeout_time=TIMEOUT, timeout_unit="ns")
async def random_gaps_and_backpressure(dut):
    """Every beat arrives exactly and in order, and the FIFO never holds more than its depth."""
    sent, received = await _loop_back(dut, IDLE_PROBABILITY, BACKPRESSURE_PROBABILITY)
    early = np.flatnonzero(received <= sent)
    assert not early.size, f"Beats {early.tolist()} left before the cycle after they entered"
    # Beat b can only enter once beat b - depth has left.
    overfull = np.flatnonzero(sent[FIFO_DEPTH:] < received[:-FIFO_DEPTH]) + FIFO_DEPTH
    assert not overfull.size, f"Beats {overfull.tolist()} entered a full FIFO"


@cocotb.test(timeout_time=TIMEOUT, timeout_unit="ns")
async def full_throughput(dut):
    """With no gaps and no backpressure one beat transfers every cycle, one cycle apart."""
    sent, received = await _loop_back(dut, 0.0, 0.0)
    check_equal(sent[0] + np.arange(BEATS), sent, "input transfer cycle", index_names=("beat",))
    check_equal(sent + 1, received, "output transfer cycle", index_names=("beat",))
