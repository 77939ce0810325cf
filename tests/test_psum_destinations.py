"""PSUM destinations in the tile (``TileConfig.bf16_psum``, docs/numerics.md R16-R17): the
golden tile model against ``sim_models.bf16_psum`` directly, reseeds, the cycle model's reseed
timing, the op fields the packer writes, and every refusal in one line. The RTL is compared
with these models in ``tb/test_tile_sim.py::test_bf16_psum_tile`` (both simulators)."""

import re

import numpy as np
import pytest

from hdl.isa import PsumOpcode, op_layout
from sim_models import floats
from sim_models.bf16_psum import PsumDestination, StochasticRoundingBits, write_psum
from sim_models.config import TileConfig, config_from_dict, config_to_dict
from sim_models.cycle_model import time_program
from sim_models.golden import TileModel
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum, ReseedRounding
from sim_models.timing import drain_cycles
from tb.program_packer import ProgramPacker
from tb.streams import unpack
from tests.float_samples import rng  # noqa: F401

#: R = 3, C = 4, two banks of 6: a BF16-only tile with Trainium3's PSUM destinations.
CONFIG = TileConfig(3, 4, psum_banks=2, psum_depth=6, formats=("bf16",), bf16_psum=True)
#: The same tile with FP32 PSUM only.
FP32_ONLY = TileConfig(3, 4, psum_banks=2, psum_depth=6, formats=("bf16",))


def bf16(rng, shape):
    """BF16 bit patterns of magnitude 1/8..16, random signs."""
    values = rng.choice([-1, 1], shape) * 2.0 ** rng.uniform(-3, 4, shape)
    return floats.round_fp32_to_bf16(np.asarray(values, np.float32).view(np.uint32))


def multiply(moving, bank=0, accumulate=False, psum_dtype="fp32", rounding="rne"):
    return MultiplyMoving(moving, bank, accumulate, "bf16", False, psum_dtype, rounding)


def raises(error, message):
    return pytest.raises(error, match=rf"^{re.escape(message)}$")


def test_bf16_writes_are_write_psum_of_the_columns_fp32_sums(rng):
    """R16-R17 through the tile model: each multiply's FP32 sums (``matmul_fp32``) written by
    ``write_psum`` with C = 4 generators from seed 0, M = 3 of them rounding results (every
    lane steps: R17); the FP32 and RNE writes between SR writes step nothing; reads return
    BF16 bits in the low 16 bits of each word."""
    stationary = bf16(rng, (3, 3))
    movings = [bf16(rng, (3, 6)) for _ in range(5)]
    destinations = [PsumDestination("bf16", False, "sr"), PsumDestination("fp32", False, "rne"),
                    PsumDestination("bf16", True, "sr"), PsumDestination("bf16", True, "rne"),
                    PsumDestination("bf16", True, "sr")]
    banks = [0, 1, 0, 0, 0]
    program = [LoadStationary(stationary, "bf16")]
    program += [multiply(moving, bank, d.accumulate, d.dtype, d.rounding)
                for moving, bank, d in zip(movings, banks, destinations)]
    reads = TileModel(CONFIG).execute(program + [ReadPsum(0, 3, 6), ReadPsum(1, 3, 6)])

    generators = StochasticRoundingBits(4)
    stored = {0: (None, None), 1: (None, None)}
    for moving, bank, destination in zip(movings, banks, destinations):
        sums = floats.matmul_fp32(stationary, moving, "bf16", "bf16", False)
        stored[bank] = write_psum(*stored[bank], sums, destination, generators)
    assert stored[0][0].dtype == np.uint16 and reads[0].dtype == np.uint32
    assert np.array_equal(reads[0], stored[0][0].astype(np.uint32))
    assert np.array_equal(reads[1], stored[1][0])


def test_reseed_restarts_every_lane_and_reset_is_seed_zero(rng):
    """The same SR multiply after the same reseed rounds identically, and differently after
    another seed; after ``reset`` the generators are seed 0's, as after the tile's reset."""
    stationary, moving = bf16(rng, (3, 4)), bf16(rng, (3, 6))
    sr = multiply(moving, 0, False, "bf16", "sr")
    model = TileModel(CONFIG)
    first, again, other = model.execute([
        LoadStationary(stationary, "bf16"), ReseedRounding(0xDEADBEEF), sr, ReadPsum(0, 4, 6),
        ReseedRounding(0xDEADBEEF), sr, ReadPsum(0, 4, 6),
        ReseedRounding(0xDEADBEEE), sr, ReadPsum(0, 4, 6)])
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    model.reset()
    after_reset = model.execute([LoadStationary(stationary, "bf16"), sr, ReadPsum(0, 4, 6)])[0]
    seed_zero = TileModel(CONFIG).execute([LoadStationary(stationary, "bf16"),
                                           ReseedRounding(0), sr, ReadPsum(0, 4, 6)])[0]
    assert np.array_equal(after_reset, seed_zero)


def test_reseed_issues_when_every_bank_has_drained():
    """R = 3, C = 4 (depth 13 MACs): a reseed after multiplies into two banks issues once the
    last moving beat into either is ``drain + 1`` cycles old, restarts the generators the
    cycle after (its first and last "beat"), and a multiply behind it issues the next cycle;
    a reseed before any multiply issues at once; a trailing reseed adds no cycles."""
    stationary, moving = np.zeros((3, 4), np.uint16), np.zeros((3, 5), np.uint16)
    program = [ReseedRounding(1), LoadStationary(stationary, "bf16"), multiply(moving, 0),
               multiply(moving, 1), ReseedRounding(2), multiply(moving, 0, True),
               ReadPsum(0, 4, 5)]
    timing = time_program(CONFIG, program)
    first, _, _, second_multiply, reseed, after, _ = timing.operations
    assert (first.kind, first.issued, first.first_beat, first.last_beat) == ("reseed", 1, 2, 2)
    assert reseed.issued == second_multiply.last_beat + drain_cycles(CONFIG) + 1
    assert (reseed.first_beat, reseed.last_beat) == (reseed.issued + 1, reseed.issued + 1)
    assert after.issued == reseed.issued + 1
    assert time_program(CONFIG, program + [ReseedRounding(3)]).total_cycles == \
        timing.total_cycles


def test_packer_writes_destination_and_seed_fields():
    """A BF16 SR multiply sets ``psum_bf16`` and ``stochastic``; a reseed carries its seed
    under PsumOpcode.RESEED_ROUNDING; FP32 PSUM-only tiles keep their layout."""
    moving = np.zeros((3, 2), np.uint16)
    beats = ProgramPacker(CONFIG).beats([
        LoadStationary(np.zeros((3, 4), np.uint16), "bf16"),
        multiply(moving, 1, True, "bf16", "sr"), multiply(moving), ReseedRounding(0xFEDCBA98)])
    _, sr, fp32, reseed = (unpack(op_layout(CONFIG), beat) for beat in beats.ops)
    assert (sr["opcode"], sr["psum_bf16"], sr["stochastic"], sr["accumulate"], sr["bank"]) == \
        (PsumOpcode.MULTIPLY_MOVING, 1, 1, 1, 1)
    assert (fp32["psum_bf16"], fp32["stochastic"]) == (0, 0)
    assert (reseed["opcode"], reseed["seed"]) == (PsumOpcode.RESEED_ROUNDING, 0xFEDCBA98)
    assert "seed" not in op_layout(FP32_ONLY).members


def test_option_names_the_configuration_and_round_trips():
    """``bf16_psum`` appears in the name and the sidecar only when set, so that every other
    configuration's name, sidecar and Verilog stay as they were."""
    assert CONFIG.name == "r3c4_b2d6_bf16_bf16psum" and FP32_ONLY.name == "r3c4_b2d6_bf16"
    assert "bf16_psum" not in config_to_dict(FP32_ONLY)
    assert config_from_dict(config_to_dict(CONFIG)) == CONFIG


def _refused(config, program):
    model = TileModel(config)
    model.execute([LoadStationary(np.zeros((3, 4), np.uint16), "bf16"),
                   multiply(np.zeros((3, 6), np.uint16), 1)])
    model.execute(program)


MOVING = np.zeros((3, 6), np.uint16)


@pytest.mark.parametrize("config, program, error, message", [
    (FP32_ONLY, [multiply(MOVING, 0, False, "bf16")], ValueError,
     "Operation 0 (MultiplyMoving): 'psum_dtype' 'bf16' with 'rounding' 'rne' needs a tile "
     "with bf16_psum; tile r3c4_b2d6_bf16 writes FP32 PSUM only"),
    (FP32_ONLY, [ReseedRounding(5)], ValueError,
     "Operation 0 (ReseedRounding): tile r3c4_b2d6_bf16 has no stochastic-rounding "
     "generators to reseed (bf16_psum is False)"),
    (CONFIG, [multiply(MOVING, 0, False, "fp32", "sr")], ValueError,
     "Operation 0 (MultiplyMoving): 'rounding' is 'sr', which needs 'psum_dtype' 'bf16': an "
     "fp32 destination is not rounded again"),
    (CONFIG, [multiply(MOVING, 1, True, "bf16", "sr")], ValueError,
     "Operation 0 (MultiplyMoving): 'psum_dtype' is 'bf16', accumulating onto psum[1][0, 0], "
     "last written as fp32; accumulate in fp32 or overwrite first"),
    (CONFIG, [multiply(MOVING, 1, False, "bf16"), multiply(MOVING, 1, True, "fp32")],
     ValueError, "Operation 1 (MultiplyMoving): 'psum_dtype' is 'fp32', accumulating onto "
     "psum[1][0, 0], last written as bf16; accumulate in bf16 or overwrite first"),
    (CONFIG, [multiply(MOVING, 0, False, "fp16")], ValueError,
     "Operation 0 (MultiplyMoving): 'psum_dtype' must be one of fp32, bf16 and 'rounding' one "
     "of rne, sr, not 'fp16' and 'rne'"),
    (CONFIG, [ReseedRounding(2 ** 32)], TypeError,
     "Operation 0 (ReseedRounding): Parameter 'seed' must be an integer in 0..4294967295, not "
     "4294967296"),
])
def test_refusals_are_one_line(config, program, error, message):
    with raises(error, message):
        _refused(config, program)


@pytest.mark.parametrize("arguments, error, message", [
    ({"formats": ("int8",), "bf16_psum": True}, ValueError,
     "Parameter 'bf16_psum' needs floating-point formats (BF16 PSUM rounds FP32 sums), not "
     "int8"),
    ({"formats": ("bf16",), "bf16_psum": 1}, TypeError,
     "Parameter 'bf16_psum' must be a bool, not 1"),
])
def test_config_refusals_are_one_line(arguments, error, message):
    with raises(error, message):
        TileConfig(3, 4, **arguments)
