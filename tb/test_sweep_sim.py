"""The sweep engine end to end: the smoke grid on a two-worker local cluster and three of its
points on a scheduler and two workers started as separate processes (same rows of the table),
a rerun that skips every finished point, a build that genuinely fails, a synthesis over its
time limit, a failing stage, a worker process killed in the middle of a task, and a local
cluster that leaves Dask's default HTTP port alone.

The smoke grid runs on Icarus here (its builds take a second; the shipped grid uses
Verilator); the fault tests use a tiny grid (one-column tiles with a PSUM of 8 entries), and
stand-in stages where what is checked is not what a real stage measures. Network: 127.0.0.1
only.
"""

import dataclasses
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from hdl.emit import generate
from sweep.engine import connect, run_sweep
from sweep.grid import parse_grid
from sweep.report import results_table, write_report
from sweep.stages import Stage
from sweep.store import FAILED, OK, ResultStore

REPOSITORY = Path(__file__).resolve().parent.parent
SMOKE = (REPOSITORY / "sweeps" / "smoke.toml").read_text().replace(
    'simulator = "verilator"', 'simulator = "icarus"')
#: Two one-column tiles with a PSUM of one bank of 8 (the default 8 x 512 PSUM costs Yosys
#: minutes per synthesis and Icarus seconds per run, and adds nothing these tests check).
TINY = """
[tile]
rows = [1, 2]
cols = [1]
psum_banks = [1]
psum_depth = [8]
[measure]
simulator = "icarus"
gemms = ["1x1x4"]
[projection]
system = "trn2-instance"
workloads = ["llama3-8b", "llama3-70b"]
"""
#: Seconds a separately started scheduler or worker may take to come up.
START_TIMEOUT = 60


def _sweep(points, store, client, build_root, stages=None, **options):
    """Run the sweep, its progress captured (not a terminal: one line per finished point); a
    sweep with stand-in ``stages`` synthesizes nothing."""
    out = io.StringIO()
    if stages:
        options = {"stages": stages, "synthesis": False, **options}
    summary = run_sweep(points, store, client, build_root, out=out, **options)
    return summary, out.getvalue()


@pytest.fixture(scope="module", autouse=True)
def own_model_store(tmp_path_factory):
    """The simulator models of this module's sweeps go to a store of their own
    (:mod:`tb.model_store`, under ``XDG_CACHE_HOME``), so that the builds the tests count are
    the sweeps' own on every run, not models an earlier run left in the user's store. Yosys's
    and nextpnr's compiled WebAssembly stays where it is (``YOWASP_CACHE_DIR``): compiling it
    again would cost minutes."""
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("YOWASP_CACHE_DIR",
                     os.environ.get("YOWASP_CACHE_DIR") or str(user_cache / "YoWASP"))
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def build_root(tmp_path_factory):
    return tmp_path_factory.mktemp("sweep")


@pytest.fixture(scope="module")
def local_run(build_root):
    points = parse_grid(SMOKE, "smoke")
    store = ResultStore(build_root / "local.sqlite")
    with connect(2) as client:
        summary, output = _sweep(points, store, client, build_root)
    return points, store, summary, output


def test_smoke_grid_on_a_local_cluster(local_run, build_root):
    points, store, summary, output = local_run
    rows = store.rows()
    assert [row.status for row in rows] == [OK] * 8, [row.error for row in rows]
    assert summary.workers == 2 and summary.stored == 8 and summary.failed == 0
    # Two points per RTL (its two workloads) share its build, synthesis and the simulation of
    # its GEMMs; all four RTLs one PE timing (int8).
    assert summary.steps_run == {"build": 4, "synthesis": 4, "pe_timing": 1, "measurement": 4}
    assert summary.steps_saved == {"build": 4, "synthesis": 4, "pe_timing": 7,
                                   "measurement": 4}
    assert len({row.rtl_sha256 for row in rows}) == 4
    gemms = {}
    for row in rows:
        assert gemms.setdefault(row.rtl_sha256, row.records["gemms"]) == row.records["gemms"]
    assert len(list(build_root.glob("measurements/*/simulate.log"))) == 4
    for row in rows:
        runs = row.records["gemms"]["runs"]
        assert len(runs) == 8 and all(run["rtl_cycles"] == run["model_cycles"] for run in runs)
        assert 0 < row.records["projection"]["mfu"] <= 1
        assert row.records["synthesis"]["transistors"] > 0
        assert row.records["pe_timing"]["pe_fmax_mhz"] > 0
        assert set(row.seconds) == {"generate", "build", "gemms", "projection", "synthesis",
                                    "pe_timing"}
    lines = output.splitlines()
    assert len(lines) == 8 and all(": ok (" in line for line in lines)
    assert lines[-1].endswith(" remaining")
    assert "); 8/8 done, 0 running, 0 failed; " in lines[-1]
    table = write_report("smoke", points, rows, build_root / "report")
    assert table.read_text().count("| ok |") == 8
    assert (build_root / "report" / "smoke_pareto.png").stat().st_size > 0


def _never(point, work):
    raise AssertionError(f"{point.name} ran again")


def test_rerun_skips_every_finished_point(local_run, build_root):
    points, store, _, _ = local_run
    with connect(2) as client:
        summary, output = _sweep(points, store, client, build_root, (Stage("gemms", _never),))
    assert (summary.skipped, summary.stored, summary.failed) == (8, 0, 0) and output == ""
    assert len(store.rows()) == 8


def _broken_for_two_rows(config):
    """The generated design of ``config``, its Verilog cut short for tiles of two rows: their
    simulator build fails."""
    design = generate(config)
    if config.rows != 2:
        return design
    return dataclasses.replace(design, verilog=design.verilog[:len(design.verilog) // 2])


def test_a_point_whose_build_fails_is_stored_with_its_error_and_the_others_go_on(tmp_path):
    points = parse_grid(TINY)
    store = ResultStore(tmp_path / "store.sqlite")
    with connect(2) as client:
        summary, output = _sweep(points, store, client, tmp_path,
                                 generator=_broken_for_two_rows)
    rows = store.rows()
    assert sorted(row.digest for row in rows) == sorted(point.digest for point in points)
    assert (summary.stored, summary.failed) == (2, 2)
    for row in rows:
        if row.point["config"]["rows"] == 2:
            assert row.status == FAILED and row.records == {}
            assert row.error.startswith("build: RuntimeError: Building systolic_tile_r2c1_")
            assert "failed; the log is" in row.error and "\n" not in row.error
        else:
            assert row.status == OK and row.error is None
            assert row.records["gemms"]["runs"][0]["rtl_cycles"] > 0
            assert row.records["synthesis"]["transistors"] > 0
    assert sum("FAILED build: RuntimeError" in line for line in output.splitlines()) == 2
    # One build per RTL: the broken one failed once for its two points (not counted as run).
    assert len(list((tmp_path / "rtl").glob("*/sim/icarus/*/build.log"))) == 2
    assert summary.steps_run["build"] == 1


def test_a_synthesis_over_its_time_limit_fails_its_points_in_one_line(tmp_path):
    """Real syntheses (and PE timings) against a stand-in point stage: what is checked is the
    limit's error and that the point's own stages still ran, not what they measured."""
    points = parse_grid(TINY)
    store = ResultStore(tmp_path / "store.sqlite")
    with connect(2) as client:
        summary, _ = _sweep(points, store, client, tmp_path,
                            (Stage("gemms", _rows_after_a_moment),), synthesis=True,
                            synthesis_limit=0.05)
    rows = store.rows()
    assert sorted(row.digest for row in rows) == sorted(point.digest for point in points)
    assert (summary.stored, summary.failed) == (0, 4)
    for row in rows:
        assert re.fullmatch(r"synthesis: SynthesisError: yosys on systolic_tile_r[12]c1_\w+ "
                            r"stopped at the time limit of 0.05 s; see \S+\.log", row.error), \
            row.error
        assert row.seconds["gemms"] > 0      # the point's own stages ran to their end


def _fails_for_two_rows(point, work):
    if point.config.rows == 2:
        raise RuntimeError("stand-in build failure\nsecond line")
    return {"rows": point.config.rows}


def _rows(point, work):
    return {"rows": point.config.rows}


def _rows_after_a_moment(point, work):
    """A stand-in stage that takes long enough (10 ms) for its seconds to be recorded."""
    time.sleep(0.01)
    return _rows(point, work)


def test_a_failing_point_is_stored_with_its_error_and_the_others_go_on(tmp_path):
    points = parse_grid(TINY)
    store = ResultStore(tmp_path / "store.sqlite")
    with connect(2) as client:
        summary, _ = _sweep(points, store, client, tmp_path,
                            (Stage("gemms", _fails_for_two_rows),))
        assert (summary.stored, summary.failed) == (2, 2)
        failed = [row for row in store.rows() if row.status == FAILED]
        assert [row.error for row in failed] == [
            "gemms: RuntimeError: stand-in build failure"] * 2
        summary, _ = _sweep(points, store, client, tmp_path, (Stage("gemms", _rows),))
    assert (summary.skipped, summary.stored, summary.failed) == (2, 2, 0)
    assert [row.status for row in store.rows()] == [OK] * 4


def test_a_local_cluster_leaves_port_8787_alone():
    """Dask serves HTTP even without a dashboard, by default on 8787: with that port taken
    (another sweep, another test process) it would warn and move; the sweep's takes a free
    port of 127.0.0.1 from the start."""
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:
            pass   # taken already, which is the case under test too
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with connect(1) as client:
                http = client.cluster.scheduler.http_server
    assert not [str(item.message) for item in caught if "already in use" in str(item.message)]
    assert http.port != 8787 and http.address == "127.0.0.1"


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory):
    """A ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1 (no nanny, so that
    a killed worker stays dead); yields the address and the worker processes."""
    directory = tmp_path_factory.mktemp("dask")
    dask = Path(sys.executable).parent / "dask"
    scheduler_file = directory / "scheduler.json"
    processes = []

    def start(name, *arguments):
        log = open(directory / f"{name}.log", "w")
        processes.append(subprocess.Popen([dask, *arguments], stdout=log,
                                          stderr=subprocess.STDOUT, cwd=REPOSITORY))
        return processes[-1]

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file))
        deadline = time.monotonic() + START_TIMEOUT
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [start(f"worker{i}", "worker", address, "--nthreads", "1", "--no-nanny",
                         "--host", "127.0.0.1", "--no-dashboard", "--dashboard-address",
                         "127.0.0.1:0") for i in range(2)]
        with connect(1, address) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
        yield address, workers
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_smoke_grid_on_separate_processes_gives_the_same_table(local_run, dask_processes,
                                                               build_root):
    """Three points of the smoke grid over two RTLs (both workers busy, one RTL's build and
    synthesis shared by two points), every step real: their rows of the table are the local
    cluster's. The other five would redo the same kind of work at the same sizes."""
    points, local_store, _, _ = local_run
    address, _ = dask_processes
    chosen = [point for point in points if point.config.rows == 2][:3]
    assert len({point.config for point in chosen}) == 2
    store = ResultStore(build_root / "processes.sqlite")
    with connect(1, address) as client:
        summary, _ = _sweep(chosen, store, client, build_root)
    assert summary.workers == 2 and summary.stored == 3 and summary.failed == 0
    assert summary.steps_run["synthesis"] == 2 and summary.steps_saved["synthesis"] == 1
    assert summary.steps_run["measurement"] == 2 and summary.steps_saved["measurement"] == 1
    assert results_table(chosen, store.rows()) == results_table(chosen, local_store.rows())


def _dies_once(point, work):
    marker = work.directory.parent.parent / "killed"
    if point.config.rows == 2 and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return {"rows": point.config.rows, "pid": os.getpid()}


def test_a_worker_killed_mid_task_loses_and_duplicates_nothing(dask_processes, tmp_path):
    address, workers = dask_processes
    points = parse_grid(TINY)
    store = ResultStore(tmp_path / "store.sqlite")
    with connect(1, address) as client:
        summary, _ = _sweep(points, store, client, tmp_path, (Stage("gemms", _dies_once),))
    killed = int((tmp_path / "killed").read_text())
    assert killed in [worker.pid for worker in workers]
    assert next(worker for worker in workers if worker.pid == killed).wait(timeout=10) == \
        -signal.SIGKILL
    rows = store.rows()
    assert (summary.stored, summary.failed) == (4, 0)
    assert sorted(row.digest for row in rows) == sorted(point.digest for point in points)
    assert all(row.status == OK and row.records["gemms"]["pid"] != killed for row in rows)
