"""Background jobs of a studio session: work in a child process that reports its progress.

A job (tuning a model on its ratings, :mod:`.tuning`) runs in a child process rather
than a thread of the server:

- training holds the interpreter for much of each step and starts torch's own
  threads; in a child it competes with the page's sampling for CPU only (and at a
  lower priority, ``nice``), never for the server's interpreter lock;
- cancelling is a signal: SIGTERM lets the trainer finish its step and the tune
  remove its half-written folder; a thread cannot be stopped from outside;
- a crash or a kill for memory in training takes down the child, not the studio.

The child is a fresh interpreter (``python -m MODULE``, as :mod:`.reading` runs one:
forking a process that runs a server's threads is unsafe). It reads its spec, one
JSON object, on standard input and answers JSON lines on standard output:
``{"event": "progress", "step": ..., "loss": ...}`` any number of times, then one of
``done`` (its result), ``error`` (one line) or ``cancelled``. Its standard error goes
to a log file. A thread of the server reads the lines into the job's events, which
``GET /api/jobs/{id}/events`` streams as Server-Sent Events (:func:`event_stream`).
If the server goes away, the child's next line finds no reader and it stops.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from seqart.errors import SeqartError, one_line
from seqart.studio.ids import lookup, new_id

#: seconds a cancelled child has to finish its step and clean up before it is killed
CANCEL_GRACE = 20.0
#: seconds a stopping studio waits for its running jobs to clean up before it kills them
STOP_GRACE = 5.0
#: seconds between two looks at a job's events while a stream waits
POLL = 0.1
#: seconds of silence after which a stream sends a comment (keeps proxies and the browser patient)
KEEPALIVE = 15.0
#: the folder that holds the seqart package (the child imports it from there)
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class UnknownJobError(SeqartError):
    """No job of that id in this session (or an id that cannot be one)."""


class JobBusyError(SeqartError):
    """A job is running already; the studio runs one at a time (each takes the CPU it can get)."""


@dataclass
class Job:
    """One background job and what it has reported.

    Attributes:
        id: its opaque id (16 hex digits).
        kind: what it does (``"tune"``).
        title: what the page shows (``"tune folk"``).
        model: the id of the model it works on.
        total: steps it will run.
        state: ``"running"``, ``"done"``, ``"failed"`` or ``"cancelled"``.
        phase: what it is doing now, in words.
        step: the last step reported (0: none yet).
        loss: the training loss at that step (nats per token), or None.
        error: one line, for a failed job.
        result: what a done job made (see :mod:`.tuning`).
        events: ``(name, data)`` in order: ``progress`` any number of times, ``end`` last.
    """

    id: str
    kind: str
    title: str
    model: str
    total: int
    state: str = "running"
    phase: str = "starting"
    step: int = 0
    loss: float | None = None
    error: str | None = None
    result: dict | None = None
    events: list[tuple[str, dict]] = field(default_factory=list)
    process: subprocess.Popen | None = field(default=None, repr=False)
    cancel_requested: bool = False

    @property
    def finished(self) -> bool:
        return self.state != "running"

    def to_json(self) -> dict[str, Any]:
        """``GET /api/jobs/{id}``, and the data of the ``end`` event."""
        return {"id": self.id, "kind": self.kind, "title": self.title, "model": self.model, "state": self.state,
                "phase": self.phase, "step": self.step, "total": self.total, "loss": self.loss,
                "error": self.error, "result": self.result}

    def progress(self, step: int, loss: float | None, phase: str) -> None:
        """Record a step reached (an event of the stream)."""
        self.step, self.loss, self.phase = min(max(int(step), 0), self.total), loss, phase
        self.events.append(("progress", {"step": self.step, "total": self.total, "loss": loss, "phase": phase}))

    def finish(self, state: str, phase: str, error: str | None = None, result: dict | None = None) -> None:
        """End the job: its state, then the ``end`` event (the stream's last)."""
        self.error, self.result, self.phase = error, result, phase
        self.state = state
        self.events.append(("end", self.to_json()))

    def cancel(self) -> None:
        """Ask the child to stop (SIGTERM; killed after :data:`CANCEL_GRACE` seconds); a
        finished job is left as it is."""
        if self.finished or self.process is None or self.cancel_requested:
            return
        self.cancel_requested = True
        self.phase = "cancelling"
        self.process.terminate()
        timer = threading.Timer(CANCEL_GRACE, _kill_if_alive, args=(self.process,))
        timer.daemon = True
        timer.start()


class JobRegistry:
    """The jobs of one session, by id; one runs at a time."""

    def __init__(self):
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, title: str, model: str, total: int, module: str, spec: dict, log: Path,
              on_done: Callable[[dict], dict]) -> Job:
        """Start ``python -m module`` with ``spec`` on its standard input.

        Args:
            kind, title, model, total: see :class:`Job`.
            module: the child's module; its ``__main__`` calls :func:`run_child`.
            spec: what the child reads (JSON).
            log: the file the child's standard error goes to.
            on_done: called (in the job's thread) with the child's ``done`` result; returns
                the job's :attr:`Job.result`; a :class:`SeqartError` it raises fails the job.

        Raises:
            JobBusyError: if a job is running.
        """
        with self._lock:
            busy = [j for j in self._jobs.values() if not j.finished]
            if busy:
                raise JobBusyError(f"{busy[0].title} is running; cancel it or wait until it ends "
                                   "(one job at a time: each takes the CPU it can get)")
            job = Job(new_id(), kind, title, model, total)
            log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with open(log, "wb") as err:
                job.process = subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE,
                                               stdout=subprocess.PIPE, stderr=err, env=_child_env())
            self._jobs[job.id] = job
        try:
            job.process.stdin.write(json.dumps(spec).encode("utf-8"))
            job.process.stdin.close()
        except OSError:  # the child died at once; its log and exit code tell why
            pass
        threading.Thread(target=_follow, args=(job, log, on_done), name=f"job-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job:
        """The job of ``job_id``.

        Raises:
            UnknownJobError: for an id that is not 16 hex digits or not of this session.
        """
        return lookup(self._jobs, job_id, UnknownJobError, "no job {key} in this session")

    def all(self) -> list[Job]:
        """Every job of the session, the newest first."""
        with self._lock:
            return list(reversed(self._jobs.values()))

    def stop_all(self) -> None:
        """Cancel every running job and wait (at most :data:`STOP_GRACE` seconds) until each
        child has cleaned up; then kill it (when the studio stops)."""
        running = [job for job in self.all() if not job.finished and job.process is not None]
        for job in running:
            job.cancel()
        for job in running:
            try:
                job.process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                job.process.kill()


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))}


def _kill_if_alive(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()


def _follow(job: Job, log: Path, on_done: Callable[[dict], dict]) -> None:
    """Read the child's lines into ``job`` until it exits, then end the job."""
    outcome: tuple[str, dict] | None = None
    for raw in job.process.stdout:
        try:
            message = json.loads(raw)
            name = message.pop("event")
        except (ValueError, AttributeError, KeyError):
            continue
        if name == "progress":
            job.progress(message.get("step", 0), message.get("loss"), message.get("phase", "training"))
        elif name in ("done", "error", "cancelled"):
            outcome = (name, message)
    code = job.process.wait()
    job.process.stdout.close()
    reason = _last_line(log)
    if not reason:
        log.unlink(missing_ok=True)  # nothing was said: no file to keep
    if outcome is not None and outcome[0] == "done":
        try:
            job.finish("done", "done", result=on_done(outcome[1]))
        except SeqartError as exc:
            job.finish("failed", "failed", error=one_line(exc, 300))
    elif job.cancel_requested or (outcome is not None and outcome[0] == "cancelled"):
        job.finish("cancelled", "cancelled")
    elif outcome is not None:
        job.finish("failed", "failed", error=one_line(outcome[1].get("error", "it failed"), 300))
    else:
        job.finish("failed", "failed", error=f"the job stopped (exit code {code}){reason}")


def _last_line(log: Path) -> str:
    """``": <the log's last line>"``, or nothing."""
    try:
        lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return f": {one_line(lines[-1], 200)}" if lines else ""


def event_stream(job: Job, last_event_id: str | None = None,
                 stopping: Callable[[], bool] | None = None) -> AsyncIterator[str]:
    """The job's events as Server-Sent Events, from after ``last_event_id`` (the header a
    reconnecting ``EventSource`` sends) to the ``end`` event; each event's ``id`` is its
    number from 1, its ``data`` one JSON object. The stream also ends, without an ``end``,
    as soon as ``stopping()`` is true (the server is shutting down: it would otherwise wait
    for the job)."""
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    return _stream(job, min(after, 1 << 30), stopping or (lambda: False))


async def _stream(job: Job, sent: int, stopping: Callable[[], bool]) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    quiet = 0.0
    while not stopping():
        if job.finished and sent >= len(job.events):
            sent = len(job.events) - 1  # a client that already had the end gets it again, and stops
        fresh = job.events[sent:]
        for name, data in fresh:
            sent += 1
            yield f"id: {sent}\nevent: {name}\ndata: {json.dumps(data)}\n\n"
            if name == "end":
                return
        if fresh:
            quiet = 0.0
        elif quiet >= KEEPALIVE:
            yield ": keep-alive\n\n"
            quiet = 0.0
        await asyncio.sleep(POLL)
        quiet += POLL


# ------------------------------------------------------------------ the child
def run_child(work: Callable[[dict, Callable[..., None]], dict]) -> None:
    """The child's main: read the spec from standard input, run ``work(spec, send)``, and
    answer ``done`` with what it returns, ``error`` with one line, or ``cancelled``.

    ``send(event, **data)`` writes one line to the server. SIGTERM (a cancel) raises
    KeyboardInterrupt here; the trainer takes it over while it trains, to end its step first.
    """
    send = _channel()
    signal.signal(signal.SIGTERM, _interrupt)
    if hasattr(os, "nice"):
        os.nice(5)  # behind the studio's own sampling for the CPU
    try:
        result = work(json.load(sys.stdin), send)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # done: a late cancel changes nothing
        send("done", **result)
    except BrokenPipeError:  # the server has gone: nobody to tell
        pass
    except KeyboardInterrupt:
        _quietly(send, "cancelled")
    except SeqartError as exc:
        _quietly(send, "error", error=one_line(exc, 300))
    except Exception as exc:  # a bug or a library's failure: one line, the traceback in the log
        import traceback

        traceback.print_exc()
        _quietly(send, "error", error=f"internal error: {one_line(exc, 200)}")


def _channel() -> Callable[..., None]:
    """A ``send(event, **data)`` that writes JSON lines to the real standard output;
    whatever else prints goes to standard error (the log) instead."""
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(event: str, **data: Any) -> None:
        answer.write(json.dumps({"event": event, **data}) + "\n")
        answer.flush()

    return send


def _quietly(send: Callable[..., None], event: str, **data: Any) -> None:
    try:
        send(event, **data)
    except BrokenPipeError:
        pass


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
