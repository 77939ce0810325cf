"""Single questions to the scaling model, from the command line.

    python -m sim_models.scaling --system trn1-instance --chips 512 --workload llama3-8b \
        --tp 32 --pp 1 --dp 32 --global-batch 1024 --sequence 8192 --json
    python -m sim_models.scaling --system trn2-instance --workload llama3-70b --decode-tp 64 \
        --batch 1 --context 10750
    python -m sim_models.scaling --measurements
    python -m sim_models.scaling --list

Prints the system's peaks, one training step, one prefill (time to first token) and one
decode step, each with its confidence band (text, or one JSON object with --json);
--measurements sets the model beside every AWS measurement of ``measurements.toml`` instead.
Parallel degrees count logical NeuronCores as AWS does (TP x PP x DP = cores of the chips);
options left out take the layout the report uses (the model's best layout that fits,
searched over TP and PP, with the degrees given). The collectives are calibrated from
--fabric, by default the fabric characterization the report reads
(build/characterization/fabric.json) when present, else the analytic estimate; Trainium2's and
Trainium3's MACs per PE per cycle come from --float-tile, by default from what the report
reads: the floating-point tile characterization (build/characterization/tile_float.json) and
the committed 128 x 128 runs of Trainium2's and Trainium3's formats, those present, each
chip's from its own tiles (the least measured per datatype), else the spec data. The output
says which (with --json per datatype: the value used, the spec's, and the file, tile and GEMMs
that measured it), and the fitted parameters it used.
"""

import argparse
import json
import os
import statistics
import sys
from dataclasses import asdict, fields, replace
from pathlib import Path

from ..cli import ArgumentParser
from ..results import ResultsError, load
from ..specs import SpecError, load_specs
from .assumptions import Assumptions
from .calibration import FITTED, GOAL, check_rows
from .characterization import MEASURED_DATATYPES, chip_rates, tile_checks
from .confidence import Confidence, assess
from .decode import best_decode_plan, decode_step
from .formatting import binary_bytes, number, percent, setting, si
from .inputs import FULL_FLOAT_RUN, FULL_TRN3_RUN
from .measurements import load_measurements
from .network import FabricCalibration, collective_figures
from .parallel import (check_count, check_model_parallel, logical_cores_per_chip,
                       system_of_chips, unit_of, with_logical_cores)
from .peak import RTL_MODELLED_CHIPS, datatypes, system_peak, with_measured_rates
from .prefill import prefill_step
from .speculative import speculative_step
from .training import MFU_COUNTS, best_training_plan, expert_alltoall_source, training_step
from .workloads import load_workloads

#: The fabric characterization ``make report`` reads, used when present.
REPORT_FABRIC = Path("build/characterization/fabric.json")
#: The floating-point tile characterization ``make report`` reads, used when present.
REPORT_FLOAT_TILE = Path("build/characterization/tile_float.json")

_TRAINING_OPTIONS = ("tp", "pp", "dp", "micro_batch", "global_batch", "sequence", "zero_stage")


def _arguments(argv):
    parser = ArgumentParser.for_module("sim_models.scaling", __doc__,
                                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--system", help="system key, e.g. trn2-ultraserver (see --list)")
    parser.add_argument("--workload", default="llama3-70b", help="workload key (see --list)")
    parser.add_argument("--chips", type=int,
                        help="chips: the system's own count, or a multiple of its unit's "
                             "(a cluster of instances or UltraServers)")
    parser.add_argument("--tp", type=int, help="training tensor parallelism, logical cores")
    parser.add_argument("--pp", type=int, help="training pipeline stages (1F1B)")
    parser.add_argument("--dp", type=int, help="training data parallelism, replicas")
    parser.add_argument("--ep", type=int, help="training expert parallelism of a mixture of "
                                               "experts: DP replicas sharing the routed experts "
                                               "(default: the layout search's)")
    parser.add_argument("--micro-batch", type=int, help="sequences per micro-batch")
    parser.add_argument("--global-batch", type=int, help="sequences per optimizer step")
    parser.add_argument("--sequence", type=int, help="training sequence length, tokens")
    parser.add_argument("--zero", dest="zero_stage", type=int, help="ZeRO stage, 0 to 3")
    parser.add_argument("--no-recompute", action="store_true",
                        help="keep activations instead of recomputing them")
    parser.add_argument("--datatype", help="GEMM datatype of training and decode, e.g. bf16, "
                                           "fp8, mxfp8 (the chip's TensorE datatypes)")
    parser.add_argument("--kv-datatype", help="KV cache datatype of prefill and decode "
                                              "(default: --datatype's), e.g. bf16 beside fp8 "
                                              "weights")
    parser.add_argument("--batch", type=int, default=1, help="decode batch, sequences per "
                                                             "TP group")
    parser.add_argument("--context", type=int,
                        help="decode context: tokens in the KV cache when a token is generated "
                             "(prompt + tokens generated so far; default: the workload's)")
    parser.add_argument("--prompt", type=int, help="prefill prompt, tokens (default: the "
                                                   "workload's decode context)")
    parser.add_argument("--decode-tp", type=int, help="decode tensor parallelism, logical "
                                                      "cores")
    parser.add_argument("--decode-ep", type=int,
                        help="decode and prefill expert parallelism of a mixture of experts: "
                             "TP groups sharing the routed experts (default: the fastest at "
                             "the decode TP)")
    parser.add_argument("--imbalance", type=float,
                        help="mixture of experts: tokens on the busiest expert over the mean "
                             "(default: Assumptions.expert_imbalance, 1.25)")
    parser.add_argument("--draft", help="speculative decoding: the draft workload key (e.g. "
                                        "llama3-2-1b); needs --accepted")
    parser.add_argument("--speculation", type=int, default=4,
                        help="speculative decoding: draft tokens per round")
    parser.add_argument("--accepted", type=float,
                        help="speculative decoding: mean tokens kept per round, the target's "
                             "own included (1 to speculation + 1; depends on the data)")
    parser.add_argument("--lnc", type=int, help="logical NeuronCore size, physical cores per "
                                                "logical core: 1 or 2 on Trainium2/3 (default: "
                                                "the spec's, 2 as AWS's measurements ran)")
    parser.add_argument("--fabric", help="fabric characterization JSON (default: "
                                         f"{REPORT_FABRIC} when present)")
    parser.add_argument("--float-tile", help="floating-point tile characterization JSON, "
                                             "Trainium2's and Trainium3's measured MACs per PE per "
                                             "cycle "
                                             f"(default: {REPORT_FLOAT_TILE} when present)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--list", action="store_true", help="list systems and workloads")
    parser.add_argument("--measurements", action="store_true",
                        help="the model beside AWS's published measurements, every row")
    args = parser.parse_args(argv)
    if not (args.list or args.measurements) and args.system is None:
        parser.error("--system is required (or --list, --measurements)")
    return args


def _listing(specs, workloads, as_json):
    if as_json:
        return json.dumps({"systems": {key: {"name": system.name, "chip": system.chip,
                                             "chips": int(system.chips.value)}
                                       for key, system in specs.systems.items()},
                           "workloads": {key: asdict(workload)
                                         for key, workload in workloads.items()}}, indent=1)
    return "\n".join(["systems:"] + [f"  {key}: {system.name} ({number(system.chips.value)} "
                                     f"chips)" for key, system in specs.systems.items()]
                     + ["workloads:"] + [f"  {key}: {workload.name}"
                                        for key, workload in workloads.items()])


def _summary(rows):
    """Count within the goal, median and worst |error| of the validation rows, by kind and, as
    ``"all"``, over every kind (the issue's goal: every row within 15%, the median within
    10%)."""
    summary = {}
    for kind in [*dict.fromkeys(row.kind for row in rows), "all"]:
        errors = [abs(row.error) for row in rows
                  if kind in (row.kind, "all") and row.role == "validation"
                  and row.error is not None]
        if errors:
            summary[kind] = {"validation_rows": len(errors),
                             "within_goal": sum(error <= GOAL for error in errors),
                             "median_abs_error": statistics.median(errors),
                             "worst_abs_error": max(errors)}
    return summary


def _measurements(specs, workloads, calibration, as_json):
    measurements = load_measurements()
    rows = check_rows(specs, workloads, calibration, Assumptions(), measurements)
    confidence = Confidence.from_checks(specs, rows, measurements)
    sources = {row.key: row for row in measurements}
    summary = _summary(rows)
    if as_json:
        return json.dumps({
            "rows": [asdict(row) | {"error": row.error, "system": sources[row.key].system,
                                    "chips": sources[row.key].chips,
                                    "workload": sources[row.key].workload,
                                    "plan": sources[row.key].config,
                                    "url": sources[row.key].url} for row in rows],
            "summary": summary,
            "bands": [band.as_dict() for band in confidence.bands.values()]}, indent=1)
    lines = [f"collectives calibrated from: {calibration.source}"]
    for row in rows:
        model = "does not fit" if row.model is None else f"{row.model:.4g}"
        error = "" if row.error is None else f" ({100 * row.error:+.1f}%)"
        lines.append(f"{row.role:11s} {row.key}: model {model} {row.unit}, published "
                     f"{row.published:.4g}{error}; {row.explanation}")
    for kind, figures in summary.items():
        lines.append(f"{kind} validation rows: {figures['within_goal']} of "
                     f"{figures['validation_rows']} within {GOAL:.0%}, median |error| "
                     f"{100 * figures['median_abs_error']:.1f}%, worst "
                     f"{100 * figures['worst_abs_error']:.1f}%")
    lines += [f"band: {band.describe()}" for band in confidence.bands.values()]
    return "\n".join(lines)


def _present(path):
    """``path`` exists, or is a link (a dangling one is an error to report, not absence)."""
    return path.exists() or path.is_symlink()


def _calibration(args):
    if args.fabric:
        return FabricCalibration.from_results(args.fabric)
    if _present(REPORT_FABRIC):
        return FabricCalibration.from_results(REPORT_FABRIC)
    return FabricCalibration.from_estimate()


def _rate_files(args):
    """The results files (path, kind) the measured rates come from: ``--float-tile`` alone if
    given, else the report's floating-point tile and full-size floating-point runs, those
    present."""
    if args.float_tile:
        return [(Path(args.float_tile), "float")]
    return [(path, kind) for path, kind in ((REPORT_FLOAT_TILE, "float"),
                                            (FULL_FLOAT_RUN, "full_float"),
                                            (FULL_TRN3_RUN, "full_trn3")) if _present(path)]


def _rates(args, spec_data):
    """The RTL-measured MACs per PE per cycle of the chips the RTL models (dict by chip of dicts
    by datatype, each measured on that chip's own tiles: :func:`.characterization.chip_rates`
    of every GEMM of the files of :func:`_rate_files`, as the report takes them), by chip where
    they come from, and by chip and datatype the file that holds the GEMM pair of each. A file
    given with ``--float-tile`` that measures no rate is an error; the report's own files then
    leave the spec data's rates, and the answer says why. A chip's source names the rates that
    replace a datatype of its spec (``spec_data``). Returns (rates, sources, files)."""
    documents = [(path, load(path, kind)) for path, kind in _rate_files(args)]
    if not documents:
        return {}, dict.fromkeys(RTL_MODELLED_CHIPS, "spec data (no floating-point tile "
                                                     "characterization)"), {}
    rates = chip_rates([check for _, document in documents
                        for check in tile_checks(document)])
    files = {chip: {datatype: _file_of(documents, datatype, rate)
                    for datatype, rate in by_datatype.items()}
             for chip, by_datatype in rates.items()}
    paths = " and ".join(str(path) for path, _ in documents)
    formats = ", ".join(sorted({run.matmul_format.label for _, document in documents
                                for run in document.runs}))
    if not rates and args.float_tile:
        raise SpecError(f"--float-tile {paths}: holds no GEMM pair to measure a floating-"
                        f"point MACs per PE per cycle from (its formats: {formats}); "
                        f"allowed: a floating-point tile characterization, as make "
                        f"characterize-tile writes to {REPORT_FLOAT_TILE}")
    holds, its = ("holds", "its") if len(documents) == 1 else ("hold", "their")
    sources = {chip: _rates_source(spec_data, chip, rates[chip], files[chip]) if chip in rates
               else (f"spec data ({paths} {holds} no GEMM pair of a {chip} tile to measure "
                     f"them from, {its} formats: {formats}; make characterize-tile rebuilds "
                     f"{'it' if len(documents) == 1 else REPORT_FLOAT_TILE})")
               for chip in RTL_MODELLED_CHIPS}
    return rates, sources, files


def _file_of(documents, datatype, rate):
    """The path of the first of ``documents`` ((path, TileCharacterization) pairs) that holds
    the two GEMMs ``rate`` (a MeasuredRate of ``datatype``) was measured from."""
    return next(path for path, document in documents
                if sum(run.config == rate.config and (run.m, run.k, run.n) in rate.shapes
                       and MEASURED_DATATYPES.get(run.matmul_format) == datatype
                       for run in document.runs) >= len(rate.shapes))


def _rates_source(spec_data, chip, rates, files):
    """Where ``chip``'s measured ``rates`` (by datatype) come from, per file of ``files`` (by
    datatype): e.g. ``build/characterization/tile_float.json: bf16 1, fp16 1``, files
    separated by semicolons; only the datatypes of the chip's spec (``spec_data``)."""
    by_file = {}
    for datatype, rate in rates.items():
        if datatype in spec_data.chip(chip).core.macs_per_pe_per_cycle:
            by_file.setdefault(files[datatype], []).append(f"{datatype} {rate.value:g}")
    return "; ".join(f"{path}: {', '.join(items)}" for path, items in by_file.items())


def _rates_used(spec_data, specs, chip_key, rates, files):
    """Each datatype's MACs per PE per cycle of ``chip_key`` the answer used beside the spec
    data's typed-in value, and where it came from: the file (``files``, by chip and datatype),
    tile and GEMMs that measured it, or the spec data."""
    used = specs.chip(chip_key).core.macs_per_pe_per_cycle
    rows = []
    for datatype, spec in spec_data.chip(chip_key).core.macs_per_pe_per_cycle.items():
        rate = rates.get(chip_key, {}).get(datatype)
        rows.append({"datatype": datatype, "used": used[datatype].value, "spec": spec.value,
                     "from": "spec data" if rate is None else "RTL",
                     **({} if rate is None else {
                         "file": str(files[chip_key][datatype]), "tile": rate.config,
                         "gemms": [list(shape) for shape in rate.shapes]})})
    return rows


def _plan(args, specs, system, workload, calibration, assumptions, search):
    """The layout the options ask for: the best layout with the degrees given (``search``'s
    when none is), every other option given replacing its field. Degrees that no searched
    layout has are taken as given, DP following TP and PP, for the plan checks to judge."""
    degrees = {name: getattr(args, name) for name in ("tp", "pp", "dp", "ep")
               if getattr(args, name) is not None}
    given = {name: getattr(args, name) for name in _TRAINING_OPTIONS
             if getattr(args, name) is not None and name not in degrees}
    if args.datatype is not None:
        given["datatype"] = args.datatype
    if args.no_recompute:
        given["recompute"] = False
    chosen = best_training_plan(specs, system, workload, calibration, assumptions, **degrees) \
        if degrees else search
    plan = replace(chosen.plan if chosen else replace(search.plan, **degrees), **given)
    if chosen is None and "dp" not in degrees:
        chip = specs.chip(system.chip)
        check_model_parallel(chip, workload, plan.tp, plan.pp)
        cores = int(system.chips.value) * logical_cores_per_chip(chip)
        if cores % (plan.tp * plan.pp):
            raise SpecError(f"--tp {plan.tp} --pp {plan.pp}: TP x PP = {plan.tp * plan.pp} "
                            f"must divide the {cores} logical NeuronCores of "
                            f"{int(system.chips.value)} chips")
        plan = replace(plan, dp=cores // (plan.tp * plan.pp))
    if "global_batch" not in given and isinstance(plan.micro_batch, int) and \
            plan.micro_batch > 0 and plan.global_batch % (plan.dp * plan.micro_batch):
        unit = plan.dp * plan.micro_batch
        plan = replace(plan, global_batch=unit * max(1, round(search.plan.global_batch / unit)))
    return plan


def _layout(search, plan):
    """What the layout search found, beside the plan used."""
    best = search.step
    return {"used": "the search's best" if plan == search.plan else "given options",
            "best": asdict(search.plan), "tried": search.tried, "fitting": search.fitting,
            "best_tokens_per_second": best.tokens_per_second, "best_mfu": best.mfu,
            "ranked_by": "global batch nearest the default, then tokens/s, then HBM left"}


def _training(step, confidence, system, lnc, dense=True):
    answer = confidence.answer(
        "training", system.chip, "sequences per second",
        None if not step.fits else step.plan.global_batch / step.seconds, "sequences/s",
        config={"chips": step.chips, "sequence": step.plan.sequence, "lnc": lnc,
                "datatype": step.plan.datatype}, dense=dense)
    result = {"confidence": answer.as_dict(), "plan": asdict(step.plan), "fits": step.fits,
              "memory_bytes": {**asdict(step.memory), "total": step.memory.total},
              "tokens": step.tokens}
    if not step.fits:
        return result | {"step_seconds": None, "tokens_per_second": None, "mfu": None,
                         "reason": f"does not fit in HBM: {step.memory.describe()}"}
    return result | {
        "step_seconds": step.seconds, "tokens_per_second": step.tokens_per_second,
        "sequences_per_second": step.plan.global_batch / step.seconds, "mfu": step.mfu,
        "mfu_counts": MFU_COUNTS,
        "breakdown_seconds": {
            "slot": step.slot_seconds, "slots": step.slots, "gemms_per_slot":
            step.tensor_seconds, "other_engines_per_slot": step.engine_seconds,
            "tp_allreduce_per_slot": step.tp_seconds, "pp_send_per_slot": step.pp_seconds,
            "ep_alltoall_per_slot": step.ep_seconds,
            "bubble": step.bubble_seconds, "dp_reduction": step.dp_seconds,
            "dp_exposed": step.dp_exposed_seconds, "optimizer": step.optimizer_seconds}}


def _inference_config(plan, chips, lnc, length):
    """What an inference answer's band is checked against (``length``: ``context`` for decode,
    ``prompt`` for prefill)."""
    return {"chips": chips, "batch": plan.batch, length: plan.context, "lnc": lnc,
            "datatype": plan.datatype, "kv_datatype": plan.cache_datatype}


def _inference(step, answer, plan, unfit, figures):
    """The JSON of a prefill, decode or speculative answer: its band, plan and memory, then
    ``figures()`` when it fits, else each key of ``unfit`` None and why."""
    result = {"confidence": answer.as_dict(), "plan": asdict(plan), "fits": step.fits,
              "memory_bytes": {**asdict(step.memory), "total": step.memory.total}}
    if not step.fits:
        return result | dict.fromkeys(unfit) | {
            "reason": f"does not fit in HBM: {step.memory.describe()}"}
    return result | figures()


def _decode(step, confidence, system, lnc, dense=True):
    answer = confidence.answer("decode", system.chip, "seconds per token", step.seconds, "s",
                               config=_inference_config(step.plan, step.chips, lnc, "context"),
                               dense=dense)
    return {"replicas": step.replicas} | _inference(
        step, answer, step.plan, ("seconds_per_token", "tokens_per_second"), lambda: {
            "seconds_per_token": step.seconds, "tokens_per_second": step.tokens_per_second,
            "tokens_per_second_per_replica": step.tokens_per_second / step.replicas,
            "mappings": list(step.mappings), "fitted_seconds": step.fitted_seconds,
            "fitted_share": step.fitted_seconds / step.seconds,
            "breakdown_seconds": {"weight_gemms": step.gemm_seconds,
                                  "kv_cache": step.kv_seconds,
                                  "attention_softmax_unfused": step.softmax_seconds,
                                  "other_engines": step.engine_seconds,
                                  "other_engines_busy": step.engine_busy_seconds,
                                  "tp_allreduces": step.communication_seconds,
                                  "ep_alltoalls": step.alltoall_seconds}})


def _prefill(step, confidence, system, lnc, dense=True):
    answer = confidence.answer("prefill", system.chip, "seconds to first token", step.seconds,
                               "s", config=_inference_config(step.plan, step.chips, lnc,
                                                             "prompt"), dense=dense)
    return {"replicas": step.replicas} | _inference(
        step, answer, step.plan, ("seconds_to_first_token",), lambda: {
            "seconds_to_first_token": step.seconds,
            "prompt_tokens_per_second": step.tokens_per_second,
            "breakdown_seconds": {"compute": step.compute_seconds,
                                  "tp_allreduces_and_ep_alltoalls":
                                  step.communication_seconds,
                                  "first_decode_step": step.first_decode_seconds},
            "fitted_seconds": step.fitted_seconds,
            "fitted_share": step.fitted_seconds / step.seconds})


def _speculative(step, confidence, system, lnc, dense=True):
    plan = step.target.plan
    answer = confidence.answer(
        "decode", system.chip, "seconds per output token", step.seconds, "s",
        config=_inference_config(plan, step.target.chips, lnc, "context"), dense=dense)
    answer = replace(answer, reasons=answer.reasons + (
        "speculative decoding: no held-out row publishes its accepted length",))
    return {"draft": asdict(step.draft.plan), "speculation": step.k,
            "accepted": step.accepted} | _inference(
        step, answer, plan, ("seconds_per_token",), lambda: {
            "seconds_per_token": step.seconds, "tokens_per_second": step.tokens_per_second,
            "breakdown_seconds": {"draft_steps": step.k * step.draft.seconds,
                                  "verification": step.target.seconds}})


def _confidence_text(answer, scale=1.0, unit=None):
    """One line from an :meth:`Answer.as_dict`: the band in ``unit`` (values x ``scale``) and
    what it comes from, then each extrapolation reason."""
    parts = []
    band = answer["band"]
    if band is not None and answer["value"] is not None:
        parts.append(f"published figures would lie in {scale * answer['low']:.4g} to "
                     f"{scale * answer['high']:.4g} {unit or answer['unit']} "
                     f"({band['held_out_rows']} held-out {band['generation']} "
                     f"{'' if band['dense'] else 'mixture-of-experts '}{band['kind']} "
                     f"row{'s' if band['held_out_rows'] != 1 else ''}: errors "
                     f"{100 * band['lowest_error']:+.1f}% to "
                     f"{100 * band['highest_error']:+.1f}%, median |error| "
                     f"{100 * band['median_abs_error']:.1f}%)")
    parts += [f"extrapolated: {reason}" for reason in answer["extrapolation"]]
    return "; ".join(parts) or "no band"


def _ep(plan):
    """`` EP n`` for a plan with expert parallelism, else nothing."""
    return f" EP {plan['ep']}" if plan.get("ep", 1) > 1 else ""


def _text(result, specs, system):
    chip = specs.chip(system.chip)
    lines = [f"{system.name}: {number(system.chips.value)} x {chip.name}, LNC {result['lnc']} "
             f"({logical_cores_per_chip(chip)} logical cores per chip)", "peaks (model):"]
    lines += [f"  {datatype:6s} {si(system_peak(specs, system, datatype), 'FLOP/s')}"
              for datatype in datatypes(chip)]
    training, decode = result["training"], result["decode"]
    plan = training["plan"]
    lines.append(f"training {result['workload']}: TP {plan['tp']} PP {plan['pp']} DP "
                 f"{plan['dp']}{_ep(plan)} (logical cores), ZeRO-{plan['zero_stage']}, micro-batch "
                 f"{plan['micro_batch']}, global batch {plan['global_batch']} x "
                 f"{plan['sequence']} tokens, {plan['datatype']}"
                 f"{', recomputation' if plan['recompute'] else ''}")
    layout = training["layout"]
    best = layout["best"]
    lines.append(f"  layout: {layout['used']}; the best of {layout['fitting']} that fit "
                 f"({layout['tried']} tried, by {layout['ranked_by']}): TP {best['tp']} PP "
                 f"{best['pp']} DP {best['dp']}{_ep(best)}, global batch {best['global_batch']}"
                 + ("" if layout["best_mfu"] is None else
                    f", MFU {percent(layout['best_mfu'])}"))
    if training["fits"]:
        lines.append(f"  {number(training['step_seconds'])} s per step, "
                     f"{number(training['tokens_per_second'])} tokens/s, MFU "
                     f"{percent(training['mfu'])} (causal attention counted as timed)")
    else:
        lines.append(f"  {training['reason']}")
    lines.append(f"  confidence: {_confidence_text(training['confidence'])}")
    prefill = result["prefill"]
    plan = prefill["plan"]
    lines.append(f"prefill: TP {plan['tp']} x {prefill['replicas']} replicas, batch "
                 f"{plan['batch']}, prompt {plan['context']} tokens, {plan['datatype']}")
    if prefill["fits"]:
        lines.append(f"  {number(1e3 * prefill['seconds_to_first_token'])} ms to the first "
                     f"token, {number(prefill['prompt_tokens_per_second'])} prompt tokens/s; "
                     f"fitted parameters decide {percent(prefill['fitted_share'])} of it "
                     f"(prefill_efficiency, collective_seconds)")
    else:
        lines.append(f"  {prefill['reason']}")
    lines.append(f"  confidence: {_confidence_text(prefill['confidence'], 1e3, 'ms')}")
    plan = decode["plan"]
    lines.append(f"decode: TP {plan['tp']}{_ep(plan)} x {decode['replicas']} replicas, batch "
                 f"{plan['batch']}, context {plan['context']}, {plan['datatype']} weights, "
                 f"{plan['kv_datatype'] or plan['datatype']} KV cache")
    if decode["fits"]:
        lines.append(f"  {number(1e3 * decode['seconds_per_token'])} ms per token, "
                     f"{number(decode['tokens_per_second'])} tokens/s for the system, "
                     f"{number(decode['tokens_per_second_per_replica'])} per replica; "
                     f"the fitted collective_seconds is "
                     f"{percent(decode['fitted_share'])} of it")
    else:
        lines.append(f"  {decode['reason']}")
    if "layout" in decode:
        layout, best = decode["layout"], decode["layout"]["best"]
        lines.append(f"  layout: {layout['used']}; the best of {layout['fitting']} that fit "
                     f"({layout['tried']} tried, by {layout['ranked_by']}): " + (
                         "none" if best is None else
                         f"TP {best['tp']}{_ep(best)}, "
                         f"{number(1e3 * layout['best_seconds_per_token'])} ms per token"))
        if decode["fits"] and decode["breakdown_seconds"]["ep_alltoalls"]:
            lines.append(f"  EP all-to-alls {number(1e3 * decode['breakdown_seconds']['ep_alltoalls'])}"
                         f" ms at imbalance {decode['imbalance']:g} ({decode['alltoall_source']})")
    lines.append(f"  confidence: {_confidence_text(decode['confidence'], 1e3, 'ms')}")
    speculative = result.get("speculative")
    if speculative is not None:
        lines.append(f"speculative decode: draft {result['draft']} (TP "
                     f"{speculative['draft']['tp']}), {speculative['speculation']} draft tokens "
                     f"per round, {speculative['accepted']:g} kept")
        if speculative["fits"]:
            lines.append(f"  {number(1e3 * speculative['seconds_per_token'])} ms per output "
                         f"token, {number(speculative['tokens_per_second'])} tokens/s for the "
                         f"system")
        else:
            lines.append(f"  {speculative['reason']}")
        lines.append(f"  confidence: "
                     f"{_confidence_text(speculative['confidence'], 1e3, 'ms')}")
    calibration = result["calibration"]
    lines.append(f"collectives calibrated from: {calibration['fabric']}; fitted: " + ", ".join(
        f"{name} = {setting(name, value)}" for name, value in calibration["fitted"].items()))
    lines += [f"  {figure['system']} {figure['collective']} of {binary_bytes(figure['bytes'])}: "
              f"{si(figure['seconds'], 's')} ({figure['source']})"
              for figure in calibration["collectives"]]
    if system.chip in RTL_MODELLED_CHIPS:
        lines.append(f"{chip.name} MACs per PE per cycle from: "
                     f"{calibration['macs_per_pe_per_cycle']['source']}")
    else:
        lines.append(f"{chip.name} MACs per PE per cycle from: spec data (" + ", ".join(
            f"{datatype} {rate.value:g}"
            for datatype, rate in chip.core.macs_per_pe_per_cycle.items()) + ")")
    return "\n".join(lines)


def _expert_layout(specs, system, workload, step, search, calibration, assumptions, given):
    """A mixture of experts' decode: the EP used, where its all-to-all figure comes from, and
    the search's best layout beside it (empty for a dense workload)."""
    if search is None:
        return {}
    best = search.best
    tokens = step.plan.batch
    return {"alltoall_source": expert_alltoall_source(
                specs, system, workload, step.plan.tp, step.plan.ep, tokens, calibration,
                assumptions),
            "imbalance": assumptions.expert_imbalance,
            "layout": {"used": "given options" if given else "default TP, fastest EP at it",
                       "tried": search.tried, "fitting": search.fitting,
                       "ranked_by": "seconds per token, then tokens/s of the system",
                       "best": None if best is None else asdict(best.plan),
                       "best_seconds_per_token": None if best is None else best.seconds}}


def _collectives(specs, system, calibration, assumptions):
    """The collective figures of ``system``'s unit (instance or UltraServer) and where each
    comes from: measured on the RTL or extrapolated, and how far."""
    unit = unit_of(specs, system)
    return [{"system": unit.key, "collective": figure.collective, "bytes": figure.size_bytes,
             "seconds": figure.seconds, "source": figure.provenance.describe()}
            for figure in collective_figures(specs, [unit.key], calibration, assumptions)]


def answer(args):
    """The text (or JSON) that answers ``args``; raises SpecError for bad values."""
    spec_data = load_specs()
    rates, rates_sources, rates_files = _rates(args, spec_data)
    specs, workloads = with_measured_rates(spec_data, rates), load_workloads()
    if args.list:
        return _listing(specs, workloads, args.json)
    if args.measurements:
        return _measurements(specs, workloads, _calibration(args), args.json)
    if args.workload not in workloads:
        raise SpecError(f"--workload {args.workload}: unknown; allowed: {', '.join(workloads)}")
    if args.system not in specs.systems:
        raise SpecError(f"--system {args.system}: unknown; allowed: {', '.join(specs.systems)}")
    workload = workloads[args.workload]
    if args.sequence is not None:
        # The layout search runs at the sequence asked for: a layout that fits at the
        # workload's own length may not at a longer one.
        check_count("sequence", args.sequence)
        workload = replace(workload, sequence=args.sequence)
    calibration, assumptions = _calibration(args), Assumptions()
    if args.imbalance is not None:
        if not 1.0 <= args.imbalance <= 1e6:
            raise SpecError(f"--imbalance {args.imbalance:g}: must be from 1 to 1e6 (tokens on "
                            f"the busiest expert over the mean)")
        assumptions = replace(assumptions, expert_imbalance=args.imbalance)
    # How sure the answer is: every measurement row checked against the model (seconds of
    # work), so only once the plan and the steps have taken every value (a bad one is refused
    # at once); on the specs as measured, before --lnc rewrites them.
    measured_specs = specs
    base = specs.system(args.system)
    if args.lnc is not None:
        specs = with_logical_cores(specs, base.chip, args.lnc)
    system = system_of_chips(specs, base, base.chips.value if args.chips is None
                             else args.chips)
    lnc = int(specs.chip(system.chip).core.logical_core_size.value)
    search = best_training_plan(specs, system, workload, calibration, assumptions)
    plan = _plan(args, specs, system, workload, calibration, assumptions, search)
    training = training_step(specs, system, workload, calibration, assumptions, plan)
    decode_options = {"context": args.context, "kv_datatype": args.kv_datatype,
                      "datatype": args.datatype or assumptions.decode_datatype}
    decode_search = None
    if workload.moe:
        decode_search = best_decode_plan(specs, system, workload, args.batch, calibration,
                                         assumptions, tp=args.decode_tp, ep=args.decode_ep,
                                         **decode_options)
        decode = decode_search.step
    else:
        decode = decode_step(specs, system, workload, args.batch, calibration, assumptions,
                             tp=args.decode_tp, ep=args.decode_ep or 1, **decode_options)
    prefill = prefill_step(specs, system, workload,
                           workload.decode_context if args.prompt is None else args.prompt,
                           args.batch, calibration, assumptions, tp=decode.plan.tp,
                           datatype=args.datatype or assumptions.decode_datatype,
                           kv_datatype=args.kv_datatype, ep=decode.plan.ep)
    speculative = None
    if args.draft is not None:
        if args.draft not in workloads:
            raise SpecError(f"--draft {args.draft}: unknown; allowed: {', '.join(workloads)}")
        if args.accepted is None:
            raise SpecError("--draft: needs --accepted, the mean tokens kept per round")
        speculative = speculative_step(
            specs, system, workload, workloads[args.draft], args.batch, args.speculation,
            args.accepted, calibration, assumptions, tp=args.decode_tp, context=args.context,
            datatype=args.datatype or assumptions.decode_datatype, kv_datatype=args.kv_datatype)
    confidence = assess(measured_specs, workloads, calibration, assumptions)
    dense = not workload.moe
    result = {"system": system.key, "chips": int(system.chips.value),
              "workload": workload.key,
              "lnc": lnc,
              "training": _training(training, confidence, system, lnc, dense) | {
                  "layout": _layout(search, plan)},
              "prefill": _prefill(prefill, confidence, system, lnc, dense),
              "decode": _decode(decode, confidence, system, lnc, dense) | _expert_layout(
                  specs, system, workload, decode, decode_search, calibration, assumptions,
                  args.decode_tp is not None or args.decode_ep is not None),
              **({} if speculative is None else {
                  "draft": args.draft,
                  "speculative": _speculative(speculative, confidence, system, lnc, dense)}),
              "calibration": {"fabric": calibration.source,
                              "collectives": _collectives(specs, base, calibration,
                                                          assumptions),
                              **({} if base.chip not in RTL_MODELLED_CHIPS else {
                                  "macs_per_pe_per_cycle": {
                                      "chip": base.chip, "source": rates_sources[base.chip],
                                      "rates": _rates_used(spec_data, measured_specs,
                                                           base.chip, rates, rates_files)}}),
                              "fitted": {name: getattr(assumptions, name) for name in FITTED},
                              "assumptions": {item.name: getattr(assumptions, item.name)
                                              for item in fields(assumptions)}}}
    return json.dumps(result, indent=1) if args.json else _text(result, specs, system)


def main(argv=None):
    """Answer the command line ``argv``; 0 on success (also when the reader of the output has
    gone, ``| head``), 2 for a bad value (one line on stderr), 130 when interrupted."""
    args = _arguments(argv)
    try:
        print(answer(args), flush=True)
    except BrokenPipeError:
        # The reader closed the pipe (``| head``): nothing more to say, and nothing left to
        # flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        return 0
    except (SpecError, ResultsError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
