"""Transformer workloads: their GEMMs, parameters and model FLOPs.

A decoder layer of hidden size d, FFN size f, h attention heads of size d / h and g KV heads
does, for t tokens in sequences of s tokens (in ``nc_matmul`` orientation, weights stationary:
``out[M, N] = stationary[K, M]^T @ moving[K, N]`` with N the tokens):

======================  ==================  ============  ======================
GEMM                    M                   K             N
======================  ==================  ============  ======================
QKV projection          d + 2 g d / h       d             t
attention scores        s                   d / h         s    (h x t / s times)
attention context       d / h               s             s    (h x t / s times)
output projection       d                   d             t
FFN gate and up         2 f                 d             t
FFN down                d                   f             t
======================  ==================  ============  ======================

plus the LM head (M = vocabulary, K = d, N = t) once. A workload may name its head size
(``head_dim``, Qwen3's 128 beside 4096 / 64), and then the projections are ``heads x head_dim``
wide instead of d.

**Mixture of experts** (``experts`` above 0): every layer but the first ``dense_layers`` replaces
the FFN by a router (M = experts, K = d), ``shared_experts`` experts every token goes through and
``experts_per_token`` of the ``experts`` routed ones, each an FFN of ``expert_ffn``; a token's
FLOPs count only the experts it goes through (:attr:`Transformer.active_parameters`), the HBM
holds them all (:attr:`Transformer.parameters`).

**Multi-head latent attention** (``kv_lora_rank`` above 0, DeepSeek-V3): the queries come through
a ``q_lora_rank`` bottleneck, keys and values from a cached latent of ``kv_lora_rank`` plus one
shared ``rope_head_dim`` key; the cache holds ``kv_lora_rank + rope_head_dim`` elements per token
and layer. Prefill and training expand the latent per head (scores of ``head_dim + rope_head_dim``,
values of ``head_dim``); decode absorbs the expansion into the query and output projections, so
its attention is every head against the one latent (scores of ``kv_lora_rank + rope_head_dim``,
values of ``kv_lora_rank``). The backward pass does two GEMMs of the
same FLOPs for each: the input gradient (M and K swapped) and the weight gradient (K and N
swapped). The attention GEMMs listed here are full (every query against every key); a training
step times them halved by causal skipping, and its MFU counts them halved too
(:data:`~sim_models.scaling.training.MFU_COUNTS`).
"""

from dataclasses import dataclass, fields, replace
from pathlib import Path

from ..specs import SpecError, read_toml

__all__ = ["WORKLOADS_FILE", "OPTIONAL_FIELDS", "Gemm", "Transformer", "load_workloads"]

#: The workloads of the report.
WORKLOADS_FILE = Path(__file__).with_name("workloads.toml")


@dataclass(frozen=True)
class Gemm:
    """One GEMM shape of a workload and how many times a step does it.

    ``fused`` marks the attention GEMMs, whose scores stay on chip (SBUF and PSUM) between the
    two GEMMs, as a fused (FlashAttention-style) kernel keeps them: they move no HBM bytes of
    their own beyond what the projections around them read and write.
    """
    name: str
    m: int
    k: int
    n: int
    count: int
    fused: bool = False

    @property
    def flops(self):
        """FLOPs of all ``count`` GEMMs: ``2 m k n count``."""
        return 2.0 * self.m * self.k * self.n * self.count


@dataclass(frozen=True)
class Transformer:
    """A decoder-only transformer and the work a report asks of it.

    Members
    -------
    key, name : str
    layers, hidden, ffn, heads, kv_heads, vocab : int
        Architecture.
    sequence : int
        Training sequence length, tokens.
    sequences_per_chip : int
        Training sequences each chip processes per step (data parallel).
    decode_context : int
        Context length of a decode step, tokens.
    head_dim : int
        Size of one attention head; 0: ``hidden / heads``.
    experts, experts_per_token, shared_experts, expert_ffn, dense_layers : int
        Mixture of experts (0: a dense model): routed experts per MoE layer, routed experts
        each token goes through, experts every token goes through, one expert's FFN size, and
        the leading layers with a dense FFN of ``ffn`` instead.
    q_lora_rank, kv_lora_rank, rope_head_dim : int
        Multi-head latent attention (0: grouped-query attention): the query and key-value
        latent ranks and the shared rotary key's size.
    """
    key: str
    name: str
    layers: int
    hidden: int
    ffn: int
    heads: int
    kv_heads: int
    vocab: int
    sequence: int
    sequences_per_chip: int
    decode_context: int
    head_dim: int = 0
    experts: int = 0
    experts_per_token: int = 0
    shared_experts: int = 0
    expert_ffn: int = 0
    dense_layers: int = 0
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    rope_head_dim: int = 0

    @property
    def head_size(self):
        """Elements of one head (queries and values)."""
        return self.head_dim or self.hidden // self.heads

    @property
    def q_size(self):
        """Width of the query projection and of the attention output: heads x head size."""
        return self.heads * self.head_size

    @property
    def kv_size(self):
        """Width of the K (or V) projection: KV heads x head size."""
        return self.kv_heads * self.head_size

    @property
    def moe(self):
        """A mixture of experts."""
        return self.experts > 0

    @property
    def latent_attention(self):
        """Multi-head latent attention."""
        return self.kv_lora_rank > 0

    @property
    def moe_layers(self):
        """Layers whose FFN is a mixture of experts."""
        return self.layers - self.dense_layers if self.moe else 0

    @property
    def score_size(self):
        """Elements per head of a query-key product in prefill and training."""
        return self.head_size + self.rope_head_dim

    @property
    def attention_size(self):
        """Half the per-token, per-context-token FLOPs of a layer's attention over 4 (scores
        and context): ``d`` for a dense model, ``heads (score + value) / 2`` in general."""
        return self.heads * (self.score_size + self.head_size) // 2

    @property
    def cache_elements(self):
        """KV-cache elements per token and layer, all heads: ``2 x KV heads x head size``, or
        the latent and the rotary key of latent attention."""
        if self.latent_attention:
            return self.kv_lora_rank + self.rope_head_dim
        return 2 * self.kv_size

    def padded_for(self, tp):
        """The workload as Neuron's inference libraries shard its attention over ``tp`` ranks
        when ``tp`` does not divide the heads: zero query heads added up to a multiple of
        ``tp`` (Transformers NeuronX ``decoder.py``, ``round_up_to_divisor(n_heads,
        tp_degree)``; NxD Inference ``modules/attention/gqa.py``,
        ``get_shardable_head_counts``), the KV heads with them where every query head has its
        own (multi-head attention), the head size kept: the padded heads' projections, scores
        and KV cache are computed and held like real ones. Itself when ``tp`` is None or
        divides the heads, and for grouped-query or latent attention (whose TP must divide
        the heads)."""
        if tp is None or self.heads % tp == 0 or self.kv_heads != self.heads or \
                self.latent_attention:
            return self
        padded = -(-self.heads // tp) * tp
        return replace(self, heads=padded, kv_heads=padded, head_dim=self.head_size)

    def attention_projections(self, part):
        """``(name, M, K)`` of a layer's attention projections, one chip's part: ``part(size)``
        is a TP-split size (the latent projections, small, are done whole on every core)."""
        d = self.hidden
        if not self.latent_attention:
            return [("qkv", part(self.q_size + 2 * self.kv_size), d),
                    ("attention out", d, part(self.q_size))]
        return [("q latent", self.q_lora_rank, d),
                ("q up", part(self.heads * self.score_size), self.q_lora_rank),
                ("kv latent", self.kv_lora_rank + self.rope_head_dim, d),
                ("kv up", part(2 * self.q_size), self.kv_lora_rank),
                ("attention out", d, part(self.q_size))]

    def _ffn_parameters(self, ffn):
        return 3 * self.hidden * ffn

    @property
    def expert_parameters(self):
        """Parameters of the routed experts, all layers (what expert parallelism divides)."""
        return self.moe_layers * self.experts * self._ffn_parameters(self.expert_ffn)

    def _parameters(self, routed):
        attention = sum(m * k for _, m, k in self.attention_projections(lambda size: size))
        dense_ffn = (self.layers - self.moe_layers) * self._ffn_parameters(self.ffn)
        moe = self.moe_layers * (self.experts * self.hidden + self._ffn_parameters(
            self.expert_ffn) * (self.shared_experts + routed))
        return self.layers * attention + dense_ffn + moe + self.vocab * self.hidden

    def weight_gemms(self, tokens):
        """The GEMMs with weights of a dense model, for ``tokens`` tokens: one forward pass
        (a mixture of experts: :func:`sim_models.scaling.training.stage_gemms`)."""
        d, f, layers = self.hidden, self.ffn, self.layers
        return [Gemm(name, m, k, tokens, layers)
                for name, m, k in self.attention_projections(lambda size: size)] + \
               [Gemm("ffn gate+up", 2 * f, d, tokens, layers),
                Gemm("ffn down", d, f, tokens, layers),
                Gemm("lm head", self.vocab, d, tokens, 1)]

    def attention_gemms(self, sequences, context, queries):
        """Scores and context GEMMs of ``sequences`` sequences of ``queries`` new tokens each
        attending to ``context`` tokens: one forward pass."""
        count = self.layers * self.heads * sequences
        return [Gemm("attention scores", queries, self.score_size, context, count, fused=True),
                Gemm("attention context", self.head_size, context, queries, count, fused=True)]

    def training_gemms(self):
        """Every GEMM of one training step on one chip: forward, input and weight gradients."""
        tokens = self.sequences_per_chip * self.sequence
        forward = self.weight_gemms(tokens) + self.attention_gemms(
            self.sequences_per_chip, self.sequence, self.sequence)
        backward = [Gemm(f"{g.name} (input grad)", g.k, g.m, g.n, g.count, g.fused)
                    for g in forward] + \
                   [Gemm(f"{g.name} (weight grad)", g.m, g.n, g.k, g.count, g.fused)
                    for g in forward]
        return forward, backward

    @property
    def parameters(self):
        """Parameters in GEMMs (the layers, every expert, the router and the LM head; the
        embedding lookup does none): what the HBM holds."""
        return self._parameters(self.experts)

    @property
    def active_parameters(self):
        """Parameters one token goes through: the routed experts it is sent to only."""
        return self._parameters(self.experts_per_token)

    @property
    def kv_bytes_per_token(self):
        """Bytes of KV cache per token of context, BF16: ``layers x cache_elements x 2``."""
        return self.layers * self.cache_elements * 2


def _field_error(path, key, field, message):
    return SpecError(f"{path.name}: field '{key}.{field}' {message}")


#: Fields a workload may leave out (0: none; see :class:`Transformer`).
OPTIONAL_FIELDS = ("head_dim", "experts", "experts_per_token", "shared_experts", "expert_ffn",
                   "dense_layers", "q_lora_rank", "kv_lora_rank", "rope_head_dim")


def _check_moe(path, key, table):
    """Refuse an inconsistent mixture of experts or latent attention (one line)."""
    get = table.get
    if get("experts", 0):
        for field in ("experts_per_token", "expert_ffn"):
            if not get(field, 0):
                raise _field_error(path, key, field, "must be a positive integer when "
                                   "'experts' is given")
        if get("experts_per_token") > get("experts"):
            raise _field_error(path, key, "experts_per_token", f"must be at most 'experts' "
                               f"({get('experts')}), not {get('experts_per_token')}")
        if get("dense_layers", 0) >= table["layers"]:
            raise _field_error(path, key, "dense_layers", f"must be below 'layers' "
                               f"({table['layers']}), not {get('dense_layers')}")
    else:
        for field in ("experts_per_token", "shared_experts", "expert_ffn", "dense_layers"):
            if get(field, 0):
                raise _field_error(path, key, field, "needs 'experts' (a mixture of experts)")
    if bool(get("kv_lora_rank", 0)) != bool(get("q_lora_rank", 0)) or \
            (get("rope_head_dim", 0) and not get("kv_lora_rank", 0)):
        raise _field_error(path, key, "kv_lora_rank", "latent attention needs 'q_lora_rank', "
                           "'kv_lora_rank' and 'rope_head_dim' together")


def load_workloads(path=WORKLOADS_FILE):
    """Read a workloads file: a table per workload with every :class:`Transformer` field
    (those of :data:`OPTIONAL_FIELDS` may be left out).

    Returns
    -------
    dict of str to Transformer

    Raises
    ------
    SpecError
        If a field is missing or unknown, a size is not a positive integer, the hidden size
        does not divide into the heads, or the experts or latent attention are inconsistent;
        the message names the file and the field.
    """
    path = Path(path)
    tables = read_toml(path)
    names = [item.name for item in fields(Transformer) if item.name != "key"]
    workloads = {}
    for key, table in tables.items():
        if not isinstance(table, dict):
            raise SpecError(f"{path.name}: '{key}' must be a table ([{key}]) of the workload's "
                            f"fields, not {table!r}")
        for field in names:
            if field not in table and field not in OPTIONAL_FIELDS:
                raise _field_error(path, key, field, "is missing")
        for field in table:
            if field not in names:
                raise _field_error(path, key, field, f"is unknown; allowed: {', '.join(names)}")
        for field in names[1:]:
            value = table.get(field, 0)
            if isinstance(value, bool) or not isinstance(value, int) or \
                    value < (0 if field in OPTIONAL_FIELDS else 1):
                kind = "non-negative" if field in OPTIONAL_FIELDS else "positive"
                raise _field_error(path, key, field, f"must be a {kind} integer, not {value!r}")
        _check_moe(path, key, table)
        if (not table.get("head_dim") and table["hidden"] % table["heads"]) or \
                table["heads"] % table["kv_heads"]:
            raise _field_error(path, key, "heads", f"must divide 'hidden' ({table['hidden']}) "
                               f"and be a multiple of 'kv_heads' ({table['kv_heads']}), "
                               f"not {table['heads']}")
        workloads[key] = Transformer(key=key, **table)
    return workloads
