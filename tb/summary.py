"""Summary table of a tile regression: configuration x format x simulator x outcome x cycles x
speed, then the count of floating-point simulation tests per simulator and format.

Reads the pytest JUnit XML files under ``<build>/junit`` (outcome of each ``test_tile`` and
``test_float_tile`` case) and the measurements under ``<build>/results/tile`` (cycles and wall
time of every simulated program, each checked bit for bit against the golden model), prints
the tables and writes them to ``<build>/results/tile_summary.md``.

    python -m tb.summary --build build [--sim icarus]
"""

import json
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from sim_models.cli import ArgumentParser

__all__ = ["collect_rows", "format_counts", "format_table"]

# Configuration names have no hyphen; a floating-point case ends in its format's name.
_CASE = re.compile(r"test_(?:float_)?tile\[(?P<sim>[a-z]+)-(?P<config>[^\]-]+)"
                   r"(?:-(?P<format>[^\]]+))?\]")


def _outcomes(junit_dir):
    """(config, format or None, sim) -> "pass" / "FAIL" / "skip", from every JUnit file, newest
    last."""
    outcomes = {}
    for path in sorted(Path(junit_dir).glob("*.xml"), key=lambda p: p.stat().st_mtime):
        for case in ElementTree.parse(path).iter("testcase"):
            match = _CASE.fullmatch(case.get("name", ""))
            if not match:
                continue
            if case.find("failure") is not None or case.find("error") is not None:
                outcome = "FAIL"
            elif case.find("skipped") is not None:
                outcome = "skip"
            else:
                outcome = "pass"
            outcomes[match["config"], match["format"], match["sim"]] = outcome
    return outcomes


def collect_rows(build, sim=None):
    """Rows of the table: dicts with config, format (None for int8), sim, outcome, programs,
    cycles, cycles_per_second."""
    build = Path(build)
    rows = []
    outcomes = _outcomes(build / "junit")
    for (config, matmul_format, simulator) in sorted(outcomes, key=lambda key: (
            key[0], key[1] or "", key[2])):
        outcome = outcomes[config, matmul_format, simulator]
        if sim and simulator != sim:
            continue
        case = config if matmul_format is None else f"{config}_{matmul_format}"
        results = build / "results" / "tile" / f"{case}_{simulator}.jsonl"
        entries = [json.loads(line) for line in results.read_text().splitlines()] \
            if results.is_file() else []
        cycles = sum(entry["total_cycles"] for entry in entries)
        wall = sum(entry["wall_seconds"] for entry in entries)
        rows.append({"config": config, "format": matmul_format, "sim": simulator,
                     "outcome": outcome,
                     "programs": len(entries), "cycles": cycles,
                     "cycles_per_second": cycles / wall if wall else None})
    return rows


def format_table(rows):
    """Markdown table of :func:`collect_rows`."""
    lines = ["| configuration | format | simulator | result | programs | simulated cycles | "
             "cycles/s |", "|---|---|---|---|---:|---:|---:|"]
    for row in rows:
        speed = f"{row['cycles_per_second']:,.0f}" if row["cycles_per_second"] else "-"
        lines.append(f"| {row['config']} | {row['format'] or 'int8'} | {row['sim']} | "
                     f"{row['outcome']} | {row['programs']} | {row['cycles']:,} | {speed} |")
    return "\n".join(lines)


def format_counts(rows):
    """Markdown table of the floating-point simulation tests per simulator and format: cases
    (one tile configuration each) passed of run, and the programs they simulated, each checked
    bit for bit against the golden model."""
    counts = {}
    for row in rows:
        if row["format"] is not None:
            count = counts.setdefault((row["sim"], row["format"]), [0, 0, 0])
            count[0] += row["outcome"] == "pass"
            count[1] += 1
            count[2] += row["programs"]
    lines = ["| simulator | format | cases passed | programs |", "|---|---|---:|---:|"]
    lines += [f"| {sim} | {name} | {passed} of {run} | {programs} |"
              for (sim, name), (passed, run, programs) in sorted(counts.items())]
    return "\n".join(lines)


def main(argv=None):
    parser = ArgumentParser.for_module(__spec__.name, __doc__)
    parser.add_argument("--build", default="build", help="build directory")
    parser.add_argument("--sim", help="only this simulator")
    args = parser.parse_args(argv)
    rows = collect_rows(args.build, args.sim)
    table = format_table(rows) + "\n\nFloating-point simulation tests:\n\n" + \
        format_counts(rows)
    out = Path(args.build) / "results" / "tile_summary.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table + "\n")
    print(table)
    failed = [row for row in rows if row["outcome"] == "FAIL"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
