"""cocotb tests of the distributed GEMM ring (``hdl.fabric.gemm.DistributedGemm``).

Each GEMM has seeded random int8 operands and its K dimension split across the nodes in random
slices, one of them longer than R so that its node runs several K chunks through the tiler.
Every node runs its slice's tile program (``sim_models.distributed_gemm.split_gemm``), and
every element of every node's all-reduced output is compared with numpy's ``stationary.T @
moving`` over the whole K, wrapped to int32. The stalled test runs GEMMs back to back with
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
from sim_models.distributed_gemm import reduced_vector, split_gemm
from sim_models.fabric import ZeroLoadLatency

from .harness_timing import STALL_PROBABILITY
from .checker import check_equal
from .distributed_gemm_harness import GemmHarness
from .records import record_measurements
from .run_context import design_config, seeded_rng

#: GEMMs run back to back by the stalled test.
ROUNDS = 2


def _random_gemm(rng, tile, nodes, columns):
    """Operands and K slices of one GEMM: M in 1..C, N = ``columns``, K slices in 1..R + 1
    except one, in R + 1..2R + 1, taken by a random node.

    Returns
    -------
    tuple of (numpy.ndarray, numpy.ndarray, list of int)
        stationary [K, M], moving [K, N] (int8), and each node's rows of K.
    """
    sizes = rng.integers(1, tile.rows + 2, nodes)
    sizes[rng.integers(nodes)] = rng.integers(tile.rows + 1, 2 * tile.rows + 2)
    k, m = int(sizes.sum()), int(rng.integers(1, tile.cols + 1))
    stationary = rng.integers(-128, 128, (k, m), dtype=np.int8)
    moving = rng.integers(-128, 128, (k, columns), dtype=np.int8)
    return stationary, moving, sizes.tolist()


def _budget(tile, ring, columns, programs):
    """Cycles one GEMM takes at most with ideal streams: the longest node program, its
    result vectors through the serializer, and the all-reduce."""
    estimate = AllReduceEstimate(ring.nodes, columns * tile.cols, ring.flit_width // 32,
                                 ZeroLoadLatency(buffer_depth=ring.buffer_depth))
    longest = max(time_program(tile, program).total_cycles for program in programs)
    return longest + columns * tile.cols + estimate.cycles(), estimate


async def _start(dut, test_name):
    """Tile and ring configurations, result columns per all-reduce, seeded generator and a
    freshly reset harness for one test."""
    config = design_config()
    tile, ring, columns = config.tile, config.ring, config.columns
    rng = seeded_rng(test_name)
    harness = GemmHarness(dut, tile, ring.nodes)
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
    timeout = 20 * sum(_budget(tile, ring, columns, [p.program for p in part])[0]
                       for part in parts)
    results, _, outputs = await harness.run_programs(programs, ROUNDS * length, timeout, rng)
    expected = np.stack([reduced_vector(stationary, moving, tile.cols)
                         for stationary, moving, _ in gemms])
    _check_results(tile, columns, np.broadcast_to(expected, (ring.nodes, *expected.shape)),
                  results.reshape(ring.nodes, ROUNDS, length), "distributed GEMM results")
    record_measurements(design_config(), "gemm_stalled", rounds=ROUNDS,
                        slices=[gemm[2] for gemm in gemms], stall_probability=STALL_PROBABILITY,
                        cycles=int(outputs.max()))
    dut._log.info("gemm_stalled: %d GEMMs (K slices %s) correct on all %d nodes in %d cycles",
                  ROUNDS, [gemm[2] for gemm in gemms], ring.nodes, outputs.max())


@cocotb.test()
async def gemm_ideal(dut):
    """One GEMM with ideal streams: every element of every node equals numpy's product."""
    tile, ring, columns, rng, harness = await _start(dut, "gemm_ideal")
    stationary, moving, slices = _random_gemm(rng, tile, ring.nodes, columns)
    programs = [part.program for part in split_gemm(tile, stationary, moving, slices)]
    limit, estimate = _budget(tile, ring, columns, programs)
    results, first, outputs = await harness.run_programs(programs, columns * tile.cols,
                                                         2 * limit)
    expected = reduced_vector(stationary, moving, tile.cols)
    _check_results(tile, columns, np.broadcast_to(expected, (ring.nodes, 1, expected.size)),
                  results[:, None], "distributed GEMM results")
    cycles = int(outputs.max()) - first
    record_measurements(design_config(), "gemm_ideal", slices=slices, m=stationary.shape[1],
                        k=stationary.shape[0], cycles=cycles,
                        allreduce_estimate_cycles=estimate.cycles(),
                        tile_model_cycles=[time_program(tile, program).total_cycles
                                           for program in programs])
    dut._log.info("gemm_ideal: K slices %s, M %d, N %d correct on all %d nodes in %d cycles "
                  "(all-reduce alone: %d)", slices, stationary.shape[1], columns, ring.nodes,
                  cycles, estimate.cycles())
