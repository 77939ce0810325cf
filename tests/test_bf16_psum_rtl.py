# amaranth: UnusedElaboratable=no
"""BF16 PSUM writes in the RTL (hdl.bf16_psum) against the golden model (sim_models.bf16_psum)
bit for bit, in Amaranth's simulator: one lane's write in every destination mode on directed
special values and seeded random words, and the stochastic-rounding generators draw by draw
over thousands of beats, reseeds included."""

import itertools

import ml_dtypes
import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import Value
from amaranth.sim import Simulator

from hdl.bf16_psum import PsumWrite, StochasticRoundingGenerator
from sim_models.bf16_psum import (LANE_SEED_STEP, PsumDestination, StochasticRoundingBits,
                                  write_psum)
from tests.float_samples import rng  # noqa: F401
from tests.test_float_arith import simulate

#: Every destination the golden model accepts, and the RTL's encoding of it
#: (hdl.bf16_psum.destination_layout: bf16, accumulate, stochastic in bits 0, 1, 2).
DESTINATIONS = [PsumDestination(dtype, accumulate, rounding)
                for dtype, accumulate, rounding in itertools.product(("fp32", "bf16"),
                                                                     (False, True),
                                                                     ("rne", "sr"))
                if not (rounding == "sr" and dtype == "fp32")]

#: FP32 words: zeros, infinities, NaNs (quiet, signalling, with payloads, negative), the largest
#: finite values and the BF16 rounding points below Inf, the smallest normals, subnormals,
#: ties to even (down and up) and near-ties, ordinary values.
SPECIAL_FP32 = np.array([
    0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00123, 0x7F800001,
    0xFFBFFFFF, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F8000, 0x7F7F7FFF, 0x7F7F0000, 0xFF7F8001,
    0x00800000, 0x80800000, 0x00807FFF, 0x00808000, 0x00000001, 0x807FFFFF, 0x00008000,
    0x3F800000, 0x3F808000, 0x3F818000, 0xBF808000, 0x3F807FFF, 0x3F808001, 0xC0400000,
    0x4B7FFFFF, 0x3F7FFFFF], dtype=np.uint32)
#: BF16 words a BF16 accumulation reads: zeros, infinities, NaNs, largest finite, smallest
#: normal, subnormals, ordinary values.
SPECIAL_BF16 = np.array([0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0xFFC1, 0x7F81, 0x7F7F,
                         0xFF7F, 0x0080, 0x8080, 0x0001, 0x807F, 0x3F80, 0xBF80, 0x4040],
                        dtype=np.uint32)
#: Random bits of the directed SR writes: never, always and half-way rounding up, and near.
SPECIAL_RANDOM = np.array([0x0000, 0xFFFF, 0x8000, 0x7FFF, 0x0001], dtype=np.uint32)
#: Random words per destination.
RANDOM_PER_DESTINATION = 1000
#: Beats each generator test draws per seed.
DRAWS = 1500


class GivenDraws(StochasticRoundingBits):
    """Generators whose one beat draws the given bits (uint16 [lanes]): the golden
    write_psum's SR rounding with chosen random bits."""
    def __init__(self, bits):
        super().__init__(len(bits))
        self._bits = np.asarray(bits, dtype=np.uint16)

    def draws(self, beats):
        assert beats == 1
        return self._bits[None, :]


def encode_destination(destination):
    """The RTL's destination_layout bits of a PsumDestination."""
    return (destination.dtype == "bf16") | destination.accumulate << 1 \
        | (destination.rounding == "sr") << 2


def golden_words(stored, incoming, destination, random):
    """What the golden write_psum stores for each lane: uint32 [lanes] (BF16 zero-extended).
    ``stored`` is uint32 [lanes]; for a BF16 destination only its low 16 bits count."""
    if destination.dtype == "bf16":
        stored = (stored & 0xFFFF).astype(np.uint16)
    values, _ = write_psum(stored[:, None], destination.dtype, incoming[:, None], destination,
                           GivenDraws(random) if destination.rounding == "sr" else None)
    return values[:, 0].astype(np.uint32)


def check_writes(cases):
    """Simulate PsumWrite on ``cases`` (a list of (destination, stored, incoming, random), the
    last three uint32 arrays of one length) and compare every word with the golden model."""
    vectors = {name: np.concatenate([case[position] for case in cases])
               for position, name in ((1, "stored"), (2, "incoming"), (3, "random"))}
    vectors["destination"] = np.concatenate([np.full(len(case[1]), encode_destination(case[0]))
                                             for case in cases])
    got = simulate(PsumWrite(), vectors, "word")
    want = np.concatenate([golden_words(*case[1:3], case[0], case[3]) for case in cases])
    wrong = np.nonzero(got != want)[0]
    assert not len(wrong), [
        (f"destination {vectors['destination'][i]:03b}", hex(vectors["stored"][i]),
         hex(vectors["incoming"][i]), hex(vectors["random"][i]), hex(got[i]), hex(want[i]))
        for i in wrong[:5]]
    return len(got)


@pytest.mark.parametrize("destination", DESTINATIONS, ids=str)
def test_directed_specials_of_every_destination(destination):
    """Every pair of special stored and incoming words, under every special random value."""
    stored_set = SPECIAL_BF16 | 0xABCD0000 if destination.dtype == "bf16" else SPECIAL_FP32
    triples = np.array(list(itertools.product(stored_set, SPECIAL_FP32, SPECIAL_RANDOM)),
                       dtype=np.uint32).T
    assert check_writes([(destination, *triples)]) > 1000


def test_overflow_under_each_rounding(rng):
    """The BF16 rounding points below Inf: nearest even overflows from 0x7F7F8000 (a tie to
    odd), stochastic rounding only when the random bits carry; accumulations overflow FP32."""
    incoming = np.array([0x7F7F8000, 0x7F7F7FFF, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F0001],
                        dtype=np.uint32)
    stored = np.array([0x7F7F, 0xFF7F, 0x7F7F, 0x0000, 0x7F7F], dtype=np.uint32)
    random = rng.integers(0, 1 << 16, len(incoming), dtype=np.uint32)
    check_writes([(destination, stored, incoming, bits) for destination in DESTINATIONS
                  for bits in (random, np.full(5, 0xFFFF, np.uint32), np.full(5, 0x8000,
                                                                              np.uint32))])


def random_words(rng, count):
    """FP32 words of every kind: uniform bit patterns (NaNs, infinities, subnormals included),
    normals of moderate exponent, and values near BF16 rounding points."""
    uniform = rng.integers(0, 1 << 32, count, dtype=np.uint64).astype(np.uint32)
    normal = rng.standard_normal(count).astype(np.float32).view(np.uint32)
    near_tie = (normal & np.uint32(0xFFFF0000)) | np.uint32(0x8000) \
        ^ rng.integers(0, 2, count, dtype=np.uint32)
    return np.concatenate([uniform, normal, near_tie])[rng.permutation(3 * count)[:count]]


@pytest.mark.parametrize("destination", DESTINATIONS, ids=str)
def test_random_words_of_every_destination(rng, destination):
    """Random stored, incoming and random words; a BF16 accumulation's stored BF16 under
    random high bits, and accumulations of near opposites (cancellation)."""
    count = RANDOM_PER_DESTINATION
    stored = random_words(rng, count)
    incoming = random_words(rng, count)
    if destination.accumulate:
        wide = stored << np.uint32(16) if destination.dtype == "bf16" else stored
        opposite = wide ^ np.uint32(0x80000000) ^ rng.integers(0, 1 << 17, count,
                                                                dtype=np.uint32)
        incoming = np.where(rng.integers(0, 4, count) == 0, opposite, incoming)
    random = rng.integers(0, 1 << 16, count, dtype=np.uint32)
    check_writes([(destination, stored, incoming, random)])


def test_fp32_destination_ignores_the_stochastic_bit(rng):
    """The golden model refuses SR into FP32; the RTL stores what the FP32 destination of the
    same accumulate mode stores (an FP32 destination is never rounded again)."""
    count = 200
    stored, incoming = random_words(rng, count), random_words(rng, count)
    random = rng.integers(0, 1 << 16, count, dtype=np.uint32)
    for accumulate in (False, True):
        destination = PsumDestination("fp32", accumulate)
        got = simulate(PsumWrite(), {"stored": stored, "incoming": incoming, "random": random,
                                     "destination": np.full(count, encode_destination(
                                         destination) | 4)}, "word")
        assert (got == golden_words(stored, incoming, destination, random)).all()


def test_rne_overwrite_of_an_fp32_subnormal_is_ieee_rounding_on_the_bf16_grid():
    """An FP32 subnormal (which the array never delivers, R5) overwriting a BF16 destination
    rounds to nearest even on BF16's subnormal grid: the RTL, the golden model and ml_dtypes'
    IEEE conversion agree."""
    low = np.arange(0, 1 << 23, 4099, dtype=np.uint32)
    incoming = np.concatenate([low, low | np.uint32(0x80000000),
                               np.array([0x00008000, 0x00018000, 0x00017FFF, 0x007FFFFF,
                                         0x807F8000], dtype=np.uint32)])
    destination = PsumDestination("bf16")
    got = simulate(PsumWrite(), {"stored": np.zeros_like(incoming), "incoming": incoming,
                                 "random": np.zeros_like(incoming),
                                 "destination": np.full(len(incoming),
                                                        encode_destination(destination))},
                   "word")
    want = incoming.view(np.float32).astype(ml_dtypes.bfloat16).view(np.uint16)
    assert (got == want).all()
    assert (got == golden_words(np.zeros_like(incoming), incoming, destination,
                                np.zeros_like(incoming))).all()


def run_generator(lanes, program):
    """Simulate StochasticRoundingGenerator(lanes) through ``program``, a list of (seed or
    None, step mask) cycles (a seed reseeds in that cycle, bit m of the mask steps lane m), and
    return the states after reset (uint32 [lanes]) and each lane's draws (a list per lane)."""
    generator = StochasticRoundingGenerator(lanes)
    random, state = Value.cast(generator.random), Value.cast(generator.state)
    draws = [[] for _ in range(lanes)]
    initial = []

    async def testbench(ctx):
        packed = ctx.get(state)
        initial.extend((packed >> (32 * lane)) & 0xFFFFFFFF for lane in range(lanes))
        for seed, mask in program:
            ctx.set(generator.reseed, seed is not None)
            ctx.set(generator.seed, seed or 0)
            ctx.set(generator.step, mask)
            if mask:
                packed = ctx.get(random)
                for lane in range(lanes):
                    if mask >> lane & 1:
                        draws[lane].append((packed >> (16 * lane)) & 0xFFFF)
            await ctx.tick()

    simulator = Simulator(generator)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return np.array(initial, dtype=np.uint32), draws


def golden_draws(lanes, program):
    """What the golden StochasticRoundingBits(lanes) gives each lane for the same ``program``
    as :func:`run_generator`: lane m's draws are column m of a golden generator stepped
    whenever lane m steps (the golden steps every lane at once)."""
    goldens = [StochasticRoundingBits(lanes) for _ in range(lanes)]
    initial = goldens[0].state
    draws = [[] for _ in range(lanes)]
    for seed, mask in program:
        for lane, golden in enumerate(goldens):
            if seed is not None:
                golden.reseed(seed)
            if mask >> lane & 1:
                draws[lane].append(int(golden.draws(1)[0, lane]))
    return initial, draws


def skewed(lanes, beats):
    """Step masks of ``beats`` (booleans) with lane m stepping m cycles after lane 0, as PSUM
    lanes written one cycle apart do."""
    cycles = len(beats) + lanes - 1
    return [sum(1 << lane for lane in range(lanes) if 0 <= cycle - lane < len(beats)
                and beats[cycle - lane]) for cycle in range(cycles)]


@pytest.mark.parametrize("lanes", [1, 3, 8])
def test_generator_matches_the_golden_draw_by_draw(rng, lanes):
    """Each lane's draws over thousands of beats, stepped with its own skew and idle cycles
    between beats: from reset (seed 0), after a reseed to a random seed, and after a reseed in
    a cycle where every lane steps to a seed that would give lane 1 the zero state."""
    seeds = [int(rng.integers(0, 1 << 32)), (2 * LANE_SEED_STEP) & 0xFFFFFFFF]
    every = (1 << lanes) - 1
    program = [(None, mask) for mask in skewed(lanes, rng.integers(0, 4, DRAWS) != 0)]
    program += [(seeds[0], 0)] + [(None, mask) for mask in skewed(lanes, [True] * DRAWS)]
    program += [(seeds[1], every)] + [(None, every)] * (DRAWS // 3)
    got_initial, got = run_generator(lanes, program)
    want_initial, want = golden_draws(lanes, program)
    assert (got_initial == want_initial).all()
    for lane in range(lanes):
        assert len(got[lane]) == len(want[lane]) > 2 * DRAWS
        wrong = [beat for beat, (one, other) in enumerate(zip(got[lane], want[lane]))
                 if one != other]
        assert not wrong, (lane, wrong[:5], [hex(got[lane][beat]) for beat in wrong[:5]],
                           [hex(want[lane][beat]) for beat in wrong[:5]])


def test_generator_and_write_reproduce_an_sr_write_psum(rng):
    """The generator's draws of N beats fed lane by lane to PsumWrite store exactly what
    write_psum stores for an [M, N] BF16 SR accumulation from the same seed."""
    lanes, beats, seed = 4, 50, int(rng.integers(0, 1 << 32))
    _, draws = run_generator(lanes, [(seed, 0)] + [(None, (1 << lanes) - 1)] * beats)
    draws = np.array(draws, dtype=np.uint32)
    stored = rng.integers(0, 1 << 16, (lanes, beats), dtype=np.uint32)
    incoming = random_words(rng, lanes * beats).reshape(lanes, beats)
    destination = PsumDestination("bf16", True, "sr")
    want, _ = write_psum(stored.astype(np.uint16), "bf16", incoming, destination,
                         StochasticRoundingBits(lanes, seed))
    code = np.full(lanes * beats, encode_destination(destination))
    got = simulate(PsumWrite(), {"stored": stored.ravel(), "incoming": incoming.ravel(),
                                 "random": draws.ravel(),
                                 "destination": code}, "word")
    assert (got.reshape(lanes, beats) == want).all()


@pytest.mark.parametrize("lanes", [0, 129, -1, True, 2.0, "4", None])
def test_generator_refuses_bad_lanes(lanes):
    with pytest.raises(ValueError) as error:
        StochasticRoundingGenerator(lanes)
    assert str(error.value) == (f"Parameter 'lanes' must be an integer in 1..128 (one "
                                f"generator per PSUM partition lane), not {lanes!r}")


def test_verilog_is_deterministic():
    """Both components convert to the same Verilog twice (emit_src off, as hdl.emit)."""
    for make in (PsumWrite, lambda: StochasticRoundingGenerator(4)):
        texts = [verilog.convert(make(), name="bf16_psum_block", emit_src=False)
                 for _ in range(2)]
        assert texts[0] == texts[1] and "module bf16_psum_block" in texts[0]
