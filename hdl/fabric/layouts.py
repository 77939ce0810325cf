"""Bit layouts of a fabric's packets and links, built from its
:class:`~sim_models.config.FabricConfig` (which holds the numbers, without Amaranth)."""

from amaranth.hdl import unsigned
from amaranth.lib import data

from sim_models.config import KIND_WIDTH

__all__ = ["flit_layout", "header_layout", "link_layout", "position_layout"]


def header_layout(config):
    """Fields of a header flit, from bit 0: destination, source, kind, length (payload flits).
    Bits above ``config.header_width`` are carried but ignored."""
    return data.StructLayout({
        "destination": unsigned(config.address_width),
        "source": unsigned(config.address_width),
        "kind": unsigned(KIND_WIDTH),
        "length": unsigned(config.length_width),
    })


def position_layout(config):
    """Coordinates of a node, one field per dimension named by the topology's axes: ``x`` on a
    ring, ``x, y`` on a 2-D torus, ``x, y, z`` on a 3-D torus."""
    topology = config.topology
    return data.StructLayout({name: range(size)
                              for name, size in zip(topology.axes, topology.dims)})


def flit_layout(config):
    """A flit and its ``last`` flag (set on the last flit of a packet): the payload of an eject
    stream and the contents of an input buffer entry."""
    return data.StructLayout({"flit": unsigned(config.flit_width), "last": unsigned(1)})


def link_layout(config):
    """A flit on a link between routers: the flit, its ``last`` flag and its virtual channel
    (a zero-width field when there is one virtual channel)."""
    return data.StructLayout({"data": flit_layout(config), "vc": range(config.vcs)})
