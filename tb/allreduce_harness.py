"""The all-reduce harness: drives every node's local input stream and collects every node's
results, for an all-reduce ring and for designs whose nodes end in all-reduce interfaces."""

import cocotb
import numpy as np

from .harness_timing import stall_probability
from .node_harness import NodeStreamsHarness
from .streams import CycleCounter, StreamDriver, StreamMonitor, pack_array, unpack_array

__all__ = ["AllReduceHarness"]


class AllReduceHarness(NodeStreamsHarness):
    """Drives every node's local input and collects every node's results.

    Parameters
    ----------
    dut : cocotb handle of the top module: an all-reduce ring, or a design whose nodes end in
        all-reduce interfaces with an ``o`` stream each
    nodes : int
    inputs : tuple of str
        Names of each node's input streams (``<name>__<node>``), held idle during reset.
    width : int
        Bits per element of the ``i`` and ``o`` streams.
    signed : bool
        Elements are two's-complement integers (int32), not bit patterns (FP32, BF16).
    """
    def __init__(self, dut, nodes, inputs=("i",), width=32, signed=True):
        super().__init__(dut, nodes, inputs, ("o",))
        self._width, self._signed = width, signed

    async def run(self, vectors, timeout, rng=None, results=None):
        """Send ``vectors`` and collect ``results`` results from every node.

        Parameters
        ----------
        vectors : numpy.ndarray of int, shape (nodes, elements)
            Each node's inputs: one or more vectors, back to back.
        timeout : int
            Cycles after which the run fails.
        rng : numpy.random.Generator or None
            Source of idle cycles and backpressure; ideal streams if None.
        results : int or None
            Results per node; as many as inputs if None.

        Returns
        -------
        tuple of (numpy.ndarray, numpy.ndarray, numpy.ndarray)
            Results, shape (nodes, results); the cycle of each input handshake, shape (nodes,
            elements), and of each output handshake, shape (nodes, results).
        """
        stall = stall_probability(rng)
        counter = CycleCounter(self.dut.clk)
        sends = []
        for node, vector in enumerate(vectors):
            driver = StreamDriver(self.dut.clk, *self.stream("i", node), idle_probability=stall,
                                  rng=rng, counter=counter)
            sends.append(cocotb.start_soon(driver.send(pack_array(self._width, vector[:, None]))))
        count = vectors.shape[1] if results is None else results
        outputs, cycles = await self.collect(sends, count, timeout, rng, counter)
        return outputs, np.array([task.result().cycles for task in sends]), cycles

    async def collect(self, sends, count, timeout, rng, counter):
        """Take ``count`` results from every node's ``o`` while the input tasks ``sends`` run.

        With ``rng``, random backpressure on every output; without, outputs are always ready.
        Fails once ``counter`` passes ``timeout`` cycles, or if any node offers more results.

        Returns
        -------
        tuple of (numpy.ndarray, numpy.ndarray)
            Results and the cycle of each output handshake, each shape (nodes, count).
        """
        stall = stall_probability(rng)
        collects = []
        for node in range(self.nodes):
            monitor = StreamMonitor(self.dut.clk, *self.stream("o", node),
                                    backpressure_probability=stall, rng=rng, counter=counter)
            collects.append(cocotb.start_soon(monitor.collect(count)))

        def unfinished():
            done = sum(len(task.result().payloads) for task in collects if task.done())
            return (f"Collective unfinished after {timeout} cycles: {done} of "
                    f"{self.nodes * count} results delivered by nodes that finished")
        await self.finish(sends + collects, timeout, counter, unfinished)
        results = np.stack([unpack_array(self._width, 1, task.result().payloads,
                                         self._signed)[:, 0]
                            for task in collects])
        return results, np.array([task.result().cycles for task in collects])
