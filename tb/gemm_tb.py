"""cocotb program that runs whole GEMMs on the tile, each fully checked: benchmarks and
characterization measure only runs that are bit- and cycle-exact.

GEMM_SHAPES lists the GEMMs as ``MxKxN`` items separated by commas. Each GEMM gets seeded random
int8 operands, goes through the tiler and runs from a reset with ideal streams; every result
element is compared with the golden model and the assembled product with numpy, and every
handshake must happen in the cycle the cycle model predicts. The tile configuration, seed and
results file come as in ``tb.tile_tb``; each GEMM appends one record to TILE_RESULTS, with
``gemm_mkn``, ``bit_exact``, ``handshakes_checked`` and ``handshakes_matching`` added.
"""

import os

import cocotb
from cocotb.triggers import RisingEdge

from sim_models.checked import gemm_name, random_gemm

from .regression import seeded_rng
from .scenarios import Scenario
from .tile_tb import (TileHarness, check_timing, check_values, config_from_env,
                      handshake_agreement, record)

__all__ = ["format_shapes", "parse_shapes"]


def format_shapes(shapes):
    """GEMM_SHAPES text of ``(M, K, N)`` tuples, e.g. ``"16x64x512,32x32x512"``."""
    return ",".join("x".join(str(size) for size in shape) for shape in shapes)


def parse_shapes(text):
    """The ``(M, K, N)`` tuples of a GEMM_SHAPES text; the inverse of :func:`format_shapes`."""
    shapes = []
    for item in text.split(","):
        sizes = item.split("x")
        if len(sizes) != 3 or not all(size.isdigit() and int(size) > 0 for size in sizes):
            raise ValueError(f"GEMM_SHAPES items must be MxKxN with positive integers, "
                             f"not {item!r}")
        shapes.append(tuple(int(size) for size in sizes))
    return shapes


def gemm_scenario(config, shape):
    """The tiled GEMM of ``shape`` with random operands seeded by TILE_SEED and the shape."""
    gemm = random_gemm(config, shape, seeded_rng("TILE_SEED", gemm_name(shape)))
    return Scenario(gemm.name, gemm.tiled.program, gemm.tiled, (gemm.stationary, gemm.moving))


@cocotb.test()
async def gemms(dut):
    """Run every GEMM of GEMM_SHAPES with ideal streams, each from a reset."""
    config = config_from_env()
    harness = TileHarness(dut, config)
    for shape in parse_shapes(os.environ["GEMM_SHAPES"]):
        scenario = gemm_scenario(config, shape)
        await harness.reset()
        await RisingEdge(dut.clk)
        outcome = await harness.run(scenario.program)
        transfers = outcome["transfers"]
        check_values(config, scenario, outcome["reads"])
        model = check_timing(config, scenario.name, scenario.program, transfers, exact=True)
        checked, matching = handshake_agreement(model, scenario.program, transfers)
        record(config, scenario.name, "ideal", scenario.program, transfers, model,
               outcome["wall_seconds"],
               # Recorded only once check_values has compared every element.
               {"gemm_mkn": list(shape), "bit_exact": True, "handshakes_checked": checked,
                "handshakes_matching": matching})
        dut._log.info("%s: %d cycles, bit-exact, %d of %d handshakes in the model's cycle",
                      scenario.name, model.total_cycles, matching, checked)
