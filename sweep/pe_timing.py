"""Relative timing figure of one PE: its maximum clock frequency on an ECP5 FPGA.

A one-row PE column (one PE with its stationary registers; for a format set with MX formats,
whose PEs come in columns of 8 rows sharing a block scale, the PE's MAC alone, which holds its
longest path) is synthesized for a Lattice ECP5 (``synth_ecp5``, multipliers in its DSP blocks)
and placed and routed by nextpnr-ecp5 on an LFE5U-25F; the post-route maximum frequency of its
clock is the figure. It is a proxy for comparing PE designs (operand formats) with a real
timing-driven tool, not an ASIC clock: an FPGA's LUTs, DSPs and routing have nothing of a
standard-cell library's delays. The clock is constrained to 1 MHz, so the tools never give up
on timing; input and output paths are not part of the figure (nextpnr reports them apart).

Yosys 0.70's ``synth_ecp5`` maps LUTs with ``abc9``, which asserts on this design; the flow
runs ``synth_ecp5`` up to that step, maps LUTs with ``abc -lut 4`` and runs the rest.
"""

import re
from pathlib import Path

from hdl.emit import EmitError, generate, write
from hdl.leaf import FLOAT_MAC, leaf_module_name
from sim_models.config import MX_ONLY_FORMATS, MX_SCALE_GROUP_ROWS, TileConfig

from .tools import SynthesisError, TimeLimit, run_tool

__all__ = ["MIN_MAC_STAGES", "leaf_fmax_mhz", "pe_fmax_mhz", "smallest_tile"]

#: Fewest MAC stages with a register-to-register path inside the MAC (two cuts): the MAC's
#: own input and output paths are not part of the figure (nextpnr reports them apart).
MIN_MAC_STAGES = 3

#: nextpnr's report of a clock's maximum frequency, in MHz; the last one is after routing.
_FMAX = re.compile(r"Max frequency for clock '[^']*': ([0-9.]+) MHz")


def _ecp5_script(verilog, module, netlist):
    return "\n".join([
        f"read_verilog {verilog}", f"hierarchy -top {module}",
        f"synth_ecp5 -top {module} -run :map_luts",
        "techmap -map +/lattice/latches_map.v", "abc -lut 4 -dress", "clean",
        f"synth_ecp5 -top {module} -run map_cells: -json {netlist}"]) + "\n"


def smallest_tile(formats, pe_stages=None):
    """The smallest tile of format set ``formats`` and MAC depth ``pe_stages`` (None: the
    default): one PE, or with MX formats one column of 8 rows (one E8M0 block scale's group);
    PSUM the smallest, as it is no part of a PE."""
    rows = MX_SCALE_GROUP_ROWS if any(name in MX_ONLY_FORMATS for name in formats) else 1
    return TileConfig(rows, 1, psum_banks=1, psum_depth=1, formats=formats, pe_stages=pe_stages)


def pe_fmax_mhz(formats, work_dir, time_limit=None, pe_stages=None):
    """Post-route maximum frequency of one PE of format set ``formats`` on an ECP5, in MHz: its
    PE column of :func:`smallest_tile`, or with MX formats that tile's MAC (an MX PE does not
    stand alone).

    Parameters
    ----------
    formats : tuple of str
        Operand format set, names of ``sim_models.config.OPERAND_FORMATS``.
    work_dir : path-like
        Created if missing; receives the Verilog, the Yosys script and log, the ECP5 netlist
        and the nextpnr log.
    time_limit : float or None
        Seconds Yosys and nextpnr may take together; None: no limit.
    pe_stages : int or None
        Pipeline stages of the PE's MAC (``TileConfig.pe_stages``); None: the formats' default.

    Raises
    ------
    TypeError
        If ``formats`` is not a known format set.
    SynthesisError
        If a tool fails, is stopped at the time limit, or nextpnr reports no clock frequency;
        one line naming the module, the tool and the log. Also, before any tool runs, for an
        MX set of fewer than :data:`MIN_MAC_STAGES` stages.
    """
    config = smallest_tile(formats, pe_stages)
    if config.mx and config.pe_stages < MIN_MAC_STAGES:
        raise SynthesisError(f"{config.name}: an MX PE is timed by its MAC alone, which has no "
                             f"register-to-register path below {MIN_MAC_STAGES} stages, not "
                             f"{config.pe_stages}")
    return leaf_fmax_mhz(config, FLOAT_MAC if config.mx else "pe_column", work_dir, time_limit)


def leaf_fmax_mhz(config, kind, work_dir, time_limit=None):
    """Post-route maximum frequency on an ECP5, in MHz, of the leaf module ``kind``
    (``hdl.leaf``: ``pe_column``, or ``float_mac``, the floating-point PE's MAC) of tile
    ``config``; ``work_dir``, ``time_limit`` and the errors as :func:`pe_fmax_mhz`'s."""
    limit = TimeLimit.starting_now(time_limit)
    work_dir = Path(work_dir)
    try:
        verilog = write(generate(config), work_dir)
    except EmitError as error:
        raise SynthesisError(str(error)) from None
    module = leaf_module_name(kind, config)
    netlist = f"{module}.ecp5.json"
    (work_dir / f"{module}.ecp5.ys").write_text(_ecp5_script(verilog.name, module, netlist))
    run_tool("yosys", ["-s", f"{module}.ecp5.ys"], work_dir, f"{module}.ecp5.log", module,
             limit)
    log = work_dir / f"{module}.nextpnr.log"
    run_tool("nextpnr-ecp5", ["--25k", "--package", "CABGA381", "--json", netlist,
                              "--freq", "1", "--seed", "1"], work_dir, log.name, module, limit)
    reports = _FMAX.findall(log.read_text())
    if not reports:
        raise SynthesisError(f"nextpnr-ecp5 reported no clock frequency for {module}; "
                             f"see {log}")
    return float(reports[-1])
