"""The tile's fast path: programs run by the HDL-side harness (``hdl.tile_testbench``) under a
thin C++ driver (``tb/testbench_driver.cpp``), with no Python in the simulated cycles.

Python packs the program's beats (:class:`tb.program_packer.ProgramPacker`), writes them into
the driver's job once, the driver loads them into the harness's memories, runs the design
until every stream has moved its beats and writes the results and the cycle of every
handshake back once. What comes back has the shape :meth:`tb.tile_harness.TileHarness.run`
returns, so every check of the cocotb path (:mod:`tb.tile_checks`) applies unchanged. Runs
with stalls use the harness's seeded LFSR patterns, which :func:`allowed_cycles` reproduces:
:func:`check_stall_pattern` checks that no beat moved in a cycle its pattern forbade.

Verilator only. Files under ``<build>``: ``verilog/testbench/<top>_testbench.v``, and
``sim/verilator/<case>_testbench/`` with the driver build and the jobs of each run.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from amaranth.back import verilog

from hdl import tile_testbench
from hdl.emit import write
from hdl.tile_testbench import CAPACITY, LFSR_MASK, STREAMS, TileTestbench, testbench_name
from sim_models.config import config_to_dict
from sim_models.cycle_model import time_program
from sim_models.files import replace_atomically

from . import model_store
from .harness_timing import STALL_PROBABILITY
from .launch import _generated, hierarchical_config, verilog_path
from .program_packer import ProgramPacker
from .runner import VERILATOR_OPTIMIZATION, build_digest
from .streams import Transfers
from .tile_harness import result_reads
from .toolchain import simulator_env

__all__ = ["DEFAULT_CAPACITIES", "FastTile", "allowed_cycles", "capacities_for",
           "check_stall_pattern", "stall_seeds", "testbench_verilog"]

DRIVER = Path(__file__).with_name("testbench_driver.cpp")
#: LFSR thresholds are out of 2**16: a stream stalls in a cycle with that probability.
_THRESHOLD_SCALE = 1 << 16
_BUILD_LOG = "build.log"
#: Lines of the driver's output before the traces: done, cycles, run_seconds, run_cpu_seconds.
_HEADER_LINES = 4
#: Beats of each stream's memory (STREAMS order) unless the programs are known beforehand.
DEFAULT_CAPACITIES = (CAPACITY,) * len(STREAMS)
#: The least beats :func:`capacities_for` gives a stream: programs of about the same size then
#: share a harness (and its model).
_LEAST_CAPACITY = 256


def capacities_for(config, programs):
    """Beats of each stream's memory (STREAMS order) that hold every program of ``programs``:
    the most any program moves, rounded up to a power of two (at least 256, at most
    :data:`hdl.tile_testbench.CAPACITY`, beyond which :meth:`FastTile.run` refuses the
    program)."""
    packer = ProgramPacker(config)
    most = [0] * len(STREAMS)
    for program in programs:
        beats = packer.beats(program)
        counts = (len(beats.ops), len(beats.stationary), len(beats.moving), beats.results)
        most = [max(a, b) for a, b in zip(most, counts)]
    return tuple(min(CAPACITY, max(_LEAST_CAPACITY, 1 << (count - 1).bit_length()))
                 for count in most)


def stall_seeds(seed):
    """The LFSR seed of each stream (non-zero, 32 bits) of a run with stalls seeded ``seed``."""
    return [int(np.random.default_rng([seed, index]).integers(1, 1 << 32))
            for index in range(len(STREAMS))]


def allowed_cycles(seed, threshold, cycles):
    """Per cycle 0 .. ``cycles`` - 1: whether the harness's LFSR seeded ``seed`` lets its
    stream offer a new beat (or, for the result stream, take one): its low 16 bits are not
    below ``threshold``."""
    allowed = np.empty(cycles, bool)
    value = seed
    for cycle in range(cycles):
        allowed[cycle] = (value & 0xFFFF) >= threshold
        value = (value >> 1) ^ (LFSR_MASK if value & 1 else 0)
    return allowed


def check_stall_pattern(transfers, seeds, threshold):
    """Check every handshake of a run with stalls against the patterns the harness drew: an
    input beat never moves before the first cycle after the previous beat in which its stream
    was allowed to offer it; a result beat moves only in a cycle its stream allowed.

    Raises
    ------
    AssertionError
        Naming the stream, the beat and the cycles.
    """
    last = 1 + max((max(t.cycles, default=0) for t in transfers.values()), default=0)
    for name, seed in zip(STREAMS, seeds):
        allowed = allowed_cycles(seed, threshold, last + 1)
        earliest = 0
        for beat, cycle in enumerate(transfers[name].cycles):
            if name == "result":
                if not allowed[cycle]:
                    raise AssertionError(f"result beat {beat} moved in cycle {cycle}, where "
                                         f"its stall pattern held ready low")
                continue
            offered = earliest + int(np.argmax(allowed[earliest:]))
            if cycle < offered:
                raise AssertionError(f"{name} beat {beat} moved in cycle {cycle}, before it "
                                     f"was offered in cycle {offered}")
            earliest = cycle + 1


#: What the harness's Verilog is generated from, besides its configuration.
_GENERATOR_SOURCES = ("tile_testbench.py", "isa.py", "numerics.py")


def _generator_key(config, capacities):
    """SHA-256 of what the harness Verilog of ``config`` depends on: the configuration, the
    capacities, Amaranth's version and the generator's sources."""
    digest = hashlib.sha256(repr((config_to_dict(config), tuple(capacities),
                                  metadata.version("amaranth"))).encode())
    for name in _GENERATOR_SOURCES:
        digest.update((Path(tile_testbench.__file__).parent / name).read_bytes())
    return digest.hexdigest()


def _capacity_suffix(capacities):
    """What names the files of a harness of other than :data:`DEFAULT_CAPACITIES`."""
    if tuple(capacities) == DEFAULT_CAPACITIES:
        return ""
    return "_beats" + "_".join(map(str, capacities))


def testbench_verilog(config, build, capacities=DEFAULT_CAPACITIES):
    """Write the harness Verilog of ``config`` with stream memories of ``capacities`` beats
    under ``<build>/verilog/testbench`` unless the file there was generated from the same
    inputs (its ``.key`` beside it says; generating the memories' contents takes seconds);
    return its path."""
    path = (Path(build) / "verilog" / "testbench" / _capacity_suffix(capacities).lstrip("_")
            / f"{testbench_name(config)}.v")
    key, key_file = _generator_key(config, capacities), path.with_suffix(".key")
    if path.is_file() and key_file.is_file() and key_file.read_text() == key:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    key_file.unlink(missing_ok=True)
    replace_atomically(path, verilog.convert(TileTestbench(config, tuple(capacities)),
                                             name=testbench_name(config), emit_src=False))
    key_file.write_text(key)
    return path


class FastTile:
    """The fast path for one tile configuration: its harness built once (per digest, through
    the model store), then any number of programs run on it.

    Parameters
    ----------
    config : TileConfig
    build : path
        The build directory (see the module docstring).
    hierarchical : bool
        Build each leaf module once (``--hierarchical``).
    store : path or None
        The :mod:`tb.model_store` directory; the user's if None.
    verilator_args : sequence of str
        More Verilator arguments (optimization, threads), part of the model's digest.
    verilog : path or None
        The tile's Verilog as :func:`hdl.emit.write` wrote it; generated under ``build`` if
        None.
    compiler_cache : bool
        Compile through ccache (``OBJCACHE``, :func:`tb.toolchain.simulator_env`); False
        compiles every file (the benchmark's cold build).
    capacities : sequence of int
        Beats of each stream's memory in the harness (STREAMS order): :func:`capacities_for`
        the programs to run, when they are known before the build.
    """
    def __init__(self, config, build, *, hierarchical=True, store=None, verilator_args=(),
                 verilog=None, compiler_cache=True, capacities=DEFAULT_CAPACITIES):
        self.config = config
        self._verilog = Path(verilog).resolve() if verilog is not None else None
        self._build = Path(build).resolve()
        self._hierarchical = hierarchical
        self._store = Path(store) if store is not None else model_store.default_store()
        self._arguments = ["-Wno-fatal", *VERILATOR_OPTIMIZATION, *verilator_args]
        self._packer = ProgramPacker(config)
        self._compiler_cache = compiler_cache
        self.capacities = tuple(capacities)
        self.build_seconds = None
        self.model_build_seconds = None
        self._executable = None

    @property
    def executable_name(self):
        """File name of the driver's executable in :attr:`directory`."""
        return model_store.model_file("verilator", testbench_name(self.config))

    @property
    def directory(self):
        """The driver's build directory."""
        suffix = ("_hierarchical" if self._hierarchical else "") + \
            _capacity_suffix(self.capacities)
        return self._build / "sim" / "verilator" / f"{self.config.name}{suffix}_testbench"

    def _sources(self):
        tile = self._verilog or write(_generated(self.config),
                                      verilog_path(self.config, self._build).parent)
        sources = [tile, testbench_verilog(self.config, self._build, self.capacities)]
        if self._hierarchical:
            control = self.directory / "hier.vlt"
            control.write_text(hierarchical_config(self.config))
            sources.append(control)
        return [*sources, DRIVER]

    def build(self):
        """Build the driver and harness unless the model store holds them; return the seconds
        spent compiling (0 if none)."""
        directory = self.directory
        directory.mkdir(parents=True, exist_ok=True)
        top = testbench_name(self.config)
        sources = self._sources()
        arguments = [*self._arguments, *(["--hierarchical"] if self._hierarchical else [])]
        digest = build_digest("verilator", top, sources, ["driver", *arguments])
        self._executable = directory / top
        stored = model_store.fetch(self._store, "verilator", top, digest, directory)
        if stored is not None:
            self.build_seconds, self.model_build_seconds = 0.0, stored
            return 0.0
        # Runs in other processes may build the same model here: one builds, the others then
        # find it in the store.
        with open(directory / "build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            stored = model_store.fetch(self._store, "verilator", top, digest, directory)
            if stored is not None:
                self.build_seconds, self.model_build_seconds = 0.0, stored
                return 0.0
            return self._compile(directory, top, digest, [*arguments, *map(str, sources)])

    def _compile(self, directory, top, digest, arguments):
        obj = directory / "obj"
        shutil.rmtree(obj, ignore_errors=True)
        command = ["verilator", "--cc", "--exe", "--build", "-j", "2", "--top-module", top,
                   "--prefix", "Vharness", "-Mdir", str(obj),
                   "-o", str(obj / self.executable_name), *arguments]
        log = directory / _BUILD_LOG
        start = time.perf_counter()
        environment = {**os.environ, **simulator_env("verilator")}
        if not self._compiler_cache:
            environment["OBJCACHE"] = ""
        with open(log, "w") as output:
            finished = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT,
                                      env=environment, check=False)
        if finished.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"Building the testbench {top} failed; the log is {log}, "
                               f"ending with:\n{tail}")
        seconds = time.perf_counter() - start
        shutil.copyfile(log, obj / _BUILD_LOG)
        model_store.publish(self._store, "verilator", top, digest, obj, seconds)
        model_store.fetch(self._store, "verilator", top, digest, directory)
        self.build_seconds = self.model_build_seconds = seconds
        return seconds

    def _job(self, beats, seeds, threshold, holds, reset_at, budget):
        counts = [len(beats.ops), len(beats.stationary), len(beats.moving), beats.results]
        for name, count, capacity in zip(STREAMS, counts, self.capacities):
            if count > capacity:
                raise ValueError(f"The program's {name} stream has {count} beats; the fast "
                                 f"path's harness holds at most {capacity}")
        lines = [f"counts {' '.join(map(str, counts))}", f"budget {budget}"]
        lines += [f"stall {index} {seed} {threshold}" for index, seed in enumerate(seeds)]
        lines += [f"hold {cycle}" for cycle in holds]
        if reset_at is not None:
            lines.append(f"reset_at {reset_at}")
        for target, stream_beats in enumerate((beats.ops, beats.stationary, beats.moving)):
            lines += [f"load {target} {address} {beat:x}"
                      for address, beat in enumerate(stream_beats)]
        return "\n".join(lines) + "\n"

    def run(self, program, *, stall_seed=None, holds=(), reset_at=None, run="run"):
        """Run ``program`` (ideal streams, or with the stall patterns seeded ``stall_seed``).

        Parameters
        ----------
        program : list of operations
        stall_seed : int or None
            Seed of the streams' stall patterns (:func:`stall_seeds`, probability
            :data:`tb.harness_timing.STALL_PROBABILITY`); ideal streams if None.
        holds : sequence of int
            Cycles in which the harness blocks every handshake (fault injection).
        reset_at : int or None
            Cycle at which the run is reset and started again (reset mid-operation); the
            second run is the one returned.
        run : str
            Name of the run's job and output files in the build directory.

        Returns
        -------
        dict
            As :meth:`tb.tile_harness.TileHarness.run`: ``transfers`` (cycles from 0),
            ``reads``, ``wall_seconds`` (from writing the job to the outcome read back; the
            beats packed before, as the cocotb path does); and ``cycles``, ``run_seconds``
            and ``run_cpu_seconds`` (wall-clock and CPU seconds of the driver's clocked run
            alone), ``seeds`` and ``threshold``.

        Raises
        ------
        ValueError
            If a stream of ``program`` has more beats than the harness holds.
        AssertionError
            If the run does not finish within its cycle budget.
        """
        beats = self._packer.beats(program)
        threshold = 0 if stall_seed is None else round(STALL_PROBABILITY * _THRESHOLD_SCALE)
        seeds = stall_seeds(stall_seed) if stall_seed is not None else [1] * len(STREAMS)
        budget = time_program(self.config, program).total_cycles * (
            20 if stall_seed is not None else 1) + 200 + len(holds)
        text = self._job(beats, seeds, threshold, holds, reset_at, budget)
        if self._executable is None:
            self.build()
        start = time.perf_counter()
        job, out = self.directory / f"{run}.job", self.directory / f"{run}.out"
        job.write_text(text)
        finished = subprocess.run([str(self._executable), str(job), str(out)],
                                  capture_output=True, text=True, check=False)
        if finished.returncode != 0:
            raise RuntimeError(f"The testbench driver of {self.config.name} failed "
                               f"({finished.returncode}): {finished.stderr.strip()}")
        outcome = self._read(out, program)
        if not outcome["done"]:
            raise AssertionError(f"{self.config.name}: the program did not finish within "
                                 f"{budget} cycles (job {job})")
        outcome.update(wall_seconds=time.perf_counter() - start, seeds=seeds,
                       threshold=threshold)
        return outcome

    def _read(self, path, program):
        lines = path.read_text().splitlines()
        header = dict(line.split() for line in lines[:_HEADER_LINES])
        transfers = {}
        for line in lines[_HEADER_LINES:_HEADER_LINES + len(STREAMS)]:
            fields = line.split()
            transfers[STREAMS[int(fields[1])]] = [int(cycle) for cycle in fields[3:]]
        first = _HEADER_LINES + len(STREAMS)
        count = int(lines[first].split()[1])
        payloads = [int(text, 16) for text in lines[first + 1:first + 1 + count]]
        transfers = {name: Transfers(payloads if name == "result" else [], cycles)
                     for name, cycles in transfers.items()}
        return {"done": header["done"] == "1", "cycles": int(header["cycles"]),
                "run_seconds": float(header["run_seconds"]),
                "run_cpu_seconds": float(header["run_cpu_seconds"]), "transfers": transfers,
                "reads": result_reads(self.config, program, payloads)}
