"""Writing files so that no reader ever sees half of one."""

import os
import tempfile
from pathlib import Path

__all__ = ["replace_atomically"]


def replace_atomically(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename
    (``os.replace``): a reader, or a run cut short, finds the old file or the new one, never
    part of one. The file gets the mode a plain ``open`` would give it (0666 less the umask),
    not the temporary file's 0600. The directory must exist; ``OSError`` as from ``open``."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask():
    """The process's file-creation mask (read by setting it, then restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
