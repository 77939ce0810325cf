"""Trainium3's PSUM destinations, bit-exact: FP32 or BF16, overwrite or accumulate, rounding to
nearest even or stochastic (docs/numerics.md, R16 and R17). Golden layer only: the tile's RTL
writes FP32 PSUM only so far.

What AWS documents (NKI "Trainium3 Architecture Guide", "BF16 Matmul Results in PSUM", source
N-T3-BF16): the array accumulates in FP32 whatever the destination; a BF16 destination is
written after a downcast "immediately before the write", RNE or SR; accumulating into BF16
PSUM upcasts the stored value to FP32, adds in FP32 and rounds back with the chosen mode.
Where AWS is silent (the random bits' source, which bits are compared, a BF16 accumulation
onto an FP32 value) the rules below choose.
"""

from dataclasses import dataclass

import numpy as np

from .floats import accumulate_fp32, bf16_from_rounding, round_fp32_to_bf16

__all__ = ["PSUM_DTYPES", "PsumDestination", "ROUNDINGS", "SR_RANDOM_BITS",
           "StochasticRoundingBits", "lane_seeds", "round_fp32_to_bf16_stochastic",
           "write_psum"]

#: Element types a PSUM destination holds.
PSUM_DTYPES = ("fp32", "bf16")
#: Rounding of a BF16 destination: to nearest, ties to even, or stochastic.
ROUNDINGS = ("rne", "sr")
#: Random bits one stochastic rounding compares with the 16 bits FP32 -> BF16 drops (R17).
SR_RANDOM_BITS = 16
#: Odd 32-bit constant (2**32 / golden ratio) whose multiples give each lane its own seed.
LANE_SEED_STEP = 0x9E3779B9
_MASK32 = 0xFFFFFFFF


@dataclass(frozen=True)
class PsumDestination:
    """Where and how one multiply's column results land in PSUM (R16).

    Members
    -------
    dtype : str
        ``fp32`` (Trainium2's only destination) or ``bf16`` (NeuronCore-v4).
    accumulate : bool
        Add onto the stored values (of the same dtype) or overwrite them.
    rounding : str
        ``rne`` or ``sr``; ``sr`` needs a BF16 destination (an FP32 destination stores the
        array's FP32 sums, or their R9 sum with the stored values, as they are).
    """
    dtype: str = "fp32"
    accumulate: bool = False
    rounding: str = "rne"

    def __post_init__(self):
        if self.dtype not in PSUM_DTYPES:
            raise ValueError(f"Parameter 'dtype' must be one of {', '.join(PSUM_DTYPES)}, not "
                             f"{self.dtype!r}")
        if not isinstance(self.accumulate, (bool, np.bool_)):
            raise TypeError(f"Parameter 'accumulate' must be a bool, not {self.accumulate!r}")
        if self.rounding not in ROUNDINGS:
            raise ValueError(f"Parameter 'rounding' must be one of {', '.join(ROUNDINGS)}, not "
                             f"{self.rounding!r}")
        if self.rounding == "sr" and self.dtype != "bf16":
            raise ValueError("Parameter 'rounding' is 'sr', which needs dtype 'bf16': an fp32 "
                             "destination is not rounded again")


def lane_seeds(seed, lanes):
    """Initial xorshift32 states of ``lanes`` generators from one 32-bit ``seed`` (R17): lane
    m starts at ``seed XOR (0x9E3779B9 * (m + 1) mod 2**32)``, or at that constant if the XOR
    is 0 (xorshift's one forbidden state). uint32 [lanes]."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed <= _MASK32:
        raise TypeError(f"Parameter 'seed' must be an integer in 0..{_MASK32}, not {seed!r}")
    constants = (np.arange(1, lanes + 1, dtype=np.uint64) * LANE_SEED_STEP) & _MASK32
    states = constants ^ np.uint64(seed)
    return np.where(states == 0, constants, states).astype(np.uint32)


class StochasticRoundingBits:
    """The random bits of stochastic rounding (R17): one xorshift32 generator per PSUM
    partition lane (the tile's C result lanes).

    Each generator is Marsaglia's xorshift32 (x ^= x << 13; x ^= x >> 17; x ^= x << 5; period
    2**32 - 1): 32 flip-flops and three shift-XOR stages a lane, one step per draw; a draw is
    the top 16 bits of the new state. Every lane steps once per result beat (moving column) of
    a multiply whose destination rounds stochastically, whatever the beat's value and whatever
    M; nothing else steps it.

    Parameters
    ----------
    lanes : int
        Generators, one per PSUM partition lane (C).
    seed : int
        32-bit seed, 0 by default (the Neuron runtime's default stochastic-rounding seed).
    """
    def __init__(self, lanes, seed=0):
        if isinstance(lanes, bool) or not isinstance(lanes, (int, np.integer)) or lanes < 1:
            raise TypeError(f"Parameter 'lanes' must be a positive integer, not {lanes!r}")
        self.lanes = int(lanes)
        self.reseed(seed)

    def reseed(self, seed):
        """Restart every lane from ``seed`` (:func:`lane_seeds`)."""
        self._state = lane_seeds(seed, self.lanes)

    @property
    def state(self):
        """The lanes' current xorshift32 states, uint32 [lanes] (a copy)."""
        return self._state.copy()

    def draws(self, beats):
        """Random bits of ``beats`` result beats: uint16 [beats, lanes], one step a beat."""
        out = np.empty((beats, self.lanes), dtype=np.uint16)
        state = self._state
        for beat in range(beats):
            state = state ^ (state << np.uint32(13))
            state = state ^ (state >> np.uint32(17))
            state = state ^ (state << np.uint32(5))
            out[beat] = state >> np.uint32(32 - SR_RANDOM_BITS)
        self._state = state
        return out


def round_fp32_to_bf16_stochastic(bits, random):
    """BF16 bits of FP32 values rounded stochastically (R17): the 16 bits BF16 drops, d, and
    16 random bits r are added; the magnitude rounds up (away from zero) iff d + r >= 2**16,
    i.e. with probability d / 2**16, else it is truncated (:func:`~.floats.bf16_from_rounding`:
    a carry out of the largest finite BF16 gives infinity; NaN becomes the canonical BF16 NaN,
    infinities and zeros stay).

    ``bits`` : uint32 [...] FP32 bit patterns; ``random`` : uint16 [...] (same shape).
    Returns uint16 [...].
    """
    bits = np.asarray(bits, dtype=np.uint32)
    dropped = bits & np.uint32(0xFFFF)
    return bf16_from_rounding(bits, (dropped + np.asarray(random, dtype=np.uint32)) >> 16)


def write_psum(stored, stored_dtype, incoming, destination, random_bits=None):
    """What PSUM holds after one multiply writes its FP32 column results (R16, R17).

    Parameters
    ----------
    stored : numpy.ndarray [M, N] or None
        The PSUM elements written to, as stored: uint32 FP32 bits or uint16 BF16 bits; None if
        undefined (never written since reset).
    stored_dtype : str or None
        What they were last written as (``fp32``, ``bf16``), None if undefined.
    incoming : numpy.ndarray, uint32 [M, N]
        The array's FP32 sums (``floats.matmul_fp32``, ``mx.mx_matmul_fp32``).
    destination : PsumDestination
    random_bits : StochasticRoundingBits or None
        The tile's generators (at least M lanes), needed for ``rounding='sr'``: lane m's draw
        of beat n rounds element [m, n]; every lane steps N times.

    Returns
    -------
    (values, dtype) : numpy.ndarray (uint32 or uint16) [M, N], str

    Raises
    ------
    ValueError
        An accumulation onto undefined elements or onto elements of the other dtype (R16: a
        BF16 accumulation onto an FP32-written bank is refused, as is the reverse; overwrite
        first), or SR without enough generator lanes.
    """
    if not isinstance(destination, PsumDestination):
        raise TypeError(f"Parameter 'destination' must be a PsumDestination, not "
                        f"{destination!r}")
    incoming = np.asarray(incoming, dtype=np.uint32)
    result = incoming
    if destination.accumulate:
        if stored is None or stored_dtype is None:
            raise ValueError("Parameter 'destination' accumulates onto undefined PSUM elements; "
                             "the first write to an element must overwrite")
        if stored_dtype != destination.dtype:
            raise ValueError(f"Parameter 'destination' accumulates in {destination.dtype} onto "
                             f"PSUM elements written as {stored_dtype}; accumulate in "
                             f"{stored_dtype} or overwrite first")
        wide = np.asarray(stored, dtype=np.uint32)
        wide = wide << np.uint32(16) if stored_dtype == "bf16" else wide
        result = accumulate_fp32(wide, incoming)
    if destination.dtype == "fp32":
        return result, "fp32"
    if destination.rounding == "rne":
        return round_fp32_to_bf16(result), "bf16"
    if not isinstance(random_bits, StochasticRoundingBits) or random_bits.lanes < result.shape[0]:
        given = f"{random_bits.lanes} lanes" if isinstance(random_bits, StochasticRoundingBits) \
            else repr(random_bits)
        raise ValueError(f"Parameter 'random_bits' must be StochasticRoundingBits with at least "
                         f"M = {result.shape[0]} lanes for rounding 'sr', not {given}")
    random = random_bits.draws(result.shape[1])[:, :result.shape[0]].T
    return round_fp32_to_bf16_stochastic(result, random), "bf16"
