"""The run request: what one simulation's cocotb tests are to do, as a small JSON file.

:func:`tb.launch.simulate` writes it into the run directory and hands its path to the
simulation as the plusarg ``+run_request=<path>``; the tests read it back through
:mod:`tb.run_context`. It names the design's ``.ports.json`` sidecar (whose ``config`` is the
design's configuration), the seed, the JSON-lines file the tests append their measurements
to, per-run options of the test module, and the command that reproduces the run. Nothing here
imports cocotb: both sides use it.
"""

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

__all__ = ["PLUSARG", "RunRequest", "matmul_format_option"]

#: Name of the plusarg that carries the request's path.
PLUSARG = "run_request"


@dataclass(frozen=True)
class RunRequest:
    """What the cocotb tests of one simulation are to do.

    Members
    -------
    sidecar : Path
        The design's ``<top>.ports.json``; its ``config`` is read with
        :func:`sim_models.config.config_from_dict`.
    seed : int
        Seed of every randomized test, >= 0; each test mixes in its own name.
    results : Path or None
        JSON-lines file receiving one record per measurement; None to record nothing.
    options : dict
        Options of the test module, JSON values: ``tb.tile_gemm_tb`` reads ``shapes``, a list
        of ``[M, K, N]``; the tile tests read ``matmul_format`` (:func:`matmul_format_option`).
    rerun : str or None
        Shell command that reproduces the run, logged with the seed; None if the caller has
        none to give.
    """
    sidecar: Path
    seed: int
    results: Path | None = None
    options: dict = field(default_factory=dict)
    rerun: str | None = None

    def write(self, path):
        """Write the request to ``path`` as JSON."""
        values = asdict(self)
        values["sidecar"] = str(self.sidecar)
        values["results"] = None if self.results is None else str(self.results)
        Path(path).write_text(json.dumps(values, indent=1, sort_keys=True) + "\n")

    @classmethod
    def read(cls, path):
        """The request written to ``path`` by :meth:`write`.

        Raises
        ------
        ValueError
            If the file is not such a request; one line naming the file and what is wrong.
        """
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"Run request {path} cannot be read: {error}") from None
        names = {item.name for item in fields(cls)}
        if not isinstance(values, dict) or set(values) != names:
            found = sorted(values) if isinstance(values, dict) else type(values).__name__
            raise ValueError(f"Run request {path} must have the fields "
                             f"{', '.join(sorted(names))}, not {found}")
        seed = values["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"Run request {path}: 'seed' must be a non-negative integer, "
                             f"not {seed!r}")
        results = values["results"]
        return cls(Path(values["sidecar"]), seed, None if results is None else Path(results),
                   values["options"], values["rerun"])


def matmul_format_option(matmul_format):
    """The run request option that makes the tile tests run in ``matmul_format`` (a
    :class:`sim_models.program.MatmulFormat`): ``[stationary, moving, double_row]``, and
    ``mx`` after them in MX mode."""
    return {"matmul_format": [matmul_format.stationary, matmul_format.moving,
                              matmul_format.double_row] + ([True] if matmul_format.mx else [])}
