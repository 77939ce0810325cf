"""A decode step: one new token for each of ``batch`` sequences of a tensor-parallel group.

The group of ``tp`` logical cores holds the weights (Megatron split, as in training) and the KV
cache (:mod:`.memory`); the system's other cores run replicas of the group. Per step, one chip:

- weight GEMMs with ``batch`` tokens: each GEMM is mapped the cheaper of two ways, as a compiler
  chooses at small batch: weights stationary and tokens moving (``out[M, batch]``), or tokens
  stationary and the weights streamed as the moving operand (``out[batch, M]``), each timed by
  :func:`~sim_models.scaling.gemm.chip_gemm` (cycle model and HBM roofline); at batch 1 the
  weights' HBM traffic decides: decode is HBM bound where it should be;
- attention: the KV cache read at ``hbm_efficiency`` of the HBM peak, or the attention GEMMs'
  compute if longer, each sequence's GEMMs timed by the cycle model at their own small shapes
  (:func:`attention_gemms`: a few query rows against the context);
- on a chip of ``Assumptions.unfused_attention_chips``, the attention's softmax instruction by
  instruction (:func:`~sim_models.scaling.engines.unfused_softmax_seconds`): per layer, the
  core's query rows (every sequence and head) on the partitions and the context along the
  free axis, after the scores and before the values (:func:`unfused_softmax_instructions`);
- the Vector/Scalar work of every layer (:mod:`.engines`), overlapped with the GEMMs: the
  per-token work (norms and residual adds over the whole hidden vector on every TP rank, the
  rest split) with the step's tokens on the partitions, at the engines' published rates times
  the filled share of the 128 partitions (1/128 at batch 1), the fused softmax at full rate;
- two TP all-reduces of the layer output per layer and one for the LM head's logits;
- a mixture of experts: the router, shared and routed expert GEMMs at the tokens each expert
  receives (:func:`~sim_models.scaling.training.expert_gemms`: at small batch only the experts
  the tokens reach are read, each a small-M GEMM bounded by HBM; once the step's routed rows
  reach the experts, every expert over every token, as NxD Inference switches from selective
  loading to its all-experts pass, :func:`~sim_models.scaling.training.loads_all_experts`),
  and with expert parallelism
  two all-to-alls (dispatch and combine) per MoE layer on the system's topology
  (:func:`~sim_models.scaling.training.expert_alltoall_seconds`).

A plan whose weights and KV cache do not fit is returned with ``fits`` False and no time. Every
figure is a closed form in the batch: the cycle model extends long GEMMs from short ones.
"""

import math
from dataclasses import dataclass

from ..specs import SpecError
from .engines import (PARTITIONS, attention_work, replicated_work, token_work,
                      unfused_softmax_seconds)
from .gemm import chip_gemm
from .memory import decode_memory, when_fits
from .parallel import (DecodePlan, check_decode_plan, divisors, logical_cores_per_chip,
                       unit_of)
from .datatypes import element_bytes
from .training import (ACTIVATION_BYTES, expert_alltoall_seconds, gemm_seconds,
                       loads_all_experts, routed_load, stage_gemms, tp_allreduce_seconds)
from .workloads import Gemm

__all__ = ["DecodeStep", "decode_step", "default_decode_tp", "check_possible",
           "attention_gemms", "inference_setup", "decode_layouts", "DecodeSearch",
           "best_decode_plan"]


@dataclass(frozen=True)
class DecodeStep:
    """One decode step; times in seconds (None, as every figure derived from them, when
    ``fits`` is False).

    Members
    -------
    system : str
    chips : int
    plan : DecodePlan
    memory : MemoryUse
    replicas : int
        TP groups the system runs at once.
    gemm_seconds : float or None
        Weight GEMMs of one chip (the cheaper mapping of each).
    kv_seconds : float or None
        Reading one chip's KV cache, or the attention GEMMs' compute if longer.
    engine_seconds : float or None
        Vector/Scalar work not hidden behind the GEMMs.
    communication_seconds : float or None
        The TP all-reduces.
    mappings : tuple of str
        The mapping chosen for each weight GEMM ("weights stationary" or "tokens stationary").
    fitted_seconds : float or None
        The part of the step that is the fitted ``Assumptions.collective_seconds`` (one per
        TP all-reduce): how much of the answer the fit decides.
    engine_busy_seconds : float or None
        The Vector/Scalar/GpSimd work of the step at their published rates, hidden or not
        (``engine_seconds`` is the part not hidden behind the GEMMs).
    alltoall_seconds : float
        The expert-parallel all-to-alls (0 without expert parallelism).
    weights_read : float or None
        Weight bytes one chip reads per step: all it holds, but only the routed experts the
        step's tokens reach (None: all it holds).
    softmax_seconds : float or None
        The unfused attention softmax (0 where attention is fused: see
        ``Assumptions.unfused_attention_chips``).
    """
    system: str
    chips: int
    plan: DecodePlan
    memory: object
    replicas: int
    gemm_seconds: object
    kv_seconds: object
    engine_seconds: object
    communication_seconds: object
    mappings: tuple
    fitted_seconds: object = None
    engine_busy_seconds: object = None
    alltoall_seconds: float = 0.0
    weights_read: object = None
    softmax_seconds: object = 0.0

    @property
    def fits(self):
        return self.memory.fits

    @when_fits
    def seconds(self):
        """Seconds per step: one token of every sequence."""
        return self.gemm_seconds + self.kv_seconds + self.softmax_seconds + \
            self.engine_seconds + self.communication_seconds + self.alltoall_seconds

    @when_fits
    def tokens_per_second(self):
        """Tokens per second, whole system (every replica)."""
        return self.replicas * self.plan.batch / self.seconds

    @when_fits
    def implied_hbm_bandwidth(self):
        """Bytes/s of HBM one chip must sustain: the weights it reads (:attr:`weights_read`)
        and its KV cache, each once per step, over the step time; None when it does not
        fit."""
        weights = self.memory.weights if self.weights_read is None else self.weights_read
        return (weights + self.memory.kv_cache) / self.seconds


def check_possible(step, chip):
    """Refuse a decode answer that cannot be true: one whose step reads a chip's weights and KV
    cache faster than the chip's HBM peak (one line, SpecError naming both rates)."""
    implied = step.implied_hbm_bandwidth
    if implied is not None and implied > chip.hbm_bandwidth.value * (1 + 1e-9):
        raise SpecError(f"model answer cannot be true: TP {step.plan.tp} decode of "
                        f"{step.seconds * 1e3:.4g} ms per token implies "
                        f"{implied / 1e12:.3g} TB/s of HBM per chip against the "
                        f"{chip.hbm_bandwidth.value / 1e12:.3g} TB/s of a {chip.name}")


def _cheaper(chip, gemm, datatype, assumptions):
    """Seconds and name of the cheaper mapping of ``gemm`` (weights [K, M], tokens [K, N]):
    the shorter time, then (both HBM bound) the fewer Tensor Engine cycles."""
    swapped = Gemm(gemm.name, gemm.n, gemm.k, gemm.m, gemm.count)
    costs = [(gemm_seconds(chip, [candidate], datatype, assumptions),
              chip_gemm(chip, candidate.m, candidate.k, candidate.n, datatype).compute_seconds,
              name)
             for candidate, name in ((gemm, "weights stationary"),
                                     (swapped, "tokens stationary"))]
    seconds, _, name = min(costs)
    return seconds, name


def attention_gemms(workload, plan, cores, queries=1):
    """One chip's attention GEMMs of a decode step (fused: their scores stay on chip), per
    sequence and KV head as a kernel runs them: the ``g`` query heads that share a KV head on a
    core (``queries`` new tokens each) against the sequence's ``context`` keys, then values.

    A core holds ``max(1, kv_heads / tp)`` KV heads (replicated when TP exceeds them) and
    ``heads / tp`` query heads, so ``g = heads / tp / kv heads per core``; in ``nc_matmul``
    orientation the keys are stationary (``scores[context, g q] = K[d_h, context]^T Q``) and
    the probabilities move (``out[d_h, g q] = V[context, d_h]^T P``).

    With latent attention every head of the core attends to the one cached latent (the key
    and value expansions absorbed into the projections): scores over ``kv_lora_rank +
    rope_head_dim``, context of ``kv_lora_rank``."""
    if workload.latent_attention:
        kv_per_core, score, value = 1, workload.cache_elements, workload.kv_lora_rank
    else:
        kv_per_core = max(1, workload.kv_heads // plan.tp)
        score = value = workload.head_size
    group = max(1, workload.heads // plan.tp // kv_per_core) * queries
    count = workload.layers * plan.batch * kv_per_core * cores
    return [Gemm("decode scores", plan.context, score, group, count, True),
            Gemm("decode context", value, plan.context, group, count, True)]


def unfused_softmax_instructions(workload, plan, layers, rows_per_head, queries=1):
    """Softmax instructions of one core per pass where attention is unfused: per layer, the
    query rows the core holds (``rows_per_head`` per head of each of the ``batch`` sequences,
    times ``queries`` new tokens) in tiles of 128 partitions."""
    heads = max(1, workload.heads // plan.tp)
    rows = plan.batch * heads * rows_per_head * queries
    return layers * math.ceil(rows / PARTITIONS)


def inference_setup(specs, system, workload, tp, batch, context, datatype, kv_datatype,
                    assumptions, ep=1):
    """What a prefill or decode step of ``batch`` sequences of ``context`` tokens per TP group
    starts from: ``(plan, chip, chips, logical cores per chip, TP groups at once, one chip's
    MemoryUse)``; ``tp`` and ``datatype`` default to :func:`default_decode_tp` and
    ``Assumptions.decode_datatype``.

    Raises
    ------
    SpecError
        If the plan cannot run on the system (one line).
    """
    plan = DecodePlan(default_decode_tp(specs, system, workload) if tp is None else tp, batch,
                      context, assumptions.decode_datatype if datatype is None else datatype,
                      kv_datatype, ep)
    check_decode_plan(specs, system, workload, plan)
    chip = specs.chip(system.chip)
    chips = int(system.chips.value)
    cores = logical_cores_per_chip(chip)
    return (plan, chip, chips, cores, chips * cores // plan.tp,
            decode_memory(chip, workload, plan))


def weights_read(workload, plan, cores, memory, tokens, assumptions):
    """Weight bytes one chip reads in a step of ``tokens`` tokens per TP group: what it holds,
    less the routed experts no token reaches (:func:`~sim_models.scaling.training.
    routed_load`), all it holds in an all-experts step (:func:`~sim_models.scaling.training.
    loads_all_experts`); None for a dense workload (all it holds)."""
    if not workload.moe:
        return None
    if loads_all_experts(workload, tokens, plan.ep):
        return memory.weights
    reached, _, _ = routed_load(workload, tokens, plan.ep, assumptions.expert_imbalance)
    held = workload.expert_parameters / plan.ep * element_bytes(plan.datatype) * cores / plan.tp
    return memory.weights - held * (1 - reached * plan.ep / workload.experts)


def default_decode_tp(specs, system, workload):
    """The largest TP degree that divides the heads and the system's logical cores and
    divides or is a multiple of a chip's logical cores."""
    chip = specs.chip(system.chip)
    cores = logical_cores_per_chip(chip)
    total = int(system.chips.value) * cores
    return max(tp for tp in divisors(workload.heads)
               if total % tp == 0 and (tp % cores == 0 or cores % tp == 0))


def decode_step(specs, system, workload, batch, calibration, assumptions, tp=None,
                context=None, datatype=None, queries=1, kv_datatype=None, ep=1):
    """Time one decode step of ``workload`` at ``batch`` sequences per TP group.

    ``tp`` (logical cores), ``context`` (tokens) and ``datatype`` default to
    :func:`default_decode_tp`, the workload's decode context and
    ``Assumptions.decode_datatype``. ``queries`` new tokens of each sequence go through the
    step together (speculative decoding's verification: the draft's tokens and one more),
    sharing one read of the weights and of the sequence's KV cache. ``kv_datatype`` is the KV
    cache's (and the attention's) datatype, by default ``datatype``. ``ep``: expert
    parallelism of a mixture of experts (:class:`~sim_models.scaling.parallel.DecodePlan`).

    Raises
    ------
    SpecError
        If the plan cannot run on the system, or its answer cannot be true
        (:func:`check_possible`) (one line).

    Returns
    -------
    DecodeStep
    """
    workload = workload.padded_for(tp)
    plan, chip, chips, cores, replicas, memory = inference_setup(
        specs, system, workload, tp, batch,
        workload.decode_context if context is None else context, datatype, kv_datatype,
        assumptions, ep)
    if not memory.fits:
        return DecodeStep(system.key, chips, plan, memory, replicas, None, None, None, None, (),
                          None, None)
    tokens = plan.batch * queries
    weights, head = stage_gemms(workload, plan.tp, cores, tokens, plan.batch, workload.layers,
                                plan.ep, assumptions.expert_imbalance,
                                all_experts=loads_all_experts(workload, tokens, plan.ep))
    dense = [gemm for gemm in weights if not gemm.fused] + [head]
    chosen = [_cheaper(chip, gemm, plan.datatype, assumptions) for gemm in dense]
    gemms = sum(seconds for seconds, _ in chosen)
    share = cores / plan.tp
    attention = gemm_seconds(chip, attention_gemms(workload, plan, cores, queries),
                             plan.cache_datatype, assumptions)
    kv = max(memory.kv_cache / (chip.hbm_bandwidth.value * assumptions.hbm_efficiency),
             attention)
    softmax = 0.0
    if chip.key in assumptions.unfused_attention_chips:
        softmax = unfused_softmax_seconds(
            chip, unfused_softmax_instructions(workload, plan, workload.layers, 1, queries),
            plan.context)
    per_token = (token_work(workload, tokens).scaled(share) +
                 replicated_work(workload, tokens, plan.tp).scaled(cores))
    engines = per_token.scaled(workload.layers).seconds(chip, rows=tokens) + \
        attention_work(workload, tokens, plan.context, False).scaled(
            workload.layers * share).seconds(chip)
    hidden_engines = max(0.0, engines - gemms) if assumptions.engines_overlap else engines
    output = tokens * workload.hidden * ACTIVATION_BYTES * cores / min(plan.tp, cores)
    collectives = 2 * workload.layers + 1 if plan.tp > 1 else 0
    communication = collectives * tp_allreduce_seconds(
        specs, system, plan.tp, output, calibration, assumptions)
    alltoalls = 2 * workload.moe_layers if plan.ep > 1 else 0
    alltoall = alltoalls * expert_alltoall_seconds(specs, system, workload, plan.tp, plan.ep,
                                                   tokens, calibration, assumptions)
    step = DecodeStep(system.key, chips, plan, memory, replicas, gemms, kv, hidden_engines,
                      communication, tuple(name for _, name in chosen),
                      (collectives + alltoalls) * assumptions.collective_seconds, engines,
                      alltoall, weights_read(workload, plan, cores, memory, tokens,
                                             assumptions), softmax)
    check_possible(step, chip)
    return step



def decode_layouts(specs, system, workload, tp=None, ep=None):
    """``(tp, ep)`` pairs a decode search tries: TP as :func:`default_decode_tp` allows (or
    ``tp``), EP dividing the experts and the TP groups of the system with its group inside one
    unit (or ``ep``; 1 for a dense workload)."""
    chip = specs.chip(system.chip)
    cores = logical_cores_per_chip(chip)
    total = int(system.chips.value) * cores
    unit_cores = int(unit_of(specs, system).chips.value) * cores
    tps = [tp] if tp is not None else [
        value for value in divisors(workload.heads)
        if total % value == 0 and (value % cores == 0 or cores % value == 0)]
    pairs = []
    for value in tps:
        groups = total // value if total % value == 0 else 1
        eps = [ep] if ep is not None else (
            [size for size in divisors(math.gcd(workload.experts, groups))
             if size * value <= unit_cores] if workload.moe else [1])
        pairs += [(value, size) for size in eps]
    return pairs


@dataclass(frozen=True)
class DecodeSearch:
    """The decode layouts of a workload at a batch: the one used and the best.

    Members
    -------
    step : DecodeStep
        The layout used: the TP asked for (or :func:`default_decode_tp`) with the EP asked for
        (or the fastest that fits at that TP).
    best : DecodeStep or None
        The fastest layout that fits over every TP and EP tried (None if none fits).
    tried, fitting : int
    """
    step: object
    best: object
    tried: int
    fitting: int


def best_decode_plan(specs, system, workload, batch, calibration, assumptions, tp=None,
                     ep=None, **options):
    """Search :func:`decode_layouts` by time per token (then tokens per second of the system)
    for a mixture of experts; ``options`` go to :func:`decode_step`. A :class:`DecodeSearch`.
    The used layout keeps ``tp`` (default :func:`default_decode_tp`) and takes the fastest EP
    at it; layouts whose answer cannot be true are skipped."""
    used_tp = default_decode_tp(specs, system, workload) if tp is None else tp
    steps = []
    for value, size in decode_layouts(specs, system, workload, tp, ep):
        try:
            steps.append(decode_step(specs, system, workload, batch, calibration, assumptions,
                                     tp=value, ep=size, **options))
        except SpecError:
            if (value, size) == (used_tp, 1 if ep is None else ep):
                raise
    fitting = [step for step in steps if step.fits]

    def rank(step):
        return (step.seconds, -step.tokens_per_second)

    at_tp = [step for step in fitting if step.plan.tp == used_tp]
    used = min(at_tp, key=rank) if at_tp else next(
        (step for step in steps if step.plan.tp == used_tp), None)
    if used is None:
        used = decode_step(specs, system, workload, batch, calibration, assumptions, tp=used_tp,
                           ep=1 if ep is None else ep, **options)
    return DecodeSearch(used, min(fitting, key=rank) if fitting else None, len(steps),
                        len(fitting))
