"""One column of PEs (hdl.pe_column.PEColumn) in Amaranth's simulator, on its own: weights
loaded into both banks, moving vectors sent along the diagonal wave with a weight bank chosen
per row and cycle, every partial sum leaving the bottom compared with the golden arithmetic
(int8 products summed in a wrapping int32), and every moving value passed on one cycle later.

Seeded by the run's SEED (tb.regression); each case prints the command that reruns it."""

import re

import numpy as np
import pytest
from amaranth.sim import Simulator

from hdl.emit import generate
from hdl.pe_column import PEColumn, pe_group_rows
from sim_models.config import TileConfig
from sim_models.golden import wrap_int32
from tb.regression import SEED, rerun_command


def _lanes(values):
    """The packed ArrayLayout value of int8 ``values``, lane 0 in the low byte."""
    return sum((int(value) & 0xFF) << (8 * index) for index, value in enumerate(values))


def _run(config, weights, vectors, selects):
    """Simulate the column: load ``weights`` [2, R] (bank, row), then send ``vectors`` [T, R]
    along the diagonal wave (row k of vector t enters at cycle t + k) with weight bank
    ``selects`` [T, R]. Returns (partial sums out at cycles R .. R + T - 1 after the first
    vector entered, the moving_out value of every cycle and the moving_in of the cycle
    before)."""
    rows = config.rows
    dut = PEColumn(config)
    partials, passed = [], []

    async def testbench(ctx):
        for bank in range(2):
            for row in range(rows):
                ctx.set(dut.load_valid, 1)
                ctx.set(dut.load_bank, bank)
                ctx.set(dut.load_row, row)
                ctx.set(dut.load_data, int(weights[bank, row]))
                await ctx.tick()
        ctx.set(dut.load_valid, 0)
        previous = None
        for cycle in range(len(vectors) + rows):
            lanes, select = [0] * rows, 0
            for row in range(rows):
                vector = cycle - row
                if 0 <= vector < len(vectors):
                    lanes[row] = vectors[vector, row]
                    select |= int(selects[vector, row]) << row
            ctx.set(dut.moving_in.as_value(), _lanes(lanes))
            ctx.set(dut.weight_select, select)
            if cycle >= rows:
                partials.append(ctx.get(dut.partial_out))
            if previous is not None:
                passed.append((ctx.get(dut.moving_out.as_value()), previous))
            previous = _lanes(lanes)
            await ctx.tick()

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return partials, passed


@pytest.mark.parametrize("rows", [1, 2, 5])
def test_partial_sums_and_passed_on_moving_values(rows, request):
    print(f"seed {SEED}; rerun: {rerun_command(request)}")
    rng = np.random.default_rng([SEED, *request.node.name.encode()])
    config = TileConfig(rows, 3)
    weights = rng.integers(-128, 128, size=(2, rows))
    vectors = rng.integers(-128, 128, size=(12, rows))
    vectors[0] = -128                           # the largest products, both signs
    selects = rng.integers(0, 2, size=(12, rows))
    partials, passed = _run(config, weights, vectors, selects)
    chosen = np.where(selects == 1, weights[1], weights[0])
    expected = wrap_int32((vectors.astype(np.int64) * chosen).sum(axis=1))
    assert partials == expected.tolist()
    assert all(out == sent for out, sent in passed)


@pytest.mark.parametrize("rows, formats, group_rows", [
    (128, ("int8",), 128), (8, ("bf16",), 8), (3, ("bf16",), 3), (16, ("bf16",), 8),
    (128, ("bf16",), 8), (12, ("bf16",), 6), (13, ("bf16",), 1)])
def test_pe_group_rows_is_the_largest_divisor_up_to_eight_on_float_tiles(rows, formats,
                                                                          group_rows):
    assert pe_group_rows(TileConfig(rows, 2, formats=formats)) == group_rows


def test_a_tall_float_column_is_built_of_pe_group_instances():
    """The Verilog of a 16-row floating-point tile: one pe_group module, instantiated twice in
    its PE column; an 8-row tile has none."""
    tall = generate(TileConfig(16, 2, formats=("bf16",))).verilog
    assert tall.count("module systolic_pe_group_r16c2_bf16(") == 1
    assert len(re.findall(r"^\s*systolic_pe_group_r16c2_bf16 group\d+ \(", tall, re.M)) == 2
    assert "pe_group" not in generate(TileConfig(8, 2, formats=("bf16",))).verilog
