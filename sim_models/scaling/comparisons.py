"""Every published headline figure beside the model's value for the same quantity.

The model's value comes from architectural parameters only (:mod:`.peak` and the spec's
inputs). Where a published FLOPS figure of a NeuronCore chip exceeds cores x the published
per-core TensorE figure (Trainium2: a constant +35 TFLOPS in FP8, BF16 and sparse), that
difference is the *gap*: computed here, from published figures only, and shown in its own
column so that the model is never adjusted silently. A system's gap is chips x its chip's.
"""

from dataclasses import dataclass

from .peak import chip_peak, core_peak, system_peak

__all__ = ["Comparison", "compare", "compare_all", "published_gap"]

#: Source key of the news articles' claims (not vendor figures).
CLAIMS_SOURCE = "CLAIMS"
#: Suffix of the keys of superseded published figures (the first Trainium2 documentation).
FIRST_EDITION = "-first"


@dataclass(frozen=True)
class Comparison:
    """A published figure and the model's value.

    Members
    -------
    figure : PublishedFigure
    model : float or None
        The model's value in SI units; None when the model has nothing to say.
    gap : float or None
        Published chip figure minus cores x published core figure, times the chips of the
        subject (SI units); None where it does not apply.
    is_input : bool
        The model's value is a spec input (an HBM capacity, say), not derived.
    """
    figure: object
    model: object
    gap: object
    is_input: bool

    @property
    def published(self):
        """The published value, SI units."""
        return self.figure.value.value

    @property
    def scale(self):
        """SI units per unit of the published figure (1e12 for TFLOPS)."""
        given = self.figure.value.given
        return self.published / given if given else 1.0

    @property
    def ratio(self):
        """Model over published."""
        return None if self.model is None else self.model / self.published

    @property
    def ratio_with_gap(self):
        """(Model + gap) over published; None without a gap."""
        if self.model is None or self.gap is None:
            return None
        return (self.model + self.gap) / self.published


def _find(specs, subject, quantity, datatype, first):
    """The vendor's figure (not a news claim) for a subject, quantity and datatype, of the
    first or the current documentation."""
    for figure in specs.published:
        if (figure.subject, figure.quantity, figure.datatype) == (subject, quantity, datatype) \
                and figure.key.endswith(FIRST_EDITION) == first \
                and figure.value.source != CLAIMS_SOURCE:
            return figure
    return None


def published_gap(specs, chip, datatype, first=False):
    """Published chip FLOPS minus cores x published core FLOPS in ``datatype``, FLOP/s; None if
    either figure is missing or the chip is not NeuronCore-based."""
    if chip.core is None:
        return None
    whole = _find(specs, chip.key, "peak_flops", datatype, first)
    core = _find(specs, chip.key, "core_peak_flops", datatype, False)
    if whole is None or core is None:
        return None
    return whole.value.value - chip.cores.value * core.value.value


def _chip_value(chip, quantity, datatype):
    """(model value, is input) of a chip quantity."""
    if quantity == "peak_flops" and chip.core is None:
        # A GPU is not modelled: its datasheet peaks are inputs; others have no model value.
        peak = chip.peak_flops.get(datatype)
        return (None if peak is None else peak.value), True
    if quantity == "peak_flops":
        return chip_peak(chip, datatype), False
    if quantity == "core_peak_flops":
        return core_peak(chip, datatype), False
    if quantity == "sbuf":
        return chip.cores.value * chip.core.sbuf.value, False
    value = getattr(chip, quantity, None)
    return (None, False) if value is None else (value.value, True)


def compare(specs, figure):
    """The model's value for one published figure, as a :class:`Comparison`."""
    first = figure.key.endswith(FIRST_EDITION)
    if figure.subject in specs.chips:
        chip = specs.chip(figure.subject)
        model, is_input = _chip_value(chip, figure.quantity, figure.datatype)
        gap = published_gap(specs, chip, figure.datatype, first) \
            if figure.quantity == "peak_flops" else None
        return Comparison(figure, model, gap, is_input)
    system = specs.system(figure.subject)
    chip = specs.chip(system.chip)
    chips = system.chips.value
    if figure.quantity == "chips":
        return Comparison(figure, chips, None, True)
    if figure.quantity == "peak_flops":
        gap = published_gap(specs, chip, figure.datatype, first)
        return Comparison(figure, system_peak(specs, system, figure.datatype),
                          None if gap is None else chips * gap, False)
    if figure.quantity == "scale_out_bandwidth":
        per_chip = system.scale_out_bandwidth
        return Comparison(figure, None if per_chip is None else chips * per_chip.value, None,
                          False)
    per_chip, _ = _chip_value(chip, figure.quantity, figure.datatype)
    return Comparison(figure, None if per_chip is None else chips * per_chip, None, False)


def compare_all(specs):
    """:func:`compare` for every published figure, in the spec files' order."""
    return [compare(specs, figure) for figure in specs.published]
