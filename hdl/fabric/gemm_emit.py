"""Verilog emission of a distributed GEMM ring: one file holding the router leaf, the tile's leaf
modules and the ring of tiles and network interfaces around them, plus a port map (JSON).

Command line::

    python -m hdl.fabric.gemm_emit --rows 4 --cols 4 --nodes 3 --columns 6 --out build/verilog
"""

import argparse
import sys
from dataclasses import dataclass

from amaranth.back import verilog

from ..emit import leaf_verilog, write
from ..params import TileConfig
from .allreduce_emit import ring_port_map
from .config import FabricConfig
from .gemm import DistributedGemm
from .router import Router
from .topology import router_module_name

__all__ = ["GeneratedGemm", "gemm_module_name", "generate", "write"]


def gemm_module_name(tile, config, columns):
    """Verilog module name of the distributed GEMM ring, e.g. ``gemm_r4c4_int8_ring3_n6``."""
    return f"gemm_{tile.name}_{config.name}_n{columns}"


@dataclass(frozen=True)
class GeneratedGemm:
    """Verilog text of one distributed GEMM ring and its port map."""
    tile: TileConfig
    config: FabricConfig
    columns: int
    verilog: str
    port_map: dict

    @property
    def top(self):
        return gemm_module_name(self.tile, self.config, self.columns)


def _port_map(gemm):
    tile, config = gemm.tile, gemm.config
    return ring_port_map(gemm, gemm_module_name(tile, config, gemm.columns), config, {
        "rows": tile.rows, "cols": tile.cols, "psum_banks": tile.psum_banks,
        "psum_depth": tile.psum_depth, "operands": tile.operands.name,
        "nodes": config.nodes, "columns": gemm.columns, "vector_length": gemm.vector_length,
        "flit_width": config.flit_width, "length_width": config.length_width,
        "buffer_depth": config.buffer_depth, "routing": config.routing})


def generate(tile, nodes, columns, **options):
    """Elaborate the distributed GEMM ring and return its Verilog and port map.

    Arguments and ``options`` are those of :class:`~hdl.fabric.gemm.DistributedGemm`.
    """
    gemm = DistributedGemm(tile, nodes, columns, **options)
    config = gemm.config
    text = verilog.convert(Router(config), name=router_module_name(config), emit_src=False)
    text += leaf_verilog(tile)
    text += verilog.convert(gemm, name=gemm_module_name(tile, config, columns), emit_src=False)
    return GeneratedGemm(tile, config, columns, text, _port_map(gemm))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True, help="PE rows of each tile")
    parser.add_argument("--cols", type=int, required=True, help="PE columns of each tile")
    parser.add_argument("--nodes", type=int, required=True, help="nodes of the ring")
    parser.add_argument("--columns", type=int, required=True,
                        help="result beats (PSUM columns) per all-reduce")
    parser.add_argument("--flit-width", type=int, default=32, help="bits per flit")
    parser.add_argument("--length-width", type=int, default=4, help="bits of the length field")
    parser.add_argument("--buffer-depth", type=int, default=4, help="flits per input buffer")
    parser.add_argument("--out", default="build/verilog", help="output directory")
    args = parser.parse_args(argv)
    try:
        generated = generate(TileConfig(args.rows, args.cols), args.nodes, args.columns,
                             flit_width=args.flit_width, length_width=args.length_width,
                             buffer_depth=args.buffer_depth)
    except (TypeError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    print(write(generated, args.out))


if __name__ == "__main__":
    sys.exit(main())
