"""The tile benchmark's mode figures without a simulator: a results record of the benchmark
GEMM timed exactly as the cycle model says gives the mode's MACs per PE per cycle (1, 2 in FP8
double-row mode, 4 in MX mode) and its row in the table."""

import pytest

from bench.tile_bench import (FLOAT_CONFIG, MX_CONFIG, MX_FORMATS, _gemm_shape, format_report,
                              utilization_figures)
from sim_models.cycle_model import time_program
from sim_models.program import MatmulFormat
from sim_models.stimulus import characterization_gemm
from tb.records import program_record
from tests.test_characterize_tile import _ideal_transfers


def _figures(config, matmul_format):
    gemm = characterization_gemm(config, _gemm_shape(config, matmul_format), 1, matmul_format)
    program = gemm.tiled.program
    model = time_program(config, program)
    entry = program_record(config, "verilator", gemm.name, "ideal", program,
                           _ideal_transfers(model, program), model, 1.0,
                           {"gemm_mkn": list(_gemm_shape(config, matmul_format))})
    return utilization_figures(config, entry, matmul_format)


@pytest.mark.parametrize("config, matmul_format, expected", [
    (FLOAT_CONFIG, MatmulFormat("bf16", "bf16"), 1),
    (FLOAT_CONFIG, MatmulFormat("fp8_e4m3", "fp8_e4m3", double_row=True), 2),
    (MX_CONFIG, MX_FORMATS[0], 4),
], ids=lambda x: getattr(x, "name", str(x)))
def test_steady_state_is_the_modes_macs_per_pe_per_cycle(config, matmul_format, expected):
    figures = _figures(config, matmul_format)
    assert figures["macs_per_pe_per_cycle"] == figures["expected_macs_per_pe_per_cycle"] \
        == expected
    assert figures["steady_state_utilization"] == 1.0
    assert 0.5 < figures["gemm_utilization"] < 1.0


def test_the_mx_row_is_in_the_modes_table_beside_the_float_rows():
    sections = {key: {"config": config.name, "formats": [_figures(config, matmul_format)],
                      "verilator_build_seconds": None,
                      "generation": {"seconds": 1.0, "bytes": 10, "peak_mib": 2.0}}
                for key, config, matmul_format in (
                    ("float", FLOAT_CONFIG, MatmulFormat("fp8_e5m2", "fp8_e5m2", double_row=True)),
                    ("mx", MX_CONFIG, MX_FORMATS[0]))}
    report = format_report({"utilization": [], "generation": [], "simulation_speed": [],
                            **sections}).splitlines()
    rows = [line for line in report if line.startswith(("| r32c32", "| r8c8"))]
    assert rows == [
        f"| {FLOAT_CONFIG.name} | fp8e5m2_dr | 32,512,512 | 2.0000 | 2 | 100.00% | "
        f"{sections['float']['formats'][0]['gemm_cycles']:,} |",
        f"| {MX_CONFIG.name} | fp8e4m3fn_mx | 8,256,512 | 4.0000 | 4 | 100.00% | "
        f"{sections['mx']['formats'][0]['gemm_cycles']:,} |"]
