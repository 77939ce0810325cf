"""Simulator models kept by the digest of what they were built from, so that a design is
compiled once and every later build of the same Verilog (another build directory, a test, the
characterization, the benchmark or a sweep point, a cleaned build) takes the model from here.

A model is the one file a run needs: Verilator's executable (named after the top module) or
Icarus's ``sim.vvp``; its entry also keeps the build's ``build.log`` and the seconds the build
took, which the characterization records. Its digest (:func:`tb.runner.build_digest`) covers
the simulator and its version, cocotb's version, the top module, the build arguments and the
names and contents of every source; no directory, so that every clone and venv of the user
shares the models. An entry is ``<store>/<sim>/<digest>/`` holding the model and a file
``digest`` written last: an entry without it, or whose ``digest`` does not match its name, is
incomplete or corrupt; it is named on stdout, removed, and the model is built again.

The default store is ``$XDG_CACHE_HOME/systolic-tile/models`` (``~/.cache/...``). It is
bounded: each publish prunes it (:func:`prune`), removing entries unused for
:data:`MAX_AGE_DAYS` days, then the least recently used until it holds at most
:data:`MAX_BYTES`; a fetch marks its entry used. ``rm -rf`` of the directory is always safe.
"""

import os
import shutil
import tempfile
import time
from pathlib import Path

__all__ = ["MAX_AGE_DAYS", "MAX_BYTES", "default_store", "fetch", "model_file", "prune",
           "publish"]

_DIGEST_FILE = "digest"
_SECONDS_FILE = "build_seconds"
_LOG = "build.log"
#: Bytes the store keeps at most after a publish: about 25 models of a full `make test`, `make
#: report` and `make bench` (8 and 32) together take 1-1.5 GB; a 128 x 128 model about 0.1 GB.
MAX_BYTES = 3 << 30
#: Days after its last use (build or fetch) an entry is removed.
MAX_AGE_DAYS = 30
#: Staging directories of a publish older than this (seconds) were left by a killed process.
_STALE_STAGING_SECONDS = 3600


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
    try:
        _link_or_copy(model, Path(build_dir) / model.name)
        if (entry / _LOG).is_file():
            shutil.copyfile(entry / _LOG, Path(build_dir) / _LOG)
        os.utime(stamp)  # used now: the last to be pruned
    except FileNotFoundError:  # pruned by another process meanwhile
        return None
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
    prune(store, keep=entry)


def _entry_bytes(entry):
    return sum(path.stat().st_blocks * 512 for path in entry.iterdir() if path.is_file())


def prune(store, max_bytes=MAX_BYTES, max_age_days=MAX_AGE_DAYS, keep=None, now=None):
    """Remove the entries of ``store`` last used (built or fetched) more than ``max_age_days``
    days before ``now`` (seconds since the epoch; the present if None), then the least
    recently used until the rest hold at most ``max_bytes`` (disk blocks of their files; a
    model still hard-linked from a build directory keeps its blocks there). The entry ``keep``
    is never removed; nor are staging directories of a publish under way (those older than an
    hour were left by a killed process and go). Prints one line when it removes anything;
    returns the removed entries."""
    now = time.time() if now is None else now
    entries, removed = [], []
    for sim_dir in (path for path in Path(store).glob("*") if path.is_dir()):
        for entry in sim_dir.iterdir():
            try:
                if entry.name.startswith("."):
                    if now - entry.stat().st_mtime > _STALE_STAGING_SECONDS:
                        shutil.rmtree(entry, ignore_errors=True)
                    continue
                stamp = entry / _DIGEST_FILE
                used = stamp.stat().st_mtime if stamp.is_file() else entry.stat().st_mtime
                entries.append((used, entry, _entry_bytes(entry)))
            except FileNotFoundError:  # removed by another process meanwhile
                continue
    entries.sort(key=lambda item: item[0])
    total = sum(size for *_, size in entries)
    for used, entry, size in entries:
        if entry == keep:
            continue
        if now - used <= max_age_days * 86400 and total <= max_bytes:
            break
        shutil.rmtree(entry, ignore_errors=True)
        total -= size
        removed.append(entry)
    if removed:
        print(f"[build] model store {store}: removed {len(removed)} entries unused longest "
              f"(kept at most {max_bytes / (1 << 30):.1f} GiB and {max_age_days} days), "
              f"{total / (1 << 20):,.0f} MiB left", flush=True)
    return removed
