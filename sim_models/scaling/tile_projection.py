"""A chip built from another tile: the spec's NeuronCore array replaced by a configuration's.

A design-space sweep asks what a chip would do with the tile it measured. The chip keeps its
spec (cores, clock, SBUF, HBM, links, MACs per PE per cycle of each datatype); only the
Tensor Engine's array and its PSUM (rows, columns, banks, bank depth) become the
:class:`~sim_models.config.TileConfig`'s. Peaks and the data-parallel training step are then
the scaling model's own (:mod:`.peak`, :mod:`.training`), so the cycle model times every GEMM
on the new array.

Why a small array can project to an MFU of 100 %: the chip around the array stays the spec's,
sized for its own array (128 x 128 on Trn2), so with a few PEs every GEMM is compute-bound by
orders of magnitude, the all-reduce and the other engines hide behind the Tensor Engine, and the
tile streams back-to-back blocks with its fill hidden (the RTL-exact cycle model with ideal
streams). The losses left are the fixed per-layer overhead and activation recomputation; where
a step's assumptions remove those too (no recomputation, no overhead), nothing the model has
costs anything, and a 2 x 2 tile loses 6e-8 of the step. A projection whose losses are below
:data:`MFU_RESOLUTION` says nothing about the tile but that: its MFU is not a result, and
:attr:`TileProjection.mfu_not_meaningful` says why (:func:`ideal_limit_caveat`).
"""

from dataclasses import dataclass, replace

from ..config import TileConfig
from ..specs import Sourced, SpecError
from .assumptions import Assumptions
from .network import FabricCalibration
from .peak import chip_peak, core_peak, system_peak
from .training import training_step

__all__ = ["MFU_RESOLUTION", "TileProjection", "chip_with_tile", "ideal_limit_caveat",
           "project_tile"]

#: Share of a step (1 - MFU) below which none of the model's loss mechanisms is visible: the
#: MFU then prints as 100.0 % and is the model's ideal-stream limit, not a chip result.
MFU_RESOLUTION = 1e-3


def _assumed(value, what):
    return Sourced(value, value, "1", "ASSUMED", f"{what} of the sweep point's tile")


def chip_with_tile(chip, config):
    """``chip`` (a NeuronCore-based ChipSpec) with ``config``'s array and PSUM in its cores.

    Raises
    ------
    SpecError
        If the chip has no modelled cores (a GPU).
    TypeError
        If ``config`` is not a TileConfig.
    """
    if not isinstance(config, TileConfig):
        raise TypeError(f"Parameter 'config' must be a TileConfig, not {config!r}")
    if chip.core is None:
        raise SpecError(f"{chip.key}: a {chip.kind} chip has no NeuronCore array to replace")
    core = replace(chip.core, array_rows=_assumed(config.rows, "PE rows"),
                   array_cols=_assumed(config.cols, "PE columns"),
                   psum_banks=_assumed(config.psum_banks, "PSUM banks"),
                   psum_bank_entries=_assumed(config.psum_depth, "PSUM bank depth"))
    return replace(chip, core=core)


@dataclass(frozen=True)
class TileProjection:
    """A system whose chips carry a sweep point's tile, and one training step on it.

    Members
    -------
    system, workload, datatype : str
        System and workload keys; the training datatype the peaks and the step are in.
    core_peak_flops, chip_peak_flops, system_peak_flops : float
        Tensor Engine peaks of one core, one chip and the system, FLOP/s.
    step_seconds : float
        One data-parallel training step of the workload, s.
    achieved_flops : float
        Model FLOP/s of the system during that step.
    mfu : float
        Model FLOPs utilization of the step, 0..1.
    mfu_not_meaningful : str or None
        Why ``mfu`` is not a result (the step loses less than :data:`MFU_RESOLUTION` to
        anything the model has), or None when it is one.
    """
    system: str
    workload: str
    datatype: str
    core_peak_flops: float
    chip_peak_flops: float
    system_peak_flops: float
    step_seconds: float
    achieved_flops: float
    mfu: float
    mfu_not_meaningful: str | None


def ideal_limit_caveat(mfu, config, spec_core):
    """Why an MFU (0..1) of a step on ``config``'s array in a chip whose cores are ``spec_core``
    is not a result (its losses are below :data:`MFU_RESOLUTION`), or None when it is one."""
    if 1 - mfu >= MFU_RESOLUTION:
        return None
    return (f"MFU {mfu:.4%} is the model's ideal-stream limit, not a result: everything the "
            f"model has costs under {MFU_RESOLUTION:.1%} of the step, the chip around the "
            f"{config.rows} x {config.cols} array being sized for "
            f"{int(spec_core.array_rows.value)} x {int(spec_core.array_cols.value)}")


def project_tile(specs, system_key, workload, config, calibration=None, assumptions=None):
    """Peaks and the training step of ``workload`` on system ``system_key`` of ``specs`` with
    ``config`` (a TileConfig) as every core's array.

    ``calibration`` is the collectives' :class:`~.network.FabricCalibration` (the analytic
    estimate if None); ``assumptions`` the scaling model's (its defaults if None).

    Raises
    ------
    SpecError
        For an unknown system, or one of GPUs.
    """
    calibration = calibration or FabricCalibration.from_estimate()
    assumptions = assumptions or Assumptions()
    system = specs.system(system_key)
    chip = chip_with_tile(specs.chip(system.chip), config)
    variant = replace(specs, chips={**specs.chips, chip.key: chip})
    datatype = assumptions.training_datatype
    step = training_step(variant, system, workload, calibration, assumptions)
    caveat = ideal_limit_caveat(step.mfu, config, specs.chip(system.chip).core)
    return TileProjection(system_key, workload.key, datatype, core_peak(chip, datatype),
                          chip_peak(chip, datatype), system_peak(variant, system, datatype),
                          step.seconds, step.achieved_flops, step.mfu, caveat)
