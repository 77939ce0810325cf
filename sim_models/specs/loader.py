"""Read a directory of spec files (TOML) into ``Specs``, rejecting anything malformed.

A directory holds ``sources.toml`` (``[sources.KEY] cite = "...", urls = ["https://..."]``,
one table per source key: what the source is and where to read it) and one file per chip
family. Every number in a family file is a sourced quantity, an inline table::

    clock = { value = 2.4, unit = "GHz", source = "N-T2", note = "optional caveat" }

``source`` is a key of sources.toml, or ``DERIVED`` / ``ASSUMED`` with a note saying from
what / why. ``unit`` is one of ``units.DIMENSIONS`` for the field's dimension; counts and
ratios may omit it (it is then ``"1"``). A family file has these tables (fields required
unless marked optional):

- ``[chip]``: ``key``, ``name``, ``kind`` (neuron | gpu), ``hbm_capacity`` (bytes),
  ``hbm_bandwidth`` (bytes/s), ``process`` (a string, optional), ``power`` (W, optional).
  Neuron: also ``cores``, ``hbm_stacks`` (counts), ``link_bandwidth`` (bytes/s). GPU:
  ``[chip.peak_flops]`` (dense FLOP/s per datatype, bf16 required), ``hbm_stacks`` and
  ``link_bandwidth`` optional.
- ``[core]`` (neuron only): ``array_rows``, ``array_cols``, ``clock``, ``sbuf``, ``psum``,
  ``psum_banks``, ``psum_bank_entries``, ``max_moving_free``, ``logical_core_size``,
  ``vector_flops``, ``scalar_flops``, ``gpsimd_flops``, ``sparsity_factor``, ``vector_clock``,
  ``scalar_clock`` (the last three optional),
  ``[core.macs_per_pe_per_cycle]`` (ratio per datatype, bf16 required).
- ``[[system]]`` (optional, any number): ``key``, ``name``, ``level`` (instance | ultraserver
  | cluster), ``chips``, ``topology = { kind, dims, source, note }`` (kind torus | switch |
  ring | fat-tree; ``dims`` only and always for a torus, multiplying to ``chips``, or for a
  cluster to its unit's chips), ``link_bandwidth`` (a list, one per torus dimension, else one
  quantity), ``scale_out_bandwidth`` and ``scale_out_latency`` (optional), ``servers``
  (optional, a divisor of ``chips``), ``unit`` (the key of the system a cluster is built from;
  clusters only).
- ``[[published]]`` (optional): ``key``, ``subject`` (a chip or system key), ``quantity``
  (``PUBLISHED_QUANTITIES``), ``datatype`` (for FLOP/s quantities only), ``value``, ``unit``,
  ``source`` (a key of sources.toml: a published figure is never DERIVED or ASSUMED),
  ``note`` (optional), ``claim`` (``C1`` .. ``C12``, optional).

Errors name the file and the field; list entries are numbered from 0 (``system[1]`` is the
second ``[[system]]`` of the file).
"""

import math
import re
import tomllib
from pathlib import Path

from .types import (ChipSpec, CoreSpec, PublishedFigure, Source, Sourced, SpecError, Specs,
                    SystemSpec, Topology)
from .units import DIMENSIONS, to_si

__all__ = ["load_specs", "DEFAULT_DIRECTORY", "PUBLISHED_QUANTITIES", "DATATYPES", "read_toml"]

DEFAULT_DIRECTORY = Path(__file__).parent
SOURCES_FILE = "sources.toml"
#: A source's address: https, a host, no white space.
URL = re.compile(r"https://[^\s/]+\.[^\s/]+(/\S*)?")
SPECIAL_SOURCES = {"DERIVED": "from what", "ASSUMED": "why"}
KINDS = ("neuron", "gpu")
LEVELS = ("instance", "ultraserver", "cluster")
TOPOLOGIES = ("torus", "switch", "ring", "fat-tree")
DATATYPES = ("bf16", "fp16", "tf32", "fp32", "fp8", "mxfp8", "mxfp4")
FLOPS_DATATYPES = (*DATATYPES, "sparse")
PUBLISHED_QUANTITIES = {
    "peak_flops": "flops", "core_peak_flops": "flops", "hbm_capacity": "bytes",
    "hbm_bandwidth": "bandwidth", "link_bandwidth": "bandwidth",
    "scale_out_bandwidth": "bandwidth", "chips": "count", "sbuf": "bytes",
}
CLAIMS = tuple(f"C{number}" for number in range(1, 13))

CORE_FIELDS = {
    "array_rows": "count", "array_cols": "count", "clock": "frequency", "sbuf": "bytes",
    "psum": "bytes", "psum_banks": "count", "psum_bank_entries": "count",
    "max_moving_free": "count", "logical_core_size": "count", "vector_flops": "flops",
    "scalar_flops": "flops", "gpsimd_flops": "flops",
}


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _is_positive_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 \
        and math.isfinite(value)


def _choices(values):
    return ", ".join(values)


class _File:
    """Field readers for one spec file; every error they raise names the file and the field."""

    def __init__(self, path, sources):
        self.path = path
        self.sources = sources

    def error(self, field, text):
        return SpecError(f"{self.path.name}: field '{field}' {text}")

    def table(self, value, field):
        if not isinstance(value, dict):
            raise self.error(field, f"must be a table, not {value!r}")
        return value

    def fields(self, table, prefix, required, optional=()):
        """Check that ``table`` has every ``required`` key and no key outside both lists."""
        for name in required:
            if name not in table:
                raise self.error(_join(prefix, name), "is missing")
        allowed = (*required, *optional)
        for name in table:
            if name not in allowed:
                raise self.error(_join(prefix, name),
                                 f"is not allowed here; allowed: {_choices(allowed)}")

    def text(self, table, prefix, name, choices=None):
        field = _join(prefix, name)
        if name not in table:
            raise self.error(field, "is missing")
        value = table[name]
        if choices is not None and value not in choices:
            raise self.error(field, f"must be one of {_choices(choices)}, not {value!r}")
        if not isinstance(value, str) or not value:
            raise self.error(field, f"must be a non-empty string, not {value!r}")
        return value

    def source(self, entry, field):
        """Check ``entry['source']`` (and its note); return (source, note)."""
        note = entry.get("note")
        if note is not None and (not isinstance(note, str) or not note.strip()):
            raise self.error(_join(field, "note"), f"must be a non-empty string, not {note!r}")
        source = entry["source"]
        if isinstance(source, str) and source in SPECIAL_SOURCES:
            if note is None:
                raise self.error(field, f"has source {source!r}, so it needs a note saying "
                                        f"{SPECIAL_SOURCES[source]}")
        elif not isinstance(source, str) or source not in self.sources:
            raise self.error(field, f"has unknown source {source!r}; allowed: a key of "
                                    f"{SOURCES_FILE}, DERIVED or ASSUMED")
        return source, note

    def sourced(self, entry, field, dimension):
        """Read one sourced quantity of ``dimension`` (a key of DIMENSIONS, or "text")."""
        if not isinstance(entry, dict):
            raise self.error(field, f"must be a table with value, unit and source, "
                                    f"not {entry!r}")
        if dimension == "text":
            self.fields(entry, field, ("value", "source"), ("note",))
            given = entry["value"]
            if not isinstance(given, str) or not given.strip():
                raise self.error(field, f"must be a non-empty string, not {given!r}")
            return Sourced(given, given, None, *self.source(entry, field))
        self.fields(entry, field, ("value", "source"), ("unit", "note"))
        units = DIMENSIONS[dimension]
        unit = entry.get("unit")
        if unit is None:
            if "1" not in units:
                raise self.error(_join(field, "unit"), "is missing")
            unit = "1"
        if unit not in units:
            raise self.error(field, f"has unknown unit {unit!r}; allowed: {_choices(units)}")
        given = entry["value"]
        if dimension == "count":
            if not isinstance(given, int) or isinstance(given, bool) or given <= 0:
                raise self.error(field, f"must be a positive integer, not {given!r}")
        elif not _is_positive_number(given):
            raise self.error(field, f"must be a positive number, not {given!r}")
        return Sourced(to_si(given, dimension, unit), given, unit, *self.source(entry, field))

    def quantity(self, table, prefix, name, dimension):
        """Read ``table[name]`` as a sourced quantity, or None if it is absent."""
        if name not in table:
            return None
        return self.sourced(table[name], _join(prefix, name), dimension)

    def datatype_table(self, table, prefix, name, dimension):
        """Read a table of sourced quantities by datatype (bf16 required) into a dict."""
        field = _join(prefix, name)
        entries = self.table(table[name], field)
        self.fields(entries, field, ("bf16",), DATATYPES[1:])
        return {datatype: self.sourced(entry, _join(field, datatype), dimension)
                for datatype, entry in entries.items()}

    def entries(self, data, name):
        """Return the list of ``[[name]]`` tables (empty if there are none)."""
        entries = data.get(name, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise self.error(name, f"must be an array of tables ([[{name}]]), not {entries!r}")
        return entries


def read_toml(path):
    """The tables of the TOML file ``path``.

    Raises
    ------
    SpecError
        One line naming the file when it cannot be read, is not UTF-8 or is not valid TOML.
    """
    path = Path(path)
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path.name}: is not valid TOML ({error})") from None
    except UnicodeDecodeError as error:
        raise SpecError(f"{path.name}: is not UTF-8 text (byte {error.object[error.start]:#04x} "
                        f"at offset {error.start}); TOML files must be UTF-8") from None
    except OSError as error:
        raise SpecError(f"{path}: cannot be read: {error.strerror or error}") from None


def _read_sources(path):
    f = _File(path, {})
    data = read_toml(path)
    f.fields(data, "", ("sources",))
    sources = {}
    for key, entry in f.table(data["sources"], "sources").items():
        field = f"sources.{key}"
        if key in SPECIAL_SOURCES:
            raise f.error(field, f"must not be defined: {key} is reserved for figures that "
                                 f"no source publishes")
        f.fields(f.table(entry, field), field, ("cite", "urls"))
        urls = entry["urls"]
        if not isinstance(urls, list) or not urls or not all(
                isinstance(url, str) and URL.fullmatch(url) for url in urls):
            raise f.error(f"{field}.urls", f"must be a non-empty list of https addresses, "
                                           f"not {urls!r}")
        sources[key] = Source(f.text(entry, field, "cite"), tuple(urls))
    return sources


def _read_core(f, data):
    core = f.table(data["core"], "core")
    f.fields(core, "core", (*CORE_FIELDS, "macs_per_pe_per_cycle"),
             ("sparsity_factor", "vector_clock", "scalar_clock"))
    values = {name: f.quantity(core, "core", name, dimension)
              for name, dimension in CORE_FIELDS.items()}
    return CoreSpec(**values,
                    sparsity_factor=f.quantity(core, "core", "sparsity_factor", "count"),
                    vector_clock=f.quantity(core, "core", "vector_clock", "frequency"),
                    scalar_clock=f.quantity(core, "core", "scalar_clock", "frequency"),
                    macs_per_pe_per_cycle=f.datatype_table(core, "core",
                                                           "macs_per_pe_per_cycle", "ratio"))


def _read_chip(f, data):
    if "chip" not in data:
        raise f.error("chip", "is missing")
    chip = f.table(data["chip"], "chip")
    kind = f.text(chip, "chip", "kind", KINDS)
    neuron = kind == "neuron"
    required = ["key", "name", "kind", "hbm_capacity", "hbm_bandwidth"]
    optional = ["process", "power"]
    if neuron:
        required += ["cores", "hbm_stacks", "link_bandwidth"]
        f.fields(data, "", ("chip", "core"), ("system", "published"))
    else:
        required += ["peak_flops"]
        optional += ["hbm_stacks", "link_bandwidth"]
        f.fields(data, "", ("chip",), ("system", "published"))
    f.fields(chip, "chip", required, optional)

    def quantity(name, dimension):
        return f.quantity(chip, "chip", name, dimension)

    return ChipSpec(
        key=f.text(chip, "chip", "key"), name=f.text(chip, "chip", "name"), kind=kind,
        file=f.path, cores=quantity("cores", "count"),
        core=_read_core(f, data) if neuron else None,
        hbm_capacity=quantity("hbm_capacity", "bytes"),
        hbm_stacks=quantity("hbm_stacks", "count"),
        hbm_bandwidth=quantity("hbm_bandwidth", "bandwidth"),
        link_bandwidth=quantity("link_bandwidth", "bandwidth"),
        process=quantity("process", "text"), power=quantity("power", "power"),
        peak_flops={} if neuron else f.datatype_table(chip, "chip", "peak_flops", "flops"))


def _read_topology(f, entry, field):
    topology = f.table(entry, field)
    f.fields(topology, field, ("kind", "source"), ("dims", "note"))
    kind = f.text(topology, field, "kind", TOPOLOGIES)
    dims = ()
    if kind == "torus":
        if "dims" not in topology:
            raise f.error(f"{field}.dims", "is missing")
        dims = topology["dims"]
        if not isinstance(dims, list) or not dims or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in dims):
            raise f.error(f"{field}.dims", f"must be a non-empty list of positive integers, "
                                           f"not {dims!r}")
        dims = tuple(dims)
    elif "dims" in topology:
        raise f.error(f"{field}.dims", f"is allowed only when the kind is torus, not {kind!r}")
    return Topology(kind, dims, *f.source(topology, field))


def _read_links(f, entry, field, topology):
    items = entry if isinstance(entry, list) else [entry]
    if topology.kind == "torus":
        if len(items) != len(topology.dims):
            raise f.error(field, f"must be a list of {len(topology.dims)} bandwidths, one per "
                                 f"torus dimension, not {len(items)}")
    elif len(items) != 1:
        raise f.error(field, f"must be one bandwidth for a {topology.kind} topology, "
                             f"not {len(items)}")
    if not isinstance(entry, list):
        return (f.sourced(entry, field, "bandwidth"),)
    return tuple(f.sourced(item, f"{field}[{index}]", "bandwidth")
                 for index, item in enumerate(items))


def _read_system(f, entry, prefix, chip_key):
    level = f.text(entry, prefix, "level", LEVELS)
    required = ["key", "name", "level", "chips", "topology", "link_bandwidth"]
    if level == "cluster":
        required.append("unit")
    f.fields(entry, prefix, required, ("scale_out_bandwidth", "scale_out_latency", "servers"))
    chips = f.sourced(entry["chips"], f"{prefix}.chips", "count")
    servers = f.quantity(entry, prefix, "servers", "count")
    if servers is not None and chips.value % servers.value:
        raise f.error(f"{prefix}.servers", f"must divide the {chips.value} chips, "
                                           f"not {servers.value}")
    topology = _read_topology(f, entry["topology"], f"{prefix}.topology")
    if topology.kind == "torus" and level != "cluster":
        _check_dims(f, f"{prefix}.topology.dims", topology.dims, chips.value, "chips")
    return SystemSpec(
        key=f.text(entry, prefix, "key"), name=f.text(entry, prefix, "name"), level=level,
        chip=chip_key, chips=chips, topology=topology,
        link_bandwidth=_read_links(f, entry["link_bandwidth"], f"{prefix}.link_bandwidth",
                                   topology),
        scale_out_bandwidth=f.quantity(entry, prefix, "scale_out_bandwidth", "bandwidth"),
        scale_out_latency=f.quantity(entry, prefix, "scale_out_latency", "time"),
        unit=f.text(entry, prefix, "unit") if level == "cluster" else None, file=f.path,
        servers=servers)


def _check_dims(f, field, dims, chips, what):
    product = 1
    for dim in dims:
        product *= dim
    if product != chips:
        raise f.error(field, f"must multiply to the {chips} {what}, not {list(dims)} "
                             f"(product {product})")


def _read_published(f, entry, prefix):
    quantity = f.text(entry, prefix, "quantity", tuple(PUBLISHED_QUANTITIES))
    dimension = PUBLISHED_QUANTITIES[quantity]
    flops = dimension == "flops"
    required = ["key", "subject", "quantity", "value", "source"]
    if flops:
        required.append("datatype")
    f.fields(entry, prefix, required,
             ("unit", "note", "claim") if flops else ("unit", "note", "claim", "datatype"))
    if not flops and "datatype" in entry:
        raise f.error(f"{prefix}.datatype", f"is allowed only for FLOP/s quantities, not for "
                                            f"{quantity!r}")
    value = f.sourced({name: entry[name] for name in ("value", "unit", "source", "note")
                       if name in entry}, prefix, dimension)
    if value.source in SPECIAL_SOURCES:
        raise f.error(f"{prefix}.source", f"must be a key of {SOURCES_FILE}, not "
                                          f"{value.source!r}: a published figure is cited")
    return PublishedFigure(
        key=f.text(entry, prefix, "key"), subject=f.text(entry, prefix, "subject"),
        quantity=quantity,
        datatype=f.text(entry, prefix, "datatype", FLOPS_DATATYPES) if flops else None,
        value=value,
        claim=f.text(entry, prefix, "claim", CLAIMS) if "claim" in entry else None,
        file=f.path)


class _Registry:
    """Keys seen so far across files, to reject duplicates with both places named."""

    def __init__(self):
        self.seen = {}

    def add(self, f, field, key, what):
        if key in self.seen:
            raise f.error(field, f"must be unique, not {key!r} (already a {self.seen[key]})")
        self.seen[key] = f"{what} in {f.path.name}"


def load_specs(directory=None):
    """Load every spec file of ``directory`` (default: this package's data).

    Parameters
    ----------
    directory : str or pathlib.Path, optional
        A folder holding ``sources.toml`` and the family files (every other ``*.toml``), read
        in name order.

    Returns
    -------
    Specs

    Raises
    ------
    SpecError
        If a file is missing, is not valid TOML, or has a missing, unknown or invalid field, an
        unknown source, unit, chip or system, or a duplicate key; the message names the file
        and the field.
    """
    directory = DEFAULT_DIRECTORY if directory is None else Path(directory)
    if not (directory / SOURCES_FILE).is_file():
        raise SpecError(f"Spec directory '{directory}' must hold {SOURCES_FILE}, and does not")
    sources = _read_sources(directory / SOURCES_FILE)
    chips, systems, published = {}, {}, []
    names = _Registry()      # chip and system keys share one namespace: subjects name either
    figure_keys = _Registry()
    systems_read = []        # (file, field prefix, system) for the checks across files
    figures_read = []
    for path in sorted(directory.glob("*.toml")):
        if path.name == SOURCES_FILE:
            continue
        f = _File(path, sources)
        data = read_toml(path)
        chip = _read_chip(f, data)
        names.add(f, "chip.key", chip.key, "chip")
        chips[chip.key] = chip
        for index, entry in enumerate(f.entries(data, "system")):
            prefix = f"system[{index}]"
            system = _read_system(f, entry, prefix, chip.key)
            names.add(f, f"{prefix}.key", system.key, "system")
            systems[system.key] = system
            systems_read.append((f, prefix, system))
        for index, entry in enumerate(f.entries(data, "published")):
            prefix = f"published[{index}]"
            figure = _read_published(f, entry, prefix)
            figure_keys.add(f, f"{prefix}.key", figure.key, "published figure")
            published.append(figure)
            figures_read.append((f, prefix, figure))
    _check_references(systems_read, figures_read, chips, systems)
    return Specs(chips=chips, systems=systems, published=tuple(published), sources=sources)


def _check_references(systems_read, figures_read, chips, systems):
    """Check what names another chip or system: cluster units and published subjects."""
    for f, prefix, system in systems_read:
        if system.unit is None:
            continue
        if system.unit not in systems:
            raise f.error(f"{prefix}.unit", f"must name a system, not {system.unit!r}; "
                                            f"known: {_choices(systems)}")
        if system.topology.kind == "torus":
            unit = systems[system.unit]
            _check_dims(f, f"{prefix}.topology.dims", system.topology.dims, unit.chips.value,
                        f"chips of its unit {unit.key!r}")
    for f, prefix, figure in figures_read:
        if figure.quantity == "core_peak_flops":
            if figure.subject not in chips or chips[figure.subject].core is None:
                cores = [key for key, chip in chips.items() if chip.core is not None]
                raise f.error(f"{prefix}.subject", f"must name a chip with NeuronCores for "
                                                   f"core_peak_flops, not {figure.subject!r}; "
                                                   f"known: {_choices(cores)}")
        elif figure.subject not in chips and figure.subject not in systems:
            raise f.error(f"{prefix}.subject", f"must name a chip or system, not "
                                               f"{figure.subject!r}; known: "
                                               f"{_choices([*chips, *systems])}")
