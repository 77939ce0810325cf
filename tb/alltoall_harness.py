"""The all-to-all harness: drives every node's counts and elements and collects every node's
received counts and elements."""

import cocotb
import numpy as np

from .harness_timing import stall_probability
from .node_harness import NodeStreamsHarness
from .streams import CycleCounter, StreamDriver, StreamMonitor

__all__ = ["AllToAllHarness"]

INPUTS = ("counts", "i")
OUTPUTS = ("counts_out", "o")


class AllToAllHarness(NodeStreamsHarness):
    """Drives and collects the streams of an all-to-all design (``hdl.fabric.alltoall``).

    Parameters
    ----------
    dut : cocotb handle of the top module
    nodes : int
    """
    def __init__(self, dut, nodes):
        super().__init__(dut, nodes, INPUTS, OUTPUTS)

    async def run(self, rounds, timeout, rng=None):
        """Run all-to-alls back to back.

        Parameters
        ----------
        rounds : list of list of list of sequence of int
            Per all-to-all, ``blocks[source][destination]``: the elements each node sends.
        timeout : int
            Cycles after which the run fails.
        rng : numpy.random.Generator or None
            Source of idle cycles and backpressure; ideal streams if None.

        Returns
        -------
        tuple of (list of list of int, list of list of int, int, int)
            Per node, the counts and the elements it gave, all rounds in order; the cycle of
            the first input and of the last output handshake.
        """
        stall = stall_probability(rng)
        counter = CycleCounter(self.dut.clk)
        tasks, collects = [], []
        for node in range(self.nodes):
            counts = [len(block) for blocks in rounds for block in blocks[node]]
            elements = [int(e) for blocks in rounds for block in blocks[node] for e in block]
            for name, payloads in zip(INPUTS, (counts, elements)):
                driver = StreamDriver(self.dut.clk, *self.stream(name, node),
                                      idle_probability=stall, rng=rng, counter=counter)
                tasks.append(cocotb.start_soon(driver.send(payloads)))
            expected = (len(rounds) * self.nodes,
                        sum(len(blocks[source][node]) for blocks in rounds
                            for source in range(self.nodes)))
            for name, count in zip(OUTPUTS, expected):
                monitor = StreamMonitor(self.dut.clk, *self.stream(name, node),
                                        backpressure_probability=stall, rng=rng,
                                        counter=counter)
                collects.append(cocotb.start_soon(monitor.collect(count)))
        await self.finish(tasks + collects, timeout, counter,
                          lambda: f"All-to-all unfinished after {timeout} cycles")
        results = [task.result() for task in collects]
        counts = [list(results[2 * node].payloads) for node in range(self.nodes)]
        elements = [list(results[2 * node + 1].payloads) for node in range(self.nodes)]
        first = min(task.result().cycles[0] for task in tasks if task.result().cycles)
        last = max(int(np.max(result.cycles)) for result in results if len(result.cycles))
        return counts, elements, first, last
