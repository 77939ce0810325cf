"""Tile benchmark: utilization, SCALE-Sim comparison, generation cost and simulation speed.

Writes ``<build>/bench/tile_bench.json`` and prints (and writes as ``tile_bench.md``) a table.

- Steady-state utilization: a GEMM of M = C, K = 8R, N = 512, so every multiply brings a new
  stationary (the tiler's K-chunks), simulated in Verilator and checked bit- and cycle-exactly.
  Steady state is the window from the first beat of the second multiply to the last beat of
  the second-to-last one: useful MACs over R x C x window cycles. Goal 100%, at least 99.5%.
- The same GEMM's cycles beside SCALE-Sim's weight-stationary estimate (2R + C + T - 2
  cycles per fold, T = N), as ratios: to the last PSUM write (what SCALE-Sim counts) and with
  the read-out of the N result vectors, which a lone GEMM cannot overlap.
- Verilog generation time (s) and peak memory (MiB), each size in a fresh process. Goal:
  128 x 128 in at most 30 s.
- Simulated cycles per second of each simulator on the same GEMM at 8 x 8 and 16 x 16 (Icarus
  through cocotb, Verilator on the fast path; ``bench.simulation_speed`` compares the paths).
- Floating-point formats, on a 32 x 32 tile of Trainium2's formats: the same GEMM (K = 8R, or
  16R in FP8 double-row mode) in each format, checked bit- and cycle-exactly; steady-state
  utilization against the mode's peak and the measured MACs per PE per cycle (expected 1 for
  BF16 and FP16, 2 in FP8 double-row mode); the Verilog generation and Verilator build
  seconds of that tile.
- MX mode, on the 8 x 8 tile of Trainium3's formats (``r8c8_trn3``): the same GEMM in MXFP8
  E4M3FN (K = 8 passes of 4R, E8M0 scales), measured the same way (expected 4 MACs per PE per
  cycle).

    python -m bench.tile_bench --build build
"""

import json
import subprocess
import sys
from pathlib import Path

from sim_models.cli import ArgumentParser
from sim_models.config import TRAINIUM2_FORMATS, TRAINIUM3_FORMATS, TileConfig
from sim_models.cycle_model import scale_sim_fold_cycles
from sim_models.program import INT8, MatmulFormat
from sim_models.stimulus import characterization_formats
from tb.tile_gemms import last_write_cycle, simulate_gemms

from .outputs import write_outputs

UTILIZATION_SIZES = (4, 16, 32)
SPEED_SIZES = (8, 16)
GENERATION_SIZES = (32, 64, 128)
FOLDS = 8
MOVING_COLUMNS = 512
UTILIZATION_GOAL, UTILIZATION_FLOOR = 1.0, 0.995
GENERATION_GOAL_SECONDS = 30.0
#: The floating-point tile of the benchmark: 32 x 32 with Trainium2's formats.
FLOAT_CONFIG = TileConfig(32, 32, formats=TRAINIUM2_FORMATS)
#: The MX tile of the benchmark and its mode: the named 8 x 8 tile of Trainium3's formats (an
#: MX PE costs Verilator more build time than a Trainium2 one; the mode's MACs per PE per cycle
#: do not depend on the size), MXFP8 E4M3FN (every MX element pair takes the same cycles).
MX_CONFIG = TileConfig(8, 8, formats=TRAINIUM3_FORMATS)
MX_FORMATS = (MatmulFormat("fp8_e4m3fn", "fp8_e4m3fn", mx=True),)


def _gemm_shape(config, matmul_format=INT8):
    return config.cols, FOLDS * config.rows * matmul_format.rows_per_pe, MOVING_COLUMNS


def run_gemm(config, sim, build, matmul_format=INT8, hierarchical=False):
    """Simulate the benchmark GEMM on ``config`` with ``sim`` in ``matmul_format`` (Verilator:
    ``hierarchical`` builds each leaf module once); return its results record and the build's
    times."""
    entries, times = simulate_gemms(config, sim, [_gemm_shape(config, matmul_format)], build,
                                    hierarchical=hierarchical, matmul_format=matmul_format,
                                    run=None if matmul_format == INT8 else matmul_format.name)
    return entries[0], times


def utilization_figures(config, entry, matmul_format=INT8):
    """Steady-state and whole-GEMM utilization, the SCALE-Sim ratio and the measured MACs per
    PE per cycle (steady state) of one record; both utilizations are against the mode's peak,
    R x C MACs per cycle times the contraction indices a PE row takes a cycle (2 in FP8
    double-row mode, 4 in MX mode)."""
    multiplies = [op for op in entry["operations"] if op["kind"] == "multiply"]
    window = multiplies[1:-1]
    window_cycles = window[-1]["last_beat"] - window[0]["first_beat"] + 1
    window_macs = sum(op["macs"] for op in window)
    pes = config.rows * config.cols
    shape = _gemm_shape(config, matmul_format)
    scale_sim = scale_sim_fold_cycles(config, *shape)
    array_cycles = last_write_cycle(config, entry)
    return {
        "config": config.name, "format": matmul_format.name, "gemm_mkn": list(shape),
        "macs_per_pe_per_cycle": window_macs / (pes * window_cycles),
        "expected_macs_per_pe_per_cycle": matmul_format.rows_per_pe,
        "steady_state_utilization": window_macs / (
            pes * matmul_format.rows_per_pe * window_cycles),
        # The record's utilization is against R x C; the mode's peak is rows_per_pe times it.
        "gemm_utilization": entry["utilization"] / matmul_format.rows_per_pe,
        "array_cycles": array_cycles, "gemm_cycles": entry["total_cycles"],
        "model_cycles": entry["model_cycles"], "scale_sim_cycles": scale_sim,
        "array_cycles_over_scale_sim": array_cycles / scale_sim,
        "gemm_cycles_over_scale_sim": entry["total_cycles"] / scale_sim,
    }


def generation_figures(config):
    """Seconds and peak MiB of generating the tile ``config``, in a fresh Python process."""
    output = subprocess.run([sys.executable, "-m", "bench.generation_probe", str(config.rows),
                             str(config.cols), ",".join(config.formats)],
                            check=True, capture_output=True, text=True).stdout
    return {"config": f"{config.rows}x{config.cols}", **json.loads(output.splitlines()[-1])}


def mode_figures(config, formats, build):
    """Per matmul format of ``formats`` on ``config``, the benchmark GEMM's figures (Verilator,
    hierarchical build), and the tile's generation and Verilator build seconds."""
    rows, times = [], None
    for matmul_format in formats:
        print(f"[bench] simulating {config.name} in {matmul_format.name} on verilator ...",
              flush=True)
        entry, build_times = run_gemm(config, "verilator", build, matmul_format,
                                      hierarchical=True)
        times = times or build_times
        rows.append(utilization_figures(config, entry, matmul_format))
    return {"config": config.name, "formats": rows,
            "verilator_build_seconds": times["build_seconds"],
            "generation": generation_figures(config)}


def _modes_report(sections):
    """The table of MACs per PE per cycle of every mode (``mode_figures`` of each tile) and a
    line per tile on its generation and build."""
    lines = ["", "## MACs per PE per cycle by mode (Verilator, checked runs)", "",
             "| tile | format | GEMM M,K,N | MACs per PE per cycle (steady state) | expected | "
             "steady-state util. of the mode's peak | GEMM cycles |",
             "|---|---|---|---:|---:|---:|---:|"]
    for section in sections:
        for row in section["formats"]:
            lines.append(f"| {row['config']} | {row['format']} | "
                         f"{','.join(map(str, row['gemm_mkn']))} | "
                         f"{row['macs_per_pe_per_cycle']:.4f} | "
                         f"{row['expected_macs_per_pe_per_cycle']} | "
                         f"{row['steady_state_utilization']:.2%} | {row['gemm_cycles']:,} |")
    lines.append("")
    for section in sections:
        generation, build = section["generation"], section["verilator_build_seconds"]
        lines.append(f"{section['config']}: Verilog generation {generation['seconds']:.1f} s "
                     f"({generation['bytes']:,} bytes, peak {generation['peak_mib']:.0f} MiB); "
                     f"Verilator build " + (f"{build:.0f} s" if build else
                                            "up to date, not measured") +
                     " (hierarchical: each leaf module compiled once).")
    return lines


def format_report(figures):
    lines = ["## Steady-state utilization and SCALE-Sim comparison (Verilator, checked runs)", "",
             "| tile | GEMM M,K,N | steady-state util. | goal | GEMM util. | cycles to last "
             "PSUM write | with read-out | SCALE-Sim WS cycles | ours / SCALE-Sim (write; "
             "read-out) |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for row in figures["utilization"]:
        util = row["steady_state_utilization"]
        verdict = "met" if util >= UTILIZATION_GOAL else (
            "within floor" if util >= UTILIZATION_FLOOR else "MISSED")
        lines.append(f"| {row['config']} | {','.join(map(str, row['gemm_mkn']))} | "
                     f"{util:.2%} | {verdict} | {row['gemm_utilization']:.2%} | "
                     f"{row['array_cycles']:,} | {row['gemm_cycles']:,} | "
                     f"{row['scale_sim_cycles']:,} | {row['array_cycles_over_scale_sim']:.3f}; "
                     f"{row['gemm_cycles_over_scale_sim']:.3f} |")
    lines += ["", "GEMM utilization: useful MACs over R x C x all cycles, read-out included."]
    lines += ["", "## Verilog generation (fresh process each)", "",
              "| tile | seconds | peak MiB | Verilog bytes | goal |", "|---|---:|---:|---:|---|"]
    for row in figures["generation"]:
        goal = ""
        if row["config"] == "128x128":
            goal = "met" if row["seconds"] <= GENERATION_GOAL_SECONDS else "MISSED"
        lines.append(f"| {row['config']} | {row['seconds']:.1f} | {row['peak_mib']:.0f} | "
                     f"{row['bytes']:,} | {goal} |")
    lines += ["", "## Simulation speed (benchmark GEMM, build excluded; Icarus through cocotb, "
              "Verilator on the fast path)", "",
              "| tile | simulator | simulated cycles | cycles/s |", "|---|---|---:|---:|"]
    for row in figures["simulation_speed"]:
        lines.append(f"| {row['config']} | {row['simulator']} | {row['cycles']:,} | "
                     f"{row['cycles_per_second']:,.0f} |")
    lines += _modes_report([figures[key] for key in ("float", "mx") if key in figures])
    return "\n".join(lines)


def main(argv=None):
    parser = ArgumentParser.for_module(__spec__.name, __doc__)
    parser.add_argument("--build", default="build", help="build directory")
    args = parser.parse_args(argv)
    build = Path(args.build).resolve()
    figures = {"utilization": [], "generation": [], "simulation_speed": []}
    records = {}
    runs = [(size, "verilator") for size in UTILIZATION_SIZES] + \
           [(size, sim) for size in SPEED_SIZES for sim in ("icarus", "verilator")
            if (size, sim) not in {(s, "verilator") for s in UTILIZATION_SIZES}]
    for size, sim in runs:
        print(f"[bench] simulating {size}x{size} on {sim} ...", flush=True)
        records[size, sim] = run_gemm(TileConfig(size, size), sim, build)[0]
    for size in UTILIZATION_SIZES:
        figures["utilization"].append(
            utilization_figures(TileConfig(size, size), records[size, "verilator"]))
    for size in SPEED_SIZES:
        for sim in ("icarus", "verilator"):
            entry = records[size, sim]
            figures["simulation_speed"].append({
                "config": f"{size}x{size}", "simulator": sim, "cycles": entry["total_cycles"],
                "cycles_per_second": entry["simulated_cycles_per_second"]})
    for size in GENERATION_SIZES:
        print(f"[bench] generating {size}x{size} ...", flush=True)
        figures["generation"].append(generation_figures(TileConfig(size, size)))
    figures["float"] = mode_figures(FLOAT_CONFIG, characterization_formats(FLOAT_CONFIG), build)
    figures["mx"] = mode_figures(MX_CONFIG, MX_FORMATS, build)
    write_outputs(build, "tile_bench", figures, format_report(figures))


if __name__ == "__main__":
    main()
