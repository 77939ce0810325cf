"""Tile characterization without a simulator: shapes, handshake counts, records."""

from dataclasses import asdict

import numpy as np
import pytest

from sim_models.config import TRAINIUM2_FORMATS, TRAINIUM3_FORMATS, TileConfig
from sim_models.cycle_model import time_program
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum
from sim_models.program import MatmulFormat
from sim_models.stimulus import (characterization_formats, characterization_shapes,
                                 peak_format, steady_state_shapes)
from sim_models.tiler import tile_gemm
from sim_models.timing import drain_cycles
from tb import characterize_tile
from tb.characterize_tile import parse_shapes, parse_sizes, tile_configs
from tb.step_log import StepLog
from tb.tile_gemms import (_build_times, last_write_cycle, run_record, simulate_gemms,
                           verilation_seconds)
from tb.streams import Transfers
from tb.tile_checks import handshake_agreement, measured_timing


def test_sizes_square_and_rectangular():
    assert parse_sizes("4, 8x16") == [TileConfig(4, 4), TileConfig(8, 16)]


@pytest.mark.parametrize("text", ["4,", "8x", "2x3x4", "a"])
def test_sizes_reject_malformed_items(text):
    item = text.split(",")[-1] if text != "4," else ""
    with pytest.raises(ValueError, match=rf"^Parameter 'sizes' items must be S or RxC with "
                                         rf"integers, not '{item}'$"):
        parse_sizes(text)


def test_sizes_out_of_range():
    with pytest.raises(TypeError, match=r"^Parameter 'rows' must be an integer in 1\.\.128, "
                                        r"not 256$"):
        parse_sizes("256")


def test_gemm_shapes():
    shapes = [(16, 64, 512), (1, 1, 1)]
    assert parse_shapes("16x64x512,1x1x1") == shapes


@pytest.mark.parametrize("text", ["16x64", "16x0x4", "16x64x512,"])
def test_gemm_shapes_reject_malformed_items(text):
    item = text.split(",")[-1]
    with pytest.raises(ValueError, match=rf"^Parameter 'shapes' items must be MxKxN with "
                                         rf"positive integers, not '{item}'$"):
        parse_shapes(text)


@pytest.mark.parametrize("config", [TileConfig(16, 16), TileConfig(8, 16), TileConfig(1, 1)],
                         ids=lambda config: config.name)
def test_shapes_cover_what_the_scaling_model_needs(config):
    rows, cols = config.rows, config.cols
    shapes = characterization_shapes(config)
    chunks = {shape: (-(-shape[1] // rows), -(-shape[0] // cols), -(-shape[2] // 512))
              for shape in shapes}
    assert (cols, rows, 512) in shapes                         # one full-array operation
    assert (1, 1, 1) in chunks.values()
    assert any(k == 4 and m == 1 for k, m, _ in chunks.values())    # K chunks
    assert any(m == 2 for _, m, _ in chunks.values())               # several M blocks
    assert any(n_blocks == 2 for *_, n_blocks in chunks.values())   # beyond one bank
    assert min(n for *_, n in shapes) <= 32                          # fill and drain dominate
    partial = [shape for shape in shapes if shape[0] < cols or shape[1] < rows]
    assert partial or (rows, cols) == (1, 1)


def test_verilation_seconds_is_the_outermost_report():
    log = ("make[1]: Entering directory\n"
           "- Verilator: Walltime 4.044 s (elab=1.410, cvt=0.664, bld=0.000); cpu 4.015 s\n"
           "- Verilator: Walltime 24.017 s (elab=3.247, cvt=18.622, bld=0.000); cpu 23.6 s\n"
           "- Verilator: Walltime 35.974 s (elab=0.000, cvt=0.000, bld=0.000); cpu 4.5 s\n"
           "g++ -Os -c Vtop__ALL.cpp\n")
    assert verilation_seconds(log) == 35.974
    assert verilation_seconds("icarus build\n") is None


def _ideal_transfers(model, program):
    """Port transfers of ``program`` exactly as the cycle model times them."""
    streams = {"op": [], "stationary": [], "moving": [], "result": []}
    names = {LoadStationary: "stationary", MultiplyMoving: "moving", ReadPsum: "result"}
    for timing, op in zip(model.operations, program):
        streams["op"].append(timing.accepted)
        streams[names[type(op)]] += range(timing.first_beat, timing.last_beat + 1)
    return {name: Transfers([0] * len(cycles), sorted(cycles))
            for name, cycles in streams.items()}


def _gemm(config, m, k, n):
    rng = np.random.default_rng(1)
    tiled = tile_gemm(config, rng.integers(-128, 128, (k, m), dtype=np.int8),
                      rng.integers(-128, 128, (k, n), dtype=np.int8))
    return tiled.program, time_program(config, tiled.program)


def test_handshakes_count_every_op_and_beat():
    config = TileConfig(4, 4)
    program, model = _gemm(config, 8, 8, 100)
    transfers = _ideal_transfers(model, program)
    beats = sum(op.k if isinstance(op, LoadStationary) else op.n for op in program)
    assert handshake_agreement(model, program, transfers) == (len(program) + beats,) * 2


def test_handshakes_late_beat_is_counted_once():
    config = TileConfig(4, 4)
    program, model = _gemm(config, 4, 4, 10)
    transfers = _ideal_transfers(model, program)
    moving = transfers["moving"]
    late = Transfers(moving.payloads, [*moving.cycles[:-1], moving.cycles[-1] + 1])
    checked, matching = handshake_agreement(model, program, {**transfers, "moving": late})
    assert (checked, matching) == (len(program) + 4 + 10 + 10, checked - 1)


def _entry(config, program, model, shape):
    """A results entry as ``tb.records.record_program`` and ``tb.tile_gemm_tb`` write it."""
    measured = measured_timing(program, _ideal_transfers(model, program))
    return {"total_cycles": model.total_cycles, "model_cycles": model.total_cycles,
            "wall_seconds": 2.5, "gemm_mkn": list(shape), "bit_exact": True,
            "handshakes_checked": 50, "handshakes_matching": 50,
            "operations": [{"kind": timing.kind, "first_beat": first, "last_beat": last}
                           for timing, (_, first, last) in zip(model.operations, measured)]}


def test_last_write_cycle_is_when_the_final_read_may_start():
    # The tiler's final read waits only for its bank to drain: it issues in the cycle after
    # the last PSUM write, so the two agree.
    config = TileConfig(8, 4)
    program, model = _gemm(config, 4, 8, 64)
    read = model.operations[-1]
    assert read.kind == "read"
    entry = _entry(config, program, model, (4, 8, 64))
    multiply = model.operations[-2]
    assert read.issued == multiply.last_beat + drain_cycles(config) + 1
    assert last_write_cycle(config, entry) == read.issued + 1


def test_run_record_has_the_keys_the_scaling_layer_reads():
    config = TileConfig(8, 16)
    program, model = _gemm(config, 16, 16, 40)
    record = run_record(config, "verilator", _entry(config, program, model, (16, 16, 40)), 12.0)
    assert asdict(record) == {
        "config": "r8c16_int8", "rows": 8, "cols": 16, "psum_banks": 8, "psum_depth": 512,
        "sim": "verilator", "m": 16, "k": 16, "n": 40, "macs": 16 * 16 * 40,
        "rtl_cycles": model.total_cycles, "model_cycles": model.total_cycles,
        "rtl_last_write_cycle": model.operations[-2].last_beat + 8 + 16 + 1,
        "handshakes_checked": 50, "handshakes_matching": 50, "bit_exact": True,
        "build_seconds": 12.0, "sim_seconds": 2.5, "stationary_format": "int8",
        "moving_format": "int8", "double_row": False, "mx": False}


def test_hierarchical_builds_are_verilator_only(tmp_path):
    with pytest.raises(ValueError, match=r"^Hierarchical builds need sim 'verilator', "
                                         r"not 'icarus'$"):
        simulate_gemms(TileConfig(2, 2), "icarus", [(2, 2, 2)], tmp_path, hierarchical=True)


@pytest.mark.parametrize("text", ['{"build_seconds": 12.5', '[]', '5',
                                  '{"build_seconds": "12", "verilation_seconds": 3}'])
def test_corrupt_build_times_are_unknown_not_a_traceback(tmp_path, capsys, text):
    (tmp_path / "build_seconds.json").write_text(text)
    times = _build_times(tmp_path, None, "verilator")
    assert times == {"build_seconds": None, "verilation_seconds": None,
                     "compile_seconds": None}
    assert capsys.readouterr().out == (f"[characterize] {tmp_path / 'build_seconds.json'}: "
                                       f"corrupt build times, recorded as unknown; removed\n")
    assert not (tmp_path / "build_seconds.json").exists()


def test_recorded_build_times_are_read(tmp_path):
    (tmp_path / "build_seconds.json").write_text(
        '{"build_seconds": 40.5, "verilation_seconds": 10.25}')
    times = _build_times(tmp_path, None, "verilator")
    assert times == {"build_seconds": 40.5, "verilation_seconds": 10.25,
                     "compile_seconds": 30.25}


def test_sizes_take_the_formats():
    assert parse_sizes("4x3", ("bf16", "fp8_e4m3")) == \
        [TileConfig(4, 3, formats=("bf16", "fp8_e4m3"))]


def test_one_file_holds_trainium2s_and_trainium3s_tiles():
    assert tile_configs("8", ["trainium2", "trainium3"]) == [
        TileConfig(8, 8, formats=TRAINIUM2_FORMATS), TileConfig(8, 8, formats=TRAINIUM3_FORMATS)]


def test_trainium3s_tile_is_characterized_in_mx_mode_with_whole_scale_groups():
    """Trainium3's tile runs BF16, FP16, FP8 E5M2 (also double-row) and each MX element format
    in MX mode, never an MX-only format outside it; every MX GEMM's K is a whole multiple of
    the tile's MX K multiple, and the steady-state pair contracts 4R per pass."""
    config = TileConfig(8, 8, formats=TRAINIUM3_FORMATS)
    assert [matmul_format.label for matmul_format in characterization_formats(config)] == [
        "bf16", "fp16", "fp8_e5m2", "fp8_e5m2 double-row", "fp8_e5m2 MX", "fp8_e4m3fn MX",
        "fp4_e2m1 MX"]
    mx = MatmulFormat("fp4_e2m1", "fp4_e2m1", mx=True)
    shapes = characterization_shapes(config, mx)
    assert all(k % config.mx_k_multiple == 0 for _, k, _ in shapes)
    assert steady_state_shapes(config, mx) == ((8, 64, 512), (8, 128, 512))
    assert (7, 32, 256) in shapes                         # partial M, the whole 4R pass
    big = TileConfig(128, 128, formats=TRAINIUM3_FORMATS)
    assert (127, 256, 256) in characterization_shapes(big, mx)


def test_steady_state_runs_only_each_formats_steady_state_pair(monkeypatch, tmp_path):
    """``--steady-state``: every format of the tile runs its two steady-state GEMMs and no
    other (what a 128 x 128 Trainium3 run affords), the MX formats with K of 4R per pass."""
    config = TileConfig(8, 8, formats=TRAINIUM3_FORMATS)
    simulated = {}

    def simulate(config, sim, gemms, build, **options):
        simulated[options["matmul_format"].label] = list(gemms)
        return [], {"build_seconds": 1.0, "verilation_seconds": 0.5, "compile_seconds": 0.5,
                    "build_args": ["--hierarchical"]}

    monkeypatch.setattr(characterize_tile, "simulate_gemms", simulate)
    monkeypatch.setattr(characterize_tile, "file_sha256", lambda path: "ab" * 32)
    # No run is simulated, so the document (which refuses a design without runs) is not made.
    monkeypatch.setattr(characterize_tile, "TileCharacterization", lambda *fields: fields)
    log = StepLog(tmp_path / "characterize.log")
    characterize_tile.characterize([config], "verilator", tmp_path, log, steady_state=True)
    log.close()
    assert simulated == {matmul_format.label: list(steady_state_shapes(config, matmul_format))
                         for matmul_format in characterization_formats(config)}
    assert simulated["fp4_e2m1 MX"] == [(8, 64, 512), (8, 128, 512)]
    assert simulated["bf16"] == [(8, 16, 512), (8, 32, 512)]


def test_steady_state_with_shapes_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        characterize_tile.main(["--sizes", "8", "--steady-state", "--shapes", "8x16x512"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == ("error: Parameter 'steady-state' cannot go with 'shapes' "
                                       "('8x16x512'); allowed: one of them\n")


def test_peak_format_is_the_mode_of_the_most_products_per_pe():
    """MX mode on a tile with it (four products per PE per cycle), else FP8 double-row (two),
    else the tile's first format."""
    assert peak_format(TileConfig(8, 8, formats=TRAINIUM3_FORMATS)) == \
        MatmulFormat("fp8_e5m2", "fp8_e5m2", mx=True)
    assert peak_format(TileConfig(8, 8, formats=TRAINIUM2_FORMATS)) == \
        MatmulFormat("fp8_e4m3", "fp8_e4m3", double_row=True)
    assert peak_format(TileConfig(4, 4, formats=("bf16", "fp16"))) == MatmulFormat("bf16", "bf16")
    assert peak_format(TileConfig(4, 4)).rows_per_pe == 1
