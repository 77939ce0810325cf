"""Floating-point numerics of the PE array, bit-exact: encodings, one PE step, a column, PSUM.

The rules (docs/numerics.md, R1-R11) in short: a PE step rounds the exact sum of its incoming
FP32 partial and its exact products once to FP32, to nearest even (R1, R4); row 0's partial is
+0 (R2); unused rows pass the partial through (R3); FP32 results below 2**-126 after rounding
flush to a zero of the exact sum's sign (R5) and those of magnitude >= 2**128 become infinite
(R6); NaN inputs, Inf x 0 and Inf - Inf give the canonical NaN 0x7FC00000 (R7); an exact zero
sum is -0 only if every term is -0 (R8); PSUM accumulates with the same rounding (R9).

R10, Trainium2's FP8 E4M3 is the IEEE-like variant: exponent field 1111 encodes infinities
(fraction 0) and NaNs (fraction != 0), the largest finite value is 240, subnormals are kept.
Source: the Neuron compiler's error NCC_EVRF051, "Data type F8E4M3FN is not supported on
TRN1/TRN2 ... natively supported on Trainium3 (Trn3) and later",
https://awsdocs-neuron.readthedocs-hosted.com/en/latest/compiler/error-codes/EVRF051.html ,
beside NKI's separate type ``float8_e4m3fn`` ("no inf, NaN represented by 0bS111'1111,
extended range") https://awsdocs-neuron.readthedocs-hosted.com/en/v2.32.0/nki/api/generated/nki.language.float8_e4m3fn.html
: Trainium2's ``float8_e4m3`` is therefore not the OCP "fn" variant (max 448) but the one with
infinities (``ml_dtypes.float8_e4m3``). Both sources are keys A-EVRF051 and A-NKI-E4M3FN of
``sim_models/specs/sources.toml``.

How exactness is obtained without arbitrary precision (``matmul_fp32``): decoded operands are
float64 values with at most 11 significant bits, so every product (at most 22 bits, magnitudes
2**-266 .. 2**256) is exact in float64. The partial ``a`` and the sum ``b`` of the step's
products are added with TwoSum (``s = a + b`` rounded to 53 bits, ``e = a + b - s`` exactly);
if ``e != 0`` and ``s`` has an even 53-bit significand, ``s`` moves one float64 step towards
``e``. That is ``a + b`` rounded to odd at 53 bits, and rounding to odd at p + 2 or more bits
followed by one round-to-nearest-even at p bits equals the round-to-nearest-even of the exact
value (Boldo and Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms
using rounding to odd", IEEE Trans. Computers 57(4), 2008); here p = 24 <= 53 - 2, so no
double rounding can occur. The 24-bit rounding is done with an unbounded exponent (frexp,
rint, ldexp, all exact in float64), then R5 and R6 are applied. ``b`` is exact when there is
one product; with two FP8 products it is exact whenever their bits span at most 53 places
(always unless both operands are E5M2, whose products span 2**-32 .. 2**32); the remaining
elements, where TwoSum of the two products is inexact, are rounded from exact rationals.
"""

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .config import MX_ONLY_FORMATS, OPERAND_FORMATS, OperandFormat

__all__ = ["BF16_CANONICAL_NAN", "CANONICAL_NAN", "FLOAT_FORMATS", "FloatEncoding",
           "FP32_MIN_NORMAL", "FP32_OVERFLOW", "accumulate_fp32", "add_bf16", "as_bits",
           "bf16_from_rounding",
           "check_double_row_k", "check_float_format", "decode", "decode_fp32",
           "double_row_pairs", "encode_fp32", "error_bound", "exact_matmul", "exact_sums",
           "matmul_fp32", "summation_bound",
           "pe_step_fp32", "round_fp32", "round_fp32_to_bf16", "round_step", "ulp_error",
           "ENCODINGS", "MX_ELEMENT_FORMATS", "SPECIALS", "encode_nearest"]

#: The one NaN the array produces (R7): FP32 quiet NaN, sign 0, payload 0.
CANONICAL_NAN = 0x7FC00000
#: Smallest FP32 magnitude kept; rounded magnitudes below it flush to zero (R5).
FP32_MIN_NORMAL = 2.0 ** -126
#: Smallest rounded FP32 magnitude that is infinite (R6).
FP32_OVERFLOW = 2.0 ** 128
#: Significant bits of an FP32 result.
FP32_PRECISION = 24


#: What the all-ones exponent field encodes, by :attr:`FloatEncoding.specials`: ``ieee``
#: (infinity if the fraction is 0, else NaN: BF16, FP16, E5M2 and Trainium2's E4M3, R10), ``fn``
#: (OCP E4M3FN: only S.1111.111 is NaN, no infinities, the rest are numbers; R12) or ``none``
#: (OCP E2M1: every code is a finite number; R12).
SPECIALS = ("ieee", "fn", "none")


@dataclass(frozen=True)
class FloatEncoding:
    """The encoding of one floating-point element format: sign, exponent, fraction.

    Exponent field 0: subnormal (no implicit bit, exponent ``1 - bias``), kept exactly (R5).
    The all-ones exponent field as :attr:`specials` says.

    Members
    -------
    operand : OperandFormat
        Widths (:data:`sim_models.config.OPERAND_FORMATS` for a tile's formats,
        :data:`sim_models.config.MX_ONLY_FORMATS` for E4M3FN and E2M1).
    dtype_name : str
        Name of the numpy / ml_dtypes dtype of the same encoding, whose arrays ``as_bits``
        views: ``bfloat16``, ``float16``, ``float8_e4m3`` (not ``float8_e4m3fn``, R10),
        ``float8_e5m2``, ``float8_e4m3fn``, ``float4_e2m1fn`` (one code a byte).
    specials : str
        One of :data:`SPECIALS`.
    """
    operand: OperandFormat
    dtype_name: str
    specials: str = "ieee"

    @property
    def bits(self):
        """Bits of one encoded element (4, 8 or 16)."""
        return self.operand.operand_bits

    @property
    def storage_dtype(self):
        """numpy dtype of the bit patterns: uint8 (FP4 and FP8, one code a byte) or uint16."""
        return np.dtype(f"uint{max(8, self.bits)}")

    @property
    def bias(self):
        """Exponent bias: ``2**(exponent_bits - 1) - 1``."""
        return (1 << (self.operand.exponent_bits - 1)) - 1

    @property
    def lsb_exponent(self):
        """Exponent of the smallest subnormal, the unit every value is a multiple of."""
        return 1 - self.bias - self.operand.mantissa_bits

    @property
    def max_finite_code(self):
        """Bit pattern of the largest finite value; the positive codes 0..this one are the
        finite non-negative values in increasing order."""
        mantissa = self.operand.mantissa_bits
        top_field = (1 << self.operand.exponent_bits) - 1
        ones = (1 << mantissa) - 1
        field, fraction = {"ieee": (top_field - 1, ones), "fn": (top_field, ones - 1),
                           "none": (top_field, ones)}[self.specials]
        return (field << mantissa) | fraction

    @property
    def max_finite(self):
        """Largest finite value (240.0 for E4M3, 448.0 for E4M3FN, 57344.0 for E5M2, 6.0 for
        E2M1)."""
        mantissa = self.operand.mantissa_bits
        code = self.max_finite_code
        field, fraction = code >> mantissa, code & ((1 << mantissa) - 1)
        return float(((1 << mantissa) | fraction) * 2.0 ** (field - self.bias - mantissa))

    @property
    def max_exponent(self):
        """floor(log2(max_finite)): 8 for E4M3FN, 15 for E5M2, 2 for E2M1 (OCP's emax)."""
        code = self.max_finite_code
        return (code >> self.operand.mantissa_bits) - self.bias

    @property
    def is_fp8(self):
        """An 8-bit format: the ones FP8 double-row mode multiplies in pairs (R11)."""
        return self.bits == 8


#: The floating-point operand formats of a tile (Trainium2's), by the names of the contract.
FLOAT_FORMATS = {name: FloatEncoding(OPERAND_FORMATS[name], dtype_name) for name, dtype_name in (
    ("bf16", "bfloat16"), ("fp16", "float16"),
    ("fp8_e4m3", "float8_e4m3"), ("fp8_e5m2", "float8_e5m2"))}
#: Trainium3's MX element formats (R12; the PE's arithmetic has MX mode, the tile not yet):
#: OCP E4M3FN, E5M2 (Trainium2's encoding) and E2M1, which the PE reads through an FP4-to-FP8
#: table.
MX_ELEMENT_FORMATS = {
    "fp8_e4m3fn": FloatEncoding(MX_ONLY_FORMATS["fp8_e4m3fn"], "float8_e4m3fn", "fn"),
    "fp8_e5m2": FLOAT_FORMATS["fp8_e5m2"],
    "fp4_e2m1": FloatEncoding(MX_ONLY_FORMATS["fp4_e2m1"], "float4_e2m1fn", "none")}
#: Every encoding the golden models decode, by name.
ENCODINGS = {**FLOAT_FORMATS, **MX_ELEMENT_FORMATS}


def check_float_format(subject, name, formats=None):
    """The :class:`FloatEncoding` named ``name`` among ``formats`` (:data:`FLOAT_FORMATS`, a
    tile's operand formats, unless given); one-line ``ValueError`` naming ``subject``."""
    formats = FLOAT_FORMATS if formats is None else formats
    if name not in formats:
        kind = "operand format" if formats is FLOAT_FORMATS else "format"
        raise ValueError(f"Parameter '{subject}' must be a floating-point {kind}, one of "
                         f"{', '.join(formats)}, not {name!r}")
    return formats[name]


def as_bits(array, format_name):
    """Bit patterns of ``array`` in format ``format_name``.

    Parameters
    ----------
    array : numpy.ndarray, any shape
        Bit patterns (any integer dtype, values in 0 .. 2**bits - 1) or an array whose dtype is
        the format's (``FloatEncoding.dtype_name``, e.g. an ``ml_dtypes.bfloat16`` array),
        which is viewed, never converted.
    format_name : str
        A name of :data:`ENCODINGS`.

    Returns
    -------
    numpy.ndarray, uint8 (FP4, FP8) or uint16 (BF16, FP16), same shape
    """
    encoding = check_float_format("format_name", format_name, ENCODINGS)
    array = np.asarray(array)
    if array.dtype.name == encoding.dtype_name:
        return array.view(encoding.storage_dtype)
    if array.dtype.kind not in "iu":
        raise TypeError(f"Parameter 'array' must hold {format_name} bit patterns (an integer "
                        f"dtype) or have dtype {encoding.dtype_name}, not {array.dtype.name}")
    if array.size and (array.min() < 0 or array.max() >> encoding.bits):
        raise TypeError(f"Parameter 'array' must hold {format_name} bit patterns, integers in "
                        f"0..{(1 << encoding.bits) - 1}, not values outside them")
    return array.astype(encoding.storage_dtype)


def _decode_table(encoding):
    """float64 value of every encoding of ``encoding`` (index = bit pattern)."""
    mantissa_bits = encoding.operand.mantissa_bits
    codes = np.arange(1 << encoding.bits, dtype=np.int64)
    fraction = codes & ((1 << mantissa_bits) - 1)
    field = (codes >> mantissa_bits) & ((1 << encoding.operand.exponent_bits) - 1)
    negative = (codes >> (encoding.bits - 1)).astype(bool)
    significand = np.where(field == 0, fraction, fraction | (1 << mantissa_bits))
    exponent = np.maximum(field, 1) - encoding.bias - mantissa_bits
    magnitude = np.ldexp(significand.astype(np.float64), exponent)
    beyond = (codes & ((1 << (encoding.bits - 1)) - 1)) > encoding.max_finite_code
    special = np.inf if encoding.specials == "ieee" else np.nan
    magnitude = np.where(beyond, np.where(fraction == 0, special, np.nan), magnitude)
    return np.where(negative, -magnitude, magnitude)


_DECODE_TABLES = {name: _decode_table(encoding) for name, encoding in ENCODINGS.items()}


def decode(bits, format_name):
    """Exact float64 values of encoded operands.

    Parameters
    ----------
    bits : numpy.ndarray, any shape
        What :func:`as_bits` accepts.
    format_name : str

    Returns
    -------
    numpy.ndarray, float64, same shape: the values, +-inf, NaN for every NaN encoding, signed
    zeros kept.
    """
    return _DECODE_TABLES[format_name][as_bits(bits, format_name)]


def encode_nearest(values, format_name):
    """Bit patterns of ``format_name`` nearest finite float64 ``values``: round to nearest,
    ties to the even code, magnitudes beyond the largest finite value saturate to it (OCP MX's
    conversion, R15); zeros and results keep the sign of the value.

    ``values`` : float64 array, any shape, finite. Returns the format's bit patterns (uint8 or
    uint16), same shape.
    """
    encoding = check_float_format("format_name", format_name, ENCODINGS)
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError(f"Parameter 'values' must be finite to be encoded as {format_name}")
    ladder = _DECODE_TABLES[format_name][:encoding.max_finite_code + 1]   # ascending, >= 0
    magnitude = np.abs(values)
    low = np.clip(np.searchsorted(ladder, magnitude, side="right") - 1, 0,
                  encoding.max_finite_code)
    high = np.minimum(low + 1, encoding.max_finite_code)
    below, above = magnitude - ladder[low], ladder[high] - magnitude
    up = (above < below) | ((above == below) & (low % 2 == 1))
    code = np.where((high > low) & up, high, low)
    sign = np.signbit(values).astype(np.int64) << (encoding.bits - 1)
    return (code | sign).astype(encoding.storage_dtype)


def decode_fp32(bits):
    """float64 values of FP32 bit patterns (uint32 array, any shape); subnormals exact."""
    with np.errstate(invalid="ignore"):                 # signalling NaNs convert quietly
        return np.asarray(bits, dtype=np.uint32).view(np.float32).astype(np.float64)


def encode_fp32(values):
    """FP32 bit patterns (uint32) of float64 values that are FP32 values or infinities; every
    NaN becomes :data:`CANONICAL_NAN` (R7)."""
    values = np.asarray(values, dtype=np.float64)
    bits = values.astype(np.float32).view(np.uint32)
    return np.where(np.isnan(values), np.uint32(CANONICAL_NAN), bits)


def _round_to_fp32(values):
    """Round float64 ``values`` to 24 significant bits, to nearest even, with an unbounded
    exponent, then flush magnitudes below 2**-126 to a zero of the value's sign (R5) and make
    those at or above 2**128 infinite (R6). Non-finite values pass through."""
    fraction, exponent = np.frexp(values)
    rounded = np.ldexp(np.rint(np.ldexp(fraction, FP32_PRECISION)), exponent - FP32_PRECISION)
    magnitude = np.abs(rounded)
    rounded = np.where(magnitude < FP32_MIN_NORMAL, np.copysign(0.0, values), rounded)
    return np.where(magnitude >= FP32_OVERFLOW, np.copysign(np.inf, values), rounded)


def _round_sum(first, second):
    """R1 for two exact float64 terms: the FP32 value (as float64) of ``first + second``
    rounded once; infinities and NaNs as IEEE float64 addition gives them (R7), signed zeros
    as R8. Arrays of one shape."""
    with np.errstate(invalid="ignore"):
        total = first + second
        back = total - first
        error = (first - (total - back)) + (second - back)
    finite = np.isfinite(total)
    error = np.where(finite, error, 0.0)
    raw = total.view(np.int64)
    toward = np.where(np.signbit(error) == np.signbit(total), 1, -1)
    nudge = (error != 0) & ((raw & 1) == 0)
    odd = (raw + np.where(nudge, toward, 0)).view(np.float64)
    return np.where(finite, _round_to_fp32(odd), total)


def _floor_log2(magnitude):
    """floor(log2(magnitude)) of a positive Fraction, exactly."""
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    return exponent - 1 if magnitude < Fraction(2) ** exponent else exponent


def round_fp32(value):
    """R1, R5, R6 for one exact rational: the FP32 value (a float) nearest ``value`` (ties to
    even, unbounded exponent), 0.0 below 2**-126 with the sign of ``value``, +-inf at or above
    2**128. ``value`` : Fraction (or int). A zero ``value`` gives +0.0 (R8's -0 is the caller's,
    it depends on the terms)."""
    value = Fraction(value)
    if value == 0:
        return 0.0
    sign = -1.0 if value < 0 else 1.0
    magnitude = abs(value)
    exponent = _floor_log2(magnitude)
    scaled = magnitude / Fraction(2) ** (exponent - FP32_PRECISION + 1)
    integer = scaled.numerator // scaled.denominator
    remainder = scaled - integer
    if remainder > Fraction(1, 2) or (remainder == Fraction(1, 2) and integer % 2):
        integer += 1
    rounded = integer * Fraction(2) ** (exponent - FP32_PRECISION + 1)
    if rounded < Fraction(FP32_MIN_NORMAL):
        return sign * 0.0
    if rounded >= Fraction(FP32_OVERFLOW):
        return sign * np.inf
    return sign * float(rounded)


def round_step(partial, products, scale_exponent=0):
    """One PE step (R1, R4, R7, R8; R13 with a scale): ``partial + 2**scale_exponent *
    sum(products)``, exact, rounded once to FP32; float64 values in and out.

    Parameters
    ----------
    partial : numpy.ndarray, float64 [...]
        Incoming partials (FP32 values).
    products : sequence of numpy.ndarray, float64 [...]
        One to four exact products; NaN for a product that is NaN (R7, R13).
    scale_exponent : int or numpy.ndarray of int [...]
        Exponent of the step's power-of-two scale (R13); 0 outside MX mode.

    Returns
    -------
    numpy.ndarray, float64 [...]: FP32 values, +-inf or NaN.

    The products are summed in float64 with TwoSum; an element whose sum was inexact there
    (possible only when the products span more than 53 bits, e.g. E5M2 pairs) is rounded from
    exact rationals instead. Scaling a float64 sum by a power of two within +-254 is exact.
    """
    total = products[0]
    inexact = np.zeros(np.shape(total), dtype=bool)
    with np.errstate(invalid="ignore"):
        for product in products[1:]:
            both = total + product
            back = both - total
            inexact |= ((total - (both - back)) + (product - back)) != 0
            total = both
        scaled = np.ldexp(total, scale_exponent)
        inexact &= np.isfinite(scaled + partial)          # Inf - Inf is NaN: not inexact
    result = _round_sum(partial, scaled)
    scale_exponent = np.broadcast_to(scale_exponent, np.shape(result))
    for index in zip(*np.nonzero(inexact)):
        exact = sum(Fraction(product[index]) for product in products)
        exact = Fraction(partial[index]) + exact * Fraction(2) ** int(scale_exponent[index])
        result[index] = round_fp32(exact)
    return result


def _check_formats(stationary_format, moving_format, double_row):
    """Refuse an unknown format, or double-row mode unless both formats are FP8."""
    encodings = (check_float_format("stationary_format", stationary_format),
                 check_float_format("moving_format", moving_format))
    if double_row and not all(encoding.is_fp8 for encoding in encodings):
        raise ValueError(f"Parameter 'double_row' is True, which needs FP8 stationary and "
                         f"moving formats, not {stationary_format!r} and {moving_format!r}")


def _check_shapes(stationary, moving):
    """Refuse operands that are not [K, M] and [K, N]."""
    if stationary.ndim != 2 or moving.ndim != 2 or stationary.shape[0] != moving.shape[0]:
        raise ValueError(f"Parameters 'stationary' [K, M] and 'moving' [K, N] must be 2-D with "
                         f"one K, not of shapes {stationary.shape} and {moving.shape}")


def _decoded_operands(stationary, moving, stationary_format, moving_format, double_row=False):
    """Decoded stationary [K, M] and moving [K, N] after the checks."""
    _check_formats(stationary_format, moving_format, double_row)
    stationary = decode(stationary, stationary_format)
    moving = decode(moving, moving_format)
    _check_shapes(stationary, moving)
    return stationary, moving


def pe_step_fp32(partial, stationary, moving, stationary_format, moving_format, active,
                 double_row=False):
    """One PE step, elementwise: ``RNE_fp32(partial + active products)`` (R1-R8, R3, R11).

    Parameters
    ----------
    partial : numpy.ndarray, uint32 [...]
        Incoming partial sums, FP32 bits.
    stationary, moving : numpy.ndarray [P, ...]
        Bit patterns (see :func:`as_bits`), broadcastable to [P, ...]; P = 1 for one product,
        P = 2 in double-row mode (PE row p of a K-row load: index 0 is contraction index p,
        the lane's low byte; index 1 is p + K/2, the high byte).
    stationary_format, moving_format : str
    active : numpy.ndarray, bool [P, ...]
        Which products take part; a product that does not take part contributes nothing (it
        may be Inf or NaN), and with none taking part the result is ``partial`` bit for bit.
    double_row : bool
        Double-row mode: both formats FP8.

    Returns
    -------
    numpy.ndarray, uint32 [...]
    """
    _check_formats(stationary_format, moving_format, double_row)
    partial = np.asarray(partial, dtype=np.uint32)
    with np.errstate(invalid="ignore"):
        products = decode(stationary, stationary_format) * decode(moving, moving_format)
    # An absent product is a -0 term: it changes neither the exact sum nor R8's sign.
    products = np.where(active, products, -0.0)
    stepped = encode_fp32(round_step(decode_fp32(partial), list(products)))
    return np.where(np.any(active, axis=0), stepped, partial)


def matmul_fp32(stationary, moving, stationary_format, moving_format, double_row=False):
    """FP32 bit patterns that the bottom of each PE column emits: ``stationary^T @ moving``.

    PE row k adds ``stationary[k, m] * moving[k, n]`` to the partial coming from row k - 1,
    +0 for row 0 (R1-R8); in double-row mode (R11, NKI's layout) K is even and PE row p adds
    the two products of contraction indices p and p + K/2 with one rounding: the operands are
    NKI's ``[K/2, 2, X]`` tiles, ``stationary.reshape(2, K/2, M)`` with the two halves side by
    side. Rows of the array beyond K (K/2) pass the partial through (R3), so they do not
    appear here.

    Parameters
    ----------
    stationary : numpy.ndarray [K, M]
        Bit patterns (or an array of the format's dtype, see :func:`as_bits`).
    moving : numpy.ndarray [K, N]
    stationary_format, moving_format : str
        Names of :data:`FLOAT_FORMATS`; any two, E4M3 and E5M2 may be mixed.
    double_row : bool
        FP8 double-row mode; both formats must be FP8 and K even.

    Returns
    -------
    numpy.ndarray, uint32 [M, N]
    """
    _check_formats(stationary_format, moving_format, double_row)
    stationary = as_bits(stationary, stationary_format)
    moving = as_bits(moving, moving_format)
    _check_shapes(stationary, moving)
    check_double_row_k("K (rows of 'stationary')", stationary.shape[0], double_row)
    stationary, moving = double_row_pairs(stationary, double_row), \
        double_row_pairs(moving, double_row)
    partial = np.zeros((stationary.shape[2], moving.shape[2]), dtype=np.uint32)
    every = np.ones((stationary.shape[1], *partial.shape), dtype=bool)
    for row in range(stationary.shape[0]):
        partial = pe_step_fp32(partial, stationary[row, :, :, None], moving[row, :, None, :],
                               stationary_format, moving_format, every, double_row)
    return partial


def check_double_row_k(subject, k, double_row):
    """Refuse an odd contraction K in double-row mode with one line: NKI's layout pairs index p
    with p + K/2, so the programmer zero-pads an odd K (R11)."""
    if double_row and k % 2:
        raise ValueError(f"{subject} is {k}: double-row mode needs an even K (NKI's [K/2, 2, X] "
                         f"layout pairs index p with p + K/2); zero-pad the contraction by one "
                         f"row, as NKI requires")


def double_row_pairs(operand, double_row):
    """A [K, X] operand as the PE rows take it, [rows, P, X]: P = 1 (row k is index k), or in
    double-row mode (K even) P = 2, PE row p holding indices p and p + K/2 (NKI's
    ``[K/2, 2, X]`` tile)."""
    if not double_row:
        return operand[:, None, :]
    half = operand.shape[0] // 2
    return np.stack([operand[:half], operand[half:]], axis=1)


def accumulate_fp32(stored, incoming):
    """R9: an accumulating PSUM write, ``RNE_fp32(stored + incoming)`` under R5-R8.

    Parameters
    ----------
    stored, incoming : numpy.ndarray, uint32, one shape
        FP32 bit patterns (subnormals are decoded exactly; any NaN counts as NaN).

    Returns
    -------
    numpy.ndarray, uint32, that shape
    """
    return encode_fp32(_round_sum(decode_fp32(stored), decode_fp32(incoming)))


def exact_sums(stationary, moving, stationary_unit, moving_unit):
    """Exact ``stationary^T @ moving`` of finite float64 values that are integer multiples of
    ``2**stationary_unit`` and ``2**moving_unit``: object array [M, N] of Fractions."""
    integers = [np.array([int(value) for value in np.ldexp(values, -unit).ravel()],
                         dtype=object).reshape(values.shape)
                for values, unit in ((stationary, stationary_unit), (moving, moving_unit))]
    unit = Fraction(2) ** (stationary_unit + moving_unit)
    sums = integers[0].T @ integers[1]
    return np.vectorize(lambda integer: integer * unit, otypes=[object])(sums)


def exact_matmul(stationary, moving, stationary_format, moving_format):
    """The exact ``stationary^T @ moving`` of finite operands, with no rounding at all.

    Parameters
    ----------
    stationary : numpy.ndarray [K, M], moving : numpy.ndarray [K, N]
        As for :func:`matmul_fp32`; every element finite.
    stationary_format, moving_format : str

    Returns
    -------
    numpy.ndarray, object [M, N] of fractions.Fraction
    """
    stationary, moving = _decoded_operands(stationary, moving, stationary_format, moving_format)
    if not (np.isfinite(stationary).all() and np.isfinite(moving).all()):
        raise ValueError("exact_matmul needs finite operands: the stationary or moving operand "
                         "holds an infinity or NaN")
    return exact_sums(stationary, moving, FLOAT_FORMATS[stationary_format].lsb_exponent,
                      FLOAT_FORMATS[moving_format].lsb_exponent)


def summation_bound(stationary, moving, roundings):
    """The recursive-summation bound of :func:`error_bound` for finite float64 operand values
    [K, M] and [K, N] (scales applied) summed with ``roundings`` FP32 roundings down a column:
    float64 [M, N]."""
    unit = 2.0 ** -FP32_PRECISION
    gamma = roundings * unit / (1 - roundings * unit)
    # The float64 sum of K non-negative terms errs by less than K * 2**-53 relative; covered.
    magnitude_sum = (np.abs(stationary).T @ np.abs(moving)) * (1 + stationary.shape[0] * 2.0 ** -52)
    return gamma * magnitude_sum + roundings * FP32_MIN_NORMAL * (1 + gamma)


def error_bound(stationary, moving, stationary_format, moving_format, double_row=False):
    """Largest ``|matmul_fp32(...) - exact_matmul(...)|`` the rules allow, per element.

    With J roundings down a column (J = K, or ceil(K/2) in double-row mode), each rounding of
    a step's exact sum x gives x(1 + d) with |d| <= u = 2**-24, or a flush to zero that errs by
    less than 2**-126 (R5). Every product passes through at most J roundings, so the computed
    result c of the exact sum X satisfies

        |c - X| <= g_J * sum_k |stationary[k, m] * moving[k, n]| + J * 2**-126 * (1 + g_J),

    g_J = J u / (1 - J u) (the recursive-summation bound, Higham, "Accuracy and Stability of
    Numerical Algorithms", 2nd ed., section 4.2). Valid when every computed partial is finite
    (no overflow, no infinite or NaN operand).

    Parameters and shapes as :func:`matmul_fp32` (finite operands).

    Returns
    -------
    numpy.ndarray, float64 [M, N], absolute bounds (the values' units)
    """
    stationary, moving = _decoded_operands(stationary, moving, stationary_format, moving_format,
                                           double_row)
    roundings = -(-stationary.shape[0] // (2 if double_row else 1))
    return summation_bound(stationary, moving, roundings)


def ulp_error(computed, exact):
    """Error of FP32 results in units in the last place of the exact values.

    Parameters
    ----------
    computed : numpy.ndarray, uint32 [...]
        FP32 bit patterns, finite.
    exact : numpy.ndarray, object [...] of Fraction

    Returns
    -------
    numpy.ndarray, float64 [...]: ``|computed - exact| / ulp(exact)``, where ulp(x) is
    2**(floor(log2|x|) - 23) for |x| >= 2**-126 and 2**-149 below.
    """
    values = decode_fp32(computed)
    errors = np.empty(values.shape)
    for index, value in np.ndenumerate(values):
        target = exact[index]
        magnitude = abs(target)
        exponent = max(_floor_log2(magnitude), -126) if magnitude else -126
        errors[index] = float(abs(Fraction(value) - target) / Fraction(2) ** (exponent - 23))
    return errors


#: BF16's canonical NaN: the high half of :data:`CANONICAL_NAN`.
BF16_CANONICAL_NAN = CANONICAL_NAN >> 16


def bf16_from_rounding(bits, up):
    """BF16 bit patterns (uint16 [...]) of FP32 values rounded on the bit pattern by a
    rounding's decision: the 16 kept magnitude bits of a finite ``bits`` are incremented where
    ``up`` (0/1 or bool [...], decided from the 16 bits BF16 drops); a carry out of the largest
    finite BF16 gives infinity, infinities and zeros keep their sign, every NaN becomes
    :data:`BF16_CANONICAL_NAN`.

    ``bits`` : uint32 [...] FP32 bit patterns.
    """
    bits = np.asarray(bits, dtype=np.uint32)
    magnitude = bits & np.uint32(0x7FFFFFFF)
    finite = magnitude < np.uint32(0x7F800000)
    rounded = ((magnitude >> np.uint32(16)) + np.where(finite, up, 0)) | \
        ((bits >> np.uint32(16)) & np.uint32(0x8000))
    nan = magnitude > np.uint32(0x7F800000)
    return np.where(nan, BF16_CANONICAL_NAN, rounded).astype(np.uint16)


def round_fp32_to_bf16(bits):
    """BF16 bit patterns (uint16) of FP32 values, rounded to nearest, ties to even, on the bit
    pattern (:func:`bf16_from_rounding`): up when the 16 bits BF16 drops exceed half, or equal
    it under an odd kept bit. Exactly IEEE 754's conversion for every input, subnormals
    included (BF16 shares FP32's exponent range, so the kept bits are BF16's own grid).

    ``bits`` : uint32 array of FP32 bit patterns.
    """
    bits = np.asarray(bits, dtype=np.uint32)
    dropped, odd = bits & np.uint32(0xFFFF), (bits >> np.uint32(16)) & np.uint32(1)
    half = np.uint32(0x8000)
    return bf16_from_rounding(bits, (dropped > half) | ((dropped == half) & (odd == 1)))


def add_bf16(stored, incoming):
    """One BF16 all-reduce addition: both widened to FP32 exactly, added under R9
    (:func:`accumulate_fp32`), the sum rounded to BF16 (:func:`round_fp32_to_bf16`).

    ``stored``, ``incoming`` : uint16 arrays of one shape (BF16 bit patterns); returns uint16.
    """
    wide = [np.asarray(bits, dtype=np.uint32) << 16 for bits in (stored, incoming)]
    return round_fp32_to_bf16(accumulate_fp32(*wide))
