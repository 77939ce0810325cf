"""Shapes the generators size from a count."""

from amaranth.hdl import unsigned
from amaranth.utils import ceil_log2

__all__ = ["index_shape"]


def index_shape(count):
    """Unsigned shape of an index into ``count`` items (0 .. count - 1): ceil(log2(count))
    bits, and at least one so that the signal exists when there is a single item."""
    return unsigned(max(1, ceil_log2(count)))
