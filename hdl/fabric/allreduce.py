"""Ring all-reduce, reduce-scatter and all-gather of int32, FP32 or BF16 vectors in hardware: a
network interface per node of a ring (or switched) fabric.

Every node holds a vector of ``vector_length`` elements, split into one chunk per node
(the first ``vector_length % nodes`` chunks one element longer than the rest). Node ``r`` sends
chunk ``(r - s) mod nodes`` to node ``r + 1`` at step ``s`` and receives chunk
``(r - s - 1) mod nodes`` from node ``r - 1``, for ``2 * (nodes - 1)`` steps: in the first
``nodes - 1`` (reduce-scatter) the received elements are added into the local copy as they
arrive (int32 with wrap-around; FP32 by :class:`~hdl.float_arith.FloatAdd`, the PSUM rule R9;
BF16 widened to FP32 exactly, added the same way and rounded to BF16, to nearest even); in the
rest (all-gather) they replace it. So chunk ``c`` is summed in the order node ``c``, ``c + 1``,
..., ``c - 1`` round the ring, one rounding per addition (``sim_models.allreduce``). The chunk
a node sends at step ``s > 0`` is the one it received at step ``s - 1``: storing and
forwarding, it waits for that packet to end; cutting through, for its header, then sends each
payload flit once the row it carries has been written.

An interface may also run the ring the other way round (``direction=-1``: node ``r`` sends to
node ``r - 1``, each chunk summed from its own node downwards), as the second ring of a
bidirectional torus phase does (``hdl.fabric.torus_collective``).

The reduce-scatter runs the first ``nodes - 1`` steps alone, each node starting one chunk
earlier (chunk ``r - 1`` at node ``r``), so that node ``r`` ends with chunk ``r`` summed from
node ``r + 1`` round the ring, and gives that chunk; the all-gather runs the copying steps alone
from node ``r``'s own chunk ``r``, which is all it takes. The ring may run over a switched
fabric: node ``r + 1`` is then the next chip, through the switches, and the reduction stays at
the endpoints.

One packet per step: a header flit (``kind`` :data:`ALLREDUCE_KIND`) and one payload flit per
``elements_per_flit`` elements of the chunk, element ``j`` of a flit in bits
``element_width * j`` up.

The local copy is a memory of one row per payload flit: chunk ``c`` occupies rows
``c * chunk_flits`` up, so a flit is read, added and written back as one row.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from sim_models.config import ALLREDUCE_KIND, AllReduceConfig

from ..float_arith import FloatAdd
from .layouts import flit_layout, header_layout
from .topology import Fabric

__all__ = ["AllReduceInterface", "AllReduceRing", "element_shape", "nodes_signature"]


def _decrement(value, modulus):
    return Mux(value == 0, modulus - 1, value - 1)


def _increment(value, modulus):
    return Mux(value == modulus - 1, 0, value + 1)


def element_shape(allreduce):
    """Shape of one element of ``allreduce`` (an AllReduceConfig) on the local streams:
    ``signed(32)`` for int32, the format's bits (``unsigned``) for FP32 and BF16."""
    if allreduce.element == "int32":
        return signed(allreduce.element_width)
    return unsigned(allreduce.element_width)


def _bf16_of_fp32(m, bits, name):
    """BF16 bits of FP32 ``bits`` rounded to nearest, ties to even: add 0x7FFF and the lowest
    kept bit, keep the high half (overflow carries into an infinity; the canonical NaN stays
    the canonical NaN)."""
    rounded = Signal(33, name=name)
    m.d.comb += rounded.eq(bits + 0x7FFF + bits[16])
    return rounded[16:32]


def _reduced(m, element, stored, incoming, index):
    """One reduce-scatter addition of element format ``element``: ``stored`` (the local
    copy) plus ``incoming``."""
    if element == "int32":
        return stored + incoming  # 33 bits, truncated to 32 by the write: int32 wrap-around
    m.submodules[f"add_{index}"] = adder = FloatAdd()
    if element == "fp32":
        m.d.comb += [adder.stored.eq(stored), adder.incoming.eq(incoming)]
        return adder.sum
    widen = Const(0, 16)  # BF16 is the high half of FP32: exact
    m.d.comb += [adder.stored.eq(Cat(widen, stored)), adder.incoming.eq(Cat(widen, incoming))]
    return _bf16_of_fp32(m, adder.sum, f"bf16_sum_{index}")


class CollectiveInterface(wiring.Component):
    """What the network interfaces of the vector collectives share: the ports (``node``, ``i``,
    ``o``, ``inject``, ``eject``, as :class:`AllReduceInterface` describes them), the memory
    row of one payload flit, and the walk of the local streams over the vector.

    Parameters
    ----------
    allreduce : AllReduceConfig
        Also :attr:`config`.

    Raises
    ------
    TypeError
        If ``allreduce`` is not an AllReduceConfig.
    """
    def __init__(self, allreduce):
        if not isinstance(allreduce, AllReduceConfig):
            raise TypeError(f"Parameter 'allreduce' must be an AllReduceConfig, "
                            f"not {allreduce!r}")
        self._config = allreduce
        ring = allreduce.ring
        super().__init__({
            "node": In(range(ring.nodes)),
            "i": In(stream.Signature(element_shape(allreduce))),
            "o": Out(stream.Signature(element_shape(allreduce))),
            "inject": Out(stream.Signature(ring.flit_width)),
            "eject": In(stream.Signature(flit_layout(ring))),
        })

    @property
    def config(self):
        """The :class:`~sim_models.config.AllReduceConfig` the interface was built from."""
        return self._config

    @property
    def row_layout(self):
        """One memory row, one payload flit: ``elements_per_flit`` elements."""
        return data.ArrayLayout(element_shape(self._config), self._config.elements_per_flit)

    def _flits_of(self, chunk):
        """Payload flits of ``chunk`` (a signal): the flits of a long or of a short chunk."""
        nodes, per_flit = self._config.ring.nodes, self._config.elements_per_flit
        base, extra = divmod(self._config.vector_length, nodes)
        return Mux(chunk < extra, -(-(base + 1) // per_flit), -(-base // per_flit))

    def _packet_flits(self, m, length):
        """Count the flits of the packets offered on ``inject``, ``length`` payload flits each
        (a signal, read with the header). Returns whether the next flit is a payload flit, the
        inject handshake, and whether it ends a packet."""
        in_payload = Signal()
        flits_left = Signal(self._config.ring.length_width)  # this one included
        handshake = self.inject.valid & self.inject.ready
        packet_done = handshake & Mux(in_payload, flits_left == 1, length == 0)
        with m.If(handshake):
            m.d.sync += [in_payload.eq(~packet_done),
                         flits_left.eq(Mux(in_payload, flits_left - 1, length))]
        return in_payload, handshake, packet_done

    def _send_rows(self, m, begin, first_chunk, next_chunk, packet_done, payload_sent):
        """The memory row the sender reads for the next cycle: chunk ``first_chunk``'s first at
        ``begin``, ``next_chunk``'s first once a packet is done, the next row after each
        payload flit sent."""
        chunk_flits = self._config.chunk_flits
        row = Signal(range(self._config.ring.nodes * chunk_flits))
        row_next = Signal.like(row)
        m.d.comb += row_next.eq(Mux(begin, first_chunk * chunk_flits, Mux(
            packet_done, next_chunk * chunk_flits, Mux(payload_sent, row + 1, row))))
        m.d.sync += row.eq(row_next)
        return row_next

    def _local_side(self, m, loading, unloading, row_data):
        """Walk the vector element by element: take ``i`` while ``loading``, give ``o`` from
        ``row_data`` (the row read one cycle ahead) while ``unloading``. The walk covers the
        whole vector, or only the node's own chunk where the collective takes or gives one
        chunk (the all-gather's input, the reduce-scatter's output).

        Returns the row of the current element, the row to read for the next cycle, the write
        enable of each element of the row, and the last element's handshake.
        """
        nodes, per_flit = self._config.ring.nodes, self._config.elements_per_flit
        length, chunk_flits = self._config.vector_length, self._config.chunk_flits
        base, extra = divmod(length, nodes)
        chunk = Signal(range(nodes))
        index = Signal(range(base + 1))  # element within the chunk
        lane = Signal(range(per_flit))
        row = Signal(range(nodes * chunk_flits))
        count = Signal(range(length))
        primed = Signal()  # `row_data` holds `row`: the previous cycle was already unloading
        taken = self.i.valid & self.i.ready
        advance = taken | self.o.valid & self.o.ready
        last = advance & (count == length - 1)
        chunk_end = index == Mux(chunk < extra, base, base - 1)
        row_next = Signal.like(row)
        enables = Signal(per_flit)
        collective = self._config.collective
        if collective != "allreduce":  # one walk of the node's own chunk, rows counted from it
            whole = loading if collective == "reducescatter" else unloading
            last = advance & (count == Mux(whole, length - 1, length // nodes - 1))
        m.d.comb += [
            self.i.ready.eq(loading),
            self.o.valid.eq(unloading & primed),
            self.o.payload.eq(self.row_layout(row_data)[lane]),
            row_next.eq(Mux(~advance, row, Mux(last, 0, Mux(
                chunk_end, (chunk + 1) * chunk_flits,
                Mux(lane == per_flit - 1, row + 1, row))))),
            enables.eq(Mux(taken, Const(1, per_flit) << lane, 0)),
        ]
        m.d.sync += [primed.eq(unloading), row.eq(row_next)]
        with m.If(advance):
            m.d.sync += [
                count.eq(Mux(last, 0, count + 1)),
                chunk.eq(Mux(last, 0, Mux(chunk_end, chunk + 1, chunk))),
                index.eq(Mux(chunk_end | last, 0, index + 1)),
                lane.eq(Mux(chunk_end | last | (lane == per_flit - 1), 0, lane + 1)),
            ]
        if collective == "allreduce":
            return row, row_next, enables, last
        own = self.node * chunk_flits
        return (Mux(whole, row, own + row), Mux(whole, row_next, own + row_next), enables,
                last)

class AllReduceInterface(CollectiveInterface):
    """Network interface of one ring node that all-reduces vectors with its neighbours.

    The interface takes ``vector_length`` elements on ``i``, all-reduces them with the other
    nodes over ``inject`` and ``eject``, then gives the sum on ``o``; then takes the next
    vector. An all-reduce starts at a node once its whole vector has been taken: packets that
    arrive earlier wait in the fabric. Every all-reduce packet on ``eject`` must come from node
    ``node - 1`` (the source is not checked); packets of other kinds are taken and ignored.

    Timing, in handshakes on an always-ready fabric and output: the first header transfers 1
    cycle after the last element is taken, its payload flits in the following cycles; storing
    and forwarding, the header of each later step 1 cycle after the last flit of the previous
    step arrives (cutting through, as :meth:`_cut_through` allows); the
    first result 3 cycles after the last flit of the last step arrives, then one per cycle
    (``sim_models.allreduce.AllReduceEstimate`` counts a whole all-reduce).

    Parameters
    ----------
    allreduce : AllReduceConfig
        The ring, ``vector_length`` (elements per vector; the longest chunk,
        ``ceil(vector_length / nodes)`` elements, fits one packet) and the element format;
        also :attr:`config`.
    direction : int
        1 (default): the ring runs as the module docstring says, from node ``r`` to node
        ``r + 1``. -1: the mirror image, from node ``r`` to node ``r - 1``: node ``r`` sends
        chunk ``(r + s) mod nodes`` at step ``s`` (``r + 1 + s`` in a reduce-scatter), so
        chunk ``c`` is summed from node ``c - 1`` downwards and a reduce-scatter still leaves
        chunk ``r`` at node ``r`` (``sim_models.allreduce.collective_reference`` with
        ``direction=-1``). Needs equal chunks (a multiple of the nodes).

    Members
    -------
    node : In(range(ring.nodes))
        Index of this node on the ring; constant.
    i : In(stream.Signature(element_shape(allreduce)))
        The node's vector, element 0 first, ``vector_length`` elements per all-reduce or
        reduce-scatter; its chunk ``node`` (``vector_length / nodes`` elements) per
        all-gather.
    o : Out(stream.Signature(element_shape(allreduce)))
        The element-wise sum of all nodes' vectors, in the same order: wrapped to int32, or
        rounded at each addition as the module docstring says; of a reduce-scatter, chunk
        ``node`` of it; of an all-gather, every node's chunk in node order.
    inject : Out(stream.Signature(ring.flit_width))
        Packets to the fabric, all for node ``node + direction``.
    eject : In(stream.Signature(flit_layout(ring)))
        Packets from the fabric, from node ``node - direction``.

    Raises
    ------
    TypeError
        If ``allreduce`` is not an AllReduceConfig (which checks everything else).
    ValueError
        If ``allreduce`` runs another algorithm than ``ring``, or ``direction`` is not 1 or
        -1, or is -1 with unequal chunks.
    """
    def __init__(self, allreduce, direction=1):
        super().__init__(allreduce)
        if allreduce.algorithm != "ring":
            raise ValueError(f"Parameter 'allreduce' must run the ring algorithm on a ring "
                             f"interface, not {allreduce.algorithm!r}")
        if direction not in (1, -1):
            raise ValueError(f"Parameter 'direction' must be 1 or -1, not {direction!r}")
        if direction == -1 and allreduce.vector_length % allreduce.ring.nodes:
            raise ValueError(f"Parameter 'direction' must be 1 for {allreduce.vector_length} "
                             f"elements on {allreduce.ring.nodes} nodes (the - way needs "
                             f"equal chunks), not -1")
        self._direction = direction

    @property
    def direction(self):
        """1 if the ring runs from node ``r`` to ``r + 1``, -1 if the other way."""
        return self._direction

    def _onward(self, chunk):
        """The chunk after ``chunk`` in a node's sending order: one down the + way, one up the
        - way."""
        step = _decrement if self._direction == 1 else _increment
        return step(chunk, self._config.ring.nodes)

    def _first_chunks(self):
        """The chunks a node sends and receives at step 0: its own chunk and its previous
        node's, or for the reduce-scatter one onward each (so that node ``r`` ends with
        chunk ``r``)."""
        sends = self.node
        if self._config.collective == "reducescatter":
            sends = self._onward(sends)
        return sends, self._onward(sends)

    def _cut_through(self, m, sent, in_payload, handshake, progress):
        """Whether the cut-through sender may offer its next flit: a step's header once the
        previous step's header has been received, each payload flit once the row it carries
        was written at least two cycles before (the memory's read is not transparent).
        ``progress`` is the receiver's (steps received, header taken, rows written of the
        packet being received)."""
        received, receiving, rows = progress
        flit = Signal(self._config.ring.length_width)  # payload flits sent of this packet
        with m.If(handshake):
            m.d.sync += flit.eq(Mux(in_payload, flit + 1, 0))
        received_before, rows_before = Signal.like(received), Signal.like(rows)
        m.d.sync += [received_before.eq(received), rows_before.eq(rows)]
        header = (sent <= received) | (sent == received + 1) & receiving
        payload = (received_before >= sent) | \
            (received_before + 1 == sent) & (rows_before > flit)
        return Mux(in_payload, payload, header)

    def _sender(self, m, begin, running, progress, row_data):
        """Send one packet per step to the next node, each once the previous step's packet has
        been received, or cutting through (:meth:`_cut_through`). Returns the steps sent and the
        row to read for the next cycle."""
        config, nodes, steps = self._config.ring, self._config.ring.nodes, self._config.steps
        sent = Signal(range(steps + 1))
        chunk = Signal(range(nodes))
        header = Signal(header_layout(config))
        length = self._flits_of(chunk)
        in_payload, handshake, step_done = self._packet_flits(m, length)
        if self._config.forwarding == "store":  # a step once the previous one has arrived
            valid = running & (sent <= progress[0]) & (sent != steps) | in_payload
        else:
            valid = (self._cut_through(m, sent, in_payload, handshake, progress) &
                     (running & (sent != steps) | in_payload))
        m.d.comb += [
            header.destination.eq(_increment(self.node, nodes) if self._direction == 1
                                  else _decrement(self.node, nodes)),
            header.source.eq(self.node),
            header.kind.eq(ALLREDUCE_KIND),
            header.length.eq(length),
            self.inject.valid.eq(valid),
            self.inject.payload.eq(Mux(in_payload, row_data.as_value(), header.as_value())),
        ]
        next_chunk = self._onward(chunk)
        first, _ = self._first_chunks()
        row_next = self._send_rows(m, begin, first, next_chunk, step_done,
                                   handshake & in_payload)
        with m.If(step_done):
            m.d.sync += [sent.eq(sent + 1), chunk.eq(next_chunk)]
        with m.If(begin):
            m.d.sync += [sent.eq(0), chunk.eq(first)]
        return sent, row_next

    def _receiver(self, m, begin, running, row_data):
        """Add (reduce-scatter) or copy (all-gather) the payload of each received all-reduce
        packet into its chunk, row by row. Returns the progress (steps received, a packet's
        header taken, rows written of it), the row to read for the next cycle, the row to
        write, its write enable and its new contents."""
        config, nodes = self._config.ring, self._config.ring.nodes
        per_flit, chunk_flits = self._config.elements_per_flit, self._config.chunk_flits
        steps = self._config.steps
        received = Signal(range(steps + 1))
        chunk = Signal(range(nodes))
        row = Signal(range(nodes * chunk_flits))
        in_payload = Signal()
        ours = Signal()  # the packet being received is all-reduce traffic
        beat = self.eject.payload
        header = header_layout(config)(beat.flit[:config.header_width])
        m.d.comb += self.eject.ready.eq(in_payload | running & (received != steps))
        handshake = self.eject.valid & self.eject.ready
        is_ours = Mux(in_payload, ours, header.kind == ALLREDUCE_KIND)
        step_done = handshake & beat.last & is_ours
        writes = handshake & in_payload & ours
        _, previous = self._first_chunks()
        next_chunk = self._onward(chunk)
        row_next = Signal.like(row)
        m.d.comb += row_next.eq(Mux(begin, previous * chunk_flits, Mux(
            step_done, next_chunk * chunk_flits, Mux(writes, row + 1, row))))
        m.d.sync += row.eq(row_next)
        local = self.row_layout(row_data)
        incoming = self.row_layout(beat.flit[:self.row_layout.size])
        total = Signal(self.row_layout)
        reducing = {"allreduce": received < nodes - 1, "reducescatter": 1,
                    "allgather": 0}[self._config.collective]
        for element in range(per_flit):
            if self._config.collective == "allgather":
                m.d.comb += total[element].eq(incoming[element])
                continue
            reduced = _reduced(m, self._config.element, local[element], incoming[element],
                               element)
            m.d.comb += total[element].eq(Mux(reducing, reduced, incoming[element]))
        with m.If(handshake):
            m.d.sync += [in_payload.eq(~beat.last), ours.eq(is_ours)]
        with m.If(step_done):
            m.d.sync += [received.eq(received + 1), chunk.eq(next_chunk)]
        with m.If(begin):
            m.d.sync += [received.eq(0), chunk.eq(previous)]
        progress = (received,)
        if self._config.forwarding == "cut-through":
            rows = Signal(config.length_width)  # payload rows written of the current packet
            with m.If(writes | step_done):
                m.d.sync += rows.eq(Mux(step_done, 0, rows + 1))
            progress += (in_payload & ours, rows)
        return progress, row_next, row, writes.replicate(per_flit), total

    def elaborate(self, platform):
        steps = self._config.steps
        m = Module()
        m.submodules.memory = memory = Memory(
            shape=self.row_layout, depth=self._config.ring.nodes * self._config.chunk_flits,
            init=[])
        # Loading writes one element of a row at a time, the receiver whole rows.
        write = memory.write_port(granularity=1)  # in elements of the row
        # One read port for the receiver's additions; the other serves the sender while the
        # all-reduce runs and the output after it.
        receive_read = memory.read_port()
        shared_read = memory.read_port()

        loading, running, unloading = Signal(init=1), Signal(), Signal()
        local_row, local_next, local_enables, vector_end = self._local_side(
            m, loading, unloading, shared_read.data)
        begin = loading & vector_end
        progress, receive_next, receive_row, receive_enables, total = self._receiver(
            m, begin, running, receive_read.data)
        received = progress[0]
        sent, send_next = self._sender(m, begin, running, progress, shared_read.data)
        finished = running & (sent == steps) & (received == steps)
        m.d.sync += [
            loading.eq(Mux(loading, ~vector_end, unloading & vector_end)),
            running.eq(Mux(running, ~finished, begin)),
            unloading.eq(Mux(unloading, ~vector_end, finished)),
        ]
        loaded = Signal(self.row_layout)
        for element in range(self._config.elements_per_flit):
            m.d.comb += loaded[element].eq(self.i.payload)
        m.d.comb += [
            receive_read.addr.eq(receive_next),
            shared_read.addr.eq(Mux(unloading, local_next, send_next)),
            write.addr.eq(Mux(loading, local_row, receive_row)),
            write.en.eq(Mux(loading, local_enables, receive_enables)),
            write.data.eq(Mux(loading, loaded.as_value(), total.as_value())),
        ]
        return m


def nodes_signature(allreduce):
    """Signature of a fabric of collective interfaces (``allreduce`` an AllReduceConfig): every
    node's ``i`` and ``o`` streams, arrays over the nodes."""
    nodes, shape = allreduce.ring.nodes, element_shape(allreduce)
    return wiring.Signature({
        "i": In(stream.Signature(shape)).array(nodes),
        "o": Out(stream.Signature(shape)).array(nodes),
    })


class AllReduceRing(wiring.Component):
    """A ring fabric with an :class:`AllReduceInterface` at every node.

    Parameters
    ----------
    allreduce : AllReduceConfig
        The ring, the vector length and the element format, as for
        :class:`AllReduceInterface`; also :attr:`config`.

    Members
    -------
    i : In(stream.Signature(element_shape(allreduce))).array(nodes)
        Each node's vector, ``vector_length`` elements per all-reduce.
    o : Out(stream.Signature(element_shape(allreduce))).array(nodes)
        Each node's copy of the sum of all vectors.

    Raises
    ------
    TypeError
        If ``allreduce`` is not an AllReduceConfig.
    """
    #: The class of every node's interface.
    interface_class = AllReduceInterface

    def __init__(self, allreduce):
        self._interfaces = [self.interface_class(allreduce)
                            for _ in range(allreduce.ring.nodes)]
        self._config = allreduce
        super().__init__(nodes_signature(allreduce))

    @property
    def config(self):
        """The :class:`~sim_models.config.AllReduceConfig` the ring was built from."""
        return self._config

    @property
    def interfaces(self):
        """The network interface of each node."""
        return tuple(self._interfaces)

    def elaborate(self, platform):
        m = Module()
        m.submodules.fabric = fabric = Fabric(self._config.ring)
        for node, interface in enumerate(self._interfaces):
            m.submodules[f"interface_{node}"] = interface
            m.d.comb += interface.node.eq(node)
            wiring.connect(m, wiring.flipped(self.i[node]), interface.i)
            wiring.connect(m, interface.o, wiring.flipped(self.o[node]))
            wiring.connect(m, interface.inject, fabric.inject[node])
            wiring.connect(m, fabric.eject[node], interface.eject)
        return m
