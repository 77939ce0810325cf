"""The router and its round-robin arbiter in Amaranth's simulator: every hop the router takes
is the one the routing relation of ``sim_models.topology`` gives (the relation is written once
and built as gates), and the arbiter grants in round-robin order."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hdl.fabric.arbiter import RoundRobin
from hdl.fabric.layouts import link_layout, position_layout
from hdl.fabric.router import Router
from sim_models.config import FabricConfig
from sim_models.topology import LOCAL, route

# Constructors that raise in other test files leave components Amaranth reports when they
# are collected, possibly during a test here.
pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")

SEED = 20


def _header(config, destination, source):
    """A header flit of a packet without payload."""
    return destination | source << config.address_width


async def _observe(ctx, dut, config):
    """The (port, vc) of the first flit that leaves the router, waiting at most 8 cycles; the
    credit of a link flit is returned at once."""
    for _ in range(8):
        await ctx.tick()
        if ctx.get(dut.eject.valid):
            return LOCAL, 0
        for index, link in enumerate(dut.link_out):
            if ctx.get(link.valid):
                vc = ctx.get(link.payload.vc)
                ctx.set(link.credit, 1 << vc)
                await ctx.tick()
                ctx.set(link.credit, 0)
                return index + 1, vc
    return None


def _run(config, cases):
    """Send each case (node, in_port, in_vc, destination) into a router placed at ``node`` and
    return where each left (None when it was dropped)."""
    dut = Router(config)
    topology, seen = config.topology, []

    async def testbench(ctx):
        ctx.set(dut.eject.ready, 1)
        for node, in_port, in_vc, destination in cases:
            position = dict(zip(topology.axes, topology.coordinates(node)))
            ctx.set(dut.here, position_layout(config).const(position))
            flit = _header(config, destination, node)
            if in_port == LOCAL:
                ctx.set(dut.inject.payload, flit)
                ctx.set(dut.inject.valid, 1)
                await ctx.tick().until(dut.inject.ready)
                ctx.set(dut.inject.valid, 0)
            else:
                link = dut.link_in[in_port - 1]
                ctx.set(link.payload, link_layout(config).const(
                    {"data": {"flit": flit, "last": 1}, "vc": in_vc}))
                ctx.set(link.valid, 1)
                await ctx.tick()
                ctx.set(link.valid, 0)
            dropped = ctx.get(dut.dropped)
            seen.append(await _observe(ctx, dut, config))
            if seen[-1] is None:
                seen[-1] = ("dropped", ctx.get(dut.dropped) - dropped)

    simulator = Simulator(dut)
    simulator.add_clock(1e-6)
    simulator.add_testbench(testbench)
    simulator.run()
    return seen


@pytest.mark.parametrize("config", [FabricConfig.ring(5), FabricConfig.torus(3, 2, 2),
                                    FabricConfig.torus(4, 3, routing="naive")],
                         ids=lambda config: config.name)
def test_router_takes_the_hop_of_the_routing_relation(config):
    """Every node position, input port and virtual channel (a sample of each, seeded), to
    every destination and to one address that names no node."""
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}; reproduce: pytest tests/test_router.py -k {config.name}")
    topology = config.topology
    inputs = [(LOCAL, 0)] + [(port, vc) for port in range(1, topology.ports)
                             for vc in range(config.vcs)]
    cases = []
    for node in rng.permutation(config.nodes)[:4]:
        for destination in range(config.nodes + 1):
            in_port, in_vc = inputs[rng.integers(len(inputs))]
            cases.append((int(node), in_port, in_vc, destination))
    expected = [tuple(hop) if (hop := route(topology, config.relation, *case)) is not None
                else ("dropped", 1) for case in cases]
    assert _run(config, cases) == expected


def _round_robin(count, requests_per_cycle):
    """Grants of a round-robin arbiter: the first requester in cyclic order after the one
    granted last (requester 0 first after reset)."""
    last, grants = count - 1, []
    for requests in requests_per_cycle:
        order = [(last + 1 + offset) % count for offset in range(count)]
        granted = next((i for i in order if requests >> i & 1), None)
        grants.append(0 if granted is None else 1 << granted)
        last = last if granted is None else granted
    return grants


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_arbiter_grants_in_round_robin_order(count):
    rng = np.random.default_rng(SEED + count)
    print(f"seed {SEED + count}; reproduce: pytest tests/test_router.py -k arbiter")
    requests = [int(value) for value in rng.integers(0, 1 << count, 200)]
    requests[50:60] = [(1 << count) - 1] * 10  # everyone asks: each granted in turn
    dut, grants = RoundRobin(count), []

    async def testbench(ctx):
        for value in requests:
            ctx.set(dut.requests, value)
            grants.append(ctx.get(dut.grant))
            await ctx.tick()

    simulator = Simulator(dut)
    simulator.add_clock(1e-6)
    simulator.add_testbench(testbench)
    simulator.run()
    assert grants == _round_robin(count, requests)
    turn = grants[50:50 + count]
    assert sorted(turn) == [1 << i for i in range(count)]
