"""Numbers as the report prints them."""

__all__ = ["number", "percent", "ratio", "si"]

_PREFIXES = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]


def number(value, digits=4):
    """``value`` with ``digits`` significant digits and thousands separators (whole numbers
    exactly); "-" for None."""
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    magnitude = len(str(int(abs(value)))) if abs(value) >= 1 else 0
    decimals = max(0, digits - magnitude)
    return f"{value:,.{decimals}f}"


def percent(value, decimals=1):
    """A fraction as a percentage; "-" for None."""
    return "-" if value is None else f"{100 * value:.{decimals}f}%"


def ratio(value):
    """A ratio with three decimals; "-" for None."""
    return "-" if value is None else f"{value:.3f}"


def si(value, unit):
    """``value`` with an SI prefix: ``si(2.5e15, "FLOP/s")`` is ``2.5 PFLOP/s``."""
    if value is None:
        return "-"
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{number(value / scale)} {prefix}{unit}"
    return f"{number(value)} {unit}"
