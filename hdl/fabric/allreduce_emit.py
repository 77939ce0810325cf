"""Verilog emission of an all-reduce ring: one file holding the router leaf and the ring of
network interfaces around it, plus a port map (JSON).

Command line::

    python -m hdl.fabric.allreduce_emit --nodes 5 --vector-length 23 --out build/verilog
"""

import argparse
import sys
from dataclasses import dataclass

from amaranth.back import verilog

from ..emit import describe_layout, write
from .allreduce import ALLREDUCE_KIND, AllReduceRing
from .config import FabricConfig
from .router import Router
from .topology import router_module_name

__all__ = ["GeneratedAllReduce", "allreduce_module_name", "generate", "ring_port_map", "write"]


def allreduce_module_name(config, vector_length):
    """Verilog module name of the all-reduce ring, e.g. ``allreduce_ring5_v23``."""
    return f"allreduce_{config.name}_v{vector_length}"


@dataclass(frozen=True)
class GeneratedAllReduce:
    """Verilog text of one all-reduce ring and its port map."""
    config: FabricConfig
    vector_length: int
    verilog: str
    port_map: dict

    @property
    def top(self):
        return allreduce_module_name(self.config, self.vector_length)


def ring_port_map(component, top, config, settings):
    """Port map of a ring ``component`` whose members are stream arrays, one stream per node:
    the module ``top``, its ``settings``, the fabric's header layout, and each node's stream
    ports and payload layout."""
    streams = {}
    for name, member in component.signature.members.items():
        direction = "in" if member.flow.name == "In" else "out"
        layout = describe_layout(member.signature.members["payload"].shape)
        for node in range(config.nodes):
            prefix = f"{name}__{node}"
            streams[prefix] = {
                "node": node, "direction": direction, "valid": f"{prefix}__valid",
                "ready": f"{prefix}__ready", "payload": f"{prefix}__payload", "layout": layout}
    return {
        "top": top,
        "config": settings,
        "header": describe_layout(config.header_layout),
        "allreduce_kind": ALLREDUCE_KIND,
        "clock": "clk", "reset": {"name": "rst", "polarity": "high", "synchronous": True},
        "streams": streams,
        "ports": component.metadata.as_json()["interface"]["members"],
    }


def _port_map(ring):
    config, interface = ring.config, ring.interfaces[0]
    return ring_port_map(ring, allreduce_module_name(config, ring.vector_length), config, {
        "nodes": config.nodes, "vector_length": ring.vector_length,
        "flit_width": config.flit_width, "length_width": config.length_width,
        "buffer_depth": config.buffer_depth, "routing": config.routing,
        "elements_per_flit": interface.elements_per_flit,
        "chunk_flits": interface.chunk_flits})


def generate(nodes, vector_length, **options):
    """Elaborate the all-reduce ring and return its Verilog and port map.

    ``options`` are those of :class:`~hdl.fabric.allreduce.AllReduceRing`.
    """
    ring = AllReduceRing(nodes, vector_length, **options)
    config = ring.config
    text = verilog.convert(Router(config), name=router_module_name(config), emit_src=False)
    text += verilog.convert(ring, name=allreduce_module_name(config, vector_length),
                            emit_src=False)
    return GeneratedAllReduce(config, vector_length, text, _port_map(ring))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, required=True, help="nodes of the ring")
    parser.add_argument("--vector-length", type=int, required=True, help="elements per vector")
    parser.add_argument("--flit-width", type=int, default=32, help="bits per flit")
    parser.add_argument("--length-width", type=int, default=4, help="bits of the length field")
    parser.add_argument("--buffer-depth", type=int, default=4, help="flits per input buffer")
    parser.add_argument("--out", default="build/verilog", help="output directory")
    args = parser.parse_args(argv)
    try:
        generated = generate(args.nodes, args.vector_length, flit_width=args.flit_width,
                             length_width=args.length_width, buffer_depth=args.buffer_depth)
    except (TypeError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    print(write(generated, args.out))


if __name__ == "__main__":
    sys.exit(main())
