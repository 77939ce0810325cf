"""Dimension-order routing on a torus, with the dateline rule for virtual channels.

Ports of a router: port 0 is the local port (inject and eject); for dimension ``d`` (0 is X,
1 is Y), port ``1 + 2 * d`` carries flits travelling in the + direction and port ``2 + 2 * d``
in the - direction. A link keeps its port number at both ends: a router's input port ``p``
receives what its neighbour sent out of output port ``p``, so a flit that keeps its direction
leaves through the port it came in by.

A packet corrects X first, then Y, each by the shorter way round (the + way on a tie). The
link from coordinate ``k - 1`` to 0 (+ direction) and from 0 to ``k - 1`` (- direction) of
every ring of the torus is its dateline. With ``dateline`` routing a packet enters each
dimension on virtual channel 0 and moves to channel 1 when it crosses that dimension's dateline,
staying there until it leaves the dimension; with ``naive`` routing every flit uses channel 0.
"""

from typing import NamedTuple

__all__ = ["LOCAL", "Hop", "port_count", "plus_port", "minus_port", "coordinates", "node_at",
           "neighbour", "route"]

#: Port of the local inject and eject streams.
LOCAL = 0


class Hop(NamedTuple):
    """Where a packet goes next: output ``port`` and virtual channel ``vc`` on that link."""
    port: int
    vc: int


def port_count(config):
    """Ports of every router: the local port and two per dimension."""
    return 1 + 2 * len(config.dims)


def plus_port(dim):
    return 1 + 2 * dim


def minus_port(dim):
    return 2 + 2 * dim


def coordinates(config, node):
    """Coordinates of ``node`` (an index below ``config.nodes``), X first."""
    result = []
    for size in config.dims:
        node, coordinate = divmod(node, size)
        result.append(coordinate)
    return tuple(result)


def node_at(config, position):
    """Index of the node at coordinates ``position`` (taken modulo each dimension's size)."""
    node, stride = 0, 1
    for size, coordinate in zip(config.dims, position):
        node += (coordinate % size) * stride
        stride *= size
    return node


def neighbour(config, node, port):
    """Node that receives what ``node`` sends out of neighbour ``port`` (1 or more)."""
    dim, minus = divmod(port - 1, 2)
    position = list(coordinates(config, node))
    position[dim] += -1 if minus else 1
    return node_at(config, position)


def _crosses_dateline(config, position, port):
    dim, minus = divmod(port - 1, 2)
    return position[dim] == (0 if minus else config.dims[dim] - 1)


def route(config, node, in_port, in_vc, destination):
    """Next hop of a packet for ``destination``, at ``node``, that came in on ``in_port``
    (virtual channel ``in_vc``); None if ``destination`` names no node (the packet is dropped).
    """
    if destination >= config.nodes:
        return None
    here, there = coordinates(config, node), coordinates(config, destination)
    for dim, size in enumerate(config.dims):
        ahead = (there[dim] - here[dim]) % size
        if ahead == 0:
            continue
        port = plus_port(dim) if ahead <= size - ahead else minus_port(dim)
        if config.routing == "naive":
            return Hop(port, 0)
        stays = port == in_port and in_vc == 1
        return Hop(port, int(stays or _crosses_dateline(config, here, port)))
    return Hop(LOCAL, 0)
