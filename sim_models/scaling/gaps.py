"""Why the model differs from each published figure: one sentence per comparison row.

Most differences follow a rule the data show: the figure is a spec input (the comparison only
confirms the data), the model matches within half a percent, the published figure is the
model's value rounded to the digits it was written with, or it is the chip figure that AWS sets
above cores x its own per-core figure (the *gap*, computed from published figures alone). A
difference that no rule covers needs its own sentence in ``gaps.toml``, keyed by the figure;
:func:`explain` refuses a row that has neither, so no gap reaches the report unexplained.
"""

import math
from pathlib import Path

from ..specs import SpecError, read_toml
from .formatting import compact, number, signed_percent

__all__ = ["GAPS_FILE", "MATCH", "GAP_RESIDUAL", "load_gaps", "explain"]

#: Explanations of the differences no rule covers, by published figure key.
GAPS_FILE = Path(__file__).with_name("gaps.toml")
#: Largest relative difference called a match, and one too small to print.
MATCH = 0.005
EXACT = 1e-4
#: Largest difference left once AWS's chip gap is added: cores x the rounding of AWS's
#: per-core figure (20 TFLOP/s for the model's 19.66 is 1.7%).
GAP_RESIDUAL = 0.02


def load_gaps(path=GAPS_FILE):
    """The explanations of ``path``: figure key -> sentence."""
    entries = read_toml(path)
    for key, text in entries.items():
        if not isinstance(text, str) or not text.strip():
            raise SpecError(f"{Path(path).name}: field '{key}' must be a non-empty sentence, "
                            f"not {text!r}")
    return entries


def _significant(given):
    """Significant digits ``given`` was written with (trailing zeros of a whole number do not
    count: 20 has one)."""
    digits = f"{given}".replace(".", "").replace("-", "").lstrip("0")
    return max(1, len(digits.rstrip("0")) if float(given).is_integer() else len(digits))


def _rounded(value, digits):
    if value == 0:
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _is_rounding(comparison):
    """The published figure is the model's value rounded to the digits it was written with."""
    given = comparison.figure.value.given
    model = comparison.model / comparison.scale
    return math.isclose(_rounded(model, _significant(given)), given, rel_tol=1e-9)


def _gap_sentence(comparison, unit_name, unit_scale):
    """The gap: published figure minus (chips x) cores x the published per-core figure. What
    remains after it is cores x (published minus modelled per-core figure): the rounding of
    the per-core figure, which its own row shows."""
    size = f"{compact(abs(comparison.gap) / unit_scale)} {unit_name}"
    after = signed_percent(comparison.ratio_with_gap - 1)
    if comparison.gap < 0:
        return (f"AWS's figure is {size} below its per-core figure multiplied out, which is "
                f"rounded up; with this gap, {after}.")
    return (f"AWS's figure is {size} above its per-core figure multiplied out: the gap, "
            f"unexplained by AWS (the model counts the Tensor Engine only); with it, {after}.")


def explain(comparison, gaps, unit_name, unit_scale):
    """One sentence on why ``comparison``'s model value is what it is against the published.

    Parameters
    ----------
    comparison : Comparison
    gaps : dict of str to str
        :func:`load_gaps`.
    unit_name, unit_scale : str, float
        The unit the row is printed in and SI units per unit, for the gap's size.

    Raises
    ------
    SpecError
        If the difference is not a match, a rounding or a gap and ``gaps`` has no sentence
        for the figure.
    """
    key = comparison.figure.key
    if key in gaps:
        return gaps[key]
    if comparison.model is None:
        raise SpecError(f"{GAPS_FILE.name}: figure '{key}' has no model value and no "
                        f"explanation: add a sentence for it")
    error = comparison.ratio - 1
    if comparison.is_input and abs(error) <= MATCH:
        return "A spec input: the row only confirms the data."
    if abs(error) <= EXACT:
        return "Matches: derived from the architecture alone."
    if _is_rounding(comparison):
        digits = _significant(comparison.figure.value.given)
        return (f"The published figure is the model's "
                f"{number(comparison.model / comparison.scale)} rounded to {digits} "
                f"significant digit{'s' if digits > 1 else ''}.")
    if abs(error) <= MATCH:
        return f"Matches ({signed_percent(error)}): derived from the architecture alone."
    if comparison.gap is not None and abs(comparison.ratio_with_gap - 1) <= GAP_RESIDUAL:
        return _gap_sentence(comparison, unit_name, unit_scale)
    raise SpecError(f"{GAPS_FILE.name}: figure '{key}' is {signed_percent(error)} off the "
                    f"model and no rule explains it: add a sentence for it")
