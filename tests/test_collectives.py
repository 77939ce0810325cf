"""Alpha-beta all-reduce model: hand-computed cases and every parameter error."""

import pytest

from sim_models.allreduce import AllReduceEstimate
from sim_models.collectives import Link, ring_allreduce_time, torus_allreduce_time

LINK = Link(hop_latency=2, bandwidth=8)   # 2 cycles per hop, 8 bytes per cycle


def test_ring():
    # 4 nodes, 1 KiB: 2 * 3 hops * 2 cycles + 2 * 3/4 * 1024 B / 8 B/cycle = 12 + 192.
    assert ring_allreduce_time(4, 1024, LINK) == 204
    # Half the bandwidth achieved doubles the bandwidth term only.
    assert ring_allreduce_time(4, 1024, Link(2, 8, efficiency=0.5)) == 12 + 384


def test_torus_reduces_dimension_by_dimension():
    # X: 12 + 192 as for the ring; Y then works on 1024 / 4 bytes: 12 + 2 * 3/4 * 256 / 8.
    assert torus_allreduce_time((4, 4), 1024, LINK) == 204 + 60
    assert torus_allreduce_time((4, 1), 1024, LINK) == ring_allreduce_time(4, 1024, LINK)
    assert torus_allreduce_time([1, 1], 1024, LINK) == 0
    # Three dimensions, as a Trn2 UltraServer: the Z ring sees 1024 / 16 bytes.
    assert torus_allreduce_time((4, 4, 4), 1024, LINK) == 204 + 60 + 12 + 2 * 3 / 4 * 64 / 8


def test_torus_with_a_link_per_dimension():
    # The Z ring at half the bandwidth doubles only its own bandwidth term.
    slow = Link(hop_latency=2, bandwidth=4)
    assert torus_allreduce_time((4, 4, 4), 1024, [LINK, LINK, slow]) == \
        204 + 60 + 12 + 2 * 3 / 4 * 64 / 4


def test_time_unit_follows_the_link():
    # Seconds in, seconds out: 1 us per hop, 100 GB/s, 1 GB over 2 nodes.
    seconds = ring_allreduce_time(2, 1e9, Link(1e-6, 100e9))
    assert seconds == pytest.approx(2e-6 + 1e9 / 100e9)


@pytest.mark.parametrize("arguments, message", [
    ({"hop_latency": -1, "bandwidth": 8}, "Parameter 'hop_latency' must be a number of at least "
                                          "0, not -1"),
    ({"hop_latency": 1, "bandwidth": 0}, "Parameter 'bandwidth' must be a positive number, "
                                         "not 0"),
    ({"hop_latency": 1, "bandwidth": -8.0}, "Parameter 'bandwidth' must be a positive number, "
                                            "not -8.0"),
    ({"hop_latency": 1, "bandwidth": 8, "efficiency": 0}, "Parameter 'efficiency' must be a "
                                                          "positive number, not 0"),
    ({"hop_latency": 1, "bandwidth": 8, "efficiency": 1.5}, r"Parameter 'efficiency' must be a "
                                                            r"number in \(0, 1\], not 1.5"),
    ({"hop_latency": "1", "bandwidth": 8}, "Parameter 'hop_latency' must be a number of at "
                                           "least 0, not '1'"),
])
def test_link_errors(arguments, message):
    with pytest.raises(TypeError, match=f"^{message}$"):
        Link(**arguments)


@pytest.mark.parametrize("call, message", [
    (lambda: ring_allreduce_time(1, 8, LINK), "Parameter 'nodes' must be an integer in "
                                              "2..65536, not 1"),
    (lambda: ring_allreduce_time(4, -8, LINK), "Parameter 'size_bytes' must be a number of at "
                                               "least 0, not -8"),
    (lambda: torus_allreduce_time((), 8, LINK), r"Parameter 'dims' must be a non-empty sequence "
                                                r"of integers, not \(\)"),
    (lambda: torus_allreduce_time((4, 0), 8, LINK), r"Parameter 'dims\[1\]' must be an integer "
                                                    r"in 1..65536, not 0"),
    (lambda: torus_allreduce_time((4, 4), 8, [LINK]), r"Parameter 'link' must be a Link or a "
                                                      r"sequence of 2 Links, not \[Link\(.*\)\]"),
])
def test_call_errors(call, message):
    with pytest.raises(TypeError, match=f"^{message}$"):
        call()


@pytest.mark.parametrize("nodes", range(2, 9))
@pytest.mark.parametrize("elements_per_flit", [1, 2])
def test_alpha_beta_matches_the_rtl_validated_ring_estimate(nodes, elements_per_flit):
    # The RTL all-reduce ring takes exactly AllReduceEstimate.cycles() (tb/test_allreduce_sim).
    # With even chunks that is the alpha-beta model, with alpha = one hop's header latency plus
    # the interface's turnaround and a bandwidth of one flit per cycle, plus the 2L + 1 cycles
    # of streaming the vector in and the result out. Uneven chunks cost the longest chunk's
    # flits on every step, so alpha-beta is then a lower bound.
    for length in (nodes * elements_per_flit * 3, nodes * elements_per_flit * 3 + 1):
        rtl = AllReduceEstimate(nodes, length, elements_per_flit)
        link = Link(hop_latency=rtl.latency.header(1) + rtl.turnaround,
                    bandwidth=4 * elements_per_flit)
        network = ring_allreduce_time(nodes, 4 * length, link)
        local_streams = 2 * length + 1
        if length % (nodes * elements_per_flit) == 0:
            assert rtl.cycles() == pytest.approx(local_streams + network)
        else:
            assert rtl.cycles() > local_streams + network
