"""All-to-all and all-to-all-v in hardware: a network interface per node of a ring or torus.

In each all-to-all a node takes one count per destination (``counts``, destination 0 first;
0 to ``max_count`` each, chosen at run time: all-to-all-v), then the elements of every block
on ``i``, destination 0's first, and sends each block as one packet to its destination, itself
included (an empty block is a header-only packet). It receives one packet from every node into
a buffer of ``max_count`` elements per source, and once all have arrived gives the count it
received from each source on ``counts_out`` and then every element on ``o``, sources in order.

Packets carry kind :data:`~sim_models.config.ALLTOALL_KIND` in even all-to-alls and the next
kind in odd ones, and the buffer has one half per parity: a node that has finished may start
the next all-to-all while another is still giving its results, and its packets land in the
other half. (It cannot get two all-to-alls ahead: it needs every node's packet of the next one
first, and a node sends those only once it has given its results.) Packets of other kinds are
taken and ignored.
"""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from sim_models.config import ALLTOALL_ELEMENT_WIDTH, ALLTOALL_KIND, AllToAllConfig

from .layouts import flit_layout, header_layout
from .topology import Fabric

__all__ = ["AllToAllInterface", "AllToAll"]


def _signature(config):
    count = range(config.max_count + 1)
    element = unsigned(ALLTOALL_ELEMENT_WIDTH)
    return {
        "counts": In(stream.Signature(count)),
        "i": In(stream.Signature(element)),
        "counts_out": Out(stream.Signature(count)),
        "o": Out(stream.Signature(element)),
    }


class AllToAllInterface(wiring.Component):
    """Network interface of one node that runs all-to-alls with every other node.

    Timing: the header for destination ``d`` transfers one cycle after the previous block's
    last flit at the earliest; the payload flits follow as elements arrive on ``i``. Results
    start two cycles after the last packet has arrived; an empty source costs one idle cycle.

    Parameters
    ----------
    config : AllToAllConfig
        The fabric and ``max_count``; also :attr:`config`.

    Members
    -------
    node : In(range(nodes))
        Index of this node; constant.
    counts : In(stream.Signature(range(max_count + 1)))
        Elements of the block for each destination, ``nodes`` beats per all-to-all.
    i : In(stream.Signature(32))
        The blocks' elements, destination 0's block first.
    counts_out : Out(stream.Signature(range(max_count + 1)))
        Elements received from each source, ``nodes`` beats per all-to-all.
    o : Out(stream.Signature(32))
        The received elements, source 0's block first.
    inject : Out(stream.Signature(fabric.flit_width))
        Packets to the fabric.
    eject : In(stream.Signature(flit_layout(fabric)))
        Packets from the fabric.

    Raises
    ------
    TypeError
        If ``config`` is not an AllToAllConfig.
    """
    def __init__(self, config):
        if not isinstance(config, AllToAllConfig):
            raise TypeError(f"Parameter 'config' must be an AllToAllConfig, not {config!r}")
        self._config = config
        fabric = config.fabric
        super().__init__({
            "node": In(range(fabric.nodes)),
            **_signature(config),
            "inject": Out(stream.Signature(fabric.flit_width)),
            "eject": In(stream.Signature(flit_layout(fabric))),
        })

    @property
    def config(self):
        """The :class:`~sim_models.config.AllToAllConfig` the interface was built from."""
        return self._config

    def _sender(self, m, parity, loading, sending):
        """Take the counts while ``loading``, then send one packet per destination while
        ``sending``; returns the counts and the handshake of the last packet's last flit."""
        fabric, nodes = self._config.fabric, self._config.fabric.nodes
        counts = Signal(data.ArrayLayout(range(self._config.max_count + 1), nodes))
        index = Signal(range(nodes))
        in_payload = Signal()
        left = Signal(range(self._config.max_count + 1))  # payload flits left, this one too
        header = Signal(header_layout(fabric))
        count = counts[index]
        m.d.comb += [
            self.counts.ready.eq(loading),
            header.destination.eq(index),
            header.source.eq(self.node),
            header.kind.eq(ALLTOALL_KIND + parity),
            header.length.eq(count),
            self.inject.valid.eq(sending & (~in_payload | self.i.valid)),
            self.inject.payload.eq(Mux(in_payload, self.i.payload, header.as_value())),
            self.i.ready.eq(sending & in_payload & self.inject.ready),
        ]
        loaded = self.counts.valid & self.counts.ready
        with m.If(loaded):
            m.d.sync += [counts[index].eq(self.counts.payload),
                         index.eq(Mux(index == nodes - 1, 0, index + 1))]
        handshake = self.inject.valid & self.inject.ready
        block_done = handshake & Mux(in_payload, left == 1, count == 0)
        with m.If(handshake):
            m.d.sync += [in_payload.eq(~block_done), left.eq(Mux(in_payload, left - 1, count))]
        with m.If(block_done):
            m.d.sync += index.eq(Mux(index == nodes - 1, 0, index + 1))
        return loaded & (index == nodes - 1), block_done & (index == nodes - 1)

    def _receiver(self, m, write):
        """Store every all-to-all packet's payload in its parity's half of the buffer, at its
        source's place; returns the counts received per parity and source, and the packets
        received per parity."""
        fabric, nodes, depth = self._config.fabric, self._config.fabric.nodes, \
            self._config.max_count
        received_counts = Signal(data.ArrayLayout(range(depth + 1), 2 * nodes))
        received = Signal(data.ArrayLayout(range(nodes + 1), 2))
        in_payload, ours, bank = Signal(), Signal(), Signal()
        source = Signal(range(nodes))
        position = Signal(range(depth))
        beat = self.eject.payload
        header = header_layout(fabric)(beat.flit[:fabric.header_width])
        m.d.comb += self.eject.ready.eq(1)
        handshake = self.eject.valid
        is_ours = Mux(in_payload, ours, header.kind[1:] == ALLTOALL_KIND >> 1)
        header_bank = header.kind[0]
        packet_done = handshake & beat.last & is_ours
        m.d.comb += [
            write.addr.eq((bank * nodes + source) * depth + position),
            write.data.eq(beat.flit[:ALLTOALL_ELEMENT_WIDTH]),
            write.en.eq(handshake & in_payload & ours),
        ]
        with m.If(handshake):
            m.d.sync += in_payload.eq(~beat.last)
            with m.If(~in_payload):
                m.d.sync += [ours.eq(is_ours), bank.eq(header_bank), source.eq(header.source),
                             position.eq(0)]
                with m.If(is_ours):
                    m.d.sync += received_counts[header_bank * nodes + header.source].eq(
                        header.length)
            with m.Else():
                m.d.sync += position.eq(position + 1)
        with m.If(packet_done):
            done_bank = Mux(in_payload, bank, header_bank)
            m.d.sync += received[done_bank].eq(received[done_bank] + 1)
        return received_counts, received

    def _output(self, m, parity, counting, giving, received_counts, read):
        """Give the counts received while ``counting``, then the elements while ``giving``;
        returns the handshake of the last count and the end of the elements."""
        nodes, depth = self._config.fabric.nodes, self._config.max_count
        source = Signal(range(nodes))
        position = Signal(range(depth + 1))
        count = received_counts[parity * nodes + source]
        have = position < count
        m.d.comb += [
            self.counts_out.valid.eq(counting),
            self.counts_out.payload.eq(count),
            read.addr.eq((parity * nodes + source) * depth + position),
            self.o.valid.eq(giving & have),
            self.o.payload.eq(read.data),
        ]
        counted = self.counts_out.valid & self.counts_out.ready
        given = self.o.valid & self.o.ready
        block_end = giving & ~have
        with m.If(counted | block_end):
            m.d.sync += [source.eq(Mux(source == nodes - 1, 0, source + 1)), position.eq(0)]
        with m.If(given):
            m.d.sync += position.eq(position + 1)
        return counted & (source == nodes - 1), block_end & (source == nodes - 1)

    def elaborate(self, platform):
        nodes, depth = self._config.fabric.nodes, self._config.max_count
        m = Module()
        m.submodules.buffer = buffer = Memory(shape=ALLTOALL_ELEMENT_WIDTH,
                                              depth=2 * nodes * depth, init=[])
        write, read = buffer.write_port(), buffer.read_port(domain="comb")
        parity = Signal()
        loading, sending, waiting, counting, giving = (Signal(init=1), Signal(), Signal(),
                                                       Signal(), Signal())
        loaded, sent = self._sender(m, parity, loading, sending)
        received_counts, received = self._receiver(m, write)
        all_in = received[parity] == nodes
        counted, given = self._output(m, parity, counting, giving, received_counts, read)
        with m.If(loaded):
            m.d.sync += [loading.eq(0), sending.eq(1)]
        with m.If(sent):
            m.d.sync += [sending.eq(0), waiting.eq(1)]
        with m.If(waiting & all_in):
            m.d.sync += [waiting.eq(0), counting.eq(1)]
        with m.If(counted):
            m.d.sync += [counting.eq(0), giving.eq(1)]
        with m.If(given):
            m.d.sync += [giving.eq(0), loading.eq(1), parity.eq(~parity),
                         received[parity].eq(0)]
        return m


class AllToAll(wiring.Component):
    """A ring or torus fabric with an :class:`AllToAllInterface` at every node.

    Parameters
    ----------
    config : AllToAllConfig
        Also :attr:`config`.

    Members
    -------
    counts, i, counts_out, o : arrays of the interface's streams, one per node
    """
    def __init__(self, config):
        self._interfaces = [AllToAllInterface(config) for _ in range(config.fabric.nodes)]
        self._config = config
        nodes = config.fabric.nodes
        super().__init__({name: member.array(nodes)
                          for name, member in _signature(config).items()})

    @property
    def config(self):
        """The :class:`~sim_models.config.AllToAllConfig` the design was built from."""
        return self._config

    def elaborate(self, platform):
        m = Module()
        m.submodules.fabric = fabric = Fabric(self._config.fabric)
        for node, interface in enumerate(self._interfaces):
            m.submodules[f"interface_{node}"] = interface
            m.d.comb += interface.node.eq(node)
            for name in ("counts", "i"):
                wiring.connect(m, wiring.flipped(getattr(self, name)[node]),
                               getattr(interface, name))
            for name in ("counts_out", "o"):
                wiring.connect(m, getattr(interface, name),
                               wiring.flipped(getattr(self, name)[node]))
            wiring.connect(m, interface.inject, fabric.inject[node])
            wiring.connect(m, fabric.eject[node], interface.eject)
        return m
