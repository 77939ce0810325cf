"""The floating-point PE step and PSUM adder (hdl.float_arith) against the golden model
(sim_models.floats) bit for bit, in Amaranth's simulator: directed special values for every
format pair and mode, and seeded random vectors (thousands per format pair)."""

import itertools

import numpy as np
import pytest
from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.sim import Simulator

from hdl.float_arith import FloatAdd, FloatMac, float_mac_signature
from sim_models.config import TRAINIUM2_FORMATS
from sim_models.floats import FLOAT_FORMATS, accumulate_fp32, decode, pe_step_fp32
from tests.float_samples import FORMAT_PAIRS, FP8_PAIRS, rng  # noqa: F401

#: FP32 partials of the directed vectors: zeros, infinities, NaNs (one with a payload), the
#: extremes of the normal range, an FP32 subnormal, and ordinary values.
SPECIAL_PARTIALS = np.array([0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000,
                             0xFFC00123, 0x7F7FFFFF, 0xFF7FFFFF, 0x00800000, 0x80800000,
                             0x00000001, 0x3F800000, 0xC0400000], dtype=np.uint32)
#: Random vectors per format pair and mode, and at most per test of the default run (Trainium2's
#: 16 single-row pairs share 4,000, 250 each; ``test_long_random_run`` runs 20,000 per pair).
RANDOM_PER_PAIR = 1000
RANDOM_MOST_PER_TEST = 4000


def special_elements(format_name):
    """Bit patterns of a format's special values: +-0, +-smallest subnormal, +-largest
    subnormal, +-1, +-largest finite, +-Inf, a NaN."""
    encoding = FLOAT_FORMATS[format_name]
    mantissa_bits, sign = encoding.operand.mantissa_bits, 1 << (encoding.bits - 1)
    infinity = ((1 << encoding.operand.exponent_bits) - 1) << mantissa_bits
    one = encoding.bias << mantissa_bits
    values = [0, 1, (1 << mantissa_bits) - 1, one, infinity - 1, infinity]
    return np.array(values + [value | sign for value in values] + [infinity | 1])


def simulate(component, vectors, output):
    """Drive ``component``'s inputs with ``vectors`` (port name -> 1-D array, one entry per
    vector) and return ``output``'s value for each vector (uint32 array). The inputs are
    packed into one signal, so that each vector costs one settling of the logic, not one per
    port."""
    count = len(next(iter(vectors.values())))
    results = np.empty(count, dtype=np.uint32)
    ports = [getattr(component, name) for name in vectors]
    packed = [0] * count
    offset = 0
    for port, values in zip(ports, vectors.values()):
        for index in range(count):
            packed[index] |= int(values[index]) << offset
        offset += len(Value.cast(port))
    top = Module()
    top.submodules.component = component
    inputs = Signal(offset)
    top.d.comb += Cat(*ports).eq(inputs)

    async def testbench(ctx):
        for index in range(count):
            ctx.set(inputs, packed[index])
            results[index] = ctx.get(getattr(component, output))

    simulator = Simulator(top)
    simulator.add_testbench(testbench)
    simulator.run()
    return results


def expected_mac(formats, vectors):
    """Golden results (uint32) of FloatMac vectors: pe_step_fp32 on the lanes' elements."""
    expected = np.empty(len(vectors["partial"]), dtype=np.uint32)
    double_row = vectors.get("double_row", np.zeros_like(vectors["partial"]))
    keys = zip(vectors["stationary_format"], vectors["moving_format"], double_row)
    for key in set(keys):
        select = (vectors["stationary_format"] == key[0]) & (vectors["moving_format"] == key[1]) \
            & (double_row == key[2])
        names = formats[key[0]], formats[key[1]]
        lanes = [vectors[port][select] for port in ("stationary", "moving")]
        active = np.stack([vectors["active"][select] & 1, vectors["active"][select] >> 1 & 1])
        if key[2]:
            elements = [np.stack([lane & 0xFF, lane >> 8]) for lane in lanes]
        else:
            elements = [(lane & ((1 << FLOAT_FORMATS[name].bits) - 1))[None]
                        for lane, name in zip(lanes, names)]
            active = active[:1]
        expected[select] = pe_step_fp32(vectors["partial"][select], *elements, *names,
                                        active.astype(bool), bool(key[2]))
    return expected


def check_mac(formats, vectors):
    """Simulate FloatMac(formats) on ``vectors`` and compare every result with the golden."""
    got = simulate(FloatMac(formats), vectors, "result")
    want = expected_mac(formats, vectors)
    wrong = np.nonzero(got != want)[0]
    assert not len(wrong), "\n".join(
        f"{formats}: " + ", ".join(f"{name}={int(values[index]):#x}" for name, values in
                                   vectors.items())
        + f": result {int(got[index]):#010x}, golden {int(want[index]):#010x}"
        for index in wrong[:5])


def random_partials(rng, stationary, moving, pairs):
    """FP32 partials that stress the adder: a third random bit patterns, a third close to minus
    the low product (cancellation), a third a product scaled by 2**-40 .. 2**40. ``pairs`` :
    the (stationary, moving) format names of each vector."""
    count = len(stationary)
    product = np.empty(count)
    for pair in set(pairs):
        select = np.array([chosen == pair for chosen in pairs])
        product[select] = np.prod([decode(lane[select] & ((1 << FLOAT_FORMATS[name].bits) - 1),
                                          name) for lane, name in zip((stationary, moving), pair)],
                                  axis=0)
    near = -product * (1 + rng.normal(size=count) * 2.0 ** -20)
    scaled = product * np.exp2(rng.integers(-40, 41, size=count))
    with np.errstate(invalid="ignore", over="ignore"):
        candidates = np.stack([rng.integers(0, 1 << 32, size=count, dtype=np.uint64)
                               .astype(np.uint32),
                               near.astype(np.float32).view(np.uint32),
                               scaled.astype(np.float32).view(np.uint32)])
    return candidates[rng.integers(0, 3, size=count), np.arange(count)]


def mac_vectors(formats, pairs, double_row, stationary, moving, partial, active):
    """The vector dictionary of FloatMac(formats): every argument one entry per vector."""
    vectors = {"partial": partial, "stationary": stationary, "moving": moving,
               "stationary_format": np.array([formats.index(pair[0]) for pair in pairs]),
               "moving_format": np.array([formats.index(pair[1]) for pair in pairs]),
               "active": active}
    if any(FLOAT_FORMATS[name].is_fp8 for name in formats):
        vectors["double_row"] = np.full(len(partial), int(double_row))
    return vectors


@pytest.mark.parametrize("double_row", [False, True])
def test_directed_special_values_of_every_format_pair(double_row):
    """NaN, +-Inf, +-0, subnormals, largest finite values of both operands, each against one
    of the special partials in turn, every format pair (FP8 pairs in double-row, with the
    high halves' specials and the active halves rotating too); then every special partial
    with a zero product."""
    pairs, stationary, moving, partial, active = [], [], [], [], []
    for pair in FP8_PAIRS if double_row else FORMAT_PAIRS:
        elements = [special_elements(name) for name in pair]
        for s_bits, m_bits in itertools.product(*elements):
            turn = len(pairs)
            pairs.append(pair)
            high = [element[turn * 7 % len(element)] << 8 if double_row else 0
                    for element in elements]
            stationary.append(s_bits | high[0])
            moving.append(m_bits | high[1])
            partial.append(SPECIAL_PARTIALS[turn % len(SPECIAL_PARTIALS)])
            active.append(1 + turn % 3 if double_row else 1)
        for p_bits in SPECIAL_PARTIALS:
            pairs.append(pair)
            stationary.append(1 << (FLOAT_FORMATS[pair[0]].bits - 1))      # -0
            moving.append(0)
            partial.append(p_bits)
            active.append(1)
    check_mac(TRAINIUM2_FORMATS, mac_vectors(TRAINIUM2_FORMATS, pairs, double_row,
                                             np.array(stationary), np.array(moving),
                                             np.array(partial, dtype=np.uint32),
                                             np.array(active)))


def test_double_row_sum_is_exact_across_the_whole_e5m2_range():
    """Minus the largest E5M2 product as the partial, the largest and the smallest products in
    the two halves, every sign: the result keeps the smallest product, 64 bits below."""
    largest_product = np.float32(-(57344.0 ** 2)).view(np.uint32)
    lanes = np.array([high << 8 | low for low, high in ((0x7B, 0x01), (0x01, 0x7B))])
    signs = np.array(list(itertools.product([0, 0x8080], [0, 0x8080], [0, 1 << 31])))
    count = len(lanes) * len(signs)
    stationary = np.repeat(lanes, len(signs)) ^ np.tile(signs[:, 0], len(lanes))
    moving = np.repeat(lanes, len(signs)) ^ np.tile(signs[:, 1], len(lanes))
    partial = np.full(count, largest_product) ^ np.tile(signs[:, 2], len(lanes)).astype(np.uint32)
    formats = ("fp8_e5m2",)
    vectors = mac_vectors(formats, [formats * 2] * count, True, stationary, moving, partial,
                          np.full(count, 3))
    check_mac(formats, vectors)
    assert 0x2F800000 in expected_mac(formats, vectors)         # +2**-32 is among the results


def check_random_batch(rng, formats, double_row, per_pair, most=None):
    """Random lanes (every encoding, the unused high byte of single-row FP8 lanes random too),
    random active bits (bit 1 ignored in single-row), partials that cancel: ``per_pair``
    vectors of every pair of ``formats`` (FP8 pairs in double-row), at most ``most`` in all,
    checked."""
    pairs = [pair for pair in itertools.product(formats, repeat=2)
             if not double_row or all(FLOAT_FORMATS[name].is_fp8 for name in pair)]
    count = per_pair * len(pairs) if most is None else min(most, per_pair * len(pairs))
    chosen = [pairs[index] for index in rng.permutation(count) % len(pairs)]
    stationary, moving = rng.integers(0, 1 << 16, size=(2, count))
    partial = random_partials(rng, stationary, moving, chosen)
    check_mac(formats, mac_vectors(formats, chosen, double_row, stationary, moving, partial,
                                   rng.choice([1, 2, 3, 3, 3, 0] if double_row else
                                              [1, 3, 1, 0, 2], size=count)))


#: Format sets and modes of the random tests: Trainium2's set, and sets whose FP8 grid or
#: ports differ (no FP8, E4M3 only, one 16-bit and one FP8 format).
RANDOM_CASES = pytest.mark.parametrize("formats, double_row", [
    (TRAINIUM2_FORMATS, False), (TRAINIUM2_FORMATS, True), (("bf16",), False),
    (("fp8_e4m3",), True), (("fp16", "fp8_e5m2"), True)], ids=["trn2-single", "trn2-double",
                                                                 "bf16", "e4m3-double",
                                                                 "fp16-e5m2-double"])


@RANDOM_CASES
def test_random_vectors_of_every_format_pair(rng, formats, double_row):
    check_random_batch(rng, formats, double_row, RANDOM_PER_PAIR, RANDOM_MOST_PER_TEST)


@pytest.mark.long
@RANDOM_CASES
def test_long_random_run(rng, formats, double_row):
    """20 times the vectors of the default run (minutes; ``pytest -m long``)."""
    check_random_batch(rng, formats, double_row, 20 * RANDOM_PER_PAIR)


def test_float_add_against_the_golden(rng):
    """FloatAdd (R9): special FP32 pairs, random bit patterns, and near-cancelling pairs."""
    specials = np.array(list(itertools.product(SPECIAL_PARTIALS, repeat=2)), dtype=np.uint32).T
    random = rng.integers(0, 1 << 32, size=(2, RANDOM_PER_PAIR), dtype=np.uint64) \
        .astype(np.uint32)
    near = random[0] ^ np.uint32(0x80000000) ^ rng.integers(0, 4, RANDOM_PER_PAIR,
                                                            dtype=np.uint32)
    stored = np.concatenate([specials[0], random[0], random[0]])
    incoming = np.concatenate([specials[1], random[1], near])
    got = simulate(FloatAdd(), {"stored": stored, "incoming": incoming}, "sum")
    want = accumulate_fp32(stored, incoming)
    wrong = np.nonzero(got != want)[0]
    assert not len(wrong), [(hex(stored[i]), hex(incoming[i]), hex(got[i]), hex(want[i]))
                            for i in wrong[:5]]


@pytest.mark.parametrize("formats, message", [
    (("int8",), "Parameter 'formats' must be a set of floating-point formats in canonical "
                "order, a subset of bf16, fp16, fp8_e4m3, fp8_e5m2, fp8_e4m3fn, fp4_e2m1, "
                "not ('int8',)"),
    (("fp8_e5m2", "bf16"), "Parameter 'formats' must be a set of floating-point formats in "
                           "canonical order, a subset of bf16, fp16, fp8_e4m3, fp8_e5m2, "
                           "fp8_e4m3fn, fp4_e2m1, not ('fp8_e5m2', 'bf16')"),
    (("bf16", "fp9"), "Parameter 'formats': unknown format 'fp9'; known: int8, bf16, fp16, "
                      "fp8_e4m3, fp8_e5m2, fp8_e4m3fn, fp4_e2m1"),
])
def test_float_mac_refuses_a_bad_format_set(formats, message):
    with pytest.raises(ValueError) as error:
        float_mac_signature(formats)
    assert str(error.value) == message


def test_double_row_port_only_with_fp8():
    assert "double_row" not in float_mac_signature(("bf16", "fp16")).members
    assert "double_row" in float_mac_signature(("bf16", "fp8_e4m3")).members
