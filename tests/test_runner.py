"""The simulation runner's build stamp and model store, without a simulator."""

import os
import time
from pathlib import Path

from tb import model_store
from tb import runner
from tb.runner import build_digest


def test_build_arguments_decide_whether_a_build_is_up_to_date(tmp_path):
    source = tmp_path / "top.v"
    source.write_text("module top; endmodule\n")
    plain = build_digest("verilator", "top", [source], ())
    assert build_digest("verilator", "top", [source], ()) == plain
    hierarchical = build_digest("verilator", "top", [source], ("--hierarchical",))
    assert hierarchical != plain
    source.write_text("module top; wire w; endmodule\n")
    assert build_digest("verilator", "top", [source], ("--hierarchical",)) != hierarchical


def test_the_same_verilog_anywhere_is_the_same_model(tmp_path):
    first, second = tmp_path / "a" / "top.v", tmp_path / "b" / "top.v"
    for source in (first, second):
        source.parent.mkdir()
        source.write_text("module top; endmodule\n")
    assert build_digest("verilator", "top", [first], ()) == \
        build_digest("verilator", "top", [second], ())
    assert build_digest("verilator", "top", [first], ()) != \
        build_digest("icarus", "top", [first], ())


def _built(directory, text="model"):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "top").write_text(text)
    return directory


def test_a_published_model_is_fetched_into_another_build_directory(tmp_path):
    store = tmp_path / "store"
    built = _built(tmp_path / "one")
    (built / "build.log").write_text("- Verilator: Walltime 1.5 s\n")
    model_store.publish(store, "verilator", "top", "d1", built, 12.5)
    assert model_store.fetch(store, "verilator", "top", "d1",
                             _built(tmp_path / "two", "old")) == 12.5
    assert (tmp_path / "two" / "top").read_text() == "model"
    assert (tmp_path / "two" / "build.log").read_text() == "- Verilator: Walltime 1.5 s\n"
    assert model_store.fetch(store, "verilator", "top", "d2", tmp_path / "two") is None


def test_a_corrupt_store_entry_is_named_removed_and_not_used(tmp_path, capsys):
    store = tmp_path / "store"
    model_store.publish(store, "verilator", "top", "d1", _built(tmp_path / "one"), 1.0)
    (store / "verilator" / "d1" / "digest").write_text("d0")
    assert model_store.fetch(store, "verilator", "top", "d1", _built(tmp_path / "two")) is None
    assert "verilator/d1 is incomplete or corrupt" in capsys.readouterr().out
    assert not (store / "verilator" / "d1").exists()


def _published_and_aged(store, ages, now):
    """Entries of 64 KiB models published, then dated ``ages`` (digest: days since used)."""
    for digest in ages:
        built = _built(store.parent / f"built_{digest}", "x" * (64 << 10))
        model_store.publish(store, "verilator", "top", digest, built, 1.0)
    for digest, days_ago in ages.items():
        os.utime(store / "verilator" / digest / "digest", (now - days_ago * 86400,) * 2)


def test_the_store_drops_entries_unused_too_long_then_the_least_recently_used(tmp_path, capsys):
    store, now = tmp_path / "store", time.time()
    _published_and_aged(store, {"old": 40, "mid": 5, "new": 1, "newest": 0}, now)
    (store / "verilator" / ".staging-left-by-a-kill").mkdir()
    os.utime(store / "verilator" / ".staging-left-by-a-kill", (now - 7200,) * 2)
    entry_bytes = model_store._entry_bytes(store / "verilator" / "new")
    removed = model_store.prune(store, max_bytes=2 * entry_bytes, max_age_days=30, now=now)
    assert [entry.name for entry in removed] == ["old", "mid"]
    assert sorted(path.name for path in (store / "verilator").iterdir()) == ["new", "newest"]
    assert "removed 2 entries unused longest" in capsys.readouterr().out
    # A fetch marks its entry used: "new" then outlives "newest".
    assert model_store.fetch(store, "verilator", "top", "new", _built(tmp_path / "run")) == 1.0
    removed = model_store.prune(store, max_bytes=entry_bytes, max_age_days=30)
    assert [entry.name for entry in removed] == ["newest"]


def test_pruning_never_removes_the_entry_just_published(tmp_path):
    store = tmp_path / "store"
    model_store.publish(store, "verilator", "top", "d1", _built(tmp_path / "one"), 1.0)
    assert model_store.prune(store, max_bytes=0, keep=store / "verilator" / "d1") == []
    assert (store / "verilator" / "d1" / "digest").is_file()


def test_a_half_built_directory_is_named_and_its_simulator_files_removed(tmp_path, capsys):
    # What an interrupted hierarchical Verilator build leaves: Verilator's files (its top's
    # makefile missing), objects, a block directory, no stamp; beside them a test's run
    # directory and the control file, which stay.
    build = tmp_path / "build"
    (build / "Vtop_leaf").mkdir(parents=True)
    (build / "tile_tb").mkdir()
    for name in ("Vtop__verFiles.dat", "Vtop_hier.mk", "verilated.o", "Vtop__ALL.a",
                 "Vtop_leaf/Vtop_leaf.mk", "tile_tb/request.json", "vpi_ports.vlt"):
        (build / name).write_text("")
    runner._clear_half_built(build, "top")
    assert "was left half-built by an interrupted or failed build; its 5 files and directories removed" in \
        capsys.readouterr().out
    assert sorted(path.name for path in build.iterdir()) == ["tile_tb", "vpi_ports.vlt"]
    # A finished build (its stamp written) is left alone.
    (build / "Vtop.mk").write_text("")
    (build / "build.sha256").write_text("digest")
    runner._clear_half_built(build, "top")
    assert (build / "Vtop.mk").is_file() and not capsys.readouterr().out


def test_the_model_key_ignores_where_cocotb_is_installed_but_not_what_builds_the_model(
        tmp_path, monkeypatch):
    """A fresh clone (a new venv) takes the models other clones built from the user's store:
    the key holds the simulator's and cocotb's versions, the arguments and the sources, not
    the venv's path."""
    source = tmp_path / "top.v"
    source.write_text("module top; endmodule\n")

    def key(args=(), versions=None):
        versions = versions or {}
        with monkeypatch.context() as patch:
            real = runner.metadata.version
            patch.setattr(runner.metadata, "version",
                          lambda package: versions.get(package) or real(package))
            return build_digest("verilator", "top", [source], args)

    here = key()
    for venv in ("/work/a/.venv", "/home/someone/else/.venv"):
        monkeypatch.setattr(runner.cocotb_tools.config, "libs_dir",
                            Path(venv, "lib/python3.11/site-packages/cocotb/libs"))
        assert key() == here
    assert key(("-CFLAGS", "-O3")) != here
    assert key(versions={"verilator": "0.0.1"}) != here
    assert key(versions={"cocotb": "0.0.1"}) != here
    source.write_text("module top; wire w; endmodule\n")
    assert key() != here
