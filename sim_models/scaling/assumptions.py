"""The modelling choices the scaling layer makes where no published figure decides, each with
its reason. The report lists them all; every model function takes them as one argument, so a
reader can change one and see what moves."""

from dataclasses import dataclass, field, fields

__all__ = ["Assumptions", "describe"]


def _choice(value, why):
    return field(default=value, metadata={"why": why})


@dataclass(frozen=True)
class Assumptions:
    """Modelling choices of the scaling layer; see each field's ``why`` in :func:`describe`."""
    fabric_clock_hz: object = _choice(
        None, "The RTL router's step latency (cycles) is converted to time at this clock; when "
              "not set, the chip's TensorE clock: AWS publishes no NeuronLink clock or latency.")
    dma_step_seconds: float = _choice(
        1.3e-6, "Each collective step starts with one DMA transfer triggered by another engine: "
                "descriptor setup, synchronization and semaphore-to-start latency, about "
                "1,300 ns across engines ([N-DMA]; the descriptor generation alone is about "
                "600 ns, [N-T2] DGE), added to the RTL-measured per-step latency.")
    switch_hops: int = _choice(
        2, "On a Trainium3 switch fabric an all-reduce is a direct reduce-scatter and a direct "
           "all-gather, each one step of two hops (chip to switch to chip) at the chip's "
           "bandwidth into the switch.")
    max_tokens_per_step: int = _choice(
        16_777_216, "A training step of a layout left to the model takes each workload's "
                    "sequences_per_chip on every chip up to 16 Mi tokens (2,048 x 8,192) for the "
                    "whole system, then stays there: the largest batch a published dense run "
                    "used (Llama 3 405B's last pre-training stage, Meta, 'The Llama 3 Herd of "
                    "Models', 2024, section 3.4.1). Beyond it every chip gets fewer tokens, as "
                    "on a real cluster, instead of a batch growing with the chips.")
    training_datatype: str = _choice(
        "bf16", "Training GEMMs run in BF16 with FP32 accumulation unless a layout names "
                "another datatype; MFU is against the TensorE peak of the layout's datatype.")
    gradient_bytes_per_parameter: float = _choice(
        4.0, "Gradients are kept and reduced in FP32, as AWS's rows run ('Autocast: BF16 + FP32 "
             "optimizer').")
    weight_bytes_per_parameter: float = _choice(
        2.0, "The GEMMs read a BF16 copy of the weights (FP8 datatypes: one byte).")
    optimizer_bytes_per_parameter: float = _choice(
        12.0, "AdamW keeps FP32 master weights and two FP32 moments: 12 bytes per parameter, "
              "sharded over DP from ZeRO stage 1.")
    optimizer_flops_per_parameter: float = _choice(
        12.0, "An AdamW update is about 12 elementwise operations per parameter (two moment "
              "updates, bias corrections, square root, division, decay), on the Vector "
              "engine.")
    activation_bytes_per_element: float = _choice(
        34.0, "Without recomputation a layer keeps about 34 bytes per token per hidden element "
              "(Korthikanti et al. 2022, BF16, attention scores not stored: fused attention); "
              "with full recomputation only the layer input (2 bytes) is kept, plus one "
              "layer's working set during its recomputation.")
    overlap_with_backward: bool = _choice(
        True, "The DP gradient reduction overlaps the backward pass of the step's last "
              "micro-batch (bucketed); only what exceeds it is exposed. TP all-reduces sit "
              "between dependent GEMMs and are never hidden; pipeline sends are exposed once "
              "per micro-batch and direction.")
    engines_overlap: bool = _choice(
        True, "The Vector, Scalar and GpSimd engines run concurrently with the Tensor Engine "
              "(pipelined kernels): a pass takes its slowest engine.")
    hbm_efficiency: float = _choice(
        0.9, "Fraction of the HBM peak a streaming kernel sustains (DMA descriptors, "
             "refresh, bank conflicts); not fitted.")
    unfused_attention_chips: tuple = _choice(
        ("trn1",), "Chips whose inference attention is unfused: AWS's Trn1 decode and TTFT "
                   "rows run Transformers NeuronX, which writes attention as XLA operations "
                   "that the compiler turns into one engine instruction per softmax step, the "
                   "query rows (of every head and sequence of a core) on the partitions and "
                   "the context along the free axis; a decode step's few rows leave most of "
                   "the 128 partitions idle and each step takes a cycle per context token "
                   "(engines.unfused_softmax_seconds). NeuronCore-v2 has no Tensor Engine "
                   "transpose mode (new in NC-v3, [N-T2]) to move the context onto the "
                   "partitions cheaply. AWS's Trn2 rows run NxD Inference's NKI attention "
                   "kernels (the context on the partitions, the softmax fused): not listed.")
    ttft_decode_steps: int = _choice(
        1, "ASSUMED from the published rows, not a fit: AWS's time to first token counts the "
           "prefill and one token-generation step. At a 128-token prompt, where the prefill "
           "reads the weights once as a decode step does, the published TTFT is 2.0-2.3 "
           "times the TPOT of the same benchmark row (Llama-2 7B, Llama-2 and Llama-3 70B "
           "on Trn1); the prefill alone would make it about 1.4.")
    layer_overhead_seconds: float = _choice(
        1.999e-3, "FITTED on the calibration training row: a fixed time per layer and training "
              "pass (forward, backward, recomputation) beyond the modelled engines: the "
              "compiler's kernels leave the Tensor Engine idle between a layer's operations "
              "(DMA waits, semaphores between engines, unfused elementwise chains). The "
              "Tensor Engine itself runs at the RTL-validated cycle model's rate.")
    prefill_efficiency: float = _choice(
        0.4746, "FITTED on the calibration prefill row: the fraction of the RTL-validated cycle "
             "model's Tensor Engine rate that AWS's prefill kernels reach in compute-bound "
             "GEMMs: between a layer's matrix multiplications the engine waits on DMA, on "
             "semaphores between engines and on unfused elementwise chains. (Training states "
             "the same loss as a time per layer and pass, layer_overhead_seconds; about half "
             "the cycle model's rate in both.)")
    collective_seconds: float = _choice(
        60.43e-6, "FITTED on the calibration decode row: the software cost of one collective "
               "(launch, semaphores, synchronization of all ranks), on top of the "
               "RTL-validated transfer time.")
    gpu_server_gpus: int = _choice(
        8, "An EC2 GPU server of the claims' time (P5, P5e, P5en) carries 8 GPUs; the "
           "reference does not give the P5's composition.")
    expert_imbalance: float = _choice(
        1.25, "ASSUMED, no published Trainium figure: in a mixture of experts the busiest "
              "expert receives 1.25 x the mean tokens per expert (the router's balancing "
              "keeps it near the mean over large batches); the step waits for it, and its "
              "all-to-all receiver takes 1.25 x the mean block. At small batches the "
              "expected number of distinct experts the tokens reach (uniform routing), not "
              "this factor, decides. CLI: --imbalance.")
    prefill_expert_block_tokens: object = _choice(
        512, "Prefill runs a mixture of experts' routed FFNs blockwise, as NxD Inference's "
             "context encoding does (NxD's blockwise matmul kernel, default block size 512 "
             "tokens, neuronx-distributed modules/moe/model_utils.py DEFAULT_BLOCK_SIZE): each "
             "expert's tokens padded to whole blocks, the number of blocks fixed at compile "
             "time for the worst routing (ceil((T k - (E - 1)) / B) + E - 1), every block "
             "computed in full. A short prompt thus computes about every expert at a whole "
             "block of tokens (GPT-OSS-120B, 512 tokens: 131 blocks of 512 rows for 2,048 "
             "routed rows). Decode reads only the experts its tokens reach (selective "
             "loading). Without a block size, prefill too is timed at the tokens each "
             "expert receives.")
    decode_datatype: str = _choice(
        "bf16", "Decode reads BF16 weights and a BF16 KV cache.")


def describe(assumptions):
    """``(name, value, why)`` of every field of ``assumptions``, in declaration order."""
    return [(item.name, getattr(assumptions, item.name), item.metadata["why"])
            for item in fields(assumptions)]
