"""What every harness shares: the simulation clock, and how often a run with random stalls
stalls."""

import cocotb
from cocotb.clock import Clock

__all__ = ["CLOCK_NS", "STALL_PROBABILITY", "stall_probability", "start_clock"]

#: Clock period of every simulation (ns); only the cycle count matters.
CLOCK_NS = 10
#: Probability of an idle gap before an input beat, and of a cycle without ready on an output,
#: in runs with random stalls.
STALL_PROBABILITY = 0.3


def start_clock(clk):
    """Start the simulation clock, period :data:`CLOCK_NS`, on ``clk`` (a cocotb handle)."""
    cocotb.start_soon(Clock(clk, CLOCK_NS, unit="ns").start())


def stall_probability(rng):
    """:data:`STALL_PROBABILITY` for a run with random stalls drawn from ``rng``, 0 for ideal
    streams (``rng`` None)."""
    return STALL_PROBABILITY if rng is not None else 0.0
