"""Read an uploaded score or recording in a child process, under a time limit.

The readers are the CLI's (:func:`seqart.audio.read_score_or_audio`: MIDI, MusicXML,
ABC, and recordings transcribed), but not in the server's own process:

- their time limit (:data:`seqart.score.READ_TIME_LIMIT`) is an alarm signal, which
  works only in a process's main thread; the server reads in a worker thread. The
  child reads in its main thread, so the limit holds there, and the server also
  stops a child that runs past :data:`READ_SECONDS` (a transcription has no limit
  of its own);
- a hostile file that crashes a parser, or makes it eat memory, takes the child
  down, not the studio.

The child is a fresh interpreter (``python -m seqart.studio.reading FILE``: forking a
process that runs a server's threads is unsafe, and multiprocessing's ``spawn``
would import the parent's main script again). It writes the score, pickled, to its
standard output; its errors come back as one line naming the file as the user
called it.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

from seqart.errors import ScoreReadError, SeqartError, one_line
from seqart.score import READ_TIME_LIMIT, Score

#: seconds a child may take to start, read and answer before it is stopped
READ_SECONDS = READ_TIME_LIMIT + 30.0
#: the folder that holds the seqart package (the child imports it from there)
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def read_in_child(path: str | Path, shown: str, seconds: float = READ_SECONDS) -> Score:
    """Read (or transcribe) ``path`` in a child process.

    Args:
        path: the stored file (its extension decides score or recording).
        shown: the file's name as the user knows it: messages and ``score.source`` use it.
        seconds: wall-clock seconds the child may take in all; then it is stopped.

    Returns:
        the score (times in beats), its ``source`` set to ``shown``.

    Raises:
        ScoreReadError: one line naming ``shown``: an unreadable file, no notes, too
            slow to read, or a reader that crashed.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run([sys.executable, "-m", "seqart.studio.reading", str(path)], env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=seconds)
    except subprocess.TimeoutExpired:  # run() has killed the child
        raise ScoreReadError(shown, f"gave up after {seconds:g} s reading it (the time limit per upload)") from None
    try:
        kind, payload = pickle.loads(done.stdout)
    except Exception:  # no answer: the child crashed, or was killed for memory
        raise ScoreReadError(shown, f"the reader stopped on it (exit code {done.returncode})") from None
    if kind == "error":
        raise ScoreReadError(shown, payload.replace(str(path), shown))
    payload.source = shown
    return payload


def _answer(path: str) -> tuple[str, object]:
    """The child's answer: ``("score", Score)`` or ``("error", reason)``."""
    from seqart.audio import read_score_or_audio

    try:
        return "score", read_score_or_audio(path)
    except ScoreReadError as exc:
        return "error", exc.reason
    except SeqartError as exc:
        return "error", one_line(exc, 300)
    except Exception as exc:  # a reader's own failure on a hostile file: unreadable, one line
        return "error", f"cannot read it ({one_line(exc, 200)})"


def _main() -> None:
    """Answer on standard output; whatever a reader prints goes to standard error instead."""
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    with os.fdopen(answer_fd, "wb") as out:
        out.write(pickle.dumps(_answer(sys.argv[1])))


if __name__ == "__main__":
    _main()
