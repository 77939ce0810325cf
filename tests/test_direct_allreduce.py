"""The direct all-reduce (Neuron's "Mesh"): its parameters, emission, the order of its
additions and its cycle estimate against the RTL's measurements."""

import re

import numpy as np
import pytest

from hdl.emit import generate
from hdl.emit import main as emit_main
from hdl.fabric.allreduce import AllReduceInterface
from hdl.fabric.direct_allreduce import DirectAllReduceInterface
from sim_models.allreduce import allreduce_reference, collective_reference
from sim_models.config import AllReduceConfig, FabricConfig, config_from_dict, config_to_dict
from sim_models.direct_allreduce import DirectEstimate, direct_reference
from sim_models.floats import encode_fp32
from sim_models.torus_collective import estimate_of, reference_of

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


def _fp32(*values):
    return encode_fp32(np.array(values, dtype=np.float64)).astype(np.int64)


def _random_fp32(seed, shape):
    """FP32 bit patterns of either sign spread over 2**+-20: sums that round."""
    rng = np.random.default_rng(seed)
    values = (1 + rng.random(shape)) * 2.0 ** rng.integers(-20, 20, shape)
    values *= rng.choice([-1.0, 1.0], shape)
    return encode_fp32(values.astype(np.float32).astype(np.float64)).astype(np.int64)


@pytest.mark.parametrize("fabric", [FabricConfig.ring(3), FabricConfig.torus(2, 3),
                                    FabricConfig.switch(2, 2)])
def test_direct_runs_on_any_fabric_in_two_steps_of_one_packet_per_node(fabric):
    config = AllReduceConfig(fabric, 12, "bf16", algorithm="direct")
    assert not config.torus and config.phases == ()
    assert config.steps == 2 * (fabric.nodes - 1)
    assert config.name == f"{fabric.name}_v12_bf16_dir"
    assert config_from_dict(config_to_dict(config)) == config
    assert "algorithm" not in config_to_dict(AllReduceConfig(fabric, 12))


@pytest.mark.parametrize("options, message", [
    ({"algorithm": "mesh"}, "Parameter 'algorithm' must be one of ring, direct, not 'mesh'"),
    ({"algorithm": "direct", "forwarding": "cut-through"},
     "Parameter 'forwarding' must be 'store' for the direct algorithm (each chunk goes once, "
     "straight to its node), not 'cut-through'"),
])
def test_direct_options_refused_in_one_line(options, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        AllReduceConfig(FabricConfig.ring(4), 8, **options)


def test_direct_is_one_way():
    with pytest.raises(ValueError, match="^Parameter 'bidirectional' must be False for the "
                                         "direct algorithm .*, not True$"):
        AllReduceConfig(FabricConfig.torus(2, 2), 16, algorithm="direct", bidirectional=True)


def test_interfaces_refuse_the_other_algorithm():
    direct = AllReduceConfig(FabricConfig.ring(3), 6, algorithm="direct")
    with pytest.raises(ValueError, match="^Parameter 'allreduce' must run the ring algorithm "
                                         "on a ring interface, not 'direct'$"):
        AllReduceInterface(direct)
    with pytest.raises(ValueError, match="^Parameter 'allreduce' must run the direct "
                                         "algorithm on a direct interface, not 'ring'$"):
        DirectAllReduceInterface(AllReduceConfig(FabricConfig.ring(3), 6))


def test_emit_direct(tmp_path):
    emit_main(["allreduce", "--torus", "2", "2", "--vector-length", "8", "--element", "fp32",
               "--algorithm", "direct", "--out", str(tmp_path)])
    config = AllReduceConfig(FabricConfig.torus(2, 2), 8, "fp32", algorithm="direct")
    first = (tmp_path / f"allreduce_{config.name}.v").read_text()
    assert "inbox" in first
    assert generate(config).verilog == first  # deterministic, and what the command wrote


def test_emit_builds_a_switch_of_several_top_switches(tmp_path):
    emit_main(["allreduce", "--switch", "2", "2", "--top-switches", "2", "--vector-length", "8",
               "--algorithm", "direct", "--out", str(tmp_path)])
    config = AllReduceConfig(FabricConfig.switch(2, 2, top_switches=2), 8, algorithm="direct")
    assert (tmp_path / f"allreduce_{config.name}.v").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--nodes", "3", "--vector-length", "6", "--algorithm", "tree"],
     "Parameter 'algorithm' must be one of ring, direct, not 'tree'"),
    (["--nodes", "3", "--vector-length", "6", "--top-switches", "2"],
     "Parameter 'top_switches' needs --switch, not --ring or --torus (given 2)"),
])
def test_emit_refuses_in_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        emit_main(["allreduce", *argv])
    assert stop.value.code == 2
    assert capsys.readouterr().err == f"error: {message}\n"


def test_direct_order_is_each_chunks_node_first_then_downwards():
    """Nodes 0, 1, 2 hold 1, 2**-24, 2**-24 in all three elements (one per chunk). Chunk 0
    sums 1 + 2**-24 (node 2's; a tie, to even: 1) + 2**-24 = 1; chunk 1 sums 2**-24 + 1 (a tie:
    1) + 2**-24 = 1; chunk 2 sums 2**-24 + 2**-24 + 1 = 1 + 2**-23 exactly. The ring + way
    gives chunk 1 the exact sum instead."""
    vectors = np.stack([np.repeat(_fp32(value), 3) for value in (1.0, 2.0 ** -24, 2.0 ** -24)])
    expected = _fp32(1.0, 1.0, 1.0 + 2.0 ** -23)
    assert direct_reference(vectors, "fp32").tolist() == [expected.tolist()] * 3
    assert direct_reference(vectors, "fp32", "reducescatter").tolist() == \
        [[value] for value in expected.tolist()]
    assert allreduce_reference(vectors, "fp32")[0, 1] != expected[1]


@pytest.mark.parametrize("element", ["fp32", "bf16", "int32"])
@pytest.mark.parametrize("nodes, length", [(4, 16), (5, 23)])
def test_direct_sums_as_the_ring_the_other_way_round(element, nodes, length):
    bits = _random_fp32(nodes * 100 + length, (nodes, length))
    vectors = {"fp32": bits, "bf16": bits >> 16, "int32": bits}[element]
    np.testing.assert_array_equal(direct_reference(vectors, element),
                                  allreduce_reference(vectors, element, direction=-1))
    config = AllReduceConfig(FabricConfig.ring(nodes), length, element, algorithm="direct")
    np.testing.assert_array_equal(reference_of(config, vectors),
                                  direct_reference(vectors, element))


def test_direct_all_gather_is_the_rings():
    chunks = np.arange(12).reshape(4, 3)
    np.testing.assert_array_equal(direct_reference(chunks, "int32", "allgather"),
                                  collective_reference(chunks, "int32", "allgather"))


def test_direct_reference_refuses_unknown_collective():
    with pytest.raises(ValueError, match="^Parameter 'collective' must be one of allreduce, "
                                         "reducescatter, allgather, not 'alltoall'$"):
        direct_reference(np.zeros((2, 4)), "int32", "alltoall")


#: Measured on the RTL (``tb.allreduce_tb.ideal_cycles``, Icarus): where no two packets meet,
#: equal to the estimate; where they do, the estimate is below.
MEASURED = [
    (AllReduceConfig(FabricConfig.ring(2), 8, algorithm="direct"), 39, True),
    (AllReduceConfig(FabricConfig.ring(3), 12, "fp32", algorithm="direct"), 57, True),
    (AllReduceConfig(FabricConfig.ring(3, flit_width=48), 17, "bf16", algorithm="direct"), 57,
     True),
    (AllReduceConfig(FabricConfig.ring(3, flit_width=48), 18, "bf16", "allgather",
                     algorithm="direct"), 35, True),
    (AllReduceConfig(FabricConfig.ring(3), 10, "fp32", algorithm="direct"), 53, False),
    (AllReduceConfig(FabricConfig.ring(5), 3, algorithm="direct"), 37, False),
    (AllReduceConfig(FabricConfig.ring(4), 16, "fp32", "reducescatter", algorithm="direct"),
     54, False),
    (AllReduceConfig(FabricConfig.switch(2, 2), 8, "fp32", algorithm="direct"), 55, False),
    (AllReduceConfig(FabricConfig.torus(2, 2), 8, "fp32", algorithm="direct"), 50, False),
    (AllReduceConfig(FabricConfig.torus(2, 3, buffer_depth=2), 24, "bf16", algorithm="direct"),
     107, False),
]


@pytest.mark.parametrize("config, cycles, exact", MEASURED,
                         ids=[config.name for config, _, _ in MEASURED])
def test_estimate_against_measurements(config, cycles, exact):
    estimate = estimate_of(config)
    assert isinstance(estimate, DirectEstimate)
    assert estimate.contention_free() == estimate.exact() == exact
    assert (estimate.cycles() == cycles) if exact else (estimate.cycles() < cycles)


def test_ring_and_torus_estimates_are_exact():
    for fabric in (FabricConfig.ring(3), FabricConfig.torus(2, 2), FabricConfig.switch(2, 2)):
        assert estimate_of(AllReduceConfig(fabric, 12)).exact()


def test_estimate_of_one_packet_per_node_and_step():
    """Two nodes: each sends its partner's 4-flit chunk (header at cycle 8, after the 8 inputs;
    its last flit arrives 4 cycles after it went at 12), adds it in rows 17..20, sends its sum
    from 21 (last flit arrives at 29), is done at 30 and gives 8 results from 32."""
    estimate = DirectEstimate.of(AllReduceConfig(FabricConfig.ring(2), 8, algorithm="direct"))
    packets, done = estimate.schedule()
    assert [(p.source, p.destination, p.start, p.last) for p in packets] == \
        [(0, 1, 8, 16), (1, 0, 8, 16), (0, 1, 21, 29), (1, 0, 21, 29)]
    assert done == [30, 30]
    assert estimate.cycles() == 30 + 1 + 8
