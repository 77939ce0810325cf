"""Topology of a fabric, its routing relation and the relation's deadlock check: one source for
the Python models and the router generator alike.

A :class:`Torus` of any number of dimensions (a ring is the 1-D torus) says where nodes sit
and which node each router port leads to. A routing relation (:class:`DimensionOrder`) says,
for a packet at a node that came in on some port and virtual channel, which output port and
virtual channel it takes next. The relation is written once, over an *operations* object, so
that :func:`route` evaluates it on integers here and ``hdl.fabric.router`` builds the same
relation as gates (Amaranth multiplexers) from the same lines.

Ports of a router: port 0 (:data:`LOCAL`) is the local port (inject and eject); for dimension
``d`` (0 is X, 1 is Y, 2 is Z), port ``1 + 2 * d`` carries flits travelling in the + direction
and port ``2 + 2 * d`` in the - direction. A link keeps its port number at both ends: a
router's input port ``p`` receives what its neighbour sent out of output port ``p``, so a flit
that keeps its direction leaves through the port it came in by.

A :class:`SwitchTree` (Trainium3's NeuronSwitch levels: chips under server switches under
second-level switches) has its own relation, :class:`UpDown` (address match: up until the
destination shares the subtree, then down). Both topologies offer the deadlock check the same
view: routers, where a node's packets enter, which ports deliver, where a link leads.

Before a fabric is built, :func:`check_deadlock_free` follows the relation from every source
to every destination and refuses it if the channel dependency graph (an edge from each channel
a packet holds to the channel it asks for next) has a cycle: the relation could deadlock.

Timing of the fabric's routers and links (cycles) is named here too: :data:`ROUTER_CYCLES`,
:data:`CREDIT_LOOP_CYCLES`.

Nothing here imports Amaranth; the module is part of the contract between the layers.
"""

from dataclasses import dataclass
from functools import lru_cache
from math import prod
from typing import NamedTuple

__all__ = ["LOCAL", "ROUTER_CYCLES", "CREDIT_LOOP_CYCLES", "Hop", "Torus", "DimensionOrder",
           "SwitchTree", "UpDown", "UP_DOWN",
           "RELATIONS", "axis_name", "plus_port", "minus_port", "route", "dependency_cycle",
           "check_deadlock_free"]

#: Port of the local inject and eject streams.
LOCAL = 0
#: Cycles a flit spends in each router at zero load: one to be written into the input buffer,
#: one in the output register (links add none). Also the cycles from a header's inject
#: handshake through the first router.
ROUTER_CYCLES = 2
#: Cycles from sending a flit until its slot in the downstream input buffer can be used again:
#: the flit is written, taken out in the next cycle at the earliest, and the credit counted
#: the same cycle. Input buffers of this many flits or more sustain one flit per cycle.
CREDIT_LOOP_CYCLES = 3


class Hop(NamedTuple):
    """Where a packet goes next: output ``port`` and virtual channel ``vc`` on that link."""
    port: int
    vc: int


def axis_name(dim):
    """Name of dimension ``dim`` in coordinates and signal names: ``x``, ``y``, ``z``, then
    ``d3``, ``d4``, ..."""
    return "xyz"[dim] if dim < 3 else f"d{dim}"


def plus_port(dim):
    """Output port of dimension ``dim`` in the + direction."""
    return 1 + 2 * dim


def minus_port(dim):
    """Output port of dimension ``dim`` in the - direction."""
    return 2 + 2 * dim


@dataclass(frozen=True)
class Torus:
    """A torus of any number of dimensions; the ring is the 1-D torus.

    Node ``x + X * y + X * Y * z`` sits at coordinates ``(x, y, z)`` (X first).

    Parameters
    ----------
    dims : tuple of int
        Nodes along each dimension, each at least 2.
    intervals : tuple of int
        Per dimension, the cycles between flits a link of that dimension may carry (1 is full
        bandwidth, 2 half: a Trn2 UltraServer's Z links); empty for 1 everywhere.
    """
    dims: tuple
    intervals: tuple = ()

    def interval(self, dim):
        """Cycles between flits on a link of dimension ``dim``."""
        return self.intervals[dim] if self.intervals else 1

    def port_interval(self, port):
        """Cycles between flits on the link out of neighbour ``port`` (1 or more)."""
        return self.interval((port - 1) // 2)

    #: Cycles between flits on a node's inject and eject streams.
    endpoint_interval = 1

    @property
    def dimensions(self):
        """Number of dimensions (1 for a ring)."""
        return len(self.dims)

    @property
    def nodes(self):
        """Number of nodes."""
        return prod(self.dims)

    @property
    def ports(self):
        """Ports of every router: the local port and two per dimension."""
        return 1 + 2 * self.dimensions

    @property
    def axes(self):
        """Names of the dimensions, X first (see :func:`axis_name`)."""
        return tuple(axis_name(dim) for dim in range(self.dimensions))

    @property
    def name(self):
        """``ring5``, ``torus4x4``, ``torus4x4x4``."""
        if self.dimensions == 1:
            return f"ring{self.dims[0]}"
        return "torus" + "x".join(map(str, self.dims))

    def coordinates(self, node):
        """Coordinates of ``node`` (an index below :attr:`nodes`), X first."""
        result = []
        for size in self.dims:
            node, coordinate = divmod(node, size)
            result.append(coordinate)
        return tuple(result)

    def node_at(self, position):
        """Index of the node at coordinates ``position`` (taken modulo each dimension)."""
        node, stride = 0, 1
        for size, coordinate in zip(self.dims, position):
            node += (coordinate % size) * stride
            stride *= size
        return node

    def neighbour(self, node, port):
        """Node that receives what ``node`` sends out of neighbour ``port`` (1 or more)."""
        dim, minus = divmod(port - 1, 2)
        position = list(self.coordinates(node))
        position[dim] += -1 if minus else 1
        return self.node_at(position)

    # The view of the deadlock check (shared with :class:`SwitchTree`): routers, where a
    # node's packets enter, which ports deliver, where a link leads.
    @property
    def routers(self):
        """Routers: one per node."""
        return self.nodes

    def entry(self, node):
        """Router and input port where ``node``'s packets enter: its own, the local port."""
        return node, LOCAL

    def delivers(self, router, port):
        """Whether output ``port`` of ``router`` hands packets to a node: the local port."""
        return port == LOCAL

    def far_end(self, router, port):
        """Router and input port that receive what ``router`` sends out of link ``port``."""
        return self.neighbour(router, port), port

    def next_hop(self, relation, router, in_port, in_vc, destination):
        """Next hop by ``relation`` at ``router`` (integers); ``destination`` is a node."""
        return relation.next_hop(self, _Integers, self.coordinates(router),
                                 self.coordinates(destination), in_port, in_vc)

    def link_interval(self, router, port):
        """Cycles between flits on the link out of ``port`` of ``router``."""
        return self.port_interval(port)

    def channel_name(self, channel):
        """``3+x/vc1``: the link out of node 3 in the + X direction, virtual channel 1."""
        node, port, vc = channel
        dim, minus = divmod(port - 1, 2)
        return f"{node}{'-' if minus else '+'}{axis_name(dim)}/vc{vc}"


class _Integers:
    """Operations of a routing relation on Python integers (see :class:`DimensionOrder`)."""
    @staticmethod
    def select(condition, if_true, if_false):
        return if_true if condition else if_false

    @staticmethod
    def hold(name, value, limit):
        return value

    @staticmethod
    def constant(value, limit):
        return value


@dataclass(frozen=True)
class DimensionOrder:
    """Dimension-order routing on a torus, with or without the dateline rule.

    A packet corrects X first, then Y, then Z, each by the shorter way round (the + way on a
    tie). The link from coordinate ``k - 1`` to 0 (+ direction) and from 0 to ``k - 1``
    (- direction) of every ring of the torus is its dateline. With ``dateline`` set a packet
    enters each dimension on virtual channel 0 and moves to channel 1 when it crosses that
    dimension's dateline, staying there until it leaves the dimension: deadlock-free, and
    :func:`check_deadlock_free` holds the relation to that. Without it every flit uses channel
    0, which can deadlock on the wrap-around links (for tests only).

    Members
    -------
    dateline : bool
    """
    dateline: bool

    @property
    def vcs(self):
        """Virtual channels per link: 2 with the dateline, 1 without."""
        return 2 if self.dateline else 1

    @property
    def deadlock_free(self):
        """Whether the relation promises deadlock freedom (checked, not assumed)."""
        return self.dateline

    def next_hop(self, torus, ops, here, there, in_port, in_vc):
        """Output port and virtual channel of a packet at ``here`` for ``there`` that came in
        on ``in_port`` (virtual channel ``in_vc``), both integers.

        ``here`` and ``there`` hold one coordinate per dimension, integers or circuit values;
        ``ops`` supplies ``select(condition, if_true, if_false)``, ``hold(name, value, limit)``
        (a named intermediate below ``limit``) and ``constant(value, limit)``. With integers
        (:func:`route`) the result is a pair of integers; with gates, a pair of circuit values.
        """
        port, vc = ops.constant(LOCAL, torus.ports + 1), ops.constant(0, self.vcs)
        # The first dimension with a distance left decides: fold from the last dimension back.
        for dim in reversed(range(torus.dimensions)):
            size, start, end = torus.dims[dim], here[dim], there[dim]
            ahead = ops.hold(f"ahead_{axis_name(dim)}",
                             ops.select(end >= start, end - start, end + size - start), size)
            plus = 2 * ahead <= size  # the shorter way round, + on a tie
            dim_port = ops.select(plus, plus_port(dim), minus_port(dim))
            if self.dateline:
                crosses = ops.select(plus, start == size - 1, start == 0)
                dim_vc = crosses | ((dim_port == in_port) & (in_vc == 1))
            else:
                dim_vc = 0
            port, vc = ops.select(ahead != 0, dim_port, port), ops.select(ahead != 0, dim_vc, vc)
        return port, vc


def _mixed_radix(digits, radices):
    """The number whose digits (least significant first) in the bases ``radices`` are
    ``digits``."""
    value, stride = 0, 1
    for radix, digit in zip(radices, digits):
        value += digit * stride
        stride *= radix
    return value


@dataclass(frozen=True)
class SwitchTree:
    """A tree of switches (Trainium3's NeuronSwitch levels): nodes (chips) at the leaves,
    addressed by one digit per level.

    Node ``d0 + R0 * d1 + R0 * R1 * d2`` has digits ``(d0, d1, d2)``: ``d0`` its chip within
    its server, ``d1`` its server, ``d2`` its rack (``R`` = :attr:`radices`), as Trainium3
    chips are addressed by (rack, server, chip) in the upper address bits. Switch level ``l``
    (1 first) has one switch per value of the digits ``d_l ... d_(L-1)`` (its *prefix*), that
    switch joining the ``R_(l-1)`` subtrees below it; the top level has :attr:`top_switches`
    parallel copies (Gen2's two second-level switches), numbered by a *plane* coordinate.

    Ports of a level-``l`` switch: ``0 .. R_(l-1) - 1`` lead down (at level 1 to the chips:
    endpoint ports, each with an inject and an eject stream; above to the switch of child
    digit ``d_(l-1)``), then its up ports (:meth:`up_ports`: 1, or ``top_switches`` below the
    top, none at the top). Switches are numbered level by level, level 1 first, in prefix
    order (then plane).

    Parameters
    ----------
    radices : tuple of int
        Down ports per switch, level 1 first: ``(chips per server, servers, racks)``; each at
        least 2.
    top_switches : int
        Parallel switches at the top level (1 or more; more needs two levels or more).
    intervals : tuple of int
        Per link class, the cycles between flits a link may carry (1 full bandwidth): element
        ``l`` for the links between level ``l`` and ``l + 1`` (0: chip to server switch); empty
        for 1 everywhere.
    """
    radices: tuple
    top_switches: int = 1
    intervals: tuple = ()

    @property
    def levels(self):
        """Switch levels."""
        return len(self.radices)

    @property
    def nodes(self):
        """Chips."""
        return prod(self.radices)

    def level_interval(self, level):
        """Cycles between flits on the links between switch level ``level`` and the level
        below it (level 1: the chip links)."""
        return self.intervals[level - 1] if self.intervals else 1

    @property
    def endpoint_interval(self):
        """Cycles between flits on a chip link: a chip's inject and eject streams."""
        return self.level_interval(1)

    def up_ports(self, level):
        """Up ports of a level-``level`` switch: ``top_switches`` just below the top, none at
        the top, 1 elsewhere."""
        if level == self.levels:
            return 0
        return self.top_switches if level == self.levels - 1 else 1

    def ports(self, level):
        """Ports of a level-``level`` switch: down ports, then up ports."""
        return self.radices[level - 1] + self.up_ports(level)

    def switches(self, level):
        """Switches at level ``level``."""
        count = prod(self.radices[level:])
        return count * self.top_switches if level == self.levels else count

    @property
    def name(self):
        """``switch4x2`` (4 chips per server, 2 servers), ``switch4x36_t2`` (two top
        switches); link intervals are left to the configuration's name, as for a torus."""
        name = "switch" + "x".join(map(str, self.radices))
        return name + (f"_t{self.top_switches}" if self.top_switches != 1 else "")

    def digits(self, node):
        """Digits of ``node``, chip first."""
        result = []
        for radix in self.radices:
            node, digit = divmod(node, radix)
            result.append(digit)
        return tuple(result)

    def switch(self, router):
        """Level, prefix (digits ``d_l`` up) and plane of switch number ``router``."""
        for level in range(1, self.levels + 1):
            count = self.switches(level)
            if router < count:
                plane, index = divmod(router, prod(self.radices[level:]))
                return level, self.digits(index * prod(self.radices[:level]))[level:], plane
            router -= count
        raise ValueError(f"No switch {router} in {self.name}")

    def node(self, digits):
        """Index of the node with ``digits`` (chip first)."""
        return _mixed_radix(digits, self.radices)

    def switch_number(self, level, prefix, plane=0):
        """Number of the level-``level`` switch with ``prefix`` (and ``plane``)."""
        base = sum(self.switches(lower) for lower in range(1, level))
        return base + plane * prod(self.radices[level:]) + _mixed_radix(prefix,
                                                                        self.radices[level:])

    # The view of the deadlock check (as :class:`Torus`'s).
    @property
    def routers(self):
        """Switches of every level."""
        return sum(self.switches(level) for level in range(1, self.levels + 1))

    def entry(self, node):
        """The level-1 switch of ``node`` and its endpoint port (the chip digit)."""
        digits = self.digits(node)
        return self.switch_number(1, digits[1:]), digits[0]

    def delivers(self, router, port):
        """Whether ``port`` of switch ``router`` leads to a chip: a down port at level 1."""
        level = self.switch(router)[0]
        return level == 1 and port < self.radices[0]

    def far_end(self, router, port):
        """Switch and input port that receive what switch ``router`` sends out of ``port``:
        down to child ``port`` (entering by its up port of this switch's plane), or up to the
        parent of plane ``port - R`` (entering by this switch's digit)."""
        level, prefix, plane = self.switch(router)
        radix = self.radices[level - 1]
        if port < radix:  # down
            child_up = plane if level == self.levels else 0
            return (self.switch_number(level - 1, (port, *prefix)),
                    self.radices[level - 2] + child_up)
        parent_plane = port - radix
        return self.switch_number(level + 1, prefix[1:], parent_plane), prefix[0]

    def next_hop(self, relation, router, in_port, in_vc, destination):
        """Next hop by ``relation`` at switch ``router`` (integers)."""
        level, prefix, plane = self.switch(router)
        return relation.next_hop(self, _Integers, level, prefix, self.digits(destination),
                                 in_port, in_vc)

    def link_interval(self, router, port):
        """Cycles between flits on the link out of ``port`` of switch ``router``: a down link
        of its level, an up link of the level above."""
        level = self.switch(router)[0]
        return self.level_interval(level if port < self.radices[level - 1] else level + 1)

    def channel_name(self, channel):
        """``s1.0:4``: out of switch number 1 (level 1) through port 4."""
        router, port, vc = channel
        return f"s{self.switch(router)[0]}.{router}:{port}"


@dataclass(frozen=True)
class UpDown:
    """Routing by address match on a :class:`SwitchTree`: a switch whose prefix matches the
    destination's upper digits sends the packet down the port of the destination's next
    digit; otherwise up. Below the top, with several top switches, the up port is chosen by
    the destination's chip digit (``d0 mod top_switches``), so every packet of a pair (a write
    and the semaphore after it) takes the same path and stays in order, and packets to
    different chips of a server spread over the planes. Paths go up, then down, so the
    channel dependency graph has no cycle with one virtual channel."""

    vcs = 1
    deadlock_free = True

    def next_hop(self, tree, ops, level, here, there, in_port, in_vc):
        """Output port and virtual channel at a level-``level`` switch with prefix ``here``
        (digits ``d_level`` up, integers or circuit values) for a destination of digits
        ``there``; ``ops`` as for :meth:`DimensionOrder.next_hop`."""
        radix, ups, ports = tree.radices[level - 1], tree.up_ports(level), tree.ports(level)
        match = ops.constant(1, 2)
        for mine, theirs in zip(here, there[level:]):
            match = match & (mine == theirs)
        port = ops.hold("down", there[level - 1], ports)
        if ups:
            up = ops.hold("up", radix + there[0] % ups, ports) if ups > 1 else \
                ops.constant(radix, ports)
            port = ops.select(match, port, up)
        return port, ops.constant(0, 1)


#: Routing relations by the name a :class:`~sim_models.config.FabricConfig` gives them.
RELATIONS = {"dateline": DimensionOrder(dateline=True), "naive": DimensionOrder(dateline=False)}
#: The routing relation of a :class:`SwitchTree`.
UP_DOWN = UpDown()


def route(torus, relation, node, in_port, in_vc, destination):
    """Next hop of a packet for ``destination``, at ``node``, that came in on ``in_port``
    (virtual channel ``in_vc``), by ``relation``; None if ``destination`` names no node (the
    packet is dropped). ``torus`` may be any topology (a :class:`SwitchTree`: ``node`` is then
    a switch)."""
    if destination >= torus.nodes:
        return None
    port, vc = torus.next_hop(relation, node, in_port, in_vc, destination)
    return Hop(port, int(vc))


def _path_dependencies(torus, relation):
    """Edges of the channel dependency graph: channel ``(node, port, vc)`` (the link out of
    ``node`` through ``port`` on ``vc``) to the channel a packet holding it asks for next."""
    edges, seen = {}, set()
    for source in range(torus.nodes):
        for destination in range(torus.nodes):
            (node, in_port), in_vc, held, path = torus.entry(source), 0, None, set()
            while not torus.delivers(node, (hop := route(torus, relation, node, in_port,
                                                         in_vc, destination)).port):
                channel = (node, hop.port, hop.vc)
                if held is not None:
                    edges.setdefault(held, set()).add(channel)
                state = (node, in_port, in_vc)
                if state in path:
                    raise ValueError(f"Routing relation {relation!r} never delivers a packet "
                                     f"from node {source} to node {destination} of "
                                     f"{torus.name}")
                if (*state, destination) in seen:
                    break  # the rest of this path is already in the graph
                path.add(state)
                seen.add((*state, destination))
                (node, in_port), in_vc, held = torus.far_end(node, hop.port), hop.vc, channel
    return edges


def _find_cycle(edges):
    """Some cycle of the directed graph ``edges`` as a list of vertices, or None."""
    done, on_path = set(), {}
    for start in sorted(edges):
        if start in done:
            continue
        stack, path = [(start, iter(sorted(edges.get(start, ()))))], [start]
        on_path[start] = 0
        while stack:
            vertex, successors = stack[-1]
            successor = next(successors, None)
            if successor is None:
                stack.pop()
                path.pop()
                del on_path[vertex]
                done.add(vertex)
            elif successor in on_path:
                return path[on_path[successor]:]
            elif successor not in done:
                on_path[successor] = len(path)
                path.append(successor)
                stack.append((successor, iter(sorted(edges.get(successor, ())))))
    return None


@lru_cache(maxsize=64)
def dependency_cycle(torus, relation):
    """A cycle of the channel dependency graph of ``relation`` on ``torus``, as a list of
    channels ``(node, port, vc)``, or None if the graph is acyclic (the relation cannot
    deadlock with wormhole switching)."""
    return _find_cycle(_path_dependencies(torus, relation))


def check_deadlock_free(torus, relation, name):
    """Raise ``ValueError`` if ``relation`` (called ``name``) promises deadlock freedom but its
    channel dependency graph on ``torus`` has a cycle; the message lists the cycle."""
    if not relation.deadlock_free:
        return
    cycle = dependency_cycle(torus, relation)
    if cycle is not None:
        raise ValueError(f"Routing {name!r} can deadlock on {torus.name}: channel dependency "
                         f"cycle {' -> '.join(torus.channel_name(c) for c in cycle)}")
