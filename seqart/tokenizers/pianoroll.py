"""Piano-roll frames: one row of 0/1 key states per grid step.

``score_to_frames`` and ``frames_to_score`` do the work; :class:`PianoRollTokenizer`
wraps them behind the :class:`~seqart.tokenizers.base.Tokenizer` interface
(``kind == "frames"``). Row ``t`` covers beats ``[t / steps_per_beat,
(t + 1) / steps_per_beat)``; column ``k`` is MIDI pitch ``low + k``.

>>> frames = score_to_frames(score, steps_per_beat=4)   # uint8, shape (T, 88)
>>> frames_to_score(frames, steps_per_beat=4).write("roll.mid")
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from seqart.errors import TokenizerError
from seqart.score import Note, Score, Track
from seqart.tokenizers.base import Tokenizer
from seqart.tokenizers.events import to_steps

__all__ = ["DEFAULT_VELOCITY", "PianoRollConfig", "PianoRollTokenizer", "frames_to_score", "score_to_frames"]

#: Velocity of every note a piano roll decodes to (frames hold no dynamics).
DEFAULT_VELOCITY = 80


def _check_grid(steps_per_beat: int, low: int, high: int) -> None:
    if isinstance(steps_per_beat, bool) or not isinstance(steps_per_beat, (int, np.integer)) or steps_per_beat < 1:
        raise TokenizerError(f"steps_per_beat must be a whole number >= 1, got {steps_per_beat!r}")
    if not (isinstance(low, (int, np.integer)) and isinstance(high, (int, np.integer)) and 0 <= low <= high <= 127):
        raise TokenizerError(f"pitch range must satisfy 0 <= low <= high <= 127, got low={low!r} high={high!r}")


def score_to_frames(score: Score, steps_per_beat: int, low: int = 21, high: int = 108) -> np.ndarray:
    """Render the pitched notes of every track as a binary piano roll.

    Onsets and offsets are snapped to the nearest step (halves round up); a note
    shorter than a step holds one step. Drum tracks and notes outside ``[low, high]`` are left out.

    Args:
        score: the score; times in beats.
        steps_per_beat: grid resolution, steps (rows) per beat.
        low: MIDI pitch of column 0.
        high: MIDI pitch of the last column.

    Returns:
        ``uint8`` array of shape ``(T, high - low + 1)``, 1 where a key sounds.
        ``T = ceil(score.end * steps_per_beat)`` (all tracks, drums included),
        or more if snapping pushes a note's end further.

    Raises:
        TokenizerError: for an invalid grid or range, or a note starting before beat 0.
    """
    _check_grid(steps_per_beat, low, high)
    width = high - low + 1
    notes = [n for t in score.tracks if not t.is_drum for n in t.notes]
    count = len(notes)
    pitch = np.fromiter((n.pitch for n in notes), dtype=np.int64, count=count)
    start = np.fromiter((n.start for n in notes), dtype=np.float64, count=count)
    dur = np.fromiter((n.duration for n in notes), dtype=np.float64, count=count)
    onset = to_steps(start, steps_per_beat)  # (N,)
    offset = np.maximum(to_steps(start + dur, steps_per_beat), onset + 1)
    if count and onset.min() < 0:
        raise TokenizerError(f"a note starts at a negative time ({start.min():g} beats)")
    inside = (pitch >= low) & (pitch <= high)
    onset, offset, column = onset[inside], offset[inside], pitch[inside] - low

    n_steps = max(math.ceil(score.end * steps_per_beat - 1e-9), 0)
    if len(offset):
        n_steps = max(n_steps, int(offset.max()))
    # +1 at each onset, -1 at each offset; the running sum counts the notes holding a key
    change = np.zeros((n_steps + 1, width), dtype=np.int32)
    np.add.at(change, (onset, column), 1)
    np.add.at(change, (offset, column), -1)
    return (np.cumsum(change[:-1], axis=0) > 0).astype(np.uint8)


def frames_to_score(
    frames: np.ndarray,
    steps_per_beat: int,
    low: int = 21,
    velocity: int = DEFAULT_VELOCITY,
    program: int = 0,
) -> Score:
    """Turn a piano roll back into notes: each run of active rows in a column is one note.

    Args:
        frames: array of shape ``(T, n_keys)``; any non-zero value means "key down".
        steps_per_beat: grid resolution, rows per beat.
        low: MIDI pitch of column 0 (``low + n_keys - 1`` must be <= 127).
        velocity: velocity given to every note, 1-127.
        program: General MIDI program of the one output track.

    Returns:
        A score with one non-drum track whose notes are sorted by ``(start,
        pitch)``; starts and durations in beats (multiples of ``1 / steps_per_beat``).
        No tempo or time signature is stored (120 bpm, 4/4).

    Raises:
        TokenizerError: if ``frames`` is not 2-D or its columns exceed pitch 127.
    """
    frames = np.asarray(frames)
    if frames.ndim != 2:
        raise TokenizerError(f"piano-roll frames must be a 2-D array (steps, keys), got shape {frames.shape}")
    _check_grid(steps_per_beat, low, low + max(frames.shape[1] - 1, 0))
    if not 1 <= int(velocity) <= 127:
        raise TokenizerError(f"velocity must be 1-127, got {velocity}")
    active = np.zeros((frames.shape[0] + 2, frames.shape[1]), dtype=np.int8)
    active[1:-1] = frames != 0
    edges = np.diff(active, axis=0)  # (T + 1, n_keys): +1 at a run's first row, -1 after its last
    # transposed so both lists come out column by column, runs in time order: they pair up
    on_col, on_step = np.nonzero(edges.T == 1)
    _, off_step = np.nonzero(edges.T == -1)
    order = np.lexsort((on_col, on_step))
    pitches = (on_col[order] + low).tolist()
    starts = (on_step[order] / steps_per_beat).tolist()
    durations = ((off_step - on_step)[order] / steps_per_beat).tolist()
    vel = int(velocity)
    notes = [Note(p, s, d, vel) for p, s, d in zip(pitches, starts, durations)]
    return Score(tracks=[Track(notes=notes, program=int(program))])


@dataclass(frozen=True)
class PianoRollConfig:
    """Configuration of :class:`PianoRollTokenizer`.

    Attributes:
        steps_per_beat: grid resolution, frames per beat (quarter note).
        low: MIDI pitch of the first column (21 = A0, the lowest piano key).
        high: MIDI pitch of the last column (108 = C8, the highest piano key).
    """

    steps_per_beat: int = 4
    low: int = 21
    high: int = 108


class PianoRollTokenizer(Tokenizer):
    """Binary piano-roll frames (``kind == "frames"``), ``n_features = high - low + 1``.

    ``encode`` gives a ``uint8`` array of shape ``(T, n_features)``, one row per
    step; ``decode`` turns each run of consecutive active rows of one pitch into
    a note. ``decode(encode(score))`` equals ``score`` for a single pitched
    track with program 0, velocity 80, notes on the grid, inside ``[low, high]``,
    where notes of one pitch neither overlap nor touch, and no tempo or time
    signature. Everything else is lost as follows:

    - Onsets and offsets off the grid are snapped to the nearest step; a note
      shorter than a step lasts one step.
    - Notes of one pitch that overlap or touch (repeated notes with no gap)
      merge into one long note.
    - Drum tracks and notes outside ``[low, high]`` are dropped.
    - Velocities (decoded as 80), programs (decoded as 0), track boundaries
      (decoded as one track) and track names are dropped.
    - Tempos, time signatures, key signatures, the title and the style are
      dropped: the decoded score stores none, so it plays at 120 bpm in 4/4.
    - Trailing silence after the last note is dropped.
    """

    name = "pianoroll"
    version = 1
    kind = "frames"
    config_class = PianoRollConfig

    def _validate(self) -> None:
        cfg = self.config
        _check_grid(cfg.steps_per_beat, cfg.low, cfg.high)

    @property
    def n_features(self) -> int:
        """Width of a frame: the number of keys, ``high - low + 1``."""
        return self.config.high - self.config.low + 1

    def encode(self, score: Score) -> np.ndarray:
        """Score -> ``uint8`` frames of shape ``(T, n_features)`` (see :func:`score_to_frames`)."""
        cfg = self.config
        return score_to_frames(score, cfg.steps_per_beat, cfg.low, cfg.high)

    def decode(self, data: np.ndarray) -> Score:
        """Frames of shape ``(T, n_features)`` -> Score (see :func:`frames_to_score`).

        Raises:
            TokenizerError: if ``data`` is not 2-D with ``n_features`` columns.
        """
        frames = np.asarray(data)
        if frames.ndim != 2 or frames.shape[1] != self.n_features:
            raise TokenizerError(
                f"piano-roll frames must have shape (T, {self.n_features}), got {frames.shape}"
            )
        return frames_to_score(frames, self.config.steps_per_beat, self.config.low)
