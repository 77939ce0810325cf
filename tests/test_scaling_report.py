"""The scaling report end to end on small characterization files, the claims table, the
workloads file's errors, the command line and the document writer."""

import json
import re

import numpy as np
import pytest

from sim_models.config import TileConfig
from sim_models.allreduce import AllReduceEstimate
from sim_models.cycle_model import time_program
from sim_models.scaling.__main__ import main as cli
from sim_models.scaling.assumptions import Assumptions
from sim_models.scaling.claims import CLAIMS_FILE, ModelContext, claims
from sim_models.scaling.document import Document
from sim_models.scaling.network import FabricCalibration
from sim_models.scaling.report import build_report
from sim_models.scaling.workloads import WORKLOADS_FILE, load_workloads
from sim_models.specs import SpecError, load_specs
from sim_models.tiler import tile_gemm


def _tile_run(config, m, k, n):
    """A characterization record as tb.characterize_tile writes it, timed by the cycle model
    (the report recomputes the cycles through its own path and must agree)."""
    zeros = lambda rows, cols: np.broadcast_to(np.int8(0), (rows, cols))  # noqa: E731
    cycles = time_program(config, tile_gemm(config, zeros(k, m), zeros(k, n)).program)
    return {"config": config.name, "rows": config.rows, "cols": config.cols,
            "psum_banks": config.psum_banks, "psum_depth": config.psum_depth, "sim": "model",
            "m": m, "k": k, "n": n, "macs": m * k * n, "rtl_cycles": cycles.total_cycles,
            "model_cycles": cycles.total_cycles, "handshakes_checked": 10,
            "handshakes_matching": 10, "bit_exact": True}


@pytest.fixture(scope="module")
def characterization(tmp_path_factory):
    directory = tmp_path_factory.mktemp("characterization")
    tile = {"schema": 1, "inputs_digest": "d", "runs": [
        _tile_run(TileConfig(4, 4), 4, 16, 64), _tile_run(TileConfig(8, 8), 16, 8, 100)]}
    full = {"schema": 1, "inputs_digest": "d", "date": "2026-11-21",
            "runs": [_tile_run(TileConfig(128, 128), 128, 256, 512)]}
    allreduce = []
    for nodes, length in ((2, 16), (4, 64)):
        estimate = AllReduceEstimate(nodes, length)
        local = 2 * length + 1
        allreduce.append({"nodes": nodes, "length": length, "elements_per_flit": 1,
                          "rtl_cycles": estimate.cycles(), "estimate_cycles": estimate.cycles(),
                          "local_cycles": local, "alpha_beta_cycles": estimate.cycles() - local})
    fabric = {"schema": 1, "simulator": "icarus",
              "hop_latency": {"per_hop_cycles": 2.0, "base_cycles": 2.0, "points": []},
              "link_efficiency": [{"fabric": "ring5", "pattern": "saturation",
                                   "flits_per_cycle_per_link": 0.8, "window_cycles": 100,
                                   "packets_delivered": 10}],
              "allreduce": allreduce,
              "alpha_beta": {"alpha_cycles": 5.0, "flit_bytes": 4,
                             "fit_max_relative_error": 0.0}}
    paths = {}
    for name, content in (("tile", tile), ("full", full), ("fabric", fabric)):
        paths[name] = directory / f"{name}.json"
        paths[name].write_text(json.dumps(content))
    return paths


@pytest.fixture(scope="module")
def report(characterization, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    build_report(characterization["tile"], characterization["fabric"], out,
                 characterization["full"], current_digest="d")
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
    assert "made from today's RTL sources" in markdown


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
    assert cli(["--system", "trn2-instance", "--workload", "llama3-8b", "--batch", "4"]) == 0
    output = capsys.readouterr().out
    assert "fp8    20.13 PFLOP/s" in output and "decode, batch 4" in output
    assert cli(["--system", "trn9"]) == 2
    assert capsys.readouterr().err.startswith("error: Unknown system 'trn9'; known: ")
    assert cli(["--system", "trn2-instance", "--workload", "gpt5"]) == 2
    assert "Unknown workload 'gpt5'; known: llama3-8b, llama3-70b" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["--system", "trn2-instance", "--batch", "0"])
    assert "--batch must be at least 1, not 0" in capsys.readouterr().err


def test_document_escapes_tables():
    document = Document("T")
    document.table(["a", "b"], [["x|y", "<z>"]], numeric=(1,))
    assert "| x\\|y | <z> |" in document.markdown()
    assert "<td class='num'>&lt;z&gt;</td>" in document.html()
