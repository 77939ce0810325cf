"""Results files as typed data: round trips, atomic saves, and one line for every way a file
can be unusable (missing, truncated, foreign, inconsistent), also from the command line."""

import json
import re
from dataclasses import replace

import pytest

from samples import fabric_document, tile_document
from sim_models.config import TileConfig
from sim_models.results import (KINDS, FabricCharacterization, ModelBuild, ResultsError,
                                TileCharacterization, load, save)
from sim_models.results.__main__ import main

GEMMS = {TileConfig(4, 4): [(4, 4, 8), (4, 8, 8)], TileConfig(2, 3): [(3, 2, 5)]}


@pytest.fixture
def tile_file(tmp_path):
    path = tmp_path / "tile.json"
    save(tile_document(GEMMS, tmp_path / "verilog"), path)
    return path


def _edit(path, change):
    """Rewrite the JSON of ``path`` with ``change`` applied to its parsed content."""
    content = json.loads(path.read_text())
    change(content)
    path.write_text(json.dumps(content))


def _one_line(path, problem, target="characterize-tile", remedy="rebuilds it"):
    """The pattern of a loader message: file, problem (a regex), make target."""
    return rf"^{re.escape(str(path))}: {problem}; make {target} {remedy}$"


def test_tile_round_trip(tmp_path, tile_file):
    document = load(tile_file, "tile")
    assert document == tile_document(GEMMS, tmp_path / "verilog")
    assert json.loads(tile_file.read_text())["schema"] == "tile-characterization/2"
    assert document.shapes("r4c4_int8") == [(4, 4, 8), (4, 8, 8)]


def test_dated_full_run_round_trip(tmp_path):
    document = replace(tile_document(GEMMS, tmp_path), date="2026-11-21T22:44:53+00:00",
                       builds={"r4c4_int8": ModelBuild(646.34, 154.071, 492.27,
                                                       ("--hierarchical",))})
    save(document, tmp_path / "full.json")
    assert load(tmp_path / "full.json", "full") == document


def test_fabric_round_trip(tmp_path):
    document = fabric_document(tmp_path / "verilog")
    save(document, tmp_path / "fabric.json")
    assert load(tmp_path / "fabric.json", "fabric") == document


def test_save_replaces_atomically(tmp_path, tile_file, monkeypatch):
    before = tile_file.read_text()

    def interrupted(source, target):
        raise OSError(28, "No space left on device", str(target))
    monkeypatch.setattr("sim_models.files.os.replace", interrupted)
    with pytest.raises(ResultsError, match=rf"^cannot write {re.escape(str(tile_file))}: "
                                           rf"No space left on device$"):
        save(replace(load(tile_file, "tile"), seed=2), tile_file)
    assert tile_file.read_text() == before
    assert [path.name for path in tile_file.parent.iterdir() if path.is_file()] == ["tile.json"]


def test_missing(tmp_path):
    with pytest.raises(ResultsError, match=_one_line(tmp_path / "tile.json", "no such file",
                                                     remedy="writes it")):
        load(tmp_path / "tile.json", "tile")


@pytest.mark.parametrize("cut", [0, 1, 100, -2])
def test_truncated(tile_file, cut):
    tile_file.write_text(tile_file.read_text()[:cut])
    with pytest.raises(ResultsError, match=_one_line(
            tile_file, r"not JSON, truncated or corrupt \([^)]*: line \d+ column \d+\)")):
        load(tile_file, "tile")


def test_not_text(tile_file):
    tile_file.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ResultsError, match=_one_line(tile_file, "not text: corrupt")):
        load(tile_file, "tile")


def test_empty_object(tile_file):
    tile_file.write_text("{}")
    with pytest.raises(ResultsError, match=_one_line(
            tile_file, r"field 'schema' is missing: not a results file of schema "
                       r"tile-characterization/2")):
        load(tile_file, "tile")


def test_not_an_object(tile_file):
    tile_file.write_text("[1, 2]")
    with pytest.raises(ResultsError, match=_one_line(
            tile_file, "holds a list, not an object with schema tile-characterization/2")):
        load(tile_file, "tile")


def test_old_schema_is_foreign(tile_file):
    _edit(tile_file, lambda content: content.update(schema=1))
    with pytest.raises(ResultsError, match=_one_line(
            tile_file, "schema 1 is foreign: this version reads tile-characterization/2")):
        load(tile_file, "tile")


def test_fabric_file_given_as_tile_is_foreign(tmp_path):
    save(fabric_document(tmp_path), tmp_path / "fabric.json")
    with pytest.raises(ResultsError, match=_one_line(
            tmp_path / "fabric.json", "schema 'fabric-characterization/3' is foreign: this "
                                      "version reads tile-characterization/2")):
        load(tmp_path / "fabric.json", "tile")


@pytest.mark.parametrize("digest, shown", [("0" * 64, "0" * 64), ("d", "d"),
                                           ("AB" * 32, "AB" * 32), ("g" * 64, "g" * 64)])
def test_malformed_or_all_zero_digest(tile_file, digest, shown):
    _edit(tile_file, lambda content: content["designs"][1].update(verilog_sha256=digest))
    with pytest.raises(ResultsError, match=_one_line(
            tile_file, rf"inconsistent: designs\[1\]: field 'verilog_sha256' must be a SHA-256 "
                       rf"digest, 64 hex digits not all zero, not '{shown}'")):
        load(tile_file, "tile")


@pytest.mark.parametrize("change, problem", [
    (lambda c: c["runs"][2].pop("rtl_cycles"), r"field 'runs\[2\].rtl_cycles' is missing"),
    (lambda c: c["runs"][0].update(rtl_cycles="12"),
     r"field 'runs\[0\].rtl_cycles' must be an integer, not a string \(\"12\"\)"),
    (lambda c: c["runs"][0].update(m=True),
     r"field 'runs\[0\].m' must be an integer, not a boolean \(true\)"),
    (lambda c: c["runs"][0].update(bit_exact=1),
     r"field 'runs\[0\].bit_exact' must be true or false, not a number \(1\)"),
    (lambda c: c.update(runs={}), r"field 'runs' must be a list, not an object \(\{\}\)"),
    (lambda c: c.pop("designs"), r"field 'designs' is missing"),
    (lambda c: c.update(extra=1), r"field 'extra' is unknown"),
    (lambda c: c["runs"][0].update(config="r9c9_int8"),
     r"field 'runs\[0\].config' must name a design \(r4c4_int8, r2c3_int8\), "
     r"not 'r9c9_int8'"),
    (lambda c: c["runs"][0].update(rows=8),
     r"field 'runs\[0\]': rows, cols, psum_banks, psum_depth must be those of r4c4_int8, "
     r"\(4, 4, 8, 512\)"),
    (lambda c: c["runs"][0].update(macs=1),
     r"runs\[0\]: field 'macs' must be m \* k \* n = 128, not 1"),
    (lambda c: c["designs"][0].update(top="systolic_tile_r8c8_int8"),
     r"designs\[0\]: field 'top' must be 'systolic_tile_r4c4_int8' for the configuration "
     r"r4c4_int8, not 'systolic_tile_r8c8_int8'"),
    (lambda c: c["designs"][0]["config"].update(rows=0),
     r"designs\[0\]: field 'config': Parameter 'rows' must be an integer in 1\.\.128, not 0"),
    (lambda c: c.update(designs=[]),
     r"field 'designs' is empty: the file names no simulated design"),
    (lambda c: c.update(runs=c["runs"][:2]), r"field 'runs' has no run of the design r2c3_int8"),
    # A record that contradicts how runs are recorded (only after every check passed).
    (lambda c: c["runs"][0].update(bit_exact=False),
     r"runs\[0\]: field 'bit_exact' must be true: a run is recorded only when every result "
     r"element matched the golden model"),
    (lambda c: c["runs"][1].update(rtl_cycles=c["runs"][1]["rtl_cycles"] + 7),
     r"runs\[1\]: field 'rtl_cycles' is \d+ but 'model_cycles' is \d+: a run is recorded only "
     r"when the RTL took the cycle model's cycles"),
    (lambda c: c["runs"][0].update(handshakes_matching=c["runs"][0]["handshakes_checked"] - 1),
     r"runs\[0\]: field 'handshakes_matching' is \d+ of \d+: a run is recorded only when every "
     r"handshake was where the cycle model put it"),
])
def test_inconsistent_content(tile_file, change, problem):
    _edit(tile_file, change)
    with pytest.raises(ResultsError, match=_one_line(tile_file, f"inconsistent: {problem}")):
        load(tile_file, "tile")


def test_full_run_must_be_dated(tile_file):
    with pytest.raises(ResultsError, match=_one_line(
            tile_file, "inconsistent: field 'date' is missing: a full-size run is dated",
            target="characterize-full")):
        load(tile_file, "full")


#: A collective fit, or a run's fit fields, edited by hand.
_TAMPERED = (r"series ring/allreduce/ring/int32: the fit or the runs' held-out flags and model "
             r"cycles are not what the runs give")


@pytest.mark.parametrize("change, problem", [
    (lambda c: c["allreduce"][0].update(nodes=5),
     r"field 'allreduce\[0\]' \(5 nodes, 16 elements\) names no all-reduce design"),
    (lambda c: c["fits"][0].update(alpha_cycles=1.0), _TAMPERED),
    (lambda c: c["collectives"][0].update(held_out=True),
     _TAMPERED),
    (lambda c: c["collectives"][0].update(rtl_cycles=c["collectives"][0]["rtl_cycles"] + 9),
     _TAMPERED),
    (lambda c: c["collectives"][-1].update(design="torus9x9_c3"),
     r"field 'collectives\[14\].design' \('torus9x9_c3'\) names no AllToAllConfig design"),
    (lambda c: c["collectives"][0].update(topology="mesh"),
     r"collectives\[0\]: field 'topology' must be one of ring, torus2d, torus3d, switch, "
     r"not 'mesh'"),
    (lambda c: c["fits"].pop(1), r"series torus3d/alltoall/direct/word32: no fit"),
    (lambda c: c["collectives"][0].update(algorithm="dimension-wise"),
     r"collectives\[0\]: field 'topology' of a dimension-wise run must be one of torus2d, "
     r"torus3d, not 'ring'"),
    (lambda c: c.update(fits=c["fits"][1:], collectives=c["collectives"][9:]),
     r"field 'fits' has no ring all-reduce fit: the scaling layer needs one"),
    (lambda c: c["link_efficiency"][0].update(fabric="torus4x4"),
     r"fabric 'torus4x4' of a measurement names no fabric design"),
    (lambda c: c.update(allreduce=[]), r"field 'allreduce' is empty"),
    (lambda c: c["hop_latency"].pop("points"), r"field 'hop_latency.points' is missing"),
])
def test_inconsistent_fabric(tmp_path, change, problem):
    path = tmp_path / "fabric.json"
    save(fabric_document(tmp_path), path)
    _edit(path, change)
    with pytest.raises(ResultsError, match=_one_line(path, f"inconsistent: {problem}",
                                                     target="characterize-fabric")):
        load(path, "fabric")


def test_every_kind_names_its_document_and_target():
    assert {name: (kind.document, kind.target) for name, kind in KINDS.items()} == {
        "tile": (TileCharacterization, "characterize-tile"),
        "float": (TileCharacterization, "characterize-tile"),
        "full": (TileCharacterization, "characterize-full"),
        "full_float": (TileCharacterization, "characterize-full-float"),
        "full_trn3": (TileCharacterization, "characterize-full-trn3"),
        "fabric": (FabricCharacterization, "characterize-fabric")}


def test_check_command_line(tile_file, capsys):
    assert main(["check", "tile", str(tile_file)]) == 0
    assert capsys.readouterr() == ("", "")
    tile_file.write_text("{")
    assert main(["check", "tile", str(tile_file)]) == 1
    line = capsys.readouterr().err
    assert re.fullmatch(_one_line(tile_file, r"not JSON, truncated or corrupt \(.*\)")[:-1] +
                        r"\n$", line)
    assert tile_file.exists()
    assert main(["check", "tile", str(tile_file), "--remove"]) == 1
    assert capsys.readouterr().err == line.replace("\n", " (removed)\n")
    assert not tile_file.exists()
    assert main(["check", "tile", str(tile_file), "--remove"]) == 1
    assert capsys.readouterr().err.endswith(": no such file; make characterize-tile writes it\n")
