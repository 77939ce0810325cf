"""cocotb tests of the distributed GEMM ring (``hdl.fabric.gemm.DistributedGemm``).

Each GEMM has seeded random operands (int8, or on a floating-point tile one of its formats,
FP8 sometimes in double-row mode) and its K dimension split across the nodes in random slices,
one of them longer than a K chunk so that its node runs several chunks through the tiler.
Every node runs its slice's tile program (``sim_models.distributed_gemm.split_gemm``), and
every element of every node's all-reduced output is compared, bit for bit, with numpy's
``stationary.T @ moving`` over the whole K, wrapped to int32, or on a floating-point tile with
each node's FP32 result from the tile model all-reduced in the rule's order
(``sim_models.distributed_gemm.distributed_result``). The stalled test runs GEMMs back to back with
random idle cycles on every tile input and backpressure on every output; the ideal test runs
one with ideal streams and records its cycles.

Run through ``tb.test_distributed_gemm_sim`` (pytest) and :func:`tb.launch.simulate`: the
configuration (a DistributedGemmConfig: tile, ring, result columns per all-reduce) comes from
the design's sidecar, the seed and the results file (:func:`tb.records.record_measurements`)
from the run request.
"""

import cocotb
import numpy as np

from sim_models.allreduce import AllReduceEstimate
from sim_models.cycle_model import time_program
from sim_models.distributed_gemm import distributed_result, reduced_vector, split_gemm
from sim_models.golden import is_fp8
from sim_models.program import INT8, MatmulFormat

from .checker import check_equal
from .distributed_gemm_harness import GemmHarness
from .float_scenarios import encode
from .harness_timing import STALL_PROBABILITY
from .records import record_measurements
from .run_context import design_config, seeded_rng

#: GEMMs run back to back by the stalled test.
ROUNDS = 2


def _matmul_format(rng, tile):
    """int8 on an int8 tile; else one of the tile's formats for both operands, FP8 in
    double-row mode half of the time."""
    if not tile.floating:
        return INT8
    name = str(rng.choice(tile.formats))
    return MatmulFormat(name, name, bool(is_fp8(name) and rng.random() < 0.5))


def _operand(rng, matmul_format, name, shape):
    """int8 values, or values of magnitude 2**-6..2**6 of either sign rounded to the format
    (sums that round and cancel), as bit patterns."""
    format_name = getattr(matmul_format, name)
    if format_name == "int8":
        return rng.integers(-128, 128, shape, dtype=np.int8)
    return encode(rng.choice([-1, 1], shape) * 2.0 ** rng.uniform(-6, 6, shape), format_name)


def _random_gemm(rng, tile, nodes, columns):
    """Operands and K slices of one GEMM: M in 1..C, N = ``columns``; with K chunks of R' rows
    (R, or 2R in double-row mode), K slices in 1..R' + 1 except one, in R' + 1..2R' + 1,
    taken by a random node.

    Returns
    -------
    tuple of (numpy.ndarray, numpy.ndarray, list of int, MatmulFormat)
        stationary [K, M], moving [K, N], each node's rows of K, and the operands' formats.
    """
    matmul_format = _matmul_format(rng, tile)
    chunk = tile.rows * matmul_format.rows_per_pe
    sizes = rng.integers(1, chunk + 2, nodes)
    sizes[rng.integers(nodes)] = rng.integers(chunk + 1, 2 * chunk + 2)
    k, m = int(sizes.sum()), int(rng.integers(1, tile.cols + 1))
    stationary = _operand(rng, matmul_format, "stationary", (k, m))
    moving = _operand(rng, matmul_format, "moving", (k, columns))
    return stationary, moving, sizes.tolist(), matmul_format


def _expected(tile, gemm, parts):
    """Every node's output of one GEMM: numpy's exact product wrapped to int32, or the tile
    model's FP32 results all-reduced in the rule's order."""
    stationary, moving = gemm[:2]
    if not tile.floating:
        return reduced_vector(stationary, moving, tile.cols)
    return distributed_result(tile, parts)


def _budget(config, programs):
    """Cycles one GEMM takes at most with ideal streams: the longest node program, its
    result vectors through the serializer, and the all-reduce."""
    estimate = AllReduceEstimate.of(config.allreduce)
    longest = max(time_program(config.tile, program).total_cycles for program in programs)
    return longest + config.vector_length + estimate.cycles(), estimate


async def _start(dut, test_name):
    """Tile and ring configurations, result columns per all-reduce, seeded generator and a
    freshly reset harness for one test."""
    config = design_config()
    tile, ring, columns = config.tile, config.ring, config.columns
    rng = seeded_rng(test_name)
    harness = GemmHarness(dut, tile, ring.nodes, signed=not tile.floating)
    await harness.reset()
    return tile, ring, columns, rng, harness


def _check_results(tile, columns, expected, results, name):
    """Compare every element: ``expected`` and ``results`` have shape (nodes, rounds,
    columns * C)."""
    nodes, rounds = results.shape[:2]
    shape = (nodes, rounds, columns, tile.cols)
    check_equal(expected.reshape(shape), results.reshape(shape), name,
                ("node", "GEMM", "result column n", "lane m"))


@cocotb.test()
async def gemm_stalled(dut):
    """GEMMs back to back with random idle cycles on every tile input and backpressure on every
    output: every element of every node equals numpy's product over the whole K."""
    tile, ring, columns, rng, harness = await _start(dut, "gemm_stalled")
    gemms = [_random_gemm(rng, tile, ring.nodes, columns) for _ in range(ROUNDS)]
    parts = [split_gemm(tile, *gemm) for gemm in gemms]
    programs = [[op for part in parts for op in part[node].program]
                for node in range(ring.nodes)]
    length = columns * tile.cols
    timeout = 20 * sum(_budget(design_config(), [p.program for p in part])[0]
                       for part in parts)
    results, _, outputs = await harness.run_programs(programs, ROUNDS * length, timeout, rng)
    expected = np.stack([_expected(tile, gemm, part) for gemm, part in zip(gemms, parts)])
    _check_results(tile, columns, np.broadcast_to(expected, (ring.nodes, *expected.shape)),
                  results.reshape(ring.nodes, ROUNDS, length), "distributed GEMM results")
    record_measurements(design_config(), "gemm_stalled", rounds=ROUNDS,
                        slices=[gemm[2] for gemm in gemms],
                        formats=[gemm[3].name for gemm in gemms],
                        stall_probability=STALL_PROBABILITY, cycles=int(outputs.max()))
    dut._log.info("gemm_stalled: %d GEMMs (K slices %s, formats %s) correct on all %d nodes in "
                  "%d cycles", ROUNDS, [gemm[2] for gemm in gemms],
                  [gemm[3].name for gemm in gemms], ring.nodes, outputs.max())


@cocotb.test()
async def gemm_ideal(dut):
    """One GEMM with ideal streams: every element of every node equals numpy's product."""
    tile, ring, columns, rng, harness = await _start(dut, "gemm_ideal")
    gemm = _random_gemm(rng, tile, ring.nodes, columns)
    stationary, moving, slices, matmul_format = gemm
    parts = split_gemm(tile, *gemm)
    programs = [part.program for part in parts]
    limit, estimate = _budget(design_config(), programs)
    results, first, outputs = await harness.run_programs(programs, columns * tile.cols,
                                                         2 * limit)
    expected = _expected(tile, gemm, parts)
    _check_results(tile, columns, np.broadcast_to(expected, (ring.nodes, 1, expected.size)),
                  results[:, None], "distributed GEMM results")
    cycles = int(outputs.max()) - first
    record_measurements(design_config(), "gemm_ideal", slices=slices, format=matmul_format.name,
                        m=stationary.shape[1],
                        k=stationary.shape[0], cycles=cycles,
                        allreduce_estimate_cycles=estimate.cycles(),
                        tile_model_cycles=[time_program(tile, program).total_cycles
                                           for program in programs])
    dut._log.info("gemm_ideal: K slices %s, M %d, N %d correct on all %d nodes in %d cycles "
                  "(all-reduce alone: %d)", slices, stationary.shape[1], columns, ring.nodes,
                  cycles, estimate.cycles())
