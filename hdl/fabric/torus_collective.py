"""All-reduce, reduce-scatter and all-gather on a 2-D or 3-D torus, dimension by dimension,
built from the ring's network interfaces (:class:`~hdl.fabric.allreduce.AllReduceInterface`).

Every node chains one ring interface per phase (``AllReduceConfig.phases``: reduce-scatters
along X, Y, Z, then all-gathers along Z, Y, X; ``sim_models.torus_collective`` has the order
of the additions): each phase's results stream into the next phase's input, and the last
phase's results are the node's output. A bidirectional collective (``AllReduceConfig.
bidirectional``) has two interfaces per phase, its lanes, running at once: the + way round
the dimension's ring over the first half of every chunk, the - way (``direction=-1``) over the
second half; the phase's stream is dealt to them and gathered from them in turns of half a
chunk. Each interface is the ring's, unchanged, built for a ring of its dimension's size; this
module only joins it to the torus:

* **Headers.** An interface's header (ring addresses) leaves as a torus header for the next
  node along its dimension and direction (one hop), of kind ``ALLREDUCE_KIND`` the + way and
  ``ALLREDUCE_REVERSE_KIND`` the - way; a received packet's header is handed to the interface
  in the ring's layout. Payload flits pass as they are.
* **Rendezvous.** All lanes share the node's one eject stream, so a packet for a lane that
  has not started would block the packets the running lanes wait for (a node's Y neighbour
  may start its Y phase while the node still runs X). So every lane starts with a
  rendezvous: once a lane's interface has taken its whole input it sends a header-only
  packet ("ready", length 0) to the node it receives from, and an interface sends its first
  packet of a phase only after the rendezvous of the node it sends to has arrived. A data
  packet therefore only ever arrives at a running interface, which takes it, and the one
  eject stream never blocks. Rendezvous packets are always taken.
* **Steering.** A data packet comes from the neighbour a lane receives from (its source and
  kind say which dimension and direction); the first ``side - 1`` packets of a dimension and
  direction belong to that dimension's reduce-scatter, the next ``side - 1`` to its
  all-gather (packets of a pair arrive in order).
* **Inject.** Rendezvous packets go first, between packets; then the first lane, in lane
  order, that has a packet to send, a packet at a time.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from sim_models.config import (ALLREDUCE_KIND, ALLREDUCE_REVERSE_KIND, KIND_WIDTH,
                               AllReduceConfig)

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
    """The collective network interface of one node of a torus: one ring interface per lane
    (a phase and a direction, ``AllReduceConfig.lanes``), joined to the node's inject and
    eject streams as the module docstring says.

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
        self._interfaces = []  # one per lane, built by elaborate
        super().__init__(node_signature(config))

    @property
    def config(self):
        return self._config

    def _streams(self, dim, direction):
        """The neighbours a lane of dimension ``dim`` running ``direction`` round its ring
        sends its data to and receives it from (its rendezvous go the other way), and the
        header kind of its packets."""
        ahead, behind = self.successors[dim], self.predecessors[dim]
        if direction == 1:
            return ahead, behind, ALLREDUCE_KIND
        return behind, ahead, ALLREDUCE_REVERSE_KIND

    def _key(self, dim, direction):
        """Index of the rendezvous counter of a dimension and direction."""
        return dim * len(self._config.directions) + self._config.directions.index(direction)

    def _phase_lanes(self):
        """Per phase, the interfaces of its lanes, + way first."""
        phases = [[] for _ in self._config.phases]
        for (phase, _, _, _), interface in zip(self._config.lanes, self._interfaces):
            phases[phase].append(interface)
        return phases

    def _half(self, phase):
        """Elements each lane takes before the next takes its share: half a chunk of the
        phase's ring when two lanes share it."""
        _, config = self._config.phases[phase]
        return config.vector_length // config.ring.nodes

    @staticmethod
    def _turns(m, handshake, lanes, half, name):
        """Which of ``lanes`` streams has its turn: each in order for ``half`` handshakes."""
        if lanes == 1:
            return Const(0)
        turn, count = Signal(name=f"{name}_turn"), Signal(range(half), name=f"{name}_count")
        with m.If(handshake):
            m.d.sync += [count.eq(Mux(count == half - 1, 0, count + 1)),
                         turn.eq(turn ^ (count == half - 1))]
        return turn

    def _split(self, m, valid, payload, targets, half, name):
        """Deal a stream (``valid``, ``payload``) to the ``i`` streams of ``targets`` in turns
        of ``half`` elements; returns the stream's ``ready``."""
        ready = Signal(name=f"{name}_ready")
        turn = self._turns(m, valid & ready, len(targets), half, name)
        taken = Const(0)
        for index, target in enumerate(targets):
            m.d.comb += [target.i.valid.eq(valid & (turn == index)),
                         target.i.payload.eq(payload)]
            taken = taken | (turn == index) & target.i.ready
        m.d.comb += ready.eq(taken)
        return ready

    def _merge(self, m, sources, ready, half, name):
        """Take the ``o`` streams of ``sources`` in turns of ``half`` elements, offered to a
        consumer that drives ``ready``; returns the stream's ``valid`` and ``payload``."""
        valid = Signal(name=f"{name}_valid")
        payload = Signal.like(sources[0].o.payload, name=f"{name}_payload")
        turn = self._turns(m, valid & ready, len(sources), half, name)
        offered, given = Const(0), sources[0].o.payload
        for index, source in enumerate(sources):
            m.d.comb += source.o.ready.eq(ready & (turn == index))
            offered = offered | (turn == index) & source.o.valid
            given = Mux(turn == index, source.o.payload, given)
        m.d.comb += [valid.eq(offered), payload.eq(given)]
        return valid, payload

    def _chain(self, m):
        """Join the phases' streams in order, each phase's stream dealt to its lanes and
        gathered from them in turns of :meth:`_half`; returns, per lane, a pulse on the
        handshake of the last element of its input (the lane's interface starts the next
        cycle). The next collective's input is taken only once the node has given the last
        result of the one before: one collective at a time per node, so that every
        dimension's packets and rendezvous come in the order of its phases."""
        lanes = self._phase_lanes()
        for index, interface in enumerate(self._interfaces):
            m.submodules[f"lane_{index}"] = interface
        busy = Signal()  # from the first phase's start to the node's last result
        valid, payload = self.i.valid & ~busy, self.i.payload
        # Each phase's results go to the next phase's lanes, the last phase's to ``o``.
        merged_ready = [Signal(name=f"merged_ready_{phase}") for phase in range(len(lanes))]
        for phase, interfaces in enumerate(lanes):
            ready = self._split(m, valid, payload, interfaces, self._half(phase),
                                f"split_{phase}")
            m.d.comb += (self.i.ready.eq(ready & ~busy) if phase == 0
                         else merged_ready[phase - 1].eq(ready))
            valid, payload = self._merge(m, interfaces, merged_ready[phase],
                                         self._half(phase), f"merge_{phase}")
        m.d.comb += [self.o.valid.eq(valid), self.o.payload.eq(payload),
                     merged_ready[-1].eq(self.o.ready)]
        started = [self._last(m, interface.i, _phase_inputs(config), f"taken_{index}")
                   for index, ((_, _, _, config), interface)
                   in enumerate(zip(self._config.lanes, self._interfaces))]
        outputs = self._config.vector_length
        if self._config.collective == "reducescatter":
            outputs //= self._config.ring.nodes
        finished = self._last(m, self.o, outputs, "given")
        # The first phase's last lane takes the last element of the node's input.
        m.d.sync += busy.eq(Mux(busy, ~finished, started[len(lanes[0]) - 1]))
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
        dimension and direction, :meth:`_key`), data packets go to their lane's interface
        with a ring header."""
        # Comb logic here is written as expressions, never as conditional assignments: Icarus
        # does not run at time 0 a process whose inputs never change, and its X would stay in
        # the rendezvous counters for good.
        config, torus = self._config, self._config.ring
        lanes, interfaces = config.lanes, self._interfaces
        header = header_layout(torus)(self.eject.payload.flit[:torus.header_width])
        in_packet = Signal()
        target = Signal(range(len(lanes)))
        handshake = self.eject.valid & self.eject.ready
        token = ~in_packet & (header.length == 0)
        chosen = Const(0, range(len(lanes)))  # the lane of a data header
        arrivals = [Const(0)] * (torus.topology.dimensions * len(config.directions))
        for dim in range(torus.topology.dimensions):
            for direction in config.directions:
                sends_to, receives_from, kind = self._streams(dim, direction)
                ours = header.kind == kind
                # Data comes from the node the lane receives from, rendezvous from the one
                # it sends to.
                data_from = ours & (header.source == receives_from)
                ready_from = ours & (header.source == sends_to)
                own = [index for index, (_, lane_dim, lane_direction, _) in enumerate(lanes)
                       if (lane_dim, lane_direction) == (dim, direction)]
                steps = torus.dims[dim] - 1
                received = Signal(range(len(own) * steps),
                                  name=f"received_{dim}_{'pm'[direction < 0]}")
                chosen = Mux(data_from, Mux(received >= steps, own[-1], own[0]), chosen)
                with m.If(handshake & ~in_packet & ~token & data_from):
                    m.d.sync += received.eq(Mux(received == len(own) * steps - 1, 0,
                                                received + 1))
                arrivals[self._key(dim, direction)] = handshake & token & ready_from
        m.d.comb += arrived.eq(Cat(*arrivals))
        current = Signal.like(target)
        m.d.comb += current.eq(Mux(in_packet, target, chosen))
        ready = Const(0)
        for index, ((_, _, _, lane), interface) in enumerate(zip(lanes, interfaces)):
            ring_header = Signal(header_layout(lane.ring), name=f"ring_header_{index}")
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
        (per dimension and direction) when a lane's first packet goes on the strength of a
        rendezvous. Comb logic as expressions, as in :meth:`_receive`."""
        config, torus = self._config, self._config.ring
        lanes, interfaces = config.lanes, self._interfaces
        owed = Signal(len(lanes))  # a rendezvous packet to send, per lane
        awaiting = Signal(len(lanes))  # the first packet of the lane not yet sent
        in_packet = Signal()
        remaining = Signal(torus.length_width)
        source = Signal(range(len(lanes)))  # the interface whose packet is going out
        handshake = self.inject.valid & self.inject.ready

        token_lane = Const(0, range(len(lanes)))  # the first lane owed a rendezvous
        for index in reversed(range(len(lanes))):
            token_lane = Mux(owed[index], index, token_lane)
        send_token = Signal()
        m.d.comb += send_token.eq(~in_packet & owed.any())
        token = Signal(header_layout(torus))
        token_destination, token_kind = Const(0, torus.address_width), Const(0, KIND_WIDTH)
        for index, (_, dim, direction, _) in enumerate(lanes):
            _, receives_from, kind = self._streams(dim, direction)
            token_destination = Mux(token_lane == index, receives_from, token_destination)
            token_kind = Mux(token_lane == index, kind, token_kind)
        m.d.comb += [token.destination.eq(token_destination),
                     token.source.eq(self.address), token.kind.eq(token_kind)]

        allowed, offers = [], []
        for index, ((_, dim, direction, _), interface) in enumerate(zip(lanes, interfaces)):
            may = Signal(name=f"may_send_{index}")
            m.d.comb += may.eq(~awaiting[index] | (tokens[self._key(dim, direction)] != 0))
            allowed.append(may)
            offers.append(interface.inject.valid & may)
        chosen = Const(0, range(len(lanes)))
        for index in reversed(range(len(lanes))):
            chosen = Mux(offers[index], index, chosen)
        current = Signal.like(source)
        m.d.comb += current.eq(Mux(in_packet, source, chosen))
        offering = Const(0)
        length = Const(0, torus.length_width)
        destination, kind = Const(0, torus.address_width), Const(0, KIND_WIDTH)
        payload = Const(0, torus.flit_width)
        uses = [Const(0)] * (torus.topology.dimensions * len(config.directions))
        for index, ((_, dim, direction, lane), interface) in enumerate(zip(lanes, interfaces)):
            selected = ~send_token & (current == index)
            sends_to, _, lane_kind = self._streams(dim, direction)
            ring_header = header_layout(lane.ring)(interface.inject.payload[
                :lane.ring.header_width])
            length = Mux(current == index, ring_header.length, length)
            destination = Mux(current == index, sends_to, destination)
            kind = Mux(current == index, lane_kind, kind)
            payload = Mux(current == index, interface.inject.payload, payload)
            m.d.comb += interface.inject.ready.eq(selected & allowed[index] &
                                                  self.inject.ready)
            offering = offering | selected & offers[index]
            key = self._key(dim, direction)
            uses[key] = uses[key] | handshake & selected & ~in_packet & awaiting[index]
        data_header = Signal(header_layout(torus))
        m.d.comb += [used.eq(Cat(*uses)),
                     data_header.destination.eq(destination),
                     data_header.source.eq(self.address), data_header.kind.eq(kind),
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
                           for index in range(len(lanes))))
        sent_token = Mux(handshake & send_token, Const(1, len(lanes)) << token_lane, 0)
        starts = Cat(*started)
        m.d.sync += [owed.eq(owed & ~sent_token | starts),
                     awaiting.eq(awaiting & ~sent_first | starts)]

    def elaborate(self, platform):
        m = Module()
        self._interfaces = [AllReduceInterface(lane, direction)
                            for _, _, direction, lane in self._config.lanes]
        keys = self._config.ring.topology.dimensions * len(self._config.directions)
        # Rendezvous packets received and not yet used, per dimension and direction: at most
        # one per phase of the dimension can be early.
        tokens = [Signal(range(3), name=f"tokens_{key}") for key in range(keys)]
        arrived, used = Signal(keys, name="arrived"), Signal(keys, name="used")
        for key, count in enumerate(tokens):
            m.d.sync += count.eq(count + arrived[key] - used[key])
        started = self._chain(m)
        axes = self._config.ring.topology.axes
        for (_, dim, _, _), interface in zip(self._config.lanes, self._interfaces):
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
