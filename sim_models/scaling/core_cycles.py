"""Cycles of a GEMM on one NeuronCore's Tensor Engine, from the RTL-validated cycle model.

The cycle model (:mod:`sim_models.cycle_model`) reproduces every handshake of the RTL tile, at
every size the regression and the characterization simulate, 128 x 128 included. This module
asks it for the GEMMs the scaling layer needs, which are far larger than anything simulated:

- The GEMM is mapped by the project's own tiler (:func:`sim_models.tiler.tile_gemm`) onto a
  tile of the core's shape, with operands that are all zero views (only shapes matter here).
- A program with many output blocks, or many chunks of K, is timed exactly on a shorter GEMM
  and extended: once the pipeline is full, the cycles of a period of ``lcm(psum_banks, 2)``
  blocks along M repeat (the bank pattern repeats, and the engines alternate with a period of at
  most two blocks), and so do those of every two chunks along K. The extension is used only where
  two successive periods of the shorter GEMM took the same cycles; otherwise the whole GEMM is
  timed. The same holds along N, in periods of ``lcm(psum_banks, 2)`` blocks of one PSUM bank's
  depth, so a decode batch of any size costs the timing of a few short GEMMs. A test checks
  the extensions against full timings.
- The core's PEs take ``CoreSpec.pe_stages`` cycles per MAC (the characterized floating-point
  tile's, :func:`~sim_models.scaling.peak.with_measured_rates`), which enters the fill and
  drain of every GEMM (:func:`timing_tile`).
- Datatypes with more than one MAC per PE per cycle (FP8 "double row", MX "quad") contract
  ``macs`` rows per PE per cycle, so the GEMM takes the cycles of one with ``K / macs`` rows;
  datatypes with fewer (FP32 at 1/4) take ``1 / macs`` cycles per moving column.
"""

import math
from functools import lru_cache

import numpy as np

from sim_models.config import OPERAND_FORMATS, TileConfig, check_int
from sim_models.cycle_model import time_program
from sim_models.program import MatmulFormat
from sim_models.tiler import tile_gemm

__all__ = ["core_tile", "zeros", "tile_cycles", "timing_tile", "gemm_cycles"]

#: Format of the PEs of a tile that times an int8 array with a deeper MAC.
_TIMING_FORMAT = "bf16"

#: Periods timed before the three timings the periodic extension compares: one lets the
#: array's fill pass (at 13 MAC stages it outlasts a period of shallow banks); more only cost
#: time (3, the value before, gave the same answers about 1.8 times slower).
_EXACT_PERIODS = 1
#: Period, in chunks of R rows, of the cycles along K (each chunk is one load and multiply).
_K_PERIOD = 2


def core_tile(core):
    """The :class:`~sim_models.config.TileConfig` whose timing is a NeuronCore's Tensor Engine's
    (a CoreSpec): its array, its PSUM banks, a bank's depth in FP32 entries per partition and,
    when the core has one (``pe_stages``), its PEs' MAC latency."""
    stages = 1 if core.pe_stages is None else int(core.pe_stages.value)
    return timing_tile(TileConfig(int(core.array_rows.value), int(core.array_cols.value),
                                  psum_banks=int(core.psum_banks.value),
                                  psum_depth=int(core.psum_bank_entries.value)), stages)


def timing_tile(config, pe_stages=None):
    """A tile that times like ``config`` with ``pe_stages`` MAC stages (``config``'s if None):
    ``config`` itself, or, for a deeper MAC on the int8 tile (which has one stage), the same
    array of BF16 PEs (formats change no schedule but double-row's, which callers fold into K)."""
    stages = config.pe_stages if pe_stages is None else pe_stages
    if stages == config.pe_stages:
        return config
    formats = config.formats if config.floating else (_TIMING_FORMAT,)
    return TileConfig(config.rows, config.cols, config.psum_banks, config.psum_depth, formats,
                      stages)


def zeros(rows, cols, format_name="int8"):
    """An operand of ``rows x cols`` zeros in ``format_name`` (int8 values or bit patterns)
    that takes no memory: timing reads shapes only."""
    dtype = np.int8 if format_name == "int8" else \
        np.uint8 if OPERAND_FORMATS[format_name].operand_bits == 8 else np.uint16
    return np.broadcast_to(dtype(0), (rows, cols))


@lru_cache(maxsize=4096)
def _timed(config, m, k, n):
    name = config.formats[0]
    matmul_format = MatmulFormat(name, name)
    operands = zeros(k, m, name), zeros(k, n, name)
    return time_program(config, tile_gemm(config, *operands, matmul_format).program).total_cycles


def _extended(units, unit_size, total, period, timed):
    """Cycles of a GEMM whose dimension ``total`` is cut into ``units`` chunks of ``unit_size``
    (the last one shorter), given ``timed(size)`` for the same GEMM with that dimension set to
    ``size``: exact while short, else extended from three shorter timings a period apart."""
    if units <= (_EXACT_PERIODS + 2) * period:
        return timed(total)
    last = total - (units - 1) * unit_size
    reference = _EXACT_PERIODS * period + units % period
    start, one, two = (timed((reference + p * period - 1) * unit_size + last)
                       for p in range(3))
    if one - start != two - one:
        return timed(total)
    return start + (units - reference) // period * (one - start)


def _block_period(config):
    """Output blocks after which the bank pattern and the engines' alternation both repeat."""
    return math.lcm(config.psum_banks, 2)


def _cycles_over_m(config, m, k, n):
    return _extended(math.ceil(m / config.cols), config.cols, m, _block_period(config),
                     lambda size: _timed(config, size, k, n))


def tile_cycles(config, m, k, n):
    """Cycles of ``out[m, n] = stationary[k, m]^T @ moving[k, n]`` on ``config`` with ideal
    streams, from cycle 0 to the last result beat (read-out included).

    Parameters
    ----------
    config : TileConfig
    m, k, n : int
        GEMM shape, each at least 1.

    Returns
    -------
    int
        Cycles.
    """
    for name, value in (("m", m), ("k", k), ("n", n)):
        check_int(f"Parameter '{name}'", value, 1, 1 << 40)
    return _extended(math.ceil(n / config.psum_depth), config.psum_depth, n,
                     _block_period(config), lambda size: _cycles_over_k(config, m, k, size))


def _cycles_over_k(config, m, k, n):
    return _extended(math.ceil(k / config.rows), config.rows, k, _K_PERIOD,
                     lambda size: _cycles_over_m(config, m, size, n))

def gemm_cycles(core, m, k, n, macs_per_pe_per_cycle):
    """Tensor Engine cycles of one core for a GEMM of shape (m, k, n) in a datatype that does
    ``macs_per_pe_per_cycle`` multiply-accumulates per PE per cycle (1 for BF16, 2 for Trn2 FP8,
    4 for MXFP8, 0.25 for FP32).

    Returns
    -------
    float
        Cycles at the Tensor Engine clock.
    """
    config = core_tile(core)
    if macs_per_pe_per_cycle >= 1:
        return float(tile_cycles(config, m, math.ceil(k / macs_per_pe_per_cycle), n))
    return tile_cycles(config, m, k, n) / macs_per_pe_per_cycle
