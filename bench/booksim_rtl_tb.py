"""cocotb module: the RTL fabric under BookSim-style open-loop uniform random traffic.

The counterpart, on the RTL, of a BookSim2 latency-mode run (``bench/booksim_compare.py``):
every node has an unbounded source queue; each cycle each node creates a packet with
probability ``rate / packet_flits`` (Bernoulli process, ``rate`` in flits per node per cycle),
its destination uniform over all nodes, itself included, as BookSim's ``uniform`` pattern
draws it. The inject stream takes one flit per cycle from the head of the queue; every eject
stream is always ready. After ``warmup`` cycles, packets created during ``measure`` cycles are
the measured ones; the run goes on (still injecting) until every measured packet has arrived,
or ``drain`` more cycles have passed. A run is past saturation (``stable`` false, no latency
reported) if measured packets are still out then, or if the window accepted less than
:data:`SATURATED_FRACTION` of the flits it created.

Every delivered packet is checked: it arrives once, intact, at its destination, in order per
(source, destination) pair.

Options of the run request (:class:`tb.run_request.RunRequest`): ``rates`` (list of offered
loads, flits per node per cycle, each in (0, 1]), ``payload_flits`` (payload flits per packet,
after the header), ``warmup``, ``measure``, ``drain`` (cycles). One record per rate, test
``uniform_load``: offered and accepted throughput (flits per node per cycle, over the
measurement window), mean packet latency (creation to tail eject, cycles) and network latency
(header inject handshake to tail eject, cycles) of the measured packets, their mean hop count
(links) and the mean of their zero-load latencies by the analytic model
(:class:`sim_models.fabric.ZeroLoadLatency`).
"""

from collections import deque

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from hdl.fabric.layouts import flit_layout, header_layout
from sim_models.fabric import Packet, ZeroLoadLatency, hop_count, slowest_interval
from tb.fabric_harness import FabricHarness
from tb.records import record_measurements
from tb.run_context import design_config, request, seeded_rng


def _field(layout, name):
    """(offset, mask) of field ``name`` of a struct layout, to take it out of packed bits."""
    field = layout[name]
    return field.offset, (1 << field.width) - 1


def _bits(value, field):
    offset, mask = field
    return (value >> offset) & mask

#: A window whose accepted flits fall below this fraction of those created is past saturation.
SATURATED_FRACTION = 0.95


class _Node:
    """One node's source queue (flits waiting to be injected) and its handles."""
    def __init__(self, dut, node):
        self.inject = [getattr(dut, f"inject__{node}__{name}")
                       for name in ("valid", "ready", "payload")]
        self.eject = [getattr(dut, f"eject__{node}__{name}")
                      for name in ("valid", "ready", "payload")]
        self.queue = deque()  # (packed flit, packet record or None) in sending order
        self.driving = False


async def _run_rate(dut, config, harness, rng, rate, payload_flits, warmup, measure, drain):
    """One open-loop run at offered load ``rate``; returns the record's fields."""
    await harness.reset()
    nodes = [_Node(dut, node) for node in range(config.nodes)]
    for node in nodes:
        node.eject[1].value = 1
    packet_flits = 1 + payload_flits
    flit_mask = (1 << config.flit_width) - 1
    flit_field, last_field = (_field(flit_layout(config), name) for name in ("flit", "last"))
    source_field, destination_field = (_field(header_layout(config), name)
                                       for name in ("source", "destination"))
    in_flight = {}  # (source, destination) -> deque of [Packet, created, injected, measured]
    receiving = [None] * config.nodes  # per node: [record, flits left] of the packet arriving
    window_end = warmup + measure
    created_flits = accepted_flits = 0
    outstanding = 0  # measured packets not yet delivered
    latencies, network_latencies, hops, model_latencies = [], [], [], []
    model = ZeroLoadLatency(buffer_depth=config.buffer_depth)
    cycle = 0
    clock = dut.clk
    while cycle < window_end or (outstanding and cycle < window_end + drain):
        if cycle < window_end:
            arrivals = rng.random(config.nodes) < rate / packet_flits
            for source in map(int, arrivals.nonzero()[0]):
                destination = int(rng.integers(0, config.nodes))
                payload = tuple(int(value) for value in
                                rng.integers(0, flit_mask, payload_flits, endpoint=True))
                packet = Packet(source, destination, 0, payload)
                measured = cycle >= warmup
                record = [packet, cycle, None, measured]
                if measured:
                    distance = hop_count(config.dims, source, destination)
                    hops.append(distance)
                    model_latencies.append(model.tail(
                        distance, payload_flits,
                        slowest_interval(config.topology, source, destination)))
                in_flight.setdefault((source, destination), deque()).append(record)
                flits = harness.flits(packet)
                nodes[source].queue.append((flits[0], record))
                nodes[source].queue.extend((flit, None) for flit in flits[1:])
                if measured:
                    created_flits += packet_flits
                    outstanding += 1
        for node in nodes:
            if node.queue:
                node.inject[2].value = node.queue[0][0]
            if bool(node.queue) != node.driving:
                node.driving = bool(node.queue)
                node.inject[0].value = int(node.driving)
        await ReadOnly()
        for index, node in enumerate(nodes):
            if node.driving and node.inject[1].value == 1:
                _, record = node.queue.popleft()
                if record is not None:
                    record[2] = cycle
            if node.eject[0].value != 1:
                continue
            if warmup <= cycle < window_end:
                accepted_flits += 1
            bits = node.eject[2].value.to_unsigned()
            flit, last = _bits(bits, flit_field), _bits(bits, last_field)
            if receiving[index] is None:
                pair = (_bits(flit, source_field), _bits(flit, destination_field))
                assert pair[1] == index and in_flight.get(pair), \
                    f"Node {index} received an unexpected header {flit:#x} at cycle {cycle}"
                record = in_flight[pair].popleft()
                receiving[index] = [record, 0]
            else:
                record = receiving[index][0]
                expected = record[0].payload[receiving[index][1]]
                assert flit == expected, \
                    f"Node {index}: payload flit {receiving[index][1]} of {record[0]} is " \
                    f"{flit:#x}, expected {expected:#x} (cycle {cycle})"
                receiving[index][1] += 1
            is_tail = receiving[index][1] == payload_flits
            assert last == is_tail, \
                f"Node {index}: last flag {last} on flit {receiving[index][1]} of " \
                f"{record[0]} (cycle {cycle})"
            if is_tail:
                receiving[index] = None
                if record[3]:
                    outstanding -= 1
                    latencies.append(cycle - record[1])
                    network_latencies.append(cycle - record[2])
        await RisingEdge(clock)
        cycle += 1
    for node in nodes:
        node.inject[0].value = 0
    # Past saturation: measured packets still out after the drain, or the network accepted
    # clearly less than was offered during the window (the source queues grew).
    stable = outstanding == 0 and accepted_flits >= SATURATED_FRACTION * created_flits
    return {
        "offered_flits_per_node_cycle": round(rate, 4),
        "created_flits_per_node_cycle": round(created_flits / (config.nodes * measure), 4),
        "accepted_flits_per_node_cycle": round(accepted_flits / (config.nodes * measure), 4),
        "stable": stable,
        "measured_packets": len(latencies) + outstanding,
        "packet_latency_cycles": round(sum(latencies) / len(latencies), 2)
        if stable and latencies else None,
        "network_latency_cycles": round(sum(network_latencies) / len(network_latencies), 2)
        if stable and network_latencies else None,
        "hops": round(sum(hops) / len(hops), 3) if hops else None,
        "model_zero_load_latency_cycles":
            round(sum(model_latencies) / len(model_latencies), 2) if model_latencies else None,
        "cycles": cycle,
    }


@cocotb.test()
async def uniform_load(dut):
    """Open-loop uniform random traffic at each offered load of the request's ``rates``."""
    config = design_config()
    options = request().options
    rng = seeded_rng("uniform_load")
    harness = FabricHarness(dut, config)
    for rate in options["rates"]:
        fields = await _run_rate(dut, config, harness, rng, float(rate),
                                 int(options["payload_flits"]), int(options["warmup"]),
                                 int(options["measure"]), int(options["drain"]))
        record_measurements(config, "uniform_load", payload_flits=int(options["payload_flits"]),
                            **fields)
        dut._log.info("uniform load %.3f flits/node/cycle: accepted %.3f, packet latency %s, "
                      "network latency %s%s", rate, fields["accepted_flits_per_node_cycle"],
                      fields["packet_latency_cycles"], fields["network_latency_cycles"],
                      "" if fields["stable"] else " (past saturation)")
