"""The floating-point PE's MAC alone (``hdl.float_arith.FloatMac``, the ``float_mac`` leaf) per
format set and depth: ECP5 fmax, cells and transistors, MACs per second per transistor.

``sweep.pe_depths`` measures whole PEs (a two-row PE column less a one-row column), which a
tile with MX formats cannot give: its rows are a multiple of 8 (one scale group). The MAC is
the same module in every PE of a tile, so it is measured here for every set alike, Trainium2's
beside Trainium3's: the MAC leaf of a one-column tile (8 rows with MX, else 1), synthesized
generically (:func:`sweep.synthesis.module_figures`, pipeline registers counted) and placed
and routed on an ECP5 (:func:`sweep.pe_timing.leaf_fmax_mhz`). The PE's operand and weight
registers and its stationary path are not in these figures, nor are the MAC's own input and
output paths (nextpnr reports them apart): the fmax is that of its slowest stage between two
pipeline registers, so a MAC of fewer than :data:`sweep.pe_timing.MIN_MAC_STAGES` stages is
refused.

Usage: ``python -m sweep.mac_figures --out DIR [--sets bf16 trainium2 trainium3]
[--stages 13]``; writes ``DIR/mac_figures.json`` and ``DIR/mac_figures.md``, one progress line
per entry with its duration.
"""

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hdl.emit import generate, write
from hdl.leaf import FLOAT_MAC, leaf_module_name
from sim_models.cli import ArgumentParser

from .pe_depths import _format_set, _set_name, _stages_range, measure_entries
from .pe_timing import MIN_MAC_STAGES, leaf_fmax_mhz, smallest_tile
from .synthesis import module_figures
from .tools import TimeLimit

__all__ = ["MacFigures", "measure_mac", "main"]

#: Seconds one entry's tool runs (one synthesis, one place and route) may take together.
ENTRY_SECONDS = 3600
#: Format sets measured unless named.
DEFAULT_SETS = ("trainium2", "trainium3")


@dataclass(frozen=True)
class MacFigures:
    """The MAC of one format set at one depth.

    Members
    -------
    formats : tuple of str
    pe_stages : int
        MAC latency in cycles.
    fmax_mhz : float
        ECP5 post-route maximum frequency, in MHz.
    cells, transistors : int
        Generic-synthesis cells and CMOS transistor estimate of one MAC.
    macs_per_cycle : int
        Multiply-accumulates per cycle at the set's peak (4 in MX mode, 2 with FP8 double-row).
    macs_per_second_per_transistor : float
    seconds : float
        Wall time of the entry's tool runs.
    """
    formats: tuple
    pe_stages: int
    fmax_mhz: float
    cells: int
    transistors: int
    macs_per_cycle: int
    macs_per_second_per_transistor: float
    seconds: float


def measure_mac(formats, pe_stages, work_dir, time_limit=ENTRY_SECONDS):
    """:class:`MacFigures` of the MAC of ``formats`` at depth ``pe_stages`` (None: the
    default); its tools work under ``work_dir`` and stop at ``time_limit`` seconds."""
    config = smallest_tile(formats, pe_stages)
    start = time.monotonic()
    limit = TimeLimit.starting_now(time_limit)
    work_dir = Path(work_dir) / config.name
    verilog = write(generate(config), work_dir / "generic")
    figures = module_figures(verilog, leaf_module_name(FLOAT_MAC, config), limit=limit)
    remaining = max(limit.deadline - time.monotonic(), 1.0)
    fmax = leaf_fmax_mhz(config, FLOAT_MAC, work_dir / "ecp5", remaining)
    macs = config.rows_per_pe
    return MacFigures(formats=tuple(formats), pe_stages=config.pe_stages, fmax_mhz=fmax,
                      cells=figures.cells, transistors=figures.transistors, macs_per_cycle=macs,
                      macs_per_second_per_transistor=fmax * 1e6 * macs / figures.transistors,
                      seconds=time.monotonic() - start)


def _mac_stages(text):
    """``--stages``: depths of :data:`sweep.pe_timing.MIN_MAC_STAGES` or more."""
    stages = _stages_range(text)
    if stages.start < MIN_MAC_STAGES:
        raise argparse.ArgumentTypeError(
            f"Parameter 'stages' must start at {MIN_MAC_STAGES} or deeper for the MAC alone, not "
            f"{text!r}: below, no register-to-register path lies inside it")
    return stages


def _float_set(text):
    """One floating-point format set (``--sets``); int8 has no floating-point MAC."""
    formats = _format_set(text)
    if formats == ("int8",):
        raise argparse.ArgumentTypeError("Parameter 'sets' holds int8, which has no "
                                         "floating-point MAC (sweep.pe_depths measures its PE)")
    return formats


def markdown_table(rows):
    """The figures as a Markdown table."""
    lines = ["| format set | MAC stages | ECP5 fmax (MHz) | cells / MAC | transistors / MAC | "
             "MACs / cycle | MACs/s per transistor |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {_set_name(row.formats)} | {row.pe_stages} | {row.fmax_mhz:.1f} | "
              f"{row.cells:,} | {row.transistors:,} | {row.macs_per_cycle} | "
              f"{row.macs_per_second_per_transistor:,.0f} |" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = ArgumentParser.for_module("sweep.mac_figures", __doc__)
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--sets", type=_float_set, nargs="+",
                        default=[_float_set(name) for name in DEFAULT_SETS],
                        help="floating-point format sets, each its formats joined by commas or "
                        f"a set's name; default {' '.join(DEFAULT_SETS)}")
    parser.add_argument("--stages", type=_mac_stages, default=None,
                        help="MAC depths, a or a-b (default: each set's default depth)")
    arguments = parser.parse_args(argv)
    entries = [(formats, depth) for formats in arguments.sets
               for depth in (arguments.stages or [None])]
    return measure_entries(entries, measure_mac, arguments.out, "mac_figures", markdown_table,
                           "MAC")


if __name__ == "__main__":
    sys.exit(main())
