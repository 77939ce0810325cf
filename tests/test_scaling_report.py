"""The scaling report end to end on small characterization files, the claims table, the
workloads file's errors, the command line and the document writer."""

import re

import pytest

from samples import allreduce_run, fabric_document, tile_document
from sim_models.config import TileConfig
from sim_models.scaling.__main__ import main as cli
from sim_models.scaling.assumptions import Assumptions
from sim_models.scaling.claims import CLAIMS_FILE, ModelContext, claims
from sim_models.scaling.document import Document
from sim_models.scaling.network import FabricCalibration
from sim_models.scaling.report import build_report, main as report_cli
from sim_models.scaling.workloads import WORKLOADS_FILE, load_workloads
from sim_models.results import save
from sim_models.specs import SpecError, load_specs


@pytest.fixture(scope="module")
def characterization(tmp_path_factory):
    """Tile, full-size and fabric results files, and the Verilog directory they match."""
    directory = tmp_path_factory.mktemp("characterization")
    verilog = directory / "verilog"
    documents = {
        "tile": tile_document({TileConfig(4, 4): [(4, 16, 64)],
                               TileConfig(8, 8): [(16, 8, 100)]}, verilog),
        "full": tile_document({TileConfig(128, 128): [(128, 256, 512)]}, verilog,
                              date="2026-11-21"),
        "fabric": fabric_document(verilog, (allreduce_run(2, 16), allreduce_run(4, 64)))}
    paths = {"verilog": verilog}
    for name, document in documents.items():
        paths[name] = directory / f"{name}.json"
        save(document, paths[name])
    return paths


@pytest.fixture(scope="module")
def report(characterization, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    build_report(characterization["tile"], characterization["fabric"], out,
                 characterization["full"], [characterization["verilog"]])
    return out


def test_report_answers_every_claim_and_draws_its_plots(report):
    markdown = (report / "report.md").read_text()
    for claim in range(1, 13):
        assert re.search(rf"^\| C{claim} \|", markdown, re.MULTILINE), f"C{claim} missing"
    for plot in ("roofline", "utilization", "scaling", "trn2_vs_trn3", "model_vs_rtl"):
        assert (report / f"{plot}.png").stat().st_size > 10_000
        assert f"({plot}.png)" in markdown
    assert "<table>" in (report / "report.html").read_text()
    # Every recorded run is reproduced by the model path; the full run is current.
    assert "gives exactly the RTL's cycles for 3 of 3" in markdown
    assert "(2026-11-21), current: simulated from today's Verilog" in markdown


def test_report_says_input_by_input_whether_it_is_current(report):
    markdown = (report / "report.md").read_text()
    for label, name in (("tile characterization", "tile.json"),
                        ("fabric characterization", "fabric.json"),
                        ("full-size 128 x 128 run", "full.json")):
        assert re.search(rf"^\| {label} \| \S*/{name} \| current \| the Verilog of its \d+ "
                         rf"designs? and what (they were|it was) checked against are "
                         rf"today's \|$",
                         markdown, re.MULTILINE), label


def test_report_without_the_full_run_says_it_is_absent(characterization, tmp_path, capsys):
    absent = tmp_path / "r128c128_verilator.json"
    assert report_cli(["--tile", str(characterization["tile"]), "--fabric",
                       str(characterization["fabric"]), "--full", str(absent), "--verilog",
                       str(characterization["verilog"]), "--out", str(tmp_path / "out")]) == 0
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert f"| full-size 128 x 128 run | {absent} | missing | no such file; make " \
           f"characterize-full writes it |" in markdown
    assert "The full-size 128 x 128 run is absent" in markdown
    assert "gives exactly the RTL's cycles for 2 of 2" in markdown
    assert f"full-size 128 x 128 run, {absent}: missing" in capsys.readouterr().out


def test_report_on_a_truncated_input_prints_one_line(characterization, tmp_path, capsys):
    truncated = tmp_path / "tile.json"
    truncated.write_text(characterization["tile"].read_text()[:200])
    assert report_cli(["--tile", str(truncated), "--fabric", str(characterization["fabric"]),
                       "--verilog", str(characterization["verilog"]),
                       "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert re.fullmatch(rf"error: {truncated}: not JSON, truncated or corrupt \(.*\); make "
                        rf"characterize-tile rebuilds it\n", error)


def test_report_to_an_unwritable_place_prints_one_line(characterization, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert report_cli(["--tile", str(characterization["tile"]), "--fabric",
                       str(characterization["fabric"]), "--verilog",
                       str(characterization["verilog"]), "--out", str(blocker / "out")]) == 1
    assert capsys.readouterr().err == (f"error: cannot write the report to {blocker / 'out'}: "
                                       f"Not a directory\n")


def _without_c12(text, tmp_path):
    """A claims file of ``text`` without claim C12, which needs RTL runs."""
    path = tmp_path / "claims.toml"
    path.write_text(re.sub(r"\n\[C12\].*", "\n", text, flags=re.DOTALL))
    return path


def test_claims_are_computed_for_every_metric(characterization, tmp_path):
    specs = load_specs()
    context = ModelContext(specs, load_workloads(),
                           FabricCalibration.from_results(characterization["fabric"]),
                           Assumptions(), ())
    found = {claim.key: claim
             for claim in claims(context, _without_c12(CLAIMS_FILE.read_text(), tmp_path))}
    assert list(found) == [f"C{index}" for index in range(1, 12)]
    # C8: 2x holds for MXFP8 against FP8, and BF16 stays 1x.
    assert [check.model for check in found["C8"].ratios[:2]] == pytest.approx([2.0, 1.0])


@pytest.mark.parametrize("edit, message", [
    (lambda text: text.replace('"trn2-chip-fp8",', '"trn2-chip-fp9",', 1),
     r"^claims.toml: field 'C1.figures' names no published figure: 'trn2-chip-fp9'$"),
    (lambda text: text.replace('metric = "trn2_vs_trn1_training"', 'metric = "speed"'),
     r"^claims.toml: field 'C6.ratios.metric' must be one of .*, unmodelled, not 'speed'$"),
])
def test_claims_file_errors(edit, message, tmp_path):
    context = ModelContext(load_specs(), load_workloads(), FabricCalibration.from_estimate(),
                           Assumptions(), ())
    broken = _without_c12(edit(CLAIMS_FILE.read_text()), tmp_path)
    with pytest.raises(SpecError, match=message):
        claims(context, broken)


@pytest.mark.parametrize("edit, message", [
    (lambda text: text.replace("layers = 32\n", "", 1),
     r"^workloads.toml: field 'llama3-8b.layers' is missing$"),
    (lambda text: text.replace("ffn = 14336", "ffn = 0"),
     r"^workloads.toml: field 'llama3-8b.ffn' must be a positive integer, not 0$"),
    (lambda text: text.replace("vocab = 128256\n", "vocab = 128256\nexperts = 8\n", 1),
     r"^workloads.toml: field 'llama3-8b.experts' is unknown; allowed: name, layers, .*$"),
    (lambda text: text.replace("heads = 32", "heads = 31"),
     r"^workloads.toml: field 'llama3-8b.heads' must divide 'hidden' \(4096\) and be a "
     r"multiple of 'kv_heads' \(8\), not 31$"),
])
def test_workloads_file_errors(edit, message, tmp_path):
    broken = tmp_path / "workloads.toml"
    broken.write_text(edit(WORKLOADS_FILE.read_text()))
    with pytest.raises(SpecError, match=message):
        load_workloads(broken)


def test_workload_parameters():
    # Llama-3 8B: 32 layers of 4096 hidden, 14336 FFN, 8 KV heads, plus a 128256-word head.
    model = load_workloads()["llama3-8b"]
    layer = 4096 * (4096 + 2 * 1024) + 4096 * 4096 + 3 * 4096 * 14336
    assert model.parameters == 32 * layer + 128256 * 4096


def test_command_line(capsys):
    # The bad values are in tests/test_scaling_cli.py; here the text answer's lines.
    assert cli(["--system", "trn2-instance", "--workload", "llama3-8b", "--batch", "4"]) == 0
    output = capsys.readouterr().out
    assert "fp8    20.13 PFLOP/s" in output and ", batch 4, context 8192, bf16" in output
    assert "training llama3-8b: TP " in output and "collectives calibrated from: " in output


def test_document_escapes_tables():
    document = Document("T")
    document.table(["a", "b"], [["x|y", "<z>"]], numeric=(1,))
    assert "| x\\|y | <z> |" in document.markdown()
    assert "<td class='num'>&lt;z&gt;</td>" in document.html()
