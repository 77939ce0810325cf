"""Peak FLOP/s of a NeuronCore, a chip and a system, derived from architectural parameters.

A NeuronCore's Tensor Engine peak is ``2 x rows x cols x clock x MACs per PE per cycle`` (a MAC
is two FLOPs). ``sparse`` is the BF16 rate times the core's structured-sparsity factor: the
sparse mode cannot be combined with the FP8 double-row mode (trainium.md §1.1), so it does not
multiply the FP8 rate. A chip is ``cores`` of them; a system is ``chips`` chips. GPUs are not
modelled: their peak is the vendor's datasheet figure, given as an input in the spec data.

Nothing here reads a published headline figure: only the spec's architectural parameters, and
for Trainium2's BF16, FP16 and FP8 and Trainium3's BF16, FP16, MXFP8 and MXFP4 the MACs per PE
per cycle that each chip's RTL tile was measured to do (:func:`with_measured_rates`).
"""

from dataclasses import replace

from ..specs import Sourced, SpecError

__all__ = ["RTL_MODELLED_CHIPS", "SPARSE", "chip_peak", "core_peak", "datatypes",
           "macs_per_pe_per_cycle", "system_peak", "with_measured_rates"]

#: Datatype name of the structured-sparse mode.
SPARSE = "sparse"


def datatypes(chip):
    """Datatypes the chip has a peak for, in the spec's order (``sparse`` last, if any)."""
    if chip.core is None:
        return tuple(chip.peak_flops)
    names = tuple(chip.core.macs_per_pe_per_cycle)
    return names + ((SPARSE,) if chip.core.sparsity_factor is not None else ())


def _unknown(chip, datatype):
    return SpecError(f"{chip.key}: datatype {datatype!r} has no peak; known: "
                     f"{', '.join(datatypes(chip))}")


def macs_per_pe_per_cycle(chip, datatype):
    """Dense-equivalent MACs per PE per cycle of ``datatype`` on the chip's cores."""
    core = chip.core
    if datatype == SPARSE and core.sparsity_factor is not None:
        return core.macs_per_pe_per_cycle["bf16"].value * core.sparsity_factor.value
    if datatype not in core.macs_per_pe_per_cycle:
        raise _unknown(chip, datatype)
    return core.macs_per_pe_per_cycle[datatype].value


def core_peak(chip, datatype):
    """Tensor Engine peak of one NeuronCore of ``chip``, in FLOP/s."""
    if chip.core is None:
        raise SpecError(f"{chip.key}: a {chip.kind} chip has no modelled cores")
    core = chip.core
    return (2 * core.array_rows.value * core.array_cols.value * core.clock.value
            * macs_per_pe_per_cycle(chip, datatype))


def chip_peak(chip, datatype):
    """Peak of a whole chip, in FLOP/s: cores x :func:`core_peak` for a NeuronCore-based chip,
    the datasheet input for a GPU."""
    if chip.core is None:
        if datatype not in chip.peak_flops:
            raise _unknown(chip, datatype)
        return chip.peak_flops[datatype].value
    return chip.cores.value * core_peak(chip, datatype)


def system_peak(specs, system, datatype):
    """Peak of a system (instance, UltraServer, cluster), in FLOP/s: chips x chip peak."""
    return system.chips.value * chip_peak(specs.chip(system.chip), datatype)


#: Chips whose Tensor Engine formats the RTL tile models (BF16, FP16, FP8 in double-row mode;
#: Trainium3's MXFP8 and MXFP4 in MX mode): their MACs per PE per cycle of those datatypes are
#: the RTL's measurement on their own tile when one is given.
RTL_MODELLED_CHIPS = ("trn2", "trn3")


def with_measured_rates(specs, rates):
    """``specs`` with the MACs per PE per cycle of :data:`RTL_MODELLED_CHIPS` replaced by the
    RTL's ``rates`` (dict by chip key of dicts of datatype to
    :class:`~sim_models.scaling.characterization.MeasuredRate`, each measured on that chip's
    tile), for the datatypes the chip's spec has; the spec's own value stays in the note, as the
    comparison target. A chip's ``pe_stages`` become the MAC latency of the tile that measured
    its rates (the deepest, if several), so that every GEMM's fill and drain include it."""
    chips = dict(specs.chips)
    for key in (key for key in RTL_MODELLED_CHIPS if key in chips and rates.get(key)):
        core, chip_rates = chips[key].core, rates[key]
        table = dict(core.macs_per_pe_per_cycle)
        for datatype, rate in chip_rates.items():
            if datatype not in table:
                continue
            spec = table[datatype]
            table[datatype] = Sourced(
                rate.value, rate.value, "1", "DERIVED",
                f"measured on the RTL: {rate.config}, GEMMs (M, K, N) {rate.gemms}; spec data "
                f"{spec.value} [{spec.source}]")
        deepest = max(chip_rates.values(), key=lambda rate: rate.pe_stages)
        pe_stages = Sourced(deepest.pe_stages, deepest.pe_stages, "1", "DERIVED",
                            f"MAC latency in cycles of the RTL tile {deepest.config}, which "
                            f"measured the rates")
        chips[key] = replace(chips[key], core=replace(core, macs_per_pe_per_cycle=table,
                                                      pe_stages=pe_stages))
    return replace(specs, chips=chips)
