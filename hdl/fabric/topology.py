"""Ring and torus fabrics: one router per node, neighbours joined by credit-based links.

The router is a leaf module: emitted once per configuration (``hdl.emit`` writes it next
to the fabric) and instantiated at every node with the node's coordinates on its ``here`` port,
so generation, Verilog size and simulator build times grow with one router, not with the nodes.
"""

from amaranth.hdl import ClockSignal, Instance, Module, ResetSignal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from sim_models.config import FabricConfig
from sim_models.topology import check_deadlock_free

from .layouts import flit_layout, position_layout
from .router import DROP_COUNTER_WIDTH, router_signature

__all__ = ["Fabric", "leaf_instance", "router_leaves", "router_module_name"]


def router_module_name(config, level=None):
    """Verilog module name of the router leaf for ``config``, e.g. ``fabric_router_ring5``;
    of a switched fabric's level-``level`` switch, e.g. ``fabric_router_switch4x2_l1``."""
    suffix = f"_l{level}" if config.switched else ""
    return f"fabric_router_{config.name}{suffix}"


def router_leaves(config):
    """``(level, module name)`` of every router leaf module ``config`` needs: one for a ring
    or torus (level None), one per switch level of a switched fabric."""
    levels = range(1, config.topology.levels + 1) if config.switched else [None]
    return [(level, router_module_name(config, level)) for level in levels]


def leaf_instance(name, ports):
    """``Instance`` of the leaf module ``name`` whose ports are the signals of interface
    ``ports`` (created from the leaf component's signature); Verilog port names join the
    member path with ``__``, as Amaranth names the ports of a top module."""
    arguments = {}
    for path, member, value in ports.signature.flatten(ports):
        prefix = "i_" if member.flow == In else "o_"
        arguments[prefix + "__".join(map(str, path))] = Value.cast(value)
    return Instance(name, i_clk=ClockSignal(), i_rst=ResetSignal(), **arguments)


def _router_instance(config, ports, level=None):
    """``Instance`` of the router leaf whose ports are the signals of interface ``ports``."""
    return leaf_instance(router_module_name(config, level), ports)


class Fabric(wiring.Component):
    """A ring or torus of :class:`~hdl.fabric.router.Router` nodes (instances of the leaf
    module named by :func:`router_module_name`).

    Parameters
    ----------
    config : FabricConfig
        Its routing relation is checked for deadlock freedom first (when it promises it).

    Raises
    ------
    TypeError
        If ``config`` is not a FabricConfig.
    ValueError
        If the routing relation promises deadlock freedom and its channel dependency graph has
        a cycle (:func:`sim_models.topology.check_deadlock_free`).

    Members
    -------
    inject : In(stream.Signature(config.flit_width)).array(config.nodes)
        Packets sent by each node: a header flit (``header_layout(config)`` in its low bits),
        then ``length`` payload flits.
    eject : Out(stream.Signature(flit_layout(config))).array(config.nodes)
        Packets received by each node, whole and one at a time, ``last`` set on the last flit.
    dropped : Out(16).array(config.nodes)
        Packets each node sent to an address that names no node, dropped (wraps around).
    """
    def __init__(self, config):
        if not isinstance(config, FabricConfig):
            raise TypeError(f"Parameter 'config' must be a FabricConfig, not {config!r}")
        check_deadlock_free(config.topology, config.relation, config.routing)
        self._config = config
        super().__init__({
            "inject": In(stream.Signature(config.flit_width)).array(config.nodes),
            "eject": Out(stream.Signature(flit_layout(config))).array(config.nodes),
            "dropped": Out(DROP_COUNTER_WIDTH).array(config.nodes),
        })

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        if self._config.switched:
            return self._switched()
        config, topology = self._config, self._config.topology
        m = Module()
        signature = router_signature(config)
        routers = [signature.create(path=(f"router_{node}",)) for node in range(config.nodes)]
        for node, router in enumerate(routers):
            m.submodules[f"router_{node}"] = _router_instance(config, router)
            position = dict(zip(topology.axes, topology.coordinates(node)))
            m.d.comb += [router.here.eq(position_layout(config).const(position)),
                         self.dropped[node].eq(router.dropped)]
            wiring.connect(m, wiring.flipped(self.inject[node]), router.inject)
            wiring.connect(m, router.eject, wiring.flipped(self.eject[node]))
            for port in range(1, topology.ports):
                wiring.connect(m, router.link_out[port - 1],
                               routers[topology.neighbour(node, port)].link_in[port - 1])
        return m

    def _switched(self):
        """Switches level by level; chip ``(d0, prefix)`` on port ``d0`` of the level-1 switch
        of ``prefix``; every link joined to its far end (:meth:`SwitchTree.far_end`)."""
        config, tree = self._config, self._config.topology
        m = Module()
        switches = []
        for switch in range(tree.routers):
            level, prefix, plane = tree.switch(switch)
            ports = router_signature(config, level).create(path=(f"switch_{switch}",))
            m.submodules[f"switch_{switch}"] = _router_instance(config, ports, level)
            if hasattr(ports, "here"):
                here = dict(zip((f"d{digit}" for digit in range(level, tree.levels)), prefix))
                if "plane" in ports.here.shape().members:
                    here["plane"] = plane
                m.d.comb += ports.here.eq(ports.here.shape().const(here))
            if level == 1:
                for chip in range(tree.radices[0]):
                    node = tree.node((chip, *prefix))
                    wiring.connect(m, wiring.flipped(self.inject[node]), ports.inject[chip])
                    wiring.connect(m, ports.eject[chip], wiring.flipped(self.eject[node]))
                    m.d.comb += self.dropped[node].eq(ports.dropped[chip])
            switches.append((level, ports))
        for switch, (level, ports) in enumerate(switches):
            first = tree.radices[0] if level == 1 else 0
            for port in range(first, tree.ports(level)):
                far, far_port = tree.far_end(switch, port)
                far_level, far_ports = switches[far]
                far_first = tree.radices[0] if far_level == 1 else 0
                wiring.connect(m, ports.link_out[port - first],
                               far_ports.link_in[far_port - far_first])
        return m

