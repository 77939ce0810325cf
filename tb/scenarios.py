"""Tile test scenarios: programs with the reason each exists, built without a simulator.

Every scenario is a program for the tile plus, for GEMMs, the tiling it came from, so a test can
check the RTL against the golden model read by read and the assembled GEMM against an
independent reference: numpy's int64 matmul for int8, the exact rational product within the
stated error bound for floating-point formats (``sim_models.floats``).
"""

from fractions import Fraction

from dataclasses import dataclass

import numpy as np

from sim_models import floats, mx
from sim_models.golden import wrap_int32
from sim_models.program import INT8, LoadStationary, MatmulFormat, MultiplyMoving, ReadPsum
from sim_models.stimulus import random_gemm
from sim_models.tiler import TiledGemm, pass_rows

from .checker import check_equal

__all__ = ["Scenario", "check_reference", "directed_scenarios", "gemm_scenarios",
           "reference_gemm", "tiled_gemm_scenario", "wrap_accumulations"]

#: Products of -128 x -128 one PSUM entry needs before int32 wraps: 2**31 / 2**14.
_PRODUCTS_TO_WRAP = 2 ** 17
#: Most multiplies the wrap-around scenario may take. The wrap is the PSUM adder's, the same
#: logic in every int8 tile, and it takes 2^17 / R multiplies through cocotb's per-cycle
#: driver: tiles of 8 rows and more (8 x 8 on both simulators in ``make test``) check it in at
#: most this many; smaller tiles, which would take up to 131,074 (46 s of Icarus on 1 x 1), leave
#: it to them.
_MAX_WRAP_MULTIPLIES = 2 ** 14 + 2


@dataclass(frozen=True, eq=False)
class Scenario:
    """A named program in ``matmul_format``; ``gemm`` and ``operands`` (stationary [K, M],
    moving [K, N], and in MX mode their scales [K/32, M], [K/32, N]) are set when the program
    is a tiled GEMM; ``expected``, when set, holds each read's result [m, n] as a reference
    independent of the golden model computes it."""
    name: str
    program: list
    gemm: TiledGemm | None = None
    operands: tuple | None = None
    matmul_format: MatmulFormat = INT8
    expected: list | None = None


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

    if wrap_accumulations(config) > _MAX_WRAP_MULTIPLIES:
        return scenarios
    minimum = np.full((rows, cols), -128, np.int8)
    columns = 1  # every accumulation costs a cycle; one column shows the wrap as well as many
    moving = np.full((rows, columns), -128, np.int8)
    accumulations = [MultiplyMoving(moving, 0, True) for _ in range(wrap_accumulations(config))]
    scenarios.append(Scenario("all_min_wraps_int32", [
        LoadStationary(minimum), MultiplyMoving(moving, 0, False), *accumulations,
        ReadPsum(0, cols, columns)]))
    return scenarios


def gemm_shapes(config, matmul_format=INT8):
    """GEMM shapes (M, K, N) for ``config``: inside, smaller than and beyond the array (R
    standing for the contraction of one pass, 2R in double-row mode)."""
    rows, cols, depth = config.rows * matmul_format.rows_per_pe, config.cols, config.psum_depth
    return [
        (cols, rows, min(9, depth)),                          # exactly the array, odd N
        (max(1, cols - 1), max(1, rows - 1), min(3, depth)),  # K < R, M < C
        (2 * cols + 1, 2 * rows + 1, min(5, depth)),          # several stationaries and chunks
        (cols, rows, depth + 3),                              # N beyond one PSUM bank
    ]


def tiled_gemm_scenario(config, shape, matmul_format, rng):
    """The tiled GEMM of ``shape`` (M, K, N) in ``matmul_format`` with random operands drawn
    from ``rng`` (for results judged current: the seed mixed with the GEMM's name, as
    :mod:`sim_models.stimulus` redraws them)."""
    gemm = random_gemm(config, shape, rng, matmul_format)
    return Scenario(gemm.name, gemm.tiled.program, gemm.tiled, gemm.operands, matmul_format)


def gemm_scenarios(config, rng, matmul_format=INT8):
    """Seeded random GEMMs in ``matmul_format`` of every shape in :func:`gemm_shapes`, mapped
    by the tiler."""
    scenarios = []
    for shape in gemm_shapes(config, matmul_format):
        gemm = random_gemm(config, shape, rng, matmul_format)
        scenarios.append(Scenario(gemm.name, gemm.tiled.program, gemm.tiled, gemm.operands,
                                  matmul_format))
    return scenarios


def reference_gemm(stationary, moving):
    """Independent reference: ``stationary^T @ moving`` in int64, wrapped to int32."""
    return wrap_int32(stationary.astype(np.int64).T @ moving.astype(np.int64))


def _float_roundings(config, scenario):
    """FP32 roundings an output element of a tiled float GEMM goes through: one per PE row
    used in each K chunk, plus one per PSUM accumulation."""
    roundings = 0
    for op in scenario.program:
        if isinstance(op, MultiplyMoving):
            roundings += -(-op.k // scenario.matmul_format.rows_per_pe) + int(op.accumulate)
    return roundings // len(scenario.gemm.tiles)


def check_reference(config, scenario, assembled):
    """Check an assembled GEMM against the independent reference: equal to
    :func:`reference_gemm` (int8), or within ``floats.error_bound`` of the exact product (MX:
    of the exact product of the scaled elements, each pass in its own x4 layout).

    The bound of ``floats.error_bound`` grows with the number J of roundings an element goes
    through; a tiled GEMM adds PSUM accumulations to the PE steps, so the operands are padded
    with zero rows (which add no term) until its J is the tiled GEMM's.
    """
    fmt = scenario.matmul_format
    if fmt == INT8:
        check_equal(reference_gemm(*scenario.operands), assembled,
                    f"{scenario.name}: assembled GEMM")
        return
    if fmt.mx:
        exact, bound = _mx_reference(config, scenario)
    else:
        stationary, moving = scenario.operands
        padding = _float_roundings(config, scenario) * fmt.rows_per_pe - stationary.shape[0]
        stationary, moving = (np.pad(floats.as_bits(operand, name),
                                     ((0, max(0, padding)), (0, 0)))
                              for operand, name in ((stationary, fmt.stationary),
                                                    (moving, fmt.moving)))
        bound = floats.error_bound(stationary, moving, fmt.stationary, fmt.moving,
                                   fmt.double_row)
        exact = floats.exact_matmul(stationary, moving, fmt.stationary, fmt.moving)
    values = floats.decode_fp32(assembled)
    outside = [(index, values[index], float(exact[index]), bound[index])
               for index in np.ndindex(values.shape)
               if not abs(Fraction(values[index]) - exact[index]) <= Fraction(bound[index])]
    if outside:
        raise AssertionError(f"{scenario.name}: {len(outside)} of {values.size} elements lie "
                             f"beyond the error bound of the exact product, first (m, n), "
                             f"value, exact, bound: {outside[0]}")


def _mx_reference(config, scenario):
    """The exact product of an MX GEMM's scaled elements and the error bound of its J
    roundings (``floats.summation_bound``): object [M, N] Fractions, float64 [M, N]."""
    fmt = scenario.matmul_format
    stationary, moving, stationary_scale, moving_scale = scenario.operands
    pass_k = pass_rows(config, fmt)
    stationary, moving = (mx.gemm_values(codes, scales, name, pass_k)
                          for codes, scales, name in ((stationary, stationary_scale,
                                                       fmt.stationary),
                                                      (moving, moving_scale, fmt.moving)))
    exact = floats.exact_sums(stationary, moving, *(mx.value_unit(name) for name in
                                                    (fmt.stationary, fmt.moving)))
    return exact, floats.summation_bound(stationary, moving, _float_roundings(config, scenario))
