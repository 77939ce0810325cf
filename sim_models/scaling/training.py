"""A training step with tensor, pipeline and data parallelism, timed on a system's topology.

Layout (:mod:`.parallel`): TP groups of ``tp`` logical cores, ``pp`` pipeline stages of
``layers / pp`` layers, ``dp`` replicas; a chip of ``c`` logical cores does ``c / tp`` of each
of its stage's GEMMs (Megatron: QKV and FFN gate/up cut along their outputs, the attention
projection and FFN down along their inputs; attention by heads).

One micro-batch on one stage (a pipeline *slot*):

- GEMMs: forward, input gradient and weight gradient (and the forward again with
  recomputation), each timed by :func:`~sim_models.scaling.gemm.chip_gemm` from the
  RTL-validated cycle model and the chip's HBM roofline, HBM at ``hbm_efficiency`` of its
  peak; the fused attention GEMMs at their compute time, halved by causal skipping;
- a fixed ``Assumptions.layer_overhead_seconds`` per layer and pass (fitted);
- the Vector, Scalar and GpSimd work (:mod:`.engines`), overlapped with the GEMMs (the slowest
  engine counts) when ``Assumptions.engines_overlap``, else added;
- TP all-reduces: two per layer and pass (forward, backward, recomputation) of the micro-batch's
  whole activation tensor (tokens x hidden, BF16; with sequence parallelism the same bytes as a
  reduce-scatter and an all-gather), exposed (each sits between dependent GEMMs);
- PP sends: the activations forward and their gradients back, once per micro-batch, exposed;
- a mixture of experts with expert parallelism (``ep`` replicas sharing the routed experts):
  two all-to-alls (dispatch and combine) per MoE layer and pass, exposed
  (:func:`expert_alltoall_seconds`); the routed experts' GEMMs at the tokens each receives
  (:func:`expert_gemms`); their gradients reduced over the ``dp / ep`` replicas holding them;
- ZeRO-3: the stage's weights gathered for the forward and the backward, overlapped with the
  slot's compute.

The last stage also runs the LM head and the loss, so it sets the slot. A 1F1B pipeline of
``m`` micro-batches takes ``(m + pp - 1)`` slots: the bubble is ``(pp - 1) / m`` of the work.
Then the DP gradient reduction (an all-reduce, or reduce-scatter plus all-gather from ZeRO-1:
the same bytes) over replicas one replica apart, hidden behind the last slot's backward when
``Assumptions.overlap_with_backward``, and the optimizer update (Vector engine and HBM, on the
chip's shard of the states).

A plan whose memory (:mod:`.memory`) does not fit is returned with ``fits`` False and no time.
MFU is model FLOPs over step time x the system's TensorE peak in the plan's datatype, the model
FLOPs counting exactly what the step times: ``tokens (6 P + 6 L d s)``, the attention's
``12 L d s`` halved by causal skipping as its GEMMs are (:data:`MFU_COUNTS`).
"""

import math
from dataclasses import dataclass

from .engines import EngineWork, layer_work, loss_work
from .gemm import chip_gemm
from .memory import held_parameters, training_memory, when_fits
from .network import (alltoall_group, collective_provenance, group_allreduce_seconds,
                      group_alltoall_seconds, point_to_point_seconds)
from .parallel import (LIMIT, TrainingPlan, check_training_plan, divisors,
                       logical_cores_per_chip, unit_of)
from .peak import system_peak
from .workloads import Gemm

__all__ = ["MFU_COUNTS", "TrainingStep", "training_step", "default_global_batch",
           "training_layouts", "LayoutSearch", "best_training_plan", "gemm_seconds",
           "stage_gemms", "tp_allreduce_seconds", "pass_seconds", "engine_combined",
           "expert_gemms", "expert_blocks", "routed_load", "expert_alltoall_seconds",
           "SELECTIVE_LOADING_THRESHOLD", "loads_all_experts", "prefill_expert_mode",
           "expert_group_chips", "expert_alltoall_source"]

#: Bytes of one activation element sent between chips (BF16).
ACTIVATION_BYTES = 2.0
#: What the MFU's model FLOPs count, as the answers state it.
MFU_COUNTS = ("6 x parameters + 6 x layers x hidden x sequence FLOPs per token: causal "
              "attention, half of the 12 L d s of full attention, as the step times it")


@dataclass(frozen=True)
class TrainingStep:
    """One training step of a plan on a system; every time in seconds.

    Members
    -------
    system : str
    chips : int
    plan : TrainingPlan
    memory : MemoryUse
        One chip's HBM use.
    tensor_seconds, engine_seconds : float or None
        One slot's GEMM time and its Vector/Scalar/GpSimd time (busiest engine).
    tp_seconds, pp_seconds : float or None
        One slot's exposed TP all-reduces and PP sends.
    slot_seconds : float or None
        One micro-batch on the slowest stage.
    dp_seconds, dp_exposed_seconds : float or None
        The DP gradient reduction and the part of it not hidden.
    optimizer_seconds : float or None
    model_flops : float
        Model FLOPs of the step, all chips.
    peak_flops : float
        The system's TensorE peak in the plan's datatype, FLOP/s.
    ep_seconds : float or None
        One slot's exposed expert-parallel all-to-alls (dispatch and combine per MoE layer and
        pass); 0 without expert parallelism.

    The times, and every figure derived from them, are None when the plan does not fit
    (``fits`` False): it is never timed as if it did.
    """
    system: str
    chips: int
    plan: TrainingPlan
    memory: object
    tensor_seconds: object
    engine_seconds: object
    tp_seconds: object
    pp_seconds: object
    slot_seconds: object
    dp_seconds: object
    dp_exposed_seconds: object
    optimizer_seconds: object
    model_flops: float
    peak_flops: float
    ep_seconds: object = None

    @property
    def fits(self):
        return self.memory.fits

    @property
    def tokens(self):
        """Tokens per step, all replicas."""
        return self.plan.tokens

    @property
    def slots(self):
        """Pipeline slots per step: micro-batches plus the 1F1B bubble."""
        return self.plan.micro_batches + self.plan.pp - 1

    @when_fits
    def bubble_seconds(self):
        return (self.plan.pp - 1) * self.slot_seconds

    @when_fits
    def compute_seconds(self):
        """Compute time of the step: slots x the slot's GEMMs, engines and fitted overhead."""
        return self.slots * (self.slot_seconds - self._exchange)

    @when_fits
    def communication_seconds(self):
        """TP, PP and DP communication of the step, hidden or not."""
        return self.slots * self._exchange + self.dp_seconds

    @when_fits
    def exposed_seconds(self):
        """Communication on the critical path."""
        return self.slots * self._exchange + self.dp_exposed_seconds

    @property
    def _exchange(self):
        """One slot's TP all-reduces, PP sends and EP all-to-alls."""
        return self.tp_seconds + self.pp_seconds + (self.ep_seconds or 0.0)

    @when_fits
    def seconds(self):
        return self.slots * self.slot_seconds + self.dp_exposed_seconds + \
            self.optimizer_seconds

    @when_fits
    def tokens_per_second(self):
        """Tokens per second, whole system."""
        return self.tokens / self.seconds

    @when_fits
    def achieved_flops(self):
        """Model FLOP/s of the whole system."""
        return self.model_flops / self.seconds

    @when_fits
    def mfu(self):
        """Model FLOPs utilization, 0..1."""
        return self.achieved_flops / self.peak_flops


def gemm_seconds(chip, gemms, datatype, assumptions, efficiency=1.0):
    """Seconds of ``gemms`` (a list of Gemm) on one chip: compute from the cycle model (over
    ``efficiency``, the fraction of its rate the kernels reach), HBM at ``hbm_efficiency`` of
    the peak, the longer of the two; fused (attention) GEMMs their compute only."""
    total = 0.0
    for gemm in gemms:
        estimate = chip_gemm(chip, gemm.m, gemm.k, gemm.n, datatype)
        compute = estimate.compute_seconds / efficiency
        memory = estimate.memory_seconds / assumptions.hbm_efficiency
        total += gemm.count * (compute if gemm.fused else max(compute, memory))
    return total


def routed_load(workload, tokens, ep, imbalance):
    """How the routed experts of one TP group are loaded by ``tokens`` tokens of each of the
    ``ep`` groups of its expert-parallel group (each token to ``experts_per_token`` of the
    ``experts``, uniformly): ``(experts reached, mean tokens of one, tokens of the busiest)``.

    An expert is reached with probability ``1 - (1 - k / E)^(ep tokens)``; the group holds
    ``E / ep`` of them. The busiest takes ``imbalance`` x the mean over all experts (``ep
    tokens k / E``), at least the mean of those reached, at most every token."""
    experts, chosen = workload.experts, workload.experts_per_token
    total = ep * tokens
    reached = 1.0 - (1.0 - chosen / experts) ** total
    mean = total * chosen / experts / reached
    busiest = min(total, max(mean, imbalance * total * chosen / experts))
    return experts / ep * reached, mean, busiest


#: NxD Inference's switch between its two ways of running the routed experts of a pass
#: (neuronx-distributed ``modules/moe/model_utils.py``, DEFAULT_SELECTIVE_LOADING_THRESHOLD,
#: used by ``ExpertMLPsV2.forward``): while the routed rows (tokens x experts per token) are
#: fewer than this many times the experts, only the experts the tokens chose are loaded
#: (selective loading); from it on every expert runs over every token of the pass (all
#: experts), a decode step's whole batch through every expert's weights.
SELECTIVE_LOADING_THRESHOLD = 1.0


def loads_all_experts(workload, tokens, ep):
    """True when NxD Inference runs every routed expert over every token of a pass of
    ``tokens`` tokens per TP group, its ``ep`` groups' tokens together (see
    :data:`SELECTIVE_LOADING_THRESHOLD`); False for a dense workload."""
    return bool(workload.moe) and ep * tokens * workload.experts_per_token >= \
        SELECTIVE_LOADING_THRESHOLD * workload.experts


def prefill_expert_mode(workload, tokens, ep, block_tokens):
    """How NxD Inference's context encoding runs the routed experts of ``tokens`` prompt
    tokens per TP group (``ExpertMLPsV2.forward``, dropless): ``"selective"`` below
    :data:`SELECTIVE_LOADING_THRESHOLD`, ``"all experts"`` while the routed rows are fewer
    than one block of ``block_tokens``, else ``"blockwise"`` (:func:`expert_blocks`). Without
    a block size, ``"routed"``: each expert at the tokens it receives."""
    if block_tokens is None:
        return "routed"
    if not loads_all_experts(workload, tokens, ep):
        return "selective"
    if ep * tokens * workload.experts_per_token < block_tokens:
        return "all experts"
    return "blockwise"


def _ffn(name, width, d, part, tokens, count):
    """The gate+up and down GEMMs of an FFN of ``width``, one chip's part."""
    return [Gemm(f"{name} gate+up", part(2 * width), d, tokens, count),
            Gemm(f"{name} down", d, part(width), tokens, count)]


def expert_blocks(workload, tokens, ep, block_tokens):
    """Blocks of ``block_tokens`` token rows one TP group's routed experts compute for
    ``tokens`` tokens per TP group when the expert FFNs run blockwise (NxD's blockwise matmul
    kernel, which prefill uses): every expert's tokens are padded to whole blocks of one
    expert, and the kernel's shape is fixed at compile time for the worst case, in which
    ``E - 1`` of the group's ``E`` experts each hold one more partly filled block than the
    rows need: ``ceil((R - (E - 1)) / B) + E - 1`` blocks for ``R = tokens x
    experts_per_token`` routed rows (the mean a group receives, also with expert
    parallelism), at most ``R`` and at least one. Every block is computed in full, padding
    included."""
    local = workload.experts // ep
    rows = tokens * workload.experts_per_token
    blocks = math.ceil((rows - (local - 1)) / block_tokens) + local - 1
    return max(1, min(rows, blocks))


def expert_gemms(workload, part, tokens, moe_layers, groups, ep, imbalance,
                 block_tokens=None, all_experts=False):
    """One chip's GEMMs of the MoE layers of a micro-batch (``tokens`` per TP group): the
    router, the shared experts over every token, and the routed experts the group holds, each
    at the tokens it receives (:func:`routed_load`): all but one at the mean, one at the
    busiest load; ``part`` splits each expert over the TP group as a dense FFN is. With
    ``block_tokens`` the routed experts run blockwise instead (:func:`expert_blocks`): that
    many blocks of ``block_tokens`` rows each, whatever the routing. With ``all_experts``
    every expert the group holds runs over all ``ep x tokens`` tokens (NxD Inference's
    all-experts pass, :func:`loads_all_experts`)."""
    d, width = workload.hidden, workload.expert_ffn
    count = moe_layers * groups
    gemms = [Gemm("router", workload.experts, d, tokens, count)]
    if workload.shared_experts:
        gemms += _ffn("shared experts", workload.shared_experts * width, d, part, tokens,
                      count)
    if all_experts:
        return gemms + _ffn("all experts", width, d, part, ep * tokens,
                            count * (workload.experts // ep))
    if block_tokens is not None:
        blocks = expert_blocks(workload, tokens, ep, block_tokens)
        return gemms + _ffn("expert blocks", width, d, part, block_tokens, count * blocks)
    reached, mean, busiest = routed_load(workload, tokens, ep, imbalance)
    if reached > 1:
        gemms += _ffn("experts", width, d, part, math.ceil(mean), count * (reached - 1))
    gemms += _ffn("busiest expert", width, d, part, math.ceil(busiest), count * min(1.0,
                                                                                   reached))
    return gemms


def stage_gemms(workload, tp, cores, tokens, sequences, layers, ep=1, imbalance=1.0,
                block_tokens=None, all_experts=False):
    """One chip's forward GEMMs of one micro-batch (``tokens`` tokens in ``sequences``
    sequences) over ``layers`` layers of a stage, and its LM-head GEMM: the chip runs
    ``cores / tp`` of each TP-split GEMM (see the module docstring). A TP group smaller than
    the chip shares it with ``cores / tp - 1`` other groups, each with its own copy of the
    weights: each group's GEMMs are counted apart (the chip reads every copy), never merged
    into one GEMM over all groups' tokens, which would read one copy for all. A mixture of
    experts' FFNs are :func:`expert_gemms` (``ep``, ``imbalance``, ``block_tokens``,
    ``all_experts``) on its
    share of the MoE layers (the dense ones spread evenly over the stages)."""
    share = min(tp, cores)
    split = share / tp
    groups = cores // share
    d = workload.hidden

    def part(size):
        return max(1, round(size * split))

    sequence = tokens // sequences
    heads = max(1, round(workload.heads * split)) * groups * sequences * layers
    count = layers * groups
    moe_layers = layers * workload.moe_layers / workload.layers
    gemms = [Gemm(name, m, k, tokens, count)
             for name, m, k in workload.attention_projections(part)]
    if moe_layers < layers:
        gemms += _ffn("ffn", workload.ffn, d, part, tokens, (layers - moe_layers) * groups)
    if moe_layers:
        gemms += expert_gemms(workload, part, tokens, moe_layers, groups, ep, imbalance,
                              block_tokens, all_experts)
    gemms += [Gemm("attention scores", sequence, workload.score_size, sequence, heads, True),
              Gemm("attention context", workload.head_size, sequence, sequence, heads, True)]
    return gemms, Gemm("lm head", part(workload.vocab), d, tokens, groups)


def _expert_exchange(specs, system, workload, tp, ep, tokens, assumptions):
    """``(members, stride, chip bytes, block bytes)`` of an MoE all-to-all (see
    :func:`expert_alltoall_seconds`)."""
    cores = logical_cores_per_chip(specs.chip(system.chip))
    per_token = workload.experts_per_token * workload.hidden * ACTIVATION_BYTES
    members, stride = expert_group_chips(tp, ep, cores)
    if tp < cores:
        chip_bytes = tokens * min(cores // tp, ep) * per_token
    else:
        chip_bytes = tokens * per_token / (tp // cores)
    return members, stride, chip_bytes, chip_bytes / members * assumptions.expert_imbalance


def expert_alltoall_seconds(specs, system, workload, tp, ep, tokens, calibration,
                            assumptions):
    """One dispatch (or combine) all-to-all of an MoE layer, software cost included; 0 when
    ``ep`` is 1.

    Each TP group of ``tokens`` tokens sends every token (``hidden`` BF16) to the groups that
    hold its ``experts_per_token`` experts; the chips of a TP group spanning chips each send
    their share. The ``ep`` groups one replica apart exchange over the fabric
    (:func:`~sim_models.scaling.network.group_alltoall_seconds`, the measured all-to-all fit
    of the topology); groups sharing a chip exchange through its HBM (read and write once).
    The busiest receiver takes ``Assumptions.expert_imbalance`` x the mean block."""
    if ep == 1:
        return 0.0
    members, stride, chip_bytes, block = _expert_exchange(specs, system, workload, tp, ep,
                                                          tokens, assumptions)
    if members == 1:
        chip = specs.chip(system.chip)
        return assumptions.collective_seconds + 2 * chip_bytes * \
            assumptions.expert_imbalance / (chip.hbm_bandwidth.value * assumptions.hbm_efficiency)
    return group_alltoall_seconds(specs, system, members, stride, block, calibration,
                                  assumptions)


def expert_alltoall_source(specs, system, workload, tp, ep, tokens, calibration,
                           assumptions):
    """Where the figure of :func:`expert_alltoall_seconds` comes from, one line: the measured
    fit and how far it extrapolates, or the chip's HBM; None when ``ep`` is 1."""
    if ep == 1:
        return None
    members, stride, _, block = _expert_exchange(specs, system, workload, tp, ep, tokens,
                                                 assumptions)
    if members == 1:
        return "inside one chip, through its HBM"
    group = alltoall_group(specs, system, members, stride)
    text = collective_provenance(group, "alltoall", block, calibration).describe()
    if members > group.chips.value:
        text += f"; {members - int(group.chips.value)} members over the scale-out network"
    return f"{members} chips, {block:,.0f} B blocks: {text}"


def expert_group_chips(tp, ep, cores):
    """``(members, stride)``: the chips an expert-parallel group of ``ep`` TP groups of ``tp``
    logical cores exchanges between, and how many chips apart they are."""
    if tp < cores:
        return max(1, ep * tp // cores), 1
    return ep, tp // cores


def _backward(gemms):
    """Input-gradient and weight-gradient GEMMs of forward ``gemms``."""
    return [Gemm(f"{g.name} (input grad)", g.k, g.m, g.n, g.count, g.fused) for g in gemms] + \
        [Gemm(f"{g.name} (weight grad)", g.m, g.n, g.k, g.count, g.fused) for g in gemms]


def pass_seconds(chip, gemms, datatype, assumptions, efficiency=1.0, causal_skip=True):
    """Seconds of one pass's GEMMs, attention halved by causal skipping (``efficiency`` as
    for :func:`gemm_seconds`). ``causal_skip`` False: the attention GEMMs cover every score,
    masked ones included (attention written as XLA operations: the score GEMM over every
    position, the mask applied to its result)."""
    dense = [g for g in gemms if not g.fused]
    fused = [g for g in gemms if g.fused]
    return gemm_seconds(chip, dense, datatype, assumptions, efficiency) + \
        gemm_seconds(chip, fused, datatype, assumptions, efficiency) / (2 if causal_skip
                                                                         else 1)


def tp_allreduce_seconds(specs, system, tp, size_bytes, calibration, assumptions):
    """One TP all-reduce of ``size_bytes`` per chip (the chip's cores first sum their partial
    results): over ``tp / c`` adjacent chips, or, for a group inside one chip, through its HBM
    (read and write once)."""
    chip = specs.chip(system.chip)
    cores = logical_cores_per_chip(chip)
    if tp == 1:
        return 0.0
    if tp <= cores:
        return assumptions.collective_seconds + 2 * size_bytes / (
            chip.hbm_bandwidth.value * assumptions.hbm_efficiency)
    return group_allreduce_seconds(specs, system, tp // cores, 1, size_bytes, calibration,
                                   assumptions)


def engine_combined(tensor, engines, assumptions):
    """Seconds of a pass's Tensor Engine time and other engines' time: the longer when they
    overlap (``Assumptions.engines_overlap``), else the sum."""
    return max(tensor, engines) if assumptions.engines_overlap else tensor + engines


def training_step(specs, system, workload, calibration, assumptions, plan=None):
    """Time one training step of ``workload`` on ``system`` under ``plan`` (a TrainingPlan;
    the best layout, :func:`best_training_plan`, if None).

    Raises
    ------
    SpecError
        If the plan cannot run on the system (one line).

    Returns
    -------
    TrainingStep
    """
    if plan is None:
        return best_training_plan(specs, system, workload, calibration, assumptions).step
    check_training_plan(specs, system, workload, plan)
    chip = specs.chip(system.chip)
    chips = int(system.chips.value)
    memory = training_memory(chip, workload, plan, assumptions)
    model_flops = plan.tokens * (6.0 * workload.active_parameters
                                 + 6.0 * workload.layers * workload.attention_size
                                 * plan.sequence)
    peak = system_peak(specs, system, plan.datatype)
    if not memory.fits:
        return TrainingStep(system.key, chips, plan, memory, *[None] * 8, model_flops, peak)
    cores = logical_cores_per_chip(chip)
    tokens = plan.micro_batch * plan.sequence
    layers = workload.layers // plan.pp
    forward, head = stage_gemms(workload, plan.tp, cores, tokens, plan.micro_batch, layers,
                                plan.ep, assumptions.expert_imbalance)
    passes = 2 + plan.recompute   # forward, backward, and the forward again
    work_passes = passes + 1       # a backward pass does twice a forward's engine work
    datatype = plan.datatype
    forward_seconds = pass_seconds(chip, forward + [head], datatype, assumptions)
    backward_seconds = pass_seconds(chip, _backward(forward + [head]), datatype, assumptions)
    tensor = forward_seconds * (1 + plan.recompute) + backward_seconds
    share = cores / plan.tp
    work = layer_work(workload, tokens, plan.sequence / 2, True).scaled(layers * share)
    work = work.scaled(work_passes) + loss_work(workload, tokens).scaled(share)
    engines = work.seconds(chip)
    activation = tokens * workload.hidden * ACTIVATION_BYTES
    tp = 2 * layers * passes * tp_allreduce_seconds(
        specs, system, plan.tp, activation * cores / min(plan.tp, cores), calibration,
        assumptions)
    replica_chips = max(1, plan.tp * plan.pp // cores)
    unit = unit_of(specs, system)
    stage_chips = max(1, plan.tp // cores)
    pp = 0.0
    if plan.pp > 1:
        pp = 2 * point_to_point_seconds(specs, system, activation * share,
                                        stage_chips >= unit.chips.value, calibration,
                                        assumptions)
    moe_layers = layers * workload.moe_layers / workload.layers
    ep = 2 * moe_layers * passes * expert_alltoall_seconds(
        specs, system, workload, plan.tp, plan.ep, tokens, calibration, assumptions)
    parameters = held_parameters(workload, plan.ep) * cores / (plan.tp * plan.pp)
    experts = workload.expert_parameters / plan.ep * cores / (plan.tp * plan.pp)
    compute = engine_combined(tensor, engines, assumptions) + \
        layers * passes * assumptions.layer_overhead_seconds
    dp_members = plan.dp // max(1, cores // (plan.tp * plan.pp))
    if plan.zero_stage >= 3:
        gather = group_allreduce_seconds(
            specs, system, dp_members, replica_chips,
            parameters * assumptions.weight_bytes_per_parameter, calibration, assumptions)
        compute = max(compute, gather)
    slot = compute + tp + pp + ep
    dp = group_allreduce_seconds(specs, system, dp_members, replica_chips,
                                 (parameters - experts) * assumptions.gradient_bytes_per_parameter,
                                 calibration, assumptions)
    if workload.moe:
        # The routed experts' gradients are reduced over the replicas holding the same experts.
        # Replicas sharing a chip sum on it first, as for the dense gradients.
        spread = plan.ep * plan.tp * plan.pp >= cores
        dp += group_allreduce_seconds(
            specs, system, plan.dp // plan.ep if spread else dp_members,
            plan.ep * plan.tp * plan.pp // cores if spread else replica_chips,
            experts * assumptions.gradient_bytes_per_parameter, calibration, assumptions)
    hidden = backward_seconds if assumptions.overlap_with_backward else 0.0
    shard = parameters / (plan.dp if plan.zero_stage >= 1 else 1)
    optimizer_bytes = 2 * shard * (assumptions.optimizer_bytes_per_parameter
                                   + assumptions.gradient_bytes_per_parameter
                                   + assumptions.weight_bytes_per_parameter)
    optimizer = max(
        EngineWork(shard * assumptions.optimizer_flops_per_parameter, 0.0, 0.0).seconds(chip),
        optimizer_bytes / (chip.hbm_bandwidth.value * assumptions.hbm_efficiency))
    return TrainingStep(system.key, chips, plan, memory, tensor, engines, tp, pp, slot, dp,
                        max(0.0, dp - hidden), optimizer, model_flops, peak, ep)


def default_global_batch(system, workload, assumptions):
    """Sequences per step when a layout names none: the workload's ``sequences_per_chip`` on
    every chip, up to ``Assumptions.max_tokens_per_step`` for the whole system (beyond it each
    chip gets fewer tokens: the batch does not grow without bound)."""
    per_chip = workload.sequences_per_chip * int(system.chips.value)
    return max(1, min(per_chip, assumptions.max_tokens_per_step // workload.sequence))


def training_layouts(specs, system, workload, assumptions):
    """Every layout the search tries: micro-batch 1, ZeRO-1, full recomputation, the
    assumptions' datatype, TP dividing the heads inside one unit (and dividing or a multiple of
    a chip's logical cores), PP dividing the layers, DP the rest of the cores (at most 2^40),
    and for a mixture of experts every EP dividing the experts and DP whose group stays inside
    one unit; the global batch :func:`default_global_batch` rounded to the nearest multiple of
    DP (one sequence per replica at least)."""
    chip = specs.chip(system.chip)
    cores = logical_cores_per_chip(chip)
    total = int(system.chips.value) * cores
    unit_cores = int(unit_of(specs, system).chips.value) * cores
    target = default_global_batch(system, workload, assumptions)
    layouts = []
    for tp in divisors(workload.heads):
        if tp > unit_cores or (tp % cores and cores % tp):
            continue
        for pp in divisors(workload.layers):
            if total % (tp * pp) or total // (tp * pp) > LIMIT:
                continue
            dp = total // (tp * pp)
            for ep in divisors(math.gcd(workload.experts, dp)) if workload.moe else (1,):
                if ep > 1 and ep * tp * pp > unit_cores:
                    continue
                layouts.append(TrainingPlan(tp, pp, dp, 1, dp * max(1, round(target / dp)),
                                            workload.sequence, assumptions.training_datatype,
                                            1, True, ep))
    return layouts


@dataclass(frozen=True)
class LayoutSearch:
    """The best training layout of a system and workload.

    Members
    -------
    step : TrainingStep
        The best layout that fits: the global batch nearest :func:`default_global_batch`,
        then the most tokens per second, then the most HBM left; when none fits, the largest
        model-parallel group with the fewest stages (reported as not fitting).
    tried, fitting : int
        Layouts tried (:func:`training_layouts`) and how many fit in HBM.
    """
    step: object
    tried: int
    fitting: int

    @property
    def plan(self):
        return self.step.plan


def best_training_plan(specs, system, workload, calibration, assumptions, **degrees):
    """Search :func:`training_layouts` for the best; a :class:`LayoutSearch`. ``degrees``
    (``tp``, ``pp``, ``dp``) keep only the layouts with those degrees; None if none has
    them."""
    target = default_global_batch(system, workload, assumptions)
    layouts = [plan for plan in training_layouts(specs, system, workload, assumptions)
               if all(getattr(plan, name) == value for name, value in degrees.items())]
    if not layouts:
        return None
    steps = [training_step(specs, system, workload, calibration, assumptions, plan)
             for plan in layouts]
    fitting = [step for step in steps if step.fits]
    if fitting:
        best = min(fitting, key=lambda step: (abs(math.log(step.plan.global_batch / target)),
                                              -step.tokens_per_second, step.memory.total))
    else:
        best = max(steps, key=lambda step: (step.plan.tp * step.plan.pp, -step.plan.pp))
    return LayoutSearch(best, len(steps), len(fitting))
