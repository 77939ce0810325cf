"""Small characterization documents for the tests, each design with a stand-in Verilog file
written where the staleness check looks for it."""

import hashlib
from pathlib import Path

from sim_models.allreduce import AllReduceEstimate
from sim_models.config import (AllReduceConfig, AllToAllConfig, FabricConfig, TileConfig,
                               config_to_dict, module_name)
from sim_models.cycle_model import time_program
from sim_models.digests import fabric_checked_digest, tile_checked_digest
from sim_models.program import INT8
from sim_models.results import (AllReduceRun, AlphaBetaFit, CollectiveRun,
                                FabricCharacterization, HopLatency, HopPoint, LinkEfficiency,
                                SimulatedDesign, TileCharacterization, TileRun, fit_series)
from sim_models.stimulus import characterization_gemm

SEED = 1


def simulated(config, verilog_dir, shapes=(), matmul_formats=None):
    """The SimulatedDesign of ``config``, its stand-in Verilog written to ``verilog_dir``;
    ``shapes`` are a tile's GEMMs (M, K, N), run with :data:`SEED` in ``matmul_formats`` (one
    per shape; int8 if None)."""
    top = module_name(config)
    path = Path(verilog_dir) / f"{top}.v"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"module {top}; endmodule\n")
    checked = tile_checked_digest(config, shapes, SEED, matmul_formats) \
        if isinstance(config, TileConfig) else fabric_checked_digest(config)
    return SimulatedDesign(config_to_dict(config), top,
                           hashlib.sha256(path.read_bytes()).hexdigest(), checked)


def tile_run(config, m, k, n, matmul_format=INT8):
    """A run in ``matmul_format`` as tb.characterize_tile records it, timed by the cycle model
    (the report recomputes the cycles through its own path and must agree)."""
    program = characterization_gemm(config, (m, k, n), SEED, matmul_format).tiled.program
    cycles = time_program(config, program)
    return TileRun(config.name, config.rows, config.cols, config.psum_banks,
                   config.psum_depth, "model", m, k, n, m * k * n, cycles.total_cycles,
                   cycles.total_cycles, cycles.total_cycles - n, 10, 10, True, 1.0, 0.5,
                   matmul_format.stationary, matmul_format.moving, matmul_format.double_row,
                   matmul_format.mx)


def tile_document(gemms, verilog_dir, date=None):
    """A TileCharacterization of ``gemms`` ({TileConfig: [(M, K, N) or (M, K, N,
    MatmulFormat), ...]}; int8 where no format is given)."""
    gemms = {config: [(tuple(gemm[:3]), gemm[3] if len(gemm) > 3 else INT8) for gemm in list_]
             for config, list_ in gemms.items()}
    designs = tuple(simulated(config, verilog_dir, [shape for shape, _ in list_],
                              [matmul_format for _, matmul_format in list_])
                    for config, list_ in gemms.items())
    runs = tuple(tile_run(config, *shape, matmul_format) for config, list_ in gemms.items()
                 for shape, matmul_format in list_)
    return TileCharacterization(SEED, designs, runs, date)


def allreduce_run(nodes, length, rtl_cycles=None, alpha_beta_cycles=None):
    """An all-reduce run on a ring of ``nodes``, by default exactly the RTL estimate."""
    estimate = AllReduceEstimate(nodes, length).cycles()
    local = 2 * length + 1
    return AllReduceRun(nodes, length, 1, estimate if rtl_cycles is None else rtl_cycles,
                        estimate, local,
                        estimate - local if alpha_beta_cycles is None else alpha_beta_cycles)


#: Collective series of the sample document: ring all-reduces of int32 (exactly the RTL
#: estimate) and all-to-alls on 3-D tori (cycles ``20 (n - 1) + 0.3 (n - 1) S``, the largest
#: block 10% slower than that), as (config, cycles).
def _sample_collectives():
    ring_allreduce = [(AllReduceConfig(FabricConfig.ring(nodes, length_width=8), length),
                       AllReduceEstimate(nodes, length).cycles())
                      for nodes in (2, 3, 4) for length in (16, 32, 64)]
    alltoall = []
    for sides in ((2, 2, 2), (2, 2, 3)):
        for count in (3, 7, 15):
            nodes, size = 2 * 2 * sides[2], 4 * count
            cycles = 20 * (nodes - 1) + 0.3 * (nodes - 1) * size
            alltoall.append((AllToAllConfig(FabricConfig.torus(*sides), count),
                             round(cycles * (1.1 if count == 15 else 1))))
    return ring_allreduce, alltoall


def collective_runs():
    """The sample CollectiveRuns, fit fields unset, and their designs' configurations."""
    ring_allreduce, alltoall = _sample_collectives()
    runs = [CollectiveRun("ring", config.name, "allreduce", "ring", "int32", config.ring.nodes,
                          4 * config.vector_length, cycles, 2 * config.vector_length + 1,
                          False, 0.0) for config, cycles in ring_allreduce]
    runs += [CollectiveRun("torus3d", config.name, "alltoall", "direct", "word32",
                           config.fabric.nodes, 4 * config.max_count, cycles, 0, False, 0.0)
             for config, cycles in alltoall]
    return runs, [config for config, _ in ring_allreduce + alltoall]


def fitted_collectives(runs):
    """(runs with their fit fields, fits) of ``runs`` (CollectiveRun), series by series."""
    fitted, fits = [], []
    for series in sorted({run.series for run in runs}):
        fit, members = fit_series(tuple(run for run in runs if run.series == series), 4)
        fits.append(fit)
        fitted += members
    return tuple(fitted), tuple(fits)


def fabric_document(verilog_dir, allreduce=None):
    """A FabricCharacterization of hop latency on ring8, saturation on ring5, the all-reduce
    runs ``allreduce`` (AllReduceRun; by default 2 x 16 and 4 x 64 elements) and the sample
    collectives (:func:`collective_runs`) with their fits."""
    allreduce = allreduce or (allreduce_run(2, 16), allreduce_run(4, 64))
    fabrics = [FabricConfig.ring(8), FabricConfig.ring(5)]
    rings = [AllReduceConfig(FabricConfig.ring(run.nodes, length_width=8), run.length)
             for run in allreduce]
    runs, collective_designs = collective_runs()
    configs = list(dict.fromkeys(fabrics + rings + collective_designs))
    return FabricCharacterization(
        "icarus", tuple(simulated(config, verilog_dir) for config in configs),
        HopLatency(2.0, 2.0, (HopPoint("ring8", 1, 4, 4),)),
        (LinkEfficiency("ring5", "saturation", 0.8, 100, 10),), tuple(allreduce),
        AlphaBetaFit(5.0, 4, 0.0), *fitted_collectives(runs))
