"""cocotb program that runs whole GEMMs on the tile, each fully checked: benchmarks and
characterization measure only runs that are bit- and cycle-exact.

The run request's option ``shapes`` lists the GEMMs as ``[M, K, N]``, and ``matmul_format``
(``tb.run_context.matmul_format_option``; int8 if absent) their formats. Each GEMM gets seeded
random operands (:func:`sim_models.stimulus.random_operand`), goes through the tiler and runs from a reset with ideal streams; every
result element is compared with the golden model and the assembled product with numpy, and
every handshake must happen in the cycle the cycle model predicts. The tile configuration
comes from the sidecar, the seed and the results file from the run request, as in
``tb.tile_tb``; each GEMM appends one record (:func:`tb.records.record_program`) with
``gemm_mkn``, ``bit_exact``, ``handshakes_checked`` and ``handshakes_matching`` added.
"""

import cocotb
from cocotb.triggers import RisingEdge

from sim_models.stimulus import gemm_name, random_gemm

from .records import record_program
from .run_context import design_config, request, run_matmul_format, seeded_rng
from .scenarios import Scenario
from .tile_checks import check_timing, check_values, handshake_agreement
from .tile_harness import TileHarness


def _gemm_scenario(config, shape, matmul_format):
    """The tiled GEMM of ``shape`` (M, K, N) in ``matmul_format`` with random operands seeded by
    the run's seed and the GEMM's name, drawn as :mod:`sim_models.stimulus` redraws them to
    judge a result current."""
    gemm = random_gemm(config, shape, seeded_rng(gemm_name(shape, matmul_format)),
                       matmul_format)
    return Scenario(gemm.name, gemm.tiled.program, gemm.tiled, (gemm.stationary, gemm.moving),
                    matmul_format)


@cocotb.test()
async def gemms(dut):
    """Run every GEMM of the run request's ``shapes`` with ideal streams, each from a reset."""
    config = design_config()
    harness = TileHarness(dut, config)
    matmul_format = run_matmul_format()
    for shape in request().options["shapes"]:
        scenario = _gemm_scenario(config, tuple(shape), matmul_format)
        await harness.reset()
        await RisingEdge(dut.clk)
        outcome = await harness.run(scenario.program)
        transfers = outcome["transfers"]
        check_values(config, scenario, outcome["reads"])
        model = check_timing(config, scenario.name, scenario.program, transfers, exact=True)
        checked, matching = handshake_agreement(model, scenario.program, transfers)
        record_program(config, scenario.name, "ideal", scenario.program, transfers, model,
                       outcome["wall_seconds"],
                       # Recorded only once check_values has compared every element.
                       {"gemm_mkn": list(shape), "bit_exact": True,
                        "handshakes_checked": checked, "handshakes_matching": matching})
        dut._log.info("%s: %d cycles, bit-exact, %d of %d handshakes in the model's cycle",
                      scenario.name, model.total_cycles, matching, checked)
