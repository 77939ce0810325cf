"""cocotb program that runs whole GEMMs on the tile, each fully checked: benchmarks and
characterization measure only runs that are bit- and cycle-exact.

The run request's option ``shapes`` lists the GEMMs as ``[M, K, N]``, and ``matmul_format``
(``tb.run_request.matmul_format_option``; int8 if absent) their formats and mode (FP8
double-row, MX). Each GEMM gets seeded random operands (:func:`sim_models.stimulus.random_gemm`:
in MX mode with random E8M0 scales), goes through the tiler and runs from a reset with ideal
streams; every result element is compared with the golden model and the assembled product with
an independent reference (numpy for int8, the exact product's error bound for floating-point
formats, ``tb.scenarios.check_reference``), and every handshake must happen in the cycle the
cycle model predicts. The tile configuration comes from the sidecar, the seed and the results
file from the run request, as in ``tb.tile_tb``; each GEMM appends one record
(:func:`tb.records.record_program`) with ``gemm_mkn``, ``bit_exact``, ``handshakes_checked``
and ``handshakes_matching`` added.
"""

import cocotb
from cocotb.triggers import RisingEdge

from sim_models.stimulus import gemm_name

from .records import record_program
from .run_context import design_config, request, run_matmul_format, seeded_rng
from .scenarios import tiled_gemm_scenario
from .tile_checks import check_gemm
from .tile_harness import TileHarness


@cocotb.test()
async def gemms(dut):
    """Run every GEMM of the run request's ``shapes`` with ideal streams, each from a reset."""
    config = design_config()
    harness = TileHarness(dut, config)
    matmul_format = run_matmul_format()
    for shape in request().options["shapes"]:
        scenario = tiled_gemm_scenario(config, tuple(shape), matmul_format,
                                       seeded_rng(gemm_name(shape, matmul_format)))
        await harness.reset()
        await RisingEdge(dut.clk)
        outcome = await harness.run(scenario.program)
        model, checked, matching = check_gemm(config, scenario, outcome)
        record_program(config, scenario.name, "ideal", scenario.program, outcome["transfers"],
                       model, outcome["wall_seconds"],
                       # Recorded only once check_values has compared every element.
                       {"gemm_mkn": list(shape), "bit_exact": True,
                        "handshakes_checked": checked, "handshakes_matching": matching})
        dut._log.info("%s: %d cycles, bit-exact, %d of %d handshakes in the model's cycle",
                      scenario.name, model.total_cycles, matching, checked)
