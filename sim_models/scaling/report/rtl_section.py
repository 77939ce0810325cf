"""The report's evidence from the RTL: which results files it read and whether each is current,
how well the cycle model reproduces every simulated GEMM, and the fabric's measured latencies."""

from .. import plots
from ..formatting import number, percent, ratio

__all__ = ["characterization_section", "fabric_section", "inputs_section"]


def _state_phrase(result):
    """How the report's prose says whether an input is current."""
    return {"current": "current: simulated from today's Verilog and checked against today's "
                       "programs and models",
            "stale": f"stale ({result.verdict.detail})",
            "cannot tell": f"of unknown currency ({result.verdict.detail})"
            }[result.verdict.state]


def inputs_section(document, runs):
    """Add the table of the results files of ``runs`` (ReportRuns) and their currency."""
    document.heading("Inputs")
    document.paragraph(
        "Each results file records, for every design it simulated, the SHA-256 of the "
        "generated Verilog and of what the run was checked against (the GEMM programs with "
        "their operands and the cycle model's timing of them, or the fabric models' "
        "predictions). An input is current when both equal today's: the Verilog generated from "
        "today's sources, and the digest recomputed from today's models.")
    document.table(["input", "file", "state", "detail"],
                   [[result.label, str(result.verdict.path), result.verdict.state,
                     result.verdict.detail] for result in runs.inputs.values()])


#: The formats of each full-size floating-point run, by input kind, as the report names them.
_FULL_RUN_FORMATS = {"full_float": "Trainium2's floating-point formats",
                     "full_trn3": "Trainium3's formats"}


def _full_formats_paragraph(document, full_run):
    """A full-size floating-point run (``full_run``, a ReportInput of a kind of
    :data:`_FULL_RUN_FORMATS`): per matmul format, its GEMMs' cycles against the testbench's
    cycle model (double-row and MX loads included) and the MACs per PE per cycle they reached,
    or that the run is absent."""
    formats = _FULL_RUN_FORMATS[full_run.kind]
    if not full_run.document:
        document.paragraph(f"The full-size 128 x 128 run of {formats} is absent "
                           f"({full_run.verdict.path}: {full_run.verdict.detail}).")
        return
    runs = full_run.document.runs
    document.paragraph(
        f"The 128 x 128 tile of {formats} ran {len(runs)} GEMMs "
        f"({full_run.verdict.path.name}, {full_run.document.date}, "
        f"{_state_phrase(full_run)}), each checked like the rows above against the cycle "
        f"model the testbench applies (double-row loads take ceil(K/2) beats, MX loads "
        f"K/4):")
    rows = []
    for name in dict.fromkeys(run.matmul_format.label for run in runs):
        chosen = [run for run in runs if run.matmul_format.label == name]
        rows.append([name, number(len(chosen)),
                     f"{sum(run.rtl_cycles == run.model_cycles for run in chosen)}/{len(chosen)}",
                     f"{sum(run.handshakes_matching for run in chosen)}/"
                     f"{sum(run.handshakes_checked for run in chosen)}",
                     "yes" if all(run.bit_exact for run in chosen) else "NO",
                     ratio(max(run.macs / (run.rows * run.cols * run.rtl_cycles)
                               for run in chosen))])
    document.table(["formats", "GEMMs", "RTL cycles = model", "handshakes as modelled",
                    "bit-exact", "most MACs per PE per cycle, whole GEMM"], rows,
                   numeric=(1, 5))


def characterization_section(document, runs, out):
    """Add the tile runs of ``runs`` (ReportRuns: the tile characterizations' and the full
    runs') against the cycle model, and draw ``model_vs_rtl.png`` into ``out``."""
    checks, full = runs.context.tile_checks, runs.inputs["full"]
    document.heading("How well the models reproduce the RTL")
    matched = sum(check.matches for check in checks)
    document.paragraph(
        f"{len(checks)} GEMMs were simulated on the RTL tile, every result element checked "
        f"against the golden model and every port handshake against the cycle model. The "
        f"scaling layer's cycle path (the project's tiler, the cycle model and its periodic "
        f"extension) gives exactly the RTL's cycles for {matched} of {len(checks)}.")
    rows = []
    for check in checks:
        rows.append([check.config, check.matmul_format.label, check.sim,
                     f"{check.m}, {check.k}, {check.n}",
                     number(check.rtl_cycles), number(check.model_cycles),
                     f"{check.handshakes_matching}/{check.handshakes_checked}",
                     "yes" if check.bit_exact else "NO", percent(check.utilization),
                     "match" if check.matches else "DIFFER"])
    document.table(["tile", "format", "simulator", "M, K, N", "RTL cycles", "model cycles",
                    "handshakes as modelled", "bit-exact", "utilization of the mode's peak",
                    "verdict"], rows, numeric=(4, 5, 8))
    if full.document:
        document.paragraph(f"The 128 x 128 rows come from {full.verdict.path.name} "
                           f"({full.document.date}), {_state_phrase(full)}.")
    else:
        document.paragraph(f"The full-size 128 x 128 run is absent ({full.verdict.path}: "
                           f"{full.verdict.detail}, about 12 minutes in Verilator), so no "
                           f"128 x 128 row appears here.")
    for kind in _FULL_RUN_FORMATS:
        _full_formats_paragraph(document, runs.inputs[kind])
    points = [(check.rtl_cycles, check.model_cycles, f"{check.rows}x{check.cols}")
              for check in checks]
    plots.model_against_rtl(out / "model_vs_rtl.png", points)
    document.image("model_vs_rtl.png", "Does the cycle model reproduce the RTL? Cycles the "
                   "model predicts against cycles the RTL took, one point per simulated GEMM, "
                   "coloured by array size; on the line the two agree")


def fabric_section(document, runs):
    """Add the fabric's calibration and the all-reduce runs of ``runs`` (ReportRuns)."""
    calibration = runs.calibration
    document.paragraph(
        f"Fabric ({calibration.source}): zero-load latency {number(calibration.base_cycles)} + "
        f"{number(calibration.per_hop_cycles)} cycles per hop; an all-reduce step costs "
        f"{number(calibration.step_cycles)} cycles of latency (alpha) and its payload moved at "
        f"{percent(calibration.payload_efficiency)} of the link's flit rate; at saturation every "
        f"link carried at least {number(calibration.saturation_efficiency)} flits per cycle "
        f"(the worst fabric measured; ring all-reduce traffic has no such contention).")
    document.table(
        ["ring nodes", "int32 elements", "elements per flit", "RTL cycles", "RTL estimate",
         "alpha-beta + local streaming", "model error"],
        [[check.nodes, check.length, check.elements_per_flit, number(check.rtl_cycles),
          number(check.estimate_cycles), number(check.model_cycles),
          percent(check.model_error)] for check in runs.fabric_checks], numeric=(3, 4, 5, 6))
