"""Fixed-length melody spans for sequence VAEs, cut at bar lines from ``melody`` tokens.

A VAE reads and writes a span of ``bars`` model bars of ``bar_steps`` grid steps
each (``T = bars * bar_steps``; at 4 steps per beat a model bar is 4 beats). Each
step holds one *step class*:

- ``0`` (:data:`HOLD`): nothing changes (the note, or the silence, goes on);
- ``1`` (:data:`REST`): silence begins;
- ``2 + k`` (:data:`NOTE_BASE` ``+ k``): the pitch ``min_pitch + k`` starts.

These are the melody tokenizer's step tokens without its header and bar tokens,
so every class sequence decodes to a valid melody. A span starts on a bar line of
a piece whose meter divides evenly into model bars (4/4, 2/2, 2/4, 4/2, ... when
``bar_steps`` is 16); other meters (3/4, 6/8) do not line up and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

HOLD, REST, NOTE_BASE = 0, 1, 2


@dataclass
class MelodySteps:
    """One melody as step classes plus what is needed to write it back.

    Attributes:
        steps: step classes, shape ``(n,)`` uint8.
        bar_starts: step index of each bar line, shape ``(n_bars,)``.
        bar_steps: steps per bar of the piece's (first) meter.
        meter: ``(numerator, denominator)`` of that meter.
    """

    steps: np.ndarray
    bar_starts: np.ndarray
    bar_steps: int
    meter: tuple[int, int]


def melody_steps(tokens: np.ndarray, tokenizer) -> list[MelodySteps]:
    """Split a ``melody`` token sequence into constant-meter segments of step classes.

    A hold at the start of a segment continues a note begun earlier; it becomes
    that note's onset again (or a rest in silence) so the segment stands alone.
    Triplet beats (a layout-3 tokenizer) are read on the 4-step grid
    (:meth:`~seqart.tokenizers.melody.MelodyTokenizer.on_grid`).

    Args:
        tokens: one piece's token ids, shape ``(n,)``.
        tokenizer: the :class:`seqart.tokenizers.melody.MelodyTokenizer` that made them.

    Returns:
        one :class:`MelodySteps` per run of bars in one meter.
    """
    from seqart.tokenizers.melody import BAR, HOLD as T_HOLD, REST as T_REST

    spb = tokenizer.config.steps_per_beat
    note_base, n_pitches = tokenizer.note_base, tokenizer.num_pitches
    segments: list[MelodySteps] = []
    meter = (4, 4)
    steps: list[int] = []
    bars: list[int] = []
    sounding = None  # class of the note sounding, or None in silence

    def close():
        if steps and bars:
            bar_len = _bar_length(meter, spb)
            segments.append(MelodySteps(np.asarray(steps, np.uint8), np.asarray(bars, np.int64), bar_len, meter))

    on_grid = getattr(tokenizer, "on_grid", None)
    for t in (on_grid(tokens) if on_grid is not None else np.asarray(tokens)).tolist():
        m = tokenizer.meter_of(t)
        if m is not None:
            if m != meter and steps:
                at_bar = bool(bars) and bars[-1] == len(steps)
                if at_bar:
                    bars.pop()
                close()
                steps, bars = [], ([0] if at_bar else [])
            meter = m
            continue
        if t == BAR:
            bars.append(len(steps))
            continue
        k = t - note_base
        if 0 <= k < n_pitches:
            sounding = NOTE_BASE + k
            steps.append(sounding)
        elif t == T_REST:
            sounding = None
            steps.append(REST)
        elif t == T_HOLD:
            if not steps:  # a segment never begins with a hold
                steps.append(REST if sounding is None else sounding)
            else:
                steps.append(HOLD)
    close()
    return segments


def _bar_length(meter: tuple[int, int], steps_per_beat: int) -> int:
    """Grid steps in one bar of ``meter`` (a beat is a quarter note)."""
    n, d = meter
    return max(1, round(n * 4 * steps_per_beat / d))


def span_starts(segment: MelodySteps, bar_steps: int, span: int) -> list[int]:
    """Step indices where a span of ``span`` steps may start in ``segment``: bar lines
    that fall on a model-bar boundary, with the whole span inside the segment.
    Empty when the piece's bars do not divide into (or evenly into) model bars."""
    L = segment.bar_steps
    if not (L % bar_steps == 0 or bar_steps % L == 0):
        return []
    unit = min(L, bar_steps)
    n = len(segment.steps)
    origin = int(segment.bar_starts[0]) if len(segment.bar_starts) else 0
    return [p for p in range(origin, n - span + 1, unit) if (p - origin) % unit == 0]


def canonical(span: np.ndarray, previous: int | None = None) -> np.ndarray:
    """The span with a leading hold made an onset (``previous``: the class sounding
    before it; REST when None or a rest)."""
    out = np.array(span, dtype=np.uint8, copy=True)
    if len(out) and out[0] == HOLD:
        out[0] = REST if previous is None or previous == REST else previous
    return out


def extract_spans(sequences: Sequence[np.ndarray], tokenizer, bars: int, bar_steps: int,
                  min_notes: int | None = None, unique: bool = True) -> np.ndarray:
    """Every bar-aligned span of ``bars`` model bars in ``sequences``.

    Args:
        sequences: ``melody`` token arrays (one per piece).
        tokenizer: their melody tokenizer.
        bars: model bars per span.
        bar_steps: grid steps per model bar.
        min_notes: spans with fewer note onsets are dropped (default: one per bar).
        unique: drop repeated spans (folk tunes repeat their sections).

    Returns:
        step classes, shape ``(N, bars * bar_steps)`` uint8.
    """
    T = bars * bar_steps
    min_notes = bars if min_notes is None else min_notes
    found: list[np.ndarray] = []
    for tokens in sequences:
        for seg in melody_steps(tokens, tokenizer):
            starts = span_starts(seg, bar_steps, T)
            if not starts:
                continue
            steps = seg.steps
            last_onset = _last_onsets(steps)
            for p in starts:
                span = canonical(steps[p: p + T], int(last_onset[p - 1]) if p > 0 else None)
                if int((span >= NOTE_BASE).sum()) >= min_notes:
                    found.append(span)
    if not found:
        return np.zeros((0, T), np.uint8)
    spans = np.stack(found)
    if unique:
        spans = np.unique(spans, axis=0)
    return spans


def _last_onsets(steps: np.ndarray) -> np.ndarray:
    """For each step, the class sounding there: the last onset or REST class at or before it."""
    events = np.where(steps != HOLD, steps, 0).astype(np.int64)
    idx = np.where(steps != HOLD, np.arange(len(steps)), 0)
    np.maximum.accumulate(idx, out=idx)
    return events[idx] if len(steps) else events


def transpose_spans(spans: np.ndarray, shifts: np.ndarray, n_pitches: int) -> np.ndarray:
    """Move the notes of each span by its shift (semitones); a span whose notes would
    leave the range keeps shift 0.

    Args:
        spans: step classes, shape ``(B, T)``.
        shifts: semitones per span, shape ``(B,)``.
        n_pitches: number of pitch classes in the vocabulary.
    """
    out = spans.astype(np.int64)
    notes = out >= NOTE_BASE
    lo = np.where(notes, out, 10 ** 6).min(axis=1) - NOTE_BASE
    hi = np.where(notes, out, -1).max(axis=1) - NOTE_BASE
    ok = (lo + shifts >= 0) & (hi + shifts < n_pitches)
    shifts = np.where(ok, shifts, 0)
    out = np.where(notes, out + shifts[:, None], out)
    return out


class BarSpans:
    """Training batches and evaluation batches of melody spans.

    Args:
        spans: step classes, shape ``(N, T)`` (from :func:`extract_spans`).
        batch_size: spans per batch (B).
        n_pitches: pitches in the vocabulary (for transposition).
        seed: ``batch(i)`` depends only on ``(seed, i)``.
        max_transpose: random transposition by up to this many semitones (0 = off).
    """

    def __init__(self, spans: np.ndarray, batch_size: int, n_pitches: int, seed: int = 0, max_transpose: int = 0):
        if len(spans) == 0:
            from seqart.errors import CorpusError

            raise CorpusError("the split holds no span the model can read: it needs melodies in a duple "
                              "meter (4/4, 2/4, 2/2, ...) at least as long as the span")
        self.spans = spans
        self.batch_size = batch_size
        self.n_pitches = n_pitches
        self.seed = seed
        self.max_transpose = max_transpose

    def __len__(self) -> int:
        return len(self.spans)

    def batch(self, index: int):
        """Batch number ``index``: LongTensor ``(B, T)``."""
        import torch

        rng = np.random.default_rng([self.seed, index])
        picks = rng.integers(0, len(self.spans), size=self.batch_size)
        rows = self.spans[picks]
        if self.max_transpose:
            shifts = rng.integers(-self.max_transpose, self.max_transpose + 1, size=len(rows))
            rows = transpose_spans(rows, shifts, self.n_pitches)
        return torch.from_numpy(np.ascontiguousarray(rows, dtype=np.int64))

    def eval_batches(self, max_batches: int | None = None) -> Iterator:
        """The spans in order, in batches (each span exactly once)."""
        import torch

        for n, i in enumerate(range(0, len(self.spans), self.batch_size)):
            if max_batches is not None and n >= max_batches:
                return
            yield torch.from_numpy(self.spans[i: i + self.batch_size].astype(np.int64))
