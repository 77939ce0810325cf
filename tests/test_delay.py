"""The staircase delay (hdl.delay.staircase) in Amaranth's simulator: every value leaves
exactly its own number of cycles after it entered, as through its own delay line."""

import re

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from hdl.delay import staircase
from tb.regression import SEED, rerun_command


@pytest.mark.parametrize("delays", [[0, 1, 1, 3, 6], [2, 2, 2], [0, 0], [1, 4, 9, 16]])
def test_each_value_leaves_after_its_own_delay(delays, request):
    print(f"seed {SEED}; rerun: {rerun_command(request)}")
    rng = np.random.default_rng([SEED, len(delays), *delays])
    m = Module()
    inputs = [Signal(5, name=f"in{index}") for index in range(len(delays))]
    outputs = staircase(m, inputs, delays, name="skew")
    m.d.sync += Signal(name="clocked").eq(1)    # a clock domain even with all delays 0
    cycles = max(delays) + 12
    sent = rng.integers(0, 32, size=(cycles, len(delays)))
    seen = []

    async def testbench(ctx):
        for cycle in range(cycles):
            for signal, value in zip(inputs, sent[cycle]):
                ctx.set(signal, int(value))
            seen.append([ctx.get(output) for output in outputs])
            await ctx.tick()

    simulator = Simulator(m)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    for cycle in range(max(delays), cycles):
        assert seen[cycle] == [sent[cycle - delay][index] for index, delay in enumerate(delays)]


@pytest.mark.parametrize("delays", [[2, 1], [-1, 0]])
def test_delays_must_be_non_decreasing_and_non_negative(delays):
    with pytest.raises(ValueError, match="^" + re.escape(
            f"Parameter 'delays' must be non-decreasing and non-negative, not {delays}") + "$"):
        staircase(None, [Signal(4), Signal(4)], delays, name="skew")
