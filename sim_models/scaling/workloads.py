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

plus the LM head (M = vocabulary, K = d, N = t) once. The backward pass does two GEMMs of the
same FLOPs for each: the input gradient (M and K swapped) and the weight gradient (K and N
swapped). The attention GEMMs listed here are full (every query against every key); a training
step times them halved by causal skipping, and its MFU counts them halved too
(:data:`~sim_models.scaling.training.MFU_COUNTS`).
"""

from dataclasses import dataclass, fields
from pathlib import Path

from ..specs import SpecError, read_toml

__all__ = ["WORKLOADS_FILE", "Gemm", "Transformer", "load_workloads"]

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

    @property
    def head_size(self):
        return self.hidden // self.heads

    @property
    def kv_size(self):
        """Width of the K (or V) projection: KV heads x head size."""
        return self.kv_heads * self.head_size

    def weight_gemms(self, tokens):
        """The GEMMs with weights, for ``tokens`` tokens: one forward pass."""
        d, f, layers = self.hidden, self.ffn, self.layers
        return [Gemm("qkv", d + 2 * self.kv_size, d, tokens, layers),
                Gemm("attention out", d, d, tokens, layers),
                Gemm("ffn gate+up", 2 * f, d, tokens, layers),
                Gemm("ffn down", d, f, tokens, layers),
                Gemm("lm head", self.vocab, d, tokens, 1)]

    def attention_gemms(self, sequences, context, queries):
        """Scores and context GEMMs of ``sequences`` sequences of ``queries`` new tokens each
        attending to ``context`` tokens: one forward pass."""
        count = self.layers * self.heads * sequences
        return [Gemm("attention scores", queries, self.head_size, context, count, fused=True),
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
        """Parameters in GEMMs (the layers and the LM head; the embedding lookup does none)."""
        return sum(g.m * g.k * g.count for g in self.weight_gemms(1))

    @property
    def kv_bytes_per_token(self):
        """Bytes of K and V cache per token of context, BF16: ``2 x layers x kv_size x 2``."""
        return 2 * self.layers * self.kv_size * 2


def _field_error(path, key, field, message):
    return SpecError(f"{path.name}: field '{key}.{field}' {message}")


def load_workloads(path=WORKLOADS_FILE):
    """Read a workloads file: a table per workload with every :class:`Transformer` field.

    Returns
    -------
    dict of str to Transformer

    Raises
    ------
    SpecError
        If a field is missing or unknown, a size is not a positive integer, or the hidden size
        does not divide into the heads; the message names the file and the field.
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
            if field not in table:
                raise _field_error(path, key, field, "is missing")
        for field in table:
            if field not in names:
                raise _field_error(path, key, field, f"is unknown; allowed: {', '.join(names)}")
        for field in names[1:]:
            value = table[field]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise _field_error(path, key, field,
                                   f"must be a positive integer, not {value!r}")
        if table["hidden"] % table["heads"] or table["heads"] % table["kv_heads"]:
            raise _field_error(path, key, "heads", f"must divide 'hidden' ({table['hidden']}) "
                               f"and be a multiple of 'kv_heads' ({table['kv_heads']}), "
                               f"not {table['heads']}")
        workloads[key] = Transformer(key=key, **table)
    return workloads
