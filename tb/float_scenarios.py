"""Directed floating-point tile programs: special values, overflow, cancellation, unused rows,
a double-row GEMM built from NKI's ``[K/2, 2, X]`` layout, and (on a tile with ``bf16_psum``)
BF16 PSUM writes rounded to nearest even and stochastically, with reseeds.

Each scenario is a program in one :class:`~sim_models.program.MatmulFormat` whose every read
the testbench compares bit for bit with the golden model (``sim_models.floats``' rules R1-R11).
Operands are built with ml_dtypes (values rounded to the format) and passed as its arrays.
"""

import ml_dtypes
import numpy as np

from sim_models import floats
from sim_models.floats import FLOAT_FORMATS, as_bits
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum, ReseedRounding

from .scenarios import Scenario

__all__ = ["bf16_psum_scenarios", "encode", "float_directed_scenarios", "logical_from_nki",
           "nki_double_row_matmul", "special_values"]

#: Fraction of the elements of a ``specials`` operand drawn from :func:`special_values`.
_SPECIAL_SHARE = 0.5


def encode(values, format_name):
    """Bit patterns of ``values`` (floats, rounded to nearest even) in format ``format_name``."""
    dtype_name = FLOAT_FORMATS[format_name].dtype_name
    dtype = getattr(ml_dtypes, dtype_name, None) or np.dtype(dtype_name)
    return as_bits(np.asarray(values, np.float64).astype(dtype), format_name)


def special_values(format_name):
    """Values every format's directed tests mix in: NaN, +-Inf, +-0, the smallest and largest
    subnormal, the largest finite value (both signs) and +-1."""
    encoding = FLOAT_FORMATS[format_name]
    subnormal = 2.0 ** encoding.lsb_exponent
    largest_subnormal = 2.0 ** (1 - encoding.bias) - subnormal
    return [np.nan, np.inf, -np.inf, 0.0, -0.0, subnormal, -largest_subnormal,
            encoding.max_finite, -encoding.max_finite, 1.0, -1.0]


def _random_finite(rng, format_name, shape):
    """Values of magnitude 1/8..16 with random signs, rounded to the format."""
    return encode(rng.choice([-1, 1], shape) * 2.0 ** rng.uniform(-3, 4, shape), format_name)


def _specials(rng, format_name, shape):
    """An operand half of whose elements are special values, the rest random finite."""
    values = np.array(special_values(format_name))
    bits = _random_finite(rng, format_name, shape)
    chosen = rng.random(shape) < _SPECIAL_SHARE
    return np.where(chosen, encode(rng.choice(values, shape), format_name), bits)


def logical_from_nki(tile):
    """The logical [K, X] operand of an NKI double-row tile [K/2, 2, X]: contraction index
    j K/2 + p is ``tile[p, j]`` (the 2 is the contraction's most major part)."""
    half, _, width = tile.shape
    return tile.transpose(1, 0, 2).reshape(2 * half, width)


def nki_double_row_matmul(stationary_tile, moving_tile, matmul_format):
    """FP32 bits [M, N] of a double-row matmul of NKI tiles ``stationary_tile`` [K/2, 2, M] and
    ``moving_tile`` [K/2, 2, N] (bit patterns): PE row p takes the two products
    ``tile[p, 0]`` and ``tile[p, 1]`` in one PE step (R11), stepped here directly from the
    tiles, not through ``matmul_fp32``'s pairing of the logical operands."""
    shape = (2, stationary_tile.shape[2], moving_tile.shape[2])
    partial = np.zeros(shape[1:], np.uint32)
    for row in range(stationary_tile.shape[0]):
        partial = floats.pe_step_fp32(partial, stationary_tile[row][:, :, None],
                                      moving_tile[row][:, None, :], matmul_format.stationary,
                                      matmul_format.moving, np.ones(shape, bool), True)
    return partial


class _Builder:
    """Operations in one matmul format on one tile: ``k`` is the largest K of an operation
    (R, or 2R in double-row mode), ``n`` the moving columns of each multiply."""
    def __init__(self, config, matmul_format):
        self.config, self.format = config, matmul_format
        self.k = config.rows * matmul_format.rows_per_pe
        self.n = min(7, config.psum_depth)

    def contraction(self, k):
        """``k`` as an operation may use it: rounded up to even in double-row mode, whose K
        NKI requires zero-padded to a multiple of two."""
        return k + k % 2 if self.format.double_row else k

    def load(self, bits):
        return LoadStationary(bits, self.format.stationary, self.format.double_row)

    def multiply(self, bits, bank=0, accumulate=False, psum_dtype="fp32", rounding="rne"):
        return MultiplyMoving(bits, bank, accumulate, self.format.moving,
                              self.format.double_row, psum_dtype, rounding)

    def single(self, name, stationary, moving):
        """Load, multiply into bank 0 and read back."""
        return Scenario(name, [self.load(stationary), self.multiply(moving),
                               ReadPsum(0, stationary.shape[1], moving.shape[1])],
                        matmul_format=self.format)


def _overflow(builder):
    """BF16 only (no other format's products can sum to 2**128): 2**127 in the BF16 operand
    times 1.0, summed down the column (K >= 2) and accumulated in PSUM, gives +-Inf."""
    config, fmt = builder.config, builder.format
    big, one = 2.0 ** 127, 1.0
    stationary_value, moving_value = (big, one) if fmt.stationary == "bf16" else (one, big)
    signs = np.where(np.arange(config.cols) % 2, -1.0, 1.0)
    stationary = encode(np.full((builder.k, 1), stationary_value) * signs, fmt.stationary)
    moving = encode(np.full((builder.k, builder.n), moving_value), fmt.moving)
    bank = 1 % config.psum_banks
    return Scenario("overflow_to_inf", [
        builder.load(stationary), builder.multiply(moving), ReadPsum(0, config.cols, builder.n),
        builder.load(stationary[:1]), builder.multiply(moving[:1], bank),
        builder.multiply(moving[:1], bank, True), ReadPsum(bank, config.cols, builder.n)],
        matmul_format=fmt)


def _cancellation(builder):
    """Catastrophic cancellation: big * big, then tiny * tiny, then -big * big down a column
    (big the largest finite value, at most 2**60 so that the product stays finite); each PE
    step rounds (R1), so the tiny product is lost unless it shares a step with a large one
    (double-row)."""
    fmt = builder.format
    largest = [min(FLOAT_FORMATS[name].max_finite, 2.0 ** 60)
               for name in (fmt.stationary, fmt.moving)]
    tiny = [2.0 ** FLOAT_FORMATS[name].lsb_exponent for name in (fmt.stationary, fmt.moving)]
    rows = builder.contraction(min(3, builder.k))
    stationary = np.array([largest[0], tiny[0], -largest[0], 0.0][:rows])[:, None].repeat(
        builder.config.cols, 1)
    moving = np.array([largest[1], tiny[1], largest[1], 0.0][:rows])[:, None].repeat(builder.n, 1)
    return builder.single("catastrophic_cancellation", encode(stationary, fmt.stationary),
                          encode(moving, fmt.moving))


def _stale_rows(builder, rng):
    """Rows at or beyond K contribute nothing (R3) although their weights hold NaN and Inf from
    older loads: two full loads of specials fill both weight banks, then loads of K = 1, K odd
    and K < the array's contraction (even in double-row mode) multiply finite values."""
    config, fmt = builder.config, builder.format
    program = []
    for bank in range(2):
        program += [builder.load(_specials(rng, fmt.stationary, (builder.k, config.cols))),
                    builder.multiply(_specials(rng, fmt.moving, (builder.k, builder.n)),
                                     bank % config.psum_banks)]
    sizes = sorted({builder.contraction(k) for k in
                    (1, max(1, builder.k - 1), max(1, builder.k // 2 + 1) | 1)})
    for k in sizes:
        program += [builder.load(_random_finite(rng, fmt.stationary, (k, config.cols))),
                    builder.multiply(_random_finite(rng, fmt.moving, (k, builder.n))),
                    ReadPsum(0, config.cols, builder.n)]
    return Scenario("stale_rows_beyond_k", program, matmul_format=fmt)


def _nki_layout(builder, rng):
    """A double-row matmul of K = 2R built as NKI lays it out, stationary [R, 2, C] and moving
    [R, 2, N] tiles of random finite values, passed to the tile as their logical [K, X]
    operands; the reads must equal :func:`nki_double_row_matmul` of the tiles as well as the
    golden model."""
    config, fmt, n = builder.config, builder.format, builder.n
    tiles = [_random_finite(rng, name, (config.rows, 2, width))
             for name, width in ((fmt.stationary, config.cols), (fmt.moving, n))]
    scenario = builder.single("nki_double_row_layout", *map(logical_from_nki, tiles))
    return Scenario(scenario.name, scenario.program, matmul_format=fmt,
                    expected=[nki_double_row_matmul(*tiles, fmt)])


def float_directed_scenarios(config, rng, matmul_format):
    """Directed programs of ``matmul_format`` on the floating-point tile ``config``: identity,
    signed zeros, special values at K = 1, 2 and the largest K, catastrophic cancellation,
    rows beyond K with stale NaN/Inf weights, (with a BF16 operand) overflow to Inf, and (in
    double-row mode) a GEMM from NKI's layout. In double-row mode every K is even, as NKI
    requires."""
    builder = _Builder(config, matmul_format)
    fmt, cols, n, k = matmul_format, config.cols, builder.n, builder.k
    scenarios = [
        builder.single("identity", encode(np.eye(k, cols), fmt.stationary),
                       _random_finite(rng, fmt.moving, (k, n))),
        builder.single("signed_zeros", encode(rng.choice([0.0, -0.0], (k, cols)), fmt.stationary),
                       encode(rng.choice([0.0, -0.0], (k, n)), fmt.moving)),
    ]
    for rows in sorted({builder.contraction(1), min(2, k), k}):
        scenarios.append(builder.single(
            f"specials_k{rows}", _specials(rng, fmt.stationary, (rows, cols)),
            _specials(rng, fmt.moving, (rows, n))))
    scenarios += [_cancellation(builder), _stale_rows(builder, rng)]
    if fmt.double_row:
        scenarios.append(_nki_layout(builder, rng))
    if "bf16" in (fmt.stationary, fmt.moving):
        scenarios.append(_overflow(builder))
    return scenarios


def _bf16_overflow_operands(builder):
    """K = 2 operands (stationary ones) whose FP32 column sums are the largest finite BF16
    plus 2**118 or 1.5 * 2**119: the 16 bits BF16 drops are 0x4000 or 0xC000, so nearest even
    keeps the largest finite value or gives Inf, and stochastic rounding carries into Inf a
    quarter or three quarters of the time (R16, R17)."""
    config, fmt, n = builder.config, builder.format, builder.n
    stationary = encode(np.ones((2, config.cols)), fmt.stationary)
    largest = FLOAT_FORMATS["bf16"].max_finite
    extra = np.where(np.arange(n) % 2, 1.5, 0.5) * 2.0 ** 119
    signs = np.where(np.arange(n) % 3 == 2, -1.0, 1.0)
    moving = encode(np.stack([np.full(n, largest) * signs, extra * signs]), fmt.moving)
    return stationary, moving


def bf16_psum_scenarios(config, rng, matmul_format):
    """Programs of a tile with ``bf16_psum`` (docs/numerics.md R16-R17): BF16 overwrite and
    accumulate rounded to nearest even, and stochastically (M below C, then C, so that the
    draws of lanes without a result show; FP32 and nearest-even writes between them, which
    must not step the generators), reseeds between back-to-back multiplies, and special values and overflow to
    Inf under both roundings. Every read holds BF16 elements in the low 16 bits of its lanes
    (or FP32 words where the bank was written as FP32)."""
    builder = _Builder(config, matmul_format)
    fmt, cols, n, k = matmul_format, config.cols, builder.n, builder.k
    other = 1 % config.psum_banks
    narrow = max(1, cols - 1)

    def moving(rows=k):
        return _random_finite(rng, fmt.moving, (rows, n))
    stationary = _random_finite(rng, fmt.stationary, (k, cols))
    rne = [builder.load(stationary),
           builder.multiply(moving(), 0, False, "bf16"),
           builder.multiply(moving(), 0, True, "bf16"),
           builder.multiply(moving(), 0, True, "bf16"),
           ReadPsum(0, cols, n),
           builder.load(_specials(rng, fmt.stationary, (k, cols))),
           builder.multiply(_specials(rng, fmt.moving, (k, n)), other, False, "bf16"),
           builder.multiply(_specials(rng, fmt.moving, (k, n)), other, True, "bf16"),
           ReadPsum(other, cols, n)]
    sr = [builder.load(_random_finite(rng, fmt.stationary, (k, narrow))),
          builder.multiply(moving(), 0, False, "bf16", "sr"),
          builder.multiply(moving(), other, False, "fp32"),
          builder.multiply(moving(), 0, True, "bf16", "sr"),
          builder.multiply(moving(), 0, True, "bf16", "rne"),
          builder.multiply(moving(), 0, True, "bf16", "sr"),
          ReadPsum(0, narrow, n), ReadPsum(other, narrow, n),
          builder.load(stationary),
          builder.multiply(moving(), other, False, "bf16", "sr"),
          ReadPsum(other, cols, n)]
    seed = int(rng.integers(1, 2 ** 32))
    repeated = moving()
    reseeds = [ReseedRounding(seed), builder.load(stationary),
               builder.multiply(repeated, 0, False, "bf16", "sr"),
               ReseedRounding(seed),
               builder.multiply(repeated, other, False, "bf16", "sr"),
               ReadPsum(0, cols, n), ReadPsum(other, cols, n),
               ReseedRounding(int(rng.integers(0, 2 ** 32))),
               builder.multiply(moving(), 0, True, "bf16", "sr"),
               builder.multiply(moving(), 0, True, "bf16", "sr"),
               ReadPsum(0, cols, n)]
    big_stationary, big_moving = _bf16_overflow_operands(builder)
    overflow = [builder.load(big_stationary),
                builder.multiply(big_moving, 0, False, "bf16", "rne"),
                builder.multiply(big_moving, other, False, "bf16", "sr"),
                ReadPsum(0, cols, n), ReadPsum(other, cols, n),
                builder.load(_specials(rng, fmt.stationary, (k, cols))),
                builder.multiply(_specials(rng, fmt.moving, (k, n)), 0, False, "bf16", "sr"),
                builder.multiply(_specials(rng, fmt.moving, (k, n)), 0, True, "bf16", "sr"),
                ReadPsum(0, cols, n)]
    return [Scenario("bf16_rne_overwrite_accumulate", rne, matmul_format=fmt),
            Scenario("bf16_sr_overwrite_accumulate", sr, matmul_format=fmt),
            Scenario("sr_reseed_between_multiplies", reseeds, matmul_format=fmt),
            Scenario("bf16_specials_and_overflow", overflow, matmul_format=fmt)]
