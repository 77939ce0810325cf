"""What a characterization checked the RTL against, as a digest rebuilt without a simulator.

A characterization result stays current only while the Verilog that was simulated and what it
was checked against are today's (:mod:`sim_models.staleness`). This module rebuilds the second
half from a design's configuration alone:

- :func:`tile_checked_digest`: SHA-256 of the characterization GEMMs' tiled programs
  (:mod:`sim_models.stimulus`), operand bytes included, and of the cycle model's timing of every
  operation, which every port handshake of the run had to equal;
- :func:`fabric_checked_digest`: SHA-256 of the analytic models' predictions for a fabric or
  an all-reduce ring (zero-load header latency from node 0 to every node; all-reduce cycles),
  or of the all-to-all reference's answer to a fixed all-to-all (every node's counts and
  elements), which every received element of the run had to equal.
"""

import hashlib
import json

import numpy as np

from .torus_collective import estimate_of
from .alltoall import alltoall_reference
from .config import AllReduceConfig, AllToAllConfig, FabricConfig, config_to_dict
from .cycle_model import time_program
from .fabric import ZeroLoadLatency, hop_count
from .program import INT8, LoadStationary, ReadPsum
from .stimulus import characterization_gemm

__all__ = ["fabric_checked_digest", "tile_checked_digest"]


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
                                matmul_format.double_row] + ([True] if matmul_format.mx else [])
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
        predictions = {"allreduce_cycles": estimate_of(config).cycles()}
    elif isinstance(config, AllToAllConfig):
        nodes = config.fabric.nodes
        blocks = [[[source * nodes + destination] * config.max_count
                   for destination in range(nodes)] for source in range(nodes)]
        predictions = {"alltoall": [[list(result.counts), list(result.elements)] for result in
                                    alltoall_reference(blocks, config.max_count)]}
    else:
        raise TypeError(f"Parameter 'config' must be a FabricConfig, AllReduceConfig or "
                        f"AllToAllConfig, not {config!r}")
    digest = hashlib.sha256()
    _feed(digest, {"config": config_to_dict(config), "predictions": predictions})
    return digest.hexdigest()
