"""Wormhole router of a ring or torus: input buffers per virtual channel, the routing relation
of ``sim_models.topology`` built as gates, round-robin switch allocation per output,
credit-based links.

Timing at zero load: a flit written into an input buffer in one cycle can leave through the
crossbar into an output register in the next, so each router adds
:data:`~sim_models.topology.ROUTER_CYCLES` (buffer, output register) and a link adds none.
Each output sends at most one flit per cycle; a link of a dimension whose flit interval is
``k`` (``FabricConfig.flit_intervals``: a Trn2 UltraServer's Z links at half bandwidth are
``k = 2``) at most one flit per ``k`` cycles, the same flit width at a ``1/k`` clock rate. On a
switched fabric the chip links are paced the same way: a level-1 switch takes each chip's
flits from its inject stream and gives them to its eject stream at most one per ``k`` cycles
(Trainium3 Gen2: ``k = 5``, the switch core at 5 times a chip link's flit rate).
"""

from functools import reduce
from operator import or_

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from sim_models.topology import LOCAL, route

from .arbiter import RoundRobin
from .framer import Framer
from .layouts import flit_layout, header_layout, position_layout
from .link import LinkSignature

__all__ = ["DROP_COUNTER_WIDTH", "Router", "router_signature"]

#: Bits of the dropped-packet counter (it wraps around).
DROP_COUNTER_WIDTH = 16


def _one_hot_select(m, name, shape, choices):
    """Signal holding the value of the (single) choice whose condition is set, else zero."""
    selected = Signal(shape, name=name)
    m.d.comb += selected.eq(reduce(or_, (value & condition.replicate(len(selected))
                                         for condition, value in choices)))
    return selected


class _Gates:
    """Operations of a routing relation as Amaranth circuits in module ``m``; intermediate
    signal names end in ``tag`` (see :meth:`sim_models.topology.DimensionOrder.next_hop`)."""
    def __init__(self, m, tag):
        self._m, self._tag = m, tag

    select = staticmethod(Mux)

    def hold(self, name, value, limit):
        signal = Signal(range(limit), name=f"{name}_{self._tag}")
        self._m.d.comb += signal.eq(value)
        return signal

    @staticmethod
    def constant(value, limit):
        return Const(value, range(limit))


class _TorusPlan:
    """Ports of a ring or torus router and its routing relation in gates: one endpoint (the
    local port, 0), then the links to the neighbours."""
    def __init__(self, config):
        self.config = config
        self.ports = config.topology.ports
        self.endpoints = 1
        self.here_layout = position_layout(config)

    def interval(self, port):
        """Cycles between flits on the link out of ``port`` (1 on the local port)."""
        return self.config.topology.port_interval(port) if port != LOCAL else 1

    def lookup(self, m, here, destination, in_port, in_vc, tag):
        """Output port (:attr:`ports` to drop) and virtual channel for ``destination``."""
        config, topology = self.config, self.config.topology
        axes = topology.axes
        return _next_hop(m, config, self.ports, position_layout(config),
                         lambda node: dict(zip(axes, topology.coordinates(node))),
                         lambda ops, there: config.relation.next_hop(
                             topology, ops, [here[axis] for axis in axes],
                             [there[axis] for axis in axes], in_port, in_vc),
                         destination, tag)

    def outputs(self, in_port, in_vc):
        """Output ports input ``in_port`` (virtual channel ``in_vc``) can send to anywhere."""
        config = self.config
        return frozenset(
            hop.port for node in range(config.nodes) for destination in range(config.nodes)
            if (hop := route(config.topology, config.relation, node, in_port, in_vc,
                             destination)) is not None)


class _SwitchPlan:
    """Ports of a switch of level ``level`` of a switched fabric
    (:class:`~sim_models.topology.SwitchTree`) and its address-match relation in gates: the
    down ports (at level 1 the endpoints, one per chip), then the up ports."""
    def __init__(self, config, level):
        tree = config.topology
        self.config, self.level, self.tree = config, level, tree
        self.ports = tree.ports(level)
        self.endpoints = tree.radices[0] if level == 1 else 0
        fields = {f"d{digit}": range(tree.radices[digit])
                  for digit in range(level, tree.levels)}
        if level == tree.levels and tree.top_switches > 1:
            fields["plane"] = range(tree.top_switches)
        self.here_layout = data.StructLayout(fields)

    def interval(self, port):
        """Cycles between flits on the link out of ``port``: down links of this level (at
        level 1 the chip links, inject and eject alike), up links of the level above."""
        down = port < self.tree.radices[self.level - 1]
        return self.tree.level_interval(self.level if down else self.level + 1)

    def lookup(self, m, here, destination, in_port, in_vc, tag):
        """Output port (:attr:`ports` to drop) and virtual channel for ``destination``."""
        config, tree, level = self.config, self.tree, self.level
        digits = [f"d{digit}" for digit in range(tree.levels)]
        layout = data.StructLayout(dict(zip(digits, map(range, tree.radices))))
        return _next_hop(m, config, self.ports, layout,
                         lambda node: dict(zip(digits, tree.digits(node))),
                         lambda ops, there: config.relation.next_hop(
                             tree, ops, level, [here[name] for name in digits[level:]],
                             [there[name] for name in digits], in_port, in_vc),
                         destination, tag)

    def outputs(self, in_port, in_vc):
        """Output ports input ``in_port`` can send to at some switch of this level."""
        tree, relation = self.tree, self.config.relation
        return frozenset(
            route(tree, relation, switch, in_port, in_vc, destination).port
            for switch in range(tree.routers) if tree.switch(switch)[0] == self.level
            for destination in range(tree.nodes))


def _next_hop(m, config, drop, layout, position, relation, destination, tag):
    """Output port (``drop`` when ``destination`` names no node) and virtual channel that the
    routing relation gives for ``destination``: its address decoded into a position of
    ``layout`` (``position(node)``, the field values), ``relation(ops, there)`` the relation
    built as gates on it."""
    there = Signal(layout, name=f"there_{tag}")
    exists = Signal(name=f"exists_{tag}")
    with m.Switch(destination):
        for node in range(config.nodes):
            with m.Case(node):
                m.d.comb += [there.eq(layout.const(position(node))), exists.eq(1)]
    port, vc = relation(_Gates(m, tag), there)
    hop_port = Signal(range(drop + 1), name=f"lookup_{tag}")
    hop_vc = Signal(range(config.vcs), name=f"lookup_vc_{tag}")
    m.d.comb += [hop_port.eq(Mux(exists, port, drop)), hop_vc.eq(vc)]
    return hop_port, hop_vc


class _Input:
    """An input buffer (one virtual channel of one input port) and its wormhole state.

    ``port`` is the output port the flit at the head of the buffer goes to (``drop`` when it
    is to be discarded) and ``vc`` the virtual channel it takes there: computed from the
    header for the first flit of a packet, held from the header on for the others.
    """
    def __init__(self, m, config, plan, here, in_port, in_vc, buffer):
        drop = plan.ports
        self.buffer = buffer
        self.head = flit_layout(config)(buffer.r_data)
        self.valid = buffer.r_rdy
        tag = f"{in_port}_{in_vc}"
        # The input is inside a packet: the head is a payload flit.
        self.active = Signal(name=f"active_{tag}")
        self.target = Signal(range(drop + 1), name=f"target_{tag}")
        self.target_vc = Signal(range(config.vcs), name=f"target_vc_{tag}")
        header = header_layout(config)(self.head.flit[:config.header_width])
        lookup, lookup_vc = plan.lookup(m, here, header.destination, in_port, in_vc, tag)
        #: Output ports this input can send to at some node; the crossbar only joins these.
        self.outputs = plan.outputs(in_port, in_vc)
        self.port = Signal.like(self.target, name=f"port_{tag}")
        self.vc = Signal.like(self.target_vc, name=f"vc_{tag}")
        m.d.comb += [
            self.port.eq(Mux(self.active, self.target, lookup)),
            self.vc.eq(Mux(self.active, self.target_vc, lookup_vc)),
        ]
        self.drops = self.valid & (self.port == drop)

    def advance(self, m, granted):
        """Take the head flit out of the buffer when ``granted`` or dropped; return the drop
        of a header, for the counter."""
        pop = granted | self.drops
        m.d.comb += self.buffer.r_en.eq(pop)
        with m.If(pop):
            m.d.sync += [self.active.eq(~self.head.last), self.target.eq(self.port),
                         self.target_vc.eq(self.vc)]
        return self.drops & ~self.active


def _plan(config, level):
    if config.switched:
        return _SwitchPlan(config, level)
    return _TorusPlan(config)


def router_signature(config, level=None):
    """Signature of :class:`Router` for ``config`` (and switch ``level``; members documented
    there)."""
    plan = _plan(config, level)
    links = plan.ports - plan.endpoints
    members = {"here": In(plan.here_layout)} if plan.here_layout.size else {}
    inject = In(stream.Signature(config.flit_width))
    eject = Out(stream.Signature(flit_layout(config)))
    if config.switched:
        if plan.endpoints:
            members |= {"inject": inject.array(plan.endpoints),
                        "eject": eject.array(plan.endpoints)}
    else:
        members |= {"inject": inject, "eject": eject}
    members |= {"link_in": In(LinkSignature(config)).array(links),
                "link_out": Out(LinkSignature(config)).array(links)}
    if config.switched:
        if plan.endpoints:
            members["dropped"] = Out(DROP_COUNTER_WIDTH).array(plan.endpoints)
    else:
        members["dropped"] = Out(DROP_COUNTER_WIDTH)
    return wiring.Signature(members)


class Router(wiring.Component):
    """Router of one node of a ring or torus, or one switch of a switched fabric.

    Packets are routed by ``config.relation`` (:mod:`sim_models.topology`). Each output
    virtual channel is held by one packet from its header to its last flit (wormhole
    switching); each output port grants one flit per cycle among the inputs that have a flit
    for it, a credit for its virtual channel and, for a header, a free virtual channel, in
    round-robin order. A packet for an address that names no node is consumed at its first
    router and counted.

    The router does not know its node: its position is an input, so one Verilog module
    serves every node of a fabric (every switch of one level of a switched fabric).

    Parameters
    ----------
    config : FabricConfig
    level : int or None
        Switch level (1 first) of a switched fabric; None for a ring or torus.

    Members
    -------
    here : In(position_layout(config))
        Coordinates of this router's node; constant. A switch's are the destination digits
        it matches (``d<level>`` up) and, at a top level of several switches, its ``plane``;
        absent when there are none.
    inject : In(stream.Signature(config.flit_width))
        Packets from the node: a header flit, then ``length`` payload flits. A level-1 switch
        has an array of them, one per chip (its down ports); switches above have none.
    eject : Out(stream.Signature(flit_layout(config)))
        Packets for the node, one at a time, ``last`` set on each packet's last flit (an array
        per chip on a level-1 switch, as ``inject``).
    link_in : In(LinkSignature(config)).array(links)
        Links from the neighbours; element ``p - 1`` is input port ``p`` (on a switch, element
        ``p - endpoints``: down links, then up links).
    link_out : Out(LinkSignature(config)).array(links)
        Links to the neighbours, numbered as ``link_in``.
    dropped : Out(16)
        Packets dropped because their destination names no node (wraps around); per chip on a
        level-1 switch.
    """
    def __init__(self, config, level=None):
        self._config = config
        self._plan = _plan(config, level)
        super().__init__(router_signature(config, level))

    def _endpoint(self, member, index):
        """Stream (or counter) ``member`` of endpoint ``index``."""
        value = getattr(self, member)
        return value[index] if self._config.switched else value

    def _buffer(self, m, name):
        buffer = SyncFIFO(width=flit_layout(self._config).size,
                          depth=self._config.buffer_depth)
        m.submodules[name] = buffer
        return buffer

    def _inputs(self, m):
        config, plan = self._config, self._plan
        here = getattr(self, "here", None)
        inputs = []
        for port in range(plan.endpoints):
            framer = Framer(config)
            m.submodules["framer" if not config.switched else f"framer_{port}"] = framer
            wiring.connect(m, wiring.flipped(self._endpoint("inject", port)), framer.i)
            local = self._buffer(m, f"buffer_{port}_0")
            valid, ready = framer.o.valid, local.w_rdy
            if plan.interval(port) > 1:  # a slow chip link paces what the chip sends
                free = self._link_free(m, f"inject_{port}", lambda free: valid & ready & free,
                                       plan.interval(port))
                valid, ready = valid & free, ready & free
            m.d.comb += [local.w_data.eq(framer.o.payload), local.w_en.eq(valid),
                         framer.o.ready.eq(ready)]
            inputs.append(_Input(m, config, plan, here, port, 0, local))
        for port in range(plan.endpoints, plan.ports):
            link = self.link_in[port - plan.endpoints]
            for vc in range(config.vcs):
                buffer = self._buffer(m, f"buffer_{port}_{vc}")
                # Credits guarantee room: the link has no ready to wait for.
                m.d.comb += [buffer.w_data.eq(link.payload.data),
                             buffer.w_en.eq(link.valid & (link.payload.vc == vc)),
                             link.credit[vc].eq(buffer.r_en)]
                inputs.append(_Input(m, config, plan, here, port, vc, buffer))
        return inputs

    @staticmethod
    def _link_free(m, name, used, interval):
        """Whether a link that carries a flit every ``interval`` cycles may carry one this
        cycle: ``interval - 1`` cycles have passed since the last cycle it carried one,
        ``used(free)`` being set then (constant 1 when ``interval`` is 1)."""
        if interval == 1:
            return Const(1)
        rest = Signal(range(interval), name=f"rest_{name}")  # cycles until the next flit
        free = rest == 0
        m.d.sync += rest.eq(Mux(used(free), interval - 1, Mux(free, 0, rest - 1)))
        return free

    def _output_space(self, m, port, sent, sent_vc):
        """Per virtual channel of output ``port``: a flit sent this cycle fits downstream and,
        on a link that carries a flit every ``k`` cycles (``plan.interval``), the link is
        free: ``k - 1`` cycles have passed since its last flit."""
        config, plan = self._config, self._plan
        space = Signal(config.vcs, name=f"space_{port}")
        interval = plan.interval(port)
        free = self._link_free(m, str(port), lambda free: sent, interval)
        if port < plan.endpoints:
            eject = self._endpoint("eject", port)
            room = ~eject.valid | eject.ready
            m.d.comb += space.eq((room & free if interval > 1 else room).replicate(config.vcs))
            return space
        link = self.link_out[port - plan.endpoints]
        for vc in range(config.vcs):
            credits = Signal(range(config.buffer_depth + 1), init=config.buffer_depth,
                             name=f"credits_{port}_{vc}")
            spent = sent & (sent_vc == vc)
            m.d.sync += credits.eq(credits - spent + link.credit[vc])
            m.d.comb += space[vc].eq((credits != 0) & free if interval > 1 else credits != 0)
        return space

    def _drive_output(self, m, port, sent, flit, vc):
        plan = self._plan
        if port < plan.endpoints:
            eject = self._endpoint("eject", port)
            with m.If(sent):
                m.d.sync += [eject.valid.eq(1), eject.payload.eq(flit)]
            with m.Elif(eject.ready):
                m.d.sync += eject.valid.eq(0)
            return
        link = self.link_out[port - plan.endpoints]
        m.d.sync += link.valid.eq(sent)
        with m.If(sent):
            m.d.sync += [link.payload.data.eq(flit), link.payload.vc.eq(vc)]

    def elaborate(self, platform):
        config, ports = self._config, self._plan.ports
        m = Module()
        inputs = self._inputs(m)
        grants = {source: [] for source in inputs}
        for port in range(ports):
            users = [source for source in inputs if port in source.outputs]
            if not users:
                continue  # e.g. the - links of a 2-node ring: ties go the + way
            m.submodules[f"arbiter_{port}"] = arbiter = RoundRobin(len(users))
            grant = arbiter.grant
            sent = grant.any()
            flit = _one_hot_select(m, f"flit_{port}", flit_layout(config).size,
                                   [(grant[i], source.head.as_value())
                                    for i, source in enumerate(users)])
            sent_vc = _one_hot_select(m, f"sent_vc_{port}", range(config.vcs),
                                      [(grant[i], source.vc) for i, source in enumerate(users)])
            space = self._output_space(m, port, sent, sent_vc)
            # An output virtual channel is taken while an input is inside a packet sent on it.
            taken = Signal(config.vcs, name=f"taken_{port}")
            for vc in range(config.vcs):
                m.d.comb += taken[vc].eq(reduce(or_, (
                    source.active & (source.target == port) & (source.target_vc == vc)
                    for source in users)))
            for i, source in enumerate(users):
                m.d.comb += arbiter.requests[i].eq(
                    source.valid & (source.port == port) & space.bit_select(source.vc, 1) &
                    (source.active | ~taken.bit_select(source.vc, 1)))
                grants[source].append(grant[i])
            self._drive_output(m, port, sent, flit, sent_vc)
        header_drops = [source.advance(m, Cat(*granted).any())
                        for source, granted in grants.items()]
        if not config.switched:
            m.d.sync += self.dropped.eq(self.dropped + sum(header_drops))
        else:  # only endpoint inputs carry packets for no node: the level-1 switch drops them
            for port in range(self._plan.endpoints):
                m.d.sync += self.dropped[port].eq(self.dropped[port] + header_drops[port])
        return m
