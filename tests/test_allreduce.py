"""All-reduce interface parameters, emission, the numpy reference and the cycle estimate."""

import numpy as np
import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from hdl.emit import generate
from hdl.fabric.allreduce import AllReduceInterface, AllReduceRing
from hdl.fabric.layouts import header_layout
from sim_models.allreduce import (INT32_MAX, INT32_MIN, AllReduceEstimate, allreduce_reference,
                                  chunk_sizes, collective_reference, ring_allreduce,
                                  wrap_int32)
from sim_models.config import AllReduceConfig, FabricConfig, config_from_dict, config_to_dict
from sim_models.fabric import ZeroLoadLatency
from sim_models.floats import add_bf16, encode_fp32, round_fp32_to_bf16

# Tests of constructors alone build components that are never elaborated (some constructors
# raise); Amaranth reports each such object when it is collected, possibly in a later test.
pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


def allreduce_config(nodes, vector_length, **options):
    """The all-reduce of ``vector_length`` elements on a ring of ``nodes`` with ``options``."""
    return AllReduceConfig(FabricConfig.ring(nodes, **options), vector_length)


@pytest.mark.parametrize("config", [5, "ring3", None])
def test_config_type(config):
    with pytest.raises(TypeError, match=rf"^Parameter 'ring' must be a FabricConfig, "
                                        rf"not {config!r}$"):
        AllReduceConfig(config, 8)


def test_config_on_a_torus_runs_dimension_by_dimension():
    # tests/test_torus_collective.py tests the phases; a ring's and a switch's have none.
    assert AllReduceConfig(FabricConfig.torus(2, 2), 8).torus
    assert not AllReduceConfig(FabricConfig.switch(2, 2), 8).torus


@pytest.mark.parametrize("name, value, allowed", [
    ("collective", "alltoall", "allreduce, reducescatter, allgather"),
    ("forwarding", "wormhole", "store, cut-through")])
def test_collective_and_forwarding_names(name, value, allowed):
    with pytest.raises(ValueError, match=rf"^Parameter '{name}' must be one of {allowed}, "
                                         rf"not '{value}'$"):
        AllReduceConfig(FabricConfig.ring(2), 4, **{name: value})


@pytest.mark.parametrize("collective", ["reducescatter", "allgather"])
def test_partial_collectives_need_equal_chunks(collective):
    AllReduceConfig(FabricConfig.ring(3), 12, collective=collective)
    with pytest.raises(ValueError, match=rf"^Parameter 'vector_length' must be a multiple of "
                                         rf"the 3 nodes for {collective}, not 13$"):
        AllReduceConfig(FabricConfig.ring(3), 13, collective=collective)


def test_collective_names_and_steps():
    switch = AllReduceConfig(FabricConfig.switch(2, 2), 8, "bf16", "reducescatter",
                             "cut-through")
    assert (switch.name, switch.steps) == ("switch2x2_v8_bf16_rs_ct", 3)
    gather = AllReduceConfig(FabricConfig.ring(4), 8, collective="allgather")
    assert (gather.name, gather.steps) == ("ring4_v8_ag", 3)
    assert AllReduceConfig(FabricConfig.ring(4), 8).steps == 6
    # The defaults stay out of the dictionary form: earlier sidecars and digests are unchanged.
    assert "collective" not in config_to_dict(AllReduceConfig(FabricConfig.ring(4), 8))
    assert config_from_dict(config_to_dict(switch)) == switch


@pytest.mark.parametrize("flit_width", [16, 31])
def test_flit_width_too_narrow(flit_width):
    with pytest.raises(ValueError, match=rf"^Parameter 'flit_width' must be at least 32 to "
                                         rf"carry an int32 element, not {flit_width}$"):
        AllReduceRing(allreduce_config(3, 8, flit_width=flit_width))


@pytest.mark.parametrize("element, flit_width, width", [("fp32", 24, "32 to carry an"),
                                                        ("bf16", 12, "16 to carry a")])
def test_flit_width_too_narrow_for_a_float(element, flit_width, width):
    with pytest.raises(ValueError, match=rf"^Parameter 'flit_width' must be at least {width} "
                                         rf"{element} element, not {flit_width}$"):
        AllReduceConfig(FabricConfig.ring(2, flit_width=flit_width), 4, element)


@pytest.mark.parametrize("element", ["fp16", "int8", None, 32])
def test_element_format(element):
    with pytest.raises(ValueError, match=rf"^Parameter 'element' must be one of int32, fp32, "
                                        rf"bf16, not {element!r}$"):
        AllReduceConfig(FabricConfig.ring(2), 4, element)


def test_float_geometry_and_names():
    bf16 = AllReduceConfig(FabricConfig.ring(3, flit_width=48), 17, "bf16")
    assert (bf16.element_width, bf16.elements_per_flit, bf16.chunk_flits) == (16, 3, 2)
    assert bf16.name == "ring3_w48_v17_bf16"
    assert AllReduceConfig(FabricConfig.ring(4), 13, "fp32").name == "ring4_v13_fp32"
    # 15-flit packets of two BF16 elements on a 2-node ring: 60 elements at most.
    AllReduceConfig(FabricConfig.ring(2), 60, "bf16")
    with pytest.raises(ValueError, match=r"must be at most 60 for a 2-node ring"):
        AllReduceConfig(FabricConfig.ring(2), 61, "bf16")


@pytest.mark.parametrize("vector_length", [0, -1, 65537, True, "8", 8.0])
def test_vector_length_range(vector_length):
    with pytest.raises(TypeError, match=rf"^Parameter 'vector_length' must be an integer in "
                                        rf"1..65536, not {vector_length!r}$"):
        AllReduceRing(allreduce_config(3, vector_length))


@pytest.mark.parametrize("nodes, flit_width, length_width, longest", [
    (2, 32, 4, 30), (3, 64, 4, 90), (5, 96, 2, 45)])
def test_vector_length_fits_packets(nodes, flit_width, length_width, longest):
    options = {"flit_width": flit_width, "length_width": length_width}
    AllReduceInterface(allreduce_config(nodes, longest, **options))
    with pytest.raises(ValueError, match=rf"^Parameter 'vector_length' must be at most "
                                         rf"{longest} for a {nodes}-node ring of "
                                         rf"{flit_width}-bit flits and "
                                         rf"{2 ** length_width - 1}-flit packets, "
                                         rf"not {longest + 1}$"):
        AllReduceInterface(allreduce_config(nodes, longest + 1, **options))


def test_ring_nodes():
    with pytest.raises(TypeError, match=r"^Parameter 'nodes' must be an integer in 2..64, "
                                        r"not 1$"):
        AllReduceRing(allreduce_config(1, 8))


@pytest.mark.parametrize("nodes, length, flit_width, per_flit, chunk_flits", [
    (2, 8, 32, 1, 4), (3, 10, 64, 2, 2), (5, 23, 32, 1, 5), (5, 3, 32, 1, 1), (4, 9, 100, 3, 1)])
def test_interface_geometry(nodes, length, flit_width, per_flit, chunk_flits):
    ring = AllReduceRing(allreduce_config(nodes, length, flit_width=flit_width))
    interface = ring.interfaces[0]
    assert (interface.config.elements_per_flit, interface.config.chunk_flits) == \
        (per_flit, chunk_flits)
    assert interface.config is ring.config and ring.config.ring.nodes == nodes
    assert AllReduceEstimate(nodes, length, per_flit).chunk_flits == chunk_flits
    Fragment.get(ring, None)


def test_emit_deterministic():
    first, second = (generate(allreduce_config(3, 10, flit_width=64)) for _ in range(2))
    assert first.verilog == second.verilog and first.port_map == second.port_map
    assert first.top == "allreduce_ring3_w64_v10"
    assert f"module {first.top}(" in first.verilog
    for stream in first.port_map["streams"].values():
        for signal in ("valid", "ready", "payload"):
            assert stream[signal] in first.verilog
    assert sorted(first.port_map["streams"]) == [f"{name}__{node}" for name in "io"
                                                 for node in range(3)]


def test_wrap_int32():
    values = [INT32_MAX + 1, INT32_MIN - 1, 2 * INT32_MAX + 2, -5, 0]
    assert wrap_int32(values).tolist() == [INT32_MIN, INT32_MAX, 0, -5, 0]


def test_reference_wraps():
    vectors = np.array([[INT32_MAX, INT32_MIN, -1], [1, -1, INT32_MIN], [0, 0, INT32_MIN]])
    expected = [INT32_MIN, INT32_MAX, -1]  # -1 - 2 ** 32 wraps to -1
    result = allreduce_reference(vectors)
    assert result.shape == (3, 3)
    assert result.tolist() == [expected] * 3


@pytest.mark.parametrize("length, nodes, sizes", [
    (10, 3, [4, 3, 3]), (9, 3, [3, 3, 3]), (3, 5, [1, 1, 1, 0, 0]), (1, 2, [1, 0])])
def test_chunk_sizes(length, nodes, sizes):
    assert chunk_sizes(length, nodes) == sizes


@pytest.mark.parametrize("nodes", [2, 3, 5, 8])
@pytest.mark.parametrize("length", [1, 4, 23, 40])
def test_ring_schedule_matches_reference(nodes, length):
    rng = np.random.default_rng([nodes, length])
    vectors = rng.integers(INT32_MIN, INT32_MAX, (nodes, length), endpoint=True)
    np.testing.assert_array_equal(ring_allreduce(vectors), allreduce_reference(vectors))


def _fp32(*values):
    return encode_fp32(np.array(values, dtype=np.float64)).astype(np.int64)


def test_float_reduction_order_is_the_ring_order_from_each_chunks_node():
    """Every node holds 1, 2**-24 or 2**-24 in all three elements, one element per chunk.
    Chunk 0 sums 1 + 2**-24 (a tie, to even: 1) + 2**-24 = 1; chunk 1 sums
    2**-24 + 2**-24 + 1 = 1 + 2**-23 exactly; chunk 2 sums 2**-24 + 1 + 2**-24 = 1."""
    vectors = np.stack([np.repeat(_fp32(value), 3) for value in (1.0, 2.0 ** -24, 2.0 ** -24)])
    expected = _fp32(1.0, 1.0 + 2.0 ** -23, 1.0)
    for result in (allreduce_reference(vectors, "fp32"), ring_allreduce(vectors, "fp32")):
        assert result.tolist() == [expected.tolist()] * 3


def test_bf16_addition_rounds_twice():
    """BF16 1 + 2**-8 (a tie in BF16: to even, 1) and values whose FP32 sum rounds to a BF16
    tie; overflow to infinity; NaNs canonical; signed zeros."""
    bits = lambda *values: (_fp32(*values) >> 16).astype(np.uint16)  # noqa: E731
    assert add_bf16(bits(1.0), bits(2.0 ** -8)).tolist() == bits(1.0).tolist()
    assert add_bf16(bits(1.0 + 2.0 ** -7), bits(2.0 ** -8)).tolist() == \
        bits(1.0 + 2.0 ** -6).tolist()
    largest = 0x7F7F  # (2 - 2**-7) * 2**127
    # Plus 2**119, half its last place: a tie, and 0x7F7F is odd, so up to infinity.
    assert add_bf16(np.array([largest]), np.array([0x7B00])).tolist() == [0x7F80]
    assert add_bf16(np.array([largest]), np.array([0x7A00])).tolist() == [largest]
    assert add_bf16(np.array([0x7FC1, 0x8000, 0x8000]),
                    np.array([0x3F80, 0x8000, 0x0000])).tolist() == [0x7FC0, 0x8000, 0x0000]
    fp32 = np.array([0x3F808000, 0x3F818000, 0x3F80C000, 0xFF7F8000], dtype=np.uint32)
    assert round_fp32_to_bf16(fp32).tolist() == [0x3F80, 0x3F82, 0x3F81, 0xFF80]


@pytest.mark.parametrize("element", ["fp32", "bf16"])
@pytest.mark.parametrize("nodes, length", [(2, 5), (3, 10), (5, 23)])
def test_float_ring_schedule_matches_reference(element, nodes, length):
    rng = np.random.default_rng([nodes, length, len(element)])
    values = rng.standard_normal((nodes, length)) * 2.0 ** rng.integers(-30, 30, (nodes, length))
    values[0, 0], values[1, -1] = np.inf, np.nan
    bits = _fp32(*values.astype(np.float32).astype(np.float64).ravel()).reshape(nodes, length)
    vectors = bits >> 16 if element == "bf16" else bits
    np.testing.assert_array_equal(ring_allreduce(vectors, element),
                                  allreduce_reference(vectors, element))


def test_reduce_scatter_order_ends_at_the_chunks_node():
    """Node r gets chunk r, summed from node r + 1 round the ring: the values of the order
    test above give chunk 0 = 2**-24 + 2**-24 + 1 = 1 + 2**-23 (from node 1), chunk 1 =
    2**-24 + 1 + 2**-24 = 1 (from node 2), chunk 2 = 1 + 2**-24 + 2**-24 = 1 (from node 0)."""
    vectors = np.stack([np.repeat(_fp32(value), 3) for value in (1.0, 2.0 ** -24, 2.0 ** -24)])
    expected = _fp32(1.0 + 2.0 ** -23, 1.0, 1.0)[:, None]
    for result in (collective_reference(vectors, "fp32", "reducescatter"),
                   ring_allreduce(vectors, "fp32", "reducescatter")):
        assert result.tolist() == expected.tolist()


def test_all_gather_concatenates_in_node_order():
    chunks = np.arange(12).reshape(3, 4)
    for result in (collective_reference(chunks, "bf16", "allgather"),
                   ring_allreduce(chunks, "bf16", "allgather")):
        assert result.tolist() == [list(range(12))] * 3


def test_collective_reference_refuses_unknown_collective():
    with pytest.raises(ValueError, match=r"^Parameter 'collective' must be one of allreduce, "
                                         r"reducescatter, allgather, not 'broadcast'$"):
        collective_reference(np.zeros((2, 2)), "int32", "broadcast")


@pytest.mark.parametrize("element", ["int32", "fp32", "bf16"])
@pytest.mark.parametrize("collective", ["reducescatter", "allgather"])
@pytest.mark.parametrize("nodes", [2, 3, 5])
def test_partial_schedules_match_reference(element, collective, nodes):
    rng = np.random.default_rng([nodes, len(element), len(collective)])
    length = 4 * nodes
    values = rng.standard_normal((nodes, length)) * 2.0 ** rng.integers(-30, 30, (nodes, length))
    bits = _fp32(*values.astype(np.float32).astype(np.float64).ravel()).reshape(nodes, length)
    vectors = {"int32": rng.integers(INT32_MIN, INT32_MAX, (nodes, length), endpoint=True),
               "fp32": bits, "bf16": bits >> 16}[element]
    inputs = vectors[:, :4] if collective == "allgather" else vectors
    np.testing.assert_array_equal(ring_allreduce(inputs, element, collective),
                                  collective_reference(inputs, element, collective))


@pytest.mark.parametrize("config, cycles", [
    # Measured on the RTL (tb.allreduce_tb.ideal_cycles, Icarus), equal to the estimate.
    (AllReduceConfig(FabricConfig.ring(3), 12, "fp32", "reducescatter"), 35),
    (AllReduceConfig(FabricConfig.ring(3), 12, "bf16", "allgather"), 31),
    (AllReduceConfig(FabricConfig.ring(3), 12, forwarding="cut-through"), 52),
    (AllReduceConfig(FabricConfig.ring(4), 32, forwarding="cut-through"), 123),
    (AllReduceConfig(FabricConfig.ring(5), 23, forwarding="cut-through"), 99),
    (AllReduceConfig(FabricConfig.ring(2, buffer_depth=2), 16, forwarding="cut-through"), 63),
    (AllReduceConfig(FabricConfig.ring(4, buffer_depth=2), 12, forwarding="cut-through"), 64),
    (AllReduceConfig(FabricConfig.ring(4), 16, collective="reducescatter",
                     forwarding="cut-through"), 42),
    (AllReduceConfig(FabricConfig.switch(2, 2), 8, "fp32"), 59),
    (AllReduceConfig(FabricConfig.switch(2, 2), 8, "bf16", "reducescatter", "cut-through"), 31),
])
def test_collective_estimate_matches_measurements(config, cycles):
    assert AllReduceEstimate.of(config).cycles() == cycles


def test_cut_through_saves_a_header_latency_per_step():
    """With chunks of at least 5 flits the cut-through sender is bound by its own port: a
    step every chunk + 1 cycles, against header latency + chunk + turnaround storing."""
    store = AllReduceEstimate(4, 32)
    cut = AllReduceEstimate(4, 32, forwarding="cut-through")
    assert store.network() == 6 * (4 + 8 + 1)
    assert cut.network() == 5 * (8 + 1) + 4 + 9


@pytest.mark.parametrize("nodes, length, per_flit, buffer_depth, cycles", [
    # Measured on the RTL (tb.allreduce_tb.ideal_cycles), equal to the estimate.
    (2, 8, 1, 4, 35), (3, 10, 2, 4, 49), (3, 20, 1, 2, 101), (5, 23, 1, 4, 127),
    (5, 3, 1, 4, 55)])
def test_estimate_matches_measurements(nodes, length, per_flit, buffer_depth, cycles):
    latency = ZeroLoadLatency(buffer_depth=buffer_depth)
    assert AllReduceEstimate(nodes, length, per_flit, latency).cycles() == cycles


def test_estimate_terms():
    estimate = AllReduceEstimate(4, 30, 2)
    # 8 elements in the longest chunk, 4 flits; a header hop takes 4 cycles.
    assert (estimate.chunk_flits, estimate.steps, estimate.step()) == (4, 6, 4 + 4 + 1)
    assert estimate.cycles() == 30 + 6 * 9 + 1 + 30
    # Buffers shallower than the credit loop slow the payload down: 2 flits per 3 cycles.
    shallow = AllReduceEstimate(4, 30, 2, ZeroLoadLatency(buffer_depth=2))
    assert shallow.step() == 4 + 6 + 1


async def _put(ctx, port, payloads):
    """Offer each payload on stream ``port`` until it transfers."""
    ctx.set(port.valid, 1)
    for payload in payloads:
        ctx.set(port.payload, payload)
        await ctx.tick().until(port.ready)
    ctx.set(port.valid, 0)


async def _get(ctx, port, count):
    """Take ``count`` payloads from stream ``port``."""
    ctx.set(port.ready, 1)
    payloads = []
    while len(payloads) < count:
        _, _, valid, payload = await ctx.tick().sample(port.valid, port.payload)
        if valid:
            payloads.append(payload)
    ctx.set(port.ready, 0)
    return payloads


def test_interface_alone():
    """Node 0 of a 2-node ring, its neighbour played by the test: the packets it sends, the
    sums it makes (wrapping around), and a packet of another kind that it ignores."""
    config = FabricConfig.ring(2)
    interface = AllReduceInterface(AllReduceConfig(config, 4))
    mine = [INT32_MAX, -7, INT32_MIN, 5]
    theirs = [INT32_MAX, 1, -1, 9]
    total = wrap_int32(np.add(mine, theirs)).tolist()

    def header(kind, length):
        return header_layout(config).const({"destination": 1, "source": 0, "kind": kind,
                                           "length": length}).as_value().value

    def packet(flits):
        return [{"flit": flit & 0xFFFF_FFFF, "last": index == len(flits) - 1}
                for index, flit in enumerate(flits)]

    async def testbench(ctx):
        await _put(ctx, interface.i, mine)
        assert await _get(ctx, interface.inject, 3) == [header(1, 2), *(
            value & 0xFFFF_FFFF for value in mine[:2])]
        await _put(ctx, interface.eject, packet([header(2, 1), 1234]) +
                   packet([header(1, 2), *theirs[2:]]))
        assert await _get(ctx, interface.inject, 3) == [header(1, 2), *(
            value & 0xFFFF_FFFF for value in total[2:])]
        await _put(ctx, interface.eject, packet([header(1, 2), *total[:2]]))
        assert await _get(ctx, interface.o, 4) == total

    simulator = Simulator(interface)
    simulator.add_clock(1e-6)
    simulator.add_testbench(testbench)
    simulator.run()
