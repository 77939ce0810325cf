"""The floating-point golden model (sim_models.floats): each numeric rule R1-R11 of
docs/numerics.md pinned by a test named after it, the encodings against two other libraries,
the column chain against a step-by-step exact-rational model, and random GEMMs of every format
pair within the stated error bound of the exact result."""

from fractions import Fraction

import gfloat
import ml_dtypes
import numpy as np
import pytest
from gfloat.formats import (format_info_bfloat16, format_info_binary16,
                            format_info_ocp_e5m2)

from sim_models.floats import (CANONICAL_NAN, FLOAT_FORMATS, accumulate_fp32, as_bits, decode,
                               decode_fp32, error_bound, exact_matmul, matmul_fp32, pe_step_fp32,
                               round_fp32, ulp_error)
from sim_models.program import MatmulFormat
from tb.float_scenarios import logical_from_nki, nki_double_row_matmul
from tests.float_samples import FORMAT_PAIRS, FP8_PAIRS, finite_bits, rng  # noqa: F401

ML_DTYPES = {"bf16": ml_dtypes.bfloat16, "fp16": np.float16, "fp8_e4m3": ml_dtypes.float8_e4m3,
             "fp8_e5m2": ml_dtypes.float8_e5m2}
#: gfloat's descriptions; the IEEE-like E4M3 (with infinities, 7 NaNs a sign) is not among its
#: predefined formats, so it is described here from its definition.
GFLOAT_FORMATS = {
    "bf16": format_info_bfloat16, "fp16": format_info_binary16, "fp8_e5m2": format_info_ocp_e5m2,
    "fp8_e4m3": gfloat.FormatInfo("ieee_e4m3", k=8, precision=4, bias=7, is_signed=True,
                                  domain=gfloat.Domain.Extended, has_nz=True, num_high_nans=7,
                                  has_subnormals=True, is_twos_complement=False)}
INF, NEG_INF = 0x7F800000, 0xFF800000


def bits_of(values, format_name):
    """Bit patterns of float values exactly representable in ``format_name``."""
    encoded = np.asarray(values, dtype=np.float64).astype(ML_DTYPES[format_name])
    assert np.array_equal(encoded.astype(np.float64), values, equal_nan=True)
    return as_bits(encoded, format_name)


def fp32(values):
    """FP32 bit patterns (uint32) of float values exactly representable in FP32."""
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def column(stationary, moving, stationary_format, moving_format, double_row=False):
    """Result bits of one column: ``stationary`` and ``moving`` are 1-D value lists of K."""
    return int(matmul_fp32(bits_of(np.reshape(stationary, (-1, 1)), stationary_format),
                           bits_of(np.reshape(moving, (-1, 1)), moving_format),
                           stationary_format, moving_format, double_row)[0, 0])


def stepwise(stationary, moving, stationary_format, moving_format, double_row):
    """Independent model of a column chain with exact rationals: each PE step rounds the exact
    sum of the partial and its products once (round_fp32); zeros by R8; finite operands only.
    Returns uint32 [M, N]."""
    s_values, m_values = decode(stationary, stationary_format), decode(moving, moving_format)
    contraction = s_values.shape[0]
    # PE row p multiplies index p, or in double-row mode (NKI) p and p + K/2.
    pe_rows = [[k, k + contraction // 2] for k in range(contraction // 2)] if double_row \
        else [[k] for k in range(contraction)]
    result = np.empty((s_values.shape[1], m_values.shape[1]), dtype=np.uint32)
    for (m, n), _ in np.ndenumerate(result):
        partial = 0.0
        for indices in pe_rows:
            products = [s_values[k, m] * m_values[k, n] for k in indices]
            exact = Fraction(partial) + sum(Fraction(product) for product in products)
            if exact == 0:
                all_negative = all(np.signbit(term) for term in [partial, *products])
                partial = -0.0 if all_negative else 0.0
            else:
                partial = round_fp32(exact)
        result[m, n] = fp32(partial)
    return result


# Encodings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("format_name", FLOAT_FORMATS)
def test_decode_every_encoding_matches_ml_dtypes(format_name):
    codes = np.arange(1 << FLOAT_FORMATS[format_name].bits)
    ours = decode(codes, format_name)
    with np.errstate(invalid="ignore"):
        theirs = as_bits(codes, format_name).view(ML_DTYPES[format_name]).astype(np.float64)
    assert np.array_equal(ours, theirs, equal_nan=True)
    assert np.array_equal(np.signbit(ours), np.signbit(theirs))


@pytest.mark.parametrize("format_name", FLOAT_FORMATS)
def test_decode_every_encoding_matches_gfloat(format_name):
    codes = np.arange(1 << FLOAT_FORMATS[format_name].bits)
    ours = decode(codes, format_name)
    theirs = gfloat.decode_ndarray(GFLOAT_FORMATS[format_name], codes).astype(np.float64)
    assert np.array_equal(ours, theirs, equal_nan=True)
    assert np.array_equal(np.signbit(ours[~np.isnan(ours)]), np.signbit(theirs[~np.isnan(ours)]))


def test_r10_e4m3_is_the_ieee_like_variant_with_infinities():
    """Trainium2's FP8_E4 is F8E4M3, not F8E4M3FN: 0x78 is +inf, 0x77 the largest finite 240,
    0x79..0x7F NaN (the "fn" variant would read 0x78 as 256 and 0x7E as 448)."""
    values = decode(np.array([0x77, 0x78, 0xF8, 0x79, 0x7E, 0x7F]), "fp8_e4m3")
    assert values[0] == 240.0 == FLOAT_FORMATS["fp8_e4m3"].max_finite
    assert values[1] == np.inf and values[2] == -np.inf
    assert np.isnan(values[3:]).all()
    assert FLOAT_FORMATS["fp8_e4m3"].dtype_name == np.dtype(ml_dtypes.float8_e4m3).name
    assert np.dtype(ml_dtypes.float8_e4m3fn).name != FLOAT_FORMATS["fp8_e4m3"].dtype_name


def test_as_bits_views_arrays_of_the_formats_dtype():
    values = np.array([1.5, -2.0, 240.0], dtype=ml_dtypes.float8_e4m3)
    assert as_bits(values, "fp8_e4m3").tolist() == [0x3C, 0xC0, 0x77]
    assert as_bits(np.array([0x3F80], dtype=np.int64), "bf16").dtype == np.uint16


@pytest.mark.parametrize("call, kind, message", [
    (lambda: as_bits(np.array([1]), "fp9"), ValueError,
     "Parameter 'format_name' must be a floating-point format, one of bf16, fp16, fp8_e4m3, "
     "fp8_e5m2, fp8_e4m3fn, fp4_e2m1, not 'fp9'"),
    (lambda: as_bits(np.array([256]), "fp8_e5m2"), TypeError,
     "Parameter 'array' must hold fp8_e5m2 bit patterns, integers in 0..255, not values "
     "outside them"),
    (lambda: as_bits(np.array([1.0]), "bf16"), TypeError,
     "Parameter 'array' must hold bf16 bit patterns (an integer dtype) or have dtype bfloat16, "
     "not float64"),
    (lambda: matmul_fp32(np.zeros((2, 2), np.uint16), np.zeros((2, 2), np.uint8), "bf16",
                         "fp8_e4m3", double_row=True), ValueError,
     "Parameter 'double_row' is True, which needs FP8 stationary and moving formats, not "
     "'bf16' and 'fp8_e4m3'"),
    (lambda: matmul_fp32(np.zeros((2, 2), np.uint8), np.zeros((3, 2), np.uint8), "fp8_e4m3",
                         "fp8_e4m3"), ValueError,
     "Parameters 'stationary' [K, M] and 'moving' [K, N] must be 2-D with one K, not of shapes "
     "(2, 2) and (3, 2)"),
    (lambda: matmul_fp32(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8), "int8",
                         "fp8_e4m3"), ValueError,
     "Parameter 'stationary_format' must be a floating-point operand format, one of bf16, "
     "fp16, fp8_e4m3, fp8_e5m2, not 'int8'"),
    (lambda: exact_matmul(np.array([[0x7C]], np.uint8), np.array([[0x3C]], np.uint8),
                          "fp8_e5m2", "fp8_e5m2"), ValueError,
     "exact_matmul needs finite operands: the stationary or moving operand holds an infinity "
     "or NaN"),
])
def test_bad_input_is_refused_in_one_line(call, kind, message):
    """Amaranth's convention: TypeError for a wrong type or a value out of range, ValueError
    for a value of the right type that is not allowed."""
    with pytest.raises(kind) as error:
        call()
    assert str(error.value) == message


# The rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("stationary_format, moving_format", FORMAT_PAIRS)
def test_r1_r4_each_step_rounds_the_exact_sum_once(rng, stationary_format, moving_format):
    """A column of random finite operands, every pair of formats, equals the step-by-step
    exact-rational model bit for bit."""
    stationary = finite_bits(rng, stationary_format, (9, 3), exponent_span=12)
    moving = finite_bits(rng, moving_format, (9, 4), exponent_span=12)
    assert np.array_equal(matmul_fp32(stationary, moving, stationary_format, moving_format),
                          stepwise(stationary, moving, stationary_format, moving_format, False))


def test_r1_one_rounding_not_two():
    """64 + 2**-18 + 2**-18 (2**-18 is half an ulp of 64): two rows round twice, each step a
    tie kept at 64; one double-row step holds both products (indices 1 and 1 + K/2 = 3) and
    rounds 64 + 2**-17 once (exact)."""
    partial, half_ulp = 64.0, 2.0 ** -18            # ulp of 64 in FP32 is 2**-17
    tiny = 2.0 ** -9                                # E4M3's smallest subnormal
    single = column([8.0, tiny, tiny], [8.0, tiny, tiny], "fp8_e4m3", "fp8_e4m3")
    double = column([8.0, tiny, 0.0, tiny], [8.0, tiny, 0.0, tiny], "fp8_e4m3", "fp8_e4m3",
                    double_row=True)
    assert tiny * tiny == half_ulp
    assert single == fp32(partial) and double == fp32(partial + 2 * half_ulp)


def test_r2_row_zero_partial_is_plus_zero():
    """-0 x 1 in row 0 gives +0: the exact sum of +0 (R2) and -0 is +0 (R8)."""
    assert column([-0.0], [1.0], "bf16", "fp16") == fp32(0.0)
    assert column([-0.0, -0.0], [1.0, 2.0], "fp8_e4m3", "fp8_e5m2", double_row=True) == 0


def test_r11_double_row_pairs_index_p_with_p_plus_half_k():
    """K = 4 in double-row (NKI's layout): PE row 0 sums indices 0 and 2, row 1 indices 1 and
    3. 256 + 2**-18 rounds to 256 in row 0, which row 1's -256 cancels: +0. Pairing 0 with 1
    and 2 with 3 would cancel first and keep 2**-18."""
    tiny = 2.0 ** -9
    stationary, moving = [16.0, -16.0, tiny, 0.0], [16.0, 16.0, tiny, 0.0]
    assert column(stationary, moving, "fp8_e4m3", "fp8_e4m3", double_row=True) == fp32(0.0)
    assert column(stationary[0::2] + stationary[1::2], moving[0::2] + moving[1::2],
                  "fp8_e4m3", "fp8_e4m3", double_row=True) == fp32(tiny * tiny)


@pytest.mark.parametrize("stationary_format, moving_format", FP8_PAIRS)
def test_r11_golden_model_of_a_gemm_in_nkis_double_row_layout(
        rng, stationary_format, moving_format):
    """K = 256: NKI's stationary [128, 2, M] and moving [128, 2, N] tiles, stepped PE row by PE
    row from the tiles, equal matmul_fp32 of the logical [K, M] and [K, N] operands (the
    RTL checks against the same tiles: tb.float_scenarios' nki_double_row_layout)."""
    fmt = MatmulFormat(stationary_format, moving_format, double_row=True)
    tiles = [finite_bits(rng, name, (128, 2, width))
             for name, width in ((stationary_format, 3), (moving_format, 4))]
    logical = [logical_from_nki(tile) for tile in tiles]
    assert np.array_equal(logical[0][128 + 5], tiles[0][5, 1])
    assert np.array_equal(matmul_fp32(*logical, stationary_format, moving_format, True),
                          nki_double_row_matmul(*tiles, fmt))


def test_r11_double_row_with_odd_k_is_refused_nki_requires_zero_padding():
    with pytest.raises(ValueError, match=r"^K \(rows of 'stationary'\) is 3: double-row mode "
                                         r"needs an even K .* as NKI requires$"):
        column([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], "fp8_e4m3", "fp8_e4m3", double_row=True)


def test_r3_a_product_that_does_not_take_part_contributes_nothing():
    """No product taking part: the partial passes bit for bit (an odd NaN payload, an FP32
    subnormal included) even with NaN weights; one of two taking part: the stale Inf of the
    other half is ignored."""
    partial = np.array([0x7FC00001, 0x3F800000, 0x00000001], dtype=np.uint32)
    nan = np.full((1, 3), 0x7FC1, dtype=np.uint16)
    assert np.array_equal(pe_step_fp32(partial, nan, nan, "bf16", "bf16", np.zeros((1, 3), bool)),
                          partial)
    halves = np.array([[0x38], [0x78]], dtype=np.uint8)          # E4M3 1.0 (low), +Inf (high)
    assert pe_step_fp32(fp32([1.0]), halves, halves, "fp8_e4m3", "fp8_e4m3",
                        np.array([[True], [False]]), double_row=True) == fp32(2.0)


def test_r4_products_are_exact():
    """FP16 (1 + 2**-10)**2 - 1 * 1 is 2**-9 + 2**-20 only if the products are not rounded."""
    assert column([1 + 2.0 ** -10, -1.0], [1 + 2.0 ** -10, 1.0], "fp16", "fp16") \
        == fp32(2.0 ** -9 + 2.0 ** -20)
    largest = 2047 * 2.0 ** -10                     # 11-bit FP16 significand squared: 22 bits
    assert column([largest], [largest], "fp16", "fp16") == fp32(largest * largest)


def test_r5_subnormal_inputs_are_kept():
    assert column([2.0 ** -24], [3.0], "fp16", "bf16") == fp32(3 * 2.0 ** -24)
    assert column([2.0 ** -16], [2.0 ** -9], "fp8_e5m2", "fp8_e4m3") == fp32(2.0 ** -25)
    assert column([2.0 ** -133], [2.0 ** 120], "bf16", "bf16") == fp32(2.0 ** -13)


def test_r5_results_below_min_normal_flush_to_a_zero_of_the_exact_sums_sign():
    assert column([2.0 ** -100], [2.0 ** -30], "bf16", "bf16") == fp32(0.0)
    assert column([-(2.0 ** -100)], [2.0 ** -30], "bf16", "bf16") == fp32(-0.0)


def test_r5_flush_is_decided_after_rounding():
    """2**-126 - 2**-151 is a tie between 2**-126 (even) and the odd 24-bit value below: it
    rounds up to 2**-126 and is kept; a little less rounds down and flushes."""
    kept = column([2.0 ** -63, 2.0 ** -76], [2.0 ** -63, -(2.0 ** -75)], "bf16", "bf16")
    flushed = column([2.0 ** -63, 2.0 ** -76], [2.0 ** -63, -(2.0 ** -75) * (1 + 2.0 ** -7)],
                     "bf16", "bf16")
    assert kept == fp32(2.0 ** -126)
    assert flushed == fp32(0.0)
    assert accumulate_fp32(fp32(2.0 ** -126), fp32(-(2.0 ** -149))) == fp32(0.0)


def test_r5_fp32_subnormal_operands_are_decoded_exactly():
    assert accumulate_fp32(np.uint32(1), fp32(2.0 ** -126)) == fp32(2.0 ** -126 + 2.0 ** -149)
    assert accumulate_fp32(np.uint32(0x400000), fp32(2.0 ** -127)) == fp32(2.0 ** -126)


@pytest.mark.parametrize("stationary_format, moving_format", FORMAT_PAIRS)
def test_r4_products_of_the_largest_finite_values_are_exact(stationary_format, moving_format):
    largest = [FLOAT_FORMATS[name].max_finite for name in (stationary_format, moving_format)]
    exact = largest[0] * largest[1]
    expected = INF if exact >= 2.0 ** 128 else fp32(exact)
    assert column([largest[0]], [-1.0], stationary_format, moving_format) == fp32(-largest[0])
    assert column([largest[0]], [largest[1]], stationary_format, moving_format) == expected


def test_r6_overflow_gives_infinity():
    fp32_max = float(np.finfo(np.float32).max)
    assert column([2.0 ** 127, 2.0 ** 127], [1.0, 1.0], "bf16", "bf16") == INF
    assert column([-(2.0 ** 127)], [2.0], "bf16", "bf16") == NEG_INF
    assert accumulate_fp32(fp32(fp32_max), fp32(2.0 ** 103)) == INF       # tie, max is odd
    assert accumulate_fp32(fp32(fp32_max), fp32(2.0 ** 102)) == fp32(fp32_max)


@pytest.mark.parametrize("stationary, moving, stationary_format, moving_format, double_row", [
    ([np.nan], [1.0], "bf16", "bf16", False),
    ([1.0], [np.nan], "fp16", "fp8_e5m2", False),
    ([np.inf], [0.0], "fp8_e4m3", "fp8_e4m3", False),              # Inf x 0
    ([-0.0], [-np.inf], "fp16", "bf16", False),
    ([np.inf, 1.0], [1.0, -np.inf], "bf16", "fp16", False),        # +Inf then -Inf down a column
    ([np.inf, -np.inf], [2.0, 1.0], "fp8_e4m3", "fp8_e5m2", True),  # +Inf - Inf in one step
    ([np.nan, 1.0], [0.0, 1.0], "fp8_e5m2", "fp8_e5m2", True),
])
def test_r7_nan_inputs_inf_times_zero_and_inf_minus_inf_give_the_canonical_nan(
        stationary, moving, stationary_format, moving_format, double_row):
    assert column(stationary, moving, stationary_format, moving_format, double_row) \
        == CANONICAL_NAN


def test_r7_infinite_terms_give_an_infinity_of_their_sign():
    assert column([np.inf, 3.0], [2.0, -(2.0 ** 10)], "bf16", "fp16") == INF
    assert column([240.0, 2.0], [-np.inf, 1.0], "fp8_e4m3", "fp8_e5m2", True) == NEG_INF


def test_r7_r9_nan_psum_entries_and_payloads_give_the_canonical_nan():
    for stored in (0x7FC00001, 0xFFFFFFFF, 0x7F800001):
        assert accumulate_fp32(np.uint32(stored), fp32(1.0)) == CANONICAL_NAN
        assert accumulate_fp32(fp32(1.0), np.uint32(stored)) == CANONICAL_NAN
    assert accumulate_fp32(np.uint32(INF), np.uint32(NEG_INF)) == CANONICAL_NAN
    assert accumulate_fp32(np.uint32(INF), fp32(-1.0)) == INF


def test_r8_zero_sums_are_minus_zero_only_if_every_term_is():
    assert accumulate_fp32(fp32(-0.0), fp32(-0.0)) == fp32(-0.0)
    assert accumulate_fp32(fp32(-0.0), fp32(0.0)) == fp32(0.0)
    assert accumulate_fp32(fp32(1.5), fp32(-1.5)) == fp32(0.0)
    assert accumulate_fp32(fp32(-1.5), fp32(1.5)) == fp32(0.0)
    assert column([1.0, -1.0], [-2.0, -2.0], "bf16", "bf16") == fp32(0.0)


def test_r9_psum_accumulation_rounds_the_exact_sum_once(rng):
    """Random FP32 pairs (all encodings: subnormals, infinities, NaNs) against exact rationals."""
    stored = rng.integers(0, 1 << 32, size=4000, dtype=np.uint64).astype(np.uint32)
    incoming = np.where(rng.random(4000) < 0.5, stored ^ np.uint32(0x80000000),
                        rng.integers(0, 1 << 32, size=4000, dtype=np.uint64).astype(np.uint32))
    incoming = np.where(rng.random(4000) < 0.5, (stored + rng.integers(-30, 30, 4000).astype(
        np.uint32) * np.uint32(1 << 23)) ^ np.uint32(0x80000000), incoming)
    result = accumulate_fp32(stored, incoming)
    for a, b, got in zip(decode_fp32(stored), decode_fp32(incoming), result):
        if np.isnan(a) or np.isnan(b) or (np.isinf(a) and np.isinf(b) and a != b):
            expected = CANONICAL_NAN
        elif np.isinf(a) or np.isinf(b):
            expected = int(fp32(a if np.isinf(a) else b))
        elif Fraction(a) + Fraction(b) == 0:
            expected = int(fp32(-0.0 if np.signbit(a) and np.signbit(b) else 0.0))
        else:
            expected = int(fp32(round_fp32(Fraction(a) + Fraction(b))))
        assert got == expected, (hex(int(fp32(a))), hex(int(fp32(b))))


@pytest.mark.parametrize("stationary_format, moving_format", FP8_PAIRS)
@pytest.mark.parametrize("contraction", [2, 6, 16])
def test_r11_double_row_rounds_both_products_and_the_partial_once(
        rng, stationary_format, moving_format, contraction):
    """Double-row columns of several K, mixed E4M3 x E5M2 included, over the
    full finite range (E5M2 x E5M2 pairs whose products span more than 53 bits included)."""
    stationary = finite_bits(rng, stationary_format, (contraction, 5))
    moving = finite_bits(rng, moving_format, (contraction, 6))
    assert np.array_equal(
        matmul_fp32(stationary, moving, stationary_format, moving_format, double_row=True),
        stepwise(stationary, moving, stationary_format, moving_format, True))


def test_r11_double_row_sum_is_exact_across_the_whole_e5m2_range():
    """The largest E5M2 product (57344**2 = 49 * 2**26) cancelled by the partial leaves the
    smallest (2**-32), 64 bits below: the two products are summed exactly (a float64 sum of
    the two would lose it)."""
    largest, smallest = 57344.0, 2.0 ** -16
    result = column([-largest, largest, 0.0, smallest], [largest, largest, 0.0, smallest],
                    "fp8_e5m2", "fp8_e5m2", double_row=True)
    assert largest * largest + smallest * smallest == largest * largest
    assert result == fp32(2.0 ** -32)


def test_round_fp32_agrees_with_numpy_in_the_normal_range(rng):
    values = np.ldexp(rng.random(2000) + 1.0, rng.integers(-120, 120, 2000)) \
        * rng.choice([-1.0, 1.0], 2000)
    assert [round_fp32(Fraction(value)) for value in values] == \
        values.astype(np.float32).astype(np.float64).tolist()


# Against the exact reference ---------------------------------------------------------------

@pytest.mark.parametrize("signs", ["random", "positive"])
@pytest.mark.parametrize("stationary_format, moving_format, double_row",
                         [(*pair, False) for pair in FORMAT_PAIRS]
                         + [(*pair, True) for pair in FP8_PAIRS])
def test_random_gemms_are_within_the_error_bound_of_the_exact_result(
        rng, stationary_format, moving_format, double_row, signs):
    """K = 128 (256 in double-row) by 16 x 16, exponents within +-6; prints the largest error
    in ULPs of the exact result and as a fraction of the bound."""
    contraction = 256 if double_row else 128
    stationary, moving = (finite_bits(rng, name, (contraction, 16), exponent_span=6)
                          for name in (stationary_format, moving_format))
    if signs == "positive":
        stationary, moving = (bits & ((1 << FLOAT_FORMATS[name].bits - 1) - 1) for bits, name
                              in ((stationary, stationary_format), (moving, moving_format)))
    computed = matmul_fp32(stationary, moving, stationary_format, moving_format, double_row)
    exact = exact_matmul(stationary, moving, stationary_format, moving_format)
    bound = error_bound(stationary, moving, stationary_format, moving_format, double_row)
    errors = np.abs(np.vectorize(Fraction)(decode_fp32(computed)) - exact)
    assert np.isfinite(decode_fp32(computed)).all()
    assert (errors <= np.vectorize(Fraction)(bound)).all()
    print(f"{stationary_format} x {moving_format} double_row={double_row} signs={signs}: "
          f"largest error {ulp_error(computed, exact).max():.1f} ULP, "
          f"{(errors.astype(float) / bound).max():.3f} of the bound")


def test_catastrophic_cancellation_is_within_the_bound_and_exact_when_representable():
    """x + y - x with a small y: the partial x + y is rounded, so the result errs by up to half
    an ulp of x, as the bound allows; with y on x's grid it is exact."""
    stationary = bits_of(np.array([[2.0 ** 20], [3.0], [-(2.0 ** 20)]]), "bf16")
    moving = bits_of(np.array([[1.0 + 2.0 ** -7], [2.0 ** -10], [1.0 + 2.0 ** -7]]), "bf16")
    computed = matmul_fp32(stationary, moving, "bf16", "bf16")
    exact = exact_matmul(stationary, moving, "bf16", "bf16")
    assert exact[0, 0] == Fraction(3, 1024)
    assert abs(Fraction(float(decode_fp32(computed)[0, 0])) - exact[0, 0]) \
        <= Fraction(error_bound(stationary, moving, "bf16", "bf16")[0, 0])
    assert decode_fp32(computed)[0, 0] == 0.0        # 2**20 + 2**13 + 3/1024 rounds to 2**20 + 2**13
    grid = bits_of(np.array([[2.0 ** 10], [3.0], [-(2.0 ** 10)]]), "bf16")
    assert decode_fp32(matmul_fp32(grid, moving, "bf16", "bf16"))[0, 0] == 3 / 1024
