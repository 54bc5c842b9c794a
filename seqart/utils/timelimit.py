"""A wall-clock limit on a block of code, so one pathological file cannot hang a parse.

music21 can run for hours on a hostile file (a 1000000/1 meter makes it build a
measure of four million beats), so the readers and the corpus builder run each
file under :func:`time_limit`.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class TimeLimitExceeded(BaseException):
    """Raised inside a :func:`time_limit` block when its time is up.

    A BaseException, like KeyboardInterrupt, so that a parser's own
    ``except Exception`` clauses (music21 has many) cannot swallow it; whoever sets
    the limit turns it into a one-line error.
    """

    def __init__(self, seconds: float):
        super().__init__(f"gave up after {seconds:g} s")
        self.seconds = seconds


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` if the block runs longer than ``seconds``.

    The limit uses SIGALRM, so it applies only in the main thread on POSIX systems
    and only while no other interval timer is armed (an outer limit, or a test
    runner's timeout, is left alone); elsewhere, and for ``seconds`` None or <= 0,
    the block runs without a limit. Code inside a C function is interrupted when it
    returns to Python. The exception may also surface just after the block ends,
    so catch it around the ``with`` statement, not inside it.
    """
    if (seconds is None or seconds <= 0 or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()
            or signal.getitimer(signal.ITIMER_REAL)[0] > 0):
        yield
        return

    def on_alarm(signum, frame):
        raise TimeLimitExceeded(seconds)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:  # the alarm may go off just as the block ends: restore the handler anyway
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
