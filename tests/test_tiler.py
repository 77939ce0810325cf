"""Tests of the GEMM tiler: results through the golden model, the schedule and its errors."""

import math
import re

import numpy as np
import pytest

from sim_models import floats
from sim_models.config import TRAINIUM2_FORMATS, TileConfig
from sim_models.golden import TileModel
from sim_models.program import LoadStationary, MatmulFormat, MultiplyMoving, ReadPsum
from sim_models.stimulus import random_operand
from sim_models.tiler import tile_gemm
from tb.regression import SEED, rerun_command

CONFIGS = [
    TileConfig(rows=1, cols=1, psum_banks=1, psum_depth=1),
    TileConfig(rows=2, cols=3, psum_banks=2, psum_depth=3),
    TileConfig(rows=4, cols=4, psum_banks=3, psum_depth=5),
    TileConfig(rows=4, cols=4, psum_banks=1, psum_depth=4),
    TileConfig(rows=8, cols=16),
]
#: GEMM shapes (M, K, N): multiples of some arrays, and neither multiples nor smaller.
SHAPES = [(1, 1, 1), (3, 5, 7), (4, 4, 4), (9, 10, 11), (17, 2, 13)]


@pytest.fixture
def rng(request):
    """Generator of the run's seed (SEED, :mod:`tb.regression`) mixed with the test's name."""
    print(f"seed {SEED}; rerun: {rerun_command(request)}")
    return np.random.default_rng([SEED, *request.node.name.encode()])


def reference(stationary, moving):
    """``stationary^T @ moving`` in int64, its low 32 bits read as int32."""
    exact = stationary.T.astype(np.int64) @ moving.astype(np.int64)
    return np.mod(exact, 2**32).astype(np.uint32).view(np.int32)


def run(config, stationary, moving):
    """Tile the GEMM, execute it on the golden model and return the tiling and its output."""
    gemm = tile_gemm(config, stationary, moving)
    return gemm, gemm.assemble(TileModel(config).execute(gemm.program))


def raises(error, message):
    """``pytest.raises`` that pins the whole message."""
    return pytest.raises(error, match=rf"^{re.escape(message)}$")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda config: config.name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_random_gemm(config, shape, rng):
    """The golden model, which raises on reads or accumulations of undefined PSUM, agrees."""
    m, k, n = shape
    stationary = rng.integers(-128, 128, (k, m), np.int8)
    moving = rng.integers(-128, 128, (k, n), np.int8)
    gemm, out = run(config, stationary, moving)
    assert out.dtype == np.int32 and out.shape == (m, n)
    np.testing.assert_array_equal(out, reference(stationary, moving))
    assert gemm.shape == shape and gemm.macs == m * k * n


@pytest.mark.parametrize("moving_value", [-128, 127])
def test_wraps_like_int32(moving_value):
    """All -128 stationary: K = 140000 (1094 chunks of 128) passes the int32 range and wraps."""
    config = TileConfig(rows=128, cols=2, psum_banks=2, psum_depth=1)
    stationary = np.full((140_000, 3), -128, np.int8)
    moving = np.full((140_000, 1), moving_value, np.int8)
    _, out = run(config, stationary, moving)
    assert not -2**31 <= 140_000 * -128 * moving_value < 2**31
    np.testing.assert_array_equal(out, reference(stationary, moving))


def notation(program):
    """Program as words: ``L<k>x<m>``, ``M<bank>=<k>x<n>`` (``+`` instead of ``=`` when
    accumulating) and ``R<bank>:<m>x<n>``."""
    def word(op):
        if isinstance(op, LoadStationary):
            return f"L{op.k}x{op.m}"
        if isinstance(op, MultiplyMoving):
            return f"M{op.bank}{'+' if op.accumulate else '='}{op.k}x{op.n}"
        return f"R{op.bank}:{op.m}x{op.n}"
    return " ".join(map(word, program))


@pytest.mark.parametrize("banks, expected", [
    (1, "L2x2 M0=2x2 L1x2 M0+1x2 R0:2x2  L2x2 M0=2x1 L1x2 M0+1x1 R0:2x1  "
        "L2x1 M0=2x2 L1x1 M0+1x2 R0:1x2  L2x1 M0=2x1 L1x1 M0+1x1 R0:1x1"),
    (2, "L2x2 M0=2x2 L1x2 M0+1x2  L2x2 M1=2x1 R0:2x2 L1x2 M1+1x1  "
        "L2x1 M0=2x2 R1:2x1 L1x1 M0+1x2  L2x1 M1=2x1 R0:1x2 L1x1 M1+1x1 R1:1x1"),
])
def test_program(banks, expected):
    """M = K = N = 3 on a 2 x 2 array of depth 2: blocks of 2 and 1 in every dimension."""
    config = TileConfig(rows=2, cols=2, psum_banks=banks, psum_depth=2)
    gemm = tile_gemm(config, np.ones((3, 3), np.int8), np.ones((3, 3), np.int8))
    assert notation(gemm.program) == " ".join(expected.split())
    assert [(tile.rows, tile.cols, tile.bank) for tile in gemm.tiles] == [
        (slice(0, 2), slice(0, 2), 0), (slice(0, 2), slice(2, 3), 1 % banks),
        (slice(2, 3), slice(0, 2), 0), (slice(2, 3), slice(2, 3), 1 % banks)]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda config: config.name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_schedule(config, shape):
    """Bank round-robin, ReadPsum placement, and every read after its block's last chunk."""
    m, k, n = shape
    gemm = tile_gemm(config, np.zeros((k, m), np.int8), np.zeros((k, n), np.int8))
    program = gemm.program
    multiplies, reads = [], []  # program indices: of each block's MultiplyMovings, of ReadPsums
    for index, op in enumerate(program):
        if isinstance(op, MultiplyMoving):
            assert isinstance(program[index - 1], LoadStationary)
            if not op.accumulate:
                multiplies.append([])
            multiplies[-1].append(index)
        elif isinstance(op, ReadPsum):
            reads.append(index)
    assert len(multiplies) == len(reads) == len(gemm.tiles) == \
        math.ceil(m / config.cols) * math.ceil(n / config.psum_depth)
    for block, (tile, indices, read) in enumerate(zip(gemm.tiles, multiplies, reads)):
        assert tile.bank == block % config.psum_banks
        assert len(indices) == math.ceil(k / config.rows)
        assert all(program[index].bank == tile.bank for index in indices)
        op = program[read]
        assert (op.bank, op.m, op.n) == (tile.bank, tile.m, tile.n)
        if config.psum_banks == 1:
            assert read == indices[-1] + 1
        elif block + 1 < len(gemm.tiles):
            assert read == multiplies[block + 1][0] + 1
        else:
            assert read == len(program) - 1
        # No other MultiplyMoving writes the bank between the block's last chunk and its read.
        assert read > indices[-1]
        assert all(program[index].bank != tile.bank for index in range(indices[-1] + 1, read)
                   if isinstance(program[index], MultiplyMoving))


STATIONARY = np.zeros((4, 3), np.int8)
MOVING = np.zeros((4, 2), np.int8)


@pytest.mark.parametrize("config, stationary, moving, error, message", [
    ("r4c4", STATIONARY, MOVING, TypeError,
     "Parameter 'config' must be a TileConfig, not 'r4c4'"),
    (CONFIGS[2], [[1]], MOVING, TypeError,
     "Parameter 'stationary' must be a numpy array, not list"),
    (CONFIGS[2], STATIONARY.astype(np.float64), MOVING, TypeError,
     "Parameter 'stationary' must have dtype int8, not float64"),
    (CONFIGS[2], STATIONARY, np.zeros(4, np.int8), TypeError,
     "Parameter 'moving' must be 2-D, not of shape (4,)"),
    (CONFIGS[2], np.zeros((0, 3), np.int8), MOVING, TypeError,
     "Parameter 'stationary' must have no empty dimension, not shape (0, 3)"),
    (CONFIGS[2], STATIONARY, np.zeros((4, 0), np.int8), TypeError,
     "Parameter 'moving' must have no empty dimension, not shape (4, 0)"),
    (CONFIGS[2], STATIONARY, np.zeros((5, 2), np.int8), ValueError,
     "Parameter 'moving' must have as many rows (K) as 'stationary', 4, not 5"),
])
def test_tile_gemm_error(config, stationary, moving, error, message):
    with raises(error, message):
        tile_gemm(config, stationary, moving)


@pytest.mark.parametrize("cut, message", [
    (lambda results: results[:1],
     "Parameter 'read_results' must hold 2 arrays, one per ReadPsum, not 1"),
    (lambda results: [results[0], results[0]],
     "Parameter 'read_results' item 1 must have shape (1, 2), not (2, 2)"),
])
def test_assemble_error(cut, message):
    """M = 3 on 2 columns: blocks of 2 x 2 and 1 x 2."""
    config = TileConfig(rows=2, cols=2, psum_banks=2, psum_depth=2)
    gemm = tile_gemm(config, np.ones((2, 3), np.int8), np.ones((2, 2), np.int8))
    results = TileModel(config).execute(gemm.program)
    with raises(ValueError, message):
        gemm.assemble(cut(results))


FLOAT_CONFIG = TileConfig(rows=3, cols=2, psum_banks=2, psum_depth=4, formats=TRAINIUM2_FORMATS)
#: Formats of the float GEMMs: each format, mixed formats, and FP8 double-row.
MATMUL_FORMATS = [MatmulFormat(name, name) for name in TRAINIUM2_FORMATS] + [
    MatmulFormat("bf16", "fp8_e5m2"), MatmulFormat("fp8_e4m3", "fp8_e5m2", double_row=True),
    MatmulFormat("fp8_e4m3", "fp8_e4m3", double_row=True)]


def float_reference(stationary, moving, matmul_format, chunk):
    """What the tiled GEMM computes: ``matmul_fp32`` of each K chunk of ``chunk`` rows (an odd
    double-row chunk zero-padded by a row),
    accumulated in order with ``accumulate_fp32``."""
    out = None
    for start in range(0, stationary.shape[0], chunk):
        operands = stationary[start:start + chunk], moving[start:start + chunk]
        if matmul_format.double_row and len(operands[0]) % 2:   # NKI's zero padding
            operands = [np.pad(operand, ((0, 1), (0, 0))) for operand in operands]
        part = floats.matmul_fp32(*operands, matmul_format.stationary, matmul_format.moving,
                                  matmul_format.double_row)
        out = part if out is None else floats.accumulate_fp32(out, part)
    return out


@pytest.mark.parametrize("matmul_format", MATMUL_FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_random_float_gemm(matmul_format, shape, rng):
    """Every shape in every format: K chunks of R (2R in double-row), blocks of C x depth."""
    m, k, n = shape
    stationary = random_operand(rng, matmul_format.stationary, (k, m))
    moving = random_operand(rng, matmul_format.moving, (k, n))
    gemm = tile_gemm(FLOAT_CONFIG, stationary, moving, matmul_format)
    out = gemm.assemble(TileModel(FLOAT_CONFIG).execute(gemm.program))
    assert out.dtype == np.uint32 and out.shape == (m, n)
    chunk = FLOAT_CONFIG.rows * matmul_format.rows_per_pe
    np.testing.assert_array_equal(out, float_reference(stationary, moving, matmul_format, chunk))
    loads = [op for op in gemm.program if isinstance(op, LoadStationary)]
    assert len(loads) == math.ceil(m / 2) * math.ceil(n / 4) * math.ceil(k / chunk)
    assert all((op.format, op.double_row) == (matmul_format.stationary, matmul_format.double_row)
               for op in loads)


@pytest.mark.parametrize("matmul_format, message", [
    ("bf16", "Parameter 'matmul_format' must be a MatmulFormat, not 'bf16'"),
    (MatmulFormat("bf16", "bf16", double_row=True),
     "Parameter 'matmul_format' (stationary): 'double_row' is True, which needs an FP8 format "
     "(fp8_e4m3, fp8_e5m2), not 'bf16'"),
    (MatmulFormat("bf16", "int8"),
     "Parameter 'matmul_format' (moving): 'format' is 'int8', which tile "
     "r3c2_b2d4_bf16_fp16_fp8e4m3_fp8e5m2 was not built with (its formats: bf16, fp16, "
     "fp8_e4m3, fp8_e5m2)"),
    (MatmulFormat("fp8_e5m2", "fp8_e5m2", mx=True),
     "Parameter 'matmul_format' (stationary): 'mx' is True, but tile "
     "r3c2_b2d4_bf16_fp16_fp8e4m3_fp8e5m2 has no MX format (fp8_e4m3fn or fp4_e2m1; e.g. "
     "FORMATS=trainium3)"),
])
def test_tile_gemm_format_error(matmul_format, message):
    with pytest.raises((TypeError, ValueError), match=rf"^{re.escape(message)}$"):
        tile_gemm(FLOAT_CONFIG, np.zeros((3, 2), np.uint16), np.zeros((3, 2), np.uint16),
                  matmul_format)
