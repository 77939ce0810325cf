"""The per-depth PE table (``sweep.pe_depths``): one real measurement of the int8 PE, the table
built from measured rows, and one line for each bad argument."""

import pytest

from sim_models.config import TRAINIUM2_FORMATS
from sim_models.timing import MAX_FLOAT_PE_STAGES
from sweep.pe_depths import DepthFigures, main, markdown_table, measure_depth


def test_the_int8_pe_is_measured_with_its_tools(tmp_path):
    row = measure_depth(("int8",), 1, tmp_path)
    assert row.fmax_mhz > 0 and row.seconds > 0
    # An interior PE adds the partial-sum adder that the one-row column folds away.
    assert 0 < row.transistors_row0 < row.transistors and 0 < row.cells_row0 < row.cells
    # One-stage PEs: rows one cycle apart, no stationary delay, R + C cycles of fill and drain.
    assert (row.row_hop, row.load_path_flops, row.fill_drain_128) == (1, 0, 128 + 128)
    assert row.macs_per_second_per_transistor == pytest.approx(
        row.fmax_mhz * 1e6 / row.transistors)


def _row(formats, stages, fmax, macs=1):
    return DepthFigures(formats=formats, pe_stages=stages, row_hop=stages, fmax_mhz=fmax,
                        cells=1000, transistors=8000, cells_row0=900, transistors_row0=7000,
                        load_path_flops=16 * (stages - 1), fill_drain_128=256,
                        macs_per_cycle=macs, macs_per_second_per_transistor=fmax * macs / 8e-3,
                        seconds=1.0)


def test_the_table_compares_each_fmax_with_the_int8_pe_of_the_same_run():
    table = markdown_table([_row(("int8",), 1, 120.0), _row(("bf16",), 13, 90.0),
                            _row(TRAINIUM2_FORMATS, 13, 60.0, macs=2)])
    lines = table.splitlines()
    assert len(lines) == 5
    assert lines[2].startswith("| int8 | 1 | 1 | 120.0 | 1.00 |")
    assert lines[3].startswith("| bf16 | 13 | 13 | 90.0 | 0.75 |")
    assert lines[4].startswith("| trainium2 | 13 | 13 | 60.0 | 0.50 |")


def test_without_int8_the_ratio_is_left_out():
    assert "| bf16 | 2 | 2 | 50.0 | - |" in markdown_table([_row(("bf16",), 2, 50.0)])


@pytest.mark.parametrize("arguments, message", [
    (["--stages", "0"], f"Parameter 'stages' must be a depth or a range a-b within "
                        f"1..{MAX_FLOAT_PE_STAGES}, not '0'"),
    (["--stages", f"3-{MAX_FLOAT_PE_STAGES + 1}"], "Parameter 'stages' must be a depth or a range "
                                                  f"a-b within 1..{MAX_FLOAT_PE_STAGES}"),
    (["--stages", "x"], "Parameter 'stages' must be a depth"),
    (["--sets", "bf17"], "Parameter 'sets': unknown format 'bf17'"),
    (["--sets", "int8,bf16"], "Parameter 'sets': int8"),
])
def test_bad_arguments_are_one_line(tmp_path, capsys, arguments, message):
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path), *arguments])
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "pe_depths.json").exists()
