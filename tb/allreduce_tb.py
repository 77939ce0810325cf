"""cocotb tests of the all-reduce ring (``hdl.fabric.allreduce.AllReduceRing``).

Every node's results are compared, element by element, with the numpy reference
(``sim_models.allreduce``); inputs lie near the int32 limits so that the sums wrap around. The
random test inserts idle cycles on every local input and backpressure on every local output and
runs several all-reduces back to back; the cycle test runs one with ideal streams, whose
duration must equal the analytic estimate.

Run through ``tb.test_allreduce_sim`` (pytest), which passes the configuration in the
environment: ALLREDUCE_NODES, ALLREDUCE_LENGTH (elements per vector), ALLREDUCE_FLIT_WIDTH,
ALLREDUCE_LENGTH_WIDTH, ALLREDUCE_BUFFER_DEPTH, ALLREDUCE_SEED and ALLREDUCE_RESULTS (JSON-lines
file receiving the measurements).
"""

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from sim_models.config import FabricConfig
from sim_models.allreduce import INT32_MAX, INT32_MIN, AllReduceEstimate, allreduce_reference
from sim_models.fabric import ZeroLoadLatency

from .checker import check_equal
from .regression import seeded_rng
from .streams import CycleCounter, StreamDriver, StreamMonitor, pack_array, unpack_array

#: Probability of an idle gap before an input element, and of a cycle without output ready.
STALL_PROBABILITY = 0.3
#: All-reduces run back to back by the random test.
ROUNDS = 3
#: Clock period of the simulation (ns); only the cycle count matters.
CLOCK_NS = 10
#: Inputs lie within this distance of INT32_MIN or INT32_MAX, or anywhere, a third each.
NEAR_LIMIT = 1000


def config_from_env():
    """Fabric configuration and vector length of the design under test."""
    config = FabricConfig.ring(int(os.environ["ALLREDUCE_NODES"]),
                               flit_width=int(os.environ["ALLREDUCE_FLIT_WIDTH"]),
                               length_width=int(os.environ["ALLREDUCE_LENGTH_WIDTH"]),
                               buffer_depth=int(os.environ["ALLREDUCE_BUFFER_DEPTH"]))
    return config, int(os.environ["ALLREDUCE_LENGTH"])


def record(config, length, test, **measurements):
    """Append one record to the ALLREDUCE_RESULTS JSON-lines file."""
    path = os.environ.get("ALLREDUCE_RESULTS")
    if path:
        entry = {"config": f"{config.name}_v{length}", "nodes": config.nodes,
                 "vector_length": length, "simulator": cocotb.SIM_NAME, "test": test,
                 **measurements}
        with open(path, "a") as file:
            file.write(json.dumps(entry) + "\n")


def random_vectors(rng, shape):
    """int32 values, a third each near INT32_MAX, near INT32_MIN and anywhere."""
    near_max = INT32_MAX - rng.integers(0, NEAR_LIMIT, shape)
    near_min = INT32_MIN + rng.integers(0, NEAR_LIMIT, shape)
    anywhere = rng.integers(INT32_MIN, INT32_MAX, shape, endpoint=True)
    return np.choose(rng.integers(0, 3, shape), [near_max, near_min, anywhere])


class AllReduceHarness:
    """Drives every node's local input and collects every node's results.

    Parameters
    ----------
    dut : cocotb handle of the top module: an all-reduce ring, or a design whose nodes end in
        all-reduce interfaces with an ``o`` stream each
    nodes : int
    inputs : tuple of str
        Names of each node's input streams (``<name>__<node>``), held idle during reset.
    """
    def __init__(self, dut, nodes, inputs=("i",)):
        self.dut = dut
        self.nodes = nodes
        self._inputs = inputs
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())

    def stream(self, name, node):
        """(valid, ready, payload) handles of stream ``name`` of ``node``."""
        return [getattr(self.dut, f"{name}__{node}__{signal}")
                for signal in ("valid", "ready", "payload")]

    async def reset(self, cycles=3):
        """Hold reset with every valid and ready low; release it just after a rising edge."""
        for node in range(self.nodes):
            for name in self._inputs:
                self.stream(name, node)[0].value = 0
            self.stream("o", node)[1].value = 0
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    async def run(self, vectors, timeout, rng=None):
        """Send ``vectors`` and collect as many results from every node.

        Parameters
        ----------
        vectors : numpy.ndarray of int, shape (nodes, elements)
            Each node's inputs: one or more vectors, back to back.
        timeout : int
            Cycles after which the run fails.
        rng : numpy.random.Generator or None
            Source of idle cycles and backpressure; ideal streams if None.

        Returns
        -------
        tuple of (numpy.ndarray, numpy.ndarray, numpy.ndarray)
            Results, shape (nodes, elements); the cycle of each input and of each output
            handshake, each shape (nodes, elements).
        """
        stall = STALL_PROBABILITY if rng is not None else 0.0
        counter = CycleCounter(self.dut.clk)
        sends = []
        for node, vector in enumerate(vectors):
            driver = StreamDriver(self.dut.clk, *self.stream("i", node), idle_probability=stall,
                                  rng=rng, counter=counter)
            sends.append(cocotb.start_soon(driver.send(pack_array(32, vector[:, None]))))
        results, outputs = await self.collect(sends, vectors.shape[1], timeout, rng, counter)
        return results, np.array([task.result().cycles for task in sends]), outputs

    async def collect(self, sends, count, timeout, rng, counter):
        """Take ``count`` results from every node's ``o`` while the input tasks ``sends`` run.

        With ``rng``, random backpressure on every output; without, outputs are always ready.
        Fails once ``counter`` passes ``timeout`` cycles, or if any node offers more results.

        Returns
        -------
        tuple of (numpy.ndarray, numpy.ndarray)
            Results and the cycle of each output handshake, each shape (nodes, count).
        """
        stall = STALL_PROBABILITY if rng is not None else 0.0
        collects = []
        for node in range(self.nodes):
            monitor = StreamMonitor(self.dut.clk, *self.stream("o", node),
                                    backpressure_probability=stall, rng=rng, counter=counter)
            collects.append(cocotb.start_soon(monitor.collect(count)))
        tasks = sends + collects
        while not all(task.done() for task in tasks):
            await ClockCycles(self.dut.clk, 8)
            if counter.cycle > timeout:
                for task in tasks:
                    task.cancel()
                done = sum(len(task.result().payloads) for task in collects if task.done())
                raise AssertionError(f"All-reduce unfinished after {timeout} cycles: "
                                     f"{done} of {self.nodes * count} results delivered by "
                                     f"nodes that finished")
        # Nothing more may come out once every result is in.
        await ClockCycles(self.dut.clk, 20)
        await ReadOnly()
        extra = [node for node in range(self.nodes) if self.stream("o", node)[0].value == 1]
        assert not extra, f"Nodes {extra} offer results beyond the expected ones"
        await RisingEdge(self.dut.clk)
        results = np.stack([unpack_array(32, 1, task.result().payloads)[:, 0]
                            for task in collects])
        return results, np.array([task.result().cycles for task in collects])


async def start(dut, test_name):
    """Configuration, seeded generator, estimate and a freshly reset harness for one test."""
    config, length = config_from_env()
    rng = seeded_rng("ALLREDUCE_SEED", test_name)
    estimate = AllReduceEstimate(config.nodes, length, config.flit_width // 32,
                                 ZeroLoadLatency(buffer_depth=config.buffer_depth))
    harness = AllReduceHarness(dut, config.nodes)
    await harness.reset()
    return config, length, rng, estimate, harness


@cocotb.test()
async def random_traffic(dut):
    """Back-to-back all-reduces of random vectors near the int32 limits, with random idle
    cycles on the inputs and backpressure on the outputs."""
    config, length, rng, estimate, harness = await start(dut, "random_traffic")
    vectors = random_vectors(rng, (ROUNDS, config.nodes, length))
    inputs = vectors.transpose(1, 0, 2).reshape(config.nodes, ROUNDS * length)
    results, _, outputs = await harness.run(inputs, 20 * ROUNDS * estimate.cycles(), rng)
    expected = np.stack([allreduce_reference(round_vectors) for round_vectors in vectors])
    check_equal(expected.transpose(1, 0, 2),
                results.reshape(config.nodes, ROUNDS, length),
                "all-reduce results", ("node", "round", "element"))
    record(config, length, "random_traffic", rounds=ROUNDS, stall_probability=STALL_PROBABILITY,
           cycles=int(outputs.max()))
    dut._log.info("random_traffic: %d all-reduces of %d elements on %d nodes correct in %d "
                  "cycles", ROUNDS, length, config.nodes, outputs.max())


@cocotb.test()
async def ideal_cycles(dut):
    """One all-reduce with ideal streams: correct, and exactly as long as the estimate."""
    config, length, rng, estimate, harness = await start(dut, "ideal_cycles")
    vectors = random_vectors(rng, (config.nodes, length))
    results, inputs, outputs = await harness.run(vectors, 20 * estimate.cycles())
    check_equal(allreduce_reference(vectors), results, "all-reduce results",
                ("node", "element"))
    measured = int(outputs.max() - inputs.min())
    expected = estimate.cycles()
    record(config, length, "ideal_cycles", measured_cycles=measured, estimate_cycles=expected,
           gap_cycles=measured - expected, chunk_flits=estimate.chunk_flits,
           step_cycles=estimate.step())
    dut._log.info("ideal_cycles: %d cycles measured, %d estimated (gap %+d)", measured,
                  expected, measured - expected)
    assert measured == expected, f"All-reduce took {measured} cycles; the estimate is {expected}"
