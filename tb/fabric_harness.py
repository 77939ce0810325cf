"""The fabric's harness: sends packets into every inject stream, records every eject stream
and takes the flits apart into packets again."""

from dataclasses import dataclass

import cocotb
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from hdl.fabric.layouts import flit_layout, header_layout
from sim_models.fabric import Packet, reference

from .harness_timing import stall_probability, start_clock
from .streams import CycleCounter, StreamDriver, StreamMonitor, pack, unpack

__all__ = ["STALL_CYCLES", "EjectRecorder", "FabricHarness", "Outcome"]

#: Cycles without any eject handshake, with traffic outstanding, that count as a stall.
STALL_CYCLES = 300


class EjectRecorder:
    """Watches every eject stream and keeps each flit that transfers, with its cycle.

    Members
    -------
    flits : list of list of (int, int)
        Per node: (packed eject payload, cycle) of each transfer, in order.
    last_transfer : int
        Cycle of the latest transfer on any eject stream (the cycle it started if none).
    """
    def __init__(self, dut, nodes, counter):
        self._valid = [getattr(dut, f"eject__{node}__valid") for node in range(nodes)]
        self._ready = [getattr(dut, f"eject__{node}__ready") for node in range(nodes)]
        self._payload = [getattr(dut, f"eject__{node}__payload") for node in range(nodes)]
        self._counter = counter
        self.flits = [[] for _ in range(nodes)]
        self.last_transfer = counter.cycle
        self._task = cocotb.start_soon(self._watch(dut.clk))

    def stop(self):
        self._task.cancel()

    async def _watch(self, clock):
        edge = RisingEdge(clock)
        while True:
            await ReadOnly()
            cycle = self._counter.cycle + 1
            for node, (valid, ready) in enumerate(zip(self._valid, self._ready)):
                if valid.value == 1 and ready.value == 1:
                    self.flits[node].append((self._payload[node].value.to_unsigned(), cycle))
                    self.last_transfer = cycle
            await edge


@dataclass
class Outcome:
    """What one run of traffic produced.

    Members
    -------
    delivered : dict of int to list of Packet
        Per node: the whole packets it received, in order.
    header_cycles, tail_cycles : dict of int to list of int
        Per node: eject cycle of the header and of the last flit of each delivered packet.
    inject_cycles : dict of int to list of int
        Per source: inject cycle of the header of each packet (empty after a stall).
    dropped : dict of int to int
        Per node: its dropped-packet counter at the end.
    stalled : bool
        The run ended because no flit left the fabric for STALL_CYCLES cycles.
    cycles : int
        Cycles from the start to the last eject transfer.
    """
    delivered: dict
    header_cycles: dict
    tail_cycles: dict
    inject_cycles: dict
    dropped: dict
    stalled: bool
    cycles: int


class FabricHarness:
    """Sends packets into the fabric and takes apart what comes out.

    Parameters
    ----------
    dut : cocotb handle of the fabric's top module
    config : FabricConfig
    """
    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self._flit_mask = (1 << config.flit_width) - 1
        self._header_mask = (1 << config.header_width) - 1
        start_clock(dut.clk)

    def _port(self, kind, node, name):
        return getattr(self.dut, f"{kind}__{node}__{name}")

    async def reset(self, cycles=3):
        """Hold reset with every valid and ready low; release it just after a rising edge."""
        for node in range(self.config.nodes):
            self._port("inject", node, "valid").value = 0
            self._port("eject", node, "ready").value = 0
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    def flits(self, packet):
        """Packed flits of ``packet``: its header, then its payload."""
        header = pack(header_layout(self.config), {
            "destination": packet.destination, "source": packet.source,
            "kind": packet.kind, "length": len(packet.payload)})
        return [header, *packet.payload]

    def parse(self, node, transfers):
        """Whole packets in one node's eject transfers; a trailing partial packet (still in
        flight after a stall) is left out.

        Returns
        -------
        tuple of (list of Packet, list of int, list of int)
            The packets, and the cycles of their header and last flit.

        Raises
        ------
        AssertionError
            If a packet's ``last`` flags do not mark exactly its last flit.
        """
        beats = [(unpack(flit_layout(self.config), bits), cycle) for bits, cycle in transfers]
        packets, heads, tails = [], [], []
        start = 0
        while start < len(beats):
            header = unpack(header_layout(self.config),
                            beats[start][0]["flit"] & self._header_mask)
            end = start + header["length"]
            if end >= len(beats):
                break
            lasts = [beat["last"] for beat, _ in beats[start:end + 1]]
            if lasts != [0] * header["length"] + [1]:
                raise AssertionError(f"Node {node}: packet at eject flit {start} has last flags "
                                     f"{lasts}, expected one on its last flit only")
            packets.append(Packet(header["source"], header["destination"], header["kind"],
                                  tuple(beat["flit"] for beat, _ in beats[start + 1:end + 1])))
            heads.append(beats[start][1])
            tails.append(beats[end][1])
            start = end + 1
        return packets, heads, tails

    async def run(self, injected, rng=None, *, inject_gaps=True):
        """Send ``injected`` (per source, packets in order) until every flit the reference
        expects has left the fabric, or the fabric stalls. With ``rng``, random backpressure on
        every eject stream and, unless ``inject_gaps`` is False (sources that saturate the
        fabric), random idle cycles on every inject stream; without, every stream is ideal.

        Returns
        -------
        Outcome
        """
        config, dut = self.config, self.dut
        nodes = config.nodes
        stall = stall_probability(rng)
        ref = reference(injected, nodes, 1 << config.address_width)
        counter = CycleCounter(dut.clk)
        recorder = EjectRecorder(dut, nodes, counter)
        sends, collects = {}, []
        for node in range(nodes):
            driver = StreamDriver(dut.clk, *(self._port("inject", node, name)
                                             for name in ("valid", "ready", "payload")),
                                  idle_probability=stall if inject_gaps else 0.0, rng=rng,
                                  counter=counter)
            flits = [flit for packet in injected.get(node, []) for flit in self.flits(packet)]
            sends[node] = cocotb.start_soon(driver.send(flits))
            monitor = StreamMonitor(dut.clk, *(self._port("eject", node, name)
                                               for name in ("valid", "ready", "payload")),
                                    backpressure_probability=stall, rng=rng, counter=counter)
            collects.append(cocotb.start_soon(monitor.collect(ref.flits(node))))
        stalled = False
        while not all(task.done() for task in [*sends.values(), *collects]):
            await ClockCycles(dut.clk, 8)
            if counter.cycle - recorder.last_transfer > STALL_CYCLES:
                stalled = True
                break
        for task in [*sends.values(), *collects]:
            task.cancel()
        recorder.stop()
        if not stalled:
            # Anything still arriving now was never sent or is a duplicate.
            await ClockCycles(dut.clk, 4 * nodes + 20)
            extra = [node for node in range(nodes)
                     if self._port("eject", node, "valid").value == 1]
            assert not extra, f"Nodes {extra} have flits to eject beyond the reference"
        delivered, heads, tails = {}, {}, {}
        for node in range(nodes):
            delivered[node], heads[node], tails[node] = self.parse(node, recorder.flits[node])
        inject_cycles = {} if stalled else {
            node: self._header_cycles(injected.get(node, []), sends[node].result().cycles)
            for node in range(nodes)}
        dropped = {node: getattr(dut, f"dropped__{node}").value.to_unsigned()
                   for node in range(nodes)}
        return Outcome(delivered, heads, tails, inject_cycles, dropped, stalled,
                       recorder.last_transfer)

    @staticmethod
    def _header_cycles(packets, cycles):
        result, index = [], 0
        for packet in packets:
            result.append(cycles[index])
            index += 1 + len(packet.payload)
        return result
