"""Fabric parameters: the one place where a ring or torus configuration is described and
validated, together with the bit layouts that follow from it (the packet format)."""

from dataclasses import dataclass
from math import prod

from amaranth.hdl import unsigned
from amaranth.lib import data

from ..params import check_int

__all__ = ["MAX_RING_NODES", "MAX_TORUS_SIDE", "MAX_FLIT_WIDTH", "MAX_LENGTH_WIDTH",
           "MAX_BUFFER_DEPTH", "KIND_WIDTH", "ROUTINGS", "FabricConfig"]

#: Largest ring.
MAX_RING_NODES = 64
#: Largest side of a 2-D torus (256 nodes).
MAX_TORUS_SIDE = 16
#: Widest flit, in bits.
MAX_FLIT_WIDTH = 1024
#: Widest length field of the header, in bits (packets of up to 4095 payload flits).
MAX_LENGTH_WIDTH = 12
#: Deepest input buffer, in flits per virtual channel.
MAX_BUFFER_DEPTH = 64
#: Width of the header's ``kind`` field, in bits.
KIND_WIDTH = 2
#: Routing options: ``dateline`` is the deadlock-free design, ``naive`` the same router without
#: virtual channels, which can deadlock on the wrap-around links (for tests only).
ROUTINGS = ("dateline", "naive")


def _in_range(value, high):
    try:
        check_int("", value, 2, high)
    except TypeError:
        return False
    return True


@dataclass(frozen=True)
class FabricConfig:
    """Shape of a ring or torus fabric and of its packets.

    Use :meth:`ring` and :meth:`torus`, which validate the topology's own parameters by name;
    the constructor validates the rest.

    Parameters
    ----------
    dims : tuple of int
        Nodes along each dimension: ``(nodes,)`` for a ring, ``(x, y)`` for a torus. Node
        ``x + X * y`` sits at coordinates ``(x, y)``.
    flit_width : int
        Bits per flit, 1..1024; at least :attr:`header_width`.
    length_width : int
        Bits of the header's length field, 1..12: packets carry 0 to ``2 ** length_width - 1``
        payload flits.
    buffer_depth : int
        Input buffer per port and virtual channel, in flits, 1..64. Three or more sustain one
        flit per cycle per link (the credit loop is three cycles long).
    routing : str
        ``"dateline"`` (two virtual channels, deadlock-free) or ``"naive"`` (one virtual
        channel; can deadlock, for tests only).

    Raises
    ------
    TypeError
        If a parameter has the wrong type or lies outside its range; the message names the
        parameter, its value and what is allowed.
    ValueError
        If ``flit_width`` is too narrow to hold the header.
    """
    dims: tuple
    flit_width: int = 32
    length_width: int = 4
    buffer_depth: int = 4
    routing: str = "dateline"

    def __post_init__(self):
        if not (isinstance(self.dims, tuple) and (
                len(self.dims) == 1 and _in_range(self.dims[0], MAX_RING_NODES) or
                len(self.dims) == 2 and all(_in_range(side, MAX_TORUS_SIDE)
                                            for side in self.dims))):
            raise TypeError(f"Parameter 'dims' must be (nodes,) with nodes in "
                            f"2..{MAX_RING_NODES} or (x, y) with x and y in "
                            f"2..{MAX_TORUS_SIDE}, not {self.dims!r}")
        check_int("Parameter 'flit_width'", self.flit_width, 1, MAX_FLIT_WIDTH)
        check_int("Parameter 'length_width'", self.length_width, 1, MAX_LENGTH_WIDTH)
        check_int("Parameter 'buffer_depth'", self.buffer_depth, 1, MAX_BUFFER_DEPTH)
        if self.routing not in ROUTINGS:
            raise TypeError(f"Parameter 'routing' must be 'dateline' or 'naive', "
                            f"not {self.routing!r}")
        if self.flit_width < self.header_width:
            raise ValueError(f"Parameter 'flit_width' must be at least {self.header_width} to "
                             f"hold the header of a {self.nodes}-node fabric, "
                             f"not {self.flit_width}")

    @classmethod
    def ring(cls, nodes, **options):
        """Configuration of a bidirectional ring of ``nodes`` nodes, 2..64.

        ``options`` are the remaining constructor parameters.
        """
        check_int("Parameter 'nodes'", nodes, 2, MAX_RING_NODES)
        return cls((nodes,), **options)

    @classmethod
    def torus(cls, x, y, nodes=None, **options):
        """Configuration of an ``x`` by ``y`` 2-D torus, each side 2..16.

        ``nodes``, if given, must equal ``x * y``; ``options`` are the remaining constructor
        parameters.
        """
        check_int("Parameter 'x'", x, 2, MAX_TORUS_SIDE)
        check_int("Parameter 'y'", y, 2, MAX_TORUS_SIDE)
        if nodes is not None:
            check_int("Parameter 'nodes'", nodes, 1, MAX_TORUS_SIDE ** 2)
            if nodes != x * y:
                raise ValueError(f"Parameter 'nodes' must equal x * y = {x * y}, not {nodes}")
        return cls((x, y), **options)

    @property
    def nodes(self):
        """Number of nodes."""
        return prod(self.dims)

    @property
    def address_width(self):
        """Bits of a node address. Addresses ``nodes`` and up name no node, and at least one
        such address exists, so the drop path is always reachable."""
        return self.nodes.bit_length()

    @property
    def vcs(self):
        """Virtual channels per link: 2 with the dateline, 1 for ``naive`` routing."""
        return 2 if self.routing == "dateline" else 1

    @property
    def header_layout(self):
        """Fields of a header flit, from bit 0: destination, source, kind, length (payload
        flits). Bits above :attr:`header_width` are carried but ignored."""
        return data.StructLayout({
            "destination": unsigned(self.address_width),
            "source": unsigned(self.address_width),
            "kind": unsigned(KIND_WIDTH),
            "length": unsigned(self.length_width),
        })

    @property
    def header_width(self):
        """Smallest ``flit_width`` that holds the header, in bits."""
        return self.header_layout.size

    @property
    def position_layout(self):
        """Coordinates of a node: ``x`` (and ``y`` on a torus)."""
        return data.StructLayout({name: range(size) for name, size in zip("xy", self.dims)})

    @property
    def flit_layout(self):
        """A flit and its ``last`` flag (set on the last flit of a packet): the payload of an
        eject stream and the contents of an input buffer entry."""
        return data.StructLayout({"flit": unsigned(self.flit_width), "last": unsigned(1)})

    @property
    def link_layout(self):
        """A flit on a link between routers: the flit, its ``last`` flag and its virtual
        channel (a zero-width field when there is one virtual channel)."""
        return data.StructLayout({"data": self.flit_layout, "vc": range(self.vcs)})

    @property
    def name(self):
        """Configuration name for module names, build directories and reports, e.g.
        ``ring5``, ``torus4x4``, ``ring5_naive``, ``torus2x2_w16``."""
        base = f"ring{self.dims[0]}" if len(self.dims) == 1 else \
            "torus" + "x".join(map(str, self.dims))
        defaults = FabricConfig((2,))
        suffixes = [f"_{label}{value}" for label, value, default in [
            ("w", self.flit_width, defaults.flit_width),
            ("l", self.length_width, defaults.length_width),
            ("b", self.buffer_depth, defaults.buffer_depth)] if value != default]
        if self.routing != defaults.routing:
            suffixes.append(f"_{self.routing}")
        return base + "".join(suffixes)
