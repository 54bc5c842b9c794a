"""Per-piece objective metrics in the MusPy family, computed on a :class:`seqart.Score` with NumPy.

Every metric takes a Score (or a :class:`Piece`, the same notes as arrays, to
compute many metrics of one score without re-reading its notes) and returns a
float. A metric that is undefined for a piece (an empty score, a single bar for
groove consistency, a single note for the mean interval) returns ``nan``.

Drum tracks are ignored throughout. Times are in beats (quarter notes), pitches
in MIDI numbers, entropies in bits.

>>> from seqart.evaluate import piece_metrics
>>> piece_metrics(score)["pitch_class_entropy"]    # bits
2.807...
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from seqart.score import Score

#: Onset grid of :func:`groove_consistency`, in steps per beat (covers 16ths and 8th/16th triplets).
GROOVE_STEPS_PER_BEAT = 12

_EPS = 1e-6
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)  # natural minor: the diatonic collection of the key signature


def _scale_mask(tonic: int, mode: str) -> np.ndarray:
    """Shape ``(12,)`` bool: which pitch classes belong to ``tonic`` major or (natural) minor."""
    mask = np.zeros(12, dtype=bool)
    mask[[(tonic + step) % 12 for step in (_MINOR if mode == "minor" else _MAJOR)]] = True
    return mask


#: Shape ``(24, 12)`` bool: row ``t`` is ``t`` major, row ``12 + t`` is ``t`` natural minor.
SCALES = np.stack([_scale_mask(t, "major") for t in range(12)] + [_scale_mask(t, "minor") for t in range(12)])


class Piece:
    """The pitched notes of a score as arrays, sorted by ``(start, pitch)``.

    Args:
        score: the score; its drum tracks are left out.

    Attributes:
        score: the score (its key and time signatures are read from here).
        pitch: shape ``(n,)`` int64 MIDI pitches.
        start: shape ``(n,)`` float64 onsets in beats.
        end: shape ``(n,)`` float64 offsets in beats.
    """

    def __init__(self, score: Score):
        self.score = score
        notes = [(n.pitch, n.start, n.end) for t in score.tracks if not t.is_drum for n in t.notes]
        arr = np.array(notes, dtype=np.float64).reshape(-1, 3)
        order = np.lexsort((arr[:, 0], arr[:, 1]))
        arr = arr[order]
        self.pitch = arr[:, 0].astype(np.int64)
        self.start = arr[:, 1]
        self.end = arr[:, 2]

    def __len__(self) -> int:
        return len(self.pitch)

    @classmethod
    def of(cls, score: "Score | Piece") -> "Piece":
        """``score`` itself if it is already a Piece, else a new Piece of it."""
        return score if isinstance(score, Piece) else cls(score)

    def pitch_class_counts(self) -> np.ndarray:
        """Shape ``(12,)`` int64: notes per pitch class (0 = C)."""
        return np.bincount(self.pitch % 12, minlength=12)

    def top_line(self) -> tuple[np.ndarray, np.ndarray]:
        """The highest note at each distinct onset: ``(onsets in beats, pitches)``, each shape ``(m,)``."""
        if not len(self):
            return self.start, self.pitch
        order = np.lexsort((-self.pitch, self.start))
        start, pitch = self.start[order], self.pitch[order]
        first = np.ones(len(start), dtype=bool)
        first[1:] = np.diff(start) > _EPS
        return start[first], pitch[first]


def pitch_range(score: Score | Piece) -> float:
    """Highest minus lowest pitch, in semitones (``nan`` for a score without notes)."""
    p = Piece.of(score)
    return float(p.pitch.max() - p.pitch.min()) if len(p) else math.nan


def n_pitches_used(score: Score | Piece) -> float:
    """Number of distinct MIDI pitches played (0 for an empty score)."""
    return float(len(np.unique(Piece.of(score).pitch)))


def n_pitch_classes_used(score: Score | Piece) -> float:
    """Number of distinct pitch classes played, 0-12."""
    return float(np.count_nonzero(Piece.of(score).pitch_class_counts()))


def pitch_class_entropy(score: Score | Piece) -> float:
    """Shannon entropy of the pitch-class histogram (note counts), in bits, 0-log2(12).

    A piece using the 7 notes of a scale equally often scores ``log2(7)`` = 2.81.
    """
    counts = Piece.of(score).pitch_class_counts()
    if not counts.sum():
        return math.nan
    prob = counts[counts > 0] / counts.sum()
    return float(-(prob * np.log2(prob)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def scale_consistency(score: Score | Piece) -> float:
    """Largest fraction of notes (0-1) lying in one of the 24 major/natural-minor scales."""
    counts = Piece.of(score).pitch_class_counts()
    total = counts.sum()
    return float((SCALES @ counts).max() / total) if total else math.nan


def in_key_rate(score: Score | Piece) -> float:
    """Fraction of notes (0-1) in the key in force at their onset.

    The key is the diatonic collection of the score's key signature (natural minor
    for a minor key, the mode's seven notes for a modal one); notes before the
    first key signature use the first one. A score without key signatures is
    measured against its best-fitting key, which makes this equal to
    :func:`scale_consistency`.
    """
    p = Piece.of(score)
    if not len(p):
        return math.nan
    keys = sorted(p.score.key_signatures, key=lambda k: k.beat)
    if not keys:
        return scale_consistency(p)
    masks = np.zeros((len(keys), 12), dtype=bool)
    for row, k in zip(masks, keys):
        row[list(k.scale)] = True
    which = np.searchsorted([k.beat for k in keys], p.start + _EPS, side="right") - 1
    which = np.clip(which, 0, len(keys) - 1)
    return float(masks[which, p.pitch % 12].mean())


def polyphony(score: Score | Piece) -> float:
    """Mean number of sounding notes over the time when at least one sounds (1.0 for a melody).

    Exact, not sampled on a grid: total note duration divided by the length (in
    beats) of the union of the notes' time spans.
    """
    p = Piece.of(score)
    if not len(p):
        return math.nan
    order = np.argsort(p.start, kind="stable")
    start, end = p.start[order], p.end[order]
    reach = np.maximum.accumulate(end)
    gaps = np.maximum(start[1:] - reach[:-1], 0.0).sum()
    sounding = (reach[-1] - start[0]) - gaps
    return float((end - start).sum() / sounding) if sounding > 0 else math.nan


def _span(p: Piece) -> tuple[float, float]:
    """(first onset, last offset) in beats."""
    return float(p.start.min()), float(p.end.max())


def empty_beat_rate(score: Score | Piece) -> float:
    """Fraction (0-1) of whole beats with no sounding note.

    The beats counted run from the one holding the first onset to the one holding
    the last offset, so silence before the first note (a pickup padded with rests)
    is not counted. A beat ``[b, b + 1)`` is empty when no note overlaps it.
    """
    p = Piece.of(score)
    if not len(p):
        return math.nan
    first, last = _span(p)
    b0 = math.floor(first + _EPS)
    n_beats = max(math.ceil(last - _EPS) - b0, 1)
    lo = np.floor(p.start + _EPS).astype(np.int64) - b0
    hi = np.maximum(np.ceil(p.end - _EPS).astype(np.int64) - b0, lo + 1)  # exclusive
    cover = np.zeros(n_beats + 1, dtype=np.int64)
    np.add.at(cover, lo, 1)
    np.add.at(cover, np.minimum(hi, n_beats), -1)
    return float((np.cumsum(cover)[:n_beats] == 0).mean())


def groove_consistency(score: Score | Piece, steps_per_beat: int = GROOVE_STEPS_PER_BEAT) -> float:
    """MusPy's groove consistency: ``1 - mean Hamming distance of consecutive bars' onset patterns``, 0-1.

    Each bar becomes a 0/1 vector with one entry per grid step (``steps_per_beat``
    per beat; 48 for a 4/4 bar at the default 12), 1 where a note starts. The
    distance between neighbouring bars is the number of differing steps divided by
    the bar length in steps (the longer of the two where the meter changes). Bars
    from the one holding the first onset to the one holding the last onset are
    used; ``nan`` for a piece of fewer than two bars. Identical bars give 1.0.
    """
    p = Piece.of(score)
    if not len(p):
        return math.nan
    onsets = np.unique(np.round(p.start * steps_per_beat) / steps_per_beat)
    # a few bars past the end so the last bar has a known length
    bounds = np.asarray(p.score.bar_starts(until=float(onsets[-1]) + 65.0))
    bar = np.searchsorted(bounds, onsets + _EPS, side="right") - 1
    first_bar, last_bar = int(bar[0]), int(bar[-1])
    if last_bar == first_bar:
        return math.nan
    lengths = np.round(np.diff(bounds) * steps_per_beat).astype(np.int64)
    width = int(lengths[first_bar:last_bar + 1].max())
    patterns = np.zeros((last_bar - first_bar + 1, width), dtype=bool)
    pos = np.round((onsets - bounds[bar]) * steps_per_beat).astype(np.int64)
    patterns[bar - first_bar, np.clip(pos, 0, width - 1)] = True
    diff = (patterns[1:] != patterns[:-1]).sum(axis=1)
    pair_len = np.maximum(lengths[first_bar:last_bar], lengths[first_bar + 1:last_bar + 1])
    return float(1.0 - (diff / pair_len).mean())


def note_density(score: Score | Piece) -> float:
    """Notes per beat between the first onset and the last offset."""
    p = Piece.of(score)
    if not len(p):
        return math.nan
    first, last = _span(p)
    return float(len(p) / (last - first)) if last > first else math.nan


def mean_interval(score: Score | Piece) -> float:
    """Mean absolute interval, in semitones, between consecutive notes of the top line.

    The top line is the highest note at each onset (the melody of a single-line score).
    ``nan`` with fewer than two onsets.
    """
    _, pitch = Piece.of(score).top_line()
    return float(np.abs(np.diff(pitch)).mean()) if len(pitch) > 1 else math.nan


#: Metric name -> function of a Score (or Piece) returning a float; the order is the report order.
METRICS: dict[str, Callable[[Score | Piece], float]] = {
    "pitch_range": pitch_range,
    "n_pitches_used": n_pitches_used,
    "n_pitch_classes_used": n_pitch_classes_used,
    "pitch_class_entropy": pitch_class_entropy,
    "scale_consistency": scale_consistency,
    "in_key_rate": in_key_rate,
    "polyphony": polyphony,
    "empty_beat_rate": empty_beat_rate,
    "groove_consistency": groove_consistency,
    "note_density": note_density,
    "mean_interval": mean_interval,
}

#: Metric name -> unit, for reports.
UNITS: dict[str, str] = {
    "pitch_range": "semitones",
    "n_pitches_used": "pitches",
    "n_pitch_classes_used": "pitch classes",
    "pitch_class_entropy": "bits",
    "scale_consistency": "fraction of notes",
    "in_key_rate": "fraction of notes",
    "polyphony": "notes",
    "empty_beat_rate": "fraction of beats",
    "groove_consistency": "0-1",
    "note_density": "notes/beat",
    "mean_interval": "semitones",
}


def piece_metrics(score: Score) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one score (``nan`` where undefined)."""
    piece = Piece(score)
    return {name: float(fn(piece)) for name, fn in METRICS.items()}
