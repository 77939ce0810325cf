"""The PE's MX arithmetic (``hdl.float_arith.FloatMac`` in MX mode, R13) against the golden
``sim_models.mx.mx_pe_step_fp32`` bit for bit, in Amaranth's simulator, combinational (depth 1)
and pipelined at the default depth (13): directed specials and seeded random x4 words.

The PE sees FP8 codes only: an E2M1 element reaches it through the tile's FP4-to-FP8 table
(R12), so the tests put the table's E4M3FN code into the lane and give the golden the E2M1 code
and the same table."""

import itertools

import numpy as np
import pytest
from amaranth.hdl import Cat, Module, Signal
from amaranth.sim import Simulator

from hdl.float_arith import FloatMac, float_mac_signature
from sim_models.config import DEFAULT_FLOAT_PE_STAGES, TRAINIUM2_FORMATS
from sim_models.floats import FLOAT_FORMATS, MX_ELEMENT_FORMATS, decode_fp32
from sim_models.mx import E8M0_NAN, check_fp4_table, mx_pe_step_fp32, mx_values
from sim_models.timing import MAC_CUT_POINTS, mac_cuts
from tests.float_samples import rng  # noqa: F401
from tests.test_float_arith import SPECIAL_PARTIALS, expected_mac, simulate

#: Trainium3's format set as the PE's arithmetic takes it: Trainium2's and the MX-only ones.
TRAINIUM3_PE_FORMATS = TRAINIUM2_FORMATS + ("fp8_e4m3fn", "fp4_e2m1")
#: MX element format pairs (stationary, moving), mixes included.
MX_PAIRS = list(itertools.product(MX_ELEMENT_FORMATS, repeat=2))
#: Depths of the MAC the tests build: combinational and the default.
DEPTHS = pytest.mark.parametrize("stages", [1, DEFAULT_FLOAT_PE_STAGES])
#: Scales of the directed vectors: 2**-127, 2**-126, 2**-1 .. 2**1, 2**126, 2**127, NaN.
SPECIAL_SCALES = np.array([0, 1, 126, 127, 128, 253, 254, E8M0_NAN])
#: Random x4 steps per test at each depth: the default depth's run checks the arithmetic; the
#: combinational MAC (depth 1) has the same arithmetic without its pipeline registers, so a
#: fifth as many steps check that it is wired the same (every test's time counts: the suite
#: runs within CI's 20 minutes).
RANDOM_STEPS = {1: 300, DEFAULT_FLOAT_PE_STAGES: 1500}


def special_codes(format_name):
    """Codes of an MX element format's special values: +-0, +-smallest and +-largest subnormal,
    +-1, +-largest finite (448 for E4M3FN), and its NaN / infinity codes (E2M1: its extremes)."""
    encoding = MX_ELEMENT_FORMATS[format_name]
    mantissa, sign = encoding.operand.mantissa_bits, 1 << (encoding.bits - 1)
    one = encoding.bias << mantissa
    values = [0, 1, (1 << mantissa) - 1, one, encoding.max_finite_code]
    codes = values + [value | sign for value in values]
    codes += list(range(encoding.max_finite_code + 1, sign)) \
        + list(range(sign + encoding.max_finite_code + 1, 2 * sign))     # NaN, +-Inf
    return np.array(codes)


class Steps:
    """MX PE steps under construction: one entry per step in each list."""
    def __init__(self):
        self.partial, self.stationary, self.moving, self.formats = [], [], [], []
        self.scales, self.active = [], []

    def add(self, partial, stationary, moving, formats, scales=(127, 127), active=1):
        """One step: FP32 bits, two x4 words of element codes (4 each), the (stationary,
        moving) format names, the E8M0 pair, the active bits."""
        self.partial.append(int(partial))
        self.stationary.append([int(code) for code in stationary])
        self.moving.append([int(code) for code in moving])
        self.formats.append(tuple(formats))
        self.scales.append(tuple(int(scale) for scale in scales))
        self.active.append(int(active))


def lane_codes(codes, format_name, table):
    """The FP8 codes the PE receives for element codes of ``format_name``: E2M1 codes through
    the FP4-to-FP8 ``table``, the others unchanged."""
    return table[codes] if format_name == "fp4_e2m1" else codes


def mx_vectors(formats, steps, table):
    """FloatMac(formats) port vectors (port name -> array) of ``steps`` in MX mode."""
    lanes = {}
    for side, position in (("stationary", 0), ("moving", 1)):
        words = np.array([lane_codes(np.array(codes), pair[position], table)
                          for codes, pair in zip(getattr(steps, side), steps.formats)])
        lanes[side] = sum(words[:, byte].astype(np.int64) << (8 * byte) for byte in range(4))
    count = len(steps.partial)
    vectors = {"partial": np.array(steps.partial, dtype=np.uint32), **lanes,
               "stationary_format": np.array([formats.index(pair[0]) for pair in steps.formats]),
               "moving_format": np.array([formats.index(pair[1]) for pair in steps.formats]),
               "active": np.array(steps.active)}
    if "double_row" in float_mac_signature(formats).members:
        vectors["double_row"] = np.zeros(count, dtype=np.int64)
    vectors.update({"mx": np.ones(count, dtype=np.int64),
                    "stationary_scale": np.array([pair[0] for pair in steps.scales]),
                    "moving_scale": np.array([pair[1] for pair in steps.scales])})
    return vectors


def expected_mx(steps, table):
    """Golden results (uint32) of ``steps``: mx_pe_step_fp32, or the partial where the step is
    not active (R3)."""
    partial = np.array(steps.partial, dtype=np.uint32)
    active = np.array(steps.active) & 1
    scales = np.array(steps.scales).T
    expected = partial.copy()
    for pair in set(steps.formats):
        select = np.array([chosen == pair for chosen in steps.formats])
        values = [mx_values(np.array(getattr(steps, side))[select].T, name, table)
                  for side, name in zip(("stationary", "moving"), pair)]
        expected[select] = np.where(active[select],
                                    mx_pe_step_fp32(partial[select], *values, *scales[:, select]),
                                    partial[select])
    return expected


def simulate_pipelined(component, vectors, output):
    """Like ``tests.test_float_arith.simulate`` for a pipelined FloatMac: one vector a cycle,
    its partial ``partial_stage`` cycles after its operands, its result read ``len(cuts)``
    cycles after them."""
    cuts = component.cuts
    latency = len(cuts)
    partial_stage = sum(MAC_CUT_POINTS.index(cut) <= MAC_CUT_POINTS.index("term") for cut in cuts)
    count = len(vectors["partial"])
    names = [name for name in vectors if name != "partial"]
    ports = [getattr(component, name) for name in names]
    packed = [0] * count
    offset = 0
    for port, name in zip(ports, names):
        for index in range(count):
            packed[index] |= int(vectors[name][index]) << offset
        offset += len(port)
    top = Module()
    top.submodules.component = component
    inputs = Signal(offset)
    top.d.comb += Cat(*ports).eq(inputs)
    results = np.empty(count, dtype=np.uint32)

    async def testbench(ctx):
        for cycle in range(count + latency):
            if cycle < count:
                ctx.set(inputs, packed[cycle])
            if 0 <= cycle - partial_stage < count:
                ctx.set(component.partial, int(vectors["partial"][cycle - partial_stage]))
            if cycle >= latency:
                results[cycle - latency] = ctx.get(getattr(component, output))
            await ctx.tick()

    simulator = Simulator(top)
    simulator.add_clock(1e-6)
    simulator.add_testbench(testbench)
    simulator.run()
    return results


def run_mac(formats, stages, vectors):
    """Results of FloatMac(formats) of ``stages`` pipeline stages on ``vectors``."""
    mac = FloatMac(formats, mac_cuts(stages))
    return simulate_pipelined(mac, vectors, "result") if stages > 1 else \
        simulate(mac, vectors, "result")


def check_steps(formats, stages, steps, table):
    """Simulate the MX MAC on ``steps`` and compare every result with the golden."""
    got = run_mac(formats, stages, mx_vectors(formats, steps, table))
    want = expected_mx(steps, table)
    wrong = np.nonzero(got != want)[0]
    assert not len(wrong), "\n".join(
        f"{formats} depth {stages}: partial {steps.partial[index]:#010x} "
        f"{steps.formats[index]} stationary {steps.stationary[index]} moving "
        f"{steps.moving[index]} scales {steps.scales[index]} active {steps.active[index]}: "
        f"result {int(got[index]):#010x}, golden {int(want[index]):#010x}"
        for index in wrong[:5])
    return want


def directed_steps():
    """Every special code of each element format against every one of the other's, in a
    rotating byte of the x4 word (the other bytes rotating through the specials too), with
    rotating special scale pairs and partials; then named corner cases."""
    steps = Steps()
    for pair in MX_PAIRS:
        codes = [special_codes(name) for name in pair]
        for s_code, m_code in itertools.product(*codes):
            turn = len(steps.partial)
            words = []
            for side, code in enumerate((s_code, m_code)):
                word = [codes[side][(turn * (3 + byte) + side) % len(codes[side])]
                        for byte in range(4)]
                word[turn % 4] = code
                words.append(word)
            steps.add(SPECIAL_PARTIALS[turn % len(SPECIAL_PARTIALS)], *words, pair,
                      (SPECIAL_SCALES[turn % len(SPECIAL_SCALES)],
                       SPECIAL_SCALES[turn // len(SPECIAL_SCALES) % len(SPECIAL_SCALES)]),
                      active=1 + 2 * (turn % 2))
    e4, e5 = "fp8_e4m3fn", "fp8_e5m2"
    # Scale 0xFF: NaN whatever the elements, zeros and an infinite partial included.
    for scales in ((E8M0_NAN, 127), (127, E8M0_NAN), (E8M0_NAN, E8M0_NAN), (E8M0_NAN, 0)):
        for partial in (0x00000000, 0x7F800000, 0x3F800000):
            steps.add(partial, [0] * 4, [0] * 4, (e4, e4), scales)
            steps.add(partial, [0x38] * 4, [0x3C] * 4, (e4, e5), scales)
        steps.add(0x3F800000, [0x38] * 4, [0x3C] * 4, (e4, e5), scales, active=0)  # passes
    # E4M3FN NaN (0x7F, 0xFF) and +-448 (0x7E, 0xFE).
    for nan in (0x7F, 0xFF):
        steps.add(0x3F800000, [nan, 0x38, 0x38, 0x38], [0x38] * 4, (e4, e4))
    steps.add(0, [0x7E, 0xFE, 0x7E, 0x7E], [0x7E, 0x7E, 0x7E, 0xFE], (e4, e4))
    # 448**2 * 2**(254 - 254) fine; with scales 2**127 each, every product overflows FP32.
    steps.add(0, [0x7E] * 4, [0x7E] * 4, (e4, e4), (254, 254))
    steps.add(0, [0xFE] * 4, [0x7E] * 4, (e4, e4), (254, 254))
    steps.add(0xFF7FFFFF, [0x7E, 0xFE, 0, 0], [0x7E] * 4, (e4, e4), (254, 254))  # cancels
    # Just below and at the overflow threshold after scaling: 1.75 * 2**15 * 1.75 * 2**15 *
    # 2**(a + b - 254) around 2**128.
    for total in range(210, 225):
        steps.add(0, [0x7B, 0, 0, 0], [0x7B, 0, 0, 0], (e5, e5), (total // 2, total - total // 2))
    # Subnormal elements with small and large scales.
    for s_code, m_code in itertools.product((0x01, 0x07, 0x81), (0x01, 0x03, 0x83)):
        for scales in ((127, 127), (0, 127), (0, 0), (254, 100)):
            steps.add(0, [s_code] * 4, [m_code, 0x01, 0, m_code], (e4, e5), scales)
    # Groups that cancel exactly, alone and against signed-zero partials (R8).
    for partial in (0x00000000, 0x80000000, 0x3F800000, 0x00800000):
        steps.add(partial, [0x38, 0xB8, 0x40, 0xC0], [0x44] * 4, (e4, e4))
        steps.add(partial, [0x7B, 0x01, 0xFB, 0x81], [0x7B, 0x7B, 0x7B, 0x7B], (e5, e5))
        steps.add(partial, [0x80] * 4, [0x00] * 4, (e4, e5))              # four -0 products
        steps.add(partial, [0x80] * 4, [0x80] * 4, (e4, e5))              # four +0 products
    # Results below FP32's normal range: flushed, or rounded up into it.
    for scales in ((0, 0), (0, 1), (1, 2), (60, 3), (2, 60)):
        steps.add(0, [0x38, 0x30, 0, 0], [0x38] * 4, (e4, e4), scales)
        steps.add(0x80800000, [0x38, 0, 0, 0], [0x38] * 4, (e4, e4), scales)
    # The widest exact sum: three largest E5M2 products and the smallest one, against minus
    # the three largest: 2**-32 remains, 66 bits below the sum's top (R13's exactness).
    largest = np.float32(-3 * 57344.0 ** 2).view(np.uint32)
    for order in itertools.permutations([0x7B, 0x7B, 0x7B, 0x01]):
        steps.add(largest, list(order), list(order), (e5, e5))
    return steps


@DEPTHS
def test_directed_mx_specials_are_bit_exact(stages):
    """R13 corner by corner: scale 0xFF, scales 2**-127 and 2**127, E4M3FN NaN and 448,
    infinities of E5M2, subnormal elements, cancelling groups, overflow after scaling, results
    below the normal range, the widest exact sum; every MX format pair."""
    steps = directed_steps()
    want = check_steps(TRAINIUM3_PE_FORMATS, stages, steps, check_fp4_table(None))
    assert 0x2F800000 in want                       # +2**-32 survives the widest sum
    assert {0x7F800000, 0xFF800000, 0x7FC00000} <= set(want.tolist())
    assert (decode_fp32(want[np.isfinite(decode_fp32(want))]) != 0).any()


def random_steps(rng, count, pairs, table):
    """``count`` random MX steps of ``pairs``: half of them any codes (NaNs and infinities
    included), half finite ones; scales mostly near 2**0, some at the extremes and 0xFF;
    partials random bits, near minus the scaled sum (cancellation) or the sum scaled by 2**k."""
    steps = Steps()
    for index in range(count):
        pair = pairs[rng.integers(len(pairs))]
        words = []
        for name in pair:
            encoding = MX_ELEMENT_FORMATS[name]
            codes = rng.integers(0, 1 << encoding.bits, size=4)
            if index % 2:
                magnitude = codes & ((1 << (encoding.bits - 1)) - 1)
                codes = np.where(magnitude > encoding.max_finite_code,
                                 codes - (magnitude - encoding.max_finite_code), codes)
            words.append(codes)
        kind = rng.integers(10)
        scales = rng.integers(107, 148, size=2) if kind < 6 else \
            rng.choice(SPECIAL_SCALES, size=2) if kind < 8 else rng.integers(0, 255, size=2)
        values = [mx_values(codes, name, table) for codes, name in zip(words, pair)]
        with np.errstate(invalid="ignore", over="ignore"):
            exact = float(np.sum(values[0] * values[1])) * 2.0 ** (int(scales.sum()) - 254)
            choice = rng.integers(3)
            partial = int(rng.integers(0, 1 << 32)) if choice == 0 or not np.isfinite(exact) \
                else int(np.float32(-exact * (1 + rng.normal() * 2.0 ** -20)).view(np.uint32)) \
                if choice == 1 else \
                int(np.float32(exact * 2.0 ** rng.integers(-30, 31)).view(np.uint32))
        steps.add(partial, *words, pair, scales, active=rng.choice([1, 1, 1, 3, 0, 2]))
    return steps


#: Format sets of the random tests: Trainium3's, E4M3FN alone (the 38-bit sum) and E5M2 with
#: FP4 (no E4M3FN name, E2M1 read as E4M3FN).
RANDOM_SETS = pytest.mark.parametrize("formats", [
    TRAINIUM3_PE_FORMATS, ("fp8_e4m3fn",), ("fp8_e5m2", "fp4_e2m1")],
    ids=["trn3", "e4m3fn", "e5m2-fp4"])


@DEPTHS
@RANDOM_SETS
def test_random_mx_steps_are_bit_exact(rng, formats, stages):
    """Seeded random x4 words, scales and partials of every MX pair the set allows, with the
    default FP4 table and a random one (the PE reads whatever FP8 code the table gives)."""
    pairs = [pair for pair in MX_PAIRS if all(name in formats for name in pair)]
    tables = [check_fp4_table(None)]
    if "fp4_e2m1" in formats:
        nonnan = np.array([code for code in range(256) if code & 0x7F != 0x7F])
        tables.append(rng.choice(nonnan, size=16))
    for table in tables:
        check_steps(formats, stages, random_steps(rng, RANDOM_STEPS[stages] // len(tables), pairs,
                                                      table),
                    table)


@DEPTHS
def test_other_modes_of_an_mx_set_match_pe_step_fp32(rng, stages):
    """The MX set's MAC outside MX mode (mx = 0, scales random and ignored): single-row and
    double-row steps of Trainium2's formats, bit-exact with sim_models.floats.pe_step_fp32."""
    formats = TRAINIUM3_PE_FORMATS
    count = 600
    double_row = np.arange(count) % 2
    fp8 = [name for name in TRAINIUM2_FORMATS if FLOAT_FORMATS[name].is_fp8]
    pairs = [list(itertools.product(TRAINIUM2_FORMATS, repeat=2)),
             list(itertools.product(fp8, repeat=2))]
    chosen = [pairs[double][rng.integers(len(pairs[double]))] for double in double_row]
    vectors = {"partial": rng.integers(0, 1 << 32, size=count, dtype=np.uint64).astype(np.uint32),
               "stationary": rng.integers(0, 1 << 32, size=count),
               "moving": rng.integers(0, 1 << 32, size=count),
               "stationary_format": np.array([formats.index(pair[0]) for pair in chosen]),
               "moving_format": np.array([formats.index(pair[1]) for pair in chosen]),
               "active": rng.integers(0, 4, size=count), "double_row": double_row,
               "mx": np.zeros(count, dtype=np.int64),
               "stationary_scale": rng.integers(0, 256, size=count),
               "moving_scale": rng.integers(0, 256, size=count)}
    got = run_mac(formats, stages, vectors)
    golden = {**vectors, "stationary": vectors["stationary"] & 0xFFFF,
              "moving": vectors["moving"] & 0xFFFF}
    want = expected_mac(formats, golden)
    wrong = np.nonzero(got != want)[0]
    assert not len(wrong), [(hex(int(got[i])), hex(int(want[i])), chosen[i]) for i in wrong[:5]]


def test_mx_ports_only_with_an_mx_only_format():
    """Trainium2's set keeps its 16-bit lanes and has no MX ports; a set with E4M3FN or E2M1
    has 32-bit lanes (x4 words), the mode bit and the scale pair."""
    plain = float_mac_signature(TRAINIUM2_FORMATS).members
    assert "mx" not in plain and plain["stationary"].shape == 16
    for formats in (TRAINIUM3_PE_FORMATS, ("fp8_e4m3fn",), ("fp8_e5m2", "fp4_e2m1")):
        members = float_mac_signature(formats).members
        assert {"mx", "stationary_scale", "moving_scale"} <= set(members)
        assert members["moving"].shape == 32
        assert ("double_row" in members) == ("fp8_e5m2" in formats or "fp8_e4m3" in formats)
