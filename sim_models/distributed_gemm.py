"""A GEMM whose contraction dimension K is split across the nodes of a ring of tiles, as the
distributed GEMM of ``hdl.fabric.gemm`` runs it, in numpy.

Node ``i`` computes ``stationary[K_i, :M]^T @ moving[K_i, :N]`` over its rows ``K_i`` of K (a
tile program from the tiler, several chunks if ``K_i`` exceeds R) and reads the ``N`` result
vectors of C lanes each (lanes >= M are zero). The vectors are all-reduced element by element,
lane ``m`` of vector ``n`` being element ``n * C + m``, so every node ends with the whole
product in that order.
"""

import numpy as np

from .allreduce import wrap_int32
from .tiler import tile_gemm

__all__ = ["split_gemm", "result_vector", "reduced_vector"]


def split_gemm(config, stationary, moving, slice_sizes):
    """Tile programs of every node of a GEMM split along K.

    Parameters
    ----------
    config : TileConfig
        Every node's tile.
    stationary : numpy.ndarray, int8, shape [K, M]
    moving : numpy.ndarray, int8, shape [K, N]
        M at most ``config.cols`` and N at most ``config.psum_depth``, so each node's part is
        one output block, read by one ReadPsum of N vectors.
    slice_sizes : sequence of int
        Rows of K each node takes, in node order, each at least 1; they sum to K.

    Returns
    -------
    list of TiledGemm
        One per node.

    Raises
    ------
    ValueError
        If M or N exceed one block, or the slice sizes do not cut K into non-empty slices.
    """
    (k, m), n = stationary.shape, moving.shape[1]
    if m > config.cols:
        raise ValueError(f"Parameter 'stationary' must have at most {config.cols} columns (M), "
                         f"one tile's width, not {m}")
    if n > config.psum_depth:
        raise ValueError(f"Parameter 'moving' must have at most {config.psum_depth} columns (N), "
                         f"one PSUM bank, not {n}")
    sizes = [int(size) for size in slice_sizes]
    if min(sizes, default=0) < 1 or sum(sizes) != k:
        raise ValueError(f"Parameter 'slice_sizes' must hold sizes of at least 1 that sum to K "
                         f"= {k}, not {list(slice_sizes)!r}")
    bounds = np.cumsum([0, *sizes])
    return [tile_gemm(config, stationary[start:stop], moving[start:stop])
            for start, stop in zip(bounds[:-1], bounds[1:])]


def result_vector(out, cols):
    """The all-reduced vector that carries ``out`` [M, N]: element ``n * cols + m`` is
    ``out[m, n]``, and lanes ``m >= M`` are zero. Returns int64, shape (N * cols,)."""
    out = np.asarray(out, dtype=np.int64)
    padded = np.zeros((cols, out.shape[1]), np.int64)
    padded[:out.shape[0]] = out
    return padded.T.reshape(-1)


def reduced_vector(stationary, moving, cols):
    """What every node gives after the distributed GEMM: ``stationary^T @ moving`` over the
    whole K, in int64 wrapped to int32, as :func:`result_vector` orders it."""
    product = stationary.astype(np.int64).T @ moving.astype(np.int64)
    return result_vector(wrap_int32(product), cols)
