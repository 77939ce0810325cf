"""Reference model of ring all-reduce of int32, FP32 and BF16 vectors, and the cycle estimate of
the RTL (``hdl.fabric.allreduce``).

Nothing here depends on the RTL. The vector of ``length`` elements is split into one chunk per
node, the first ``length % nodes`` chunks one element longer than the others. Node ``r`` sends
chunk ``(r - s) mod nodes`` to node ``r + 1`` at step ``s`` of ``2 * (nodes - 1)``, adding what
it receives during the first ``nodes - 1`` steps (reduce-scatter) and keeping it during the
rest (all-gather).

Floating-point reduction rule (AWS publishes none; this is the project's choice, pinned by
tests): element ``e`` of chunk ``c`` is summed in ring order starting at the chunk's own node,
``((x[c] + x[c + 1]) + x[c + 2]) + ... + x[c - 1]`` (node indices modulo ``nodes``), every
addition rounded on its own: FP32 by the PSUM rule R9 (:func:`~sim_models.floats.
accumulate_fp32`: one round to nearest even, FP32 flush below 2**-126, canonical NaN); BF16
widened to FP32 exactly, added by R9 and the sum rounded to BF16 to nearest even
(:func:`~sim_models.floats.add_bf16`: two roundings per addition, as the hardware does with
one FP32 adder). Different chunks therefore start at different nodes, and the same inputs may
give different bits in different chunks; every node ends with the same bits for each element.
Vectors of the floating formats are given and returned as bit patterns.

A ring may also run the other way round (``direction=-1``, the second ring of a bidirectional
torus phase): node ``r`` sends to node ``r - 1``, and chunk ``c`` is summed from its own node
downwards, ``((x[c] + x[c - 1]) + x[c - 2]) + ... + x[c + 1]``.
"""

from dataclasses import dataclass, field

import numpy as np

from .fabric import ZeroLoadLatency, crossed_links, slowest_interval
from .floats import accumulate_fp32, add_bf16

__all__ = ["INT32_MIN", "INT32_MAX", "wrap_int32", "add_elements", "allreduce_reference",
           "collective_reference", "chunk_sizes", "ring_allreduce", "AllReduceEstimate",
           "LocalStreams", "paced"]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def wrap_int32(values):
    """Integers wrapped to int32 (two's complement), as int64 arrays of the same shape."""
    values = np.asarray(values, dtype=np.int64)
    return (values - INT32_MIN) % (1 << 32) + INT32_MIN


def add_elements(element, stored, incoming):
    """One reduce-scatter addition of element format ``element`` (``int32``, ``fp32`` or
    ``bf16``) on int64 arrays of one shape: int32 values, or FP32 / BF16 bit patterns."""
    if element == "int32":
        return wrap_int32(np.asarray(stored, dtype=np.int64) + incoming)
    if element == "fp32":
        return accumulate_fp32(stored, incoming).astype(np.int64)
    if element == "bf16":
        return add_bf16(stored, incoming).astype(np.int64)
    raise ValueError(f"Parameter 'element' must be one of int32, fp32, bf16, not {element!r}")


def allreduce_reference(vectors, element="int32", direction=1):
    """What every node holds after an all-reduce.

    Parameters
    ----------
    vectors : array_like of int, shape (nodes, length)
        Each node's vector: int32 values, or FP32 / BF16 bit patterns.
    element : str
        ``int32``, ``fp32`` or ``bf16``.
    direction : int
        1 (default) for a ring from node ``r`` to ``r + 1``, -1 for the other way round.

    Returns
    -------
    numpy.ndarray of int64, shape (nodes, length)
        Every row is the element-wise sum of all rows: wrapped to int32, or summed chunk by
        chunk in the order of the module's rule.
    """
    vectors = np.asarray(vectors, dtype=np.int64)
    return np.broadcast_to(_reduced(vectors, element, 0, direction), vectors.shape).copy()


def _reduced(vectors, element, first, direction):
    """The element-wise sum of the rows of ``vectors`` (nodes, length), chunk ``c`` summed in
    ring order from node ``c + first * direction``, each next node ``direction`` on."""
    if direction not in (1, -1):
        raise ValueError(f"Parameter 'direction' must be 1 or -1, not {direction!r}")
    nodes, length = vectors.shape
    if element == "int32":
        return wrap_int32(vectors.sum(axis=0))
    total = np.empty(length, dtype=np.int64)
    start = 0
    for chunk, size in enumerate(chunk_sizes(length, nodes)):
        window = slice(start, start + size)
        start += size
        partial = vectors[(chunk + direction * first) % nodes, window]
        for offset in range(first + 1, first + nodes):
            partial = add_elements(element, vectors[(chunk + direction * offset) % nodes,
                                                    window], partial)
        total[window] = partial
    return total


def collective_reference(inputs, element="int32", collective="allreduce", direction=1):
    """What every node holds after a ring collective.

    Parameters
    ----------
    inputs : array_like of int
        Each node's input: shape (nodes, length) for an all-reduce or reduce-scatter (the
        whole vector), (nodes, length / nodes) for an all-gather (node ``r``'s chunk ``r``).
        int32 values, or FP32 / BF16 bit patterns.
    element : str
        ``int32``, ``fp32`` or ``bf16``.
    collective : str
        ``allreduce`` (:func:`allreduce_reference`); ``reducescatter``: node ``r`` gets chunk
        ``r`` of the sum, each chunk ``c`` summed in ring order from node ``c + 1`` (the
        schedule that ends at node ``c``); ``allgather``: every node gets the chunks of all
        nodes in node order.
    direction : int
        1 (default) for a ring from node ``r`` to ``r + 1``; -1 for the other way round, each
        sum starting at node ``c - 1`` (reduce-scatter) or ``c`` (all-reduce) and going down.

    Returns
    -------
    numpy.ndarray of int64
        Shape (nodes, length) for an all-reduce or all-gather, (nodes, length / nodes) for a
        reduce-scatter.
    """
    inputs = np.asarray(inputs, dtype=np.int64)
    nodes = inputs.shape[0]
    if collective == "allreduce":
        return allreduce_reference(inputs, element, direction)
    if collective == "allgather":
        return np.broadcast_to(inputs.ravel(), (nodes, inputs.size)).copy()
    if collective == "reducescatter":
        return _reduced(inputs, element, 1, direction).reshape(nodes, -1)
    raise ValueError(f"Parameter 'collective' must be one of allreduce, reducescatter, "
                     f"allgather, not {collective!r}")


def chunk_sizes(length, nodes):
    """Elements of each of the ``nodes`` chunks of a vector of ``length`` elements."""
    base, extra = divmod(length, nodes)
    return [base + (chunk < extra) for chunk in range(nodes)]


def ring_allreduce(vectors, element="int32", collective="allreduce", direction=1):
    """The ring schedule of the RTL, step by step, in numpy.

    Node ``r`` sends chunk ``(r + d (first - s)) mod nodes`` to node ``r + d`` at step ``s``
    (``d`` the ``direction``; ``first`` = -1 for the reduce-scatter, 0 otherwise) and adds
    (reduce-scatter phase) or keeps (all-gather phase) what it receives: ``2 (nodes - 1)``
    steps for the all-reduce, ``nodes - 1`` for the others.

    Parameters
    ----------
    vectors : array_like of int
        As the ``inputs`` of :func:`collective_reference`.
    element : str
        ``int32``, ``fp32`` or ``bf16``.
    collective : str
        ``allreduce``, ``reducescatter`` or ``allgather``.
    direction : int
        1 (default) or -1, as for :func:`collective_reference`.

    Returns
    -------
    numpy.ndarray of int64
        Each node's output; equal to :func:`collective_reference`.
    """
    inputs = np.array(vectors, dtype=np.int64)
    nodes = inputs.shape[0]
    if collective == "allgather":  # node r holds chunk r alone
        local = np.zeros((nodes, inputs.size), dtype=np.int64)
        for node in range(nodes):
            local[node, node * inputs.shape[1]:(node + 1) * inputs.shape[1]] = inputs[node]
    else:
        local = inputs
    length = local.shape[1]
    bounds = np.cumsum([0, *chunk_sizes(length, nodes)])
    windows = [slice(bounds[chunk], bounds[chunk + 1]) for chunk in range(nodes)]
    first = -1 if collective == "reducescatter" else 0
    reducing = {"allreduce": nodes - 1, "reducescatter": nodes - 1, "allgather": 0}[collective]
    for step in range(nodes - 1 if collective != "allreduce" else 2 * (nodes - 1)):
        # Every node sends at once: take all the chunks before any node adds.
        sent = [local[node, windows[(node + direction * (first - step)) % nodes]].copy()
                for node in range(nodes)]
        for node in range(nodes):
            window = windows[(node + direction * (first - step - 1)) % nodes]
            incoming = sent[(node - direction) % nodes]
            local[node, window] = add_elements(element, local[node, window], incoming) \
                if step < reducing else incoming
    if collective == "reducescatter":
        return np.stack([local[node, windows[node]] for node in range(nodes)])
    return local


def paced(latency, times, earliest, hops, interval):
    """Append to ``times`` (the cycles of the flits so far at one point of a path) the cycle of
    the next flit, ready at ``earliest``: no sooner than ``interval`` cycles after the one
    before (the path's slowest link) and, on a path over ``hops`` links, than
    ``latency.credit_loop`` cycles after the flit ``latency.buffer_depth`` places before it
    (``latency`` a :class:`~sim_models.fabric.ZeroLoadLatency`). Returns that cycle."""
    if times:
        earliest = max(earliest, times[-1] + interval)
        if hops and len(times) >= latency.buffer_depth:
            earliest = max(earliest, times[-latency.buffer_depth] + latency.credit_loop)
    times.append(earliest)
    return earliest


class LocalStreams:
    """The elements a node of a collective takes and gives through its one-element local
    streams, for estimates that have ``length``, ``nodes`` and ``collective``."""

    @property
    def inputs(self):
        """Elements each node takes: the vector, or its chunk for an all-gather."""
        return self.length // self.nodes if self.collective == "allgather" else self.length

    @property
    def outputs(self):
        """Elements each node gives: the vector, or its chunk for a reduce-scatter."""
        return self.length // self.nodes if self.collective == "reducescatter" else \
            self.length

    @property
    def local_cycles(self):
        """Cycles of streaming through the one-element local ports that an alpha-beta fit
        leaves out: the inputs, one cycle, the outputs."""
        return self.inputs + 1 + self.outputs

    def exact(self):
        """Whether :meth:`cycles` is what the RTL takes with ideal streams (the ring's and the
        torus's schedules are), rather than a lower bound."""
        return True


@dataclass(frozen=True)
class AllReduceEstimate(LocalStreams):
    """Analytic cycle count of one all-reduce on the RTL ring, with ideal local streams (every
    node's vector offered back to back, every result taken at once) and an idle fabric.

    Counted from the handshake of the first element of the input vectors to that of the last
    element of the results, in cycles:

    * ``length`` cycles to take the vector (one element per cycle), the last of them ending
      with the first packet's header on its inject handshake;
    * ``2 * (nodes - 1)`` steps of :meth:`step` cycles: the header crosses one hop
      (:meth:`ZeroLoadLatency.header <sim_models.fabric.ZeroLoadLatency.header>`), the payload
      follows one flit per cycle, and the interface sends the next header ``turnaround``
      cycles after the last flit arrived;
    * one cycle to read the first result row, then ``length`` cycles to give the results.

    Chunks of different sizes are charged at the longest chunk's flits: every dependency chain
    of the schedule follows one chunk round the ring.

    Members
    -------
    nodes : int
        Nodes of the ring.
    length : int
        Elements per vector.
    elements_per_flit : int
        Elements per payload flit.
    latency : ZeroLoadLatency
        Fabric latency model.
    turnaround : int
        Cycles from the eject handshake of a packet's last flit to the inject handshake of the
        header that forwards it.
    collective, forwarding : str
        As :class:`~sim_models.config.AllReduceConfig` names them.
    links : tuple of (int, int)
        Per node ``r``, the links crossed from node ``r - 1`` to node ``r`` and the slowest
        one's flit interval (cycles); empty for a ring: one link of interval 1 each.
    """
    nodes: int
    length: int
    elements_per_flit: int = 1
    latency: ZeroLoadLatency = field(default_factory=ZeroLoadLatency)
    turnaround: int = 1
    collective: str = "allreduce"
    forwarding: str = "store"
    links: tuple = ()

    @classmethod
    def of(cls, config):
        """The estimate of the all-reduce ring ``config`` (an
        :class:`~sim_models.config.AllReduceConfig`): its nodes, vector length, elements per
        flit, collective and forwarding, and the zero-load latency of its input buffers."""
        fabric = config.ring
        links = ()
        if fabric.switched:
            topology = fabric.topology
            pairs = [((node - 1) % fabric.nodes, node) for node in range(fabric.nodes)]
            links = tuple((len(crossed_links(topology, *pair)),
                           slowest_interval(topology, *pair)) for pair in pairs)
        return cls(fabric.nodes, config.vector_length, config.elements_per_flit,
                   ZeroLoadLatency(buffer_depth=fabric.buffer_depth),
                   collective=config.collective, forwarding=config.forwarding, links=links)

    @property
    def chunk_flits(self):
        """Payload flits of the longest chunk."""
        return -(-max(chunk_sizes(self.length, self.nodes)) // self.elements_per_flit)

    @property
    def steps(self):
        """Packets each node sends: ``2 * (nodes - 1)`` for an all-reduce, ``nodes - 1`` for a
        reduce-scatter or all-gather."""
        return (2 if self.collective == "allreduce" else 1) * (self.nodes - 1)

    def step(self):
        """Cycles of one step: header latency over one hop, payload serialization and the
        interface's turnaround."""
        return (self.latency.header(1) + self.latency.serialization(1, self.chunk_flits) +
                self.turnaround)

    def network(self):
        """Cycles from the first header's inject handshake to one cycle after the last flit
        of the last step arrives at the node that receives last, flit by flit at every node.

        Node ``r`` sends its step-``s`` header one cycle after its own last flit went and,
        storing and forwarding, ``turnaround`` cycles after the last flit of the step-``s - 1``
        packet from node ``r - 1`` arrived; cut through, one cycle after that packet's header
        arrived, each payload flit ``k`` two cycles after flit ``k`` of that packet arrived (a
        cycle to write the row, one to read it). A flit arrives
        :meth:`ZeroLoadLatency.header` cycles after it went; a flit leaves (arrives)
        ``interval`` cycles after the one before it at the earliest (the slowest link's,
        chip links included) and, on a path that crosses links, no sooner than
        ``credit_loop`` cycles after the flit ``buffer_depth`` places before it left
        (arrived). On a ring this is ``steps * step()`` storing and forwarding: every
        dependency chain follows one chunk round the ring."""
        latency, nodes = self.latency, self.nodes
        flits = [-(-size // self.elements_per_flit) for size in chunk_sizes(self.length, nodes)]
        first = -1 if self.collective == "reducescatter" else 0
        links = self.links or ((1, 1),) * nodes
        cut_through = self.forwarding == "cut-through"

        sent = [[-1]] * nodes   # per node, inject cycle of each flit of its last packet
        arrived = [None] * nodes  # per node, eject cycle of each flit of the packet it sent
        for step in range(self.steps):
            previous = list(arrived)
            for node in range(nodes):
                hops, interval = links[(node + 1) % nodes]
                incoming = previous[node - 1]
                header = sent[node][-1] + 1
                if step:
                    header = max(header, incoming[0] + 1 if cut_through else
                                 incoming[-1] + self.turnaround)
                times = [header]
                for flit in range(1, flits[(node + first - step) % nodes] + 1):
                    ready = incoming[flit] + 2 if cut_through and step else times[-1] + 1
                    paced(latency, times, ready, hops, interval)
                ejected = []
                for went in times:
                    paced(latency, ejected, went + latency.header(hops), hops, interval)
                sent[node], arrived[node] = times, ejected
        return max(times[-1] for times in arrived) + 1

    def cycles(self):
        """Cycles from the first input handshake to the last output handshake."""
        return self.inputs + self.network() + 1 + self.outputs
