"""What a characterization checked the RTL against, rebuilt without a simulator.

A characterization result stays current only while the Verilog that was simulated and what it
was checked against are today's (:mod:`sim_models.staleness`). This module rebuilds the second
half from a design's configuration alone:

- the tile GEMMs of a characterization: their formats (:func:`characterization_formats`),
  their shapes (:func:`characterization_shapes`) and their seeded random operands
  (:func:`characterization_gemm`), drawn exactly as the testbench draws them;
- :func:`tile_checked_digest`: SHA-256 of those GEMMs' tiled programs, operand bytes
  included, and of the cycle model's timing of every operation, which every port handshake of
  the run had to equal;
- :func:`fabric_checked_digest`: SHA-256 of the analytic models' predictions for a fabric or
  an all-reduce ring (zero-load header latency from node 0 to every node; all-reduce cycles).
"""

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from .allreduce import AllReduceEstimate
from .config import OPERAND_FORMATS, AllReduceConfig, FabricConfig, config_to_dict
from .cycle_model import time_program
from .fabric import ZeroLoadLatency, hop_count
from .golden import is_fp8
from .program import INT8, LoadStationary, MatmulFormat, ReadPsum
from .tiler import TiledGemm, tile_gemm

__all__ = ["RandomGemm", "characterization_formats", "characterization_gemm",
           "characterization_shapes", "fabric_checked_digest", "gemm_name", "peak_format",
           "random_gemm", "random_operand", "seeded_generator", "steady_state_shapes",
           "tile_checked_digest"]

#: Moving free size N of the characterization GEMMs: the NeuronCore's PSUM bank of 512 vectors.
_BANK_DEPTH = 512


#: Largest distance of a random floating-point operand's exponent from 0 (values of magnitude
#: 2**-3 .. 2**4): wide enough to exercise alignment, narrow enough that no sum of a
#: characterization GEMM nears FP32's range and no value is a subnormal or a special.
_EXPONENT_SPREAD = 3


def characterization_formats(config):
    """The :class:`MatmulFormat` s a characterization of ``config`` runs: int8 on an int8 tile;
    otherwise each format of the tile on both operands, then each FP8 format in double-row
    mode."""
    if not config.floating:
        return [INT8]
    return [MatmulFormat(name, name) for name in config.formats] + \
        [MatmulFormat(name, name, double_row=True) for name in config.formats if is_fp8(name)]


def peak_format(config):
    """The :class:`MatmulFormat` in which ``config`` does the most MACs per PE per cycle: FP8
    double-row mode when the tile has an FP8 format (its first), else its first format on both
    operands (int8 on an int8 tile)."""
    formats = characterization_formats(config)
    return next((item for item in formats if item.double_row), formats[0])


def steady_state_shapes(config, matmul_format=INT8):
    """The two characterization GEMMs (M, K, N) that differ only by two whole K passes, (C, 2P,
    512) and (C, 4P, 512) with P = R (2R in FP8 double-row mode): the difference of their cycles
    is the array's steady state, fill and drain cancelled."""
    rows, cols = config.rows * matmul_format.rows_per_pe, config.cols
    return (cols, 2 * rows, _BANK_DEPTH), (cols, 4 * rows, _BANK_DEPTH)


def characterization_shapes(config, matmul_format=INT8):
    """GEMM shapes (M, K, N) that exercise what the scaling model needs of an R x C tile, R
    standing for the contraction of one pass (2R in FP8 double-row mode).

    - (C, R, 512): one operation that fills the array, N a whole PSUM bank;
    - (C, 2R, 512) and (C, 4R, 512): two and four K chunks, each stationary loaded behind
      the previous multiply;
    - (2C, 2R, 512): two M blocks of two K chunks, reads overlapping the next block;
    - (C, R, 32) and (C, R, 128): short N, where fill and drain dominate;
    - (C - 1, R // 2, 256): a partial array (all of it when C or R is 1);
    - (C, 2R, 1024): N beyond one PSUM bank, two output blocks in two banks.

    N is fixed, not scaled with ``config.psum_depth``: the sizes speak of the default bank of
    512 result vectors, the NeuronCore's.
    """
    rows, cols, depth = config.rows * matmul_format.rows_per_pe, config.cols, _BANK_DEPTH
    return [(cols, rows, depth), *steady_state_shapes(config, matmul_format),
            (2 * cols, 2 * rows, depth),
            (cols, rows, 32), (cols, rows, 128),
            (max(1, cols - 1), max(1, rows // 2), 256), (cols, 2 * rows, 2 * depth)]


def seeded_generator(seed, name):
    """numpy Generator of the integer ``seed`` mixed with ``name`` (a test's or a GEMM's), so
    that one seed gives every named test its own values."""
    return np.random.default_rng([seed, *name.encode()])


def gemm_name(shape, matmul_format=INT8):
    """Name of the GEMM of ``shape`` (M, K, N) in ``matmul_format``, e.g. ``gemm_m16_k64_n512``
    (int8) or ``gemm_m16_k64_n512_fp8e4m3_dr``."""
    m, k, n = shape
    suffix = "" if matmul_format == INT8 else f"_{matmul_format.name}"
    return f"gemm_m{m}_k{k}_n{n}{suffix}"


def random_operand(rng, format_name, shape):
    """Random operand of ``shape`` in format ``format_name`` drawn from ``rng``: int8 uniform in
    -128..127; a floating-point format's bit patterns with a random sign, a random stored
    fraction and an exponent uniform within ``_EXPONENT_SPREAD`` of 0 (all finite, normal)."""
    if format_name == "int8":
        return rng.integers(-128, 128, size=shape, dtype=np.int8)
    operand = OPERAND_FORMATS[format_name]
    bias = 2 ** (operand.exponent_bits - 1) - 1
    sign = rng.integers(0, 2, size=shape)
    exponent = rng.integers(bias - _EXPONENT_SPREAD, bias + _EXPONENT_SPREAD + 1, size=shape)
    fraction = rng.integers(0, 2 ** operand.mantissa_bits, size=shape)
    bits = (sign << (operand.operand_bits - 1)) | (exponent << operand.mantissa_bits) | fraction
    return bits.astype(np.uint8 if operand.operand_bits == 8 else np.uint16)


@dataclass(frozen=True, eq=False)
class RandomGemm:
    """A GEMM of random operands, mapped onto a tile.

    Members
    -------
    name : str
        :func:`gemm_name` of its shape and formats.
    stationary : numpy.ndarray, shape [K, M]
    moving : numpy.ndarray, shape [K, N]
        int8, or the bit patterns of floating-point formats.
    tiled : TiledGemm
        The tiler's program for it.
    """
    name: str
    stationary: np.ndarray
    moving: np.ndarray
    tiled: TiledGemm


def random_gemm(config, shape, rng, matmul_format=INT8):
    """The GEMM of ``shape`` (M, K, N) on tile ``config`` in ``matmul_format`` with operands
    drawn from ``rng`` (:func:`random_operand`): the stationary [K, M] first, then the moving
    [K, N]."""
    m, k, n = shape
    stationary = random_operand(rng, matmul_format.stationary, (k, m))
    moving = random_operand(rng, matmul_format.moving, (k, n))
    return RandomGemm(gemm_name(shape, matmul_format), stationary, moving,
                      tile_gemm(config, stationary, moving, matmul_format))


def characterization_gemm(config, shape, seed, matmul_format=INT8):
    """The GEMM of ``shape`` in ``matmul_format`` that a characterization with the integer
    ``seed`` runs: operands drawn from :func:`seeded_generator` of the seed and the GEMM's
    name."""
    return random_gemm(config, shape, seeded_generator(seed, gemm_name(shape, matmul_format)),
                       matmul_format)


def _feed(digest, fields, array=None):
    """Add one JSON line of ``fields`` (and the bytes of an operand ``array``: int8 or bit
    patterns) to ``digest``."""
    digest.update(json.dumps(fields, sort_keys=True).encode() + b"\n")
    if array is not None:
        digest.update(np.ascontiguousarray(array).tobytes())


def _operation_fields(operation):
    """(fields, operand array or None) of one tile operation. Formats enter the fields only
    when floating-point, so that the digests of int8 characterizations stay what they were;
    double-row operations name their pairing, so that runs checked against another are
    stale."""
    if isinstance(operation, ReadPsum):
        return {"op": "read", "bank": operation.bank, "m": operation.m, "n": operation.n}, None
    if isinstance(operation, LoadStationary):
        fields, array = {"op": "load", "shape": list(operation.stationary.shape)}, \
            operation.stationary
    else:
        fields, array = {"op": "multiply", "shape": list(operation.moving.shape),
                         "bank": operation.bank, "accumulate": operation.accumulate}, \
            operation.moving
    if operation.format != "int8":
        fields.update(format=operation.format, double_row=operation.double_row)
    if operation.double_row:     # PE row p pairs indices p and p + K/2 (R11), not 2p and 2p + 1
        fields["pairing"] = "nki"
    return fields, array


def tile_checked_digest(config, shapes, seed, matmul_formats=None):
    """SHA-256 (64 hex digits) of what a tile characterization checked: for each GEMM of
    ``shapes`` ((M, K, N) tuples, in run order) in its format (``matmul_formats``, one per
    shape; int8 for all if None) with operands of the integer ``seed``, every operation of its
    tiled program with its operand bytes, and the cycle model's accepted, first-beat and
    last-beat cycles of it and total cycles of the program."""
    digest = hashlib.sha256()
    _feed(digest, {"config": config_to_dict(config), "seed": seed})
    for shape, matmul_format in zip(shapes, matmul_formats or [INT8] * len(shapes),
                                    strict=True):
        program = characterization_gemm(config, shape, seed, matmul_format).tiled.program
        timing = time_program(config, program)
        fields = {"gemm": list(shape), "total_cycles": timing.total_cycles}
        if matmul_format != INT8:
            fields["format"] = [matmul_format.stationary, matmul_format.moving,
                                matmul_format.double_row]
        _feed(digest, fields)
        for operation, cycles in zip(program, timing.operations):
            fields, array = _operation_fields(operation)
            _feed(digest, {**fields, "cycles": [cycles.accepted, cycles.first_beat,
                                                cycles.last_beat]}, array)
    return digest.hexdigest()


def fabric_checked_digest(config):
    """SHA-256 (64 hex digits) of what the analytic models predict for a fabric
    (:class:`FabricConfig`: zero-load header cycles from node 0 to every node) or an all-reduce
    ring (:class:`AllReduceConfig`: cycles of one all-reduce with ideal streams)."""
    if isinstance(config, FabricConfig):
        latency = ZeroLoadLatency(buffer_depth=config.buffer_depth)
        predictions = {"zero_load_header_cycles": [
            latency.header(hop_count(config.dims, 0, node)) for node in range(config.nodes)]}
    elif isinstance(config, AllReduceConfig):
        predictions = {"allreduce_cycles": AllReduceEstimate.of(config).cycles()}
    else:
        raise TypeError(f"Argument 'config' must be a FabricConfig or AllReduceConfig, "
                        f"not {config!r}")
    digest = hashlib.sha256()
    _feed(digest, {"config": config_to_dict(config), "predictions": predictions})
    return digest.hexdigest()
