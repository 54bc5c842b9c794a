"""How well written parts fit a given melody: harmony on strong beats, key, and (for
four-part writing) voice crossing, ranges and parallel fifths and octaves.

Every function takes a :class:`~seqart.score.Score` and track indices; times are in
beats (a beat is a quarter note). The same figures are computed for real
accompaniments and for written ones, so the two can be set side by side
(``bench/bench_accompany.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seqart.score import KeySignature, Score, TimeSignature

#: Strong beats of a bar, in beats from the bar line, by meter (others: the downbeat only).
STRONG_BEATS = {(4, 4): (0.0, 2.0), (2, 2): (0.0, 2.0), (6, 8): (0.0, 1.5), (12, 8): (0.0, 3.0),
                (2, 4): (0.0,), (3, 4): (0.0,), (3, 8): (0.0,), (9, 8): (0.0,)}
#: Voice-leading grid: one slice per eighth note.
SLICE_BEATS = 0.5


def strong_beats(meter: TimeSignature) -> tuple[float, ...]:
    """Offsets (beats from the bar line) of the strong beats of ``meter``."""
    return STRONG_BEATS.get((meter.numerator, meter.denominator), (0.0,))


def sounding_pitches(score: Score, tracks: Sequence[int], beat: float) -> list[int]:
    """Pitches of ``tracks`` sounding at ``beat`` (a note sounds from its start up to,
    not including, its end)."""
    return [n.pitch for i in tracks for n in score.tracks[i].notes if n.start <= beat < n.end]


def strong_beat_coverage(score: Score, melody: int, parts: Sequence[int]) -> tuple[int, int]:
    """How many melody notes on strong beats have their pitch class in the parts sounding
    with them, and how many melody notes fall on strong beats.

    Returns:
        ``(covered, total)``.
    """
    sig = score.time_signature
    offsets = strong_beats(sig)
    bar = sig.bar_beats
    covered = total = 0
    for note in score.tracks[melody].notes:
        into_bar = note.start % bar
        if not any(abs(into_bar - off) < 1e-6 for off in offsets):
            continue
        total += 1
        covered += note.pitch % 12 in {p % 12 for p in sounding_pitches(score, parts, note.start)}
    return covered, total


def key_scale(key: KeySignature) -> set[int]:
    """The pitch classes counted in ``key``: its scale, and for a minor key the raised
    seventh too (the leading tone of its dominant chord)."""
    classes = set(key.scale)
    if key.family == "minor":
        classes.add((key.tonic + 11) % 12)
    return classes


def in_key_share(score: Score, parts: Sequence[int], key: KeySignature) -> tuple[int, int]:
    """How many notes of ``parts`` are in :func:`key_scale` of ``key``, of how many.

    Returns:
        ``(in key, total)``.
    """
    scale = key_scale(key)
    pitches = [n.pitch for i in parts for n in score.tracks[i].notes]
    return sum(p % 12 in scale for p in pitches), len(pitches)


@dataclass
class VoiceLeading:
    """Four-part (or any-part) writing on an eighth-note grid.

    Attributes:
        slices: grid slices where every voice sounds.
        crossings_below_top: slices where a lower voice sounds above the top voice.
        crossings: slices where any voice sounds above the voice listed before it.
        moves: pairs of consecutive full slices (where every voice sounds in both).
        parallels: voice pairs moving in the same direction from a perfect fifth or
            octave (unison) to the same interval class, counted over those moves.
    """

    slices: int = 0
    crossings_below_top: int = 0
    crossings: int = 0
    moves: int = 0
    parallels: int = 0

    def add(self, other: VoiceLeading) -> VoiceLeading:
        return VoiceLeading(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple())))

    def as_tuple(self) -> tuple[int, ...]:
        return (self.slices, self.crossings_below_top, self.crossings, self.moves, self.parallels)


def voice_leading(score: Score, voices: Sequence[int]) -> VoiceLeading:
    """Crossings and parallel fifths/octaves of ``voices`` (track indices, top voice
    first); a voice's pitch at a slice is its highest sounding note."""
    end = max((n.end for i in voices for n in score.tracks[i].notes), default=0.0)
    grid = np.arange(0.0, end, SLICE_BEATS)
    table = np.full((len(grid), len(voices)), -1, dtype=np.int64)  # (slices, voices); -1: silent
    for v, track in enumerate(voices):
        for note in score.tracks[track].notes:
            at = (grid >= note.start - 1e-9) & (grid < note.end - 1e-9)
            table[at, v] = np.maximum(table[at, v], note.pitch)
    full = (table >= 0).all(axis=1)
    rows = table[full]
    out = VoiceLeading(slices=int(full.sum()))
    if len(voices) > 1 and len(rows):
        out.crossings_below_top = int((rows[:, 1:] > rows[:, :1]).any(axis=1).sum())
        out.crossings = int((rows[:, 1:] > rows[:, :-1]).any(axis=1).sum())
    both = full[:-1] & full[1:]  # consecutive slices, both full
    before, after = table[:-1][both], table[1:][both]
    out.moves = int(both.sum())
    for hi in range(len(voices)):
        for lo in range(hi + 1, len(voices)):
            first = (before[:, hi] - before[:, lo]) % 12
            second = (after[:, hi] - after[:, lo]) % 12
            up_hi, up_lo = np.sign(after[:, hi] - before[:, hi]), np.sign(after[:, lo] - before[:, lo])
            moving = (up_hi != 0) & (up_hi == up_lo)
            perfect = np.isin(first, (0, 7)) & (first == second)
            out.parallels += int((moving & perfect).sum())
    return out
