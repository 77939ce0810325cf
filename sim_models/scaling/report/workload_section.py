"""The report's workload answers: the training step of every system and workload, the scaling
curves from an instance to the largest cluster, decode, and Trainium3 against Trainium2."""

from .. import plots
from ..formatting import number, percent, ratio

__all__ = ["workload_section"]


def _training_table(document, runs):
    """The training step of every (system key, workload key); a layout that does not fit in
    HBM is shown with its memory and no time."""
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
    for (system, workload), step in runs.steps.items():
        plan, fits = step.plan, step.fits
        rows.append([runs.specs.system(system).name, runs.workloads[workload].name,
                     number(step.chips), f"TP {plan.tp}, PP {plan.pp}, DP {number(plan.dp)}",
                     number(step.tokens), number(step.memory.total / 2 ** 30),
                     "yes" if fits else "no",
                     *([number(step.seconds), number(step.compute_seconds),
                        number(step.exposed_seconds), number(step.achieved_flops / 1e15),
                        percent(step.mfu)] if fits else ["-"] * 5)])
    document.table(["system", "workload", "chips", "layout (cores)", "tokens per step",
                    "HBM per chip (GiB)", "fits", "step (s)", "compute (s)",
                    "exposed communication (s)", "achieved PFLOP/s", "MFU"], rows,
                   numeric=(2, 4, 5, 7, 8, 9, 10, 11))


def _decode_table(document, runs):
    document.paragraph(
        f"Decode, BF16 weights and KV cache, context "
        f"{number(next(iter(runs.workloads.values())).decode_context)} tokens, tensor parallel "
        f"over the largest group of logical cores the heads allow (replicas beyond it), each "
        f"weight GEMM in the cheaper mapping (weights or tokens stationary).")
    rows = []
    for (system, workload, _), step in runs.decodes.items():
        rows.append([runs.specs.system(system).name, runs.workloads[workload].name,
                     number(step.plan.batch), number(step.chips), number(step.plan.tp),
                     number(step.memory.total / 2 ** 30), "yes" if step.fits else "no",
                     *([number(1e3 * step.gemm_seconds), number(1e3 * step.kv_seconds),
                        number(1e3 * step.communication_seconds),
                        number(1e3 * step.seconds), number(step.tokens_per_second)]
                       if step.fits else ["-"] * 5)])
    document.table(["system", "workload", "batch", "chips", "TP (cores)",
                    "HBM per chip (GiB)", "fits", "weight GEMMs (ms)", "KV cache (ms)",
                    "all-reduces (ms)", "per token (ms)", "tokens/s"], rows,
                   numeric=(2, 3, 4, 5, 7, 8, 9, 10, 11))


def _generations(document, runs, out):
    rows = runs.generations
    plots.generations(out / "trn2_vs_trn3.png",
                      [(name, old, new) for name, _, _, old, new, _ in rows])
    document.image("trn2_vs_trn3.png", "Where does Trainium3 improve on Trainium2, and by how "
                   "much? Trainium3 over Trainium2 per metric, from the model and the spec "
                   "data (1 = no change). Why each bar is as long as it is: " + " ".join(
                       f"{name}: {new / old:.2f}x ({why})." for name, _, _, old, new, why
                       in rows))
    document.table(["metric", "unit", "Trainium2", "Trainium3", "Trn3 / Trn2", "why"],
                   [[name, unit, number(old / scale), number(new / scale), ratio(new / old),
                     why] for name, unit, scale, old, new, why in rows], numeric=(2, 3, 4))


def workload_section(document, runs, out):
    """Add the training, scaling, decode and generation answers of ``runs`` (ReportRuns),
    drawing ``scaling.png`` and ``trn2_vs_trn3.png`` into ``out``."""
    document.heading("Workloads: training step, scaling and decode")
    _training_table(document, runs)
    plots.scaling(out / "scaling.png", runs.scaling)
    document.image("scaling.png", "How much training throughput does each chip keep from an "
                   "instance to the largest cluster? Tokens/s per chip against chips (log "
                   "scale) at a fixed number of tokens per step per chip (the global batch "
                   "grows with the cluster: weak scaling, so a flat line means no loss), each "
                   "system in the layout the model picks, one panel per chip and workload; "
                   "solid: the data-parallel gradient reduction overlapped with the backward "
                   "pass, dashed: after it. The layout (TP, PP in logical cores) is written "
                   "where it changes: a step in a line is a change of layout")
    _decode_table(document, runs)
    _generations(document, runs, out)
