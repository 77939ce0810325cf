"""The switch-tree topology (Trainium3 NeuronSwitch levels), its address-match routing relation
on integers, and the deadlock check run on it."""

from dataclasses import dataclass

import pytest

from sim_models.topology import (UP_DOWN, Hop, SwitchTree, UpDown, check_deadlock_free,
                                 dependency_cycle, route)


def _walk(tree, relation, source, destination):
    """Switches and hops of a packet's path; the port it leaves by at the last switch."""
    (router, in_port), in_vc, path = tree.entry(source), 0, []
    while True:
        hop = route(tree, relation, router, in_port, in_vc, destination)
        path.append((router, hop))
        if tree.delivers(router, hop.port):
            return path
        assert len(path) <= 2 * tree.levels, "path longer than up and down the tree"
        (router, in_port), in_vc = tree.far_end(router, hop.port), hop.vc


def test_geometry_of_two_servers_of_four_chips():
    tree = SwitchTree((4, 2))
    assert (tree.levels, tree.nodes, tree.routers, tree.name) == (2, 8, 3, "switch4x2")
    assert [tree.ports(level) for level in (1, 2)] == [5, 2]
    assert tree.digits(6) == (2, 1) and tree.entry(6) == (1, 2)
    assert tree.switch(2) == (2, (), 0)
    # Server 1's switch goes up by port 4 into the top switch's port 1, and back down.
    assert tree.far_end(1, 4) == (2, 1) and tree.far_end(2, 1) == (1, 4)


def test_gen2_shape_two_top_switches():
    tree = SwitchTree((4, 36), top_switches=2, intervals=(1, 2))
    assert (tree.nodes, tree.switches(1), tree.switches(2)) == (144, 36, 2)
    assert tree.ports(1) == 6 and tree.ports(2) == 36 and tree.level_interval(2) == 2
    assert tree.name == "switch4x36_t2"
    top_plane_1 = tree.switch_number(2, (), 1)
    assert tree.switch(top_plane_1) == (2, (), 1)
    assert tree.far_end(top_plane_1, 7) == (tree.switch_number(1, (7,)), 5)


@pytest.mark.parametrize("radices, tops", [((4,), 1), ((4, 2), 1), ((16, 4), 1),
                                            ((4, 36), 2), ((2, 3, 2), 1), ((2, 3, 2), 2)])
def test_every_packet_reaches_its_chip_up_then_down(radices, tops):
    tree = SwitchTree(radices, tops)
    for source in range(tree.nodes):
        for destination in range(tree.nodes):
            path = _walk(tree, UP_DOWN, source, destination)
            last_switch, last_hop = path[-1]
            level, prefix, _ = tree.switch(last_switch)
            assert (level, prefix, last_hop.port) == (1, tree.digits(destination)[1:],
                                                      tree.digits(destination)[0])
            levels = [tree.switch(router)[0] for router, _ in path]
            top = max(levels)
            # Up to the lowest switch whose subtree holds both, then down: 2 * top - 1 switches.
            shared = next(level for level in range(1, tree.levels + 1)
                          if tree.digits(source)[level:] == tree.digits(destination)[level:])
            assert top == shared and levels == [*range(1, top), *range(top, 0, -1)]
    assert route(tree, UP_DOWN, 0, 0, 0, tree.nodes) is None


def test_pair_takes_one_plane_chosen_by_destination_chip():
    tree = SwitchTree((4, 3), top_switches=2)
    planes = {tree.switch(router)[2] for source in range(4)
              for router, _ in _walk(tree, UP_DOWN, source, 4 + 3) if tree.switch(router)[0] == 2}
    assert planes == {1}  # chip digit 3, 3 mod 2
    assert route(tree, UP_DOWN, 0, 0, 0, 4 + 2) == Hop(4, 0)


@pytest.mark.parametrize("radices, tops", [((4, 2), 1), ((16, 4), 1), ((4, 36), 2),
                                            ((2, 2, 2), 2)])
def test_up_down_is_deadlock_free(radices, tops):
    tree = SwitchTree(radices, tops)
    assert dependency_cycle(tree, UP_DOWN) is None
    check_deadlock_free(tree, UP_DOWN, "up-down")


@dataclass(frozen=True)
class _DownFirst(UpDown):
    """A bad relation: at the top switch, sends a packet for another server back down to the
    source's server (here: always child 0), which sends it up again."""
    def next_hop(self, tree, ops, level, here, there, in_port, in_vc):
        port, vc = super().next_hop(tree, ops, level, here, there, in_port, in_vc)
        return (0 if level == tree.levels else port), vc


def test_a_relation_that_never_delivers_is_named():
    with pytest.raises(ValueError, match="never delivers a packet from node 0 to node 4 of "
                                         "switch4x2"):
        dependency_cycle(SwitchTree((4, 2)), _DownFirst())
