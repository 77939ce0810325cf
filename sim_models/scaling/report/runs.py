"""Every model run the scaling report shows, computed once: the renderers (the other modules of
this package) only turn these numbers into tables, prose and plots.

Units follow the models: seconds, FLOP/s, bytes, bytes/s; tokens/s for throughputs.
"""

import sys
from dataclasses import dataclass, replace

from ..assumptions import Assumptions
from ..calibration import check_rows
from ..characterization import allreduce_checks, chip_rates, tile_checks
from ..claims import ModelContext, claims, largest_run, systolic_accesses_per_mac
from ..comparisons import compare_all
from ..confidence import Confidence
from ..core_cycles import core_tile, tile_cycles
from ..decode import decode_step
from ..formatting import compact, number
from ..gaps import load_gaps
from ..gemm import chip_gemm
from ..measurements import load_measurements
from ..network import FabricCalibration, collective_figures
from ..parallel import system_of_chips
from ..peak import chip_peak, with_measured_rates
from ..prefill import prefill_step
from ..training import training_step
from ..workloads import load_workloads
from ...specs import SpecError, load_specs

__all__ = ["ANSWER_SYSTEMS", "ANSWER_WORKLOAD", "CLUSTER_UNITS", "DECODE_BATCHES",
           "DECODE_SYSTEMS", "INFERENCE_BATCH", "REPORT_WORKLOADS", "ROOFLINE_DATATYPE",
           "ReportRuns", "SystemAnswers", "ULTRASERVERS", "UTILIZATION_K", "WORKLOAD_SYSTEMS",
           "run_models"]

#: The systems of the report's first screen: Trainium2's instance and UltraServer, Trainium3's
#: UltraServers (the spec data holds no Trainium3 instance: AWS has published none).
ANSWER_SYSTEMS = ("trn2-instance", "trn2-ultraserver", "trn3-gen1-ultraserver",
                  "trn3-gen2-ultraserver")
#: The representative job of the first screen: its training step in the layout the model
#: picks, and its inference at :data:`INFERENCE_BATCH` with a prompt and a context of the
#: workload's decode context.
ANSWER_WORKLOAD = "llama3-70b"
#: Sequences per TP group of the first screen's inference: one user, the latency case.
INFERENCE_BATCH = 1

#: The UltraServers of the collectives table.
ULTRASERVERS = ("trn2-ultraserver", "trn3-gen1-ultraserver", "trn3-gen2-ultraserver")
#: Systems of the workload tables.
WORKLOAD_SYSTEMS = ("trn1-instance", "trn2-instance", "trn2-ultraserver", "trn2-ultracluster",
                    "trn3-gen1-ultraserver", "trn3-gen2-ultraserver", "trn3-ultracluster")
#: Workloads of the training table: the models the report studies (the others of
#: workloads.toml are there for AWS's measurements or as a speculative-decoding draft).
REPORT_WORKLOADS = ("llama3-8b", "llama3-70b", "llama3-405b", "llama2-7b")
#: Units (UltraServers) of the clusters of the scaling curves beyond the published systems.
CLUSTER_UNITS = (4, 16, 64, 256)
#: Decode batches of the decode table.
DECODE_BATCHES = (1, 64)
#: (system, workload) of the decode table.
DECODE_SYSTEMS = (("trn2-instance", "llama3-8b"), ("trn2-instance", "llama3-70b"),
                  ("trn2-ultraserver", "llama3-70b"), ("trn3-gen1-ultraserver", "llama3-70b"))
#: Datatype of the rooflines.
ROOFLINE_DATATYPE = "bf16"
#: Contraction sizes K of the utilization curves (M = 128, N swept).
UTILIZATION_K = (128, 256, 512, 4096)
#: Moving free sizes N of the utilization curves.
UTILIZATION_N = tuple(2 ** power for power in range(4, 14))


@dataclass(frozen=True)
class SystemAnswers:
    """The first screen's answers for one system, each a
    :class:`~sim_models.scaling.confidence.Answer` (value, band, extrapolation).

    Members
    -------
    system : System
    training : TrainingStep
        The representative training step (its layout, tokens per step).
    tokens_per_chip, mfu : Answer
        Training tokens/s per chip and MFU (a fraction); the training band applies to both,
        which are proportional to the step's sequences/s.
    ttft : Answer
        Time to first token, s (:mod:`..prefill`).
    per_token : Answer
        Time per output token, s.
    """
    system: object
    training: object
    tokens_per_chip: object
    mfu: object
    ttft: object
    per_token: object


@dataclass(frozen=True)
class ReportRuns:
    """What the report shows, computed.

    Members
    -------
    inputs : dict of str to ReportInput
        The results files read, by kind (:func:`..inputs.read_inputs`).
    spec_data, specs : Specs
        The spec data as loaded, and with the RTL-measured MACs per PE per cycle substituted.
    rates : dict of str to dict of str to MeasuredRate
        The RTL-measured rates, by chip (each measured on that chip's tile), then by datatype.
    workloads : dict of str to Transformer
    gaps : dict
        Explanations of published figures the model does not reach (:mod:`..gaps`).
    calibration : FabricCalibration
    assumptions : Assumptions
    context : ModelContext
        What the claims' metrics use; ``context.tile_checks`` are all RTL tile runs.
    comparisons : tuple of Comparison
        Every published headline figure beside the model.
    claims : tuple of Claim
    accesses_run : TileCheck
        The largest RTL run; ``accesses_per_mac`` its tile-port elements per MAC (claim C12).
    fabric_checks : tuple of AllReduceCheck
    measured : tuple of (MeasurementRow, CalibrationCheck)
        AWS's published workload measurements and the model's answer to each.
    steps : dict of (system key, workload key) to TrainingStep
    decodes : dict of (system key, workload key, batch) to DecodeStep
    scaling : list of (panel title, {series label: [(chips, tokens/s per chip, system name,
            layout, tokens per step per chip)]})
        Training throughput from an instance to the largest cluster; unfit layouts left out.
    utilization_tile : TileConfig
        The core's tile of the utilization curves.
    utilization : dict of str to (list of N, list of utilization in 0..1)
        The cycle model's utilization of ``utilization_tile`` at M = 128, by K.
    roofline : list of dict
        Per chip: ``name``, ``peak`` (FLOP/s), ``bandwidth`` (bytes/s), ``points`` (label,
        FLOP per HBM byte, achieved FLOP/s).
    generations : list of (metric, unit, SI units per unit, Trainium2, Trainium3, why)
    answers : tuple of SystemAnswers
        The first screen, one per system of :data:`ANSWER_SYSTEMS`.
    collectives : tuple of CollectiveFigure
        The UltraServers' all-reduce and all-to-all figures and how far each extrapolates
        from the RTL (:func:`..network.collective_figures`).
    """
    inputs: dict
    spec_data: object
    specs: object
    rates: dict
    workloads: dict
    gaps: dict
    calibration: object
    assumptions: Assumptions
    context: ModelContext
    comparisons: tuple
    claims: tuple
    accesses_run: object
    accesses_per_mac: float
    fabric_checks: tuple
    measured: tuple
    steps: dict
    decodes: dict
    scaling: list
    utilization_tile: object
    utilization: dict
    roofline: list
    generations: list
    answers: tuple
    collectives: tuple = ()


def _scaling_points(specs, family, workload, calibration, assumptions):
    """(chips, tokens/s per chip, system name, layout, tokens per step per chip) from the
    family's instance to its largest system: the instance, the UltraServer, clusters of
    UltraServers on the UltraCluster's network and the UltraCluster, each in the layout the
    model picks; layouts that do not fit in HBM are left out."""
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
    return [(step.chips, step.tokens_per_second / step.chips, system.name,
             f"TP {step.plan.tp}, PP {step.plan.pp}", step.tokens // step.chips)
            for system, step in zip(variants, steps) if step.fits]


def _scaling(specs, workloads, calibration, assumptions):
    panels = []
    for family in ("trn2", "trn3"):
        for key in ("llama3-8b", "llama3-70b"):
            series = {}
            for overlap, label in ((True, "communication overlapped with the backward pass"),
                                   (False, "communication after the backward pass")):
                # Weak scaling: every chip keeps the workload's sequences per step, so the
                # batch cap that the other answers take (max_tokens_per_step) is lifted here.
                series[label] = _scaling_points(
                    specs, family, workloads[key], calibration,
                    replace(assumptions, overlap_with_backward=overlap,
                            max_tokens_per_step=sys.maxsize))
            panels.append((f"{specs.chip(family).name}, {workloads[key].name}", series))
    return panels


def _utilization(config):
    return {f"M=128, K={k}": (list(UTILIZATION_N), [
        128 * k * n / (config.rows * config.cols * tile_cycles(config, 128, k, n))
        for n in UTILIZATION_N]) for k in UTILIZATION_K}


def _roofline(specs, workload):
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
    return panels


def _peak_terms(chip, datatype):
    """Cores, clock (GHz) and MACs per PE per cycle of ``chip``'s ``datatype`` peak, in words."""
    core = chip.core
    return (f"{int(chip.cores.value)} cores x {int(core.array_rows.value)} x "
            f"{int(core.array_cols.value)} at {compact(core.clock.value / 1e9)} GHz x "
            f"{number(core.macs_per_pe_per_cycle[datatype].value)} MACs per PE per cycle")


def _training_terms(step):
    return (f"TP {step.plan.tp}, PP {step.plan.pp}, MFU {100 * step.mfu:.1f}%, "
            f"{number(step.exposed_seconds / step.seconds * 100, 2)}% of the step exposed "
            f"communication")


def _group(step):
    """Logical cores of one model replica of a training step: TP x PP."""
    return step.plan.tp * step.plan.pp


def _decode_terms(step):
    return (f"TP {step.plan.tp}: weight GEMMs {number(1e3 * step.gemm_seconds)} ms, KV cache "
            f"{number(1e3 * step.kv_seconds)} ms, all-reduces "
            f"{number(1e3 * step.communication_seconds)} ms per token")


def _generations(specs, steps, decodes):
    """Trainium2 against Trainium3: (metric, unit, SI units per unit, Trainium2, Trainium3,
    why) per metric, ``why`` the model's terms that make the ratio."""
    trn2, trn3 = specs.chip("trn2"), specs.chip("trn3")
    systems = {"trn2": "trn2-ultraserver", "trn3": "trn3-gen1-ultraserver"}
    training = {key: steps[system, "llama3-70b"] for key, system in systems.items()}
    per_chip = {key: step.tokens_per_second / step.chips for key, step in training.items()}
    decode = {key: decodes[system, "llama3-70b", 1] for key, system in systems.items()}
    same = "the spec data's figure per chip"
    return [
        ("BF16 peak per chip", "TFLOP/s", 1e12, chip_peak(trn2, "bf16"),
         chip_peak(trn3, "bf16"),
         f"Trn2 {_peak_terms(trn2, 'bf16')}; Trn3 {_peak_terms(trn3, 'bf16')}"),
        ("densest 8-bit peak per chip (FP8 / MXFP8)", "TFLOP/s", 1e12, chip_peak(trn2, "fp8"),
         chip_peak(trn3, "mxfp8"),
         f"Trn2 FP8 double-row, {_peak_terms(trn2, 'fp8')}; Trn3 MXFP8, "
         f"{_peak_terms(trn3, 'mxfp8')}"),
        ("HBM bandwidth per chip", "TB/s", 1e12, trn2.hbm_bandwidth.value,
         trn3.hbm_bandwidth.value, same),
        ("HBM capacity per chip", "GiB", 2 ** 30, trn2.hbm_capacity.value,
         trn3.hbm_capacity.value, same),
        ("SBUF per chip", "MiB", 2 ** 20, trn2.cores.value * trn2.core.sbuf.value,
         trn3.cores.value * trn3.core.sbuf.value, "cores x SBUF per core"),
        ("chip-to-chip bandwidth per chip", "TB/s", 1e12, trn2.link_bandwidth.value,
         trn3.link_bandwidth.value, same),
        ("70B training per chip (64-chip UltraServer)", "tokens/s", 1, per_chip["trn2"],
         per_chip["trn3"],
         f"Trn2 {_training_terms(training['trn2'])}; Trn3 {_training_terms(training['trn3'])}"
         + ("; the smaller model-parallel group fits in Trn3's larger HBM"
            if _group(training["trn3"]) < _group(training["trn2"]) else "")),
        ("70B decode, batch 1 (64-chip UltraServer)", "tokens/s", 1,
         decode["trn2"].tokens_per_second, decode["trn3"].tokens_per_second,
         f"Trn2 {_decode_terms(decode['trn2'])}; Trn3 {_decode_terms(decode['trn3'])}"),
    ]


def _answers(specs, workloads, calibration, assumptions, confidence):
    """The first screen's :class:`SystemAnswers` of every system of :data:`ANSWER_SYSTEMS`."""
    workload = workloads[ANSWER_WORKLOAD]
    answers = []
    for key in ANSWER_SYSTEMS:
        system = specs.system(key)
        chip = system.chip
        step = training_step(specs, system, workload, calibration, assumptions)
        shape = {"chips": step.chips, "sequence": step.plan.sequence}
        tokens = confidence.answer(
            "training", chip, "training tokens/s per chip",
            step.tokens_per_second / step.chips if step.fits else None, "tokens/s",
            config=shape)
        mfu = confidence.answer("training", chip, "MFU", step.mfu if step.fits else None, "",
                                config=shape)
        context = workload.decode_context
        decode = decode_step(specs, system, workload, INFERENCE_BATCH, calibration, assumptions,
                             context=context)
        per_token = confidence.answer(
            "decode", chip, "time per output token", decode.seconds if decode.fits else None,
            "s", config={"chips": decode.chips, "batch": INFERENCE_BATCH, "context": context})
        prefill = prefill_step(specs, system, workload, context, INFERENCE_BATCH, calibration,
                               assumptions)
        ttft = confidence.answer(
            "prefill", chip, "time to first token", prefill.seconds if prefill.fits else None,
            "s", config={"chips": prefill.chips, "batch": INFERENCE_BATCH, "prompt": context})
        answers.append(SystemAnswers(system, step, tokens, mfu, ttft, per_token))
    return tuple(answers)


def run_models(inputs, spec_data=None, assumptions=None):
    """Run every model the report shows on ``inputs`` (by kind, from :func:`..inputs.read_inputs`).

    ``spec_data`` and ``assumptions`` default to the project's spec data and
    :class:`Assumptions` (its fitted fields hold the calibration's result). The floating-point
    tile's steady-state MACs per PE per cycle replace the spec's for the chips the RTL models,
    each chip's from its own tile (:func:`..peak.with_measured_rates`).

    Raises
    ------
    SpecError
        If the floating-point tile characterization given measures no floating-point rate.

    Returns
    -------
    ReportRuns
    """
    assumptions = assumptions or Assumptions()
    spec_data = spec_data or load_specs()
    workloads = load_workloads()
    fabric = inputs["fabric"].document
    calibration = FabricCalibration.from_document(fabric, inputs["fabric"].verdict.path)
    checks = tuple(check for result in inputs.values()
                   if result.kind != "fabric" and result.document
                   for check in tile_checks(result.document))
    rates = chip_rates(checks)
    if not chip_rates(tile_checks(inputs["float"].document)):
        raise SpecError(f"--float {inputs['float'].verdict.path}: holds no GEMM pair to measure "
                        f"a floating-point MACs per PE per cycle from; allowed: a floating-point "
                        f"tile characterization (make characterize-tile writes one)")
    specs = with_measured_rates(spec_data, rates)
    context = ModelContext(specs, workloads, calibration, assumptions, checks)
    steps = {(key, name): training_step(specs, specs.system(key), workloads[name], calibration,
                                        assumptions)
             for key in WORKLOAD_SYSTEMS for name in REPORT_WORKLOADS}
    decodes = {(key, name, batch): decode_step(specs, specs.system(key), workloads[name],
                                               batch, calibration, assumptions)
               for key, name in DECODE_SYSTEMS for batch in DECODE_BATCHES}
    measurements = {row.key: row for row in load_measurements()}
    measured = tuple((measurements[check.key], check)
                     for check in check_rows(specs, workloads, calibration, assumptions,
                                             tuple(measurements.values())))
    confidence = Confidence.from_checks(specs, [check for _, check in measured],
                                        tuple(measurements.values()))
    run = largest_run(checks)
    tile = core_tile(specs.chip("trn2").core)
    return ReportRuns(
        inputs=inputs, spec_data=spec_data, specs=specs, rates=rates, workloads=workloads,
        gaps=load_gaps(), calibration=calibration, assumptions=assumptions, context=context,
        comparisons=tuple(compare_all(specs)), claims=tuple(claims(context)), accesses_run=run,
        accesses_per_mac=systolic_accesses_per_mac(run),
        fabric_checks=tuple(allreduce_checks(fabric)), measured=measured, steps=steps,
        decodes=decodes, scaling=_scaling(specs, workloads, calibration, assumptions),
        utilization_tile=tile, utilization=_utilization(tile),
        roofline=_roofline(specs, workloads["llama3-70b"]),
        generations=_generations(specs, steps, decodes),
        answers=_answers(specs, workloads, calibration, assumptions, confidence),
        collectives=collective_figures(specs, ULTRASERVERS, calibration, assumptions))
