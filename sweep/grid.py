"""The grid of a sweep: a small TOML file, parsed and validated into :class:`SweepPoint` s.

::

    [tile]                        # every combination of these is one tile configuration
    rows = [2, 4]                 # PE rows, 1..128
    cols = [2, 4]                 # PE columns, 1..128
    formats = ["int8"]            # format sets: names of sim_models.config.OPERAND_FORMATS,
                                  # comma-separated, e.g. "bf16,fp8_e4m3"
    psum_banks = [2]              # 1..16
    psum_depth = [64]             # result vectors per bank, 1..4096
    pe_stages = [1, "default"]    # MAC pipeline depth: 1 for int8, 1..9 for floating point,
                                  # or "default", the format set's default (optional)

    [measure]
    simulator = "verilator"       # or "icarus"
    gemms = "characterization"    # each tile's standard shapes in its fastest mode,
                                  # or ["MxKxN", ...]

    [projection]
    system = "trn2-instance"      # a system of sim_models.specs
    workloads = ["llama3-8b"]     # workloads of sim_models.scaling; one point per workload

Each tile configuration times each workload is one point; points that differ only in their
workload share one RTL. Every error is a :class:`GridError` of one line naming the file, the
key, its value and what is allowed.
"""

import hashlib
import json
import tomllib
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from sim_models.config import TileConfig, check_formats, config_to_dict
from sim_models.scaling.workloads import load_workloads
from sim_models.specs import SpecError, load_specs
from sim_models.stimulus import characterization_shapes, peak_format

__all__ = ["CHARACTERIZATION", "SIMULATORS", "GridError", "SweepPoint", "load_grid",
           "parse_grid"]

#: The ``gemms`` value that asks for each tile's standard shapes (``characterization_shapes``).
CHARACTERIZATION = "characterization"
#: Simulators a point's GEMMs can run on.
SIMULATORS = ("verilator", "icarus")
_TILE_KEYS = ("rows", "cols", "formats", "psum_banks", "psum_depth", "pe_stages")
#: The ``pe_stages`` value that stands for the format set's default depth.
DEFAULT_STAGES = "default"
_SECTIONS = {"tile": _TILE_KEYS, "measure": ("simulator", "gemms"),
             "projection": ("system", "workloads")}


#: The largest GEMM a grid may ask for: each of M, K and N, and their product (MACs). Beyond
#: them the operands and the simulation outgrow a worker's memory and hours.
MAX_GEMM_SIDE = 4096
MAX_GEMM_MACS = 1 << 30


class GridError(ValueError):
    """A grid file is unreadable, malformed or names something unknown (one line)."""


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: a tile and how it is measured and projected.

    Members
    -------
    config : TileConfig
    simulator : str
        ``"verilator"`` or ``"icarus"``, for the checked GEMMs.
    gemms : str
        ``"characterization"`` or the shapes as written (``"2x2x32,4x4x64"``).
    shapes : tuple of (int, int, int)
        The GEMMs (M, K, N) simulated.
    system, workload : str
        Keys of the system and the workload of the chip-scale projection.
    """
    config: TileConfig
    simulator: str
    gemms: str
    shapes: tuple
    system: str
    workload: str

    @property
    def name(self):
        """Readable name, e.g. ``r2c2_b2d64_int8.llama3-8b``."""
        return f"{self.config.name}.{self.workload}"

    @property
    def digest(self):
        """SHA-256 (hex) of the configuration and the measurement choice: the point's key in
        the store. The RTL is not part of it (points may share one)."""
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()

    @property
    def measurement_digest(self):
        """SHA-256 (hex) of what the point's checked GEMMs depend on: the configuration, the
        simulator and the shapes. Points that differ only in their projection (system,
        workload) share it, and so share one simulation of their GEMMs."""
        measurement = {key: value for key, value in self.as_dict().items()
                       if key in ("config", "simulator", "shapes")}
        return hashlib.sha256(json.dumps(measurement, sort_keys=True).encode()).hexdigest()

    def as_dict(self):
        """The JSON form of the point: its configuration and measurement choice."""
        return {"config": config_to_dict(self.config), "simulator": self.simulator,
                "gemms": self.gemms, "shapes": [list(shape) for shape in self.shapes],
                "system": self.system, "workload": self.workload}


def _list(where, key, value, kind):
    """``value`` as a non-empty list of ``kind``, each value once; a scalar is a list of one."""
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(item, kind) and not isinstance(item, bool)
                             for item in values):
        raise GridError(f"{where} {key} = {value!r}: must be a {kind.__name__} or a non-empty "
                        f"list of them")
    repeated = next((item for index, item in enumerate(values) if item in values[:index]), None)
    if repeated is not None:
        raise GridError(f"{where} {key} = {value!r}: {repeated!r} appears more than once; give "
                        f"each value once")
    return values


def _shapes(where, value):
    if value == CHARACTERIZATION:
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        items = [None]
    shapes = []
    for item in items:
        sizes = item.strip().split("x") if isinstance(item, str) else []
        if len(sizes) != 3 or not all(size.isdigit() and int(size) > 0 for size in sizes):
            raise GridError(f"{where} gemms = {value!r}: must be \"{CHARACTERIZATION}\" or a "
                            f"list of \"MxKxN\" with positive integers")
        shape = tuple(int(size) for size in sizes)
        if max(shape) > MAX_GEMM_SIDE or shape[0] * shape[1] * shape[2] > MAX_GEMM_MACS:
            raise GridError(f"{where} gemms: {item.strip()} is beyond what a sweep simulates: "
                            f"M, K and N at most {MAX_GEMM_SIDE:,} and M x K x N at most "
                            f"{MAX_GEMM_MACS:,} MACs")
        shapes.append(shape)
    return tuple(shapes)


def _tiles(where, section):
    """The tile configurations of the grid's [tile] table, each once (int8 at depth 1 and at
    "default" is one configuration)."""
    axes = {key: _list(where, key, section[key], str if key == "formats" else int)
            for key in _TILE_KEYS if key in section and key != "pe_stages"}
    if "pe_stages" in section:
        axes["pe_stages"] = _stages(where, section["pe_stages"])
    for missing in ("rows", "cols"):
        if missing not in axes:
            raise GridError(f"{where} [tile] has no {missing}: give a list of integers, 1..128")
    if "formats" in axes:
        axes["formats"] = [_format_set(where, text) for text in axes["formats"]]
    keys = list(axes)
    configs = []
    for values in product(*axes.values()):
        arguments = dict(zip(keys, values))
        if arguments.get("pe_stages") == DEFAULT_STAGES:
            arguments["pe_stages"] = None      # TileConfig's: the format set's default
        try:
            config = TileConfig(**arguments)
        except (TypeError, ValueError) as error:
            raise GridError(f"{where} [tile]: {error}") from None
        if config not in configs:
            configs.append(config)
    return configs


def _stages(where, value):
    """The ``pe_stages`` axis: integers and ``"default"``."""
    values = value if isinstance(value, list) else [value]
    if not values or not all(item == DEFAULT_STAGES or (isinstance(item, int) and
                                                        not isinstance(item, bool))
                             for item in values):
        raise GridError(f"{where} pe_stages = {value!r}: must be an integer, "
                        f"\"{DEFAULT_STAGES}\" or a non-empty list of them")
    return values


def _format_set(where, text):
    """The format set that ``text`` (names, comma-separated) names, checked."""
    try:
        return check_formats(f"{where} [tile] formats {text!r}",
                             tuple(name.strip() for name in text.split(",")))
    except (TypeError, ValueError) as error:
        raise GridError(str(error)) from None


def parse_grid(text, where="grid"):
    """The points of the grid TOML ``text``; ``where`` names it in messages (the file).

    Raises
    ------
    GridError
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise GridError(f"{where}: not valid TOML: {error}") from None
    for name, section in document.items():
        if name not in _SECTIONS or not isinstance(section, dict):
            raise GridError(f"{where}: unknown key {name!r}; allowed tables: "
                            f"{', '.join(f'[{key}]' for key in _SECTIONS)}")
        for key in section:
            if key not in _SECTIONS[name]:
                raise GridError(f"{where} [{name}]: unknown key {key!r}; allowed: "
                                f"{', '.join(_SECTIONS[name])}")
    for name in _SECTIONS:
        if name not in document:
            raise GridError(f"{where}: the table [{name}] is missing")
    measure, projection = document["measure"], document["projection"]
    simulator = measure.get("simulator", "verilator")
    if simulator not in SIMULATORS:
        raise GridError(f"{where} [measure] simulator = {simulator!r}: must be one of "
                        f"{', '.join(SIMULATORS)}")
    gemms = measure.get("gemms", CHARACTERIZATION)
    shapes = _shapes(where, gemms)
    specs, workloads = load_specs(), load_workloads()
    system = projection.get("system")
    try:
        chip = specs.chip(specs.system(system).chip)
    except SpecError as error:
        raise GridError(f"{where} [projection] system: {error}") from None
    if chip.core is None:
        raise GridError(f"{where} [projection] system = {system!r}: a GPU system has no "
                        f"NeuronCore array to replace")
    names = _list(where, "workloads", projection.get("workloads"), str)
    for name in names:
        if name not in workloads:
            raise GridError(f"{where} [projection] workloads: unknown workload {name!r}; "
                            f"known: {', '.join(workloads)}")
    configs = _tiles(where, document["tile"])
    for config in configs:
        _check_mx_shapes(where, config, shapes or ())
    return [SweepPoint(config, simulator, gemms if isinstance(gemms, str) else ",".join(gemms),
                       shapes or tuple(characterization_shapes(config, peak_format(config))),
                       system, workload)
            for config in configs for workload in names]


def _check_mx_shapes(where, config, shapes):
    """Refuse a GEMM of ``shapes`` whose K is not a whole ``mx_k_multiple`` of ``config``, when
    the tile's fastest mode (what a point measures) is MX mode."""
    if not peak_format(config).mx:
        return
    for m, k, n in shapes:
        if k % config.mx_k_multiple:
            raise GridError(f"{where} gemms: {m}x{k}x{n} on {config.name}: a tile with MX mode "
                            f"runs its GEMMs in MX mode, whose K must be a multiple of "
                            f"{config.mx_k_multiple} (NKI's), not {k}")


def load_grid(path):
    """The points of the grid file ``path``.

    Raises
    ------
    GridError
        If the file cannot be read, or :func:`parse_grid` rejects it.
    """
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise GridError(f"{path}: cannot read the grid file: "
                        f"{getattr(error, 'strerror', None) or error}") from None
    return parse_grid(text, str(path))
