"""Tile programs: the operations of the tile's ISA, carrying their operand data as numpy arrays.

A program is a list of these operations. The golden model executes it, the cycle model times it
and the testbench drives it into the RTL, so all three read the same description.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["LoadStationary", "MultiplyMoving", "ReadPsum", "Operation"]


@dataclass(frozen=True, eq=False)
class LoadStationary:
    """Place a stationary operand in the array.

    Members
    -------
    stationary : numpy.ndarray, int8, shape [K, M]
        Row k is sent as stationary beat k, so the load takes K beats.
    """
    stationary: np.ndarray

    @property
    def k(self):
        return self.stationary.shape[0]

    @property
    def m(self):
        return self.stationary.shape[1]


@dataclass(frozen=True, eq=False)
class MultiplyMoving:
    """Stream a moving operand through the array: ``psum[bank][M, N] (+)= S[K, M]^T @ moving``.

    Members
    -------
    moving : numpy.ndarray, int8, shape [K, N]
        Column n is sent as moving beat n, so the operation takes N beats. K must equal the K of
        the stationary loaded last.
    bank : int
        PSUM bank written.
    accumulate : bool
        Add into the bank (True) or overwrite it (False).
    """
    moving: np.ndarray
    bank: int
    accumulate: bool

    @property
    def k(self):
        return self.moving.shape[0]

    @property
    def n(self):
        return self.moving.shape[1]


@dataclass(frozen=True)
class ReadPsum:
    """Send ``psum[bank][0:m, 0:n]`` to the result stream, one beat (M lanes) per column n.

    Members
    -------
    bank : int
        PSUM bank read.
    m : int
        Result rows (partitions) returned, 1..C.
    n : int
        Result columns returned, 1..depth: the operation takes N result beats.
    """
    bank: int
    m: int
    n: int


Operation = LoadStationary | MultiplyMoving | ReadPsum
