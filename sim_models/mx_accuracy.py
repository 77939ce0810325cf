"""How far Trainium3's MX results lie from the exact product and from AWS's own reference.

``python -m sim_models.mx_accuracy`` prints, for each MX element pair and PSUM destination,
over seeded GEMMs in the shape of one MX pass (K = 512: 128 partitions x 4; 16 x 16 outputs)
whose operands are standard normal values quantized with NKI's ``quantize_mx`` (R15), as a
kernel's data would be:

- the largest and the median error against the exact rational result, in units in the last
  place (ULP) of the destination format at the exact value (:func:`destination_ulps`; the
  largest is an element whose terms cancel, so that its ULP is small);
- for an FP32 destination, the largest error as a share of the rules' bound
  (``mx.mx_error_bound``, R13); it cannot exceed 1;
- the share of elements inside AWS's acceptance band (``mx.aws_band``: ``numpy.allclose``
  with rtol = atol = 5e-2 around the float32 einsum reference of the NKI MX deep dive);
- for stochastic rounding, the mean signed error in BF16 ULPs, which is near 0 when the
  rounding is unbiased (round to nearest even is biased per element, not on average either).

The RTL computes exactly these results: its MX MAC and PSUM write are bit-exact against
``mx.mx_matmul_fp32`` and ``bf16_psum.write_psum`` (tests/test_mx_mac.py,
tests/test_bf16_psum_rtl.py), so these figures are the RTL's.
"""

import argparse
import sys
from dataclasses import dataclass

import numpy as np

from .bf16_psum import PsumDestination, StochasticRoundingBits, write_psum
from .cli import ArgumentParser
from .floats import MX_ELEMENT_FORMATS
from .mx import (aws_band, aws_reference, exact_mx_matmul, mx_error_bound, mx_matmul_fp32,
                 quantize_mx)

__all__ = ["MODES", "Mode", "ModeAccuracy", "destination_ulps", "measure", "table", "main"]

#: Contraction of one MX pass of a 128-row array (128 partitions x 4 elements).
PASS_K = 512
#: Output columns (M and N) of each GEMM.
OUTPUTS = 16
#: Mantissa bits (without the hidden one) of each PSUM destination.
_MANTISSA_BITS = {"fp32": 23, "bf16": 7}
#: Smallest normal exponent of both destinations (BF16 has FP32's exponent range).
_MIN_EXPONENT = -126


@dataclass(frozen=True)
class Mode:
    """One row of the table: the element formats (stationary, moving) and the destination."""
    label: str
    stationary: str
    moving: str
    destination: PsumDestination = PsumDestination()


MODES = (
    Mode("MXFP8 E4M3FN", "fp8_e4m3fn", "fp8_e4m3fn"),
    Mode("MXFP8 E5M2", "fp8_e5m2", "fp8_e5m2"),
    Mode("MXFP4", "fp4_e2m1", "fp4_e2m1"),
    Mode("MXFP8 E4M3FN x MXFP4", "fp8_e4m3fn", "fp4_e2m1"),
    Mode("MXFP4 x MXFP8 E5M2", "fp4_e2m1", "fp8_e5m2"),
    Mode("MXFP8 E4M3FN, BF16 PSUM, RNE", "fp8_e4m3fn", "fp8_e4m3fn",
         PsumDestination("bf16", rounding="rne")),
    Mode("MXFP8 E4M3FN, BF16 PSUM, SR", "fp8_e4m3fn", "fp8_e4m3fn",
         PsumDestination("bf16", rounding="sr")),
)


@dataclass(frozen=True)
class ModeAccuracy:
    """A mode's figures over ``elements`` output elements (see the module's description)."""
    mode: Mode
    elements: int
    largest_ulps: float
    median_ulps: float
    largest_share_of_bound: float | None
    mean_signed_ulps: float
    inside_aws_band: float


def destination_ulps(values, exact, dtype):
    """Signed error ``(values - exact) / ulp(exact)`` in ULPs of ``dtype`` (``fp32`` or
    ``bf16``): ulp(x) is 2**(floor(log2|x|) - mantissa bits), at least that of the smallest
    normal. ``values``, ``exact`` : float64 arrays of one shape (``exact`` converted from the
    exact rationals; the conversion's error, 2**-53 relative, is far below either ULP)."""
    magnitude = np.abs(exact)
    exponent = np.maximum(np.floor(np.log2(np.where(magnitude > 0, magnitude, 1.0))),
                          _MIN_EXPONENT)
    exponent = np.where(magnitude > 0, exponent, _MIN_EXPONENT)
    return (values - exact) / np.exp2(exponent - _MANTISSA_BITS[dtype])


def _decode(bits, dtype):
    bits = np.asarray(bits, dtype=np.uint32)
    if dtype == "bf16":
        bits = bits << np.uint32(16)
    return bits.view(np.float32).astype(np.float64)


def _gemm(rng, mode, k):
    """One GEMM of ``mode``: (destination values, destination bits, FP32 bits, exact float64,
    bound of the FP32 result, AWS's reference)."""
    (s_codes, s_scale), (m_codes, m_scale) = (
        quantize_mx(rng.standard_normal((k, OUTPUTS)), name)
        for name in (mode.stationary, mode.moving))
    args = (s_codes, m_codes, s_scale, m_scale, mode.stationary, mode.moving)
    fp32 = mx_matmul_fp32(*args)
    destination = mode.destination
    random_bits = StochasticRoundingBits(OUTPUTS, seed=int(rng.integers(1 << 32))) \
        if destination.rounding == "sr" else None
    written, dtype = write_psum(None, None, fp32, destination, random_bits)
    exact = np.array(exact_mx_matmul(*args), dtype=np.float64)
    return _decode(written, dtype), written, exact, mx_error_bound(*args), \
        aws_reference(*args), fp32


def measure(mode, gemms=4, seed=1, k=PASS_K):
    """The :class:`ModeAccuracy` of ``mode`` over ``gemms`` seeded GEMMs of contraction ``k``
    (a multiple of 128) and 16 x 16 outputs."""
    rng = np.random.default_rng([seed, MODES.index(mode) if mode in MODES else len(MODES)])
    ulps, shares, inside = [], [], []
    for _ in range(gemms):
        values, written, exact, bound, reference, fp32 = _gemm(rng, mode, k)
        dtype = mode.destination.dtype
        ulps.append(destination_ulps(values, exact, dtype))
        shares.append(np.abs(_decode(fp32, "fp32") - exact) / np.where(bound > 0, bound, 1.0))
        band_bits = written.astype(np.uint32) << np.uint32(16) if dtype == "bf16" else written
        inside.append(aws_band(band_bits, reference))
    ulps = np.concatenate(ulps)
    return ModeAccuracy(
        mode, ulps.size, float(np.abs(ulps).max()), float(np.median(np.abs(ulps))),
        float(np.concatenate(shares).max()) if mode.destination.dtype == "fp32" else None,
        float(ulps.mean()), float(np.concatenate(inside).mean()))


def table(results):
    """A Markdown table of :class:`ModeAccuracy` rows."""
    lines = ["| mode | elements | largest error (ULP of the destination) | median error (ULP) "
             "| largest error / bound (FP32) | mean signed error (ULP) | inside AWS's 5e-2 band |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for result in results:
        share = "-" if result.largest_share_of_bound is None \
            else f"{result.largest_share_of_bound:.3f}"
        lines.append(f"| {result.mode.label} | {result.elements:,} | "
                     f"{result.largest_ulps:.2f} | {result.median_ulps:.3f} | {share} | {result.mean_signed_ulps:+.3f} | "
                     f"{result.inside_aws_band:.1%} |")
    return "\n".join(lines)


def main(argv=None):
    parser = ArgumentParser.for_module("sim_models.mx_accuracy", __doc__,
                                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--gemms", type=int, default=4,
                        help="seeded GEMMs per mode, each 512 x 16 x 16 (1..64)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the operands (0..2**32-1)")
    options = parser.parse_args(argv)
    if not 1 <= options.gemms <= 64:
        parser.error(f"Parameter '--gemms' must be an integer in 1..64, not {options.gemms}")
    if not 0 <= options.seed < 1 << 32:
        parser.error(f"Parameter '--seed' must be an integer in 0..{(1 << 32) - 1}, not "
                     f"{options.seed}")
    print(f"seed {options.seed}, {options.gemms} GEMMs of K = {PASS_K}, {OUTPUTS} x {OUTPUTS} "
          f"per mode; operands: standard normal values quantized by quantize_mx (NKI's scale)")
    print(table([measure(mode, options.gemms, options.seed) for mode in MODES]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
