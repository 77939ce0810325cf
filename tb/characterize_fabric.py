"""Fabric characterization: hop latency, link efficiency and all-reduce cycles, measured on the RTL
with Icarus, written as one JSON file for the scaling layer.

Every figure comes from the cocotb tests of the regression (``tb.fabric_tb``,
``tb.allreduce_tb``), which check what they measure and append it to JSON-lines files under
``<build>/results/characterization/``; this module runs them, reads those records and writes a
:class:`sim_models.results.FabricCharacterization`, which also lists every design simulated
with the SHA-256 of its Verilog and of the models' predictions it was checked against.

- ``hop_latency``: the zero-load header latency from node 0 to every node of an 8-node ring
  (cycles from the inject to the eject handshake), each point beside the analytic model, and a
  least-squares line ``base_cycles + per_hop_cycles * hops``.
- ``link_efficiency``: flits per cycle per link at saturation (every node sends long packets
  half way round every dimension, back to back), on rings and a torus, over the window from
  the first injection to the last ejection.
- ``allreduce``: the hardware ring all-reduce of int32 vectors, ideal local streams, cycles from
  the first input element to the last result (``rtl_cycles``); the analytic estimate of the
  RTL; the alpha-beta model's network time (``alpha_beta_cycles``, with the fitted alpha and one
  flit per cycle); and ``local_cycles = 2 * length + 1`` of streaming the vector in and the
  result out, which alpha-beta leaves out.
- ``alpha_beta``: alpha fitted by least squares to ``rtl_cycles - local_cycles`` minus the
  bandwidth term, the flit size, and the largest relative error of ``alpha_beta_cycles +
  local_cycles`` against ``rtl_cycles``.
- ``collectives`` and ``fits``: every collective the RTL has, per topology, against node count
  and message size: the ring all-reduce of int32 (the runs above), FP32 and BF16 vectors, and
  the all-to-all on rings, 2-D tori, 3-D tori with half-rate Z links and switched fabrics;
  per series alpha (cycles per operation) and beta (cycles per byte) fitted on all but the
  largest node count and the largest message size, whose errors are reported as held out
  (:mod:`sim_models.collective_fit`).

Command line::

    python -m tb.characterize_fabric --build build --out build/characterization/fabric.json
"""

import json
from pathlib import Path

import numpy as np

from sim_models.cli import ArgumentParser
from sim_models.collectives import Link, ring_allreduce_time
from sim_models.config import (ALLTOALL_ELEMENT_WIDTH, AllReduceConfig, AllToAllConfig,
                               FabricConfig, config_to_dict, module_name)
from sim_models.digests import fabric_checked_digest
from sim_models.fabric import ZeroLoadLatency
from sim_models.results import (AllReduceRun, AlphaBetaFit, CollectiveRun,
                                FabricCharacterization, HopLatency, HopPoint, LinkEfficiency,
                                SimulatedDesign, fit_series, save)
from sim_models.staleness import file_sha256
from sim_models.torus_collective import estimate_of

from .launch import Design, exit_on_failure, simulate, verilog_path
from .step_log import StepLog

#: The simulator every figure comes from.
SIMULATOR = "icarus"
#: Seed of the traffic (payloads and operands; the patterns are fixed).
SEED = 1
#: Fabric of the hop-latency sweep: hops 0 to 4.
HOP_FABRIC = FabricConfig.ring(8)
#: Fabrics of the saturation measurement.
SATURATION_FABRICS = (FabricConfig.ring(5), FabricConfig.ring(8), FabricConfig.torus(4, 4))
#: Int32 all-reduce sweep (the hop-latency-era alpha fit): ring sizes and vector lengths. The
#: even ring runs the same flits and cycles as FP32 (32-bit elements); 5 nodes has uneven
#: chunks.
ALLREDUCE_NODES = (2, 5)
ALLREDUCE_LENGTHS = (16, 64, 256)
#: Header length field of the all-reduce rings: packets of up to 255 flits, enough for the
#: 128-element chunks of a 256-element vector on two nodes.
ALLREDUCE_LENGTH_WIDTH = 8
#: Bytes per vector element.
ELEMENT_BYTES = 4
#: BF16 collective sweeps (the scaling layer's element), whole-vector lengths in elements:
#: per fabric, collective and forwarding, every length. The ring all-reduce storing and
#: forwarding (the scaling layer's main fit) on 2, 4 and 8 nodes; cut-through, reduce-scatter
#: and all-gather on 2 and 8; the switched fabric (endpoint reduction, the ring through the
#: switches) on 2 servers of 2 and of 4 chips.
FLOAT_ELEMENT = "bf16"
FLOAT_LENGTHS = (16, 64, 256)
RING_SWEEPS = ((2, 4, 8), (("allreduce", "store"),)), \
    ((2, 8), (("allreduce", "cut-through"), ("reducescatter", "store"), ("allgather", "store")))
SWITCH_FABRICS = ((2, 2), (4, 2))
SWITCH_COLLECTIVES = (("allreduce", "store"), ("reducescatter", "store"),
                      ("allgather", "store"))
#: The all-reduce of 2-D and 3-D tori dimension by dimension: per torus, its sides, its links'
#: flit intervals (3-D: Z at half rate, the Trn2 UltraServer's shape and the scaling layer's fit
#: for it; 2-D: every link at a flit per cycle, a Trn2 instance's) and the whole-vector lengths
#: (multiples of its nodes). 2 x 2 (x 2) at every BF16 length, 3 x 3 (x 3) at one, and the Trn2
#: instance's 4 x 4 and UltraServer's 4 x 4 x 4 at one each: held out by the fit (the largest
#: node count), so their errors are the fits' extrapolation in nodes to the real systems' sizes.
#: 4 x 4 x 4 is the sweep's longest simulation (about 4 minutes on Icarus, most of it the build).
#: Every torus's all-reduce also runs bidirectional (two rings per dimension, one each way), at
#: each length rounded up to a multiple of twice its nodes (the 4 x 4 x 4 torus at 128).
TORUS_SWEEPS = (((2, 2), (1, 1), FLOAT_LENGTHS), ((3, 3), (1, 1), (72,)),
                ((4, 4), (1, 1), (64,)),
                ((2, 2, 2), (1, 1, 2), FLOAT_LENGTHS), ((3, 3, 3), (1, 1, 2), (108,)),
                ((4, 4, 4), (1, 1, 2), (64,)))
#: The reduce-scatter and the all-gather alone on the tori of :data:`TORUS_SWEEPS` up to
#: 3 x 3 (x 3), which is held out.
TORUS_HALVES = ("reducescatter", "allgather")
TORUS_HALVES_MAX_SIDE = 3
#: The direct all-reduce (Neuron's Mesh; every chunk straight to the node that reduces it): on
#: the switched fabrics of :data:`SWITCH_FABRICS` with as many second-level switches as a
#: server has chips (the scaling layer's fit for Trainium3's switches, whose links between
#: switches carry at least what the chips inject, as here; with one, all-to-all traffic queues
#: on a server's one up link), and on the 2-D tori of :data:`TORUS_SWEEPS` (beside the
#: dimension-wise all-reduce), at the same lengths.
DIRECT_SWEEPS = tuple((FabricConfig.switch(*radices, top_switches=radices[0],
                                           length_width=ALLREDUCE_LENGTH_WIDTH), FLOAT_LENGTHS)
                      for radices in SWITCH_FABRICS) + \
    tuple((FabricConfig.torus(*sides, length_width=ALLREDUCE_LENGTH_WIDTH), lengths)
          for sides, _, lengths in TORUS_SWEEPS if len(sides) == 2)
#: All-to-all sweep: two sizes of the ring and the switched fabric (2 servers of 2 and of 4
#: chips), one 2-D torus and one 3-D torus (Z links at half rate, as in a Trn2 UltraServer),
#: and elements per block (one 32-bit element per payload flit).
ALLTOALL_FABRICS = (FabricConfig.ring(4), FabricConfig.ring(8), FabricConfig.torus(2, 2),
                    FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2)),
                    FabricConfig.switch(2, 2), FabricConfig.switch(4, 2))
ALLTOALL_COUNTS = (3, 7, 15)


def _records(path, test):
    """The records of cocotb test ``test`` in the JSON-lines file ``path``."""
    lines = Path(path).read_text().splitlines() if Path(path).is_file() else []
    found = [record for record in map(json.loads, lines) if record["test"] == test]
    if not found:
        raise RuntimeError(f"No '{test}' record in {path}: the simulation did not record it")
    return found


def _measure(build, name, design, test):
    """Run cocotb test ``test`` on ``design`` with :data:`SIMULATOR` and return its last
    record, written to ``<build>/results/characterization/<name>_<simulator>.jsonl``."""
    results = build / "results" / "characterization" / f"{name}_{SIMULATOR}.jsonl"
    simulate(design, SIMULATOR, [test], SEED, build=build, results=results)
    return _records(results, test)[-1]


def _progress(message):
    print(f"[characterize-fabric] {message}", flush=True)


def hop_latency(record, fabric):
    """The :class:`~sim_models.results.HopLatency` of one ``zero_load_latency`` record."""
    model = ZeroLoadLatency(per_hop=record["model_per_hop_cycles"],
                            fixed=record["model_fixed_cycles"])
    points = tuple(HopPoint(fabric, hops, cycles, model.header(hops))
                   for hops, cycles in zip(record["hops"], record["header_latency_cycles"]))
    return HopLatency(float(record["per_hop_cycles"]), float(record["fixed_cycles"]), points)


def link_efficiency(record, fabric):
    """The :class:`~sim_models.results.LinkEfficiency` of one ``saturation`` record."""
    return LinkEfficiency(fabric, "saturation", float(record["link_efficiency"]),
                          record["cycles"], record["packets_delivered"])


def simulated_design(config, build):
    """The :class:`~sim_models.results.SimulatedDesign` of a fabric or all-reduce ring that
    :func:`tb.launch.simulate` generated under ``build`` and simulated."""
    return SimulatedDesign(config_to_dict(config), module_name(config),
                           file_sha256(verilog_path(config, build)),
                           fabric_checked_digest(config))


def _alpha_beta_terms(nodes, length, elements_per_flit):
    """(steps, bandwidth term in cycles) of alpha-beta ring all-reduce at one flit per cycle."""
    link = Link(hop_latency=0, bandwidth=ELEMENT_BYTES * elements_per_flit)
    return 2 * (nodes - 1), ring_allreduce_time(nodes, ELEMENT_BYTES * length, link)


def fit_alpha(points):
    """Least-squares alpha (cycles per step) of the all-reduce points, and the largest relative
    error of alpha-beta plus local streaming against the RTL.

    Parameters
    ----------
    points : list of dict
        ``nodes``, ``length``, ``elements_per_flit``, ``rtl_cycles`` and ``local_cycles``.
    """
    steps, rests = [], []
    for point in points:
        count, bandwidth_term = _alpha_beta_terms(point["nodes"], point["length"],
                                                  point["elements_per_flit"])
        steps.append(count)
        rests.append(point["rtl_cycles"] - point["local_cycles"] - bandwidth_term)
    steps, rests = np.array(steps, float), np.array(rests, float)
    alpha = float(steps @ rests / (steps @ steps))
    errors = [abs(alpha_beta_cycles(point, alpha) + point["local_cycles"] - point["rtl_cycles"])
              / point["rtl_cycles"] for point in points]
    return alpha, max(errors)


def alpha_beta_cycles(point, alpha):
    """Alpha-beta network time of one all-reduce point (cycles), one flit per cycle."""
    link = Link(hop_latency=alpha, bandwidth=ELEMENT_BYTES * point["elements_per_flit"])
    return ring_allreduce_time(point["nodes"], ELEMENT_BYTES * point["length"], link)


def topology_kind(fabric):
    """``switch``, ``ring``, ``torus2d`` or ``torus3d``: the topology kind of a FabricConfig."""
    if fabric.switched:
        return "switch"
    return "ring" if len(fabric.dims) == 1 else f"torus{len(fabric.dims)}d"


def collective_run(config, rtl_cycles):
    """The :class:`CollectiveRun` of a ring collective of ``config`` (AllReduceConfig: an
    all-reduce, reduce-scatter or all-gather on a ring or switched fabric); its fit fields are
    set by :func:`sim_models.results.fit_series`. The message is the whole vector's bytes; the
    local streaming left out is the estimate's (inputs, one cycle and outputs; on a torus also
    the hand-over between its phases). On a torus the algorithm is ``dimension-wise``."""
    estimate = estimate_of(config)
    algorithm = "ring" if config.forwarding == "store" else "ring-cut-through"
    if config.torus:
        algorithm = "dimension-wise-bidirectional" if config.bidirectional else "dimension-wise"
    elif config.algorithm == "direct":
        algorithm = "direct"
    return CollectiveRun(topology_kind(config.ring), config.name, config.collective,
                         algorithm, config.element, config.ring.nodes,
                         config.vector_length * config.element_width // 8, rtl_cycles,
                         estimate.local_cycles, False, 0.0)


def float_configs():
    """Every AllReduceConfig of the BF16 sweeps, in the order they run."""
    fabrics = [(FabricConfig.ring(nodes, length_width=ALLREDUCE_LENGTH_WIDTH), kinds)
               for node_counts, kinds in RING_SWEEPS for nodes in node_counts]
    fabrics += [(FabricConfig.switch(*radices, length_width=ALLREDUCE_LENGTH_WIDTH),
                 SWITCH_COLLECTIVES) for radices in SWITCH_FABRICS]
    configs = [AllReduceConfig(fabric, length, FLOAT_ELEMENT, collective, forwarding)
               for fabric, kinds in fabrics for collective, forwarding in kinds
               for length in FLOAT_LENGTHS]
    kinds = {sides: ("allreduce",) + (TORUS_HALVES if max(sides) <= TORUS_HALVES_MAX_SIDE
                                      else ()) for sides, _, _ in TORUS_SWEEPS}
    tori = [(FabricConfig.torus(*sides, flit_intervals=intervals,
                                length_width=ALLREDUCE_LENGTH_WIDTH), sides, lengths)
            for sides, intervals, lengths in TORUS_SWEEPS]
    configs += [AllReduceConfig(torus, length, FLOAT_ELEMENT, collective)
                for torus, sides, lengths in tori for collective in kinds[sides]
                for length in lengths]
    configs += [AllReduceConfig(torus, -(-length // (2 * torus.nodes)) * 2 * torus.nodes,
                                FLOAT_ELEMENT, bidirectional=True)
                for torus, _, lengths in tori for length in lengths]
    return configs + [AllReduceConfig(fabric, length, FLOAT_ELEMENT, algorithm="direct")
                      for fabric, lengths in DIRECT_SWEEPS for length in lengths]


def _float_collectives(build, designs, log):
    """Run the BF16 collective sweeps, one console line per simulation; their
    CollectiveRuns."""
    runs = []
    for config in float_configs():
        design = Design(config, "tb.allreduce_tb")
        with log.step() as timing:
            record = _measure(build, f"allreduce_{design.case}", design, "ideal_cycles")
        runs.append(collective_run(config, record["measured_cycles"]))
        designs[config] = simulated_design(config, build)
        _progress(f"  {config.name}: {record['measured_cycles']} cycles "
                  f"({timing['seconds']:.1f} s)")
    return runs


def _alltoall(build, designs):
    """Run the all-to-all sweep; its CollectiveRuns."""
    runs = []
    for fabric in ALLTOALL_FABRICS:
        for count in ALLTOALL_COUNTS:
            config = AllToAllConfig(fabric, count)
            design = Design(config, "tb.alltoall_tb")
            record = _measure(build, f"alltoall_{design.case}", design, "alltoall_ideal")
            runs.append(CollectiveRun(topology_kind(fabric), config.name, "alltoall", "direct",
                                      "word32", fabric.nodes,
                                      count * ALLTOALL_ELEMENT_WIDTH // 8, record["cycles"], 0,
                                      False, 0.0))
            designs[config] = simulated_design(config, build)
    return runs


def fit_collectives(runs, flit_bytes):
    """Fit every series of ``runs`` (CollectiveRun); (runs with their fit fields, fits)."""
    series = sorted({run.series for run in runs})
    fitted, fits = [], []
    for key in series:
        fit, members = fit_series(tuple(run for run in runs if run.series == key), flit_bytes)
        fits.append(fit)
        fitted.extend(members)
    return tuple(fitted), tuple(fits)


def characterize(build, log):
    """Run every simulation under ``build``; return the
    :class:`~sim_models.results.FabricCharacterization`. The console gets one line per
    measurement (hop latency, link efficiency, all-reduce) with its duration; each
    simulation's line goes to ``log`` (a :class:`tb.step_log.StepLog`)."""
    with log.step() as timing:
        record = _measure(build, f"hops_{HOP_FABRIC.name}", Design(HOP_FABRIC, "tb.fabric_tb"),
                          "zero_load_latency")
        hops = hop_latency(record, HOP_FABRIC.name)
        designs = {HOP_FABRIC: simulated_design(HOP_FABRIC, build)}
    _progress(f"hop latency: {HOP_FABRIC.name} at zero load on {SIMULATOR}, "
              f"{hops.per_hop_cycles:g} cycles per hop ({timing['seconds']:.1f} s)")

    efficiency = []
    with log.step() as timing:
        for config in SATURATION_FABRICS:
            record = _measure(build, f"saturation_{config.name}",
                              Design(config, "tb.fabric_tb"), "saturation")
            efficiency.append(link_efficiency(record, config.name))
            designs[config] = simulated_design(config, build)
    _progress(f"link efficiency: {', '.join(config.name for config in SATURATION_FABRICS)} "
              f"at saturation on {SIMULATOR} ({timing['seconds']:.1f} s)")

    allreduce = []
    with log.step() as timing:
        for nodes in ALLREDUCE_NODES:
            config = FabricConfig.ring(nodes, length_width=ALLREDUCE_LENGTH_WIDTH)
            for length in ALLREDUCE_LENGTHS:
                design = Design(AllReduceConfig(config, length), "tb.allreduce_tb")
                record = _measure(build, f"allreduce_{design.case}", design, "ideal_cycles")
                allreduce.append({"nodes": nodes, "length": length,
                                  "elements_per_flit": config.flit_width // 32,
                                  "rtl_cycles": record["measured_cycles"],
                                  "estimate_cycles": record["estimate_cycles"],
                                  "local_cycles": 2 * length + 1})
                ring = AllReduceConfig(config, length)
                designs[ring] = simulated_design(ring, build)
    _progress(f"all-reduce: {len(allreduce)} rings of {min(ALLREDUCE_NODES)}-"
              f"{max(ALLREDUCE_NODES)} nodes on {SIMULATOR} ({timing['seconds']:.1f} s)")
    alpha, error = fit_alpha(allreduce)
    runs = tuple(AllReduceRun(**point, alpha_beta_cycles=alpha_beta_cycles(point, alpha))
                 for point in allreduce)
    collectives = [collective_run(
        AllReduceConfig(FabricConfig.ring(run.nodes, length_width=ALLREDUCE_LENGTH_WIDTH),
                        run.length), run.rtl_cycles) for run in runs]

    _progress(f"{FLOAT_ELEMENT} all-reduce, reduce-scatter, all-gather on rings and switched "
              f"fabrics, all-reduce on 2-D and 3-D tori dimension by dimension, direct "
              f"all-reduce on switched fabrics and 2-D tori, "
              f"{len(float_configs())} simulations on {SIMULATOR}:")
    collectives += _float_collectives(build, designs, log)
    with log.step() as timing:
        collectives += _alltoall(build, designs)
    _progress(f"all-to-all: {', '.join(fabric.name for fabric in ALLTOALL_FABRICS)}, "
              f"{', '.join(map(str, ALLTOALL_COUNTS))} elements per block on {SIMULATOR} "
              f"({timing['seconds']:.1f} s)")
    collectives, fits = fit_collectives(collectives, config.flit_width // 8)
    return FabricCharacterization(
        SIMULATOR, tuple(designs.values()), hops, tuple(efficiency), runs,
        AlphaBetaFit(alpha, config.flit_width // 8, error), collectives, fits)


def main(argv=None):
    parser = ArgumentParser.for_module(__spec__.name, __doc__)
    parser.add_argument("--build", default="build", help="build directory")
    parser.add_argument("--out", default="build/characterization/fabric.json",
                        help="JSON file to write")
    args = parser.parse_args(argv)
    log = StepLog(Path(args.build) / "logs" / "characterize_fabric.log")
    with exit_on_failure():
        try:
            document = characterize(Path(args.build).resolve(), log)
        finally:
            log.close()
        save(document, args.out)
    _progress(f"wrote {args.out}; each simulation in {log.path}")


if __name__ == "__main__":
    main()
