"""cocotb tests of a ring or torus fabric (``hdl.fabric``).

Every packet delivered is checked against the reference (``sim_models.fabric``): each arrives
exactly once, intact, at its destination, in order per (source, destination) pair, framed by
its ``last`` flag; packets for addresses that name no node are counted as dropped. Zero-load
latencies must equal the analytic model exactly. The traffic tests insert random idle cycles
on every inject stream and random backpressure on every eject stream.

Run through ``tb.test_fabric_sim`` (pytest), which passes the configuration in the environment:
FABRIC_DIMS (``5`` or ``4x4``), FABRIC_FLIT_WIDTH, FABRIC_LENGTH_WIDTH, FABRIC_BUFFER_DEPTH,
FABRIC_ROUTING, FABRIC_SEED and FABRIC_RESULTS (JSON-lines file receiving the measurements).
"""

import json
import os
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from hdl.fabric.layouts import flit_layout, header_layout
from sim_models.config import FabricConfig
from sim_models.fabric import (Packet, ZeroLoadLatency, check_delivery, hop_count, reference,
                               traffic)

from .regression import seeded_rng
from .streams import CycleCounter, StreamDriver, StreamMonitor, pack, unpack

#: Probability of an idle gap before an injected flit, and of a cycle without eject ready.
STALL_PROBABILITY = 0.3
#: Cycles without any eject handshake, with traffic outstanding, that count as a stall.
STALL_CYCLES = 300
#: Clock period of the simulation (ns); only the cycle count matters.
CLOCK_NS = 10
#: Packets per node in the random traffic tests, and their payload lengths (flits).
PACKETS_PER_NODE = 5
LENGTHS = (0, 8)
#: Fraction of uniform-traffic packets sent to an address that names no node.
INVALID_RATE = 0.15
#: Saturation test: packets per node, all of this many payload flits.
SATURATION_PACKETS = 16
SATURATION_LENGTH = 8
#: Payload flits of the zero-load latency probes.
PROBE_LENGTH = 3


def config_from_env():
    dims = tuple(int(side) for side in os.environ["FABRIC_DIMS"].split("x"))
    return FabricConfig(dims, flit_width=int(os.environ["FABRIC_FLIT_WIDTH"]),
                        length_width=int(os.environ["FABRIC_LENGTH_WIDTH"]),
                        buffer_depth=int(os.environ["FABRIC_BUFFER_DEPTH"]),
                        routing=os.environ["FABRIC_ROUTING"])


def record(config, test, **measurements):
    """Append one record to the FABRIC_RESULTS JSON-lines file."""
    path = os.environ.get("FABRIC_RESULTS")
    if path:
        entry = {"config": config.name, "dims": list(config.dims), "routing": config.routing,
                 "simulator": cocotb.SIM_NAME, "test": test, **measurements}
        with open(path, "a") as file:
            file.write(json.dumps(entry) + "\n")


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
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())

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
            header = unpack(header_layout(self.config), beats[start][0]["flit"] & self._header_mask)
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

    async def run(self, injected, rng=None):
        """Send ``injected`` (per source, packets in order) until every flit the reference
        expects has left the fabric, or the fabric stalls. With ``rng``, random idle cycles and
        backpressure; without, every stream is ideal.

        Returns
        -------
        Outcome
        """
        config, dut = self.config, self.dut
        nodes = config.nodes
        stall = STALL_PROBABILITY if rng is not None else 0.0
        ref = reference(injected, nodes)
        counter = CycleCounter(dut.clk)
        recorder = EjectRecorder(dut, nodes, counter)
        sends, collects = {}, []
        for node in range(nodes):
            driver = StreamDriver(dut.clk, *(self._port("inject", node, name)
                                             for name in ("valid", "ready", "payload")),
                                  idle_probability=stall, rng=rng, counter=counter)
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


async def start(dut, test_name):
    """Configuration, seeded generator and a freshly reset harness for one test."""
    config = config_from_env()
    rng = seeded_rng("FABRIC_SEED", test_name)
    harness = FabricHarness(dut, config)
    await harness.reset()
    return config, rng, harness


@cocotb.test()
async def zero_load_latency(dut):
    """One packet at a time from node 0 to every node: latencies equal the analytic model."""
    config, rng, harness = await start(dut, "zero_load_latency")
    model = ZeroLoadLatency(buffer_depth=config.buffer_depth)
    hops, headers, problems = [], [], []
    for destination in range(config.nodes):
        packet = traffic("uniform", config.dims, rng, packets=1, lengths=(PROBE_LENGTH,) * 2,
                         flit_width=config.flit_width)[0][0]
        packet = Packet(0, destination, packet.kind, packet.payload)
        outcome = await harness.run({0: [packet]})
        check_delivery(reference({0: [packet]}, config.nodes), outcome.delivered,
                       outcome.dropped)
        sent = outcome.inject_cycles[0][0]
        measured = (outcome.header_cycles[destination][0] - sent,
                    outcome.tail_cycles[destination][0] - sent)
        distance = hop_count(config.dims, 0, destination)
        expected = (model.header(distance), model.tail(distance, PROBE_LENGTH))
        if measured != expected:
            problems.append(f"0 -> {destination} ({distance} hops): header/tail latency "
                            f"{measured}, model {expected}")
        hops.append(distance)
        headers.append(measured[0])
    assert not problems, "Zero-load latency differs from the model:\n" + "\n".join(problems)
    per_hop, fixed = np.polyfit(hops, headers, 1)
    record(config, "zero_load_latency", per_hop_cycles=round(float(per_hop), 3),
           fixed_cycles=round(float(fixed), 3), model_per_hop_cycles=model.per_hop,
           model_fixed_cycles=model.fixed, hops=hops, header_latency_cycles=headers,
           payload_flits=PROBE_LENGTH)
    dut._log.info("zero-load latency: %.2f cycles per hop + %.2f (model %d + %d)",
                  per_hop, fixed, model.per_hop, model.fixed)


async def run_pattern(dut, pattern, invalid_rate=0.0):
    """Random packets of ``pattern`` from every node, with idle cycles and backpressure."""
    config, rng, harness = await start(dut, pattern)
    # All-to-all: whole rounds of one packet to every other node, at least PACKETS_PER_NODE.
    rounds = -(-PACKETS_PER_NODE // (config.nodes - 1))
    packets = rounds * (config.nodes - 1) if pattern == "all_to_all" else PACKETS_PER_NODE
    lengths = (LENGTHS[0], min(LENGTHS[1], (1 << config.length_width) - 1))
    injected = traffic(pattern, config.dims, rng, packets=packets, lengths=lengths,
                       flit_width=config.flit_width, invalid_rate=invalid_rate,
                       address_count=1 << config.address_width)
    outcome = await harness.run(injected, rng)
    assert not outcome.stalled, f"{pattern}: no flit left the fabric for {STALL_CYCLES} cycles"
    ref = reference(injected, config.nodes)
    check_delivery(ref, outcome.delivered, outcome.dropped)
    delivered = sum(map(len, outcome.delivered.values()))
    dropped = sum(ref.dropped.values())
    record(config, pattern, packets_delivered=delivered, packets_dropped=dropped,
           cycles=outcome.cycles, stall_probability=STALL_PROBABILITY)
    dut._log.info("%s: %d packets delivered intact and in order, %d dropped, %d cycles",
                  pattern, delivered, dropped, outcome.cycles)


@cocotb.test()
async def uniform(dut):
    """Uniform random destinations, some of them addresses that name no node."""
    await run_pattern(dut, "uniform", INVALID_RATE)


@cocotb.test()
async def transpose(dut):
    """Transpose permutation (mirror image on a ring)."""
    await run_pattern(dut, "transpose")


@cocotb.test()
async def hotspot(dut):
    """Half of all packets to node 0."""
    await run_pattern(dut, "hotspot")


@cocotb.test()
async def all_to_all(dut):
    """Every node sends one packet to every other node."""
    await run_pattern(dut, "all_to_all")


@cocotb.test()
async def saturation(dut):
    """Every node sends long packets half way round the ring, back to back, ideal streams.

    The naive fabric must stall (deadlock on the wrap-around links); the dateline fabric must
    deliver everything. Link throughput: every packet goes the + way round each dimension (ties
    go +), so the + links, ``nodes`` per dimension, carry all the flit-hops, equally by
    symmetry; their capacity is one flit per link per cycle.
    """
    config, rng, harness = await start(dut, "saturation")
    injected = traffic("furthest", config.dims, rng, packets=SATURATION_PACKETS,
                       lengths=(SATURATION_LENGTH,) * 2, flit_width=config.flit_width)
    outcome = await harness.run(injected)
    ref = reference(injected, config.nodes)
    check_delivery(ref, outcome.delivered, outcome.dropped, complete=not outcome.stalled)
    delivered = sum(map(len, outcome.delivered.values()))
    total = sum(map(len, injected.values()))
    if config.routing == "naive":
        assert outcome.stalled, f"The naive fabric delivered all {total} packets; expected a " \
                                f"deadlock on the wrap-around links"
        record(config, "saturation", stalled=True, packets_delivered=delivered,
               packets_sent=total, last_delivery_cycle=outcome.cycles)
        dut._log.info("saturation (naive): deadlocked after %d of %d packets, cycle %d",
                      delivered, total, outcome.cycles)
        return
    assert not outcome.stalled, f"Stalled after {delivered} of {total} packets"
    start_cycle = min(cycles[0] for cycles in outcome.inject_cycles.values())
    flit_hops = sum((1 + len(packet.payload)) * hop_count(config.dims, packet.source, node)
                    for node, packets in outcome.delivered.items() for packet in packets)
    window = outcome.cycles - start_cycle + 1
    links = config.nodes * len(config.dims)
    efficiency = flit_hops / (window * links)
    record(config, "saturation", stalled=False, packets_delivered=delivered,
           packets_sent=total, cycles=window, flit_hops=flit_hops, links=links,
           link_throughput_flits_per_cycle=round(efficiency, 4), link_capacity_flits_per_cycle=1,
           link_efficiency=round(efficiency, 4))
    dut._log.info("saturation: %d packets delivered in %d cycles; + links carried %.3f "
                  "flits/cycle each (capacity 1)", delivered, window, efficiency)
