"""The measurement records of the cocotb tests, one JSON line each in the run's results file
(:func:`tb.run_context.append_record`).

- :func:`record_program`: one tile program (``tb.tile_tb``, ``tb.tile_gemm_tb``): cycles
  measured on the ports and modelled, MACs and utilization, per operation too
  (:func:`program_record`, which the fast path ``tb.fast_tile`` uses outside cocotb).
- :func:`record_measurements`: one test of a fabric, an all-reduce ring or a distributed
  GEMM: the design's identifying fields, then the test's measurements.
"""

import cocotb

from sim_models.config import (AllReduceConfig, AllToAllConfig, DistributedGemmConfig,
                               FabricConfig)

from .run_context import append_record
from .tile_checks import measured_timing

__all__ = ["program_record", "record_measurements", "record_program"]


def program_record(config, simulator, scenario_name, mode, program, transfers, model,
                   wall_seconds, extra=None):
    """The record of one tile program's measurements, and the fields of ``extra``.

    Parameters
    ----------
    config : TileConfig
    simulator : str
    scenario_name : str
    mode : str
        ``"ideal"`` or ``"stalled"`` streams.
    program : list of Operation
    transfers : dict of str to Transfers
        Port transfers per stream, cycles counted from 0.
    model : ProgramTiming
        The cycle model's timing of ``program``.
    wall_seconds : float
        Host seconds the simulation of the program took.
    extra : dict or None
        More fields of the record.
    """
    measured = measured_timing(program, transfers)
    total = max(max(t.cycles) for t in transfers.values() if t.cycles) + 1
    peak = config.rows * config.cols
    operations = []
    for timing, (accepted, first, last) in zip(model.operations, measured):
        cycles = 0 if first is None else last - first + 1     # a reseed has no data beats
        operations.append({"kind": timing.kind, "accepted": accepted, "first_beat": first,
                           "last_beat": last, "cycles": cycles, "macs": timing.macs,
                           "utilization": timing.macs / (peak * cycles) if cycles else 0.0})
    return {
        "config": config.name, "rows": config.rows, "cols": config.cols,
        "simulator": simulator, "scenario": scenario_name, "mode": mode,
        "total_cycles": total, "model_cycles": model.total_cycles, "macs": model.macs,
        "utilization": model.macs / (peak * total), "wall_seconds": wall_seconds,
        "simulated_cycles_per_second": total / wall_seconds if wall_seconds else None,
        "operations": operations, **(extra or {}),
    }


def record_program(config, scenario_name, mode, program, transfers, model, wall_seconds,
                   extra=None):
    """Append the :func:`program_record` of one tile program run in this cocotb simulation to
    the run's results file."""
    append_record(program_record(config, cocotb.SIM_NAME, scenario_name, mode, program,
                                 transfers, model, wall_seconds, extra))


def _design_fields(config):
    if isinstance(config, FabricConfig):
        return {"dims": list(config.dims), "routing": config.routing}
    if isinstance(config, AllReduceConfig):
        return {"nodes": config.ring.nodes, "vector_length": config.vector_length}
    if isinstance(config, DistributedGemmConfig):
        return {"nodes": config.ring.nodes, "rows": config.tile.rows, "cols": config.tile.cols,
                "columns": config.columns}
    if isinstance(config, AllToAllConfig):
        return {"dims": list(config.fabric.dims), "max_count": config.max_count}
    raise TypeError(f"Parameter 'config' must be a FabricConfig, AllReduceConfig, "
                    f"DistributedGemmConfig or AllToAllConfig, not {config!r}")


def record_measurements(config, test, **measurements):
    """Record the measurements of cocotb test ``test`` on the design of ``config``, after the
    configuration's name and identifying fields (a fabric's ``dims`` and ``routing``, a ring's
    ``nodes`` and ``vector_length``, a distributed GEMM's ``nodes``, ``rows``, ``cols`` and
    ``columns``)."""
    append_record({"config": config.name, **_design_fields(config),
                   "simulator": cocotb.SIM_NAME, "test": test, **measurements})
