"""The simulation runner's build stamp, without a simulator."""

from tb.runner import _build_digest


def test_build_arguments_decide_whether_a_build_is_up_to_date(tmp_path):
    source = tmp_path / "top.v"
    source.write_text("module top; endmodule\n")
    plain = _build_digest("verilator", "top", [source], ())
    assert _build_digest("verilator", "top", [source], ()) == plain
    hierarchical = _build_digest("verilator", "top", [source], ("--hierarchical",))
    assert hierarchical != plain
    source.write_text("module top; wire w; endmodule\n")
    assert _build_digest("verilator", "top", [source], ("--hierarchical",)) != hierarchical
