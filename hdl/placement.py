"""Register placement: where the tile puts the registers its latencies (``sim_models.timing``)
count. How many cycles a path takes is the timing contract's; which side of a module boundary
a register sits on is this module's, and changes no cycle count.
"""

from dataclasses import dataclass
from functools import cache

from sim_models.timing import mac_cuts

__all__ = ["RegisterPlacement", "register_placement"]


@dataclass(frozen=True)
class RegisterPlacement:
    """Where a tile's registers sit.

    Members
    -------
    operands_in_column : bool
        The PE column takes its moving lanes, weight selects and formats one cycle before its
        PEs use them and holds them in registers, so that a PE's step reads registers only
        (``hdl.pe_column``); ``hdl.tile`` taps its skew and select lines one stage earlier
        (:attr:`lead`). Verilator evaluates logic that reads a module's inputs on every
        evaluation of that module (5 per clock cycle under cocotb, and a hierarchical block's
        on every one of its parent's), logic that reads only registers once per clock edge:
        worth it for the large floating-point step, not for the int8 multiply-add.
    mac_cuts : tuple of str
        Cut points of the floating-point MAC (``sim_models.timing.MAC_CUT_POINTS``) that hold
        its ``pe_stages - 1`` pipeline registers; the timing contract names them, as the cuts
        before the partial sum's entry set how far apart the rows' operands travel.
    """
    operands_in_column: bool
    mac_cuts: tuple = ()

    @property
    def lead(self):
        """Cycles of each operand's skew that the PE column holds rather than the tile."""
        return int(self.operands_in_column)


@cache
def register_placement(config):
    """The :class:`RegisterPlacement` of a :class:`~sim_models.config.TileConfig`."""
    return RegisterPlacement(operands_in_column=config.floating,
                             mac_cuts=mac_cuts(config.pe_stages))
