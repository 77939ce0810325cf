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

__all__ = ["Fabric", "router_module_name"]


def router_module_name(config):
    """Verilog module name of the router leaf for ``config``, e.g. ``fabric_router_ring5``."""
    return f"fabric_router_{config.name}"


def _router_instance(config, ports):
    """``Instance`` of the router leaf whose ports are the signals of interface ``ports``
    (created from the router's signature); Verilog port names join the member path with
    ``__``, as Amaranth names the ports of a top module."""
    arguments = {}
    for path, member, value in ports.signature.flatten(ports):
        prefix = "i_" if member.flow == In else "o_"
        arguments[prefix + "__".join(map(str, path))] = Value.cast(value)
    return Instance(router_module_name(config), i_clk=ClockSignal(), i_rst=ResetSignal(),
                    **arguments)


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
