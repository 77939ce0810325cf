"""Floating-point arithmetic of a PE and of PSUM: combinational, exact, one rounding.

:class:`FloatMac` is one PE step, :class:`FloatAdd` one accumulating PSUM write. Both follow
the rules R1-R9 and R11 of docs/numerics.md bit for bit as
``sim_models.floats`` states them (one round-to-nearest-even of the exact sum to FP32, FP32
results below 2**-126 flushed to zero, overflow to infinity, the canonical NaN 0x7FC00000).

The datapath, in order:

1. Decode: each operand (and the FP32 partial) to sign, integer significand (implicit bit
   included, subnormals kept), exponent of the significand's least significant bit, and
   infinity / NaN flags; the format is chosen per operation by an index into ``formats``.
2. Exact products: significands multiplied, exponents added (R4).
3. Exact fixed-point sum of the products (double-row FP8: two; MX: four): a tree of sums of
   two terms, each on the grid of its term with the smaller exponent, the other shifted up to
   it, magnitudes added or the smaller taken from the larger, exactly (:func:`_fixed_point_sum`
   says why the sums fit: 64 bits for two products and 66 for four when E5M2 is in the set).
   In MX mode the pair of E8M0 block scales a, b adds a + b - 254 to the sum's exponent, and
   0xFF in either makes the step NaN (R13). A single product (single-row, any format)
   bypasses this stage.
4. One exact addition of the product term and the partial, rounded once: both terms are
   normalized to the width of the wider term, at least 26 bits (24 and two guard bits), the
   one with the smaller leading exponent is aligned to the other inside a window one sticky
   position wider, its bits below the window are ORed into that sticky bit (only one term is
   ever truncated, so the sticky bit's sign is known), the sum is normalized and rounded to
   24 bits, to nearest even. Why this is exact: if the leading exponents differ by two or
   more, cancellation removes at most one bit, so the result's rounding bit lies at least one
   position above the sticky bit; otherwise nothing is truncated.

Every word of the datapath is at most 64 bits wide except the sums of double-row's and MX's
products and the final addition's window (65 bits and its carry for double-row, 67 for MX):
additions of 64 bits or more are two of half the width (:func:`_add`), shifts by a variable
amount are logarithmic shifters of constant shifts truncated to their result
(:func:`_shift_left`), leading and trailing zeros are counted without padding, and terms are
separate values rather than packed structs, so that Verilator evaluates them in machine words
instead of its out-of-line wide-word helpers.

MX mode (Trainium3's MXFP8 / MXFP4, R12-R13, golden ``sim_models.mx.mx_pe_step_fp32``): a
format set holding an MX-only element format (``fp8_e4m3fn`` or ``fp4_e2m1``) gives the MAC
32-bit lanes, an ``mx`` mode bit and the pair of scale bytes. Each lane is an x4 word, byte q
the element of contraction index p + qK/4; its elements are E4M3FN (OCP: no infinities,
S.1111.111 NaN, largest 448) or E5M2. The PE sees FP8 codes only: an E2M1 element is mapped to
an E4M3FN code by the tile's FP4-to-FP8 table at the array's edge (R12, as the golden model
does: ``mx_values`` decodes E2M1 through that table), so an ``fp4_e2m1`` operand format makes
the PE read its bytes as E4M3FN. ``result = RNE_fp32(partial + 2**(a + b - 254) * (s0 m0 +
s1 m1 + s2 m2 + s3 m3))``, exact and rounded once, under R5-R8 as every step.
"""

from typing import NamedTuple

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from sim_models.config import MX_ONLY_FORMATS, PE_FORMATS, check_formats
from sim_models.floats import CANONICAL_NAN, ENCODINGS, FLOAT_FORMATS
from sim_models.mx import E8M0_BIAS, E8M0_NAN, FP4_TABLE_FORMAT, X4

from .shapes import index_shape

__all__ = ["FloatAdd", "FloatMac", "float_mac_signature"]

#: Exponent and stored fraction bits of FP32 (the partial sums and PSUM).
_FP32_FIELDS = (8, 23)
#: Significant bits of an FP32 result.
_PRECISION = 24
#: Width of every exponent inside the datapath: products reach 2**(240 + 64), MX sums
#: 2**-286 .. 2**350 with their scales, zeros sit at _ZERO_EXPONENT, FP32 results at
#: -126 .. 127.
_EXPONENT = signed(12)
#: Leading exponent given to a zero term, below every other term by more than any window.
_ZERO_EXPONENT = -1024
#: Guard bits below a result's 24 that the normalized terms hold at least (see the module
#: docstring).
_GUARD = 2


def _operand_layout(significand_bits):
    """A decoded operand: value (-1)**sign * significand * 2**exponent (exponent of the
    significand's least significant bit, implicit bit included), or a special."""
    return data.StructLayout({"sign": 1, "significand": significand_bits,
                              "exponent": _EXPONENT, "inf": 1, "nan": 1})


def _product_layout(significand_bits):
    """An exact product of two operands of ``significand_bits``, its specials, and whether it
    is zero."""
    return data.StructLayout({"sign": 1, "significand": 2 * significand_bits,
                              "exponent": _EXPONENT, "inf": 1, "nan": 1, "zero": 1})


class _Term(NamedTuple):
    """A finite addend of the final addition: sign, integer magnitude, exponent of the
    magnitude's least significant bit. Separate values, not one packed struct, so that a
    simulator keeps each in a machine word."""
    sign: Value
    magnitude: Value
    exponent: Value


def _term(width, name):
    """A :class:`_Term` of Signals, ``width`` magnitude bits, named after ``name``."""
    return _Term(Signal(name=f"{name}_sign"), Signal(width, name=f"{name}_magnitude"),
                 Signal(_EXPONENT, name=f"{name}_exponent"))


def _assign_term(term, sign, magnitude, exponent):
    """Statements driving the :class:`_Term` of Signals ``term``."""
    return [term.sign.eq(sign), term.magnitude.eq(magnitude), term.exponent.eq(exponent)]


def _decode(operand, bits, exponent_bits, mantissa_bits, specials="ieee"):
    """Statements that decode ``bits`` (1 + exponent_bits + mantissa_bits wide) into the
    :func:`_operand_layout` view ``operand``; field 0 is subnormal, and the all-ones exponent
    field as ``specials`` (``sim_models.floats.SPECIALS``) says: ``ieee``, IEEE 754 style,
    infinity (fraction 0) or NaN; ``fn`` (OCP E4M3FN), NaN only with the fraction all ones, a
    number otherwise, no infinities."""
    fraction = bits[:mantissa_bits]
    field = bits[mantissa_bits:mantissa_bits + exponent_bits]
    bias = (1 << (exponent_bits - 1)) - 1
    top = field.all()
    inf, nan = (top & ~fraction.any(), top & fraction.any()) if specials == "ieee" else \
        (Const(0, 1), top & fraction.all())
    return [operand.sign.eq(bits[mantissa_bits + exponent_bits]),
            operand.significand.eq(Mux(field.any(), Cat(fraction, Const(1, 1)), fraction)),
            operand.exponent.eq(Mux(field.any(), field, 1) - (bias + mantissa_bits)),
            operand.inf.eq(inf),
            operand.nan.eq(nan)]


def _is_zero(operand):
    """Whether the decoded ``operand`` is +-0."""
    return ~operand.significand.any() & ~operand.inf & ~operand.nan


def _pe_encoding(name):
    """The encoding (``sim_models.floats.FloatEncoding``) in which the PE reads elements of
    format ``name``: its own, but E4M3FN for E2M1, whose codes the tile's FP4-to-FP8 table maps
    at the array's edge (R12), so that no FP4 code reaches a PE."""
    return ENCODINGS[FP4_TABLE_FORMAT if name == "fp4_e2m1" else name]


def _decode_selected(m, operand, lane, index, formats, byte):
    """Decode into ``operand`` the element of ``lane`` in format ``formats[index]``: for
    ``byte`` 0 the whole lane for BF16 or FP16, its low byte for an 8-bit format; for ``byte``
    1..3 that byte of the lane, 8-bit formats only."""
    with m.Switch(index):
        for position, name in enumerate(formats):
            encoding = _pe_encoding(name)
            element = encoding.operand
            if byte and element.operand_bits != 8:
                continue
            bits = lane[8 * byte:8 * byte + 8] if byte else lane[:element.operand_bits]
            with m.Case(position):
                m.d.comb += _decode(operand, bits, element.exponent_bits,
                                    element.mantissa_bits, encoding.specials)


def _multiply(m, stationary, moving, name):
    """The exact product (R4) of two decoded operands and its special flags (R7), a Signal of
    :func:`_product_layout`."""
    product = Signal(_product_layout(len(stationary.significand)), name=name)
    nan = stationary.nan | moving.nan | (stationary.inf & _is_zero(moving)) \
        | (moving.inf & _is_zero(stationary))
    m.d.comb += [product.sign.eq(stationary.sign ^ moving.sign),
                 product.significand.eq(stationary.significand * moving.significand),
                 product.exponent.eq(stationary.exponent + moving.exponent),
                 product.nan.eq(nan),
                 product.inf.eq((stationary.inf | moving.inf) & ~nan),
                 product.zero.eq(_is_zero(stationary) | _is_zero(moving))]
    return product


def _count_leading_zeros(value):
    """Leading zeros of ``value`` (``len(value)`` if it is 0), as a tree of multiplexers: the
    high part's count if it holds a one, else its width plus the low part's (the low part the
    largest power of two below the width, so that no part is padded)."""
    if len(value) == 1:
        return ~value[0]
    half = 1 << (ceil_log2(len(value)) - 1)
    high, low = value[half:], value[:half]
    return Mux(high.any(), _count_leading_zeros(high), len(high) + _count_leading_zeros(low))


def _count_trailing_zeros(value):
    """Trailing zeros of ``value`` (``len(value)`` if it is 0), the mirror of
    :func:`_count_leading_zeros`."""
    if len(value) == 1:
        return ~value[0]
    half = 1 << (ceil_log2(len(value)) - 1)
    low, high = value[:half], value[half:]
    return Mux(low.any(), _count_trailing_zeros(low), half + _count_trailing_zeros(high))


def _add(m, first, second, carry_in, name):
    """Signals (``first + second + carry_in`` modulo 2**w, its carry out) of two w-bit values:
    for w of 64 or more as two additions of half the width, so that no word is wider than 64
    bits."""
    width = len(first)
    low_width = width if width < 64 else width // 2
    low = Signal(low_width + 1, name=f"{name}_low")
    m.d.comb += low.eq(first[:low_width] + second[:low_width] + carry_in)
    if low_width == width:
        return low[:width], low[width]
    high = Signal(width - low_width + 1, name=f"{name}_high")
    m.d.comb += high.eq(first[low_width:] + second[low_width:] + low[low_width])
    return Cat(low[:low_width], high[:-1]), high[-1]


def _leading_zeros(m, value, name):
    """Signal: the number of leading zeros of ``value`` (its width if it is 0)."""
    count = Signal(range(len(value) + 1), name=name)
    m.d.comb += count.eq(_count_leading_zeros(value))
    return count


def _shift_left(m, value, amount, width, name):
    """Signal: ``value << amount`` truncated to ``width`` bits, a logarithmic shifter of
    constant shifts (one Signal per bit of ``amount``), none of them wider than ``width`` (a
    plain ``<<`` by a k-bit amount is ``len(value) + 2**k - 1`` bits wide before truncation:
    words a simulator evaluates out of line beyond 64 bits)."""
    shifted = Signal(width, name=f"{name}_0")
    m.d.comb += shifted.eq(value)
    for position in range(len(amount)):
        step = 1 << position
        moved = Cat(Const(0, step), shifted)[:width] if step < width else Const(0, width)
        stage = Signal(width, name=f"{name}_{position + 1}")
        m.d.comb += stage.eq(Mux(amount[position], moved, shifted))
        shifted = stage
    return shifted


def _normalized(m, term, zeros, width, name):
    """(``term``'s magnitude shifted so that bit ``width`` - 1 is its leading one, exponent of
    that bit), given its leading ``zeros``; a zero term gets _ZERO_EXPONENT. The shift runs on
    the term's own width, zeros below it."""
    own = len(term.magnitude)
    shifted = _shift_left(m, term.magnitude, zeros, own, f"{name}_shift")
    magnitude = Signal(width, name=f"{name}_normalized")
    leading = Signal(_EXPONENT, name=f"{name}_leading")
    m.d.comb += [magnitude.eq(Cat(Const(0, width - own), shifted)),
                 leading.eq(Mux(term.magnitude.any(), term.exponent + (own - 1) - zeros,
                                _ZERO_EXPONENT))]
    return magnitude, leading


class _Pipeline:
    """Pipeline registers at some of the MAC's cut points (``sim_models.timing.MAC_CUT_POINTS``).

    :meth:`cut` registers the values crossing a cut point if it is one of ``cuts``, and leaves
    them as they are otherwise; ``riders`` are values computed earlier and used later (flags,
    the partial sum), registered at every cut they cross.
    """
    def __init__(self, m, cuts=()):
        self._m, self._cuts = m, frozenset(cuts)
        self.riders = {}

    def _register(self, name, value):
        if isinstance(value, _Term):
            return _Term(*(self._register(f"{name}_{field}", part)
                           for field, part in zip(_Term._fields, value)))
        register = Signal(value.shape(), name=name, reset_less=True)
        self._m.d.sync += register.eq(value)
        return register

    def cut(self, point, **values):
        """``values`` (a dict of name: value) after cut point ``point``."""
        if point not in self._cuts:
            return values
        self.riders = {name: self._register(f"{name}_{point}", value)
                       for name, value in self.riders.items()}
        return {name: self._register(f"{name}_{point}", value) for name, value in values.items()}


def _round_sum(m, first, second, negative_zero, pipeline=None):
    """FP32 bits (a 32-bit Signal) of ``first + second`` (two :class:`_Term`) rounded
    once to nearest even (R1), flushed below 2**-126 (R5), infinite from 2**128 (R6); an exact
    zero is -0 if ``negative_zero`` (every term -0, R8) else +0. ``pipeline`` (a
    :class:`_Pipeline`) cuts it after counting the terms' leading zeros, normalizing the
    terms, ordering them by size, aligning them, adding them, counting the sum's leading zeros,
    normalizing the sum, rounding it and checking its range."""
    pipeline = pipeline or _Pipeline(m)
    width = max(len(first.magnitude), len(second.magnitude), _PRECISION + _GUARD)
    window = width + 1                              # + the sticky position at bit 0
    pipeline.riders["negative_zero"] = negative_zero
    stage = pipeline.cut("counted", first=first, second=second,
                         first_zeros=_leading_zeros(m, first.magnitude, "first_zeros"),
                         second_zeros=_leading_zeros(m, second.magnitude, "second_zeros"))
    first, second = stage["first"], stage["second"]
    one, one_leading = _normalized(m, first, stage["first_zeros"], width, "first")
    two, two_leading = _normalized(m, second, stage["second_zeros"], width, "second")
    stage = pipeline.cut("terms", one=one, one_leading=one_leading, one_sign=first.sign,
                         two=two, two_leading=two_leading, two_sign=second.sign)
    one, one_leading, two, two_leading = \
        stage["one"], stage["one_leading"], stage["two"], stage["two_leading"]
    # Both differences at once: the sign of one orders the terms, the other is then the
    # distance (no compare before the subtraction).
    two_above = Signal(signed(_EXPONENT.width + 1), name="two_above")
    one_above = Signal(signed(_EXPONENT.width + 1), name="one_above")
    m.d.comb += [two_above.eq(two_leading - one_leading), one_above.eq(one_leading - two_leading)]
    swap = one_above < 0
    big, small = Mux(swap, two, one), Mux(swap, one, two)
    big_leading = Mux(swap, two_leading, one_leading)
    big_sign = Mux(swap, stage["two_sign"], stage["one_sign"])
    small_sign = Mux(swap, stage["one_sign"], stage["two_sign"])
    distance = Signal(range(window + 1), name="distance")
    difference = Mux(swap, two_above, one_above)
    m.d.comb += distance.eq(Mux(difference > window, window, difference))
    stage = pipeline.cut("ordered", big=big, small=small, big_leading=big_leading,
                         big_sign=big_sign, small_sign=small_sign, distance=distance)
    big, small, big_leading, big_sign, small_sign, distance = (
        stage[name] for name in ("big", "small", "big_leading", "big_sign", "small_sign",
                                 "distance"))
    # The small term, aligned: bits that leave the window are ORed into the sticky bit, which
    # is set when the shift reaches past the term's lowest one.
    shifted = Signal(width, name="aligned")
    sticky = Signal(name="aligned_sticky")
    m.d.comb += [shifted.eq(small >> distance),
                 sticky.eq(small.any() & (_count_trailing_zeros(small) < distance))]
    stage = pipeline.cut("aligned", big=big, small=shifted, sticky=sticky, big_sign=big_sign,
                         small_sign=small_sign, big_leading=big_leading)
    big, small, sticky = stage["big"], stage["small"], stage["sticky"]
    # The window holds the big term above the sticky position, and the small term aligned with
    # its sticky bit at that position: magnitudes added, or the smaller taken from the larger
    # (the subtraction's carry says which is). The sum's magnitude is
    # Cat(sticky, body, carry): width + 2 bits, kept in words of at most 64.
    total, carry = _add(m, big, small, 0, "sum_total")
    big_less_small, not_smaller = _add(m, big, ~small, ~sticky, "sum_difference")
    small_less_big, _ = _add(m, small, ~big, 1, "sum_reverse")
    body = Signal(width, name="sum_body")
    top_carry = Signal(name="sum_carry")
    sign = Signal(name="sum_sign")
    with m.If(stage["big_sign"] == stage["small_sign"]):
        m.d.comb += [body.eq(total), top_carry.eq(carry), sign.eq(stage["big_sign"])]
    with m.Elif(not_smaller):
        m.d.comb += [body.eq(big_less_small), sign.eq(stage["big_sign"])]
    with m.Else():
        m.d.comb += [body.eq(small_less_big), sign.eq(stage["small_sign"])]
    stage = pipeline.cut("sum", body=body, carry=top_carry, sticky=sticky, sign=sign,
                         big_leading=stage["big_leading"])
    body, carry, sticky, sign, big_leading = (
        stage[name] for name in ("body", "carry", "sticky", "sign", "big_leading"))
    # Normalize: the top 25 bits of the magnitude shifted to its leading one (24 kept and the
    # rounding bit) and whether any bit below them is set. A magnitude with two or more leading
    # zeros fits in the width below its top two bits, so that is the one shifted.
    zeros = Signal(range(width + 3), name="sum_zeros")
    body_zeros = _leading_zeros(m, body, "sum_body_zeros")
    m.d.comb += zeros.eq(Mux(carry, 0, body_zeros + 1 + (~body.any() & ~sticky)))
    lower_shift = Signal(range(width + 1), name="sum_lower_shift")
    m.d.comb += lower_shift.eq(zeros - 2)
    stage = pipeline.cut("sum_counted", body=body, carry=carry, sticky=sticky, sign=sign,
                         big_leading=big_leading, zeros=zeros, lower_shift=lower_shift)
    body, carry, sticky, sign, big_leading, zeros = (
        stage[name] for name in ("body", "carry", "sticky", "sign", "big_leading", "zeros"))
    lower = _shift_left(m, Cat(sticky, body[:-1]), stage["lower_shift"], width, "sum_shift")
    top = Signal(_PRECISION + 1, name="sum_top")
    below = Signal(name="sum_below")
    with m.If(carry):
        m.d.comb += [top.eq(Cat(body[-_PRECISION:], carry)),
                     below.eq(sticky | body[:-_PRECISION].any())]
    with m.Elif(body[-1]):
        m.d.comb += [top.eq(body[-_PRECISION - 1:]),
                     below.eq(sticky | body[:-_PRECISION - 1].any())]
    with m.Else():
        m.d.comb += [top.eq(lower[-_PRECISION - 1:]), below.eq(lower[:-_PRECISION - 1].any())]
    stage = pipeline.cut("normalized", top=top, below=below, zeros=zeros,
                         nonzero=carry | body.any() | sticky, sign=sign,
                         big_leading=big_leading)
    top, zeros, sign, big_leading = \
        stage["top"], stage["zeros"], stage["sign"], stage["big_leading"]
    kept = top[1:]
    round_bit = top[0]
    sticky = stage["below"]
    rounded = Signal(_PRECISION + 1, name="rounded")
    m.d.comb += rounded.eq(kept + (round_bit & (sticky | kept[0])))
    stage = pipeline.cut("rounded", rounded=rounded, leading=big_leading + 1 - zeros,
                         nonzero=stage["nonzero"], sign=sign)
    rounded, sign = stage["rounded"], stage["sign"]
    exponent = Signal(_EXPONENT, name="result_exponent")
    m.d.comb += exponent.eq(stage["leading"] + rounded[_PRECISION])
    stage = pipeline.cut("ranged", fraction=Mux(rounded[_PRECISION], rounded[1:],
                                                rounded[:_PRECISION])[:23],
                         biased=(exponent + 127)[:8], underflow=exponent < -126,
                         overflow=exponent > 127, nonzero=stage["nonzero"], sign=sign)
    sign = stage["sign"]
    negative_zero = pipeline.riders.pop("negative_zero")
    result = Signal(32, name="rounded_sum")
    with m.If(~stage["nonzero"]):
        m.d.comb += result.eq(Cat(Const(0, 31), negative_zero))
    with m.Elif(stage["underflow"]):
        m.d.comb += result.eq(Cat(Const(0, 31), sign))
    with m.Elif(stage["overflow"]):
        m.d.comb += result.eq(Cat(Const(0, 23), Const(0xFF, 8), sign))
    with m.Else():
        m.d.comb += result.eq(Cat(stage["fraction"], stage["biased"], sign))
    return result


def _special(m, output, finite, nan, positive_infinity, negative_infinity):
    """Drive ``output`` with the canonical NaN, an infinity, or ``finite`` (R7)."""
    with m.If(nan | (positive_infinity & negative_infinity)):
        m.d.comb += output.eq(CANONICAL_NAN)
    with m.Elif(positive_infinity | negative_infinity):
        m.d.comb += output.eq(Cat(Const(0, 23), Const(0xFF, 8), negative_infinity))
    with m.Else():
        m.d.comb += output.eq(finite)


def _fp32_term(m, bits, name):
    """(decoded FP32 operand, the finite term of its value), Signals of
    :func:`_operand_layout` and :class:`_Term`."""
    decoded = Signal(_operand_layout(_PRECISION), name=name)
    m.d.comb += _decode(decoded, bits, *_FP32_FIELDS)
    term = _term(_PRECISION, f"{name}_term")
    m.d.comb += _assign_term(term, decoded.sign, decoded.significand, decoded.exponent)
    return decoded, term


def _has_mx(formats):
    """Whether a PE of the format set ``formats`` has MX mode: the set holds an MX-only element
    format (``sim_models.config.MX_ONLY_FORMATS``: E4M3FN or E2M1); E5M2 is then an MX element
    too. A set without them (Trainium2's) has no MX ports."""
    return any(name in MX_ONLY_FORMATS for name in formats)


def float_mac_signature(formats):
    """Ports of :class:`FloatMac` for the format set ``formats`` (see its Members); a set that
    is not floating-point formats in canonical order is refused with one line."""
    formats = tuple(formats)
    if check_formats("Parameter 'formats'", formats, PE_FORMATS) != formats or not all(
            name in ENCODINGS for name in formats):
        raise ValueError(f"Parameter 'formats' must be a set of floating-point formats in "
                         f"canonical order, a subset of {', '.join(ENCODINGS)}, not "
                         f"{formats!r}")
    index = index_shape(len(formats))
    mx = _has_mx(formats)
    lane = 8 * X4 if mx else 16
    ports = {"partial": In(32), "moving": In(lane), "stationary": In(lane),
             "moving_format": In(index), "stationary_format": In(index), "active": In(2),
             "result": Out(32)}
    if _double_row_formats(formats):
        ports["double_row"] = In(1)
    if mx:
        ports.update({"mx": In(1), "stationary_scale": In(8), "moving_scale": In(8)})
    return wiring.Signature(ports)


def _double_row_formats(formats):
    """The FP8 formats of ``formats`` that double-row mode takes (Trainium2's E4M3 and E5M2)."""
    return tuple(name for name in formats if name in FLOAT_FORMATS and FLOAT_FORMATS[name].is_fp8)


def _exact_sum_width(encodings, count):
    """Bits of the magnitude of an exact sum of up to ``count`` (>= 2) products of two elements
    of the 8-bit ``encodings`` on the grid of its finest product (the smallest exponent of a
    product's least significant bit): see :func:`_fixed_point_sum`."""
    lowest = min(encoding.lsb_exponent for encoding in encodings)
    largest = int(max(encoding.max_finite for encoding in encodings) * 2 ** -lowest)
    significand = 2 * (max(encoding.operand.mantissa_bits for encoding in encodings) + 1)
    return ((count - 1) * largest * largest + (1 << significand) - 1).bit_length()


def _align(m, first, second, active, width, name):
    """The first half of a sum of two :class:`_Term` ``first`` and ``second`` (``active``: a
    pair of bits that zero a term's magnitude, or None): (the coarser term's magnitude shifted
    onto the finer term's grid, ``width`` bits; the finer term; the coarser term's sign)."""
    terms = (first, second)
    high_above = Signal(signed(len(first.exponent) + 1), name=f"{name}_high_above")
    low_above = Signal(signed(len(first.exponent) + 1), name=f"{name}_low_above")
    m.d.comb += [high_above.eq(second.exponent - first.exponent),
                 low_above.eq(first.exponent - second.exponent)]
    swap = high_above < 0                                 # the high term's grid is finer
    fine, coarse = (_term(len(first.magnitude), f"{name}_{role}") for role in ("fine", "coarse"))
    distance = Signal(range(width), name=f"{name}_distance")
    for term, (one, other) in ((fine, (1, 0)), (coarse, (0, 1))):
        chosen, unchosen = terms[one], terms[other]
        magnitude = Mux(swap, chosen.magnitude, unchosen.magnitude)
        if active is not None:
            magnitude = Mux(Mux(swap, active[one], active[other]), magnitude, 0)
        m.d.comb += _assign_term(term, Mux(swap, chosen.sign, unchosen.sign), magnitude,
                                 Mux(swap, chosen.exponent, unchosen.exponent))
    m.d.comb += distance.eq(Mux(swap, low_above, high_above))
    shifted = Signal(width, name=f"{name}_shifted")
    m.d.comb += shifted.eq(_shift_left(m, coarse.magnitude, distance, width, f"{name}_shift"))
    return shifted, fine, coarse.sign


def _add_aligned(m, shifted, fine, coarse_sign, name, sum_name):
    """The second half of a sum of two terms (:func:`_align`'s results): the magnitudes added
    or the smaller taken from the larger, a :class:`_Term` named ``sum_name`` on the finer
    term's grid, as wide as ``shifted``."""
    width = len(shifted)
    on_grid = Cat(fine.magnitude, Const(0, width - len(fine.magnitude)))
    total, _ = _add(m, shifted, on_grid, 0, f"{name}_total")
    coarse_less_fine, not_smaller = _add(m, shifted, ~on_grid, 1, f"{name}_difference")
    fine_less_coarse, _ = _add(m, on_grid, ~shifted, 1, f"{name}_reverse")
    term = _term(width, sum_name)
    with m.If(coarse_sign == fine.sign):
        m.d.comb += [term.magnitude.eq(total), term.sign.eq(fine.sign)]
    with m.Elif(not_smaller):
        m.d.comb += [term.magnitude.eq(coarse_less_fine), term.sign.eq(coarse_sign)]
    with m.Else():
        m.d.comb += [term.magnitude.eq(fine_less_coarse), term.sign.eq(fine.sign)]
    m.d.comb += term.exponent.eq(fine.exponent)
    return term


def _fixed_point_sum(m, products, active, encodings, pipeline):
    """Stage 3: the exact sum of the FP8 ``products`` that are ``active`` (two in double-row
    mode, four in MX mode; ``encodings``: the set's 8-bit encodings as the PE reads them), a
    :class:`_Term`. A tree of sums of two terms: each on the grid of its term with the smaller
    exponent, the other shifted up to it, then added or subtracted by magnitude; pairs of
    products first (the double-row pair is the x4 word's first two elements), then the two
    pairs' sums.

    ``pipeline`` (a :class:`_Pipeline`) cuts it after the pairs' shifts onto their grids.

    Why the sums fit their widths (:func:`_exact_sum_width`): let ``lowest`` be the smallest
    exponent of an element's least significant bit (-16 with E5M2, -9 with E4M3 or E4M3FN
    alone), L the largest finite element (57344, 240 or 448) and b the bits of a product's
    significand (8 at most). Every product, a zero or an inactive one included, has its least
    significant bit at an exponent e >= 2 lowest, so the grid of a sum of n products (its
    finest product's e) is at or above 2**(2 lowest); on that grid the finest product is
    below 2**b and every other at most L**2 * 2**(-2 lowest), so the sum's magnitude is below
    (n - 1) L**2 2**(-2 lowest) + 2**b: for n = 2, 64 bits with E5M2 (34 with E4M3 alone, 36
    with E4M3FN alone) -- the double-row width; for n = 4, 66 bits with E5M2 (38 with E4M3FN
    alone). A pair's sum, the coarser one shifted onto the other pair's grid, is at most
    2 L**2 2**(-2 lowest), below 2**66 too, so no shift or addition drops a bit."""
    pairs = [(products[index:index + 2], active[index:index + 2])
             for index in range(0, len(products), 2)]
    suffixes = [""] if len(pairs) == 1 else [f"_{index}{index + 1}"
                                             for index in range(0, len(products), 2)]
    width = _exact_sum_width(encodings, 2)
    aligned = {}
    for suffix, (pair, taking) in zip(suffixes, pairs):
        shifted, fine, coarse_sign = _align(
            m, *(_Term(product.sign, product.significand, product.exponent) for product in pair),
            taking, width, f"grid{suffix}")
        aligned.update({f"shifted{suffix}": shifted, f"fine{suffix}": fine,
                        f"coarse_sign{suffix}": coarse_sign})
    stage = pipeline.cut("grid", **aligned)
    if len(pairs) == 1:
        return _add_aligned(m, stage["shifted"], stage["fine"], stage["coarse_sign"], "grid",
                            "fixed")
    sums = [_add_aligned(m, stage[f"shifted{suffix}"], stage[f"fine{suffix}"],
                         stage[f"coarse_sign{suffix}"], f"grid{suffix}", f"pair{suffix}")
            for suffix in suffixes]
    shifted, fine, coarse_sign = _align(m, *sums, None, _exact_sum_width(encodings, len(products)),
                                        "grid_pairs")
    return _add_aligned(m, shifted, fine, coarse_sign, "grid_pairs", "fixed")


#: Names of the elements of a lane, by byte: the only element (or an FP8 lane's low byte), the
#: double-row pair's second (contraction index p + K/2), and MX mode's x4 word, whose byte q is
#: contraction index p + qK/4.
_ELEMENTS = ("low", "high", "byte2", "byte3")


class FloatMac(wiring.Component):
    """One PE step: ``result = RNE_fp32(partial + products)`` (R1-R8, R11), combinational or
    pipelined.

    With pipeline registers at ``cuts`` the step takes its operands (``stationary``,
    ``moving``, formats, ``active``) in one cycle, ``partial`` as many cycles later as there
    are cuts before the partial enters (``products``, ``term``), and gives ``result``
    ``len(cuts)`` cycles after its operands; one step may start every cycle.

    Parameters
    ----------
    formats : tuple of str
        The tile's floating-point format set (``TileConfig.formats``), or one with the MX-only
        formats too (names of ``sim_models.config.PE_FORMATS``), canonical order.
    cuts : tuple of str
        Cut points of ``sim_models.timing.MAC_CUT_POINTS`` that hold a pipeline register
        (none: combinational).

    Members
    -------
    partial : In(32)
        Incoming partial sum, FP32 bits.
    stationary, moving : In(16), or In(32) with MX mode
        Lanes: a BF16/FP16 element, an FP8 element in the low byte, in double-row mode two
        FP8 elements (contraction index p in the low byte, p + K/2 in the high byte), in MX
        mode an x4 word of four FP8 codes (byte q: contraction index p + qK/4).
    stationary_format, moving_format : In(index)
        Index into ``formats`` of each operand's format.
    double_row : In(1)
        FP8 double-row mode (only if ``formats`` holds Trainium2's E4M3 or E5M2); both formats
        FP8.
    mx : In(1)
        MX mode (only if ``formats`` holds E4M3FN or E2M1, see :func:`_has_mx`); both formats
        MX elements (``fp8_e4m3fn``, ``fp8_e5m2``, ``fp4_e2m1`` as its table's E4M3FN codes).
        Takes precedence over ``double_row``.
    stationary_scale, moving_scale : In(8)
        E8M0 block scales of the step's group (MX mode only; ignored otherwise): 2**(s - 127),
        0xFF NaN.
    active : In(2)
        Bit 0: the low (or only) product takes part, in MX mode all four and the scales;
        bit 1: the high FP8 product (double-row only). With no product taking part,
        ``result`` is ``partial`` bit for bit (R3).
    result : Out(32)
        FP32 bits.
    """
    def __init__(self, formats, cuts=()):
        signature = float_mac_signature(formats)
        self._formats = tuple(formats)
        self._cuts = tuple(cuts)
        super().__init__(signature)

    @property
    def formats(self):
        return self._formats

    @property
    def cuts(self):
        """Cut points (``sim_models.timing.MAC_CUT_POINTS``) holding a pipeline register."""
        return self._cuts

    def elaborate(self, platform):
        m = Module()
        pipeline = _Pipeline(m, self._cuts)
        double = bool(_double_row_formats(self._formats))
        mx = _has_mx(self._formats)
        eight_bit = tuple(_pe_encoding(name) for name in self._formats
                          if _pe_encoding(name).is_fp8)
        width = max(_pe_encoding(name).operand.mantissa_bits for name in self._formats) + 1
        elements = _ELEMENTS[:X4 if mx else 2 if double else 1]
        operands = {}
        for byte, element in enumerate(elements):
            for name, lane, index in (("stationary", self.stationary, self.stationary_format),
                                      ("moving", self.moving, self.moving_format)):
                operand = Signal(_operand_layout(width), name=f"{name}_{element}")
                _decode_selected(m, operand, lane, index, self._formats, byte)
                operands[f"{name}_{element}"] = operand
        double_row = self.double_row if double else Const(0, 1)
        scaling = {}
        if mx:
            # MX mode: active bit 0 is the whole x4 word's (its four products and its scales).
            active = Cat(self.active[0], Mux(self.mx, self.active[0], self.active[1] & double_row),
                         self.active[0] & self.mx, self.active[0] & self.mx)
            scaling = {"mx": self.mx, "stationary_scale": self.stationary_scale,
                       "moving_scale": self.moving_scale}
        else:
            active = Cat(self.active[0], self.active[1] & double_row)
        stage = pipeline.cut("decoded", active=active, double_row=double_row, **scaling,
                             **operands)
        active, double_row = stage["active"], stage["double_row"]
        products = [_multiply(m, stage[f"stationary_{element}"], stage[f"moving_{element}"],
                              f"product_{element}") for element in elements]
        if mx:
            # R13: the scale pair 2**(a - 127) * 2**(b - 127) is a power of two added to the
            # exponent of the products' exact sum; 0xFF in either makes the step NaN.
            scale_exponent = Signal(_EXPONENT, name="scale_exponent")
            a, b = stage["stationary_scale"], stage["moving_scale"]
            m.d.comb += scale_exponent.eq(Mux(stage["mx"], a + b - 2 * E8M0_BIAS, 0))
            scaling = {"mx": stage["mx"], "scale_exponent": scale_exponent,
                       "scale_nan": stage["mx"] & ((a == E8M0_NAN) | (b == E8M0_NAN))}
        stage = pipeline.cut("products", active=active, double_row=double_row, **scaling,
                             **{f"product_{element}": product
                                for element, product in zip(elements, products)})
        active, double_row = stage["active"], stage["double_row"]
        products = [stage[f"product_{element}"] for element in elements]
        single = _term(len(products[0].significand), "single")
        m.d.comb += _assign_term(single, products[0].sign,
                                 Mux(active[0], products[0].significand, 0),
                                 products[0].exponent)
        # What the products contribute to R7's specials and R8's zero sign.
        all_negative_zero, nan, positive_infinity, negative_infinity = Const(1, 1), 0, 0, 0
        for position, product in enumerate(products):
            taking = active[position]
            all_negative_zero &= ~taking | (product.zero & product.sign)
            nan |= taking & product.nan
            positive_infinity |= taking & product.inf & ~product.sign
            negative_infinity |= taking & product.inf & product.sign
        if mx:
            nan |= active[0] & stage["scale_nan"]
        pipeline.riders = {"single": single, "double_row": double_row,
                           "any_active": active.any(), "all_negative_zero": all_negative_zero,
                           "nan": nan, "positive_infinity": positive_infinity,
                           "negative_infinity": negative_infinity}
        if mx:
            pipeline.riders.update(mx=stage["mx"], scale_exponent=stage["scale_exponent"])
        if double or mx:
            fixed = _fixed_point_sum(m, products, active, eight_bit, pipeline)
        else:
            pipeline.cut("grid")
        single, double_row = pipeline.riders.pop("single"), pipeline.riders.pop("double_row")
        term = single
        if mx:
            fixed = fixed._replace(exponent=fixed.exponent + pipeline.riders.pop("scale_exponent"))
            double_row = double_row | pipeline.riders.pop("mx")
        if double or mx:
            term = _term(max(len(fixed.magnitude), len(single.magnitude)), "products")
            m.d.comb += _assign_term(term, *(Mux(double_row, one, other)
                                             for one, other in zip(fixed, single)))
        stage = pipeline.cut("term", term=term)
        stage.update(pipeline.riders)
        # The partial sum from the PE above enters here.
        partial, partial_term = _fp32_term(m, self.partial, "partial")
        pipeline.riders = {
            "nan": stage["nan"] | partial.nan,
            "positive_infinity": stage["positive_infinity"] | (partial.inf & ~partial.sign),
            "negative_infinity": stage["negative_infinity"] | (partial.inf & partial.sign),
            "any_active": stage["any_active"], "partial": self.partial}
        negative_zero = partial.sign & _is_zero(partial) & stage["all_negative_zero"]
        finite = _round_sum(m, partial_term, stage["term"], negative_zero, pipeline)
        riders = pipeline.riders
        stepped = Signal(32, name="stepped")
        _special(m, stepped, finite, riders["nan"], riders["positive_infinity"],
                 riders["negative_infinity"])
        m.d.comb += self.result.eq(Mux(riders["any_active"], stepped, riders["partial"]))
        return m


class FloatAdd(wiring.Component):
    """One accumulating PSUM write (R9): ``sum = RNE_fp32(stored + incoming)`` under R5-R8,
    combinational.

    Members
    -------
    stored, incoming : In(32)
        FP32 bits of the PSUM entry and of the arriving partial sum.
    sum : Out(32)
        FP32 bits.
    """
    def __init__(self):
        super().__init__({"stored": In(32), "incoming": In(32), "sum": Out(32)})

    def elaborate(self, platform):
        m = Module()
        stored, stored_term = _fp32_term(m, self.stored, "stored")
        incoming, incoming_term = _fp32_term(m, self.incoming, "incoming")
        negative_zero = stored.sign & _is_zero(stored) & incoming.sign & _is_zero(incoming)
        finite = _round_sum(m, stored_term, incoming_term, negative_zero)
        _special(m, self.sum, finite, stored.nan | incoming.nan,
                 (stored.inf & ~stored.sign) | (incoming.inf & ~incoming.sign),
                 (stored.inf & stored.sign) | (incoming.inf & incoming.sign))
        return m
