"""The results of a sweep as a markdown table and two plots (matplotlib, Agg), under
``reports/sweep/``.

- ``<grid>.md``: one row per point of the grid (finished, failed or missing);
- ``<grid>_pareto.png``: measured throughput per area against area, the Pareto front drawn
  (points no other point beats on both: no larger area and no lower throughput per area);
  throughput is MACs per second (MACs per cycle x the PE's ECP5 fmax) when every finished
  point has its PE timed, so that a faster clock counts, else MACs per cycle;
- ``<grid>_utilization.png``: utilization of each measured GEMM against its size relative to
  the array, one series per tile.

Area is the synthesis stage's transistor estimate of the array when the points have one
(:data:`AREA`), else the PE count, and the table and plots say which.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the back end is chosen)

from .store import OK  # noqa: E402

__all__ = ["AREA", "area", "pareto_front", "results_table", "write_report"]

#: Stage and field of a point's area figure when the synthesis stage ran.
AREA = ("synthesis", "transistors")


def area(row):
    """(area, unit) of a finished point: :data:`AREA` if recorded, else its PE count."""
    stage, field = AREA
    if field in row.records.get(stage, {}):
        return row.records[stage][field], "transistors"
    config = row.point["config"]
    return config["rows"] * config["cols"], "PEs"


def pareto_front(pairs):
    """Indices of the ``(area, value)`` pairs on the Pareto front: no other pair has a no
    larger area and a no lower value, one of them strictly; by increasing area."""
    front = [i for i, (a, v) in enumerate(pairs)
             if not any(a2 <= a and v2 >= v and (a2, v2) != (a, v) for a2, v2 in pairs)]
    return sorted(front, key=lambda i: pairs[i][0])


def _macs_per_second(row):
    """Measured MACs per second of a finished point: its MACs per cycle at its PE's ECP5 fmax
    (``pe_timing``), or None when the PE was not timed."""
    timing = row.records.get("pe_timing")
    if not timing:
        return None
    return row.records["gemms"]["macs_per_cycle"] * timing["pe_fmax_mhz"] * 1e6


def _throughput(rows):
    """(function of a row, name) of the throughput the Pareto plot puts per area: MACs per
    second if every row has it, else MACs per cycle."""
    if rows and all(_macs_per_second(row) is not None for row in rows):
        return _macs_per_second, "MACs per second (at the PE's ECP5 fmax)"
    return (lambda row: row.records["gemms"]["macs_per_cycle"]), "MACs per cycle"


def _tops(flops):
    return f"{flops / 1e12:.3g}"


def _per_area(unit):
    """(scale, name) of the area that throughput is given per, for an area ``unit``: a million
    transistors when synthesis figures exist, else one PE."""
    return (1e6, "10^6 transistors") if unit == "transistors" else (1, "PE")


def _synthesis_cells(row):
    """Cells and transistors per PE, array transistors (millions) and the PE's ECP5 fmax
    (MHz) of a finished point, "-" where its stage did not record them."""
    synthesis, timing = row.records.get("synthesis", {}), row.records.get("pe_timing", {})
    if "transistors" not in synthesis:
        return "- | - | - |", f" {timing['pe_fmax_mhz']:.1f} |" if timing else " - |"
    cells = (f"{synthesis['cells_per_pe']:,.0f} | {synthesis['transistors_per_pe']:,.0f} | "
             f"{synthesis['transistors'] / 1e6:.3f} |")
    return cells, f" {timing['pe_fmax_mhz']:.1f} |" if timing else " - |"


def results_table(points, rows):
    """Markdown table of ``points`` (the grid, in order) with their stored ``rows``."""
    by_digest = {row.digest: row for row in rows}
    unit = next((area(row)[1] for row in rows if row.status == OK), "PEs")
    scale, per = _per_area(unit)
    lines = [f"| point | status | array | PSUM | format | PE stages | GEMMs | MACs/cycle | "
             f"cells / PE | transistors / PE | array transistors (10^6) | PE fmax, ECP5 (MHz) | "
             f"MACs/cycle per {per} | MACs/s per {per} | chip peak TFLOP/s | step s | MFU | "
             f"error or note |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for point in points:
        config, row = point.config, by_digest.get(point.digest)
        head = (f"| {point.name} | {row.status if row else 'missing'} | "
                f"{config.rows} x {config.cols} | {config.psum_banks} x {config.psum_depth} | "
                f"{','.join(config.formats)} | {config.pe_stages} | {len(point.shapes)} |")
        if row is None or row.status != OK:
            error = (row.error or "").replace("|", "/") if row else "not run yet"
            lines.append(f"{head} | | | | | | | | | | {error} |")
            continue
        gemms, projection = row.records["gemms"], row.records["projection"]
        caveat = projection["mfu_not_meaningful"]
        mfu = "not a result" if caveat else f"{projection['mfu']:.1%}"
        cells, fmax = _synthesis_cells(row)
        per_second = _macs_per_second(row)
        per_second = "-" if per_second is None else f"{per_second * scale / area(row)[0]:.4g}"
        lines.append(f"{head} {gemms['macs_per_cycle']:.3f} | {cells}{fmax} "
                     f"{gemms['macs_per_cycle'] * scale / area(row)[0]:.4g} | {per_second} | "
                     f"{_tops(projection['chip_peak_flops'])} | "
                     f"{projection['step_seconds']:.4g} | {mfu} | {caveat or ''} |")
    return "\n".join(lines) + "\n"


def _tiles(rows):
    """The finished rows, one per tile: points that differ only in their workload share one
    RTL and one measurement, so the first of each tile name stands for them all."""
    tiles = {}
    for row in rows:
        if row.status == OK:
            tiles.setdefault(row.name.split(".")[0], row)
    return tiles


def _area_label(unit):
    return "array area (transistors, Yosys's CMOS estimate; PSUM memory apart)" \
        if unit == "transistors" else "array area (PEs)"


def _pareto_plot(rows, path):
    tiles = _tiles(rows)
    unit = area(next(iter(tiles.values())))[1] if tiles else "PEs"
    scale, per = _per_area(unit)
    throughput, measure = _throughput(list(tiles.values()))
    pairs = [(area(row)[0], throughput(row) * scale / area(row)[0]) for row in tiles.values()]
    front = pareto_front(pairs)
    figure, axes = plt.subplots(figsize=(9, 4.8))
    # One marker and colour per tile, named in the legend: names on the plot overprint.
    for index, (name, (a, v)) in enumerate(zip(tiles, pairs)):
        axes.scatter([a], [v], marker="osD^vP*X"[index % 8], color=f"C{index % 10}", s=50,
                     label=name)
    axes.plot([pairs[i][0] for i in front], [pairs[i][1] for i in front], color="black",
              marker="o", markerfacecolor="none", markersize=14, drawstyle="steps-post",
              label="Pareto front (no smaller and better tile)")
    # Log on both axes: the int8 tile and the floating-point ones differ by 10-100x in both.
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.margins(x=0.1, y=0.1)
    axes.set_xlabel(_area_label(unit))
    axes.set_ylabel(f"measured {measure}\nper {per}")
    axes.set_title("Throughput per area against area (checked GEMMs on the RTL)")
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _utilization_plot(rows, path):
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for index, (name, row) in enumerate(_tiles(rows).items()):
        runs = row.records["gemms"]["runs"]
        # Against the mode's peak: two products per PE per cycle in FP8 double-row mode.
        peak = [run["rows"] * run["cols"] * (2 if run.get("double_row") else 1) for run in runs]
        size = [run["macs"] / pe_peak for run, pe_peak in zip(runs, peak)]
        utilization = [run["macs"] / (run["rtl_cycles"] * pe_peak)
                       for run, pe_peak in zip(runs, peak)]
        axes.scatter(size, utilization, s=40 + 30 * index, facecolors="none",
                     marker="osD^vP*X"[index % 8], edgecolors=f"C{index % 10}", label=name)
    axes.set_xscale("log", base=2)
    axes.set_xlabel("GEMM size relative to the array's peak: ideal cycles (M K N / peak MACs "
                    "per cycle)")
    axes.set_ylabel("utilization (MACs / (cycles x peak MACs per cycle))")
    axes.set_title("Utilization against GEMM shape")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_report(name, points, rows, out_dir):
    """Write ``<name>.md``, ``<name>_pareto.png`` and ``<name>_utilization.png`` of the
    grid's ``points`` and the store's ``rows`` under ``out_dir``; return the table's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [row for row in rows if row.digest in {point.digest for point in points}]
    table = out_dir / f"{name}.md"
    unit = next((area(row)[1] for row in rows if row.status == OK), "PEs")
    note = "" if unit != "PEs" else ("Area is the PE count: no synthesis stage ran, so the "
                                     "Pareto plot is throughput per PE against PEs.\n\n")
    table.write_text(f"# Sweep {name}\n\n{note}{results_table(points, rows)}\n"
                     f"![Pareto]({name}_pareto.png)\n\n![Utilization]({name}_utilization.png)\n")
    _pareto_plot(rows, out_dir / f"{name}_pareto.png")
    _utilization_plot(rows, out_dir / f"{name}_utilization.png")
    return table
