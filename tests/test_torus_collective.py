"""Collectives on a torus, dimension by dimension: parameters, bad input, the reference's order
of additions and the cycle estimate (the RTL runs in tb/test_allreduce_sim.py)."""

import numpy as np
import pytest

from hdl.emit import main as emit_main
from hdl.fabric.allreduce import AllReduceInterface
from hdl.fabric.torus_collective import TorusCollectiveNode
from sim_models.allreduce import add_elements, collective_reference, ring_allreduce, wrap_int32
from sim_models.config import AllReduceConfig, FabricConfig, config_from_dict, config_to_dict
from sim_models.floats import encode_fp32
from sim_models.torus_collective import (TorusCollectiveEstimate, chunk_of_node, estimate_of,
                                         reference_of, torus_collective_reference,
                                         torus_phases)
from sim_models.torus_schedule import lane_schedule

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


def test_phases_reduce_scatter_x_y_z_then_gather_back():
    config = AllReduceConfig(FabricConfig.torus(2, 3, 2), 24, "bf16")
    assert [(dim, phase.ring.nodes, phase.vector_length, phase.collective)
            for dim, phase in config.phases] == [
        (0, 2, 24, "reducescatter"), (1, 3, 12, "reducescatter"), (2, 2, 4, "reducescatter"),
        (2, 2, 4, "allgather"), (1, 3, 12, "allgather"), (0, 2, 24, "allgather")]
    assert config.torus and config.steps == 2 * (1 + 2 + 1)
    assert config.name == "torus2x3x2_v24_bf16"
    assert [phase.collective for _, phase in
            AllReduceConfig(FabricConfig.torus(2, 2), 8, collective="allgather").phases] == \
        ["allgather"] * 2
    assert AllReduceConfig(FabricConfig.ring(4), 8).phases == ()


def test_phase_rings_keep_the_torus_packets():
    torus = FabricConfig.torus(2, 2, 2, flit_width=48, length_width=6, buffer_depth=2,
                               flit_intervals=(1, 1, 2))
    for _, phase in AllReduceConfig(torus, 16, "bf16").phases:
        assert (phase.ring.flit_width, phase.ring.length_width, phase.ring.buffer_depth) == \
            (48, 6, 2)


@pytest.mark.parametrize("length", [12, 20, 1])
def test_vector_length_must_split_over_every_node(length):
    with pytest.raises(ValueError, match=rf"^Parameter 'vector_length' must be a multiple of "
                                         rf"the 8 nodes of the 2 x 2 x 2 torus \(every "
                                         rf"dimension's ring splits its vector into equal "
                                         rf"chunks\), not {length}$"):
        AllReduceConfig(FabricConfig.torus(2, 2, 2), length, "fp32")


def test_vector_length_must_fit_the_x_rings_packets():
    # 2 elements per 32-bit flit, 15 flits per packet, chunks of length / 3 on the X rings.
    AllReduceConfig(FabricConfig.torus(3, 2), 90, "bf16")
    with pytest.raises(ValueError, match=r"^Parameter 'vector_length' must be at most 90 on "
                                         r"the 3 x 2 torus of 32-bit flits and 15-flit "
                                         r"packets \(a chunk of the X rings fits one packet\), "
                                         r"not 96$"):
        AllReduceConfig(FabricConfig.torus(3, 2), 96, "bf16")


@pytest.mark.parametrize("sides, name, value", [((2, 1, 2), "y", 1), ((1, 4), "x", 1),
                                                ((2, 2, 0), "z", 0)])
def test_torus_dimension_of_one_node_refused(sides, name, value):
    with pytest.raises(TypeError, match=rf"^Parameter '{name}' must be an integer in 2..16, "
                                        rf"not {value}$"):
        FabricConfig.torus(*sides)


@pytest.mark.parametrize("argv, message", [
    (["--torus", "2", "1", "2", "--vector-length", "16"],
     "error: Parameter 'y' must be an integer in 2..16, not 1"),
    (["--torus", "2", "2", "2", "--vector-length", "12"],
     "error: Parameter 'vector_length' must be a multiple of the 8 nodes of the 2 x 2 x 2 "
     "torus (every dimension's ring splits its vector into equal chunks), not 12"),
    (["--nodes", "4", "--flit-intervals", "1", "2", "--vector-length", "8"],
     "error: Parameter 'flit_intervals' needs --torus, not --nodes or --switch (given 1 2)"),
    (["--nodes", "4", "--vector-length", "8", "--bidirectional"],
     "error: Parameter 'bidirectional' must be False on a ring (two rings per dimension run "
     "on a torus only), not True"),
    (["--torus", "2", "2", "--vector-length", "12", "--bidirectional"],
     "error: Parameter 'vector_length' must be a multiple of twice the 4 nodes of the 2 x 2 "
     "torus (two rings per dimension, each over half of every chunk), not 12"),
])
def test_emit_refuses_in_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        emit_main(["allreduce", *argv])
    assert stop.value.code == 2
    assert capsys.readouterr().err == message + "\n"


def _random_fp32(seed, shape, spread=20):
    """FP32 bit patterns of either sign spread over 2**+-``spread``: sums that round."""
    rng = np.random.default_rng(seed)
    values = (1 + rng.random(shape)) * 2.0 ** rng.integers(-spread, spread, shape)
    values *= rng.choice([-1.0, 1.0], shape)
    return encode_fp32(values.astype(np.float32).astype(np.float64)).astype(np.int64)


def test_bidirectional_lanes_run_both_ways_over_half_the_vector():
    config = AllReduceConfig(FabricConfig.torus(2, 3), 24, "bf16", bidirectional=True)
    assert [(phase, dim, direction, lane.ring.nodes, lane.vector_length, lane.collective)
            for phase, dim, direction, lane in config.lanes] == [
        (0, 0, 1, 2, 12, "reducescatter"), (0, 0, -1, 2, 12, "reducescatter"),
        (1, 1, 1, 3, 6, "reducescatter"), (1, 1, -1, 3, 6, "reducescatter"),
        (2, 1, 1, 3, 6, "allgather"), (2, 1, -1, 3, 6, "allgather"),
        (3, 0, 1, 2, 12, "allgather"), (3, 0, -1, 2, 12, "allgather")]
    assert config.name == "torus2x3_v24_bf16_bd" and config.directions == (1, -1)
    assert config.steps == 2 * 2 * (1 + 2)
    assert config_from_dict(config_to_dict(config)) == config
    one_way = AllReduceConfig(FabricConfig.torus(2, 3), 24, "bf16")
    assert "bidirectional" not in config_to_dict(one_way)
    assert [(dim, direction) for _, dim, direction, _ in one_way.lanes] == \
        [(0, 1), (1, 1), (1, 1), (0, 1)]


def test_bidirectional_doubles_the_longest_vector():
    # 2 elements per 32-bit flit, 15 flits per packet: each way's X chunk is length / 6.
    AllReduceConfig(FabricConfig.torus(3, 2), 180, "bf16", bidirectional=True)
    with pytest.raises(ValueError, match=r"^Parameter 'vector_length' must be at most 180 on "
                                         r"the 3 x 2 torus"):
        AllReduceConfig(FabricConfig.torus(3, 2), 192, "bf16", bidirectional=True)


@pytest.mark.parametrize("fabric, kind", [(FabricConfig.ring(4), "ring"),
                                          (FabricConfig.switch(2, 2), "switched fabric")])
def test_bidirectional_needs_a_torus(fabric, kind):
    with pytest.raises(ValueError, match=rf"^Parameter 'bidirectional' must be False on a "
                                         rf"{kind} \(two rings per dimension run on a torus "
                                         rf"only\), not True$"):
        AllReduceConfig(fabric, 8, bidirectional=True)


def test_bidirectional_must_be_a_bool():
    with pytest.raises(TypeError, match=r"^Parameter 'bidirectional' must be True or False, "
                                        r"not 1$"):
        AllReduceConfig(FabricConfig.torus(2, 2), 8, bidirectional=1)


@pytest.mark.parametrize("direction, length, message", [
    (0, 8, r"^Parameter 'direction' must be 1 or -1, not 0$"),
    (-1, 10, r"^Parameter 'direction' must be 1 for 10 elements on 4 nodes \(the - way needs "
             r"equal chunks\), not -1$")])
def test_interface_direction_refused(direction, length, message):
    with pytest.raises(ValueError, match=message):
        AllReduceInterface(AllReduceConfig(FabricConfig.ring(4), length), direction)


def test_reverse_ring_sums_each_chunk_downwards():
    """Ring of 3, FP32: the + way sums chunk 0 as x0, x1, x2 (all-reduce) and from x1
    (reduce-scatter); the - way as x0, x2, x1 and from x2."""
    bits = _random_fp32(11, (3, 3))
    x = lambda node: bits[node, 0]  # noqa: E731 (chunk 0 is element 0)
    add = lambda stored, incoming: add_elements("fp32", stored, incoming)  # noqa: E731
    assert collective_reference(bits, "fp32", "allreduce", -1)[0, 0] == \
        add(x(1), add(x(2), x(0)))
    assert collective_reference(bits, "fp32", "reducescatter", -1)[0, 0] == \
        add(x(0), add(x(1), x(2)))
    assert collective_reference(bits, "fp32", "allreduce", 1)[0, 0] == \
        add(x(2), add(x(1), x(0)))


@pytest.mark.parametrize("nodes", [2, 3, 5])
@pytest.mark.parametrize("collective", ["allreduce", "reducescatter", "allgather"])
def test_reverse_ring_schedule_gives_the_reference(nodes, collective):
    bits = _random_fp32(nodes, (nodes, 2 * nodes if collective != "allgather" else 2))
    np.testing.assert_array_equal(ring_allreduce(bits, "fp32", collective, -1),
                                  collective_reference(bits, "fp32", collective, -1))


def test_bidirectional_torus_sums_the_second_half_the_other_way():
    """4 x 2 torus, 16 FP32 elements. Element 2 is in the second half of X chunk 0, so the X
    rings reduce it the - way (from x = 3 down: x3, x2, x1, x0); within X chunk 0 it starts Y
    chunk 1, the first half of it, so the Y ring of 2 adds it the + way (from y = 0). (On
    rings of 2 or 3 the two ways add the same pairs: a reduce-scatter's first addition takes
    both neighbours of the chunk's node.)"""
    bits = _random_fp32(13, (8, 16), spread=2)
    add = lambda stored, incoming: add_elements("fp32", stored, incoming)  # noqa: E731

    def x_sum(y):
        node = 4 * y
        return add(bits[node, 2], add(bits[node + 1, 2], add(bits[node + 2, 2],
                                                             bits[node + 3, 2])))

    result = torus_collective_reference(bits, (4, 2), "fp32", bidirectional=True)
    assert (result[:, 2] == add(x_sum(1), x_sum(0))).all()
    one_way = torus_collective_reference(bits, (4, 2), "fp32")
    assert (result != one_way).any()


@pytest.mark.parametrize("element", ["int32", "fp32"])
def test_bidirectional_reduce_scatter_leaves_each_node_its_chunk(element):
    dims = (3, 2, 2)
    bits = _random_fp32(17, (12, 48)) if element == "fp32" else \
        np.random.default_rng(17).integers(-2 ** 31, 2 ** 31, (12, 48))
    scattered = torus_collective_reference(bits, dims, element, "reducescatter", True)
    whole = torus_collective_reference(bits, dims, element, bidirectional=True)
    for node in range(12):
        chunk = chunk_of_node(dims, node)
        np.testing.assert_array_equal(scattered[node], whole[node, 4 * chunk:4 * chunk + 4])
    np.testing.assert_array_equal(
        torus_collective_reference(scattered, dims, element, "allgather", True), whole)
    if element == "int32":
        np.testing.assert_array_equal(whole[0], wrap_int32(bits.sum(axis=0)))


def test_torus_refuses_cut_through():
    with pytest.raises(ValueError, match=r"^Parameter 'forwarding' must be 'store' on a torus "
                                         r"\(the dimension-by-dimension collective stores and "
                                         r"forwards\), not 'cut-through'$"):
        AllReduceConfig(FabricConfig.torus(2, 2), 8, forwarding="cut-through")


def test_node_needs_a_torus():
    with pytest.raises(ValueError, match=r"^Parameter 'config' must be an AllReduceConfig on "
                                         r"a torus, not AllReduceConfig\("):
        TorusCollectiveNode(AllReduceConfig(FabricConfig.ring(4), 8))


def test_phases_refuse_unknown_collective():
    with pytest.raises(ValueError, match=r"^Parameter 'collective' must be one of allreduce, "
                                         r"reducescatter, allgather, not 'broadcast'$"):
        torus_phases(3, "broadcast")


@pytest.mark.parametrize("shape, message", [
    ((7, 16), r"one row per node, 8, not shape \(7, 16\)"),
    ((8, 12), r"a multiple of 8 as its length \(8 nodes, allreduce\), not 12")])
def test_reference_refuses_bad_inputs(shape, message):
    with pytest.raises(ValueError, match=rf"^Parameter 'inputs' must have {message}$"):
        torus_collective_reference(np.zeros(shape, dtype=np.int64), (2, 2, 2))


def test_bidirectional_reference_refuses_odd_halves():
    with pytest.raises(ValueError, match=r"^Parameter 'inputs' must have a multiple of 2 as "
                                         r"its length \(bidirectional, 8 nodes, allgather\), "
                                         r"not 3$"):
        torus_collective_reference(np.zeros((8, 3), dtype=np.int64), (2, 2, 2),
                                   collective="allgather", bidirectional=True)


def test_int32_all_reduce_is_the_wrapped_sum():
    rng = np.random.default_rng(3)
    vectors = rng.integers(-2 ** 31, 2 ** 31, (12, 24))
    result = torus_collective_reference(vectors, (2, 3, 2))
    np.testing.assert_array_equal(result, np.broadcast_to(wrap_int32(vectors.sum(axis=0)),
                                                          (12, 24)))


def test_float_order_is_x_rings_then_y_then_z():
    """Element 0 of a 2 x 3 x 2 torus: X chunk 0 (X ring of 2: order x = 1, 0), Y chunk 0
    (Y ring of 3 from y = 1: 1, 2, 0), Z chunk 0 (from z = 1: 1, 0), each addition rounded."""
    rng = np.random.default_rng(5)
    values = (1 + rng.random((12, 24))) * 2.0 ** rng.integers(-20, 20, (12, 24))
    values *= rng.choice([-1.0, 1.0], values.shape)
    bits = encode_fp32(values.astype(np.float32).astype(np.float64)).astype(np.int64)
    node = lambda x, y, z: x + 2 * y + 6 * z  # noqa: E731

    def x_sum(y, z):
        return add_elements("fp32", bits[node(0, y, z), 0], bits[node(1, y, z), 0])

    def y_sum(z):
        total = x_sum(1, z)
        for y in (2, 0):
            total = add_elements("fp32", x_sum(y, z), total)
        return total

    expected = add_elements("fp32", y_sum(0), y_sum(1))
    result = torus_collective_reference(bits, (2, 3, 2), "fp32")
    assert (result[:, 0] == expected).all()
    # Not the ring's order: the float sums of this data differ somewhere.
    ring = collective_reference(bits, "fp32")
    assert (ring != result).any()


@pytest.mark.parametrize("element", ["fp32", "bf16"])
def test_reduce_scatter_then_all_gather_is_the_all_reduce(element):
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 1 << 31, (12, 36)) >> (16 if element == "bf16" else 0)
    bits &= ~(0x7F800000 >> (16 if element == "bf16" else 0))  # finite values only
    dims = (3, 2, 2)
    scattered = torus_collective_reference(bits, dims, element, "reducescatter")
    whole = torus_collective_reference(bits, dims, element)
    for node in range(12):
        chunk = chunk_of_node(dims, node)
        np.testing.assert_array_equal(scattered[node], whole[node, 3 * chunk:3 * chunk + 3])
    np.testing.assert_array_equal(
        torus_collective_reference(scattered, dims, element, "allgather"), whole)


def test_chunk_of_node_puts_x_first():
    # Node (x, y, z) = (1, 0, 1) of 2 x 3 x 2: chunk (1 * 3 + 0) * 2 + 1 = 7.
    assert chunk_of_node((2, 3, 2), 1 + 6) == 7
    assert sorted(chunk_of_node((2, 3, 2), node) for node in range(12)) == list(range(12))


def test_reference_of_dispatches_on_the_fabric():
    vectors = np.arange(16).reshape(4, 4) * 1000
    ring = AllReduceConfig(FabricConfig.ring(4), 4)
    torus = AllReduceConfig(FabricConfig.torus(2, 2), 4)
    np.testing.assert_array_equal(reference_of(ring, vectors),
                                  collective_reference(vectors, "int32"))
    np.testing.assert_array_equal(reference_of(torus, vectors),
                                  torus_collective_reference(vectors, (2, 2)))


#: Cycles measured on the RTL with ideal streams (first input to last output handshake): the
#: first three in Amaranth's simulator with the router elaborated in place of its Verilog
#: leaf, the rest by tb/test_allreduce_sim.py's ideal_cycles test on Icarus (the regression's
#: cases and make characterize-fabric's tori).
MEASURED = [
    (AllReduceConfig(FabricConfig.torus(2, 2), 8), 85),
    (AllReduceConfig(FabricConfig.torus(2, 2, 2), 16), 157),
    (AllReduceConfig(FabricConfig.torus(2, 3, 2), 24), 207),
    (AllReduceConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2)), 16, "fp32"), 161),
    (AllReduceConfig(FabricConfig.torus(3, 2, 2, flit_width=16), 24, "bf16"), 199),
    (AllReduceConfig(FabricConfig.torus(2, 3, buffer_depth=2), 12, "int32", "reducescatter"),
     63),
    (AllReduceConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2), length_width=8),
                     256, "bf16"), 1255),
    (AllReduceConfig(FabricConfig.torus(3, 3, 3, flit_intervals=(1, 1, 2), length_width=8),
                     108, "bf16"), 529),
    # Bidirectional, Icarus (2026-12-07): the lanes' schedule.
    (AllReduceConfig(FabricConfig.torus(2, 2), 8, bidirectional=True), 76),
    (AllReduceConfig(FabricConfig.torus(2, 2), 16, bidirectional=True), 102),
    (AllReduceConfig(FabricConfig.torus(3, 3), 18, bidirectional=True), 128),
    (AllReduceConfig(FabricConfig.torus(3, 3), 36, bidirectional=True), 208),
    (AllReduceConfig(FabricConfig.torus(4, 4), 32, bidirectional=True), 196),
    (AllReduceConfig(FabricConfig.torus(3, 3), 36, "int32", "reducescatter",
                     bidirectional=True), 106),
    (AllReduceConfig(FabricConfig.torus(4, 4), 64, "int32", "allgather", bidirectional=True),
     167),
    (AllReduceConfig(FabricConfig.torus(3, 2, 2), 24, bidirectional=True), 170),
    (AllReduceConfig(FabricConfig.torus(3, 2, 2, flit_intervals=(1, 1, 2)), 24,
                     bidirectional=True), 175),
    (AllReduceConfig(FabricConfig.torus(3, 2, 2, flit_intervals=(1, 1, 2)), 24, "fp32",
                     bidirectional=True), 175),
    (AllReduceConfig(FabricConfig.torus(3, 2, 2, flit_intervals=(1, 1, 2)), 48, "fp32",
                     bidirectional=True), 288),
    (AllReduceConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2)), 16, "fp32",
                     bidirectional=True), 139),
    (AllReduceConfig(FabricConfig.torus(4, 2), 32, "fp32", bidirectional=True), 174),
    (AllReduceConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2)), 32, "fp32",
                     "reducescatter", bidirectional=True), 108),
    (AllReduceConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2)), 32, "bf16",
                     "allgather", bidirectional=True), 93),
    (AllReduceConfig(FabricConfig.torus(4, 4, length_width=8), 256, "bf16", bidirectional=True),
     846),
    # Long packets on a slow last dimension: the all-gather's first packets queue behind the
    # reduce-scatter's last flits on the same link (the schedule keeps every link's flits
    # across phases; counting each phase's links afresh was 2 cycles short here).
    (AllReduceConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2), length_width=8), 256,
                     "bf16", bidirectional=True), 912),
    (AllReduceConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2), length_width=8), 96,
                     "bf16", bidirectional=True), 392),
    (AllReduceConfig(FabricConfig.torus(2, 2, flit_intervals=(1, 2), length_width=8), 256,
                     "bf16", bidirectional=True), 824),
    (AllReduceConfig(FabricConfig.torus(2, 2, 2, length_width=8), 256, "bf16",
                     bidirectional=True), 887),
    (AllReduceConfig(FabricConfig.torus(3, 3, 3, flit_intervals=(1, 1, 2), length_width=8), 108,
                     "bf16", bidirectional=True), 446),
    (AllReduceConfig(FabricConfig.torus(4, 4, 4, flit_intervals=(1, 1, 2), length_width=8), 512,
                     "bf16", bidirectional=True), 1695),
]


@pytest.mark.parametrize("config, cycles", MEASURED, ids=[c.name for c, _ in MEASURED])
def test_estimate_matches_measurements(config, cycles):
    assert estimate_of(config).cycles() == cycles


def test_estimate_terms():
    estimate = TorusCollectiveEstimate((2, 3, 2), 24)
    assert estimate.rendezvous() == 1 + 4 + 1
    assert estimate.inputs == estimate.outputs == 24
    # Each phase: rendezvous, the ring's network, 3 cycles to the first result, its outputs.
    for (dim, collective, cycles), (_, ring) in zip(estimate.phase_cycles(),
                                                   estimate.phases()):
        assert cycles == 6 + ring.network() + 2 + ring.outputs - 1
    assert estimate.cycles() == 23 + sum(cycles for _, _, cycles in estimate.phase_cycles())
    half_z = TorusCollectiveEstimate((2, 3, 2), 24, intervals=(1, 1, 2))
    assert half_z.cycles() > estimate.cycles()
    scatter = TorusCollectiveEstimate((2, 3, 2), 24, collective="reducescatter")
    assert scatter.outputs == 2 and scatter.inputs == 24
    gather = TorusCollectiveEstimate((2, 3, 2), 24, collective="allgather")
    assert gather.inputs == 2 and gather.outputs == 24


#: Tori, link intervals, buffer depths, flits and collectives the one-way estimate's closed
#: form and the lanes' schedule must agree on.
AGREEMENT = [(dims, intervals, depth, width, element, collective)
             for dims, intervals in [((2, 3), (1, 1)), ((4, 4), (2, 1)), ((3, 2, 2), (1, 1, 2)),
                                     ((4, 4, 4), (1, 1, 2))]
             for depth in (2, 4) for width, element in ((32, "int32"), (32, "bf16"))
             for collective in ("allreduce", "reducescatter", "allgather")]


@pytest.mark.parametrize("dims, intervals, depth, width, element, collective", AGREEMENT)
def test_lane_schedule_of_one_way_is_the_closed_form(dims, intervals, depth, width, element,
                                                     collective):
    nodes = int(np.prod(dims))
    for multiple in (1, 2):
        config = AllReduceConfig(FabricConfig.torus(*dims, buffer_depth=depth, flit_width=width,
                                                    flit_intervals=intervals, length_width=6),
                                 nodes * multiple, element, collective)
        estimate = estimate_of(config)
        assert lane_schedule(estimate.lanes(), estimate.inputs, estimate.latency) == \
            estimate.cycles()


def test_bidirectional_estimate_terms():
    one_way = TorusCollectiveEstimate((4, 4, 4), 128, 2, intervals=(1, 1, 2))
    both = TorusCollectiveEstimate((4, 4, 4), 128, 2, intervals=(1, 1, 2), bidirectional=True)
    # Each way's packets carry half a chunk; the node streams the same elements.
    assert both.chunk_flits == 8 and one_way.chunk_flits == 16
    # The node's own streams; one way, every phase's hand-over too.
    assert both.local_cycles == 128 + 1 + 128
    assert one_way.local_cycles == 128 + 1 + 32 + 8 + 2 + 8 + 32 + 128
    assert [len(lanes) for lanes, _, _ in both.lanes()] == [2] * 6
    assert both.cycles() < one_way.cycles()
