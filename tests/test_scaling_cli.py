"""``python -m sim_models.scaling``: every bad value refused in one line naming the option, and
the JSON answer's members. No simulator needed."""

import json

import pytest

from sim_models.config import TRAINIUM2_FORMATS, TRAINIUM3_FORMATS, TileConfig
from sim_models.program import MatmulFormat
from sim_models.results import save
from sim_models.scaling import __main__ as cli
from sim_models.scaling.assumptions import Assumptions
from sim_models.scaling.calibration import FITTED
from samples import fabric_document, tile_document


BAD = [
    (["--batch", "1e20"], "python -m sim_models.scaling: error: argument --batch: invalid int "
                          "value: '1e20'"),
    (["--batch", "-5"], "error: --batch -5: must be an integer from 1 to 1099511627776 (2^40)"),
    (["--batch", "0"], "error: --batch 0: must be an integer from 1 to 1099511627776 (2^40)"),
    (["--batch", "2000000000000"], "error: --batch 2000000000000: must be an integer from 1 to "
                                   "1099511627776 (2^40)"),
    (["--context", "0"], "error: --context 0: must be an integer from 1 to 1099511627776 "
                         "(2^40)"),
    (["--micro-batch", "0"], "error: --micro-batch 0: must be an integer from 1 to "
                             "1099511627776 (2^40)"),
    (["--sequence", "-1"], "error: --sequence -1: must be an integer from 1 to 1099511627776 "
                           "(2^40)"),
    (["--tp", "5"], "error: --tp 5: must divide the 64 attention heads of Llama-3 70B"),
    (["--decode-tp", "3"], "error: --decode-tp 3: must divide the 64 attention heads of "
                           "Llama-3 70B"),
    (["--tp", "32", "--pp", "2", "--dp", "3"],
     "error: --tp 32 --pp 2 --dp 3: TP x PP x DP = 192 must equal the 64 logical NeuronCores "
     "of 16 Trainium2 chips"),
    (["--tp", "64", "--pp", "5"], "error: --tp 64 --pp 5: TP x PP = 320 must divide the 64 "
                                  "logical NeuronCores of 16 chips"),
    (["--tp", "16", "--pp", "3", "--dp", "1"], "error: --pp 3: must divide the 80 layers of "
                                               "Llama-3 70B"),
    (["--draft", "llama3-2-1b"], "error: --draft: needs --accepted, the mean tokens kept per "
                                 "round"),
    (["--draft", "nope", "--accepted", "2"], "error: --draft nope: unknown; allowed: "
                                             "llama3-8b, llama3-70b, llama3-405b, llama2-7b, "
                                             "llama2-70b, mistral-7b, llama3-2-1b, "
                                             "llama2-13b, qwen3-235b-a22b, gpt-oss-120b, "
                                             "deepseek-v3"),
    (["--draft", "llama3-2-1b", "--accepted", "6"],
     "error: --accepted 6.0: must be from 1 to speculation + 1 = 5 (tokens kept per round, "
     "the target's own included)"),
    (["--chips", str(64 * 65537)], "error: --chips 4194368: at most 65,536 x Trn2 instance "
                                   "(trn2.48xlarge) = 1,048,576 chips (the largest ring the "
                                   "collective model times)"),
    (["--kv-datatype", "int8"], "error: --kv-datatype int8: Trainium2 has no such TensorE "
                                "datatype; allowed: bf16, fp16, tf32, fp32, fp8"),
    (["--lnc", "3"], "error: --lnc 3: a Trainium2 runs LNC 1 or 2"),
    (["--lnc", "1", "--decode-tp", "3"], "error: --decode-tp 3: must divide the 64 attention "
                                          "heads of Llama-3 70B"),
    (["--global-batch", "102", "--tp", "16", "--pp", "1"],
     "error: --global-batch 102: must be a multiple of DP x micro-batch = 4"),
    (["--datatype", "fp4"], "error: --datatype fp4: Trainium2 has no such TensorE datatype; "
                            "allowed: bf16, fp16, tf32, fp32, fp8"),
    (["--zero", "4"], "error: --zero 4: allowed: 0, 1, 2, 3"),
    (["--chips", "20"], "error: --chips 20: must be a multiple of the 16 chips of Trn2 "
                        "instance (trn2.48xlarge) (a cluster of whole units)"),
    (["--chips", "0"], "error: --chips 0: must be an integer from 1 to 1099511627776 (2^40)"),
    (["--workload", "nope"], "error: --workload nope: unknown; allowed: llama3-8b, llama3-70b, "
                             "llama3-405b, llama2-7b, llama2-70b, mistral-7b, "
                             "llama3-2-1b, llama2-13b, qwen3-235b-a22b, gpt-oss-120b, "
                             "deepseek-v3"),
    (["--ep", "2"], "error: --ep 2: Llama-3 70B is dense (no experts); allowed: 1"),
    (["--decode-ep", "2"], "error: --decode-ep 2: Llama-3 70B is dense (no experts); allowed: "
                           "1"),
    (["--workload", "gpt-oss-120b", "--decode-ep", "3"],
     "error: --decode-ep 3: must divide the 128 routed experts of GPT-OSS-120B"),
    (["--workload", "gpt-oss-120b", "--decode-tp", "16", "--decode-ep", "8"],
     "error: --decode-ep 8: must divide the TP 16 groups of the system (4 replicas)"),
    (["--workload", "gpt-oss-120b", "--imbalance", "0.5"],
     "error: --imbalance 0.5: must be from 1 to 1e6 (tokens on the busiest expert over the "
     "mean)"),
    (["--system", "nope"], "error: --system nope: unknown; allowed: trn1-instance, "
                           "trn2-instance, trn2-ultraserver, trn2-ultracluster, "
                           "trn3-gen1-ultraserver, trn3-gen2-ultraserver, trn3-ultracluster"),
    (["--fabric", "/nonexistent.json"], "error: /nonexistent.json: no such file; make "
                                        "characterize-fabric writes it"),
]


def _run(argv, capsys):
    try:
        status = cli.main(argv)
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(argv) for argv, _ in BAD])
def test_bad_value_is_one_line(argv, message, capsys):
    status, out, err = _run(["--system", "trn2-instance", *argv], capsys)
    assert status == 2 and out == "" and err == message + "\n"


def test_unknown_datatype_on_trn3_names_its_datatypes(capsys):
    status, _, err = _run(["--system", "trn3-gen1-ultraserver", "--datatype", "fp8"], capsys)
    assert status == 2 and err == ("error: --datatype fp8: Trainium3 has no such TensorE "
                                   "datatype; allowed: bf16, fp16, tf32, fp32, mxfp8, mxfp4\n")


def test_json_answers_the_training_row_of_aws(capsys):
    status, out, _ = _run(["--system", "trn1-instance", "--chips", "512", "--workload",
                           "llama3-8b", "--tp", "32", "--pp", "1", "--dp", "32",
                           "--global-batch", "1024", "--sequence", "8192", "--micro-batch", "1",
                           "--zero", "1", "--json"], capsys)
    result = json.loads(out)
    training, decode = result["training"], result["decode"]
    assert status == 0 and result["chips"] == 512 and training["fits"] and decode["fits"]
    assert training["tokens_per_second"] == pytest.approx(1024 * 8192 / training["step_seconds"])
    assert 0 < training["mfu"] < 1
    assert decode["tokens_per_second"] == pytest.approx(
        decode["replicas"] * decode["plan"]["batch"] / decode["seconds_per_token"])
    assert result["calibration"]["fitted"] == {name: getattr(Assumptions(), name)
                                               for name in FITTED}
    assert result["calibration"]["fabric"]


def test_the_layout_search_runs_at_the_sequence_asked_for(capsys):
    # At 128k tokens the best layout at the workload's own 8,192 (TP 4 DP 64) does not fit in
    # HBM; the search, run at the sequence asked for, gives one that does and uses it.
    status, out, _ = _run(["--system", "trn2-ultraserver", "--workload", "llama3-8b",
                           "--sequence", "131072", "--json"], capsys)
    training = json.loads(out)["training"]
    assert status == 0 and training["fits"]
    assert training["layout"]["used"] == "the search's best"
    assert training["layout"]["best"] == training["plan"]
    assert training["plan"]["sequence"] == 131072 and training["plan"]["tp"] != 4


def test_a_batch_that_does_not_fit_is_reported_not_timed(capsys):
    status, out, _ = _run(["--system", "trn2-ultraserver", "--batch", "1000000000", "--json"],
                          capsys)
    decode = json.loads(out)["decode"]
    assert status == 0 and not decode["fits"]
    assert decode["seconds_per_token"] is None and decode["tokens_per_second"] is None
    assert decode["reason"].startswith("does not fit in HBM: weights")
    assert decode["memory_bytes"]["total"] > decode["memory_bytes"]["capacity"]


def test_default_fabric_is_the_reports_when_present(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)   # no build/characterization/fabric.json here
    status, out, _ = _run(["--system", "trn2-instance", "--json"], capsys)
    assert status == 0 and json.loads(out)["calibration"]["fabric"].startswith(
        "analytic estimate")


def test_trainium2_rates_come_from_the_float_tile_characterization(tmp_path, capsys):
    config = TileConfig(4, 4, psum_banks=2, psum_depth=512, formats=TRAINIUM2_FORMATS)
    double_row = MatmulFormat("fp8_e4m3", "fp8_e4m3", True)
    path = tmp_path / "tile_float.json"
    save(tile_document({config: [(4, 16, 512, double_row), (4, 32, 512, double_row)]},
                       tmp_path / "verilog"), path)
    status, out, _ = _run(["--system", "trn2-instance", "--float-tile", str(path), "--json"],
                          capsys)
    assert status == 0
    rates = json.loads(out)["calibration"]["macs_per_pe_per_cycle"]
    assert rates["chip"] == "trn2" and rates["source"] == f"{path}: fp8 2"
    assert {"datatype": "fp8", "used": 2.0, "spec": 2, "from": "RTL", "file": str(path),
            "tile": config.name, "gemms": [[4, 16, 512], [4, 32, 512]]} in rates["rates"]
    assert {"datatype": "bf16", "used": 1, "spec": 1, "from": "spec data"} in rates["rates"]
    status, _, err = _run(["--system", "trn2-instance", "--float-tile",
                           str(tmp_path / "none.json")], capsys)
    assert status == 2 and err == (f"error: {tmp_path / 'none.json'}: no such file; make "
                                   f"characterize-tile writes it\n")


def test_trainium3_rates_come_from_its_own_tile_beside_the_spec(tmp_path, capsys):
    """Trainium3's MXFP8 and MXFP4 rates are measured on its MX tile, named with file, tile and
    GEMMs beside the spec's value; Trainium2's tile alone leaves Trainium3 on spec data."""
    trn3 = TileConfig(8, 8, psum_banks=2, psum_depth=512, formats=TRAINIUM3_FORMATS)
    mx = {name: MatmulFormat(name, name, mx=True) for name in ("fp8_e5m2", "fp4_e2m1")}
    path = tmp_path / "tile_float.json"
    save(tile_document({trn3: [(8, k, 512, mx[name]) for name in mx for k in (64, 128)]},
                       tmp_path / "verilog"), path)
    status, out, _ = _run(["--system", "trn3-gen2-ultraserver", "--float-tile", str(path),
                           "--json"], capsys)
    assert status == 0
    rates = json.loads(out)["calibration"]["macs_per_pe_per_cycle"]
    assert rates["chip"] == "trn3" and rates["source"] == f"{path}: mxfp4 4, mxfp8 4"
    by_datatype = {row["datatype"]: row for row in rates["rates"]}
    assert by_datatype["mxfp8"] == {"datatype": "mxfp8", "used": 4.0, "spec": 4, "from": "RTL",
                                    "file": str(path), "tile": trn3.name,
                                    "gemms": [[8, 64, 512], [8, 128, 512]]}
    assert by_datatype["mxfp4"]["from"] == "RTL" and by_datatype["bf16"]["from"] == "spec data"
    # A file of Trainium2's tile alone: Trainium3 keeps the spec data, and says why.
    trn2 = TileConfig(4, 4, psum_banks=2, psum_depth=512, formats=TRAINIUM2_FORMATS)
    bf16 = MatmulFormat("bf16", "bf16")
    save(tile_document({trn2: [(4, 8, 512, bf16), (4, 16, 512, bf16)]}, tmp_path / "verilog"),
         path)
    status, out, _ = _run(["--system", "trn3-gen2-ultraserver", "--float-tile", str(path)],
                          capsys)
    assert status == 0
    assert (f"Trainium3 MACs per PE per cycle from: spec data ({path} holds no GEMM pair of a "
            f"trn3 tile to measure them from, its formats: bf16; make characterize-tile "
            f"rebuilds it)") in out.splitlines()


def test_by_default_the_rates_include_the_committed_full_size_runs(tmp_path, monkeypatch,
                                                                    capsys):
    """Without --float-tile the answer reads what the report reads: the floating-point tile and
    the 128 x 128 runs present, all their GEMMs taken together as the report takes them; each
    rate names the first file that holds its GEMM pair."""
    monkeypatch.chdir(tmp_path)
    trn2 = TileConfig(4, 4, psum_banks=2, psum_depth=512, formats=TRAINIUM2_FORMATS)
    trn3 = TileConfig(8, 8, psum_banks=2, psum_depth=512, formats=TRAINIUM3_FORMATS)
    bf16, mx = MatmulFormat("bf16", "bf16"), MatmulFormat("fp8_e4m3fn", "fp8_e4m3fn", mx=True)
    save(tile_document({trn2: [(4, 8, 512, bf16), (4, 16, 512, bf16)],
                        trn3: [(8, 64, 512, mx), (8, 128, 512, mx)]}, tmp_path / "verilog"),
         cli.REPORT_FLOAT_TILE)
    fp4 = MatmulFormat("fp4_e2m1", "fp4_e2m1", mx=True)
    save(tile_document({trn3: [(8, k, 512, matmul_format) for matmul_format in (mx, fp4)
                               for k in (64, 128)]}, tmp_path / "verilog", date="2026-12-07"),
         cli.FULL_TRN3_RUN)
    status, out, _ = _run(["--system", "trn3-gen2-ultraserver", "--json"], capsys)
    assert status == 0
    rates = json.loads(out)["calibration"]["macs_per_pe_per_cycle"]
    assert rates["source"] == (f"{cli.FULL_TRN3_RUN}: mxfp4 4; "
                               f"{cli.REPORT_FLOAT_TILE}: mxfp8 4")
    by_datatype = {row["datatype"]: row for row in rates["rates"]}
    assert by_datatype["mxfp4"]["file"] == str(cli.FULL_TRN3_RUN)
    assert by_datatype["mxfp8"]["file"] == str(cli.REPORT_FLOAT_TILE)
    # An explicit --float-tile stands alone: the full-size run is not read.
    status, out, _ = _run(["--system", "trn3-gen2-ultraserver", "--json", "--float-tile",
                           str(cli.REPORT_FLOAT_TILE)], capsys)
    rates = json.loads(out)["calibration"]["macs_per_pe_per_cycle"]
    assert rates["source"] == f"{cli.REPORT_FLOAT_TILE}: mxfp8 4"


def test_without_a_float_tile_every_rate_is_spec_data(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)   # no build/characterization/tile_float.json here
    status, out, _ = _run(["--system", "trn3-gen2-ultraserver", "--json"], capsys)
    rates = json.loads(out)["calibration"]["macs_per_pe_per_cycle"]
    assert status == 0
    assert rates["source"] == "spec data (no floating-point tile characterization)"
    assert {row["from"] for row in rates["rates"]} == {"spec data"}
    assert all(row["used"] == row["spec"] for row in rates["rates"])


def test_measurements_table(capsys):
    status, out, _ = _run(["--measurements", "--json"], capsys)
    table = json.loads(out)
    rows = table["rows"]
    assert status == 0 and {row["role"] for row in rows} == {"calibration", "validation"}
    assert all(row["error"] == pytest.approx((row["model"] - row["published"])
                                             / row["published"]) for row in rows)
    assert all(row["url"].startswith("https://") and row["chips"] >= 1 and "tp" in row["plan"]
               for row in rows)
    decode = [abs(row["error"]) for row in rows
              if row["kind"] == "decode" and row["role"] == "validation"]
    assert table["summary"]["decode"] == {
        "validation_rows": len(decode), "within_goal": sum(error <= 0.15 for error in decode),
        "median_abs_error": pytest.approx(sorted(decode)[len(decode) // 2]
                                          if len(decode) % 2 else
                                          sum(sorted(decode)[len(decode) // 2 - 1:
                                                             len(decode) // 2 + 1]) / 2),
        "worst_abs_error": pytest.approx(max(decode))}
    every = [abs(row["error"]) for row in rows if row["role"] == "validation"]
    assert table["summary"]["all"]["validation_rows"] == len(every)
    assert table["summary"]["all"]["within_goal"] == sum(error <= 0.15 for error in every)
    assert table["summary"]["all"]["worst_abs_error"] == pytest.approx(max(every))
    status, out, _ = _run(["--measurements"], capsys)
    assert status == 0
    assert f"all validation rows: {sum(error <= 0.15 for error in every)} of {len(every)} " \
        "within 15%" in out
    assert len(out.splitlines()) == 1 + len(rows) + len(table["summary"]) + len(table["bands"])


def test_lnc_sets_the_logical_cores_degrees_count(capsys):
    status, out, _ = _run(["--system", "trn2-instance", "--lnc", "1", "--decode-tp", "64",
                           "--json"], capsys)
    result = json.loads(out)
    assert status == 0 and result["lnc"] == 1
    # 128 logical cores at LNC=1: a TP 64 group spans 8 chips, two replicas.
    assert result["decode"]["replicas"] == 2
    assert "lnc 1 outside the measured 2" in result["decode"]["confidence"]["extrapolation"]
    status, _, err = _run(["--system", "trn1-instance", "--lnc", "2"], capsys)
    assert status == 2 and err == "error: --lnc 2: a Trainium runs LNC 1\n"


def test_an_integer_tile_given_as_the_float_tile_is_an_error_not_a_fallback(tmp_path, capsys):
    path = tmp_path / "tile.json"
    save(tile_document({TileConfig(4, 4): [(4, 4, 8)]}, tmp_path / "verilog"), path)
    status, out, err = _run(["--system", "trn2-instance", "--float-tile", str(path)], capsys)
    assert status == 2 and out == ""
    assert err == (f"error: --float-tile {path}: holds no GEMM pair to measure a floating-point "
                   f"MACs per PE per cycle from (its formats: int8); allowed: a floating-point "
                   f"tile characterization, as make characterize-tile writes to "
                   f"{cli.REPORT_FLOAT_TILE}\n")


def test_a_dangling_link_to_the_reports_fabric_file_is_an_error_not_a_fallback(
        tmp_path, monkeypatch, capsys):
    link = tmp_path / "fabric.json"
    link.symlink_to(tmp_path / "gone.json")
    monkeypatch.setattr(cli, "REPORT_FABRIC", link)
    status, out, err = _run(["--system", "trn2-instance"], capsys)
    assert status == 2 and out == "" and err.startswith(f"error: {link}: ") and \
        len(err.splitlines()) == 1


def test_ctrl_c_is_one_line(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "answer", interrupted)
    status, out, err = _run(["--list"], capsys)
    assert (status, out, err) == (130, "", "interrupted: nothing was written\n")


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    def closed(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")
    redirected = []
    monkeypatch.setattr("builtins.print", closed)
    monkeypatch.setattr(cli.os, "dup2", lambda source, target: redirected.append(target))
    assert cli.main(["--list"]) == 0 and redirected == [1]
    assert capsys.readouterr().err == ""


def test_list_json_and_help_show_defaults(capsys):
    status, out, _ = _run(["--list", "--json"], capsys)
    listing = json.loads(out)
    assert status == 0 and listing["systems"]["trn2-instance"]["chips"] == 16
    assert listing["workloads"]["llama3-70b"]["layers"] == 80
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: llama3-70b)" in text and "tokens in the KV cache" in text


def test_collectives_say_measured_or_extrapolated(tmp_path, capsys):
    path = tmp_path / "fabric.json"
    save(fabric_document(tmp_path / "verilog"), path)
    status, out, _ = _run(["--system", "trn2-ultraserver", "--fabric", str(path)], capsys)
    lines = [line.strip() for line in out.splitlines()]
    assert status == 0
    alltoall = next(line for line in lines
                    if line.startswith("trn2-ultraserver alltoall of 64 KiB: "))
    assert "(extrapolated: RTL fit torus3d alltoall word32 (8-12 nodes, 12-60 B;" in alltoall
    assert "64 nodes, 5.33x the most measured" in alltoall
    status, out, _ = _run(["--system", "trn2-ultraserver", "--fabric", str(path), "--json"],
                          capsys)
    figures = json.loads(out)["calibration"]["collectives"]
    assert [(f["collective"], f["bytes"]) for f in figures] == \
        [("allreduce", 1 << 20), ("allreduce", 256 << 20), ("alltoall", 64 << 10)]
    assert all(f["seconds"] > 0 and f["source"].startswith("extrapolated") for f in figures)
