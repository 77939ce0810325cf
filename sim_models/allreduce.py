"""Reference model of ring all-reduce of int32 vectors, and the cycle estimate of the RTL
(``hdl.fabric.allreduce``).

Nothing here depends on the RTL. The vector of ``length`` elements is split into one chunk per
node, the first ``length % nodes`` chunks one element longer than the others. Node ``r`` sends
chunk ``(r - s) mod nodes`` to node ``r + 1`` at step ``s`` of ``2 * (nodes - 1)``, adding what
it receives during the first ``nodes - 1`` steps (reduce-scatter) and keeping it during the
rest (all-gather).
"""

from dataclasses import dataclass, field

import numpy as np

from .fabric import ZeroLoadLatency

__all__ = ["INT32_MIN", "INT32_MAX", "wrap_int32", "allreduce_reference", "chunk_sizes",
           "ring_allreduce", "AllReduceEstimate"]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def wrap_int32(values):
    """Integers wrapped to int32 (two's complement), as int64 arrays of the same shape."""
    values = np.asarray(values, dtype=np.int64)
    return (values - INT32_MIN) % (1 << 32) + INT32_MIN


def allreduce_reference(vectors):
    """What every node holds after an all-reduce.

    Parameters
    ----------
    vectors : array_like of int, shape (nodes, length)
        Each node's int32 vector.

    Returns
    -------
    numpy.ndarray of int64, shape (nodes, length)
        Every row is the element-wise sum of all rows, wrapped to int32.
    """
    vectors = np.asarray(vectors, dtype=np.int64)
    total = wrap_int32(vectors.sum(axis=0))
    return np.broadcast_to(total, vectors.shape).copy()


def chunk_sizes(length, nodes):
    """Elements of each of the ``nodes`` chunks of a vector of ``length`` elements."""
    base, extra = divmod(length, nodes)
    return [base + (chunk < extra) for chunk in range(nodes)]


def ring_allreduce(vectors):
    """The ring all-reduce schedule of the RTL, step by step, in numpy.

    Parameters
    ----------
    vectors : array_like of int, shape (nodes, length)

    Returns
    -------
    numpy.ndarray of int64, shape (nodes, length)
        Each node's copy at the end; equal to :func:`allreduce_reference`.
    """
    local = np.array(vectors, dtype=np.int64)
    nodes, length = local.shape
    bounds = np.cumsum([0, *chunk_sizes(length, nodes)])
    windows = [slice(bounds[chunk], bounds[chunk + 1]) for chunk in range(nodes)]
    for step in range(2 * (nodes - 1)):
        # Every node sends at once: take all the chunks before any node adds.
        sent = [local[node, windows[(node - step) % nodes]].copy() for node in range(nodes)]
        for node in range(nodes):
            window = windows[(node - step - 1) % nodes]
            incoming = sent[(node - 1) % nodes]
            local[node, window] = wrap_int32(local[node, window] + incoming) \
                if step < nodes - 1 else incoming
    return local


@dataclass(frozen=True)
class AllReduceEstimate:
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
    """
    nodes: int
    length: int
    elements_per_flit: int = 1
    latency: ZeroLoadLatency = field(default_factory=ZeroLoadLatency)
    turnaround: int = 1

    @classmethod
    def of(cls, config):
        """The estimate of the all-reduce ring ``config`` (an
        :class:`~sim_models.config.AllReduceConfig`): its nodes, vector length and elements per
        flit, and the zero-load latency of its input buffers."""
        return cls(config.ring.nodes, config.vector_length, config.elements_per_flit,
                   ZeroLoadLatency(buffer_depth=config.ring.buffer_depth))

    @property
    def chunk_flits(self):
        """Payload flits of the longest chunk."""
        return -(-max(chunk_sizes(self.length, self.nodes)) // self.elements_per_flit)

    @property
    def steps(self):
        """Packets each node sends: ``2 * (nodes - 1)``."""
        return 2 * (self.nodes - 1)

    def step(self):
        """Cycles of one step: header latency over one hop, payload serialization and the
        interface's turnaround."""
        return (self.latency.header(1) + self.latency.serialization(1, self.chunk_flits) +
                self.turnaround)

    def cycles(self):
        """Cycles from the first input handshake to the last output handshake."""
        return self.length + self.steps * self.step() + 1 + self.length
