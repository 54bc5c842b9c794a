"""Musical form of a melody, per piece, in NumPy: repetition, phrases, cadences, the ending.

The right notes do not make a tune: folk melodies repeat bars and whole phrases
(AABA, AABB), close their 4- and 8-bar phrases on the tonic, and end on a long
tonic. These metrics measure that on the top line of a score (the highest note
at each onset of its pitched tracks; a melody is its own top line).

Conventions, shared by every metric:

- **Grid.** Onsets and offsets are rounded to :data:`STEPS_PER_BEAT` (12) steps
  per beat (quarter note); each note is cut at the next onset, so the line is
  monophonic.
- **Bars** come from the first time signature (4/4 if none). A first signature
  that only covers a short first bar before the real meter starts (a cut bar,
  ``1/8`` then ``6/8``) is an unpadded anacrusis: bar 1 starts where the real
  meter does.
- **Pickup.** When the first note starts in the second half of its bar (the bar
  holds less than half a bar of music, the rest of it is leading silence), that
  bar is an anacrusis and bar 1 is the next one. Entirely silent leading bars
  are skipped as well.
- **Full bars** are bar 1 and the bars after it up to the last one the music
  reaches at least half-way through (the closing bar of a tune with an
  anacrusis is short by the pickup's length, and trailing rests are not kept by
  every reader); a bar-``k`` metric is ``nan`` with fewer than ``k`` full bars.
- **Tonic**: the first key signature's tonic, else the Krumhansl-Schmuckler
  estimate (major and minor profiles correlated with the duration-weighted
  pitch-class histogram of the line).

Every metric returns a float: a share 0-1, a 1/0 flag, or notes per bar, and
``nan`` where undefined (no notes, too few bars).

>>> from seqart.evaluate import form_metrics, form_summary
>>> form_metrics(score)["repeated_bars"]      # share of bars that repeat an earlier one
>>> form_summary(scores)["cadence_bar8"]      # share of pieces closing bar 8 on the tonic
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Callable, Iterable

import numpy as np

from seqart.evaluate.metrics import Piece
from seqart.key_finding import estimate_key
from seqart.score import Score, TimeSignature

#: Grid of every form metric, in steps per beat (covers 16ths and 8th/16th triplets).
STEPS_PER_BEAT = 12
#: Phrases are this many bars, aligned to bar 1.
PHRASE_BARS = 4
#: :func:`restates_phrase` needs a later phrase at least this similar to an earlier one.
RESTATE_SIMILARITY = 0.6
#: Transpositions tried by :func:`phrase_similarity_transposed`, in semitones either way.
MAX_SHIFT = 12
#: The bars whose close is checked for a tonic cadence.
CADENCE_BARS = (4, 8, 12, 16)

def estimate_tonic(pitch: np.ndarray, weight: np.ndarray) -> int:
    """Krumhansl-Schmuckler key finding (:func:`seqart.key_finding.estimate_key`): the tonic
    pitch class (0-11) of the best of the 24 major/minor keys, or -1 when there is nothing to weigh.

    Args:
        pitch: shape ``(n,)`` MIDI pitches.
        weight: shape ``(n,)`` each note's weight (its duration).
    """
    key = estimate_key(pitch, weight)
    return -1 if key is None else key.tonic


def strong_beat(meter: TimeSignature) -> float:
    """Where a bar's last strong beat falls, in beats (quarter notes) from the bar line.

    Compound meters (6/8, 9/8, 12/8, 6/4: numerator a multiple of 3 above 3) put it
    at the start of the last beat group (a dotted quarter in x/8); duple and
    quadruple simple meters of four or more quarter notes (4/4, 2/2, 4/2) at the
    bar's midpoint; other meters (2/4, 3/4, 3/8, 5/4) at the downbeat.
    """
    unit = 4.0 / meter.denominator
    if meter.numerator % 3 == 0 and meter.numerator > 3:
        return meter.bar_beats - 3 * unit
    if meter.numerator % 2 == 0 and meter.bar_beats >= 4.0 - 1e-9:
        return meter.bar_beats / 2
    return 0.0


class FormPiece:
    """A score's top line on the grid, with its bars, tonic and phrases (built once, for every metric).

    Args:
        score: a Score, or a :class:`seqart.evaluate.metrics.Piece` of one.

    Attributes:
        on, off: shape ``(n,)`` int64 onset and offset of each note of the line, in
            grid steps (:data:`STEPS_PER_BEAT` per beat); ``off`` is cut at the next onset.
        pitch: shape ``(n,)`` int64 MIDI pitches.
        meter: the time signature bars are counted in.
        bar_steps: steps per bar.
        bar1: step where bar 1 (the first full bar) starts.
        n_full: number of full bars from bar 1 on.
        pickup, padded_pickup: the piece opens with an anacrusis; one padded with leading silence.
        tonic: tonic pitch class 0-11 (-1 without notes).
    """

    def __init__(self, score: "Score | Piece"):
        piece = Piece.of(score)
        q = STEPS_PER_BEAT
        order = np.lexsort((-piece.pitch, piece.start))
        on = np.rint(piece.start[order] * q).astype(np.int64)
        off = np.rint(piece.end[order] * q).astype(np.int64)
        pitch = piece.pitch[order]
        first = np.ones(len(on), dtype=bool)
        first[1:] = on[1:] != on[:-1]  # the highest note at each onset
        on, off, pitch = on[first], off[first], pitch[first]
        if len(on):
            off[:-1] = np.minimum(off[:-1], on[1:])
            off = np.maximum(off, on + 1)
        self.on, self.off, self.pitch = on, off, pitch

        sigs = sorted(piece.score.time_signatures, key=lambda s: s.beat) or [TimeSignature(0.0, 4, 4)]
        meter, cut = sigs[0], 0
        if len(sigs) > 1 and 1e-9 < sigs[1].beat < sigs[1].bar_beats - 1e-9 \
                and sigs[1].beat <= sigs[0].bar_beats + 1e-9:
            meter, cut = sigs[1], int(round(sigs[1].beat * q))  # a cut first bar: an unpadded anacrusis
        self.meter = meter
        self.bar_steps = bar = max(int(round(meter.bar_beats * q)), 1)
        self.pickup = self.padded_pickup = math.nan
        self.bar1, self.n_full = 0, 0
        if not len(on):
            self.tonic = -1
            return
        if cut:
            self.pickup, self.padded_pickup, self.bar1 = 1.0, 0.0, cut
        else:
            held = int(on[0]) // bar  # leading silent bars are skipped
            into = int(on[0]) - held * bar
            anacrusis = 2 * into > bar
            self.pickup = self.padded_pickup = float(anacrusis)
            self.bar1 = (held + anacrusis) * bar
        reach = int(off[-1]) - self.bar1
        self.n_full = max(0, (2 * reach + bar) // (2 * bar))
        keys = sorted(piece.score.key_signatures, key=lambda k: k.beat)
        self.tonic = int(keys[0].tonic) % 12 if keys else estimate_tonic(pitch, off - on)

    @classmethod
    def of(cls, score: "Score | Piece | FormPiece") -> "FormPiece":
        """``score`` itself if it is already a FormPiece, else a new one of it."""
        return score if isinstance(score, FormPiece) else cls(score)

    def __len__(self) -> int:
        return len(self.on)

    def bar_start(self, k: int) -> int:
        """Grid step of the bar line of full bar ``k`` (1-based)."""
        return self.bar1 + (k - 1) * self.bar_steps

    # --------------------------------------------------------------- bars
    @cached_property
    def bar_keys(self) -> list[tuple[bytes, bytes]]:
        """For each full bar holding an onset, in order: (exact content, content relative to its first pitch).

        A bar's content is its notes' ``(onset in the bar, duration cut at the bar
        line, pitch)`` on the grid; the relative one subtracts the bar's first
        pitch, so two bars with the same rhythm and intervals share it.
        """
        bar = self.bar_steps
        lo = self.bar1
        hi = self.bar1 + self.n_full * bar
        a, b = np.searchsorted(self.on, [lo, hi])
        on, off, pitch = self.on[a:b], self.off[a:b], self.pitch[a:b]
        which = (on - lo) // bar
        rel = on - lo - which * bar
        dur = np.minimum(off, lo + (which + 1) * bar) - on
        rhythm = (rel << 24) | (dur << 8)  # rel, dur < 2**16 steps; pitch < 256
        bounds = np.flatnonzero(np.diff(which)) + 1
        keys = []
        for seg in np.split(np.arange(len(on)), bounds) if len(on) else []:
            p = pitch[seg]
            keys.append(((rhythm[seg] | p).tobytes(), (rhythm[seg] | (p - p[0] + 128)).tobytes()))
        return keys

    def repeated_share(self, transposed: bool) -> float:
        """Share of the bars holding onsets, after the first, whose content repeats an earlier one."""
        keys = self.bar_keys
        if len(keys) < 2:
            return math.nan
        seen, hits = set(), 0
        for i, pair in enumerate(keys):
            key = pair[1] if transposed else pair[0]
            hits += i > 0 and key in seen
            seen.add(key)
        return hits / (len(keys) - 1)

    # ------------------------------------------------------------ phrases
    @cached_property
    def phrase_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """Similarity of every pair of 4-bar phrases, shape ``(m, m)`` each: exact and best over transpositions.

        Entry ``[i, j]`` (``i < j``; the rest is 0) is the share of grid steps, among
        those where either phrase sounds, where both sound the same pitch (in the
        transposed one, the second shifted by the best constant in ``-12..12`` semitones).
        """
        m = self.n_full // PHRASE_BARS
        if m < 1:
            return np.zeros((0, 0)), np.zeros((0, 0))
        length = PHRASE_BARS * self.bar_steps
        t = self.bar1 + np.arange(m * length)
        idx = np.searchsorted(self.on, t, side="right") - 1
        sounding = (idx >= 0) & (t < self.off[np.maximum(idx, 0)])
        x = np.where(sounding, self.pitch[np.maximum(idx, 0)], -1).reshape(m, length)
        s = x >= 0
        width = 2 * MAX_SHIFT + 1
        exact, best = np.zeros((m, m)), np.zeros((m, m))
        for j in range(1, m):  # phrase j against every earlier one: memory O(j * length), not O(m^2 * length)
            both = s[:j] & s[j]
            union = (s[:j] | s[j]).sum(axis=1)
            diff = x[j] - x[:j]
            ok = both & (np.abs(diff) <= MAX_SHIFT)
            rows = np.broadcast_to(np.arange(j)[:, None], diff.shape)
            counts = np.bincount((rows * width + diff + MAX_SHIFT)[ok], minlength=j * width).reshape(j, width)
            safe = np.maximum(union, 1)
            exact[:j, j] = np.where(union > 0, counts[:, MAX_SHIFT] / safe, 0.0)
            best[:j, j] = np.where(union > 0, counts.max(axis=1) / safe, 0.0)
        return exact, best

    def phrase_score(self, transposed: bool) -> float:
        """Mean over phrases after the first of the best similarity to an earlier phrase."""
        sim = self.phrase_matrix[1 if transposed else 0]
        if len(sim) < 2:
            return math.nan
        return float(np.mean([sim[:j, j].max() for j in range(1, len(sim))]))

    # ----------------------------------------------------------- cadences
    def cadence(self, k: int) -> float:
        """1.0 if full bar ``k`` closes on the tonic (see :func:`cadence_bar8`), ``nan`` past the full bars."""
        if k > self.n_full or self.tonic < 0:
            return math.nan
        start = self.bar_start(k)
        end = start + self.bar_steps
        strong = start + int(round(strong_beat(self.meter) * STEPS_PER_BEAT))
        on, off, pitch = self.on, self.off, self.pitch
        i = int(np.searchsorted(on, strong, side="right")) - 1
        if i >= 0 and strong < off[i] and pitch[i] % 12 == self.tonic:
            return 1.0
        j = int(np.searchsorted(on, end, side="left")) - 1  # the bar's last note
        if j >= 0 and on[j] > strong and (off[j] >= end or j == len(on) - 1) and pitch[j] % 12 == self.tonic:
            return 1.0
        return 0.0


# ---------------------------------------------------------------- metrics
def repeated_bars(score: "Score | Piece | FormPiece") -> float:
    """Share (0-1) of full bars, after the first, that repeat an earlier full bar exactly.

    Only bars holding at least one onset count, in the numerator and the denominator.
    A bar's content is its notes' (onset in the bar, duration cut at the bar line,
    pitch) on the 12-per-beat grid. ``nan`` with fewer than two such bars.
    """
    return FormPiece.of(score).repeated_share(False)


def repeated_bars_transposed(score: "Score | Piece | FormPiece") -> float:
    """As :func:`repeated_bars`, also counting transposed repeats (same rhythm and intervals), 0-1."""
    return FormPiece.of(score).repeated_share(True)


def phrase_similarity(score: "Score | Piece | FormPiece") -> float:
    """How much each 4-bar phrase restates an earlier one, 0-1.

    Phrases are full bars 1-4, 5-8, ...; the similarity of two phrases is the share
    of grid steps, among those where either sounds, where both sound the same
    pitch. The metric is the mean, over phrases after the first, of the best
    similarity to an earlier phrase; ``nan`` with fewer than 8 full bars.
    """
    return FormPiece.of(score).phrase_score(False)


def phrase_similarity_transposed(score: "Score | Piece | FormPiece") -> float:
    """As :func:`phrase_similarity`, each pair compared at its best transposition in -12..12 semitones, 0-1."""
    return FormPiece.of(score).phrase_score(True)


def restates_phrase(score: "Score | Piece | FormPiece") -> float:
    """1.0 if some later 4-bar phrase is at least 0.6 similar to an earlier one (untransposed), else 0.0.

    ``nan`` with fewer than 8 full bars.
    """
    sim = FormPiece.of(score).phrase_matrix[0]
    if len(sim) < 2:
        return math.nan
    return float(np.triu(sim, 1).max() >= RESTATE_SIMILARITY - 1e-9)


def _cadence_metric(k: int) -> Callable[["Score | Piece | FormPiece"], float]:
    def metric(score: "Score | Piece | FormPiece") -> float:
        return FormPiece.of(score).cadence(k)

    metric.__name__ = f"cadence_bar{k}"
    metric.__doc__ = (f"1.0 if full bar {k} closes on the tonic, else 0.0; ``nan`` with fewer than {k} full bars.\n\n"
                      "Closing on the tonic: the pitch sounding at the bar's last strong beat (see\n"
                      ":func:`strong_beat`) is the tonic, or the bar's last note starts after that beat,\n"
                      "sounds to the bar line (or ends the piece) and is the tonic.")
    return metric


cadence_bar4 = _cadence_metric(4)
cadence_bar8 = _cadence_metric(8)
cadence_bar12 = _cadence_metric(12)
cadence_bar16 = _cadence_metric(16)


def cadences(score: "Score | Piece | FormPiece") -> float:
    """Mean of the defined ``cadence_bar4`` ... ``cadence_bar16``, 0-1 (``nan`` with fewer than 4 full bars)."""
    f = FormPiece.of(score)
    found = [f.cadence(k) for k in CADENCE_BARS if k <= f.n_full]
    return float(np.mean(found)) if found and f.tonic >= 0 else math.nan


def final_tonic(score: "Score | Piece | FormPiece") -> float:
    """1.0 if the last note's pitch class is the tonic, else 0.0 (``nan`` without notes)."""
    f = FormPiece.of(score)
    return float(f.pitch[-1] % 12 == f.tonic) if len(f) else math.nan


def final_tonic_long(score: "Score | Piece | FormPiece") -> float:
    """1.0 if the last note is the tonic and lasts at least one beat (a quarter note), else 0.0."""
    f = FormPiece.of(score)
    if not len(f):
        return math.nan
    return float(f.pitch[-1] % 12 == f.tonic and f.off[-1] - f.on[-1] >= STEPS_PER_BEAT)


def notes_per_bar(score: "Score | Piece | FormPiece") -> float:
    """Notes of the line starting in full bars, per full bar (the anacrusis left out); ``nan`` without full bars."""
    f = FormPiece.of(score)
    if not f.n_full:
        return math.nan
    a, b = np.searchsorted(f.on, [f.bar1, f.bar1 + f.n_full * f.bar_steps])
    return float((b - a) / f.n_full)


def rest_share(score: "Score | Piece | FormPiece") -> float:
    """Share (0-1) of the time from the first onset to the last offset when the line is silent."""
    f = FormPiece.of(score)
    if not len(f):
        return math.nan
    span = int(f.off[-1] - f.on[0])
    return float(1.0 - (f.off - f.on).sum() / span) + 0.0


def repeated_note_share(score: "Score | Piece | FormPiece") -> float:
    """Share (0-1) of notes, after the first, with the same pitch as the note before; ``nan`` below two notes."""
    f = FormPiece.of(score)
    return float(np.mean(f.pitch[1:] == f.pitch[:-1])) if len(f) > 1 else math.nan


def pickup(score: "Score | Piece | FormPiece") -> float:
    """1.0 if the piece opens with an anacrusis (padded with leading silence or a cut first bar), else 0.0."""
    return FormPiece.of(score).pickup


def padded_pickup(score: "Score | Piece | FormPiece") -> float:
    """1.0 if the piece opens with an anacrusis padded with silence (the first bar is mostly silent), else 0.0."""
    return FormPiece.of(score).padded_pickup


def bars_similarity(score: "Score | Piece | FormPiece", first_a: int, first_b: int, bars: int) -> float:
    """How alike two spans of ``bars`` full bars are: the share of grid steps, among those
    where either span sounds, where both sound the same pitch (0-1; nan when a span runs
    past the piece's full bars). ``first_a``, ``first_b``: 1-based full-bar numbers.

    >>> bars_similarity(reel, 1, 5, 2)     # do bars 5-6 restate bars 1-2?
    """
    fp = FormPiece.of(score)
    if bars < 1 or min(first_a, first_b) < 1 or max(first_a, first_b) + bars - 1 > fp.n_full or not len(fp):
        return math.nan
    spans = []
    for first in (first_a, first_b):
        t = fp.bar_start(first) + np.arange(bars * fp.bar_steps)
        idx = np.searchsorted(fp.on, t, side="right") - 1
        sounding = (idx >= 0) & (t < fp.off[np.maximum(idx, 0)])
        spans.append(np.where(sounding, fp.pitch[np.maximum(idx, 0)], -1))
    a, b = spans
    either = (a >= 0) | (b >= 0)
    return float(((a == b) & (a >= 0)).sum() / either.sum()) if either.any() else math.nan


#: Form metric name -> function of a Score, Piece or FormPiece returning a float; the order is the report order.
FORM_METRICS: dict[str, Callable[["Score | Piece | FormPiece"], float]] = {
    "repeated_bars": repeated_bars,
    "repeated_bars_transposed": repeated_bars_transposed,
    "phrase_similarity": phrase_similarity,
    "phrase_similarity_transposed": phrase_similarity_transposed,
    "restates_phrase": restates_phrase,
    "cadence_bar4": cadence_bar4,
    "cadence_bar8": cadence_bar8,
    "cadence_bar12": cadence_bar12,
    "cadence_bar16": cadence_bar16,
    "cadences": cadences,
    "final_tonic": final_tonic,
    "final_tonic_long": final_tonic_long,
    "notes_per_bar": notes_per_bar,
    "rest_share": rest_share,
    "repeated_note_share": repeated_note_share,
    "pickup": pickup,
    "padded_pickup": padded_pickup,
}

#: Form metric name -> unit, for reports (a flag's mean over pieces is the share of pieces).
FORM_UNITS: dict[str, str] = {
    "repeated_bars": "fraction of bars",
    "repeated_bars_transposed": "fraction of bars",
    "phrase_similarity": "0-1",
    "phrase_similarity_transposed": "0-1",
    "restates_phrase": "1/0",
    "cadence_bar4": "1/0",
    "cadence_bar8": "1/0",
    "cadence_bar12": "1/0",
    "cadence_bar16": "1/0",
    "cadences": "fraction of cadences",
    "final_tonic": "1/0",
    "final_tonic_long": "1/0",
    "notes_per_bar": "notes/bar",
    "rest_share": "fraction of time",
    "repeated_note_share": "fraction of notes",
    "pickup": "1/0",
    "padded_pickup": "1/0",
}


def form_metrics(score: "Score | Piece | FormPiece") -> dict[str, float]:
    """Every metric of :data:`FORM_METRICS` for one piece, its line and bars built once (``nan`` where undefined)."""
    f = FormPiece.of(score)
    return {name: float(fn(f)) for name, fn in FORM_METRICS.items()}


def form_values(scores: Iterable["Score | Piece | FormPiece"]) -> dict[str, np.ndarray]:
    """Every form metric of every piece: name -> shape ``(len(scores),)`` float64 (``nan`` where undefined)."""
    rows = [form_metrics(s) for s in scores]
    return {name: np.array([r[name] for r in rows], dtype=np.float64) for name in FORM_METRICS}


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else math.nan


def form_summary(scores: "Iterable[Score | Piece | FormPiece] | dict[str, np.ndarray]") -> dict[str, float]:
    """Mean over pieces of each form metric, over the pieces where it is defined.

    A flag's mean is the share of pieces (``cadence_bar8`` 0.4: 40 % of the pieces
    with 8 full bars close bar 8 on the tonic); a share's mean is the mean share.
    ``scores`` may also be a :func:`form_values` table. ``nan`` where no piece defines a metric.
    """
    values = scores if isinstance(scores, dict) else form_values(scores)
    return {name: _nanmean(values[name]) for name in FORM_METRICS}
