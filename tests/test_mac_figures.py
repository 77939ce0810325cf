"""The MAC table (``sweep.mac_figures``): rows as measured, and one line for each bad argument.
The measurement itself runs the tools ``tests/test_pe_depths.py`` already exercises."""

import pytest

from sim_models.config import TRAINIUM2_FORMATS, TRAINIUM3_FORMATS
from sweep.mac_figures import MacFigures, main, markdown_table
from sweep.pe_timing import pe_fmax_mhz, smallest_tile
from sweep.tools import SynthesisError


def test_an_mx_set_is_measured_on_eight_rows_and_others_on_one():
    """The MAC figures' and the sweep's PE timing's tile: one PE, or a column of one E8M0
    scale group's 8 rows with MX formats."""
    assert (smallest_tile(TRAINIUM3_FORMATS).rows, smallest_tile(TRAINIUM2_FORMATS).rows,
            smallest_tile(("bf16",), 2).rows) == (8, 1, 1)
    assert smallest_tile(TRAINIUM3_FORMATS).rows_per_pe == 4
    assert smallest_tile(("bf16",), 2).pe_stages == 2


def test_an_mx_pe_too_shallow_to_time_is_refused_before_the_tools(tmp_path):
    with pytest.raises(SynthesisError) as caught:
        pe_fmax_mhz(TRAINIUM3_FORMATS, tmp_path, pe_stages=1)
    assert str(caught.value) == (
        f"{smallest_tile(TRAINIUM3_FORMATS, 1).name}: an MX PE is timed by its MAC alone, "
        f"which has no register-to-register path below 3 stages, not 1")
    assert not any(tmp_path.iterdir())


def test_the_table_shows_each_row():
    rows = [MacFigures(TRAINIUM2_FORMATS, 13, 60.0, 9000, 70000, 2, 60e6 * 2 / 70000, 1.0),
            MacFigures(TRAINIUM3_FORMATS, 13, 40.0, 20000, 150000, 4, 40e6 * 4 / 150000, 1.0)]
    lines = markdown_table(rows).splitlines()
    assert lines[2] == "| trainium2 | 13 | 60.0 | 9,000 | 70,000 | 2 | 1,714 |"
    assert lines[3] == "| trainium3 | 13 | 40.0 | 20,000 | 150,000 | 4 | 1,067 |"


@pytest.mark.parametrize("arguments, message", [
    (["--sets", "int8"], "Parameter 'sets' holds int8, which has no floating-point MAC"),
    (["--sets", "bf17"], "Parameter 'sets': unknown format 'bf17'"),
    (["--stages", "0"], "Parameter 'stages' must be a depth or a range a-b"),
    (["--stages", "2-13"], "Parameter 'stages' must start at 3 or deeper for the MAC alone, "
                           "not '2-13'"),
])
def test_bad_arguments_are_one_line(tmp_path, capsys, arguments, message):
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path), *arguments])
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "mac_figures.json").exists()
