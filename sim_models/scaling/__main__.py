"""Single questions to the scaling model, from the command line.

    python -m sim_models.scaling --system trn2-ultraserver --workload llama3-70b
    python -m sim_models.scaling --system trn3-gen2-ultraserver --workload llama3-8b --batch 32
    python -m sim_models.scaling --list

Prints the system's peaks per datatype, one data-parallel training step and one decode step.
The collective model is calibrated from ``--fabric`` (a fabric characterization file) when
given, else from the analytic all-reduce estimate that the RTL regression matches.
"""

import sys

from ..cli import ArgumentParser
from ..results import ResultsError
from ..specs import SpecError, load_specs
from .assumptions import Assumptions
from .formatting import number, percent, si
from .network import FabricCalibration
from .peak import datatypes, system_peak
from .decode import decode_step
from .training import training_step
from .workloads import load_workloads


def _arguments(argv):
    parser = ArgumentParser.for_module("sim_models.scaling", __doc__)
    parser.add_argument("--system", help="system key, e.g. trn2-ultraserver (see --list)")
    parser.add_argument("--workload", default="llama3-70b", help="workload key (see --list)")
    parser.add_argument("--batch", type=int, default=1, help="decode batch, sequences (>= 1)")
    parser.add_argument("--fabric", help="fabric characterization JSON (tb.characterize_fabric)")
    parser.add_argument("--list", action="store_true", help="list systems and workloads")
    args = parser.parse_args(argv)
    if not args.list and args.system is None:
        parser.error("--system is required (or --list)")
    if args.batch < 1:
        parser.error(f"--batch must be at least 1, not {args.batch}")
    return args


def answer(args):
    """The text that answers ``args``; raises SpecError for unknown names."""
    specs, workloads = load_specs(), load_workloads()
    if args.list:
        return "\n".join(["systems:"] + [f"  {key}: {system.name} ({number(system.chips.value)}"
                                          f" chips)" for key, system in specs.systems.items()]
                         + ["workloads:"] + [f"  {key}: {workload.name}"
                                            for key, workload in workloads.items()])
    system = specs.system(args.system)
    if args.workload not in workloads:
        raise SpecError(f"Unknown workload {args.workload!r}; known: {', '.join(workloads)}")
    workload = workloads[args.workload]
    calibration = FabricCalibration.from_results(args.fabric) if args.fabric else \
        FabricCalibration.from_estimate()
    assumptions = Assumptions()
    chip = specs.chip(system.chip)
    lines = [f"{system.name}: {number(system.chips.value)} x {chip.name}", "peaks (model):"]
    lines += [f"  {datatype:6s} {si(system_peak(specs, system, datatype), 'FLOP/s')}"
              for datatype in datatypes(chip)]
    step = training_step(specs, system, workload, calibration, assumptions)
    lines += [f"training step, {workload.name}, data parallel, {number(step.tokens)} tokens:",
              f"  {number(step.seconds)} s (GEMMs {number(step.compute_seconds)} s, "
              f"communication {number(step.communication_seconds)} s of which "
              f"{number(step.exposed_seconds)} s exposed); "
              f"{si(step.achieved_flops, 'FLOP/s')}, MFU {percent(step.mfu)}"]
    decode = decode_step(specs, system, workload, args.batch, calibration, assumptions)
    lines += [f"decode, batch {args.batch}, context {number(decode.context)}: "
              f"{number(decode.tokens_per_second)} tokens/s "
              f"({number(1e3 * decode.seconds)} ms per step)",
              f"collectives calibrated from: {calibration.source}"]
    return "\n".join(lines)


def main(argv=None):
    args = _arguments(argv)
    try:
        print(answer(args))
    except (SpecError, ResultsError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
