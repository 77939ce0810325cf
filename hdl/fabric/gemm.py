"""Distributed GEMM: a ring of systolic tiles whose partial results are all-reduced in hardware.

Every node is a :class:`~hdl.tile.SystolicTile` and a network interface. The tile's result
stream (one PSUM column of C lanes per beat: int32 for an int8 tile, FP32 for a floating-point
one) passes through a :class:`~hdl.fabric.serializer.LaneSerializer` into the node's
:class:`~hdl.fabric.allreduce.AllReduceInterface` (int32 or FP32 elements), element by element,
lanes in order. When a GEMM's contraction dimension K is split across the nodes and each node
reads ``columns`` result vectors of its partial product, every node ends with the full sum:
element ``n * C + m`` of its output is ``out[m, n]`` (FP32 sums rounded per addition in the
all-reduce's order, ``sim_models.allreduce``).
"""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from sim_models.config import DistributedGemmConfig

from ..isa import moving_layout, op_layout, stationary_layout
from ..tile import SystolicTile
from .allreduce import AllReduceInterface, element_shape
from .serializer import LaneSerializer
from .topology import Fabric

__all__ = ["DistributedGemm"]


class DistributedGemm(wiring.Component):
    """A ring of ``nodes`` systolic tiles that all-reduce their result vectors.

    Each all-reduce takes ``columns`` result beats from every tile (``columns * tile.cols``
    int32 or FP32 elements) and gives every node the element-wise sum (wrapped to int32, or
    rounded to FP32 at each addition) on its ``o`` stream; then the next ``columns`` beats. The
    tiles' programs are independent: each node gets its own operations and operands.

    Parameters
    ----------
    config : DistributedGemmConfig
        Every node's tile, the ring, and ``columns``: result beats (PSUM columns, the N of a
        read) per all-reduce; the configuration has checked that the vector of
        ``columns * tile.cols`` elements fits the interface's packets.

    Members
    -------
    op, stationary, moving : In(stream.Signature(...)).array(nodes)
        Each node's tile inputs, as those of :class:`~hdl.tile.SystolicTile`.
    o : Out(stream.Signature(element_shape(config.allreduce))).array(nodes)
        Each node's copy of the reduced vectors: element ``n * C + m`` is lane ``m`` of result
        beat ``n``.

    Raises
    ------
    TypeError
        If ``config`` is not a DistributedGemmConfig.
    """
    def __init__(self, config):
        if not isinstance(config, DistributedGemmConfig):
            raise TypeError(f"Parameter 'config' must be a DistributedGemmConfig, "
                            f"not {config!r}")
        tile, nodes = config.tile, config.ring.nodes
        self._config = config
        self._interfaces = [AllReduceInterface(config.allreduce) for _ in range(nodes)]
        super().__init__({
            "op": In(stream.Signature(op_layout(tile))).array(nodes),
            "stationary": In(stream.Signature(stationary_layout(tile))).array(nodes),
            "moving": In(stream.Signature(moving_layout(tile))).array(nodes),
            "o": Out(stream.Signature(element_shape(config.allreduce))).array(nodes),
        })

    @property
    def config(self):
        """The :class:`~sim_models.config.DistributedGemmConfig` the design was built from."""
        return self._config

    @property
    def interfaces(self):
        """The network interface of each node."""
        return tuple(self._interfaces)

    def elaborate(self, platform):
        m = Module()
        config = self._config
        m.submodules.fabric = fabric = Fabric(config.ring)
        for node, interface in enumerate(self._interfaces):
            tile = SystolicTile(config.tile)
            serializer = LaneSerializer(element_shape(config.allreduce), config.tile.cols)
            m.submodules[f"tile_{node}"] = tile
            m.submodules[f"serializer_{node}"] = serializer
            m.submodules[f"interface_{node}"] = interface
            m.d.comb += interface.node.eq(node)
            for name in ("op", "stationary", "moving"):
                wiring.connect(m, wiring.flipped(getattr(self, name)[node]), getattr(tile, name))
            wiring.connect(m, tile.result, serializer.i)
            wiring.connect(m, serializer.o, interface.i)
            wiring.connect(m, interface.o, wiring.flipped(self.o[node]))
            wiring.connect(m, interface.inject, fabric.inject[node])
            wiring.connect(m, fabric.eject[node], interface.eject)
        return m
