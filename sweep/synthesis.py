"""Area figures of one tile configuration from generic Yosys synthesis, without flattening it.

A tile is C PE columns, C PSUM columns and the glue around them (sequencer, skew and delay
lines, result stage). Each leaf module is synthesized once, the top once with the leaves as
black boxes, and the figures are multiplied out by the instance counts found in the top's
netlist: a 128 x 128 point costs one 128-PE column, one PSUM column and the glue, never a
flattened array. Flat synthesis of a small tile lands within about 1 % of the multiplied-out
sum (``tests/test_synthesis.py``): across the leaf boundaries it can still fold constants and
drop unused outputs at the array's edges, and ABC restructures a larger netlist differently.

The flow is Yosys's generic ``synth`` without its ``memory_map`` step: memories (the PSUM
banks, the sequencer's queue) stay memories and are counted in bits, as SRAM, not as the
flip-flops and multiplexers that mapping them would make (which would also take minutes per
PSUM column). Flip-flops with enables or synchronous resets are unmapped into plain
flip-flops and gates (``dffunmap``) so that ``stat -tech cmos`` prices every cell.

The Verilog is the point's, as generated once for the sweep (nothing is elaborated here), and
the three runs share one time limit: a 128 x 128 tile takes minutes.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path

from hdl.leaf import LEAF_KINDS, leaf_module_name
from sim_models.config import TileConfig

from .tools import SynthesisError, TimeLimit, run_tool

__all__ = ["ModuleFigures", "SynthesisError", "SynthesisFigures",
           "module_figures", "synthesize"]

#: Yosys's ``synth`` from its ``fine`` label on, without ``memory_map``; then every flip-flop
#: made plain, debug-only cells removed.
_FINE = """\
opt -fast -full
opt -full
techmap
opt -fast
abc
opt -fast
dffunmap
delete t:$scopeinfo
check
"""


@dataclass(frozen=True)
class ModuleFigures:
    """Generic-synthesis figures of one Verilog module, for one instance of it.

    Members
    -------
    module : str
        Verilog module name.
    instances : int
        How many times the tile holds it (1 for the top).
    cells : int
        Generic gate and flip-flop cells (memories and leaf instances not counted).
    transistors : int
        Yosys's CMOS transistor estimate of those cells (``stat -tech cmos``).
    memory_bits : int
        Bits held in memories, counted as SRAM and not in ``cells`` or ``transistors``.
    seconds : float
        Wall time of its Yosys run, in seconds.
    """
    module: str
    instances: int
    cells: int
    transistors: int
    memory_bits: int
    seconds: float


@dataclass(frozen=True)
class SynthesisFigures:
    """Area figures of a whole tile.

    Members
    -------
    config : TileConfig
    pe_column, psum_column : ModuleFigures
        One leaf each; ``instances`` is C.
    top : ModuleFigures
        The tile's own logic, the leaves left out (black boxes): sequencer and glue.
    cells_per_pe, transistors_per_pe : float
        A PE column's figures divided by its R PEs.
    cells, transistors, memory_bits : int
        The whole array: each module's figure times its instances, summed.
    seconds : float
        Wall time of :func:`synthesize`, in seconds: three Yosys runs.
    """
    config: TileConfig
    pe_column: ModuleFigures
    psum_column: ModuleFigures
    top: ModuleFigures
    cells_per_pe: float
    transistors_per_pe: float
    cells: int
    transistors: int
    memory_bits: int
    seconds: float


def _script(verilog, module, black_boxes):
    """Yosys script: synthesize ``module`` of the file ``verilog``, write two ``stat -json``
    files, ``<module>.memory.json`` and ``<module>.stat.json``."""
    if black_boxes:
        lines = [f"read_verilog {verilog}", f"blackbox {' '.join(black_boxes)}"]
    else:
        # Deferred, only the modules below ``module`` are elaborated: not the PSUM's memory
        # initialization (seconds for a deep PSUM) when it is not needed.
        lines = [f"read_verilog -defer {verilog}"]
    lines += [f"hierarchy -top {module}", f"synth -top {module} -flatten -run :fine", _FINE,
              # Memories as cells do not report their size; unpacked, they do.
              "memory_unpack", f"tee -q -o {module}.memory.json stat -json",
              f"delete t:$mem* {' '.join(f't:{name}' for name in black_boxes)}",
              f"tee -q -o {module}.stat.json stat -json -tech cmos"]
    return "\n".join(lines) + "\n"


def _design_stat(work_dir, name, module):
    path = Path(work_dir) / name
    try:
        return json.loads(path.read_text())["design"]
    except (OSError, ValueError, KeyError):
        raise SynthesisError(f"yosys wrote no statistics for {module} to {path}; "
                             f"see {Path(work_dir) / module}.log") from None


def module_figures(verilog, module, black_boxes=(), instances=1, limit=None):
    """Synthesize ``module`` of the Verilog file ``verilog`` and count it.

    Parameters
    ----------
    verilog : Path
        The Verilog file; its directory receives ``<module>.ys``, ``<module>.log`` and the
        ``stat`` JSON files.
    module : str
        Module to synthesize (flattened below it, except for ``black_boxes``).
    black_boxes : sequence of str
        Modules left as black boxes; their instances are counted by the caller, not here.
    instances : int
        Stored in the result's ``instances``.
    limit : sweep.tools.TimeLimit or None
        Yosys is stopped at its deadline.

    Returns
    -------
    ModuleFigures

    Raises
    ------
    SynthesisError
        If Yosys fails or meets ``limit``, or prices some cell at no transistor count.
    """
    work_dir = verilog.parent
    (work_dir / f"{module}.ys").write_text(_script(verilog.name, module, list(black_boxes)))
    start = time.monotonic()
    run_tool("yosys", ["-s", f"{module}.ys"], work_dir, f"{module}.log", module, limit)
    seconds = time.monotonic() - start
    memory = _design_stat(work_dir, f"{module}.memory.json", module)
    logic = _design_stat(work_dir, f"{module}.stat.json", module)
    transistors = str(logic["estimated_num_transistors"])
    if not transistors.isdigit():
        raise SynthesisError(f"yosys stat -tech cmos has no transistor count for some cells of "
                             f"{module} ({transistors}); see {work_dir / module}.log")
    return ModuleFigures(module, instances, logic["num_cells"], int(transistors),
                         memory["num_memory_bits"], seconds)


def _instance_counts(work_dir, top, leaves, expected):
    """How many cells of each leaf type the top's netlist holds (its pre-deletion stat),
    checked to be ``expected`` each: a leaf flattened into the top would be counted twice."""
    by_type = _design_stat(work_dir, f"{top}.memory.json", top)["num_cells_by_type"]
    counts = {leaf: by_type.get(leaf, 0) for leaf in leaves}
    for leaf, count in counts.items():
        if count != expected:
            raise SynthesisError(f"yosys left {count} instances of {leaf} in {top}, not "
                                 f"{expected}; see {Path(work_dir) / top}.log")
    return counts


def synthesize(config, verilog, time_limit=None):
    """Area figures of the tile ``config`` from its Verilog file ``verilog``.

    Parameters
    ----------
    config : TileConfig
    verilog : Path
        The tile's Verilog (:func:`hdl.emit.write`); its directory receives the Yosys scripts,
        logs and statistics, one set per module.
    time_limit : float or None
        Seconds the three Yosys runs may take together; None: no limit.

    Returns
    -------
    SynthesisFigures

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`TileConfig`.
    SynthesisError
        If a Yosys run fails or is stopped at the time limit; one line naming the module, the
        tool and the log.
    """
    if not isinstance(config, TileConfig):
        raise TypeError(f"Parameter 'config' must be a TileConfig, not {config!r}")
    start = time.monotonic()
    limit = TimeLimit.starting_now(time_limit)
    verilog = Path(verilog)
    leaves = [leaf_module_name(kind, config) for kind in LEAF_KINDS]
    top = module_figures(verilog, verilog.stem, black_boxes=leaves, limit=limit)
    counts = _instance_counts(verilog.parent, top.module, leaves, config.cols)
    pe_column, psum_column = (module_figures(verilog, leaf, instances=counts[leaf], limit=limit)
                              for leaf in leaves)
    modules = (pe_column, psum_column, top)
    return SynthesisFigures(
        config=config, pe_column=pe_column, psum_column=psum_column, top=top,
        cells_per_pe=pe_column.cells / config.rows,
        transistors_per_pe=pe_column.transistors / config.rows,
        cells=sum(item.cells * item.instances for item in modules),
        transistors=sum(item.transistors * item.instances for item in modules),
        memory_bits=sum(item.memory_bits * item.instances for item in modules),
        seconds=time.monotonic() - start)
