"""GEMMs run on the RTL of a tile and recorded: the library under the tile characterization
(``python -m tb.characterize_tile``), the design-space sweep (``sweep``) and the tile benchmark
(``bench.tile_bench``).

:func:`simulate_gemms` builds a tile (unless up to date) and runs a list of GEMMs on it with
ideal streams (Verilator: the fast path, ``tb.fast_tile``, the HDL-side harness under its C++
driver; Icarus: the cocotb program ``tb.tile_gemm_tb``), each checked bit-exactly against the
golden model and handshake by handshake against the cycle model; :func:`run_record` turns one GEMM's results
entry into a :class:`sim_models.results.TileRun`.
"""

import json
import re
import time

from sim_models.program import INT8
from sim_models.results import TileRun
from sim_models.stimulus import gemm_name, seeded_generator
from sim_models.timing import tile_latency

from .fast_tile import FastTile, capacities_for
from .launch import Design, build_model_of, simulate
from .records import program_record
from .run_request import matmul_format_option
from .scenarios import tiled_gemm_scenario
from .tile_checks import check_gemm

__all__ = ["SEED", "build_gemm_model", "last_write_cycle", "run_record", "simulate_gemms",
           "verilation_seconds"]

#: Seed of the GEMMs' random operands (``sim_models.stimulus.characterization_gemm``).
SEED = 1
_BUILD_TIMES = "build_seconds.json"
_WALLTIME = re.compile(r"^- Verilator: Walltime ([0-9.]+) s", re.MULTILINE)


def verilation_seconds(build_log):
    """Seconds Verilator itself took in a build, read from the build log's reports.

    The last "Verilator: Walltime" report is the outermost run; in a hierarchical build it
    includes the runs of the blocks. None if the log holds no report.
    """
    times = _WALLTIME.findall(build_log)
    return float(times[-1]) if times else None


def last_write_cycle(config, entry):
    """Cycles up to and including the last PSUM write of a recorded run
    (``tb.records.record_program``).

    The last write lands ``TileLatency.fill_drain`` cycles after the last moving beat
    (``sim_models.timing``; R + C with one-cycle PEs), so this is the last multiply's last
    beat, measured on the ports, plus that plus one: the count that SCALE-Sim and similar
    models give, without the read-out of the results.
    """
    multiplies = [op for op in entry["operations"] if op["kind"] == "multiply"]
    return multiplies[-1]["last_beat"] + tile_latency(config).fill_drain + 1


def run_record(config, sim, entry, build_seconds, matmul_format=INT8):
    """The :class:`~sim_models.results.TileRun` of one GEMM, from its ``tb.tile_gemm_tb``
    results entry.

    ``build_seconds`` is the time of the build of the simulation model that ran it (shared
    by every run on that model); ``sim_seconds`` is the time spent simulating the GEMM alone;
    ``matmul_format`` the GEMM's formats.
    """
    m, k, n = entry["gemm_mkn"]
    return TileRun(
        config=config.name, rows=config.rows, cols=config.cols,
        psum_banks=config.psum_banks, psum_depth=config.psum_depth, sim=sim,
        m=m, k=k, n=n, macs=m * k * n,
        rtl_cycles=entry["total_cycles"], model_cycles=entry["model_cycles"],
        rtl_last_write_cycle=last_write_cycle(config, entry),
        handshakes_checked=entry["handshakes_checked"],
        handshakes_matching=entry["handshakes_matching"],
        bit_exact=entry["bit_exact"],
        build_seconds=build_seconds, sim_seconds=round(entry["wall_seconds"], 3),
        stationary_format=matmul_format.stationary, moving_format=matmul_format.moving,
        double_row=matmul_format.double_row, mx=matmul_format.mx)


def _recorded_times(path):
    """The build and Verilation seconds recorded in ``path`` when its model was built, or None
    (with a note, the file removed) if the file is corrupt: unknown times, not a traceback."""
    try:
        times = json.loads(path.read_text())
        if set(times) == {"build_seconds", "verilation_seconds"} and all(
                value is None or isinstance(value, (int, float)) for value in times.values()):
            return times
    except (OSError, ValueError, TypeError):
        pass
    print(f"[characterize] {path}: corrupt build times, recorded as unknown; removed",
          flush=True)
    path.unlink(missing_ok=True)
    return None


def _build_times(directory, model_build_time, sim):
    """Build, Verilation and C++ compile seconds of the model in ``directory``: measured now if
    it was built or taken from the model store (``model_build_time``, None otherwise), else as
    recorded when it was built (None where unknown)."""
    path = directory / _BUILD_TIMES
    times = {"build_seconds": None, "verilation_seconds": None}
    if model_build_time:
        log_path = directory / "build.log"
        log = log_path.read_text(errors="replace") if log_path.is_file() else ""
        times = {"build_seconds": round(model_build_time, 2), "verilation_seconds":
                 verilation_seconds(log) if sim == "verilator" else None}
        path.write_text(json.dumps(times) + "\n")
    elif path.is_file():
        times = _recorded_times(path) or times
    known = None not in times.values()
    compile_seconds = round(times["build_seconds"] - times["verilation_seconds"], 2) \
        if known else None
    return {**times, "compile_seconds": compile_seconds}


def _fast_tile(config, shapes, build, hierarchical, verilog, matmul_format):
    """The fast path's tile for the GEMMs ``shapes`` and their scenarios (operands of
    :data:`SEED`). The harness's memories hold what these GEMMs need, no more: at 128 x 128
    they are what its generation and build cost."""
    scenarios = [tiled_gemm_scenario(config, tuple(shape), matmul_format,
                                     seeded_generator(SEED, gemm_name(shape, matmul_format)))
                 for shape in shapes]
    tile = FastTile(config, build, hierarchical=hierarchical, verilog=verilog,
                    capacities=capacities_for(config, [s.program for s in scenarios]))
    return tile, scenarios


def _fast_gemms(config, shapes, build, hierarchical, verilog, matmul_format, run, results):
    """:func:`simulate_gemms` on the fast path (:mod:`tb.fast_tile`): the same GEMMs, checks
    and records, written to ``results`` as the cocotb path writes them; the entries and the
    build's times."""
    start = time.perf_counter()
    tile, scenarios = _fast_tile(config, shapes, build, hierarchical, verilog, matmul_format)
    tile.build()
    entries = []
    for shape, scenario in zip(shapes, scenarios):
        outcome = tile.run(scenario.program, run=run or "gemms")
        model, checked, matching = check_gemm(config, scenario, outcome)
        entries.append(program_record(
            config, "verilator", scenario.name, "ideal", scenario.program,
            outcome["transfers"], model, outcome["wall_seconds"],
            {"gemm_mkn": list(shape), "bit_exact": True, "handshakes_checked": checked,
             "handshakes_matching": matching}))
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    seconds = time.perf_counter() - start
    print(f"[simulate] {config.name} on verilator (fast path): {len(entries)} GEMMs bit- and "
          f"cycle-exact; build {tile.build_seconds:.1f} s, run "
          f"{seconds - tile.build_seconds:.1f} s; job files in {tile.directory}", flush=True)
    return entries, _build_times(tile.directory, tile.model_build_seconds, "verilator")


def build_gemm_model(config, sim, shapes, build, *, hierarchical=False, verilog=None,
                     matmul_format=INT8):
    """Build (unless up to date or in the model store) the model :func:`simulate_gemms` will
    run the GEMMs ``shapes`` on, with the same arguments, and run nothing: on Verilator the
    fast path's harness sized to those GEMMs, on Icarus the cocotb model. Return the seconds
    spent building (0 if none)."""
    if sim == "verilator":
        tile, _ = _fast_tile(config, shapes, build, hierarchical, verilog, matmul_format)
        return tile.build()
    return build_model_of(Design(config, "tb.tile_gemm_tb", hierarchical, verilog), sim,
                          build=build)


def simulate_gemms(config, sim, shapes, build, *, hierarchical=False, run=None, verilog=None,
                   matmul_format=INT8, cocotb=False):
    """Build ``config`` (unless up to date) and run the GEMMs ``shapes`` on it, all checked.

    Parameters
    ----------
    config : TileConfig
    sim : str
        ``"icarus"`` or ``"verilator"``.
    shapes : list of (int, int, int)
        GEMMs (M, K, N), with operands of seed :data:`SEED`.
    build : Path
        Build directory (:mod:`tb.launch`); the GEMMs' records go to
        ``<build>/results/tile_gemms/<case>_<sim>.jsonl``.
    hierarchical : bool
        Verilator only: compile each leaf module once (``--hierarchical``).
    matmul_format : MatmulFormat
        Formats of the GEMMs' operands, among the tile's.
    run : str or None
        Name of this run (its run directory and records file) for runs of one build that may
        overlap in time; one per configuration and simulator if None.
    verilog : Path or None
        The Verilog file of ``config`` already written (:attr:`tb.launch.Design.verilog`);
        generated if None.
    cocotb : bool
        Verilator: run through cocotb (``tb.tile_gemm_tb``) instead of the fast path.

    Raises
    ------
    ValueError
        If ``hierarchical`` is set for a simulator other than Verilator.
    AssertionError, RuntimeError
        From :func:`tb.launch.simulate`, if a check fails or the build fails.

    Returns
    -------
    (list of dict, dict)
        The results entry of each GEMM (``tb.records.record_program``), and the build's
        ``build_seconds``, ``verilation_seconds``, ``compile_seconds`` (the rest of the
        build: C++ compile and link) and ``build_args``.
    """
    design = Design(config, "tb.tile_gemm_tb", hierarchical, verilog)
    name = f"{design.case}_{sim}" + (f"_{run}" if run else "")
    results = build / "results" / "tile_gemms" / f"{name}.jsonl"
    if sim == "verilator" and not cocotb:
        entries, times = _fast_gemms(config, shapes, build, hierarchical, verilog,
                                     matmul_format, run, results)
        return entries, {**times, "build_args": design.build_args}
    options = {"shapes": [list(shape) for shape in shapes]}
    if matmul_format != INT8:
        options.update(matmul_format_option(matmul_format))
    outcome = simulate(design, sim, seed=SEED, build=build, results=results, options=options,
                       run=run)
    entries = [json.loads(line) for line in results.read_text().splitlines()]
    return entries, {**_build_times(outcome.build_dir, outcome.model_build_time, sim),
                     "build_args": design.build_args}
