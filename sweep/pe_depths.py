"""What each pipeline depth of a PE gives and costs: one table of ECP5 fmax, area, and fill
and drain, per format set and MAC depth, measured in one run.

Per (format set, depth):

- ECP5 fmax in MHz (:func:`sweep.pe_timing.pe_fmax_mhz`, one PE placed and routed);
- cells and transistors of an interior PE, a two-row PE column less a one-row column (what each
  of the lower rows of an array costs, with its partial-sum input and its share of the
  stationary lane's path down the column), and of the one-row column (the 1 x 1 tile, whose PE
  adds a constant zero partial sum that synthesis folds away): generic Yosys synthesis
  (:func:`sweep.synthesis.module_figures`), pipeline registers counted;
- the flip-flops per PE row that carry the 16-bit stationary lane down the column;
- fill plus drain of one 128 x 128 operation in cycles (:attr:`TileLatency.fill_drain`);
- MACs per second per interior transistor: fmax x MACs per PE per cycle (2 for a set with
  FP8, double-row) / transistors.

Usage: ``python -m sweep.pe_depths --out DIR [--sets int8 bf16 trainium2] [--stages 1-14]``
(``make pe-depths``); writes ``DIR/pe_depths.json`` and ``DIR/pe_depths.md``, one progress line
per entry with its duration. int8 is measured at its one depth in the same run, as the
reference the floating-point sets' fmax is compared with.
"""

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from hdl.emit import generate, write
from hdl.leaf import leaf_module_name
from sim_models.cli import ArgumentParser
from sim_models.config import (FLOAT_LANE_BITS, FORMAT_SETS, MAX_ARRAY_DIM, TileConfig,
                               check_formats, parse_formats)
from sim_models.stimulus import peak_format
from sim_models.timing import MAX_FLOAT_PE_STAGES, tile_latency

from .pe_timing import pe_fmax_mhz
from .synthesis import module_figures
from .tools import SynthesisError, TimeLimit

__all__ = ["DepthFigures", "measure_depth", "measure_entries", "main"]

#: Seconds one entry's tool runs (two syntheses, one place and route) may take together.
ENTRY_SECONDS = 3600
#: Format sets measured unless named.
DEFAULT_SETS = ("int8", "bf16", "trainium2")


@dataclass(frozen=True)
class DepthFigures:
    """One PE design at one MAC depth.

    Members
    -------
    formats : tuple of str
    pe_stages : int
        MAC latency in cycles.
    row_hop : int
        Cycles between consecutive PE rows (the skew of a moving vector).
    fmax_mhz : float
        ECP5 post-route maximum frequency, in MHz.
    cells, transistors : int
        An interior PE: a two-row column less a one-row column.
    cells_row0, transistors_row0 : int
        The one-row column.
    load_path_flops : int
        Flip-flops per PE row on the stationary lane's path down the column.
    fill_drain_128 : int
        Cycles of one 128 x 128 operation beyond its N moving beats.
    macs_per_cycle : int
        Multiply-accumulates of one PE per cycle at its peak (2 with FP8 double-row).
    macs_per_second_per_transistor : float
    seconds : float
        Wall time of the entry's tool runs.
    """
    formats: tuple
    pe_stages: int
    row_hop: int
    fmax_mhz: float
    cells: int
    transistors: int
    cells_row0: int
    transistors_row0: int
    load_path_flops: int
    fill_drain_128: int
    macs_per_cycle: int
    macs_per_second_per_transistor: float
    seconds: float


def _column_figures(config, work_dir, limit):
    """Generic-synthesis figures of the PE column leaf of ``config``."""
    verilog = write(generate(config), work_dir)
    return module_figures(verilog, leaf_module_name("pe_column", config), limit=limit)


def measure_depth(formats, pe_stages, work_dir, time_limit=ENTRY_SECONDS):
    """:class:`DepthFigures` of the PE of ``formats`` at MAC depth ``pe_stages``; its tools
    work under ``work_dir`` and stop at ``time_limit`` seconds (SynthesisError)."""
    one_row = TileConfig(1, 1, psum_banks=1, psum_depth=1, formats=formats, pe_stages=pe_stages)
    two_rows = TileConfig(2, 1, psum_banks=1, psum_depth=1, formats=formats,
                          pe_stages=pe_stages)
    start = time.monotonic()
    limit = TimeLimit.starting_now(time_limit)
    work_dir = Path(work_dir) / one_row.name
    row0 = _column_figures(one_row, work_dir / "one_row", limit)
    column = _column_figures(two_rows, work_dir / "two_rows", limit)
    remaining = None if limit is None else max(limit.deadline - time.monotonic(), 1.0)
    fmax = pe_fmax_mhz(formats, work_dir / "ecp5", remaining, pe_stages=pe_stages)
    latency = tile_latency(TileConfig(MAX_ARRAY_DIM, MAX_ARRAY_DIM, formats=formats,
                                      pe_stages=pe_stages))
    macs = peak_format(one_row).rows_per_pe
    transistors = column.transistors - row0.transistors
    return DepthFigures(
        formats=tuple(formats), pe_stages=pe_stages, row_hop=latency.row_hop, fmax_mhz=fmax,
        cells=column.cells - row0.cells, transistors=transistors, cells_row0=row0.cells,
        transistors_row0=row0.transistors,
        load_path_flops=FLOAT_LANE_BITS * latency.load_row_hop if one_row.floating else 0,
        fill_drain_128=latency.fill_drain, macs_per_cycle=macs,
        macs_per_second_per_transistor=fmax * 1e6 * macs / transistors,
        seconds=time.monotonic() - start)


def _set_name(formats):
    names = {value: key for key, value in FORMAT_SETS.items()}
    return names.get(tuple(formats), ",".join(formats))


def markdown_table(rows):
    """The figures as a Markdown table; fmax also as a fraction of the int8 PE's in the
    same run, when it was measured."""
    int8 = next((row.fmax_mhz for row in rows if row.formats == ("int8",)), None)
    lines = ["| format set | PE stages | rows apart (cycles) | ECP5 fmax (MHz) | / int8 | "
             "cells / PE, interior (row 0) | transistors / PE, interior (row 0) | "
             "load path flip-flops / PE | fill + drain, one 128 x 128 op (cycles) | "
             "MACs/s per transistor |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        ratio = f"{row.fmax_mhz / int8:.2f}" if int8 else "-"
        lines.append(
            f"| {_set_name(row.formats)} | {row.pe_stages} | {row.row_hop} | "
            f"{row.fmax_mhz:.1f} | {ratio} | {row.cells:,} ({row.cells_row0:,}) | "
            f"{row.transistors:,} ({row.transistors_row0:,}) | {row.load_path_flops} | "
            f"{row.fill_drain_128:,} | {row.macs_per_second_per_transistor:,.0f} |")
    return "\n".join(lines) + "\n"


def _stages_range(text):
    """``"a-b"`` or ``"a"`` as a range of depths 1..MAX_FLOAT_PE_STAGES."""
    allowed = f"a depth or a range a-b within 1..{MAX_FLOAT_PE_STAGES}"
    low, _, high = text.partition("-")
    try:
        low, high = int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"Parameter 'stages' must be {allowed}, not "
                                         f"{text!r}") from None
    if not 1 <= low <= high <= MAX_FLOAT_PE_STAGES:
        raise argparse.ArgumentTypeError(f"Parameter 'stages' must be {allowed}, not {text!r}")
    return range(low, high + 1)


def _format_set(text):
    """One format set: format names joined by commas, or a set's name."""
    try:
        return check_formats("Parameter 'sets'", parse_formats(text))
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _entries(format_sets, stages):
    """(formats, depth) pairs to measure: int8 first at its one depth, then each
    floating-point set at each depth."""
    entries = [(formats, 1) for formats in format_sets if formats == ("int8",)]
    return entries + [(formats, depth) for formats in format_sets if formats != ("int8",)
                      for depth in stages]


def main(argv=None):
    parser = ArgumentParser.for_module("sweep.pe_depths", __doc__)
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--sets", type=_format_set, nargs="+",
                        default=[_format_set(name) for name in DEFAULT_SETS],
                        help="format sets, each its formats joined by commas (bf16,fp16) or a "
                        f"set's name (trainium2); default {' '.join(DEFAULT_SETS)}")
    parser.add_argument("--stages", type=_stages_range, default=range(1, MAX_FLOAT_PE_STAGES +
                        1), help=f"floating-point depths, a or a-b (default 1-"
                        f"{MAX_FLOAT_PE_STAGES})")
    arguments = parser.parse_args(argv)
    return measure_entries(_entries(arguments.sets, arguments.stages), measure_depth,
                           arguments.out, "pe_depths", markdown_table, "PE")


def measure_entries(entries, measure, out, stem, table, unit):
    """Measure each (formats, depth) of ``entries`` with ``measure(formats, depth, work_dir)``,
    one progress line each, rewriting ``out/<stem>.json`` and ``out/<stem>.md`` (``table`` of
    the rows) after each; ``unit`` names what a row's transistors count. Returns the exit
    status: 1 (one line on stderr) at the first SynthesisError, else 0."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, (formats, depth) in enumerate(entries, 1):
        try:
            row = measure(formats, depth, out / "work")
        except SynthesisError as error:
            print(f"error: {_set_name(formats)} at depth {depth or 'default'}: {error}",
                  file=sys.stderr)
            return 1
        rows.append(row)
        print(f"[{stem.replace('_', '-')}] {index}/{len(entries)} {_set_name(formats)} at "
              f"{row.pe_stages}: {row.fmax_mhz:.1f} MHz, {row.transistors:,} transistors/"
              f"{unit} ({row.seconds:.0f} s)", flush=True)
        (out / f"{stem}.json").write_text(json.dumps([asdict(item) for item in rows],
                                                     indent=1) + "\n")
        (out / f"{stem}.md").write_text(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
