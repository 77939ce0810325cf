"""Units the spec files may use, and their conversion to SI base units.

Every quantity in a spec file has a dimension (a clock is a frequency, an HBM size a number of
bytes); a unit is accepted only for its own dimension, so a clock written in TB/s is an error.
Units are case-sensitive. Decimal prefixes are powers of 1000, binary ones (KiB, GiB/s) powers
of 1024; ``Gb/s`` counts bits and is divided by 8. Counts and ratios use the unit ``"1"``.
"""

from fractions import Fraction

__all__ = ["DIMENSIONS", "to_si"]

# Dimension -> {unit: factor to the SI base unit named in the comment}. Factors are exact
# (integers or fractions) so that converting a value written in decimal stays exact.
DIMENSIONS = {
    "frequency": {"GHz": 10**9, "MHz": 10**6},                                       # Hz
    "flops": {"GFLOPS": 10**9, "TFLOPS": 10**12, "PFLOPS": 10**15,
              "EFLOPS": 10**18},                                                      # FLOP/s
    "bandwidth": {"GB/s": 10**9, "TB/s": 10**12, "GiB/s": 2**30,
                  "Gb/s": 10**9 // 8},                                                # B/s
    "bytes": {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
              "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40},                # B
    "power": {"W": 1, "kW": 10**3},                                                   # W
    "time": {"ns": Fraction(1, 10**9), "us": Fraction(1, 10**6), "ms": Fraction(1, 10**3),
             "s": 1},                                                                 # s
    "count": {"1": 1},                                                                # items
    "ratio": {"1": 1},                                                                # 1
}


def to_si(given, dimension, unit):
    """Return ``given`` (a number written in ``unit``) in the SI base unit of ``dimension``.

    The product is exact: a float is read as the decimal it was written as (2.4, not the
    nearest binary fraction), and the result is rounded once. It is an ``int`` when ``given``
    is an ``int`` and the result is whole (96 GiB gives 103079215104), else a ``float``.
    ``unit`` must be one of ``DIMENSIONS[dimension]``.
    """
    exact = Fraction(repr(given)) * DIMENSIONS[dimension][unit]
    if isinstance(given, int) and exact.denominator == 1:
        return int(exact)
    return float(exact)
