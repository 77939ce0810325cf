"""BookSim2 beside the RTL: zero-load latency and saturation throughput of the project's torus
under uniform random traffic, both measured in one run (``make booksim``, docs/booksim.md).

Steps, one progress line each with its duration:
1. fetch BookSim2 (``git clone --depth 1`` of ``--source`` into ``<build>/booksim2``; kept
   once cloned);
2. build it (``make`` in its ``src``; needs flex and bison; kept once built);
3. run BookSim2 at every offered load of the sweep (configurations from
   :func:`bench.booksim.booksim_config`, outputs kept under ``<build>/booksim/runs``);
4. run the RTL (``bench/booksim_rtl_tb.py`` through :func:`tb.launch.simulate`) at the same
   loads, same packet size;
5. write ``<build>/booksim/compare.json`` and ``compare.md`` and print the table.

BookSim2 is not a dependency of the project: nothing else imports or runs this.
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from sim_models.config import FabricConfig
from tb.launch import Design, simulate

from .booksim import (BookSimError, BookSimRouter, booksim_config, booksim_dims,
                      parse_booksim_output)

#: Where BookSim2 is published.
BOOKSIM_URL = "https://github.com/booksim/booksim2"
#: Fabrics compared by default (``--fabrics``, :func:`parse_fabric`): the project's 4x4 torus
#: with its default 4-flit buffers, and with 8-flit buffers, deep enough to cover BookSim's
#: 7-cycle credit loop (docs/booksim.md).
FABRICS = ("4x4:4", "4x4:8")


def parse_fabric(text):
    """The FabricConfig of ``text``, ``<sides joined by x>:<buffer depth>`` (``4x4:8``, ``8:4``
    for a ring of 8): a ring or torus with equal sides, as BookSim's k-ary n-cube needs.

    Raises
    ------
    ValueError
        One line naming the parameter, its value and what is allowed.
    """
    sides, _, depth = text.partition(":")
    try:
        dims = tuple(int(side) for side in sides.split("x"))
        buffer_depth = int(depth)
    except ValueError:
        raise ValueError(f"Parameter '--fabrics' takes <sides joined by x>:<buffer depth> such "
                         f"as 4x4:8, not {text!r}") from None
    booksim_dims(dims)
    if len(dims) == 1:
        return FabricConfig.ring(dims[0], buffer_depth=buffer_depth)
    return FabricConfig.torus(*dims, buffer_depth=buffer_depth)
#: Offered loads of the sweep, flits per node per cycle; the first is the zero-load probe.
RATES = (0.02, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
#: Payload flits per packet after the header: the RTL's zero-load probe length.
PAYLOAD_FLITS = 3
#: RTL measurement: warm-up, measurement window and drain limit (cycles).
RTL_WINDOW = {"warmup": 300, "measure": 1000, "drain": 1000}
#: Most seconds one BookSim run may take (a 4x4 torus takes well under one).
BOOKSIM_TIMEOUT = 300


def _step(label, started):
    print(f"[booksim] {label} ({time.monotonic() - started:.1f} s)", flush=True)


def _head(directory):
    """Commit checked out in ``directory``, or None if it is not a whole clone of BookSim2."""
    result = subprocess.run(["git", "-C", str(directory), "rev-parse", "HEAD"],
                            capture_output=True, text=True)
    whole = result.returncode == 0 and (directory / "src" / "Makefile").is_file()
    return result.stdout.strip() if whole else None


def fetch(source, directory):
    """Clone BookSim2 from ``source`` into ``directory`` unless a whole clone is there (a
    partial one, e.g. an interrupted clone, is named, removed and cloned again); its commit."""
    if directory.exists() and _head(directory) is None:
        print(f"[booksim] {directory} is not a whole BookSim2 clone: cloning again", flush=True)
        shutil.rmtree(directory)
    if not directory.exists():
        result = subprocess.run(["git", "clone", "-q", "--depth", "1", source, str(directory)],
                                capture_output=True, text=True)
        if result.returncode:
            reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
            sys.exit(f"error: cloning BookSim2 from {source} failed ({reason}); give a local "
                     f"copy with BOOKSIM_SOURCE=<git directory>")
    return _head(directory)


def build_booksim(directory, log):
    """Build BookSim2's ``src/booksim`` unless built; its path. Compiler output goes to
    ``log``."""
    binary = directory / "src" / "booksim"
    if not binary.is_file():
        with open(log, "w") as stream:
            result = subprocess.run(["nice", "-n", "10", "make", "-j2", "-C",
                                     str(directory / "src")], stdout=stream, stderr=stream)
        if result.returncode or not binary.is_file():
            sys.exit(f"error: building BookSim2 failed; see {log}")
    return binary


def run_booksim(binary, config_text, path):
    """Run BookSim2 on ``config_text`` (written to ``path``.cfg, output to ``path``.out);
    the parsed figures."""
    config_file, output_file = (path.with_name(f"{path.name}.{kind}") for kind in ("cfg", "out"))
    config_file.write_text(config_text)
    result = subprocess.run(["nice", "-n", "10", str(binary), str(config_file)],
                            capture_output=True, text=True, timeout=BOOKSIM_TIMEOUT)
    output_file.write_text(result.stdout + result.stderr)
    try:
        return parse_booksim_output(result.stdout)
    except BookSimError as error:
        sys.exit(f"error: {error}; see {output_file}")


def run_rtl(fabric, sim, seed, build, rates):
    """The RTL's records (one per rate) from ``bench.booksim_rtl_tb`` and the run's timing."""
    results = build / "booksim" / f"rtl_{fabric.name}_{sim}.jsonl"
    outcome = simulate(Design(fabric, "bench.booksim_rtl_tb"), sim, ["uniform_load"], seed,
                       build=build, results=results, run="booksim_rtl_tb",
                       options={"rates": list(rates), "payload_flits": PAYLOAD_FLITS,
                                **RTL_WINDOW},
                       rerun=f"make booksim SIM={sim} SEED={seed}")
    if outcome.failed or not outcome.passed:
        sys.exit(f"error: the RTL run failed: {'; '.join(outcome.failures)}; see {outcome.log}")
    records = [json.loads(line) for line in results.read_text().splitlines()]
    return records, {"build_seconds": round(outcome.build_time, 1),
                     "wall_seconds": round(outcome.wall_time, 1), "log": str(outcome.log)}


def summary(rows):
    """Zero-load latency (the first rate's, beside its pipeline model) and saturation throughput (the most accepted, and
    the highest offered load still stable) of one side's rows."""
    stable = [row for row in rows if row["stable"]]
    return {"zero_load_packet_latency_cycles": rows[0]["packet_latency_cycles"],
            "zero_load_model_cycles": rows[0]["model_zero_load_latency_cycles"],
            "zero_load_links": rows[0]["links"],
            "saturation_throughput_flits_per_node_cycle":
                max(row["accepted_flits_per_node_cycle"] for row in rows),
            "highest_stable_offered_load": max((row["offered"] for row in stable),
                                               default=None)}


def table(result):
    """Markdown table of the sweep, one line per offered load, and the summary lines."""
    def cell(value):
        return "-" if value is None else f"{value:.3g}"
    lines = ["| offered (flits/node/cycle) | BookSim accepted | RTL accepted | BookSim packet "
             "latency (cycles) | RTL packet latency (cycles) |", "|---|---|---|---|---|"]
    for ours, theirs in zip(result["rtl"], result["booksim"]):
        lines.append(f"| {ours['offered']:g} | {cell(theirs['accepted_flits_per_node_cycle'])} "
                     f"| {cell(ours['accepted_flits_per_node_cycle'])} "
                     f"| {cell(theirs['packet_latency_cycles'])} "
                     f"| {cell(ours['packet_latency_cycles'])} |")
    lines.append("")
    for side in ("booksim", "rtl"):
        figures = result["summary"][side]
        lines.append(f"{side}: zero-load packet latency "
                     f"{cell(figures['zero_load_packet_latency_cycles'])} cycles (its pipeline "
                     f"model {cell(figures['zero_load_model_cycles'])} at the measured packets' "
                     f"mean {cell(figures['zero_load_links'])} links), saturation "
                     f"throughput {cell(figures['saturation_throughput_flits_per_node_cycle'])} "
                     f"flits/node/cycle, highest stable offered load "
                     f"{cell(figures['highest_stable_offered_load'])}")
    return "\n".join(lines) + "\n"


def compare(fabric, binary, args, build, out, steps):
    """BookSim2's sweep and the RTL's on ``fabric``; the comparison's record."""
    label = fabric.name
    started = time.monotonic()
    packet_flits = 1 + PAYLOAD_FLITS
    router = BookSimRouter()
    booksim_rows = []
    for rate in RATES:
        text = booksim_config(fabric.dims, vcs=fabric.relation.vcs,
                              buffer_depth=fabric.buffer_depth, packet_flits=packet_flits,
                              rate=rate, seed=args.seed, router=router)
        row = run_booksim(binary, text, out / "runs" / f"{label}_{rate:.2f}")
        # BookSim counts the routers a packet visits: one more than the links it crosses.
        links = None if row["hops"] is None else row["hops"] - 1
        booksim_rows.append({"offered": rate, **row, "links": links,
                             "model_zero_load_latency_cycles": None if links is None else
                             round(router.zero_load_latency(links, packet_flits), 2)})
    _step(f"BookSim2: {label}, {len(RATES)} offered loads", started)
    steps[f"booksim_{label}"] = time.monotonic() - started

    started = time.monotonic()
    records, timing = run_rtl(fabric, args.sim, args.seed, build, RATES)
    rtl_rows = [{"offered": record["offered_flits_per_node_cycle"],
                 **{name: record[name] for name in (
                     "stable", "accepted_flits_per_node_cycle", "created_flits_per_node_cycle",
                     "packet_latency_cycles", "network_latency_cycles",
                     "model_zero_load_latency_cycles")},
                 "links": record["hops"]}
                for record in records]
    _step(f"RTL on {args.sim}: {label}, {len(rtl_rows)} offered loads "
          f"(model build {timing['build_seconds']} s)", started)
    steps[f"rtl_{label}"] = time.monotonic() - started
    return {"fabric": {"name": fabric.name, "dims": list(fabric.dims),
                       "vcs": fabric.relation.vcs, "buffer_depth": fabric.buffer_depth,
                       "packet_flits": packet_flits},
            "booksim": booksim_rows, "rtl": rtl_rows,
            "summary": {"booksim": summary(booksim_rows), "rtl": summary(rtl_rows)},
            "rtl_timing": timing}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=Path("build"))
    parser.add_argument("--source", default=BOOKSIM_URL,
                        help="where to clone BookSim2 from (a URL or a local git directory)")
    parser.add_argument("--sim", default="verilator", choices=("icarus", "verilator"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fabrics", nargs="+", default=FABRICS,
                        help="fabrics as <sides joined by x>:<buffer depth> (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        fabrics = [parse_fabric(text) for text in args.fabrics]
    except (TypeError, ValueError) as error:
        sys.exit(f"error: {error}")
    build = args.build.resolve()
    out = build / "booksim"
    (out / "runs").mkdir(parents=True, exist_ok=True)
    steps = {}

    started = time.monotonic()
    commit = fetch(args.source, build / "booksim2")
    _step(f"fetched BookSim2 {commit[:10]} from {args.source}", started)
    steps["fetch"] = time.monotonic() - started

    started = time.monotonic()
    binary = build_booksim(build / "booksim2", out / "build.log")
    _step(f"built {binary}", started)
    steps["build"] = time.monotonic() - started

    comparisons = []
    for fabric in fabrics:
        comparisons.append(compare(fabric, binary, args, build, out, steps))
    result = {
        "comparisons": comparisons, "booksim_commit": commit,
        "booksim_router": asdict(BookSimRouter()), "rtl_simulator": args.sim,
        "seed": args.seed, "rtl_window_cycles": RTL_WINDOW,
        "step_seconds": {name: round(seconds, 1) for name, seconds in steps.items()},
    }
    (out / "compare.json").write_text(json.dumps(result, indent=1) + "\n")
    text = "\n".join(f"### {comparison['fabric']['name']}, "
                     f"{comparison['fabric']['buffer_depth']}-flit buffers\n\n"
                     f"{table(comparison)}" for comparison in comparisons)
    (out / "compare.md").write_text(text)
    print(text, end="")
    print(f"[booksim] wrote {out / 'compare.json'} and {out / 'compare.md'}")


if __name__ == "__main__":
    main()
