"""Alpha-beta fits of the collectives (sim_models.collective_fit) and the fit records."""

import pytest

from samples import collective_runs, fitted_collectives
from sim_models.allreduce import AllReduceEstimate
from sim_models.collective_fit import ALGORITHMS, algorithm_of, fit, held_out, torus_side

RING = ALGORITHMS["allreduce", "ring"]
ALLTOALL = ALGORITHMS["alltoall", "direct"]


def test_held_out_are_the_largest_node_count_and_size():
    points = [(n, s) for n in (2, 4, 8) for s in (64, 256, 1024)]
    assert [p for p, hide in zip(points, held_out(points)) if not hide] == \
        [(2, 64), (2, 256), (4, 64), (4, 256)]
    # One node count: only the largest size is held out.
    assert held_out([(4, 16), (4, 32), (4, 64)]) == [False, False, True]


@pytest.mark.parametrize("algorithm", [RING, ALLTOALL])
def test_fit_recovers_exact_parameters_and_predicts_held_out_points(algorithm):
    points = [(n, s) for n in (2, 4, 8) for s in (64, 256, 1024)]
    cycles = [algorithm.cycles(n, s, 7.0, 0.25) for n, s in points]
    result = fit(algorithm, points, cycles, [not h for h in held_out(points)])
    assert (result.alpha, result.beta) == (pytest.approx(7.0), pytest.approx(0.25))
    assert max(map(abs, result.errors)) == pytest.approx(0, abs=1e-12)


def test_ring_allreduce_estimate_of_even_chunks_is_alpha_beta():
    # With chunks of whole flits the RTL estimate is 2 (n - 1) 5 + 2 (n - 1) / n * L + 2L + 1
    # cycles (one int32 per flit: beta = 1/4 cycle per byte); the fit must find exactly that.
    points = [(n, 4 * length) for n in (2, 4, 8) for length in (16, 64, 256)]
    cycles = [AllReduceEstimate(n, size // 4).cycles() - (2 * size // 4 + 1)
              for n, size in points]
    result = fit(RING, points, cycles, [True] * len(points))
    assert (result.alpha, result.beta) == (pytest.approx(5), pytest.approx(0.25))


def test_fit_refuses_points_that_cannot_separate_alpha_from_beta():
    with pytest.raises(ValueError, match=r"^allreduce/ring: the fitted points \[\(4, 64\)\] "
                                         r"cannot determine alpha and beta"):
        fit(RING, [(4, 64), (8, 64)], [100, 200], [True, False])


def test_fit_records_report_held_out_errors():
    runs, _ = collective_runs()
    runs, fits = fitted_collectives(runs)
    ring, alltoall = fits
    # The ring sample is the RTL estimate: nearly alpha-beta, chunks rounded to whole flits.
    assert ring.series == ("ring", "allreduce", "ring", "int32")
    assert (ring.nodes_min, ring.nodes_max, ring.bytes_min, ring.bytes_max) == (2, 4, 64, 256)
    assert (ring.fitted_points, ring.held_out_points) == (4, 5)
    # The all-to-all sample is alpha-beta except its largest block, 10% slower: fitted
    # exactly, held-out error 10% (rounded to whole cycles).
    assert alltoall.alpha_cycles == pytest.approx(20, abs=0.2)
    assert alltoall.fit_max_error == pytest.approx(0, abs=1e-9)
    assert alltoall.held_out_max_error == pytest.approx(0.1 / 1.1, abs=0.01)
    worst = max(abs(run.error) for run in runs if run.held_out and run.collective == "alltoall")
    assert alltoall.held_out_max_error == pytest.approx(worst)
    assert alltoall.link_efficiency == pytest.approx(1 / (4 * alltoall.beta_cycles_per_byte))


def test_dimension_wise_terms_count_each_phase_rendezvous_as_a_step():
    # 3-D: 6 phases of k - 1 ring steps, each after one rendezvous; 2-D: 4 such phases.
    torus3d = algorithm_of("torus3d", "allreduce", "dimension-wise")
    torus2d = algorithm_of("torus2d", "allreduce", "dimension-wise")
    assert [torus3d.latency_terms(n) for n in (8, 27, 64)] == [6 + 6, 12 + 6, 18 + 6]
    assert [torus2d.latency_terms(n) for n in (4, 9, 16)] == [4 + 4, 8 + 4, 12 + 4]
    # Bytes: X moves 3/4 of S, Y 3/4 of S/4, Z 3/4 of S/16 at half rate (counted twice).
    assert torus3d.byte_terms(64, 1024) == pytest.approx(2 * 0.75 * (1024 + 256 + 2 * 64))
    assert torus2d.byte_terms(16, 1024) == pytest.approx(2 * 0.75 * (1024 + 256))


@pytest.mark.parametrize("call, message", [
    (lambda: algorithm_of("ring", "allreduce", "dimension-wise"),
     "Parameter 'topology' of a dimension-wise fit must be one of torus2d, torus3d, not 'ring'"),
    (lambda: algorithm_of("torus2d", "allreduce", "dimension-wise").latency_terms(8),
     "Parameter 'nodes' of a dimension-wise 2-D torus fit must be k**2 with k at least 2 "
     "(a k x k torus), not 8"),
    (lambda: torus_side(1, 3),
     "Parameter 'nodes' of a dimension-wise 3-D torus fit must be k**3 with k at least 2 "
     "(a k x k x k torus), not 1"),
])
def test_dimension_wise_fit_refuses_a_shape_it_does_not_describe(call, message):
    with pytest.raises(ValueError) as raised:
        call()
    assert str(raised.value) == message
