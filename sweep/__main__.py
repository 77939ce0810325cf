"""Run a design-space sweep of tile configurations on Dask and write its table and plots.

    python -m sweep sweeps/smoke.toml                      # a local cluster, one worker per core
    python -m sweep sweeps/smoke.toml --workers 1
    python -m sweep big.toml --large                       # more than 64 points
    python -m sweep sweeps/smoke.toml --scheduler tcp://127.0.0.1:8786

The grid is validated before anything runs; more local workers than cores need
``--oversubscribe``, and grids of more than 64 points ``--large`` (the refusal gives the
estimated time). Finished points are kept in the store (default
``<build>/sweep/<grid>.sqlite``) and skipped by a rerun; the table and plots go to
``reports/sweep/``. With ``--scheduler`` (or ``DASK_SCHEDULER_ADDRESS``) the workers must
have the project installed and see ``--build`` at the same path.
"""

import math
import os
import sys
from pathlib import Path

from sim_models.cli import ArgumentParser

from .grid import GridError, load_grid
from .store import ResultStore, StoreError
from .tools import SYNTHESIS_LIMIT

# Dask, the engine (Amaranth, the testbenches) and matplotlib are imported by main() only once
# the command line and the grid have passed their checks: they take seconds to import (tens
# under load), which a bad argument should not wait for.


#: Grids of more points than this run only with ``--large``.
LARGE_GRID = 64
#: Worker-seconds per RTL of a sweep, measured on the smoke grid (build, GEMMs, synthesis,
#: projections: 508 s for 4 RTLs on one worker, docs/sweeps.md), for the estimate a large
#: grid is refused with.
SECONDS_PER_RTL = 127


def _arguments(argv):
    parser = ArgumentParser.for_module("sweep", __doc__)
    parser.add_argument("grid", help="grid file (TOML), e.g. sweeps/smoke.toml")
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="workers of the local cluster (default: one per core)")
    parser.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                        help="address of an existing Dask scheduler (default "
                             "$DASK_SCHEDULER_ADDRESS; none: a local cluster)")
    parser.add_argument("--build", default="build", help="build directory (default build)")
    parser.add_argument("--store", help="results store (default <build>/sweep/<grid>.sqlite)")
    parser.add_argument("--out", default="reports/sweep",
                        help="directory of the table and plots (default reports/sweep)")
    parser.add_argument("--synthesis-limit", type=float, default=SYNTHESIS_LIMIT,
                        metavar="SECONDS",
                        help=f"time limit of one RTL's synthesis (default {SYNTHESIS_LIMIT:g}); "
                             f"a point whose synthesis takes longer fails with that error")
    parser.add_argument("--oversubscribe", action="store_true",
                        help="allow more local workers than cores")
    parser.add_argument("--large", action="store_true",
                        help=f"run a grid of more than {LARGE_GRID} points")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, not {args.workers}")
    cores = os.cpu_count() or 1
    if args.scheduler is None and args.workers > cores and not args.oversubscribe:
        parser.error(f"--workers {args.workers}: this machine has {cores} cores; allowed: 1 to "
                     f"{cores} (--oversubscribe allows more)")
    if not 0 < args.synthesis_limit < math.inf:
        parser.error(f"--synthesis-limit must be a positive number of seconds, not "
                     f"{args.synthesis_limit:g}")
    return args


def _checked_points(args):
    """The points of the grid file ``args.grid``, refused in one line
    (:class:`~sweep.grid.GridError`) if it is invalid, or too large without ``--large``."""
    points = load_grid(args.grid)
    if len(points) > LARGE_GRID and not args.large:
        rtls = len({point.config for point in points})
        hours = rtls * SECONDS_PER_RTL / min(args.workers, rtls) / 3600
        raise GridError(f"{args.grid}: {len(points)} points over {rtls} RTLs, about "
                        f"{hours:.1f} h on {args.workers} workers at about "
                        f"{SECONDS_PER_RTL} s per RTL; grids of more than {LARGE_GRID} "
                        f"points need --large")
    return points


def _sweep(args):
    """Run the sweep of valid ``args``; the exit status."""
    name = Path(args.grid).stem
    try:
        points = _checked_points(args)
        store = ResultStore(args.store or Path(args.build) / "sweep" / f"{name}.sqlite")
    except (GridError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from .engine import SweepError, connect, run_sweep
    from .report import write_report
    try:
        with connect(args.workers, args.scheduler) as client:
            print(f"[sweep] {args.grid}: {len(points)} points; store {store.path}", flush=True)
            summary = run_sweep(points, store, client, Path(args.build),
                                synthesis_limit=args.synthesis_limit)
        table = write_report(name, points, store.rows(), args.out)
    except (StoreError, SweepError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    shared = ", ".join(f"{step} {summary.steps_run[step]} run / {summary.steps_saved[step]} "
                       f"saved" for step in summary.steps_run)
    print(f"[sweep] {summary.stored} stored, {summary.failed} failed, {summary.skipped} "
          f"already finished; {summary.wall_seconds:.1f} s on {summary.workers} workers, "
          f"{summary.work_seconds:.1f} s in steps; {shared}; engine overhead "
          f"{summary.overhead_per_point:.2f} worker-s per point; table {table}", flush=True)
    return 1 if summary.failed else 0


def main(argv=None):
    args = _arguments(argv)
    try:
        return _sweep(args)
    except KeyboardInterrupt:
        print("interrupted: finished points are kept in the store; rerun to go on",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
