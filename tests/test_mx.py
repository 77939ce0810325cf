"""Trainium3's MX golden model (sim_models.mx): rules R12-R15 of docs/numerics.md, each pinned by
a test named after it; the encodings against ml_dtypes and gfloat; the column chain against a
step-by-step exact-rational model; random GEMMs of every element-format pair within the error
bound of the exact result and inside AWS's 5e-2 band; quantize_mx round trips."""

import itertools
from fractions import Fraction

import gfloat
import ml_dtypes
import numpy as np
import pytest
from gfloat.formats import format_info_ocp_e2m1, format_info_ocp_e4m3, format_info_ocp_e8m0

from sim_models.floats import (MX_ELEMENT_FORMATS, as_bits, decode, decode_fp32,
                               encode_nearest, round_fp32, ulp_error)
from sim_models.mx import (DEFAULT_FP4_TABLE, aws_band, aws_reference, decode_e8m0,
                           dequantize_mx, exact_mx_matmul, logical_from_nki_x4, mx_error_bound,
                           mx_matmul_fp32, mx_pe_step_fp32, mx_values, nki_x4, quantize_mx,
                           scales_from_sbuf, scales_to_sbuf)
from tests.float_samples import rng  # noqa: F401

ML_DTYPES = {"fp8_e4m3fn": ml_dtypes.float8_e4m3fn, "fp8_e5m2": ml_dtypes.float8_e5m2,
             "fp4_e2m1": ml_dtypes.float4_e2m1fn}
GFLOAT = {"fp8_e4m3fn": format_info_ocp_e4m3, "fp4_e2m1": format_info_ocp_e2m1}
MX_PAIRS = list(itertools.product(MX_ELEMENT_FORMATS, repeat=2))
ONE = {"fp8_e4m3fn": 0x38, "fp8_e5m2": 0x3C, "fp4_e2m1": 0x2}     # the code of 1.0
NAN = 0x7FC00000


def finite_codes(rng, format_name, shape):
    """Random codes of finite values of ``format_name``, uniform over those codes."""
    codes = np.arange(1 << MX_ELEMENT_FORMATS[format_name].bits)
    finite = codes[np.isfinite(decode(codes, format_name))]
    return rng.choice(finite, size=shape).astype(np.uint8)


def stepwise(stationary, moving, stationary_scale, moving_scale, stationary_format,
             moving_format):
    """Independent model of an MX column with exact rationals, from the rules' text: PE row p
    adds 2**(a + b - 254) * sum_q s[p + qK/4] * v[p + qK/4], a and b the scales of group p // 8,
    to its partial, exactly, and rounds once (round_fp32; R8 for zeros). Finite values only."""
    s_values = mx_values(stationary, stationary_format)
    m_values = mx_values(moving, moving_format)
    quarter = s_values.shape[0] // 4
    result = np.empty((s_values.shape[1], m_values.shape[1]), dtype=np.uint32)
    for (m, n), _ in np.ndenumerate(result):
        partial = 0.0
        for p in range(quarter):
            products = [s_values[p + q * quarter, m] * m_values[p + q * quarter, n]
                        for q in range(4)]
            scale = Fraction(2) ** (int(stationary_scale[p // 8, m]) +
                                    int(moving_scale[p // 8, n]) - 254)
            exact = Fraction(partial) + scale * sum(Fraction(product) for product in products)
            if exact == 0:
                partial = -0.0 if all(np.signbit(t) for t in [partial, *products]) else 0.0
            else:
                partial = round_fp32(exact)
        result[m, n] = np.float32(partial).view(np.uint32)
    return result


def scales(rng, k, columns, low=110, high=140):
    """Random E8M0 scales [K/32, columns] in low..high."""
    return rng.integers(low, high + 1, size=(k // 32, columns)).astype(np.uint8)


# R12: encodings ----------------------------------------------------------------------------

@pytest.mark.parametrize("format_name", MX_ELEMENT_FORMATS)
def test_r12_decode_every_mx_element_encoding_matches_ml_dtypes(format_name):
    codes = np.arange(1 << MX_ELEMENT_FORMATS[format_name].bits, dtype=np.uint8)
    theirs = codes.view(ML_DTYPES[format_name]).astype(np.float64)
    ours = decode(codes, format_name)
    assert np.array_equal(ours, theirs, equal_nan=True)
    assert np.array_equal(np.signbit(ours), np.signbit(theirs))


@pytest.mark.parametrize("format_name", GFLOAT)
def test_r12_decode_every_mx_element_encoding_matches_gfloat(format_name):
    codes = np.arange(1 << MX_ELEMENT_FORMATS[format_name].bits)
    theirs = gfloat.decode_ndarray(GFLOAT[format_name], codes).astype(np.float64)
    assert np.array_equal(decode(codes, format_name), theirs, equal_nan=True)


def test_r12_e8m0_scales_match_ml_dtypes_and_gfloat():
    codes = np.arange(256, dtype=np.uint8)
    ours = decode_e8m0(codes)
    assert np.array_equal(ours, codes.view(ml_dtypes.float8_e8m0fnu).astype(np.float64),
                          equal_nan=True)
    assert np.array_equal(ours, gfloat.decode_ndarray(format_info_ocp_e8m0, codes.astype(int)),
                          equal_nan=True)
    assert ours[0] == 2.0 ** -127 and ours[254] == 2.0 ** 127 and np.isnan(ours[255])


def test_r12_e4m3fn_has_no_infinities_nan_is_s1111111_and_max_448():
    values = decode(np.array([0x7E, 0x7F, 0xFE, 0xFF, 0x78]), "fp8_e4m3fn")
    assert values[0] == 448.0 == MX_ELEMENT_FORMATS["fp8_e4m3fn"].max_finite
    assert np.isnan(values[1]) and values[2] == -448.0 and np.isnan(values[3])
    assert values[4] == 256.0                      # exponent field 1111 is a number here
    assert not np.isinf(decode(np.arange(256), "fp8_e4m3fn")).any()
    assert MX_ELEMENT_FORMATS["fp4_e2m1"].max_finite == 6.0
    assert np.isfinite(decode(np.arange(16), "fp4_e2m1")).all()


def test_as_bits_views_arrays_of_the_mx_dtypes():
    assert as_bits(np.array([448.0, -1.5], ml_dtypes.float8_e4m3fn), "fp8_e4m3fn").tolist() \
        == [0x7E, 0xBC]
    assert as_bits(np.array([6.0, -0.5], ml_dtypes.float4_e2m1fn), "fp4_e2m1").tolist() \
        == [0x7, 0x9]
    with pytest.raises(TypeError, match="integers in 0..15"):
        as_bits(np.array([16]), "fp4_e2m1")


@pytest.mark.parametrize("format_name", MX_ELEMENT_FORMATS)
def test_encode_nearest_agrees_with_ml_dtypes_within_range(rng, format_name):
    """Round to nearest even as ml_dtypes converts; saturation where ml_dtypes would not."""
    largest = MX_ELEMENT_FORMATS[format_name].max_finite
    values = rng.uniform(-largest, largest, 4000) * 2.0 ** rng.integers(-12, 1, 4000)
    values = np.concatenate([values, decode(finite_codes(rng, format_name, 200), format_name)])
    theirs = values.astype(ML_DTYPES[format_name]).view(np.uint8)
    assert np.array_equal(encode_nearest(values, format_name), theirs)
    encoding = MX_ELEMENT_FORMATS[format_name]
    assert encode_nearest(np.array([1e9, -1e9]), format_name).tolist() == \
        [encoding.max_finite_code, encoding.max_finite_code | (1 << (encoding.bits - 1))]


def test_r12_default_fp4_table_holds_the_exact_e2m1_values():
    e2m1 = np.arange(16, dtype=np.uint8).view(ml_dtypes.float4_e2m1fn).astype(np.float64)
    assert np.array_equal(decode(DEFAULT_FP4_TABLE, "fp8_e4m3fn"), e2m1)
    assert np.array_equal(np.signbit(decode(DEFAULT_FP4_TABLE, "fp8_e4m3fn")), np.signbit(e2m1))


def test_r12_fp4_elements_go_through_the_loaded_table(rng):
    """An FP4 operand with table T multiplies exactly as the E4M3FN operand T[codes]."""
    table = finite_codes(rng, "fp8_e4m3fn", 16)
    stationary = rng.integers(0, 16, (128, 3)).astype(np.uint8)
    moving = finite_codes(rng, "fp8_e5m2", (128, 4))
    s_scale, m_scale = scales(rng, 128, 3), scales(rng, 128, 4)
    assert np.array_equal(
        mx_matmul_fp32(stationary, moving, s_scale, m_scale, "fp4_e2m1", "fp8_e5m2", table),
        mx_matmul_fp32(table[stationary], moving, s_scale, m_scale, "fp8_e4m3fn", "fp8_e5m2"))
    assert not np.array_equal(table, DEFAULT_FP4_TABLE)


# R13: the MX PE step -------------------------------------------------------------------------

@pytest.mark.parametrize("stationary_format, moving_format", MX_PAIRS)
def test_r13_column_is_the_exact_step_by_step_sum_in_nkis_x4_layout(
        rng, stationary_format, moving_format):
    """Every element equals the independent exact-rational model of the rule (E5M2 pairs reach
    sums of four products spanning more than 53 bits, the golden's exact fallback)."""
    stationary = finite_codes(rng, stationary_format, (256, 4))
    moving = finite_codes(rng, moving_format, (256, 3))
    s_scale, m_scale = scales(rng, 256, 4, 100, 150), scales(rng, 256, 3, 100, 150)
    assert np.array_equal(
        mx_matmul_fp32(stationary, moving, s_scale, m_scale, stationary_format, moving_format),
        stepwise(stationary, moving, s_scale, m_scale, stationary_format, moving_format))


def test_r13_a_scale_group_is_8_partitions_by_the_4_elements_k_over_4_apart():
    """Scale group g of column 0 doubles exactly the logical rows q * K/4 + 8g .. 8g + 7."""
    k = 256
    stationary = np.full((k, 1), ONE["fp8_e4m3fn"], np.uint8)
    s_scale = np.full((k // 32, 1), 127, np.uint8)
    s_scale[3] = 128
    for row in range(k):
        moving = np.zeros((k, 1), np.uint8)
        moving[row] = ONE["fp8_e4m3fn"]
        result = mx_matmul_fp32(stationary, moving, s_scale, np.full((k // 32, 1), 127),
                                "fp8_e4m3fn", "fp8_e4m3fn")
        in_group = (row % (k // 4)) // 8 == 3
        assert decode_fp32(result)[0, 0] == (2.0 if in_group else 1.0), row


def test_r13_nkis_x4_tile_packs_the_four_elements_k_over_4_apart():
    """NKI's [K/4, X, 4] tile: partition p's word holds logical rows p, p + K/4, p + K/2,
    p + 3K/4 (the red, blue, yellow, green elements 128 apart of the architecture guide)."""
    operand = np.arange(512 * 3).reshape(512, 3)
    tile = nki_x4(operand)
    assert tile.shape == (128, 3, 4)
    assert tile[0, 0].tolist() == [0, 128 * 3, 256 * 3, 384 * 3]
    assert tile[5, 2].tolist() == [operand[5 + 128 * q, 2] for q in range(4)]
    assert np.array_equal(logical_from_nki_x4(tile), operand)


@pytest.mark.parametrize("partitions", [32, 64, 128])
def test_r13_scales_in_sbuf_sit_in_their_groups_quadrant(partitions):
    """Logical scale row g (partitions 8g .. 8g+7) sits in the quadrant of its data, at
    partition 32 * (g // 4) + g % 4 once the data spans more than one quadrant."""
    scales = np.arange(partitions // 8 * 2).reshape(-1, 2).astype(np.uint8) + 1
    tile = scales_to_sbuf(scales)
    assert tile.shape == ((partitions // 8, 2) if partitions <= 32 else (partitions, 2))
    for group in range(partitions // 8):
        row = group if partitions <= 32 else 32 * (group // 4) + group % 4
        assert (row // 32) == (group * 8) // 32
        assert np.array_equal(tile[row], scales[group])
    assert np.count_nonzero(tile) == scales.size
    assert np.array_equal(scales_from_sbuf(tile, partitions), scales)


def test_r13_four_products_the_scales_and_the_partial_are_rounded_once():
    """1 + 4 * 2**-25 is 1 + 2**-23 when rounded once; four roundings would keep 1.0."""
    ones = np.full((4, 1), 1.0)
    result = mx_pe_step_fp32(np.array([0x3F800000], np.uint32), ones, ones, 127, 102)
    assert int(result[0]) == 0x3F800001
    result = mx_pe_step_fp32(np.array([0x3F800000], np.uint32), ones[:2], ones[:2], 127, 101)
    assert int(result[0]) == 0x3F800000      # 1 + 2**-24 is a tie: to even


@pytest.mark.parametrize("stationary_scale, moving_scale", [(0, 254), (254, 0), (0, 0)])
def test_r13_scales_at_2_to_the_minus_127_and_127(stationary_scale, moving_scale):
    ones = np.full((4, 1), 1.0)
    value = decode_fp32(mx_pe_step_fp32(np.zeros(1, np.uint32), ones, ones, stationary_scale,
                                        moving_scale))[0]
    exponent = stationary_scale + moving_scale - 254 + 2
    assert value == (4.0 * 2.0 ** (stationary_scale + moving_scale - 254) if exponent >= -126
                     else 0.0)                  # 2**-252 flushes to +0 (R5)


def test_r13_scale_0xff_makes_the_step_nan_even_with_zero_elements():
    zeros = np.zeros((4, 1))
    for scales_pair in ((255, 127), (127, 255)):
        assert int(mx_pe_step_fp32(np.zeros(1, np.uint32), zeros, zeros, *scales_pair)[0]) == NAN


def test_r13_specials_e4m3fn_nan_448_overflow_and_cancellation():
    k = 128
    stationary = np.zeros((k, 4), np.uint8)
    moving = np.zeros((k, 1), np.uint8)
    stationary[0, 0] = 0x7F                                  # E4M3FN NaN
    stationary[:2, 1] = 0x7E                                 # 448 twice
    stationary[0, 2], stationary[32, 2] = 0x7E, 0xFE         # 448 and -448: cancel
    stationary[5, 3] = 0x7E
    moving[[0, 1, 5, 32], 0] = 0x7E
    s_scale = np.full((4, 4), 127, np.uint8)
    s_scale[0, 1] = 254                                      # 2 * 448**2 * 2**127 > 2**128
    result = mx_matmul_fp32(stationary, moving, s_scale, np.full((4, 1), 127), "fp8_e4m3fn",
                            "fp8_e4m3fn")
    assert int(result[0, 0]) == NAN
    assert int(result[1, 0]) == 0x7F800000                   # overflow to +Inf (R6)
    assert int(result[2, 0]) == 0x00000000                   # exact zero, +0 (R8)
    assert decode_fp32(result)[3, 0] == 448.0 ** 2


def test_r13_e2m1_extremes_and_e5m2_subnormals_are_exact():
    k = 128
    stationary = np.zeros((k, 2), np.uint8)
    moving = np.zeros((k, 1), np.uint8)
    stationary[[0, 32, 64, 96], 0] = [0x7, 0xF, 0x1, 0x9]    # 6, -6, 0.5, -0.5
    moving[[0, 32, 64, 96], 0] = [0x01, 0x02, 0x03, 0x81]    # E5M2 subnormals 1, 2, 3, -1 x 2**-16
    stationary[0, 1] = 0x7
    values = decode_fp32(mx_matmul_fp32(stationary, moving, np.full((4, 2), 127),
                                        np.full((4, 1), 127), "fp4_e2m1", "fp8_e5m2"))
    assert values[0, 0] == (6 * 1 - 6 * 2 + 0.5 * 3 + 0.5 * 1) * 2.0 ** -16
    assert values[1, 0] == 6 * 2.0 ** -16


# R14 and bad input -------------------------------------------------------------------------

def _matmul(k=128, m=2, n=2, s_shape=None, m_shape=None, table=None,
            formats=("fp8_e4m3fn", "fp4_e2m1")):
    return mx_matmul_fp32(np.zeros((k, m), np.uint8), np.zeros((k, n), np.uint8),
                          np.full(s_shape or (k // 32, m), 127),
                          np.full(m_shape or (k // 32, n), 127), *formats, table)


@pytest.mark.parametrize("call, message", [
    (lambda: _matmul(k=96),
     "Parameter 'K' is 96: MX mode needs K a multiple of 128 (NKI's nc_matmul_mx takes a "
     "partition dimension that is a multiple of 32, each partition an x4 word); zero-pad the "
     "contraction with zero elements and finite scales, as NKI requires"),
    (lambda: _matmul(k=256, s_shape=(4, 2)),
     "Parameter 'stationary_scale' must have shape (K/32, 2) = (8, 2), one E8M0 scale per "
     "group of 8 partitions x 4 elements, not (4, 2)"),
    (lambda: _matmul(m_shape=(4, 3)),
     "Parameter 'moving_scale' must have shape (K/32, 2) = (4, 2), one E8M0 scale per group of "
     "8 partitions x 4 elements, not (4, 3)"),
    (lambda: _matmul(table=np.arange(15)),
     "Parameter 'fp4_table' must be 16 fp8_e4m3fn codes (integers 0..255, none of the NaN "
     "codes 0x7F, 0xFF), one per E2M1 code, not [ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,10,11,12,13,14] "
     "of shape (15,)"),
    (lambda: _matmul(table=np.r_[DEFAULT_FP4_TABLE[:15], 0x7F]),
     "Parameter 'fp4_table' must be 16 fp8_e4m3fn codes (integers 0..255, none of the NaN "
     "codes 0x7F, 0xFF), one per E2M1 code, not [  0, 48, 56, 60, 64, 68, 72, 76,128,176,184,"
     "188,192,196,200,127] of shape (16,)"),
    (lambda: _matmul(formats=("fp8_e4m3", "fp4_e2m1")),
     "Parameter 'stationary_format' must be a floating-point format, one of fp8_e4m3fn, "
     "fp8_e5m2, fp4_e2m1, not 'fp8_e4m3'"),
    (lambda: quantize_mx(np.zeros((128, 2)), "fp8_e4m3fn", "max"),
     "Parameter 'scale_rule' must be one of nki, ocp, not 'max'"),
    (lambda: exact_mx_matmul(np.zeros((128, 1), np.uint8), np.zeros((128, 1), np.uint8),
                             np.full((4, 1), 255), np.full((4, 1), 127), "fp8_e5m2", "fp8_e5m2"),
     "exact_mx_matmul needs finite operands: an element or a scale (0xFF) of the stationary or "
     "moving operand is an infinity or NaN"),
])
def test_r14_bad_input_is_refused_in_one_line(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message


def test_r14_zero_padding_k_to_a_multiple_of_128_leaves_the_result_unchanged(rng):
    """The refusal's advice holds: zero elements (any finite scale) add exact zeros."""
    stationary = finite_codes(rng, "fp8_e4m3fn", (100, 3))
    moving = finite_codes(rng, "fp8_e4m3fn", (100, 2))
    padded = [np.concatenate([x, np.zeros((28, x.shape[1]), np.uint8)])
              for x in (stationary, moving)]
    # Zero rows at the end are logical rows 100..127: quarter 3, partitions 4..31.
    result = mx_matmul_fp32(*padded, np.full((4, 3), 127), np.full((4, 2), 127), "fp8_e4m3fn",
                            "fp8_e4m3fn")
    exact = exact_mx_matmul(*padded, np.full((4, 3), 127), np.full((4, 2), 127), "fp8_e4m3fn",
                            "fp8_e4m3fn")
    values = decode(stationary, "fp8_e4m3fn").T @ decode(moving, "fp8_e4m3fn")
    assert np.allclose(decode_fp32(result), values, rtol=1e-6)
    assert np.allclose(np.array(exact, dtype=float), values, rtol=1e-12)


# Against the exact result and AWS's reference ----------------------------------------------

def _random_operands(rng, data, format_names, k, columns):
    """Codes [K, 16] and scales [K/32, 16] of one operand per format: ``quantized`` normal
    values (quantize_mx), or ``codes``, uniform finite codes with scales 2**-7 .. 2**7."""
    operands = []
    for name in format_names:
        if data == "quantized":
            operands.append(quantize_mx(rng.standard_normal((k, columns)), name))
        else:
            operands.append((finite_codes(rng, name, (k, columns)),
                             scales(rng, k, columns, 120, 134)))
    return operands


@pytest.mark.parametrize("data", ["quantized", "codes"])
@pytest.mark.parametrize("stationary_format, moving_format", MX_PAIRS)
def test_random_mx_gemms_are_within_the_error_bound_and_inside_aws_band(
        rng, stationary_format, moving_format, data):
    """K = 512 (one pass), 16 x 16 outputs: every element within mx_error_bound of the exact
    result, every element inside AWS's 5e-2 band of its float32 einsum reference."""
    (s_codes, s_scale), (m_codes, m_scale) = _random_operands(
        rng, data, (stationary_format, moving_format), 512, 16)
    args = (s_codes, m_codes, s_scale, m_scale, stationary_format, moving_format)
    computed = mx_matmul_fp32(*args)
    exact = exact_mx_matmul(*args)
    error = np.abs(decode_fp32(computed) - np.array(exact, dtype=np.float64))
    bound = mx_error_bound(*args)
    inside = aws_band(computed, aws_reference(*args))
    print(f"{stationary_format} x {moving_format}, {data}: largest error "
          f"{ulp_error(computed, exact).max():.1f} ULP, {(error / bound).max():.2%} of the "
          f"bound; {inside.mean():.1%} inside AWS's band")
    assert (error <= bound).all()
    assert inside.all()


# R15: quantize_mx ----------------------------------------------------------------------------

def _group_max_exponents(values):
    k = values.shape[0]
    groups = values.reshape(4, k // 32, 8, -1)
    return np.frexp(np.abs(groups).max(axis=(0, 2)))[1] - 1


@pytest.mark.parametrize("format_name", MX_ELEMENT_FORMATS)
def test_r15_nkis_scale_is_twice_ocps(rng, format_name):
    values = rng.standard_normal((128, 8)) * 2.0 ** rng.integers(-20, 20, (1, 8))
    _, nki = quantize_mx(values, format_name, "nki")
    _, ocp = quantize_mx(values, format_name, "ocp")
    emax = MX_ELEMENT_FORMATS[format_name].max_exponent
    assert np.array_equal(ocp.astype(int), _group_max_exponents(values) - emax + 127)
    assert np.array_equal(nki.astype(int), ocp.astype(int) + 1)


@pytest.mark.parametrize("format_name", MX_ELEMENT_FORMATS)
@pytest.mark.parametrize("scale_rule", ["nki", "ocp"])
def test_r15_quantize_of_dequantized_mx_data_is_the_identity(rng, format_name, scale_rule):
    """Data whose groups' largest element has exponent emax - 1 (NKI) or emax (OCP) comes back
    with the same codes and scales."""
    encoding = MX_ELEMENT_FORMATS[format_name]
    top = encoding.max_exponent - (scale_rule == "nki")
    codes = finite_codes(rng, format_name, (256, 8))
    values = decode(codes, format_name)
    below = encode_nearest(np.full(codes.shape, 2.0 ** (top - 1)), format_name)
    codes = np.where(np.abs(values) < 2.0 ** top, codes, below)
    codes.reshape(4, 8, 8, 8)[0, :, 0, :] = encode_nearest(
        np.full((8, 8), 1.5 * 2.0 ** top) * rng.choice([-1, 1], (8, 8)), format_name)
    group_scales = rng.integers(1, 255, (8, 8)).astype(np.uint8)
    again = quantize_mx(dequantize_mx(codes, group_scales, format_name), format_name, scale_rule)
    assert np.array_equal(again[1], group_scales)
    assert np.array_equal(again[0], codes)


@pytest.mark.parametrize("format_name", MX_ELEMENT_FORMATS)
def test_r15_nki_round_trip_errs_by_at_most_half_an_element_ulp_and_never_saturates(
        rng, format_name):
    encoding = MX_ELEMENT_FORMATS[format_name]
    values = rng.standard_normal((256, 8)) * 2.0 ** rng.integers(-30, 30, (1, 8))
    codes, group_scales = quantize_mx(values, format_name)
    back = dequantize_mx(codes, group_scales, format_name)
    unit = np.tile(np.repeat(decode_e8m0(group_scales), 8, axis=0), (4, 1))
    scaled = np.abs(values) / unit
    ulp = 2.0 ** (np.maximum(np.frexp(scaled)[1] - 1, 1 - encoding.bias)
                  - encoding.operand.mantissa_bits)
    assert (np.abs(back - values) <= ulp / 2 * unit).all()
    # Largest elements land in [2**(emax - 1), 2**emax], below the largest finite value.
    assert (np.abs(decode(codes, format_name)) <= 2.0 ** encoding.max_exponent).all()


def test_r15_zero_groups_get_scale_0_and_nonfinite_groups_scale_0xff():
    values = np.zeros((128, 3))
    values[0, 1] = np.inf
    values[40, 2] = np.nan
    codes, group_scales = quantize_mx(values, "fp8_e4m3fn")
    assert group_scales[:, 0].tolist() == [0, 0, 0, 0]
    assert group_scales[0, 1] == 255 and group_scales[1, 2] == 255
    assert not codes.any()
    assert np.isnan(dequantize_mx(codes, group_scales, "fp8_e4m3fn")[[0, 32], 1]).all()
