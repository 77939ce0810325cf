"""Tiler: maps a GEMM of any size onto the operations of one tile.

The output ``out[M, N] = stationary[K, M]^T @ moving[K, N]`` is cut into blocks of at most C rows
and ``psum_depth`` columns, M blocks outermost. Each block is summed over chunks of at most R
rows of K (2R in FP8 double-row mode) in PSUM bank ``block index % psum_banks``: a
LoadStationary and a MultiplyMoving per chunk, overwriting for the first chunk and accumulating
for the others. In double-row mode a chunk of odd K gets one zero row appended to both of its
operands, the zero padding NKI requires (R11: PE row p pairs indices p and p + K/2 of the
chunk); the zero products add nothing but a +0 term.

In MX mode (Trainium3's MXFP8 / MXFP4, R12-R14) a chunk is one MX pass: the largest multiple
of ``TileConfig.mx_k_multiple`` up to 4R contraction rows (4R on a tile of 8, 16, 32, 64 or 128
rows), laid out in NKI's x4 words of its own (PE row p multiplies indices p + qK/4 of the chunk).
A GEMM's E8M0 scales [K/32, M] and [K/32, N] are its passes' scales stacked in K order, as an
NKI kernel keeps one scale tile per K tile of ``nc_matmul_mx``: pass [s, e) takes scale rows
s/32 .. e/32 - 1, group g of the pass being its PE rows 8g .. 8g + 7. K must be a multiple of
``mx_k_multiple`` (128, NKI's; 4R on a tile of fewer than 32 rows): the tiler does not pad, as
padding a pass would move its elements into other x4 words and scale groups than the ones
their scales were given for; any other K is refused in one line.

A ReadPsum waits for the writes to its bank to drain, and operations issue in order. With one
bank, the ReadPsum of a block follows its last MultiplyMoving. With more banks, it follows the
first MultiplyMoving of the next block instead, so that this MultiplyMoving, into another bank,
is already issued while the read waits; the ReadPsum of the last block ends the program.
"""

import math
from dataclasses import dataclass
from itertools import product

import numpy as np

from .golden import check_config, check_format, check_mx_scale, check_operand, psum_dtype
from .mx import GROUP_PARTITIONS, X4, check_mx_k
from .program import INT8, LoadStationary, MatmulFormat, MultiplyMoving, ReadPsum

__all__ = ["OutputTile", "TiledGemm", "pass_rows", "tile_gemm"]


@dataclass(frozen=True)
class OutputTile:
    """One block of the GEMM output, computed in one PSUM bank.

    Members
    -------
    rows : slice
        Output rows (indices into M) of the block, at most C of them.
    cols : slice
        Output columns (indices into N) of the block, at most ``psum_depth`` of them.
    bank : int
        PSUM bank that holds the block in its rows 0..m-1 and columns 0..n-1.
    """
    rows: slice
    cols: slice
    bank: int

    @property
    def m(self):
        """Rows of the block."""
        return self.rows.stop - self.rows.start

    @property
    def n(self):
        """Columns of the block."""
        return self.cols.stop - self.cols.start


@dataclass(frozen=True, eq=False)
class TiledGemm:
    """A GEMM ``out[M, N] = stationary[K, M]^T @ moving[K, N]`` as a tile program.

    Members
    -------
    program : list of Operation
        Operations to execute; their operand arrays are views of the GEMM operands.
    tiles : list of OutputTile
        Output blocks, in the order of their ReadPsum operations in ``program``.
    shape : tuple of int
        ``(M, K, N)`` of the GEMM.
    result_dtype : numpy.dtype
        Of the output: int32, or uint32 FP32 bit patterns on a floating-point tile.
    """
    program: list
    tiles: list
    shape: tuple
    result_dtype: np.dtype

    @property
    def macs(self):
        """Multiply-accumulates of the GEMM: M * K * N."""
        return math.prod(self.shape)

    def assemble(self, read_results):
        """Build the GEMM output from what the program's ReadPsum operations read.

        Parameters
        ----------
        read_results : list of numpy.ndarray, shape [m, n]
            One array per ReadPsum, in program order, as :meth:`TileModel.execute` returns them.

        Returns
        -------
        numpy.ndarray of :attr:`result_dtype`, shape [M, N]

        Raises
        ------
        ValueError
            If there is not one array per ReadPsum, or an array does not have the shape of its
            output block.
        """
        if len(read_results) != len(self.tiles):
            raise ValueError(f"Parameter 'read_results' must hold {len(self.tiles)} arrays, one "
                             f"per ReadPsum, not {len(read_results)}")
        m, _, n = self.shape
        out = np.empty((m, n), self.result_dtype)
        for index, (tile, result) in enumerate(zip(self.tiles, read_results)):
            if np.shape(result) != (tile.m, tile.n):
                raise ValueError(f"Parameter 'read_results' item {index} must have shape "
                                 f"{(tile.m, tile.n)}, not {np.shape(result)}")
            out[tile.rows, tile.cols] = result
        return out


def tile_gemm(config, stationary, moving, matmul_format=INT8, stationary_scale=None,
              moving_scale=None):
    """Map the GEMM ``out[M, N] = stationary[K, M]^T @ moving[K, N]`` onto one tile.

    Parameters
    ----------
    config : TileConfig
        Tile to map onto.
    stationary : numpy.ndarray, shape [K, M]
    moving : numpy.ndarray, shape [K, N]
        M, K and N are any positive sizes (K a multiple of ``config.mx_k_multiple`` in MX
        mode); int8 arrays, or bit patterns (or ml_dtypes arrays) of the formats
        ``matmul_format`` names (FP4 as codes 0..15).
    matmul_format : MatmulFormat
        Formats of the operands, among the tile's, and the mode: FP8 double-row (K chunks of
        2R) or MX (K chunks of one MX pass, :func:`pass_rows`).
    stationary_scale : numpy.ndarray [K/32, M] or None
    moving_scale : numpy.ndarray [K/32, N] or None
        MX mode only: the E8M0 block scales (uint8 or ``ml_dtypes.float8_e8m0fnu``), each pass's
        scales in K order (module docstring).

    Returns
    -------
    TiledGemm

    Raises
    ------
    TypeError
        If ``config`` is not a TileConfig, ``matmul_format`` not a MatmulFormat, or an operand
        not a 2-D numpy array of its format without empty dimensions.
    ValueError
        If the tile does not take a format or the mode of ``matmul_format``, the operands have
        different K, or in MX mode K is not a multiple of ``config.mx_k_multiple`` or a scale
        is missing or of another shape; or a scale is given outside MX mode.
    """
    check_config(config)
    if not isinstance(matmul_format, MatmulFormat):
        raise TypeError(f"Parameter 'matmul_format' must be a MatmulFormat, not "
                        f"{matmul_format!r}")
    for name, operand in (("stationary", stationary), ("moving", moving)):
        format_name = getattr(matmul_format, name)
        check_format(f"Parameter 'matmul_format' ({name})", config, format_name,
                     matmul_format.double_row, matmul_format.mx)
        check_operand(f"Parameter '{name}'", operand, format_name)
        if 0 in operand.shape:
            raise TypeError(f"Parameter '{name}' must have no empty dimension, not shape "
                            f"{operand.shape}")
    (k, m), n = stationary.shape, moving.shape[1]
    if moving.shape[0] != k:
        raise ValueError(f"Parameter 'moving' must have as many rows (K) as 'stationary', {k}, "
                         f"not {moving.shape[0]}")
    if matmul_format.mx:
        check_mx_k(k, config.mx_k_multiple, "Parameter 'K' (rows of 'stationary' and 'moving')")
    scales = [check_mx_scale(f"Parameter '{name}_scale'", scale, k, columns, matmul_format.mx)
              for name, scale, columns in (("stationary", stationary_scale, m),
                                           ("moving", moving_scale, n))]
    blocks = product(_chunks(m, config.cols), _chunks(n, config.psum_depth))
    tiles = [OutputTile(rows, cols, index % config.psum_banks)
             for index, (rows, cols) in enumerate(blocks)]
    program, deferred = [], []
    for tile in tiles:
        for chunk in _chunks(k, pass_rows(config, matmul_format)):
            mode = _chunk_mode(matmul_format, chunk, scales, tile)
            padding = ((0, (chunk.stop - chunk.start) % 2 if matmul_format.double_row else 0),
                       (0, 0))
            program += [LoadStationary(_padded(stationary[chunk, tile.rows], padding),
                                       matmul_format.stationary, **mode["stationary"]),
                        MultiplyMoving(_padded(moving[chunk, tile.cols], padding), tile.bank,
                                       chunk.start > 0, matmul_format.moving,
                                       **mode["moving"])]
            program += deferred
            deferred = []
        read = ReadPsum(tile.bank, tile.m, tile.n)
        if config.psum_banks == 1:
            program.append(read)
        else:
            deferred = [read]
    return TiledGemm(program + deferred, tiles, (m, k, n), psum_dtype(config))


def pass_rows(config, matmul_format):
    """Contraction rows (K) of one chunk of a GEMM in ``matmul_format`` on ``config``: R, 2R in
    FP8 double-row mode; in MX mode the largest multiple of ``config.mx_k_multiple`` up to 4R."""
    rows = config.rows * matmul_format.rows_per_pe
    if matmul_format.mx:
        return rows - rows % config.mx_k_multiple
    return rows


def _chunk_mode(matmul_format, chunk, scales, tile):
    """The mode arguments of a chunk's LoadStationary and MultiplyMoving: the double-row flag,
    and in MX mode the flag and the chunk's scale rows of the block's columns."""
    mode = {"double_row": matmul_format.double_row}
    if not matmul_format.mx:
        return {"stationary": mode, "moving": mode}
    group_rows = X4 * GROUP_PARTITIONS
    groups = slice(chunk.start // group_rows, chunk.stop // group_rows)
    stationary_scale, moving_scale = scales
    return {"stationary": {**mode, "mx": True, "scale": stationary_scale[groups, tile.rows]},
            "moving": {**mode, "mx": True, "scale": moving_scale[groups, tile.cols]}}


def _padded(operand, padding):
    """``operand`` (a view) with the zero rows of ``padding`` appended (a copy), if any."""
    return np.pad(operand, padding) if padding[0][1] else operand


def _chunks(size, step):
    """Slices that cut ``range(size)`` into chunks of ``step``, the last one possibly shorter."""
    return [slice(start, min(start + step, size)) for start in range(0, size, step)]
