"""Collectives on a torus, dimension by dimension: parameters, bad input, the reference's order
of additions and the cycle estimate (the RTL runs in tb/test_allreduce_sim.py)."""

import numpy as np
import pytest

from hdl.emit import main as emit_main
from hdl.fabric.torus_collective import TorusCollectiveNode
from sim_models.allreduce import add_elements, collective_reference, wrap_int32
from sim_models.config import AllReduceConfig, FabricConfig
from sim_models.floats import encode_fp32
from sim_models.torus_collective import (TorusCollectiveEstimate, chunk_of_node, estimate_of,
                                         reference_of, torus_collective_reference,
                                         torus_phases)

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
])
def test_emit_refuses_in_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        emit_main(["allreduce", *argv])
    assert stop.value.code == 2
    assert capsys.readouterr().err == message + "\n"


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
    ((8, 12), r"a multiple of the 8 nodes as its length, not 12")])
def test_reference_refuses_bad_inputs(shape, message):
    with pytest.raises(ValueError, match=rf"^Parameter 'inputs' must have {message}$"):
        torus_collective_reference(np.zeros(shape, dtype=np.int64), (2, 2, 2))


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
