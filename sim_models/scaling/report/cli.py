"""The report's command line: arguments in, one line and an exit status out on failure."""

import sys
from pathlib import Path

from ...cli import ArgumentParser
from ...results import ResultsError
from ...specs import SpecError
from ..inputs import FULL_FLOAT_RUN, FULL_RUN, FULL_TRN3_RUN
from . import __doc__ as PACKAGE_DOC
from .build import build_report

__all__ = ["main"]

#: Where today's generated Verilog is, unless ``--verilog`` says otherwise.
DEFAULT_VERILOG = ("build/verilog", "build/verilog/fabric", "build/verilog/allreduce",
                   "build/verilog/alltoall")


def _parser():
    parser = ArgumentParser.for_module("sim_models.scaling.report", PACKAGE_DOC)
    parser.add_argument("--tile", required=True, help="tile characterization JSON")
    parser.add_argument("--float", required=True, dest="float_path",
                        help="floating-point tile characterization JSON")
    parser.add_argument("--fabric", required=True, help="fabric characterization JSON")
    parser.add_argument("--full", default=str(FULL_RUN),
                        help=f"full-size (128 x 128) tile run JSON; the report says so if it "
                             f"is absent (default {FULL_RUN})")
    parser.add_argument("--full-float", default=str(FULL_FLOAT_RUN),
                        help=f"full-size run of the tile of Trainium2's floating-point formats; "
                             f"likewise (default {FULL_FLOAT_RUN})")
    parser.add_argument("--full-trn3", default=str(FULL_TRN3_RUN),
                        help=f"full-size run of the tile of Trainium3's formats; likewise "
                             f"(default {FULL_TRN3_RUN})")
    parser.add_argument("--verilog", action="append", metavar="DIR",
                        help="directory of today's generated Verilog, to tell whether each "
                             "input is current; repeat for several (default: "
                             f"{', '.join(DEFAULT_VERILOG)})")
    parser.add_argument("--out", default="reports", help="output directory")
    parser.add_argument("--log", help="file for the libraries' warnings, kept off the console "
                                      "(default: report.log in --out)")
    return parser


def main(argv=None):
    """Run the command line on ``argv`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for an input that does not load or a figure without an explanation,
        1 when the report cannot be written, 130 when interrupted (Ctrl-C).
    """
    args = _parser().parse_args(argv)
    try:
        # Made first, so that an unwritable place fails before the minutes of modelling.
        Path(args.out).mkdir(parents=True, exist_ok=True)
        build_report(args.tile, args.float_path, args.fabric, args.out, args.full,
                     args.verilog or list(DEFAULT_VERILOG), full_float_path=args.full_float,
                     full_trn3_path=args.full_trn3,
                     log=args.log or Path(args.out) / "report.log")
    except (SpecError, ResultsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write the report to {error.filename or args.out}: "
              f"{error.strerror or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the report was not written; rerun to make it", file=sys.stderr)
        return 130
    return 0
