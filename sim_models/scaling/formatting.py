"""Numbers as the report prints them: plain decimals with thousands separators, one chosen unit
per quantity family, and a check that no raw Python value (``None``, ``True``, ``6e-07``) is
left in the text."""

import re

__all__ = ["UNITS", "number", "compact", "percent", "ratio", "signed_percent", "si",
           "binary_bytes", "setting", "raw_values"]

#: Units the report may print, by quantity family: unit -> SI units per unit. A table picks
#: one unit per family (TFLOP/s or PFLOP/s, GiB or GB, never both for one quantity).
UNITS = {
    "flops": {"TFLOP/s": 1e12, "PFLOP/s": 1e15},
    "bytes": {"MiB": 2 ** 20, "GiB": 2 ** 30, "TiB": 2 ** 40},
    "bandwidth": {"GB/s": 1e9, "TB/s": 1e12},
    "count": {"": 1},
}

_PREFIXES = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"),
             (1, ""), (1e-3, "m"), (1e-6, "\u00b5"), (1e-9, "n")]
#: What the report must never print: Python's None, booleans, NaN or infinities, and numbers
#: in exponent notation, each as a whole word.
_RAW = re.compile(r"(?<![\w.-])(None|True|False|nan|inf|-?\d+(\.\d+)?[eE][-+]?\d+)(?![\w.])")


def number(value, digits=4):
    """``value`` with ``digits`` significant digits (at least its whole part) and thousands
    separators, whole numbers exactly: ``number(0.0000006)`` is ``0.0000006``, never
    ``6e-07``; "-" for None."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    value = float(f"{value:.12g}")  # drops binary noise: 6e-7 / 1e-9 is 600, not 599.99..
    if value.is_integer():
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 1:
        decimals = max(0, digits - len(str(int(magnitude))))
    else:
        # Leading zeros after the point do not count as significant digits.
        decimals = digits - 1 - int(f"{magnitude:e}".split("e")[1])
    return f"{value:,.{decimals}f}"


def percent(value, decimals=1):
    """A fraction as a percentage; "-" for None."""
    return "-" if value is None else f"{100 * value:.{decimals}f}%"


def signed_percent(value, decimals=1):
    """A relative error as a signed percentage (``+4.2%``, ``-0.3%``, and ``0.0%`` for what
    rounds to zero); "-" for None."""
    if value is None:
        return "-"
    if round(100 * value, decimals) == 0:
        return f"{0:.{decimals}f}%"
    return f"{100 * value:+.{decimals}f}%"


def compact(value):
    """:func:`number` without trailing zeros, for prose: ``0.035``, not ``0.03500``."""
    text = number(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def ratio(value):
    """A ratio with three decimals; "-" for None."""
    return "-" if value is None else f"{value:.3f}"


def si(value, unit):
    """``value`` with an SI prefix: ``si(2.5e15, "FLOP/s")`` is ``2.5 PFLOP/s``,
    ``si(6e-7, "s")`` is ``600 ns``; "-" for None."""
    return _prefixed(value, unit, _PREFIXES)


#: Binary prefixes of byte counts, largest first: capacities are printed in these everywhere
#: (report and command line), as AWS gives HBM capacity (96 GiB per Trainium2).
_BINARY = [(2 ** 40, "Ti"), (2 ** 30, "Gi"), (2 ** 20, "Mi"), (2 ** 10, "Ki")]


def binary_bytes(value):
    """A byte count with a binary prefix: ``binary_bytes(80e9)`` is ``74.51 GiB``; "-" for
    None."""
    return _prefixed(value, "B", _BINARY)


def _prefixed(value, unit, prefixes):
    """``value`` in ``unit`` with the first of ``prefixes`` ((scale, prefix), largest first)
    whose scale it reaches, none below the smallest; "-" for None."""
    if value is None:
        return "-"
    for scale, prefix in prefixes:
        if abs(value) >= scale:
            return f"{number(value / scale)} {prefix}{unit}"
    return f"{number(value)} {unit}"


def raw_values(text):
    """Every raw Python value in ``text``: (line number from 1, the value) pairs."""
    return [(index, match.group(1)) for index, line in enumerate(text.splitlines(), 1)
            for match in _RAW.finditer(line)]


#: Units of a modelling setting, by the end of its name.
_SETTING_UNITS = (("_seconds", "s"), ("_hz", "Hz"))
#: A rate of a setting: ``..._bytes_per_parameter`` is bytes per parameter.
_PER = re.compile(r"_(bytes|flops)_per_([a-z]+)$")
_PER_UNITS = {"bytes": "B", "flops": "FLOP"}


def setting(name, value):
    """A modelling setting as the report prints it: ``None`` is "not set" (its reason says
    what applies then), booleans are "yes" or "no", a number whose name ends in a unit
    (``dma_step_seconds``, ``fabric_clock_hz``) carries it with an SI prefix (``600 ns``; bytes
    a binary one, ``2 MiB``), a
    rate ``..._bytes_per_parameter`` says so (``2 B per parameter``), an ``..._efficiency`` is
    a percentage, a tuple its items joined by commas ("none" when empty)."""
    if value is None:
        return "not set"
    if isinstance(value, tuple):
        return ", ".join(str(item) for item in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if name.endswith("_bytes"):
            return binary_bytes(value)
        for suffix, unit in _SETTING_UNITS:
            if name.endswith(suffix):
                return si(value, unit)
        per = _PER.search(name)
        if per:
            return f"{number(value)} {_PER_UNITS[per.group(1)]} per {per.group(2)}"
        if name.endswith("_efficiency"):
            return percent(value)
        return number(value)
    return str(value)
