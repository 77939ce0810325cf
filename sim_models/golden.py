"""Golden model of the tile: executes a program bit-exactly with numpy.

int8 operations: each product of int8 operands is summed over K in int64 and wrapped to int32,
and accumulation into PSUM wraps the same way, as the two's-complement datapath of the tile does.
Floating-point operations: the columns' FP32 sums are ``sim_models.floats.matmul_fp32`` and
accumulation into PSUM is ``sim_models.floats.accumulate_fp32``; PSUM holds FP32 bit patterns
(uint32). MX operations (Trainium3's MXFP8 / MXFP4 with E8M0 block scales): the columns' FP32
sums are ``sim_models.mx.mx_matmul_fp32`` (R12-R14), written or accumulated into PSUM as every
floating-point sum; an E2M1 operand goes through the tile's FP4-to-FP8 table when it enters the
array (a stationary at its load, a moving operand at its multiply), the table the last
LoadFp4Table loaded (the default after a reset). On a tile with ``bf16_psum`` a
multiply (MX or not) writes FP32 or BF16 (``sim_models.bf16_psum``, R16-R17): a BF16 element is
held, and read, as its 16 bits in the low half of a 32-bit word with zeros above, as the tile's
PSUM words hold it.
"""

import numpy as np

from . import floats, mx
from .bf16_psum import PSUM_DTYPES, ROUNDINGS, StochasticRoundingBits, lane_seeds, write_psum
from .config import MX_ONLY_FORMATS, PE_FORMATS, TileConfig, check_int, indices_per_pe_row
from .program import LoadFp4Table, LoadStationary, MultiplyMoving, ReadPsum, ReseedRounding

__all__ = ["TileModel", "check_config", "check_operand", "psum_dtype", "wrap_int32"]


def check_config(config):
    """Raise ``TypeError`` unless ``config`` is a :class:`TileConfig`."""
    if not isinstance(config, TileConfig):
        raise TypeError(f"Parameter 'config' must be a TileConfig, not {config!r}")


def psum_dtype(config):
    """numpy dtype of a PSUM entry and of what reads return: int32, or uint32 FP32 bits."""
    return np.dtype(np.uint32 if config.floating else np.int32)


def is_fp8(format_name):
    """``format_name`` is an FP8 format (one that double-row mode takes)."""
    return format_name in floats.FLOAT_FORMATS and floats.FLOAT_FORMATS[format_name].is_fp8


def check_format(subject, config, format_name, double_row, mx_mode=False):
    """Raise unless an operation may use ``format_name``, ``double_row`` and ``mx_mode`` on
    tile ``config``.

    ``subject`` starts the one-line message. ``ValueError``: a format the tile was not built
    with; double-row mode on a tile without FP8 or with a format that is not FP8; MX mode on a
    tile without MX formats, with a format that is not an MX element, or with double-row mode;
    an MX-only format outside MX mode. ``TypeError``: ``double_row`` or ``mx_mode`` not a bool.
    """
    if format_name not in config.formats:
        raise ValueError(f"{subject}: 'format' is {format_name!r}, which tile {config.name} was "
                         f"not built with (its formats: {', '.join(config.formats)})")
    for name, value in (("double_row", double_row), ("mx", mx_mode)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{subject}: '{name}' must be a bool, not {value!r}")
    if mx_mode:
        _check_mx_format(subject, config, format_name, double_row)
        return
    if format_name in MX_ONLY_FORMATS:
        raise ValueError(f"{subject}: 'format' {format_name!r} is an MX element format, which "
                         f"only MX operations take (set 'mx' and give the block scales)")
    if double_row and not config.double_row:
        raise ValueError(f"{subject}: 'double_row' is True, but tile {config.name} has no FP8 "
                         f"format")
    if double_row and not is_fp8(format_name):
        raise ValueError(f"{subject}: 'double_row' is True, which needs an FP8 format "
                         f"(fp8_e4m3, fp8_e5m2), not {format_name!r}")


def _check_mx_format(subject, config, format_name, double_row):
    """Refuse, in one line, MX mode on a tile without it, with a format that is not an MX
    element, or together with double-row mode."""
    if not config.mx:
        raise ValueError(f"{subject}: 'mx' is True, but tile {config.name} has no MX format "
                         f"(fp8_e4m3fn or fp4_e2m1; e.g. FORMATS=trainium3)")
    if format_name not in floats.MX_ELEMENT_FORMATS:
        raise ValueError(f"{subject}: 'mx' is True, which needs an MX element format "
                         f"({', '.join(floats.MX_ELEMENT_FORMATS)}), not {format_name!r}")
    if double_row:
        raise ValueError(f"{subject}: 'mx' and 'double_row' are both True; an operation runs "
                         f"in one mode")


def check_mx_scale(subject, scale, k, columns, mx_mode):
    """The E8M0 scales ``scale`` of an MX operand of K ``k`` and ``columns`` columns as uint8
    [K/32, columns] (``sim_models.mx.check_scales``), or None outside MX mode; a missing scale
    in MX mode, or one outside it, is refused in one line starting with ``subject``."""
    if not mx_mode:
        if scale is not None:
            raise ValueError(f"{subject}: 'scale' is given, but only MX operations take block "
                             f"scales ('mx' is False)")
        return None
    if scale is None:
        raise ValueError(f"{subject}: 'scale' is missing; an MX operation takes E8M0 block "
                         f"scales of shape (K/32, {columns})")
    try:
        return mx.check_scales("scale", scale, k, columns)
    except ValueError as error:
        raise ValueError(f"{subject}: {error}") from None


def check_operand(subject, value, format_name):
    """The 2-D operand ``value`` of format ``format_name`` as numpy integers: the int8 array
    itself, or the uint8/uint16 bit patterns of a floating-point format (``floats.as_bits``).

    Raises ``TypeError`` (one line starting with ``subject``) if ``value`` is not a 2-D numpy
    array of that format.
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{subject} must be a numpy array, not {type(value).__name__}")
    if PE_FORMATS[format_name].floating:
        try:
            value = floats.as_bits(value, format_name)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{subject}: {error}") from None
    elif value.dtype != np.int8:
        raise TypeError(f"{subject} must have dtype int8, not {value.dtype}")
    if value.ndim != 2:
        raise TypeError(f"{subject} must be 2-D, not of shape {value.shape}")
    return value


def wrap_int32(values):
    """Wrap integers to int32 modulo 2**32, as a two's-complement adder does.

    Parameters
    ----------
    values : numpy.ndarray, int64

    Returns
    -------
    numpy.ndarray, int32, same shape
    """
    return ((values + 2**31) % 2**32 - 2**31).astype(np.int32)


class TileModel:
    """Bit-exact model of one tile executing programs of :mod:`sim_models.program` operations.

    The model keeps its state from one :meth:`execute` to the next, as the tile does: the
    stationary operand loaded last (with its format and mode), the PSUM banks with which of
    their elements are defined and which were last written as BF16, (with ``bf16_psum``) the
    stochastic-rounding generators, one per PSUM lane (C), and (with ``fp4_e2m1``) the
    FP4-to-FP8 table.

    Parameters
    ----------
    config : TileConfig
        Tile shape and formats: R rows, C columns, ``psum_banks`` banks of C x ``psum_depth``
        int32 (int8 tile) or FP32 (floating-point tile) elements each.

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`TileConfig`.
    """
    def __init__(self, config):
        check_config(config)
        self.config = config
        self._psum = np.zeros((config.psum_banks, config.cols, config.psum_depth),
                              psum_dtype(config))
        self._rounding_bits = StochasticRoundingBits(config.cols) if config.bf16_psum else None
        self.reset()

    def reset(self):
        """Unload the stationary operand, make every PSUM element undefined, restart the
        stochastic-rounding generators from seed 0 and restore the default FP4-to-FP8 table, as
        the tile's reset does."""
        self._stationary = None
        self._fp4_table = mx.DEFAULT_FP4_TABLE
        self._defined = np.zeros(self._psum.shape, bool)
        self._bf16 = np.zeros(self._psum.shape, bool)
        if self._rounding_bits is not None:
            self._rounding_bits.reseed(0)

    def execute(self, program):
        """Execute operations in order and return what the ReadPsum operations read.

        Operations before the first invalid one keep their effect on the model's state. The
        message of each error names the operation by its index in ``program``.

        Parameters
        ----------
        program : iterable of Operation

        Returns
        -------
        list of numpy.ndarray, shape [m, n]
            One array per ReadPsum, in program order: int32, or uint32 FP32 bit patterns on a
            floating-point tile.

        Raises
        ------
        TypeError
            If an operation is not an Operation, or one of its fields has the wrong type or
            lies outside its range (K up to R, or 2R in double-row mode).
        ValueError
            If an operation's format is not one of the tile's, or it asks for double-row mode
            on a tile without FP8 or with a format other than FP8, or with an odd K; if it asks
            for MX mode on a tile without MX formats, with a format that is not an MX element,
            with K not a multiple of ``config.mx_k_multiple`` or scales of another shape than
            [K/32, X]; if it uses an MX-only format outside MX mode; if a MultiplyMoving comes
            before any LoadStationary, or has another K or mode than the stationary loaded
            last; or if an accumulation or a read covers an undefined PSUM element; if a
            MultiplyMoving asks for a BF16 destination or stochastic rounding on a tile
            without ``bf16_psum`` (or a ReseedRounding comes there), SR onto FP32, or an
            accumulation in one type onto elements last written as the other (R16); if a
            LoadFp4Table comes on a tile without ``fp4_e2m1`` or its table is not 16 E4M3FN
            codes without NaN (R12).
        """
        results = []
        for index, op in enumerate(program):
            where = f"Operation {index} ({type(op).__name__})"
            if isinstance(op, LoadStationary):
                self._load(where, op)
            elif isinstance(op, MultiplyMoving):
                self._multiply(where, op)
            elif isinstance(op, ReadPsum):
                results.append(self._read(where, op))
            elif isinstance(op, ReseedRounding):
                self._reseed(where, op)
            elif isinstance(op, LoadFp4Table):
                self._load_fp4_table(where, op)
            else:
                raise TypeError(f"Operation {index} must be a LoadStationary, MultiplyMoving, "
                                f"ReadPsum, ReseedRounding or LoadFp4Table, not {op!r}")
        return results

    def _max_k(self, op):
        return self.config.rows * indices_per_pe_row(op.double_row, op.mx)

    def _checked_operand(self, where, name, operand, op):
        """(``operand`` (the ``name`` array of ``op``), its scales or None) once its format,
        mode, values, K and scales are checked."""
        check_format(where, self.config, op.format, op.double_row, op.mx)
        operand = check_operand(f"{where}: '{name}'", operand, op.format)
        subject = f"{where}: K (rows of '{name}')"
        check_int(subject, op.k, 1, self._max_k(op))
        floats.check_double_row_k(subject, op.k, op.double_row)
        if op.mx:
            mx.check_mx_k(op.k, self.config.mx_k_multiple, subject)
        return operand, check_mx_scale(where, op.scale, op.k, operand.shape[1], op.mx)

    def _entered(self, operand, format_name):
        """(codes, format) of an operand as it enters the array: E2M1 through the table."""
        return mx.through_fp4_table(operand, format_name, self._fp4_table)

    def _load(self, where, op):
        stationary, scale = self._checked_operand(where, "stationary", op.stationary, op)
        check_int(f"{where}: M (columns of 'stationary')", op.m, 1, self.config.cols)
        self._stationary = (*self._entered(stationary, op.format), bool(op.double_row),
                            bool(op.mx), scale)

    def _multiply(self, where, op):
        moving, moving_scale = self._checked_operand(where, "moving", op.moving, op)
        check_int(f"{where}: N (columns of 'moving')", op.n, 1, self.config.psum_depth)
        check_int(f"{where}: 'bank'", op.bank, 0, self.config.psum_banks - 1)
        if not isinstance(op.accumulate, (bool, np.bool_)):
            raise TypeError(f"{where}: 'accumulate' must be a bool, not {op.accumulate!r}")
        if self._stationary is None:
            raise ValueError(f"{where}: no stationary operand is loaded; a LoadStationary must "
                             f"come first after the start and after every reset")
        stationary, stationary_format, double_row, mx_mode, stationary_scale = self._stationary
        k, m = stationary.shape
        if op.k != k:
            raise ValueError(f"{where}: K (rows of 'moving') must equal the K of the loaded "
                             f"stationary, {k}, not {op.k}")
        if op.mx != mx_mode:
            raise ValueError(f"{where}: 'mx' must equal the loaded stationary's, {mx_mode}, "
                             f"not {op.mx}")
        if op.double_row != double_row:
            raise ValueError(f"{where}: 'double_row' must equal the loaded stationary's, "
                             f"{double_row}, not {op.double_row}")
        region = (op.bank, slice(0, m), slice(0, op.n))
        destination = self._destination(where, op)
        if op.accumulate:
            self._check_defined(f"{where}: 'accumulate' is True, adding onto", op.bank, m, op.n)
            self._check_written_as(where, destination.dtype, region)
        if self.config.floating:
            if mx_mode:
                moving, moving_format = self._entered(moving, op.format)
                sums = mx.mx_matmul_fp32(stationary, moving, stationary_scale, moving_scale,
                                         stationary_format, moving_format,
                                         k_multiple=self.config.mx_k_multiple)
            else:
                sums = floats.matmul_fp32(stationary, moving, stationary_format, op.format,
                                          double_row)
            stored = self._psum[region]
            if destination.dtype == "bf16":
                stored = stored.astype(np.uint16)
            result, _ = write_psum(stored, destination.dtype, sums, destination,
                                   self._rounding_bits)
            self._bf16[region] = destination.dtype == "bf16"
        else:
            result = stationary.T.astype(np.int64) @ moving.astype(np.int64)
            if op.accumulate:
                result += self._psum[region]
            result = wrap_int32(result)
        self._psum[region] = result
        self._defined[region] = True

    def _destination(self, where, op):
        """``op``'s PsumDestination once the tile may take it (one-line ``ValueError``)."""
        if op.psum_dtype not in PSUM_DTYPES or op.rounding not in ROUNDINGS:
            raise ValueError(f"{where}: 'psum_dtype' must be one of {', '.join(PSUM_DTYPES)} "
                             f"and 'rounding' one of {', '.join(ROUNDINGS)}, not "
                             f"{op.psum_dtype!r} and {op.rounding!r}")
        if (op.psum_dtype, op.rounding) != ("fp32", "rne") and not self.config.bf16_psum:
            raise ValueError(f"{where}: 'psum_dtype' {op.psum_dtype!r} with 'rounding' "
                             f"{op.rounding!r} needs a tile with bf16_psum; tile "
                             f"{self.config.name} writes FP32 PSUM only")
        if op.rounding == "sr" and op.psum_dtype != "bf16":
            raise ValueError(f"{where}: 'rounding' is 'sr', which needs 'psum_dtype' 'bf16': "
                             f"an fp32 destination is not rounded again")
        return op.destination

    def _check_written_as(self, where, dtype, region):
        """Raise ``ValueError`` unless every element of ``region`` was last written as
        ``dtype`` (R16: no accumulation across types)."""
        other = self._bf16[region] != (dtype == "bf16")
        if other.any():
            row, col = np.argwhere(other)[0]
            written = "fp32" if dtype == "bf16" else "bf16"
            raise ValueError(f"{where}: 'psum_dtype' is {dtype!r}, accumulating onto "
                             f"psum[{region[0]}][{row}, {col}], last written as {written}; "
                             f"accumulate in {written} or overwrite first")

    def _reseed(self, where, op):
        if self._rounding_bits is None:
            raise ValueError(f"{where}: tile {self.config.name} has no stochastic-rounding "
                             f"generators to reseed (bf16_psum is False)")
        try:
            lane_seeds(op.seed, 1)
        except TypeError as error:
            raise TypeError(f"{where}: {error}") from None
        self._rounding_bits.reseed(op.seed)

    def _load_fp4_table(self, where, op):
        if not self.config.has_fp4_table:
            raise ValueError(f"{where}: tile {self.config.name} has no FP4-to-FP8 table to load "
                             f"(its formats hold no fp4_e2m1)")
        try:
            self._fp4_table = mx.check_fp4_table(op.table, "table")
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None

    def _read(self, where, op):
        check_int(f"{where}: 'bank'", op.bank, 0, self.config.psum_banks - 1)
        check_int(f"{where}: 'm'", op.m, 1, self.config.cols)
        check_int(f"{where}: 'n'", op.n, 1, self.config.psum_depth)
        self._check_defined(f"{where}: 'm' = {op.m} and 'n' = {op.n} cover", op.bank, op.m, op.n)
        return self._psum[op.bank, :op.m, :op.n].copy()

    def _check_defined(self, subject, bank, m, n):
        """Raise ``ValueError`` unless rows 0..m-1, columns 0..n-1 of ``bank`` are defined."""
        undefined = np.argwhere(~self._defined[bank, :m, :n])
        if undefined.size:
            row, col = undefined[0]
            raise ValueError(f"{subject} psum[{bank}][{row}, {col}], which is undefined (not "
                             f"written since the start or the last reset)")
