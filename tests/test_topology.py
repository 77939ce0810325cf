# amaranth: UnusedElaboratable=no
"""The topology object, the routing relation evaluated on integers, and the deadlock check of a
routing relation (channel dependency graph)."""

from dataclasses import dataclass

import pytest

from hdl.fabric import Fabric
from sim_models import topology
from sim_models.config import FabricConfig
from sim_models.fabric import hop_count
from sim_models.topology import (LOCAL, RELATIONS, DimensionOrder, Hop, Torus,
                                 check_deadlock_free, dependency_cycle, minus_port, plus_port,
                                 route)

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")

DATELINE, NAIVE = RELATIONS["dateline"], RELATIONS["naive"]


@dataclass(frozen=True)
class _Unsafe(DimensionOrder):
    """A bad relation: no dateline, yet it promises deadlock freedom."""
    @property
    def deadlock_free(self):
        return True


def test_torus_geometry():
    torus = Torus((4, 3, 2))
    assert (torus.nodes, torus.ports, torus.axes, torus.name) == (24, 7, ("x", "y", "z"),
                                                                  "torus4x3x2")
    assert torus.coordinates(23) == (3, 2, 1) and torus.node_at((3, 2, 1)) == 23
    assert torus.node_at((-1, 3, 2)) == 3  # coordinates wrap round
    assert torus.neighbour(0, minus_port(2)) == 12 and torus.neighbour(3, plus_port(0)) == 0
    assert Torus((5,)).name == "ring5" and topology.axis_name(4) == "d4"


def test_three_dimensional_route_corrects_x_then_y_then_z():
    torus = Torus((3, 3, 3))
    # (0, 0, 0) -> (1, 2, 2): X + first; Y is 2 away + and 1 away -, so - crossing the
    # dateline (y = 0 going -); then Z the same.
    path, node, hop = [], 0, Hop(LOCAL, 0)
    while (hop := route(torus, DATELINE, node, *hop, torus.node_at((1, 2, 2)))).port != LOCAL:
        path.append((torus.coordinates(node), hop))
        node = torus.neighbour(node, hop.port)
    assert path == [((0, 0, 0), Hop(plus_port(0), 0)), ((1, 0, 0), Hop(minus_port(1), 1)),
                    ((1, 2, 0), Hop(minus_port(2), 1))]
    assert hop_count((3, 3, 3), 0, torus.node_at((1, 2, 2))) == 3
    assert route(torus, DATELINE, 0, LOCAL, 0, 27) is None


@pytest.mark.parametrize("dims", [(2,), (3,), (5,), (8,), (2, 2), (2, 3), (4, 4), (3, 5),
                                  (2, 2, 2), (3, 3, 2), (4, 4, 4)])
def test_dateline_relation_is_deadlock_free(dims):
    assert dependency_cycle(Torus(dims), DATELINE) is None
    check_deadlock_free(Torus(dims), DATELINE, "dateline")


@pytest.mark.parametrize("dims, deadlocks", [((2,), False), ((3,), False), ((4,), True),
                                             ((5,), True), ((2, 2), False), ((4, 4), True),
                                             ((4, 4, 4), True)])
def test_naive_relation_cycles_on_rings_longer_than_three(dims, deadlocks):
    # On rings of 2 or 3 no packet goes further than one hop, so no channel waits on another.
    cycle = dependency_cycle(Torus(dims), NAIVE)
    assert (cycle is not None) == deadlocks
    if cycle:
        # Each channel of the cycle leads to the next: the node after the link holds it.
        torus = Torus(dims)
        for (node, port, _), (following, _, _) in zip(cycle, cycle[1:] + cycle[:1]):
            assert torus.neighbour(node, port) == following
    check_deadlock_free(Torus(dims), NAIVE, "naive")  # it promises nothing: not refused


def test_a_bad_relation_is_caught_before_the_fabric_is_built(monkeypatch):
    with pytest.raises(ValueError, match=r"^Routing 'unsafe' can deadlock on ring4: channel "
                                         r"dependency cycle 0\+x/vc0 -> 1\+x/vc0 -> "
                                         r"2\+x/vc0 -> 3\+x/vc0$"):
        check_deadlock_free(Torus((4,)), _Unsafe(dateline=False), "unsafe")
    monkeypatch.setitem(RELATIONS, "dateline", _Unsafe(dateline=False))
    with pytest.raises(ValueError, match=r"^Routing 'dateline' can deadlock on torus2x4: "):
        Fabric(FabricConfig.torus(2, 4))


def test_a_relation_that_never_delivers_is_named():
    @dataclass(frozen=True)
    class Circling(DimensionOrder):
        def next_hop(self, torus, ops, here, there, in_port, in_vc):
            return plus_port(0), 0
    with pytest.raises(ValueError, match=r"never delivers a packet from node 0 to node 0 of "
                                         r"ring3$"):
        dependency_cycle(Torus((3,)), Circling(dateline=False))
