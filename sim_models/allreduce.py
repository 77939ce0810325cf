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
"""

from dataclasses import dataclass, field

import numpy as np

from .fabric import ZeroLoadLatency
from .floats import accumulate_fp32, add_bf16

__all__ = ["INT32_MIN", "INT32_MAX", "wrap_int32", "add_elements", "allreduce_reference",
           "chunk_sizes", "ring_allreduce", "AllReduceEstimate"]

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


def allreduce_reference(vectors, element="int32"):
    """What every node holds after an all-reduce.

    Parameters
    ----------
    vectors : array_like of int, shape (nodes, length)
        Each node's vector: int32 values, or FP32 / BF16 bit patterns.
    element : str
        ``int32``, ``fp32`` or ``bf16``.

    Returns
    -------
    numpy.ndarray of int64, shape (nodes, length)
        Every row is the element-wise sum of all rows: wrapped to int32, or summed chunk by
        chunk in the order of the module's rule.
    """
    vectors = np.asarray(vectors, dtype=np.int64)
    nodes, length = vectors.shape
    if element == "int32":
        total = wrap_int32(vectors.sum(axis=0))
    else:
        total = np.empty(length, dtype=np.int64)
        start = 0
        for chunk, size in enumerate(chunk_sizes(length, nodes)):
            window = slice(start, start + size)
            start += size
            partial = vectors[chunk, window]
            for offset in range(1, nodes):
                partial = add_elements(element, vectors[(chunk + offset) % nodes, window],
                                       partial)
            total[window] = partial
    return np.broadcast_to(total, vectors.shape).copy()


def chunk_sizes(length, nodes):
    """Elements of each of the ``nodes`` chunks of a vector of ``length`` elements."""
    base, extra = divmod(length, nodes)
    return [base + (chunk < extra) for chunk in range(nodes)]


def ring_allreduce(vectors, element="int32"):
    """The ring all-reduce schedule of the RTL, step by step, in numpy.

    Parameters
    ----------
    vectors : array_like of int, shape (nodes, length)
        As for :func:`allreduce_reference`.
    element : str
        ``int32``, ``fp32`` or ``bf16``.

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
            local[node, window] = add_elements(element, local[node, window], incoming) \
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
