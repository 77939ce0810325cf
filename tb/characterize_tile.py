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
    python -m tb.characterize_tile --build build --sizes 8 --formats trainium2 \\
        --formats trainium3 --out build/characterization/tile_float.json
    python -m tb.characterize_tile --build build --sizes 128 --formats trainium3 \\
        --steady-state --dated --out characterization/r128c128_trn3_verilator.json

A tile of floating-point formats runs its GEMMs once per format
(:func:`sim_models.stimulus.characterization_formats`: each format, then FP8 double-row with
K doubled, then on a tile with MX mode each MX element format in MX mode, K quadrupled, with
random block scales), one build serving all.

Verilator builds are hierarchical (``--hierarchical``, the leaf modules of ``hdl.leaf`` as
hierarchical blocks): each column module is Verilated and compiled once instead of once per
instance, which takes a 32 x 32 build from about 180 s to 40 s and makes 128 x 128 feasible.
"""

import datetime
from pathlib import Path

from sim_models.cli import ArgumentParser
from sim_models.config import (FORMAT_SETS, TileConfig, config_to_dict, module_name,
                               parse_formats)
from sim_models.digests import tile_checked_digest
from sim_models.program import INT8
from sim_models.results import ModelBuild, SimulatedDesign, TileCharacterization, save
from sim_models.staleness import file_sha256
from sim_models.stimulus import (characterization_formats, characterization_shapes,
                                 steady_state_shapes)

from .launch import exit_on_failure, verilog_path
from .step_log import StepLog
from .tile_gemms import SEED, run_record, simulate_gemms

__all__ = ["characterize", "main", "parse_shapes", "parse_sizes", "tile_configs"]


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


def tile_configs(sizes, format_sets):
    """The tiles of ``--sizes`` text ``sizes`` in each ``--formats`` text of ``format_sets``
    (:func:`sim_models.config.parse_formats`), in that order: ``("8", ["trainium2",
    "trainium3"])`` gives Trainium2's and Trainium3's 8 x 8 tiles, one file holding both."""
    return [config for formats in format_sets
            for config in parse_sizes(sizes, parse_formats(formats))]


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


def _summary(config, matmul_format, sim, runs, seconds):
    """The console line of one tile in one format: its GEMMs, how many passed each check, and
    the step's wall time (s, the simulator build included when it was built)."""
    exact = sum(run.bit_exact for run in runs)
    timed = sum(run.rtl_cycles == run.model_cycles for run in runs)
    return (f"[characterize] {config.name} in {matmul_format.label} on {sim}: {len(runs)} "
            f"GEMMs, {exact} bit-exact, {timed} at the model's cycles ({seconds:.1f} s)")


def characterize(configs, sim, build, log, shapes=None, hierarchical=False, dated=False,
                 steady_state=False):
    """Run the characterization; return its :class:`~sim_models.results.TileCharacterization`.

    Each configuration's design record holds the SHA-256 of the Verilog file its model was
    built from and :func:`~sim_models.digests.tile_checked_digest` of its GEMMs, in every
    format of :func:`~sim_models.stimulus.characterization_formats`: the same ``shapes`` in
    each if given, else with ``steady_state`` only each format's two GEMMs of
    :func:`~sim_models.stimulus.steady_state_shapes` (what a MACs per PE per cycle is measured
    from), else its standard set. The console gets one line per tile and format; each
    simulation's line and each GEMM's cycles go to ``log`` (a :class:`tb.step_log.StepLog`).
    """
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    runs, designs, builds = [], [], {}
    for config in configs:
        config_runs = []
        for matmul_format in characterization_formats(config):
            gemms = shapes or (steady_state_shapes if steady_state else
                               characterization_shapes)(config, matmul_format)
            format_runs = []
            with log.step() as timing:
                entries, times = simulate_gemms(
                    config, sim, gemms, build, hierarchical=hierarchical,
                    matmul_format=matmul_format,
                    run=None if matmul_format == INT8 else matmul_format.name)
                builds.setdefault(config.name, ModelBuild(
                    **{**times, "build_args": tuple(times["build_args"])}))
                for entry in entries:
                    run = run_record(config, sim, entry, builds[config.name].build_seconds,
                                     matmul_format)
                    format_runs.append(run)
                    print(f"[characterize] {config.name} {matmul_format.label} "
                          f"M,K,N={run.m},{run.k},{run.n}: RTL {run.rtl_cycles} cycles, model "
                          f"{run.model_cycles}, {run.handshakes_matching}/"
                          f"{run.handshakes_checked} handshakes, simulated in "
                          f"{run.sim_seconds:.1f} s", flush=True)
            print(_summary(config, matmul_format, sim, format_runs, timing["seconds"]),
                  flush=True)
            config_runs += format_runs
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
    parser.add_argument("--formats", action="append",
                        help="operand formats of every tile, comma-separated: int8 (default), "
                             "or any of bf16, fp16, fp8_e4m3, fp8_e5m2, fp8_e4m3fn, fp4_e2m1, or "
                             f"a set by name: {', '.join(FORMAT_SETS)}; repeated, each size in "
                             "each (one file holding Trainium2's and Trainium3's tiles)")
    parser.add_argument("--sim", default="verilator", choices=("icarus", "verilator"),
                        help="simulator (default verilator)")
    parser.add_argument("--shapes", help="GEMMs MxKxN (comma-separated) instead of the "
                                         "standard set of each tile")
    parser.add_argument("--steady-state", action="store_true",
                        help="only each format's two steady-state GEMMs, whose difference "
                             "measures its MACs per PE per cycle (a 128 x 128 tile of "
                             "Trainium3's formats runs its standard set in about 3 CPU-hours)")
    parser.add_argument("--flat", action="store_true",
                        help="Verilator: compile every column instance, not the PE and PSUM "
                             "column modules once each (--hierarchical); slower to build")
    parser.add_argument("--dated", action="store_true",
                        help="add the date, and per model the build arguments and times")
    parser.add_argument("--out", default="build/characterization/tile.json",
                        help="results file to write (default build/characterization/tile.json)")
    args = parser.parse_args(argv)
    try:
        configs = tile_configs(args.sizes, args.formats or ["int8"])
        shapes = parse_shapes(args.shapes) if args.shapes else None
        if shapes and args.steady_state:
            raise ValueError(f"Parameter 'steady-state' cannot go with 'shapes' "
                             f"({args.shapes!r}); allowed: one of them")
    except (TypeError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    hierarchical = args.sim == "verilator" and not args.flat
    log = StepLog(Path(args.build) / "logs" / f"characterize_{Path(args.out).stem}.log")
    with exit_on_failure():
        try:
            document = characterize(configs, args.sim, Path(args.build).resolve(), log, shapes,
                                    hierarchical, args.dated, args.steady_state)
        finally:
            log.close()
        save(document, args.out)
    print(f"[characterize] {len(document.runs)} runs written to {args.out}; each simulation "
          f"and GEMM in {log.path}", flush=True)


if __name__ == "__main__":
    main()
