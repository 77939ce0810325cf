"""The regression summary: int8 and floating-point cases, and the count of floating-point
simulation tests per simulator and format."""

import json

from tb.summary import collect_rows, format_counts, format_table

JUNIT = """<testsuites><testsuite>
<testcase name="test_tile[icarus-r4c4_int8]"/>
<testcase name="test_float_tile[icarus-r4c4_b8d16_bf16_fp8e4m3-bf16]"/>
<testcase name="test_float_tile[verilator-r4c4_b8d16_bf16_fp8e4m3-fp8e4m3_dr]"><failure/></testcase>
<testcase name="test_float_tile[icarus-r3c5_b1d8_bf16_fp8e4m3-bf16]"/>
</testsuite></testsuites>"""


def test_float_cases_are_counted_per_simulator_and_format(tmp_path):
    (tmp_path / "junit").mkdir()
    (tmp_path / "junit" / "regress.xml").write_text(JUNIT)
    results = tmp_path / "results" / "tile"
    results.mkdir(parents=True)
    record = json.dumps({"total_cycles": 10, "wall_seconds": 0.5})
    for case, programs in [("r4c4_int8_icarus", 3), ("r4c4_b8d16_bf16_fp8e4m3_bf16_icarus", 2),
                           ("r3c5_b1d8_bf16_fp8e4m3_bf16_icarus", 4)]:
        (results / f"{case}.jsonl").write_text("\n".join([record] * programs) + "\n")
    rows = collect_rows(tmp_path)
    assert [(row["config"], row["format"], row["sim"], row["outcome"], row["programs"])
            for row in rows] == [
        ("r3c5_b1d8_bf16_fp8e4m3", "bf16", "icarus", "pass", 4),
        ("r4c4_b8d16_bf16_fp8e4m3", "bf16", "icarus", "pass", 2),
        ("r4c4_b8d16_bf16_fp8e4m3", "fp8e4m3_dr", "verilator", "FAIL", 0),
        ("r4c4_int8", None, "icarus", "pass", 3)]
    assert "| r4c4_int8 | int8 | icarus | pass | 3 | 30 | 20 |" in format_table(rows)
    assert format_counts(rows).splitlines()[2:] == [
        "| icarus | bf16 | 2 of 2 | 6 |", "| verilator | fp8e4m3_dr | 0 of 1 | 0 |"]
