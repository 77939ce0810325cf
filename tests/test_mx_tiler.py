"""MX GEMMs through the tiler: passes of the tile's MX pass in NKI's x4 layout, their scales
stacked in K order, PSUM accumulation across passes; the tiled golden result against
``mx_matmul_fp32`` (one pass), the per-pass fold (several), the exact product's error bound and
AWS's 5e-2 band; the cycle model's steady state of 4 MACs per PE per cycle; bad input refused
in one line."""

import re

import numpy as np
import pytest

from sim_models import floats, mx
from sim_models.config import TRAINIUM2_FORMATS, TRAINIUM3_FORMATS, TileConfig
from sim_models.cycle_model import time_program
from sim_models.golden import TileModel
from sim_models.program import LoadStationary, MatmulFormat, MultiplyMoving
from sim_models.stimulus import random_gemm
from sim_models.tiler import pass_rows, tile_gemm
from tb.scenarios import Scenario, check_reference
from tests.float_samples import rng  # noqa: F401
from tests.test_mx import MX_PAIRS

#: Small MX tiles: 8 rows (pass 4R = 32), 32 rows (pass 128, NKI's multiple), 40 rows (4R =
#: 160, pass 128: the largest multiple of 128 in it) and 64 rows (pass 256).
TILE_8 = TileConfig(8, 4, psum_banks=2, psum_depth=8, formats=TRAINIUM3_FORMATS)
TILE_32 = TileConfig(32, 3, psum_banks=3, psum_depth=5, formats=TRAINIUM3_FORMATS)
TILE_40 = TileConfig(40, 2, psum_banks=1, psum_depth=4, formats=TRAINIUM3_FORMATS)
TILE_64 = TileConfig(64, 2, formats=TRAINIUM3_FORMATS)


def _mx(stationary, moving):
    return MatmulFormat(stationary, moving, mx=True)


def _golden(config, gemm):
    return gemm.tiled.assemble(TileModel(config).execute(gemm.tiled.program))


def _passes(config, gemm, matmul_format):
    """Per pass of the GEMM: its stationary, moving and their scales (slices in K order)."""
    k = gemm.stationary.shape[0]
    step = pass_rows(config, matmul_format)
    for start in range(0, k, step):
        rows, groups = slice(start, start + step), slice(start // 32, (start + step) // 32)
        yield (gemm.stationary[rows], gemm.moving[rows], gemm.stationary_scale[groups],
               gemm.moving_scale[groups])


@pytest.mark.parametrize("config, expected", [(TILE_8, 32), (TILE_32, 128), (TILE_40, 128),
                                              (TILE_64, 256)], ids=lambda x: str(x))
def test_an_mx_pass_is_the_largest_multiple_of_the_tiles_k_multiple_in_4r(config, expected):
    assert pass_rows(config, _mx("fp8_e4m3fn", "fp8_e4m3fn")) == expected


@pytest.mark.parametrize("stationary_format, moving_format", MX_PAIRS)
def test_one_pass_equals_mx_matmul_fp32(rng, stationary_format, moving_format):
    """A GEMM of one pass (K = 4R) wider than the tile and its bank: every block is the golden
    MX matmul of its columns, so the assembled result equals ``mx_matmul_fp32`` of the GEMM."""
    matmul_format = _mx(stationary_format, moving_format)
    gemm = random_gemm(TILE_8, (9, 32, 19), rng, matmul_format)
    expected = mx.mx_matmul_fp32(gemm.stationary, gemm.moving, gemm.stationary_scale,
                                 gemm.moving_scale, stationary_format, moving_format,
                                 k_multiple=TILE_8.mx_k_multiple)
    np.testing.assert_array_equal(_golden(TILE_8, gemm), expected)


@pytest.mark.parametrize("config, shape, matmul_format", [
    (TILE_8, (5, 96, 11), _mx("fp8_e4m3fn", "fp4_e2m1")),
    (TILE_8, (4, 64, 8), _mx("fp8_e5m2", "fp8_e5m2")),
    (TILE_32, (7, 384, 12), _mx("fp4_e2m1", "fp8_e5m2")),
    (TILE_40, (3, 256, 9), _mx("fp8_e4m3fn", "fp8_e4m3fn")),
    (TILE_64, (2, 384, 3), _mx("fp4_e2m1", "fp4_e2m1")),
], ids=lambda x: getattr(x, "name", str(x)))
def test_passes_accumulate_in_psum_as_the_tile_does(rng, config, shape, matmul_format):
    """Several passes (the last shorter on 64 rows): the result is each pass's
    ``mx_matmul_fp32`` accumulated in FP32 under R9 (``floats.accumulate_fp32``), bit for bit;
    it lies within the error bound of the exact product and inside AWS's 5e-2 band around the
    passes' AWS references summed in float32."""
    gemm = random_gemm(config, shape, rng, matmul_format)
    folded, aws = None, np.float32(0)
    for stationary, moving, stationary_scale, moving_scale in _passes(config, gemm,
                                                                       matmul_format):
        arguments = (stationary, moving, stationary_scale, moving_scale,
                     matmul_format.stationary, matmul_format.moving)
        part = mx.mx_matmul_fp32(*arguments, k_multiple=config.mx_k_multiple)
        folded = part if folded is None else floats.accumulate_fp32(folded, part)
        if stationary.shape[0] % mx.K_MULTIPLE == 0:
            aws = aws + mx.aws_reference(*arguments)
    out = _golden(config, gemm)
    np.testing.assert_array_equal(out, folded)
    check_reference(config, Scenario(gemm.name, gemm.tiled.program, gemm.tiled, gemm.operands,
                                     matmul_format), out)
    if config.rows >= 32:   # AWS's reference takes NKI's K, a multiple of 128 per pass
        assert mx.aws_band(out, aws).all()


def test_program_is_one_mx_load_and_multiply_per_pass_with_its_scale_rows(rng):
    matmul_format = _mx("fp8_e4m3fn", "fp8_e5m2")
    gemm = random_gemm(TILE_8, (6, 96, 10), rng, matmul_format)
    loads = [op for op in gemm.tiled.program if isinstance(op, LoadStationary)]
    multiplies = [op for op in gemm.tiled.program if isinstance(op, MultiplyMoving)]
    # Blocks: ceil(6 / 4) x ceil(10 / 8) = 4, each of 96 / 32 = 3 passes.
    assert len(loads) == len(multiplies) == 4 * 3
    for index, (load, multiply) in enumerate(zip(loads, multiplies)):
        tile = gemm.tiled.tiles[index // 3]
        group = index % 3
        assert (load.mx, multiply.mx, load.beats, multiply.accumulate) == \
            (True, True, TILE_8.rows, group > 0)
        np.testing.assert_array_equal(load.scale, gemm.stationary_scale[group:group + 1,
                                                                        tile.rows])
        np.testing.assert_array_equal(multiply.scale, gemm.moving_scale[group:group + 1,
                                                                        tile.cols])
        np.testing.assert_array_equal(multiply.moving,
                                      gemm.moving[32 * group:32 * group + 32, tile.cols])


def test_steady_state_is_4_macs_per_pe_per_cycle_in_the_cycle_model(rng):
    """The benchmark's GEMM shape (M = C, 8 passes, N = 512) on the 8 x 8 MX tile: between the
    first beat of the second multiply and the last of the second-to-last, 4 R x C MACs a
    cycle."""
    config = TileConfig(8, 8, formats=TRAINIUM3_FORMATS)
    gemm = random_gemm(config, (8, 8 * 32, 512), rng, _mx("fp8_e4m3fn", "fp8_e4m3fn"))
    multiplies = [op for op in time_program(config, gemm.tiled.program).operations
                  if op.kind == "multiply"][1:-1]
    cycles = multiplies[-1].last_beat - multiplies[0].first_beat + 1
    assert sum(op.macs for op in multiplies) / (config.rows * config.cols * cycles) == 4.0


_CODES = np.zeros((32, 2), np.uint8)
_SCALES = np.full((1, 2), 127, np.uint8)


@pytest.mark.parametrize("config, operands, matmul_format, message", [
    (TILE_8, (np.zeros((48, 2), np.uint8), np.zeros((48, 2), np.uint8), _SCALES, _SCALES),
     _mx("fp8_e4m3fn", "fp8_e4m3fn"),
     "Parameter 'K' (rows of 'stationary' and 'moving') is 48: MX mode needs K a multiple of 32 "
     "(a tile of fewer than 32 rows takes all 8 of its partitions, each partition an x4 word); "
     "zero-pad the contraction with zero elements and finite scales, as NKI requires"),
    (TILE_32, (_CODES, _CODES, _SCALES, _SCALES), _mx("fp8_e4m3fn", "fp8_e4m3fn"),
     "Parameter 'K' (rows of 'stationary' and 'moving') is 32: MX mode needs K a multiple of "
     "128 (NKI's nc_matmul_mx takes a partition dimension that is a multiple of 32, each "
     "partition an x4 word); zero-pad the contraction with zero elements and finite scales, "
     "as NKI requires"),
    (TILE_8, (_CODES, _CODES, None, _SCALES), _mx("fp8_e4m3fn", "fp8_e4m3fn"),
     "Parameter 'stationary_scale': 'scale' is missing; an MX operation takes E8M0 block "
     "scales of shape (K/32, 2)"),
    (TILE_8, (_CODES, _CODES, _SCALES, np.full((2, 2), 127, np.uint8)),
     _mx("fp8_e4m3fn", "fp8_e4m3fn"),
     "Parameter 'moving_scale': Parameter 'scale' must have shape (K/32, 2) = (1, 2), one E8M0 "
     "scale per group of 8 partitions x 4 elements, not (2, 2)"),
    (TILE_8, (_CODES, _CODES, _SCALES, None), MatmulFormat("fp8_e5m2", "fp8_e5m2"),
     "Parameter 'stationary_scale': 'scale' is given, but only MX operations take block scales "
     "('mx' is False)"),
    (TileConfig(8, 4, formats=TRAINIUM2_FORMATS), (_CODES, _CODES, _SCALES, _SCALES),
     _mx("fp8_e5m2", "fp8_e5m2"),
     "Parameter 'matmul_format' (stationary): 'mx' is True, but tile "),
])
def test_bad_mx_gemms_are_refused_in_one_line(config, operands, matmul_format, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)) as error:
        tile_gemm(config, operands[0], operands[1], matmul_format, *operands[2:])
    assert "\n" not in str(error.value)
