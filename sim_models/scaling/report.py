"""The scaling report: what the RTL-grounded model gives from one NeuronCore to a cluster,
beside what AWS and the press published.

    python -m sim_models.scaling.report --tile build/characterization/tile.json \\
        --full characterization/r128c128_verilator.json \\
        --full-float characterization/r128c128_trn2_verilator.json \\
        --fabric build/characterization/fabric.json --verilog build/verilog \\
        --verilog build/verilog/fabric --verilog build/verilog/allreduce --out reports

Writes ``report.md``, ``report.html`` and the PNG plots into ``--out``. The characterization
files come from ``make characterize`` (tile and fabric simulations) and ``make
characterize-full`` and ``make characterize-full-float`` (the 128 x 128 array, int8 and with
Trainium2's floating-point formats, in Verilator, committed; the report does without either and
says so); the report only reads them, and says of each whether it is current: whether the
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
from ..specs import PUBLISHED_QUANTITIES, SpecError, load_specs
from . import plots
from .assumptions import Assumptions, describe
from .calibration import check_rows
from .characterization import MEASURED_DATATYPES, allreduce_checks, measured_rates, tile_checks
from .claims import ModelContext, claims, largest_run, systolic_accesses_per_mac
from .comparisons import compare_all
from .core_cycles import core_tile, tile_cycles
from .decode import decode_step
from .document import Document
from .formatting import UNITS, number, percent, ratio, setting
from .gaps import explain, load_gaps
from .gemm import chip_gemm
from .inputs import FULL_FLOAT_RUN, FULL_RUN, read_inputs
from .measurements import load_measurements
from .network import FabricCalibration
from .parallel import system_of_chips
from .peak import RTL_MODELLED_CHIPS, chip_peak, with_measured_rates
from .summary import Measured, measurements_table, peaks_table
from .training import training_step
from .workloads import load_workloads

__all__ = ["build_report", "main"]

#: Systems of the workload tables.
WORKLOAD_SYSTEMS = ("trn1-instance", "trn2-instance", "trn2-ultraserver", "trn2-ultracluster",
                    "trn3-gen1-ultraserver", "trn3-gen2-ultraserver", "trn3-ultracluster")
#: Units (UltraServers) of the clusters of the scaling curves beyond the published systems.
CLUSTER_UNITS = (4, 16, 64, 256)
#: Decode batches of the decode table.
DECODE_BATCHES = (1, 64)
#: (system, workload) of the decode table.
DECODE_SYSTEMS = (("trn2-instance", "llama3-8b"), ("trn2-instance", "llama3-70b"),
                  ("trn2-ultraserver", "llama3-70b"), ("trn3-gen1-ultraserver", "llama3-70b"))
#: Datatype of the rooflines.
ROOFLINE_DATATYPE = "bf16"


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


def _comparison_cells(comparison, units, gaps):
    """Unit, published, model, model / published and the explanation of one comparison."""
    unit, scale = _unit(comparison.figure, units)
    return [unit or "count", number(comparison.published / scale),
            "-" if comparison.model is None else number(comparison.model / scale),
            ratio(comparison.ratio), explain(comparison, gaps, unit, scale)]


def _datatype_name(datatype):
    """BF16, FP8, ...; "sparse" (structured-sparse input) stays a word; "" for none."""
    return "" if datatype is None else "sparse" if datatype == "sparse" else datatype.upper()


def _subject_name(specs, key):
    return specs.chips[key].name if key in specs.chips else specs.system(key).name


def _claims_section(document, context, gaps):
    document.heading("Claims C1-C12")
    document.paragraph(
        "Each claim of the articles the project started from, with the published figures it "
        "repeats and its own multipliers, beside the model; every row says why the two "
        "differ. Model values come from architectural parameters and the RTL-validated "
        "models only. Where AWS's chip figure exceeds cores x its own per-core figure (the "
        "gap, from published figures alone), the explanation gives the gap; it is never "
        "added to the model. FLOP/s in PFLOP/s, capacities in GiB, bandwidths in TB/s.")
    rows = []
    for claim in claims(context):
        rows.append([claim.key, f"\u201c{claim.text}\u201d", "", "-", "-", "-",
                     claim.explanation])
        for comparison in claim.figures:
            figure = comparison.figure
            what = (f"{_subject_name(context.specs, figure.subject)}: "
                    f"{QUANTITY_NAMES[figure.quantity]}"
                    f"{', ' + _datatype_name(figure.datatype) if figure.datatype else ''} "
                    f"[{figure.value.source}]")
            rows.append(["", what, *_comparison_cells(comparison, SYSTEM_UNITS, gaps)])
        for check in claim.ratios:
            rows.append(["", f"{check.label} [CLAIMS]", "ratio",
                         "-" if check.claimed is None else number(check.claimed),
                         "-" if check.model is None else number(check.model),
                         ratio(check.ratio),
                         check.explanation if check.model is not None
                         else f"Not modelled: {check.unmodelled}."])
    run = largest_run(context.tile_checks)
    rows.append(["", f"C12 measured on the {run.rows} x {run.cols} RTL run of M, K, N = "
                 f"{run.m}, {run.k}, {run.n}", "elements per MAC", "-",
                 number(systolic_accesses_per_mac(run)), "-",
                 "Stationary, moving and result elements that cross the tile's ports, over the "
                 "run's MACs: each element serves many MACs inside the array."])
    document.table(["claim", "claim text, then each figure [source] or multiplier", "unit",
                    "published or claimed", "model", "model / published", "explanation"],
                   rows, numeric=(3, 4, 5))


def _published_section(document, specs, gaps):
    document.heading("Every published headline figure")
    document.paragraph(
        "Peaks are derived: array x clock x MACs per PE per cycle x cores x chips; totals are "
        "chips x the chip. A row marked as a spec input is a figure the spec data also holds "
        "as an architectural input (an HBM capacity, say): its ratio only confirms the data. "
        "Chips and NeuronCores first, in TFLOP/s, GiB (SBUF in MiB) and TB/s; then systems, "
        "in PFLOP/s, GiB and TB/s.")
    comparisons = compare_all(specs)
    for title, units, chosen in (
            ("Chips and NeuronCores", CHIP_UNITS,
             [c for c in comparisons if c.figure.subject in specs.chips]),
            ("Systems", SYSTEM_UNITS,
             [c for c in comparisons if c.figure.subject not in specs.chips])):
        document.heading(title, level=3)
        document.table(
            ["subject", "quantity", "datatype", "source", "unit", "published", "model",
             "model / published", "explanation"],
            [[_subject_name(specs, c.figure.subject), QUANTITY_NAMES[c.figure.quantity],
              _datatype_name(c.figure.datatype), c.figure.value.source,
              *_comparison_cells(c, units, gaps)] for c in chosen],
            numeric=(5, 6, 7))


def _full_float_paragraph(document, full_float):
    """The full-size floating-point run (``full_float``, a ReportInput): per matmul format, its
    GEMMs' cycles against the testbench's cycle model (double-row loads included) and the MACs
    per PE per cycle they reached, or that the run is absent."""
    if not full_float.document:
        document.paragraph(f"The full-size 128 x 128 run of Trainium2's floating-point formats "
                           f"is absent ({full_float.verdict.path}: {full_float.verdict.detail}).")
        return
    runs = full_float.document.runs
    document.paragraph(
        f"The 128 x 128 tile of Trainium2's floating-point formats ran {len(runs)} GEMMs "
        f"({full_float.verdict.path.name}, {full_float.document.date}, "
        f"{_state_phrase(full_float)}), each checked like the rows above against the cycle "
        f"model the testbench applies (double-row loads take ceil(K/2) beats):")
    rows = []
    for name in dict.fromkeys(run.matmul_format.name for run in runs):
        chosen = [run for run in runs if run.matmul_format.name == name]
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


def _characterization_section(document, runs, full, full_float, out):
    """The tile runs (TileCheck, the tile characterization's and the full run's), where
    the 128 x 128 rows come from (``full``, a ReportInput), and the full-size floating-point
    run (``full_float``)."""
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
    _full_float_paragraph(document, full_float)
    points = [(check.rtl_cycles, check.model_cycles, f"{check.rows}x{check.cols}")
              for check in runs]
    plots.model_against_rtl(out / "model_vs_rtl.png", points)
    document.image("model_vs_rtl.png", "Does the cycle model reproduce the RTL? Cycles the "
                   "model predicts against cycles the RTL took, one point per simulated GEMM, "
                   "coloured by array size; on the line the two agree")


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
        "What the model leaves out is listed in the summary.",
    ])
    document.table(["assumption", "value", "why"],
                   [[name, setting(name, value), why]
                    for name, value, why in describe(assumptions)])
    sizes = [2 ** power for power in range(4, 14)]
    curves = {}
    for k in (128, 256, 512, 4096):
        curves[f"M=128, K={k}"] = (sizes, [
            128 * k * n / (config.rows * config.cols * tile_cycles(config, 128, k, n))
            for n in sizes])
    measured = [(check.n, check.utilization, f"{check.m},{check.k},{check.n}")
                for check in checks if (check.rows, check.cols) == (config.rows, config.cols)]
    plots.utilization(out / "utilization.png", curves, measured)
    document.image("utilization.png", "How much of one 128 x 128 Tensor Engine does a GEMM "
                   "keep busy, by its shape? Utilization against the moving free size N: lines "
                   "from the cycle model (M = 128, read-out included), open markers the 128 x "
                   "128 RTL runs")


def _roofline_section(document, specs, workloads, out):
    workload = workloads["llama3-70b"]
    panels = []
    for key in ("trn1", "trn2", "trn3"):
        chip = specs.chip(key)
        tokens = workload.sequences_per_chip * workload.sequence
        points = []
        for gemm in workload.weight_gemms(tokens)[:4]:
            estimate = chip_gemm(chip, gemm.m, gemm.k, gemm.n, ROOFLINE_DATATYPE)
            points.append((f"training: {gemm.name}, {number(tokens)} tokens",
                           estimate.intensity, estimate.achieved_flops))
        for batch in DECODE_BATCHES:
            gemm = workload.weight_gemms(batch)[2]
            estimate = chip_gemm(chip, gemm.m, gemm.k, gemm.n, ROOFLINE_DATATYPE)
            points.append((f"decode: {gemm.name}, batch {batch}", estimate.intensity,
                           estimate.achieved_flops))
        panels.append({"name": chip.name, "peak": chip_peak(chip, ROOFLINE_DATATYPE),
                       "bandwidth": chip.hbm_bandwidth.value, "points": points})
    plots.roofline(out / "roofline.png", panels)
    document.image("roofline.png", f"Which of {workload.name}'s weight GEMMs does each "
                   f"Trainium generation run compute-bound, and which HBM-bound? One panel per "
                   f"chip, {ROOFLINE_DATATYPE.upper()}: the roofline (TensorE peak, HBM "
                   f"bandwidth) and each GEMM where the chip model places it (achieved "
                   f"TFLOP/s against FLOP per HBM byte); the four training GEMMs lie together "
                   f"at the peak, compute-bound on every chip")


def _scaling_points(specs, family, workload, calibration, assumptions):
    """(chips, tokens/s per chip, system name) from the family's instance to its largest
    system: the instance, the UltraServer, clusters of UltraServers on the UltraCluster's
    network and the UltraCluster, each in the layout the model picks; layouts that do not fit
    in HBM are left out."""
    systems = [system for system in specs.systems.values()
               if specs.chip(system.chip).key == family]
    cluster = next(system for system in systems if system.level == "cluster")
    unit_systems = sorted((system for system in systems if system.level != "cluster"),
                          key=lambda system: system.chips.value)
    unit_chips = int(specs.system(cluster.unit).chips.value)
    variants = unit_systems + [system_of_chips(specs, cluster, units * unit_chips)
                               for units in CLUSTER_UNITS] + [cluster]
    steps = [training_step(specs, system, workload, calibration, assumptions)
             for system in variants]
    return [(step.chips, step.tokens_per_second / step.chips, system.name)
            for system, step in zip(variants, steps) if step.fits]


def _training_table(document, specs, workloads, steps):
    """The training step of every (system key, workload key) of ``steps``; a layout that
    does not fit in HBM is shown with its memory and no time."""
    document.paragraph(
        "Training, BF16, in the layout the model picks for each system: of every tensor and "
        "pipeline parallel split (TP inside a unit, PP 1F1B, data parallel over the rest) "
        "whose weights, gradients, ZeRO-1 optimizer state and recomputed activations fit in "
        "HBM, the one with the most tokens per second; degrees in logical NeuronCores, as "
        "AWS counts them. Each chip takes the workload's sequences per step until the system "
        "reaches the stated tokens per step (the assumption max_tokens_per_step), then the "
        "batch stays there. MFU = model FLOPs, causal attention counted as the step times "
        "it, / (step time x TensorE peak). A layout that does not fit has no time.")
    rows = []
    for (system, workload), step in steps.items():
        plan, fits = step.plan, step.fits
        rows.append([specs.system(system).name, workloads[workload].name, number(step.chips),
                     f"TP {plan.tp}, PP {plan.pp}, DP {number(plan.dp)}", number(step.tokens),
                     number(step.memory.total / 2 ** 30), "yes" if fits else "no",
                     *([number(step.seconds), number(step.compute_seconds),
                        number(step.exposed_seconds), number(step.achieved_flops / 1e15),
                        percent(step.mfu)] if fits else ["-"] * 5)])
    document.table(["system", "workload", "chips", "layout (cores)", "tokens per step",
                    "HBM per chip (GiB)", "fits", "step (s)", "compute (s)",
                    "exposed communication (s)", "achieved PFLOP/s", "MFU"], rows,
                   numeric=(2, 4, 5, 7, 8, 9, 10, 11))


def _workload_section(document, specs, workloads, calibration, assumptions, steps, decodes,
                      out):
    document.heading("Workloads: training step, scaling and decode")
    _training_table(document, specs, workloads, steps)
    panels = []
    for family in ("trn2", "trn3"):
        for key in ("llama3-8b", "llama3-70b"):
            series = {}
            for overlap, label in ((True, "communication overlapped with the backward pass"),
                                   (False, "communication after the backward pass")):
                series[label] = _scaling_points(
                    specs, family, workloads[key], calibration,
                    replace(assumptions, overlap_with_backward=overlap))
            panels.append((f"{specs.chip(family).name}, {workloads[key].name}", series))
    plots.scaling(out / "scaling.png", panels)
    document.image("scaling.png", "How much training throughput does each chip keep from an "
                   "instance to the largest cluster? Tokens/s per chip against chips (log "
                   "scale), each system in the layout the model picks, one panel per chip and "
                   "workload; solid: the data-parallel gradient reduction overlapped with the "
                   "backward pass, dashed: after it. A step is a change of layout (the "
                   "training table)")
    document.paragraph(
        f"Decode, BF16 weights and KV cache, context "
        f"{number(next(iter(workloads.values())).decode_context)} tokens, tensor parallel "
        f"over the largest group of logical cores the heads allow (replicas beyond it), each "
        f"weight GEMM in the cheaper mapping (weights or tokens stationary).")
    rows = []
    for (system, workload, _), step in decodes.items():
        rows.append([specs.system(system).name, workloads[workload].name, number(step.plan.batch),
                     number(step.chips), number(step.plan.tp),
                     number(step.memory.total / 2 ** 30), "yes" if step.fits else "no",
                     *([number(1e3 * step.gemm_seconds), number(1e3 * step.kv_seconds),
                        number(1e3 * step.communication_seconds),
                        number(1e3 * step.seconds), number(step.tokens_per_second)]
                       if step.fits else ["-"] * 5)])
    document.table(["system", "workload", "batch", "chips", "TP (cores)",
                    "HBM per chip (GiB)", "fits", "weight GEMMs (ms)", "KV cache (ms)",
                    "all-reduces (ms)", "per token (ms)", "tokens/s"], rows,
                   numeric=(2, 3, 4, 5, 7, 8, 9, 10, 11))
    _generations(document, specs, steps, decodes, out)


def _generations(document, specs, steps, decodes, out):
    trn2, trn3 = specs.chip("trn2"), specs.chip("trn3")
    systems = {"trn2": "trn2-ultraserver", "trn3": "trn3-gen1-ultraserver"}
    training = {key: steps[system, "llama3-70b"] for key, system in systems.items()}
    per_chip = {key: step.tokens_per_second / step.chips for key, step in training.items()}
    decode = {key: decodes[system, "llama3-70b", 1] for key, system in systems.items()}
    rows = [
        ("BF16 peak per chip", "TFLOP/s", 1e12, chip_peak(trn2, "bf16"),
         chip_peak(trn3, "bf16")),
        ("densest 8-bit peak per chip (FP8 / MXFP8)", "TFLOP/s", 1e12, chip_peak(trn2, "fp8"),
         chip_peak(trn3, "mxfp8")),
        ("HBM bandwidth per chip", "TB/s", 1e12, trn2.hbm_bandwidth.value,
         trn3.hbm_bandwidth.value),
        ("HBM capacity per chip", "GiB", 2 ** 30, trn2.hbm_capacity.value,
         trn3.hbm_capacity.value),
        ("SBUF per chip", "MiB", 2 ** 20, trn2.cores.value * trn2.core.sbuf.value,
         trn3.cores.value * trn3.core.sbuf.value),
        ("chip-to-chip bandwidth per chip", "TB/s", 1e12, trn2.link_bandwidth.value,
         trn3.link_bandwidth.value),
        ("70B training per chip (64-chip UltraServer)", "tokens/s", 1, per_chip["trn2"],
         per_chip["trn3"]),
        ("70B decode, batch 1 (64-chip UltraServer)", "tokens/s", 1,
         decode["trn2"].tokens_per_second, decode["trn3"].tokens_per_second),
    ]
    plots.generations(out / "trn2_vs_trn3.png",
                      [(name, old, new) for name, _, _, old, new in rows])
    document.image("trn2_vs_trn3.png", "Where does Trainium3 improve on Trainium2, and by how "
                   "much? Trainium3 over Trainium2 per metric, from the model and the spec "
                   "data (1 = no change)")
    document.table(["metric", "unit", "Trainium2", "Trainium3", "Trn3 / Trn2"],
                   [[name, unit, number(old / scale), number(new / scale), ratio(new / old)]
                    for name, unit, scale, old, new in rows], numeric=(2, 3, 4))


#: What the model leaves out, in the summary.
NOT_MODELLED = (
    "Launch, synchronization and kernel overheads as mechanisms: they stand in two fitted "
    "times, one per layer and training pass and one per collective (the assumptions table).",
    "DMA queueing and the sharing of HBM between the engines: HBM runs at a fixed fraction "
    "of its peak.",
    "The dI/dt throttle that starts the Tensor Engine at 50% [X-GLOSS] and the 4x fast "
    "weight load (the RTL loads one row per cycle, hidden behind the multiply whenever "
    "N > K).",
    "Interleaved or zero-bubble pipeline schedules (1F1B only), sequence parallelism's "
    "memory saving, expert parallelism and mixture-of-experts models, speculative decoding.",
    "Power, energy efficiency and price: AWS publishes no chip power and the repository "
    "holds no prices.",
)


def _measurement_name(specs, workloads, row):
    """What a measurement measured: workload, chips, layout in logical cores, batch."""
    config = row.config
    chip = specs.chip(specs.system(row.system).chip).name
    layout = (f"TP {config['tp']}, PP {config['pp']}, DP {config['dp']}, batch "
              f"{number(config['global_batch'])} x {number(config['sequence'])} tokens"
              if row.kind == "training" else
              f"TP {config['tp']}, batch {number(config['batch'])}, context "
              f"{number(config['context'])}")
    return (f"{workloads[row.workload].name} {row.kind}, {number(row.chips)} {chip} chips, "
            f"{config['datatype'].upper()}, {layout}")


def _measured_rows(specs, workloads, calibration, assumptions):
    """AWS's published measurements beside the model (:mod:`.calibration`), as the summary's
    rows."""
    measurements = {row.key: row for row in load_measurements()}
    return [Measured(_measurement_name(specs, workloads, measurements[check.key]), check.model,
                     check.published, check.unit, check.role, measurements[check.key].source,
                     check.explanation)
            for check in check_rows(specs, workloads, calibration, assumptions,
                                    tuple(measurements.values()))]


def _summary_section(document, specs, gaps, measured, spec_data, rates):
    document.heading("Summary")
    document.heading("Peaks against AWS's figures", level=3)
    worst = peaks_table(document, specs, compare_all(specs), gaps)
    document.paragraph(
        f"The Tensor Engine peak (2 x 128 x 128 x clock x MACs per PE per cycle) is within "
        f"{percent(worst)} of AWS's per-NeuronCore figure for every chip and datatype AWS "
        f"publishes. Per chip, AWS's Trainium2 and Trainium3 figures sit above cores x its "
        f"own per-core figure (the gap in the explanation), which the model does not count.")
    _measured_rates_section(document, spec_data, rates)
    document.heading("Training and decode against AWS's measurements", level=3)
    document.paragraph(
        "Each of AWS's published training and decode measurements, run in the model at the "
        "same chips, layout (in logical NeuronCores, as AWS counts them), batch, sequence and "
        "datatype. The two fitted parameters (the assumptions table) are fitted on the "
        "calibration rows only; the validation rows are predictions. The explanation gives "
        "the model's time by mechanism.")
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


def _measured_rates_section(document, spec_data, rates):
    """MACs per PE per cycle of the chips the RTL models: what the RTL measured (``rates``,
    by datatype) beside the spec data's value (``spec_data``, before the substitution)."""
    document.heading("MACs per PE per cycle: measured on the RTL", level=3)
    rows = []
    for key in (key for key in RTL_MODELLED_CHIPS if key in spec_data.chips):
        chip = spec_data.chips[key]
        for datatype in dict.fromkeys(MEASURED_DATATYPES.values()):
            spec = chip.core.macs_per_pe_per_cycle.get(datatype)
            if spec is None:
                continue
            rate = rates.get(datatype)
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
        "cycle; the lowest of E4M3 and E5M2 is taken.")


def build_report(tile_path, float_path, fabric_path, out, full_path, verilog_dirs, specs=None,
                 assumptions=None, full_float_path=FULL_FLOAT_RUN):
    """Write ``report.md``, ``report.html`` and the plots into ``out``.

    Parameters
    ----------
    tile_path, float_path, fabric_path : path
        Tile (int8), floating-point tile and fabric characterization results. The
        floating-point tile's steady-state MACs per PE per cycle replace the spec's for
        Trainium2 (:func:`~.peak.with_measured_rates`).
    out : path
        Output directory (created).
    full_path : path
        The full-size tile run; the report says so if the file is absent.
    full_float_path : path
        The full-size run of the tile of Trainium2's floating-point formats; likewise.
    verilog_dirs : sequence of path
        Directories of today's generated Verilog, to tell whether each input is current.
    specs, assumptions : Specs, Assumptions or None
        Defaults: the project's spec data and :class:`Assumptions` (its fitted fields hold
        the calibration's result).

    Raises
    ------
    sim_models.results.ResultsError
        If an input does not load (:func:`read_inputs`).
    sim_models.specs.SpecError
        If a published figure differs from the model with no explanation (:mod:`.gaps`).

    Returns
    -------
    Path
        The Markdown report.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with _step("read the inputs and checked whether each is current"):
        inputs = read_inputs(tile_path, float_path, fabric_path, full_path, verilog_dirs,
                             full_float_path)
    for result in inputs.values():
        _progress(f"{result.label}, {result.verdict.path}: {result.verdict.state}: "
                  f"{result.verdict.detail}")
    assumptions = assumptions or Assumptions()
    workloads = load_workloads()
    gaps = load_gaps()
    fabric = inputs["fabric"].document
    calibration = FabricCalibration.from_document(fabric, inputs["fabric"].verdict.path)
    checks = tuple(check for result in inputs.values()
                   if result.kind != "fabric" and result.document
                   for check in tile_checks(result.document))
    spec_data = specs or load_specs()
    rates = measured_rates(checks)
    specs = with_measured_rates(spec_data, rates)
    context = ModelContext(specs, workloads, calibration, assumptions, checks)
    with _step("training and decode steps, AWS's measurements"):
        steps = {(key, name): training_step(specs, specs.system(key), workload, calibration,
                                            assumptions)
                 for key in WORKLOAD_SYSTEMS for name, workload in workloads.items()}
        decodes = {(key, name, batch): decode_step(specs, specs.system(key), workloads[name],
                                                   batch, calibration, assumptions)
                   for key, name in DECODE_SYSTEMS for batch in DECODE_BATCHES}
        measured = _measured_rows(specs, workloads, calibration, assumptions)
    document = Document("Scaling report: an RTL-grounded Trainium-class Tensor Engine, from one "
                        "NeuronCore to a cluster")
    document.paragraph(
        "Everything below is computed from the spec data's architectural parameters, each "
        "with its source, and from models that reproduce the RTL's measurements; published "
        "figures appear only as comparison targets. Keys in brackets name the sources, listed "
        "with their addresses at the end.")
    with _step("summary, claims and published figures"):
        _summary_section(document, specs, gaps, measured, spec_data, rates)
        _inputs_section(document, inputs)
        _claims_section(document, context, gaps)
        _published_section(document, specs, gaps)
    with _step("characterization: every run recomputed with the cycle model"):
        _characterization_section(document, checks, inputs["full"], inputs["full_float"], out)
        _fabric_section(document, allreduce_checks(fabric), calibration)
    with _step("method, utilization and roofline"):
        _method_section(document, specs, context.tile_checks, assumptions, out)
        _roofline_section(document, specs, workloads, out)
    with _step("workloads, scaling curves and decode"):
        _workload_section(document, specs, workloads, calibration, assumptions, steps,
                          decodes, out)
    document.heading("Sources")
    document.references([(key, source.cite, source.urls)
                         for key, source in specs.sources.items()])
    markdown = out / "report.md"
    with _step(f"wrote {markdown} and {out / 'report.html'}"):
        markdown.write_text(document.markdown() + "\n")
        (out / "report.html").write_text(document.html() + "\n")
    return markdown


def main(argv=None):
    parser = ArgumentParser.for_module("sim_models.scaling.report", __doc__)
    parser.add_argument("--tile", required=True, help="tile characterization JSON")
    parser.add_argument("--float", required=True, dest="float_path",
                        help="floating-point tile characterization JSON")
    parser.add_argument("--fabric", required=True, help="fabric characterization JSON")
    parser.add_argument("--full", default=str(FULL_RUN),
                        help=f"full-size (128 x 128) tile run JSON; the report says so if it "
                             f"is absent (default {FULL_RUN})")
    parser.add_argument("--full-float", default=str(FULL_FLOAT_RUN),
                        help=f"full-size run of the tile of Trainium2's floating-point formats; "
                             f"likewise (default {FULL_FLOAT_RUN})")
    parser.add_argument("--verilog", action="append", metavar="DIR",
                        help="directory of today's generated Verilog, to tell whether each "
                             "input is current; repeat for several (default: build/verilog "
                             "and its fabric/ and allreduce/)")
    parser.add_argument("--out", default="reports", help="output directory")
    args = parser.parse_args(argv)
    try:
        # Made first, so that an unwritable place fails before the minutes of modelling.
        Path(args.out).mkdir(parents=True, exist_ok=True)
        build_report(args.tile, args.float_path, args.fabric, args.out, args.full,
                     args.verilog or ["build/verilog", "build/verilog/fabric",
                                      "build/verilog/allreduce"],
                     full_float_path=args.full_float)
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
