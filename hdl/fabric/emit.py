"""Verilog emission of a fabric: one file holding the router leaf and the fabric around it, plus a
port map (JSON) that names every port, the packet format and the bit fields of each stream.

Command line::

    python -m hdl.fabric.emit --ring 8 --out build/verilog
    python -m hdl.fabric.emit --torus 4 4 --flit-width 64 --out build/verilog
"""

import argparse
import sys
from dataclasses import dataclass

from amaranth.back import verilog

from ..emit import describe_layout, write
from .config import FabricConfig
from .router import Router
from .topology import Fabric, fabric_module_name, router_module_name

__all__ = ["GeneratedFabric", "generate", "write"]


@dataclass(frozen=True)
class GeneratedFabric:
    """Verilog text of one fabric and its port map."""
    config: FabricConfig
    verilog: str
    port_map: dict

    @property
    def top(self):
        return fabric_module_name(self.config)


def _port_map(fabric):
    config = fabric.config
    streams = {}
    for node in range(config.nodes):
        for name, layout in (("inject", config.flit_width), ("eject", config.flit_layout)):
            prefix = f"{name}__{node}"
            streams[prefix] = {
                "node": node, "direction": "in" if name == "inject" else "out",
                "valid": f"{prefix}__valid", "ready": f"{prefix}__ready",
                "payload": f"{prefix}__payload",
                "layout": {"kind": "plain", "width": layout} if name == "inject" else
                describe_layout(layout),
            }
    return {
        "top": fabric_module_name(config),
        "config": {"dims": list(config.dims), "nodes": config.nodes,
                   "flit_width": config.flit_width, "length_width": config.length_width,
                   "buffer_depth": config.buffer_depth, "routing": config.routing,
                   "virtual_channels": config.vcs},
        "header": describe_layout(config.header_layout),
        "clock": "clk", "reset": {"name": "rst", "polarity": "high", "synchronous": True},
        "streams": streams,
        "dropped": [f"dropped__{node}" for node in range(config.nodes)],
        "ports": fabric.metadata.as_json()["interface"]["members"],
    }


def generate(config):
    """Elaborate the fabric for ``config`` and return its Verilog and port map."""
    fabric = Fabric(config)
    text = verilog.convert(Router(config), name=router_module_name(config), emit_src=False)
    text += verilog.convert(fabric, name=fabric_module_name(config), emit_src=False)
    return GeneratedFabric(config, text, _port_map(fabric))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    topology = parser.add_mutually_exclusive_group(required=True)
    topology.add_argument("--ring", type=int, metavar="NODES", help="ring of NODES nodes")
    topology.add_argument("--torus", type=int, nargs=2, metavar=("X", "Y"), help="X by Y torus")
    parser.add_argument("--flit-width", type=int, default=32, help="bits per flit")
    parser.add_argument("--length-width", type=int, default=4, help="bits of the length field")
    parser.add_argument("--buffer-depth", type=int, default=4, help="flits per input buffer")
    parser.add_argument("--routing", default="dateline", help="dateline or naive")
    parser.add_argument("--out", default="build/verilog", help="output directory")
    args = parser.parse_args(argv)
    options = {"flit_width": args.flit_width, "length_width": args.length_width,
               "buffer_depth": args.buffer_depth, "routing": args.routing}
    try:
        config = FabricConfig.ring(args.ring, **options) if args.ring is not None else \
            FabricConfig.torus(*args.torus, **options)
    except (TypeError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    print(write(generate(config), args.out))


if __name__ == "__main__":
    sys.exit(main())
