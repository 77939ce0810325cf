"""One GEMM on one chip: Tensor Engine cycles from the RTL-validated cycle model, HBM traffic
from the tiling that SBUF allows, and whichever of the two takes longer (a roofline).

Orientation follows ``nc_matmul``: ``out[M, N] = stationary[K, M]^T @ moving[K, N]``, with the
weights stationary and the tokens moving. The chip's cores share the work by cutting N (each
core then reads all the weights) or M (each core reads its slice of the weights); the cut that
finishes sooner is taken.

HBM traffic of one core, in bytes: the core keeps an output block of ``Mb x Nb`` FP32 partial
sums on chip while K streams through in slabs of ``K_SLAB`` rows, double-buffered, so a square
block of side B fits when ``4 B^2 + 2 * K_SLAB * 2B * bytes_in <= SBUF`` (FP32 sums, then
two buffers of the two panels' slabs). Every block reads
its ``Mb x K`` stationary and ``K x Nb`` moving panels once and writes its outputs once:

    traffic = bytes_in (M K ceil(N / Nb) + K N ceil(M / Mb)) + bytes_out M N
"""

import math
from dataclasses import dataclass

from .core_cycles import gemm_cycles
from .datatypes import element_bytes, output_bytes
from .peak import chip_peak, macs_per_pe_per_cycle

__all__ = ["K_SLAB", "GemmEstimate", "block_side", "core_traffic", "chip_gemm"]

#: Rows of K that one SBUF slab of an operand panel holds (one full moving tile of 512 columns
#: is the natural DMA unit; the panel is double-buffered).
K_SLAB = 512


@dataclass(frozen=True)
class GemmEstimate:
    """Time of one GEMM on one chip.

    Members
    -------
    m, k, n : int
        Shape.
    datatype : str
    flops : float
        ``2 m k n``.
    compute_seconds : float
        Tensor Engine time of the busiest core, from the cycle model.
    hbm_bytes : float
        Bytes moved between HBM and SBUF by all cores.
    memory_seconds : float
        ``hbm_bytes`` over the chip's HBM bandwidth.
    peak_flops : float
        The chip's peak in this datatype, FLOP/s.
    split : str
        ``"N"`` or ``"M"``: the dimension cut across cores.
    """
    m: int
    k: int
    n: int
    datatype: str
    flops: float
    compute_seconds: float
    hbm_bytes: float
    memory_seconds: float
    peak_flops: float
    split: str

    @property
    def seconds(self):
        """Time of the GEMM: compute and memory overlap, the longer one counts."""
        return max(self.compute_seconds, self.memory_seconds)

    @property
    def bound(self):
        """``"compute"`` or ``"memory"``."""
        return "compute" if self.compute_seconds >= self.memory_seconds else "memory"

    @property
    def intensity(self):
        """Arithmetic intensity, FLOP per HBM byte."""
        return self.flops / self.hbm_bytes

    @property
    def achieved_flops(self):
        """FLOP/s achieved."""
        return self.flops / self.seconds

    @property
    def utilization(self):
        """Achieved over peak FLOP/s, 0..1."""
        return self.achieved_flops / self.peak_flops


def block_side(sbuf_bytes, bytes_in):
    """Side B of the largest square output block whose FP32 partial sums and double-buffered
    operand slabs fit in ``sbuf_bytes`` of SBUF (see the module docstring), in elements."""
    slab = 2 * K_SLAB * 2 * bytes_in   # slab bytes per unit of block side: 2 buffers, 2 panels
    return int((-slab + math.sqrt(slab * slab + 16 * sbuf_bytes)) / 8)


def core_traffic(m, k, n, sbuf_bytes, bytes_in, bytes_out):
    """HBM bytes one core moves for a GEMM of shape (m, k, n) (see the module docstring)."""
    side = block_side(sbuf_bytes, bytes_in)
    block_m, block_n = min(side, m), min(side, n)
    return (bytes_in * (m * k * math.ceil(n / block_n) + k * n * math.ceil(m / block_m))
            + bytes_out * m * n)


def chip_gemm(chip, m, k, n, datatype):
    """Time of the GEMM ``out[m, n] = stationary[k, m]^T @ moving[k, n]`` on ``chip`` (a
    NeuronCore-based ChipSpec) in ``datatype``.

    Returns
    -------
    GemmEstimate
    """
    core, cores = chip.core, int(chip.cores.value)
    macs = macs_per_pe_per_cycle(chip, datatype)
    bytes_in, bytes_out = element_bytes(datatype), output_bytes(datatype)
    sbuf = core.sbuf.value
    best = None
    for split in ("N", "M"):
        if split == "N":
            share = (m, k, math.ceil(n / cores))
        else:
            share = (math.ceil(m / cores), k, n)
        compute = gemm_cycles(core, *share, macs) / core.clock.value
        traffic = cores * core_traffic(*share, sbuf, bytes_in, bytes_out)
        estimate = GemmEstimate(m, k, n, datatype, 2.0 * m * k * n, compute, traffic,
                                traffic / chip.hbm_bandwidth.value, chip_peak(chip, datatype),
                                split)
        if best is None or estimate.seconds < best.seconds:
            best = estimate
    return best
