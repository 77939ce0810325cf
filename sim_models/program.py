"""Tile programs: the operations of the tile's ISA, carrying their operand data as numpy arrays.

A program is a list of these operations. The golden model executes it, the cycle model times it
and the testbench drives it into the RTL, so all three read the same description.

Each LoadStationary and MultiplyMoving names the format of its operand, one of the tile's
``TileConfig.formats``: int8 operands are int8 arrays; floating-point operands are arrays of
their bit patterns (uint16 for BF16 and FP16, uint8 for FP8) or arrays of the format's
``ml_dtypes`` type (see ``sim_models.floats.as_bits``). In FP8 double-row mode (both operands
FP8) K is even and each PE row p multiplies contraction indices p and p + K/2 (NKI's
``[K/2, 2, X]`` layout), so K may reach 2R. In MX mode (Trainium3's MXFP8 / MXFP4, rules
R12-R14, ``sim_models.mx``) both operands are MX elements (``fp8_e4m3fn``, ``fp8_e5m2``,
``fp4_e2m1``; FP4 as codes 0..15), each carries its E8M0 block scales [K/32, X], and PE row p
multiplies contraction indices p, p + K/4, p + K/2 and p + 3K/4 (NKI's x4 word), so K may reach
4R.

On a tile with Trainium3's PSUM destinations (``TileConfig.bf16_psum``, rules R16-R17 of
docs/numerics.md) a MultiplyMoving (MX or not) also names its destination type and rounding, and
ReseedRounding restarts the stochastic-rounding generators. On a tile with ``fp4_e2m1``,
LoadFp4Table loads another FP4-to-FP8 table.
"""

from dataclasses import dataclass

import numpy as np

from .bf16_psum import PsumDestination
from .config import indices_per_pe_row

__all__ = ["LoadFp4Table", "LoadStationary", "MatmulFormat", "MultiplyMoving", "ReadPsum",
           "ReseedRounding", "Operation", "INT8"]


@dataclass(frozen=True)
class MatmulFormat:
    """Formats of one matrix multiply: the stationary's, the moving's, and the mode (FP8
    double-row or MX).

    Members
    -------
    stationary, moving : str
        Names of ``sim_models.config.PE_FORMATS``.
    double_row : bool
        FP8 double-row mode: two contraction indices per PE row, K up to 2R.
    mx : bool
        MX mode: four contraction indices per PE row (an x4 word) with E8M0 block scales, K up
        to 4R.
    """
    stationary: str
    moving: str
    double_row: bool = False
    mx: bool = False

    @property
    def name(self):
        """Short name for test and GEMM names: ``int8``, ``bf16``, ``fp8e4m3_fp8e5m2_dr``,
        ``fp8e4m3fn_fp4e2m1_mx``."""
        names = [self.stationary] if self.stationary == self.moving else \
            [self.stationary, self.moving]
        return "_".join([name.replace("_", "") for name in names] +
                        (["dr"] if self.double_row else []) + (["mx"] if self.mx else []))

    @property
    def label(self):
        """How people read it, format names as ``FORMATS=`` spells them: ``int8``,
        ``bf16 x fp8_e4m3``, ``fp8_e4m3 double-row``, ``fp8_e4m3fn x fp4_e2m1 MX``."""
        names = self.stationary if self.stationary == self.moving else \
            f"{self.stationary} x {self.moving}"
        return f"{names} double-row" if self.double_row else f"{names} MX" if self.mx else names

    @property
    def rows_per_pe(self):
        """Contraction indices one PE row multiplies per cycle: 4 in MX mode, 2 in double-row
        mode, else 1."""
        return indices_per_pe_row(self.double_row, self.mx)


#: The integer format of the first NeuronCore: int8 x int8 -> int32.
INT8 = MatmulFormat("int8", "int8")


@dataclass(frozen=True, eq=False)
class LoadStationary:
    """Place a stationary operand in the array.

    Members
    -------
    stationary : numpy.ndarray, shape [K, M]
        int8, or the bit patterns of ``format`` (or its ml_dtypes array). Rows b and b + K/2
        form stationary beat b in double-row mode (K even), row k forms beat k otherwise, so
        the load takes K / 2 or K beats (:attr:`beats`).
    format : str
        Format of the elements, one of the tile's formats.
    double_row : bool
        FP8 double-row mode (K up to 2R); the multiplies that use this stationary must be too.
    mx : bool
        MX mode (K up to 4R, a multiple of ``TileConfig.mx_k_multiple``): row b of the x4 words
        (contraction indices b + qK/4) forms beat b, so the load takes K / 4 beats; the
        multiplies that use this stationary must be MX too.
    scale : numpy.ndarray [K/32, M] or None
        MX mode only: the E8M0 block scales (uint8, or ``ml_dtypes.float8_e8m0fnu``).
    """
    stationary: np.ndarray
    format: str = "int8"
    double_row: bool = False
    mx: bool = False
    scale: np.ndarray | None = None

    @property
    def k(self):
        return self.stationary.shape[0]

    @property
    def m(self):
        return self.stationary.shape[1]

    @property
    def beats(self):
        """Stationary beats of the load: K / 4 in MX mode, ceil(K / 2) in double-row mode, K
        otherwise."""
        return -(-self.k // indices_per_pe_row(self.double_row, self.mx))


@dataclass(frozen=True, eq=False)
class MultiplyMoving:
    """Stream a moving operand through the array: ``psum[bank][M, N] (+)= S[K, M]^T @ moving``.

    Members
    -------
    moving : numpy.ndarray, shape [K, N]
        int8, or the bit patterns of ``format`` (or its ml_dtypes array). Column n is sent as
        moving beat n, so the operation takes N beats. K must equal the K of the stationary
        loaded last.
    bank : int
        PSUM bank written.
    accumulate : bool
        Add into the bank (True) or overwrite it (False).
    format : str
        Format of the elements, one of the tile's formats; any of them with any stationary
        format (E4M3 x E5M2 included).
    double_row : bool
        FP8 double-row mode; must equal the loaded stationary's.
    psum_dtype : str
        What the bank's elements are written as: ``fp32`` (every tile) or ``bf16`` (a tile
        with ``bf16_psum``; R16). An accumulation must be of the type the elements were last
        written as.
    rounding : str
        ``rne`` or ``sr`` (stochastic, R17; ``bf16`` only): how a BF16 destination rounds.
    mx : bool
        MX mode; must equal the loaded stationary's.
    scale : numpy.ndarray [K/32, N] or None
        MX mode only: the E8M0 block scales of the moving columns.
    """
    moving: np.ndarray
    bank: int
    accumulate: bool
    format: str = "int8"
    double_row: bool = False
    psum_dtype: str = "fp32"
    rounding: str = "rne"
    mx: bool = False
    scale: np.ndarray | None = None

    @property
    def destination(self):
        """The write's :class:`~sim_models.bf16_psum.PsumDestination` (raises ``ValueError``
        on an unknown type or rounding, or SR onto FP32, in one line)."""
        return PsumDestination(self.psum_dtype, bool(self.accumulate), self.rounding)

    @property
    def k(self):
        return self.moving.shape[0]

    @property
    def n(self):
        return self.moving.shape[1]


@dataclass(frozen=True)
class ReadPsum:
    """Send ``psum[bank][0:m, 0:n]`` to the result stream, one beat (M lanes) per column n.

    Members
    -------
    bank : int
        PSUM bank read.
    m : int
        Result rows (partitions) returned, 1..C.
    n : int
        Result columns returned, 1..depth: the operation takes N result beats.
    """
    bank: int
    m: int
    n: int


@dataclass(frozen=True)
class ReseedRounding:
    """Restart every stochastic-rounding generator from ``seed`` (R17: lane m at
    ``lane_seeds(seed, C)[m]``), on a tile with ``bf16_psum``. The tile issues it once every
    vector already sent has been written to PSUM, so that it splits the draws exactly
    between the multiplies before it and those after it.

    Members
    -------
    seed : int
        0 .. 2**32 - 1 (0 is the state after reset).
    """
    seed: int


@dataclass(frozen=True, eq=False)
class LoadFp4Table:
    """Load the tile's FP4-to-FP8 table (R12), on a tile with ``fp4_e2m1``
    (``TileConfig.has_fp4_table``): from then on E2M1 code e enters the array as the E4M3FN code
    ``table[e]``. The tile issues it once the load and multiply engines have taken their last
    beats, and an operand is mapped when it enters the array, so a stationary keeps the table of
    its load and a multiply's moving vectors take the table in force when it issues. A reset
    restores ``sim_models.mx.DEFAULT_FP4_TABLE`` (the exact E2M1 values).

    Members
    -------
    table : array-like of int [16]
        E4M3FN codes 0..255, one per E2M1 code; none a NaN (0x7F, 0xFF).
    """
    table: np.ndarray


Operation = LoadStationary | MultiplyMoving | ReadPsum | ReseedRounding | LoadFp4Table
