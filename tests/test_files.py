"""sim_models.files: atomic replacement, and the mode of what it writes."""

import os

from sim_models.files import replace_atomically


def test_files_written_atomically_get_the_users_normal_mode(tmp_path):
    """Generated Verilog and results files are readable as any file the user writes: 0666 less
    the umask, not the temporary file's 0600."""
    previous = os.umask(0o022)
    try:
        replace_atomically(tmp_path / "top.v", "module top; endmodule\n")
    finally:
        os.umask(previous)
    assert (tmp_path / "top.v").stat().st_mode & 0o777 == 0o644
