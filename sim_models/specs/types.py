"""The records a spec directory loads into: sourced quantities, cores, chips, systems, figures.

All records are frozen dataclasses, so a variant (a chip with another clock, say) is made with
``dataclasses.replace`` and never changes the loaded specs.
"""

from dataclasses import dataclass

__all__ = ["SpecError", "Source", "Sourced", "CoreSpec", "ChipSpec", "Topology", "SystemSpec",
           "PublishedFigure", "Specs"]


class SpecError(ValueError):
    """A spec file, or a lookup in the loaded specs, is malformed or names something unknown."""


@dataclass(frozen=True)
class Source:
    """A source the spec data and the report cite.

    Members
    -------
    cite : str
        What it is: author or publisher, title, date, the part read.
    urls : tuple of str
        Where to read it: one or more https addresses, the primary one first.
    """
    cite: str
    urls: tuple


@dataclass(frozen=True)
class Sourced:
    """One quantity and where it comes from.

    Members
    -------
    value : int, float or str
        The quantity in SI base units: Hz, FLOP/s, bytes, bytes/s, W, s, or a plain count or
        ratio; a string for descriptive quantities (the process node).
    given : int, float or str
        The number as the file writes it, in ``unit``.
    unit : str or None
        The unit as written (``"GHz"``, ``"1"`` for counts and ratios); None for strings.
    source : str
        A key of ``Specs.sources``, or ``"DERIVED"`` (arithmetic on sourced figures) or
        ``"ASSUMED"`` (a modelling choice); ``note`` then says from what, or why.
    note : str or None
        Caveats: contradicting figures, rounding, how a derived value was computed.
    """
    value: object
    given: object
    unit: object
    source: str
    note: object = None


@dataclass(frozen=True)
class CoreSpec:
    """One NeuronCore's Tensor Engine and its on-core memories (every member a ``Sourced``).

    Members
    -------
    array_rows, array_cols : Sourced
        Processing elements of the systolic array (count each).
    clock : Sourced
        TensorE clock, Hz.
    sbuf, psum : Sourced
        State buffer and partial-sum buffer capacity, bytes.
    psum_banks : Sourced
        PSUM accumulation banks per partition (count).
    psum_bank_entries : Sourced
        FP32 entries per partition in one bank (count).
    max_moving_free : Sourced
        Largest moving free size N of one matmul instruction (count of columns).
    logical_core_size : Sourced
        Physical cores that the Neuron SDK runs as one logical NeuronCore by default (LNC);
        AWS counts parallel degrees in logical cores.
    vector_flops, scalar_flops, gpsimd_flops : Sourced
        FP32 FLOP/s of one core's Vector, Scalar and GpSimd engines (elementwise and
        reduction work).
    sparsity_factor : Sourced or None
        Throughput multiplier of structured-sparse input over dense BF16; None if unsupported.
    vector_clock, scalar_clock : Sourced or None
        Clocks of the Vector and Scalar engines, Hz: an instruction over a tile of up to 128
        partitions takes about one cycle per element of its free axis, however many partitions
        it uses (:func:`sim_models.scaling.engines.unfused_softmax_seconds`); None where the
        reference gives none.
    macs_per_pe_per_cycle : dict of str to Sourced
        Multiply-accumulates each PE completes per TensorE cycle, per input datatype
        (``bf16``, ``fp16``, ``tf32``, ``fp32``, ``fp8``, ``mxfp8``, ``mxfp4``); a datatype
        the reference gives no rate for is absent.
    pe_stages : Sourced or None
        Cycles of one PE's multiply-accumulate, the fill and drain each row of the array adds:
        the characterized RTL's (``scaling.peak.with_measured_rates``); None (no RTL measured
        yet) times one-cycle PEs. AWS does not publish it.
    """
    array_rows: Sourced
    array_cols: Sourced
    clock: Sourced
    sbuf: Sourced
    psum: Sourced
    psum_banks: Sourced
    psum_bank_entries: Sourced
    max_moving_free: Sourced
    logical_core_size: Sourced
    vector_flops: Sourced
    scalar_flops: Sourced
    gpsimd_flops: Sourced
    sparsity_factor: object
    macs_per_pe_per_cycle: dict
    vector_clock: object = None
    scalar_clock: object = None
    pe_stages: object = None


@dataclass(frozen=True)
class ChipSpec:
    """One accelerator chip.

    Members
    -------
    key, name : str
        Identifier (``"trn2"``) and display name (``"Trainium2"``).
    kind : str
        ``"neuron"`` (modelled from its cores) or ``"gpu"`` (compared only, from its datasheet).
    file : pathlib.Path
        The spec file the chip was read from.
    cores : Sourced or None
        NeuronCores per chip (count); None for a GPU.
    core : CoreSpec or None
        The NeuronCore; None for a GPU.
    hbm_capacity : Sourced
        HBM capacity, bytes.
    hbm_stacks : Sourced or None
        HBM stacks (count); None where the reference gives none.
    hbm_bandwidth : Sourced
        HBM bandwidth, bytes/s.
    link_bandwidth : Sourced or None
        Chip-to-chip (NeuronLink) bandwidth per chip, all links together, bytes/s.
    process : Sourced or None
        Process node, a string.
    power : Sourced or None
        Chip power, W (press estimates; AWS publishes none).
    peak_flops : dict of str to Sourced
        Dense peak FLOP/s per datatype from a GPU datasheet; empty for a NeuronCore chip.
    """
    key: str
    name: str
    kind: str
    file: object
    cores: object
    core: object
    hbm_capacity: Sourced
    hbm_stacks: object
    hbm_bandwidth: Sourced
    link_bandwidth: object
    process: object
    power: object
    peak_flops: dict


@dataclass(frozen=True)
class Topology:
    """How the chips of a system are connected.

    Members
    -------
    kind : str
        ``"torus"``, ``"switch"``, ``"ring"`` or ``"fat-tree"``.
    dims : tuple of int
        Torus dimensions, whose product is the system's chips (a cluster: its unit's chips);
        empty for other kinds.
    source, note : str, str or None
        As in ``Sourced``.
    """
    kind: str
    dims: tuple
    source: str
    note: object = None


@dataclass(frozen=True)
class SystemSpec:
    """An instance, UltraServer or cluster built from one chip type.

    Members
    -------
    key, name : str
        Identifier (``"trn2-ultraserver"``) and display name.
    level : str
        ``"instance"``, ``"ultraserver"`` or ``"cluster"``.
    chip : str
        Key of the chip it is built from.
    chips : Sourced
        Chips in the system (count).
    topology : Topology
        The fabric that joins them.
    link_bandwidth : tuple of Sourced
        Bytes/s of one link in one direction, one per torus dimension; for other topologies one
        figure: the bandwidth of one chip into the fabric.
    scale_out_bandwidth : Sourced or None
        Scale-out network (EFA) bandwidth per chip, bytes/s.
    scale_out_latency : Sourced or None
        Scale-out network latency, s.
    unit : str or None
        For a cluster, the key of the system it is built from; None otherwise.
    file : pathlib.Path
        The spec file the system was read from.
    servers : Sourced or None
        Servers the chips are spread over (count, a divisor of ``chips``); given for
        UltraServers, None for an instance (one server) or a cluster.
    """
    key: str
    name: str
    level: str
    chip: str
    chips: Sourced
    topology: Topology
    link_bandwidth: tuple
    scale_out_bandwidth: object
    scale_out_latency: object
    unit: object
    file: object
    servers: object = None


@dataclass(frozen=True)
class PublishedFigure:
    """A headline figure someone published: a comparison target, never a model input.

    Members
    -------
    key : str
        Identifier (``"trn2-chip-fp8"``).
    subject : str
        Key of the chip or system it describes.
    quantity : str
        ``"peak_flops"``, ``"core_peak_flops"`` (one NeuronCore), ``"hbm_capacity"``,
        ``"hbm_bandwidth"``, ``"link_bandwidth"``, ``"scale_out_bandwidth"``, ``"chips"`` or
        ``"sbuf"``.
    datatype : str or None
        For the FLOP/s quantities: ``"bf16"``, ``"fp8"``, ``"fp32"``, ``"mxfp8"``,
        ``"mxfp4"`` or ``"sparse"`` (structured-sparse input); None otherwise.
    value : Sourced
        The figure in SI units, with its source.
    claim : str or None
        ``"C1"`` .. ``"C12"`` when one of the news claims is this figure.
    file : pathlib.Path
        The spec file the figure was read from.
    """
    key: str
    subject: str
    quantity: str
    datatype: object
    value: Sourced
    claim: object
    file: object


@dataclass(frozen=True)
class Specs:
    """Everything a spec directory holds.

    Members
    -------
    chips : dict of str to ChipSpec
        By chip key.
    systems : dict of str to SystemSpec
        By system key.
    published : tuple of PublishedFigure
        In file order (files sorted by name, entries in the order written).
    sources : dict of str to Source
        Source key to its citation and addresses.
    """
    chips: dict
    systems: dict
    published: tuple
    sources: dict

    def chip(self, key):
        """Return the chip named ``key``; ``SpecError`` if there is none."""
        return _lookup("chip", self.chips, key)

    def system(self, key):
        """Return the system named ``key``; ``SpecError`` if there is none."""
        return _lookup("system", self.systems, key)


def _lookup(what, table, key):
    try:
        return table[key]
    except (KeyError, TypeError):
        raise SpecError(f"Unknown {what} {key!r}; known: {', '.join(table)}") from None
