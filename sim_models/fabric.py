"""Reference model of the fabric: which packets arrive where, traffic patterns, and the
zero-load latency.

The fabric promises that every packet sent to an existing node arrives there exactly once and
intact, that packets from one source to one destination arrive in the order they were sent, and
that a packet for an address that names no node is dropped and counted. Packets of different
sources may interleave in any order at a destination, so the reference is, per destination, one
ordered list per source. Nothing here depends on the RTL: topologies are given by their
dimensions (``(nodes,)`` for a ring, ``(x, y)`` or ``(x, y, z)`` for a torus, node
``x + X * y + X * Y * z`` at ``(x, y, z)``) and routed by the relation of
:mod:`sim_models.topology`, the one the router is generated from.
"""

from collections import Counter
from dataclasses import dataclass
from math import prod

import numpy as np

from .topology import (CREDIT_LOOP_CYCLES, LOCAL, RELATIONS, ROUTER_CYCLES, UP_DOWN, SwitchTree,
                       Torus, route)

__all__ = ["Packet", "Reference", "reference", "check_delivery", "check_write_order",
           "crossed_links", "hop_count", "path_ports", "slowest_interval",
           "ZeroLoadLatency", "PATTERNS", "traffic", "WRITE_KIND", "SEMAPHORE_KIND",
           "write_semaphore_traffic"]


@dataclass(frozen=True)
class Packet:
    """One packet as its source sent it.

    Members
    -------
    source, destination : int
        Node indices; a destination of ``nodes`` or more names no node.
    kind : int
        The header's kind field, carried unchanged.
    payload : tuple of int
        Payload flits; the header's length field is their number.
    """
    source: int
    destination: int
    kind: int
    payload: tuple


@dataclass(frozen=True)
class Reference:
    """What the fabric must deliver for some injected traffic.

    Members
    -------
    delivered : dict of int to dict of int to list of Packet
        ``delivered[destination][source]``: the packets from ``source`` to ``destination``, in
        the order they were sent. Every node has an entry, possibly empty.
    dropped : dict of int to int
        Per source: its packets whose destination names no node.
    """
    delivered: dict
    dropped: dict

    def flits(self, destination):
        """Flits (headers included) that ``destination`` receives."""
        return sum(1 + len(packet.payload)
                   for packets in self.delivered[destination].values() for packet in packets)


def reference(injected, nodes, addresses=None):
    """Reference delivery of ``injected`` traffic on a fabric of ``nodes`` nodes.

    Parameters
    ----------
    injected : dict of int to list of Packet
        Per source node: its packets in the order it sends them.
    nodes : int
        Number of nodes.
    addresses : int or None
        Addresses a header can carry (``2 ** address_width``): destinations ``nodes`` up to
        this are sent and dropped by the fabric; None for any.

    Returns
    -------
    Reference

    Raises
    ------
    ValueError
        If a source is not a node, or a destination lies outside the header's addresses.
    """
    delivered = {node: {} for node in range(nodes)}
    dropped = {}
    for source, packets in injected.items():
        if not 0 <= source < nodes:
            raise ValueError(f"Parameter 'source' must be a node of the fabric, 0..{nodes - 1}, "
                             f"not {source}")
        dropped[source] = 0
        for packet in packets:
            if packet.source != source or not 0 <= packet.destination < (addresses or
                                                                         float("inf")):
                _refuse_packet(packet, source, nodes, addresses)
            if packet.destination < nodes:
                delivered[packet.destination].setdefault(source, []).append(packet)
            else:
                dropped[source] += 1
    return Reference(delivered, dropped)


def _refuse_packet(packet, source, nodes, addresses):
    """Raise the one-line error for ``packet``, listed under ``source``."""
    if packet.source != source:
        raise ValueError(f"Parameter 'source' of a packet listed under node {source} must be "
                         f"{source}, not {packet.source}")
    raise ValueError(f"Parameter 'destination' of a packet from node {source} must be a node, "
                     f"0..{nodes - 1}, or an address that names none, {nodes}..{addresses - 1} "
                     f"(dropped and counted), not {packet.destination}: a fabric of {nodes} "
                     f"nodes has {addresses} addresses")


def _compare_pair(expected, received, complete):
    """Problem with the packets of one (source, destination) pair, or None."""
    if received == expected[:len(received)] and (not complete or len(received) == len(expected)):
        return None
    if Counter(received) - Counter(expected):
        extra = list((Counter(received) - Counter(expected)).elements())
        return f"{len(extra)} packet(s) never sent or delivered twice, first {extra[0]}"
    if len(received) < len(expected) and Counter(received) == Counter(expected[:len(received)]):
        return f"{len(expected) - len(received)} of {len(expected)} packets missing"
    first = next(i for i, (e, r) in enumerate(zip(expected, received)) if e != r)
    return f"packet {first} out of order or lost: expected {expected[first]}, got {received[first]}"


def check_delivery(ref, delivered, dropped, *, complete=True):
    """Check received packets against the reference; report every problem at once.

    Parameters
    ----------
    ref : Reference
    delivered : dict of int to list of Packet
        Per node: the packets it received, in arrival order.
    dropped : dict of int to int
        Per node: the fabric's count of dropped packets it sent.
    complete : bool
        All traffic should have arrived. If False (a fabric that stalled), each
        (source, destination) pair must have received a prefix, in order, of what was sent to
        it, and the drop counts are not checked.

    Raises
    ------
    AssertionError
        Listing each node that received a packet for another node, and each (source,
        destination) pair whose packets are not exactly those sent, in order: missing,
        duplicated, corrupted (a packet never sent) or reordered; and each wrong drop count.
    """
    problems = []
    for node, packets in delivered.items():
        strays = [packet for packet in packets if packet.destination != node]
        if strays:
            problems.append(f"node {node} received {len(strays)} packet(s) for other nodes, "
                            f"first {strays[0]}")
    for node, by_source in ref.delivered.items():
        received = delivered.get(node, [])
        for source in sorted({packet.source for packet in received} | set(by_source)):
            problem = _compare_pair(by_source.get(source, []),
                                    [packet for packet in received if packet.source == source],
                                    complete)
            if problem:
                problems.append(f"{source} -> {node}: {problem}")
    if complete:
        for node, count in ref.dropped.items():
            if dropped.get(node, 0) != count:
                problems.append(f"node {node}: {dropped.get(node, 0)} packets counted as "
                                f"dropped, expected {count}")
    if problems:
        raise AssertionError(f"Delivery differs from the reference in {len(problems)} "
                             f"place(s):\n  " + "\n  ".join(problems))


def path_ports(torus, source, destination):
    """Output ports, hop by hop, of a packet from ``source`` to ``destination`` of ``torus``
    (a :class:`~sim_models.topology.Torus`), following the fabric's routing relation."""
    ports, node, hop = [], source, (LOCAL, 0)
    while (hop := route(torus, RELATIONS["dateline"], node, *hop, destination)).port != LOCAL:
        ports.append(hop.port)
        node = torus.neighbour(node, hop.port)
    return ports


def hop_count(dims, source, destination):
    """Links a packet crosses from ``source`` to ``destination`` of the torus ``dims``
    (the shorter way round each dimension)."""
    return len(path_ports(Torus(tuple(dims)), source, destination))


def crossed_links(topology, source, destination):
    """``(router, output port)`` of every link between routers that a packet from ``source``
    to ``destination`` crosses, in order, on a :class:`~sim_models.topology.Torus` (dateline
    routing) or a :class:`~sim_models.topology.SwitchTree` (up-down)."""
    relation = UP_DOWN if isinstance(topology, SwitchTree) else RELATIONS["dateline"]
    links, ((router, in_port), in_vc) = [], (topology.entry(source), 0)
    while not topology.delivers(router, (hop := route(topology, relation, router, in_port,
                                                      in_vc, destination)).port):
        links.append((router, hop.port))
        (router, in_port), in_vc = topology.far_end(router, hop.port), hop.vc
    return links


def slowest_interval(torus, source, destination):
    """Cycles between flits on the slowest link from ``source`` to ``destination`` of
    ``torus`` (any topology), the chip links of a switched fabric included."""
    return max([torus.endpoint_interval, *(torus.link_interval(*link)
                                           for link in crossed_links(torus, source, destination))])


@dataclass(frozen=True)
class ZeroLoadLatency:
    """Analytic latency of a packet through an otherwise idle fabric, with an always-ready
    destination, in cycles from the header's inject handshake.

    A flit spends ``per_hop`` cycles (:data:`~sim_models.topology.ROUTER_CYCLES`) in each
    router it crosses after the first: one to be written into the input buffer, one in the
    output register (links add none). The first router adds ``fixed`` cycles the same way from
    the inject handshake, and the destination's eject register is part of the last router's
    count. Payload flits follow their header one
    per cycle (serialization) unless the input buffers are shallower than the credit loop: a
    link then sends ``buffer_depth`` flits per ``credit_loop`` cycles; and a slow link (one
    flit every ``interval`` cycles) paces them too.

    Members
    -------
    per_hop : int
        Cycles per link crossed.
    fixed : int
        Cycles of a packet that crosses no link (source and destination the same node).
    buffer_depth : int
        Flits per input buffer (per virtual channel).
    credit_loop : int
        Cycles from sending a flit until its buffer slot can be used again
        (:data:`~sim_models.topology.CREDIT_LOOP_CYCLES`).
    """
    per_hop: int = ROUTER_CYCLES
    fixed: int = ROUTER_CYCLES
    buffer_depth: int = 4
    credit_loop: int = CREDIT_LOOP_CYCLES

    def header(self, hops):
        """Cycles from the header's inject handshake to its eject handshake."""
        return self.fixed + self.per_hop * hops

    def serialization(self, hops, length, interval=1):
        """Cycles from the header's eject handshake to that of flit ``length`` after it.

        The slowest link (a chip link included) paces the flits: it sends flit ``i``
        ``interval`` cycles after flit ``i - 1`` at the earliest (its flit interval), and not
        before the credit of flit ``i - buffer_depth`` is back (``credit_loop`` cycles after
        that flit was sent; on a path that crosses no link between routers, only the
        chip's)."""
        if hops == 0:
            return length * interval
        sent = []
        for flit in range(length + 1):
            earliest = [0] if flit == 0 else [sent[-1] + interval]
            if flit >= self.buffer_depth:
                earliest.append(sent[flit - self.buffer_depth] + self.credit_loop)
            sent.append(max(earliest))
        return sent[-1]

    def tail(self, hops, length, interval=1):
        """Cycles from the header's inject handshake to the eject handshake of the last flit
        of a packet with ``length`` payload flits, on a path whose slowest link carries a flit
        every ``interval`` cycles."""
        return self.header(hops) + self.serialization(hops, length, interval)


#: Traffic patterns of :func:`traffic`.
PATTERNS = ("uniform", "transpose", "hotspot", "incast", "all_to_all", "furthest")
#: Header ``kind`` of a data write and of the completion semaphore that follows it
#: (:func:`write_semaphore_traffic`).
WRITE_KIND, SEMAPHORE_KIND = 0, 1


def _destinations(pattern, dims, source, count, rng):
    nodes = prod(dims)
    position = [(source // prod(dims[:d])) % size for d, size in enumerate(dims)]
    if pattern == "uniform":
        return rng.integers(0, nodes, count)
    if pattern == "transpose":
        # The mirror image i -> n - 1 - i on a ring; on a torus the coordinates reversed, as
        # an index of the reversed shape: (x, y) -> (y, x) on a square torus, in general the
        # index transpose of an X by Y matrix.
        if len(dims) == 1:
            return np.full(count, nodes - 1 - source)
        return np.full(count, Torus(tuple(reversed(dims))).node_at(tuple(reversed(position))))
    if pattern == "hotspot":
        # Half of the packets go to node 0, the rest uniformly.
        return np.where(rng.random(count) < 0.5, 0, rng.integers(0, nodes, count))
    if pattern == "incast":
        # Every packet to the last node (on a switched fabric: the last chip of the last
        # server), from every other node and from itself.
        return np.full(count, nodes - 1)
    if pattern == "all_to_all":
        # Every other node in turn, starting with the next one, as a collective would.
        return (source + 1 + np.arange(count) % (nodes - 1)) % nodes
    # furthest: half way round every dimension.
    return np.full(count, sum(((p + size // 2) % size) * prod(dims[:d])
                              for d, (p, size) in enumerate(zip(position, dims))))


def traffic(pattern, dims, rng, *, packets, lengths, flit_width, invalid_rate=0.0,
            address_count=None, kinds=4):
    """Packets of one traffic pattern for every node.

    Parameters
    ----------
    pattern : str
        One of :data:`PATTERNS`: ``uniform`` (any node, itself included), ``transpose``,
        ``hotspot`` (half to node 0), ``incast`` (all to the last node), ``all_to_all``
        (every other node in turn) or ``furthest`` (half way round every dimension).
    dims : tuple of int
        Nodes along each dimension.
    rng : numpy.random.Generator
    packets : int
        Packets per node.
    lengths : tuple of int
        Smallest and largest number of payload flits, drawn uniformly.
    flit_width : int
        Bits per flit, for random payloads.
    invalid_rate : float
        Fraction of packets whose destination is replaced by an address naming no node.
    address_count : int or None
        Number of addresses (``2 ** address_width``); required if ``invalid_rate`` > 0.
    kinds : int
        Values of the kind field, drawn uniformly.

    Returns
    -------
    dict of int to list of Packet
        Per source node: its packets in sending order.
    """
    if pattern not in PATTERNS:
        raise ValueError(f"Parameter 'pattern' must be one of {', '.join(PATTERNS)}, "
                         f"not {pattern!r}")
    nodes = prod(dims)
    result = {}
    for source in range(nodes):
        destinations = _destinations(pattern, dims, source, packets, rng)
        if invalid_rate > 0:
            invalid = rng.random(packets) < invalid_rate
            destinations = np.where(invalid, rng.integers(nodes, address_count, packets),
                                    destinations)
        result[source] = [
            Packet(source, int(destination), int(rng.integers(0, kinds)),
                   _random_flits(rng, int(rng.integers(lengths[0], lengths[1] + 1)),
                                 flit_width))
            for destination in destinations]
    return result


def write_semaphore_traffic(nodes, rng, *, writes, length, flit_width):
    """Data writes, each followed by its completion semaphore, from every node.

    Each node sends ``writes`` pairs: a write (kind :data:`WRITE_KIND`, ``length`` random
    payload flits) to a uniformly drawn other node, then the semaphore (kind
    :data:`SEMAPHORE_KIND`, one flit: the number of the write among those of its pair) to the
    same node. The fabric must deliver each semaphore after the whole of its write
    (:func:`check_write_order`).

    Returns
    -------
    dict of int to list of Packet
        Per source node: its packets in sending order.
    """
    result = {}
    for source in range(nodes):
        sent, packets = Counter(), []
        for destination in ((source + 1 + rng.integers(0, nodes - 1, writes)) % nodes).tolist():
            packets += [Packet(source, destination, WRITE_KIND,
                               _random_flits(rng, length, flit_width)),
                        Packet(source, destination, SEMAPHORE_KIND, (sent[destination],))]
            sent[destination] += 1
        result[source] = packets
    return result


def check_write_order(injected, delivered, header_cycles, tail_cycles):
    """Check that no completion semaphore overtook its data write.

    Parameters
    ----------
    injected : dict of int to list of Packet
        From :func:`write_semaphore_traffic`.
    delivered, header_cycles, tail_cycles : dict of int to list
        Per destination, in arrival order: the packets and the eject cycles of each one's
        header and last flit.

    Raises
    ------
    AssertionError
        Listing each semaphore that arrived before the last flit of its write, or without it.
    """
    problems = []
    for node, packets in delivered.items():
        write_done = {}  # (source, write number) -> cycle of the write's last flit
        numbers = Counter()
        for packet, head, tail in zip(packets, header_cycles[node], tail_cycles[node]):
            if packet.kind == WRITE_KIND:
                write_done[packet.source, numbers[packet.source]] = tail
                numbers[packet.source] += 1
            elif packet.kind == SEMAPHORE_KIND:
                number = packet.payload[0]
                done = write_done.get((packet.source, number))
                if done is None or done >= head:
                    problems.append(f"{packet.source} -> {node}: semaphore of write {number} at "
                                    f"cycle {head}, its write "
                                    f"{'not before it' if done is None else f'ended at {done}'}")
    sent = sum(packet.kind == SEMAPHORE_KIND for packets in injected.values()
               for packet in packets)
    if problems:
        raise AssertionError(f"{len(problems)} of {sent} semaphores overtook their write:\n  " +
                             "\n  ".join(problems))


def _random_flits(rng, count, width):
    size = (width + 7) // 8
    return tuple(int.from_bytes(rng.bytes(size), "little") & ((1 << width) - 1)
                 for _ in range(count))
