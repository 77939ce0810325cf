"""Comparison of integer arrays that reports every mismatch, for testbenches and models alike."""

import numpy as np

__all__ = ["check_equal"]


def _as_integer_array(name, value):
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.bool_)):
        raise TypeError(f"Parameter '{name}' must be an array of integers, not {value!r}")
    return array


def check_equal(expected, actual, what, index_names=("m", "n"), *, limit=200):
    """Check that two integer arrays are equal, element by element.

    Parameters
    ----------
    expected, actual : array_like of int
        Arrays of the same shape; ``expected`` comes from the model, ``actual`` from the design.
    what : str
        Name of the compared quantity, used at the start of the failure message.
    index_names : sequence of str
        Name of each axis, used to print coordinates (``m=3, n=1``); one per dimension.
    limit : int
        Most mismatching elements listed in the message; the total count is always stated.

    Raises
    ------
    AssertionError
        If the shapes differ, or if any element differs. The message lists the coordinates,
        expected and actual value of each mismatching element (up to ``limit`` of them), the
        number of mismatches and the shape.
    TypeError
        If ``expected`` or ``actual`` is not an integer array, if ``index_names`` does not name
        every axis of ``expected``, or if ``limit`` is not a positive integer.
    """
    expected = _as_integer_array("expected", expected)
    actual = _as_integer_array("actual", actual)
    index_names = tuple(index_names)
    if len(index_names) != expected.ndim or not all(isinstance(n, str) for n in index_names):
        raise TypeError(f"Parameter 'index_names' must be {expected.ndim} strings, one per axis "
                        f"of 'expected', not {index_names!r}")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise TypeError(f"Parameter 'limit' must be a positive integer, not {limit!r}")
    if expected.shape != actual.shape:
        raise AssertionError(f"{what}: shape {actual.shape} differs from the expected shape "
                             f"{expected.shape}")

    if np.result_type(expected, actual).kind == "f":
        # int64 against uint64 would compare as float64 and lose precision: use Python ints.
        expected, actual = expected.astype(object), actual.astype(object)
    mismatches = np.argwhere(expected != actual)
    if len(mismatches) == 0:
        return
    lines = [f"{what}: {len(mismatches)} of {expected.size} elements differ "
             f"(shape {expected.shape}, axes {', '.join(index_names)}):"]
    for index in mismatches[:limit]:
        index = tuple(int(i) for i in index)
        coordinates = ", ".join(f"{name}={i}" for name, i in zip(index_names, index))
        lines.append(f"  {coordinates}: expected {int(expected[index])}, "
                     f"actual {int(actual[index])}")
    if len(mismatches) > limit:
        lines.append(f"  ... and {len(mismatches) - limit} more")
    raise AssertionError("\n".join(lines))
