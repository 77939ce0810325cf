"""Cycle model: small programs timed by hand from the RTL's timing rules (see the comments)."""

import numpy as np

from sim_models.config import TileConfig
from sim_models.cycle_model import scale_sim_fold_cycles, time_program
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum
from sim_models.timing import MAX_FLOAT_PE_STAGES


def _load(k, m):
    return LoadStationary(np.zeros((k, m), np.int8))


def _multiply(k, n, bank, accumulate=False):
    return MultiplyMoving(np.zeros((k, n), np.int8), bank, accumulate)


def _spans(timing):
    return [(t.accepted, t.issued, t.first_beat, t.last_beat) for t in timing.operations]


def test_load_multiply_read():
    # R=2, C=3. Ops are accepted in cycles 0, 1, 2 and leave the queue a cycle later at the
    # earliest. The load issues in 1, takes beats 2..3; the multiply may issue in the cycle of
    # the load's last beat (3), beats 4..6; the read waits until the last beat (6) is
    # R + C = 5 cycles old (issue 11), reads in 12..14, results 13..15.
    timing = time_program(TileConfig(2, 3), [_load(2, 3), _multiply(2, 3, 0), ReadPsum(0, 3, 3)])
    assert _spans(timing) == [(0, 1, 2, 3), (1, 3, 4, 6), (2, 11, 13, 15)]
    assert timing.total_cycles == 16
    assert timing.macs == 2 * 3 * 3
    assert timing.utilization == 18 / (6 * 16)


def test_background_load_hides_when_n_exceeds_k():
    # With N >= K + 1, every load after the first runs while the multiply before it streams,
    # and the moving beats of consecutive multiplies are back to back.
    program = [op for _ in range(3) for op in (_load(4, 4), _multiply(4, 5, 0, True))]
    multiplies = [t for t in time_program(TileConfig(4, 4), program).operations
                  if t.kind == "multiply"]
    assert [(t.first_beat, t.last_beat) for t in multiplies] == [(6, 10), (11, 15), (16, 20)]


def test_one_idle_cycle_per_multiply_when_n_equals_k():
    # The load issues one cycle after its multiply, so with N = K it ends one cycle late.
    program = [op for _ in range(3) for op in (_load(4, 4), _multiply(4, 4, 0, True))]
    multiplies = [t for t in time_program(TileConfig(4, 4), program).operations
                  if t.kind == "multiply"]
    assert [(t.first_beat, t.last_beat) for t in multiplies] == [(6, 9), (11, 14), (16, 19)]


def test_full_queue_holds_back_the_op_stream():
    # R=C=1: one load, then multiplies of N=10 into six banks. The queue holds 4 operations, so
    # op i is accepted only after op i - 4 has issued: op 6 waits for op 2 (issued in 12).
    program = [_load(1, 1)] + [_multiply(1, 10, bank) for bank in range(6)]
    timing = time_program(TileConfig(1, 1, psum_banks=8), program)
    assert [t.accepted for t in timing.operations] == [0, 1, 2, 3, 4, 5, 13]
    assert [t.issued for t in timing.operations] == [1, 2, 12, 22, 32, 42, 52]


def test_multiply_waits_for_a_read_of_its_bank():
    # R=C=1: the load takes beat 2, the multiply issues in 2 and takes beats 3..5. The read of
    # bank 0 issues once the last beat is R + C = 2 cycles old, in 7, and reads in 8..10. A
    # multiply overwriting bank 0 may issue only after that (11); one into bank 1 issues as
    # soon as the queue lets it (8).
    program = [_load(1, 1), _multiply(1, 3, 0), ReadPsum(0, 1, 3), _multiply(1, 3, 0)]
    assert [t.issued for t in time_program(TileConfig(1, 1), program).operations] == \
        [1, 2, 7, 11]
    program[-1] = _multiply(1, 3, 1)
    assert [t.issued for t in time_program(TileConfig(1, 1), program).operations] == \
        [1, 2, 7, 8]


def test_scale_sim_fold_formula():
    # 4 x 4 array, M=4, K=16, N=512: 4 folds of 2*4 + 4 + 512 - 2 = 522 cycles.
    assert scale_sim_fold_cycles(TileConfig(4, 4), 4, 16, 512) == 4 * 522
    # M beyond C doubles the folds.
    assert scale_sim_fold_cycles(TileConfig(4, 4), 5, 16, 512) == 8 * 522


def test_double_row_load_takes_two_rows_per_beat():
    # R=2, C=2, FP8 double-row: a K = 3 load takes ceil(3 / 2) = 2 beats (2..3), the multiply
    # then runs as in test_load_multiply_read, and the peak is 2 MACs per PE and cycle.
    config = TileConfig(2, 2, formats=("fp8_e4m3",))
    program = [LoadStationary(np.zeros((3, 2), np.uint8), "fp8_e4m3", True),
               MultiplyMoving(np.zeros((3, 4), np.uint8), 0, False, "fp8_e4m3", True)]
    timing = time_program(config, program)
    assert _spans(timing) == [(0, 1, 2, 3), (1, 3, 4, 7)]
    assert timing.macs == 3 * 2 * 4 and timing.peak_macs_per_cycle == 2 * 2 * 2
    single = time_program(config, [LoadStationary(np.zeros((2, 2), np.uint8), "fp8_e4m3"),
                                   MultiplyMoving(np.zeros((2, 4), np.uint8), 0, False,
                                                  "fp8_e4m3")])
    assert _spans(single) == _spans(timing) and single.peak_macs_per_cycle == 2 * 2


def test_pipelined_pes_let_every_load_follow_the_multiply_that_frees_its_bank():
    """R=4, C=4, BF16: loads each followed by a one-column multiply, so every load targets the
    bank the multiply two before it used, one moving beat earlier. The stationary rows travel
    down the columns behind that vector (TileLatency.load_arrival), so no load waits at any
    PE depth: every depth times loads and multiplies as one-stage PEs do."""
    def program():
        load = LoadStationary(np.zeros((4, 4), np.uint16), "bf16")
        multiply = MultiplyMoving(np.zeros((4, 1), np.uint16), 0, True, "bf16")
        return [op for _ in range(4) for op in (load, multiply)]

    def spans(stages):
        return _spans(time_program(TileConfig(4, 4, formats=("bf16",), pe_stages=stages),
                                   program()))

    shallow = spans(1)
    # Each load issues the cycle after the multiply before it, each multiply in its load's
    # last beat.
    assert [issued for _, issued, _, _ in shallow] == [1, 5, 6, 10, 11, 15, 16, 20]
    for stages in range(2, MAX_FLOAT_PE_STAGES + 1):
        assert spans(stages) == shallow
