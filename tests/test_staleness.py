"""Staleness keyed on what was simulated: the digests of what a run was checked against, and
the current / stale / cannot tell / missing verdicts on results files."""

import hashlib
import re
import shutil
from dataclasses import replace

import pytest

from samples import fabric_document, tile_document
from sim_models import digests, stimulus
from sim_models.config import AllReduceConfig, AllToAllConfig, FabricConfig, TileConfig
from sim_models.cycle_model import time_program
from sim_models.allreduce import AllReduceEstimate
from sim_models.torus_collective import TorusCollectiveEstimate
from sim_models.digests import fabric_checked_digest, tile_checked_digest
from sim_models.staleness import file_sha256, missing, verdict
from sim_models.stimulus import characterization_gemm, characterization_shapes

CONFIG = TileConfig(4, 4)
SHAPES = characterization_shapes(CONFIG)


def test_characterization_operands_are_pinned():
    # The operands of every characterization GEMM stay bit-identical across versions, so that
    # recorded runs stay comparable: SHA-256 of the int8 operands of the 4 x 4 tile's GEMMs,
    # as tb.gemm_tb drew them at 983bda7, the commit of the 128 x 128 run.
    digest = hashlib.sha256()
    for shape in SHAPES:
        gemm = characterization_gemm(CONFIG, shape, 1)
        assert gemm.stationary.shape == shape[1::-1] and gemm.moving.shape == shape[1:]
        digest.update(gemm.stationary.tobytes() + gemm.moving.tobytes())
    assert digest.hexdigest() == \
        "253287762db6f06f15754d15c63b6cb16e7f0e229054dc86651e601ab9595e56"


def test_checked_digest_covers_config_shapes_seed_and_model(monkeypatch):
    base = tile_checked_digest(CONFIG, SHAPES, 1)
    assert re.fullmatch(r"[0-9a-f]{64}", base) and base == tile_checked_digest(CONFIG, SHAPES, 1)
    others = {tile_checked_digest(CONFIG, SHAPES, 2),
              tile_checked_digest(CONFIG, SHAPES[:-1], 1),
              tile_checked_digest(CONFIG, SHAPES[::-1], 1),
              tile_checked_digest(TileConfig(4, 4, psum_banks=4), SHAPES, 1)}
    assert base not in others and len(others) == 4

    def one_cycle_late(config, program):
        timing = time_program(config, program)
        return replace(timing, operations=[replace(op, last_beat=op.last_beat + 1)
                                           for op in timing.operations])
    monkeypatch.setattr(digests, "time_program", one_cycle_late)
    assert tile_checked_digest(CONFIG, SHAPES, 1) != base


def test_fabric_checked_digest_covers_the_models(monkeypatch):
    fabric, ring = FabricConfig.ring(8), AllReduceConfig(FabricConfig.ring(4), 16)
    distinct = {fabric_checked_digest(config) for config in
                (fabric, FabricConfig.ring(8, buffer_depth=2), ring,
                 AllReduceConfig(FabricConfig.ring(4), 17))}
    assert len(distinct) == 4
    before = fabric_checked_digest(ring)
    monkeypatch.setattr(AllReduceEstimate, "cycles", lambda self: 0)
    assert fabric_checked_digest(ring) != before
    torus = AllReduceConfig(FabricConfig.torus(2, 2, 2), 16)
    before = fabric_checked_digest(torus)
    monkeypatch.setattr(TorusCollectiveEstimate, "cycles", lambda self: 0)
    assert fabric_checked_digest(torus) != before
    with pytest.raises(TypeError, match=r"^Parameter 'config' must be a FabricConfig, "
                                        r"AllReduceConfig or AllToAllConfig, not TileConfig\("):
        fabric_checked_digest(CONFIG)


def test_fabric_checked_digest_covers_the_alltoall_reference(monkeypatch):
    config = AllToAllConfig(FabricConfig.torus(2, 2), 3)
    assert fabric_checked_digest(config) != fabric_checked_digest(
        AllToAllConfig(FabricConfig.torus(2, 2), 4))
    before = fabric_checked_digest(config)
    reference = digests.alltoall_reference
    monkeypatch.setattr(digests, "alltoall_reference",
                        lambda blocks, count: list(reversed(reference(blocks, count))))
    assert fabric_checked_digest(config) != before


def test_file_digest_depends_on_content_not_location(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.v").write_text("module x; endmodule\n")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert file_sha256(tmp_path / "a" / "x.v") == file_sha256(tmp_path / "b" / "x.v") == \
        hashlib.sha256(b"module x; endmodule\n").hexdigest()


@pytest.fixture
def tile(tmp_path):
    return tile_document({CONFIG: SHAPES[:2], TileConfig(2, 3): [(3, 2, 5)]},
                         tmp_path / "verilog")


def test_current(tmp_path, tile):
    result = verdict(tmp_path / "tile.json", "tile", tile, [tmp_path / "verilog"])
    assert (result.state, result.detail) == (
        "current", "the Verilog of its 2 designs and what they were checked against are "
                   "today's")


def test_unchanged_python_but_different_verilog_is_stale(tmp_path, tile):
    verilog = tmp_path / "verilog" / "systolic_tile_r2c3_int8.v"
    recorded = file_sha256(verilog)
    verilog.write_text("module systolic_tile_r2c3_int8; wire changed; endmodule\n")
    result = verdict(tmp_path / "tile.json", "tile", tile, [tmp_path / "verilog"])
    assert result.state == "stale"
    assert result.detail == (
        f"r2c3_int8: Verilog digest (recorded {recorded[:12]}..., {verilog} has "
        f"{file_sha256(verilog)[:12]}...) differs; make characterize-tile reruns it")


def test_other_program_is_stale(tmp_path, tile):
    result = verdict(tmp_path / "tile.json", "tile", replace(tile, seed=2),
                     [tmp_path / "verilog"])
    assert result.state == "stale"
    assert result.detail.startswith("r4c4_int8: checked digest (what the run was checked "
                                    "against: the programs or the model's predictions "
                                    "changed) differs; r2c3_int8: checked digest")


def test_verilog_not_generated_cannot_tell(tmp_path, tile):
    (tmp_path / "verilog" / "systolic_tile_r4c4_int8.v").unlink()
    (tmp_path / "verilog" / "systolic_tile_r2c3_int8.v").unlink()
    result = verdict(tmp_path / "full.json", "full", tile, [tmp_path / "verilog"])
    assert (result.state, result.detail) == (
        "cannot tell", f"{tmp_path / 'verilog' / 'systolic_tile_r4c4_int8.v'} not generated "
                       f"(and 1 more)")


def test_verilog_directories_are_searched_in_order(tmp_path, tile):
    moved = tmp_path / "other" / "systolic_tile_r2c3_int8.v"
    moved.parent.mkdir()
    (tmp_path / "verilog" / "systolic_tile_r2c3_int8.v").rename(moved)
    dirs = [tmp_path / "verilog", tmp_path / "other"]
    assert verdict(tmp_path / "tile.json", "tile", tile, dirs).state == "current"
    (tmp_path / "verilog" / "systolic_tile_r2c3_int8.v").write_text("first\n")
    assert verdict(tmp_path / "tile.json", "tile", tile, dirs).state == "stale"


def test_fabric_verdicts(tmp_path):
    document = fabric_document(tmp_path / "verilog")
    assert verdict(tmp_path / "f.json", "fabric", document,
                   [tmp_path / "verilog"]).state == "current"
    (tmp_path / "verilog" / "fabric_ring5.v").write_text("changed\n")
    result = verdict(tmp_path / "f.json", "fabric", document, [tmp_path / "verilog"])
    assert result.state == "stale" and result.detail.startswith("ring5: Verilog digest")
    assert result.detail.endswith("; make characterize-fabric reruns it")


def test_missing(tmp_path):
    result = missing(tmp_path / "r128c128_verilator.json", "full")
    assert (result.state, result.detail) == (
        "missing", "no such file; make characterize-full writes it")


def test_no_verilog_directory_is_refused(tmp_path, tile):
    with pytest.raises(ValueError, match=r"^Parameter 'verilog_dirs' must name at least one "
                                         r"directory, not \[\]$"):
        verdict(tmp_path / "tile.json", "tile", tile, [])


def test_checked_digest_covers_the_formats():
    """Each characterization format of a floating-point tile (single-row, FP8 double-row)
    checks other operands and programs, and its shapes contract 2R per pass in double-row."""
    config = TileConfig(2, 2, psum_depth=8, formats=("bf16", "fp8_e4m3"))
    formats = stimulus.characterization_formats(config)
    assert [f.name for f in formats] == ["bf16", "fp8e4m3", "fp8e4m3_dr"]
    shapes = {f.name: characterization_shapes(config, f)[:2] for f in formats}
    assert shapes["fp8e4m3_dr"] == [(2, 4, 512), (2, 8, 512)] == \
        [(m, 2 * k, n) for m, k, n in shapes["fp8e4m3"]]
    small = [(2, 3, 8)]
    digests = {tile_checked_digest(config, small, 1, [f]) for f in formats}
    assert len(digests) == 3
