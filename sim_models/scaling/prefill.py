"""Prefill: the forward pass over a prompt that ends in the first generated token (time to
first token, TTFT).

A TP group of ``tp`` logical cores (the system's other cores run replicas, as in decode) takes
``batch`` prompts of ``prompt`` tokens each through one forward pass, timed by the mechanisms of
a training step's forward pass (:mod:`.training`):

- the weight GEMMs of every prompt token, timed by :func:`~sim_models.scaling.gemm.chip_gemm`
  (cycle model and HBM roofline), the cycle model's rate at the fitted
  ``Assumptions.prefill_efficiency``; the fused attention GEMMs halved by causal skipping,
  except where attention is unfused (``Assumptions.unfused_attention_chips``): Transformers
  NeuronX's context encoding writes the score GEMM over every position of the prompt and masks
  its result (``layers/attention_hsb.py``: ``score``, then ``mask``), so both attention GEMMs
  cover the whole square;
- the Vector/Scalar/GpSimd work of every layer (:mod:`.engines`, causal mask applied),
  overlapped with the GEMMs when ``Assumptions.engines_overlap``;
- two TP all-reduces of the layer output per layer, of every prompt token;
- a mixture of experts: the routed experts as NxD Inference's context encoding runs them
  (:func:`~sim_models.scaling.training.prefill_expert_mode`): selectively below one routed
  row per expert, every expert over every token while the routed rows fill less than one
  block, else blockwise (:func:`~sim_models.scaling.training.expert_blocks`: blocks of
  ``Assumptions.prefill_expert_block_tokens`` rows of one expert each, sized at compile time
  for the worst routing and computed in full), and, with expert parallelism, two all-to-alls
  per MoE layer (as decode);
- the LM head on each prompt's last token only (the first generated token);
- on a chip of ``Assumptions.unfused_attention_chips``, the attention's softmax instruction by
  instruction (:func:`~sim_models.scaling.engines.unfused_softmax_seconds`): every prompt
  token's row of scores over the whole prompt (XLA computes the masked half too), 128 rows per
  instruction, and, when a layer's scores do not fit in a core's SBUF, their trips through HBM
  (:func:`~sim_models.scaling.engines.unfused_scores_traffic`); each unfused operation waits
  for the one before it, so this time adds to the layer's GEMMs;
- ``Assumptions.ttft_decode_steps`` decode steps at the prompt's context
  (:func:`~sim_models.scaling.decode.decode_step`), which AWS's TTFT counts.

The weights and the prompts' KV cache must fit (:func:`~sim_models.scaling.memory.
decode_memory` at a context of ``prompt`` tokens); a plan that does not is returned with
``fits`` False and no time.
"""

from dataclasses import dataclass

from .decode import decode_step, inference_setup, unfused_softmax_instructions
from .engines import layer_work, unfused_scores_traffic, unfused_softmax_seconds
from .memory import when_fits
from .parallel import DecodePlan
from .training import (ACTIVATION_BYTES, engine_combined, expert_alltoall_seconds,
                       pass_seconds, prefill_expert_mode, stage_gemms, tp_allreduce_seconds)
from .workloads import Gemm

__all__ = ["PrefillStep", "prefill_step"]


@dataclass(frozen=True)
class PrefillStep:
    """One prefill; times in seconds (None when ``fits`` is False).

    Members
    -------
    system : str
    chips : int
    plan : DecodePlan
        ``tp``, ``batch`` (prompts per TP group), ``context`` (the prompt, tokens) and
        ``datatype``.
    memory : MemoryUse
    replicas : int
        TP groups the system runs at once.
    compute_seconds : float or None
        GEMMs and the other engines (overlapped or added).
    softmax_seconds : float or None
        The unfused attention softmax and its scores' trips through HBM (part of
        ``compute_seconds``; 0 where attention is fused).
    first_decode_seconds : float or None
        The decode steps AWS's TTFT counts (``Assumptions.ttft_decode_steps``).
    communication_seconds : float or None
        The TP all-reduces.
    fitted_seconds : float or None
        The part of the prefill the fitted parameters decide: the Tensor Engine time lost to
        ``Assumptions.prefill_efficiency`` and one ``collective_seconds`` per all-reduce (the
        decode steps' included).
    """
    system: str
    chips: int
    plan: DecodePlan
    memory: object
    replicas: int
    compute_seconds: object
    communication_seconds: object
    fitted_seconds: object
    softmax_seconds: object = None
    first_decode_seconds: object = None

    @property
    def fits(self):
        return self.memory.fits

    @when_fits
    def seconds(self):
        """Seconds from the prompts to their first generated tokens (TTFT)."""
        return self.compute_seconds + self.communication_seconds + self.first_decode_seconds

    @when_fits
    def tokens_per_second(self):
        """Prompt tokens per second, whole system (every replica)."""
        return self.replicas * self.plan.batch * self.plan.context / self.seconds


def prefill_step(specs, system, workload, prompt, batch, calibration, assumptions, tp=None,
                 datatype=None, kv_datatype=None, ep=1):
    """Time the prefill of ``batch`` prompts of ``prompt`` tokens per TP group.

    ``tp`` (logical cores) and ``datatype`` default to
    :func:`~sim_models.scaling.decode.default_decode_tp` and ``Assumptions.decode_datatype``;
    ``kv_datatype`` (the cache the prompt fills) to ``datatype``.

    Raises
    ------
    SpecError
        If the plan cannot run on the system (one line, as for decode; ``--context`` there
        is the prompt here).

    Returns
    -------
    PrefillStep
    """
    workload = workload.padded_for(tp)
    plan, chip, chips, cores, replicas, memory = inference_setup(
        specs, system, workload, tp, batch, prompt, datatype, kv_datatype, assumptions, ep)
    if not memory.fits:
        return PrefillStep(system.key, chips, plan, memory, replicas, None, None, None)
    tokens = plan.batch * plan.context
    mode = prefill_expert_mode(workload, tokens, plan.ep, assumptions.prefill_expert_block_tokens)
    gemms, head = stage_gemms(workload, plan.tp, cores, tokens, plan.batch, workload.layers,
                              plan.ep, assumptions.expert_imbalance,
                              assumptions.prefill_expert_block_tokens if mode == "blockwise"
                              else None, mode == "all experts")
    last_tokens = Gemm(head.name, head.m, head.k, plan.batch, head.count)
    unfused = chip.key in assumptions.unfused_attention_chips
    tensor = pass_seconds(chip, gemms + [last_tokens], plan.datatype, assumptions,
                          assumptions.prefill_efficiency, causal_skip=not unfused)
    lost = tensor - pass_seconds(chip, gemms + [last_tokens], plan.datatype, assumptions,
                                 causal_skip=not unfused)
    share = cores / plan.tp
    engines = layer_work(workload, tokens, plan.context / 2, True).scaled(
        workload.layers * share).seconds(chip)
    softmax = 0.0
    if unfused:
        rows = plan.batch * max(1, workload.heads // plan.tp) * plan.context
        spill = workload.layers * unfused_scores_traffic(chip, rows, plan.context) * \
            cores / (chip.hbm_bandwidth.value * assumptions.hbm_efficiency)
        softmax = spill + unfused_softmax_seconds(
            chip, unfused_softmax_instructions(workload, plan, workload.layers, plan.context),
            plan.context)
    compute = engine_combined(tensor, engines, assumptions) + softmax
    output = tokens * workload.hidden * ACTIVATION_BYTES * cores / min(plan.tp, cores)
    collectives = 2 * workload.layers if plan.tp > 1 else 0
    communication = collectives * tp_allreduce_seconds(
        specs, system, plan.tp, output, calibration, assumptions)
    alltoalls = 2 * workload.moe_layers if plan.ep > 1 else 0
    communication += alltoalls * expert_alltoall_seconds(
        specs, system, workload, plan.tp, plan.ep, tokens, calibration, assumptions)
    decoding = fitted = 0.0
    if assumptions.ttft_decode_steps:
        first = decode_step(specs, system, workload, plan.batch, calibration, assumptions,
                            tp=plan.tp, context=plan.context, datatype=plan.datatype,
                            kv_datatype=plan.kv_datatype, ep=plan.ep)
        decoding = assumptions.ttft_decode_steps * first.seconds
        fitted = assumptions.ttft_decode_steps * first.fitted_seconds
    return PrefillStep(system.key, chips, plan, memory, replicas, compute, communication,
                       lost + (collectives + alltoalls) * assumptions.collective_seconds
                       + fitted, softmax, decoding)
