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

Each rank of a TP group repeats the norms and residual adds over the whole hidden vector
(:func:`replicated_work`). A decode step's few tokens fill few of the 128 partitions: its
per-token work runs at the engines' rate times the filled share (``EngineWork.seconds``'s
``rows``), its fused softmax (the context on the partitions) at the full rate.

A backward pass does twice the forward work. Where attention is not fused (Assumptions.
unfused_attention_chips), its softmax is timed apart, instruction by instruction
(:func:`unfused_softmax_seconds`). The loss (softmax over the vocabulary ``V``:
3 V on Vector, V exponentials on Scalar) is done once per token, on the last pipeline stage.
"""

from dataclasses import dataclass

from ..specs import SpecError

__all__ = ["EngineWork", "layer_work", "token_work", "attention_work", "replicated_work",
           "PARTITIONS", "loss_work", "MASK_TILE", "UNFUSED_SOFTMAX_STEPS",
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

    def seconds(self, chip, rows=None):
        """Seconds of the busiest engine when ``chip``'s cores share this work evenly.

        ``rows``: the rows (tokens) the work is laid out on, one per partition; fewer than
        :data:`PARTITIONS` leave partitions idle and each engine reaches its published rate
        times ``rows / 128`` ([N-T1]: an instruction processes the partitions in parallel and
        takes its time along the free axis). None: the partitions are full."""
        core, cores = chip.core, chip.cores.value
        filled = 1.0 if rows is None else min(rows, PARTITIONS) / PARTITIONS
        return max(self.vector / core.vector_flops.value, self.scalar / core.scalar_flops.value,
                   self.gpsimd / core.gpsimd_flops.value) / (cores * filled)


#: Partitions of SBUF and of every engine's tile.
PARTITIONS = 128
#: Vector operations per token and hidden element that every rank of a TP group repeats over
#: the whole hidden vector (Megatron TP without sequence parallelism): two RMSNorms (square,
#: sum, scale, weight) and two residual adds.
REPLICATED_PER_HIDDEN = 2 * 4 + 2


def token_work(workload, tokens):
    """Forward-pass :class:`EngineWork` of one layer's per-token operations for ``tokens``
    tokens, the whole layer (divide by TP for one rank; :func:`replicated_work` is what each
    rank repeats): laid out with the tokens on the partitions."""
    d, f, g = workload.hidden, workload.ffn, 2 * workload.kv_size
    if workload.moe:
        # The FFN work of the experts a token goes through (the dense layers' counted alike).
        f = (workload.experts_per_token + workload.shared_experts) * workload.expert_ffn
    vector = REPLICATED_PER_HIDDEN * d + 3 * (d + g // 2) + f
    scalar = f + (d + g) + 2 * d + 2 * f + d
    return EngineWork(tokens * vector, tokens * scalar, 0.0)


def replicated_work(workload, tokens, tp):
    """:class:`EngineWork` one rank of a TP group of ``tp`` does beyond its ``1 / tp`` share of
    :func:`token_work`: the norms and residual adds over the whole hidden vector."""
    return EngineWork(tokens * REPLICATED_PER_HIDDEN * workload.hidden * (1 - 1 / tp), 0.0,
                      0.0)


def attention_work(workload, tokens, context, masked):
    """Forward-pass :class:`EngineWork` of one layer's softmax for ``tokens`` queries, each
    attending to ``context`` tokens (a fused kernel lays the context on the partitions);
    ``masked``: the causal mask is applied (training, prefill)."""
    h = workload.heads
    gpsimd = h * min(MASK_TILE, context) if masked else 0.0
    return EngineWork(tokens * 2 * h * context, tokens * h * context, tokens * gpsimd)


def layer_work(workload, tokens, context, masked):
    """Forward-pass :class:`EngineWork` of one layer for ``tokens`` tokens, each attending to
    ``context`` tokens; ``masked``: the causal mask is applied (training, prefill):
    :func:`token_work` and :func:`attention_work`."""
    return token_work(workload, tokens) + attention_work(workload, tokens, context, masked)


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
