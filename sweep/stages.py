"""What a sweep does per point, as plain functions the engine runs in order.

A stage is ``run(point, work) -> record``: ``point`` a :class:`~sweep.grid.SweepPoint`,
``work`` a :class:`PointWork` (the point's Verilog, built, and a directory of its own),
the record a frozen dataclass or a dict of JSON values, stored under the stage's name.
A stage that raises fails the point with that one-line error; the others go on.

Generation, the simulator build and synthesis come before or beside the stages and are shared
by the points of one RTL (:mod:`sweep.tasks`). Stages are module-level functions, so that
they pickle by reference to the workers.
"""

from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path

from sim_models.scaling.tile_projection import project_tile
from sim_models.scaling.workloads import load_workloads
from sim_models.specs import load_specs
from sim_models.stimulus import peak_format
from tb.tile_gemms import run_record, simulate_gemms

__all__ = ["PointWork", "STAGES", "Stage", "measure_gemms", "project", "stage_record"]


@dataclass(frozen=True)
class PointWork:
    """Where a point's stages work.

    Members
    -------
    verilog : Path
        The point's generated Verilog (with its ``.ports.json``), shared by every point of the
        same RTL; its directory is their build directory (:mod:`tb.launch`), whose simulator
        build is up to date when the stages run.
    directory : Path
        The point's own directory, for files no other point may touch.
    """
    verilog: Path
    directory: Path

    @property
    def rtl_build(self):
        """The build directory of the point's RTL: the directory of its Verilog."""
        return self.verilog.parent


@dataclass(frozen=True)
class Stage:
    """One step of a point: ``run(point, work)`` returns the record stored as ``name``.
    ``shared``: the record depends only on the point's measurement
    (:attr:`~sweep.grid.SweepPoint.measurement_digest`: configuration, simulator, GEMMs), not
    on its projection, so the engine runs it once for all the points of one measurement (the
    workloads of a tile) and gives each the same record; ``work.directory`` is then the
    measurement's directory, not one point's."""
    name: str
    run: Callable
    shared: bool = False


def measure_gemms(point, work):
    """The point's GEMMs on its built RTL in the tile's fastest mode
    (:func:`sim_models.stimulus.peak_format`: MX mode on a tile with it, else FP8 double-row
    when the tile has FP8), each checked bit- and cycle-exactly
    (:func:`tb.tile_gemms.simulate_gemms`, its line in ``simulate.log`` of the point's
    directory, not among the sweep's progress); a dict with ``runs`` (the
    :class:`sim_models.results.TileRun` of each GEMM, as dicts) and ``macs_per_cycle`` over all
    of them.

    Raises
    ------
    AssertionError
        From the testbench, if a GEMM's results or a handshake differ from the models'.
    """
    config, matmul_format = point.config, peak_format(point.config)
    with open(work.directory / "simulate.log", "w") as log, redirect_stdout(log):
        entries, _ = simulate_gemms(config, point.simulator, list(point.shapes),
                                    work.rtl_build, hierarchical=point.simulator == "verilator",
                                    run=f"gemms_{work.directory.name}", verilog=work.verilog,
                                    matmul_format=matmul_format)
    runs = [run_record(config, point.simulator, entry, None, matmul_format)
            for entry in entries]
    macs, cycles = sum(run.macs for run in runs), sum(run.rtl_cycles for run in runs)
    return {"runs": [asdict(run) for run in runs], "macs_per_cycle": macs / cycles}


def project(point, work):
    """The chip-scale projection of the point: peaks and one training step of its workload on
    its system, with its tile as every core's array
    (:func:`sim_models.scaling.tile_projection.project_tile`)."""
    return project_tile(load_specs(), point.system, load_workloads()[point.workload],
                        point.config)


def stage_record(record):
    """The JSON form of a stage's record: a dataclass as its dict, a dict as it is."""
    return asdict(record) if is_dataclass(record) else record


#: The stages of every point, in order. The GEMMs of a tile are simulated once for all its
#: workloads.
STAGES = (Stage("gemms", measure_gemms, shared=True), Stage("projection", project))
