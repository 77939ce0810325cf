"""The tile's harness: drives a program into the tile's streams and measures what comes back."""

import time

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, with_timeout

from sim_models.cycle_model import time_program
from sim_models.program import ReadPsum

from .harness_timing import CLOCK_NS, stall_probability, start_clock
from .program_packer import ProgramPacker
from .streams import CycleCounter, StreamDriver, StreamMonitor, unpack_array

__all__ = ["TileHarness", "result_reads"]


def result_reads(config, program, payloads):
    """The arrays [M, N] of each ReadPsum of ``program`` (int32 values of an int8 tile, FP32
    bit patterns of a floating-point one) from the result stream's packed ``payloads``."""
    values = iter(unpack_array(config.accumulator_bits, config.cols, payloads,
                               signed=not config.floating) if payloads else [])
    return [np.array([next(values) for _ in range(op.n)]).T
            for op in program if isinstance(op, ReadPsum)]


class TileHarness:
    """Drives programs into the tile and measures what comes back.

    Parameters
    ----------
    dut : cocotb handle of the tile's top module
    config : TileConfig
    """
    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self._packer = ProgramPacker(config)
        self._tasks = {}
        start_clock(dut.clk)

    def abort(self):
        """Stop the drivers and the monitor of the program being run, wherever they are."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks = {}

    async def reset(self, cycles=3):
        """Hold reset with every valid and ready low; release it just after a rising edge."""
        dut = self.dut
        for name in ("op__valid", "stationary__valid", "moving__valid", "result__ready"):
            getattr(dut, name).value = 0
        dut.rst.value = 1
        await ClockCycles(dut.clk, cycles)
        dut.rst.value = 0

    async def run(self, program, rng=None):
        """Drive ``program`` (ideal streams when ``rng`` is None, else random stalls).

        Returns
        -------
        dict
            ``transfers``: the Transfers of each stream (cycles counted from 0, the first
            cycle every stream is driven); ``reads``: arrays [M, N] of int32 values (int8 tile)
            or FP32 bit patterns, one per ReadPsum; ``wall_seconds``.
        """
        dut = self.dut
        stall = stall_probability(rng)
        beats = self._packer.beats(program)
        counter = CycleCounter(dut.clk)

        def driver(name):
            return StreamDriver(dut.clk, getattr(dut, f"{name}__valid"),
                                getattr(dut, f"{name}__ready"), getattr(dut, f"{name}__payload"),
                                idle_probability=stall, rng=rng, counter=counter)
        monitor = StreamMonitor(dut.clk, dut.result__valid, dut.result__ready,
                                dut.result__payload, backpressure_probability=stall, rng=rng,
                                counter=counter)
        start = time.perf_counter()
        self._tasks = tasks = {
            "op": cocotb.start_soon(driver("op").send(beats.ops)),
            "stationary": cocotb.start_soon(driver("stationary").send(beats.stationary)),
            "moving": cocotb.start_soon(driver("moving").send(beats.moving)),
            "result": cocotb.start_soon(monitor.collect(beats.results)),
        }
        budget = time_program(self.config, program).total_cycles * (20 if stall else 1) + 200
        transfers = {}
        for name, task in tasks.items():
            transfers[name] = await with_timeout(task, budget * CLOCK_NS, "ns")
        wall = time.perf_counter() - start
        self._tasks = {}
        # The counter reads c at the c-th edge after it started: model cycle c - 1.
        transfers = {name: t._replace(cycles=[c - 1 for c in t.cycles])
                     for name, t in transfers.items()}
        reads = result_reads(self.config, program,
                             transfers["result"].payloads if beats.results else [])
        return {"transfers": transfers, "reads": reads, "wall_seconds": wall}
