"""Interconnect benchmark: the fabric characterization (``tb.characterize_fabric``) as tables.

Reads ``<build>/characterization/fabric.json`` (``make characterize-fabric`` writes it from the
RTL) and writes ``<build>/bench/fabric_bench.json`` and ``fabric_bench.md``, also printed:

- hop latency: the zero-load header latency per hop count, measured and modelled (cycles), and
  the fitted line;
- link efficiency at saturation (flits per cycle per link; a link carries at most one);
- ring all-reduce cycles against nodes and vector size: RTL, the RTL's analytic estimate, and
  the alpha-beta model (with the fitted alpha) plus the local streaming it leaves out, with the
  gap of the RTL to that sum in cycles and per cent;
- collectives per topology: the alpha-beta fit of each (alpha, beta, link efficiency, the
  ranges measured, fit and held-out errors) and every run beside its fit.

    python -m bench.fabric_bench --build build
"""

import sys
from dataclasses import asdict
from pathlib import Path

from sim_models.cli import ArgumentParser
from sim_models.results import ResultsError, load

from .outputs import write_outputs


def allreduce_rows(characterization):
    """Per all-reduce run of a :class:`~sim_models.results.FabricCharacterization`: its figures
    (a dict) plus alpha-beta with local streaming and the gap."""
    rows = []
    for run in characterization.allreduce:
        modelled = run.alpha_beta_cycles + run.local_cycles
        rows.append({**asdict(run), "alpha_beta_with_local_cycles": modelled,
                     "gap_cycles": run.rtl_cycles - modelled,
                     "gap_fraction": (run.rtl_cycles - modelled) / run.rtl_cycles})
    return rows


def format_report(characterization, rows):
    hops, fit = characterization.hop_latency, characterization.alpha_beta
    lines = [f"## Interconnect (RTL on {characterization.simulator})", "",
             "### Zero-load hop latency (header, inject to eject handshake)", "",
             "| fabric | hops | cycles | model cycles |", "|---|---:|---:|---:|"]
    seen = set()
    for point in hops.points:
        key = (point.fabric, point.hops)
        if key not in seen:
            seen.add(key)
            lines.append(f"| {point.fabric} | {point.hops} | {point.cycles} | "
                         f"{point.model_cycles} |")
    lines += ["", f"Fitted: {hops.base_cycles:.2f} + {hops.per_hop_cycles:.2f} cycles per "
              f"hop.", "", "### Link efficiency at saturation (packets half way round every "
              "dimension)", "", "| fabric | flits/cycle/link | window cycles | packets |",
              "|---|---:|---:|---:|"]
    for entry in characterization.link_efficiency:
        lines.append(f"| {entry.fabric} | {entry.flits_per_cycle_per_link:.3f} | "
                     f"{entry.window_cycles:,} | {entry.packets_delivered} |")
    lines += ["", "### Ring all-reduce of int32 vectors (cycles, first element in to last "
              "result out)", "",
              "| nodes | elements | RTL | RTL estimate | alpha-beta | + local (2L+1) | "
              "gap | gap % |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['nodes']} | {row['length']} | {row['rtl_cycles']:,} | "
                     f"{row['estimate_cycles']:,} | {row['alpha_beta_cycles']:,.1f} | "
                     f"{row['alpha_beta_with_local_cycles']:,.1f} | {row['gap_cycles']:+,.1f} | "
                     f"{row['gap_fraction']:+.1%} |")
    lines += ["", f"Alpha-beta: alpha = {fit.alpha_cycles:.2f} cycles per step (fitted), "
              f"{fit.flit_bytes} bytes per flit at one flit per cycle; largest relative "
              f"error {fit.fit_max_relative_error:.1%}. Where the vector splits into "
              f"even chunks the RTL is alpha-beta with alpha = 5 (a hop's header latency and "
              f"the interface's one-cycle turnaround) plus 2L + 1 exactly; uneven chunks "
              f"(3 and 5 nodes) pay the longest chunk on every step, and the fit spreads that "
              f"over alpha."]
    return "\n".join(lines + collective_lines(characterization))


def collective_lines(characterization):
    """The collective fits and runs of a FabricCharacterization as Markdown lines."""
    lines = ["", "### Collectives per topology: alpha-beta fits (held out: the largest node "
             "count and the largest message size)", "",
             "| topology | collective | element | alpha (cycles) | beta (cycles/B) | link eff. | "
             "nodes | bytes | fitted/held out | fit error | held-out error |",
             "|---|---|---|---:|---:|---:|---|---|---|---:|---:|"]
    for fit in characterization.fits:
        lines.append(f"| {fit.topology} | {fit.collective} ({fit.algorithm}) | {fit.element} | "
                     f"{fit.alpha_cycles:.2f} | {fit.beta_cycles_per_byte:.4f} | "
                     f"{fit.link_efficiency:.1%} | {fit.nodes_min}-{fit.nodes_max} | "
                     f"{fit.bytes_min}-{fit.bytes_max} | {fit.fitted_points}/"
                     f"{fit.held_out_points} | {fit.fit_max_error:.1%} | "
                     f"{fit.held_out_max_error:.1%} |")
    lines += ["", "| topology | design | collective | element | nodes | bytes | RTL | model | "
              "error | held out |", "|---|---|---|---|---:|---:|---:|---:|---:|---|"]
    for run in characterization.collectives:
        lines.append(f"| {run.topology} | {run.design} | {run.collective} | {run.element} | "
                     f"{run.nodes} | {run.message_bytes} | {run.rtl_cycles:,} | "
                     f"{run.model_cycles:,.1f} | {run.error:+.1%} | "
                     f"{'yes' if run.held_out else 'no'} |")
    return lines


def main(argv=None):
    parser = ArgumentParser.for_module(__spec__.name, __doc__)
    parser.add_argument("--build", default="build", help="build directory")
    args = parser.parse_args(argv)
    build = Path(args.build)
    try:
        characterization = load(build / "characterization" / "fabric.json", "fabric")
    except ResultsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows = allreduce_rows(characterization)
    write_outputs(build, "fabric_bench", {**asdict(characterization), "allreduce": rows},
                  format_report(characterization, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
