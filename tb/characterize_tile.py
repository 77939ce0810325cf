"""Tile characterization: cycles of GEMMs of many shapes, measured on the RTL, for the scaling
model.

Each configuration is built once and runs a set of GEMMs (``tb.tile_gemm_tb``) with ideal
streams; every run is checked bit-exactly against the golden model and handshake by handshake
against the cycle model before it is recorded. The file written is a
:class:`sim_models.results.TileCharacterization`: the runs, and per configuration the SHA-256
of the Verilog simulated and of what it was checked against, by which the report tells whether
the file is current. With ``--dated`` it also holds the date and, per model, the simulator's
build arguments and the Verilation and C++ compile seconds.

    python -m tb.characterize_tile --build build --sizes 4,8,16,32,8x16 --sim verilator \\
        --out build/characterization/tile.json
    python -m tb.characterize_tile --build build --sizes 128 --dated \\
        --out characterization/r128c128_verilator.json
    python -m tb.characterize_tile --build build --sizes 32 \\
        --formats bf16,fp16,fp8_e4m3,fp8_e5m2 --out build/characterization/tile_fp.json
    python -m tb.characterize_tile --build build --sizes 128 \\
        --formats bf16,fp16,fp8_e4m3,fp8_e5m2 --dated \\
        --out characterization/r128c128_trn2_verilator.json

A tile of floating-point formats runs its GEMMs once per format
(:func:`sim_models.checked.characterization_formats`: each format, then FP8 double-row with
K doubled), one build serving all.

Verilator builds are hierarchical (``--hierarchical``, the leaf modules of ``hdl.leaf`` as
hierarchical blocks): each column module is Verilated and compiled once instead of once per
instance, which takes a 32 x 32 build from about 180 s to 40 s and makes 128 x 128 feasible.
"""

import datetime
import json
import re
from pathlib import Path

from sim_models.checked import (characterization_formats, characterization_shapes,
                                tile_checked_digest)
from sim_models.cli import ArgumentParser
from sim_models.config import TileConfig, config_to_dict, module_name
from sim_models.program import INT8
from sim_models.results import (ModelBuild, SimulatedDesign, TileCharacterization, TileRun,
                                save)
from sim_models.staleness import file_sha256

from .launch import Design, exit_on_failure, simulate, verilog_path
from .run_request import matmul_format_option

__all__ = ["SEED", "last_write_cycle", "parse_shapes", "parse_sizes", "run_record",
           "simulate_gemms", "verilation_seconds"]

#: Seed of the GEMMs' random operands (``sim_models.checked.characterization_gemm``).
SEED = 1
_BUILD_TIMES = "build_seconds.json"
_WALLTIME = re.compile(r"^- Verilator: Walltime ([0-9.]+) s", re.MULTILINE)


def parse_sizes(text, formats=("int8",)):
    """Tile configurations of a ``--sizes`` text: ``S`` for S x S, ``RxC`` for R rows, C cols,
    each with the operand ``formats``.

    Raises
    ------
    ValueError
        If an item is neither form.
    TypeError
        From :class:`TileConfig`, if a size is out of range.
    """
    configs = []
    for item in text.split(","):
        sizes = item.strip().split("x")
        if len(sizes) not in (1, 2) or not all(size.isdigit() for size in sizes):
            raise ValueError(f"Parameter 'sizes' items must be S or RxC with integers, "
                             f"not {item!r}")
        rows, cols = int(sizes[0]), int(sizes[-1])
        configs.append(TileConfig(rows, cols, formats=formats))
    return configs


def parse_shapes(text):
    """The ``(M, K, N)`` tuples of a ``--shapes`` text, e.g. ``"16x64x512,32x32x512"``.

    Raises
    ------
    ValueError
        If an item is not MxKxN with positive integers.
    """
    shapes = []
    for item in text.split(","):
        sizes = item.split("x")
        if len(sizes) != 3 or not all(size.isdigit() and int(size) > 0 for size in sizes):
            raise ValueError(f"Parameter 'shapes' items must be MxKxN with positive integers, "
                             f"not {item!r}")
        shapes.append(tuple(int(size) for size in sizes))
    return shapes


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

    The last write lands R + C cycles after the last moving beat (``hdl.tile``), so this is
    the last multiply's last beat, measured on the ports, plus R + C + 1: the count that
    SCALE-Sim and similar models give, without the read-out of the results.
    """
    multiplies = [op for op in entry["operations"] if op["kind"] == "multiply"]
    return multiplies[-1]["last_beat"] + config.rows + config.cols + 1


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
        double_row=matmul_format.double_row)


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


def _build_times(directory, outcome):
    """Build, Verilation and C++ compile seconds of the model in ``directory``: measured now if
    it was built or taken from the model store, else as recorded when it was built (None where
    unknown)."""
    path = directory / _BUILD_TIMES
    times = {"build_seconds": None, "verilation_seconds": None}
    if outcome.model_build_time:
        log_path = directory / "build.log"
        log = log_path.read_text(errors="replace") if log_path.is_file() else ""
        times = {"build_seconds": round(outcome.model_build_time, 2), "verilation_seconds":
                 verilation_seconds(log) if outcome.sim == "verilator" else None}
        path.write_text(json.dumps(times) + "\n")
    elif path.is_file():
        times = _recorded_times(path) or times
    known = None not in times.values()
    compile_seconds = round(times["build_seconds"] - times["verilation_seconds"], 2) \
        if known else None
    return {**times, "compile_seconds": compile_seconds}


def simulate_gemms(config, sim, shapes, build, *, hierarchical=False, run=None, verilog=None,
                   matmul_format=INT8):
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
    options = {"shapes": [list(shape) for shape in shapes]}
    if matmul_format != INT8:
        options.update(matmul_format_option(matmul_format))
    outcome = simulate(design, sim, seed=SEED, build=build, results=results, options=options,
                       run=run)
    entries = [json.loads(line) for line in results.read_text().splitlines()]
    return entries, {**_build_times(outcome.build_dir, outcome),
                     "build_args": design.build_args}


def characterize(configs, sim, build, shapes=None, hierarchical=False, dated=False):
    """Run the characterization; return its :class:`~sim_models.results.TileCharacterization`.

    Each configuration's design record holds the SHA-256 of the Verilog file its model was
    built from and :func:`~sim_models.checked.tile_checked_digest` of its GEMMs, in every
    format of :func:`~sim_models.checked.characterization_formats` (the same ``shapes`` in
    each, if given).
    """
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    runs, designs, builds = [], [], {}
    for config in configs:
        config_runs = []
        for matmul_format in characterization_formats(config):
            gemms = shapes or characterization_shapes(config, matmul_format)
            print(f"[characterize] {config.name} in {matmul_format.name} on {sim}: "
                  f"{len(gemms)} GEMMs ...", flush=True)
            entries, times = simulate_gemms(
                config, sim, gemms, build, hierarchical=hierarchical,
                matmul_format=matmul_format,
                run=None if matmul_format == INT8 else matmul_format.name)
            builds.setdefault(config.name, ModelBuild(
                **{**times, "build_args": tuple(times["build_args"])}))
            for entry in entries:
                run = run_record(config, sim, entry, builds[config.name].build_seconds,
                                 matmul_format)
                config_runs.append(run)
                print(f"[characterize] {config.name} {matmul_format.name} "
                      f"M,K,N={run.m},{run.k},{run.n}: RTL {run.rtl_cycles} cycles, model "
                      f"{run.model_cycles}, {run.handshakes_matching}/"
                      f"{run.handshakes_checked} handshakes, simulated in "
                      f"{run.sim_seconds:.1f} s", flush=True)
        designs.append(SimulatedDesign(
            config_to_dict(config), module_name(config), file_sha256(verilog_path(config, build)),
            tile_checked_digest(config, [run.shape for run in config_runs], SEED,
                                [run.matmul_format for run in config_runs])))
        runs += config_runs
    return TileCharacterization(SEED, tuple(designs), tuple(runs),
                                date if dated else None, builds if dated else None)


def main(argv=None):
    parser = ArgumentParser.for_module(__spec__.name, __doc__)
    parser.add_argument("--build", default="build", help="build directory")
    parser.add_argument("--sizes", default="4,8,16,32,8x16",
                        help="tiles: S for S x S, RxC for R rows by C columns (comma-separated)")
    parser.add_argument("--formats", default="int8",
                        help="operand formats of every tile, comma-separated: int8 (default), "
                             "or any of bf16, fp16, fp8_e4m3, fp8_e5m2")
    parser.add_argument("--sim", default="verilator", choices=("icarus", "verilator"),
                        help="simulator (default verilator)")
    parser.add_argument("--shapes", help="GEMMs MxKxN (comma-separated) instead of the "
                                         "standard set of each tile")
    parser.add_argument("--flat", action="store_true",
                        help="Verilator: compile every column instance, not the PE and PSUM "
                             "column modules once each (--hierarchical); slower to build")
    parser.add_argument("--dated", action="store_true",
                        help="add the date, and per model the build arguments and times")
    parser.add_argument("--out", default="build/characterization/tile.json",
                        help="results file to write (default build/characterization/tile.json)")
    args = parser.parse_args(argv)
    try:
        configs = parse_sizes(args.sizes, tuple(args.formats.split(",")))
        shapes = parse_shapes(args.shapes) if args.shapes else None
    except (TypeError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    hierarchical = args.sim == "verilator" and not args.flat
    with exit_on_failure():
        document = characterize(configs, args.sim, Path(args.build).resolve(), shapes,
                                hierarchical, args.dated)
        save(document, args.out)
    print(f"[characterize] {len(document.runs)} runs written to {args.out}", flush=True)


if __name__ == "__main__":
    main()
