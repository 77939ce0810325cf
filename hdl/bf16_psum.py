"""Trainium3's BF16 PSUM writes in the RTL (docs/numerics.md, R16 and R17): the write of one
PSUM lane and the lanes' stochastic-rounding generators. Building blocks, bit-exact with
``sim_models.bf16_psum``; the tile does not instantiate them yet.

:class:`PsumWrite` is one lane's write, combinational: the word to store from the array's FP32
value, the stored word and the operation's :data:`destination_layout`, with
:class:`~hdl.float_arith.FloatAdd` as its FP32 adder. :class:`StochasticRoundingGenerator` holds
the xorshift32 generator of every lane and gives each lane's 16 random bits of a beat.

A BF16 element sits in the low 16 bits of a 32-bit PSUM word: a BF16 write stores its bits
there and zeros above, a BF16 accumulation reads only the low 16 bits of the stored word.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sim_models.bf16_psum import SR_RANDOM_BITS, lane_seeds
from sim_models.config import MAX_ARRAY_DIM
from sim_models.floats import BF16_CANONICAL_NAN

from .float_arith import FloatAdd

__all__ = ["PsumWrite", "StochasticRoundingGenerator", "destination_layout"]

#: One operation's PSUM destination (``sim_models.bf16_psum.PsumDestination``): ``bf16`` (else
#: FP32), ``accumulate`` (else overwrite), ``stochastic`` (else nearest even; BF16 only, an
#: FP32 destination ignores it, as the golden model refuses SR there).
destination_layout = data.StructLayout({"bf16": 1, "accumulate": 1, "stochastic": 1})

#: FP32 bits that BF16 drops.
_DROPPED = 16
#: FP32 magnitude bits of +Inf; magnitudes above it are NaNs.
_FP32_INFINITY = 0x7F800000


def _round_to_bf16(m, bits, random, stochastic):
    """Signal: BF16 bits of the FP32 ``bits``, rounded to nearest even or (``stochastic``) by
    adding ``random`` to the dropped bits (R17), on the bit pattern: a carry out of the
    largest finite BF16 gives Inf, Inf and zeros stay, a NaN becomes the canonical BF16 NaN."""
    magnitude, sign = bits[:31], bits[31]
    kept, dropped = magnitude[_DROPPED:], magnitude[:_DROPPED]
    nearest_up = dropped[-1] & (dropped[:-1].any() | kept[0])      # above half, or a tie to odd
    stochastic_sum = Signal(_DROPPED + 1, name="stochastic_sum")
    m.d.comb += stochastic_sum.eq(dropped + random)
    up = Mux(stochastic, stochastic_sum[_DROPPED], nearest_up) & (magnitude < _FP32_INFINITY)
    rounded = Signal(16, name="bf16")
    with m.If(magnitude > _FP32_INFINITY):
        m.d.comb += rounded.eq(BF16_CANONICAL_NAN)
    with m.Else():
        m.d.comb += rounded.eq(Cat((kept + up)[:15], sign))
    return rounded


class PsumWrite(wiring.Component):
    """One PSUM lane's write (R16, R17), combinational: what the lane stores when the array's
    FP32 value arrives.

    FP32 overwrite stores ``incoming``; FP32 accumulate stores ``RNE_fp32(stored + incoming)``
    (R9, :class:`~hdl.float_arith.FloatAdd`). BF16 overwrite rounds ``incoming`` to BF16;
    BF16 accumulate widens the stored BF16 to FP32 exactly, adds it to ``incoming`` in the same
    FloatAdd and rounds the sum to BF16. Rounding to BF16 is to nearest even, or stochastic
    with ``random`` (R17). Whether an accumulation matches the type the word was last written
    as (R16) is the caller's to check.

    Members
    -------
    incoming : In(32)
        The array's FP32 value (bits).
    stored : In(32)
        The PSUM word written to: FP32 bits, or BF16 bits in the low 16 (the high 16 ignored).
    destination : In(destination_layout)
        The operation's destination.
    random : In(16)
        This lane's random bits of this beat (:class:`StochasticRoundingGenerator`); used only
        by a stochastic BF16 write.
    word : Out(32)
        The word to store: FP32 bits, or BF16 bits in the low 16 and zeros above.
    """
    def __init__(self):
        super().__init__({"incoming": In(32), "stored": In(32),
                          "destination": In(destination_layout), "random": In(SR_RANDOM_BITS),
                          "word": Out(32)})

    def elaborate(self, platform):
        m = Module()
        destination = self.destination
        m.submodules.adder = adder = FloatAdd()
        widened = Cat(Const(0, _DROPPED), self.stored[:16])
        m.d.comb += [adder.stored.eq(Mux(destination.bf16, widened, self.stored)),
                     adder.incoming.eq(self.incoming)]
        fp32 = Signal(32, name="fp32_result")
        m.d.comb += fp32.eq(Mux(destination.accumulate, adder.sum, self.incoming))
        bf16 = _round_to_bf16(m, fp32, self.random, destination.stochastic)
        m.d.comb += self.word.eq(Mux(destination.bf16, bf16, fp32))
        return m


def _check_lanes(lanes):
    """``lanes`` as an int, or one line naming what is allowed (1 .. MAX_ARRAY_DIM)."""
    if isinstance(lanes, bool) or not isinstance(lanes, int) or not 1 <= lanes <= MAX_ARRAY_DIM:
        raise ValueError(f"Parameter 'lanes' must be an integer in 1..{MAX_ARRAY_DIM} (one "
                         f"generator per PSUM partition lane), not {lanes!r}")
    return lanes


def _xorshift32(m, state, name):
    """Signal: Marsaglia's xorshift32 step of the 32-bit ``state`` (R17)."""
    first, second, third = (Signal(32, name=f"{name}_{stage}") for stage in ("a", "b", "c"))
    m.d.comb += [first.eq(state ^ (state << 13)[:32]),
                 second.eq(first ^ (first >> 17)),
                 third.eq(second ^ (second << 5)[:32])]
    return third


class StochasticRoundingGenerator(wiring.Component):
    """The random bits of stochastic rounding (R17): one xorshift32 generator per PSUM lane,
    ``sim_models.bf16_psum.StochasticRoundingBits`` cycle for cycle.

    In a cycle with lane m's ``step`` bit set, ``random[m]`` holds lane m's draw (the top 16
    bits of its next state) and the lane takes that state at the clock edge; otherwise the
    lane holds. Each lane steps on its own bit, so that a tile whose PSUM lanes write one cycle
    apart steps each lane with its own write; stepped once per result beat of an SR operation,
    every lane draws what the golden model's lane draws. ``reseed`` restarts every lane from
    ``seed`` (lane m at ``seed XOR (0x9E3779B9 * (m + 1))``, that constant if the XOR is 0);
    a lane stepping in the same cycle draws the new seed's first, as ``reseed(seed)`` then
    ``draws(1)``. After reset every lane holds seed 0's state.

    Parameters
    ----------
    lanes : int
        Generators, one per PSUM partition lane, 1 .. MAX_ARRAY_DIM.

    Members
    -------
    seed : In(32)
        Seed taken while ``reseed`` is set.
    reseed : In(1)
        Restart every lane from ``seed``.
    step : In(lanes)
        Bit m: advance lane m once (one of its result beats).
    random : Out(ArrayLayout(16, lanes))
        Each lane's draw of this cycle (meaningful while its ``step`` bit is set).
    state : Out(ArrayLayout(32, lanes))
        Each lane's current xorshift32 state (``StochasticRoundingBits.state``).
    """
    def __init__(self, lanes):
        self._lanes = _check_lanes(lanes)
        super().__init__({"seed": In(32), "reseed": In(1), "step": In(lanes),
                          "random": Out(data.ArrayLayout(SR_RANDOM_BITS, lanes)),
                          "state": Out(data.ArrayLayout(32, lanes))})

    @property
    def lanes(self):
        return self._lanes

    def elaborate(self, platform):
        m = Module()
        # Seed 0's lane states are the lanes' constants 0x9E3779B9 * (m + 1) themselves.
        for lane, constant in enumerate(int(value) for value in lane_seeds(0, self._lanes)):
            state = Signal(32, init=constant, name=f"lane{lane}_state")
            seeded = Mux(self.seed == constant, constant, self.seed ^ constant)
            start = Signal(32, name=f"lane{lane}_start")
            m.d.comb += start.eq(Mux(self.reseed, seeded, state))
            following = _xorshift32(m, start, f"lane{lane}_next")
            m.d.comb += [self.random[lane].eq(following[32 - SR_RANDOM_BITS:]),
                         self.state[lane].eq(state)]
            with m.If(self.step[lane]):
                m.d.sync += state.eq(following)
            with m.Elif(self.reseed):
                m.d.sync += state.eq(seeded)
        return m
