"""Where a benchmark's figures go: ``<build>/bench/<name>.json`` for programs and
``<build>/bench/<name>.md`` (the readable table, also printed) for people."""

import json
from pathlib import Path

__all__ = ["write_outputs"]


def write_outputs(build, name, figures, report):
    """Write ``figures`` (JSON-serializable) and ``report`` (Markdown text) of the benchmark
    ``name`` under ``build``/bench and print the report."""
    out = Path(build) / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    (out / f"{name}.md").write_text(report + "\n")
    print(report)
