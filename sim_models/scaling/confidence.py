"""How sure each answer is: an error band from the measurements the model was *not* fitted on.

Every row of ``measurements.toml`` with role ``validation`` is held out from the fit
(:mod:`.calibration` fits only the ``calibration`` rows). The model's relative error on each,
``(model - published) / published``, is grouped by *answer kind*: the kind of row (training,
prefill, decode), the chip generation of its system (``trn1``, ``trn2``, ``trn3``) and whether
the workload is dense. The :class:`Band` of a kind is the range of those errors, widened to
include zero: an answer ``v`` of that kind says the published figure would lie between
``v / (1 + worst over-estimate)`` and ``v / (1 + worst under-estimate)``, as it did on every
held-out row. A quantity that falls as the kind's figure rises (seconds per step against
sequences per second, tokens per second against milliseconds per token) gets the band
inverted.

An answer is *extrapolated* when no held-out row of its kind exists ("no measurement of this
kind": Trainium3 today), and, with its band, when its configuration lies outside the range the
rows of its kind cover (a batch, context, prompt or chip count none of them measured); each
reason is one line.

The interface the report and the command line render: :func:`assess` (or
:meth:`Confidence.from_checks` with rows already checked) gives a :class:`Confidence`, whose
:meth:`~Confidence.answer` wraps one model figure in an :class:`Answer` (value, unit, band,
extrapolated flag and reasons, ``as_dict`` for JSON, ``describe`` for text).
"""

import statistics
from dataclasses import dataclass

from .calibration import check_rows
from .measurements import load_measurements
from .workloads import load_workloads

__all__ = ["ANSWER_KINDS", "Band", "Answer", "Confidence", "assess"]

#: Kinds of answer, as the measurement rows are kinds: each has its own band.
ANSWER_KINDS = ("training", "prefill", "decode")
#: Configuration values whose measured range an answer is checked against, by kind.
_RANGES = {"training": ("chips", "sequence", "lnc", "datatype"),
           "prefill": ("chips", "batch", "prompt", "lnc", "datatype", "kv_datatype"),
           "decode": ("chips", "batch", "context", "lnc", "datatype", "kv_datatype")}


@dataclass(frozen=True)
class Band:
    """The held-out errors of one answer kind.

    Members
    -------
    kind : str
        One of :data:`ANSWER_KINDS`.
    generation : str
        Chip key of the rows' systems.
    dense : bool
        The rows' workloads are dense (no mixture of experts).
    errors : tuple of (str, float)
        (row key, relative error ``(model - published) / published``) of every validation row.
    """
    kind: str
    generation: str
    dense: bool
    errors: tuple

    @property
    def rows(self):
        """Number of held-out rows."""
        return len(self.errors)

    @property
    def lowest(self):
        """The most negative error, or 0 (the band always holds the model's own value)."""
        return min([0.0] + [error for _, error in self.errors])

    @property
    def highest(self):
        """The most positive error, or 0."""
        return max([0.0] + [error for _, error in self.errors])

    @property
    def median_abs(self):
        """Median absolute error of the rows."""
        return statistics.median(abs(error) for _, error in self.errors)

    def interval(self, value, inverse=False):
        """(low, high) of where the published figure would lie for a model answer ``value``
        (in the answer's own unit); ``inverse``: the quantity is the reciprocal of the kind's
        figure (seconds per step for a sequences-per-second kind)."""
        if inverse:
            ends = (value * (1 + self.lowest), value * (1 + self.highest))
        else:
            ends = (value / (1 + self.highest), value / (1 + self.lowest))
        return min(ends), max(ends)

    def as_dict(self):
        return {"kind": self.kind, "generation": self.generation, "dense": self.dense,
                "held_out_rows": self.rows, "lowest_error": self.lowest,
                "highest_error": self.highest, "median_abs_error": self.median_abs,
                "errors": dict(self.errors)}

    def describe(self):
        """One line: the band and what it comes from."""
        return (f"{self.rows} held-out {self.generation} "
                f"{'' if self.dense else 'mixture-of-experts '}{self.kind} row"
                f"{'s' if self.rows != 1 else ''}: errors {100 * self.lowest:+.1f}% to "
                f"{100 * self.highest:+.1f}%, median |error| {100 * self.median_abs:.1f}%")


@dataclass(frozen=True)
class Answer:
    """One model figure with how sure it is.

    Members
    -------
    quantity : str
        What it is, e.g. "seconds per token".
    value : float or None
        None when the model gives no figure (the plan does not fit).
    unit : str
    kind, generation : str
        Its answer kind and chip generation.
    band : Band or None
        None when no held-out row of this kind exists.
    inverse : bool
        The quantity is the reciprocal of the kind's figure.
    reasons : tuple of str
        Why the answer is extrapolated; empty when it is not.
    """
    quantity: str
    value: object
    unit: str
    kind: str
    generation: str
    band: object
    inverse: bool
    reasons: tuple

    @property
    def extrapolated(self):
        return bool(self.reasons)

    @property
    def interval(self):
        """(low, high) in ``unit``, or None (no band or no value)."""
        if self.band is None or self.value is None:
            return None
        return self.band.interval(self.value, self.inverse)

    def as_dict(self):
        interval = self.interval
        return {"quantity": self.quantity, "value": self.value, "unit": self.unit,
                "kind": self.kind, "generation": self.generation,
                "low": None if interval is None else interval[0],
                "high": None if interval is None else interval[1],
                "band": None if self.band is None else self.band.as_dict(),
                "extrapolated": self.extrapolated, "extrapolation": list(self.reasons)}

    def describe(self, scale=1.0, unit=None):
        """One line: the band (values times ``scale``, in ``unit``) and the extrapolation
        reasons."""
        parts = []
        if self.interval is not None:
            low, high = (scale * end for end in self.interval)
            parts.append(f"band {low:.4g} to {high:.4g} {unit or self.unit} "
                         f"({self.band.describe()})")
        parts += [f"extrapolated: {reason}" for reason in self.reasons]
        return "; ".join(parts)


@dataclass(frozen=True)
class Confidence:
    """The bands of every answer kind that has held-out rows, and the configurations they
    cover.

    Members
    -------
    bands : dict of (kind, generation, dense) to Band
    covered : dict of (kind, generation) to dict of str to frozenset
        The values of each configuration field (``chips``, ``batch``, ``lnc``, ``datatype``,
        ...) over the rows of the kind, calibration rows included (a row's LNC is its chip's
        spec default, its KV cache in its datatype); a number is covered between the smallest
        and the largest, a name (datatype) only if measured.
    """
    bands: dict
    covered: dict

    @classmethod
    def from_checks(cls, specs, checks, measurements=None, workloads=None):
        """From :class:`~sim_models.scaling.calibration.RowCheck` rows (every row of
        ``measurements``, by default ``measurements.toml``; ``workloads`` tell dense rows from
        mixtures of experts, by default ``workloads.toml``'s)."""
        rows = {row.key: row for row in (measurements if measurements is not None
                                         else load_measurements())}
        workloads = workloads if workloads is not None else load_workloads()
        errors, covered = {}, {}
        for check in checks:
            row = rows[check.key]
            generation = specs.system(row.system).chip
            values = dict(row.config, chips=row.chips, kv_datatype=row.config["datatype"],
                          lnc=int(specs.chip(generation).core.logical_core_size.value))
            ranges = covered.setdefault((row.kind, generation), {})
            for name in _RANGES.get(row.kind, ()):
                if name in values:
                    ranges[name] = ranges.get(name, frozenset()) | {values[name]}
            if check.role == "validation" and check.error is not None:
                dense = not workloads[row.workload].moe
                errors.setdefault((row.kind, generation, dense), []).append(
                    (check.key, check.error))
        bands = {key: Band(*key, tuple(value)) for key, value in errors.items()}
        return cls(bands, covered)

    def band(self, kind, generation, dense=True):
        """The :class:`Band` of a kind, or None."""
        return self.bands.get((kind, generation, dense))

    def answer(self, kind, generation, quantity, value, unit, inverse=False, config=None,
               dense=True):
        """Wrap one model figure: its band, and the reasons it is extrapolated (no held-out
        row of its kind; a value of ``config``, e.g. ``{"batch": 64}`` or
        ``{"datatype": "fp8"}``, outside the rows' range)."""
        band = self.band(kind, generation, dense)
        reasons = []
        if band is None:
            reasons.append(f"no measurement of this kind ({generation} "
                           f"{'dense' if dense else 'mixture-of-experts'} {kind})")
        ranges = self.covered.get((kind, generation), {})
        for name, given in (config or {}).items():
            measured = ranges.get(name)
            if measured is None:
                continue
            if isinstance(given, str):
                if given not in measured:
                    reasons.append(f"{name} {given} outside the measured "
                                   f"{', '.join(sorted(measured))}")
            elif not min(measured) <= given <= max(measured):
                low, high = min(measured), max(measured)
                span = f"{low:,}" if low == high else f"{low:,} to {high:,}"
                reasons.append(f"{name} {given:,} outside the measured {span}")
        return Answer(quantity, value, unit, kind, generation, band, inverse, tuple(reasons))


def assess(specs, workloads, calibration, assumptions, measurements=None):
    """The :class:`Confidence` of the model as it stands: every measurement checked
    (:func:`~sim_models.scaling.calibration.check_rows`), bands from the validation rows."""
    rows = measurements if measurements is not None else load_measurements()
    checks = check_rows(specs, workloads, calibration, assumptions, rows)
    return Confidence.from_checks(specs, checks, rows, workloads)
