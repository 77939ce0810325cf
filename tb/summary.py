"""Summary table of a tile regression: configuration x simulator x outcome x cycles x speed.

Reads the pytest JUnit XML files under ``<build>/junit`` (outcome of each ``test_tile`` case)
and the measurements under ``<build>/results/tile`` (cycles and wall time of every simulated
program), prints a table and writes it to ``<build>/results/tile_summary.md``.

    python -m tb.summary --build build [--sim icarus]
"""

import json
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from sim_models.cli import ArgumentParser

__all__ = ["collect_rows", "format_table"]

_CASE = re.compile(r"test_tile\[(?P<sim>[a-z]+)-(?P<config>[^\]]+)\]")


def _outcomes(junit_dir):
    """(config, sim) -> "pass" / "FAIL" / "skip", from every JUnit file, newest last."""
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
            outcomes[match["config"], match["sim"]] = outcome
    return outcomes


def collect_rows(build, sim=None):
    """Rows of the table: dicts with config, sim, outcome, programs, cycles, cycles_per_second."""
    build = Path(build)
    rows = []
    for (config, simulator), outcome in sorted(_outcomes(build / "junit").items()):
        if sim and simulator != sim:
            continue
        results = build / "results" / "tile" / f"{config}_{simulator}.jsonl"
        entries = [json.loads(line) for line in results.read_text().splitlines()] \
            if results.is_file() else []
        cycles = sum(entry["total_cycles"] for entry in entries)
        wall = sum(entry["wall_seconds"] for entry in entries)
        rows.append({"config": config, "sim": simulator, "outcome": outcome,
                     "programs": len(entries), "cycles": cycles,
                     "cycles_per_second": cycles / wall if wall else None})
    return rows


def format_table(rows):
    """Markdown table of :func:`collect_rows`."""
    lines = ["| configuration | simulator | result | programs | simulated cycles | cycles/s |",
             "|---|---|---|---:|---:|---:|"]
    for row in rows:
        speed = f"{row['cycles_per_second']:,.0f}" if row["cycles_per_second"] else "-"
        lines.append(f"| {row['config']} | {row['sim']} | {row['outcome']} | "
                     f"{row['programs']} | {row['cycles']:,} | {speed} |")
    return "\n".join(lines)


def main(argv=None):
    parser = ArgumentParser.for_module(__spec__.name, __doc__)
    parser.add_argument("--build", default="build", help="build directory")
    parser.add_argument("--sim", help="only this simulator")
    args = parser.parse_args(argv)
    rows = collect_rows(args.build, args.sim)
    table = format_table(rows)
    out = Path(args.build) / "results" / "tile_summary.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table + "\n")
    print(table)
    failed = [row for row in rows if row["outcome"] == "FAIL"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
