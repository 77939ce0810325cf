"""Work outside the Tensor Engine: the elementwise and reduction operations of a transformer
layer, by the engine that does them, timed at each engine's published FP32 rate.

Operations per token of one layer's forward pass (``d`` hidden, ``f`` FFN, ``g`` KV width,
``h`` heads, ``s`` context attended to, ``w`` the width of a masked diagonal tile; in a mixture
of experts ``f`` is the FFN width a token goes through, its experts' together):

=========  ==========================================================================
engine     work
=========  ==========================================================================
Vector     two RMSNorms (4 d each: square, sum, scale, weight), two residual adds (2 d),
           RoPE on queries and keys (3 (d + g)), the SwiGLU product (f), the softmax's
           running maximum and sum (2 h s)
Scalar     SiLU (f), the softmax's exponentials (h s), and PSUM evacuation: every GEMM
           result copied out of PSUM once (QKV d + 2 g, attention output and projection 2 d,
           gate and up 2 f, down d)
GpSimd     the causal mask on the diagonal tiles of the scores (h w)
=========  ==========================================================================

A backward pass does twice the forward work. Where attention is not fused (Assumptions.
unfused_attention_chips), its softmax is timed apart, instruction by instruction
(:func:`unfused_softmax_seconds`). The loss (softmax over the vocabulary ``V``:
3 V on Vector, V exponentials on Scalar) is done once per token, on the last pipeline stage.
"""

from dataclasses import dataclass

from ..specs import SpecError

__all__ = ["EngineWork", "layer_work", "loss_work", "MASK_TILE", "UNFUSED_SOFTMAX_STEPS",
           "unfused_softmax_seconds", "SCORE_BYTES", "unfused_scores_traffic"]

#: Width of one masked diagonal tile of attention scores (a TensorE tile side), elements.
MASK_TILE = 128


@dataclass(frozen=True)
class EngineWork:
    """Operations (FP32 FLOP-equivalents) on each engine."""
    vector: float
    scalar: float
    gpsimd: float

    def scaled(self, factor):
        """This work times ``factor``."""
        return EngineWork(self.vector * factor, self.scalar * factor, self.gpsimd * factor)

    def __add__(self, other):
        return EngineWork(self.vector + other.vector, self.scalar + other.scalar,
                          self.gpsimd + other.gpsimd)

    def seconds(self, chip):
        """Seconds of the busiest engine when ``chip``'s cores share this work evenly."""
        core, cores = chip.core, chip.cores.value
        return max(self.vector / core.vector_flops.value, self.scalar / core.scalar_flops.value,
                   self.gpsimd / core.gpsimd_flops.value) / cores


def layer_work(workload, tokens, context, masked):
    """Forward-pass :class:`EngineWork` of one layer for ``tokens`` tokens, each attending to
    ``context`` tokens; ``masked``: the causal mask is applied (training, prefill)."""
    d, f, g, h = workload.hidden, workload.ffn, 2 * workload.kv_size, workload.heads
    if workload.moe:
        # The FFN work of the experts a token goes through (the dense layers' counted alike).
        f = (workload.experts_per_token + workload.shared_experts) * workload.expert_ffn
    vector = 8 * d + 2 * d + 3 * (d + g // 2) + f + 2 * h * context
    scalar = f + h * context + (d + g) + 2 * d + 2 * f + d
    gpsimd = h * min(MASK_TILE, context) if masked else 0.0
    return EngineWork(tokens * vector, tokens * scalar, tokens * gpsimd)


def loss_work(workload, tokens):
    """:class:`EngineWork` of the loss (softmax cross-entropy over the vocabulary)."""
    return EngineWork(3.0 * workload.vocab * tokens, 1.0 * workload.vocab * tokens, 0.0)


#: The steps of an unfused softmax, one engine instruction each, by engine: the Scalar engine
#: takes the scaled scores out of PSUM and takes the exponentials; the Vector engine adds the
#: mask, finds the maximum, subtracts it, sums and divides (the operations of the attention as
#: XLA writes it, compiled one by one).
UNFUSED_SOFTMAX_STEPS = {"vector": 5, "scalar": 2}


def unfused_softmax_seconds(chip, instructions, free):
    """Seconds one core of ``chip`` takes for ``instructions`` unfused softmaxes, each over a
    tile of up to 128 partitions (the rows) and ``free`` elements along the free axis (the
    context attended to).

    Every step of :data:`UNFUSED_SOFTMAX_STEPS` is one instruction that takes about one engine
    cycle per free element however many partitions hold rows ([N-T1]: the engines process the
    partitions in parallel), at the Vector or Scalar engine's clock; each step waits for the
    one before it, so the steps add.

    Raises
    ------
    SpecError
        If the chip's spec gives no Vector or Scalar clock (one line).
    """
    core = chip.core
    if core.vector_clock is None or core.scalar_clock is None:
        raise SpecError(f"{chip.file}: chip '{chip.key}' needs core.vector_clock and "
                        f"core.scalar_clock to time an unfused softmax")
    per_element = UNFUSED_SOFTMAX_STEPS["vector"] / core.vector_clock.value + \
        UNFUSED_SOFTMAX_STEPS["scalar"] / core.scalar_clock.value
    return instructions * free * per_element


#: Bytes of one attention score as the unfused steps pass it on (FP32).
SCORE_BYTES = 4


def unfused_scores_traffic(chip, rows, free):
    """HBM bytes one core moves for one layer's unfused softmax over ``rows`` rows (every head
    and query of the core) of ``free`` scores each: nothing when the scores fit in its SBUF;
    otherwise each step of :data:`UNFUSED_SOFTMAX_STEPS` reads them from HBM and writes them
    back (an unfused operation finishes its whole tensor before the next starts), the scores
    GEMM writes them and the values GEMM reads them."""
    size = rows * free * SCORE_BYTES
    if size <= chip.core.sbuf.value:
        return 0.0
    return size * (2 * sum(UNFUSED_SOFTMAX_STEPS.values()) + 2)
