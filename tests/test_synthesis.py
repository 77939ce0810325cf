"""Synthesis figures of sweep points: the leaves' figures multiply out to the array's, agree with a
flat synthesis, grow with the array, a PE has a positive ECP5 fmax, and a failing tool or one
stopped at the time limit gives one line. Tiny tiles with a tiny PSUM keep each Yosys run to a
second or two (the first run on a machine also compiles Yosys's WebAssembly, about 40 s, once)."""

import json
from dataclasses import asdict

import pytest

from hdl.emit import generate, write
from hdl.leaf import LEAF_KINDS, leaf_module_name
from sim_models.config import TileConfig
from sweep.pe_timing import pe_fmax_mhz
from sweep.synthesis import SynthesisError, module_figures, synthesize

SMALL = TileConfig(2, 2, psum_banks=1, psum_depth=4)
LARGER = TileConfig(3, 3, psum_banks=1, psum_depth=4)


def _synthesized(config, work_dir):
    return synthesize(config, write(generate(config), work_dir))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("small")
    return work_dir, _synthesized(SMALL, work_dir)


@pytest.fixture(scope="module")
def larger(tmp_path_factory):
    return _synthesized(LARGER, tmp_path_factory.mktemp("larger"))


def test_array_figures_are_the_leaves_multiplied_out(small):
    _, figures = small
    modules = (figures.pe_column, figures.psum_column)
    assert [item.module for item in modules] == [leaf_module_name(kind, SMALL)
                                                 for kind in LEAF_KINDS]
    assert [item.instances for item in modules] == [SMALL.cols, SMALL.cols]
    assert figures.top.instances == 1
    for name in ("cells", "transistors", "memory_bits"):
        expected = SMALL.cols * (getattr(figures.pe_column, name)
                                 + getattr(figures.psum_column, name)) \
            + getattr(figures.top, name)
        assert getattr(figures, name) == expected, name
    assert figures.cells_per_pe == figures.pe_column.cells / SMALL.rows
    assert figures.transistors_per_pe == figures.pe_column.transistors / SMALL.rows


def test_psum_is_counted_in_memory_bits_not_in_cells(small):
    _, figures = small
    accumulator_bits = SMALL.accumulator_bits
    assert figures.psum_column.memory_bits == \
        SMALL.psum_banks * SMALL.psum_depth * accumulator_bits
    assert figures.pe_column.memory_bits == 0
    assert 0 < figures.psum_column.cells < figures.pe_column.cells


def test_multiplied_out_figures_agree_with_a_flat_synthesis(small):
    # Flat, Yosys may fold constants and drop unused outputs across the leaf boundaries (the
    # array's edges) and ABC restructures a bigger netlist: close, not identical.
    work_dir, figures = small
    flat = module_figures(work_dir / f"{figures.top.module}.v", figures.top.module)
    assert flat.memory_bits == figures.memory_bits
    assert flat.cells == pytest.approx(figures.cells, rel=0.03)
    assert flat.transistors == pytest.approx(figures.transistors, rel=0.03)


def test_a_larger_array_has_more_cells(small, larger):
    _, figures = small
    assert larger.cells > figures.cells
    assert larger.transistors > figures.transistors
    assert larger.pe_column.cells > figures.pe_column.cells


def test_pe_fmax_is_a_positive_frequency(small):
    work_dir, _ = small
    assert 1 < pe_fmax_mhz(SMALL.formats, work_dir / "pe_timing") < 1000
    assert "Max frequency for clock" in \
        next((work_dir / "pe_timing").glob("*.nextpnr.log")).read_text()


def test_figures_are_plain_json_and_logs_are_files(small):
    work_dir, figures = small
    values = json.loads(json.dumps(asdict(figures)))
    assert values["config"]["rows"] == SMALL.rows
    assert values["pe_column"]["cells"] == figures.pe_column.cells
    log = (work_dir / f"{figures.pe_column.module}.log").read_text()
    assert "End of script" in log


def test_a_tool_failure_is_one_line_naming_module_tool_and_log(tmp_path, capfd):
    verilog = tmp_path / "broken.v"
    verilog.write_text("module broken(input a); assign = ; endmodule\n")
    with pytest.raises(SynthesisError) as error:
        module_figures(verilog, "broken")
    message = str(error.value)
    assert "\n" not in message
    assert "yosys failed on broken" in message
    assert str(tmp_path / "broken.log") in message
    assert "ERROR" in (tmp_path / "broken.log").read_text()
    assert capfd.readouterr() == ("", "")


def test_a_synthesis_over_its_time_limit_is_stopped_with_one_line(tmp_path):
    verilog = write(generate(SMALL), tmp_path)
    with pytest.raises(SynthesisError) as error:
        synthesize(SMALL, verilog, time_limit=0.05)
    assert str(error.value) == (f"yosys on {verilog.stem} stopped at the time limit of 0.05 s; "
                                f"see {tmp_path / verilog.stem}.log")


def test_a_config_that_is_not_a_tile_is_refused_in_one_line(tmp_path):
    with pytest.raises(TypeError, match=r"^Parameter 'config' must be a TileConfig, not "):
        synthesize({"rows": 2, "cols": 2}, tmp_path / "tile.v")


def test_a_floating_point_tile_multiplies_out_and_costs_more_per_pe(small, tmp_path):
    """The float tile's PE column holds its FloatMac leaves flattened into it (they are not
    leaves of the tile's top), so the same three-module sum covers it."""
    config = TileConfig(2, 2, psum_banks=1, psum_depth=4, formats=("bf16",))
    figures = _synthesized(config, tmp_path)
    assert figures.cells == config.cols * (figures.pe_column.cells + figures.psum_column.cells) \
        + figures.top.cells
    assert figures.cells_per_pe > 2 * small[1].cells_per_pe
