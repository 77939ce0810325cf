"""The sweep on Dask distributed: per point, generation, a shared simulator build, the stages.

Tasks and their keys:

- ``generate-<config>``: elaborate the tile (:func:`hdl.emit.generate`) and return the
  SHA-256 of its Verilog; one per configuration.
- ``build-<sim>-<sha256>``: the simulator build of that Verilog in ``<build>/rtl/<sha>/``,
  one per distinct RTL, skipped when the directory holds an up-to-date build (a previous
  sweep's): points that share an RTL build it once.
- ``point-<digest>``: the :data:`~sweep.stages.STAGES` of one point, after its build.

The client stores each point as its task finishes (:mod:`sweep.store`), so that nothing
finished is lost when the sweep stops; a worker killed in a task has it rerun elsewhere by
Dask, and the store's key keeps the point once. Progress: one line per finished point and a
status line (done, running, failed, elapsed, remaining).
"""

import hashlib
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dask.distributed import Client, LocalCluster, as_completed

from hdl.emit import generate
from tb.launch import Design, build

from .stages import STAGES, PointWork, stage_record
from .store import FAILED, OK, PointRow

__all__ = ["SweepError", "SweepSummary", "StepError", "connect", "run_sweep"]

#: Seconds to wait for an existing scheduler before giving up.
CONNECT_TIMEOUT = "5s"


class SweepError(RuntimeError):
    """The sweep cannot run: no cluster, an unusable store (one line)."""


class StepError(RuntimeError):
    """A step of a point failed; the message is one line: the step, the error's first line."""


def _one_line(step, error):
    text = str(error).strip().splitlines()
    return f"{step}: {type(error).__name__}: {text[0] if text else 'no message'}"


@contextmanager
def connect(workers, scheduler=None):
    """A Dask client: of the scheduler at ``scheduler`` (an address, e.g.
    ``tcp://127.0.0.1:8786``) if given, else of a local cluster of ``workers`` processes with
    one thread each, on 127.0.0.1 and without a dashboard.

    Raises
    ------
    SweepError
        If the scheduler cannot be reached within :data:`CONNECT_TIMEOUT`.
    """
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as error:
            raise SweepError(f"scheduler {scheduler!r}: no connection within "
                             f"{CONNECT_TIMEOUT}: {str(error).splitlines()[0]}") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client


def generate_rtl(config):
    """SHA-256 (hex) of the Verilog generated for ``config``, and the seconds it took."""
    start = time.perf_counter()
    try:
        verilog = generate(config).verilog
    except Exception as error:
        raise StepError(_one_line("generate", error)) from None
    return hashlib.sha256(verilog.encode()).hexdigest(), time.perf_counter() - start


def build_rtl(config, sim, rtl_build):
    """Build ``config`` for ``sim`` under ``rtl_build`` (the tile GEMM testbench's model);
    the seconds spent, 0 if the directory's build was up to date."""
    try:
        return build(Design(config, "tb.tile_gemm_tb", sim == "verilator"), sim,
                     build=rtl_build)
    except Exception as error:
        raise StepError(_one_line("build", error)) from None


def run_point(point, build_seconds, work, stages):
    """Run ``stages`` on ``point`` (its build done, taking ``build_seconds``); return the
    records and the seconds of each stage by name."""
    del build_seconds   # a dependency only: the point runs after its build
    records, seconds = {}, {}
    work.directory.mkdir(parents=True, exist_ok=True)
    for stage in stages:
        start = time.perf_counter()
        try:
            records[stage.name] = stage_record(stage.run(point, work))
        except Exception as error:
            raise StepError(_one_line(stage.name, error)) from None
        seconds[stage.name] = round(time.perf_counter() - start, 3)
    return records, seconds


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did.

    Members
    -------
    points, skipped, stored, failed : int
        Points of the grid, already finished in the store, stored now, failed now.
    wall_seconds : float
        From the first submission to the last point stored.
    builds_run : int
        Simulator builds compiled (the others were shared or found up to date).
    builds_saved : int
        Points that needed a build minus ``builds_run``.
    work_seconds : float
        Seconds of generation, builds and stages, each shared step counted once.
    workers : int
        Workers of the cluster at the start.
    """
    points: int
    skipped: int
    stored: int
    failed: int
    wall_seconds: float
    builds_run: int
    builds_saved: int
    work_seconds: float
    workers: int

    @property
    def overhead_per_point(self):
        """Engine overhead per point run, in worker-seconds: the workers' wall time not spent
        in a step (scheduling, transfers, idle workers at the tail), over the points run."""
        ran = self.stored
        return (self.wall_seconds * self.workers - self.work_seconds) / ran if ran else 0.0


def _status(done, running, failed, total, elapsed):
    remaining = f"{elapsed / done * (total - done):.0f} s" if done else "unknown"
    return (f"[sweep] {done}/{total} done, {running} running, {failed} failed; "
            f"{elapsed:.0f} s elapsed, ~{remaining} remaining")


def run_sweep(points, store, client, build_root, stages=STAGES, out=None):
    """Run the points of ``points`` not finished in ``store`` on ``client``; store each.

    Parameters
    ----------
    points : list of SweepPoint
    store : sweep.store.ResultStore
    client : dask.distributed.Client
    build_root : Path
        Shared directory of the builds (``rtl/<sha>``) and the points' own (``points/``);
        every worker must see it at the same path.
    stages : sequence of sweep.stages.Stage
    out : file or None
        Where progress goes; stdout if None.

    Returns
    -------
    SweepSummary
    """
    out = out or sys.stdout
    build_root = Path(build_root).resolve()
    finished = store.finished()
    todo = [point for point in points if point.digest not in finished]
    workers = len(client.scheduler_info()["workers"])
    start = time.perf_counter()
    futures = as_completed()
    # Task key -> the points waiting for a generation, or the point of a point task.
    generated, builds, of_task = {}, {}, {}
    for point in todo:
        key = f"generate-{point.config.name}"
        if key not in generated:
            futures.add(client.submit(generate_rtl, point.config, key=key))
            generated[key] = []
        generated[key].append(point)
    work, done, failed, rtl = 0.0, 0, 0, {}

    def record(point, status, error, records, seconds):
        nonlocal done, failed
        stored = store.put(PointRow(point.digest, point.name, point.as_dict(), status, error,
                                    rtl.get(point.digest), records, seconds))
        done += status == OK and stored
        failed += status == FAILED
        verdict = "ok" if status == OK else f"FAILED {error}"
        # Point tasks the scheduler has given to workers (running, or next in a worker's queue).
        running = sum(key.startswith("point-") for keys in client.processing().values()
                      for key in keys)
        print(f"[sweep] {point.name}: {verdict}", file=out, flush=True)
        print(_status(done + failed, running, failed, len(todo),
                      time.perf_counter() - start), file=out, flush=True)

    for future in futures:
        key = future.key
        if key.startswith("generate-"):
            if future.status == "error":
                for point in generated[key]:
                    record(point, FAILED, str(future.exception()), {}, {})
                continue
            sha, seconds = future.result()
            work += seconds
            for point in generated[key]:
                rtl[point.digest] = sha
                rtl_build = build_root / "rtl" / sha[:16]
                build_key = f"build-{point.simulator}-{sha}"
                if build_key not in builds:
                    builds[build_key] = client.submit(build_rtl, point.config, point.simulator,
                                                      rtl_build, key=build_key)
                of_task[f"point-{point.digest}"] = point
                futures.add(client.submit(
                    run_point, point, builds[build_key],
                    PointWork(rtl_build, build_root / "points" / point.digest[:16]), stages,
                    key=f"point-{point.digest}"))
        else:
            point = of_task[key]
            if future.status == "error":
                record(point, FAILED, str(future.exception()), {}, {})
            else:
                records, seconds = future.result()
                work += sum(seconds.values())
                record(point, OK, None, records, seconds)
    built = [future.result() for future in builds.values() if future.status == "finished"]
    work += sum(built)
    runs = sum(seconds > 0 for seconds in built)
    needed = sum(1 for point in todo if point.digest in rtl)
    return SweepSummary(len(points), len(points) - len(todo), done, failed,
                        time.perf_counter() - start, runs, needed - runs, work, workers)

