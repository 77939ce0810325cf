"""cocotb tests of a tile with MX mode (Trainium3's format set): the programs of
``tb.mx_scenarios`` in every MX element-format pair, every result element bit-exact against the
golden model; with ideal streams every handshake in the cycle the cycle model predicts, with
random idle cycles and backpressure no operation earlier than the model.

Run through ``tb.test_tile_sim.test_mx_tile`` (pytest) and :func:`tb.launch.simulate`;
one simulation runs every format pair, so that a build serves them all.
"""

import cocotb

from .mx_scenarios import mx_scenarios
from .scenario_runs import run_scenarios


@cocotb.test()
async def mx_ideal(dut):
    """Random MX programs (background loads, two banks, accumulation) and directed specials
    of every format pair, BF16 and E5M2 double-row on the same lanes, BF16 PSUM writes of MX
    sums on a tile with ``bf16_psum``, with ideal streams."""
    await run_scenarios(dut, lambda config, rng, _: mx_scenarios(config, rng), "mx_ideal",
                         stalled=False)


@cocotb.test()
async def mx_stalled(dut):
    """The random MX program of MXFP8 x MXFP4 (with BF16 PSUM writes on a tile with
    ``bf16_psum``) with random idle cycles on every input and random backpressure."""
    await run_scenarios(dut, lambda config, rng, _: mx_scenarios(config, rng, stalled=True),
                         "mx_stalled", stalled=True)
