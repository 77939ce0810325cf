"""Random operands shared by the floating-point tests: the seeded generator and finite
encodings of each format, and the list of format pairs."""

import itertools

import numpy as np
import pytest

from sim_models.floats import FLOAT_FORMATS
from tb.regression import SEED, rerun_command

#: Every (stationary, moving) format pair, mixed ones included.
FORMAT_PAIRS = list(itertools.product(FLOAT_FORMATS, repeat=2))
#: The pairs FP8 double-row mode takes (R11).
FP8_PAIRS = [pair for pair in FORMAT_PAIRS if all(FLOAT_FORMATS[name].is_fp8 for name in pair)]


@pytest.fixture
def rng(request):
    """Generator of the run's seed (SEED, :mod:`tb.regression`) mixed with the test's name."""
    print(f"seed {SEED}; rerun: {rerun_command(request)}")
    return np.random.default_rng([SEED, *request.node.name.encode()])


def finite_bits(rng, format_name, shape, exponent_span=None):
    """Random bit patterns of finite values of ``format_name``, uniform over the encodings.

    Parameters
    ----------
    rng : numpy.random.Generator
    format_name : str
    shape : tuple of int
    exponent_span : int or None
        If given, unbiased exponents stay within +-``exponent_span`` and the format's normal
        range (subnormals excluded), so that long BF16 sums do not overflow FP32.

    Returns
    -------
    numpy.ndarray, uint8 or uint16, ``shape``
    """
    encoding = FLOAT_FORMATS[format_name]
    mantissa_bits = encoding.operand.mantissa_bits
    top = (1 << encoding.operand.exponent_bits) - 1
    low, high = (0, top) if exponent_span is None else \
        (max(1, encoding.bias - exponent_span), min(top, encoding.bias + exponent_span + 1))
    field = rng.integers(low, high, size=shape)
    fraction = rng.integers(0, 1 << mantissa_bits, size=shape)
    sign = rng.integers(0, 2, size=shape)
    bits = (sign << (encoding.bits - 1)) | (field << mantissa_bits) | fraction
    return bits.astype(f"uint{encoding.bits}")
