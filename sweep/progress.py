"""Progress of a running sweep: points done, running and failed, elapsed and remaining time.

On a terminal it is one status line rewritten in place (a failed point's line is printed above
it, so that no error scrolls away); in a log (output that is not a terminal, e.g. captured by
make or CI) it is one line per finished point, with its duration and the same counts. The
remaining time is the elapsed time per finished point times the points left: rough while few
points are done, and blind to points that share builds.

Written here rather than with ``tqdm`` (not installed, and its log mode is a stream of carriage
returns) or ``distributed.progress`` (it counts Dask tasks, not points, and has neither failed
points nor a log mode).
"""

import time

__all__ = ["Progress"]

#: Seconds between two redraws of the terminal's status line.
REDRAW_SECONDS = 1.0


def _clock(seconds):
    """``seconds`` as ``m:ss`` (or ``h:mm:ss``)."""
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """The progress display of ``total`` points on ``out``.

    Parameters
    ----------
    total : int
        Points the sweep runs (those already finished in the store not counted).
    out : file
        Where the display goes; a terminal if ``out.isatty()``.
    running : callable
        ``running() -> int``: points with a task on a worker now (asked at each redraw).
    clock : callable
        Monotonic seconds (``time.monotonic``; a test's stand-in).
    """

    def __init__(self, total, out, running, clock=time.monotonic):
        self.total, self.out, self._running, self._clock = total, out, running, clock
        self.done = self.failed = 0
        self._start = self._drawn = clock()
        self._terminal = out.isatty()

    def status(self):
        """The status line: ``[sweep] 3/8 done, 2 running, 1 failed; 0:42 elapsed, ~1:10
        remaining``; failed points count as done."""
        elapsed = self._clock() - self._start
        finished = self.done + self.failed
        left = (f"~{_clock(elapsed / finished * (self.total - finished))}" if finished
                else "unknown")
        return (f"[sweep] {finished}/{self.total} done, {self._running()} running, "
                f"{self.failed} failed; {_clock(elapsed)} elapsed, {left} remaining")

    def _draw(self, line, end):
        # On a terminal: back to the line's start, the new text, the rest of the line erased.
        prefix, suffix = ("\r", "\x1b[K") if self._terminal else ("", "")
        print(f"{prefix}{line}{suffix}", end=end, file=self.out, flush=True)

    def finished(self, name, error, seconds):
        """Point ``name`` is stored: ``error`` None if it finished, else its one-line error;
        ``seconds`` the sum of its steps' times."""
        self.failed += error is not None
        self.done += error is None
        verdict = "ok" if error is None else f"FAILED {error}"
        if not self._terminal:
            self._draw(f"[sweep] {name}: {verdict} ({seconds:.1f} s of steps); "
                       f"{self.status()[len('[sweep] '):]}", "\n")
            return
        if error is not None:
            self._draw(f"[sweep] {name}: {verdict}", "\n")
        self.tick(force=True)

    def tick(self, force=False):
        """Redraw the terminal's status line if :data:`REDRAW_SECONDS` have passed (or
        ``force``); nothing in a log."""
        now = self._clock()
        if self._terminal and (force or now - self._drawn >= REDRAW_SECONDS):
            self._drawn = now
            self._draw(self.status(), "")

    def close(self):
        """End the terminal's status line with a newline (after the last redraw)."""
        if self._terminal:
            self.tick(force=True)
            print(file=self.out, flush=True)
