"""Tile parameters: the one place where a tile configuration is described and validated."""

from dataclasses import dataclass, field
from numbers import Integral

from .numerics import INT8, OperandFormat

__all__ = ["MAX_ARRAY_DIM", "MAX_PSUM_BANKS", "MAX_PSUM_DEPTH", "TileConfig", "check_int"]

#: Largest number of PE rows or columns (the Trainium Tensor Engine is 128 x 128).
MAX_ARRAY_DIM = 128
#: Largest number of PSUM banks (a NeuronCore has 8 per partition).
MAX_PSUM_BANKS = 16
#: Largest PSUM bank depth in result vectors (NC-v4 allows N up to 4096 for FP32 results).
MAX_PSUM_DEPTH = 4096


def check_int(subject, value, low, high):
    """Raise ``TypeError`` unless ``value`` is an integer (not a bool) in ``low..high``.

    ``subject`` starts the message and names what is checked, e.g. ``"Parameter 'rows'"``.
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
        raise TypeError(f"{subject} must be an integer in {low}..{high}, not {value!r}")


@dataclass(frozen=True)
class TileConfig:
    """Shape of one systolic matrix-multiply tile.

    Parameters
    ----------
    rows : int
        PE rows, R: the contraction dimension K of one operation (K <= R). 1..128.
    cols : int
        PE columns, C: the stationary free dimension M of one operation (M <= C). 1..128.
    psum_banks : int
        PSUM accumulation banks. 1..16; 8 as on a NeuronCore.
    psum_depth : int
        Result vectors per bank: the largest moving free size N of one operation. 1..4096;
        512 as on a NeuronCore (one 2 KiB bank of FP32 per partition).
    operands : OperandFormat
        Number format of the PEs (operand and accumulator types).

    Raises
    ------
    TypeError
        If a parameter has the wrong type or lies outside its range; the message names the
        parameter, its value and what is allowed.
    """
    rows: int
    cols: int
    psum_banks: int = 8
    psum_depth: int = 512
    operands: OperandFormat = field(default=INT8)

    def __post_init__(self):
        check_int("Parameter 'rows'", self.rows, 1, MAX_ARRAY_DIM)
        check_int("Parameter 'cols'", self.cols, 1, MAX_ARRAY_DIM)
        check_int("Parameter 'psum_banks'", self.psum_banks, 1, MAX_PSUM_BANKS)
        check_int("Parameter 'psum_depth'", self.psum_depth, 1, MAX_PSUM_DEPTH)
        if not isinstance(self.operands, OperandFormat):
            raise TypeError(f"Parameter 'operands' must be an OperandFormat, not {self.operands!r}")

    @property
    def name(self):
        """Configuration name used for build directories and reports, e.g. ``r8c16``."""
        suffix = "" if (self.psum_banks, self.psum_depth) == (8, 512) else \
            f"_b{self.psum_banks}d{self.psum_depth}"
        return f"r{self.rows}c{self.cols}{suffix}_{self.operands.name}"

    @property
    def macs_per_cycle(self):
        """Peak multiply-accumulates per cycle of the whole array (R x C)."""
        return self.rows * self.cols
