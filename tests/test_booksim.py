"""The BookSim2 cross-check's pure parts (bench/booksim.py, bench/booksim_compare.py): the
configuration it writes and the figures it reads back, on outputs of BookSim2 runs stored in
tests/booksim_samples (made by this project's configurations; no BookSim needed here)."""

from pathlib import Path

import pytest

from bench.booksim import BookSimError, BookSimRouter, booksim_config, parse_booksim_output
from bench.booksim_compare import parse_fabric, summary, table
from sim_models.config import FabricConfig

SAMPLES = Path(__file__).parent / "booksim_samples"


def _fields(text):
    """name -> value of a BookSim configuration file's ``name = value;`` lines."""
    fields = {}
    for line in text.splitlines():
        name, value = line.rstrip(";").split(" = ")
        fields[name] = value
    return fields


@pytest.mark.parametrize("fabric", [FabricConfig.torus(4, 4), FabricConfig.ring(8),
                                    FabricConfig.torus(3, 3, 3, buffer_depth=2)],
                         ids=lambda fabric: fabric.name)
def test_config_mirrors_the_fabric(fabric):
    fields = _fields(booksim_config(fabric.dims, vcs=fabric.relation.vcs,
                                    buffer_depth=fabric.buffer_depth, packet_flits=4,
                                    rate=0.35, seed=7))
    assert (fields["topology"], int(fields["k"]), int(fields["n"])) == \
        ("torus", fabric.dims[0], len(fabric.dims))
    assert int(fields["num_vcs"]) == fabric.relation.vcs == 2
    assert int(fields["vc_buf_size"]) == fabric.buffer_depth
    assert fields["routing_function"] == "dim_order"
    assert (int(fields["packet_size"]), float(fields["injection_rate"]),
            fields["injection_rate_uses_flits"]) == (4, 0.35, "1")
    assert (fields["traffic"], fields["injection_process"], fields["seed"]) == \
        ("uniform", "bernoulli", "7")


def test_config_router_delays():
    router = BookSimRouter(routing_delay=1, speculative=0)
    fields = _fields(booksim_config((4, 4), vcs=2, buffer_depth=4, packet_flits=1, rate=0.1,
                                    router=router))
    assert (fields["routing_delay"], fields["speculative"]) == ("1", "0")


@pytest.mark.parametrize("arguments, message", [
    ({"dims": (4, 2)}, "Parameter 'dims' must have equal sides"),
    ({"vcs": 3}, "Parameter 'vcs' must be an even number >= 2"),
    ({"vcs": 0}, "Parameter 'vcs' must be an even number >= 2"),
    ({"rate": 0.0}, "Parameter 'rate' must be in (0, 1]"),
    ({"rate": 1.5}, "Parameter 'rate' must be in (0, 1]"),
])
def test_config_refuses_what_booksim_cannot_mirror(arguments, message):
    good = {"dims": (4, 4), "vcs": 2, "buffer_depth": 4, "packet_flits": 4, "rate": 0.1}
    with pytest.raises(BookSimError) as error:
        booksim_config(**(good | arguments))
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_parse_stable_run():
    figures = parse_booksim_output((SAMPLES / "torus4x4_uniform_0.02.out").read_text())
    assert figures["stable"]
    # Offered 0.02 flits per node per cycle: BookSim injected and accepted about that.
    assert figures["injected_flits_per_node_cycle"] == pytest.approx(0.02, rel=0.1)
    assert figures["accepted_flits_per_node_cycle"] == pytest.approx(
        figures["injected_flits_per_node_cycle"], rel=0.02)
    assert figures["network_latency_cycles"] <= figures["packet_latency_cycles"]
    # Near zero load the latency is the pipeline's, plus a little contention.
    links = figures["hops"] - 1
    model = BookSimRouter().zero_load_latency(links, 4)
    assert model <= figures["packet_latency_cycles"] <= model + 1


def test_parse_unstable_run():
    figures = parse_booksim_output((SAMPLES / "torus4x4_uniform_1.00.out").read_text())
    assert not figures["stable"]
    assert figures["packet_latency_cycles"] is None and figures["hops"] is None
    # Past saturation the network accepts well under the offered 1 flit per node per cycle.
    assert 0.3 < figures["accepted_flits_per_node_cycle"] < 0.9


def test_parse_refuses_an_unfinished_run():
    text = (SAMPLES / "torus4x4_uniform_0.02.out").read_text()
    cut = text.index("====== Overall Traffic Statistics ======")
    with pytest.raises(BookSimError, match="did not finish"):
        parse_booksim_output(text[:cut])
    with pytest.raises(BookSimError, match="'Hops average'"):
        parse_booksim_output(text[:text.index("Hops average", cut)])


@pytest.mark.parametrize("speculative", [1, 0])
@pytest.mark.parametrize("pattern, links", [("neighbor", 1), ("tornado", 3)])
def test_router_model_matches_booksim(speculative, pattern, links):
    """BookSim's zero-load latency on an 8-node ring at 1% load (1-flit packets, one link
    for neighbour traffic, three for tornado) is the router model's within contention."""
    text = (SAMPLES / f"ring8_{pattern}_speculative{speculative}.out").read_text()
    figures = parse_booksim_output(text)
    assert figures["hops"] - 1 == links
    model = BookSimRouter(speculative=speculative).zero_load_latency(links, 1)
    assert model <= figures["packet_latency_cycles"] < model + 0.1


def _row(offered, accepted, latency, stable=True):
    return {"offered": offered, "accepted_flits_per_node_cycle": accepted,
            "packet_latency_cycles": latency, "model_zero_load_latency_cycles": 9.0,
            "links": 2.0, "stable": stable}


def test_summary_and_table():
    rows = [_row(0.02, 0.02, 9.1), _row(0.5, 0.49, 20.0), _row(0.7, 0.61, None, False),
            _row(1.0, 0.58, None, False)]
    figures = summary(rows)
    assert figures == {"zero_load_packet_latency_cycles": 9.1, "zero_load_model_cycles": 9.0,
                       "zero_load_links": 2.0,
                       "saturation_throughput_flits_per_node_cycle": 0.61,
                       "highest_stable_offered_load": 0.5}
    text = table({"rtl": rows, "booksim": rows,
                  "summary": {"rtl": figures, "booksim": figures}})
    lines = text.splitlines()
    assert len([line for line in lines if line.startswith("| ")]) == 1 + len(rows)
    assert "| 0.7 | 0.61 | 0.61 | - | - |" in lines


@pytest.mark.parametrize("text, fabric", [
    ("4x4:8", FabricConfig.torus(4, 4, buffer_depth=8)),
    ("3x3x3:2", FabricConfig.torus(3, 3, 3, buffer_depth=2)),
    ("8:4", FabricConfig.ring(8, buffer_depth=4)),
])
def test_parse_fabric(text, fabric):
    assert parse_fabric(text) == fabric


@pytest.mark.parametrize("text, error, message", [
    ("4x4", ValueError, "Parameter '--fabrics' takes <sides joined by x>:<buffer depth>"),
    ("4xa:4", ValueError, "Parameter '--fabrics' takes <sides joined by x>:<buffer depth>"),
    ("4x2:4", BookSimError, "Parameter 'dims' must have equal sides"),
    ("4x4:0", TypeError, "Parameter 'buffer_depth' must be an integer in 1..64"),
])
def test_parse_fabric_refuses(text, error, message):
    with pytest.raises(error) as raised:
        parse_fabric(text)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)
