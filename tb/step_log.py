"""One console line per step: what a step prints on its way (each simulation's summary line,
each GEMM's result) goes to a log file, and the step's caller prints what it did and how long
it took."""

import time
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

__all__ = ["StepLog"]


class StepLog:
    """A log file of a command's steps, written from the first line a step prints (a command
    that fails before printing anything leaves no file behind); each run starts it afresh.

    Parameters
    ----------
    path : path
        The log file; its directory is made when the first line arrives.
    """

    def __init__(self, path):
        self.path = Path(path)
        self._stream = None

    def write(self, text):
        if self._stream is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = self.path.open("w")
        return self._stream.write(text)

    def flush(self):
        if self._stream is not None:
            self._stream.flush()

    def close(self):
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    @contextmanager
    def step(self):
        """Send what the block prints to the log; yield a dict whose ``seconds`` holds the
        block's wall time (s) once it has ended."""
        timing = {"seconds": None}
        start = time.perf_counter()
        try:
            with redirect_stdout(self):
                yield timing
        finally:
            timing["seconds"] = time.perf_counter() - start
            self.flush()
