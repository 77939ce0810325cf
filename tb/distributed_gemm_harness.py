"""The distributed GEMM's harness: drives a tile program into every node's op, stationary and
moving streams and collects every node's all-reduced output."""

import cocotb

from .allreduce_harness import AllReduceHarness
from .harness_timing import stall_probability
from .program_packer import ProgramPacker
from .streams import CycleCounter, StreamDriver

__all__ = ["TILE_INPUTS", "GemmHarness"]

#: Tile input streams of every node, in the order the packer gives their beats.
TILE_INPUTS = ("op", "stationary", "moving")


class GemmHarness(AllReduceHarness):
    """Drives a tile program into every node and collects every node's reduced output.

    Parameters
    ----------
    dut : cocotb handle of the distributed GEMM's top module
    tile : TileConfig
    nodes : int
    signed : bool
        The outputs are int32 values (an int8 tile), not FP32 bit patterns.
    """
    def __init__(self, dut, tile, nodes, signed=True):
        super().__init__(dut, nodes, inputs=TILE_INPUTS, signed=signed)
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
        stall = stall_probability(rng)
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
