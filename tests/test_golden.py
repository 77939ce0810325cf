"""Tests of the golden tile model: directed arithmetic, PSUM state and every error it raises."""

import re
from itertools import product

import ml_dtypes
import numpy as np
import pytest

from sim_models import floats
from sim_models.config import TileConfig
from sim_models.golden import TileModel
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum

#: R = 4, C = 3: not square, so that a transposed operand cannot pass.
CONFIG = TileConfig(rows=4, cols=3, psum_banks=2, psum_depth=5)

#: Moving operand [K = 4, N = 5] with distinct values, including both int8 extremes.
MOVING = np.array([[-128, -100, -7, 0, 1],
                   [2, 3, 5, 8, 13],
                   [21, 34, 55, 89, 127],
                   [-1, -2, -3, -4, -5]], dtype=np.int8)


def exact(stationary, moving):
    """``stationary^T @ moving`` in int64, for operands too small to overflow int32."""
    return stationary.T.astype(np.int64) @ moving.astype(np.int64)


def raises(error, message):
    """``pytest.raises`` that pins the whole message."""
    return pytest.raises(error, match=rf"^{re.escape(message)}$")


def load(k=4, m=3, value=0):
    return LoadStationary(np.full((k, m), value, np.int8))


def multiply(k=4, n=5, bank=0, accumulate=False):
    return MultiplyMoving(np.zeros((k, n), np.int8), bank, accumulate)


def test_identity():
    stationary = np.eye(4, 3, dtype=np.int8)
    [out] = TileModel(CONFIG).execute([LoadStationary(stationary),
                                       MultiplyMoving(MOVING, 1, False), ReadPsum(1, 3, 5)])
    assert out.dtype == np.int32 and out.shape == (3, 5)
    np.testing.assert_array_equal(out, MOVING[:3])


def test_zeros():
    [out] = TileModel(CONFIG).execute([load(), MultiplyMoving(MOVING, 0, False),
                                       ReadPsum(0, 3, 5)])
    np.testing.assert_array_equal(out, np.zeros((3, 5)))


@pytest.mark.parametrize("k, m", list(product(range(4), range(3))))
def test_one_hot(k, m):
    """A single -128 at [k, m] of the stationary scales moving row k into result row m."""
    stationary = np.zeros((4, 3), np.int8)
    stationary[k, m] = -128
    [out] = TileModel(CONFIG).execute([LoadStationary(stationary),
                                       MultiplyMoving(MOVING, 0, False), ReadPsum(0, 3, 5)])
    expected = np.zeros((3, 5), np.int64)
    expected[m] = -128 * MOVING[k].astype(np.int64)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("moving_value", [-128, 127])
def test_accumulation_wraps_like_int32(moving_value):
    """All -128 stationary: 1100 accumulated K-chunks of 128 pass the int32 range and wrap."""
    config = TileConfig(rows=128, cols=2, psum_banks=1, psum_depth=3)
    chunks = 1100
    moving = np.full((128, 3), moving_value, np.int8)
    program = [load(128, 2, -128), *(MultiplyMoving(moving, 0, chunk > 0)
                                     for chunk in range(chunks)), ReadPsum(0, 2, 3)]
    [out] = TileModel(config).execute(program)
    total = chunks * 128 * -128 * moving_value
    assert not -2**31 <= total < 2**31
    wrapped = int.from_bytes((total % 2**32).to_bytes(4, "little"), "little", signed=True)
    np.testing.assert_array_equal(out, np.full((2, 3), wrapped))


def test_overwrite_and_accumulate():
    stationary = MOVING[:, :3].copy()
    first, second, third = MOVING, MOVING[::-1].copy(), -MOVING[:, ::-1]
    outs = TileModel(CONFIG).execute([
        LoadStationary(stationary),
        MultiplyMoving(first, 0, False), ReadPsum(0, 3, 5),
        MultiplyMoving(second, 0, True), ReadPsum(0, 3, 5),
        MultiplyMoving(third, 0, False), ReadPsum(0, 3, 5),
    ])
    expected = [exact(stationary, first), exact(stationary, first) + exact(stationary, second),
                exact(stationary, third)]
    for out, want in zip(outs, expected, strict=True):
        np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("accumulate", [False, True])
def test_partial_write_leaves_the_rest_untouched(accumulate):
    """A 2 x 3 write into bank 0 changes only rows 0..1, columns 0..2 of bank 0."""
    stationary = MOVING[:, 2:].copy()
    small = MOVING[:, 1:4].copy()
    model = TileModel(CONFIG)
    before = model.execute([LoadStationary(stationary), MultiplyMoving(MOVING, 0, False),
                            MultiplyMoving(-MOVING, 1, False),
                            ReadPsum(0, 3, 5), ReadPsum(1, 3, 5)])
    after = model.execute([LoadStationary(stationary[:, :2].copy()),
                           MultiplyMoving(small, 0, accumulate),
                           ReadPsum(0, 3, 5), ReadPsum(1, 3, 5)])
    expected = [before[0].astype(np.int64), before[1]]
    written = exact(stationary[:, :2], small)
    expected[0][:2, :3] = (expected[0][:2, :3] + written) if accumulate else written
    for out, want in zip(after, expected, strict=True):
        np.testing.assert_array_equal(out, want)


def test_state_persists_between_executes():
    model = TileModel(CONFIG)
    model.execute([LoadStationary(MOVING[:, :3].copy()), MultiplyMoving(MOVING, 1, False)])
    [out] = model.execute([MultiplyMoving(MOVING, 1, True), ReadPsum(1, 3, 5)])
    np.testing.assert_array_equal(out, 2 * exact(MOVING[:, :3], MOVING))


UNDEFINED = "which is undefined (not written since the start or the last reset)"
NOT_LOADED = ("no stationary operand is loaded; a LoadStationary must come first after the "
              "start and after every reset")


def test_reset_unloads_and_undefines():
    model = TileModel(CONFIG)
    model.execute([load(), multiply(), ReadPsum(0, 3, 5)])
    model.reset()
    with raises(ValueError, f"Operation 0 (ReadPsum): 'm' = 1 and 'n' = 1 cover psum[0][0, 0], "
                f"{UNDEFINED}"):
        model.execute([ReadPsum(0, 1, 1)])
    with raises(ValueError, f"Operation 0 (MultiplyMoving): {NOT_LOADED}"):
        model.execute([multiply()])


ERRORS = [
    pytest.param([load(), "read"], TypeError,
                 "Operation 1 must be a LoadStationary, MultiplyMoving, ReadPsum, "
                 "ReseedRounding or LoadFp4Table, not 'read'",
                 id="not-an-operation"),
    pytest.param([LoadStationary([[1]])], TypeError,
                 "Operation 0 (LoadStationary): 'stationary' must be a numpy array, not list",
                 id="stationary-type"),
    pytest.param([LoadStationary(np.zeros((4, 3), np.int16))], TypeError,
                 "Operation 0 (LoadStationary): 'stationary' must have dtype int8, not int16",
                 id="stationary-dtype"),
    pytest.param([LoadStationary(np.zeros(3, np.int8))], TypeError,
                 "Operation 0 (LoadStationary): 'stationary' must be 2-D, not of shape (3,)",
                 id="stationary-ndim"),
    pytest.param([load(k=5)], TypeError,
                 "Operation 0 (LoadStationary): K (rows of 'stationary') must be an integer in "
                 "1..4, not 5", id="stationary-k-high"),
    pytest.param([load(k=0)], TypeError,
                 "Operation 0 (LoadStationary): K (rows of 'stationary') must be an integer in "
                 "1..4, not 0", id="stationary-k-zero"),
    pytest.param([load(m=4)], TypeError,
                 "Operation 0 (LoadStationary): M (columns of 'stationary') must be an integer "
                 "in 1..3, not 4", id="stationary-m"),
    pytest.param([load(), MultiplyMoving(None, 0, False)], TypeError,
                 "Operation 1 (MultiplyMoving): 'moving' must be a numpy array, not NoneType",
                 id="moving-type"),
    pytest.param([load(), MultiplyMoving(np.zeros((4, 5), np.uint8), 0, False)], TypeError,
                 "Operation 1 (MultiplyMoving): 'moving' must have dtype int8, not uint8",
                 id="moving-dtype"),
    pytest.param([load(), MultiplyMoving(np.zeros((4, 5, 1), np.int8), 0, False)], TypeError,
                 "Operation 1 (MultiplyMoving): 'moving' must be 2-D, not of shape (4, 5, 1)",
                 id="moving-ndim"),
    pytest.param([load(), multiply(k=5)], TypeError,
                 "Operation 1 (MultiplyMoving): K (rows of 'moving') must be an integer in 1..4, "
                 "not 5", id="moving-k"),
    pytest.param([load(), multiply(n=6)], TypeError,
                 "Operation 1 (MultiplyMoving): N (columns of 'moving') must be an integer in "
                 "1..5, not 6", id="moving-n"),
    *(pytest.param([load(), multiply(bank=bank)], TypeError,
                   f"Operation 1 (MultiplyMoving): 'bank' must be an integer in 0..1, not {bank}",
                   id=f"multiply-bank-{bank}") for bank in [2, -1, True, 1.0]),
    pytest.param([load(), multiply(accumulate=1)], TypeError,
                 "Operation 1 (MultiplyMoving): 'accumulate' must be a bool, not 1",
                 id="accumulate-type"),
    pytest.param([ReadPsum(2, 3, 5)], TypeError,
                 "Operation 0 (ReadPsum): 'bank' must be an integer in 0..1, not 2",
                 id="read-bank"),
    pytest.param([ReadPsum(0, 4, 5)], TypeError,
                 "Operation 0 (ReadPsum): 'm' must be an integer in 1..3, not 4", id="read-m"),
    pytest.param([ReadPsum(0, 3, 0)], TypeError,
                 "Operation 0 (ReadPsum): 'n' must be an integer in 1..5, not 0", id="read-n"),
    pytest.param([multiply()], ValueError, f"Operation 0 (MultiplyMoving): {NOT_LOADED}",
                 id="multiply-before-load"),
    pytest.param([load(), multiply(k=3)], ValueError,
                 "Operation 1 (MultiplyMoving): K (rows of 'moving') must equal the K of the "
                 "loaded stationary, 4, not 3", id="k-mismatch"),
    pytest.param([load(), multiply(n=2), multiply(n=3, accumulate=True)], ValueError,
                 f"Operation 2 (MultiplyMoving): 'accumulate' is True, adding onto "
                 f"psum[0][0, 2], {UNDEFINED}", id="accumulate-undefined-columns"),
    pytest.param([load(), multiply(bank=0), multiply(bank=1, accumulate=True)], ValueError,
                 f"Operation 2 (MultiplyMoving): 'accumulate' is True, adding onto "
                 f"psum[1][0, 0], {UNDEFINED}", id="accumulate-undefined-bank"),
    pytest.param([load(m=2), multiply(n=3), ReadPsum(0, 2, 3), ReadPsum(0, 3, 3)], ValueError,
                 f"Operation 3 (ReadPsum): 'm' = 3 and 'n' = 3 cover psum[0][2, 0], {UNDEFINED}",
                 id="read-undefined-rows"),
    pytest.param([load(m=2), multiply(n=3), ReadPsum(0, 2, 4)], ValueError,
                 f"Operation 2 (ReadPsum): 'm' = 2 and 'n' = 4 cover psum[0][0, 3], {UNDEFINED}",
                 id="read-undefined-columns"),
]


@pytest.mark.parametrize("program, error, message", ERRORS)
def test_error(program, error, message):
    with raises(error, message):
        TileModel(CONFIG).execute(program)


@pytest.mark.parametrize("config, message", [
    ("r4c3", "Parameter 'config' must be a TileConfig, not 'r4c3'"),
])
def test_config_error(config, message):
    with raises(TypeError, message):
        TileModel(config)


# Floating-point tiles: the model routes each operation's operands and formats to
# sim_models.floats (whose numerics tests/test_floats.py pins) and keeps FP32 bits in PSUM.

FLOAT_CONFIG = TileConfig(rows=3, cols=2, psum_banks=2, psum_depth=4,
                          formats=("bf16", "fp8_e4m3", "fp8_e5m2"))
BF16_ONLY = TileConfig(rows=3, cols=2, psum_banks=2, psum_depth=4, formats=("bf16",))


def bits(rng, dtype, shape):
    """Random finite bit patterns near 1.0 in magnitude (exponent field around the bias)."""
    if dtype == np.uint16:  # BF16: exponent field 124..130
        return ((rng.integers(0, 2, shape) << 15) | (rng.integers(124, 131, shape) << 7) |
                rng.integers(0, 128, shape)).astype(np.uint16)
    return rng.integers(0, 0x70, shape, dtype=np.uint8) | \
        (rng.integers(0, 2, shape, dtype=np.uint8) << 7)  # FP8 below the top binade


@pytest.mark.parametrize("stationary_format, moving_format, double_row", [
    ("bf16", "bf16", False), ("bf16", "fp8_e4m3", False),
    ("fp8_e4m3", "fp8_e5m2", False), ("fp8_e4m3", "fp8_e5m2", True),
    ("fp8_e5m2", "fp8_e5m2", True)])
def test_float_program(stationary_format, moving_format, double_row):
    """Overwrite, accumulate and read: each read is matmul_fp32 of the operation's operands in
    its formats (stationary's first), accumulations are accumulate_fp32 onto the bank."""
    rng = np.random.default_rng(9)
    k = 6 if double_row else 3
    dtype = {"bf16": np.uint16, "fp8_e4m3": np.uint8, "fp8_e5m2": np.uint8}
    stationary = bits(rng, dtype[stationary_format], (k, 2))
    first, second = (bits(rng, dtype[moving_format], (k, 4)) for _ in range(2))
    outs = TileModel(FLOAT_CONFIG).execute([
        LoadStationary(stationary, stationary_format, double_row),
        MultiplyMoving(first, 1, False, moving_format, double_row), ReadPsum(1, 2, 4),
        MultiplyMoving(second, 1, True, moving_format, double_row), ReadPsum(1, 2, 3)])
    products = [floats.matmul_fp32(stationary, moving, stationary_format, moving_format,
                                   double_row) for moving in (first, second)]
    assert all(out.dtype == np.uint32 for out in outs)
    np.testing.assert_array_equal(outs[0], products[0])
    np.testing.assert_array_equal(outs[1], floats.accumulate_fp32(products[0],
                                                                  products[1])[:, :3])


def test_ml_dtypes_operands_equal_their_bits():
    stationary = np.array([[1.5, -2.0], [0.25, 3.0]], ml_dtypes.bfloat16)
    moving = np.array([[1.0, 2.0, -0.5], [4.0, 0.125, 8.0]], ml_dtypes.bfloat16)
    outs = [TileModel(BF16_ONLY).execute([LoadStationary(s, "bf16"),
                                          MultiplyMoving(v, 0, False, "bf16"),
                                          ReadPsum(0, 2, 3)])[0]
            for s, v in ((stationary, moving), (stationary.view(np.uint16),
                                                 moving.view(np.uint16)))]
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0].view(np.float32),
                                  stationary.astype(np.float32).T @ moving.astype(np.float32))


def fp8(k, n):
    return np.zeros((k, n), np.uint8)


FLOAT_ERRORS = [
    pytest.param(BF16_ONLY, [LoadStationary(np.zeros((3, 2), np.int8))], ValueError,
                 "Operation 0 (LoadStationary): 'format' is 'int8', which tile r3c2_b2d4_bf16 "
                 "was not built with (its formats: bf16)", id="format-not-built"),
    pytest.param(CONFIG, [LoadStationary(fp8(3, 2), "fp8_e4m3")], ValueError,
                 "Operation 0 (LoadStationary): 'format' is 'fp8_e4m3', which tile "
                 "r4c3_b2d5_int8 was not built with (its formats: int8)", id="float-on-int8"),
    pytest.param(FLOAT_CONFIG, [LoadStationary(fp8(3, 2), "fp8_e4m3"),
                                MultiplyMoving(fp8(3, 4), 0, False, "fp16")], ValueError,
                 "Operation 1 (MultiplyMoving): 'format' is 'fp16', which tile "
                 "r3c2_b2d4_bf16_fp8e4m3_fp8e5m2 was not built with (its formats: bf16, "
                 "fp8_e4m3, fp8_e5m2)", id="moving-format-not-built"),
    pytest.param(BF16_ONLY, [LoadStationary(np.zeros((3, 2), np.uint16), "bf16", True)],
                 ValueError, "Operation 0 (LoadStationary): 'double_row' is True, but tile "
                 "r3c2_b2d4_bf16 has no FP8 format", id="double-row-without-fp8"),
    pytest.param(FLOAT_CONFIG, [LoadStationary(np.zeros((3, 2), np.uint16), "bf16", True)],
                 ValueError, "Operation 0 (LoadStationary): 'double_row' is True, which needs "
                 "an FP8 format (fp8_e4m3, fp8_e5m2), not 'bf16'", id="double-row-bf16"),
    pytest.param(FLOAT_CONFIG, [LoadStationary(fp8(3, 2), "fp8_e4m3", 1)], TypeError,
                 "Operation 0 (LoadStationary): 'double_row' must be a bool, not 1",
                 id="double-row-type"),
    pytest.param(FLOAT_CONFIG, [LoadStationary(fp8(2, 2), "fp8_e4m3", True),
                                MultiplyMoving(fp8(2, 4), 0, False, "fp8_e4m3")], ValueError,
                 "Operation 1 (MultiplyMoving): 'double_row' must equal the loaded "
                 "stationary's, True, not False", id="double-row-mismatch"),
    pytest.param(FLOAT_CONFIG, [LoadStationary(fp8(3, 2), "fp8_e4m3", True)], ValueError,
                 "Operation 0 (LoadStationary): K (rows of 'stationary') is 3: double-row mode "
                 "needs an even K (NKI's [K/2, 2, X] layout pairs index p with p + K/2); "
                 "zero-pad the contraction by one row, as NKI requires", id="double-row-odd-k"),
    pytest.param(FLOAT_CONFIG, [LoadStationary(fp8(3, 2), "fp8_e4m3"),
                                MultiplyMoving(fp8(3, 4), 0, False, "fp8_e4m3", True)],
                 ValueError, "Operation 1 (MultiplyMoving): K (rows of 'moving') is 3: "
                 "double-row mode needs an even K (NKI's [K/2, 2, X] layout pairs index p with "
                 "p + K/2); zero-pad the contraction by one row, as NKI requires",
                 id="double-row-odd-moving-k"),
    pytest.param(FLOAT_CONFIG, [LoadStationary(fp8(4, 2), "fp8_e4m3")], TypeError,
                 "Operation 0 (LoadStationary): K (rows of 'stationary') must be an integer in "
                 "1..3, not 4", id="k-beyond-r"),
    pytest.param(FLOAT_CONFIG, [LoadStationary(fp8(7, 2), "fp8_e4m3", True)], TypeError,
                 "Operation 0 (LoadStationary): K (rows of 'stationary') must be an integer in "
                 "1..6, not 7", id="k-beyond-2r"),
    pytest.param(FLOAT_CONFIG, [LoadStationary(fp8(6, 2), "fp8_e4m3", True),
                                MultiplyMoving(fp8(7, 4), 0, False, "fp8_e5m2", True)],
                 TypeError, "Operation 1 (MultiplyMoving): K (rows of 'moving') must be an "
                 "integer in 1..6, not 7", id="moving-k-beyond-2r"),
    pytest.param(FLOAT_CONFIG, [LoadStationary(np.zeros((3, 2, 1), np.uint8), "fp8_e4m3")],
                 TypeError, "Operation 0 (LoadStationary): 'stationary' must be 2-D, not of "
                 "shape (3, 2, 1)", id="float-ndim"),
]


@pytest.mark.parametrize("config, program, error, message", FLOAT_ERRORS)
def test_float_error(config, program, error, message):
    with raises(error, message):
        TileModel(config).execute(program)
