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
        600e-9, "Each collective step starts with one descriptor-generated DMA, about 600 ns "
                "([N-T2], DGE), added to the RTL-measured per-step latency.")
    switch_hops: int = _choice(
        2, "On a Trainium3 switch fabric an all-reduce is a direct reduce-scatter and a direct "
           "all-gather, each one step of two hops (chip to switch to chip) at the chip's "
           "bandwidth into the switch.")
    training_datatype: str = _choice(
        "bf16", "Training GEMMs run in BF16 with FP32 accumulation; MFU is against the BF16 "
                "TensorE peak.")
    gradient_bytes_per_parameter: float = _choice(
        2.0, "Gradients are all-reduced in BF16.")
    state_bytes_per_parameter: float = _choice(
        16.0, "Mixed-precision Adam keeps BF16 weights and gradients plus FP32 master weights "
              "and two moments: 16 bytes per parameter. If that does not fit in one chip's "
              "HBM, the states are sharded (ZeRO-3): 1.5x the all-reduce traffic.")
    overlap_with_backward: bool = _choice(
        True, "Gradient communication overlaps the backward pass (bucketed); only what exceeds "
              "the backward compute time is exposed.")
    gpu_server_gpus: int = _choice(
        8, "An EC2 GPU server of the claims' time (P5, P5e, P5en) carries 8 GPUs; the "
           "reference does not give the P5's composition.")
    decode_datatype: str = _choice(
        "bf16", "Decode reads BF16 weights and a BF16 KV cache.")


def describe(assumptions):
    """``(name, value, why)`` of every field of ``assumptions``, in declaration order."""
    return [(item.name, getattr(assumptions, item.name), item.metadata["why"])
            for item in fields(assumptions)]
