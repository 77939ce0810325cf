"""The scaling report: what the RTL-grounded model gives from one NeuronCore to a cluster,
beside what AWS and the press published.

    python -m sim_models.scaling.report --tile build/characterization/tile.json \\
        --full characterization/r128c128_verilator.json \\
        --fabric build/characterization/fabric.json --verilog build/verilog \\
        --verilog build/verilog/fabric --verilog build/verilog/allreduce --out reports

Writes ``report.md``, ``report.html`` and the PNG plots into ``--out``. The characterization
files come from ``make characterize`` (tile and fabric simulations) and ``make
characterize-full`` (the 128 x 128 array in Verilator, committed; the report does without it
and says so); the report only reads them, and says of each whether it is current: whether the
Verilog it simulated, found in the ``--verilog`` directories, and what it was checked against
are today's (:mod:`sim_models.staleness`).
"""

import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ..cli import ArgumentParser
from ..results import ResultsError
from ..specs import SpecError, load_specs
from . import plots
from .assumptions import Assumptions, describe
from .characterization import allreduce_checks, tile_checks
from .claims import ModelContext, claims, largest_run, systolic_accesses_per_mac
from .comparisons import compare_all
from .core_cycles import core_tile, tile_cycles
from .decode import decode_step
from .document import Document
from .formatting import number, percent, ratio, si
from .gemm import chip_gemm
from .inputs import FULL_RUN, read_inputs
from .network import FabricCalibration
from .peak import chip_peak, core_peak, datatypes
from .training import training_step
from .workloads import load_workloads

__all__ = ["build_report", "main"]

#: Systems of the workload tables.
WORKLOAD_SYSTEMS = ("trn1-instance", "trn2-instance", "trn2-ultraserver", "trn2-ultracluster",
                    "trn3-gen1-ultraserver", "trn3-gen2-ultraserver", "trn3-ultracluster")
#: Chips of the scaling curves beyond the published systems (clusters of UltraServers).
CLUSTER_POINTS = (256, 1024, 4096, 16384)
#: Decode batches of the decode table.
DECODE_BATCHES = (1, 64)


def _progress(message):
    print(f"[report] {message}", flush=True)


@contextmanager
def _step(message):
    """Print ``message`` and the seconds the step took, in one line, once it is done."""
    start = time.perf_counter()
    yield
    _progress(f"{message} ({time.perf_counter() - start:.1f} s)")


def _state_phrase(result):
    """How the report's prose says whether an input is current."""
    return {"current": "current: simulated from today's Verilog and checked against today's "
                       "programs and models",
            "stale": f"stale ({result.verdict.detail})",
            "cannot tell": f"of unknown currency ({result.verdict.detail})"
            }[result.verdict.state]


def _inputs_section(document, inputs):
    document.heading("Inputs")
    document.paragraph(
        "Each results file records, for every design it simulated, the SHA-256 of the "
        "generated Verilog and of what the run was checked against (the GEMM programs with "
        "their operands and the cycle model's timing of them, or the fabric models' "
        "predictions). An input is current when both equal today's: the Verilog generated from "
        "today's sources, and the digest recomputed from today's models.")
    document.table(["input", "file", "state", "detail"],
                   [[result.label, str(result.verdict.path), result.verdict.state,
                     result.verdict.detail] for result in inputs.values()])


def _given(figure):
    value = figure.value
    return f"{number(value.given)} {value.unit if value.unit != '1' else ''}".strip() + \
        f" [{value.source}]"


def _scaled(comparison, value):
    return "-" if value is None else number(value / comparison.scale)


def _comparison_cells(comparison):
    """Published, model, gap, model + gap, ratios of one comparison."""
    adjusted = None if comparison.gap is None or comparison.model is None else \
        comparison.model + comparison.gap
    model = _scaled(comparison, comparison.model)
    if comparison.is_input and comparison.model is not None:
        model += " (input)"
    return [_given(comparison.figure), model, _scaled(comparison, comparison.gap),
            _scaled(comparison, adjusted), ratio(comparison.ratio),
            ratio(comparison.ratio_with_gap)]


def _claims_section(document, context):
    document.heading("Claims C1-C12")
    document.paragraph(
        "Each claim of the articles the project started from, with the published figures it "
        "repeats and its own multipliers, beside the model. Model values come from "
        "architectural parameters and the RTL-validated models only. The gap column is the "
        "published chip figure minus cores x the published per-core figure (times the chips "
        "of a system): computed from published figures, shown apart, never added to the "
        "model silently.")
    rows = []
    for claim in claims(context):
        rows.append([claim.key, f"\u201c{claim.text}\u201d", "", "", "", "", "", "",
                     claim.explanation])
        for comparison in claim.figures:
            rows.append(["", comparison.figure.key, *_comparison_cells(comparison), ""])
        for check in claim.ratios:
            model = "not modelled: " + check.unmodelled if check.model is None else \
                f"{number(check.model)}x"
            claimed = "-" if check.claimed is None else f"{number(check.claimed)}x [CLAIMS]"
            rows.append(["", check.label, claimed, model, "-", "-", ratio(check.ratio), "-",
                         ""])
    check = largest_run(context.tile_checks)
    rows.append(["", f"C12 measured on the {check.rows} x {check.cols} RTL run of M, K, N = "
                 f"{check.m}, {check.k}, {check.n}: "
                 f"{number(systolic_accesses_per_mac(check))} port elements per MAC", "", "", "",
                 "", "", "", ""])
    document.table(["claim", "claim text, then each figure or multiplier",
                    "published / claimed [source]", "model", "gap", "model + gap",
                    "model / published", "(model + gap) / published", "explanation"], rows,
                   numeric=(3, 4, 5, 6, 7))


def _published_section(document, specs):
    document.heading("Every published headline figure")
    document.paragraph(
        "'(input)' marks a figure the spec data also holds as an architectural input (an HBM "
        "capacity, say): its ratio only confirms the data. Everything else is derived: peaks "
        "from array x clock x MACs per PE per cycle x cores x chips, totals from chips x the "
        "chip.")
    rows = [[comparison.figure.subject, comparison.figure.quantity,
             comparison.figure.datatype or "", *_comparison_cells(comparison),
             comparison.figure.value.note or ""]
            for comparison in compare_all(specs)]
    document.table(["subject", "quantity", "datatype", "published [source]", "model", "gap",
                    "model + gap", "model / published", "(model + gap) / published", "note"],
                   rows, numeric=(4, 5, 6, 7, 8))


def _characterization_section(document, runs, full, out):
    """The tile runs (TileCheck, the tile characterization's and the full run's) and where
    the 128 x 128 rows come from (``full``, a ReportInput)."""
    document.heading("How well the models reproduce the RTL")
    matched = sum(check.matches for check in runs)
    document.paragraph(
        f"{len(runs)} GEMMs were simulated on the RTL tile, every result element checked "
        f"against the golden model and every port handshake against the cycle model. The "
        f"scaling layer's cycle path (the project's tiler, the cycle model and its periodic "
        f"extension) gives exactly the RTL's cycles for {matched} of {len(runs)}.")
    rows = []
    for check in runs:
        rows.append([check.config, check.sim, f"{check.m}, {check.k}, {check.n}",
                     number(check.rtl_cycles), number(check.model_cycles),
                     f"{check.handshakes_matching}/{check.handshakes_checked}",
                     "yes" if check.bit_exact else "NO", percent(check.utilization),
                     "match" if check.matches else "DIFFER"])
    document.table(["tile", "simulator", "M, K, N", "RTL cycles", "model cycles",
                    "handshakes as modelled", "bit-exact", "utilization", "verdict"], rows,
                   numeric=(3, 4, 7))
    if full.document:
        document.paragraph(f"The 128 x 128 rows come from {full.verdict.path.name} "
                           f"({full.document.date}), {_state_phrase(full)}.")
    else:
        document.paragraph(f"The full-size 128 x 128 run is absent ({full.verdict.path}: "
                           f"{full.verdict.detail}, about 12 minutes in Verilator), so no "
                           f"128 x 128 row appears here.")
    points = [(check.rtl_cycles, check.model_cycles, f"{check.rows}x{check.cols}")
              for check in runs]
    plots.model_against_rtl(out / "model_vs_rtl.png", points)
    document.image("model_vs_rtl.png", "Cycle model against RTL cycles, every simulated GEMM")


def _fabric_section(document, fabric_checks, calibration):
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
          percent(check.model_error)] for check in fabric_checks], numeric=(3, 4, 5, 6))


def _method_section(document, specs, checks, assumptions, out):
    document.heading("From the tile to the chip: method and assumptions")
    trn2 = specs.chip("trn2")
    config = core_tile(trn2.core)
    document.bullets([
        "Core peak = 2 x rows x columns x TensorE clock x MACs per PE per cycle (1 BF16, 2 for "
        "Trn2 FP8 double-row, 4 for MXFP8, 1/4 FP32); sparse = BF16 x the sparsity factor. "
        "Chip = cores x core; system = chips x chip. No published headline figure is read.",
        f"Achieved GEMM time on a core: the project's tiler maps the GEMM onto a "
        f"{config.rows} x {config.cols} tile with {config.psum_banks} PSUM banks of "
        f"{config.psum_depth} entries, and the cycle model, which equals the RTL cycle for "
        f"cycle (previous section, the full 128 x 128 run included), times it: fill, drain, "
        f"background weight load and PSUM read-out are all in it. FP8 double-row contracts "
        f"256 rows per pass (K / 2 passes); FP32 takes 4 cycles per moving column.",
        "Chip GEMM: the cores split N (or M, whichever finishes sooner); HBM traffic follows "
        "from the largest output block whose FP32 partial sums and double-buffered operand "
        "slabs fit in a core's SBUF; GEMM time = max(compute, HBM traffic / bandwidth).",
        "Collectives: the alpha-beta model that the RTL all-reduce ring matches cycle for "
        "cycle, with the RTL-measured step latency and payload efficiency, the spec's link "
        "bandwidths, dimension by dimension on a torus, as a ring over a switch, and "
        "hierarchically (inside an UltraServer, then over EFA) in a cluster.",
        "Not modelled: Vector, Scalar and GpSimd engine work (norms, softmax, optimizer), DMA "
        "queueing, the dI/dt throttle that starts TensorE at 50% [X-GLOSS], the 4x fast "
        "weight load (the RTL loads one row per cycle, hidden behind the multiply whenever "
        "N > K), pipeline or tensor parallelism in training. The training MFU is therefore a "
        "Tensor-Engine-and-HBM bound: AWS's published Trn1 MFU is 15-33% [B-TRN1].",
    ])
    document.table(["assumption", "value", "why"],
                   [[name, str(value), why] for name, value, why in describe(assumptions)])
    sizes = [2 ** power for power in range(4, 14)]
    curves = {}
    for k in (128, 256, 512, 4096):
        curves[f"M=128, K={k}"] = (sizes, [
            128 * k * n / (config.rows * config.cols * tile_cycles(config, 128, k, n))
            for n in sizes])
    measured = [(check.n, check.utilization, f"{check.m},{check.k},{check.n}")
                for check in checks if (check.rows, check.cols) == (config.rows, config.cols)]
    plots.utilization(out / "utilization.png", curves, measured)
    document.image("utilization.png", "Utilization of one 128 x 128 Tensor Engine against the "
                   "GEMM shape (cycle model, read-out included); crosses: RTL runs")


def _roofline_section(document, specs, workloads, assumptions, out):
    workload = workloads["llama3-70b"]
    panels = []
    for key, datatype in (("trn2", "bf16"), ("trn3", "bf16"), ("h100", "bf16")):
        chip = specs.chip(key)
        points = []
        if chip.core is not None:
            tokens = workload.sequences_per_chip * workload.sequence
            for gemm in workload.weight_gemms(tokens)[:4]:
                estimate = chip_gemm(chip, gemm.m, gemm.k, gemm.n, datatype)
                points.append((f"train {gemm.name}", estimate.intensity,
                               estimate.achieved_flops))
            for batch in DECODE_BATCHES:
                gemm = workload.weight_gemms(batch)[2]
                estimate = chip_gemm(chip, gemm.m, gemm.k, gemm.n, datatype)
                points.append((f"decode {gemm.name}, batch {batch}", estimate.intensity,
                               estimate.achieved_flops))
        panels.append({"name": chip.name, "datatype": datatype,
                       "peak": chip_peak(chip, datatype),
                       "bandwidth": chip.hbm_bandwidth.value, "points": points})
    plots.roofline(out / "roofline.png", panels)
    document.image("roofline.png", f"Rooflines (BF16) with {workload.name} GEMMs placed by the "
                   "chip model; the H100 line is its datasheet, not a model")


def _scaling_points(specs, family, workload, calibration, assumptions):
    """(chips, achieved FLOP/s, efficiency) from one chip to the family's largest system."""
    systems = [system for system in specs.systems.values()
               if specs.chip(system.chip).key == family]
    unit_systems = sorted((s for s in systems if s.level != "cluster"),
                          key=lambda system: system.chips.value)
    cluster = next(s for s in systems if s.level == "cluster")
    single = replace(unit_systems[0], chips=replace(unit_systems[0].chips, value=1, given=1))
    variants = [single, *unit_systems] + [
        replace(cluster, chips=replace(cluster.chips, value=chips, given=chips))
        for chips in CLUSTER_POINTS if chips > unit_systems[-1].chips.value] + [cluster]
    steps = [training_step(specs, system, workload, calibration, assumptions)
             for system in variants]
    steps = [step for step in steps if step.fits]
    return [(step.chips, step.achieved_flops, step.mfu / steps[0].mfu) for step in steps]


def _workload_section(document, specs, workloads, calibration, assumptions, out):
    document.heading("Workloads: training step, scaling and decode")
    rows = []
    for system_key in WORKLOAD_SYSTEMS:
        system = specs.system(system_key)
        for workload in workloads.values():
            step = training_step(specs, system, workload, calibration, assumptions)
            rows.append([system.name, workload.name, number(step.chips),
                         number(step.tokens), number(step.seconds), number(step.compute_seconds),
                         number(step.communication_seconds), number(step.exposed_seconds),
                         f"TP {step.plan.tp} PP {step.plan.pp} DP {step.plan.dp}"
                         + ("" if step.fits else f"; does not fit: {step.memory.describe()}"),
                         number(step.achieved_flops and step.achieved_flops / 1e15),
                         percent(step.mfu)])
    document.paragraph(
        "Training in the smallest tensor x pipeline parallel group (logical NeuronCores) "
        "whose memory fits, data parallel over the rest: micro-batch 1, two sequences per chip "
        "per step, full recomputation, ZeRO-1, BF16. TP all-reduces and PP sends are exposed, "
        "the DP reduction overlaps the last backward pass. MFU = model FLOPs / (step time x "
        "TensorE peak).")
    document.table(["system", "workload", "chips", "tokens per step", "step (s)",
                    "GEMMs (s)", "communication (s)", "exposed (s)", "layout (cores)",
                    "achieved PFLOP/s", "MFU (TensorE + HBM bound)"], rows,
                   numeric=(2, 3, 4, 5, 6, 7, 9, 10))
    series = {}
    for family in ("trn2", "trn3"):
        for key in ("llama3-8b", "llama3-70b"):
            overlapped = _scaling_points(specs, family, workloads[key], calibration,
                                         assumptions)
            exposed = _scaling_points(specs, family, workloads[key], calibration,
                                      replace(assumptions, overlap_with_backward=False))
            name = specs.chip(family).name
            series[f"{name}, {workloads[key].name}"] = overlapped
            series[f"{name}, {workloads[key].name}, no overlap"] = exposed
    plots.scaling(out / "scaling.png", series)
    document.image("scaling.png", "Training from the smallest system that fits to the largest "
                   "cluster: "
                   "achieved model PFLOP/s and efficiency, with the gradient communication "
                   "overlapped with the backward pass and without")
    decode_rows = []
    for system_key, workload_key in (("trn2-instance", "llama3-8b"),
                                     ("trn2-instance", "llama3-70b"),
                                     ("trn2-ultraserver", "llama3-70b"),
                                     ("trn3-gen1-ultraserver", "llama3-70b")):
        system, workload = specs.system(system_key), workloads[workload_key]
        for batch in DECODE_BATCHES:
            step = decode_step(specs, system, workload, batch, calibration, assumptions)
            decode_rows.append([system.name, workload.name, batch, number(step.chips),
                                number(1e3 * step.gemm_seconds), number(1e3 * step.kv_seconds),
                                number(1e3 * step.communication_seconds),
                                number(step.tokens_per_second)])
    document.paragraph(
        f"Decode, tensor parallel over the largest group of logical cores that divides the "
        f"heads, the other cores running replicas (tokens/s of the whole system), context "
        f"{number(next(iter(workloads.values())).decode_context)} tokens, BF16 weights and "
        f"KV cache: memory-bound at small batch.")
    document.table(["system", "workload", "batch", "chips", "weight GEMMs (ms)",
                    "KV cache (ms)", "all-reduces (ms)", "tokens/s"], decode_rows,
                   numeric=(2, 3, 4, 5, 6, 7))
    _generations(document, specs, workloads, calibration, assumptions, out)


def _generations(document, specs, workloads, calibration, assumptions, out):
    trn2, trn3 = specs.chip("trn2"), specs.chip("trn3")
    workload = workloads["llama3-70b"]
    step = {key: training_step(specs, specs.system(system), workload, calibration, assumptions)
            for key, system in (("trn2", "trn2-ultraserver"), ("trn3", "trn3-gen1-ultraserver"))}
    decode = {key: decode_step(specs, specs.system(system), workload, 1, calibration,
                               assumptions)
              for key, system in (("trn2", "trn2-ultraserver"), ("trn3", "trn3-gen1-ultraserver"))}
    per_chip = {key: step[key].tokens / step[key].seconds / step[key].chips for key in step}
    rows = [
        ("BF16 peak per chip", "FLOP/s", chip_peak(trn2, "bf16"), chip_peak(trn3, "bf16")),
        ("densest 8-bit peak per chip (FP8 / MXFP8)", "FLOP/s", chip_peak(trn2, "fp8"),
         chip_peak(trn3, "mxfp8")),
        ("HBM bandwidth per chip", "B/s", trn2.hbm_bandwidth.value, trn3.hbm_bandwidth.value),
        ("HBM capacity per chip", "B", trn2.hbm_capacity.value, trn3.hbm_capacity.value),
        ("SBUF per chip", "B", trn2.cores.value * trn2.core.sbuf.value,
         trn3.cores.value * trn3.core.sbuf.value),
        ("chip-to-chip bandwidth per chip", "B/s", trn2.link_bandwidth.value,
         trn3.link_bandwidth.value),
        ("70B training tokens/s per chip (64-chip UltraServer)", "token/s", per_chip["trn2"],
         per_chip["trn3"]),
        ("70B decode tokens/s, batch 1 (64-chip UltraServer)", "token/s",
         decode["trn2"].tokens_per_second, decode["trn3"].tokens_per_second),
    ]
    plots.generations(out / "trn2_vs_trn3.png", [(name, old, new) for name, _, old, new in rows])
    document.image("trn2_vs_trn3.png", "Trainium3 over Trainium2, from the model")
    document.table(["metric", "Trainium2", "Trainium3", "Trn3 / Trn2"],
                   [[name, si(old, unit), si(new, unit), f"{number(new / old)}x"]
                    for name, unit, old, new in rows], numeric=(1, 2, 3))


def _peaks_section(document, specs):
    document.heading("Peaks at a glance")
    rows = []
    for chip in specs.chips.values():
        if chip.core is None:
            continue
        for datatype in datatypes(chip):
            rows.append([chip.name, datatype, number(core_peak(chip, datatype) / 1e12),
                         number(chip_peak(chip, datatype) / 1e12)])
    document.table(["chip", "datatype", "TFLOP/s per NeuronCore (model)",
                    "TFLOP/s per chip (model, TensorE)"], rows, numeric=(2, 3))


def build_report(tile_path, fabric_path, out, full_path, verilog_dirs, specs=None,
                 assumptions=None):
    """Write ``report.md``, ``report.html`` and the plots into ``out``.

    Parameters
    ----------
    tile_path, fabric_path : path
        Tile and fabric characterization results.
    out : path
        Output directory (created).
    full_path : path
        The full-size tile run; the report says so if the file is absent.
    verilog_dirs : sequence of path
        Directories of today's generated Verilog, to tell whether each input is current.
    specs, assumptions : Specs, Assumptions or None
        Defaults: the project's spec data and :class:`Assumptions`.

    Raises
    ------
    sim_models.results.ResultsError
        If an input does not load (:func:`read_inputs`).

    Returns
    -------
    Path
        The Markdown report.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with _step("read the inputs and checked whether each is current"):
        inputs = read_inputs(tile_path, fabric_path, full_path, verilog_dirs)
    for result in inputs.values():
        _progress(f"{result.label}, {result.verdict.path}: {result.verdict.state}: "
                  f"{result.verdict.detail}")
    specs = specs or load_specs()
    assumptions = assumptions or Assumptions()
    workloads = load_workloads()
    fabric = inputs["fabric"].document
    calibration = FabricCalibration.from_document(fabric, inputs["fabric"].verdict.path)
    checks = tuple(check for result in inputs.values()
                   if result.kind != "fabric" and result.document
                   for check in tile_checks(result.document))
    context = ModelContext(specs, workloads, calibration, assumptions, checks)
    document = Document("Scaling report: an RTL-grounded Trainium-class Tensor Engine, from one "
                        "NeuronCore to a cluster")
    document.paragraph(
        "Everything below is computed from the spec data's architectural parameters "
        "(sim_models/specs/*.toml, each with its source) and from models that reproduce the "
        "RTL's measurements; published headline figures appear only as comparison targets. "
        "Source keys in brackets are those of the spec data's sources.toml.")
    _inputs_section(document, inputs)
    with _step("claims and published figures"):
        _claims_section(document, context)
        _peaks_section(document, specs)
        _published_section(document, specs)
    with _step("characterization: every run recomputed with the cycle model"):
        _characterization_section(document, checks, inputs["full"], out)
        _fabric_section(document, allreduce_checks(fabric), calibration)
    with _step("method, utilization and roofline"):
        _method_section(document, specs, context.tile_checks, assumptions, out)
        _roofline_section(document, specs, workloads, assumptions, out)
    with _step("workloads, scaling curves and decode"):
        _workload_section(document, specs, workloads, calibration, assumptions, out)
    document.heading("Sources")
    document.bullets([f"{key}: {citation}" for key, citation in specs.sources.items()])
    markdown = out / "report.md"
    with _step(f"wrote {markdown} and {out / 'report.html'}"):
        markdown.write_text(document.markdown() + "\n")
        (out / "report.html").write_text(document.html() + "\n")
    return markdown


def main(argv=None):
    parser = ArgumentParser.for_module("sim_models.scaling.report", __doc__)
    parser.add_argument("--tile", required=True, help="tile characterization JSON")
    parser.add_argument("--fabric", required=True, help="fabric characterization JSON")
    parser.add_argument("--full", default=str(FULL_RUN),
                        help=f"full-size (128 x 128) tile run JSON; the report says so if it "
                             f"is absent (default {FULL_RUN})")
    parser.add_argument("--verilog", action="append", metavar="DIR",
                        help="directory of today's generated Verilog, to tell whether each "
                             "input is current; repeat for several (default: build/verilog "
                             "and its fabric/ and allreduce/)")
    parser.add_argument("--out", default="reports", help="output directory")
    args = parser.parse_args(argv)
    try:
        # Made first, so that an unwritable place fails before the minutes of modelling.
        Path(args.out).mkdir(parents=True, exist_ok=True)
        build_report(args.tile, args.fabric, args.out, args.full,
                     args.verilog or ["build/verilog", "build/verilog/fabric",
                                      "build/verilog/allreduce"])
    except (SpecError, ResultsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write the report to {error.filename or args.out}: "
              f"{error.strerror or error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
