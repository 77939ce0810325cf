"""The scaling report end to end on small characterization files, the claims table, the
workloads file's errors, the command line, the document writer and the report's formatting:
no raw Python value, one unit per quantity family, every gap explained, sources by address,
and report.html fitting a 1400-pixel browser window."""

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from samples import allreduce_run, fabric_document, tile_document
from sim_models.config import TRAINIUM2_FORMATS, TRAINIUM3_FORMATS, TileConfig
from sim_models.program import MatmulFormat
from sim_models.scaling.__main__ import main as cli
from sim_models.scaling.assumptions import Assumptions
from sim_models.scaling.claims import CLAIMS_FILE, ModelContext, claims
from sim_models.scaling.comparisons import compare_all
from sim_models.scaling.document import Document
from sim_models.scaling.formatting import (binary_bytes, compact, number, raw_values, setting, si,
                                           signed_percent)
from sim_models.scaling.gaps import GAPS_FILE, explain, load_gaps
from sim_models.scaling.network import FabricCalibration
from sim_models.scaling.report import build_report, main as report_cli
from sim_models.scaling.summary import Measured, measurements_table
from sim_models.scaling.workloads import WORKLOADS_FILE, load_workloads
from sim_models.results import save
from sim_models.specs import SpecError, load_specs


#: The floating-point tile of the report's fixture: its steady-state GEMMs in BF16 and in FP8
#: double-row mode give the measured MACs per PE per cycle.
FLOAT_TILE = TileConfig(4, 4, psum_banks=2, psum_depth=512, formats=TRAINIUM2_FORMATS)
#: Trainium3's tile in the same file: its steady-state GEMMs in MXFP8 (E4M3FN) give Trainium3's
#: measured MXFP8 rate; in the full-size Trainium3 run, MXFP4's (an 8 x 8 tile standing for it).
TRN3_TILE = TileConfig(8, 8, psum_banks=2, psum_depth=512, formats=TRAINIUM3_FORMATS)


@pytest.fixture(scope="module")
def characterization(tmp_path_factory):
    """Tile, full-size and fabric results files, and the Verilog directory they match."""
    directory = tmp_path_factory.mktemp("characterization")
    verilog = directory / "verilog"
    documents = {
        "tile": tile_document({TileConfig(4, 4): [(4, 16, 64)],
                               TileConfig(8, 8): [(16, 8, 100)]}, verilog),
        "float": tile_document({FLOAT_TILE: [
            (4, 4 * k, 512, matmul_format) for matmul_format in (
                MatmulFormat("bf16", "bf16"), MatmulFormat("fp8_e4m3", "fp8_e4m3", True))
            for k in (2 * matmul_format.rows_per_pe, 4 * matmul_format.rows_per_pe)],
            TRN3_TILE: [(8, k, 512, MatmulFormat("fp8_e4m3fn", "fp8_e4m3fn", mx=True))
                        for k in (64, 128)]},
            verilog),
        "full": tile_document({TileConfig(128, 128): [(128, 256, 512)]}, verilog,
                              date="2026-11-21"),
        "full_float": tile_document(
            {TileConfig(4, 4, formats=TRAINIUM2_FORMATS): [
                (4, 8, 32, MatmulFormat("fp8_e4m3", "fp8_e4m3", True))]}, verilog,
            date="2026-12-01"),
        "full_trn3": tile_document(
            {TRN3_TILE: [(8, k, 512, MatmulFormat("fp4_e2m1", "fp4_e2m1", mx=True))
                         for k in (64, 128)]}, verilog, date="2026-12-07"),
        "fabric": fabric_document(verilog, (allreduce_run(2, 16), allreduce_run(4, 64)))}
    paths = {"verilog": verilog}
    for name, document in documents.items():
        paths[name] = directory / f"{name}.json"
        save(document, paths[name])
    return paths


@pytest.fixture(scope="module")
def report(characterization, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    build_report(characterization["tile"], characterization["float"],
                 characterization["fabric"], out, characterization["full"],
                 [characterization["verilog"]], full_float_path=characterization["full_float"],
                 full_trn3_path=characterization["full_trn3"])
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
    assert "gives exactly the RTL's cycles for 12 of 12" in markdown
    assert "(2026-11-21), current: simulated from today's Verilog" in markdown
    # The floating-point run, per matmul format, against the testbench's cycle model.
    assert "full_float.json, 2026-12-01, current: simulated from today's Verilog" in markdown
    assert re.search(r"^\| fp8_e4m3 double-row \| 1 \| 1/1 \| 10/10 \| yes \| ", markdown,
                     re.MULTILINE)
    # Trainium3's full-size run likewise, MX loads included.
    assert "full_trn3.json, 2026-12-07, current: simulated from today's Verilog" in markdown
    assert re.search(r"^\| fp4_e2m1 MX \| 2 \| 2/2 \| \d+/\d+ \| yes \| ", markdown,
                     re.MULTILINE)


def test_report_takes_trainium2_rates_from_the_rtl(report):
    markdown = (report / "report.md").read_text()
    name = FLOAT_TILE.name
    assert f"| Trainium2 | BF16 | 1 | 1 | {name}: GEMMs (M, K, N) (4, 8, 512) and (4, 16, 512), " \
           f"their cycle difference |" in markdown
    assert f"| Trainium2 | FP8 | 2 | 2 | {name}: GEMMs (M, K, N) (4, 16, 512) and (4, 32, 512)" \
           in markdown
    assert "| Trainium2 | FP16 | - | 1 | not measured: the spec data's value is used |" in markdown


def test_report_takes_trainium3_rates_from_its_own_tile(report):
    markdown = (report / "report.md").read_text()
    assert f"| Trainium3 | MXFP8 | 4 | 4 | {TRN3_TILE.name}: GEMMs (M, K, N) (8, 64, 512) and " \
           f"(8, 128, 512), their cycle difference |" in markdown
    # MXFP4 from the full-size Trainium3 run: every file's GEMM pairs count.
    assert f"| Trainium3 | MXFP4 | 4 | 4 | {TRN3_TILE.name}: GEMMs (M, K, N) (8, 64, 512) and " \
           f"(8, 128, 512), their cycle difference |" in markdown
    # Trainium2's tile measured BF16; Trainium3's did not, and does not borrow Trainium2's.
    assert "| Trainium3 | BF16 | - | 1 | not measured: the spec data's value is used |" \
        in markdown


def test_report_says_input_by_input_whether_it_is_current(report):
    markdown = (report / "report.md").read_text()
    for label, name in (("tile characterization", "tile.json"),
                        ("floating-point tile characterization", "float.json"),
                        ("fabric characterization", "fabric.json"),
                        ("full-size 128 x 128 run", "full.json"),
                        ("full-size 128 x 128 floating-point run", "full_float.json"),
                        ("full-size 128 x 128 Trainium3 run", "full_trn3.json")):
        assert re.search(rf"^\| {label} \| \S*/{name} \| current \| the Verilog of its \d+ "
                         rf"designs? and what (they were|it was) checked against are "
                         rf"today's \|$",
                         markdown, re.MULTILINE), label


def test_report_without_the_full_runs_says_they_are_absent(characterization, tmp_path, capsys):
    absent = tmp_path / "r128c128_verilator.json"
    absent_float = tmp_path / "r128c128_trn2_verilator.json"
    absent_trn3 = tmp_path / "r128c128_trn3_verilator.json"
    assert report_cli(["--tile", str(characterization["tile"]), "--float",
                       str(characterization["float"]), "--fabric",
                       str(characterization["fabric"]), "--full", str(absent), "--full-float",
                       str(absent_float), "--full-trn3", str(absent_trn3), "--verilog",
                       str(characterization["verilog"]),
                       "--out", str(tmp_path / "out")]) == 0
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert f"| full-size 128 x 128 run | {absent} | missing | no such file; make " \
           f"characterize-full writes it |" in markdown
    assert f"| full-size 128 x 128 floating-point run | {absent_float} | missing | no such " \
           f"file; make characterize-full-float writes it |" in markdown
    assert "The full-size 128 x 128 run is absent" in markdown
    assert "The full-size 128 x 128 run of Trainium2's floating-point formats is absent" \
        in markdown
    assert f"| full-size 128 x 128 Trainium3 run | {absent_trn3} | missing | no such file; " \
           f"make characterize-full-trn3 writes it |" in markdown
    assert "The full-size 128 x 128 run of Trainium3's formats is absent" in markdown
    assert "gives exactly the RTL's cycles for 8 of 8" in markdown
    assert f"3 of 6 inputs current; full-size 128 x 128 run ({absent}) missing: no such " \
           f"file" in capsys.readouterr().out


def test_report_on_a_truncated_input_prints_one_line(characterization, tmp_path, capsys):
    truncated = tmp_path / "tile.json"
    truncated.write_text(characterization["tile"].read_text()[:200])
    assert report_cli(["--tile", str(truncated), "--float", str(characterization["float"]),
                       "--fabric", str(characterization["fabric"]),
                       "--verilog", str(characterization["verilog"]),
                       "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert re.fullmatch(rf"error: {truncated}: not JSON, truncated or corrupt \(.*\); make "
                        rf"characterize-tile rebuilds it\n", error)


def test_report_to_an_unwritable_place_prints_one_line(characterization, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert report_cli(["--tile", str(characterization["tile"]), "--float",
                       str(characterization["float"]), "--fabric",
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
    (lambda text: text.replace("vocab = 128256\n", "vocab = 128256\nrouters = 8\n", 1),
     r"^workloads.toml: field 'llama3-8b.routers' is unknown; allowed: name, layers, .*$"),
    (lambda text: text.replace("heads = 32", "heads = 31"),
     r"^workloads.toml: field 'llama3-8b.heads' must divide 'hidden' \(4096\) and be a "
     r"multiple of 'kv_heads' \(8\), not 31$"),
    (lambda text: "x = 3\n" + text,
     r"^workloads.toml: 'x' must be a table \(\[x\]\) of the workload's fields, not 3$"),
    (lambda text: text.replace("[llama3-8b]", "[llama3-8b", 1),
     r"^workloads.toml: is not valid TOML \(Expected ']' at the end of a table declaration "
     r"\(at line \d+, column \d+\)\)$"),
    (lambda text: text.replace("# Transformer", "# \udcff Transformer", 1),
     r"^workloads.toml: is not UTF-8 text \(byte 0xff at offset 2\); TOML files must be "
     r"UTF-8$"),
])
def test_workloads_file_errors(edit, message, tmp_path):
    broken = tmp_path / "workloads.toml"
    broken.write_bytes(edit(WORKLOADS_FILE.read_text()).encode(errors="surrogateescape"))
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
    document.table(["a", "b", "c"], [["x|y", "<z>", "1,234.5"]], numeric=(2,))
    assert "| x\\|y | <z> | 1,234.5 |" in document.markdown()
    assert "<td>&lt;z&gt;</td><td class='num'>1,234.5</td>" in document.html()


@pytest.mark.parametrize("cell", ["-", "12", "-3.5%", "+0.4%", "1,299", "4.500x"])
def test_document_numeric_cells(cell):
    Document("T").table(["n"], [[cell]], numeric=(0,))


def test_document_numeric_cell_with_prose_is_refused():
    # A numeric cell does not wrap (white-space: nowrap): prose there widens the page.
    with pytest.raises(ValueError, match=r"^column 'model' is numeric, not 'not modelled: "
                                         r"no power figure'$"):
        Document("T").table(["model"], [["not modelled: no power figure"]], numeric=(0,))


def test_document_references_link_their_addresses():
    document = Document("T")
    document.references([("K1", "A page", ("https://example.org/a", "https://example.org/b"))])
    assert "- [K1] A page: <https://example.org/a>, <https://example.org/b>" in \
        document.markdown()
    assert "<a href='https://example.org/b'>https://example.org/b</a>" in document.html()


# ---- Formatting: numbers, settings and the scan for raw Python values ----------------------

@pytest.mark.parametrize("value, text", [
    (None, "-"), (6e-07, "0.0000006000"), (1264.0, "1,264"), (83.2, "83.20"),
    (2 ** 70, "1,180,591,620,717,411,303,424"), (0.1 + 0.2, "0.3000"), (-3.0, "-3")])
def test_number(value, text):
    assert number(value) == text


@pytest.mark.parametrize("name, value, text", [
    ("fabric_clock_hz", None, "not set"), ("dma_step_seconds", 6e-07, "600 ns"),
    ("overlap_with_backward", True, "yes"), ("overlap_with_backward", False, "no"),
    ("fabric_clock_hz", 1.4e9, "1.400 GHz"), ("gradient_bytes_per_parameter", 2.0,
                                              "2 B per parameter"),
    ("optimizer_flops_per_parameter", 12.0, "12 FLOP per parameter"),
    ("activation_bytes_per_element", 34.0, "34 B per element"), ("hbm_efficiency", 0.9, "90.0%"),
    ("switch_hops", 2, "2"), ("training_datatype", "bf16", "bf16"),
    ("sbuf_reserve_bytes", 2 ** 21, "2 MiB"), ("unfused_attention_chips", ("trn1",), "trn1"),
    ("unfused_attention_chips", ("trn1", "trn2"), "trn1, trn2"),
    ("unfused_attention_chips", (), "none")])
def test_setting(name, value, text):
    assert setting(name, value) == text


@pytest.mark.parametrize("value, text", [
    (None, "-"), (80e9, "74.51 GiB"), (96 * 2 ** 30, "96 GiB"), (1008 * 2 ** 20, "1,008 MiB"),
    (512, "512 B")])
def test_bytes_are_printed_in_binary_units(value, text):
    assert binary_bytes(value) == text


def test_si_signed_percent_and_compact():
    assert si(2.5e15, "FLOP/s") == "2.500 PFLOP/s" and si(6e-7, "s") == "600 ns"
    assert [signed_percent(v) for v in (0.042, -0.003, -0.00001, None)] == \
        ["+4.2%", "-0.3%", "0.0%", "-"]
    assert compact(0.035) == "0.035" and compact(35.0) == "35"


def test_raw_values_finds_every_kind():
    text = "a None\nb 6e-07 c 1.5E+3\nTrue False nan inf\ninflation, Nonesuch, 1.2.3e4x"
    assert raw_values(text) == [(1, "None"), (2, "6e-07"), (2, "1.5E+3"), (3, "True"),
                                (3, "False"), (3, "nan"), (3, "inf")]


def test_report_has_no_raw_python_values(report):
    for name in ("report.md", "report.html"):
        assert raw_values((report / name).read_text()) == [], name


def _tables(markdown):
    """Every Markdown table of ``markdown``: (header cells, rows of cells)."""
    tables, current = [], None
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
            if current is None:
                current = (cells, [])
                tables.append(current)
            elif not set(line) <= set("|-: "):
                current[1].append(cells)
        else:
            current = None
    return tables


def test_report_tables_use_one_unit_per_quantity_family(report):
    # Units stand in the headers and the unit columns; claim quotes and prose are the articles'.
    families = {"FLOP/s": re.compile(r"\b([TPE]FLOP/?S?|[TPE]FLOP/s)\b"),
                "bytes": re.compile(r"\b(GB|TB|GiB|TiB)\b(?!/)")}
    tables = _tables((report / "report.md").read_text())
    assert len(tables) > 10
    for headers, rows in tables:
        units = " ".join(headers + [row[index] for row in rows
                                    for index, name in enumerate(headers) if name == "unit"])
        assert len(set(families["FLOP/s"].findall(units))) <= 1, headers
        found = set(families["bytes"].findall(units))
        assert not (found & {"GB", "TB"} and found & {"GiB", "TiB"}), headers


def test_report_explains_every_row_of_the_comparison_tables(report):
    explained = [(headers, rows) for headers, rows in _tables((report / "report.md").read_text())
                 if headers[-1].startswith("explanation")]
    # The summary's peaks and AWS's measurements, the claims, and the chips' and systems'
    # published figures.
    assert len(explained) == 5
    for headers, rows in explained:
        for row in rows:
            assert len(row[-1]) > 20, (headers[1], row)


def test_report_cites_every_source_by_address(report):
    markdown = (report / "report.md").read_text()
    sources = markdown[markdown.index("## Sources"):]
    for key, source in load_specs().sources.items():
        assert f"- [{key}] {source.cite}: <{source.urls[0]}>" in sources
    assert "shared/" not in markdown and "trainium.md" not in markdown


def test_answers_then_summary_with_peaks_measurements_and_what_is_left_out(report):
    headings = re.findall(r"^#{2,3} (.*)$", (report / "report.md").read_text(), re.MULTILINE)
    assert headings[:6] == ["Answers: Trainium2 and Trainium3",
                            "Training Llama-3 70B, BF16, in the layout the model picks",
                            "Inference Llama-3 70B, BF16, batch 1, 8,192-token prompt and "
                            "context", "Peaks", "How sure these answers are", "Summary"]
    assert headings[5:10] == ["Summary", "Peaks against AWS's figures",
                            "MACs per PE per cycle: measured on the RTL",
                            "Training and decode against AWS's measurements",
                            "What is not modelled"]


# ---- Every gap explained --------------------------------------------------------------------

def _comparison(key):
    return next(c for c in compare_all(load_specs()) if c.figure.key == key)


def test_gap_rules():
    gaps = load_gaps()
    assert explain(_comparison("trn2-chip-hbm-capacity"), gaps, "GiB", 2 ** 30) == \
        "A spec input: the row only confirms the data."
    assert explain(_comparison("trn2-core-fp32"), gaps, "TFLOP/s", 1e12) == \
        "The published figure is the model's 19.66 rounded to 1 significant digit."
    assert explain(_comparison("trn2-chip-fp8"), gaps, "TFLOP/s", 1e12).startswith(
        "AWS's figure is 35 TFLOP/s above its per-core figure multiplied out: the gap")
    # A gap no rule explains takes its sentence from gaps.toml.
    assert explain(_comparison("trn3-chip-hbm-bandwidth-nki"), gaps, "TB/s", 1e12) == \
        gaps["trn3-chip-hbm-bandwidth-nki"]


def test_an_unexplained_gap_is_refused():
    comparison = _comparison("trn3-chip-hbm-bandwidth-nki")
    with pytest.raises(SpecError, match=r"^gaps.toml: figure 'trn3-chip-hbm-bandwidth-nki' is "
                                        r"\+4.3% off the model and no rule explains it: add a "
                                        r"sentence for it$"):
        explain(comparison, {}, "TB/s", 1e12)
    with pytest.raises(SpecError, match=r"^gaps.toml: figure 'h100-chip-sparse' has no model "
                                        r"value and no explanation: add a sentence for it$"):
        explain(_comparison("h100-chip-sparse"), {}, "TFLOP/s", 1e12)


def test_gaps_file_errors(tmp_path):
    broken = tmp_path / "gaps.toml"
    broken.write_text(GAPS_FILE.read_text() + "trn2-chip-fp8 = 3\n")
    with pytest.raises(SpecError, match=r"^gaps.toml: field 'trn2-chip-fp8' must be a "
                                        r"non-empty sentence, not 3$"):
        load_gaps(broken)


def test_measurements_table_shows_error_role_and_explanation():
    document = Document("T")
    measurements_table(document, [
        Measured("Llama-3.1-8B training, 512 Trn1 chips, TP32 DP32", 800.0, 767.0,
                 "tokens/s per chip", "calibration", "B1", "fitted on this row"),
        Measured("Llama-3-70B decode, batch 1", 20.0, 24.48, "ms per token", "validation",
                 "B2", "HBM bound; launch overhead not modelled")])
    assert "| Llama-3.1-8B training, 512 Trn1 chips, TP32 DP32 [B1] | tokens/s per chip | " \
           "800 | 767 | +4.3% | calibration | fitted on this row |" in document.markdown()
    assert "| 20 | 24.48 | -18.3% | validation |" in document.markdown()


@pytest.mark.parametrize("change, message", [
    ({"role": "fit"}, r"^measurement 'r': role must be one of calibration, validation, not "
                      r"'fit'$"),
    ({"explanation": " "}, r"^measurement 'r': the gap needs an explanation$"),
])
def test_measurements_table_refuses_a_bad_row(change, message):
    row = replace(Measured("r", 1.0, 2.0, "u", "validation", "B", "why"), **change)
    with pytest.raises(ValueError, match=message):
        measurements_table(Document("T"), [row])


def test_a_modelled_multiplier_needs_an_explanation(tmp_path):
    context = ModelContext(load_specs(), load_workloads(), FabricCalibration.from_estimate(),
                           Assumptions(), ())
    text = _without_c12(CLAIMS_FILE.read_text(), tmp_path).read_text()
    start = text.index('metric = "trn3_vs_trn2_bf16"')
    end = text.index("\n\n", start)
    broken = tmp_path / "broken.toml"
    broken.write_text(text[:start] + 'metric = "trn3_vs_trn2_bf16"' + text[end:])
    with pytest.raises(SpecError, match=r"^claims.toml: field 'C8.ratios.explanation' is "
                                        r"missing for 'BF16 dense peak per chip': every "
                                        r"modelled multiplier says why it is what it is$"):
        claims(context, broken)


# ---- report.html in a real browser ----------------------------------------------------------

#: The windows an architect reads the report in: a desktop's, and a narrow one (a laptop's
#: half screen); screenshots go to SCREENSHOTS for a human to look at.
WINDOWS = ((1400, 900), (800, 900))
SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "report-browser"
#: Per table of the page: its box's width, the table's full width, and the top of its box (px).
_TABLE_BOXES = """return Array.from(document.querySelectorAll('div.table')).map(box => [
    box.clientWidth, box.scrollWidth, box.getBoundingClientRect().top,
    box.previousElementSibling ? box.previousElementSibling.textContent : ''])"""


@pytest.mark.parametrize("window", WINDOWS, ids=lambda window: f"{window[0]}px")
def test_report_fits_the_browser_window_and_opens_with_the_answers(report, window):
    """Debian's Chromium (chromium, chromium-driver; make deps installs them) loads report.html
    at 1400 x 900 and 800 x 900: the page never scrolls sideways (a table wider than the page
    scrolls in its own box), the first screen's tables fit without scrolling, and the first
    screen shows the training answers. Screenshots of the top and of the claims table go to
    build/report-browser/."""
    from selenium import webdriver

    browser, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert browser and driver_path, "Chromium or its driver is missing: make deps installs " \
                                    "the Debian packages chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", f"--window-size={window[0]},{window[1]}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=driver_path))
    try:
        driver.set_window_size(*window)
        driver.get((report / "report.html").as_uri())
        width, scroll = driver.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]")
        boxes = driver.execute_script(_TABLE_BOXES)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / f"top_{window[0]}.png"))
        driver.execute_script("document.evaluate(\"//h2[text()='Claims C1-C12']\", document, "
                              "null, 9, null).singleNodeValue.scrollIntoView()")
        driver.save_screenshot(str(SCREENSHOTS / f"claims_{window[0]}.png"))
    finally:
        driver.quit()
    assert width == window[0]
    assert scroll <= width, f"report.html is {scroll} px wide in a {width}-px window"
    first_screen = boxes[:3]
    assert [heading.split(" ")[0] for *_, heading in first_screen] == \
        ["Training", "Inference", "Peaks"]
    for box_width, table_width, _, heading in first_screen:
        assert table_width <= box_width, f"{heading!r}: {table_width} px in a {box_width}-px box"
    assert first_screen[0][2] < window[1], "the training answers are below the first screen"


# ---- The first screen -----------------------------------------------------------------------

def test_first_screen_gives_each_answer_with_its_range_and_marker(report):
    """Training and inference answers for every first-screen system, each with its likely range
    (or "no band") and an extrapolation marker, explained below the tables."""
    from sim_models.scaling.report.runs import ANSWER_SYSTEMS

    markdown = (report / "report.md").read_text()
    training, inference, peaks = _tables(markdown)[:3]
    names = [load_specs().system(key).name for key in ANSWER_SYSTEMS]
    for headers, rows in (training, inference, peaks):
        assert [row[0] for row in rows] == names
    assert training[0] == ["system", "chips", "tokens/s per chip", "likely range", "MFU",
                           "likely range", "extrapolated"]
    for table in (training, inference):
        for row in table[1]:
            assert row[-1] in ("yes", "no")
            ranges = [cell for header, cell in zip(table[0], row) if "likely range" in header]
            assert all(re.fullmatch(r"[\d,.]+%? to [\d,.]+%?|no band|not modelled|-", cell)
                       for cell in ranges), row
    answers = markdown[markdown.index("### How sure these answers are"):
                       markdown.index("## Summary")]
    assert "held-out" in answers and "extrapolated: no measurement of this kind (trn3" in answers


def test_a_band_gives_the_range_the_published_figure_would_lie_in():
    from sim_models.scaling.confidence import Answer, Band
    from sim_models.scaling.report.first_screen import _range

    band = Band("decode", "trn2", True, (("a", -0.2), ("b", 0.25)))
    answer = Answer("time per output token", 0.010, "s", "decode", "trn2", band, False, ())
    # A model 25% high means the published figure is value / 1.25; 20% low, value / 0.8.
    assert _range(answer, 1e3) == "8 to 12.5"
    assert _range(Answer("MFU", 0.5, "", "training", "trn3", None, False, ("none",))) == \
        "no band"


def test_an_integer_tile_given_as_the_float_tile_stops_the_report(characterization, tmp_path,
                                                                   capsys):
    assert report_cli(["--tile", str(characterization["tile"]), "--float",
                       str(characterization["tile"]), "--fabric",
                       str(characterization["fabric"]), "--verilog",
                       str(characterization["verilog"]), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"error: --float {characterization['tile']}: holds no GEMM pair to measure a "
        f"floating-point MACs per PE per cycle from; allowed: a floating-point tile "
        f"characterization (make characterize-tile writes one)\n")
    assert not (tmp_path / "out" / "report.md").exists()


def test_ctrl_c_stops_the_report_in_one_line(characterization, tmp_path, capsys, monkeypatch):
    from sim_models.scaling.report import cli as report_cli_module

    def interrupted(*args, **options):
        raise KeyboardInterrupt
    monkeypatch.setattr(report_cli_module, "build_report", interrupted)
    assert report_cli(["--tile", "t", "--float", "f", "--fabric", "b", "--out",
                       str(tmp_path / "out")]) == 130
    assert capsys.readouterr().err == "interrupted: the report was not written; rerun to make it\n"
