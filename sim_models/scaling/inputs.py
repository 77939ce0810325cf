"""The report's inputs: the four results files it reads, each loaded through
:mod:`sim_models.results` and judged current or not by :mod:`sim_models.staleness`."""

from dataclasses import dataclass
from pathlib import Path

from ..results import load
from ..staleness import Verdict, missing, verdict

__all__ = ["FULL_FLOAT_RUN", "FULL_RUN", "FULL_TRN3_RUN", "INPUT_LABELS", "ReportInput",
           "read_inputs"]

#: The full-size runs the report reads unless told otherwise (tracked; each may be absent): the
#: int8 tile's, the tile of Trainium2's four floating-point formats, and the tile of Trainium3's
#: formats with MX mode.
FULL_RUN = Path("characterization/r128c128_verilator.json")
FULL_FLOAT_RUN = Path("characterization/r128c128_trn2_verilator.json")
FULL_TRN3_RUN = Path("characterization/r128c128_trn3_verilator.json")
#: What each kind of input is called in the report.
INPUT_LABELS = {"tile": "tile characterization",
                "float": "floating-point tile characterization",
                "fabric": "fabric characterization", "full": "full-size 128 x 128 run",
                "full_float": "full-size 128 x 128 floating-point run",
                "full_trn3": "full-size 128 x 128 Trainium3 run"}


@dataclass(frozen=True)
class ReportInput:
    """One results file the report reads, and whether it is current.

    Members
    -------
    kind : str
        ``tile``, ``float``, ``fabric``, ``full``, ``full_float`` or ``full_trn3``
        (:data:`sim_models.results.KINDS`).
    document : TileCharacterization, FabricCharacterization or None
        None if the file is absent (the full-size runs only).
    verdict : Verdict
        Whether it is current.
    """
    kind: str
    document: object
    verdict: Verdict

    @property
    def label(self):
        """What the report calls it (:data:`INPUT_LABELS`)."""
        return INPUT_LABELS[self.kind]


def read_inputs(tile_path, float_path, fabric_path, full_path, verilog_dirs,
                full_float_path=FULL_FLOAT_RUN, full_trn3_path=FULL_TRN3_RUN):
    """Load the six inputs and judge whether each is current.

    The tile, floating-point tile and fabric characterizations must exist; an absent full-size
    run is reported as missing.

    Raises
    ------
    sim_models.results.ResultsError
        If a file does not load (missing tile or fabric file, truncated, foreign schema,
        inconsistent content).

    Returns
    -------
    dict of str to ReportInput
        By kind.
    """
    inputs = {}
    for kind, path in (("tile", tile_path), ("float", float_path), ("fabric", fabric_path),
                       ("full", full_path), ("full_float", full_float_path),
                       ("full_trn3", full_trn3_path)):
        if kind.startswith("full") and not Path(path).exists():
            inputs[kind] = ReportInput(kind, None, missing(path, kind))
            continue
        document = load(path, kind)
        inputs[kind] = ReportInput(kind, document, verdict(path, kind, document, verilog_dirs))
    return inputs
