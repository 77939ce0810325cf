"""Whether a characterization result is current, keyed on what was simulated.

A results file (:mod:`sim_models.results`) names every design it simulated with two SHA-256
digests: of the Verilog file that was simulated, and of what the run was checked against
(:mod:`sim_models.digests`: the GEMM programs with their operands and the cycle model's timing
of them, or the fabric models' predictions). The file is current when, for every design, the
Verilog generated today (``<top>.v`` in one of the Verilog directories) and the checked digest
recomputed today equal the recorded ones. Python sources that change neither do not matter.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .digests import fabric_checked_digest, tile_checked_digest
from .results import KINDS, TileCharacterization

__all__ = ["STATES", "Verdict", "checked_digest", "file_sha256", "missing", "verdict"]

#: What a verdict can say of a results file.
STATES = ("current", "stale", "cannot tell", "missing")


@dataclass(frozen=True)
class Verdict:
    """Whether one results file is current.

    Members
    -------
    path : Path
        The results file.
    state : str
        One of :data:`STATES`.
    detail : str
        One sentence: what differs and how to rerun, which Verilog file is missing, or why
        the file is current.
    """
    path: Path
    state: str
    detail: str


def file_sha256(path):
    """SHA-256 (64 hex digits) of the bytes of the file ``path``."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def checked_digest(document, design):
    """Today's digest of what ``design`` (one of ``document.designs``) was checked against."""
    config = design.configuration
    if isinstance(document, TileCharacterization):
        return tile_checked_digest(config, document.shapes(config.name), document.seed,
                                   document.matmul_formats(config.name))
    return fabric_checked_digest(config)


def missing(path, kind):
    """The verdict on a results file of ``kind`` (a key of :data:`sim_models.results.KINDS`)
    that does not exist."""
    return Verdict(Path(path), "missing",
                   f"no such file; make {KINDS[kind].target} writes it")


def _find(top, verilog_dirs):
    """``<top>.v`` in the first of ``verilog_dirs`` that has it, or None."""
    return next((Path(directory) / f"{top}.v" for directory in verilog_dirs
                 if (Path(directory) / f"{top}.v").is_file()), None)


def verdict(path, kind, document, verilog_dirs):
    """Whether ``document``, loaded from the results file ``path`` of ``kind``, is current.

    Parameters
    ----------
    path : path
    kind : str
        A key of :data:`sim_models.results.KINDS`.
    document : TileCharacterization or FabricCharacterization
    verilog_dirs : sequence of path
        Directories of today's generated Verilog, searched in order for ``<top>.v``; at
        least one.

    Raises
    ------
    ValueError
        If ``verilog_dirs`` is empty.

    Returns
    -------
    Verdict
        ``stale`` if a digest of some design differs (naming the design and the digest),
        else ``cannot tell`` if the Verilog of some design was not generated, else
        ``current``.
    """
    if not verilog_dirs:
        raise ValueError("Parameter 'verilog_dirs' must name at least one directory, not "
                         f"{verilog_dirs!r}")
    stale, absent = [], []
    for design in document.designs:
        differs = []
        verilog = _find(design.top, verilog_dirs)
        if verilog is None:
            absent.append(Path(verilog_dirs[0]) / f"{design.top}.v")
        elif (today := file_sha256(verilog)) != design.verilog_sha256:
            differs.append(f"Verilog digest (recorded {design.verilog_sha256[:12]}..., "
                           f"{verilog} has {today[:12]}...)")
        if checked_digest(document, design) != design.checked_sha256:
            differs.append("checked digest (what the run was checked against: the programs "
                           "or the model's predictions changed)")
        if differs:
            stale.append(f"{design.configuration.name}: {' and '.join(differs)} differs")
    if stale:
        return Verdict(Path(path), "stale", "; ".join(stale) +
                       f"; make {KINDS[kind].target} reruns it")
    if absent:
        more = f" (and {len(absent) - 1} more)" if len(absent) > 1 else ""
        return Verdict(Path(path), "cannot tell", f"{absent[0]} not generated{more}")
    count = len(document.designs)
    return Verdict(Path(path), "current",
                   f"the Verilog of its {count} design{'s' if count > 1 else ''} and what "
                   f"{'they were' if count > 1 else 'it was'} checked against are today's")
