"""cocotb tests of the distributed GEMM ring (``hdl.fabric.gemm.DistributedGemm``).

Each GEMM has seeded random int8 operands and its K dimension split across the nodes in random
slices, one of them longer than R so that its node runs several K chunks through the tiler.
Every node runs its slice's tile program (``sim_models.distributed_gemm.split_gemm``), and
every element of every node's all-reduced output is compared with numpy's ``stationary.T @
moving`` over the whole K, wrapped to int32. The stalled test runs GEMMs back to back with
random idle cycles on every tile input and backpressure on every output; the ideal test runs
one with ideal streams and records its cycles.

Run through ``tb.test_gemm_sim`` (pytest), which passes the configuration in the environment:
GEMM_ROWS, GEMM_COLS (each tile), GEMM_NODES, GEMM_COLUMNS (result vectors per all-reduce),
GEMM_FLIT_WIDTH, GEMM_LENGTH_WIDTH, GEMM_BUFFER_DEPTH, GEMM_SEED and GEMM_RESULTS (JSON-lines
file receiving the measurements).
"""

import json
import os

import cocotb
import numpy as np

from sim_models.config import FabricConfig
from sim_models.config import TileConfig
from sim_models.allreduce import AllReduceEstimate
from sim_models.cycle_model import time_program
from sim_models.distributed_gemm import reduced_vector, split_gemm
from sim_models.fabric import ZeroLoadLatency

from .allreduce_tb import STALL_PROBABILITY, AllReduceHarness
from .checker import check_equal
from .regression import seeded_rng
from .streams import CycleCounter, StreamDriver
from .tile_tb import ProgramPacker

#: GEMMs run back to back by the stalled test.
ROUNDS = 2
#: Tile input streams of every node, in the order the packer gives their beats.
TILE_INPUTS = ("op", "stationary", "moving")


def config_from_env():
    """Tile and ring configurations and result vectors per all-reduce of the design."""
    tile = TileConfig(int(os.environ["GEMM_ROWS"]), int(os.environ["GEMM_COLS"]))
    ring = FabricConfig.ring(int(os.environ["GEMM_NODES"]),
                             flit_width=int(os.environ["GEMM_FLIT_WIDTH"]),
                             length_width=int(os.environ["GEMM_LENGTH_WIDTH"]),
                             buffer_depth=int(os.environ["GEMM_BUFFER_DEPTH"]))
    return tile, ring, int(os.environ["GEMM_COLUMNS"])


def record(tile, ring, columns, test, **measurements):
    """Append one record to the GEMM_RESULTS JSON-lines file."""
    path = os.environ.get("GEMM_RESULTS")
    if path:
        entry = {"config": f"{tile.name}_{ring.name}_n{columns}", "nodes": ring.nodes,
                 "rows": tile.rows, "cols": tile.cols, "columns": columns,
                 "simulator": cocotb.SIM_NAME, "test": test, **measurements}
        with open(path, "a") as file:
            file.write(json.dumps(entry) + "\n")


def random_gemm(rng, tile, nodes, columns):
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


class GemmHarness(AllReduceHarness):
    """Drives a tile program into every node and collects every node's reduced output.

    Parameters
    ----------
    dut : cocotb handle of the distributed GEMM's top module
    tile : TileConfig
    nodes : int
    """
    def __init__(self, dut, tile, nodes):
        super().__init__(dut, nodes, inputs=TILE_INPUTS)
        self._packer = ProgramPacker(tile)

    async def run_programs(self, programs, count, timeout, rng=None):
        """Run one program per node and take ``count`` output elements from every node.

        Parameters
        ----------
        programs : list of list of Operation
            Each node's tile program.
        count : int
            Elements expected from every node's ``o``.
        timeout : int
            Cycles after which the run fails.
        rng : numpy.random.Generator or None
            Source of idle cycles and backpressure; ideal streams if None.

        Returns
        -------
        tuple of (numpy.ndarray, int, numpy.ndarray)
            Results, shape (nodes, count); the cycle of the first input handshake on any
            stream; the cycle of each output handshake, shape (nodes, count).
        """
        stall = STALL_PROBABILITY if rng is not None else 0.0
        counter = CycleCounter(self.dut.clk)
        sends = []
        for node, program in enumerate(programs):
            beats = self._packer.beats(program)
            for name, payloads in zip(TILE_INPUTS, (beats.ops, beats.stationary, beats.moving)):
                driver = StreamDriver(self.dut.clk, *self.stream(name, node),
                                      idle_probability=stall, rng=rng, counter=counter)
                sends.append(cocotb.start_soon(driver.send(payloads)))
        results, outputs = await self.collect(sends, count, timeout, rng, counter)
        first = min(task.result().cycles[0] for task in sends if task.result().cycles)
        return results, first, outputs


def budget(tile, ring, columns, programs):
    """Cycles one GEMM takes at most with ideal streams: the longest node program, its
    result vectors through the serializer, and the all-reduce."""
    estimate = AllReduceEstimate(ring.nodes, columns * tile.cols, ring.flit_width // 32,
                                 ZeroLoadLatency(buffer_depth=ring.buffer_depth))
    longest = max(time_program(tile, program).total_cycles for program in programs)
    return longest + columns * tile.cols + estimate.cycles(), estimate


async def start(dut, test_name):
    """Configuration, seeded generator and a freshly reset harness for one test."""
    tile, ring, columns = config_from_env()
    rng = seeded_rng("GEMM_SEED", test_name)
    harness = GemmHarness(dut, tile, ring.nodes)
    await harness.reset()
    return tile, ring, columns, rng, harness


def check_results(tile, columns, expected, results, name):
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
    tile, ring, columns, rng, harness = await start(dut, "gemm_stalled")
    gemms = [random_gemm(rng, tile, ring.nodes, columns) for _ in range(ROUNDS)]
    parts = [split_gemm(tile, *gemm) for gemm in gemms]
    programs = [[op for part in parts for op in part[node].program]
                for node in range(ring.nodes)]
    length = columns * tile.cols
    timeout = 20 * sum(budget(tile, ring, columns, [p.program for p in part])[0]
                       for part in parts)
    results, _, outputs = await harness.run_programs(programs, ROUNDS * length, timeout, rng)
    expected = np.stack([reduced_vector(stationary, moving, tile.cols)
                         for stationary, moving, _ in gemms])
    check_results(tile, columns, np.broadcast_to(expected, (ring.nodes, *expected.shape)),
                  results.reshape(ring.nodes, ROUNDS, length), "distributed GEMM results")
    record(tile, ring, columns, "gemm_stalled", rounds=ROUNDS,
           slices=[gemm[2] for gemm in gemms], stall_probability=STALL_PROBABILITY,
           cycles=int(outputs.max()))
    dut._log.info("gemm_stalled: %d GEMMs (K slices %s) correct on all %d nodes in %d cycles",
                  ROUNDS, [gemm[2] for gemm in gemms], ring.nodes, outputs.max())


@cocotb.test()
async def gemm_ideal(dut):
    """One GEMM with ideal streams: every element of every node equals numpy's product."""
    tile, ring, columns, rng, harness = await start(dut, "gemm_ideal")
    stationary, moving, slices = random_gemm(rng, tile, ring.nodes, columns)
    programs = [part.program for part in split_gemm(tile, stationary, moving, slices)]
    limit, estimate = budget(tile, ring, columns, programs)
    results, first, outputs = await harness.run_programs(programs, columns * tile.cols,
                                                         2 * limit)
    expected = reduced_vector(stationary, moving, tile.cols)
    check_results(tile, columns, np.broadcast_to(expected, (ring.nodes, 1, expected.size)),
                  results[:, None], "distributed GEMM results")
    cycles = int(outputs.max()) - first
    record(tile, ring, columns, "gemm_ideal", slices=slices, m=stationary.shape[1],
           k=stationary.shape[0], cycles=cycles, allreduce_estimate_cycles=estimate.cycles(),
           tile_model_cycles=[time_program(tile, program).total_cycles for program in programs])
    dut._log.info("gemm_ideal: K slices %s, M %d, N %d correct on all %d nodes in %d cycles "
                  "(all-reduce alone: %d)", slices, stationary.shape[1], columns, ring.nodes,
                  cycles, estimate.cycles())
