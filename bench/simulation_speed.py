"""Simulation speed, side by side: the fast path, the cocotb path and the free-running harness,
and the build cold and cached, for int8 tiles and tiles of Trainium2's floating-point formats.

Writes ``<build>/bench/simulation_speed.json`` (a list of records, one per tile) and prints
(and writes as ``simulation_speed.md``) a table. Per tile, one GEMM of M = C, K = 8R, N = 512
(int8, or BF16 on a floating-point tile), every run checked bit- and cycle-exactly:

- ``harness_cycles_per_second``: the fast path (:mod:`tb.fast_tile`): simulated cycles over
  the seconds from writing the driver's job to having results and trace read back;
- ``cocotb_cycles_per_second``: the cocotb path (``tb.tile_gemm_tb``, per-cycle Python);
- ``free_running_cycles_per_second``: the harness clocked by its C++ driver alone, no loading,
  read-back or checking; ``free_running_cycles_per_cpu_second`` the same over the driver's CPU
  time, the figure to compare on a loaded machine;
- ``build_seconds_cold``: the fast path's Verilator build with an empty model store and ccache
  off; ``build_seconds_cached``: the same build again once the model store holds it (model
  fetched into the build directory). The cocotb path's model comes from the user's model
  store (built there the first time).

Verilator, hierarchical builds. The machine's load average is recorded beside each record:
the figures are wall-clock rates.

    python -m bench.simulation_speed --build build [--sizes 8,32,128]
"""

import os
import tempfile
import time
from pathlib import Path

from sim_models.stimulus import gemm_name, seeded_generator
from sim_models.cli import ArgumentParser
from sim_models.config import TRAINIUM2_FORMATS, TileConfig
from sim_models.program import INT8, MatmulFormat
from tb.characterize_tile import parse_sizes
from tb.fast_tile import FastTile, capacities_for
from tb.scenarios import tiled_gemm_scenario
from tb.tile_checks import check_gemm
from tb.tile_gemms import SEED, simulate_gemms

from .outputs import write_outputs

DEFAULT_SIZES = "8,32"
FOLDS = 8
MOVING_COLUMNS = 512
#: The matmul format of a floating-point tile's benchmark GEMM.
FLOAT_FORMAT = MatmulFormat("bf16", "bf16")
#: Goals of issue 21: float PE-cycles/s over int8's on the same size and path; the fast path
#: over free-running.
FLOAT_RATIO_GOAL, FAST_PATH_GOAL = 0.3, 0.5


def _shape(config):
    return config.cols, FOLDS * config.rows, MOVING_COLUMNS


def _format(config):
    return FLOAT_FORMAT if config.floating else INT8


def _scenario(config):
    """The benchmark GEMM of ``config``, with its seeded operands."""
    shape, matmul_format = _shape(config), _format(config)
    return tiled_gemm_scenario(config, shape, matmul_format,
                               seeded_generator(SEED, gemm_name(shape, matmul_format)))


def _built_tile(config, build, store, scenario):
    """The fast path of ``config`` (its memories sized to ``scenario``) built cold (model
    store ``store`` empty, ccache off) and again once the store holds the model (the model
    fetched into the build directory); the tile and both build seconds."""
    capacities = capacities_for(config, [scenario.program])
    tile = FastTile(config, build, store=store, compiler_cache=False, capacities=capacities)
    cold = tile.build()
    tile.directory.joinpath(tile.executable_name).unlink()
    start = time.perf_counter()
    tile = FastTile(config, build, store=store, capacities=capacities)
    tile.build()
    return tile, cold, time.perf_counter() - start


def _fast_path(tile, scenario):
    """Cycles of the benchmark GEMM ``scenario`` through the fast path ``tile``, checked; the
    harness's and the free-running cycles per second."""
    config = tile.config
    outcome = tile.run(scenario.program, run="speed")
    _, checked, matching = check_gemm(config, scenario, outcome)
    assert checked == matching, f"{config.name}: {checked - matching} handshakes off the model"
    return (outcome["cycles"], outcome["cycles"] / outcome["wall_seconds"],
            outcome["cycles"] / outcome["run_seconds"],
            outcome["cycles"] / outcome["run_cpu_seconds"])


def measure(config, build):
    """The record of one tile (see the module docstring)."""
    load_before = os.getloadavg()[0]
    scenario = _scenario(config)
    with tempfile.TemporaryDirectory(prefix="speed-store-") as store:
        tile, cold, cached = _built_tile(config, build, store, scenario)
        cycles, harness, free_running, free_running_cpu = _fast_path(tile, scenario)
    entries, _ = simulate_gemms(config, "verilator", [_shape(config)], build, hierarchical=True,
                                matmul_format=_format(config), run="speed",
                                cocotb=True)
    return {
        "rows": config.rows, "cols": config.cols, "formats": list(config.formats),
        "gemm_format": _format(config).name, "gemm_mkn": list(_shape(config)),
        "cycles": cycles,
        "harness_cycles_per_second": harness,
        "cocotb_cycles_per_second": entries[0]["simulated_cycles_per_second"],
        "free_running_cycles_per_second": free_running,
        "free_running_cycles_per_cpu_second": free_running_cpu,
        "build_seconds_cold": cold, "build_seconds_cached": cached,
        "load_average": [load_before, os.getloadavg()[0]],
    }


def _pe_rate(record, key):
    return record[key] * record["rows"] * record["cols"]


def format_report(records):
    lines = ["## Simulation speed (Verilator, hierarchical builds; checked runs)", "",
             "| tile | formats | GEMM M,K,N | cycles | fast path cycles/s | cocotb cycles/s | "
             "free-running cycles/s | per CPU second | fast / free-running | PE-cycles/s (fast; "
             "free-running per CPU s) | build cold s | build cached s | load avg |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|"]
    for r in records:
        lines.append(
            f"| {r['rows']}x{r['cols']} | {','.join(r['formats'])} | "
            f"{','.join(map(str, r['gemm_mkn']))} | {r['cycles']:,} | "
            f"{r['harness_cycles_per_second']:,.0f} | {r['cocotb_cycles_per_second']:,.0f} | "
            f"{r['free_running_cycles_per_second']:,.0f} | "
            f"{r['free_running_cycles_per_cpu_second']:,.0f} | "
            f"{r['harness_cycles_per_second'] / r['free_running_cycles_per_second']:.2f} | "
            f"{_pe_rate(r, 'harness_cycles_per_second') / 1e6:.1f} M; "
            f"{_pe_rate(r, 'free_running_cycles_per_cpu_second') / 1e6:.1f} M | "
            f"{r['build_seconds_cold']:.1f} | {r['build_seconds_cached']:.2f} | "
            f"{r['load_average'][0]:.1f}-{r['load_average'][1]:.1f} |")
    lines += ["", f"Goals: the fast path at least {FAST_PATH_GOAL} of free-running; "
              f"floating-point PE-cycles/s at least {FLOAT_RATIO_GOAL} of int8's on the same "
              f"size and path:", ""]
    by_size = {}
    for r in records:
        by_size.setdefault((r["rows"], r["cols"]), {})[r["formats"] == ["int8"]] = r
    for (rows, cols), pair in by_size.items():
        if len(pair) < 2:
            continue
        ratios = [pair[False][key] / pair[True][key] for key in (
            "harness_cycles_per_second", "cocotb_cycles_per_second",
            "free_running_cycles_per_second", "free_running_cycles_per_cpu_second")]
        verdict = "met" if min(ratios[0], ratios[3]) >= FLOAT_RATIO_GOAL else "MISSED"
        lines.append(f"- {rows}x{cols}: float / int8 PE-cycles/s: fast path {ratios[0]:.2f}, "
                     f"cocotb {ratios[1]:.2f}, free-running {ratios[2]:.2f} (per CPU second "
                     f"{ratios[3]:.2f}): {verdict}")
    return "\n".join(lines)


def main(argv=None):
    parser = ArgumentParser.for_module(__spec__.name, __doc__)
    parser.add_argument("--build", default="build", help="build directory")
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help=f"square tile sizes, comma-separated (default {DEFAULT_SIZES}; "
                             f"128 adds about 20 minutes of builds from nothing)")
    args = parser.parse_args(argv)
    try:
        configs = [config for size in parse_sizes(args.sizes)
                   for config in (size, TileConfig(size.rows, size.cols,
                                                   formats=TRAINIUM2_FORMATS))]
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    build = Path(args.build).resolve()
    records = []
    for config in configs:
        start = time.perf_counter()
        records.append(measure(config, build))
        print(f"[bench] simulation speed of {config.name} ({time.perf_counter() - start:.0f} s)",
              flush=True)
    write_outputs(build, "simulation_speed", records, format_report(records))


if __name__ == "__main__":
    main()
