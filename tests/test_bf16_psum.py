"""Trainium3's PSUM destinations (sim_models.bf16_psum): rules R16 (FP32 or BF16, overwrite or
accumulate, and the refusal of mixed-type accumulation) and R17 (stochastic rounding and its
xorshift32 generators), each pinned by a test named after it; SR reproduced bit for bit from a
seed and shown unbiased over many draws."""

import ml_dtypes
import numpy as np
import pytest

from sim_models.bf16_psum import (LANE_SEED_STEP, PsumDestination, StochasticRoundingBits,
                                  lane_seeds, round_fp32_to_bf16_stochastic, write_psum)
from sim_models.floats import (BF16_CANONICAL_NAN, accumulate_fp32, decode_fp32,
                               round_fp32_to_bf16)
from tests.float_samples import rng  # noqa: F401

BF16 = PsumDestination("bf16")
BF16_SR = PsumDestination("bf16", rounding="sr")


def fp32(values):
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def bf16_values(bits):
    return decode_fp32(np.asarray(bits, dtype=np.uint32) << 16)


def random_fp32(rng, shape, span=20):
    """FP32 bits of normal values with random low bits, exponents within +-span."""
    values = rng.standard_normal(shape) * 2.0 ** rng.integers(-span, span, shape)
    return fp32(values)


# R16: destinations -------------------------------------------------------------------------

def test_r16_fp32_destination_stores_the_sum_or_its_r9_accumulation(rng):
    stored, incoming = random_fp32(rng, (4, 8)), random_fp32(rng, (4, 8))
    values, dtype = write_psum(None, None, incoming, PsumDestination())
    assert dtype == "fp32" and np.array_equal(values, incoming)
    values, dtype = write_psum(stored, "fp32", incoming, PsumDestination(accumulate=True))
    assert dtype == "fp32" and np.array_equal(values, accumulate_fp32(stored, incoming))


def test_r16_bf16_rne_write_is_the_downcast_immediately_before_the_write(rng):
    incoming = random_fp32(rng, (4, 8))
    values, dtype = write_psum(None, None, incoming, BF16)
    assert dtype == "bf16" and values.dtype == np.uint16
    assert np.array_equal(values, round_fp32_to_bf16(incoming))
    # Directed: 1 + 2**-8 is a tie (to 1.0), 1 + 2**-8 + 2**-20 rounds up.
    values, _ = write_psum(None, None, fp32([1 + 2.0 ** -8, 1 + 2.0 ** -8 + 2.0 ** -20]), BF16)
    assert values.tolist() == [0x3F80, 0x3F81]


def test_r16_rne_to_bf16_is_ieee_conversion_for_every_fp32_pattern(rng):
    """Nearest-even to BF16 on the bit pattern equals IEEE 754's conversion (ml_dtypes) for
    uniform FP32 patterns, every 7th subnormal and the rounding points below Inf; NaNs become
    the canonical BF16 NaN."""
    bits = np.concatenate([rng.integers(0, 1 << 32, 200_000, dtype=np.uint64).astype(np.uint32),
                           np.arange(0, 1 << 23, 7, dtype=np.uint32),
                           np.array([0x7F7F8000, 0x7F7F7FFF, 0xFF7F8000, 0x00008000,
                                     0x00018000, 0x80017FFF], dtype=np.uint32)])
    got = round_fp32_to_bf16(bits)
    nan = (bits & 0x7FFFFFFF) > 0x7F800000
    with np.errstate(invalid="ignore"):
        want = bits[~nan].view(np.float32).astype(ml_dtypes.bfloat16).view(np.uint16)
    assert np.array_equal(got[~nan], want)
    assert (got[nan] == BF16_CANONICAL_NAN).all()


def test_r16_bf16_accumulation_upcasts_adds_in_fp32_and_rounds_back_once():
    """stored 1.0 (BF16) + incoming 2**-8 + 2**-24 (FP32): the FP32 sum 1 + 2**-8 (R9 drops
    2**-24, a tie to even) then rounds to 1.0; rounding the incoming value to BF16 first would
    give 1 + 2**-7."""
    stored = np.array([0x3F80], np.uint16)
    values, dtype = write_psum(stored, "bf16", fp32([2.0 ** -8 + 2.0 ** -24]),
                               PsumDestination("bf16", accumulate=True))
    assert dtype == "bf16" and values.tolist() == [0x3F80]
    values, _ = write_psum(stored, "bf16", fp32([2.0 ** -8 + 2.0 ** -22]),
                           PsumDestination("bf16", accumulate=True))
    assert values.tolist() == [0x3F81]


@pytest.mark.parametrize("call, kind, message", [
    (lambda: write_psum(fp32([1.0]), "fp32", fp32([1.0]), PsumDestination("bf16", True)),
     ValueError, "Parameter 'destination' accumulates in bf16 onto PSUM elements written as "
     "fp32; accumulate in fp32 or overwrite first"),
    (lambda: write_psum(np.array([0x3F80], np.uint16), "bf16", fp32([1.0]),
                        PsumDestination("fp32", True)),
     ValueError, "Parameter 'destination' accumulates in fp32 onto PSUM elements written as "
     "bf16; accumulate in bf16 or overwrite first"),
    (lambda: write_psum(None, None, fp32([1.0]), PsumDestination("bf16", True)),
     ValueError, "Parameter 'destination' accumulates onto undefined PSUM elements; the first "
     "write to an element must overwrite"),
    (lambda: PsumDestination("fp32", rounding="sr"), ValueError,
     "Parameter 'rounding' is 'sr', which needs dtype 'bf16': an fp32 destination is not "
     "rounded again"),
    (lambda: PsumDestination("fp16"), ValueError,
     "Parameter 'dtype' must be one of fp32, bf16, not 'fp16'"),
    (lambda: PsumDestination("bf16", rounding="rtz"), ValueError,
     "Parameter 'rounding' must be one of rne, sr, not 'rtz'"),
    (lambda: PsumDestination("bf16", accumulate=1), TypeError,
     "Parameter 'accumulate' must be a bool, not 1"),
    (lambda: write_psum(None, None, fp32([[1.0], [2.0]]), BF16_SR, StochasticRoundingBits(1)),
     ValueError, "Parameter 'random_bits' must be StochasticRoundingBits with at least M = 2 "
     "lanes for rounding 'sr', not 1 lanes"),
    (lambda: write_psum(None, None, fp32([1.0]), BF16_SR), ValueError,
     "Parameter 'random_bits' must be StochasticRoundingBits with at least M = 1 lanes for "
     "rounding 'sr', not None"),
    (lambda: StochasticRoundingBits(4, seed=2 ** 32), TypeError,
     "Parameter 'seed' must be an integer in 0..4294967295, not 4294967296"),
])
def test_r16_r17_bad_input_is_refused_in_one_line(call, kind, message):
    with pytest.raises(kind) as error:
        call()
    assert str(error.value) == message


# R17: stochastic rounding --------------------------------------------------------------------

@pytest.mark.parametrize("bits, random, expected", [
    (0x3F808000, 0x7FFF, 0x3F80),      # d + r = 0xFFFF: truncated
    (0x3F808000, 0x8000, 0x3F81),      # d + r = 0x10000: rounded up
    (0xBF808000, 0x8000, 0xBF81),      # up is away from zero, the sign kept
    (0x3F800001, 0xFFFF, 0x3F81),      # the smallest d rounds up only with r = 0xFFFF
    (0x3F800001, 0xFFFE, 0x3F80),
    (0x3F800000, 0xFFFF, 0x3F80),      # exact values never move
    (0x3FFFFFFF, 0x0001, 0x4000),      # carry into the exponent
    (0x7F7FFFFF, 0x0001, 0x7F80),      # carry out of the largest finite BF16: +Inf
    (0x7F800000, 0xFFFF, 0x7F80),      # Inf stays
    (0xFF800000, 0xFFFF, 0xFF80),
    (0x7F800001, 0x0000, 0x7FC0),      # NaN: canonical BF16 NaN
    (0x80000000, 0xFFFF, 0x8000),      # zeros keep their sign
])
def test_r17_sr_adds_16_random_bits_to_the_16_dropped_bits_and_truncates(bits, random,
                                                                          expected):
    assert int(round_fp32_to_bf16_stochastic(np.array([bits], np.uint32),
                                             np.array([random], np.uint16))[0]) == expected


def _xorshift32(state, steps):
    """Marsaglia's xorshift32 (J. Stat. Software 8(14), 2003, triple 13, 17, 5) in Python ints."""
    out = []
    for _ in range(steps):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        out.append(state)
    return out


def test_r17_each_lane_is_xorshift32_and_a_draw_is_its_top_16_bits():
    # Marsaglia's paper: from y = 2463534242 the first output is 723471715.
    lane0 = 2463534242 ^ LANE_SEED_STEP
    generator = StochasticRoundingBits(3, seed=lane0)
    assert int(generator.state[0]) == 2463534242
    draws = generator.draws(50)
    assert int(draws[0, 0]) == 723471715 >> 16
    for lane in range(3):
        expected = _xorshift32(int(lane_seeds(lane0, 3)[lane]), 50)
        assert draws[:, lane].tolist() == [value >> 16 for value in expected]


def test_r17_lane_seeds_differ_and_avoid_the_zero_state():
    seeds = lane_seeds(0, 128)
    assert len(set(seeds.tolist())) == 128 and (seeds != 0).all()
    assert int(lane_seeds(LANE_SEED_STEP, 2)[0]) == LANE_SEED_STEP      # seed ^ constant = 0


def test_r17_sr_writes_are_reproduced_bit_for_bit_from_the_seed(rng):
    incoming = random_fp32(rng, (8, 64))
    first = write_psum(None, None, incoming, BF16_SR, StochasticRoundingBits(8, seed=7))[0]
    again = write_psum(None, None, incoming, BF16_SR, StochasticRoundingBits(8, seed=7))[0]
    other = write_psum(None, None, incoming, BF16_SR, StochasticRoundingBits(8, seed=8))[0]
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    # Element [m, n] used lane m's draw of beat n.
    draws = StochasticRoundingBits(8, seed=7).draws(64).T
    assert np.array_equal(first, round_fp32_to_bf16_stochastic(incoming, draws))


def test_r17_every_lane_steps_once_per_sr_beat_whatever_m_and_nothing_else_steps_it(rng):
    generator = StochasticRoundingBits(16, seed=3)
    start = generator.state
    write_psum(None, None, random_fp32(rng, (16, 5)), BF16, generator)       # RNE: no step
    write_psum(None, None, random_fp32(rng, (16, 5)), PsumDestination(), generator)
    assert np.array_equal(generator.state, start)
    write_psum(None, None, random_fp32(rng, (4, 5)), BF16_SR, generator)     # M = 4 of 16 lanes
    reference = StochasticRoundingBits(16, seed=3)
    reference.draws(5)
    assert np.array_equal(generator.state, reference.state)
    generator.reseed(3)
    assert np.array_equal(generator.state, start)


def test_r17_sr_is_unbiased_over_many_draws(rng):
    """128 FP32 values, each rounded 8192 times by its lane: the mean error in BF16 ULPs is
    within 5 standard errors of zero per value (a rounding's error has standard deviation
    <= 1/2 ULP, so 5 * 0.5 / sqrt(8192) = 0.028) and over all values (0.0025); each value rounds
    up with probability d / 2**16 within 5 standard errors. Truncation, a biased rounding,
    fails the bound."""
    lanes, beats = 128, 8192
    values = random_fp32(rng, (lanes, 1))
    incoming = np.repeat(values, beats, axis=1)
    rounded, _ = write_psum(None, None, incoming, BF16_SR, StochasticRoundingBits(lanes, 11))
    truncated = (values >> 16).astype(np.uint32)
    ulp = bf16_values(truncated + 1) - bf16_values(truncated)
    errors = (bf16_values(rounded) - decode_fp32(values)) / ulp
    per_value = errors.mean(axis=1)
    print(f"mean error: largest per value {np.abs(per_value).max():.4f} ULP (bound 0.028), "
          f"overall {errors.mean():+.5f} ULP (bound 0.0025)")
    assert np.abs(per_value).max() <= 5 * 0.5 / np.sqrt(beats)
    assert abs(errors.mean()) <= 5 * 0.5 / np.sqrt(lanes * beats)
    probability = (values & 0xFFFF).astype(np.float64)[:, 0] / 2 ** 16
    up = (rounded != truncated).mean(axis=1)
    standard_error = np.sqrt(probability * (1 - probability) / beats)
    assert (np.abs(up - probability) <= 5 * standard_error + 1e-12).all()
    truncation = ((bf16_values(truncated) - decode_fp32(values)) / ulp).mean()
    assert abs(truncation) > 5 * 0.5 / np.sqrt(lanes * beats)
