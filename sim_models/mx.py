"""Trainium3's MX matrix multiply, bit-exact: MXFP8/MXFP4 elements, E8M0 block scales, NKI's x4
layout, ``quantize_mx``, and the references a result is judged against (docs/numerics.md,
R12-R15). ``sim_models.golden.TileModel`` runs MX operations through :func:`mx_matmul_fp32`.

Layout (NKI ``nc_matmul_mx``, source keys N-ISA-MX and N-T3-MX of
``sim_models/specs/sources.toml``): the logical operands are ``stationary`` [K, M] and
``moving`` [K, N]; K = 4P over P partitions (PE rows), and partition p holds the x4 word of
contraction indices p, p + P, p + 2P, p + 3P (the four elements K/4 apart). A scale group is 8
partitions x 4 elements: scale ``[g, x]`` (E8M0, one byte) applies to the elements of rows
p = 8g .. 8g + 7 of every quarter, column x. So scales are [K/32, M] and [K/32, N].
"""

import numpy as np

from .floats import (ENCODINGS, MX_ELEMENT_FORMATS, as_bits, check_float_format, decode,
                     encode_fp32, encode_nearest, decode_fp32, exact_sums, round_step,
                     summation_bound)

__all__ = ["AWS_TOLERANCE", "DEFAULT_FP4_TABLE", "E8M0_BIAS", "E8M0_NAN", "GROUP_PARTITIONS",
           "K_MULTIPLE", "SCALE_RULES", "aws_band", "aws_reference", "check_fp4_table",
           "check_mx_k", "check_scales", "decode_e8m0", "dequantize_mx", "exact_mx_matmul",
           "gemm_values", "logical_from_nki_x4", "mx_error_bound", "mx_matmul_fp32",
           "mx_pe_step_fp32", "mx_values", "nki_x4", "quantize_mx", "scale_rows",
           "scales_from_sbuf", "scales_to_sbuf", "through_fp4_table", "value_unit", "x4_words"]

#: E8M0 scale: the byte s stands for 2**(s - 127); 0xFF is NaN (R12).
E8M0_BIAS = 127
E8M0_NAN = 0xFF
#: Partitions of one scale group; with the 4 elements of each x4 word, 32 elements.
GROUP_PARTITIONS = 8
#: Elements of one x4 word: products one PE sums per cycle in MX mode.
X4 = 4
#: K of one MX operation must be a multiple of this: NKI's nc_matmul_mx takes a partition
#: dimension that is a multiple of 32 (R14).
K_MULTIPLE = 4 * 32
#: The FP8 format the FP4-to-FP8 table maps E2M1 codes to (R12).
FP4_TABLE_FORMAT = "fp8_e4m3fn"
#: The tile's default FP4-to-FP8 table: E4M3FN codes of the exact E2M1 values, by E2M1 code.
DEFAULT_FP4_TABLE = encode_nearest(decode(np.arange(16), "fp4_e2m1"), FP4_TABLE_FORMAT)
#: AWS's acceptance band for MX results: np.allclose(rtol=5e-2, atol=5e-2) (source N-MX-CPU).
AWS_TOLERANCE = 5e-2
#: Block-scale choices of :func:`quantize_mx`: NKI's (twice OCP's) and OCP's sample algorithm.
SCALE_RULES = ("nki", "ocp")


def check_fp4_table(table, name="fp4_table"):
    """The FP4-to-FP8 table ``table`` as uint8 [16] E4M3FN codes, or :data:`DEFAULT_FP4_TABLE`
    for None; one-line ``ValueError`` naming parameter ``name`` unless it is 16 integer codes in
    0..255, none a NaN (R12: a NaN entry is refused, as no E2M1 code stands for NaN)."""
    if table is None:
        return DEFAULT_FP4_TABLE
    table = np.asarray(table)
    nan_codes = np.isnan(decode(np.arange(256), FP4_TABLE_FORMAT)).nonzero()[0]
    if table.shape != (16,) or table.dtype.kind not in "iu" or table.min() < 0 \
            or table.max() > 255 or np.isin(table, nan_codes).any():
        shown = np.array2string(table.ravel()[:16], separator=",", max_line_width=1 << 16)
        raise ValueError(f"Parameter '{name}' must be 16 fp8_e4m3fn codes (integers 0..255, "
                         f"none of the NaN codes 0x7F, 0xFF), one per E2M1 code, not "
                         f"{shown} of shape {table.shape}")
    return table.astype(np.uint8)


def mx_values(bits, format_name, fp4_table=None):
    """Exact float64 values of MX elements (unscaled): E4M3FN and E5M2 decoded directly, E2M1
    through the FP4-to-FP8 table (R12). ``bits`` : codes (see ``floats.as_bits``), any shape."""
    check_float_format("format", format_name, MX_ELEMENT_FORMATS)
    bits = as_bits(bits, format_name)
    if format_name == "fp4_e2m1":
        return decode(check_fp4_table(fp4_table)[bits], FP4_TABLE_FORMAT)
    return decode(bits, format_name)


def through_fp4_table(bits, format_name, fp4_table=None):
    """(codes, format) of MX elements as they enter the array (R12): E2M1 codes replaced by
    the E4M3FN codes of the FP4-to-FP8 table, as ``fp8_e4m3fn``; other formats unchanged."""
    if format_name != "fp4_e2m1":
        return bits, format_name
    return check_fp4_table(fp4_table)[as_bits(bits, format_name)], FP4_TABLE_FORMAT


def check_mx_k(k, k_multiple=K_MULTIPLE, subject="Parameter 'K'"):
    """Refuse a contraction K that is not a positive multiple of ``k_multiple`` (R14: 128; a
    tile of fewer than 32 rows takes its whole rows' 4R, ``TileConfig.mx_k_multiple``), with
    one line starting with ``subject``."""
    if k <= 0 or k % k_multiple:
        why = "NKI's nc_matmul_mx takes a partition dimension that is a multiple of 32" \
            if k_multiple == K_MULTIPLE else \
            f"a tile of fewer than 32 rows takes all {k_multiple // X4} of its partitions"
        raise ValueError(f"{subject} is {k}: MX mode needs K a multiple of {k_multiple} "
                         f"({why}, each partition an x4 word); zero-pad the contraction with "
                         f"zero elements and finite scales, as NKI requires")


def check_scales(subject, scales, k, columns):
    """E8M0 scales ``scales`` as uint8 [K/32, columns]; one-line ``ValueError`` naming
    ``subject`` for another shape or values outside 0..255. An ``ml_dtypes.float8_e8m0fnu``
    array is viewed."""
    scales = np.asarray(scales)
    expected = (k // (X4 * GROUP_PARTITIONS), columns)
    if scales.dtype.name == "float8_e8m0fnu":
        scales = scales.view(np.uint8)
    if scales.shape != expected:
        raise ValueError(f"Parameter '{subject}' must have shape (K/32, {columns}) = "
                         f"{expected}, one E8M0 scale per group of 8 partitions x 4 elements, "
                         f"not {scales.shape}")
    if scales.dtype.kind not in "iu" or (scales.size and (scales.min() < 0 or scales.max() > 255)):
        raise ValueError(f"Parameter '{subject}' must hold E8M0 bytes, integers 0..255 (or "
                         f"have dtype float8_e8m0fnu), not {scales.dtype.name} values "
                         f"{scales.min()}..{scales.max()}")
    return scales.astype(np.uint8)


def x4_words(operand):
    """A logical [K, X] operand as the PE rows take it, [K/4, 4, X]: row p holds contraction
    indices p, p + K/4, p + K/2, p + 3K/4 (NKI's x4 word, its last axis moved forward)."""
    return operand.reshape(X4, operand.shape[0] // X4, *operand.shape[1:]).swapaxes(0, 1)


def nki_x4(operand):
    """A logical [K, X] operand in NKI's SBUF layout [K/4, X, 4]: ``[p, x, q]`` is
    ``operand[p + q * K/4, x]``, the x4 word of partition p (source N-T3-MX)."""
    return x4_words(operand).transpose(0, 2, 1)


def logical_from_nki_x4(tile):
    """The logical [K, X] operand of an NKI x4 tile [K/4, X, 4] (inverse of :func:`nki_x4`)."""
    return np.concatenate(np.moveaxis(tile, 2, 0), axis=0)


#: Partitions of one SBUF quadrant; NKI keeps a group's scale in its data's quadrant.
QUADRANT = 32


def scales_to_sbuf(scales):
    """Logical scales [P/8, X] as NKI places them in SBUF (sources N-MX, N-MX-CPU): unchanged
    for P <= 32 partitions; else a [P, X] tile (unused partitions 0) whose quadrant i holds
    logical rows 4i .. 4i+3 in its first four partitions."""
    groups = scales.shape[0]
    per_quadrant = QUADRANT // GROUP_PARTITIONS
    if groups <= per_quadrant:
        return scales.copy()
    tile = np.zeros((groups * GROUP_PARTITIONS, *scales.shape[1:]), dtype=scales.dtype)
    rows = np.arange(groups)
    tile[rows // per_quadrant * QUADRANT + rows % per_quadrant] = scales
    return tile


def scales_from_sbuf(tile, partitions):
    """Logical scales [P/8, X] of a data tile of ``partitions`` (P) partitions from NKI's SBUF
    placement (inverse of :func:`scales_to_sbuf`)."""
    groups = partitions // GROUP_PARTITIONS
    per_quadrant = QUADRANT // GROUP_PARTITIONS
    if groups <= per_quadrant:
        return tile[:groups].copy()
    rows = np.arange(groups)
    return tile[rows // per_quadrant * QUADRANT + rows % per_quadrant]


def scale_rows(scales):
    """Scales [K/32, X] expanded to the PE rows [K/4, X]: row p takes group p // 8."""
    return np.repeat(scales, GROUP_PARTITIONS, axis=0)


def decode_e8m0(scales):
    """float64 values of E8M0 bytes (R12): 2**(s - 127), NaN for 0xFF. Any shape."""
    scales = np.asarray(scales).astype(np.int64)
    return np.where(scales == E8M0_NAN, np.nan, np.ldexp(1.0, scales - E8M0_BIAS))


def _scaled(values, scales):
    """Element values times 2**(scale - 127), exactly (float64 covers 2**-286 .. 2**286), NaN
    where the scale is 0xFF (R12, R13); arrays that broadcast."""
    scales = np.asarray(scales).astype(np.int64)
    with np.errstate(invalid="ignore"):
        scaled = np.ldexp(values, scales - E8M0_BIAS)
    return np.where(scales == E8M0_NAN, np.nan, scaled)


def _scaled_values(values, scales):
    """Element values [K, X] times their scales [K/32, X] (R12), float64."""
    return _scaled(values, np.tile(scale_rows(scales), (X4, 1)))


def _checked(stationary, moving, stationary_scale, moving_scale, stationary_format,
             moving_format, fp4_table, k_multiple=K_MULTIPLE):
    """Decoded element values [K, M], [K, N] and scales [K/32, M], [K/32, N] after the checks."""
    for subject, name in (("stationary_format", stationary_format),
                          ("moving_format", moving_format)):
        check_float_format(subject, name, MX_ELEMENT_FORMATS)
    table = check_fp4_table(fp4_table)
    stationary = mx_values(stationary, stationary_format, table)
    moving = mx_values(moving, moving_format, table)
    if stationary.ndim != 2 or moving.ndim != 2 or stationary.shape[0] != moving.shape[0]:
        raise ValueError(f"Parameters 'stationary' [K, M] and 'moving' [K, N] must be 2-D with "
                         f"one K, not of shapes {stationary.shape} and {moving.shape}")
    k = stationary.shape[0]
    check_mx_k(k, k_multiple)
    return (stationary, moving, check_scales("stationary_scale", stationary_scale, k,
                                             stationary.shape[1]),
            check_scales("moving_scale", moving_scale, k, moving.shape[1]))


def mx_pe_step_fp32(partial, stationary, moving, stationary_scale, moving_scale):
    """One MX PE step, elementwise (R13): ``RNE_fp32(partial + 2**(a + b - 254) * sum_q
    stationary[q] * moving[q])``, exact and rounded once; a scale of 0xFF makes the step NaN.

    Parameters
    ----------
    partial : numpy.ndarray, uint32 [...]
        Incoming partials, FP32 bits.
    stationary, moving : numpy.ndarray, float64 [4, ...]
        The element values of the x4 words (:func:`mx_values`), broadcastable.
    stationary_scale, moving_scale : numpy.ndarray of int [...]
        E8M0 bytes a and b of the PE's group.

    Returns
    -------
    numpy.ndarray, uint32 [...]
    """
    partial = decode_fp32(partial)
    return encode_fp32(_step(partial, _scaled(stationary, stationary_scale),
                             _scaled(moving, moving_scale)))


def _step(partial, stationary, moving):
    """R13 on scaled element values [4, ...]: the scale pair is in the products, exactly
    (2**(a-127) * 2**(b-127) = 2**(a+b-254)); float64 FP32 values in and out."""
    with np.errstate(invalid="ignore"):
        products = stationary * moving
    return round_step(partial, list(products))


def mx_matmul_fp32(stationary, moving, stationary_scale, moving_scale, stationary_format,
                   moving_format, fp4_table=None, k_multiple=K_MULTIPLE):
    """FP32 bits the bottom of each PE column emits in MX mode: ``(S * 2^s)^T @ (V * 2^v)``.

    PE row p (0 <= p < K/4) adds the four products of contraction indices p + qK/4 (q = 0..3)
    times 2**(s + v - 254), s and v the E8M0 scales of group p // 8 of its column m and of the
    moving column n, to the partial from row p - 1 (+0 for row 0), exactly, with one rounding
    (R13; R5-R8 as in every mode).

    Parameters
    ----------
    stationary : numpy.ndarray [K, M]
        Codes of ``stationary_format`` (one a byte; FP4 codes 0..15) or an ml_dtypes array of
        it. K is a multiple of 128 (R14).
    moving : numpy.ndarray [K, N]
    stationary_scale : numpy.ndarray [K/32, M], moving_scale : numpy.ndarray [K/32, N]
        E8M0 bytes (uint8, or ``ml_dtypes.float8_e8m0fnu``), logical (contiguous) layout: NKI
        spreads them over the partition quadrants in SBUF, which is a placement, not a value.
    stationary_format, moving_format : str
        ``fp8_e4m3fn``, ``fp8_e5m2`` or ``fp4_e2m1``, mixed as wanted.
    fp4_table : numpy.ndarray of int [16] or None
        The tile's FP4-to-FP8 table (E4M3FN codes); None for the exact E2M1 values.
    k_multiple : int
        What K must be a multiple of: R14's 128, or a small tile's ``TileConfig.mx_k_multiple``.

    Returns
    -------
    numpy.ndarray, uint32 [M, N]
    """
    stationary, moving, stationary_scale, moving_scale = _checked(
        stationary, moving, stationary_scale, moving_scale, stationary_format, moving_format,
        fp4_table, k_multiple)
    stationary_words = x4_words(_scaled_values(stationary, stationary_scale))
    moving_words = x4_words(_scaled_values(moving, moving_scale))
    partial = np.zeros((stationary.shape[1], moving.shape[1]))
    for row in range(stationary_words.shape[0]):
        partial = _step(partial, stationary_words[row, :, :, None],
                        moving_words[row, :, None, :])
    return encode_fp32(partial)


def _finite_scaled(stationary, moving, stationary_scale, moving_scale, stationary_format,
                   moving_format, fp4_table, caller):
    """Scaled element values [K, M], [K, N], refused unless every one is finite."""
    stationary, moving, stationary_scale, moving_scale = _checked(
        stationary, moving, stationary_scale, moving_scale, stationary_format, moving_format,
        fp4_table)
    stationary = _scaled_values(stationary, stationary_scale)
    moving = _scaled_values(moving, moving_scale)
    if not (np.isfinite(stationary).all() and np.isfinite(moving).all()):
        raise ValueError(f"{caller} needs finite operands: an element or a scale (0xFF) of the "
                         f"stationary or moving operand is an infinity or NaN")
    return stationary, moving


def exact_mx_matmul(stationary, moving, stationary_scale, moving_scale, stationary_format,
                    moving_format, fp4_table=None):
    """The exact ``(S * 2^s)^T @ (V * 2^v)`` of finite operands and scales, no rounding:
    object array [M, N] of Fractions. Parameters as :func:`mx_matmul_fp32`."""
    stationary, moving = _finite_scaled(stationary, moving, stationary_scale, moving_scale,
                                        stationary_format, moving_format, fp4_table,
                                        "exact_mx_matmul")
    return exact_sums(stationary, moving, value_unit(stationary_format),
                      value_unit(moving_format))


def value_unit(format_name):
    """The exponent u such that every scaled element of ``format_name`` (under any FP4 table and
    scale) is an integer multiple of 2**u: the smallest subnormal's, times 2**-127."""
    return min(ENCODINGS[format_name].lsb_exponent,
               ENCODINGS[FP4_TABLE_FORMAT].lsb_exponent) - E8M0_BIAS


def gemm_values(codes, scales, format_name, pass_k, fp4_table=None):
    """Exact float64 values [K, X] of a tiled GEMM's MX operand: codes [K, X] and scales
    [K/32, X], cut into passes of ``pass_k`` contraction rows (the last may be shorter, a
    multiple of 32), each pass in its own x4 layout with its own scale rows
    (``sim_models.tiler``); NaN where a scale is 0xFF."""
    values = mx_values(codes, format_name, fp4_table)
    scales = check_scales("scales", scales, values.shape[0], values.shape[1])
    group_rows = X4 * GROUP_PARTITIONS
    return np.concatenate([
        _scaled_values(values[start:start + pass_k],
                       scales[start // group_rows:(start + pass_k) // group_rows])
        for start in range(0, values.shape[0], pass_k)])


def mx_error_bound(stationary, moving, stationary_scale, moving_scale, stationary_format,
                   moving_format, fp4_table=None):
    """Largest ``|mx_matmul_fp32(...) - exact_mx_matmul(...)|`` the rules allow, per element:
    ``floats.error_bound``'s recursive-summation bound with J = K/4 roundings and the scaled
    products' magnitudes. Valid while no partial overflows. float64 [M, N]."""
    stationary, moving = _finite_scaled(stationary, moving, stationary_scale, moving_scale,
                                        stationary_format, moving_format, fp4_table,
                                        "mx_error_bound")
    return summation_bound(stationary, moving, stationary.shape[0] // X4)


def aws_reference(stationary, moving, stationary_scale, moving_scale, stationary_format,
                  moving_format, fp4_table=None):
    """AWS's CPU reference for ``nc_matmul_mx`` (the NKI MX deep dive's ``mx_cpu_utils``,
    source N-MX-CPU), recomputed: elements upcast to float32, multiplied in float32 by
    ``2.0 ** (scale - 127)`` as float32 (so 0xFF gives infinity, not NaN), summed with
    ``numpy.einsum`` over the x4 layout in float32. Not bit-exact to any hardware; what AWS's
    own tests compare with. Parameters as :func:`mx_matmul_fp32`; returns float32 [M, N]."""
    stationary, moving, stationary_scale, moving_scale = _checked(
        stationary, moving, stationary_scale, moving_scale, stationary_format, moving_format,
        fp4_table)
    with np.errstate(over="ignore", invalid="ignore"):
        words = []
        for values, scales in ((stationary, stationary_scale), (moving, moving_scale)):
            factors = np.float32(2.0) ** (scale_rows(scales).astype(np.float32) - 127)
            words.append(nki_x4(values.astype(np.float32)) * factors[:, :, None])
        return np.einsum("kiq,kjq->ij", *words)


def aws_band(computed, reference, tolerance=AWS_TOLERANCE):
    """Which FP32 results lie inside AWS's acceptance band around ``reference``:
    ``|c - r| <= tolerance + tolerance * |r|`` (numpy.allclose's test, AWS's rtol = atol = 5e-2).

    ``computed`` : uint32 [M, N] FP32 bits; ``reference`` : float [M, N]. Returns bool [M, N];
    its mean is the share inside the band.
    """
    values = decode_fp32(computed)
    return np.isclose(values, np.asarray(reference, dtype=np.float64), rtol=tolerance,
                      atol=tolerance)


def _group_view(values):
    """[K, X] as [4, K/32, 8, X]: axis 1 the scale group, axes 0 and 2 its 32 elements."""
    k = values.shape[0]
    return values.reshape(X4, k // (X4 * GROUP_PARTITIONS), GROUP_PARTITIONS, *values.shape[1:])


def quantize_mx(values, element_format, scale_rule="nki"):
    """Quantize real values to MX elements and E8M0 scales in NKI's layout (R15).

    Per group (8 partitions x 4 elements, as :func:`mx_matmul_fp32` reads them) with largest
    magnitude A: the shared exponent is floor(log2 A) - emax + 1 under NKI's rule (the
    ``quantize_mx`` instruction's block scale, twice OCP's: source N-ISA-QMX) or
    floor(log2 A) - emax under OCP's sample algorithm, emax = floor(log2) of the element
    format's largest value; clamped to -127..127. Each element is value / scale rounded to
    nearest even, saturating at the largest finite element (never reached under NKI's rule).
    A group of zeros gets scale 0 (2**-127); a group holding an infinity or NaN gets scale 0xFF
    (NaN) and zero elements.

    Parameters
    ----------
    values : numpy.ndarray, float [K, X]
        Logical values (BF16/FP16 ones for the instruction; any float dtype is read exactly as
        float64); K a multiple of 128.
    element_format : str
        ``fp8_e4m3fn`` or ``fp8_e5m2`` (what NKI's instruction writes), or ``fp4_e2m1`` (the
        exact E2M1 values; a host-side choice, NKI's instruction has no FP4 output).
    scale_rule : str
        ``nki`` (default) or ``ocp``.

    Returns
    -------
    (codes, scales) : numpy.ndarray uint8 [K, X], numpy.ndarray uint8 [K/32, X]
    """
    encoding = check_float_format("element_format", element_format, MX_ELEMENT_FORMATS)
    if scale_rule not in SCALE_RULES:
        raise ValueError(f"Parameter 'scale_rule' must be one of {', '.join(SCALE_RULES)}, not "
                         f"{scale_rule!r}")
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"Parameter 'values' must be 2-D [K, X], not of shape {values.shape}")
    check_mx_k(values.shape[0])
    groups = _group_view(values)
    special = ~np.isfinite(groups).all(axis=(0, 2))
    with np.errstate(invalid="ignore"):
        largest = np.where(special, 0.0, np.abs(groups).max(axis=(0, 2)))
    shared = np.frexp(largest)[1] - 1 - encoding.max_exponent + (scale_rule == "nki")
    shared = np.clip(shared, -E8M0_BIAS, E8M0_BIAS)
    scales = np.where(special, E8M0_NAN, np.where(largest == 0, 0, shared + E8M0_BIAS))
    divided = np.ldexp(np.where(special[None, :, None], 0.0, groups),
                       -np.where(special, 0, shared)[None, :, None])
    codes = encode_nearest(divided, element_format).reshape(values.shape)
    return codes.astype(np.uint8), scales.astype(np.uint8)


def dequantize_mx(codes, scales, element_format, fp4_table=None):
    """Exact float64 values [K, X] of MX elements [K, X] and their scales [K/32, X] (R12):
    element value times 2**(scale - 127), NaN where the scale is 0xFF."""
    values = mx_values(codes, element_format, fp4_table)
    if values.ndim != 2:
        raise ValueError(f"Parameter 'codes' must be 2-D [K, X], not of shape {values.shape}")
    check_mx_k(values.shape[0])
    return _scaled_values(values, check_scales("scales", scales, values.shape[0],
                                                values.shape[1]))

