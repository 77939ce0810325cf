"""A GEMM whose contraction dimension K is split across the nodes of a ring of tiles, as the
distributed GEMM of ``hdl.fabric.gemm`` runs it, in numpy.

Node ``i`` computes ``stationary[K_i, :M]^T @ moving[K_i, :N]`` over its rows ``K_i`` of K (a
tile program from the tiler, several chunks if ``K_i`` exceeds R) and reads the ``N`` result
vectors of C lanes each (lanes >= M are zero). The vectors are all-reduced element by element,
lane ``m`` of vector ``n`` being element ``n * C + m``, so every node ends with the whole
product in that order. On an int8 tile the result is exact (int32 wrap-around); on a
floating-point tile (BF16, FP16, FP8 operands, FP32 results) each node's vector is its tile's
FP32 result (``sim_models.golden.TileModel``) and the all-reduce adds them in the order of
``sim_models.allreduce``'s rule (:func:`distributed_result`).
"""

import numpy as np

from .allreduce import allreduce_reference, wrap_int32
from .golden import TileModel
from .program import INT8
from .tiler import tile_gemm

__all__ = ["split_gemm", "result_vector", "reduced_vector", "distributed_result"]


def split_gemm(config, stationary, moving, slice_sizes, matmul_format=INT8):
    """Tile programs of every node of a GEMM split along K.

    Parameters
    ----------
    config : TileConfig
        Every node's tile.
    stationary : numpy.ndarray, shape [K, M]
    moving : numpy.ndarray, shape [K, N]
        int8, or bit patterns of the formats ``matmul_format`` names. M at most ``config.cols``
        and N at most ``config.psum_depth``, so each node's part is one output block, read by
        one ReadPsum of N vectors.
    slice_sizes : sequence of int
        Rows of K each node takes, in node order, each at least 1; they sum to K.
    matmul_format : MatmulFormat
        Formats of the operands (default int8), among the tile's.

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
    return [tile_gemm(config, stationary[start:stop], moving[start:stop], matmul_format)
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


def distributed_result(config, parts):
    """What every node gives after the distributed GEMM of ``parts`` (:func:`split_gemm`'s
    tile programs, one per node) on tiles of ``config``: each node's result vector from the
    tile model, all-reduced as the hardware does (int32, or FP32 in the rule's order).

    Returns
    -------
    numpy.ndarray of int64, shape (N * C,)
        int32 values, or FP32 bit patterns.
    """
    vectors = []
    for part in parts:
        (read,) = TileModel(config).execute(part.program)
        vectors.append(result_vector(read, config.cols))
    return allreduce_reference(np.stack(vectors), "fp32" if config.floating else "int32")[0]
