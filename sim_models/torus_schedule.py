"""Flit-level schedule of a torus collective's lanes at one node: the cycle estimate of the RTL
(``hdl.fabric.torus_collective``) when a phase runs two rings at once (bidirectional), where
the lanes share the node's one inject port and no closed form holds.

With ideal local streams and an idle fabric every node runs the same schedule (every ring of a
dimension is alike, and the - way ring is the mirror of the + way one), so a packet a node
receives left its neighbour when the node's own packet of the same lane and step left, and
one node's schedule is followed. Per phase, in cycles from the node's first input handshake:

* the phase's input stream is dealt to its lanes in turns of half a chunk; a lane whose last
  element was taken at ``t`` owes a rendezvous packet from ``t + 1``;
* the inject port sends one packet at a time, each as soon as it may: rendezvous packets
  first, then data packets of the lowest lane (the + way); a lane's first data header may go
  the cycle after its rendezvous arrived (the neighbour's, sent the same cycle, has arrived
  and been counted), each later header ``turnaround`` cycles after the last flit of the
  lane's previous step arrived;
* payload flits follow their header one per cycle; every flit, rendezvous packets' too, is
  paced by its link's flit interval and the credit loop as on a ring
  (:meth:`sim_models.allreduce.AllReduceEstimate.network`) and arrives
  :meth:`ZeroLoadLatency.header(1) <sim_models.fabric.ZeroLoadLatency.header>` cycles after it
  went, paced the same way. A lane's data cross the link toward the node it sends to, its
  rendezvous the link the other way; on a ring of side 2 both go the + way (routing sends
  ties the + way), so both lanes share one link. A link's flits are kept from phase to phase:
  a phase's first packets queue behind the last flits of the one before on the same link;
* a lane's first result is ready 3 cycles after its last flit arrived, one per cycle after
  that; the phase's output stream takes them in turns of half a chunk, one per cycle, and is
  the next phase's input stream (the node's output after the last phase).
"""

from collections.abc import Hashable
from typing import NamedTuple

from .allreduce import paced

__all__ = ["Lane", "lane_schedule"]

#: Cycles from a lane's last arrival to its first result (write, read, output register).
RESULT_DELAY = 3


class Lane(NamedTuple):
    """One ring of a phase as the schedule sees it.

    Members
    -------
    steps : int
        Packets the lane sends (``side - 1``).
    flits : int
        Payload flits per packet.
    interval : int
        Cycles between the flits of the lane's links.
    link : Hashable
        The link its data packets cross; lanes that cross the same link name it alike.
    token_link : Hashable
        The link its rendezvous packet crosses (toward the node the lane receives from).
    """
    steps: int
    flits: int
    interval: int
    link: Hashable
    token_link: Hashable


def _network(lanes, taken, latency, turnaround, injects, arrivals):
    """Schedule one phase's packets at the node's inject port.

    ``lanes`` holds a :class:`Lane` per lane, ``taken`` the cycle each lane took its last
    input element; ``injects`` and ``arrivals`` hold per link the cycles its flits went and
    arrived, from every phase so far (a phase's first packets queue behind the last flits of
    the one before on the same link), and get this phase's. Returns per lane the cycle its
    last flit arrived."""
    hop = latency.header(1)
    port = 0  # first cycle the port is free
    tokens = {lane: last + 1 for lane, last in enumerate(taken)}
    ready, sent = {}, [0] * len(lanes)
    finished = [None] * len(lanes)
    while tokens or any(sent[lane] < lanes[lane].steps for lane in ready):
        offers = [(max(port, cycle), 0, lane) for lane, cycle in tokens.items()]
        offers += [(max(port, cycle), 1, lane) for lane, cycle in ready.items()
                   if sent[lane] < lanes[lane].steps]
        start, kind, lane = min(offers)
        if kind == 0:
            del tokens[lane]
            link, interval = lanes[lane].token_link, lanes[lane].interval
            went = paced(latency, injects.setdefault(link, []), start, 1, interval)
            ready[lane] = paced(latency, arrivals.setdefault(link, []), went + hop, 1,
                                interval) + 1
            port = went + 1
            continue
        flits, interval, link = lanes[lane].flits, lanes[lane].interval, lanes[lane].link
        went = injects.setdefault(link, [])
        first = len(went)
        paced(latency, went, start, 1, interval)
        for _ in range(flits):
            paced(latency, went, went[-1] + 1, 1, interval)
        history = arrivals.setdefault(link, [])
        for cycle in went[first:]:
            last = paced(latency, history, cycle + hop, 1, interval)
        port = went[-1] + 1
        sent[lane] += 1
        ready[lane] = last + turnaround
        finished[lane] = last
    return finished


def lane_schedule(phases, inputs, latency, turnaround=1):
    """Cycles from a node's first input handshake to its last output handshake.

    Parameters
    ----------
    phases : sequence
        Per phase, in order: ``(lanes, half, outputs)``, ``lanes`` a :class:`Lane` per lane in
        the order of the inject port's priority (+ way first), ``half`` the elements of a
        lane's turn on the phase's streams, ``outputs`` the elements the phase gives.
    inputs : int
        Elements the node takes, one per cycle from cycle 0.
    latency : ZeroLoadLatency
        The fabric's latency, buffer depth and credit loop.
    turnaround : int
        Cycles from the arrival of a step's last flit to the next step's header.

    Returns
    -------
    int
        Cycles, the last output handshake's (the first input's is cycle 0).
    """
    stream = list(range(inputs))  # cycle of each element of the phase's input stream
    injects, arrivals = {}, {}  # per link, the cycles its flits went and arrived
    for lanes, half, outputs in phases:
        count = len(lanes)
        taken = [max(cycle for index, cycle in enumerate(stream)
                     if (index // half) % count == lane) for lane in range(count)]
        arrived = _network(lanes, taken, latency, turnaround, injects, arrivals)
        given, previous = [0] * count, None
        stream = []
        for index in range(outputs):
            lane = (index // half) % count
            cycle = arrived[lane] + RESULT_DELAY + given[lane]
            if previous is not None:
                cycle = max(cycle, previous + 1)
            stream.append(cycle)
            given[lane] += 1
            previous = cycle
    return stream[-1]
