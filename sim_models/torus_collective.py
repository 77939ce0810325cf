"""Collectives on a 2-D or 3-D torus, dimension by dimension: the reference model (the order of
the additions the RTL makes) and the cycle estimate of the RTL (``hdl.fabric.torus_collective``).

The all-reduce of a vector of ``length`` elements on an X x Y (x Z) torus runs, at every node,
one ring collective per phase (:attr:`~sim_models.config.AllReduceConfig.phases`):

1. a reduce-scatter along the node's X ring (the nodes that differ only in x): node ``x``
   keeps chunk ``x`` of ``X`` (``length / X`` elements), summed in ring order from node
   ``x + 1`` (:func:`~sim_models.allreduce.collective_reference`);
2. a reduce-scatter of that chunk along the Y ring: node ``y`` keeps sub-chunk ``y``;
3. the same along Z, over ``length / (X Y)`` elements;
4. all-gathers back along Z, Y and X, each concatenating its ring's chunks in ring order.

Each ring runs one way round (the + direction; the - links carry only the rendezvous packets),
or, when bidirectional, two rings run at once in every phase: the + way over the first half of
every chunk of the phase, the - way (``direction=-1`` of
:func:`~sim_models.allreduce.collective_reference`) over the second half, so that each half's
sums run in opposite orders. The order puts the Trn2 UltraServer's half-bandwidth Z links where
the least data crosses them: ``(Z - 1) / Z * length / (X Y)`` elements per node each way, 1/16
of what X carries on a 4 x 4 x 4 torus. So element ``e`` is the sum of the X sums (each in
X-ring order) added in Y-ring order, those added in Z-ring order, every addition rounded on its
own as on the ring (``sim_models.allreduce``). The reduce-scatter alone leaves node
``(x, y, z)`` with chunk ``(x * Y + y) * Z + z`` of ``X Y Z``; the all-gather takes that chunk
there.
"""

from dataclasses import dataclass, field

import numpy as np

from .allreduce import AllReduceEstimate, LocalStreams, collective_reference
from .direct_allreduce import DirectEstimate, direct_reference
from .fabric import ZeroLoadLatency
from .topology import LOCAL, RELATIONS, Torus, minus_port, plus_port, route
from .torus_schedule import Lane, lane_schedule

__all__ = ["torus_phases", "torus_collective_reference", "chunk_of_node", "reference_of",
           "TorusCollectiveEstimate", "estimate_of"]


def torus_phases(dimensions, collective):
    """``(dimension, ring collective)`` of every phase, in order, on a torus of
    ``dimensions`` dimensions: reduce-scatters X, Y, Z, then all-gathers Z, Y, X for the
    all-reduce; one half for the reduce-scatter or the all-gather."""
    scatter = [(dim, "reducescatter") for dim in range(dimensions)]
    gather = [(dim, "allgather") for dim in reversed(range(dimensions))]
    if collective not in ("allreduce", "reducescatter", "allgather"):
        raise ValueError(f"Parameter 'collective' must be one of allreduce, reducescatter, "
                         f"allgather, not {collective!r}")
    return {"allreduce": scatter + gather, "reducescatter": scatter,
            "allgather": gather}[collective]


def chunk_of_node(dims, node):
    """Chunk (of ``prod(dims)``) that the reduce-scatter leaves at ``node`` and the
    all-gather takes there: the node's coordinates as digits, X most significant."""
    chunk = 0
    for side, coordinate in zip(dims, Torus(tuple(dims)).coordinates(node)):
        chunk = chunk * side + coordinate
    return chunk


def _ring_phase(vectors, element, collective, bidirectional):
    """One phase's ring collective on ``vectors`` (one row per ring node, in ring order): one
    ring the + way, or the + way over the first half of every chunk and the - way over the
    second half, each node's output the two halves of each chunk side by side again."""
    if not bidirectional:
        return collective_reference(vectors, element, collective)
    side = vectors.shape[0]
    if collective == "allgather":  # each node's own chunk
        half = vectors.shape[1] // 2
        parts = [collective_reference(vectors[:, slice_], element, collective, direction)
                 .reshape(side, side, half)
                 for slice_, direction in ((slice(None, half), 1), (slice(half, None), -1))]
        return np.concatenate(parts, axis=2).reshape(side, -1)
    chunks = vectors.reshape(side, side, -1)
    half = chunks.shape[2] // 2
    parts = [collective_reference(chunks[:, :, slice_].reshape(side, -1), element, collective,
                                  direction)
             for slice_, direction in ((slice(None, half), 1), (slice(half, None), -1))]
    return np.concatenate(parts, axis=1)


def torus_collective_reference(inputs, dims, element="int32", collective="allreduce",
                               bidirectional=False):
    """What every node of a torus holds after a collective run dimension by dimension.

    Parameters
    ----------
    inputs : array_like of int
        Each node's input, node ``x + X * y + X * Y * z`` in row ``x + X * y + X * Y * z``:
        shape (nodes, length) for an all-reduce or reduce-scatter, (nodes, length / nodes)
        for an all-gather (the chunk :func:`chunk_of_node` names). int32 values, or FP32 /
        BF16 bit patterns.
    dims : tuple of int
        Sides of the torus, X first, each at least 2.
    element : str
        ``int32``, ``fp32`` or ``bf16``.
    collective : str
        ``allreduce``, ``reducescatter`` or ``allgather``.
    bidirectional : bool
        Two rings per phase, one each way round (the module docstring), instead of one.

    Returns
    -------
    numpy.ndarray of int64
        Shape (nodes, length) for an all-reduce or all-gather, (nodes, length / nodes) for a
        reduce-scatter.

    Raises
    ------
    ValueError
        If the inputs' rows are not one per node, or their length not a multiple of the nodes
        (for the all-reduce and reduce-scatter; of twice the nodes, or an all-gather's chunk
        not even, when bidirectional).
    """
    torus = Torus(tuple(dims))
    local = np.asarray(inputs, dtype=np.int64)
    if local.ndim != 2 or local.shape[0] != torus.nodes:
        raise ValueError(f"Parameter 'inputs' must have one row per node, {torus.nodes}, "
                         f"not shape {local.shape}")
    lanes = 2 if bidirectional else 1
    multiple = lanes if collective == "allgather" else lanes * torus.nodes
    if local.shape[1] % multiple:
        raise ValueError(f"Parameter 'inputs' must have a multiple of {multiple} as its length "
                         f"({'bidirectional, ' if bidirectional else ''}{torus.nodes} nodes, "
                         f"{collective}), not {local.shape[1]}")
    positions = [torus.coordinates(node) for node in range(torus.nodes)]
    for dim, ring_collective in torus_phases(len(dims), collective):
        # Each ring of this dimension: the nodes that agree on every other coordinate.
        rings = {}
        for node, position in enumerate(positions):
            rings.setdefault(position[:dim] + position[dim + 1:], []).append(node)
        results = [None] * torus.nodes
        for members in rings.values():
            members.sort(key=lambda node: positions[node][dim])
            outputs = _ring_phase(local[members], element, ring_collective, bidirectional)
            for node, output in zip(members, outputs):
                results[node] = output
        local = np.stack(results)
    return local


def reference_of(config, inputs):
    """Every node's outputs of one collective of ``config`` (an
    :class:`~sim_models.config.AllReduceConfig`) on ``inputs``: the ring's rule on a ring or
    switched fabric, dimension by dimension on a torus, the direct algorithm's on any fabric."""
    if config.algorithm == "direct":
        return direct_reference(inputs, config.element, config.collective)
    if config.torus:
        return torus_collective_reference(inputs, config.ring.dims, config.element,
                                          config.collective, config.bidirectional)
    return collective_reference(inputs, config.element, config.collective)


@dataclass(frozen=True)
class TorusCollectiveEstimate(LocalStreams):
    """Analytic cycle count of one collective run dimension by dimension on the RTL torus, with
    ideal local streams and an idle fabric; the counterpart of
    :class:`~sim_models.allreduce.AllReduceEstimate` (same members used by the testbenches:
    :attr:`inputs`, :attr:`outputs`, :meth:`cycles`).

    With ideal streams every node runs every phase at the same cycles (every ring of a
    dimension is alike), so one ring per phase is followed. Counted from the first input
    handshake, in cycles, a phase whose input ends at cycle ``t`` (its last element taken):

    * its rendezvous packet (a header-only packet to the node it receives from: "ready") goes
      at ``t + 1`` and arrives one hop later, :meth:`ZeroLoadLatency.header(1)
      <sim_models.fabric.ZeroLoadLatency.header>`; a node sends its first data packet of the
      phase the cycle after its successor's rendezvous arrived, :meth:`rendezvous` cycles
      after ``t``;
    * then the ring's steps as on a ring of the dimension's size, its links of the
      dimension's flit interval (:meth:`AllReduceEstimate.network`);
    * the phase's first result 3 cycles after its last flit arrived, then one per cycle, each
      taken at once by the next phase (or given on the node's output).

    Members
    -------
    dims : tuple of int
        Sides of the torus, X first.
    length : int
        Elements of the whole vector.
    elements_per_flit : int
    latency : ZeroLoadLatency
    intervals : tuple of int
        Per dimension, cycles between the flits of a link; empty for 1 everywhere.
    collective, forwarding : str
        As :class:`~sim_models.config.AllReduceConfig` names them.
    bidirectional : bool
        Two rings per phase, one each way round: the lanes share the node's inject port, so
        :meth:`cycles` follows them flit by flit (:func:`~sim_models.torus_schedule.
        lane_schedule`, which gives the same count as the phases' sum with one lane).
    """
    dims: tuple
    length: int
    elements_per_flit: int = 1
    latency: ZeroLoadLatency = field(default_factory=ZeroLoadLatency)
    intervals: tuple = ()
    collective: str = "allreduce"
    forwarding: str = "store"
    bidirectional: bool = False

    @classmethod
    def of(cls, config):
        """The estimate of ``config``, an AllReduceConfig on a torus."""
        fabric = config.ring
        return cls(fabric.dims, config.vector_length, config.elements_per_flit,
                   ZeroLoadLatency(buffer_depth=fabric.buffer_depth), fabric.flit_intervals,
                   config.collective, config.forwarding, config.bidirectional)

    @property
    def directions(self):
        """The ways round each phase's rings run: ``(1,)`` or ``(1, -1)``."""
        return (1, -1) if self.bidirectional else (1,)

    @property
    def nodes(self):
        """Nodes of the torus."""
        return Torus(tuple(self.dims)).nodes

    def phases(self):
        """``(dimension, AllReduceEstimate)`` of every phase's ring (of one lane's ring, over
        half the phase's vector, when bidirectional), in order."""
        result, length = [], self.length // len(self.directions)
        lengths = {}
        for dim, side in enumerate(self.dims):
            lengths[dim] = length
            length //= side
        for dim, collective in torus_phases(len(self.dims), self.collective):
            side = self.dims[dim]
            interval = self.intervals[dim] if self.intervals else 1
            result.append((dim, AllReduceEstimate(
                side, lengths[dim], self.elements_per_flit, self.latency,
                collective=collective, forwarding=self.forwarding,
                links=((1, interval),) * side)))
        return result

    @property
    def local_cycles(self):
        """Cycles of streaming through one-element ports that an alpha-beta fit leaves out:
        the node's inputs, one cycle and the outputs of every phase, the last phase's being
        the node's outputs (each phase hands its results to the next one element per cycle,
        through the ring interfaces' local streams). Bidirectional, the node's inputs, one
        cycle and its outputs alone: a phase's hand-over to the next overlaps the network
        (one lane starts once its turns of the stream are in, while the other's still come),
        so it is not a serial cost to take out."""
        if self.bidirectional:
            return self.inputs + 1 + self.outputs
        return self.inputs + 1 + sum(ring.outputs for _, ring in self.phases())

    @property
    def chunk_flits(self):
        """Payload flits of a chunk of the first phase's rings, the longest packet."""
        return self.phases()[0][1].chunk_flits

    def step(self):
        """Cycles of one step of the first phase's rings (:meth:`AllReduceEstimate.step`)."""
        return self.phases()[0][1].step()

    def rendezvous(self):
        """Cycles from a phase's last input handshake to its first data header: the
        rendezvous packet's inject (1), its hop (:meth:`ZeroLoadLatency.header`), and one
        to register its arrival."""
        return 1 + self.latency.header(1) + 1

    def phase_cycles(self):
        """Per phase, ``(dimension, collective, cycles)``: from the last input handshake of
        the phase to the last handshake of its results, with one ring per phase (two share
        the inject port: :meth:`lanes`)."""
        return [(dim, ring.collective,
                 self.rendezvous() + ring.network() - 1 + 3 + ring.outputs - 1)
                for dim, ring in self.phases()]

    def lanes(self):
        """The phases as :func:`~sim_models.torus_schedule.lane_schedule` takes them:
        ``(lanes, half, outputs)`` per phase, a :class:`~sim_models.torus_schedule.Lane` per
        direction."""
        result = []
        for dim, ring in self.phases():
            interval = self.intervals[dim] if self.intervals else 1
            lanes = [Lane(ring.steps, ring.chunk_flits, interval, self._link(dim, direction),
                          self._link(dim, -direction)) for direction in self.directions]
            result.append((lanes, ring.length // self.dims[dim], len(lanes) * ring.outputs))
        return result

    def _link(self, dim, direction):
        """The output port by which a packet for the next node ``direction`` round dimension
        ``dim`` leaves, as the dateline relation chooses it (every node alike; the naive one
        picks the same ports): on a side of 2 the + and - neighbours are one node, and the
        tie rule sends both ways the + way."""
        torus = Torus(tuple(self.dims))
        neighbour = torus.neighbour(0, plus_port(dim) if direction == 1 else minus_port(dim))
        return route(torus, RELATIONS["dateline"], 0, LOCAL, 0, neighbour).port

    def cycles(self):
        """Cycles from the first input handshake to the last output handshake: the phases'
        sum with one ring per phase, the lanes' schedule with two."""
        if self.bidirectional:
            return lane_schedule(self.lanes(), self.inputs, self.latency)
        return self.inputs - 1 + sum(cycles for _, _, cycles in self.phase_cycles())


def estimate_of(config):
    """The cycle estimate of ``config`` (an AllReduceConfig): an
    :class:`~sim_models.allreduce.AllReduceEstimate` on a ring or switched fabric, a
    :class:`TorusCollectiveEstimate` on a torus, a
    :class:`~sim_models.direct_allreduce.DirectEstimate` for the direct algorithm."""
    if config.algorithm == "direct":
        return DirectEstimate.of(config)
    if config.torus:
        return TorusCollectiveEstimate.of(config)
    return AllReduceEstimate.of(config)
