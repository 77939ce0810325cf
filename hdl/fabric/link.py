"""Credit-based link between two routers."""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .layouts import link_layout

__all__ = ["LinkSignature"]


class LinkSignature(wiring.Signature):
    """One direction of a router-to-router link, seen from the sending router.

    The sender drives a flit in each cycle where ``valid`` is set; there is no ``ready``. It
    keeps one credit counter per virtual channel, starting at the receiver's buffer depth,
    spends a credit per flit sent, and gets one back for each pulse of ``credit``. A flit is
    only sent with a credit in hand, so the receiver's buffer never overflows, and a full
    buffer of one virtual channel never blocks the other.

    Parameters
    ----------
    config : FabricConfig

    Members
    -------
    valid : Out(1)
        A flit is on the link this cycle.
    payload : Out(link_layout(config))
        The flit, its ``last`` flag and its virtual channel.
    credit : In(config.vcs)
        Bit ``v`` is set for one cycle each time the receiver takes a flit of virtual channel
        ``v`` out of its buffer.
    """
    def __init__(self, config):
        self._config = config
        super().__init__({
            "valid": Out(1),
            "payload": Out(link_layout(config)),
            "credit": In(config.vcs),
        })

    @property
    def config(self):
        return self._config

    def __eq__(self, other):
        return type(other) is type(self) and other.members == self.members

    def __repr__(self):
        return f"LinkSignature({self._config!r})"
