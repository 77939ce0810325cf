"""Direct collectives (Neuron's "Mesh", ``hdl.fabric.direct_allreduce``): the reference model
(the order of the additions the RTL makes) and the cycle estimate of the RTL.

Chunk ``c`` of the vector (chunks as on the ring, :func:`~sim_models.allreduce.chunk_sizes`)
is reduced at node ``c``: its own copy first, then node ``c - 1``'s, ``c - 2``'s and down to
``c + 1``'s, the order in which the packets come in an idle fabric when node ``r`` sends to
``r + 1``, ``r + 2``, ... in turn. Every addition is rounded on its own, as on the ring
(``sim_models.allreduce``): the same order as the ring that runs the - way round, so a direct
all-reduce gives the bits of :func:`~sim_models.allreduce.allreduce_reference` with
``direction=-1``.
"""

from dataclasses import dataclass, field

import numpy as np

from .allreduce import LocalStreams, _reduced, chunk_sizes, collective_reference, paced
from .fabric import ZeroLoadLatency, crossed_links, slowest_interval

__all__ = ["direct_reference", "DirectEstimate", "Packet"]


def direct_reference(inputs, element="int32", collective="allreduce"):
    """What every node holds after a direct collective: ``inputs``, ``element``, ``collective``
    and the result as :func:`~sim_models.allreduce.collective_reference` has them, each sum in
    this module's order (node ``r`` keeps chunk ``r`` of a reduce-scatter; the all-gather is
    the ring's)."""
    inputs = np.asarray(inputs, dtype=np.int64)
    if collective == "allgather":
        return collective_reference(inputs, element, collective)
    if collective not in ("allreduce", "reducescatter"):
        raise ValueError(f"Parameter 'collective' must be one of allreduce, reducescatter, "
                         f"allgather, not {collective!r}")
    total = _reduced(inputs, element, 0, -1)
    if collective == "reducescatter":
        return total.reshape(inputs.shape[0], -1)
    return np.broadcast_to(total, inputs.shape).copy()


@dataclass(frozen=True)
class DirectEstimate(LocalStreams):
    """Cycle count of one direct collective on the RTL with ideal local streams, every packet
    as fast as its path allows alone (no two packets delayed by a shared link or eject port).

    Counted from the first input handshake, in cycles:

    * ``inputs`` cycles to take the vector; node ``r`` sends its first header the cycle after
      the last, and each next header the cycle after the previous packet's last flit, the
      payload one flit per cycle, paced by its path (:func:`~sim_models.allreduce.paced`);
    * a flit arrives :meth:`ZeroLoadLatency.header
      <sim_models.fabric.ZeroLoadLatency.header>` cycles after it went, paced the same way;
    * node ``c`` adds a received chunk one row per cycle (one cycle for an empty chunk) from
      the cycle after its last flit arrived, sources in order; its all-gather's first header
      goes the cycle after the last addition (and after its reduce-scatter packets went);
    * the node is done the cycle after its last packet arrived and its last flit went, and
      gives its first result 2 cycles later, then one per cycle.

    Where packets share a link or an eject port the RTL takes longer: the estimate is then a
    lower bound, and :meth:`contention_free` says whether it can be.

    Members
    -------
    nodes, length, elements_per_flit, latency, collective :
        As :class:`~sim_models.allreduce.AllReduceEstimate` has them.
    paths : tuple of tuple of (int, int)
        ``paths[source][destination]``: links crossed and the slowest one's flit interval
        (cycles).
    links : tuple of tuple of tuple
        ``links[source][destination]``: the ``(router, port)`` of every link crossed.
    """
    nodes: int
    length: int
    elements_per_flit: int = 1
    latency: ZeroLoadLatency = field(default_factory=ZeroLoadLatency)
    collective: str = "allreduce"
    paths: tuple = ()
    links: tuple = ()

    @classmethod
    def of(cls, config):
        """The estimate of the direct collective ``config`` (an
        :class:`~sim_models.config.AllReduceConfig`)."""
        fabric = config.ring
        topology, nodes = fabric.topology, fabric.nodes
        links = tuple(tuple(tuple(crossed_links(topology, source, destination))
                            for destination in range(nodes)) for source in range(nodes))
        paths = tuple(tuple((len(links[source][destination]),
                             slowest_interval(topology, source, destination))
                            for destination in range(nodes)) for source in range(nodes))
        return cls(nodes, config.vector_length, config.elements_per_flit,
                   ZeroLoadLatency(buffer_depth=fabric.buffer_depth), config.collective,
                   paths, links)

    @property
    def chunk_flits(self):
        """Payload flits of the longest chunk."""
        return max(self._flits())

    def step(self):
        """Cycles of the longest chunk's packet on the longest path, alone: from its header's
        inject handshake to the cycle after its last flit arrived."""
        hops, interval = max(path for row in self.paths for path in row)
        return self.latency.tail(hops, self.chunk_flits, interval) + 1

    def _flits(self):
        """Payload flits of each chunk."""
        return [-(-size // self.elements_per_flit) for size in chunk_sizes(self.length,
                                                                            self.nodes)]

    def _send(self, source, start, chunk, packets):
        """Send ``chunk`` (a function of the destination) to every other node in turn from
        cycle ``start``, appending each packet's :class:`Packet` to ``packets``; returns the
        cycle after the last flit went."""
        flits = self._flits()
        for offset in range(1, self.nodes):
            destination = (source + offset) % self.nodes
            hops, interval = self.paths[source][destination]
            went = [start]
            for _ in range(flits[chunk(destination)]):
                paced(self.latency, went, went[-1] + 1, hops, interval)
            came = []
            for cycle in went:
                paced(self.latency, came, cycle + self.latency.header(hops), hops, interval)
            packets.append(Packet(source, destination, went[0], came[0], came[-1]))
            start = went[-1] + 1
        return start

    def schedule(self):
        """Every packet of the collective (:class:`Packet`), and per node the cycle its
        collective is done (the cycle before its output starts being read)."""
        nodes, flits = self.nodes, self._flits()
        free, summed = [self.inputs] * nodes, [self.inputs] * nodes
        scatter, gather = [], []
        if self.collective != "allgather":
            for source in range(nodes):
                free[source] = self._send(source, self.inputs, lambda chunk: chunk, scatter)
            arrived = {(packet.source, packet.destination): packet.last for packet in scatter}
            for node in range(nodes):
                end = -1
                for offset in range(1, nodes):
                    start = max(arrived[(node - offset) % nodes, node] + 1, end + 1)
                    end = start + max(flits[node], 1) - 1
                summed[node] = end + 1
        done = [max(free[node], summed[node]) for node in range(nodes)]
        if self.collective != "reducescatter":
            for source in range(nodes):
                free[source] = self._send(source, done[source], lambda chunk: source, gather)
            done = [max(free[node], *(packet.last + 1 for packet in gather
                                      if packet.destination == node))
                    for node in range(nodes)]
        return scatter + gather, done

    def cycles(self):
        """Cycles from the first input handshake to the last output handshake."""
        return max(self.schedule()[1]) + 1 + self.outputs

    def exact(self):
        """Whether :meth:`cycles` is what the RTL takes: where the schedule is contention-free;
        elsewhere it is a lower bound."""
        return self.contention_free()

    def contention_free(self):
        """Whether the schedule is what the RTL does: no two packets of it are in the fabric
        at once on a common link (each counted from its header's inject to its last flit's
        eject, a conservative window) or at a common eject port."""
        packets, _ = self.schedule()
        for index, one in enumerate(packets):
            for other in packets[index + 1:]:
                if one.destination == other.destination and \
                        one.first <= other.last and other.first <= one.last:
                    return False
                shared = set(self.links[one.source][one.destination]) & \
                    set(self.links[other.source][other.destination])
                if shared and one.start <= other.last and other.start <= one.last:
                    return False
        return True


@dataclass(frozen=True)
class Packet:
    """One packet of a :class:`DirectEstimate` schedule, its cycles as sent alone.

    Members
    -------
    source, destination : int
        Nodes.
    start : int
        Inject handshake of its header.
    first, last : int
        Eject handshakes of its header and of its last flit.
    """
    source: int
    destination: int
    start: int
    first: int
    last: int
