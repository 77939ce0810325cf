"""Packet framing at injection: marks the last flit of each packet from the header's length."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import flit_layout, header_layout

__all__ = ["Framer"]


class Framer(wiring.Component):
    """Passes flits through unchanged, adding the ``last`` flag.

    The first flit is a header; a header with length L is followed by L payload flits, then the
    next header. No cycle is added: ``o`` follows ``i`` combinationally.

    Parameters
    ----------
    config : FabricConfig

    Members
    -------
    i : In(stream.Signature(config.flit_width))
        Flits of whole packets, back to back.
    o : Out(stream.Signature(flit_layout(config)))
        The same flits, with ``last`` set on the last flit of each packet.
    """
    def __init__(self, config):
        self._config = config
        super().__init__({
            "i": In(stream.Signature(config.flit_width)),
            "o": Out(stream.Signature(flit_layout(config))),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()
        header = header_layout(config)(self.i.payload[:config.header_width])
        in_packet = Signal()  # the next flit is a payload flit
        remaining = Signal.like(header.length)  # payload flits left, the next one included
        last = Mux(in_packet, remaining == 1, header.length == 0)
        m.d.comb += [
            self.o.valid.eq(self.i.valid),
            self.o.payload.flit.eq(self.i.payload),
            self.o.payload.last.eq(last),
            self.i.ready.eq(self.o.ready),
        ]
        with m.If(self.i.valid & self.o.ready):
            m.d.sync += [
                in_packet.eq(~last),
                remaining.eq(Mux(in_packet, remaining - 1, header.length)),
            ]
        return m
