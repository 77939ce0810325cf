"""Lane serializer: turns a stream of array beats into a stream of their elements."""

from amaranth.hdl import Module, Mux, Shape, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from sim_models.config import check_int

__all__ = ["MAX_LANES", "LaneSerializer"]

#: Most lanes per input beat.
MAX_LANES = 1024


class LaneSerializer(wiring.Component):
    """Gives the lanes of each input beat one per output beat, lane 0 first.

    No cycle is added: ``o`` shows lane ``j`` of the beat on ``i`` combinationally, and the
    input beat is taken with its last lane, so with ``o`` always ready one element leaves per
    cycle and an input beat is taken every ``lanes`` cycles.

    Parameters
    ----------
    shape : ShapeLike
        Shape of one lane (element).
    lanes : int
        Lanes per input beat, 1..1024.

    Members
    -------
    i : In(stream.Signature(data.ArrayLayout(shape, lanes)))
        Beats of ``lanes`` elements.
    o : Out(stream.Signature(shape))
        The elements, in order of beats and, within a beat, of lanes.

    Raises
    ------
    TypeError
        If ``lanes`` is not an integer in range, or ``shape`` is not shape-like.
    """
    def __init__(self, shape, lanes):
        check_int("Parameter 'lanes'", lanes, 1, MAX_LANES)
        Shape.cast(shape)
        self._lanes = lanes
        super().__init__({
            "i": In(stream.Signature(data.ArrayLayout(shape, lanes))),
            "o": Out(stream.Signature(shape)),
        })

    @property
    def lanes(self):
        return self._lanes

    def elaborate(self, platform):
        m = Module()
        lane = Signal(range(self._lanes))
        last = lane == self._lanes - 1
        m.d.comb += [
            self.o.valid.eq(self.i.valid),
            self.o.payload.eq(self.i.payload[lane]),
            self.i.ready.eq(self.o.ready & last),
        ]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += lane.eq(Mux(last, 0, lane + 1))
        return m
