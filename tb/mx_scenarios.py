"""MX tile programs (Trainium3's MXFP8 / MXFP4, rules R12-R14): random x4 words and block scales
through background loads, two PSUM banks and accumulation, and directed specials, for every
element-format pair the regression names; plus one BF16 and one E5M2 double-row program, which
run on the same tile's 32-bit lanes in their low 16 bits.

Each scenario is checked read by read, bit for bit, against the golden model
(``sim_models.golden.TileModel``, which runs ``sim_models.mx.mx_matmul_fp32``), and its
handshakes against the cycle model. Operands are element codes (E2M1 codes 0..15), scales
E8M0 bytes [K/32, X].
"""

import numpy as np

from sim_models.floats import ENCODINGS, decode
from sim_models.mx import E8M0_BIAS, E8M0_NAN, GROUP_PARTITIONS, X4
from sim_models.program import (LoadFp4Table, LoadStationary, MatmulFormat, MultiplyMoving,
                                ReadPsum)
from sim_models.tiler import pass_rows

from .float_scenarios import encode, special_values
from .scenarios import Scenario

__all__ = ["MX_FORMATS", "NON_MX_FORMATS", "STALLED_FORMAT", "TABLE_FORMAT", "mx_scenarios",
           "random_fp4_table"]

#: MX element-format pairs every MX tile test runs: MXFP8 E4M3FN, E5M2, MXFP4, FP8 x FP4 both
#: ways.
MX_FORMATS = [MatmulFormat("fp8_e4m3fn", "fp8_e4m3fn", mx=True),
              MatmulFormat("fp8_e5m2", "fp8_e5m2", mx=True),
              MatmulFormat("fp4_e2m1", "fp4_e2m1", mx=True),
              MatmulFormat("fp8_e4m3fn", "fp4_e2m1", mx=True),
              MatmulFormat("fp4_e2m1", "fp8_e5m2", mx=True)]
#: The pair the stalled program and the BF16 PSUM writes run in: MXFP8 x MXFP4, through the
#: FP4 table.
STALLED_FORMAT = MX_FORMATS[3]
#: The pair the loaded FP4-to-FP8 tables run in: MXFP4 on both sides, so that the stationary
#: and the moving operand both go through the table.
TABLE_FORMAT = MX_FORMATS[2]
#: Modes of Trainium3's other formats checked on the same tile (32-bit lanes, low 16 bits).
NON_MX_FORMATS = [MatmulFormat("bf16", "bf16"),
                  MatmulFormat("fp8_e5m2", "fp8_e5m2", double_row=True)]
#: Scales of the random programs: 2**-6 .. 2**6.
_RANDOM_SCALES = (E8M0_BIAS - 6, E8M0_BIAS + 6)


def _codes(format_name):
    """Every code of ``format_name``, split into (finite codes, NaN codes)."""
    codes = np.arange(1 << ENCODINGS[format_name].bits)
    nan = np.isnan(decode(codes, format_name))
    return codes[~nan & ~np.isinf(decode(codes, format_name))], codes[nan]


def _code_of(format_name, value):
    """The code of the finite ``value`` in ``format_name`` (it must be representable)."""
    codes = np.arange(1 << ENCODINGS[format_name].bits)
    matches = codes[decode(codes, format_name) == value]
    return int(matches[np.argmin(np.signbit(decode(matches, format_name)))])


def _specials(format_name):
    """Directed finite element codes: the largest finite value (448 for E4M3FN, 6 for E2M1) of
    both signs, the smallest subnormal, -0, +-1."""
    encoding = ENCODINGS[format_name]
    largest = encoding.max_finite
    values = [largest, -largest, 2.0 ** encoding.lsb_exponent, 1.0, -1.0]
    codes = [_code_of(format_name, value) for value in values]
    negative_zero = 1 << (encoding.bits - 1)
    return np.array(codes + [negative_zero], np.uint8)


class _MxBuilder:
    """MX operations of one element-format pair on a tile: K is the largest MX K of one pass,
    ``n`` the moving columns of each multiply."""
    def __init__(self, config, matmul_format):
        self.config, self.format = config, matmul_format
        self.k = pass_rows(config, matmul_format)
        self.groups = self.k // (X4 * GROUP_PARTITIONS)
        self.n = min(5, config.psum_depth)

    def random_codes(self, rng, format_name, columns):
        finite, _ = _codes(format_name)
        return rng.choice(finite, (self.k, columns)).astype(np.uint8)

    def random_scales(self, rng, columns):
        return rng.integers(*_RANDOM_SCALES, (self.groups, columns), endpoint=True,
                            dtype=np.uint8)

    def load(self, codes, scales):
        return LoadStationary(codes, self.format.stationary, mx=True, scale=scales)

    def multiply(self, codes, scales, bank=0, accumulate=False, psum_dtype="fp32",
                 rounding="rne"):
        return MultiplyMoving(codes, bank, accumulate, self.format.moving,
                              psum_dtype=psum_dtype, rounding=rounding, mx=True, scale=scales)

    def name(self, what):
        return f"{what}_{self.format.name}"


def _random(builder, rng, banks):
    """Two stationaries, the second loaded in the background of the first's multiply, into two
    PSUM banks, the third multiply accumulated onto the first bank. (operations, reads)."""
    config, fmt, n = builder.config, builder.format, builder.n
    cols = config.cols
    stationaries = [(builder.random_codes(rng, fmt.stationary, cols),
                     builder.random_scales(rng, cols)) for _ in range(2)]
    movings = [(builder.random_codes(rng, fmt.moving, n), builder.random_scales(rng, n))
               for _ in range(3)]
    first, second = banks
    return ([builder.load(*stationaries[0]), builder.multiply(*movings[0], first),
             builder.load(*stationaries[1]), builder.multiply(*movings[1], second),
             builder.multiply(*movings[2], first, True)],
            [ReadPsum(bank, cols, n) for bank in banks])


def _bf16_destinations(builder, rng, banks):
    """MX and BF16 PSUM together (a tile with ``bf16_psum``): an MX multiply written as BF16
    with stochastic rounding, one accumulated onto it to nearest even, and one written as BF16
    to nearest even into the other bank. (operations, reads)."""
    config, fmt, n = builder.config, builder.format, builder.n
    stationary = (builder.random_codes(rng, fmt.stationary, config.cols),
                  builder.random_scales(rng, config.cols))
    movings = [(builder.random_codes(rng, fmt.moving, n), builder.random_scales(rng, n))
               for _ in range(3)]
    first, second = banks
    return ([builder.load(*stationary),
             builder.multiply(*movings[0], first, False, "bf16", "sr"),
             builder.multiply(*movings[1], first, True, "bf16", "rne"),
             builder.multiply(*movings[2], second, False, "bf16", "rne")],
            [ReadPsum(bank, config.cols, n) for bank in banks])


#: Scales the directed specials cycle through, over (group, column): NaN, 2**-127, 2**127, 1.
_SPECIAL_SCALES = np.array([E8M0_NAN, 0, 2 * E8M0_BIAS, E8M0_BIAS], np.uint8)


def _directed_specials(builder, rng, banks):
    """Special elements (the largest value, subnormals, -0, +-1) mixed into random ones, one NaN
    element (E4M3FN S.1111.111, E5M2's; E2M1 has none) in stationary column 1 and moving
    column 2, with scales cycling over (group, column) through 0xFF (NaN), 2**-127, 2**127 and
    1; then overflow to Inf after scaling (largest elements, scales 2**127), products flushed
    to zero (smallest subnormals, scales 2**-127), and cancelling x4 words (elements +v, +v,
    -v, -v of one PE row: every step's exact sum is zero). (operations, reads)."""
    config, fmt, n = builder.config, builder.format, builder.n
    cols, groups, k = config.cols, builder.groups, builder.k
    operands = []
    for format_name, columns in ((fmt.stationary, cols), (fmt.moving, n)):
        codes = builder.random_codes(rng, format_name, columns)
        chosen = rng.random(codes.shape) < 0.3
        codes = np.where(chosen, rng.choice(_specials(format_name), codes.shape), codes)
        nan = _codes(format_name)[1]
        if nan.size:
            codes[k // 2, (1 if columns == cols else 2) % columns] = nan[-1]
        scales = np.resize(_SPECIAL_SCALES, groups * columns).reshape(groups, columns)
        operands.append((codes.astype(np.uint8), scales))
    operations = [builder.load(*operands[0]), builder.multiply(*operands[1], banks[0])]
    largest = {name: _code_of(name, ENCODINGS[name].max_finite)
               for name in (fmt.stationary, fmt.moving)}
    smallest = {name: _code_of(name, 2.0 ** ENCODINGS[name].lsb_exponent)
                for name in (fmt.stationary, fmt.moving)}
    # The moving operand of the cancelling multiply: +largest in the first half of K, -largest
    # (sign bit set) in the second, so each x4 word holds +v, +v, -v, -v.
    sign = 1 << (ENCODINGS[fmt.moving].bits - 1)
    cancelling = np.full((k, n), largest[fmt.moving], np.uint8)
    cancelling[k // 2:] |= sign
    for stationary, moving, scale, bank in (
            (largest[fmt.stationary], np.full((k, n), largest[fmt.moving], np.uint8),
             2 * E8M0_BIAS, banks[1]),
            (smallest[fmt.stationary], np.full((k, n), smallest[fmt.moving], np.uint8), 0,
             banks[2]),
            (largest[fmt.stationary], cancelling, E8M0_BIAS + 3, banks[3])):
        operations += [builder.load(np.full((k, cols), stationary, np.uint8),
                                    np.full((groups, cols), scale, np.uint8)),
                       builder.multiply(moving, np.full((groups, n), scale, np.uint8), bank)]
    return operations, [ReadPsum(bank, cols, n) for bank in banks]


def random_fp4_table(rng):
    """A random FP4-to-FP8 table: 16 E4M3FN codes, none NaN (R12), uint8 [16]."""
    finite, _ = _codes("fp8_e4m3fn")
    return rng.choice(finite, 16).astype(np.uint8)


def _loaded_tables(builder, rng, banks):
    """Programmer-defined FP4-to-FP8 tables (R12): table A loaded, a stationary loaded and
    multiplied through it; table B loaded right behind that multiply (it waits for the
    multiply's last beat), the same stationary (still mapped through A, as loaded) multiplied
    by a moving operand mapped through B; a second stationary loaded through B in the
    background of that multiply, and multiplied. The tile keeps table B: the unit comes last
    in its program, and the program after it (after a reset) finds the default table again.
    (operations, reads)."""
    config, n = builder.config, builder.n
    tables = [random_fp4_table(rng) for _ in range(2)]
    stationaries = [(builder.random_codes(rng, "fp4_e2m1", config.cols),
                     builder.random_scales(rng, config.cols)) for _ in range(2)]
    movings = [(builder.random_codes(rng, "fp4_e2m1", n), builder.random_scales(rng, n))
               for _ in range(3)]
    return ([LoadFp4Table(tables[0]), builder.load(*stationaries[0]),
             builder.multiply(*movings[0], banks[0]), LoadFp4Table(tables[1]),
             builder.multiply(*movings[1], banks[1]), builder.load(*stationaries[1]),
             builder.multiply(*movings[2], banks[2])],
            [ReadPsum(bank, config.cols, n) for bank in banks])


def _non_mx(config, rng, matmul_format, banks):
    """A single-row or double-row multiply of Trainium3's other formats on the MX tile's
    32-bit lanes: half special values (NaN, Inf, zeros, subnormals, the largest), half random.
    (operations, reads)."""
    k, n = config.rows * matmul_format.rows_per_pe, min(5, config.psum_depth)
    operands = []
    for name, columns in ((matmul_format.stationary, config.cols),
                          (matmul_format.moving, n)):
        specials = encode(rng.choice(special_values(name), (k, columns)), name)
        random = encode(rng.choice([-1, 1], (k, columns)) * rng.uniform(0.125, 16, (k, columns)),
                        name)
        operands.append(np.where(rng.random((k, columns)) < 0.5, specials, random))
    return ([LoadStationary(operands[0], matmul_format.stationary, matmul_format.double_row),
             MultiplyMoving(operands[1], banks[0], False, matmul_format.moving,
                            matmul_format.double_row)],
            [ReadPsum(banks[0], config.cols, n)])


def _batched(config, units):
    """One program of ``units`` (functions of a list of banks returning (operations, reads))
    sharing the PSUM banks: the reads of a batch of units wait until its banks are used up, so
    that the array's drain is waited for once per batch, not once per unit."""
    program, pending, free = [], [], list(range(config.psum_banks))
    for banks_needed, unit in units:
        if len(free) < banks_needed:
            program += pending
            pending, free = [], list(range(config.psum_banks))
        operations, reads = unit(free[:banks_needed])
        free = free[banks_needed:]
        program += operations
        pending += reads
    return program + pending


def mx_scenarios(config, rng, stalled=False):
    """MX programs on the MX tile ``config`` (at least 5 PSUM banks). With ideal streams, one
    program of every pair of :data:`MX_FORMATS` (random operands with background loads and
    accumulation; directed specials in the unmixed pairs, which hold every element format) and
    of each of :data:`NON_MX_FORMATS`; ``stalled``,
    one program of the random units of :data:`STALLED_FORMAT` only. On a tile with
    ``bf16_psum``, :data:`STALLED_FORMAT` also writes BF16 PSUM (stochastic and nearest-even
    rounding, overwrite and accumulate), stalled or not: the destination does not depend on
    the element formats. Both programs end in loads of programmer-defined FP4-to-FP8 tables
    (MXFP4 x MXFP4, :func:`_loaded_tables`); the stalled program, which runs after the ideal
    one and a reset, maps E2M1 through the default table again."""
    units = []
    for matmul_format in [STALLED_FORMAT] if stalled else MX_FORMATS:
        builder = _MxBuilder(config, matmul_format)
        units.append((2, lambda banks, builder=builder: _random(builder, rng, banks)))
        if not stalled and matmul_format.stationary == matmul_format.moving:
            units.append((4, lambda banks, builder=builder: _directed_specials(builder, rng,
                                                                               banks)))
        if config.bf16_psum and matmul_format == STALLED_FORMAT:
            units.append((2, lambda banks, builder=builder: _bf16_destinations(builder, rng,
                                                                               banks)))
    if not stalled:
        units += [(1, lambda banks, matmul_format=matmul_format: _non_mx(config, rng,
                                                                          matmul_format, banks))
                  for matmul_format in NON_MX_FORMATS]
    table_builder = _MxBuilder(config, TABLE_FORMAT)
    units.append((3, lambda banks: _loaded_tables(table_builder, rng, banks)))
    name = "mx_random_stalled" if stalled else "mx_formats_specials_and_modes"
    return [Scenario(name, _batched(config, units), matmul_format=MX_FORMATS[0])]
