"""How a training or decode job is laid out on a system: parallel degrees counted in NeuronCores
as AWS counts them, the chips they occupy, and a system of any chip count built from a spec's
unit (instance or UltraServer).

AWS counts tensor (TP), pipeline (PP) and data (DP) parallel degrees in *logical* NeuronCores
(``core.logical_core_size`` physical cores each: one on Trn1, two on Trn2 by default), so
``TP x PP x DP`` equals the logical cores of the chips: 32 x 32 = 1,024 cores = 512 Trn1 chips.
A TP group of ``tp`` logical cores spans ``tp / c`` chips (``c`` logical cores per chip), or
shares one chip with ``c / tp - 1`` other groups; the pipeline stages follow each other chip
group by chip group, and the DP replicas come last, so a DP group's members are one replica
(``tp x pp / c`` chips) apart.

Every check raises :class:`~sim_models.specs.SpecError` with one line naming the parameter, its
value and what is allowed.
"""

from dataclasses import dataclass, replace

from ..collectives import MAX_RING_NODES
from ..specs import SpecError
from .peak import datatypes

__all__ = ["TrainingPlan", "DecodePlan", "divisors", "logical_cores_per_chip", "system_of_chips",
           "check_model_parallel", "check_training_plan", "check_decode_plan",
           "check_expert_parallel", "check_count", "ZERO_STAGES",
           "LIMIT", "MAX_UNITS", "unit_of", "LNC_SETTINGS", "with_logical_cores"]

#: ZeRO stages: 0 replicates the optimizer states, 1 shards them over DP, 2 also the
#: gradients, 3 also the weights.
ZERO_STAGES = (0, 1, 2, 3)
#: Logical NeuronCore sizes (physical cores per logical core) a chip with LNC can be set to.
LNC_SETTINGS = (1, 2)
#: The most units (instances or UltraServers) a cluster joins: the largest ring the collective
#: model times (:func:`sim_models.collectives.ring_allreduce_time`).
MAX_UNITS = MAX_RING_NODES
#: The largest count any option accepts (chips, batch, context, degrees): 2^40.
LIMIT = 1 << 40


@dataclass(frozen=True)
class TrainingPlan:
    """A training job's layout.

    Members
    -------
    tp, pp, dp : int
        Tensor, pipeline and data parallel degrees, logical NeuronCores.
    micro_batch : int
        Sequences per micro-batch of one pipeline (one DP replica).
    global_batch : int
        Sequences per optimizer step, all replicas.
    sequence : int
        Tokens per sequence.
    datatype : str
        GEMM datatype (a TensorE datatype of the chip).
    zero_stage : int
        One of :data:`ZERO_STAGES`.
    recompute : bool
        Activations are recomputed in the backward pass (full checkpointing): one more forward
        pass, only each layer's input kept.
    ep : int
        Expert parallelism of a mixture of experts: ``ep`` DP replicas (one replica apart) split
        the routed experts between them, each expert split over its TP group as the dense
        layers are, and exchange tokens by all-to-all; 1 for a dense model. It divides DP.
    """
    tp: int
    pp: int
    dp: int
    micro_batch: int
    global_batch: int
    sequence: int
    datatype: str
    zero_stage: int
    recompute: bool
    ep: int = 1

    @property
    def micro_batches(self):
        """Micro-batches each pipeline runs per step."""
        return self.global_batch // (self.dp * self.micro_batch)

    @property
    def tokens(self):
        """Tokens per step, all replicas."""
        return self.global_batch * self.sequence


@dataclass(frozen=True)
class DecodePlan:
    """A decode job's layout: ``batch`` sequences per TP group of ``tp`` logical cores, each
    generating one token per step with ``context`` tokens of context, weights (and GEMMs) in
    ``datatype``, the KV cache (and attention) in ``kv_datatype`` (None: ``datatype``; FP8
    weights beside a BF16 cache, say). The system's other cores run further replicas of the
    group; in a mixture of experts ``ep`` adjacent replicas split the routed experts between
    them (expert parallelism, attention data parallel), exchanging tokens by all-to-all."""
    tp: int
    batch: int
    context: int
    datatype: str
    kv_datatype: object = None
    ep: int = 1

    @property
    def cache_datatype(self):
        """The KV cache's datatype."""
        return self.kv_datatype or self.datatype


def divisors(number):
    """The positive divisors of ``number``, ascending."""
    return [value for value in range(1, number + 1) if number % value == 0]


def logical_cores_per_chip(chip):
    """Logical NeuronCores per chip (physical cores / logical core size)."""
    return int(chip.cores.value) // int(chip.core.logical_core_size.value)


def with_logical_cores(specs, chip_key, lnc):
    """``specs`` with chip ``chip_key`` set to ``lnc`` physical cores per logical core (the
    Neuron runtime's LNC setting): degrees are then counted in those logical cores. Only a chip
    whose spec size is above one has the setting (Trainium2 and 3: LNC=2 by default, or 1).

    Raises
    ------
    SpecError
        If ``lnc`` is not one of :data:`LNC_SETTINGS`, or the chip has no such setting.
    """
    chip = specs.chip(chip_key)
    default = int(chip.core.logical_core_size.value)
    allowed = LNC_SETTINGS if default > 1 else (default,)
    if lnc not in allowed:
        raise SpecError(f"--lnc {lnc}: a {chip.name} runs LNC "
                        f"{' or '.join(map(str, allowed))}")
    if lnc == default:
        return specs
    size = replace(chip.core.logical_core_size, value=lnc, given=lnc, source="ASSUMED",
                   note=f"LNC={lnc} asked for (the spec's default is {default})")
    chips = dict(specs.chips)
    chips[chip_key] = replace(chip, core=replace(chip.core, logical_core_size=size))
    return replace(specs, chips=chips)


def unit_of(specs, system):
    """The unit a system is built from: a cluster's instance or UltraServer, else the system
    itself."""
    return specs.system(system.unit) if system.level == "cluster" else system


def system_of_chips(specs, system, chips):
    """``system`` with ``chips`` chips: the system itself at its own size, else a cluster of its
    unit (an instance or UltraServer, or a cluster's unit) joined by the cluster's scale-out
    network (a cluster's own, or the unit's). ``chips`` must be a multiple of the unit's
    chips."""
    check_count("chips", chips)
    if chips == system.chips.value:
        return system
    unit = unit_of(specs, system)
    size = int(unit.chips.value)
    if chips % size:
        raise SpecError(f"--chips {chips}: must be a multiple of the {size} chips of "
                        f"{unit.name} (a cluster of whole units)")
    if chips // size > MAX_UNITS:
        raise SpecError(f"--chips {chips}: at most {MAX_UNITS:,} x {unit.name} = "
                        f"{MAX_UNITS * size:,} chips (the largest ring the collective model "
                        f"times)")
    if chips == size:
        return unit
    count = replace(unit.chips, value=chips, given=chips, source="ASSUMED",
                    note=f"a cluster of {chips // size} x {unit.name}")
    name = f"{chips // size} x {unit.name}"
    if system.level == "cluster":
        return replace(system, key=f"{system.key}-{chips}", name=name, chips=count)
    if unit.scale_out_bandwidth is None or unit.scale_out_latency is None:
        raise SpecError(f"--chips {chips}: {unit.name} has no scale-out network in the spec "
                        f"data; allowed: {size}")
    return replace(unit, key=f"{unit.key}-x{chips // size}", level="cluster", unit=unit.key,
                   name=name, chips=count, servers=None)


def check_count(name, value, low=1):
    """Refuse an option ``--name`` whose value is not an integer from ``low`` to
    :data:`LIMIT` (one line, SpecError)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= LIMIT:
        raise SpecError(f"--{name.replace('_', '-')} {value}: must be an integer from {low} "
                        f"to {LIMIT} (2^40)")


def _datatype(chip, datatype, option="datatype"):
    allowed = [name for name in datatypes(chip) if name != "sparse"]
    if datatype not in allowed:
        raise SpecError(f"--{option} {datatype}: {chip.name} has no such TensorE datatype; "
                        f"allowed: {', '.join(allowed)}")


def _tensor_parallel(workload, chip, tp, option="tp"):
    cores = logical_cores_per_chip(chip)
    if workload.heads % tp:
        raise SpecError(f"--{option} {tp}: must divide the {workload.heads} attention heads "
                        f"of {workload.name}")
    if tp % cores and cores % tp:
        raise SpecError(f"--{option} {tp}: must divide or be a multiple of the {cores} "
                        f"logical cores of a {chip.name} chip")


def check_model_parallel(chip, workload, tp, pp):
    """Refuse a TP degree that does not split the heads or the chip's logical cores, or a PP
    degree that does not split the layers (one line, SpecError)."""
    check_count("tp", tp)
    check_count("pp", pp)
    _tensor_parallel(workload, chip, tp)
    if workload.layers % pp:
        raise SpecError(f"--pp {pp}: must divide the {workload.layers} layers of "
                        f"{workload.name}")


def check_expert_parallel(workload, ep, replicas, option="ep", what="DP"):
    """Refuse an EP degree that a dense workload cannot have, or that does not divide the
    routed experts or the ``replicas`` (one line, SpecError)."""
    check_count(option, ep)
    if ep == 1:
        return
    if not workload.moe:
        raise SpecError(f"--{option} {ep}: {workload.name} is dense (no experts); allowed: 1")
    if workload.experts % ep:
        raise SpecError(f"--{option} {ep}: must divide the {workload.experts} routed experts "
                        f"of {workload.name}")
    if replicas % ep:
        raise SpecError(f"--{option} {ep}: must divide {what} ({replicas} replicas)")


def check_training_plan(specs, system, workload, plan):
    """Refuse a plan that cannot run on ``system`` (one line, SpecError)."""
    chip = specs.chip(system.chip)
    for name in ("tp", "pp", "dp", "micro_batch", "global_batch", "sequence"):
        check_count(name, getattr(plan, name))
    _datatype(chip, plan.datatype)
    if plan.zero_stage not in ZERO_STAGES:
        raise SpecError(f"--zero {plan.zero_stage}: allowed: "
                        f"{', '.join(map(str, ZERO_STAGES))}")
    check_model_parallel(chip, workload, plan.tp, plan.pp)
    cores = int(system.chips.value) * logical_cores_per_chip(chip)
    if plan.tp * plan.pp * plan.dp != cores:
        raise SpecError(f"--tp {plan.tp} --pp {plan.pp} --dp {plan.dp}: TP x PP x DP = "
                        f"{plan.tp * plan.pp * plan.dp} must equal the {cores} logical "
                        f"NeuronCores of {int(system.chips.value)} {chip.name} chips")
    if plan.global_batch % (plan.dp * plan.micro_batch):
        raise SpecError(f"--global-batch {plan.global_batch}: must be a multiple of DP x "
                        f"micro-batch = {plan.dp * plan.micro_batch}")
    check_expert_parallel(workload, plan.ep, plan.dp)


def check_decode_plan(specs, system, workload, plan):
    """Refuse a decode plan that cannot run on ``system`` (one line, SpecError)."""
    chip = specs.chip(system.chip)
    check_count("decode_tp", plan.tp)
    for name in ("batch", "context"):
        check_count(name, getattr(plan, name))
    _datatype(chip, plan.datatype)
    if plan.kv_datatype is not None:
        _datatype(chip, plan.kv_datatype, "kv-datatype")
    _tensor_parallel(workload, chip, plan.tp, "decode-tp")
    cores = int(system.chips.value) * logical_cores_per_chip(chip)
    if cores % plan.tp:
        raise SpecError(f"--decode-tp {plan.tp}: must divide the {cores} logical NeuronCores of "
                        f"{int(system.chips.value)} {chip.name} chips")
    check_expert_parallel(workload, plan.ep, cores // plan.tp, "decode-ep",
                          f"the TP {plan.tp} groups of the system")
