"""Fabric parameters, routing, the delivery reference and the zero-load latency model."""

import os
import re

import numpy as np
import pytest

from hdl.emit import generate
from hdl.fabric import Fabric
from hdl.fabric.layouts import header_layout, link_layout
from sim_models.config import FabricConfig
from sim_models.topology import LOCAL, Hop, minus_port, plus_port
from sim_models.topology import route as route_relation
from sim_models.fabric import (SEMAPHORE_KIND, WRITE_KIND, Packet, ZeroLoadLatency,
                               check_delivery, check_write_order, hop_count, reference,
                               slowest_interval, traffic, write_semaphore_traffic)


# Error tests build components whose constructors raise; Amaranth reports each such object as
# never elaborated when it is collected, which may be during a later test of this file. Every
# other test here elaborates what it builds.
pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


def route(config, node, in_port, in_vc, destination):
    return route_relation(config.topology, config.relation, node, in_port, in_vc, destination)


@pytest.mark.parametrize("name, value, allowed", [
    ("flit_width", 0, "1..1024"), ("flit_width", -8, "1..1024"), ("flit_width", "32", "1..1024"),
    ("length_width", 0, "1..12"), ("length_width", 13, "1..12"),
    ("buffer_depth", 0, "1..64"), ("buffer_depth", 2.0, "1..64"),
])
def test_option_out_of_range(name, value, allowed):
    with pytest.raises(TypeError, match=rf"^Parameter '{name}' must be an integer in "
                                        rf"{allowed}, not {value!r}$"):
        Fabric(FabricConfig.ring(4, **{name: value}))


@pytest.mark.parametrize("nodes", [0, 1, 65, True, "4"])
def test_ring_nodes(nodes):
    with pytest.raises(TypeError, match=rf"^Parameter 'nodes' must be an integer in 2..64, "
                                        rf"not {nodes!r}$"):
        Fabric(FabricConfig.ring(nodes))


@pytest.mark.parametrize("name, x, y", [("x", 0, 2), ("x", 17, 2), ("y", 2, 1), ("y", 2, None)])
def test_torus_sides(name, x, y):
    value = x if name == "x" else y
    with pytest.raises(TypeError, match=rf"^Parameter '{name}' must be an integer in 2..16, "
                                        rf"not {value!r}$"):
        Fabric(FabricConfig.torus(x, y))


def test_torus_nodes_conflict():
    with pytest.raises(ValueError, match=r"^Parameter 'nodes' must equal x \* y = 6, not 5$"):
        FabricConfig.torus(2, 3, nodes=5)
    with pytest.raises(TypeError, match=r"^Parameter 'nodes' must be an integer in 1..256, "
                                        r"not 0$"):
        FabricConfig.torus(2, 3, nodes=0)
    assert FabricConfig.torus(2, 3, nodes=6).nodes == 6


def test_flit_too_narrow_for_header():
    # 16 nodes: 5-bit addresses; 5 + 5 + 2 + 4 = 16 bits of header.
    with pytest.raises(ValueError, match=r"^Parameter 'flit_width' must be at least 16 to hold "
                                         r"the header of a 16-node fabric, not 15$"):
        FabricConfig.torus(4, 4, flit_width=15)
    assert FabricConfig.torus(4, 4, flit_width=16).header_width == 16


def test_routing_option():
    with pytest.raises(ValueError, match=r"^Parameter 'routing' must be 'dateline' or 'naive', "
                                        r"not 'bubble'$"):
        FabricConfig.ring(4, routing="bubble")


@pytest.mark.parametrize("dims", [(2, 2, 2, 2), (2, 17), (16, 16, 2), [4], (1,), (65,), ()])
def test_dims_of_direct_construction(dims):
    with pytest.raises(TypeError, match=rf"^Parameter 'dims' must be \(nodes,\) with nodes in "
                                        rf"2..64 or 2..3 sides in 2..16 of at most 256 nodes, "
                                        rf"not {re.escape(repr(dims))}$"):
        FabricConfig(dims)
    assert FabricConfig((2, 2, 2)).nodes == 8 and FabricConfig((16, 16)).nodes == 256


@pytest.mark.parametrize("sides, message", [
    ((4,), r"^Parameter 'sides' must be 2..3 sides, not \(4,\)$"),
    ((2, 2, 2, 2), r"^Parameter 'sides' must be 2..3 sides, not \(2, 2, 2, 2\)$"),
    ((2, 2, 17), r"^Parameter 'z' must be an integer in 2..16, not 17$"),
    ((8, 8, 8), r"^Parameter 'sides' must multiply to at most 256 nodes, "
                r"not x \* y \* z = 512$"),
])
def test_torus_sides_of_three_dimensions(sides, message):
    with pytest.raises(TypeError, match=message):
        FabricConfig.torus(*sides)
    with pytest.raises(ValueError, match=r"^Parameter 'nodes' must equal x \* y \* z = 8, "
                                         r"not 9$"):
        FabricConfig.torus(2, 2, 2, nodes=9)
    assert FabricConfig.torus(4, 4, 4).name == "torus4x4x4"


def test_config_type():
    with pytest.raises(TypeError, match=r"^Parameter 'config' must be a FabricConfig, not 4$"):
        Fabric(4)


def test_names_and_layouts():
    assert FabricConfig.ring(5).name == "ring5"
    assert FabricConfig.ring(5, routing="naive").name == "ring5_naive"
    assert FabricConfig.torus(2, 2, buffer_depth=2, flit_width=16).name == "torus2x2_w16_b2"
    config = FabricConfig.ring(8)
    # 8 nodes: 4-bit addresses, so 8..15 name no node.
    assert config.address_width == 4 and config.vcs == 2
    assert [(name, field.offset, field.width) for name, field in header_layout(config)] == [
        ("destination", 0, 4), ("source", 4, 4), ("kind", 8, 2), ("length", 10, 4)]
    assert link_layout(FabricConfig.ring(8, routing="naive")).size == 33


def test_route_dimension_order_and_dateline():
    torus = FabricConfig.torus(4, 4)
    # (1, 1) -> (3, 2): X first; x is 2 away both ways round, and a tie goes +.
    assert route(torus, 5, LOCAL, 0, 11) == Hop(plus_port(0), 0)
    # At (3, 1) going + in X crosses the dateline onto channel 1 and stays there.
    assert route(torus, 7, plus_port(0), 0, 4 * 1 + 1) == Hop(plus_port(0), 1)
    assert route(torus, 4, plus_port(0), 1, 4 * 1 + 1) == Hop(plus_port(0), 1)
    # Turning into Y starts again on channel 0; going - from y = 0 crosses the Y dateline.
    assert route(torus, 1, plus_port(0), 1, 4 * 2 + 1) == Hop(plus_port(1), 0)
    assert route(torus, 1, LOCAL, 0, 4 * 3 + 1) == Hop(minus_port(1), 1)
    assert route(torus, 6, minus_port(1), 0, 6) == Hop(LOCAL, 0)
    assert route(torus, 6, LOCAL, 0, 16) is None
    naive = FabricConfig.ring(4, routing="naive")
    assert route(naive, 3, LOCAL, 0, 1) == Hop(plus_port(0), 0)


def test_generation_is_deterministic():
    config = FabricConfig.torus(2, 3)
    first, second = generate(config), generate(config)
    assert first.verilog == second.verilog
    assert os.getcwd() not in first.verilog and "/work/" not in first.verilog
    assert first.port_map["streams"]["eject__5"]["layout"]["fields"]["last"]["offset"] == 32


def _packet(source, destination, *payload):
    return Packet(source, destination, 0, tuple(payload))


def test_reference_orders_per_pair_and_counts_drops():
    injected = {0: [_packet(0, 1, 5), _packet(0, 7), _packet(0, 1, 6)],
                1: [_packet(1, 1), _packet(1, 0, 9, 9)]}
    ref = reference(injected, 4)
    assert ref.delivered[1] == {0: [_packet(0, 1, 5), _packet(0, 1, 6)], 1: [_packet(1, 1)]}
    assert ref.dropped == {0: 1, 1: 0}
    assert ref.flits(1) == 5 and ref.flits(0) == 3 and ref.flits(3) == 0


@pytest.mark.parametrize("injected, addresses, message", [
    ({0: [_packet(0, 8)]}, 8, "Parameter 'destination' of a packet from node 0 must be a node, "
                              "0..3, or an address that names none, 4..7 (dropped and "
                              "counted), not 8: a fabric of 4 nodes has 8 addresses"),
    ({1: [_packet(1, -1)]}, 8, "Parameter 'destination' of a packet from node 1 must be a node, "
                               "0..3, or an address that names none, 4..7 (dropped and "
                               "counted), not -1: a fabric of 4 nodes has 8 addresses"),
    ({4: [_packet(4, 0)]}, 8, "Parameter 'source' must be a node of the fabric, 0..3, not 4"),
    ({2: [_packet(1, 0)]}, 8, "Parameter 'source' of a packet listed under node 2 must be 2, "
                              "not 1"),
])
def test_a_destination_outside_the_system_is_refused(injected, addresses, message):
    with pytest.raises(ValueError) as error:
        reference(injected, 4, addresses)
    assert str(error.value) == message


def test_write_semaphore_traffic_and_its_order_check():
    rng = np.random.default_rng(3)
    injected = write_semaphore_traffic(5, rng, writes=4, length=3, flit_width=16)
    for source, packets in injected.items():
        assert [p.kind for p in packets] == [WRITE_KIND, SEMAPHORE_KIND] * 4
        assert all(w.destination == s.destination != source and len(w.payload) == 3
                   for w, s in zip(packets[::2], packets[1::2]))
    # In order, each semaphore a cycle after its write's last flit: accepted.
    delivered = {node: [] for node in range(5)}
    for packets in injected.values():
        for packet in packets:
            delivered[packet.destination].append(packet)
    heads = {node: [10 * i for i in range(len(p))] for node, p in delivered.items()}
    tails = {node: [10 * i + 4 for i in range(len(p))] for node, p in delivered.items()}
    check_write_order(injected, delivered, heads, tails)
    # A semaphore ejected before its write's last flit, or before its write: refused.
    node = next(node for node, packets in delivered.items() if packets)
    early = {**heads, node: [heads[node][0], tails[node][0]] + heads[node][2:]}
    with pytest.raises(AssertionError, match=r"^1 of 20 semaphores overtook their write:\n  "
                                             r"\d -> \d: semaphore of write 0 at cycle 4, its "
                                             r"write ended at 4$"):
        check_write_order(injected, delivered, early, tails)
    swapped = {**delivered, node: [delivered[node][1], delivered[node][0]] +
               delivered[node][2:]}
    with pytest.raises(AssertionError, match=r"its write not before it"):
        check_write_order(injected, swapped, heads, tails)


def test_check_delivery_accepts_any_interleaving_of_sources():
    injected = {0: [_packet(0, 2, 1), _packet(0, 2, 2)], 1: [_packet(1, 2, 3)]}
    delivered = {2: [_packet(0, 2, 1), _packet(1, 2, 3), _packet(0, 2, 2)], 0: [], 1: []}
    check_delivery(reference(injected, 3), delivered, {0: 0, 1: 0})


@pytest.mark.parametrize("received, message", [
    ([_packet(0, 2, 2), _packet(0, 2, 1)], r"0 -> 2: packet 0 out of order or lost"),
    ([_packet(0, 2, 1)], r"0 -> 2: 1 of 2 packets missing"),
    ([_packet(0, 2, 1), _packet(0, 2, 2), _packet(0, 2, 2)], r"delivered twice"),
    ([_packet(0, 2, 1), _packet(0, 2, 9)], r"never sent or delivered twice"),
])
def test_check_delivery_reports_problems(received, message):
    injected = {0: [_packet(0, 2, 1), _packet(0, 2, 2)]}
    with pytest.raises(AssertionError, match=message):
        check_delivery(reference(injected, 3), {2: received}, {0: 0})


def test_check_delivery_misdelivery_drops_and_prefix():
    injected = {0: [_packet(0, 1, 4), _packet(0, 1, 5), _packet(0, 9)]}
    ref = reference(injected, 3)
    with pytest.raises(AssertionError, match=r"node 2 received 1 packet\(s\) for other nodes"):
        check_delivery(ref, {1: [_packet(0, 1, 4)], 2: [_packet(0, 1, 5)]}, {0: 1})
    with pytest.raises(AssertionError, match=r"node 0: 0 packets counted as dropped, expected 1"):
        check_delivery(ref, {1: [_packet(0, 1, 4), _packet(0, 1, 5)]}, {0: 0})
    check_delivery(ref, {1: [_packet(0, 1, 4)]}, {}, complete=False)
    with pytest.raises(AssertionError, match=r"out of order"):
        check_delivery(ref, {1: [_packet(0, 1, 5)]}, {}, complete=False)


def test_hop_count():
    assert [hop_count((8,), 0, d) for d in range(8)] == [0, 1, 2, 3, 4, 3, 2, 1]
    assert hop_count((4, 4), 0, 15) == 2 and hop_count((4, 4), 0, 10) == 4
    assert hop_count((2, 3), 1, 4) == 2


@pytest.mark.parametrize("intervals", [(1, 2), (1, 1, 0), (1, 1, 9), [1, 1, 2], (1, 1, True)])
def test_flit_intervals(intervals):
    with pytest.raises(TypeError, match=rf"^Parameter 'flit_intervals' must be empty or 3 "
                                        rf"integers in 1..8, one per dimension, "
                                        rf"not {re.escape(repr(intervals))}$"):
        FabricConfig.torus(4, 4, 4, flit_intervals=intervals)
    half_z = FabricConfig.torus(4, 4, 4, flit_intervals=(1, 1, 2))
    assert half_z.name == "torus4x4x4_i1x1x2"
    assert [half_z.topology.port_interval(port) for port in range(1, 7)] == [1, 1, 1, 1, 2, 2]
    assert FabricConfig.torus(4, 4, flit_intervals=(1, 1)) == FabricConfig.torus(4, 4)


def test_zero_load_latency_with_a_slow_link():
    # Z at half bandwidth: payload flits a cycle apart become two; with two-flit buffers the
    # credit loop (2 flits per 3 cycles) and the interval (1 per 2) alternate in pacing.
    model = ZeroLoadLatency()
    assert model.tail(3, 5, interval=2) == model.header(3) + 10
    # No link between routers: only the chip link (a switch's, paced every 2 cycles) paces.
    assert model.tail(0, 5, interval=2) == model.header(0) + 10
    shallow = ZeroLoadLatency(buffer_depth=1)
    assert shallow.tail(2, 3, interval=2) == shallow.header(2) + 9  # credits: 3 cycles a flit
    torus = FabricConfig.torus(2, 3, 3, flit_intervals=(1, 1, 2)).topology
    assert slowest_interval(torus, 0, 1) == 1 and slowest_interval(torus, 0, 6) == 2
    assert slowest_interval(torus, 0, 0) == 1
    # Gen2's ratios: chip links every 5 cycles pace every path, the links up every 2.
    gen2 = FabricConfig.switch(2, 3, top_switches=2, flit_intervals=(5, 2)).topology
    assert slowest_interval(gen2, 0, 0) == 5 and slowest_interval(gen2, 0, 5) == 5
    assert slowest_interval(FabricConfig.switch(2, 3, flit_intervals=(1, 2)).topology, 0, 5) \
        == 2
    assert slowest_interval(torus, 4, 4) == 1


def test_zero_load_latency_model():
    model = ZeroLoadLatency()
    assert model.header(0) == 2 and model.header(3) == 8
    assert model.tail(3, 5) == 13
    shallow = ZeroLoadLatency(buffer_depth=2)
    # Two flits per three cycles over a link: flit 3 leaves 4 cycles after the header.
    assert shallow.tail(1, 3) == 4 + 4 and shallow.tail(0, 3) == 2 + 3


def test_traffic_patterns():
    rng = np.random.default_rng(0)
    dims = (2, 3)
    transpose = traffic("transpose", dims, rng, packets=2, lengths=(1, 1), flit_width=8)
    # Node 1 = (1, 0) -> index transpose 0 + 3 * 1 = 3.
    assert {p.destination for p in transpose[1]} == {3}
    every = traffic("all_to_all", dims, rng, packets=5, lengths=(0, 2), flit_width=8)
    assert sorted(p.destination for p in every[2]) == [0, 1, 3, 4, 5]
    furthest = traffic("furthest", (5,), rng, packets=1, lengths=(3, 3), flit_width=8)
    assert [furthest[node][0].destination for node in range(5)] == [2, 3, 4, 0, 1]
    assert all(len(furthest[node][0].payload) == 3 for node in range(5))
    invalid = traffic("uniform", (4,), rng, packets=50, lengths=(0, 0), flit_width=70,
                      invalid_rate=1.0, address_count=8)
    assert all(4 <= p.destination < 8 for packets in invalid.values() for p in packets)
    incast = traffic("incast", dims, rng, packets=3, lengths=(0, 0), flit_width=8)
    assert {p.destination for packets in incast.values() for p in packets} == {5}
    with pytest.raises(ValueError, match=r"^Parameter 'pattern' must be one of "):
        traffic("tornado", dims, rng, packets=1, lengths=(0, 0), flit_width=8)
