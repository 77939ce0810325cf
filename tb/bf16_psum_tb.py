"""cocotb tests of a tile with Trainium3's PSUM destinations (``TileConfig.bf16_psum``;
docs/numerics.md R16-R17): BF16 overwrite and accumulate rounded to nearest even and
stochastically, reseeds, special values and overflow (``tb.float_scenarios.bf16_psum_scenarios``).
Every read is compared bit for bit with the golden model, which draws the same random bits from
the same seeds; with ideal streams every handshake falls in the cycle the cycle model predicts,
and with random stalls the stochastic rounding must still draw exactly the same bits.

Run through ``tb.test_tile_sim.test_bf16_psum_tile``.
"""

import cocotb

from .float_scenarios import bf16_psum_scenarios
from .scenario_runs import run_scenarios


@cocotb.test()
async def bf16_psum_ideal(dut):
    """Every BF16 PSUM program with ideal streams: bit-exact and cycle-exact."""
    await run_scenarios(dut, bf16_psum_scenarios, "bf16_psum_ideal", stalled=False)


@cocotb.test()
async def bf16_psum_stalled(dut):
    """The same programs with random idle cycles and backpressure: bit-exact, none earlier
    than the model."""
    await run_scenarios(dut, bf16_psum_scenarios, "bf16_psum_stalled", stalled=True)
