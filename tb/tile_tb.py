"""cocotb tests of the systolic tile.

Every result element is checked against the golden model (``sim_models.golden``) and, for GEMMs,
the assembled product against an independent numpy matmul. With ideal streams, every handshake
on every port (op accepted, first and last data beat of each operation) must happen in the cycle
the cycle model (``sim_models.cycle_model``) predicts; with random idle cycles and
backpressure, every bit must still match and no operation may finish earlier than the model.

Run through ``tb.test_tile_sim`` (pytest), which passes the configuration and seed in the
environment: TILE_ROWS, TILE_COLS, TILE_PSUM_BANKS, TILE_PSUM_DEPTH, TILE_SEED, TILE_RESULTS
(JSON-lines file receiving one record per simulated program).
"""

import json
import os
import time
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout

from hdl.isa import Opcode, op_layout
from sim_models.config import TileConfig
from sim_models.cycle_model import time_program
from sim_models.golden import TileModel
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum

from .checker import check_equal
from .regression import seeded_rng
from .scenarios import directed_scenarios, gemm_scenarios, reference_gemm
from .streams import CycleCounter, StreamDriver, StreamMonitor, pack, pack_array, unpack_array

#: Probability of an idle gap before a beat, and of a cycle without ready, in stalled runs.
STALL_PROBABILITY = 0.3
#: Clock period of the simulation (ns); only the cycle count matters.
CLOCK_NS = 10


def config_from_env():
    return TileConfig(int(os.environ["TILE_ROWS"]), int(os.environ["TILE_COLS"]),
                      int(os.environ["TILE_PSUM_BANKS"]), int(os.environ["TILE_PSUM_DEPTH"]))


@dataclass
class StreamBeats:
    """Packed beats of one program on the three input streams, and the result beat count."""
    ops: list
    stationary: list
    moving: list
    results: int


class ProgramPacker:
    """Packs a tile program into the beats of the tile's op, stationary and moving streams.

    Parameters
    ----------
    config : TileConfig
    """
    def __init__(self, config):
        self.config = config
        self._layout = op_layout(config)
        self._op_cache = {}

    def _pack_op(self, operation):
        if isinstance(operation, LoadStationary):
            fields = (Opcode.LOAD_STATIONARY, operation.k, operation.m, 0, 0, 0)
        elif isinstance(operation, MultiplyMoving):
            fields = (Opcode.MULTIPLY_MOVING, 0, 0, operation.n, operation.bank,
                      int(operation.accumulate))
        else:
            fields = (Opcode.READ_PSUM, 0, operation.m, operation.n, operation.bank, 0)
        if fields not in self._op_cache:
            names = ("opcode", "k", "m", "n", "bank", "accumulate")
            self._op_cache[fields] = pack(self._layout, dict(zip(names, fields)))
        return self._op_cache[fields]

    def beats(self, program):
        """The packed beats of ``program`` and the number of result beats it reads."""
        rows, cols = self.config.rows, self.config.cols
        width = self.config.operand_format.operand_bits
        stationary = [np.pad(op.stationary, ((0, 0), (0, cols - op.m)))
                      for op in program if isinstance(op, LoadStationary)]
        moving = [np.pad(op.moving.T, ((0, 0), (0, rows - op.k)))
                  for op in program if isinstance(op, MultiplyMoving)]
        return StreamBeats(
            ops=[self._pack_op(op) for op in program],
            stationary=pack_array(width, np.vstack(stationary)) if stationary else [],
            moving=pack_array(width, np.vstack(moving)) if moving else [],
            results=sum(op.n for op in program if isinstance(op, ReadPsum)))


class TileHarness:
    """Drives programs into the tile and measures what comes back.

    Parameters
    ----------
    dut : cocotb handle of the tile's top module
    config : TileConfig
    """
    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self._packer = ProgramPacker(config)
        self._tasks = {}
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())

    def abort(self):
        """Stop the drivers and the monitor of the program being run, wherever they are."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks = {}

    async def reset(self, cycles=3):
        """Hold reset with every valid and ready low; release it just after a rising edge."""
        dut = self.dut
        for name in ("op__valid", "stationary__valid", "moving__valid", "result__ready"):
            getattr(dut, name).value = 0
        dut.rst.value = 1
        await ClockCycles(dut.clk, cycles)
        dut.rst.value = 0

    async def run(self, program, rng=None):
        """Drive ``program`` (ideal streams when ``rng`` is None, else random stalls).

        Returns
        -------
        dict
            ``transfers``: the Transfers of each stream (cycles counted from 0, the first
            cycle every stream is driven); ``reads``: int32 arrays [M, N], one per ReadPsum;
            ``wall_seconds``.
        """
        dut = self.dut
        stall = STALL_PROBABILITY if rng is not None else 0.0
        beats = self._packer.beats(program)
        counter = CycleCounter(dut.clk)

        def driver(name):
            return StreamDriver(dut.clk, getattr(dut, f"{name}__valid"),
                                getattr(dut, f"{name}__ready"), getattr(dut, f"{name}__payload"),
                                idle_probability=stall, rng=rng, counter=counter)
        monitor = StreamMonitor(dut.clk, dut.result__valid, dut.result__ready,
                                dut.result__payload, backpressure_probability=stall, rng=rng,
                                counter=counter)
        start = time.perf_counter()
        self._tasks = tasks = {
            "op": cocotb.start_soon(driver("op").send(beats.ops)),
            "stationary": cocotb.start_soon(driver("stationary").send(beats.stationary)),
            "moving": cocotb.start_soon(driver("moving").send(beats.moving)),
            "result": cocotb.start_soon(monitor.collect(beats.results)),
        }
        budget = time_program(self.config, program).total_cycles * (20 if stall else 1) + 200
        transfers = {}
        for name, task in tasks.items():
            transfers[name] = await with_timeout(task, budget * CLOCK_NS, "ns")
        wall = time.perf_counter() - start
        self._tasks = {}
        # The counter reads c at the c-th edge after it started: model cycle c - 1.
        transfers = {name: t._replace(cycles=[c - 1 for c in t.cycles])
                     for name, t in transfers.items()}
        payloads = iter(unpack_array(self.config.operand_format.accumulator_bits,
                                     self.config.cols, transfers["result"].payloads)
                        if beats.results else [])
        reads = [np.array([next(payloads) for _ in range(op.n)]).T
                 for op in program if isinstance(op, ReadPsum)]
        return {"transfers": transfers, "reads": reads, "wall_seconds": wall}


def _operation_beats(program, transfers):
    """Per operation: the cycles of its data beats (K stationary, N moving or N result beats)."""
    streams = {LoadStationary: "stationary", MultiplyMoving: "moving", ReadPsum: "result"}
    taken = dict.fromkeys(streams.values(), 0)
    beats = []
    for op in program:
        name = streams[type(op)]
        size = op.k if isinstance(op, LoadStationary) else op.n
        beats.append(transfers[name].cycles[taken[name]:taken[name] + size])
        taken[name] += size
    return beats


def measured_timing(program, transfers):
    """Per operation: (accepted, first beat, last beat) cycles as seen on the ports."""
    return [(accepted, beats[0], beats[-1]) for accepted, beats
            in zip(transfers["op"].cycles, _operation_beats(program, transfers))]


def handshake_agreement(model, program, transfers):
    """Count the port handshakes of ``program`` that happened in the cycle ``model`` predicts.

    Every operation has one handshake on the op stream and one per data beat; the model puts
    the beats of an operation in the consecutive cycles ``first_beat .. last_beat``.

    Returns
    -------
    (int, int)
        Handshakes compared, and how many of them happened in the predicted cycle.
    """
    checked = matching = 0
    for timing, accepted, beats in zip(model.operations, transfers["op"].cycles,
                                       _operation_beats(program, transfers)):
        expected = [timing.accepted, *range(timing.first_beat, timing.last_beat + 1)]
        got = [accepted, *beats]
        checked += max(len(expected), len(got))
        matching += sum(want == cycle for want, cycle in zip(expected, got))
    return checked, matching


def check_timing(config, name, program, transfers, exact):
    """Compare every handshake cycle with the cycle model; return the model's timing."""
    model = time_program(config, program)
    measured = measured_timing(program, transfers)
    problems = []
    for index, (expected, got) in enumerate(zip(model.operations, measured)):
        want = (expected.accepted, expected.first_beat, expected.last_beat)
        if (want != got) if exact else (got[2] < want[2]):
            problems.append(f"  op {index} ({expected.kind}): model accepted/first/last "
                            f"{want}, RTL {got}")
    if problems:
        relation = "equal" if exact else "be no earlier than"
        raise AssertionError(f"{name}: RTL cycles must {relation} the cycle model for "
                             f"{len(problems)} of {len(program)} operations:\n" +
                             "\n".join(problems[:100]))
    return model


def check_values(config, scenario, reads):
    """Compare every read with the golden model, lanes >= M included (they must be zero)."""
    expected_reads = TileModel(config).execute(scenario.program)
    for index, (expected, got) in enumerate(zip(expected_reads, reads)):
        padded = np.zeros((config.cols, expected.shape[1]), np.int64)
        padded[:expected.shape[0]] = expected
        check_equal(padded, got, f"{scenario.name}: read {index}")
    if scenario.gemm is not None:
        trimmed = [read[:tile.m] for read, tile in zip(reads, scenario.gemm.tiles)]
        check_equal(reference_gemm(*scenario.operands), scenario.gemm.assemble(trimmed),
                    f"{scenario.name}: assembled GEMM")


def record(config, scenario_name, mode, program, transfers, model, wall_seconds, extra=None):
    """Append one program's measurements, and the fields of ``extra``, to the TILE_RESULTS
    JSON-lines file."""
    measured = measured_timing(program, transfers)
    total = max(max(t.cycles) for t in transfers.values() if t.cycles) + 1
    peak = config.rows * config.cols
    operations = []
    for timing, (accepted, first, last) in zip(model.operations, measured):
        cycles = last - first + 1
        operations.append({"kind": timing.kind, "accepted": accepted, "first_beat": first,
                           "last_beat": last, "cycles": cycles, "macs": timing.macs,
                           "utilization": timing.macs / (peak * cycles)})
    entry = {
        "config": config.name, "rows": config.rows, "cols": config.cols,
        "simulator": cocotb.SIM_NAME, "scenario": scenario_name, "mode": mode,
        "total_cycles": total, "model_cycles": model.total_cycles, "macs": model.macs,
        "utilization": model.macs / (peak * total), "wall_seconds": wall_seconds,
        "simulated_cycles_per_second": total / wall_seconds if wall_seconds else None,
        "operations": operations, **(extra or {}),
    }
    path = os.environ.get("TILE_RESULTS")
    if path:
        with open(path, "a") as file:
            file.write(json.dumps(entry) + "\n")


async def run_scenarios(dut, scenarios, test_name, stalled):
    config = config_from_env()
    rng = seeded_rng("TILE_SEED", test_name)
    harness = TileHarness(dut, config)
    for scenario in scenarios(config, rng):
        await harness.reset()
        await RisingEdge(dut.clk)
        outcome = await harness.run(scenario.program, rng if stalled else None)
        check_values(config, scenario, outcome["reads"])
        model = check_timing(config, scenario.name, scenario.program, outcome["transfers"],
                             exact=not stalled)
        record(config, scenario.name, "stalled" if stalled else "ideal", scenario.program,
               outcome["transfers"], model, outcome["wall_seconds"])
        dut._log.info("%s: %d operations, %d cycles, bit-exact, cycles %s the model",
                      scenario.name, len(scenario.program), model.total_cycles,
                      "within" if stalled else "equal to")


@cocotb.test()
async def directed(dut):
    """Identity, zeros, one-hot and int32 wrap-around, with ideal streams."""
    await run_scenarios(dut, directed_scenarios, "directed", stalled=False)


@cocotb.test()
async def gemm_ideal(dut):
    """Seeded random GEMMs through the tiler, with ideal streams: cycles equal the model."""
    await run_scenarios(dut, gemm_scenarios, "gemm_ideal", stalled=False)


@cocotb.test()
async def gemm_stalled(dut):
    """The same GEMMs with random idle cycles on every input and random backpressure."""
    await run_scenarios(dut, gemm_scenarios, "gemm_stalled", stalled=True)


@cocotb.test()
async def reset_mid_operation(dut):
    """Reset while a multiply streams, then a clean program runs bit- and cycle-exactly."""
    config = config_from_env()
    rng = seeded_rng("TILE_SEED", "reset_mid_operation")
    harness = TileHarness(dut, config)
    first, second = gemm_scenarios(config, rng)[2:0:-1]
    await harness.reset()
    await RisingEdge(dut.clk)
    model = time_program(config, first.program)
    multiplies = [t for t in model.operations if t.kind == "multiply"]
    middle = multiplies[len(multiplies) // 2]
    interrupted = cocotb.start_soon(harness.run(first.program))
    await ClockCycles(dut.clk, (middle.first_beat + middle.last_beat) // 2 + 1)
    interrupted.cancel()
    harness.abort()
    await harness.reset()
    await RisingEdge(dut.clk)
    outcome = await harness.run(second.program)
    check_values(config, second, outcome["reads"])
    model = check_timing(config, second.name, second.program, outcome["transfers"], exact=True)
    record(config, f"after_reset_{second.name}", "ideal", second.program, outcome["transfers"],
           model, outcome["wall_seconds"])
