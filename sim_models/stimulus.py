"""The GEMMs a tile characterization runs, rebuilt without a simulator: their formats
(:func:`characterization_formats`), their shapes (:func:`characterization_shapes`) and their
seeded random operands (:func:`characterization_gemm`), drawn exactly as the testbench draws
them; and the random operands and GEMMs of the tile tests (:func:`random_operand`,
:func:`random_gemm`, :func:`seeded_generator`)."""

from dataclasses import dataclass

import numpy as np

from .config import MX_ONLY_FORMATS, PE_FORMATS
from .floats import MX_ELEMENT_FORMATS
from .golden import is_fp8
from .program import INT8, MatmulFormat
from .tiler import TiledGemm, tile_gemm

__all__ = ["RandomGemm", "characterization_formats", "characterization_gemm",
           "characterization_shapes", "gemm_name", "peak_format", "random_gemm",
           "random_operand", "random_scales", "seeded_generator", "steady_state_shapes"]

#: Moving free size N of the characterization GEMMs: the NeuronCore's PSUM bank of 512 vectors.
_BANK_DEPTH = 512


#: Largest distance of a random floating-point operand's exponent from 0 (values of magnitude
#: 2**-3 .. 2**4): wide enough to exercise alignment, narrow enough that no sum of a
#: characterization GEMM nears FP32's range and no value is a subnormal or a special.
_EXPONENT_SPREAD = 3
#: Largest distance of a random E8M0 block scale from 2**0 (bytes 127 - 4 .. 127 + 4): scales
#: that move whole groups against each other, as ``quantize_mx`` does, without nearing FP32's
#: range.
_SCALE_SPREAD = 4


def characterization_formats(config):
    """The :class:`MatmulFormat` s a characterization of ``config`` runs: int8 on an int8 tile;
    otherwise each format of the tile that multiplies outside MX mode on both operands, then
    each FP8 format in double-row mode, then, on a tile with MX mode, each MX element format in
    MX mode (random E8M0 block scales)."""
    if not config.floating:
        return [INT8]
    return [MatmulFormat(name, name) for name in config.formats if name not in MX_ONLY_FORMATS] + \
        [MatmulFormat(name, name, double_row=True) for name in config.formats if is_fp8(name)] + \
        [MatmulFormat(name, name, mx=True) for name in config.formats
         if config.mx and name in MX_ELEMENT_FORMATS]


def peak_format(config):
    """The :class:`MatmulFormat` in which ``config`` does the most MACs per PE per cycle, the
    first of :func:`characterization_formats` with the most products per PE row: MX mode in its
    first MX element format on a tile with MX mode, else FP8 double-row mode when the tile has
    an FP8 format (its first), else its first format on both operands (int8 on an int8
    tile)."""
    return max(characterization_formats(config), key=lambda item: item.rows_per_pe)


def steady_state_shapes(config, matmul_format=INT8):
    """The two characterization GEMMs (M, K, N) that differ only by two whole K passes, (C, 2P,
    512) and (C, 4P, 512) with P = R (2R in FP8 double-row mode, 4R in MX mode): the difference
    of their cycles is the array's steady state, fill and drain cancelled."""
    rows, cols = config.rows * matmul_format.rows_per_pe, config.cols
    return (cols, 2 * rows, _BANK_DEPTH), (cols, 4 * rows, _BANK_DEPTH)


def characterization_shapes(config, matmul_format=INT8):
    """GEMM shapes (M, K, N) that exercise what the scaling model needs of an R x C tile, R
    standing for the contraction of one pass (2R in FP8 double-row mode).

    - (C, R, 512): one operation that fills the array, N a whole PSUM bank;
    - (C, 2R, 512) and (C, 4R, 512): two and four K chunks, each stationary loaded behind
      the previous multiply;
    - (2C, 2R, 512): two M blocks of two K chunks, reads overlapping the next block;
    - (C, R, 32) and (C, R, 128): short N, where fill and drain dominate;
    - (C - 1, R // 2, 256): a partial array (all of it when C or R is 1; in MX mode K a whole
      ``TileConfig.mx_k_multiple``, all of the pass on a tile of fewer than 32 rows);
    - (C, 2R, 1024): N beyond one PSUM bank, two output blocks in two banks.

    N is fixed, not scaled with ``config.psum_depth``: the sizes speak of the default bank of
    512 result vectors, the NeuronCore's.
    """
    rows, cols, depth = config.rows * matmul_format.rows_per_pe, config.cols, _BANK_DEPTH
    # An MX pass holds whole K multiples (``TileConfig.mx_k_multiple``): the partial array's K
    # is rounded down to one, and is the whole pass when half of it is less.
    step = config.mx_k_multiple if matmul_format.mx else 1
    partial_k = max(step, rows // 2 // step * step)
    return [(cols, rows, depth), *steady_state_shapes(config, matmul_format),
            (2 * cols, 2 * rows, depth),
            (cols, rows, 32), (cols, rows, 128),
            (max(1, cols - 1), max(1, partial_k), 256), (cols, 2 * rows, 2 * depth)]


def seeded_generator(seed, name):
    """numpy Generator of the integer ``seed`` mixed with ``name`` (a test's or a GEMM's), so
    that one seed gives every named test its own values."""
    return np.random.default_rng([seed, *name.encode()])


def gemm_name(shape, matmul_format=INT8):
    """Name of the GEMM of ``shape`` (M, K, N) in ``matmul_format``, e.g. ``gemm_m16_k64_n512``
    (int8) or ``gemm_m16_k64_n512_fp8e4m3_dr``."""
    m, k, n = shape
    suffix = "" if matmul_format == INT8 else f"_{matmul_format.name}"
    return f"gemm_m{m}_k{k}_n{n}{suffix}"


def random_operand(rng, format_name, shape):
    """Random operand of ``shape`` in format ``format_name`` drawn from ``rng``: int8 uniform in
    -128..127; a floating-point format's bit patterns with a random sign, a random stored
    fraction and an exponent uniform within ``_EXPONENT_SPREAD`` of 0, clipped to the format's
    normal exponents (all finite and normal; FP4 E2M1 codes 0..15 as uint8)."""
    if format_name == "int8":
        return rng.integers(-128, 128, size=shape, dtype=np.int8)
    operand = PE_FORMATS[format_name]
    bias = 2 ** (operand.exponent_bits - 1) - 1
    sign = rng.integers(0, 2, size=shape)
    exponent = rng.integers(bias - _EXPONENT_SPREAD, bias + _EXPONENT_SPREAD + 1, size=shape)
    # Only E2M1 (bias 1, no infinities) reaches past its exponents 1..3.
    exponent = np.clip(exponent, 1, 2 ** operand.exponent_bits - 1)
    fraction = rng.integers(0, 2 ** operand.mantissa_bits, size=shape)
    bits = (sign << (operand.operand_bits - 1)) | (exponent << operand.mantissa_bits) | fraction
    return bits.astype(np.uint16 if operand.operand_bits == 16 else np.uint8)


def random_scales(rng, k, columns):
    """Random E8M0 block scales [K/32, columns] (uint8) drawn from ``rng``: 2**e with e uniform
    in -``_SCALE_SPREAD`` .. ``_SCALE_SPREAD``."""
    return (127 + rng.integers(-_SCALE_SPREAD, _SCALE_SPREAD + 1, size=(k // 32, columns))
            ).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class RandomGemm:
    """A GEMM of random operands, mapped onto a tile.

    Members
    -------
    name : str
        :func:`gemm_name` of its shape and formats.
    stationary : numpy.ndarray, shape [K, M]
    moving : numpy.ndarray, shape [K, N]
        int8, or the bit patterns of floating-point formats.
    tiled : TiledGemm
        The tiler's program for it.
    stationary_scale, moving_scale : numpy.ndarray [K/32, M], [K/32, N] or None
        MX mode: the E8M0 block scales (uint8), the passes' in K order; None otherwise.
    """
    name: str
    stationary: np.ndarray
    moving: np.ndarray
    tiled: TiledGemm
    stationary_scale: np.ndarray | None = None
    moving_scale: np.ndarray | None = None

    @property
    def operands(self):
        """The operands as a scenario holds them: (stationary, moving), and in MX mode their
        scales after them."""
        scales = () if self.stationary_scale is None else (self.stationary_scale,
                                                           self.moving_scale)
        return (self.stationary, self.moving, *scales)


def random_gemm(config, shape, rng, matmul_format=INT8):
    """The GEMM of ``shape`` (M, K, N) on tile ``config`` in ``matmul_format`` with operands
    drawn from ``rng`` (:func:`random_operand`): the stationary [K, M] first, then the moving
    [K, N], then in MX mode their scales (:func:`random_scales`)."""
    m, k, n = shape
    stationary = random_operand(rng, matmul_format.stationary, (k, m))
    moving = random_operand(rng, matmul_format.moving, (k, n))
    scales = (random_scales(rng, k, m), random_scales(rng, k, n)) if matmul_format.mx else ()
    return RandomGemm(gemm_name(shape, matmul_format), stationary, moving,
                      tile_gemm(config, stationary, moving, matmul_format, *scales), *scales)


def characterization_gemm(config, shape, seed, matmul_format=INT8):
    """The GEMM of ``shape`` in ``matmul_format`` that a characterization with the integer
    ``seed`` runs: operands drawn from :func:`seeded_generator` of the seed and the GEMM's
    name."""
    return random_gemm(config, shape, seeded_generator(seed, gemm_name(shape, matmul_format)),
                       matmul_format)
