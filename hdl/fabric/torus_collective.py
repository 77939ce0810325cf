"""All-reduce, reduce-scatter and all-gather on a 2-D or 3-D torus, dimension by dimension,
built from the ring's network interfaces (:class:`~hdl.fabric.allreduce.AllReduceInterface`).

Every node chains one ring interface per phase (``AllReduceConfig.phases``: reduce-scatters
along X, Y, Z, then all-gathers along Z, Y, X; ``sim_models.torus_collective`` has the order
of the additions): each phase's results stream into the next phase's input, and the last
phase's results are the node's output. Each interface is the ring's, unchanged, built for a
ring of its dimension's size; this module only joins it to the torus:

* **Headers.** An interface's header (ring addresses) leaves as a torus header for the next
  node along its dimension (the + neighbour, one hop); a received packet's header is handed to
  the interface in the ring's layout. Payload flits pass as they are.
* **Rendezvous.** All phases share the node's one eject stream, so a packet for a phase that
  has not started would block the packets the current phase waits for (a node's Y neighbour
  may start its Y phase while the node still runs X). So every phase starts with a
  rendezvous: once a phase's interface has taken its whole input it sends a header-only
  packet ("ready", length 0) to the node it receives from (the - neighbour), and an interface
  sends its first packet of a phase only after the rendezvous of the node it sends to has
  arrived. A data packet therefore only ever arrives at a running interface, which takes it,
  and the one eject stream never blocks. Rendezvous packets are always taken.
* **Steering.** A data packet comes from the - neighbour of one dimension (its source says
  which); the first ``side - 1`` packets from it belong to that dimension's reduce-scatter,
  the next ``side - 1`` to its all-gather (packets of a pair arrive in order).
* **Inject.** Rendezvous packets go first, between packets; then the interface that has a
  packet to send (phases run one at a time, so at most one does).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from sim_models.config import ALLREDUCE_KIND, AllReduceConfig

from .allreduce import AllReduceInterface, element_shape, nodes_signature
from .layouts import flit_layout, header_layout, position_layout
from .topology import Fabric, leaf_instance

__all__ = ["TorusCollectiveNode", "TorusCollective", "node_module_name", "node_signature"]


def node_module_name(config):
    """Verilog module name of the node leaf of ``config``, e.g.
    ``torus_node_torus2x2x2_v16_fp32``: emitted once beside the top and instantiated at every
    node with its coordinates and neighbours on its ports, as the router is."""
    return f"torus_node_{config.name}"


def _phase_inputs(config):
    """Elements a phase's interface takes: its vector, or its chunk for an all-gather."""
    if config.collective == "allgather":
        return config.vector_length // config.ring.nodes
    return config.vector_length


def node_signature(config):
    """Signature of :class:`TorusCollectiveNode` for ``config`` (members documented there).

    Raises
    ------
    ValueError
        If ``config`` is not a collective on a torus.
    """
    if not isinstance(config, AllReduceConfig) or not config.torus:
        raise ValueError(f"Parameter 'config' must be an AllReduceConfig on a torus, "
                         f"not {config!r}")
    torus, shape = config.ring, element_shape(config)
    dimensions = torus.topology.dimensions
    return wiring.Signature({
        "position": In(position_layout(torus)),
        "address": In(torus.address_width),
        "successors": In(torus.address_width).array(dimensions),
        "predecessors": In(torus.address_width).array(dimensions),
        "i": In(stream.Signature(shape)),
        "o": Out(stream.Signature(shape)),
        "inject": Out(stream.Signature(torus.flit_width)),
        "eject": In(stream.Signature(flit_layout(torus))),
    })


class TorusCollectiveNode(wiring.Component):
    """The collective network interface of one node of a torus: one ring interface per phase,
    joined to the node's inject and eject streams as the module docstring says.

    Parameters
    ----------
    config : AllReduceConfig
        A collective on a torus (``config.torus``); also :attr:`config`.

    Members
    -------
    position : In(position_layout(torus))
        The node's coordinates; constant.
    address : In(torus.address_width)
        The node's address; constant.
    successors, predecessors : In(torus.address_width).array(dimensions)
        Per dimension, the address of the + and of the - neighbour; constant.
    i, o : the node's input and output streams, as :class:`AllReduceInterface`'s.
    inject : Out(stream.Signature(torus.flit_width))
    eject : In(stream.Signature(flit_layout(torus)))

    Raises
    ------
    ValueError
        If ``config`` is not a collective on a torus.
    """
    def __init__(self, config):
        self._config = config
        self._interfaces = []  # one per phase, built by elaborate
        super().__init__(node_signature(config))

    @property
    def config(self):
        return self._config

    def _chain(self, m):
        """Join the phases' streams in order; returns, per phase, a pulse on the handshake of
        the last element of its input (the phase's interface starts the next cycle). The next
        collective's input is taken only once the node has given the last result of the one
        before: one collective at a time per node, so that every dimension's packets and
        rendezvous come in the order of its phases."""
        interfaces, started = self._interfaces, []
        busy = Signal()  # from the first phase's start to the node's last result
        for index, ((_, phase), interface) in enumerate(zip(self._config.phases, interfaces)):
            m.submodules[f"phase_{index}"] = interface
            if index == 0:
                m.d.comb += [interface.i.valid.eq(self.i.valid & ~busy),
                             interface.i.payload.eq(self.i.payload),
                             self.i.ready.eq(interface.i.ready & ~busy)]
            else:
                wiring.connect(m, interfaces[index - 1].o, interface.i)
            started.append(self._last(m, interface.i, _phase_inputs(phase), f"taken_{index}"))
        wiring.connect(m, interfaces[-1].o, wiring.flipped(self.o))
        outputs = self._config.vector_length
        if self._config.collective == "reducescatter":
            outputs //= self._config.ring.nodes
        finished = self._last(m, self.o, outputs, "given")
        m.d.sync += busy.eq(Mux(busy, ~finished, started[0]))
        return started

    @staticmethod
    def _last(m, port, count, name):
        """A pulse on every ``count``-th handshake of stream ``port``."""
        done = Signal(range(count), name=name)
        handshake = port.valid & port.ready
        last = handshake & (done == count - 1)
        with m.If(handshake):
            m.d.sync += done.eq(Mux(last, 0, done + 1))
        return last

    def _receive(self, m, arrived):
        """Steer each packet of ``eject``: rendezvous packets pulse ``arrived`` (one bit per
        dimension), data packets go to their phase's interface with a ring header."""
        # Comb logic here is written as expressions, never as conditional assignments: Icarus
        # does not run at time 0 a process whose inputs never change, and its X would stay in
        # the rendezvous counters for good.
        config, torus = self._config, self._config.ring
        phases, interfaces = config.phases, self._interfaces
        header = header_layout(torus)(self.eject.payload.flit[:torus.header_width])
        in_packet = Signal()
        target = Signal(range(len(phases)))
        dimensions = torus.topology.dimensions
        handshake = self.eject.valid & self.eject.ready
        token = ~in_packet & (header.length == 0)
        chosen = Const(0, range(len(phases)))  # the phase of a data header
        arrivals = []
        for dim in range(dimensions):
            # Data comes from the - neighbour of its dimension, rendezvous from the + one.
            data_from = header.source == self.predecessors[dim]
            ready_from = header.source == self.successors[dim]
            own = [index for index, (phase_dim, _) in enumerate(phases) if phase_dim == dim]
            steps = config.ring.dims[dim] - 1
            received = Signal(range(len(own) * steps), name=f"received_{dim}")
            chosen = Mux(data_from, Mux(received >= steps, own[-1], own[0]), chosen)
            with m.If(handshake & ~in_packet & ~token & data_from):
                m.d.sync += received.eq(Mux(received == len(own) * steps - 1, 0,
                                            received + 1))
            arrivals.append(handshake & token & ready_from)
        m.d.comb += arrived.eq(Cat(*arrivals))
        current = Signal.like(target)
        m.d.comb += current.eq(Mux(in_packet, target, chosen))
        ready = Const(0)
        for index, ((_, phase), interface) in enumerate(zip(phases, interfaces)):
            ring_header = Signal(header_layout(phase.ring), name=f"ring_header_{index}")
            m.d.comb += [
                ring_header.kind.eq(ALLREDUCE_KIND),
                ring_header.length.eq(header.length),
                interface.eject.payload.flit.eq(
                    Mux(in_packet, self.eject.payload.flit, ring_header.as_value())),
                interface.eject.payload.last.eq(self.eject.payload.last),
                interface.eject.valid.eq(self.eject.valid & ~token & (current == index)),
            ]
            ready = ready | (current == index) & interface.eject.ready
        m.d.comb += self.eject.ready.eq(token | ready)
        with m.If(handshake):
            m.d.sync += [in_packet.eq(~self.eject.payload.last),
                         target.eq(current)]

    def _send(self, m, started, tokens, used):
        """Offer the rendezvous packets owed and the interfaces' packets on ``inject``, one
        packet at a time, rewriting each interface header as a torus header; pulse ``used``
        (per dimension) when a phase's first packet goes on the strength of a rendezvous.
        Comb logic as expressions, as in :meth:`_receive`."""
        config, torus = self._config, self._config.ring
        phases, interfaces = config.phases, self._interfaces
        owed = Signal(len(phases))  # a rendezvous packet to send, per phase
        awaiting = Signal(len(phases))  # the first packet of the phase not yet sent
        in_packet = Signal()
        remaining = Signal(torus.length_width)
        source = Signal(range(len(phases)))  # the interface whose packet is going out
        handshake = self.inject.valid & self.inject.ready

        token_phase = Const(0, range(len(phases)))  # the first phase owed a rendezvous
        for index in reversed(range(len(phases))):
            token_phase = Mux(owed[index], index, token_phase)
        send_token = Signal()
        m.d.comb += send_token.eq(~in_packet & owed.any())
        token = Signal(header_layout(torus))
        destination = self.predecessors[phases[0][0]]
        for index, (dim, _) in enumerate(phases):
            destination = Mux(token_phase == index, self.predecessors[dim], destination)
        m.d.comb += [token.destination.eq(destination),
                     token.source.eq(self.address), token.kind.eq(ALLREDUCE_KIND)]

        allowed, offers = [], []
        for index, ((dim, phase), interface) in enumerate(zip(phases, interfaces)):
            may = Signal(name=f"may_send_{index}")
            m.d.comb += may.eq(~awaiting[index] | (tokens[dim] != 0))
            allowed.append(may)
            offers.append(interface.inject.valid & may)
        chosen = Const(0, range(len(phases)))
        for index in reversed(range(len(phases))):
            chosen = Mux(offers[index], index, chosen)
        current = Signal.like(source)
        m.d.comb += current.eq(Mux(in_packet, source, chosen))
        offering = Const(0)
        length = Const(0, torus.length_width)
        destination = self.successors[phases[0][0]]
        payload = Const(0, torus.flit_width)
        uses = [Const(0)] * torus.topology.dimensions
        for index, ((dim, phase), interface) in enumerate(zip(phases, interfaces)):
            selected = ~send_token & (current == index)
            ring_header = header_layout(phase.ring)(interface.inject.payload[
                :phase.ring.header_width])
            length = Mux(current == index, ring_header.length, length)
            destination = Mux(current == index, self.successors[dim], destination)
            payload = Mux(current == index, interface.inject.payload, payload)
            m.d.comb += interface.inject.ready.eq(selected & allowed[index] &
                                                  self.inject.ready)
            offering = offering | selected & offers[index]
            uses[dim] = uses[dim] | handshake & selected & ~in_packet & awaiting[index]
        data_header = Signal(header_layout(torus))
        m.d.comb += [used.eq(Cat(*uses)),
                     data_header.destination.eq(destination),
                     data_header.source.eq(self.address), data_header.kind.eq(ALLREDUCE_KIND),
                     data_header.length.eq(length),
                     self.inject.valid.eq(send_token | offering),
                     self.inject.payload.eq(Mux(send_token, token.as_value(), Mux(
                         in_packet, payload, data_header.as_value())))]
        data = handshake & ~send_token
        with m.If(data):
            m.d.sync += [in_packet.eq(Mux(in_packet, remaining != 1, length != 0)),
                         remaining.eq(Mux(in_packet, remaining - 1, length)),
                         source.eq(current)]
        sent_first = Cat(*(data & ~in_packet & (current == index)
                           for index in range(len(phases))))
        sent_token = Mux(handshake & send_token, Const(1, len(phases)) << token_phase, 0)
        starts = Cat(*started)
        m.d.sync += [owed.eq(owed & ~sent_token | starts),
                     awaiting.eq(awaiting & ~sent_first | starts)]

    def elaborate(self, platform):
        m = Module()
        self._interfaces = [AllReduceInterface(phase) for _, phase in self._config.phases]
        dimensions = self._config.ring.topology.dimensions
        # Rendezvous packets received and not yet used, per dimension: at most one per phase
        # of the dimension can be early.
        tokens = [Signal(range(3), name=f"tokens_{dim}") for dim in range(dimensions)]
        arrived, used = Signal(dimensions, name="arrived"), Signal(dimensions, name="used")
        for dim, count in enumerate(tokens):
            m.d.sync += count.eq(count + arrived[dim] - used[dim])
        started = self._chain(m)
        axes = self._config.ring.topology.axes
        for (dim, _), interface in zip(self._config.phases, self._interfaces):
            m.d.comb += interface.node.eq(self.position[axes[dim]])
        self._receive(m, arrived)
        self._send(m, started, tokens, used)
        return m


class TorusCollective(wiring.Component):
    """A torus fabric with a :class:`TorusCollectiveNode` at every node, each an instance of
    the leaf module :func:`node_module_name` (``hdl.emit`` writes it beside the top); the same
    members as :class:`~hdl.fabric.allreduce.AllReduceRing`.

    Parameters
    ----------
    config : AllReduceConfig
        A collective on a torus; also :attr:`config`.

    Members
    -------
    i : In(stream.Signature(element_shape(config))).array(nodes)
    o : Out(stream.Signature(element_shape(config))).array(nodes)
    """
    def __init__(self, config):
        self._signature = node_signature(config)
        self._config = config
        super().__init__(nodes_signature(config))

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        m = Module()
        torus = self._config.ring
        topology = torus.topology
        m.submodules.fabric = fabric = Fabric(torus)
        for node in range(torus.nodes):
            interface = self._signature.create(path=(f"node_{node}",))
            m.submodules[f"node_{node}"] = leaf_instance(node_module_name(self._config),
                                                         interface)
            position = dict(zip(topology.axes, topology.coordinates(node)))
            m.d.comb += [interface.position.eq(position_layout(torus).const(position)),
                         interface.address.eq(node)]
            for dim in range(topology.dimensions):
                m.d.comb += [
                    interface.successors[dim].eq(topology.neighbour(node, 1 + 2 * dim)),
                    interface.predecessors[dim].eq(topology.neighbour(node, 2 + 2 * dim))]
            wiring.connect(m, wiring.flipped(self.i[node]), interface.i)
            wiring.connect(m, interface.o, wiring.flipped(self.o[node]))
            wiring.connect(m, interface.inject, fabric.inject[node])
            wiring.connect(m, fabric.eject[node], interface.eject)
        return m
