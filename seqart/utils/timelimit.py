"""A wall-clock limit on a block of code, so one pathological file cannot hang a parse.

music21 can run for hours on a hostile file (a 1000000/1 meter makes it build a
measure of four million beats), so the readers and the corpus builder run each
file under :func:`time_limit`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from contextlib import AbstractContextManager

#: Seconds between repeats of an alarm once the limit is up. Python drops an exception
#: raised in a gc callback, a ``__del__`` method or a weakref callback (it only reports
#: it to ``sys.unraisablehook``), so the first alarm can be lost: hypothesis keeps a gc
#: callback installed once it has run, and music21 frees objects with weakrefs.
RETRY_SECONDS = 0.1


class TimeLimitExceeded(BaseException):
    """Raised inside a :func:`time_limit` block when its time is up.

    A BaseException, like KeyboardInterrupt, so that a parser's own
    ``except Exception`` clauses (music21 has many) cannot swallow it; whoever sets
    the limit turns it into a one-line error.
    """

    def __init__(self, seconds: float):
        super().__init__(f"gave up after {seconds:g} s")
        self.seconds = seconds


def time_limit(seconds: float | None) -> AbstractContextManager[None]:
    """Raise :class:`TimeLimitExceeded` if the block runs longer than ``seconds``.

    The limit uses SIGALRM, so it applies only in the main thread on POSIX systems
    and only while no other interval timer is armed (an outer limit, or a test
    runner's timeout, is left alone); elsewhere, and for ``seconds`` None or <= 0,
    the block runs without a limit. Code inside a C function is interrupted when it
    returns to Python. Once the time is up the alarm repeats every
    :data:`RETRY_SECONDS` until the block ends, since Python drops an exception
    raised where it cannot propagate (a gc callback, ``__del__``). The exception
    may also surface just after the block ends, so catch it around the ``with``
    statement, not inside it.
    """
    if (seconds is None or seconds <= 0 or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()
            or signal.getitimer(signal.ITIMER_REAL)[0] > 0):
        return contextlib.nullcontext()
    return _Alarm(seconds)


class _Alarm:
    """The armed limit of :func:`time_limit`: a repeating real-time interval timer."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.active = False
        self.previous_handler = None

    def __enter__(self) -> None:
        self.previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
        self.active = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds, RETRY_SECONDS)

    def __exit__(self, *exc_info) -> bool:
        self.active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        previous = self.previous_handler
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        return False

    def _on_alarm(self, signum, frame) -> None:
        # Raising in __enter__ or __exit__ would skip __exit__ and leave the timer
        # repeating; an alarm there is dropped, and the next one lands in the block.
        if self.active and (frame is None or frame.f_code not in _QUIET_CODE):
            raise TimeLimitExceeded(self.seconds)


_QUIET_CODE = (_Alarm.__enter__.__code__, _Alarm.__exit__.__code__)
