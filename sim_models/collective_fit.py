"""Alpha-beta fits of collectives measured on the RTL, and their check on held-out points.

A collective of an algorithm on ``n`` nodes with a message of ``S`` bytes takes

    T(n, S) = alpha * latency_terms(n) + beta * byte_terms(n, S)        cycles

with alpha in cycles per operation (a step, or a message) and beta in cycles per byte. The
terms come from the algorithm (:data:`ALGORITHMS`):

- ``allreduce``/``ring``: a reduce-scatter and an all-gather of ``n - 1`` steps each;
  ``latency_terms = 2 (n - 1)``, ``byte_terms = 2 (n - 1) / n * S`` (``S``: the vector's bytes,
  each step moves ``S / n`` over every link at once), each step stored and forwarded;
  ``allreduce``/``ring-cut-through`` the same terms, each chunk forwarded flit by flit.
- ``reducescatter``/``ring`` and ``allgather``/``ring``: one such phase, ``latency_terms =
  n - 1``, ``byte_terms = (n - 1) / n * S`` (``S``: the whole vector's bytes).
- ``allreduce``/``dimension-wise``: the all-reduce of a ``d``-dimensional torus dimension by
  dimension (``sim_models.torus_collective``) on a ``k x ... x k`` torus (``d`` = 2 or 3, from
  the fit's topology ``torus2d`` or ``torus3d``; ``k`` the ``d``-th root of ``n``), whose Z
  links carry a flit every :data:`TORUS_Z_INTERVAL` cycles (the Trn2 UltraServer's shape; a
  2-D torus has X and Y links only, a flit per cycle). It runs ``2 d`` phases (a
  reduce-scatter per dimension, then an all-gather per dimension), each a ring's ``k - 1``
  steps after one rendezvous (a header-only packet over one hop, as the RTL sends before a
  phase's first data): ``latency_terms = 2 d (k - 1) + 2 d = 2 d k``, a phase's rendezvous
  counted as one step; ``byte_terms = 2 (k - 1) / k * S * (1 + 1 / k [+ 2 / k**2])``, each
  dimension's ring moving ``(k - 1) / k`` of what it holds (``S``, then ``S / k``, then ``S /
  k**2``), the Z ring's bytes counted twice for its half-rate links.
  ``reducescatter``/``dimension-wise`` and ``allgather``/``dimension-wise``: one half, ``d``
  phases (X, Y, Z; or Z, Y, X): ``latency_terms = d k``, half the all-reduce's bytes.
- ``allreduce``/``dimension-wise-bidirectional``: the same with two rings per dimension, one
  each way round, each over half of every chunk (``AllReduceConfig.bidirectional``): the same
  ``latency_terms``, half the ``byte_terms`` (each link direction carries half the bytes).
- ``allreduce``/``direct`` (Neuron's Mesh, ``hdl.fabric.direct_allreduce``): every node sends
  each chunk straight to the node that reduces it, then that node sends the sum straight to
  every node: two steps whatever the nodes, ``latency_terms = 2``, each moving ``(n - 1) / n *
  S`` through a node's port, ``byte_terms = 2 (n - 1) / n * S`` as the ring's (a packet's
  header flit, ``n - 1`` of them per step, is left to the fit's error);
  ``reducescatter``/``direct`` and ``allgather``/``direct`` one step each.
- ``alltoall``/``direct``: every node sends one packet to each of the ``n - 1`` others, from one
  injection port; ``latency_terms = n - 1``, ``byte_terms = (n - 1) * S`` (``S``: the bytes of
  one block, to one destination).

:func:`fit` takes least-squares alpha and beta from the points marked for fitting and reports
the relative error of every point; :func:`held_out` says which points a fit must not see: those
of the largest node count, and those of the largest message size, so that every held-out
error is an extrapolation in nodes, in size, or both. Numpy only.
"""

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["ALGORITHMS", "Algorithm", "FitResult", "TORUS_ALGORITHMS", "TORUS_DIMENSIONS",
           "TORUS_Z_INTERVAL", "algorithm_of", "fit", "held_out", "torus_side"]

#: Cycles between flits of the Z links of the tori the ``dimension-wise`` fit describes (X and
#: Y links carry one per cycle): the Trn2 UltraServer's Z links at half bandwidth.
TORUS_Z_INTERVAL = 2


#: Torus dimensions of the ``dimension-wise`` fits, by topology name.
TORUS_DIMENSIONS = {"torus2d": 2, "torus3d": 3}
#: The algorithms of a torus, dimension by dimension, by the ways round each ring runs.
TORUS_ALGORITHMS = {"dimension-wise": 1, "dimension-wise-bidirectional": 2}


def torus_side(nodes, dimensions):
    """Side ``k`` of the ``k x ... x k`` torus of ``nodes`` nodes in ``dimensions`` (2 or 3)
    dimensions.

    Raises
    ------
    ValueError
        If ``nodes`` is not ``k**dimensions`` with ``k`` an integer of at least 2.
    """
    side = round(nodes ** (1 / dimensions))
    if side < 2 or side ** dimensions != nodes:
        shape = " x ".join(["k"] * dimensions)
        raise ValueError(f"Parameter 'nodes' of a dimension-wise {dimensions}-D torus fit must "
                         f"be k**{dimensions} with k at least 2 (a {shape} torus), not {nodes}")
    return side


@dataclass(frozen=True)
class Algorithm:
    """The alpha-beta terms of one collective algorithm.

    Members
    -------
    collective, name : str
        A key of :data:`ALGORITHMS`, e.g. ``allreduce``/``ring``, ``alltoall``/``direct``.
    message : str
        What the message size ``S`` is, in words (for tables).
    """
    collective: str
    name: str
    message: str
    dimensions: int = 3

    def latency_terms(self, nodes):
        """Operations (steps or messages; a torus phase's rendezvous counts as a step) on the
        critical path; alpha's coefficient."""
        if self.name in TORUS_ALGORITHMS:
            return self._halves * self.dimensions * torus_side(nodes, self.dimensions)
        if self.collective == "alltoall":
            return nodes - 1
        return self._halves * (1 if self.name == "direct" else nodes - 1)

    def byte_terms(self, nodes, size_bytes):
        """Bytes through the busiest link or port; beta's coefficient."""
        if self.collective == "alltoall":
            return (nodes - 1) * size_bytes
        if self.name in TORUS_ALGORITHMS:
            side = torus_side(nodes, self.dimensions)
            intervals = (1, 1, TORUS_Z_INTERVAL)[:self.dimensions]
            return self._halves * (side - 1) / side * size_bytes * sum(
                interval / side ** dim for dim, interval in enumerate(intervals)) / \
                TORUS_ALGORITHMS[self.name]
        return self._halves * (nodes - 1) / nodes * size_bytes

    @property
    def _halves(self):
        """2 for an all-reduce (a reduce-scatter, then an all-gather), 1 for either half."""
        return 2 if self.collective == "allreduce" else 1

    def cycles(self, nodes, size_bytes, alpha, beta):
        """``alpha * latency_terms + beta * byte_terms`` (cycles)."""
        return alpha * self.latency_terms(nodes) + beta * self.byte_terms(nodes, size_bytes)


#: The algorithms measured, by (collective, algorithm name).
ALGORITHMS = {(collective, name): Algorithm(collective, name, message) for collective, name,
              message in [("allreduce", "ring", "vector bytes per node"),
                          ("allreduce", "ring-cut-through", "vector bytes per node"),
                          ("allreduce", "dimension-wise", "vector bytes per node"),
                          ("allreduce", "dimension-wise-bidirectional", "vector bytes per node"),
                          ("reducescatter", "ring", "vector bytes per node"),
                          ("reducescatter", "dimension-wise", "vector bytes per node"),
                          ("allgather", "ring", "vector bytes (all nodes' chunks)"),
                          ("allgather", "dimension-wise", "vector bytes (all nodes' chunks)"),
                          ("allreduce", "direct", "vector bytes per node"),
                          ("reducescatter", "direct", "vector bytes per node"),
                          ("allgather", "direct", "vector bytes (all nodes' chunks)"),
                          ("alltoall", "direct", "block bytes per destination")]}


def algorithm_of(topology, collective, name):
    """The :class:`Algorithm` of a series measured on ``topology`` (``ring``, ``torus2d``,
    ``torus3d``, ``switch``): :data:`ALGORITHMS`' entry, with the torus's dimensions for the
    ``dimension-wise`` all-reduce."""
    algorithm = ALGORITHMS[collective, name]
    if name not in TORUS_ALGORITHMS:
        return algorithm
    if topology not in TORUS_DIMENSIONS:
        raise ValueError(f"Parameter 'topology' of a dimension-wise fit must be one of "
                         f"{', '.join(TORUS_DIMENSIONS)}, not {topology!r}")
    return replace(algorithm, dimensions=TORUS_DIMENSIONS[topology])


def held_out(points):
    """Per point ``(nodes, size_bytes)``, True when a fit must not use it: the largest node
    count, or the largest size, of the series; False for the rest. A series of fewer than two
    node counts or sizes holds nothing out on that axis."""
    nodes = sorted({n for n, _ in points})
    sizes = sorted({s for _, s in points})
    return [(len(nodes) > 1 and n == nodes[-1]) or (len(sizes) > 1 and s == sizes[-1])
            for n, s in points]


@dataclass(frozen=True)
class FitResult:
    """A least-squares alpha-beta fit.

    Members
    -------
    alpha : float
        Cycles per operation.
    beta : float
        Cycles per byte.
    errors : tuple of float
        Per point, ``(model - measured) / measured``.
    """
    alpha: float
    beta: float
    errors: tuple


def fit(algorithm, points, cycles, fitted):
    """Fit alpha and beta of ``algorithm`` to the ``cycles`` of ``points`` ``(nodes,
    size_bytes)`` whose ``fitted`` flag is True.

    Raises
    ------
    ValueError
        If the fitted points cannot determine both parameters (fewer than two, or all with
        proportional terms).
    """
    design = np.array([[algorithm.latency_terms(n), algorithm.byte_terms(n, s)]
                       for n, s in points], float)
    measured = np.array(cycles, float)
    chosen = np.array(fitted, bool)
    if np.linalg.matrix_rank(design[chosen]) < 2:
        raise ValueError(f"{algorithm.collective}/{algorithm.name}: the fitted points "
                         f"{[p for p, f in zip(points, fitted) if f]} cannot determine alpha "
                         f"and beta: at least two sizes are needed")
    (alpha, beta), *_ = np.linalg.lstsq(design[chosen], measured[chosen], rcond=None)
    model = design @ np.array([alpha, beta])
    return FitResult(float(alpha), float(beta), tuple(float(e) for e in
                                                      (model - measured) / measured))
