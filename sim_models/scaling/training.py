"""A data-parallel training step and a memory-bound decode step of a transformer on a system.

Training: every chip runs the whole model on its own ``sequences_per_chip`` sequences (data
parallel). Its GEMMs take :func:`~sim_models.scaling.gemm.chip_gemm` time each (the fused
attention GEMMs their compute time only, see :class:`~sim_models.scaling.workloads.Gemm`); the
gradients
are then all-reduced over the system (:func:`~sim_models.scaling.network.allreduce_seconds`).
Work outside the Tensor Engine (norms, softmax, the optimizer) is not counted: the report says
so beside every MFU. MFU is model FLOPs over step time x the system's TensorE peak.

Decode: the model is split across the system's chips by tensor parallelism (each chip holds
1 / chips of every weight matrix and of the KV cache). A step gives one token to each of
``batch`` sequences: every chip reads its weights and its share of the KV cache from HBM, does
its GEMMs, and the layer outputs are all-reduced twice per layer.
"""

from dataclasses import dataclass

from .gemm import chip_gemm
from .network import allreduce_seconds
from .peak import system_peak

__all__ = ["TrainingStep", "DecodeStep", "training_step", "decode_step"]


@dataclass(frozen=True)
class TrainingStep:
    """One data-parallel training step.

    Members
    -------
    system : str
        System key.
    chips : int
    tokens : int
        Tokens of the global batch.
    compute_seconds, backward_seconds : float
        GEMM time of one chip for the whole step, and for its backward pass.
    communication_seconds : float
        Gradient all-reduce (or ZeRO-3 gather and scatter) time.
    exposed_seconds : float
        The communication time not hidden behind the backward pass.
    model_flops : float
        Model FLOPs of the step, all chips.
    peak_flops : float
        The system's TensorE peak in the training datatype, FLOP/s.
    sharded : bool
        The optimizer states did not fit one chip's HBM and are sharded (ZeRO-3).
    """
    system: str
    chips: int
    tokens: int
    compute_seconds: float
    backward_seconds: float
    communication_seconds: float
    exposed_seconds: float
    model_flops: float
    peak_flops: float
    sharded: bool

    @property
    def seconds(self):
        return self.compute_seconds + self.exposed_seconds

    @property
    def achieved_flops(self):
        """Model FLOP/s of the whole system."""
        return self.model_flops / self.seconds

    @property
    def mfu(self):
        """Model FLOPs utilization, 0..1."""
        return self.achieved_flops / self.peak_flops


def _gemm_seconds(chip, gemms, datatype):
    """Seconds of ``gemms`` on one chip; fused (attention) GEMMs take their compute time only."""
    total = 0.0
    for gemm in gemms:
        estimate = chip_gemm(chip, gemm.m, gemm.k, gemm.n, datatype)
        total += gemm.count * (estimate.compute_seconds if gemm.fused else estimate.seconds)
    return total


def training_step(specs, system, workload, calibration, assumptions):
    """Time one data-parallel training step of ``workload`` (a Transformer) on ``system``.

    Returns
    -------
    TrainingStep
    """
    chip = specs.chip(system.chip)
    datatype = assumptions.training_datatype
    forward, backward = workload.training_gemms()
    forward_seconds = _gemm_seconds(chip, forward, datatype)
    backward_seconds = _gemm_seconds(chip, backward, datatype)
    gradient_bytes = workload.parameters * assumptions.gradient_bytes_per_parameter
    sharded = workload.parameters * assumptions.state_bytes_per_parameter > \
        chip.hbm_capacity.value
    communication = allreduce_seconds(specs, system, gradient_bytes, calibration, assumptions)
    if sharded:
        communication *= 1.5   # gather weights twice, scatter gradients once: 3 half-all-reduces
    hidden = backward_seconds if assumptions.overlap_with_backward else 0.0
    chips = int(system.chips.value)
    model_flops = chips * sum(g.flops for g in forward + backward)
    return TrainingStep(system.key, chips, chips * workload.sequences_per_chip *
                        workload.sequence, forward_seconds + backward_seconds,
                        backward_seconds, communication, max(0.0, communication - hidden),
                        model_flops, system_peak(specs, system, datatype), sharded)


@dataclass(frozen=True)
class DecodeStep:
    """One decode step: a token for each of ``batch`` sequences.

    Members
    -------
    system : str
    chips, batch, context : int
    gemm_seconds : float
        Weight GEMMs of one chip (HBM-bound at small batch).
    kv_seconds : float
        Reading one chip's share of the KV cache, and the attention GEMMs' compute if longer.
    communication_seconds : float
        Two all-reduces of the layer output per layer.
    """
    system: str
    chips: int
    batch: int
    context: int
    gemm_seconds: float
    kv_seconds: float
    communication_seconds: float

    @property
    def seconds(self):
        return self.gemm_seconds + self.kv_seconds + self.communication_seconds

    @property
    def tokens_per_second(self):
        return self.batch / self.seconds


def decode_step(specs, system, workload, batch, calibration, assumptions):
    """Time one tensor-parallel decode step of ``workload`` at ``batch`` sequences.

    Returns
    -------
    DecodeStep
    """
    chip = specs.chip(system.chip)
    chips = int(system.chips.value)
    datatype = assumptions.decode_datatype
    gemm_seconds = sum(
        chip_gemm(chip, -(-g.m // chips), g.k, g.n, datatype).seconds * g.count
        for g in workload.weight_gemms(batch))
    context = workload.decode_context
    kv_bytes = batch * context * workload.kv_bytes_per_token / chips
    attention = workload.attention_gemms(batch, context, 1)
    attention_compute = sum(g.flops for g in attention) / system_peak(specs, system, datatype)
    kv_seconds = max(kv_bytes / chip.hbm_bandwidth.value, attention_compute)
    layer_output = batch * workload.hidden * 2.0
    communication = 2 * workload.layers * allreduce_seconds(
        specs, system, layer_output, calibration, assumptions)
    return DecodeStep(system.key, chips, batch, context, gemm_seconds, kv_seconds, communication)
