"""The claims C1-C12 and every published headline figure, each beside the model with the
reason the two differ."""

from ...specs import PUBLISHED_QUANTITIES
from ..formatting import UNITS, compact, number, ratio
from ..gaps import explain

__all__ = ["CHIP_UNITS", "QUANTITY_NAMES", "SYSTEM_UNITS", "claims_section", "published_section"]

#: The unit of each quantity family in the tables of chips (and cores) and of systems: one
#: unit per family in a table. SBUF, a different quantity of the bytes family, is in MiB.
CHIP_UNITS = {"flops": "TFLOP/s", "bytes": "GiB", "bandwidth": "TB/s", "count": ""}
SYSTEM_UNITS = {"flops": "PFLOP/s", "bytes": "GiB", "bandwidth": "TB/s", "count": ""}
#: The published quantities in words.
QUANTITY_NAMES = {"peak_flops": "peak", "core_peak_flops": "peak per NeuronCore",
                  "hbm_capacity": "HBM capacity", "hbm_bandwidth": "HBM bandwidth",
                  "link_bandwidth": "chip-to-chip bandwidth",
                  "scale_out_bandwidth": "scale-out bandwidth", "chips": "chips",
                  "sbuf": "SBUF (all cores)"}


def _unit(figure, units):
    """(unit, SI units per unit) of a published figure in a table of ``units``."""
    family = PUBLISHED_QUANTITIES[figure.quantity]
    unit = "MiB" if figure.quantity == "sbuf" else units[family]
    return unit, UNITS[family][unit]


def _as_published(figure):
    """The figure as its source gives it, number and unit: ``80 GB``, ``667 TFLOPS``."""
    value = figure.value
    given = value.given if isinstance(value.given, str) else compact(value.given)
    return given if value.unit in (None, "1") else f"{given} {value.unit}"


def _comparison_cells(comparison, units, gaps):
    """As published, unit, published in that unit, model, model / published and the
    explanation of one comparison."""
    unit, scale = _unit(comparison.figure, units)
    return [_as_published(comparison.figure), unit or "count",
            number(comparison.published / scale),
            "-" if comparison.model is None else number(comparison.model / scale),
            ratio(comparison.ratio), explain(comparison, gaps, unit, scale)]


def _datatype_name(datatype):
    """BF16, FP8, ...; "sparse" (structured-sparse input) stays a word; "" for none."""
    return "" if datatype is None else "sparse" if datatype == "sparse" else datatype.upper()


def _subject_name(specs, key):
    return specs.chips[key].name if key in specs.chips else specs.system(key).name


def claims_section(document, runs):
    """Add the claims table of ``runs`` (ReportRuns) to ``document``."""
    specs, gaps = runs.specs, runs.gaps
    document.heading("Claims C1-C12")
    document.paragraph(
        "Each claim of the articles the project started from, with the published figures it "
        "repeats and its own multipliers, beside the model; every row says why the two "
        "differ. Model values come from architectural parameters and the RTL-validated "
        "models only. Where AWS's chip figure exceeds cores x its own per-core figure (the "
        "gap, from published figures alone), the explanation gives the gap; it is never "
        "added to the model. Each figure as its source gives it, then in one unit per "
        "quantity: FLOP/s in PFLOP/s, capacities in GiB, bandwidths in TB/s.")
    rows = []
    for claim in runs.claims:
        rows.append([claim.key, f"\u201c{claim.text}\u201d", "", "", "-", "-", "-",
                     claim.explanation])
        for comparison in claim.figures:
            figure = comparison.figure
            what = (f"{_subject_name(specs, figure.subject)}: "
                    f"{QUANTITY_NAMES[figure.quantity]}"
                    f"{', ' + _datatype_name(figure.datatype) if figure.datatype else ''} "
                    f"[{figure.value.source}]")
            rows.append(["", what, *_comparison_cells(comparison, SYSTEM_UNITS, gaps)])
        for check in claim.ratios:
            rows.append(["", f"{check.label} [CLAIMS]", "", "ratio",
                         "-" if check.claimed is None else number(check.claimed),
                         "-" if check.model is None else number(check.model),
                         ratio(check.ratio),
                         check.explanation if check.model is not None
                         else f"Not modelled: {check.unmodelled}."])
    run = runs.accesses_run
    rows.append(["", f"C12 measured on the {run.rows} x {run.cols} RTL run of M, K, N = "
                 f"{run.m}, {run.k}, {run.n}", "", "elements per MAC", "-",
                 number(runs.accesses_per_mac), "-",
                 "Stationary, moving and result elements that cross the tile's ports, over the "
                 "run's MACs: each element serves many MACs inside the array."])
    document.table(["claim", "claim text, then each figure [source] or multiplier",
                    "as published", "unit", "published or claimed", "model",
                    "model / published", "explanation"], rows, numeric=(4, 5, 6))


def published_section(document, runs):
    """Add every published headline figure of ``runs`` (ReportRuns) beside the model."""
    specs, gaps = runs.specs, runs.gaps
    document.heading("Every published headline figure")
    document.paragraph(
        "Peaks are derived: array x clock x MACs per PE per cycle x cores x chips; totals are "
        "chips x the chip. A row marked as a spec input is a figure the spec data also holds "
        "as an architectural input (an HBM capacity, say): its ratio only confirms the data. "
        "Each figure as its source gives it (AWS's TFLOPS, NVIDIA's GB), then converted: "
        "chips and NeuronCores in TFLOP/s, GiB (SBUF in MiB) and TB/s; systems in PFLOP/s, "
        "GiB and TB/s.")
    for title, units, chosen in (
            ("Chips and NeuronCores", CHIP_UNITS,
             [c for c in runs.comparisons if c.figure.subject in specs.chips]),
            ("Systems", SYSTEM_UNITS,
             [c for c in runs.comparisons if c.figure.subject not in specs.chips])):
        document.heading(title, level=3)
        document.table(
            ["subject", "quantity", "datatype", "source", "as published", "unit", "published",
             "model", "model / published", "explanation"],
            [[_subject_name(specs, c.figure.subject), QUANTITY_NAMES[c.figure.quantity],
              _datatype_name(c.figure.datatype), c.figure.value.source,
              *_comparison_cells(c, units, gaps)] for c in chosen],
            numeric=(6, 7, 8))
