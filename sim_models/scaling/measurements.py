"""AWS's published workload measurements (``measurements.toml``): what the step model is
calibrated on and checked against."""

from dataclasses import dataclass
from pathlib import Path

from ..specs import SpecError, read_toml

__all__ = ["MEASUREMENTS_FILE", "ROLES", "KINDS", "Measurement", "load_measurements"]

#: The table of measurements.
MEASUREMENTS_FILE = Path(__file__).with_name("measurements.toml")
#: ``calibration`` rows fit the model's few efficiency parameters; ``validation`` rows only
#: check it.
ROLES = ("calibration", "validation")
#: Training rows give sequences/s of the whole system; decode rows ms per output token;
#: prefill rows the time to first token (TTFT), ms.
KINDS = {"training": "sequences/s", "decode": "ms/token", "prefill": "ms"}

_COMMON = ("key", "role", "kind", "system", "chips", "workload", "tp", "datatype", "figure",
           "unit", "source", "url", "note")
_FIELDS = {"training": _COMMON + ("pp", "dp", "micro_batch", "global_batch", "sequence",
                                  "zero_stage", "recompute"),
           "decode": _COMMON + ("batch", "context"),
           "prefill": _COMMON + ("batch", "prompt")}
#: Fields a row may carry: ``miss``, why the model misses the row, by mechanism (a validation
#: row outside the goal states it; tests keep it to those rows).
_OPTIONAL = ("miss",)


@dataclass(frozen=True)
class Measurement:
    """One published measurement and the configuration it was taken at.

    Members
    -------
    key, role, kind : str
    system : str
        The spec system the chips are built from (its unit for a cluster).
    chips : int
    workload : str
        Workload key (``workloads.toml``).
    config : dict
        The plan: ``tp``, ``datatype`` and, for training, ``pp``, ``dp``, ``micro_batch``,
        ``global_batch``, ``sequence``, ``zero_stage``, ``recompute``; for decode ``batch`` and
        ``context``.
    figure : float
        The published figure in ``unit`` (:data:`KINDS`).
    unit, source, url, note : str
        ``source`` is a key of ``sim_models/specs/sources.toml``; ``url`` where it was read.
    miss : str
        Why the model misses the row, by mechanism and with the evidence; empty for a row the
        model holds.
    """
    key: str
    role: str
    kind: str
    system: str
    chips: int
    workload: str
    config: dict
    figure: float
    unit: str
    source: str
    url: str
    note: str
    miss: str = ""


def load_measurements(path=MEASUREMENTS_FILE):
    """Read the measurements table.

    Raises
    ------
    SpecError
        If a row lacks a field, has an unknown one, or an unknown role, kind or unit (one line
        naming the file, the row and the field).

    Returns
    -------
    tuple of Measurement
    """
    path = Path(path)
    rows = []
    for index, row in enumerate(read_toml(path).get("measurement", [])):
        name = f"{path.name}: measurement {row.get('key', index)!r}"
        kind = row.get("kind")
        if kind not in KINDS:
            raise SpecError(f"{name}: field 'kind' is {kind!r}; allowed: {', '.join(KINDS)}")
        missing = [field for field in _FIELDS[kind] if field not in row]
        unknown = [field for field in row if field not in _FIELDS[kind] + _OPTIONAL]
        if missing or unknown:
            raise SpecError(f"{name}: fields missing {missing}, unknown {unknown}")
        if row["role"] not in ROLES:
            raise SpecError(f"{name}: field 'role' is {row['role']!r}; allowed: "
                            f"{', '.join(ROLES)}")
        if row["unit"] != KINDS[kind]:
            raise SpecError(f"{name}: field 'unit' is {row['unit']!r}; a {kind} row is in "
                            f"{KINDS[kind]}")
        config = {field: row[field] for field in _FIELDS[kind] if field not in _COMMON} | \
            {"tp": row["tp"], "datatype": row["datatype"]}
        rows.append(Measurement(row["key"], row["role"], kind, row["system"], row["chips"],
                                row["workload"], config, float(row["figure"]), row["unit"],
                                row["source"], row["url"], row["note"],
                                " ".join(row.get("miss", "").split())))
    return tuple(rows)
