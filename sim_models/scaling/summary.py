"""The tables of the report's first section, what an architect reads before anything else:
the Tensor Engine peaks against AWS's figures, and the workload answers against AWS's published
measurements (each row with the model, the published figure, the error, whether the row
calibrates the model or validates it, and why the two differ)."""

from dataclasses import dataclass

from .comparisons import CLAIMS_SOURCE, FIRST_EDITION
from .formatting import number, signed_percent
from .gaps import explain
from .measurements import ROLES

__all__ = ["Measured", "measurements_table", "peaks_table"]


@dataclass(frozen=True)
class Measured:
    """One of AWS's published workload measurements beside the model's answer.

    Members
    -------
    row : str
        What was measured: workload, system, parallelism, batch, sequence.
    model : float or None
        The model's figure in ``unit``; None when the configuration does not fit in memory.
    published : float
        AWS's figure in ``unit``.
    unit : str
        ``"sequences/s"``, ``"ms/token"``, ...
    role : str
        One of :data:`.measurements.ROLES`: calibration rows fit the few efficiency
        parameters, validation rows are predicted.
    source : str
        Key of the sources file.
    explanation : str
        Why model and published differ, mechanism by mechanism.
    """
    row: str
    model: object
    published: float
    unit: str
    role: str
    source: str
    explanation: str

    @property
    def error(self):
        """Model over published, minus one; None without a model figure."""
        return None if self.model is None else self.model / self.published - 1


def measurements_table(document, rows):
    """Add the table of ``rows`` (Measured) to ``document``.

    Raises
    ------
    ValueError
        If a row has an unknown role or no explanation: a gap is never shown unexplained.
    """
    for row in rows:
        if row.role not in ROLES:
            raise ValueError(f"measurement {row.row!r}: role must be one of "
                             f"{', '.join(ROLES)}, not {row.role!r}")
        if not row.explanation.strip():
            raise ValueError(f"measurement {row.row!r}: the gap needs an explanation")
    document.table(
        ["measurement [source]", "unit", "model", "published", "error", "role", "explanation"],
        [[f"{row.row} [{row.source}]", row.unit, number(row.model), number(row.published),
          signed_percent(row.error), row.role, row.explanation] for row in rows],
        numeric=(2, 3, 4))


def _peak_pairs(specs, comparisons):
    """{(chip key, datatype): {quantity: Comparison}} of AWS's current per-core and per-chip
    peaks of the NeuronCore chips, in file order."""
    pairs = {}
    for comparison in comparisons:
        figure = comparison.figure
        if figure.quantity not in ("core_peak_flops", "peak_flops") or \
                figure.subject not in specs.chips or specs.chips[figure.subject].core is None \
                or figure.key.endswith(FIRST_EDITION) or figure.value.source == CLAIMS_SOURCE:
            continue
        pairs.setdefault((figure.subject, figure.datatype), {})[figure.quantity] = comparison
    return pairs


def peaks_table(document, specs, comparisons, gaps):
    """The model's TensorE peaks per NeuronCore and per chip against AWS's, in TFLOP/s.

    Returns
    -------
    float
        The largest relative error per NeuronCore.
    """
    rows, worst = [], 0.0
    for (chip, datatype), found in _peak_pairs(specs, comparisons).items():
        cells = [specs.chips[chip].name, "sparse" if datatype == "sparse" else datatype.upper()]
        for quantity in ("core_peak_flops", "peak_flops"):
            comparison = found.get(quantity)
            if comparison is None:
                cells += ["-", "-", "-"]
                continue
            cells += [number(comparison.model / 1e12), number(comparison.published / 1e12),
                      signed_percent(comparison.ratio - 1)]
        core = found.get("core_peak_flops")
        if core is not None:
            worst = max(worst, abs(core.ratio - 1))
        chip_row = found.get("peak_flops") or core
        cells.append(explain(chip_row, gaps, "TFLOP/s", 1e12))
        rows.append(cells)
    document.table(["chip", "datatype", "per core: model", "per core: AWS", "per core: error",
                    "per chip: model", "per chip: AWS", "per chip: error",
                    "explanation (per chip)"], rows, numeric=(2, 3, 4, 5, 6, 7))
    return worst
