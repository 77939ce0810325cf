"""cocotb tests of a ring or torus fabric (``hdl.fabric``).

Every packet delivered is checked against the reference (``sim_models.fabric``): each arrives
exactly once, intact, at its destination, in order per (source, destination) pair, framed by
its ``last`` flag; packets for addresses that name no node are counted as dropped. Zero-load
latencies must equal the analytic model exactly. The traffic tests insert random idle cycles
on every inject stream and random backpressure on every eject stream.

Run through ``tb.test_fabric_sim`` (pytest) and :func:`tb.launch.simulate`: the configuration
(a FabricConfig) comes from the design's sidecar, the seed and the results file
(:func:`tb.records.record_measurements`) from the run request.
"""

from collections import Counter

import cocotb
import numpy as np

from sim_models.fabric import (Packet, ZeroLoadLatency, check_delivery, check_write_order,
                               crossed_links, hop_count, reference, slowest_interval, traffic,
                               write_semaphore_traffic)
from sim_models.topology import dependency_cycle

from .fabric_harness import STALL_CYCLES, FabricHarness
from .harness_timing import STALL_PROBABILITY
from .records import record_measurements
from .run_context import design_config, seeded_rng

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
#: Write-and-semaphore test: pairs per node, and payload flits of each write.
WRITES_PER_NODE = 6
WRITE_LENGTH = 8


async def _start(dut, test_name):
    """Configuration, seeded generator and a freshly reset harness for one test."""
    config = design_config()
    rng = seeded_rng(test_name)
    harness = FabricHarness(dut, config)
    await harness.reset()
    return config, rng, harness


@cocotb.test()
async def zero_load_latency(dut):
    """One packet at a time from node 0 to every node: latencies equal the analytic model."""
    config, rng, harness = await _start(dut, "zero_load_latency")
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
        distance = len(crossed_links(config.topology, 0, destination))
        interval = slowest_interval(config.topology, 0, destination)
        expected = (model.header(distance), model.tail(distance, PROBE_LENGTH, interval))
        if measured != expected:
            problems.append(f"0 -> {destination} ({distance} hops): header/tail latency "
                            f"{measured}, model {expected}")
        hops.append(distance)
        headers.append(measured[0])
    assert not problems, "Zero-load latency differs from the model:\n" + "\n".join(problems)
    per_hop, fixed = np.polyfit(hops, headers, 1)
    record_measurements(config, "zero_load_latency", per_hop_cycles=round(float(per_hop), 3),
                        fixed_cycles=round(float(fixed), 3), model_per_hop_cycles=model.per_hop,
                        model_fixed_cycles=model.fixed, hops=hops, header_latency_cycles=headers,
                        payload_flits=PROBE_LENGTH)
    dut._log.info("zero-load latency: %.2f cycles per hop + %.2f (model %d + %d)",
                  per_hop, fixed, model.per_hop, model.fixed)


async def _run_pattern(dut, pattern, invalid_rate=0.0):
    """Random packets of ``pattern`` from every node, with idle cycles and backpressure."""
    config, rng, harness = await _start(dut, pattern)
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
    record_measurements(config, pattern, packets_delivered=delivered, packets_dropped=dropped,
                        cycles=outcome.cycles, stall_probability=STALL_PROBABILITY)
    dut._log.info("%s: %d packets delivered intact and in order, %d dropped, %d cycles",
                  pattern, delivered, dropped, outcome.cycles)


@cocotb.test()
async def uniform(dut):
    """Uniform random destinations, some of them addresses that name no node."""
    await _run_pattern(dut, "uniform", INVALID_RATE)


@cocotb.test()
async def transpose(dut):
    """Transpose permutation (mirror image on a ring)."""
    await _run_pattern(dut, "transpose")


@cocotb.test()
async def hotspot(dut):
    """Half of all packets to node 0."""
    await _run_pattern(dut, "hotspot")


@cocotb.test()
async def incast(dut):
    """Every node sends all its packets to the last node."""
    await _run_pattern(dut, "incast")


@cocotb.test()
async def write_semaphore(dut):
    """Every node sends data writes to random other nodes, each followed by its completion
    semaphore to the same node, back to back (the sources saturate the fabric), while every
    eject stream applies random backpressure: each packet arrives exactly once, intact and in
    order per pair, and no semaphore is ejected before the last flit of its write."""
    config, rng, harness = await _start(dut, "write_semaphore")
    injected = write_semaphore_traffic(config.nodes, rng, writes=WRITES_PER_NODE,
                                       length=min(WRITE_LENGTH, config.max_payload_flits),
                                       flit_width=config.flit_width)
    outcome = await harness.run(injected, rng, inject_gaps=False)
    assert not outcome.stalled, f"write_semaphore: no flit left the fabric for {STALL_CYCLES} " \
                                f"cycles"
    check_delivery(reference(injected, config.nodes), outcome.delivered, outcome.dropped)
    check_write_order(injected, outcome.delivered, outcome.header_cycles, outcome.tail_cycles)
    pairs = config.nodes * WRITES_PER_NODE
    record_measurements(config, "write_semaphore", writes=pairs, cycles=outcome.cycles,
                        backpressure_probability=STALL_PROBABILITY)
    dut._log.info("write_semaphore: %d writes and their semaphores delivered in order, "
                  "%d cycles", pairs, outcome.cycles)


@cocotb.test()
async def all_to_all(dut):
    """Every node sends one packet to every other node."""
    await _run_pattern(dut, "all_to_all")


@cocotb.test()
async def saturation(dut):
    """Every node sends long packets half way round the ring, back to back, ideal streams.

    A fabric whose routing relation has a channel dependency cycle
    (:func:`sim_models.topology.dependency_cycle`: the naive ring) must stall, deadlocked on
    the wrap-around links; one without must deliver everything. Link throughput: every packet
    goes the + way round each dimension (ties go +), so the + links, ``nodes`` per dimension,
    carry all the flit-hops, equally by symmetry; their capacity is one flit per link per
    cycle, 1 / k on the links of a dimension whose flit interval is k.
    """
    config, rng, harness = await _start(dut, "saturation")
    injected = traffic("furthest", config.dims, rng, packets=SATURATION_PACKETS,
                       lengths=(SATURATION_LENGTH,) * 2, flit_width=config.flit_width)
    outcome = await harness.run(injected)
    ref = reference(injected, config.nodes)
    check_delivery(ref, outcome.delivered, outcome.dropped, complete=not outcome.stalled)
    delivered = sum(map(len, outcome.delivered.values()))
    total = sum(map(len, injected.values()))
    if dependency_cycle(config.topology, config.relation) is not None:
        assert outcome.stalled, f"The naive fabric delivered all {total} packets; expected a " \
                                f"deadlock on the wrap-around links"
        record_measurements(config, "saturation", stalled=True, packets_delivered=delivered,
                            packets_sent=total, last_delivery_cycle=outcome.cycles)
        dut._log.info("saturation (naive): deadlocked after %d of %d packets, cycle %d",
                      delivered, total, outcome.cycles)
        return
    assert not outcome.stalled, f"Stalled after {delivered} of {total} packets"
    start_cycle = min(cycles[0] for cycles in outcome.inject_cycles.values())
    if config.switched:
        _record_switch_saturation(dut, config, outcome, outcome.cycles - start_cycle + 1)
        return
    flit_hops = sum((1 + len(packet.payload)) * hop_count(config.dims, packet.source, node)
                    for node, packets in outcome.delivered.items() for packet in packets)
    window = outcome.cycles - start_cycle + 1
    topology = config.topology
    links = config.nodes * topology.dimensions
    # Flits per cycle all the + links can carry: 1 per link, 1 / k on a slow dimension's.
    capacity = config.nodes * sum(1 / topology.interval(dim)
                                  for dim in range(topology.dimensions))
    efficiency = flit_hops / (window * capacity)
    record_measurements(config, "saturation", stalled=False, packets_delivered=delivered,
                        packets_sent=total, cycles=window, flit_hops=flit_hops, links=links,
                        link_throughput_flits_per_cycle=round(flit_hops / (window * links), 4),
                        link_capacity_flits_per_cycle=round(capacity / links, 4),
                        link_efficiency=round(efficiency, 4))
    dut._log.info("saturation: %d packets delivered in %d cycles; + links carried %.3f "
                  "flits/cycle each (capacity %.3f on average): efficiency %.3f", delivered,
                  window, flit_hops / (window * links), capacity / links, efficiency)


def _record_switch_saturation(dut, config, outcome, window):
    """Load of the busiest link between switches of a switched fabric under saturation, and of
    the chip links: "furthest" traffic sends every chip's packets to another server, so each
    server switch's up links carry all its chips' flits and bound the throughput at one flit
    per cycle per link (1 / k on a link of flit interval k) unless the chip links, paced
    slower, bound it first."""
    topology = config.topology
    load = Counter()
    for node, packets in outcome.delivered.items():
        for packet in packets:
            for link in crossed_links(topology, packet.source, node):
                load[link] += 1 + len(packet.payload)
    busiest, flits = load.most_common(1)[0]
    utilization = flits * topology.link_interval(*busiest) / window
    assert utilization <= 1, f"Link {busiest} carried {flits} flits in {window} cycles: more " \
                             f"than its capacity"
    # Every chip sends the same flits: its chip link's share of the window.
    sent = max(sum(1 + len(packet.payload) for packets in outcome.delivered.values()
                   for packet in packets if packet.source == node) for node in range(config.nodes))
    chip_utilization = sent * topology.endpoint_interval / window
    record_measurements(config, "saturation", stalled=False,
                        packets_delivered=sum(map(len, outcome.delivered.values())),
                        cycles=window, busiest_link_flits=flits,
                        busiest_link_utilization=round(utilization, 4),
                        chip_link_utilization=round(chip_utilization, 4))
    dut._log.info("saturation: delivered in %d cycles; the busiest link between switches "
                  "carried %d flits, %.3f of its capacity; each chip link %.3f of its",
                  window, flits, utilization, chip_utilization)
