"""The contract between the layers: plain, validated, frozen configurations of every design.

A configuration says what a design is (a tile, a fabric, an all-reduce ring, a distributed
GEMM), never how it is built: ``hdl`` elaborates components from these types, ``tb`` reads
them back from the ``.ports.json`` sidecar that the emitter writes beside the Verilog, and the
scaling layer reasons about them, all without importing each other. Nothing here imports
Amaranth, cocotb, ``hdl`` or ``tb``.

Every check raises ``TypeError`` (wrong type or out of range) or ``ValueError`` (inconsistent
parameters) with one line that names the parameter, its value and what is allowed.
"""

from dataclasses import MISSING, dataclass, field, fields
from math import prod
from numbers import Integral

from .timing import MAX_FLOAT_PE_STAGES
from .topology import RELATIONS, UP_DOWN, SwitchTree, Torus, axis_name

__all__ = ["ALLREDUCE_ELEMENTS", "ALLREDUCE_KIND", "ALLREDUCE_REVERSE_KIND",
           "ALLTOALL_ELEMENT_WIDTH", "ALLTOALL_KIND", "ALGORITHMS", "DIRECT_SCATTER_KIND",
           "AllToAllConfig", "FORWARDINGS",
           "RING_COLLECTIVES", "ELEMENT_WIDTH", "KIND_WIDTH",
           "MAX_ARRAY_DIM", "MAX_BUFFER_DEPTH", "MAX_FLIT_INTERVAL", "MAX_FLIT_WIDTH",
           "MAX_LENGTH_WIDTH", "MAX_PSUM_BANKS", "MAX_PSUM_DEPTH", "MAX_RING_NODES",
           "MAX_TORUS_DIMENSIONS", "MAX_TORUS_NODES", "MAX_TORUS_SIDE", "MAX_VECTOR_LENGTH",
           "NAMED_TILES", "ACCUMULATOR_BITS", "DEFAULT_FLOAT_PE_STAGES", "FLOAT_LANE_BITS",
           "MX_LANE_BITS", "MX_ONLY_FORMATS", "MX_SCALE_GROUP_ROWS", "OPERAND_FORMATS",
           "PE_FORMATS", "TRAINIUM2_FORMATS", "TRAINIUM3_FORMATS", "FORMAT_SETS", "check_formats",
           "indices_per_pe_row", "parse_formats", "ROUTINGS",
           "SWITCH_ROUTING", "MAX_SWITCH_LEVELS", "MAX_SWITCH_RADIX", "MAX_SWITCH_NODES",
           "MAX_TOP_SWITCHES", "SystemFabric", "SYSTEM_FABRICS",
           "AllReduceConfig",
           "DistributedGemmConfig", "FabricConfig", "OperandFormat", "TileConfig", "check_int",
           "config_from_dict", "config_to_dict", "module_name"]

#: Largest number of PE rows or columns (the Trainium Tensor Engine is 128 x 128).
MAX_ARRAY_DIM = 128
#: Largest number of PSUM banks (a NeuronCore has 8 per partition).
MAX_PSUM_BANKS = 16
#: Largest PSUM bank depth in result vectors (NC-v4 allows N up to 4096 for FP32 results).
MAX_PSUM_DEPTH = 4096
#: Largest ring.
MAX_RING_NODES = 64
#: Most dimensions of a torus (X, Y, Z: a Trn2 UltraServer's 3-D torus).
MAX_TORUS_DIMENSIONS = 3
#: Largest side of a torus.
MAX_TORUS_SIDE = 16
#: Most nodes of a torus (16 x 16, 8 x 8 x 4, ...).
MAX_TORUS_NODES = 256
#: Widest flit, in bits.
MAX_FLIT_WIDTH = 1024
#: Widest length field of the header, in bits (packets of up to 4095 payload flits).
MAX_LENGTH_WIDTH = 12
#: Deepest input buffer, in flits per virtual channel.
MAX_BUFFER_DEPTH = 64
#: Most cycles between the flits of a slow link (1 is full bandwidth).
MAX_FLIT_INTERVAL = 8
#: Width of the packet header's ``kind`` field, in bits.
KIND_WIDTH = 2
#: Routing options: ``dateline`` is the deadlock-free design, ``naive`` the same router without
#: virtual channels, which can deadlock on the wrap-around links (for tests only).
ROUTINGS = tuple(RELATIONS)
#: Routing of a switched fabric (:class:`~sim_models.topology.UpDown`, address match).
SWITCH_ROUTING = "updown"
#: Most switch levels of a switched fabric (chip, server, rack digits).
MAX_SWITCH_LEVELS = 3
#: Most down ports of one switch (a Gen2 UltraServer's second level joins 36 servers).
MAX_SWITCH_RADIX = 64
#: Most chips of a switched fabric (Gen2: 36 x 4 = 144).
MAX_SWITCH_NODES = 256
#: Most parallel top-level switches (Gen2 has two).
MAX_TOP_SWITCHES = 4
@dataclass(frozen=True)
class SystemFabric:
    """The fabric of a system AWS publishes: its shape, which a configuration of that system
    must have, and the link intervals it takes unless told otherwise.

    Members
    -------
    name : str
        The system as AWS names it.
    kind : str
        ``torus`` or ``switch``.
    dims : tuple of int
        Torus sides (X, Y, Z) or switch radices (chips per server, servers).
    top_switches : int
        Parallel top-level switches (0 for a torus).
    flit_intervals : tuple of int
        Default cycles between flits per dimension or link class (see :class:`FabricConfig`).
    shape : str
        What ``dims`` mean, for the messages.
    """
    name: str
    kind: str
    dims: tuple
    top_switches: int
    flit_intervals: tuple
    shape: str

    @property
    def size_names(self):
        """Parameter names of ``dims``: ``x, y, z`` or ``chips, servers``."""
        if self.kind == "torus":
            return tuple(axis_name(dim) for dim in range(len(self.dims)))
        return ("chips", "servers", "racks")[:len(self.dims)]


#: Fabrics of the published systems, by the key of the scaling layer's specs
#: (``sim_models/specs``). Trn2 UltraServer: a 4 x 4 torus per instance, 4 instances on Z, the
#: Z links at half the X/Y bandwidth (1,024 GB/s per chip over 4 X/Y links, 256 GB/s over 2 Z
#: links: 256 against 128 GB/s per link; sources A-TRN2, R-COLL in
#: ``sim_models/specs/sources.toml``). Trainium3 (A-TRN3): Gen1 4 servers of 16 chips, Gen2 36
#: servers of 4 chips under two second-level switches. Per chip 256 GB/s to its server switch
#: and 320 GB/s to the inter-server switches: Gen2's chip links carry a flit every 5 cycles and
#: each server switch's link to each of the two second-level switches one every 2, so that link
#: carries 2.5 chip links' worth, 4 chips x 320 / 2 = 640 GB/s against 256. Gen1's server
#: switch needs 16 x 320 / 256 = 20 chip links' worth upwards: four parallel up links of a flit
#: per cycle (chip links every 5), each to its own plane, a second-level switch of its own,
#: chosen by the destination's chip digit as Gen2's are (docs/fabric.md: a bundle of four links
#: to one inter-server switch, chosen that way, is the same network).
SYSTEM_FABRICS = {
    "trn2-ultraserver": SystemFabric("Trn2 UltraServer", "torus", (4, 4, 4), 0, (1, 1, 2),
                                     "4 x 4 chips per instance, 4 instances on Z"),
    "trn3-gen1-ultraserver": SystemFabric("Trn3 Gen1 UltraServer", "switch", (16, 4), 4, (5, 1),
                                          "16 chips per server, 4 servers"),
    "trn3-gen2-ultraserver": SystemFabric("Trn3 Gen2 UltraServer", "switch", (4, 36), 2, (5, 2),
                                          "4 chips per server, 36 servers"),
}

#: Header ``kind`` of all-reduce packets; packets of other kinds are consumed and ignored.
ALLREDUCE_KIND = 1
#: Header ``kind`` of the packets of a torus collective's rings that run the - way round
#: (``AllReduceConfig.bidirectional``); on a torus no all-to-all shares the fabric.
ALLREDUCE_REVERSE_KIND = 3
#: Header ``kind`` of all-to-all packets of even rounds; odd rounds use the next kind.
ALLTOALL_KIND = 2
#: Header ``kind`` of a direct all-reduce's reduce-scatter packets of even rounds, odd rounds
#: the next kind (its all-gather packets are of ``ALLREDUCE_KIND``); no all-to-all shares its
#: fabric.
DIRECT_SCATTER_KIND = 2
#: Bits per all-to-all element (moved, never added: int32, FP32 or any 32-bit word).
ALLTOALL_ELEMENT_WIDTH = 32
#: Bits per all-reduce vector element of each element format: int32 (wrapping addition), FP32
#: and BF16 (added under the PSUM rule R9; BF16 sums then rounded to BF16, see
#: ``sim_models.allreduce``).
ALLREDUCE_ELEMENTS = {"int32": 32, "fp32": 32, "bf16": 16}
#: Bits per int32 all-reduce element and per int32 or FP32 result of a tile.
ELEMENT_WIDTH = ALLREDUCE_ELEMENTS["int32"]
#: Longest all-reduce vector, in elements.
MAX_VECTOR_LENGTH = 1 << 16


def check_int(subject, value, low, high):
    """Raise ``TypeError`` unless ``value`` is an integer (not a bool) in ``low..high``.

    ``subject`` starts the message and names what is checked, e.g. ``"Parameter 'rows'"``.
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
        raise TypeError(f"{subject} must be an integer in {low}..{high}, not {value!r}")


@dataclass(frozen=True)
class OperandFormat:
    """Number format of stationary and moving elements, as data: what the array stores and moves.

    The encodings' details (bias, infinities, NaNs, subnormals) and the arithmetic are not here:
    the golden model's are in ``sim_models.floats`` and the RTL's in ``hdl.numerics``.

    Members
    -------
    name : str
        Name used in configuration names and on the command line (``int8``, ``bf16``, ...).
    operand_bits : int
        Bits of one element.
    exponent_bits, mantissa_bits : int
        Exponent and stored fraction bits of a floating-point format; 0 and 0 for int8.
    floating : bool
        Floating-point elements, multiplied exactly and accumulated in FP32; otherwise
        two's-complement integers accumulated in a wrapping int32.
    """
    name: str
    operand_bits: int
    exponent_bits: int
    mantissa_bits: int
    floating: bool


#: Operand formats a tile can be generated with, by name, in canonical order. int8 x int8 -> int32
#: is the integer path of the first NeuronCore (Inferentia1) only; Trainium2 and Trainium3 take
#: BF16, FP16 and FP8 (E4M3, E5M2) and accumulate in FP32.
OPERAND_FORMATS = {
    "int8": OperandFormat("int8", 8, 0, 0, floating=False),
    "bf16": OperandFormat("bf16", 16, 8, 7, floating=True),
    "fp16": OperandFormat("fp16", 16, 5, 10, floating=True),
    "fp8_e4m3": OperandFormat("fp8_e4m3", 8, 4, 3, floating=True),
    "fp8_e5m2": OperandFormat("fp8_e5m2", 8, 5, 2, floating=True),
}
#: Trainium3's MX element formats, which only MX operations take (``FloatMac`` in MX mode,
#: ``hdl.float_arith``; golden ``sim_models.mx``, rules R12-R14): OCP E4M3FN and E2M1. MX mode's
#: third element format, E5M2, is Trainium2's ``fp8_e5m2``. A tile whose set holds one of them
#: has MX mode: 32-bit lanes (x4 words) and E8M0 block scales (docs/mx-tile-plan.md).
MX_ONLY_FORMATS = {
    "fp8_e4m3fn": OperandFormat("fp8_e4m3fn", 8, 4, 3, floating=True),
    "fp4_e2m1": OperandFormat("fp4_e2m1", 4, 2, 1, floating=True),
}
#: Every format a tile and a PE's arithmetic take, in canonical order: Trainium2's, then the
#: MX-only ones.
PE_FORMATS = {**OPERAND_FORMATS, **MX_ONLY_FORMATS}
#: The formats of Trainium2's Tensor Engine that a tile models.
TRAINIUM2_FORMATS = ("bf16", "fp16", "fp8_e4m3", "fp8_e5m2")
#: The formats of Trainium3's Tensor Engine that a tile models: BF16, FP16, and the MX elements
#: (E4M3FN, E5M2, E2M1); E5M2 also runs single-row and double-row as on Trainium2. Trainium2's
#: E4M3 is left out: Trainium3's FP8 E4M3 is the OCP E4M3FN encoding.
TRAINIUM3_FORMATS = ("bf16", "fp16", "fp8_e5m2", "fp8_e4m3fn", "fp4_e2m1")
#: Format sets the command lines' ``--formats`` take by name.
FORMAT_SETS = {"trainium2": TRAINIUM2_FORMATS, "trainium3": TRAINIUM3_FORMATS}
#: Bits of one partial sum and of one PSUM entry: int32 or FP32.
ACCUMULATOR_BITS = 32
#: Bits of one stationary or moving lane of a floating-point tile: one BF16 or FP16 element, one
#: FP8 element in its low byte, or two FP8 elements in FP8 double-row mode.
FLOAT_LANE_BITS = 16
#: Bits of one lane of a tile with MX mode: an x4 word of four FP8 elements (byte q the element
#: of contraction index p + qK/4), or of four E2M1 elements in its low 16 bits (nibble q); the
#: other modes use the low 16 bits as on a tile without MX.
MX_LANE_BITS = 32
#: PE rows one E8M0 block scale spans (8 partitions x the 4 elements of an x4 word = 32
#: elements): a tile with MX mode has a multiple of it.
MX_SCALE_GROUP_ROWS = 8
#: Pipeline stages of a floating-point PE's MAC unless a tile names its own: the depth chosen
#: from the ECP5 measurements of docs/pipelined-pe.md (the int8 PE has one stage). Every depth
#: keeps full throughput (stationary rows travel with the moving rows' skew); 13 is the depth at
#: which both BF16 and Trainium2's four-format PE clock above half the int8 PE's fmax.
DEFAULT_FLOAT_PE_STAGES = 13


def indices_per_pe_row(double_row, mx):
    """Contraction indices one PE row multiplies per cycle: 4 in MX mode (an x4 word), 2 in FP8
    double-row mode, else 1."""
    return 4 if mx else 2 if double_row else 1


def parse_formats(text):
    """The format names of a ``--formats`` text: names of :data:`PE_FORMATS`,
    comma-separated, or the name of a set of :data:`FORMAT_SETS`. Unchecked: a configuration
    checks them (:func:`check_formats`)."""
    return FORMAT_SETS.get(text.strip()) or tuple(name.strip() for name in text.split(","))


def check_formats(subject, value, formats=PE_FORMATS):
    """The format set ``value`` (a tuple of names of ``formats``, :data:`PE_FORMATS` unless
    given) in canonical order.

    Raises ``TypeError`` (not a non-empty tuple of strings) or ``ValueError`` (an unknown or
    repeated name, or int8 mixed with floating-point formats), one line starting with
    ``subject``.
    """
    known = ", ".join(formats)
    if not isinstance(value, tuple) or not value or \
            not all(isinstance(name, str) for name in value):
        raise TypeError(f"{subject} must be a non-empty tuple of format names ({known}), "
                        f"not {value!r}")
    unknown = [name for name in value if name not in formats]
    if unknown:
        raise ValueError(f"{subject}: unknown format {unknown[0]!r}; known: {known}")
    if len(set(value)) != len(value):
        raise ValueError(f"{subject} must name each format once, not {value!r}")
    if "int8" in value and len(value) > 1:
        raise ValueError(f"{subject}: int8 (the NeuronCore-v1 integer path) cannot share a tile "
                         f"with floating-point formats, not {value!r}")
    return tuple(name for name in formats if name in value)


@dataclass(frozen=True)
class TileConfig:
    """Shape of one systolic matrix-multiply tile.

    Parameters
    ----------
    rows : int
        PE rows, R: the contraction dimension K of one operation (K <= R). 1..128.
    cols : int
        PE columns, C: the stationary free dimension M of one operation (M <= C). 1..128.
    psum_banks : int
        PSUM accumulation banks. 1..16; 8 as on a NeuronCore.
    psum_depth : int
        Result vectors per bank: the largest moving free size N of one operation. 1..4096;
        512 as on a NeuronCore (one 2 KiB bank of FP32 per partition).
    formats : tuple of str
        The operand formats the PEs support, names of :data:`PE_FORMATS`; each operation
        chooses its stationary and moving format among them. ``("int8",)`` (the default) or
        any set of floating-point formats; stored in canonical order. A set holding an MX-only
        format (:data:`MX_ONLY_FORMATS`) gives the tile MX mode (:attr:`mx`), which needs rows
        a multiple of :data:`MX_SCALE_GROUP_ROWS`.
    pe_stages : int or None
        Pipeline stages of a PE's multiply-accumulate, its latency in cycles (``sim_models.timing``):
        1 for int8; 1..:data:`~sim_models.timing.MAX_FLOAT_PE_STAGES` for floating-point
        formats. None (the default) stands for :data:`DEFAULT_FLOAT_PE_STAGES` on a
        floating-point tile and 1 on the int8 tile; it is stored resolved.
    bf16_psum : bool
        Trainium3's PSUM destinations (``sim_models.bf16_psum``, rules R16-R17): each multiply
        writes FP32 or BF16, a BF16 destination rounds to nearest even or stochastically with
        one xorshift32 generator per PSUM lane, and a reseed operation restarts the
        generators. Floating-point tiles only; False (the default) is Trainium2's FP32-only
        PSUM, whose Verilog this option leaves unchanged.

    Raises
    ------
    TypeError
        If a parameter has the wrong type or lies outside its range; the message names the
        parameter, its value and what is allowed.
    ValueError
        If ``formats`` names an unknown format or one twice, or mixes int8 with floating-point
        formats, or has MX formats on a tile whose rows are not a multiple of 8, or
        ``bf16_psum`` is set on the int8 tile.
    """
    rows: int
    cols: int
    psum_banks: int = 8
    psum_depth: int = 512
    formats: tuple = ("int8",)
    pe_stages: int = field(default=None, metadata={"implied_by": "default_pe_stages"})
    bf16_psum: bool = field(default=False, metadata={"omitted_at": False})

    def __post_init__(self):
        check_int("Parameter 'rows'", self.rows, 1, MAX_ARRAY_DIM)
        check_int("Parameter 'cols'", self.cols, 1, MAX_ARRAY_DIM)
        check_int("Parameter 'psum_banks'", self.psum_banks, 1, MAX_PSUM_BANKS)
        check_int("Parameter 'psum_depth'", self.psum_depth, 1, MAX_PSUM_DEPTH)
        object.__setattr__(self, "formats", check_formats("Parameter 'formats'", self.formats))
        if self.mx and self.rows % MX_SCALE_GROUP_ROWS:
            raise ValueError(f"Parameter 'rows' must be a multiple of {MX_SCALE_GROUP_ROWS} on a "
                             f"tile with MX formats (one E8M0 block scale spans "
                             f"{MX_SCALE_GROUP_ROWS} PE rows), not {self.rows}")
        if self.pe_stages is None:
            object.__setattr__(self, "pe_stages", self.default_pe_stages)
        deepest = MAX_FLOAT_PE_STAGES if self.floating else 1
        check_int(f"Parameter 'pe_stages' (formats {','.join(self.formats)})", self.pe_stages,
                  1, deepest)
        if not isinstance(self.bf16_psum, bool):
            raise TypeError(f"Parameter 'bf16_psum' must be a bool, not {self.bf16_psum!r}")
        if self.bf16_psum and not self.floating:
            raise ValueError(f"Parameter 'bf16_psum' needs floating-point formats (BF16 PSUM "
                             f"rounds FP32 sums), not {','.join(self.formats)}")

    @property
    def default_pe_stages(self):
        """Pipeline stages of the PE's MAC when none are named: :data:`DEFAULT_FLOAT_PE_STAGES`
        for floating-point formats, 1 for int8."""
        return DEFAULT_FLOAT_PE_STAGES if self.floating else 1

    @property
    def floating(self):
        """The PEs multiply floating-point formats and accumulate in FP32 (else int8 -> int32)."""
        return PE_FORMATS[self.formats[0]].floating

    @property
    def mx(self):
        """Operations may use MX mode (Trainium3's MXFP8 / MXFP4, four products per PE and
        cycle): the set holds an MX-only format (:data:`MX_ONLY_FORMATS`)."""
        return any(name in MX_ONLY_FORMATS for name in self.formats)

    @property
    def has_fp4_table(self):
        """The tile holds an FP4-to-FP8 table that programs may load (``LoadFp4Table``, R12):
        the set holds ``fp4_e2m1``."""
        return "fp4_e2m1" in self.formats

    @property
    def lane_bits(self):
        """Bits of one stationary or moving lane: 8 for int8, :data:`MX_LANE_BITS` with MX
        mode, :data:`FLOAT_LANE_BITS` else."""
        if not self.floating:
            return OPERAND_FORMATS["int8"].operand_bits
        return MX_LANE_BITS if self.mx else FLOAT_LANE_BITS

    @property
    def mx_k_multiple(self):
        """What an MX operation's K must be a multiple of (R14): 128 (NKI's partition dimension,
        a multiple of 32, times the x4 word's 4 elements) on a tile of 32 rows or more; on a
        smaller tile its whole rows, 4R (32 on 8 rows), so that a pass is whole scale groups."""
        return 4 * min(32, self.rows)

    @property
    def rows_per_pe(self):
        """Most contraction indices one PE row multiplies per cycle: 4 with MX mode, 2 with FP8
        double-row mode, else 1."""
        return indices_per_pe_row(self.double_row, self.mx)

    @property
    def accumulator_bits(self):
        """Bits of one partial sum and one PSUM entry (int32 or FP32)."""
        return ACCUMULATOR_BITS

    @property
    def double_row(self):
        """Operations may use FP8 double-row mode: the set has Trainium2's FP8 E4M3 or E5M2."""
        return any(name in OPERAND_FORMATS and OPERAND_FORMATS[name].floating
                   and OPERAND_FORMATS[name].operand_bits == 8 for name in self.formats)

    @property
    def name(self):
        """Configuration name used for build directories and reports, e.g. ``r8c16_int8``."""
        suffix = "" if (self.psum_banks, self.psum_depth) == (8, 512) else \
            f"_b{self.psum_banks}d{self.psum_depth}"
        formats = "_".join(name.replace("_", "") for name in self.formats)
        stages = "" if self.pe_stages == self.default_pe_stages else f"_s{self.pe_stages}"
        psum = "_bf16psum" if self.bf16_psum else ""
        return f"r{self.rows}c{self.cols}{suffix}_{formats}{stages}{psum}"

    @property
    def macs_per_cycle(self):
        """Peak multiply-accumulates per cycle of the whole array (R x C)."""
        return self.rows * self.cols


def _valid_dims(dims):
    """Whether ``dims`` is a ring's ``(nodes,)`` or the sides of a 2-D or 3-D torus in range."""
    def in_range(value, high):
        try:
            check_int("", value, 2, high)
        except TypeError:
            return False
        return True
    if not isinstance(dims, tuple) or not 1 <= len(dims) <= MAX_TORUS_DIMENSIONS:
        return False
    if len(dims) == 1:
        return in_range(dims[0], MAX_RING_NODES)
    return all(in_range(side, MAX_TORUS_SIDE) for side in dims) and prod(dims) <= MAX_TORUS_NODES


@dataclass(frozen=True)
class FabricConfig:
    """Shape of a ring or torus fabric and of its packets.

    Use :meth:`ring` and :meth:`torus`, which validate the topology's own parameters by name;
    the constructor validates the rest. The topology object, with the routing relation, is
    :attr:`topology` and :attr:`relation` (``sim_models.topology``); the bit layouts that follow
    from a configuration (the packet format) are built in ``hdl.fabric.layouts``.

    Parameters
    ----------
    dims : tuple of int
        Nodes along each dimension: ``(nodes,)`` for a ring, ``(x, y)`` or ``(x, y, z)`` for a
        torus. Node ``x + X * y + X * Y * z`` sits at coordinates ``(x, y, z)``.
    flit_width : int
        Bits per flit, 1..1024; at least :attr:`header_width`.
    length_width : int
        Bits of the header's length field, 1..12: packets carry 0 to ``2 ** length_width - 1``
        payload flits.
    buffer_depth : int
        Input buffer per port and virtual channel, in flits, 1..64.
        :data:`~sim_models.topology.CREDIT_LOOP_CYCLES` or more sustain one flit per cycle per
        link.
    routing : str
        ``"dateline"`` (two virtual channels, deadlock-free) or ``"naive"`` (one virtual
        channel; can deadlock, for tests only): a key of
        :data:`~sim_models.topology.RELATIONS`.
    flit_intervals : tuple of int
        Per dimension, cycles between the flits a link of that dimension carries, 1..8: 1 is
        full bandwidth, 2 half (the Z links of a Trn2 UltraServer, ``(1, 1, 2)``). Empty (the
        default) is 1 everywhere; all ones are stored as empty. On a switched fabric, one per
        link class: chip links (a level-1 switch paces each chip's inject and eject streams),
        server switch to second level, then to the third.
    top_switches : int
        0 for a ring or torus; 1..4 for a switched fabric (use :meth:`switch`): ``dims`` are
        then its radices (chips per server, servers, racks) and ``routing`` is ``"updown"``.

    Raises
    ------
    TypeError
        If a parameter has the wrong type or lies outside its range; the message names the
        parameter, its value and what is allowed.
    ValueError
        If ``routing`` is not one of :data:`ROUTINGS`, or ``flit_width`` is too narrow to hold
        the header.
    """
    dims: tuple
    flit_width: int = 32
    length_width: int = 4
    buffer_depth: int = 4
    routing: str = "dateline"
    flit_intervals: tuple = ()
    top_switches: int = field(default=0, metadata={"omitted_at": 0})

    def __post_init__(self):
        check_int("Parameter 'top_switches'", self.top_switches, 0, MAX_TOP_SWITCHES)
        if self.switched:
            self._check_switch()
        elif not _valid_dims(self.dims):
            raise TypeError(f"Parameter 'dims' must be (nodes,) with nodes in "
                            f"2..{MAX_RING_NODES} or 2..{MAX_TORUS_DIMENSIONS} sides in "
                            f"2..{MAX_TORUS_SIDE} of at most {MAX_TORUS_NODES} nodes, "
                            f"not {self.dims!r}")
        check_int("Parameter 'flit_width'", self.flit_width, 1, MAX_FLIT_WIDTH)
        check_int("Parameter 'length_width'", self.length_width, 1, MAX_LENGTH_WIDTH)
        check_int("Parameter 'buffer_depth'", self.buffer_depth, 1, MAX_BUFFER_DEPTH)
        if self.switched and self.routing != SWITCH_ROUTING:
            raise ValueError(f"Parameter 'routing' of a switched fabric must be "
                             f"{SWITCH_ROUTING!r}, not {self.routing!r}")
        if not self.switched and self.routing not in ROUTINGS:
            raise ValueError(f"Parameter 'routing' must be 'dateline' or 'naive', "
                             f"not {self.routing!r}")
        intervals = self.flit_intervals
        if not isinstance(intervals, tuple) or intervals and (
                len(intervals) != len(self.dims) or not all(
                    isinstance(k, int) and not isinstance(k, bool) and
                    1 <= k <= MAX_FLIT_INTERVAL for k in intervals)):
            raise TypeError(f"Parameter 'flit_intervals' must be empty or {len(self.dims)} "
                            f"integers in 1..{MAX_FLIT_INTERVAL}, one per dimension, "
                            f"not {intervals!r}")
        if all(k == 1 for k in intervals):
            object.__setattr__(self, "flit_intervals", ())
        if self.flit_width < self.header_width:
            raise ValueError(f"Parameter 'flit_width' must be at least {self.header_width} to "
                             f"hold the header of a {self.nodes}-node fabric, "
                             f"not {self.flit_width}")

    def _check_switch(self):
        dims = self.dims
        if not isinstance(dims, tuple) or not 1 <= len(dims) <= MAX_SWITCH_LEVELS:
            raise TypeError(f"Parameter 'radices' must be 1..{MAX_SWITCH_LEVELS} switch levels "
                            f"(chips per server, servers, racks), not {dims!r}")
        for name, radix in zip(("chips", "servers", "racks"), dims):
            check_int(f"Parameter '{name}'", radix, 2, MAX_SWITCH_RADIX)
        if prod(dims) > MAX_SWITCH_NODES:
            raise TypeError(f"Parameter 'radices' must multiply to at most {MAX_SWITCH_NODES} "
                            f"chips, not {' * '.join(map(str, dims))} = {prod(dims)}")
        if self.top_switches > 1 and len(dims) < 2:
            raise ValueError(f"Parameter 'top_switches' must be 1 with one switch level, "
                             f"not {self.top_switches}")

    @property
    def switched(self):
        """Whether the fabric is a tree of switches (:class:`~sim_models.topology.SwitchTree`)
        rather than a ring or torus."""
        return self.top_switches > 0

    @classmethod
    def switch(cls, *radices, top_switches=1, **options):
        """Configuration of a switched fabric: ``radices`` = chips per server, then servers
        (then racks), each 2..64, at most 256 chips; ``top_switches`` parallel top-level
        switches, 1..4 (Trainium3 Gen2: ``switch(4, 36, top_switches=2)``). ``flit_intervals``
        gives one interval per link class, chip links first. ``options`` are the remaining
        constructor parameters."""
        check_int("Parameter 'top_switches'", top_switches, 1, MAX_TOP_SWITCHES)
        return cls(tuple(radices), top_switches=top_switches,
                   **{"routing": SWITCH_ROUTING, **options})

    @classmethod
    def system(cls, key, *, dims=None, top_switches=None, **options):
        """Configuration of the fabric of a published system, a key of
        :data:`SYSTEM_FABRICS` (``trn2-ultraserver``, ``trn3-gen1-ultraserver``,
        ``trn3-gen2-ultraserver``). ``dims`` and ``top_switches``, if given, must be the
        system's (a size that does not match its system is refused, naming the parameter);
        ``flit_intervals`` defaults to the system's; ``options`` are the remaining constructor
        parameters."""
        if key not in SYSTEM_FABRICS:
            raise ValueError(f"Parameter 'system' must be one of {', '.join(SYSTEM_FABRICS)}, "
                             f"not {key!r}")
        system = SYSTEM_FABRICS[key]
        if dims is not None and tuple(dims) != system.dims:
            dims = tuple(dims)
            wrong = [(name, want, got) for name, want, got in
                     zip(system.size_names, system.dims, dims) if want != got]
            whole = "sides" if system.kind == "torus" else "radices"
            name, want, got = wrong[0] if len(dims) == len(system.dims) else \
                (whole, system.dims, dims)
            raise ValueError(f"Parameter '{name}' of the {system.name} must be {want} "
                             f"({system.shape}), not {got}")
        if top_switches is not None and top_switches != system.top_switches:
            raise ValueError(f"Parameter 'top_switches' of the {system.name} must be "
                             f"{system.top_switches}, not {top_switches}")
        options.setdefault("flit_intervals", system.flit_intervals)
        if system.kind == "torus":
            return cls.torus(*system.dims, **options)
        return cls.switch(*system.dims, top_switches=system.top_switches, **options)

    @classmethod
    def ring(cls, nodes, **options):
        """Configuration of a bidirectional ring of ``nodes`` nodes, 2..64.

        ``options`` are the remaining constructor parameters.
        """
        check_int("Parameter 'nodes'", nodes, 2, MAX_RING_NODES)
        return cls((nodes,), **options)

    @classmethod
    def torus(cls, *sides, nodes=None, **options):
        """Configuration of a 2-D (``x, y``) or 3-D (``x, y, z``) torus, each side 2..16, at
        most 256 nodes.

        ``nodes``, if given, must equal the product of the sides; ``options`` are the remaining
        constructor parameters.
        """
        if not 2 <= len(sides) <= MAX_TORUS_DIMENSIONS:
            raise TypeError(f"Parameter 'sides' must be 2..{MAX_TORUS_DIMENSIONS} sides, "
                            f"not {sides!r}")
        for dim, side in enumerate(sides):
            check_int(f"Parameter '{axis_name(dim)}'", side, 2, MAX_TORUS_SIDE)
        product = " * ".join(axis_name(dim) for dim in range(len(sides)))
        if nodes is not None:
            check_int("Parameter 'nodes'", nodes, 1, MAX_TORUS_NODES)
            if nodes != prod(sides):
                raise ValueError(f"Parameter 'nodes' must equal {product} = {prod(sides)}, "
                                 f"not {nodes}")
        if prod(sides) > MAX_TORUS_NODES:
            raise TypeError(f"Parameter 'sides' must multiply to at most {MAX_TORUS_NODES} "
                            f"nodes, not {product} = {prod(sides)}")
        return cls(tuple(sides), **options)

    @property
    def topology(self):
        """The :class:`~sim_models.topology.Torus` of :attr:`dims` (a ring is 1-D), or the
        :class:`~sim_models.topology.SwitchTree` of a switched fabric."""
        if self.switched:
            return SwitchTree(self.dims, self.top_switches, self.flit_intervals)
        return Torus(self.dims, self.flit_intervals)

    @property
    def relation(self):
        """The routing relation named by :attr:`routing`."""
        return UP_DOWN if self.switched else RELATIONS[self.routing]

    @property
    def nodes(self):
        """Number of nodes."""
        return prod(self.dims)

    @property
    def max_payload_flits(self):
        """Payload flits of the longest packet the header's length field can describe."""
        return (1 << self.length_width) - 1

    @property
    def address_width(self):
        """Bits of a node address. Addresses ``nodes`` and up name no node, and at least one
        such address exists, so the drop path is always reachable."""
        return self.nodes.bit_length()

    @property
    def vcs(self):
        """Virtual channels per link: 2 with the dateline, 1 for ``naive`` routing."""
        return self.relation.vcs

    @property
    def header_width(self):
        """Bits of a header flit's fields (destination, source, kind, length): the smallest
        ``flit_width`` that holds the header."""
        return 2 * self.address_width + KIND_WIDTH + self.length_width

    @property
    def name(self):
        """Configuration name for module names, build directories and reports, e.g.
        ``ring5``, ``torus4x4``, ``ring5_naive``, ``torus2x2_w16``, ``torus4x4x4_i1x1x2``."""
        base = self.topology.name
        defaults = FabricConfig((2,))
        suffixes = [f"_{label}{value}" for label, value, default in [
            ("w", self.flit_width, defaults.flit_width),
            ("l", self.length_width, defaults.length_width),
            ("b", self.buffer_depth, defaults.buffer_depth)] if value != default]
        if self.routing not in (defaults.routing, SWITCH_ROUTING):
            suffixes.append(f"_{self.routing}")
        if self.flit_intervals:
            suffixes.append("_i" + "x".join(map(str, self.flit_intervals)))
        return base + "".join(suffixes)


def _ring(subject, config, element, switch=False):
    """Raise unless ``config`` is a ring FabricConfig (or, with ``switch``, a switched one or a
    torus, whose collectives run dimension by dimension) whose flits carry an ``element`` (a
    key of :data:`ALLREDUCE_ELEMENTS`)."""
    if not isinstance(config, FabricConfig):
        raise TypeError(f"Parameter '{subject}' must be a FabricConfig, not {config!r}")
    if not switch and (config.switched or config.topology.dimensions != 1):
        raise ValueError(f"Parameter '{subject}' must describe a ring, not {config.name}")
    width = ALLREDUCE_ELEMENTS[element]
    article = "an" if element[0] in "aefhilmnorsx" else "a"  # as the name is spoken
    if config.flit_width < width:
        raise ValueError(f"Parameter 'flit_width' must be at least {width} to carry "
                         f"{article} {element} element, not {config.flit_width}")


def _longest_vector(ring, element):
    """Elements of the longest vector whose chunks each fit one packet of ``ring``."""
    per_flit = ring.flit_width // ALLREDUCE_ELEMENTS[element]
    return min(ring.max_payload_flits * per_flit * ring.nodes, MAX_VECTOR_LENGTH)


#: Collectives of the ring interfaces (:class:`AllReduceConfig`), by name: the suffix of
#: their configuration names.
RING_COLLECTIVES = {"allreduce": "", "reducescatter": "_rs", "allgather": "_ag"}
#: Forwarding of the ring interfaces, by name: the suffix of their configuration names.
#: ``store``: a received chunk is forwarded once it has fully arrived; ``cut-through``: each
#: flit as soon as it has arrived (and been added).
FORWARDINGS = {"store": "", "cut-through": "_ct"}
#: All-reduce algorithms of the collective interfaces (:class:`AllReduceConfig`), by name: the
#: suffix of their configuration names. ``ring``: chunks passed round the nodes in index order
#: (on a torus, dimension by dimension); ``direct``: every node writes each chunk straight to
#: the node that reduces it, and that node writes the sum straight back to every node (Neuron's
#: "Mesh": two steps whatever the nodes, the packets routed through the fabric).
ALGORITHMS = {"ring": "", "direct": "_dir"}


@dataclass(frozen=True)
class AllReduceConfig:
    """A ring of collective network interfaces (all-reduce, reduce-scatter or all-gather) for
    int32, FP32 or BF16 vectors, over a ring fabric or a switched one (the ring then runs in
    node order through the switches, each node adding what it receives: endpoint reduction).

    Parameters
    ----------
    ring : FabricConfig
        The fabric, a ring, a switched fabric or a 2-D or 3-D torus; its flits carry
        ``flit_width // element_width`` elements each. On a torus the collective runs
        dimension by dimension (:attr:`phases`): reduce-scatters along the X rings, then Y,
        then Z, and all-gathers back along Z, Y, X, each a ring collective of its own.
    vector_length : int
        Elements of the whole vector, 1..65536, split into one chunk per node; each chunk must
        fit one packet. The all-reduce takes and gives the whole vector; the reduce-scatter
        takes it and gives node ``r`` chunk ``r``; the all-gather takes chunk ``r`` at node
        ``r`` and gives the whole vector. Both need equal chunks: a multiple of the nodes. On
        a torus every collective needs a multiple of the nodes (every phase's chunks equal),
        the first phase's chunk (``vector_length / x``) must fit one packet, and the
        reduce-scatter's chunk (the all-gather's input) of node ``(x, y, z)`` is chunk
        ``(x * Y + y) * Z + z``: X, the first dimension reduced, is the most significant.
    element : str
        Element format, a key of :data:`ALLREDUCE_ELEMENTS`: ``int32`` (default), ``fp32`` or
        ``bf16``.
    collective : str
        A key of :data:`RING_COLLECTIVES`: ``allreduce`` (default), ``reducescatter`` or
        ``allgather``.
    forwarding : str
        A key of :data:`FORWARDINGS`: ``store`` (default) or ``cut-through``.
    bidirectional : bool
        On a torus only: every phase runs two rings at once, the + way round over the first
        half of every chunk of the phase and the - way round over the second half
        (:attr:`lanes`), each ring carrying half the data. The vector must then be a multiple
        of twice the nodes. Default False: one ring per phase, the + way.
    algorithm : str
        A key of :data:`ALGORITHMS`: ``ring`` (default) or ``direct`` (Neuron's Mesh, on any
        fabric: node ``r`` sends chunk ``d`` to node ``d``, ``d = r + 1, r + 2, ...``, and node
        ``d`` adds them in the order they come in an idle fabric, its own first, then from
        node ``d - 1``, ``d - 2`` and down; then it sends the sum to every node in the same
        order). Direct collectives store and forward, in one direction.

    Raises
    ------
    TypeError
        If ``ring`` is not a FabricConfig, ``vector_length`` not an integer in range or
        ``bidirectional`` not a bool.
    ValueError
        If ``element``, ``collective`` or ``forwarding`` is not a known name, ``ring`` is not a
        ring or switched fabric, its flits cannot carry an element, a chunk does not fit one
        packet, the chunks of a reduce-scatter or all-gather are not equal, or
        ``bidirectional`` is set off a torus or with a vector that is not a multiple of twice
        the nodes.
    """
    ring: FabricConfig
    vector_length: int
    element: str = "int32"
    # Omitted from the dictionary form at their defaults: earlier sidecars stay the same.
    collective: str = field(default="allreduce", metadata={"omitted_at": "allreduce"})
    forwarding: str = field(default="store", metadata={"omitted_at": "store"})
    bidirectional: bool = field(default=False, metadata={"omitted_at": False})
    algorithm: str = field(default="ring", metadata={"omitted_at": "ring"})

    def __post_init__(self):
        if not isinstance(self.bidirectional, bool):
            raise TypeError(f"Parameter 'bidirectional' must be True or False, "
                            f"not {self.bidirectional!r}")
        if self.element not in ALLREDUCE_ELEMENTS:
            raise ValueError(f"Parameter 'element' must be one of "
                             f"{', '.join(ALLREDUCE_ELEMENTS)}, not {self.element!r}")
        for name, value, allowed in [("collective", self.collective, RING_COLLECTIVES),
                                     ("forwarding", self.forwarding, FORWARDINGS),
                                     ("algorithm", self.algorithm, ALGORITHMS)]:
            if value not in allowed:
                raise ValueError(f"Parameter '{name}' must be one of {', '.join(allowed)}, "
                                 f"not {value!r}")
        _ring("ring", self.ring, self.element, switch=True)
        check_int("Parameter 'vector_length'", self.vector_length, 1, MAX_VECTOR_LENGTH)
        if self.algorithm == "direct":
            self._check_direct()
        if self.torus:
            self._check_torus()
        elif self.bidirectional:
            raise ValueError(f"Parameter 'bidirectional' must be False on a "
                             f"{'switched fabric' if self.ring.switched else 'ring'} (two "
                             f"rings per dimension run on a torus only), not True")
        elif self.collective != "allreduce" and self.vector_length % self.ring.nodes:
            raise ValueError(f"Parameter 'vector_length' must be a multiple of the "
                             f"{self.ring.nodes} nodes for {self.collective}, "
                             f"not {self.vector_length}")
        longest = _longest_vector(self.ring, self.element)
        if self.vector_length > longest:
            raise ValueError(f"Parameter 'vector_length' must be at most {longest} for a "
                             f"{self.ring.nodes}-node ring of {self.ring.flit_width}-bit flits "
                             f"and {self.max_flits}-flit packets, not {self.vector_length}")

    def _check_direct(self):
        for name, value, allowed in [("forwarding", self.forwarding, "store"),
                                     ("bidirectional", self.bidirectional, False)]:
            if value != allowed:
                raise ValueError(f"Parameter '{name}' must be {allowed!r} for the direct "
                                 f"algorithm (each chunk goes once, straight to its node), "
                                 f"not {value!r}")

    def _check_torus(self):
        sides = " x ".join(map(str, self.ring.dims))
        if self.forwarding != "store":
            raise ValueError(f"Parameter 'forwarding' must be 'store' on a torus (the "
                             f"dimension-by-dimension collective stores and forwards), "
                             f"not {self.forwarding!r}")
        lanes = 2 if self.bidirectional else 1
        if self.vector_length % (lanes * self.ring.nodes):
            multiple = (f"twice the {self.ring.nodes} nodes of the {sides} torus (two rings "
                        f"per dimension, each over half of every chunk)" if self.bidirectional
                        else f"the {self.ring.nodes} nodes of the {sides} torus (every "
                        f"dimension's ring splits its vector into equal chunks)")
            raise ValueError(f"Parameter 'vector_length' must be a multiple of {multiple}, "
                             f"not {self.vector_length}")
        longest = min(lanes * self.ring.dims[0] * self.max_flits * self.elements_per_flit,
                      MAX_VECTOR_LENGTH)
        if self.vector_length > longest:
            raise ValueError(f"Parameter 'vector_length' must be at most {longest} on the "
                             f"{sides} torus of {self.ring.flit_width}-bit flits and "
                             f"{self.max_flits}-flit packets (a chunk of the X rings fits one "
                             f"packet), not {self.vector_length}")

    @property
    def torus(self):
        """Whether the collective runs dimension by dimension (:attr:`phases`): a ring
        collective on a torus of 2 or 3 dimensions."""
        return (self.algorithm == "ring" and not self.ring.switched and
                self.ring.topology.dimensions > 1)

    @property
    def phases(self):
        """On a torus, the ring collectives run one after the other at every node, in order:
        ``(dimension, AllReduceConfig)`` pairs, each config a ring of that dimension's size
        (the torus's flit width, length field and buffers) over the vector the phase takes, or
        over half of it when :attr:`bidirectional` (the ring of each direction, :attr:`lanes`).
        The all-reduce is the reduce-scatters along X, Y, Z, then the all-gathers along Z, Y,
        X; the reduce-scatter and the all-gather are their halves. Empty on a ring or
        switched fabric."""
        if not self.torus:
            return ()
        dims = self.ring.dims
        options = {"flit_width": self.ring.flit_width, "length_width": self.ring.length_width,
                   "buffer_depth": self.ring.buffer_depth}
        scatter, length = [], self.vector_length // len(self.directions)
        for dim, side in enumerate(dims):
            scatter.append((dim, AllReduceConfig(FabricConfig.ring(side, **options), length,
                                                 self.element, "reducescatter",
                                                 self.forwarding)))
            length //= side
        gather = [(dim, AllReduceConfig(config.ring, config.vector_length, self.element,
                                        "allgather", self.forwarding))
                  for dim, config in reversed(scatter)]
        return tuple({"allreduce": scatter + gather, "reducescatter": scatter,
                      "allgather": gather}[self.collective])

    @property
    def directions(self):
        """The ways round every ring of a torus phase runs: ``(1,)``, or ``(1, -1)`` when
        :attr:`bidirectional`."""
        return (1, -1) if self.bidirectional else (1,)

    @property
    def lanes(self):
        """The ring collectives every node of a torus runs: per phase and per direction
        (:attr:`directions`), ``(phase, dimension, direction, config)`` with the phase's
        config (:attr:`phases`). Empty on a ring or switched fabric."""
        return tuple((index, dim, direction, config)
                     for index, (dim, config) in enumerate(self.phases)
                     for direction in self.directions)

    @property
    def element_width(self):
        """Bits per element."""
        return ALLREDUCE_ELEMENTS[self.element]

    @property
    def elements_per_flit(self):
        """Elements carried by a payload flit: ``flit_width // element_width``."""
        return self.ring.flit_width // self.element_width

    @property
    def max_flits(self):
        """Payload flits of the longest packet the header can describe."""
        return self.ring.max_payload_flits

    @property
    def chunk_flits(self):
        """Payload flits of the longest chunk, and memory rows per chunk."""
        longest_chunk = -(-self.vector_length // self.ring.nodes)
        return -(-longest_chunk // self.elements_per_flit)

    @property
    def steps(self):
        """Data packets each node sends: ``nodes - 1`` per reduce-scatter or all-gather phase;
        on a torus, the sum of its lanes' steps (both ways' when bidirectional)."""
        if self.torus:
            return sum(config.steps for _, _, _, config in self.lanes)
        phases = 2 if self.collective == "allreduce" else 1
        return phases * (self.ring.nodes - 1)

    @property
    def name(self):
        """Configuration name, e.g. ``ring5_v23``, ``ring5_v23_bf16``,
        ``switch4x2_v16_fp32_rs_ct``, ``torus4x4x4_i1x1x2_v128_bf16_bd`` (bidirectional),
        ``torus4x4_v64_bf16_dir`` (direct)."""
        suffix = "" if self.element == "int32" else f"_{self.element}"
        return (f"{self.ring.name}_v{self.vector_length}{suffix}"
                f"{RING_COLLECTIVES[self.collective]}{FORWARDINGS[self.forwarding]}"
                f"{'_bd' if self.bidirectional else ''}{ALGORITHMS[self.algorithm]}")


@dataclass(frozen=True)
class DistributedGemmConfig:
    """A ring of tiles whose result vectors are all-reduced in hardware.

    Parameters
    ----------
    tile : TileConfig
        Configuration of every node's tile: int8 operands with int32 results, all-reduced as
        int32, or floating-point operands (BF16, FP16, FP8) with FP32 results, all-reduced as
        FP32.
    ring : FabricConfig
        The ring fabric joining the nodes.
    columns : int
        Result beats (PSUM columns, the N of a read) per all-reduce, 1..``tile.psum_depth``;
        the vector of ``columns * tile.cols`` elements must fit the interface's packets.

    Raises
    ------
    TypeError
        If ``tile`` is not a TileConfig, ``ring`` not a FabricConfig, or ``columns`` not an
        integer in range.
    ValueError
        If the vector does not fit the packets, or the flits cannot carry a result.
    """
    tile: TileConfig
    ring: FabricConfig
    columns: int

    def __post_init__(self):
        if not isinstance(self.tile, TileConfig):
            raise TypeError(f"Parameter 'tile' must be a TileConfig, not {self.tile!r}")
        check_int("Parameter 'columns'", self.columns, 1, self.tile.psum_depth)
        _ring("ring", self.ring, self.element)
        longest = _longest_vector(self.ring, self.element) // self.tile.cols
        if self.columns > longest:
            raise ValueError(f"Parameter 'columns' must be at most {longest} for "
                             f"{self.tile.cols}-lane results on a {self.ring.nodes}-node ring "
                             f"of {self.ring.flit_width}-bit flits and "
                             f"{self.ring.max_payload_flits}-flit packets, not {self.columns}")

    @property
    def element(self):
        """Format of the results all-reduced: ``fp32`` for a floating-point tile, else
        ``int32``."""
        return "fp32" if self.tile.floating else "int32"

    @property
    def allreduce(self):
        """The all-reduce every node's interface runs: ``columns * tile.cols`` elements."""
        return AllReduceConfig(self.ring, self.vector_length, self.element)

    @property
    def vector_length(self):
        """Elements per all-reduce: ``columns * tile.cols``."""
        return self.columns * self.tile.cols

    @property
    def name(self):
        """Configuration name, e.g. ``r4c4_int8_ring3_n6``."""
        return f"{self.tile.name}_{self.ring.name}_n{self.columns}"


@dataclass(frozen=True)
class AllToAllConfig:
    """An all-to-all (and all-to-all-v) network interface at every node of a ring or torus.

    In each all-to-all every node sends a block of 0 to ``max_count`` 32-bit elements to every
    node (itself included), the counts chosen at run time, and receives one block from every
    node. One block is one packet, one element per payload flit.

    Parameters
    ----------
    fabric : FabricConfig
        The ring or torus; its flits carry at least 32 bits.
    max_count : int
        Most elements of one block, 1..``fabric.max_payload_flits``: the receive buffer holds
        this many per source (twice: one all-to-all may overlap the next).

    Raises
    ------
    TypeError
        If ``fabric`` is not a FabricConfig or ``max_count`` not an integer in range.
    ValueError
        If the flits cannot carry an element.
    """
    fabric: FabricConfig
    max_count: int

    def __post_init__(self):
        if not isinstance(self.fabric, FabricConfig):
            raise TypeError(f"Parameter 'fabric' must be a FabricConfig, not {self.fabric!r}")
        check_int("Parameter 'max_count'", self.max_count, 1, self.fabric.max_payload_flits)
        if self.fabric.flit_width < ALLTOALL_ELEMENT_WIDTH:
            raise ValueError(f"Parameter 'flit_width' must be at least {ALLTOALL_ELEMENT_WIDTH} "
                             f"to carry an all-to-all element, not {self.fabric.flit_width}")

    @property
    def name(self):
        """Configuration name, e.g. ``torus2x3_c4``."""
        return f"{self.fabric.name}_c{self.max_count}"


#: Tile configurations that ``make verilog`` generates without ROWS and COLS, by name.
NAMED_TILES = {
    "tiny": TileConfig(1, 1),
    "small": TileConfig(2, 3),
    "r4c4": TileConfig(4, 4),
    "r8c8": TileConfig(8, 8),
    "r8c16": TileConfig(8, 16),
    "r16c16": TileConfig(16, 16),
    # Trainium2's formats (BF16, FP16, FP8 E4M3 and E5M2, FP8 double-row) on a small array.
    "r8c8_trn2": TileConfig(8, 8, formats=TRAINIUM2_FORMATS),
    # Trainium3's formats (BF16, FP16, E5M2 with double-row, MX: E4M3FN, E5M2, E2M1).
    "r8c8_trn3": TileConfig(8, 8, formats=TRAINIUM3_FORMATS),
}

def module_name(config):
    """Verilog module name of the top of a design, and so the stem of its generated file:
    ``systolic_tile_r8c16_int8``, ``fabric_torus4x4``, ``allreduce_ring5_v23``,
    ``gemm_r4c4_int8_ring3_n6``, ``alltoall_torus2x3_c4``. Known without elaborating the
    design (``hdl.emit`` names its tops with it)."""
    prefixes = {TileConfig: "systolic_tile", FabricConfig: "fabric",
                AllReduceConfig: "allreduce", DistributedGemmConfig: "gemm",
                AllToAllConfig: "alltoall"}
    if type(config) not in prefixes:
        raise TypeError(f"Parameter 'config' must be a TileConfig, FabricConfig, "
                        f"AllReduceConfig, DistributedGemmConfig or AllToAllConfig, "
                        f"not {config!r}")
    return f"{prefixes[type(config)]}_{config.name}"


#: Kind of each configuration type in its dictionary form (the ``.ports.json`` sidecar).
_KINDS = {"tile": TileConfig, "fabric": FabricConfig, "allreduce": AllReduceConfig,
          "distributed_gemm": DistributedGemmConfig, "alltoall": AllToAllConfig}


def config_to_dict(config):
    """The plain dictionary form of a configuration: its ``kind`` and its fields, nested
    configurations as dictionaries, tuples as lists. :func:`config_from_dict` inverts it."""
    kinds = {cls: kind for kind, cls in _KINDS.items()}
    if type(config) not in kinds:
        raise TypeError(f"Parameter 'config' must be one of "
                        f"{', '.join(cls.__name__ for cls in _KINDS.values())}, not {config!r}")
    result = {"kind": kinds[type(config)]}
    for item in fields(config):
        value = getattr(config, item.name)
        implied = item.metadata.get("implied_by")
        if implied and value == getattr(config, implied):
            continue        # the default: dictionaries from before the field stay the same
        if "omitted_at" in item.metadata and value == item.metadata["omitted_at"]:
            continue        # likewise
        if type(value) in kinds:
            value = config_to_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        result[item.name] = value
    return result


def config_from_dict(values):
    """The configuration that :func:`config_to_dict` wrote, validated again.

    Raises
    ------
    ValueError
        If ``values`` is not such a dictionary: no or an unknown ``kind``, missing or unknown
        fields. The message names what is wrong.
    TypeError
        From the configuration's own checks.
    """
    if not isinstance(values, dict) or values.get("kind") not in _KINDS:
        kind = values.get("kind") if isinstance(values, dict) else values
        raise ValueError(f"Configuration 'kind' must be one of {', '.join(_KINDS)}, "
                         f"not {kind!r}")
    cls = _KINDS[values["kind"]]
    names = {item.name for item in fields(cls)}
    given = set(values) - {"kind"}
    required = {item.name for item in fields(cls) if item.default is MISSING}
    if given - names or required - given:
        raise ValueError(f"Configuration of kind {values['kind']!r} must have the fields "
                         f"{', '.join(sorted(names))}, not {', '.join(sorted(given))}")
    arguments = {}
    for name in given:
        value = values[name]
        if isinstance(value, dict):
            value = config_from_dict(value)
        elif isinstance(value, list):
            value = tuple(value)
        arguments[name] = value
    return cls(**arguments)
