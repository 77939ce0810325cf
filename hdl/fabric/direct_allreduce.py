"""Direct all-reduce, reduce-scatter and all-gather (Neuron's "Mesh"): a network interface per
node that writes each chunk straight to the node that reduces it, over any fabric (ring, torus
or switched), the packets routed by the fabric.

The vector is split into chunks as for the ring (``hdl.fabric.allreduce``): chunk ``c``
belongs to node ``c``. An all-reduce is two steps:

1. reduce-scatter: node ``r`` sends chunk ``r + k`` to node ``r + k``, ``k = 1 .. nodes - 1``
   in turn (every node a different destination at a time in an idle fabric), and node ``c``
   adds the chunks it receives into its own copy of chunk ``c`` in the order they arrive in
   an idle fabric: its own, then node ``c - 1``'s, ``c - 2``'s and down to ``c + 1``'s
   (``sim_models.direct_allreduce.direct_reference``). A packet that arrives out of that
   order waits in a receive buffer of one chunk per source; the additions follow the packets
   as they come.
2. all-gather: once its chunk is summed, node ``c`` sends it to node ``c + k`` in the same
   turn, and every node writes what it receives in place.

The reduce-scatter or the all-gather alone is the step of its name. Reduce-scatter packets
carry kind :data:`~sim_models.config.DIRECT_SCATTER_KIND` in even rounds and the next kind in
odd ones, and the receive buffer has a half per parity: a node that has finished one
reduce-scatter may send the next before another node has added all of the first (it cannot get
two ahead: it needs every node's packet of the next one first). All-gather packets carry
:data:`~sim_models.config.ALLREDUCE_KIND`; a node takes them only while it runs a collective,
so that a node that has finished cannot overwrite a vector still being given.
"""

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib.memory import Memory

from sim_models.config import ALLREDUCE_KIND, DIRECT_SCATTER_KIND, KIND_WIDTH

from .allreduce import AllReduceRing, CollectiveInterface, _reduced
from .layouts import header_layout

__all__ = ["DirectAllReduceInterface", "DirectAllReduce"]


def _offset(node, offset, nodes):
    """``(node + offset) mod nodes`` for ``0 <= offset < nodes``."""
    total = node + offset
    return Mux(total >= nodes, total - nodes, total)


class DirectAllReduceInterface(CollectiveInterface):
    """Network interface of one node that runs direct collectives with every other node.

    Ports, inputs and outputs as :class:`~hdl.fabric.allreduce.AllReduceInterface` has them;
    the packets go to every node, and come from every node.

    Timing, with ideal streams: the first header transfers 1 cycle after the last element is
    taken, its payload flits in the following cycles, each next packet's header the cycle after
    the last flit of the one before; an addition takes a row (one payload flit) per cycle from
    the cycle after its packet's last flit arrived; the all-gather's first header goes the
    cycle after the last addition; the first result 3 cycles after the last flit of the last
    packet arrived (``sim_models.direct_allreduce.DirectEstimate``).

    Parameters
    ----------
    allreduce : AllReduceConfig
        A collective of the ``direct`` algorithm; also :attr:`config`.

    Raises
    ------
    TypeError
        If ``allreduce`` is not an AllReduceConfig.
    ValueError
        If it runs another algorithm.
    """
    def __init__(self, allreduce):
        super().__init__(allreduce)
        if allreduce.algorithm != "direct":
            raise ValueError(f"Parameter 'allreduce' must run the direct algorithm on a "
                             f"direct interface, not {allreduce.algorithm!r}")

    @property
    def _scatters(self):
        """Whether the collective has a reduce-scatter step."""
        return self._config.collective != "allgather"

    @property
    def _gathers(self):
        """Whether the collective has an all-gather step."""
        return self._config.collective != "reducescatter"

    def _sender(self, m, begin, running, parity, summed, row_data):
        """Send the reduce-scatter's packets, then, once ``summed``, the all-gather's, each
        payload flit from ``row_data`` (the row read one cycle ahead). Returns the packets sent
        and the row to read for the next cycle."""
        fabric, nodes, steps = self._config.ring, self._config.ring.nodes, self._config.steps
        scatter_steps = nodes - 1 if self._scatters else 0
        sent = Signal(range(steps + 1))
        offset = Signal(range(nodes), init=1)  # destination: node + offset
        header = Signal(header_layout(fabric))
        destination = _offset(self.node, offset, nodes)
        gathering = sent >= scatter_steps
        chunk = Mux(gathering, self.node, destination)
        length = self._flits_of(chunk)
        in_payload, handshake, packet_done = self._packet_flits(m, length)
        m.d.comb += [
            header.destination.eq(destination),
            header.source.eq(self.node),
            header.kind.eq(Mux(gathering, ALLREDUCE_KIND, DIRECT_SCATTER_KIND + parity)),
            header.length.eq(length),
            self.inject.valid.eq(running & (sent != steps) & (~gathering | summed) |
                                 in_payload),
            self.inject.payload.eq(Mux(in_payload, row_data.as_value(), header.as_value())),
        ]
        next_offset = Mux(offset == nodes - 1, 1, offset + 1)
        next_chunk = Mux(sent + 1 >= scatter_steps, self.node,
                         _offset(self.node, next_offset, nodes))
        first_chunk = _offset(self.node, 1, nodes) if self._scatters else self.node
        row_next = self._send_rows(m, begin, first_chunk, next_chunk, packet_done,
                                   handshake & in_payload)
        with m.If(packet_done):
            m.d.sync += [sent.eq(sent + 1), offset.eq(next_offset)]
        with m.If(begin):
            m.d.sync += [sent.eq(0), offset.eq(1)]
        return sent, row_next

    def _receiver(self, m, running, inbox_write, gather_write):
        """Write every reduce-scatter packet's payload into its parity's half of the receive
        buffer at its source's place, every all-gather packet's into the vector at its
        source's chunk. Returns the reduce-scatter packets waiting, one bit per parity and
        source, and the all-gather packets received."""
        fabric, nodes = self._config.ring, self._config.ring.nodes
        chunk_flits = self._config.chunk_flits
        waiting = Signal(2 * nodes)
        gathered = Signal(range(nodes))
        in_payload = Signal()
        kind = Signal(KIND_WIDTH)
        source = Signal(range(nodes))
        position = Signal(range(chunk_flits))
        beat = self.eject.payload
        header = header_layout(fabric)(beat.flit[:fabric.header_width])
        gather_header = header.kind == ALLREDUCE_KIND
        m.d.comb += self.eject.ready.eq(in_payload | ~gather_header | running)
        handshake = self.eject.valid & self.eject.ready
        packet_kind = Mux(in_payload, kind, header.kind)
        packet_source = Mux(in_payload, source, header.source)
        packet_done = handshake & beat.last
        payload_taken = handshake & in_payload  # the packet's kind and source are registered
        scattered = packet_kind[1] == DIRECT_SCATTER_KIND >> 1
        gathered_in = packet_kind == ALLREDUCE_KIND
        payload = beat.flit[:self.row_layout.size]
        m.d.comb += [
            inbox_write.addr.eq((kind[0] * nodes + source) * chunk_flits + position),
            inbox_write.data.eq(payload),
            inbox_write.en.eq(payload_taken & scattered),
            gather_write.addr.eq(source * chunk_flits + position),
            gather_write.data.eq(payload),
            gather_write.en.eq(payload_taken & gathered_in),
        ]
        with m.If(handshake):
            m.d.sync += in_payload.eq(~beat.last)
            with m.If(in_payload):
                m.d.sync += position.eq(position + 1)
            with m.Else():
                m.d.sync += [kind.eq(header.kind), source.eq(header.source), position.eq(0)]
        with m.If(packet_done & scattered):
            m.d.sync += waiting.bit_select(packet_kind[0] * nodes + packet_source, 1).eq(1)
        with m.If(packet_done & gathered_in):
            m.d.sync += gathered.eq(gathered + 1)
        return waiting, gathered

    def _adder(self, m, begin, running, parity, waiting, inbox_read, own_read):
        """Add the reduce-scatter packets into the node's own chunk, a row per cycle, sources
        in the order :func:`~sim_models.direct_allreduce.direct_reference` sets, each once it
        has fully arrived; frees each packet's place once added. Returns whether the chunk is
        summed, and the row to write, whether to write it and its new contents."""
        nodes, chunk_flits = self._config.ring.nodes, self._config.chunk_flits
        if not self._scatters:
            return 1, 0, 0, 0
        offset = Signal(range(nodes), init=1)  # source: node - offset
        row = Signal(range(chunk_flits))
        summed = Signal()
        source = Mux(offset <= self.node, self.node - offset,
                     self.node + nodes - offset).as_unsigned()
        place = parity * nodes + source
        adding = running & ~summed & waiting.bit_select(place, 1)
        own_flits = self._flits_of(self.node)
        packet_end = (row == own_flits - 1) | (own_flits == 0)
        own_row = self.node * chunk_flits + row
        stored, incoming = self.row_layout(own_read.data), self.row_layout(inbox_read.data)
        total = Signal(self.row_layout)
        for element in range(self._config.elements_per_flit):
            m.d.comb += total[element].eq(
                _reduced(m, self._config.element, stored[element], incoming[element], element))
        m.d.comb += [own_read.addr.eq(own_row), inbox_read.addr.eq(place * chunk_flits + row)]
        with m.If(adding):
            m.d.sync += row.eq(Mux(packet_end, 0, row + 1))
            with m.If(packet_end):
                m.d.sync += [waiting.bit_select(place, 1).eq(0),
                             offset.eq(Mux(offset == nodes - 1, 1, offset + 1)),
                             summed.eq(offset == nodes - 1)]
        with m.If(begin):
            m.d.sync += [summed.eq(0), offset.eq(1), row.eq(0)]
        return summed, own_row, adding & (own_flits != 0), total

    def elaborate(self, platform):
        nodes, chunk_flits = self._config.ring.nodes, self._config.chunk_flits
        steps = self._config.steps
        m = Module()
        m.submodules.vector = vector = Memory(shape=self.row_layout,
                                              depth=nodes * chunk_flits, init=[])
        m.submodules.inbox = inbox = Memory(shape=self.row_layout,
                                            depth=2 * nodes * chunk_flits, init=[])
        # Loading writes one element of a row at a time; the additions whole rows.
        own_write = vector.write_port(granularity=1)
        gather_write = vector.write_port()
        shared_read = vector.read_port()  # the sender's while running, the output's after
        own_read = vector.read_port(domain="comb")
        inbox_write = inbox.write_port()
        inbox_read = inbox.read_port(domain="comb")

        loading, running, unloading, parity = Signal(init=1), Signal(), Signal(), Signal()
        local_row, local_next, local_enables, vector_end = self._local_side(
            m, loading, unloading, shared_read.data)
        begin = loading & vector_end
        waiting, gathered = self._receiver(m, running, inbox_write, gather_write)
        summed, add_row, adds, total = self._adder(m, begin, running, parity, waiting,
                                                    inbox_read, own_read)
        sent, send_next = self._sender(m, begin, running, parity, summed, shared_read.data)
        done = running & (sent == steps) & summed
        if self._gathers:
            done &= gathered == nodes - 1
        m.d.sync += [
            loading.eq(Mux(loading, ~vector_end, unloading & vector_end)),
            running.eq(Mux(running, ~done, begin)),
            unloading.eq(Mux(unloading, ~vector_end, done)),
        ]
        with m.If(done):
            m.d.sync += [parity.eq(~parity), gathered.eq(0)]
        loaded = Signal(self.row_layout)
        for element in range(self._config.elements_per_flit):
            m.d.comb += loaded[element].eq(self.i.payload)
        m.d.comb += [
            shared_read.addr.eq(Mux(unloading, local_next, send_next)),
            own_write.addr.eq(Mux(loading, local_row, add_row)),
            own_write.en.eq(Mux(loading, local_enables, Mux(adds, -1, 0))),
            own_write.data.eq(Mux(loading, loaded.as_value(), Value.cast(total))),
        ]
        return m


class DirectAllReduce(AllReduceRing):
    """A fabric (ring, torus or switched) with a :class:`DirectAllReduceInterface` at every
    node; ports as :class:`~hdl.fabric.allreduce.AllReduceRing` has them."""
    interface_class = DirectAllReduceInterface
