"""The sweep's progress display: one line per finished point in a log, one line rewritten in
place on a terminal; counts, elapsed and remaining time from a stand-in clock."""

import io

from sweep.progress import REDRAW_SECONDS, Progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_log_gets_one_line_per_finished_point_with_its_duration():
    out, clock = io.StringIO(), _Clock()
    progress = Progress(4, out, lambda: 2, clock)
    clock.now += 30
    progress.finished("a", None, 12.34)
    clock.now += 50
    progress.finished("b", "build: RuntimeError: boom", 3.0)
    progress.tick(force=True)
    progress.close()
    assert out.getvalue().splitlines() == [
        "[sweep] a: ok (12.3 s of steps); 1/4 done, 2 running, 0 failed; 0:30 elapsed, "
        "~1:30 remaining",
        "[sweep] b: FAILED build: RuntimeError: boom (3.0 s of steps); 2/4 done, 2 running, "
        "1 failed; 1:20 elapsed, ~1:20 remaining"]


def test_a_terminal_gets_one_line_rewritten_and_failures_above_it():
    out, clock = _Terminal(), _Clock()
    progress = Progress(2, out, lambda: 1, clock)
    progress.tick()                             # too soon after the start: nothing drawn
    assert out.getvalue() == ""
    clock.now += REDRAW_SECONDS
    progress.tick()
    assert out.getvalue() == ("\r[sweep] 0/2 done, 1 running, 0 failed; 0:01 elapsed, "
                              "unknown remaining\x1b[K")
    clock.now += 3599
    progress.finished("a", None, 5.0)           # an ok point: the status line only
    progress.finished("b", "gemms: AssertionError: x", 1.0)
    progress.close()
    text = out.getvalue()
    assert text.count("\n") == 2 and text.endswith("\n")
    assert "\r[sweep] b: FAILED gemms: AssertionError: x\x1b[K\n" in text
    assert "a: ok" not in text
    assert text.rstrip("\n").rsplit("\r", 1)[1] == \
        "[sweep] 2/2 done, 1 running, 1 failed; 1:00:00 elapsed, ~0:00 remaining\x1b[K"
