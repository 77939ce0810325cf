"""Verilog emission of every design: a tile, a fabric, an all-reduce ring or a distributed GEMM.

One file per design holds its leaf modules (PE and PSUM columns, the router) and the design
around them; beside it, ``<top>.ports.json`` (the sidecar) carries the configuration
(:func:`sim_models.config.config_to_dict`), every stream's handshake ports and payload bit
fields, and every port. Testbenches read their configuration from the sidecar. Output is
byte-identical across runs and machines.

Command line (``--help`` of each subcommand lists its options)::

    python -m hdl.emit named                     # every named tile configuration
    python -m hdl.emit named r4c4 r8c16          # some of them
    python -m hdl.emit tile --rows 8 --cols 16
    python -m hdl.emit tile --rows 32 --cols 32 --formats bf16,fp16,fp8_e4m3,fp8_e5m2
    python -m hdl.emit tile --rows 8 --cols 8 --formats bf16 --pe-stages 1
    python -m hdl.emit tile --rows 4 --cols 4 --formats bf16 --bf16-psum
    python -m hdl.emit fabric --ring 8
    python -m hdl.emit fabric --torus 4 4 --flit-width 64
    python -m hdl.emit fabric --torus 4 4 4 --flit-intervals 1 1 2
    python -m hdl.emit fabric --switch 4 36 --top-switches 2 --flit-intervals 1 2
    python -m hdl.emit fabric --system trn3-gen2-ultraserver
    python -m hdl.emit allreduce --nodes 5 --vector-length 23
    python -m hdl.emit allreduce --switch 4 2 --vector-length 32 --element bf16 \\
        --collective reducescatter --forwarding cut-through
    python -m hdl.emit allreduce --torus 2 3 2 --flit-intervals 1 1 2 --vector-length 24 \
        --element bf16
    python -m hdl.emit allreduce --torus 4 4 4 --flit-intervals 1 1 2 --vector-length 128 \
        --element bf16 --bidirectional
    python -m hdl.emit alltoall --torus 2 3 --max-count 8
    python -m hdl.emit gemm --rows 4 --cols 4 --nodes 3 --columns 6
    python -m hdl.emit gemm --rows 4 --cols 4 --nodes 3 --columns 6 --formats bf16
"""

import argparse
import json
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Shape
from amaranth.lib import data, stream

from sim_models.cli import ArgumentParser
from sim_models.config import (ALGORITHMS, ALLREDUCE_ELEMENTS, ALLREDUCE_KIND,
                               DEFAULT_FLOAT_PE_STAGES,
                               FORMAT_SETS, FORWARDINGS, NAMED_TILES, RING_COLLECTIVES,
                               SWITCH_ROUTING, SYSTEM_FABRICS, TRAINIUM2_FORMATS,
                               AllReduceConfig, AllToAllConfig, DistributedGemmConfig,
                               FabricConfig, TileConfig, config_to_dict, module_name,
                               parse_formats)
from sim_models.files import replace_atomically
from sim_models.timing import MAX_FLOAT_PE_STAGES

from .fabric.allreduce import AllReduceRing
from .fabric.direct_allreduce import DirectAllReduce
from .fabric.torus_collective import TorusCollective, TorusCollectiveNode, node_module_name
from .fabric.alltoall import AllToAll
from .fabric.gemm import DistributedGemm
from .fabric.layouts import header_layout
from .fabric.router import Router
from .fabric.topology import Fabric, router_leaves
from .leaf import leaf_module_name
from .numerics import arithmetic
from .pe_column import PE_GROUP, PEColumn, PEGroup, tile_leaf_kinds
from .psum import PsumColumn
from .tile import SystolicTile

__all__ = ["EmitError", "GeneratedDesign", "describe_layout", "generate", "module_name",
           "port_map", "write"]


class EmitError(Exception):
    """A design could not be written; the message is one line naming the path and why."""


@dataclass(frozen=True)
class GeneratedDesign:
    """Verilog text of one design and its port map.

    Members
    -------
    config : TileConfig, FabricConfig, AllReduceConfig or DistributedGemmConfig
    top : str
        Name of the top Verilog module.
    verilog : str
        The Verilog of the leaf modules and the top module.
    port_map : dict
        The sidecar's contents (see the module docstring).
    """
    config: object
    top: str
    verilog: str
    port_map: dict


def describe_layout(layout):
    """Bit fields of a stream payload, for users who drive the Verilog without Python."""
    if not isinstance(layout, data.Layout):
        shape = Shape.cast(layout)
        return {"kind": "plain", "width": shape.width, "signed": shape.signed}
    if isinstance(layout, data.StructLayout):
        return {"kind": "struct", "width": layout.size, "fields": {
            name: {"offset": field.offset, "width": field.width,
                   "signed": Shape.cast(field.shape).signed}
            for name, field in layout}}
    element = Shape.cast(layout.elem_shape)
    return {"kind": "array", "width": layout.size, "length": layout.length,
            "element_width": element.width, "element_signed": element.signed}


def _stream_ports(prefix, flow, payload_shape):
    return {"direction": "in" if flow.name == "In" else "out", "valid": f"{prefix}__valid",
            "ready": f"{prefix}__ready", "payload": f"{prefix}__payload",
            "layout": describe_layout(payload_shape)}


def port_map(component, top, config):
    """The sidecar of a design: walks ``component``'s signature for its streams.

    A stream member ``s`` gives the stream ``s``; an array of streams (one per node) gives
    ``s__0``, ``s__1``, ... each with its ``node``. Designs on a fabric also carry the packet
    header's layout, and all-reduce designs the header ``kind`` of their packets.
    """
    streams = {}
    for name, member in component.signature.members.items():
        if not (member.is_signature and isinstance(member.signature, stream.Signature)):
            continue
        payload = member.signature.members["payload"].shape
        if member.dimensions:
            for node in range(member.dimensions[0]):
                streams[f"{name}__{node}"] = {
                    "node": node, **_stream_ports(f"{name}__{node}", member.flow, payload)}
        else:
            streams[name] = _stream_ports(name, member.flow, payload)
    result = {
        "top": top, "config": config_to_dict(config),
        "clock": "clk", "reset": {"name": "rst", "polarity": "high", "synchronous": True},
        "streams": streams,
        "ports": component.metadata.as_json()["interface"]["members"],
    }
    ring = _fabric_of(config)
    if ring is not None:
        result["header"] = describe_layout(header_layout(ring))
    if isinstance(config, (AllReduceConfig, DistributedGemmConfig)):
        result["allreduce_kind"] = ALLREDUCE_KIND
    return result


def _fabric_of(config):
    if isinstance(config, FabricConfig):
        return config
    if isinstance(config, (AllReduceConfig, DistributedGemmConfig)):
        return config.ring
    if isinstance(config, AllToAllConfig):
        return config.fabric
    return None


#: The component of each kind of a tile's leaf modules (``hdl.pe_column.tile_leaf_kinds``).
_TILE_LEAVES = {PE_GROUP: PEGroup, "pe_column": PEColumn, "psum_column": PsumColumn}


def _tile_leaves(tile):
    macs = [arithmetic(tile).mac_leaf] if tile.floating else []
    return macs + [(_TILE_LEAVES[kind](tile), leaf_module_name(kind, tile))
                   for kind in tile_leaf_kinds(tile)]


def _elaborate(config):
    """The top component of ``config`` and the leaf modules it instantiates, in order."""
    if isinstance(config, TileConfig):
        return SystolicTile(config), _tile_leaves(config)
    fabric = _fabric_of(config)
    router = [(Router(fabric, level), name) for level, name in router_leaves(fabric)]
    if isinstance(config, FabricConfig):
        return Fabric(config), router
    if isinstance(config, AllReduceConfig):
        if config.algorithm == "direct":
            return DirectAllReduce(config), router
        if config.torus:
            node = (TorusCollectiveNode(config), node_module_name(config))
            return TorusCollective(config), router + [node]
        return AllReduceRing(config), router
    if isinstance(config, AllToAllConfig):
        return AllToAll(config), router
    return DistributedGemm(config), router + _tile_leaves(config.tile)


def generate(config):
    """Elaborate the design of ``config`` and return its Verilog and port map.

    Parameters
    ----------
    config : TileConfig, FabricConfig, AllReduceConfig or DistributedGemmConfig

    Returns
    -------
    GeneratedDesign
    """
    top = module_name(config)
    component, leaves = _elaborate(config)
    text = "".join(verilog.convert(leaf, name=name, emit_src=False) for leaf, name in leaves)
    text += verilog.convert(component, name=top, emit_src=False)
    return GeneratedDesign(config, top, text, port_map(component, top, config))


def _write_text(path, text):
    """Write ``text`` to ``path`` through a temporary file and a rename, so that a reader never
    sees half a file; leave an identical file untouched (its time stamp too)."""
    if not (path.is_file() and path.read_text() == text):
        replace_atomically(path, text)


def write(generated, out_dir):
    """Write ``<top>.v`` and ``<top>.ports.json`` of ``generated`` under ``out_dir``.

    Returns
    -------
    Path
        The Verilog file.

    Raises
    ------
    EmitError
        If ``out_dir`` cannot be created or written; one line naming the path and the reason.
    """
    out_dir = Path(out_dir)
    verilog_path = out_dir / f"{generated.top}.v"
    sidecar = json.dumps(generated.port_map, indent=2, sort_keys=True) + "\n"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_text(out_dir / f"{generated.top}.ports.json", sidecar)
        _write_text(verilog_path, generated.verilog)
    except OSError as error:
        raise EmitError(f"cannot write the Verilog of {generated.top} to {out_dir}: "
                        f"{error.strerror or error}") from None
    return verilog_path


def _fabric_options(parser):
    parser.add_argument("--flit-width", type=int, default=32,
                        help="bits per flit, 1..1024 (default 32)")
    parser.add_argument("--length-width", type=int, default=4,
                        help="bits of the header's length field, 1..12 (default 4)")
    parser.add_argument("--buffer-depth", type=int, default=4,
                        help="flits per input buffer and virtual channel, 1..64 (default 4)")


def _tile_options(parser, required):
    parser.add_argument("--formats", type=parse_formats, default=("int8",),
                        help=f"operand formats of the PEs, comma-separated: int8, or any of "
                             f"{', '.join(TRAINIUM2_FORMATS)}, or a set by name: "
                             f"{', '.join(FORMAT_SETS)} (default int8)")
    parser.add_argument("--rows", type=int, required=required, help="PE rows, 1..128")
    parser.add_argument("--cols", type=int, required=required, help="PE columns, 1..128")
    parser.add_argument("--psum-banks", type=int, default=8,
                        help="PSUM banks, 1..16 (default 8)")
    parser.add_argument("--psum-depth", type=int, default=512,
                        help="result vectors per PSUM bank, 1..4096 (default 512)")
    parser.add_argument("--pe-stages", type=int, default=None,
                        help=f"pipeline stages of a PE's multiply-accumulate: 1 for int8, "
                             f"1..{MAX_FLOAT_PE_STAGES} for floating-point formats (default "
                             f"{DEFAULT_FLOAT_PE_STAGES} for floating point, 1 for int8)")
    parser.add_argument("--bf16-psum", action="store_true",
                        help="Trainium3's PSUM destinations: FP32 or BF16 per multiply, "
                             "nearest-even or stochastic rounding (floating point only)")


def _parser():
    parser = ArgumentParser(
        prog="python -m hdl.emit", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Generate the Verilog (<top>.v) and the .ports.json sidecar of a design.",
        epilog="examples:\n" + __doc__.split("::\n\n", 1)[1])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", default="build/verilog",
                        help="output directory (default build/verilog)")
    subcommands = parser.add_subparsers(dest="design", required=True, metavar="DESIGN")
    design = partial(subcommands.add_parser, parents=[common])
    named = design("named", help="named tile configurations",
                   description="Generate named tile configurations (all when none is named).")
    named.add_argument("names", nargs="*", metavar="NAME",
                       help=f"any of {', '.join(NAMED_TILES)} (default: all)")
    tile = design("tile", help="one systolic tile", description="Generate one systolic tile.")
    _tile_options(tile, required=True)
    fabric = design("fabric", help="a ring, torus or switched fabric",
                    description="Generate a ring or a 2-D or 3-D torus of routers, or a tree "
                                "of switches.")
    alltoall = design("alltoall", help="all-to-all interfaces on a ring or torus",
                      description="Generate a ring or torus with an all-to-all (-v) interface "
                                  "at every node.")
    alltoall.add_argument("--max-count", type=int, required=True,
                          help="most 32-bit elements per block, 1..2**length_width - 1")
    fabric.add_argument("--system", metavar="KEY",
                        help=f"the fabric of a published system: {', '.join(SYSTEM_FABRICS)}; "
                             f"--torus, --switch and --top-switches, if given, must match it")
    for command in (fabric, alltoall):
        topology = command.add_mutually_exclusive_group(required=command is alltoall)
        topology.add_argument("--ring", type=int, metavar="NODES",
                              help="ring of NODES nodes, 2..64")
        topology.add_argument("--torus", type=int, nargs="+", metavar="SIDE",
                              help="torus of sides X Y or X Y Z, each 2..16, at most 256 nodes")
        if command is fabric:
            topology.add_argument("--switch", type=int, nargs="+", metavar="RADIX",
                                  help="switched fabric (Trainium3 NeuronSwitch levels): CHIPS "
                                       "per server, then SERVERS (then RACKS), each 2..64, at "
                                       "most 256 chips")
            command.add_argument("--top-switches", type=int, metavar="N",
                                 help="with --switch: parallel top-level switches, 1..4 "
                                      "(default 1; Gen2 has 2)")
        _fabric_options(command)
        command.add_argument("--routing",
                             help="dateline (deadlock-free, default) or naive (tests only); "
                                  "updown on a switched fabric")
        command.add_argument("--flit-intervals", type=int, nargs="+", default=[], metavar="K",
                             help="per dimension, cycles between the flits of a link, 1..8 "
                                  "(default 1 everywhere; 1 1 2: Z links at half bandwidth)")
    allreduce = design("allreduce", help="a ring of collective interfaces",
                       description="Generate a ring or switched fabric with an all-reduce, "
                                   "reduce-scatter or all-gather interface at every node "
                                   "(int32, FP32 or BF16 vectors).")
    nodes = allreduce.add_mutually_exclusive_group(required=True)
    nodes.add_argument("--nodes", type=int, help="nodes of the ring, 2..64")
    nodes.add_argument("--switch", type=int, nargs="+", metavar="RADIX",
                       help="a switched fabric instead of a ring: CHIPS per server, then "
                            "SERVERS (then RACKS); the ring runs in chip order through it")
    nodes.add_argument("--torus", type=int, nargs="+", metavar="SIDE",
                       help="a 2-D or 3-D torus instead of a ring, X Y [Z], each 2..16: the "
                            "collective runs dimension by dimension (reduce-scatters X, Y, Z, "
                            "all-gathers Z, Y, X)")
    allreduce.add_argument("--vector-length", type=int, required=True,
                           help="elements of the whole vector, 1..65536")
    allreduce.add_argument("--element", default="int32",
                           help=f"element format: {', '.join(ALLREDUCE_ELEMENTS)} "
                                f"(default int32)")
    allreduce.add_argument("--collective", default="allreduce",
                           help=f"{', '.join(RING_COLLECTIVES)} (default allreduce)")
    allreduce.add_argument("--forwarding", default="store",
                           help=f"{', '.join(FORWARDINGS)} (default store)")
    _fabric_options(allreduce)
    allreduce.add_argument("--flit-intervals", type=int, nargs="+", default=[], metavar="K",
                           help="with --torus: per dimension, cycles between the flits of a "
                                "link, 1..8 (1 1 2: Z links at half bandwidth)")
    allreduce.add_argument("--top-switches", type=int, metavar="N",
                           help="with --switch: parallel top-level switches, 1..4 (default 1)")
    allreduce.add_argument("--bidirectional", action="store_true",
                           help="with --torus: two rings per dimension, one each way round, "
                                "each over half of every chunk")
    allreduce.add_argument("--algorithm", default="ring",
                           help=f"{', '.join(ALGORITHMS)} (default ring; direct: every chunk "
                                f"straight to the node that reduces it, on any fabric)")
    gemm = design("gemm", help="a ring of tiles that all-reduce their results",
                  description="Generate a distributed GEMM: a ring of tiles whose result "
                              "vectors are all-reduced in hardware.")
    _tile_options(gemm, required=True)
    gemm.add_argument("--nodes", type=int, required=True, help="nodes of the ring, 2..64")
    gemm.add_argument("--columns", type=int, required=True,
                      help="result beats (PSUM columns) per all-reduce, 1..PSUM depth")
    _fabric_options(gemm)
    return parser


def configs_of(args):
    """The configurations a parsed command line asks for.

    Raises
    ------
    TypeError, ValueError
        From the configurations' checks, or for an unknown named configuration.
    """
    if args.design == "named":
        unknown = [name for name in args.names if name not in NAMED_TILES]
        if unknown:
            raise ValueError(f"Named configuration {unknown[0]!r} is not one of "
                             f"{', '.join(NAMED_TILES)}")
        return [NAMED_TILES[name] for name in args.names or NAMED_TILES]
    if args.design in ("tile", "gemm"):
        tile = TileConfig(args.rows, args.cols, args.psum_banks, args.psum_depth, args.formats,
                          args.pe_stages, args.bf16_psum)
        if args.design == "tile":
            return [tile]
    options = {"flit_width": args.flit_width, "length_width": args.length_width,
               "buffer_depth": args.buffer_depth}
    if getattr(args, "system", None) is not None:
        return [_system_fabric(args, options)]
    if args.design in ("fabric", "alltoall"):
        switch = getattr(args, "switch", None)
        if args.ring is None and args.torus is None and not switch:
            raise ValueError("Parameter 'topology' needs one of --ring, --torus, --switch or "
                             "--system")
        options["routing"] = args.routing or (SWITCH_ROUTING if switch else "dateline")
        options["flit_intervals"] = tuple(args.flit_intervals)
        top_switches = _top_switches(args)
        if switch:
            fabric = FabricConfig.switch(*switch, top_switches=top_switches, **options)
        elif args.ring is not None:
            fabric = FabricConfig.ring(args.ring, **options)
        else:
            fabric = FabricConfig.torus(*args.torus, **options)
        return [fabric] if args.design == "fabric" else [AllToAllConfig(fabric, args.max_count)]
    if args.design == "allreduce":
        top_switches = _top_switches(args)
        if args.flit_intervals and not args.torus:
            raise ValueError(f"Parameter 'flit_intervals' needs --torus, not --nodes or "
                             f"--switch (given {' '.join(map(str, args.flit_intervals))})")
        if args.torus:
            fabric = FabricConfig.torus(*args.torus, flit_intervals=tuple(args.flit_intervals),
                                        **options)
        elif args.switch:
            fabric = FabricConfig.switch(*args.switch, top_switches=top_switches, **options)
        else:
            fabric = FabricConfig.ring(args.nodes, **options)
        return [AllReduceConfig(fabric, args.vector_length, args.element, args.collective,
                                args.forwarding, args.bidirectional, args.algorithm)]
    ring = FabricConfig.ring(args.nodes, **options)
    return [DistributedGemmConfig(tile, ring, args.columns)]


def _top_switches(args):
    """``--top-switches``, 1 if not given; refused without ``--switch``."""
    top_switches = getattr(args, "top_switches", None)
    if top_switches is not None and not getattr(args, "switch", None):
        raise ValueError(f"Parameter 'top_switches' needs --switch, not --ring or --torus "
                         f"(given {top_switches})")
    return top_switches or 1


def _system_fabric(args, options):
    """The fabric of ``--system``, checked against any size the command line also gives."""
    dims = (args.ring,) if args.ring is not None else args.torus or args.switch
    if args.flit_intervals:
        options["flit_intervals"] = tuple(args.flit_intervals)
    if args.routing:
        options["routing"] = args.routing
    return FabricConfig.system(args.system, dims=dims, top_switches=args.top_switches,
                               **options)


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        configs = configs_of(args)
    except (TypeError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    for config in configs:
        start = time.perf_counter()
        try:
            path = write(generate(config), args.out)
        except EmitError as error:
            parser.exit(1, f"error: {error}\n")
        print(f"[verilog] {path} ({time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
