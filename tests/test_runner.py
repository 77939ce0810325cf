"""The simulation runner's build stamp and model store, without a simulator."""

from tb import model_store
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
