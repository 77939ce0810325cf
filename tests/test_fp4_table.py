"""The FP4-to-FP8 table a program loads (R12, ``LoadFp4Table``): the golden model maps an E2M1
operand through the table in force when it enters the array, the cycle model issues a table
load once the load and multiply engines are free, the packer puts the table where the op layout
says, bad tables are refused in one line, and the MX tile test's check fails on a wrong table.
The RTL runs the same programs in ``tb/test_tile_sim.py::test_mx_tile`` (``tb.mx_scenarios``)."""

import re

import numpy as np
import pytest

from hdl.isa import TableOpcode, PsumTableOpcode, op_layout, opcodes
from sim_models.config import TRAINIUM2_FORMATS, TRAINIUM3_FORMATS, TileConfig
from sim_models.cycle_model import time_program
from sim_models.golden import TileModel
from sim_models.mx import DEFAULT_FP4_TABLE, mx_matmul_fp32
from sim_models.program import LoadFp4Table, LoadStationary, MultiplyMoving, ReadPsum
from tb.mx_scenarios import mx_scenarios, random_fp4_table
from tb.program_packer import ProgramPacker
from tb.streams import unpack
from tb.test_tile_sim import MX_CONFIG
from tb.tile_checks import check_values
from tests.float_samples import rng  # noqa: F401

CONFIG = TileConfig(8, 4, psum_banks=4, psum_depth=8, formats=TRAINIUM3_FORMATS)
K = 32
_DEFAULT = DEFAULT_FP4_TABLE.tolist()


def _fp4(rng, columns):
    return rng.integers(0, 16, (K, columns), dtype=np.uint8)


def _scales(rng, columns):
    return rng.integers(120, 134, (1, columns), dtype=np.uint8)


def _load(codes, scales):
    return LoadStationary(codes, "fp4_e2m1", mx=True, scale=scales)


def _multiply(codes, scales, bank):
    return MultiplyMoving(codes, bank, False, "fp4_e2m1", mx=True, scale=scales)


def _expected(stationary, moving, table_of_stationary, table_of_moving):
    """MX sums of E2M1 operands mapped through their own tables: the E4M3FN codes they enter
    the array as."""
    return mx_matmul_fp32(table_of_stationary[stationary[0]], table_of_moving[moving[0]],
                          stationary[1], moving[1], "fp8_e4m3fn", "fp8_e4m3fn",
                          k_multiple=CONFIG.mx_k_multiple)


def test_r12_a_stationary_keeps_the_table_of_its_load_a_multiply_takes_the_one_in_force(rng):
    """Table A, load, multiply (A x A); table B, multiply (stationary still A, moving B); load,
    multiply (B x B); reset, load, multiply (the default table)."""
    tables = [random_fp4_table(rng) for _ in range(2)]
    assert not np.array_equal(*tables)
    stationaries = [(_fp4(rng, 4), _scales(rng, 4)) for _ in range(2)]
    movings = [(_fp4(rng, 5), _scales(rng, 5)) for _ in range(3)]
    model = TileModel(CONFIG)
    reads = model.execute([
        LoadFp4Table(tables[0]), _load(*stationaries[0]), _multiply(*movings[0], 0),
        LoadFp4Table(tables[1]), _multiply(*movings[1], 1),
        _load(*stationaries[1]), _multiply(*movings[2], 2),
        ReadPsum(0, 4, 5), ReadPsum(1, 4, 5), ReadPsum(2, 4, 5)])
    a, b = tables
    for got, expected in zip(reads, [_expected(stationaries[0], movings[0], a, a),
                                     _expected(stationaries[0], movings[1], a, b),
                                     _expected(stationaries[1], movings[2], b, b)]):
        assert np.array_equal(got, expected)
    assert not np.array_equal(reads[1], _expected(stationaries[0], movings[1], b, b))
    model.reset()
    after_reset = model.execute([_load(*stationaries[0]), _multiply(*movings[0], 0),
                                 ReadPsum(0, 4, 5)])[0]
    assert np.array_equal(after_reset, _expected(stationaries[0], movings[0], DEFAULT_FP4_TABLE,
                                                 DEFAULT_FP4_TABLE))


def test_a_table_load_issues_once_the_load_and_multiply_engines_are_free(rng):
    """Behind a multiply, a table load issues in the cycle of the multiply's last moving beat;
    behind a load, in the cycle of its last stationary beat; the operation after it issues the
    next cycle; a trailing table load adds no cycles."""
    stationary, moving = (_fp4(rng, 4), _scales(rng, 4)), (_fp4(rng, 6), _scales(rng, 6))
    table = LoadFp4Table(random_fp4_table(rng))
    program = [_load(*stationary), table, _multiply(*moving, 0), table, _load(*stationary),
               _multiply(*moving, 1), ReadPsum(0, 4, 6)]
    load, first, multiply, second, reload, after, _ = time_program(CONFIG, program).operations
    assert (first.kind, first.issued) == ("fp4_table", load.last_beat)
    assert multiply.issued == first.issued + 1
    assert second.issued == multiply.last_beat and reload.issued == second.issued + 1
    assert (second.first_beat, second.last_beat) == (second.issued + 1, second.issued + 1)
    assert after.issued >= reload.last_beat
    assert time_program(CONFIG, program + [table]).total_cycles == \
        time_program(CONFIG, program).total_cycles


@pytest.mark.parametrize("config, enum", [(CONFIG, TableOpcode),
                                          (MX_CONFIG, PsumTableOpcode)])
def test_packer_puts_the_table_in_the_op_beat(rng, config, enum):
    """The op beat of a table load holds its opcode and its 16 codes in order; tiles without
    ``fp4_e2m1`` keep their opcodes and layout."""
    table = random_fp4_table(rng)
    beat = ProgramPacker(config).beats([LoadFp4Table(table)]).ops[0]
    fields = unpack(op_layout(config), beat)
    assert opcodes(config) is enum
    assert fields["opcode"] == enum.LOAD_FP4_TABLE
    assert fields["table"] == [int(code) for code in table]
    no_fp4 = TileConfig(8, 4, formats=("bf16", "fp8_e4m3fn"))
    assert "table" not in op_layout(no_fp4).members
    assert "table" not in op_layout(TileConfig(8, 4, formats=TRAINIUM2_FORMATS)).members


@pytest.mark.parametrize("config, table, message", [
    (TileConfig(8, 4, formats=TRAINIUM2_FORMATS), DEFAULT_FP4_TABLE,
     "Operation 0 (LoadFp4Table): tile r8c4_bf16_fp16_fp8e4m3_fp8e5m2 has no FP4-to-FP8 table "
     "to load (its formats hold no fp4_e2m1)"),
    (CONFIG, DEFAULT_FP4_TABLE[:15], "Operation 0 (LoadFp4Table): Parameter 'table' must be 16 "
     "fp8_e4m3fn codes (integers 0..255, none of the NaN codes 0x7F, 0xFF), one per E2M1 "
     "code, not"),
    (CONFIG, [*_DEFAULT[:15], 0x7F], "Operation 0 (LoadFp4Table): Parameter "
     "'table' must be 16 fp8_e4m3fn codes"),
    (CONFIG, [*_DEFAULT[:15], 0xFF], "Operation 0 (LoadFp4Table): Parameter "
     "'table' must be 16 fp8_e4m3fn codes"),
    (CONFIG, [*_DEFAULT[:15], 256], "Operation 0 (LoadFp4Table): Parameter "
     "'table' must be 16 fp8_e4m3fn codes"),
    (CONFIG, [-1, *_DEFAULT[1:]], "Operation 0 (LoadFp4Table): Parameter 'table' must be 16 "
     "fp8_e4m3fn codes"),
    (CONFIG, DEFAULT_FP4_TABLE.astype(float), "Operation 0 (LoadFp4Table): Parameter 'table' "
     "must be 16 fp8_e4m3fn codes"),
])
def test_bad_table_is_refused_in_one_line(config, table, message):
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        TileModel(config).execute([LoadFp4Table(table)])
    assert "\n" not in str(error.value)


def test_the_mx_tile_check_fails_when_the_model_holds_a_wrong_table():
    """The reads the MX tile test checks, made with one entry of a loaded table off by one
    bit, fail ``check_values`` against the right program, ideal and stalled."""
    for stalled in (False, True):
        scenario = mx_scenarios(MX_CONFIG, np.random.default_rng(7), stalled)[0]
        index = max(i for i, op in enumerate(scenario.program) if isinstance(op, LoadFp4Table))
        wrong = scenario.program[index].table.copy()
        wrong[3] ^= 1 if wrong[3] & 0x7F != 0x7E else 2   # avoid the NaN codes
        program = list(scenario.program)
        program[index] = LoadFp4Table(wrong)
        reads = TileModel(MX_CONFIG).execute(program)
        check_values(MX_CONFIG, scenario, TileModel(MX_CONFIG).execute(scenario.program))
        with pytest.raises(AssertionError, match="elements differ"):
            check_values(MX_CONFIG, scenario, reads)
