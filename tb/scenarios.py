"""Tile test scenarios: programs with the reason each exists, built without a simulator.

Every scenario is a program for the tile plus, for GEMMs, the tiling it came from, so a test can
check the RTL against the golden model read by read and the assembled GEMM against numpy.
"""

from dataclasses import dataclass

import numpy as np

from sim_models.checked import random_gemm
from sim_models.golden import wrap_int32
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum
from sim_models.tiler import TiledGemm

__all__ = ["Scenario", "directed_scenarios", "gemm_scenarios", "reference_gemm",
           "wrap_accumulations"]

#: Products of -128 x -128 one PSUM entry needs before int32 wraps: 2**31 / 2**14.
_PRODUCTS_TO_WRAP = 2 ** 17


@dataclass(frozen=True, eq=False)
class Scenario:
    """A named program; ``gemm`` and ``operands`` (stationary [K, M], moving [K, N]) are set
    when the program is a tiled GEMM."""
    name: str
    program: list
    gemm: TiledGemm | None = None
    operands: tuple | None = None


def _random_int8(rng, shape):
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def _single(name, stationary, moving):
    """Load, multiply into bank 0 (overwriting) and read back one operation's result."""
    return Scenario(name, [LoadStationary(stationary), MultiplyMoving(moving, 0, False),
                           ReadPsum(0, stationary.shape[1], moving.shape[1])])


def wrap_accumulations(config):
    """Accumulating multiplies of all -128 operands after which every PSUM entry has wrapped."""
    return _PRODUCTS_TO_WRAP // config.rows + 2


def directed_scenarios(config, rng):
    """Identity, zeros, one-hot and int32 wrap-around programs for ``config``."""
    rows, cols = config.rows, config.cols
    n = min(7, config.psum_depth)
    scenarios = [
        _single("identity", np.eye(rows, cols, dtype=np.int8), _random_int8(rng, (rows, n))),
        Scenario("zeros", [
            LoadStationary(np.zeros((rows, cols), np.int8)),
            MultiplyMoving(_random_int8(rng, (rows, n)), 0, False),
            LoadStationary(_random_int8(rng, (rows, cols))),
            MultiplyMoving(np.zeros((rows, n), np.int8), 0, True),
            ReadPsum(0, cols, n),
        ]),
    ]
    for index, (k, m) in enumerate({(0, 0), (rows - 1, cols - 1), (rows // 2, cols // 3)}):
        stationary = np.zeros((rows, cols), np.int8)
        stationary[k, m] = -128 if index % 2 else 1
        scenarios.append(_single(f"one_hot_k{k}_m{m}", stationary, _random_int8(rng, (rows, n))))

    minimum = np.full((rows, cols), -128, np.int8)
    columns = 1  # every accumulation costs a cycle; one column shows the wrap as well as many
    moving = np.full((rows, columns), -128, np.int8)
    accumulations = [MultiplyMoving(moving, 0, True) for _ in range(wrap_accumulations(config))]
    scenarios.append(Scenario("all_min_wraps_int32", [
        LoadStationary(minimum), MultiplyMoving(moving, 0, False), *accumulations,
        ReadPsum(0, cols, columns)]))
    return scenarios


def gemm_shapes(config):
    """GEMM shapes (M, K, N) for ``config``: inside, smaller than and beyond the array."""
    rows, cols, depth = config.rows, config.cols, config.psum_depth
    return [
        (cols, rows, min(9, depth)),                          # exactly the array, odd N
        (max(1, cols - 1), max(1, rows - 1), min(3, depth)),  # K < R, M < C
        (2 * cols + 1, 2 * rows + 1, min(5, depth)),          # several stationaries and chunks
        (cols, rows, depth + 3),                              # N beyond one PSUM bank
    ]


def gemm_scenarios(config, rng):
    """Seeded random GEMMs of every shape in :func:`gemm_shapes`, mapped by the tiler."""
    scenarios = []
    for shape in gemm_shapes(config):
        gemm = random_gemm(config, shape, rng)
        scenarios.append(Scenario(gemm.name, gemm.tiled.program, gemm.tiled,
                                  (gemm.stationary, gemm.moving)))
    return scenarios


def reference_gemm(stationary, moving):
    """Independent reference: ``stationary^T @ moving`` in int64, wrapped to int32."""
    return wrap_int32(stationary.astype(np.int64).T @ moving.astype(np.int64))
