"""cocotb tests of the systolic tile.

Every result element is checked against the golden model (``sim_models.golden``) and, for GEMMs,
the assembled product against an independent numpy matmul. With ideal streams, every handshake
on every port (op accepted, first and last data beat of each operation) must happen in the cycle
the cycle model (``sim_models.cycle_model``) predicts; with random idle cycles and
backpressure, every bit must still match and no operation may finish earlier than the model.

Run through ``tb.test_tile_sim`` (pytest) and :func:`tb.launch.simulate`: the configuration
comes from the design's sidecar, the seed and the results file (one record per simulated
program, :func:`tb.records.record_program`) from the run request, and so does the
:class:`~sim_models.program.MatmulFormat` every test runs in (:func:`run_matmul_format`; int8
on an int8 tile). In a floating-point format the directed tests are those of
``tb.float_scenarios`` (special values, overflow, cancellation, rows beyond K).
"""

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from sim_models.cycle_model import time_program
from sim_models.program import INT8

from .float_scenarios import float_directed_scenarios
from .records import record_program
from .run_context import design_config, run_matmul_format, seeded_rng
from .scenario_runs import run_scenarios, scenario_test_name
from .scenarios import directed_scenarios, gemm_scenarios
from .tile_checks import check_timing, check_values
from .tile_harness import TileHarness


def _directed(config, rng, matmul_format):
    if matmul_format == INT8:
        return directed_scenarios(config, rng)
    return float_directed_scenarios(config, rng, matmul_format)


@cocotb.test()
async def directed(dut):
    """Identity, zeros, one-hot and int32 wrap-around (int8; the wrap on tiles of 8 rows and
    more, see ``tb.scenarios``), or identity, signed zeros, special
    values, overflow, cancellation and rows beyond K (floating point), with ideal streams."""
    await run_scenarios(dut, _directed, "directed", stalled=False)


@cocotb.test()
async def gemm_ideal(dut):
    """Seeded random GEMMs through the tiler, with ideal streams: cycles equal the model."""
    await run_scenarios(dut, gemm_scenarios, "gemm_ideal", stalled=False)


@cocotb.test()
async def gemm_stalled(dut):
    """The same GEMMs with random idle cycles on every input and random backpressure."""
    await run_scenarios(dut, gemm_scenarios, "gemm_stalled", stalled=True)


@cocotb.test()
async def reset_mid_operation(dut):
    """Reset while a multiply streams, then a clean program runs bit- and cycle-exactly."""
    config = design_config()
    matmul_format = run_matmul_format()
    rng = seeded_rng(scenario_test_name("reset_mid_operation", matmul_format))
    harness = TileHarness(dut, config)
    first, second = gemm_scenarios(config, rng, matmul_format)[2:0:-1]
    await harness.reset()
    await RisingEdge(dut.clk)
    model = time_program(config, first.program)
    multiplies = [t for t in model.operations if t.kind == "multiply"]
    middle = multiplies[len(multiplies) // 2]
    interrupted = cocotb.start_soon(harness.run(first.program))
    await ClockCycles(dut.clk, (middle.first_beat + middle.last_beat) // 2 + 1)
    interrupted.cancel()
    harness.abort()
    await harness.reset()
    await RisingEdge(dut.clk)
    outcome = await harness.run(second.program)
    check_values(config, second, outcome["reads"])
    model = check_timing(config, second.name, second.program, outcome["transfers"], exact=True)
    record_program(config, f"after_reset_{second.name}", "ideal", second.program,
                   outcome["transfers"], model, outcome["wall_seconds"])
