"""What one chip must hold in HBM for a training or decode job, against its capacity.

Training (per chip, ``c`` logical cores per chip, ``P`` parameters, model-parallel group
``mp = TP x PP`` logical cores, so a chip holds ``c / mp`` of every replica's parameters):

- weights ``P c / mp x weight bytes`` (divided by DP at ZeRO stage 3);
- gradients ``P c / mp x gradient bytes`` (divided by DP from ZeRO stage 2);
- optimizer states ``P c / mp x optimizer bytes`` (divided by DP from ZeRO stage 1);
- activations: in a 1F1B pipeline the first stage holds ``min(PP, micro-batches)``
  micro-batches in flight; each keeps, per layer of its stage, ``tokens x hidden x bytes per
  element`` split over TP (sequence parallel), plus, with recomputation, one layer's full
  working set, plus the FP32 logits of one micro-batch on the last stage.

Decode (per chip): the weights in the decode datatype split over TP, and the KV cache of the
batch in its own datatype: ``batch x context x 2 x layers x head size x KV heads per core x
bytes x c``, where a
core holds ``max(1, KV heads / TP)`` KV heads (heads are replicated when TP exceeds them).

A mixture of experts holds ``1 / EP`` of its routed experts' parameters (``P - E (1 - 1 / EP)``,
E the routed experts' parameters) in place of ``P``; latent attention caches
``kv_lora_rank + rope_head_dim`` elements per token and layer, replicated on every core.

Every figure is a closed form: nothing grows with the batch but the numbers themselves.
"""

import functools
from dataclasses import dataclass

from .datatypes import element_bytes
from .formatting import binary_bytes
from .parallel import logical_cores_per_chip

__all__ = ["MemoryUse", "training_memory", "decode_memory", "when_fits", "held_parameters"]


@dataclass(frozen=True)
class MemoryUse:
    """Bytes one chip holds, by kind, and its HBM capacity (bytes)."""
    weights: float
    gradients: float
    optimizer: float
    activations: float
    kv_cache: float
    capacity: float

    @property
    def total(self):
        """Bytes held."""
        return self.weights + self.gradients + self.optimizer + self.activations + \
            self.kv_cache

    @property
    def fits(self):
        """Everything fits in the chip's HBM."""
        return self.total <= self.capacity

    def describe(self):
        """One line: each kind and the total against the capacity, in binary units (GiB)."""
        parts = [f"{name.replace('_', ' ')} {binary_bytes(getattr(self, name))}"
                 for name in ("weights", "gradients", "optimizer", "activations", "kv_cache")
                 if getattr(self, name)]
        return (f"{', '.join(parts)}: {binary_bytes(self.total)} of "
                f"{binary_bytes(self.capacity)} per chip")


def when_fits(method):
    """A read-only property of a step (anything with ``fits``) that is None when the step does
    not fit in HBM: a plan that does not fit is never timed as if it did."""
    @functools.wraps(method)
    def getter(self):
        return method(self) if self.fits else None
    return property(getter)


def _weight_bytes(datatype, assumptions):
    return min(assumptions.weight_bytes_per_parameter, element_bytes(datatype))


def held_parameters(workload, ep):
    """Parameters one expert-parallel replica holds: every dense one, ``1 / ep`` of the routed
    experts'."""
    return workload.parameters - workload.expert_parameters * (1 - 1 / ep)


def training_memory(chip, workload, plan, assumptions):
    """:class:`MemoryUse` of one chip training ``workload`` under ``plan``."""
    cores = logical_cores_per_chip(chip)
    share = held_parameters(workload, plan.ep) * cores / (plan.tp * plan.pp)
    dp = plan.dp
    weights = share * _weight_bytes(plan.datatype, assumptions) / (dp if plan.zero_stage >= 3
                                                                  else 1)
    gradients = share * assumptions.gradient_bytes_per_parameter / (
        dp if plan.zero_stage >= 2 else 1)
    optimizer = share * assumptions.optimizer_bytes_per_parameter / (
        dp if plan.zero_stage >= 1 else 1)
    tokens = plan.micro_batch * plan.sequence
    per_layer = tokens * workload.hidden * cores / plan.tp
    full = assumptions.activation_bytes_per_element
    in_flight = min(plan.pp, plan.micro_batches)
    layers = workload.layers // plan.pp
    kept = 2.0 if plan.recompute else full
    activations = in_flight * layers * per_layer * kept
    if plan.recompute:
        activations += per_layer * full
    activations += tokens * workload.vocab * 4.0 * cores / plan.tp
    return MemoryUse(weights, gradients, optimizer, activations, 0.0,
                     float(chip.hbm_capacity.value))


def decode_memory(chip, workload, plan):
    """:class:`MemoryUse` of one chip decoding under ``plan`` (weights and KV cache)."""
    cores = logical_cores_per_chip(chip)
    weights = held_parameters(workload, plan.ep) * element_bytes(plan.datatype) * cores / plan.tp
    if workload.latent_attention:
        per_core = workload.cache_elements
    else:
        per_core = 2.0 * workload.head_size * max(1.0, workload.kv_heads / plan.tp)
    kv_cache = (plan.batch * plan.context * workload.layers * per_core
                * element_bytes(plan.cache_datatype) * cores)
    return MemoryUse(weights, 0.0, 0.0, 0.0, kv_cache, float(chip.hbm_capacity.value))
