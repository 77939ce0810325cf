"""Alpha-beta model of all-reduce on rings and tori.

A link is described by its per-hop latency (alpha) and its bandwidth (1 / beta), scaled by the
fraction of that bandwidth a real link achieves (measured on the RTL fabric). Time comes out
in the unit the latency is given in: cycles with a bandwidth in bytes per cycle, or seconds
with a bandwidth in bytes per second.

Ring all-reduce of S bytes over n nodes is a reduce-scatter and an all-gather, each of n - 1
steps that move S / n bytes across every link at once:

    T_ring(n, S) = 2 (n - 1) alpha + 2 (n - 1) / n * S / (efficiency * bandwidth)

On a torus the dimensions are reduced one after another (reduce-scatter along each dimension,
the last one all-reduced, then all-gathers in reverse order), so the data volume shrinks by the
size of each dimension already reduced:

    T_torus(d_1 .. d_k, S) = sum_i 2 (d_i - 1) alpha
                             + sum_i 2 (d_i - 1) / d_i * S / (d_1 ... d_(i-1)) / bandwidth'
"""

from dataclasses import dataclass
from math import prod

from .config import check_int

__all__ = ["MAX_RING_NODES", "Link", "ring_allreduce_time", "torus_allreduce_time"]

#: The most nodes of one ring (and of one torus dimension) the models take.
MAX_RING_NODES = 65536


def _check_positive(subject, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise TypeError(f"{subject} must be a positive number, not {value!r}")


@dataclass(frozen=True)
class Link:
    """One direction of a link, as the collective model sees it.

    Parameters
    ----------
    hop_latency : float
        Time from a flit entering one hop to entering the next (alpha), in the model's time
        unit (cycles or seconds); zero or more.
    bandwidth : float
        Peak payload bandwidth, in bytes per time unit; above zero.
    efficiency : float
        Fraction of ``bandwidth`` achieved under load, in (0, 1] (from the RTL fabric's
        saturation measurement).

    Raises
    ------
    TypeError
        If a value is not a number in its range; the message names the parameter.
    """
    hop_latency: float
    bandwidth: float
    efficiency: float = 1.0

    def __post_init__(self):
        if isinstance(self.hop_latency, bool) or not isinstance(self.hop_latency, (int, float)) \
                or self.hop_latency < 0:
            raise TypeError(f"Parameter 'hop_latency' must be a number of at least 0, "
                            f"not {self.hop_latency!r}")
        _check_positive("Parameter 'bandwidth'", self.bandwidth)
        _check_positive("Parameter 'efficiency'", self.efficiency)
        if self.efficiency > 1:
            raise TypeError(f"Parameter 'efficiency' must be a number in (0, 1], "
                            f"not {self.efficiency!r}")

    @property
    def effective_bandwidth(self):
        """Bandwidth achieved under load, in bytes per time unit."""
        return self.efficiency * self.bandwidth


def _check_size(size_bytes):
    if isinstance(size_bytes, bool) or not isinstance(size_bytes, (int, float)) \
            or size_bytes < 0:
        raise TypeError(f"Parameter 'size_bytes' must be a number of at least 0, "
                        f"not {size_bytes!r}")


def _ring_steps(nodes, size_bytes, link):
    """Reduce-scatter plus all-gather on one ring: (latency term, bandwidth term)."""
    return (2 * (nodes - 1) * link.hop_latency,
            2 * (nodes - 1) / nodes * size_bytes / link.effective_bandwidth)


def ring_allreduce_time(nodes, size_bytes, link):
    """Time of a ring all-reduce of ``size_bytes`` bytes on ``nodes`` nodes (2 to
    :data:`MAX_RING_NODES`).

    Returns
    -------
    float
        Time in the unit of ``link.hop_latency``.
    """
    check_int("Parameter 'nodes'", nodes, 2, MAX_RING_NODES)
    _check_size(size_bytes)
    return sum(_ring_steps(nodes, size_bytes, link))


def torus_allreduce_time(dims, size_bytes, link):
    """Time of a dimension-by-dimension all-reduce on a torus of shape ``dims``.

    Parameters
    ----------
    dims : sequence of int
        Nodes along each dimension, reduced in this order (for example ``(4, 4, 4)`` for a
        Trn2 UltraServer). A dimension of size 1 costs nothing.
    size_bytes : float
        Bytes each node contributes and receives.
    link : Link or sequence of Link
        The link of every dimension, or one link per dimension (a Trn2 UltraServer's Z links
        have half the bandwidth of its X and Y links).

    Returns
    -------
    float
        Time in the unit of the links' ``hop_latency``.
    """
    if not isinstance(dims, (tuple, list)) or not dims:
        raise TypeError(f"Parameter 'dims' must be a non-empty sequence of integers, "
                        f"not {dims!r}")
    for index, size in enumerate(dims):
        check_int(f"Parameter 'dims[{index}]'", size, 1, MAX_RING_NODES)
    _check_size(size_bytes)
    links = [link] * len(dims) if isinstance(link, Link) else list(link)
    if len(links) != len(dims) or not all(isinstance(item, Link) for item in links):
        raise TypeError(f"Parameter 'link' must be a Link or a sequence of {len(dims)} Links, "
                        f"not {link!r}")
    total = 0.0
    for index, (size, dimension_link) in enumerate(zip(dims, links)):
        if size > 1:
            total += sum(_ring_steps(size, size_bytes / prod(dims[:index]), dimension_link))
    return total
