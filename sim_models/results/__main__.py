"""``python -m sim_models.results check KIND FILE [--remove]``: whether a results file loads,
for make, so that a file that does not load never counts as up to date::

    python -m sim_models.results check tile build/characterization/tile.json --remove

prints the one-line reason and exits 1 (removing the file with ``--remove``), or exits 0
silently."""

import sys
from pathlib import Path

from ..cli import ArgumentParser
from .store import KINDS, ResultsError, load


def main(argv=None):
    """``check KIND FILE [--remove]``: exit 0 if FILE loads, else print the one-line reason
    (to stderr) and exit 1, removing the file with ``--remove``."""
    parser = ArgumentParser(
        prog="python -m sim_models.results",
        description="Check that a characterization results file loads.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check", help="exit 0 if the file loads; else print why in one line and exit 1")
    check.add_argument("kind", choices=KINDS, help="kind of file: " + ", ".join(
        f"{name} (make {spec.target})" for name, spec in KINDS.items()))
    check.add_argument("file", help="the results file")
    check.add_argument("--remove", action="store_true",
                       help="remove a file that does not load, so that make rebuilds it")
    args = parser.parse_args(argv)
    try:
        load(args.file, args.kind)
    except ResultsError as error:
        message = str(error)
        if args.remove and Path(args.file).is_file():
            Path(args.file).unlink()
            message = f"{message} (removed)"
        print(message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
