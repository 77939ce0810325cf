"""MX mode of the tile's models: the golden tile model's MX multiplies and accumulations equal
an independent exact-rational model of R13 and R9, in every element-format pair, and compose
with BF16 PSUM; bad MX input is refused
in one line; the cycle model counts an MX load as K/4 beats and an MX moving beat as 4R MACs
per column; the stream packer puts x4 words and scales where ``hdl.isa`` says."""

import re
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from hdl.isa import moving_layout, stationary_layout
from sim_models import floats
from sim_models.config import TRAINIUM2_FORMATS, TRAINIUM3_FORMATS, TileConfig
from sim_models.cycle_model import time_program
from sim_models.golden import TileModel
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum
from tb.program_packer import ProgramPacker
from tb.streams import unpack
from tests.float_samples import rng  # noqa: F401
from tests.test_mx import MX_PAIRS, stepwise

CONFIG = TileConfig(8, 4, psum_banks=16, psum_depth=8, formats=TRAINIUM3_FORMATS)
K = 32


def _operands(rng, stationary_format, moving_format, n=3):
    def codes(name, columns):
        finite = np.arange(1 << floats.ENCODINGS[name].bits)
        finite = finite[np.isfinite(floats.decode(finite, name))]
        return rng.choice(finite, (K, columns)).astype(np.uint8)
    scales = [rng.integers(120, 135, (K // 32, columns), dtype=np.uint8)
              for columns in (CONFIG.cols, n)]
    return codes(stationary_format, CONFIG.cols), codes(moving_format, n), *scales


def _accumulated(stored, incoming):
    """R9 from its text, with exact rationals: RNE_fp32(stored + incoming), R8 for zeros
    (finite FP32 bits [M, N] in and out)."""
    result = np.empty_like(stored)
    for index, (a, b) in enumerate(zip(floats.decode_fp32(stored).flat,
                                       floats.decode_fp32(incoming).flat)):
        exact = Fraction(a) + Fraction(b)
        value = (-0.0 if np.signbit(a) and np.signbit(b) else 0.0) if exact == 0 \
            else floats.round_fp32(exact)
        result.flat[index] = np.float32(value).view(np.uint32)
    return result


@pytest.mark.parametrize("stationary_format, moving_format", MX_PAIRS)
def test_mx_multiply_and_accumulation_equal_the_exact_step_by_step_model(
        rng, stationary_format, moving_format):
    """A load, an MX multiply overwriting a bank and one accumulating onto it: every element
    equals the independent exact-rational model of R13 (``tests.test_mx.stepwise``) and R9."""
    stationary, moving, stationary_scale, moving_scale = _operands(rng, stationary_format,
                                                                   moving_format)
    second = moving[::-1].copy()
    program = [LoadStationary(stationary, stationary_format, mx=True, scale=stationary_scale),
               MultiplyMoving(moving, 1, False, moving_format, mx=True, scale=moving_scale),
               ReadPsum(1, CONFIG.cols, moving.shape[1]),
               MultiplyMoving(second, 1, True, moving_format, mx=True, scale=moving_scale),
               ReadPsum(1, CONFIG.cols, moving.shape[1])]
    first_sums = stepwise(stationary, moving, stationary_scale, moving_scale, stationary_format,
                          moving_format)
    second_sums = stepwise(stationary, second, stationary_scale, moving_scale,
                           stationary_format, moving_format)
    once, twice = TileModel(CONFIG).execute(program)
    assert np.array_equal(once, first_sums)
    assert np.array_equal(twice, _accumulated(first_sums, second_sums))


def test_mx_multiply_writes_bf16_psum_on_a_tile_with_both_options(rng):
    """MX and BF16 PSUM compose: the MX column sums (exact model) rounded to BF16 to nearest
    even (ml_dtypes' conversion), held in the low half of the PSUM word."""
    config = TileConfig(8, 4, psum_banks=2, psum_depth=8, formats=TRAINIUM3_FORMATS,
                        bf16_psum=True)
    stationary, moving, stationary_scale, moving_scale = _operands(rng, "fp8_e4m3fn",
                                                                   "fp4_e2m1")
    read, = TileModel(config).execute([
        LoadStationary(stationary, "fp8_e4m3fn", mx=True, scale=stationary_scale),
        MultiplyMoving(moving, 0, False, "fp4_e2m1", psum_dtype="bf16", mx=True,
                       scale=moving_scale),
        ReadPsum(0, config.cols, moving.shape[1])])
    sums = stepwise(stationary, moving, stationary_scale, moving_scale, "fp8_e4m3fn",
                    "fp4_e2m1").view(np.float32)
    assert np.array_equal(read, sums.astype(ml_dtypes.bfloat16).view(np.uint16))


def _load(**changes):
    fields = dict(stationary=np.zeros((K, 4), np.uint8), format="fp8_e4m3fn", mx=True,
                  scale=np.full((1, 4), 127, np.uint8))
    fields.update(changes)
    return LoadStationary(**fields)


@pytest.mark.parametrize("config, program, message", [
    (TileConfig(8, 4, formats=TRAINIUM2_FORMATS), [_load(format="fp8_e5m2")],
     "Operation 0 (LoadStationary): 'mx' is True, but tile r8c4_bf16_fp16_fp8e4m3_fp8e5m2 has no "
     "MX format"),
    (CONFIG, [_load(scale=np.full((1, 3), 127, np.uint8))],
     "Operation 0 (LoadStationary): Parameter 'scale' must have shape (K/32, 4) = (1, 4)"),
    (CONFIG, [_load(scale=None)], "Operation 0 (LoadStationary): 'scale' is missing"),
    (CONFIG, [_load(stationary=np.zeros((16, 4), np.uint8))],
     "Operation 0 (LoadStationary): K (rows of 'stationary') is 16: MX mode needs K a "
     "multiple of 32"),
    (CONFIG, [_load(mx=False, scale=None)],
     "Operation 0 (LoadStationary): 'format' 'fp8_e4m3fn' is an MX element format, which only "
     "MX operations take"),
    (CONFIG, [_load(mx=False)], "Operation 0 (LoadStationary): 'format' 'fp8_e4m3fn' is an MX "
                                "element format"),
    (CONFIG, [_load(format="bf16", stationary=np.zeros((K, 4), np.uint16))],
     "Operation 0 (LoadStationary): 'mx' is True, which needs an MX element format"),
    (TileConfig(64, 4, formats=TRAINIUM3_FORMATS),
     [_load(format="fp8_e5m2", stationary=np.zeros((128, 4), np.uint8),
            scale=np.full((4, 4), 127, np.uint8)),
      MultiplyMoving(np.zeros((128, 2), np.uint8), 0, False, "fp8_e5m2", double_row=True)],
     "Operation 1 (MultiplyMoving): 'mx' must equal the loaded stationary's, True, not False"),
])
def test_bad_mx_input_is_refused_in_one_line(config, program, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)) as error:
        TileModel(config).execute(program)
    assert "\n" not in str(error.value)


def test_cycle_model_counts_an_mx_load_as_k_over_4_beats_and_4r_macs_per_moving_beat(rng):
    stationary, moving, stationary_scale, moving_scale = _operands(rng, "fp8_e4m3fn",
                                                                   "fp8_e4m3fn", n=8)
    program = [LoadStationary(stationary, "fp8_e4m3fn", mx=True, scale=stationary_scale),
               MultiplyMoving(moving, 0, False, "fp8_e4m3fn", mx=True, scale=moving_scale)]
    load, multiply = time_program(CONFIG, program).operations
    assert load.beats == K // 4 == CONFIG.rows
    assert multiply.macs == 4 * CONFIG.rows * CONFIG.cols * multiply.beats
    assert time_program(CONFIG, program).peak_macs_per_cycle == 4 * CONFIG.rows * CONFIG.cols


def test_packer_puts_x4_words_nibbles_and_scales_where_the_layouts_say(rng):
    """Lane p of an MX beat holds contraction indices p + qK/4 in byte q (nibble q for E2M1);
    a stationary lane its row's group scale, a moving beat its column's group scales."""
    stationary, moving, stationary_scale, moving_scale = _operands(rng, "fp8_e5m2", "fp4_e2m1")
    program = [LoadStationary(stationary, "fp8_e5m2", mx=True, scale=stationary_scale),
               MultiplyMoving(moving, 0, False, "fp4_e2m1", mx=True, scale=moving_scale)]
    beats = ProgramPacker(CONFIG).beats(program)
    assert len(beats.stationary) == K // 4 and len(beats.moving) == moving.shape[1]
    for row, beat in enumerate(beats.stationary):
        for col, lane in enumerate(unpack(stationary_layout(CONFIG), beat)):
            assert lane["value"] == sum(int(stationary[row + q * K // 4, col]) << 8 * q
                                        for q in range(4))
            assert lane["scale"] == stationary_scale[row // 8, col]
    for column, beat in enumerate(beats.moving):
        fields = unpack(moving_layout(CONFIG), beat)
        assert fields["lanes"] == [sum(int(moving[row + q * K // 4, column]) << 4 * q
                                       for q in range(4)) for row in range(CONFIG.rows)]
        assert fields["scales"] == [moving_scale[0, column]]
