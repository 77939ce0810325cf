"""The sweep on Dask distributed: each configuration elaborated once, its Verilog built,
synthesized and measured by tasks that share it.

Tasks and their keys (the functions are :mod:`sweep.tasks`'):

- ``generate-<config>``: elaborate the tile and write its Verilog to
  ``<build>/rtl/<sha256[:16]>/``; the only elaboration of the configuration in the sweep.
- ``build-<sim>-<sha256>``: the simulator build of that Verilog in the same directory, one per
  distinct RTL, skipped when the directory holds an up-to-date build (a previous sweep's).
- ``synthesis-<sha256>``: Yosys area figures of that Verilog, one per distinct RTL, under a
  time limit.
- ``pe-timing-<formats>-s<stages>``: the ECP5 fmax of one PE, one per operand format set and
  MAC depth.
- ``measurement-<digest>``: the shared stages (the checked GEMMs) of the points of one
  measurement (:attr:`~sweep.grid.SweepPoint.measurement_digest`: a tile, its simulator and
  GEMMs), after its build.
- ``point-<digest>``: the other :data:`~sweep.stages.STAGES` of one point, after its build.

Points that share an RTL share its build and its synthesis; points that differ only in their
workload also share the simulation of their GEMMs. The client stores a point as soon
as its tasks are all in (:mod:`sweep.store`), so that nothing finished is lost when the sweep
stops; a worker killed in a task has it rerun elsewhere by Dask, and the store's key keeps the
point once. A point's error is that of its first failed step, in the order above.
"""

import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dask.distributed import Client, LocalCluster, as_completed

from hdl.emit import generate

from .progress import Progress
from .stages import STAGES, PointWork
from .store import FAILED, OK, PointRow
from .tasks import StepError, build_rtl, generate_rtl, run_point, synthesize_rtl, time_pe
from .tools import SYNTHESIS_LIMIT

__all__ = ["SYNTHESIS_LIMIT", "SweepError", "SweepSummary", "connect", "run_sweep"]

#: Seconds to wait for an existing scheduler before giving up.
CONNECT_TIMEOUT = "5s"
#: Where a local cluster's scheduler serves HTTP (health and metrics; no dashboard): a free
#: port of the loopback interface.
_HTTP_ADDRESS = "127.0.0.1:0"
#: Seconds between two looks at finished tasks while none is ready.
POLL_SECONDS = 0.2
#: Every kind of task -> the prefix of its keys, ``<prefix><what it works on>``.
_KEY_PREFIXES = {"generate": "generate-", "build": "build-", "synthesis": "synthesis-",
                 "pe_timing": "pe-timing-", "measurement": "measurement-", "point": "point-"}
#: The kinds of task shared by the points of one RTL (or format set, or measurement).
_SHARED = ("build", "synthesis", "pe_timing", "measurement")
#: The kinds of task that run stages: their value is (records, seconds) by stage name.
_STAGE_TASKS = ("measurement", "point")


def _task_key(step, *parts):
    """The key of the task of kind ``step`` on ``parts`` (strings joined by hyphens)."""
    return _KEY_PREFIXES[step] + "-".join(parts)


def _step_of(key):
    """The kind of the task of ``key``."""
    return next(step for step, prefix in _KEY_PREFIXES.items() if key.startswith(prefix))


class SweepError(RuntimeError):
    """The sweep cannot run: no cluster, an unusable store (one line)."""


@contextmanager
def connect(workers, scheduler=None):
    """A Dask client: of the scheduler at ``scheduler`` (an address, e.g.
    ``tcp://127.0.0.1:8786``) if given, else of a local cluster of ``workers`` processes with
    one thread each, on 127.0.0.1 and without a dashboard. Its scheduler's HTTP endpoint (which
    Dask starts even without a dashboard) takes a free port of 127.0.0.1, not 8787: two local
    sweeps at once (two test processes) neither collide nor warn.

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
                      host="127.0.0.1", dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": _HTTP_ADDRESS}) as cluster, \
            Client(cluster) as client:
        yield client


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did.

    Members
    -------
    points, skipped, stored, failed : int
        Points of the grid, already finished in the store, stored as finished now, failed now.
    wall_seconds : float
        From the first submission to the last point stored.
    steps_run : dict
        Shared step (``"build"``, ``"synthesis"``, ``"pe_timing"``, ``"measurement"``) ->
        tasks of it that did the work (a build found up to date did not).
    steps_saved : dict
        Shared step -> points that got its result minus ``steps_run``: the runs that sharing
        (and, for builds, the up-to-date check) saved.
    work_seconds : float
        Seconds of all steps, each shared step counted once.
    workers : int
        Workers of the cluster at the start.
    """
    points: int
    skipped: int
    stored: int
    failed: int
    wall_seconds: float
    steps_run: dict
    steps_saved: dict
    work_seconds: float
    workers: int

    @property
    def overhead_per_point(self):
        """Engine overhead per point run, in worker-seconds: the workers' wall time not spent
        in a step (scheduling, transfers, idle workers at the tail), over the points run.
        With one worker: wall time minus the steps' seconds, over the points."""
        ran = self.stored + self.failed
        return (self.wall_seconds * self.workers - self.work_seconds) / ran if ran else 0.0


@dataclass
class _Pending:
    """A point in flight: the keys of the tasks it needs, in order, those not yet in, and what
    the others gave (records, seconds, and the one-line error of each that failed)."""
    point: object
    keys: list = field(default_factory=list)
    waiting: set = field(default_factory=set)
    records: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)


def _one_line(error):
    """A task's exception as one line (a :class:`~sweep.tasks.StepError` names its step)."""
    text = str(error).strip().splitlines()
    line = text[0] if text else "no message"
    return line if isinstance(error, StepError) else f"{type(error).__name__}: {line}"


class _Run:
    """The client's side of one sweep: every task submitted once under its key, the points
    waiting for their tasks, each point stored when its last task is in."""

    def __init__(self, client, store, build_root, total, out, options):
        self.client, self.store, self.build_root = client, store, build_root
        self.stages, self.synthesis, self.limit, self.generator = options
        self.futures = as_completed()
        # Task key -> its future; its outcome (ok, value or one-line error) once watched in;
        # the points waiting for it. Point digest -> its _Pending while in flight.
        self.tasks, self.outcomes, self.waiting_on, self.pending = {}, {}, {}, {}
        self.rtl_of = {}   # TileConfig -> SHA-256 of its Verilog
        self.uses = Counter()   # shared step -> points that needed it
        self.progress = Progress(total, out, self.running)

    def submit(self, key, function, *arguments, watch=True):
        """The future of task ``key``, submitted the first time only; ``watch``: its outcome
        is given to the points waiting for it (else it reaches them through a later task)."""
        if key not in self.tasks:
            self.tasks[key] = self.client.submit(function, *arguments, key=key)
            if watch:
                self.futures.add(self.tasks[key])
        return self.tasks[key]

    def running(self):
        """Points with a task on a worker now (running, or queued there)."""
        active = {key for keys in self.client.processing().values() for key in keys}
        return sum(any(key in active for key in entry.keys) for entry in self.pending.values())

    def start(self, point):
        """Submit the point's generation (shared by the points of its configuration)."""
        entry = self.pending[point.digest] = _Pending(point)
        key = _task_key("generate", point.config.name)
        self.submit(key, generate_rtl, point.config, self.build_root / "rtl", self.generator)
        self.wait_for(entry, key)

    def wait_for(self, entry, key):
        entry.keys.append(key)
        if key in self.outcomes:
            self.apply(entry, key)
        else:
            entry.waiting.add(key)
            self.waiting_on.setdefault(key, []).append(entry)

    def apply(self, entry, key):
        """Give the outcome of task ``key`` to ``entry``; a generation submits its next tasks."""
        entry.waiting.discard(key)
        ok, value = self.outcomes[key]
        step = _step_of(key)
        if not ok:
            entry.errors[key] = value
        elif step == "generate":
            self.generated(entry, value)
        elif step in _STAGE_TASKS:
            records, seconds = value
            entry.records.update(records)
            entry.seconds.update(seconds)
        else:
            entry.records[step], entry.seconds[step] = value

    def generated(self, entry, rtl):
        """Submit the tasks of ``entry``'s point on its generated ``rtl`` (a ``tasks.Rtl``)."""
        point = entry.point
        self.rtl_of[point.config] = rtl.sha256
        entry.seconds["generate"] = rtl.seconds
        self.uses.update(["build", "synthesis", "pe_timing"] if self.synthesis else ["build"])
        build = self.submit(_task_key("build", point.simulator, rtl.sha256), build_rtl,
                            point, rtl, watch=False)
        shared = tuple(stage for stage in self.stages if stage.shared)
        if shared:
            self.uses["measurement"] += 1
            measurement = point.measurement_digest
            key = _task_key("measurement", measurement)
            self.submit(key, run_point, point, build,
                        PointWork(rtl.verilog, self.build_root / "measurements" / measurement[:16]),
                        shared)
            self.wait_for(entry, key)
        key = _task_key("point", point.digest)
        self.submit(key, run_point, point, build,
                    PointWork(rtl.verilog, self.build_root / "points" / point.digest[:16]),
                    tuple(stage for stage in self.stages if not stage.shared))
        self.wait_for(entry, key)
        if self.synthesis:
            key = _task_key("synthesis", rtl.sha256)
            self.submit(key, synthesize_rtl, point.config, rtl, self.limit)
            self.wait_for(entry, key)
            pe = f"{'+'.join(point.config.formats)}-s{point.config.pe_stages}"
            key = _task_key("pe_timing", pe)
            self.submit(key, time_pe, point.config.formats, point.config.pe_stages,
                        self.build_root / "pe_timing" / pe, self.limit)
            self.wait_for(entry, key)

    def finish(self, future):
        """A watched task is done: its outcome to the points waiting for it; those done are
        stored."""
        key = future.key
        self.outcomes[key] = ((False, _one_line(future.exception()))
                              if future.status == "error" else (True, future.result()))
        for entry in self.waiting_on.pop(key, []):
            self.apply(entry, key)
            if not entry.waiting:
                self.put(entry)

    def put(self, entry):
        """Store ``entry``'s point: finished, or failed with its first failed task's error."""
        point = entry.point
        del self.pending[point.digest]
        error = next((entry.errors[key] for key in entry.keys if key in entry.errors), None)
        self.store.put(PointRow(point.digest, point.name, point.as_dict(),
                                OK if error is None else FAILED, error,
                                self.rtl_of.get(point.config),
                                entry.records if error is None else {}, entry.seconds))
        self.progress.finished(point.name, error, sum(entry.seconds.values()))

    def run(self, todo):
        """Submit ``todo`` (points), store each as its tasks come in; return the seconds from
        the first submission to the last point stored."""
        start = time.perf_counter()
        for point in todo:
            self.start(point)
        while not self.futures.is_empty():
            ready = self.futures.next_batch(block=False)
            if not ready:
                self.progress.tick()
                time.sleep(POLL_SECONDS)
            for future in ready:
                self.finish(future)
        self.progress.close()
        return time.perf_counter() - start

    def figures(self):
        """(steps run, steps saved, work seconds) of the run, as :class:`SweepSummary` has
        them; every task counted once."""
        run, work = dict.fromkeys(_SHARED, 0), 0.0
        builds = [future for key, future in self.tasks.items()
                  if _step_of(key) == "build" and future.status == "finished"]
        for seconds in self.client.gather(builds):
            work += seconds
            run["build"] += seconds > 0
        for key, (ok, value) in self.outcomes.items():
            if not ok:
                continue
            step = _step_of(key)
            if step == "generate":
                work += value.seconds
            elif step in _STAGE_TASKS:
                work += sum(seconds for stage, seconds in value[1].items() if stage != "build")
                run["measurement"] += step == "measurement"
            else:
                work += value[1]
                run[step] += 1
        return run, {step: self.uses[step] - run[step] for step in _SHARED}, work

    def release(self):
        """Let the scheduler forget every task of the run, so that a later run of the same
        points (a rerun in this client) submits them anew instead of finding their results."""
        for future in self.tasks.values():
            future.release()
        self.tasks.clear()


def run_sweep(points, store, client, build_root, stages=STAGES, out=None, *, synthesis=True,
              synthesis_limit=SYNTHESIS_LIMIT, generator=generate):
    """Run the points of ``points`` not finished in ``store`` on ``client``; store each.

    Parameters
    ----------
    points : list of SweepPoint
    store : sweep.store.ResultStore
    client : dask.distributed.Client
    build_root : Path
        Shared directory of the RTLs and their builds and synthesis files (``rtl/<sha>/``),
        the PE timings (``pe_timing/``), the measurements' directories (``measurements/``)
        and the points' own directories (``points/``); every worker must see it at the same
        path.
    stages : sequence of sweep.stages.Stage
        What runs per point, after its build.
    out : file or None
        Where progress goes (:class:`~sweep.progress.Progress`); stdout if None.
    synthesis : bool
        Synthesize each RTL and time a PE of each format set (records ``synthesis`` and
        ``pe_timing``).
    synthesis_limit : float or None
        Seconds one synthesis task (and one PE timing) may take; the points of an RTL whose
        synthesis meets it fail with that error, the others go on. None: no limit.
    generator : callable
        ``generator(config) -> hdl.emit.GeneratedDesign``: :func:`hdl.emit.generate`, or a
        test's stand-in (the seam for a build that genuinely fails).

    Returns
    -------
    SweepSummary
    """
    finished = store.finished()
    todo = [point for point in points if point.digest not in finished]
    workers = len(client.scheduler_info()["workers"])
    run = _Run(client, store, Path(build_root).resolve(), len(todo), out or sys.stdout,
               (stages, synthesis, synthesis_limit, generator))
    wall = run.run(todo)
    steps_run, steps_saved, work = run.figures()
    run.release()
    return SweepSummary(len(points), len(points) - len(todo), run.progress.done,
                        run.progress.failed, wall, steps_run, steps_saved, work, workers)
