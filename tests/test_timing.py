"""The latency contract (sim_models.timing): the skews it derives let every PE's partial sum
meet the next PE's products, and the PSUM write follow the bottom PE."""

import pytest

from sim_models.config import TileConfig
from sim_models.timing import (HOP_CYCLES, MAC_CUT_POINTS, MAC_CUTS, MAX_FLOAT_PE_STAGES,
                               TileLatency, mac_cuts, tile_latency)


@pytest.mark.parametrize("stages, partial_stage", [(1, 0), (2, 0), (3, 1), (5, 2)])
def test_partial_sum_meets_the_next_rows_operands(stages, partial_stage):
    latency = TileLatency(5, 3, stages, partial_stage)
    for col in range(3):
        for row in range(1, 5):
            leaves_above = latency.operand_arrival(row - 1, col) + stages
            assert leaves_above == latency.operand_arrival(row, col) + partial_stage
        assert latency.psum_write(col) == latency.operand_arrival(4, col) + stages


def test_neighbouring_columns_are_one_hop_apart():
    latency = TileLatency(4, 6, 3, 1)
    for col in range(1, 6):
        assert latency.operand_arrival(2, col) - latency.operand_arrival(2, col - 1) == HOP_CYCLES
        assert latency.load_arrival(2, col) - latency.load_arrival(2, col - 1) == HOP_CYCLES
        assert latency.psum_write(col) - latency.psum_write(col - 1) == HOP_CYCLES


def test_drain_lets_a_read_follow_the_last_write():
    latency = TileLatency(7, 2, 4, 1)
    assert latency.drain + 1 == latency.psum_write(1)
    assert latency.psum_lookup(1) < latency.psum_write(1)
    assert latency.skew_span == latency.operand_arrival(6, 1)


def test_every_depth_places_one_register_per_stage_in_datapath_order():
    assert sorted(MAC_CUTS) == list(range(1, MAX_FLOAT_PE_STAGES + 1))
    for stages, cuts in MAC_CUTS.items():
        assert len(cuts) == stages - 1 and len(set(cuts)) == len(cuts)
        assert list(cuts) == [point for point in MAC_CUT_POINTS if point in cuts]


@pytest.mark.parametrize("stages", range(1, MAX_FLOAT_PE_STAGES + 1))
def test_rows_are_as_far_apart_as_the_partial_sums_path(stages):
    """The cuts before the partial sum's entry (decoded, products, grid, term) are not on its
    path."""
    config = TileConfig(8, 4, formats=("bf16",), pe_stages=stages)
    before = sum(cut in ("decoded", "products", "grid", "term") for cut in mac_cuts(stages))
    latency = tile_latency(config)
    assert (latency.pe_stages, latency.partial_stage) == (stages, before)
    assert latency.load_row_hop == latency.row_hop - 1 == stages - before - 1


@pytest.mark.parametrize("stages", range(1, MAX_FLOAT_PE_STAGES + 1))
def test_a_load_row_lands_between_the_vectors_before_and_after_it(stages):
    """Row k of a load is taken no earlier than k + 1 cycles after the last moving beat t of the
    bank it overwrites (the load issues after that multiply, one row per beat), and at least a
    cycle before the first moving beat that uses it (a multiply issues after its load's last
    beat). A row written in cycle w is seen from w + 1: the old vector must use the old weight
    (w >= its arrival), the new one the new weight (w < its arrival), in every PE."""
    latency = tile_latency(TileConfig(6, 3, formats=("bf16",), pe_stages=stages))
    for row in range(6):
        for col in range(3):
            old_vector, load_beat = 0, 1 + row
            assert load_beat + latency.load_arrival(row, col) >= \
                old_vector + latency.operand_arrival(row, col)
            new_vector = load_beat + 1
            assert load_beat + latency.load_arrival(row, col) < \
                new_vector + latency.operand_arrival(row, col)
