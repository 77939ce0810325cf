"""The report's summary: the Tensor Engine peaks against AWS's figures, the MACs per PE per
cycle measured on the RTL, the workload answers against AWS's published measurements, and what
the model leaves out."""

from ..characterization import MEASURED_DATATYPES
from ..formatting import number, percent
from ..peak import RTL_MODELLED_CHIPS
from ..summary import Measured, measurements_table, peaks_table

__all__ = ["NOT_MODELLED", "summary_section"]

#: What the model leaves out, in the summary.
NOT_MODELLED = (
    "Launch, synchronization and kernel overheads as mechanisms: they stand in three fitted "
    "quantities, a time per layer and training pass, a time per collective and the fraction "
    "of the Tensor Engine's rate prefill kernels reach (the assumptions table).",
    "DMA queueing and the sharing of HBM between the engines: HBM runs at a fixed fraction "
    "of its peak.",
    "The dI/dt throttle that starts the Tensor Engine at 50% [X-GLOSS] and the 4x fast "
    "weight load (the RTL loads one row per cycle, hidden behind the multiply whenever "
    "N > K).",
    "Interleaved or zero-bubble pipeline schedules (1F1B only), sequence parallelism's "
    "memory saving, expert parallelism and mixture-of-experts models; speculative decoding "
    "(the command line's --draft, with the accepted length an input).",
    "Power, energy efficiency and price: AWS publishes no chip power and the repository "
    "holds no prices.",
)


def _measurement_name(specs, workloads, row):
    """What a measurement measured: workload, chips, layout in logical cores, batch."""
    config = row.config
    chip = specs.chip(specs.system(row.system).chip).name
    if row.kind == "training":
        layout = (f"TP {config['tp']}, PP {config['pp']}, DP {config['dp']}, batch "
                  f"{number(config['global_batch'])} x {number(config['sequence'])} tokens")
    elif row.kind == "prefill":
        layout = (f"TP {config['tp']}, batch {number(config['batch'])}, prompt "
                  f"{number(config['prompt'])}")
    else:
        layout = (f"TP {config['tp']}, batch {number(config['batch'])}, context "
                  f"{number(config['context'])}")
    return (f"{workloads[row.workload].name} {row.kind}, {number(row.chips)} {chip} chips, "
            f"{config['datatype'].upper()}, {layout}")


def _measured(runs):
    """The summary's rows (Measured) of AWS's measurements beside the model."""
    return [Measured(_measurement_name(runs.specs, runs.workloads, row), check.model,
                     check.published, check.unit, check.role, row.source, check.explanation)
            for row, check in runs.measured]


def _measured_rates_section(document, spec_data, rates):
    """MACs per PE per cycle of the chips the RTL models: what the RTL measured on each chip's
    own tile (``rates``, by chip, then by datatype) beside the spec data's value
    (``spec_data``, before the substitution)."""
    document.heading("MACs per PE per cycle: measured on the RTL", level=3)
    rows = []
    for key in (key for key in RTL_MODELLED_CHIPS if key in spec_data.chips):
        chip = spec_data.chips[key]
        for datatype in dict.fromkeys(MEASURED_DATATYPES.values()):
            spec = chip.core.macs_per_pe_per_cycle.get(datatype)
            if spec is None:
                continue
            rate = rates.get(key, {}).get(datatype)
            rows.append([chip.name, datatype.upper(),
                         number(rate.value) if rate else "-", number(spec.value),
                         f"{rate.config}: GEMMs (M, K, N) {rate.gemms}, their cycle "
                         f"difference" if rate else "not measured: the spec data's value is "
                         "used"])
    document.table(["chip", "datatype", "measured on the RTL", "spec data", "how measured"],
                   rows, numeric=(2, 3))
    document.paragraph(
        "The peaks above use the measured rates. Each is the difference of two GEMMs that "
        "differ only by two K chunks of a whole pass each (a new stationary every pass, "
        "loaded behind the multiply before it), so fill and drain cancel: useful MACs over "
        "R x C x cycles while streaming. FP8 runs in double-row mode, two products per PE per "
        "cycle; the lowest of E4M3 and E5M2 is taken. Trainium3's rates come from a tile of "
        "its own formats: MXFP8 (the lowest of E4M3FN and E5M2 elements) and MXFP4 in MX mode, "
        "four products per PE per cycle, with random E8M0 block scales.")


def summary_section(document, runs):
    """Add the summary of ``runs`` (ReportRuns) to ``document``."""
    document.heading("Summary")
    document.heading("Peaks against AWS's figures", level=3)
    worst = peaks_table(document, runs.specs, runs.comparisons, runs.gaps)
    document.paragraph(
        f"The Tensor Engine peak (2 x 128 x 128 x clock x MACs per PE per cycle) is within "
        f"{percent(worst)} of AWS's per-NeuronCore figure for every chip and datatype AWS "
        f"publishes. Per chip, AWS's Trainium2 and Trainium3 figures sit above cores x its "
        f"own per-core figure (the gap in the explanation), which the model does not count.")
    _measured_rates_section(document, runs.spec_data, runs.rates)
    document.heading("Training and decode against AWS's measurements", level=3)
    document.paragraph(
        "Each of AWS's published training and decode measurements, run in the model at the "
        "same chips, layout (in logical NeuronCores, as AWS counts them), batch, sequence and "
        "datatype. The two fitted parameters (the assumptions table) are fitted on the "
        "calibration rows only; the validation rows are predictions. The explanation gives "
        "the model's time by mechanism.")
    measured = _measured(runs)
    measurements_table(document, measured)
    lines = []
    for role in ("calibration", "validation"):
        rows = [row for row in measured if row.role == role]
        errors = [abs(row.error) for row in rows if row.error is not None]
        line = f"{role}: {len(rows)} rows, largest error " + \
            (percent(max(errors)) if errors else "-")
        if len(errors) < len(rows):
            line += f"; {len(rows) - len(errors)} not fitting in memory"
        lines.append(line)
    document.bullets(lines)
    document.heading("What is not modelled", level=3)
    document.bullets(NOT_MODELLED)
