"""Speculative decoding: a small draft model proposes ``k`` tokens per sequence, the target
model checks them (and gives one more) in one step, and ``accepted`` tokens per sequence
survive on average.

Per round, on the target's TP group (NxD Inference's fused speculation: the draft runs on the
same cores):

- ``k`` draft decode steps (:func:`~sim_models.scaling.decode.decode_step` of the draft at the
  largest TP degree that divides both its heads and the target's degree; each chip holds one
  copy of the draft beside its share of the target);
- one target step over ``k + 1`` new tokens per sequence, sharing one read of the weights and
  of each sequence's KV cache (``decode_step`` with ``queries = k + 1``).

Time per output token is the round over ``accepted``. The accepted length depends on the data
and the two models (AWS's tutorials do not publish it), so it is an input: ``1 <= accepted
<= k + 1``. Both models' weights and KV caches must fit in HBM together.
"""

import math
from dataclasses import dataclass

from ..specs import SpecError
from .decode import decode_step
from .memory import MemoryUse, when_fits
from .parallel import LIMIT

__all__ = ["SpeculativeStep", "speculative_step"]


@dataclass(frozen=True)
class SpeculativeStep:
    """One round of speculative decoding; times in seconds (None when ``fits`` is False).

    Members
    -------
    target, draft : DecodeStep
        The target's verification step (``k + 1`` tokens per sequence) and one draft step.
    k : int
        Draft tokens per round.
    accepted : float
        Mean tokens per sequence kept per round, the target's own included.
    memory : MemoryUse
        Both models on one chip.
    """
    target: object
    draft: object
    k: int
    accepted: float
    memory: object

    @property
    def fits(self):
        return self.memory.fits

    @when_fits
    def round_seconds(self):
        """``k`` draft steps and one verification step."""
        return self.k * self.draft.seconds + self.target.seconds

    @when_fits
    def seconds(self):
        """Seconds per output token of each sequence."""
        return self.round_seconds / self.accepted

    @when_fits
    def tokens_per_second(self):
        """Output tokens per second, whole system."""
        return self.target.replicas * self.target.plan.batch / self.seconds


def _draft_tp(draft, tp):
    return math.gcd(draft.heads, tp)


def speculative_step(specs, system, target, draft, batch, k, accepted, calibration,
                     assumptions, tp=None, context=None, datatype=None, kv_datatype=None):
    """Time speculative decoding of ``target`` with ``draft`` (workloads), ``k`` draft tokens
    per round, ``accepted`` tokens kept per round on average; ``tp``, ``context``,
    ``datatype`` and ``kv_datatype`` as for :func:`~sim_models.scaling.decode.decode_step`.

    Raises
    ------
    SpecError
        If ``k`` or ``accepted`` is out of range, or either plan cannot run (one line).
    """
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= LIMIT:
        raise SpecError(f"--speculation {k}: must be an integer from 1 to {LIMIT} (2^40)")
    if not 1 <= accepted <= k + 1:
        raise SpecError(f"--accepted {accepted}: must be from 1 to speculation + 1 = {k + 1} "
                        f"(tokens kept per round, the target's own included)")
    verify = decode_step(specs, system, target, batch, calibration, assumptions, tp=tp,
                         context=context, datatype=datatype, queries=k + 1,
                         kv_datatype=kv_datatype)
    proposal = decode_step(specs, system, draft, batch, calibration, assumptions,
                           tp=_draft_tp(draft, verify.plan.tp), context=verify.plan.context,
                           datatype=verify.plan.datatype, kv_datatype=kv_datatype)
    both = MemoryUse(*(getattr(verify.memory, name) + getattr(proposal.memory, name)
                       for name in ("weights", "gradients", "optimizer", "activations",
                                    "kv_cache")), verify.memory.capacity)
    return SpeculativeStep(verify, proposal, k, float(accepted), both)
