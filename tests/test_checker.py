import numpy as np
import pytest

from tb.checker import check_equal


def test_equal_arrays_pass():
    check_equal(np.arange(6).reshape(2, 3), np.arange(6).reshape(2, 3), "psum")


def test_lists_every_mismatch():
    expected = np.arange(6).reshape(2, 3)
    actual = expected.copy()
    actual[0, 1] = -7
    actual[1, 2] = 0
    message = ("psum: 2 of 6 elements differ (shape (2, 3), axes m, n):\n"
               "  m=0, n=1: expected 1, actual -7\n"
               "  m=1, n=2: expected 5, actual 0")
    with pytest.raises(AssertionError) as info:
        check_equal(expected, actual, "psum")
    assert str(info.value) == message


def test_listing_is_capped_but_counted():
    expected = np.zeros(10, dtype=np.int32)
    with pytest.raises(AssertionError) as info:
        check_equal(expected, expected + 1, "lane", index_names=("k",), limit=3)
    lines = str(info.value).splitlines()
    assert lines[0] == "lane: 10 of 10 elements differ (shape (10,), axes k):"
    assert lines[1:] == ["  k=0: expected 0, actual 1", "  k=1: expected 0, actual 1",
                         "  k=2: expected 0, actual 1", "  ... and 7 more"]


def test_shape_mismatch():
    with pytest.raises(AssertionError, match=r"^psum: shape \(2, 4\) differs from the expected "
                                             r"shape \(2, 3\)$"):
        check_equal(np.zeros((2, 3), int), np.zeros((2, 4), int), "psum")


def test_mixed_signedness_keeps_precision():
    big = 2 ** 63 + 1
    with pytest.raises(AssertionError, match=r"expected 9223372036854775809, actual -1$"):
        check_equal(np.array([big], np.uint64), np.array([-1], np.int64), "word", ("i",))


def test_rejects_float_arrays():
    with pytest.raises(TypeError, match=r"^Parameter 'actual' must be an array of integers, "
                                        r"not array\(\[0\.5\]\)$"):
        check_equal(np.array([0]), np.array([0.5]), "x", ("i",))


def test_rejects_wrong_index_names():
    with pytest.raises(TypeError, match=r"^Parameter 'index_names' must be 2 strings, one per "
                                        r"axis of 'expected', not \('m',\)$"):
        check_equal(np.zeros((2, 2), int), np.zeros((2, 2), int), "x", ("m",))


def test_rejects_bad_limit():
    with pytest.raises(TypeError, match=r"^Parameter 'limit' must be a positive integer, "
                                        r"not 0$"):
        check_equal(np.zeros(1, int), np.zeros(1, int), "x", ("i",), limit=0)
