"""The sequencer (hdl.sequencer.Sequencer) in Amaranth's simulator, on its own: for a program
of loads, multiplies and reads, every weight write, moving injection and PSUM read request it
issues, compared with what the program asks for, and the cycles its hazard rules give (a load
in the background bank while a multiply streams, a multiply the cycle after its load's last
beat, a read drain_cycles after the bank's last moving beat).

Seeded by the run's SEED (tb.regression); each case prints the command that reruns it."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hdl.sequencer import Sequencer
from sim_models.config import TileConfig
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum
from sim_models.timing import drain_cycles
from tb.program_packer import ProgramPacker
from tb.regression import SEED, rerun_command

CONFIG = TileConfig(3, 2, psum_banks=2, psum_depth=8)


def _run(config, program, cycles=120):
    """Simulate the sequencer with the program's beats always offered and results always
    taken; return the weight writes (cycle, row, bank, data), injections (cycle, lanes,
    weight bank, psum bank, column, width, accumulate) and read requests (cycle, bank,
    column, width), and the stationary and moving beats offered."""
    beats = ProgramPacker(config).beats(program)
    dut = Sequencer(config)
    writes, injections, reads = [], [], []

    async def testbench(ctx):
        queues = [(dut.op, list(beats.ops)), (dut.stationary, list(beats.stationary)),
                  (dut.moving, list(beats.moving))]
        ctx.set(dut.read_advance, 1)
        for cycle in range(cycles):
            for stream, queue in queues:
                ctx.set(stream.valid, bool(queue))
                ctx.set(stream.payload.as_value(), queue[0] if queue else 0)
            taken = [bool(queue) and ctx.get(stream.ready) for stream, queue in queues]
            write, injection, read = dut.weight_write, dut.injection, dut.read_request
            if ctx.get(write.valid):
                writes.append((cycle, ctx.get(write.row), ctx.get(write.bank),
                               ctx.get(write.data.as_value())))
            lanes = ctx.get(injection.lanes.as_value())
            if ctx.get(injection.psum.valid):
                psum = injection.psum
                injections.append((cycle, lanes, ctx.get(injection.weight_bank),
                                   ctx.get(psum.bank), ctx.get(psum.column),
                                   ctx.get(psum.width), ctx.get(psum.accumulate)))
            else:
                assert lanes == 0, f"cycle {cycle}: lanes sent with no moving beat"
            if ctx.get(read.valid):
                reads.append((cycle, ctx.get(read.bank), ctx.get(read.column),
                              ctx.get(read.width)))
            await ctx.tick()
            for (_, queue), took in zip(queues, taken):
                if took:
                    queue.pop(0)
        assert all(not queue for _, queue in queues), "the program did not finish"

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return writes, injections, reads, beats


def _expected(config, program, beats):
    """What the program asks of the sequencer, without cycles: the weight writes (row, bank,
    data), the injections (lanes with rows >= K zeroed, weight bank, psum bank, column, width,
    accumulate) and the reads (bank, column, width). A load takes the bank the most recent
    multiply did not use."""
    stationary, moving = iter(beats.stationary), iter(beats.moving)
    writes, injections, reads = [], [], []
    bank, used, rows, width = 0, False, 0, 0
    for op in program:
        if isinstance(op, LoadStationary):
            bank, used, rows, width = (1 - bank if used else bank), False, op.k, op.m
            writes += [(row, bank, next(stationary)) for row in range(op.k)]
        elif isinstance(op, MultiplyMoving):
            used, mask = True, (1 << (8 * rows)) - 1
            injections += [(next(moving) & mask, bank, op.bank, column, width,
                            int(op.accumulate)) for column in range(op.n)]
        else:
            reads += [(op.bank, column, op.m) for column in range(op.n)]
    return writes, injections, reads


def _program(rng):
    """Two loads (the first with K < R), each followed by a multiply, then a read of each
    bank."""
    def operand(k, x):
        return rng.integers(-128, 128, size=(k, x), dtype=np.int8)
    return [LoadStationary(operand(2, 2)),
            MultiplyMoving(operand(2, 5), bank=0, accumulate=False),
            LoadStationary(operand(3, 1)),
            MultiplyMoving(operand(3, 4), bank=1, accumulate=True),
            ReadPsum(bank=0, m=2, n=5), ReadPsum(bank=1, m=1, n=4)]


@pytest.fixture
def rng(request):
    print(f"seed {SEED}; rerun: {rerun_command(request)}")
    return np.random.default_rng([SEED, *request.node.name.encode()])


def test_issues_what_the_program_asks(rng):
    program = _program(rng)
    writes, injections, reads, beats = _run(CONFIG, program)
    expected = _expected(CONFIG, program, beats)
    assert [entry[1:] for entry in writes] == expected[0]
    assert [entry[1:] for entry in injections] == expected[1]
    assert [entry[1:] for entry in reads] == expected[2]


def test_hazard_rules_give_the_cycles(rng):
    program = _program(rng)
    writes, injections, reads, _ = _run(CONFIG, program)
    first_load, second_load = writes[:2], writes[2:]
    first_multiply, second_multiply = injections[:5], injections[5:]
    # Back to back: each beat of an operation in the cycle after the one before.
    for beats in (first_load, second_load, first_multiply, second_multiply):
        start = beats[0][0]
        assert [entry[0] for entry in beats] == list(range(start, start + len(beats)))
    # A multiply starts the cycle after its load's last beat and the multiply before it.
    assert first_multiply[0][0] == first_load[-1][0] + 1
    assert second_multiply[0][0] == max(second_load[-1][0], first_multiply[-1][0]) + 1
    # The second load runs in the other bank while the first multiply streams.
    assert first_multiply[0][0] < second_load[0][0] <= first_multiply[-1][0]
    # A read issues once the bank's drain counter, set to drain_cycles by its last moving
    # beat, is back at 0 (drain_cycles + 1 cycles later), and its first request follows the
    # cycle after; or after the read before it.
    drain = drain_cycles(CONFIG)
    assert reads[0][0] == first_multiply[-1][0] + drain + 2
    assert reads[5][0] == max(second_multiply[-1][0] + drain + 2, reads[4][0] + 1)
