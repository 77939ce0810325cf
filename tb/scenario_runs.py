"""Runs tile scenarios in cocotb: each program after a reset, every read checked bit for bit
against the golden model and every handshake against the cycle model, one record each."""

from cocotb.triggers import RisingEdge

from sim_models.program import INT8

from .records import record_program
from .run_context import design_config, run_matmul_format, seeded_rng
from .tile_checks import check_timing, check_values
from .tile_harness import TileHarness

__all__ = ["run_scenarios", "scenario_test_name"]


def scenario_test_name(name, matmul_format):
    """Name of a test in a format, which seeds its generator: ``name`` itself in int8."""
    return name if matmul_format == INT8 else f"{name}_{matmul_format.name}"


async def run_scenarios(dut, scenarios, test_name, stalled):
    """Run ``scenarios(config, rng, matmul_format)`` on the design under test: with ideal
    streams every handshake must fall in the cycle the cycle model predicts; ``stalled``
    (random idle cycles and backpressure) only requires none to finish earlier."""
    config = design_config()
    matmul_format = run_matmul_format()
    rng = seeded_rng(scenario_test_name(test_name, matmul_format))
    harness = TileHarness(dut, config)
    for scenario in scenarios(config, rng, matmul_format):
        await harness.reset()
        await RisingEdge(dut.clk)
        outcome = await harness.run(scenario.program, rng if stalled else None)
        check_values(config, scenario, outcome["reads"])
        model = check_timing(config, scenario.name, scenario.program, outcome["transfers"],
                             exact=not stalled)
        record_program(config, scenario.name, "stalled" if stalled else "ideal",
                       scenario.program, outcome["transfers"], model, outcome["wall_seconds"])
        dut._log.info("%s: %d operations, %d cycles, bit-exact, cycles %s the model",
                      scenario.name, len(scenario.program), model.total_cycles,
                      "within" if stalled else "equal to")
