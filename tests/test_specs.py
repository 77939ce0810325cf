"""Spec data and its loader: the real files in SI units, and every kind of malformed file."""

import dataclasses
import re
import tomllib

import pytest

from sim_models.specs import (DEFAULT_DIRECTORY, ChipSpec, CoreSpec, PublishedFigure, Source,
                              Sourced, SpecError, Specs, SystemSpec, Topology, load_specs)
from sim_models.specs.units import DIMENSIONS, to_si

GiB = 2**30
MiB = 2**20


@pytest.fixture(scope="module")
def specs():
    return load_specs()


def test_chip_values_in_si(specs):
    trn2 = specs.chip("trn2")
    assert isinstance(trn2, ChipSpec) and isinstance(trn2.core, CoreSpec)
    assert (trn2.name, trn2.kind, trn2.file.name) == ("Trainium2", "neuron", "trn2.toml")
    assert trn2.cores.value == 8
    assert trn2.core.clock == Sourced(2.4e9, 2.4, "GHz", "N-T2", trn2.core.clock.note)
    assert trn2.hbm_capacity.value == 96 * GiB
    assert trn2.hbm_stacks.value == 4
    assert trn2.hbm_bandwidth.value == 2.9e12
    assert trn2.link_bandwidth.value == 1.28e12
    assert trn2.power.value == 500
    assert trn2.process is None and trn2.peak_flops == {}
    assert (trn2.core.array_rows.value, trn2.core.array_cols.value) == (128, 128)
    assert (trn2.core.sbuf.value, trn2.core.psum.value) == (28 * MiB, 2 * MiB)
    assert (trn2.core.psum_banks.value, trn2.core.psum_bank_entries.value) == (8, 512)
    assert trn2.core.max_moving_free.value == 512
    assert trn2.core.sparsity_factor.value == 4
    macs = {name: q.value for name, q in trn2.core.macs_per_pe_per_cycle.items()}
    assert macs == {"bf16": 1, "fp16": 1, "tf32": 1, "fp32": 0.25, "fp8": 2}

    trn1, trn3 = specs.chip("trn1"), specs.chip("trn3")
    assert trn1.core.clock.value == 2.8e9 and trn1.cores.value == 2
    assert trn1.core.sparsity_factor is None
    assert trn1.core.macs_per_pe_per_cycle["fp8"].value == 1
    assert trn1.hbm_bandwidth.value == 820e9
    assert trn3.core.max_moving_free.value == 4096
    assert trn3.core.sbuf.value == 32 * MiB and trn3.hbm_capacity.value == 144 * GiB
    assert "fp8" not in trn3.core.macs_per_pe_per_cycle       # unpublished on NC-v4
    assert trn3.core.macs_per_pe_per_cycle["mxfp8"].value == 4
    assert trn3.core.macs_per_pe_per_cycle["mxfp4"].value == 4
    assert trn3.process.value == "3 nm" and trn3.process.unit is None
    assert trn3.power.value == 1000

    h100 = specs.chip("h100")
    assert h100.kind == "gpu" and h100.core is None and h100.cores is None
    assert h100.peak_flops["fp8"].value == 1979e12 and h100.peak_flops["bf16"].value == 989e12
    assert h100.hbm_capacity.value == 80e9 and h100.hbm_bandwidth.value == 3.35e12
    assert specs.chip("b200").peak_flops["fp8"].value == 4.5e15


def test_system_values_in_si(specs):
    instance = specs.system("trn2-instance")
    assert isinstance(instance, SystemSpec)
    assert (instance.level, instance.chip, instance.unit) == ("instance", "trn2", None)
    assert instance.chips.value == 16
    assert instance.topology == Topology("torus", (4, 4), "A-TRN2", instance.topology.note)
    assert [link.value for link in instance.link_bandwidth] == [256e9, 256e9]
    assert instance.scale_out_bandwidth.value == 25e9          # 200 Gb/s
    assert instance.scale_out_latency.value == pytest.approx(15e-6)

    ultraserver = specs.system("trn2-ultraserver")
    assert ultraserver.topology.dims == (4, 4, 4)
    assert ultraserver.servers.value == 4 and instance.servers is None
    assert [link.value for link in ultraserver.link_bandwidth] == [256e9, 256e9, 128e9]

    cluster = specs.system("trn2-ultracluster")
    assert (cluster.level, cluster.unit, cluster.chips.value) == \
        ("cluster", "trn2-ultraserver", 100_000)
    assert specs.system("trn3-ultracluster").chips.value == 1_000_000

    gen2 = specs.system("trn3-gen2-ultraserver")
    assert (gen2.chips.value, gen2.topology.kind, gen2.topology.dims) == (144, "switch", ())
    assert gen2.servers.value == 36
    assert [link.value for link in gen2.link_bandwidth] == [2048 * GiB]
    assert specs.system("trn3-gen1-ultraserver").chips.value == 64

    assert specs.system("trn1-instance").topology.dims == (4, 4)
    assert sorted(specs.systems) == sorted([
        "trn1-instance", "trn2-instance", "trn2-ultraserver", "trn2-ultracluster",
        "trn3-gen1-ultraserver", "trn3-gen2-ultraserver", "trn3-ultracluster"])


def test_published_figures(specs):
    figures = {figure.key: figure for figure in specs.published}
    assert len(figures) == len(specs.published)
    fp8 = figures["trn2-chip-fp8"]
    assert isinstance(fp8, PublishedFigure)
    assert (fp8.subject, fp8.quantity, fp8.datatype, fp8.claim) == \
        ("trn2", "peak_flops", "fp8", "C1")
    assert fp8.value.value == 1299e12 and fp8.value.source == "A-T2"
    assert figures["trn2-chip-fp8-first"].value.value == 1287e12
    assert figures["trn2-core-bf16"].quantity == "core_peak_flops"
    assert figures["trn2-instance-fp8"].value.value == pytest.approx(20.8e15)
    assert figures["trn2-ultraserver-fp8"].claim == "C3"
    claimed = figures["trn2-ultraserver-sparse-claimed"]
    assert (claimed.claim, claimed.value.value) == ("C4", pytest.approx(332.8e15))
    assert "No primary source" in claimed.value.note
    assert figures["trn2-ultracluster-exaflops"].value.value == 65e18
    assert figures["trn3-gen2-ultraserver-mxfp8"].value.value == 362_448e12
    assert figures["h100-chip-fp8"].claim == "C10"
    assert figures["trn2-instance-efa"].value.value == 400e9     # 3,200 Gb/s
    assert figures["trn2-chip-hbm-capacity"].datatype is None


def test_published_figures_keep_file_order(specs):
    expected = []
    for path in sorted(DEFAULT_DIRECTORY.glob("*.toml")):
        expected += [entry["key"] for entry in tomllib.loads(path.read_text()).get(
            "published", [])]
    assert [figure.key for figure in specs.published] == expected


def _sourced_tables(node):
    """Yield every table of a parsed TOML document that has a ``source`` key."""
    if isinstance(node, dict):
        if "source" in node:
            yield node
        for child in node.values():
            yield from _sourced_tables(child)
    elif isinstance(node, list):
        for child in node:
            yield from _sourced_tables(child)


def test_every_cited_source_exists(specs):
    # Read the files directly, not through the loader, so this checks the data on its own.
    cited = 0
    for path in sorted(DEFAULT_DIRECTORY.glob("*.toml")):
        if path.name == "sources.toml":
            continue
        for table in _sourced_tables(tomllib.loads(path.read_text())):
            cited += 1
            if table["source"] in ("DERIVED", "ASSUMED"):
                assert table.get("note", "").strip(), (path.name, table)
            else:
                assert table["source"] in specs.sources, (path.name, table)
    assert cited > 200
    # Every source is cited by what it is and where to read it, never by a local path.
    assert all(source.cite.strip() and source.urls for source in specs.sources.values())


def test_every_published_figure_carries_a_source(specs):
    for figure in specs.published:
        assert figure.value.source in specs.sources, figure.key
        assert figure.value.value > 0 and figure.value.unit in DIMENSIONS["flops"] | \
            DIMENSIONS["bytes"] | DIMENSIONS["bandwidth"] | DIMENSIONS["count"], figure.key
        assert figure.subject in specs.chips or figure.subject in specs.systems


def test_core_data_reproduce_the_published_core_peaks(specs):
    # A check of the data entry: 2 x rows x cols x clock x MACs/PE/cycle must give each
    # published per-core peak to within its rounding (FP32: 19.66 published as 20).
    checked = 0
    for figure in specs.published:
        if figure.quantity != "core_peak_flops":
            continue
        core = specs.chip(figure.subject).core
        macs = core.macs_per_pe_per_cycle
        rate = macs["bf16"].value * core.sparsity_factor.value if figure.datatype == "sparse" \
            else macs[figure.datatype].value
        peak = 2 * core.array_rows.value * core.array_cols.value * core.clock.value * rate
        assert peak == pytest.approx(figure.value.value, rel=0.02), figure.key
        checked += 1
    assert checked == 11


def test_system_memory_totals_match_the_chip(specs):
    # Published system HBM totals are chips x the chip's figure, except where the source
    # writes the unit differently (Trn1: 16 x 820 written as GiB/s).
    different_unit = {"trn1-instance-hbm-bandwidth"}
    checked = 0
    for figure in specs.published:
        if figure.subject not in specs.systems or figure.quantity not in (
                "hbm_capacity", "hbm_bandwidth"):
            continue
        system = specs.system(figure.subject)
        per_chip = getattr(specs.chip(system.chip), figure.quantity).value
        total = system.chips.value * per_chip
        if figure.key in different_unit:
            assert total == pytest.approx(figure.value.value * 1e9 / 2**30)
        else:
            assert total == pytest.approx(figure.value.value), figure.key
        checked += 1
    assert checked == 10


def test_variants_by_replace(specs):
    trn2 = specs.chip("trn2")
    faster = dataclasses.replace(trn2, core=dataclasses.replace(
        trn2.core, clock=dataclasses.replace(trn2.core.clock, value=3e9)))
    assert faster.core.clock.value == 3e9
    assert specs.chip("trn2").core.clock.value == 2.4e9
    with pytest.raises(dataclasses.FrozenInstanceError):
        trn2.core.clock.value = 1


def test_unknown_names(specs):
    with pytest.raises(SpecError, match=r"^Unknown system 'trn9-pod'; known: trn1-instance, "
                                        r"trn2-instance, trn2-ultraserver, trn2-ultracluster, "
                                        r"trn3-gen1-ultraserver, trn3-gen2-ultraserver, "
                                        r"trn3-ultracluster$"):
        specs.system("trn9-pod")
    with pytest.raises(SpecError, match=r"^Unknown chip 'trn9'; known: b200, h100, h200, trn1, "
                                        r"trn2, trn3$"):
        specs.chip("trn9")
    assert issubclass(SpecError, ValueError) and isinstance(specs, Specs)


@pytest.mark.parametrize("dimension, unit, factor", [
    (dimension, unit, factor) for dimension, units in DIMENSIONS.items()
    for unit, factor in units.items()])
def test_every_unit_converts(dimension, unit, factor):
    assert to_si(1, dimension, unit) == float(factor)


def test_conversions_are_exact():
    assert to_si(2.4, "frequency", "GHz") == 2.4e9
    assert to_si(96, "bytes", "GiB") == 103079215104
    assert isinstance(to_si(96, "bytes", "GiB"), int)
    assert to_si(3200, "bandwidth", "Gb/s") == 400e9
    assert to_si(15, "time", "us") == 15e-6
    assert to_si(4.9, "bandwidth", "TB/s") == 4.9e12
    assert to_si(0.25, "ratio", "1") == 0.25


# ---- Malformed files: a minimal valid directory, then one change per error kind ------------

SOURCES = """\
[sources.S1]
cite = "Test source one"
urls = ["https://example.org/one"]
"""

FAMILY = """\
[chip]
key = "x1"
name = "X1"
kind = "neuron"
cores = { value = 2, source = "S1" }
hbm_capacity = { value = 32, unit = "GiB", source = "S1" }
hbm_stacks = { value = 2, unit = "1", source = "S1" }
hbm_bandwidth = { value = 820, unit = "GB/s", source = "S1" }
link_bandwidth = { value = 384, unit = "GB/s", source = "S1" }

[core]
array_rows = { value = 128, unit = "1", source = "S1" }
array_cols = { value = 128, unit = "1", source = "S1" }
clock = { value = 2.8, unit = "GHz", source = "S1" }
sbuf = { value = 24, unit = "MiB", source = "S1" }
psum = { value = 2, unit = "MiB", source = "S1" }
psum_banks = { value = 8, unit = "1", source = "S1" }
psum_bank_entries = { value = 512, unit = "1", source = "S1" }
max_moving_free = { value = 512, unit = "1", source = "S1" }
logical_core_size = { value = 1, unit = "1", source = "S1" }
vector_flops = { value = 2300, unit = "GFLOPS", source = "S1" }
scalar_flops = { value = 2900, unit = "GFLOPS", source = "S1" }
gpsimd_flops = { value = 179.2, unit = "GFLOPS", source = "S1" }

[core.macs_per_pe_per_cycle]
bf16 = { value = 1, unit = "1", source = "S1" }
fp32 = { value = 0.25, unit = "1", source = "S1" }

[[system]]
key = "x1-box"
name = "X1 box"
level = "instance"
chips = { value = 16, unit = "1", source = "S1" }
topology = { kind = "torus", dims = [4, 4], source = "S1" }
link_bandwidth = [
    { value = 96, unit = "GB/s", source = "DERIVED", note = "384 / 4" },
    { value = 96, unit = "GB/s", source = "DERIVED", note = "384 / 4" },
]
scale_out_latency = { value = 15, unit = "us", source = "S1" }
servers = { value = 2, source = "S1" }

[[system]]
key = "x1-cluster"
name = "X1 cluster"
level = "cluster"
unit = "x1-box"
chips = { value = 1000, unit = "1", source = "S1" }
topology = { kind = "fat-tree", source = "ASSUMED", note = "not published" }
link_bandwidth = { value = 200, unit = "Gb/s", source = "S1" }

[[published]]
key = "x1-chip-bf16"
subject = "x1"
quantity = "peak_flops"
datatype = "bf16"
value = 190
unit = "TFLOPS"
source = "S1"
claim = "C1"
"""

GPU = """\
[chip]
key = "g1"
name = "G1"
kind = "gpu"
hbm_capacity = { value = 80, unit = "GB", source = "S1" }
hbm_bandwidth = { value = 3.35, unit = "TB/s", source = "S1" }

[chip.peak_flops]
bf16 = { value = 989, unit = "TFLOPS", source = "S1" }
"""


def _write(directory, files):
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def _change(text, old, new):
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_minimal_directory_loads(tmp_path):
    specs = load_specs(_write(tmp_path, {"sources.toml": SOURCES, "x1.toml": FAMILY,
                                         "g1.toml": GPU}))
    assert specs.sources == {"S1": Source("Test source one", ("https://example.org/one",))}
    assert specs.chip("x1").cores == Sourced(2, 2, "1", "S1")
    assert specs.chip("x1").core.clock.value == 2.8e9
    assert specs.chip("g1").peak_flops["bf16"].value == 989e12
    assert [link.value for link in specs.system("x1-box").link_bandwidth] == [96e9, 96e9]
    assert specs.system("x1-box").link_bandwidth[0].note == "384 / 4"
    assert specs.system("x1-box").servers == Sourced(2, 2, "1", "S1")
    assert specs.system("x1-cluster").servers is None
    assert specs.system("x1-cluster").link_bandwidth[0].value == 25e9
    assert specs.system("x1-cluster").topology == Topology("fat-tree", (), "ASSUMED",
                                                           "not published")
    assert [figure.key for figure in specs.published] == ["x1-chip-bf16"]


BAD_FAMILY = [
    # Missing fields
    (("clock = { value = 2.8, unit = \"GHz\", source = \"S1\" }\n", ""),
     "x1.toml: field 'core.clock' is missing"),
    (("[core]\n", "[cores]\n"),
     "x1.toml: field 'cores' is not allowed here; allowed: chip, core, system, published"),
    (("unit = \"GHz\", ", ""), "x1.toml: field 'core.clock.unit' is missing"),
    (("value = 820, unit = \"GB/s\", source = \"S1\"", "value = 820, unit = \"GB/s\""),
     "x1.toml: field 'chip.hbm_bandwidth.source' is missing"),
    # Zero, negative and non-numeric values
    (("value = 820,", "value = -1,"),
     "x1.toml: field 'chip.hbm_bandwidth' must be a positive number, not -1"),
    (("value = 384,", "value = 0,"),
     "x1.toml: field 'chip.link_bandwidth' must be a positive number, not 0"),
    (("value = 32,", "value = 0.0,"),
     "x1.toml: field 'chip.hbm_capacity' must be a positive number, not 0.0"),
    (("value = 2.8,", "value = -2.8,"),
     "x1.toml: field 'core.clock' must be a positive number, not -2.8"),
    (("value = 2.8,", "value = inf,"),
     "x1.toml: field 'core.clock' must be a positive number, not inf"),
    (("value = 2.8,", "value = \"fast\","),
     "x1.toml: field 'core.clock' must be a positive number, not 'fast'"),
    (("cores = { value = 2,", "cores = { value = 0,"),
     "x1.toml: field 'chip.cores' must be a positive integer, not 0"),
    (("cores = { value = 2,", "cores = { value = 2.5,"),
     "x1.toml: field 'chip.cores' must be a positive integer, not 2.5"),
    (("link_bandwidth = [\n    { value = 96,", "link_bandwidth = [\n    { value = -96,"),
     "x1.toml: field 'system[0].link_bandwidth[0]' must be a positive number, not -96"),
    (("value = 200,", "value = 0,"),
     "x1.toml: field 'system[1].link_bandwidth' must be a positive number, not 0"),
    (("value = 15,", "value = -15,"),
     "x1.toml: field 'system[0].scale_out_latency' must be a positive number, not -15"),
    (("value = 0.25,", "value = 0,"),
     "x1.toml: field 'core.macs_per_pe_per_cycle.fp32' must be a positive number, not 0"),
    (("cores = { value = 2, source = \"S1\" }", "cores = 2"),
     "x1.toml: field 'chip.cores' must be a table with value, unit and source, not 2"),
    # Units: unknown, or of another dimension
    (("unit = \"GHz\"", "unit = \"GHZ\""),
     "x1.toml: field 'core.clock' has unknown unit 'GHZ'; allowed: GHz, MHz"),
    (("unit = \"GHz\"", "unit = \"TB/s\""),
     "x1.toml: field 'core.clock' has unknown unit 'TB/s'; allowed: GHz, MHz"),
    (("value = 32, unit = \"GiB\"", "value = 32, unit = \"GB/s\""),
     "x1.toml: field 'chip.hbm_capacity' has unknown unit 'GB/s'; allowed: B, KB, MB, GB, TB, "
     "KiB, MiB, GiB, TiB"),
    (("unit = \"us\"", "unit = \"µs\""),
     "x1.toml: field 'system[0].scale_out_latency' has unknown unit 'µs'; allowed: ns, us, ms, "
     "s"),
    (("cores = { value = 2,", "cores = { value = 2, unit = \"GHz\","),
     "x1.toml: field 'chip.cores' has unknown unit 'GHz'; allowed: 1"),
    # Sources
    (("cores = { value = 2, source = \"S1\" }", "cores = { value = 2, source = \"S9\" }"),
     "x1.toml: field 'chip.cores' has unknown source 'S9'; allowed: a key of sources.toml, "
     "DERIVED or ASSUMED"),
    (("source = \"ASSUMED\", note = \"not published\"", "source = \"ASSUMED\""),
     "x1.toml: field 'system[1].topology' has source 'ASSUMED', so it needs a note saying why"),
    (("{ value = 96, unit = \"GB/s\", source = \"DERIVED\", note = \"384 / 4\" },\n]",
      "{ value = 96, unit = \"GB/s\", source = \"DERIVED\" },\n]"),
     "x1.toml: field 'system[0].link_bandwidth[1]' has source 'DERIVED', so it needs a note "
     "saying from what"),
    (("source = \"S1\" }\nhbm_capacity", "source = [\"S1\"] }\nhbm_capacity"),
     "x1.toml: field 'chip.cores' has unknown source ['S1']; allowed: a key of sources.toml, "
     "DERIVED or ASSUMED"),
    (("psum = { value = 2, unit = \"MiB\", source = \"S1\" }",
      "psum = { value = 2, unit = \"MiB\", source = \"S1\", note = \"\" }"),
     "x1.toml: field 'core.psum.note' must be a non-empty string, not ''"),
    # Unknown and misspelt fields, kinds and levels
    (("hbm_bandwidth =", "hbm_bandwith ="), "x1.toml: field 'chip.hbm_bandwidth' is missing"),
    (("[[published]]", "turbo = true\n\n[[published]]"),
     "x1.toml: field 'system[1].turbo' is not allowed here; allowed: key, name, level, chips, "
     "topology, link_bandwidth, unit, scale_out_bandwidth, scale_out_latency, servers"),
    (("[core.macs_per_pe_per_cycle]\n", "[core.macs_per_pe_per_cycle]\nint4 = 8\n"),
     "x1.toml: field 'core.macs_per_pe_per_cycle.int4' is not allowed here; allowed: bf16, "
     "fp16, tf32, fp32, fp8, mxfp8, mxfp4"),
    (("kind = \"neuron\"", "kind = \"tpu\""),
     "x1.toml: field 'chip.kind' must be one of neuron, gpu, not 'tpu'"),
    (("level = \"instance\"", "level = \"rack\""),
     "x1.toml: field 'system[0].level' must be one of instance, ultraserver, cluster, "
     "not 'rack'"),
    (("key = \"x1\"\n", ""), "x1.toml: field 'chip.key' is missing"),
    (("name = \"X1 box\"", "name = \"\""),
     "x1.toml: field 'system[0].name' must be a non-empty string, not ''"),
    (("servers = { value = 2,", "servers = { value = 3,"),
     "x1.toml: field 'system[0].servers' must divide the 16 chips, not 3"),
    # Topologies
    (("kind = \"torus\"", "kind = \"mesh\""),
     "x1.toml: field 'system[0].topology.kind' must be one of torus, switch, ring, fat-tree, "
     "not 'mesh'"),
    (("dims = [4, 4]", "dims = [4, 3]"),
     "x1.toml: field 'system[0].topology.dims' must multiply to the 16 chips, not [4, 3] "
     "(product 12)"),
    (("dims = [4, 4]", "dims = [4, 0, 4]"),
     "x1.toml: field 'system[0].topology.dims' must be a non-empty list of positive integers, "
     "not [4, 0, 4]"),
    (("kind = \"torus\", dims = [4, 4], ", "kind = \"torus\", "),
     "x1.toml: field 'system[0].topology.dims' is missing"),
    (("kind = \"fat-tree\",", "kind = \"switch\", dims = [4],"),
     "x1.toml: field 'system[1].topology.dims' is allowed only when the kind is torus, "
     "not 'switch'"),
    (("kind = \"fat-tree\", source = \"ASSUMED\", note = \"not published\" }\n"
      "link_bandwidth = { value = 200, unit = \"Gb/s\", source = \"S1\" }",
      "kind = \"torus\", dims = [2, 4], source = \"S1\" }\n"
      "link_bandwidth = [{ value = 1, unit = \"GB/s\", source = \"S1\" }, "
      "{ value = 1, unit = \"GB/s\", source = \"S1\" }]"),
     "x1.toml: field 'system[1].topology.dims' must multiply to the 16 chips of its unit "
     "'x1-box', not [2, 4] (product 8)"),
    (("dims = [4, 4]", "dims = [4, 2, 2]"),
     "x1.toml: field 'system[0].link_bandwidth' must be a list of 3 bandwidths, one per torus "
     "dimension, not 2"),
    (("link_bandwidth = { value = 200, unit = \"Gb/s\", source = \"S1\" }",
      "link_bandwidth = [{ value = 200, unit = \"Gb/s\", source = \"S1\" }, "
      "{ value = 200, unit = \"Gb/s\", source = \"S1\" }]"),
     "x1.toml: field 'system[1].link_bandwidth' must be one bandwidth for a fat-tree "
     "topology, not 2"),
    # Names that must refer to something, or be unique
    (("unit = \"x1-box\"", "unit = \"x9-box\""),
     "x1.toml: field 'system[1].unit' must name a system, not 'x9-box'; known: x1-box, "
     "x1-cluster"),
    (("unit = \"x1-box\"\n", ""), "x1.toml: field 'system[1].unit' is missing"),
    (("subject = \"x1\"", "subject = \"x9\""),
     "x1.toml: field 'published[0].subject' must name a chip or system, not 'x9'; known: x1, "
     "x1-box, x1-cluster"),
    (("key = \"x1-cluster\"", "key = \"x1-box\""),
     "x1.toml: field 'system[1].key' must be unique, not 'x1-box' (already a system in "
     "x1.toml)"),
    (("key = \"x1-cluster\"", "key = \"x1\""),
     "x1.toml: field 'system[1].key' must be unique, not 'x1' (already a chip in x1.toml)"),
    # Published figures
    (("source = \"S1\"\nclaim", "source = \"DERIVED\"\nnote = \"2 x 95\"\nclaim"),
     "x1.toml: field 'published[0].source' must be a key of sources.toml, not 'DERIVED': a "
     "published figure is cited"),
    (("claim = \"C1\"", "claim = \"C13\""),
     "x1.toml: field 'published[0].claim' must be one of C1, C2, C3, C4, C5, C6, C7, C8, C9, "
     "C10, C11, C12, not 'C13'"),
    (("quantity = \"peak_flops\"", "quantity = \"tops\""),
     "x1.toml: field 'published[0].quantity' must be one of peak_flops, core_peak_flops, "
     "hbm_capacity, hbm_bandwidth, link_bandwidth, scale_out_bandwidth, chips, sbuf, "
     "not 'tops'"),
    (("datatype = \"bf16\"\n", ""), "x1.toml: field 'published[0].datatype' is missing"),
    (("datatype = \"bf16\"", "datatype = \"int8\""),
     "x1.toml: field 'published[0].datatype' must be one of bf16, fp16, tf32, fp32, fp8, "
     "mxfp8, mxfp4, sparse, not 'int8'"),
    (("quantity = \"peak_flops\"", "quantity = \"sbuf\""),
     "x1.toml: field 'published[0].datatype' is allowed only for FLOP/s quantities, not for "
     "'sbuf'"),
    (("unit = \"TFLOPS\"", "unit = \"TB/s\""),
     "x1.toml: field 'published[0]' has unknown unit 'TB/s'; allowed: GFLOPS, TFLOPS, PFLOPS, "
     "EFLOPS"),
    (("subject = \"x1\"\nquantity = \"peak_flops\"",
      "subject = \"x1-box\"\nquantity = \"core_peak_flops\""),
     "x1.toml: field 'published[0].subject' must name a chip with NeuronCores for "
     "core_peak_flops, not 'x1-box'; known: x1"),
    # Syntax
    (("[core]", "[core"), "x1.toml: is not valid TOML (Expected ']' at the end of a table "
                          "declaration (at line 11, column 6))"),
]


@pytest.mark.parametrize("change, message", BAD_FAMILY, ids=[m for _, m in BAD_FAMILY])
def test_malformed_family_file(tmp_path, change, message):
    directory = _write(tmp_path, {"sources.toml": SOURCES,
                                  "x1.toml": _change(FAMILY, *change)})
    with pytest.raises(SpecError, match=f"^{re.escape(message)}$"):
        load_specs(directory)


BAD_GPU = [
    (("[chip.peak_flops]\nbf16 = { value = 989, unit = \"TFLOPS\", source = \"S1\" }\n", ""),
     "g1.toml: field 'chip.peak_flops' is missing"),
    (("kind = \"gpu\"", "kind = \"gpu\"\ncores = { value = 132, source = \"S1\" }"),
     "g1.toml: field 'chip.cores' is not allowed here; allowed: key, name, kind, hbm_capacity, "
     "hbm_bandwidth, peak_flops, process, power, hbm_stacks, link_bandwidth"),
    (("bf16 =", "fp8 ="), "g1.toml: field 'chip.peak_flops.bf16' is missing"),
    (("[chip.peak_flops]", "[core]\n\n[chip.peak_flops]"),
     "g1.toml: field 'core' is not allowed here; allowed: chip, system, published"),
]


@pytest.mark.parametrize("change, message", BAD_GPU, ids=[m for _, m in BAD_GPU])
def test_malformed_gpu_file(tmp_path, change, message):
    directory = _write(tmp_path, {"sources.toml": SOURCES, "g1.toml": _change(GPU, *change)})
    with pytest.raises(SpecError, match=f"^{re.escape(message)}$"):
        load_specs(directory)


def test_neuron_chip_without_core(tmp_path):
    family = FAMILY[:FAMILY.index("[core]")] + FAMILY[FAMILY.index("[[system]]"):]
    directory = _write(tmp_path, {"sources.toml": SOURCES, "x1.toml": family})
    with pytest.raises(SpecError, match=r"^x1\.toml: field 'core' is missing$"):
        load_specs(directory)


def test_duplicate_chip_across_files(tmp_path):
    directory = _write(tmp_path, {"sources.toml": SOURCES, "x1.toml": FAMILY,
                                  "x2.toml": FAMILY})
    with pytest.raises(SpecError, match=r"^x2\.toml: field 'chip\.key' must be unique, not "
                                        r"'x1' \(already a chip in x1\.toml\)$"):
        load_specs(directory)


def test_duplicate_published_key_across_files(tmp_path):
    second = GPU + """
[[published]]
key = "x1-chip-bf16"
subject = "g1"
quantity = "hbm_capacity"
value = 80
unit = "GB"
source = "S1"
"""
    directory = _write(tmp_path, {"sources.toml": SOURCES, "x1.toml": FAMILY,
                                  "y1.toml": second})
    with pytest.raises(SpecError, match=r"^y1\.toml: field 'published\[0\]\.key' must be "
                                        r"unique, not 'x1-chip-bf16' \(already a published "
                                        r"figure in x1\.toml\)$"):
        load_specs(directory)


@pytest.mark.parametrize("sources, message", [
    ("[sources.DERIVED]\ncite = \"me\"\n",
     "sources.toml: field 'sources.DERIVED' must not be defined: DERIVED is reserved for "
     "figures that no source publishes"),
    ("[sources.S1]\ntitle = \"x\"\n", "sources.toml: field 'sources.S1.cite' is missing"),
    ("[sources.S1]\ncite = \"x\"\n", "sources.toml: field 'sources.S1.urls' is missing"),
    ("[sources.S1]\ncite = \"\"\nurls = [\"https://example.org\"]\n",
     "sources.toml: field 'sources.S1.cite' must be a non-empty string, not ''"),
    ("[sources.S1]\ncite = \"x\"\nurls = []\n",
     "sources.toml: field 'sources.S1.urls' must be a non-empty list of https addresses, "
     "not []"),
    ("[sources.S1]\ncite = \"x\"\nurls = [\"shared/reference/trainium.md\"]\n",
     "sources.toml: field 'sources.S1.urls' must be a non-empty list of https addresses, "
     "not ['shared/reference/trainium.md']"),
    ("[sources.S1]\ncite = \"x\"\nurls = \"https://example.org\"\n",
     "sources.toml: field 'sources.S1.urls' must be a non-empty list of https addresses, "
     "not 'https://example.org'"),
    ("[refs.S1]\ncite = \"x\"\n", "sources.toml: field 'sources' is missing"),
])
def test_malformed_sources_file(tmp_path, sources, message):
    directory = _write(tmp_path, {"sources.toml": sources, "x1.toml": FAMILY})
    with pytest.raises(SpecError, match=f"^{re.escape(message)}$"):
        load_specs(directory)


def test_missing_sources_file(tmp_path):
    _write(tmp_path, {"x1.toml": FAMILY})
    with pytest.raises(SpecError, match=f"^Spec directory '{re.escape(str(tmp_path))}' must "
                                        f"hold sources.toml, and does not$"):
        load_specs(tmp_path)


def test_a_family_file_that_is_not_utf8_is_one_line(tmp_path):
    directory = _write(tmp_path, {"sources.toml": SOURCES, "x1.toml": FAMILY})
    (directory / "x1.toml").write_bytes(FAMILY.encode().replace(b"[core]", b"[core]\n# \xff"))
    with pytest.raises(SpecError, match=r"^x1\.toml: is not UTF-8 text \(byte 0xff at offset "
                                        r"\d+\); TOML files must be UTF-8$"):
        load_specs(directory)
