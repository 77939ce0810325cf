"""Round-robin arbiter."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["RoundRobin"]


class RoundRobin(wiring.Component):
    """Grants one of ``count`` requesters per cycle, fairly.

    The requester granted last has the lowest priority in the next cycle, so a requester that
    keeps requesting is granted within ``count`` cycles of grants.

    Parameters
    ----------
    count : int
        Number of requesters.

    Members
    -------
    requests : In(count)
        Bit ``i`` is set while requester ``i`` wants a grant.
    grant : Out(count)
        One-hot: the requester granted this cycle; zero when nobody requests.
    """
    def __init__(self, count):
        self._count = count
        super().__init__({"requests": In(count), "grant": Out(count)})

    def elaborate(self, platform):
        count = self._count
        m = Module()
        # Requesters above the one granted last; all of them after reset.
        above = Signal(count, init=(1 << count) - 1)
        preferred = self.requests & above
        pick = Signal(count)
        m.d.comb += [
            pick.eq(Mux(preferred.any(), preferred, self.requests)),
            self.grant.eq(pick & (~pick + 1)),  # lowest set bit
        ]
        with m.If(self.requests.any()):
            m.d.sync += above.eq(~(self.grant | (self.grant - 1)))
        return m
