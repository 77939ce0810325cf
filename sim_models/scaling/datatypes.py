"""Bytes per element of each datatype, as stored in HBM and SBUF.

MX formats carry one 8-bit E8M0 scale per group of 32 elements (trainium.md §5, [N-MX]); TF32
is stored in 32-bit words. Results leave PSUM (FP32 accumulation) as BF16, except in FP32
GEMMs, which keep FP32.
"""

from ..specs import SpecError

__all__ = ["ELEMENT_BYTES", "element_bytes", "output_bytes"]

#: Bytes per operand element.
ELEMENT_BYTES = {
    "fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0,
    "mxfp8": 1.0 + 1 / 32, "mxfp4": 0.5 + 1 / 32,
    # Structured sparsity as Trainium stores it: BF16 values (the dense-equivalent rate is what
    # the peak counts; the compressed layout's saving is not modelled).
    "sparse": 2.0,
}


def element_bytes(datatype):
    """Bytes of one operand element of ``datatype``."""
    if datatype not in ELEMENT_BYTES:
        raise SpecError(f"Datatype {datatype!r} has no storage size; known: "
                        f"{', '.join(ELEMENT_BYTES)}")
    return ELEMENT_BYTES[datatype]


def output_bytes(datatype):
    """Bytes of one result element written back for a GEMM in ``datatype``."""
    return 4.0 if datatype == "fp32" else 2.0
