"""All-to-all: configuration errors, the reference model and its one-line refusals, emission."""

import re

import pytest
from amaranth.hdl import Fragment

from hdl.emit import generate
from hdl.fabric.alltoall import AllToAll, AllToAllInterface
from sim_models.alltoall import AllToAllResult, alltoall_reference, check_blocks
from sim_models.config import AllToAllConfig, FabricConfig, config_from_dict, config_to_dict

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


@pytest.mark.parametrize("max_count", [0, 16, True, 2.0])
def test_max_count_range(max_count):
    with pytest.raises(TypeError, match=rf"^Parameter 'max_count' must be an integer in 1..15, "
                                        rf"not {max_count!r}$"):
        AllToAllConfig(FabricConfig.ring(3), max_count)


def test_fabric_type_and_flit_width():
    with pytest.raises(TypeError, match=r"^Parameter 'fabric' must be a FabricConfig, not 3$"):
        AllToAllConfig(3, 4)
    with pytest.raises(ValueError, match=r"^Parameter 'flit_width' must be at least 32 to "
                                         r"carry an all-to-all element, not 16$"):
        AllToAllConfig(FabricConfig.ring(3, flit_width=16), 4)
    with pytest.raises(TypeError, match=r"^Parameter 'config' must be an AllToAllConfig, "
                                        r"not 'ring3'$"):
        AllToAllInterface("ring3")


def test_names_round_trip_and_elaboration():
    config = AllToAllConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2)), 3)
    assert config.name == "torus2x2x2_i1x1x2_c3"
    assert config_from_dict(config_to_dict(config)) == config
    design = AllToAll(config)
    assert design.config is config
    Fragment.get(design, None)
    generated = generate(AllToAllConfig(FabricConfig.ring(2), 2))
    assert generated.top == "alltoall_ring2_c2"
    assert sorted(generated.port_map["streams"])[:2] == ["counts__0", "counts__1"]


def test_reference_orders_by_source_and_keeps_block_order():
    blocks = [[[1, 2], [], [3]],
              [[4], [5, 6], []],
              [[], [7], [8, 9]]]
    assert alltoall_reference(blocks, 2) == [AllToAllResult((2, 1, 0), (1, 2, 4)),
                                              AllToAllResult((0, 2, 1), (5, 6, 7)),
                                              AllToAllResult((1, 0, 2), (3, 8, 9))]


@pytest.mark.parametrize("blocks, message", [
    ([[[1], [2]]], "Parameter 'blocks' must hold one row per node, 2, not 1"),
    ([[[1], [2]], [[3]]], "Parameter 'blocks' row 1 must hold a count (a block) for each of "
                          "the 2 nodes, not 1"),
    ([[[1], [2, 3, 4]], [[], []]], "Parameter 'blocks' [0][1] has 3 elements, more than the 2 a "
                                   "receive buffer holds per source (max_count)"),
])
def test_bad_counts_are_refused_in_one_line(blocks, message):
    with pytest.raises(ValueError, match=rf"^{re.escape(message)}$"):
        check_blocks(blocks, 2, 2)
