"""Simulator models kept by the digest of what they were built from, so that a design is
compiled once and every later build of the same Verilog (another build directory, a test, the
characterization, the benchmark or a sweep point, a cleaned build) takes the model from here.

A model is the one file a run needs: Verilator's executable (named after the top module) or
Icarus's ``sim.vvp``; its entry also keeps the build's ``build.log`` and the seconds the build
took, which the characterization records. Its digest (:func:`tb.runner.build_digest`) covers the simulator and its
version, the cocotb libraries it links, the top module, the build arguments and the names and
contents of every source. An entry is ``<store>/<sim>/<digest>/`` holding the model and a file
``digest`` written last: an entry without it, or whose ``digest`` does not match its name, is
incomplete or corrupt; it is named on stdout, removed, and the model is built again.

The default store is ``$XDG_CACHE_HOME/systolic-tile/models`` (``~/.cache/...``); nothing
removes old entries, ``rm -rf`` of the directory is always safe.
"""

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["default_store", "fetch", "model_file", "publish"]

_DIGEST_FILE = "digest"
_SECONDS_FILE = "build_seconds"
_LOG = "build.log"


def default_store():
    """The model store of this user: ``$XDG_CACHE_HOME/systolic-tile/models``."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "systolic-tile" / "models"


def model_file(sim, toplevel):
    """Name of the file a build of ``toplevel`` with ``sim`` leaves for the runs."""
    return toplevel if sim == "verilator" else "sim.vvp"


def _entry(store, sim, digest):
    return Path(store) / sim / digest


def _link_or_copy(source, target):
    """Hard-link (or copy, across file systems) ``source`` to ``target``, replacing it in one
    step: a process about to run ``target`` finds the old file or the new one."""
    staging = target.with_name(f".{target.name}.{os.getpid()}")
    staging.unlink(missing_ok=True)
    try:
        os.link(source, staging)
    except OSError:  # another file system
        shutil.copy2(source, staging)
    os.replace(staging, target)


def fetch(store, sim, toplevel, digest, build_dir):
    """Put the stored model of ``digest`` and its ``build.log`` into ``build_dir``; return the
    seconds its build took, or None if the store does not hold it.

    An incomplete or corrupt entry is reported (one line), removed and counts as absent.
    """
    entry = _entry(store, sim, digest)
    if not entry.is_dir():
        return None
    model = entry / model_file(sim, toplevel)
    stamp = entry / _DIGEST_FILE
    try:
        seconds = float((entry / _SECONDS_FILE).read_text())
        complete = stamp.read_text() == digest and model.is_file()
    except (OSError, ValueError):
        complete = False
    if not complete:
        print(f"[build] model store entry {entry} is incomplete or corrupt; removed, "
              f"building again", flush=True)
        shutil.rmtree(entry, ignore_errors=True)
        return None
    _link_or_copy(model, Path(build_dir) / model.name)
    if (entry / _LOG).is_file():
        shutil.copyfile(entry / _LOG, Path(build_dir) / _LOG)
    return seconds


def publish(store, sim, toplevel, digest, build_dir, seconds):
    """Keep the model just built in ``build_dir`` (in ``seconds``) and its ``build.log`` under
    ``digest``; an entry another process finished first is left as it is."""
    entry = _entry(store, sim, digest)
    if entry.is_dir():
        return
    entry.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{digest[:16]}-", dir=entry.parent))
    try:
        model = Path(build_dir) / model_file(sim, toplevel)
        _link_or_copy(model, staging / model.name)
        if (Path(build_dir) / _LOG).is_file():
            shutil.copyfile(Path(build_dir) / _LOG, staging / _LOG)
        (staging / _SECONDS_FILE).write_text(f"{seconds:.3f}")
        (staging / _DIGEST_FILE).write_text(digest)
        os.rename(staging, entry)
    except OSError:
        if not entry.is_dir():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
