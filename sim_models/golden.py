"""Golden model of the tile: executes a program bit-exactly with numpy.

Each product of int8 operands is summed over K in int64 and wrapped to int32, and accumulation
into PSUM wraps the same way, as the two's-complement datapath of the tile does.
"""

import numpy as np

from .config import TileConfig, check_int
from .program import LoadStationary, MultiplyMoving, ReadPsum

__all__ = ["TileModel"]


def check_config(config):
    """Raise ``TypeError`` unless ``config`` is a :class:`TileConfig` (whose operands are int8,
    the only format :data:`~sim_models.config.OPERAND_FORMATS` holds)."""
    if not isinstance(config, TileConfig):
        raise TypeError(f"Argument 'config' must be a TileConfig, not {config!r}")


def check_int8_matrix(subject, value):
    """Raise ``TypeError`` unless ``value`` is a 2-D int8 numpy array; ``subject`` names it."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{subject} must be a numpy array, not {type(value).__name__}")
    if value.dtype != np.int8:
        raise TypeError(f"{subject} must have dtype int8, not {value.dtype}")
    if value.ndim != 2:
        raise TypeError(f"{subject} must be 2-D, not of shape {value.shape}")


def wrap_int32(values):
    """Wrap integers to int32 modulo 2**32, as a two's-complement adder does.

    Parameters
    ----------
    values : numpy.ndarray, int64

    Returns
    -------
    numpy.ndarray, int32, same shape
    """
    return ((values + 2**31) % 2**32 - 2**31).astype(np.int32)


class TileModel:
    """Bit-exact model of one tile executing programs of :mod:`sim_models.program` operations.

    The model keeps its state from one :meth:`execute` to the next, as the tile does: the
    stationary operand loaded last, and the PSUM banks with which of their elements are defined.

    Parameters
    ----------
    config : TileConfig
        Tile shape: R rows, C columns, ``psum_banks`` banks of C x ``psum_depth`` int32
        elements each. The operands must be int8 with int32 accumulation.

    Raises
    ------
    TypeError
        If ``config`` is not such a :class:`TileConfig`.
    """
    def __init__(self, config):
        check_config(config)
        self.config = config
        self._psum = np.zeros((config.psum_banks, config.cols, config.psum_depth), np.int32)
        self.reset()

    def reset(self):
        """Unload the stationary operand and make every PSUM element undefined."""
        self._stationary = None
        self._defined = np.zeros(self._psum.shape, bool)

    def execute(self, program):
        """Execute operations in order and return what the ReadPsum operations read.

        Operations before the first invalid one keep their effect on the model's state. The
        message of each error names the operation by its index in ``program``.

        Parameters
        ----------
        program : iterable of Operation

        Returns
        -------
        list of numpy.ndarray, int32, shape [m, n]
            One array per ReadPsum, in program order.

        Raises
        ------
        TypeError
            If an operation is not an Operation, or one of its fields has the wrong type or
            lies outside its range.
        ValueError
            If a MultiplyMoving comes before any LoadStationary or has another K than the
            stationary loaded last, or if an accumulation or a read covers an undefined PSUM
            element.
        """
        results = []
        for index, op in enumerate(program):
            where = f"Operation {index} ({type(op).__name__})"
            if isinstance(op, LoadStationary):
                self._load(where, op)
            elif isinstance(op, MultiplyMoving):
                self._multiply(where, op)
            elif isinstance(op, ReadPsum):
                results.append(self._read(where, op))
            else:
                raise TypeError(f"Operation {index} must be a LoadStationary, MultiplyMoving or "
                                f"ReadPsum, not {op!r}")
        return results

    def _load(self, where, op):
        check_int8_matrix(f"{where}: 'stationary'", op.stationary)
        check_int(f"{where}: K (rows of 'stationary')", op.k, 1, self.config.rows)
        check_int(f"{where}: M (columns of 'stationary')", op.m, 1, self.config.cols)
        self._stationary = op.stationary.astype(np.int64)

    def _multiply(self, where, op):
        check_int8_matrix(f"{where}: 'moving'", op.moving)
        check_int(f"{where}: K (rows of 'moving')", op.k, 1, self.config.rows)
        check_int(f"{where}: N (columns of 'moving')", op.n, 1, self.config.psum_depth)
        check_int(f"{where}: 'bank'", op.bank, 0, self.config.psum_banks - 1)
        if not isinstance(op.accumulate, (bool, np.bool_)):
            raise TypeError(f"{where}: 'accumulate' must be a bool, not {op.accumulate!r}")
        if self._stationary is None:
            raise ValueError(f"{where}: no stationary operand is loaded; a LoadStationary must "
                             f"come first after the start and after every reset")
        k, m = self._stationary.shape
        if op.k != k:
            raise ValueError(f"{where}: K (rows of 'moving') must equal the K of the loaded "
                             f"stationary, {k}, not {op.k}")
        region = (op.bank, slice(0, m), slice(0, op.n))
        result = self._stationary.T @ op.moving.astype(np.int64)
        if op.accumulate:
            self._check_defined(f"{where}: 'accumulate' is True, adding onto", op.bank, m, op.n)
            result += self._psum[region]
        self._psum[region] = wrap_int32(result)
        self._defined[region] = True

    def _read(self, where, op):
        check_int(f"{where}: 'bank'", op.bank, 0, self.config.psum_banks - 1)
        check_int(f"{where}: 'm'", op.m, 1, self.config.cols)
        check_int(f"{where}: 'n'", op.n, 1, self.config.psum_depth)
        self._check_defined(f"{where}: 'm' = {op.m} and 'n' = {op.n} cover", op.bank, op.m, op.n)
        return self._psum[op.bank, :op.m, :op.n].copy()

    def _check_defined(self, subject, bank, m, n):
        """Raise ``ValueError`` unless rows 0..m-1, columns 0..n-1 of ``bank`` are defined."""
        undefined = np.argwhere(~self._defined[bank, :m, :n])
        if undefined.size:
            row, col = undefined[0]
            raise ValueError(f"{subject} psum[{bank}][{row}, {col}], which is undefined (not "
                             f"written since the start or the last reset)")
