"""Monophonic melody tokens on a fixed grid, in the spirit of Magenta's MelodyRNN.

One token per grid step says what happens at that step:

- ``NOTE_p``: a note of MIDI pitch ``p`` starts (ending any sounding note);
- ``REST``: the sounding note ends, silence begins;
- ``HOLD``: nothing changes (the note, or the silence, goes on).

Structure and conditioning tokens frame the steps. Layout 2::

    BOS  STYLE_jig  TS_6/8  KEY_D_mixolydian  PICKUP s s  BAR SEC_A s s ... s  BAR s ... s  EOS

- ``STYLE_*``: the tune type or collection (:data:`STYLES`; ``STYLE_NONE`` when unknown);
- ``TS_n/d`` and ``KEY_<tonic>_<mode>`` (seven modes) give the meter and key of the
  piece (conditioning when sampling); after a ``BAR`` they mark a change;
- ``PICKUP``: an anacrusis, written as the partial bar it is (only the steps from
  its first note on), not as a bar padded with silence;
- ``SEC_A`` ... ``SEC_E``: every ``section_bars`` full bars (8), a section label
  derived from the melody itself: a section restating an earlier one (at least
  :data:`SECTION_SIMILARITY` of its steps equal) takes that section's letter,
  else the next new letter (form control codes, in the spirit of TunesFormer).

Layout 3 (the default) adds one step token, ``TRIPLET``, for the triplets a 4-steps-per-beat grid
cannot write (the ``(3ABc`` of a reel): on the first step of a beat (a quarter note)
it says that the beat's other three steps are its three thirds::

    BAR  NOTE_69 HOLD NOTE_71 HOLD  TRIPLET NOTE_72 NOTE_71 NOTE_69  NOTE_67 ...

A triplet beat so takes the four tokens any beat takes: the sequence is no longer,
every bar keeps its number of step tokens, and a model still finds each beat four
tokens after the last. ``TRIPLET`` stands only at a beat that starts a whole
quarter note inside its bar (bars starting on a whole beat); layout 3 needs 4 steps
per beat.

Each full bar holds exactly ``bar_beats * steps_per_beat`` step tokens (a 6/8 bar
at 4 steps per beat has 12). Layout 1 (tokenizer files of format version 1) has
no style, pickup or section tokens and keys in major and minor only (a modal key
is written as the major or minor key on its tonic); its ids are the first ids of
layout 2, unchanged.

What the round trip loses (``decode(encode(s))`` equals ``s`` when none applies):

- polyphony: the highest voice is kept (:meth:`seqart.Score.monophonic`);
- timing off the grid: onsets and offsets snap to ``1/steps_per_beat`` beat (in layout 3
  a beat whose onsets all lie within :data:`TRIPLET_TOLERANCE` beat of its thirds, one
  of them off the beat, snaps to the thirds instead), a note
  shorter than a step lasts one step, and of two notes snapping to one step the
  later one wins;
- pitches outside ``[min_pitch, max_pitch]`` move by octaves into the range;
- velocities (decoded as ``velocity``), tempo, track program/name and title;
- a pickup decodes padded with silence to a full bar (as the readers give it); a
  leading silence of less than half the first bar stays silence;
- key changes move to the start of their bar; meters other than ``n/d`` with
  ``d`` in 1, 2, 4, 8, 16 and ``n`` in 1..16 become 4/4.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from seqart.errors import TokenizerError
from seqart.score import PITCH_CLASS_NAMES, KeySignature, Note, Score, TimeSignature, Track
from seqart.tokenizers.base import Tokenizer

PAD, BOS, EOS, BAR, REST, HOLD = range(6)
_SPECIALS = ("PAD", "BOS", "EOS", "BAR", "REST", "HOLD")
_DENOMINATORS = (1, 2, 4, 8, 16)
_MAX_NUMERATOR = 16
#: the keys of layout 1, then the modes layout 2 adds (in this order: ids never move)
_OLD_MODES = ("major", "minor")
_NEW_MODES = ("dorian", "phrygian", "lydian", "mixolydian", "locrian")
_MINOR_FAMILY = ("minor", "dorian", "phrygian", "locrian")
#: the styles layout 2 has a token for (fixed: a token id never moves)
STYLES = ("reel", "jig", "slip-jig", "hornpipe", "strathspey", "polka", "slide", "waltz", "march", "mazurka",
          "air", "song", "han-song", "chorale")
#: section letters of layout 2
SECTION_LETTERS = "ABCDE"
#: share of equal steps at which a section counts as restating an earlier one
SECTION_SIMILARITY = 0.6
#: the layout new tokenizers get: 3, chosen by held-out NLL per note at equal training (O'Neill's
#: tunes, 400 steps of the melody transformer from scratch, 111 test tunes: layout 3 2.431 nats/note,
#: layout 2 2.442, 12 grid steps per beat 3.126), at the same sequence length as layout 2
LAYOUT = 3
#: how far (beats) an onset may lie from a third of its beat and still count as a triplet note
TRIPLET_TOLERANCE = 1 / 48


@dataclass(frozen=True)
class MelodyConfig:
    """Settings of :class:`MelodyTokenizer`.

    Attributes:
        steps_per_beat: grid steps per beat (quarter note); 4 = sixteenth notes.
        min_pitch: lowest MIDI pitch with a ``NOTE`` token.
        max_pitch: highest MIDI pitch with a ``NOTE`` token (inclusive).
        velocity: velocity given to decoded notes.
        layout: 3 (layout 2 and ``TRIPLET``), 2 (style, pickup and section tokens,
            seven modes) or 1 (the first format; what a version 1 tokenizer file holds);
            None: :data:`LAYOUT` at 4 steps per beat, else 2.
        section_bars: full bars per section label (layout 2).
    """

    steps_per_beat: int = 4
    min_pitch: int = 36
    max_pitch: int = 96
    velocity: int = 80
    layout: int | None = None
    section_bars: int = 8

    def __post_init__(self):
        if self.layout is None:  # the newest layout where it applies (triplets need 4 steps per beat)
            object.__setattr__(self, "layout", LAYOUT if self.steps_per_beat == 4 else 2)


class MelodyTokenizer(Tokenizer):
    """Monophonic lines <-> 1-D int32 token ids (see the module docstring)."""

    name = "melody"
    version = 2
    kind = "tokens"
    config_class = MelodyConfig

    def _validate(self) -> None:
        c = self.config
        if not 1 <= c.steps_per_beat <= 48:
            raise TokenizerError(f"steps_per_beat must be 1-48, got {c.steps_per_beat}")
        if not (0 <= c.min_pitch and c.max_pitch <= 127 and c.max_pitch - c.min_pitch >= 11):
            raise TokenizerError(
                f"pitch range {c.min_pitch}-{c.max_pitch} must lie in 0-127 and span at least an octave"
            )
        if not 1 <= c.velocity <= 127:
            raise TokenizerError(f"velocity must be 1-127, got {c.velocity}")
        if c.layout not in (1, 2, 3):
            raise TokenizerError(f"layout must be 1, 2 or 3, got {c.layout}")
        if c.layout >= 3 and c.steps_per_beat != 4:
            raise TokenizerError(f"layout 3 (triplets) needs 4 steps per beat, got {c.steps_per_beat}")
        if not 1 <= c.section_bars <= 64:
            raise TokenizerError(f"section_bars must be 1-64, got {c.section_bars}")
        self.note_base = len(_SPECIALS)
        self.num_pitches = c.max_pitch - c.min_pitch + 1
        self.ts_base = self.note_base + self.num_pitches
        self.meters = [(n, d) for d in _DENOMINATORS for n in range(1, _MAX_NUMERATOR + 1)]
        self._meter_index = {m: i for i, m in enumerate(self.meters)}
        self.key_base = self.ts_base + len(self.meters)
        self.key_none = self.key_base + 24
        self._vocab = (
            list(_SPECIALS)
            + [f"NOTE_{p}" for p in range(c.min_pitch, c.max_pitch + 1)]
            + [f"TS_{n}/{d}" for n, d in self.meters]
            + [f"KEY_{PITCH_CLASS_NAMES[i % 12]}_{'major' if i < 12 else 'minor'}" for i in range(24)]
            + ["KEY_NONE"]
        )
        v2 = c.layout >= 2
        self.mode_base = len(self._vocab)  # KEY_<tonic>_<mode> of the modes layout 2 adds
        modal = [f"KEY_{PITCH_CLASS_NAMES[t]}_{m}" for m in _NEW_MODES for t in range(12)] if v2 else []
        self.style_base = self.mode_base + len(modal)
        styles = [f"STYLE_{name}" for name in STYLES] + ["STYLE_NONE"] if v2 else []
        self.pickup_id = self.style_base + len(styles) if v2 else None
        self.section_base = self.style_base + len(styles) + 1
        sections = [f"SEC_{letter}" for letter in SECTION_LETTERS] if v2 else []
        self._vocab += modal + styles + (["PICKUP"] if v2 else []) + sections
        self.style_none = self.style_base + len(STYLES) if v2 else None
        #: id of ``TRIPLET`` (layout 3), None before
        self.triplet_id = len(self._vocab) if c.layout >= 3 else None
        if self.triplet_id is not None:
            self._vocab.append("TRIPLET")

    @classmethod
    def from_dict(cls, data: dict) -> "MelodyTokenizer":
        """A tokenizer file of format version 1 (before layouts) is layout 1."""
        if int(data.get("version", 1)) < 2:
            data = {**data, "config": {**dict(data.get("config", {})), "layout": 1}}
        return super().from_dict(data)

    @property
    def layout(self) -> int:
        return self.config.layout

    # ------------------------------------------------------------ vocabulary
    def note_id(self, pitch: int) -> int:
        """Token id of ``NOTE_pitch`` (pitch must be in range)."""
        if not self.config.min_pitch <= pitch <= self.config.max_pitch:
            raise TokenizerError(f"pitch {pitch} outside {self.config.min_pitch}-{self.config.max_pitch}")
        return self.note_base + pitch - self.config.min_pitch

    def pitch_of(self, token: int) -> int | None:
        """MIDI pitch of a ``NOTE`` token, None for any other token."""
        k = int(token) - self.note_base
        return self.config.min_pitch + k if 0 <= k < self.num_pitches else None

    def meter_id(self, numerator: int, denominator: int) -> int:
        """Token id of ``TS_n/d``; unsupported meters map to 4/4."""
        return self.ts_base + self._meter_index.get((numerator, denominator), self._meter_index[(4, 4)])

    def meter_of(self, token: int) -> tuple[int, int] | None:
        k = int(token) - self.ts_base
        return self.meters[k] if 0 <= k < len(self.meters) else None

    def key_id(self, key: KeySignature | None) -> int:
        """Token id of the key (``KEY_NONE`` for None)."""
        if key is None:
            return self.key_none
        mode = key.mode
        if mode in _NEW_MODES and self.layout >= 2:
            return self.mode_base + _NEW_MODES.index(mode) * 12 + key.tonic % 12
        family = "minor" if mode in _MINOR_FAMILY else "major"
        return self.key_base + key.tonic % 12 + (12 if family == "minor" else 0)

    def key_of(self, token: int) -> KeySignature | None:
        k = int(token) - self.key_base
        if 0 <= k < 24:
            return KeySignature(0.0, k % 12, "minor" if k >= 12 else "major")
        k = int(token) - self.mode_base
        if self.layout >= 2 and 0 <= k < 12 * len(_NEW_MODES):
            return KeySignature(0.0, k % 12, _NEW_MODES[k // 12])
        return None

    def is_key_token(self, token: int) -> bool:
        t = int(token)
        return self.key_base <= t <= self.key_none or (self.layout >= 2 and self.mode_base <= t < self.style_base)

    @property
    def key_ids(self) -> np.ndarray:
        """Ids of every key token but ``KEY_NONE``: what a melody's key is drawn from."""
        ids = list(range(self.key_base, self.key_none))
        if self.layout >= 2:
            ids += list(range(self.mode_base, self.style_base))
        return np.array(ids, dtype=np.int64)

    def style_id(self, style: str | None) -> int | None:
        """Token id of ``STYLE_style`` (``STYLE_NONE`` for an unknown or empty style);
        None in layout 1, which has no style tokens."""
        if self.layout < 2:
            return None
        return self.style_base + STYLES.index(style) if style in STYLES else self.style_none

    def style_of(self, token: int) -> str | None:
        """The style a ``STYLE_*`` token names ("" for ``STYLE_NONE``), None for any other token."""
        if self.layout < 2:
            return None
        k = int(token) - self.style_base
        return (STYLES[k] if k < len(STYLES) else "") if 0 <= k <= len(STYLES) else None

    def section_id(self, letter: str) -> int:
        """Token id of ``SEC_letter`` (layout 2)."""
        if self.layout < 2 or letter not in SECTION_LETTERS:
            raise TokenizerError(f"no section token {letter!r} (sections are {', '.join(SECTION_LETTERS)})")
        return self.section_base + SECTION_LETTERS.index(letter)

    def section_of(self, token: int) -> str | None:
        """The letter of a ``SEC_*`` token, None for any other token."""
        k = int(token) - self.section_base
        return SECTION_LETTERS[k] if self.layout >= 2 and 0 <= k < len(SECTION_LETTERS) else None

    @property
    def section_ids(self) -> np.ndarray:
        """Ids of the section tokens (empty in layout 1)."""
        n = len(SECTION_LETTERS) if self.layout >= 2 else 0
        return np.arange(self.section_base, self.section_base + n, dtype=np.int64)

    def header(self, meter: tuple[int, int], key: KeySignature | None, style: str | None = None) -> list[int]:
        """The tokens that open a piece: ``BOS [STYLE] TS KEY``."""
        out = [BOS]
        if self.layout >= 2:
            out.append(self.style_id(style))
        return out + [self.meter_id(*meter), self.key_id(key)]

    @property
    def key_position(self) -> int:
        """Index of the key token in :meth:`header`."""
        return 3 if self.layout >= 2 else 2

    def steps_per_bar(self, numerator: int, denominator: int) -> int:
        """Grid steps in one bar of ``numerator/denominator``."""
        steps = numerator * 4 * self.config.steps_per_beat / denominator
        if steps != int(steps) or steps < 1:
            raise TokenizerError(
                f"a {numerator}/{denominator} bar is not a whole number of steps at "
                f"{self.config.steps_per_beat} steps per beat"
            )
        return int(steps)

    @property
    def choice_ids(self) -> np.ndarray:
        """Ids of the tokens that choose the music (REST, every NOTE, TRIPLET), the ones
        feedback tuning's unlikelihood acts on; HOLD and the header and bar tokens only
        continue what was chosen."""
        steps = self.step_ids
        return steps[steps != HOLD]

    @property
    def step_ids(self) -> np.ndarray:
        """Ids of the tokens that fill grid steps: REST, HOLD, every NOTE (and TRIPLET)."""
        extra = [self.triplet_id] if self.triplet_id is not None else []
        return np.array([REST, HOLD] + list(range(self.note_base, self.ts_base)) + extra, dtype=np.int64)

    def is_step(self, token: int) -> bool:
        """Whether ``token`` fills one grid step (:attr:`step_ids`)."""
        t = int(token)
        return t in (REST, HOLD) or self.note_base <= t < self.ts_base or (t == self.triplet_id)

    def split_view(self, tokens: np.ndarray) -> np.ndarray:
        """What a corpus build hashes to give a tune its split: the tokens as layout 2
        writes them (:meth:`on_grid`), so a tune lands in the same split whatever the
        layout, and a model started from one layout's model is tested on tunes it never saw."""
        return self.on_grid(tokens)

    def on_grid(self, tokens: np.ndarray) -> np.ndarray:
        """``tokens`` with every triplet beat written on the 4-step grid as layout 2 writes
        it (thirds at steps 0, 1 and 3; ``TRIPLET a b c`` -> ``a b HOLD c``): for code that
        reads one token as one sixteenth. Same shape; a copy."""
        out = np.array(tokens, copy=True)
        if self.triplet_id is None:
            return out
        for i in np.flatnonzero(out[:-3] == self.triplet_id):
            out[i:i + 4] = (out[i + 1], out[i + 2], HOLD, out[i + 3])
        return out

    # ---------------------------------------------------------------- encode
    def encode(self, score: Score, close: bool = True, pickup: bool = True) -> np.ndarray:
        """Score -> token ids, shape ``(T,)``, dtype int32.

        Args:
            score: any score; it is reduced to its highest voice first.
            close: True pads the last bar with silence and ends with ``EOS``;
                False stops right after the last note's final step (a primer to
                continue), without ``EOS``.
            pickup: False writes an anacrusis as a padded bar (``HOLD`` steps before its
                first note), as layout 1 does: a primer then keeps whole bars.

        Raises:
            TokenizerError: if the score has no pitched notes.
        """
        line = score.monophonic() if score.tracks else score
        notes = [n for n in line.tracks[0].notes] if line.tracks else []
        if not notes:
            raise TokenizerError("no pitched notes to encode")
        c = self.config
        line = line.transpose(0, c.min_pitch, c.max_pitch)
        q = c.steps_per_beat
        starts = np.array([round(n.start * q) for n in line.tracks[0].notes], dtype=np.int64)
        ends = np.array([round(n.end * q) for n in line.tracks[0].notes], dtype=np.int64)
        pitches = np.array([n.pitch for n in line.tracks[0].notes], dtype=np.int64)
        order = np.argsort(starts, kind="stable")
        starts, ends, pitches = starts[order], ends[order], pitches[order]
        # Of notes landing on one step, the later one wins.
        keep = np.append(starts[1:] != starts[:-1], True)
        starts, ends, pitches = starts[keep], ends[keep], pitches[keep]
        ends = np.maximum(ends, starts + 1)
        ends[:-1] = np.minimum(ends[:-1], starts[1:])
        last_step = int(ends[-1])

        bars = self._bar_layout(line, last_step, close)
        total = bars[-1][0] + bars[-1][1] if close else last_step
        steps = np.full(max(total, last_step), HOLD, dtype=np.int32)
        steps[ends[ends < len(steps)]] = REST
        steps[starts] = self.note_base + pitches - c.min_pitch
        steps = steps[:total]
        v2 = self.layout >= 2
        # A pickup: the first bar is silent for at least half its length before its first note.
        pickup = pickup and v2 and len(bars) > 1 and bars[0][1] // 2 <= int(starts[0]) < bars[0][1]
        # Section labels read the grid as layout 2 does; then triplet beats are written.
        labels = self._section_labels(steps, bars[1:] if pickup else bars) if v2 else {}
        if self.triplet_id is not None:
            self._write_triplets(steps, line.tracks[0].notes, bars, int(starts[0]) if pickup else 0)

        keys = sorted(line.key_signatures, key=lambda k: k.beat)
        out: list[int] = self.header(bars[0][2], keys[0] if keys else None, getattr(score, "style", ""))
        key_changes = {}
        for k in keys[1:]:
            bar_index = max(i for i, b in enumerate(bars) if b[0] <= round(k.beat * q))
            key_changes[bar_index] = k
        prev_meter = bars[0][2]
        for i, (bar_start, bar_len, meter) in enumerate(bars):
            if bar_start >= total:
                break
            if i == 0 and pickup:
                out.append(self.pickup_id)
                out.extend(steps[int(starts[0]): bar_len].tolist())
                continue
            out.append(BAR)
            if meter != prev_meter:
                out.append(self.meter_id(*meter))
                prev_meter = meter
            if i in key_changes and i > 0:
                out.append(self.key_id(key_changes[i]))
            full_bar = i - (1 if pickup else 0)
            if full_bar in labels:
                out.append(self.section_id(labels[full_bar]))
            out.extend(steps[bar_start: bar_start + bar_len].tolist())
        if close:
            out.append(EOS)
        return np.asarray(out, dtype=np.int32)

    def _write_triplets(self, steps: np.ndarray, notes: list[Note], bars: list, from_step: int) -> None:
        """Rewrite in place every triplet beat of ``steps`` (the 4-step grid, in tokens) as
        ``TRIPLET`` and its three thirds.

        A triplet beat is a quarter note starting on a whole beat inside its bar whose
        onsets and note ends all lie within :data:`TRIPLET_TOLERANCE` of a third, one
        onset on its second or third third. Its first third keeps the grid's token (it
        is the beat's own step); the others are the note starting there, else ``REST``
        where a note ends there in silence, else ``HOLD``. Read back on the grid
        (:meth:`on_grid`), the beat is what layout 2 writes. Beats before ``from_step``
        (a pickup's silent start, not written) stay as they are.
        """
        q, tol = self.config.steps_per_beat, TRIPLET_TOLERANCE
        onsets = np.array([n.start for n in notes])
        ends = np.array([n.end for n in notes])
        beat_of = np.floor(onsets + tol).astype(np.int64)
        third_of = np.rint((onsets - beat_of) * 3).astype(np.int64)
        on_third = np.abs(onsets - beat_of - third_of / 3) < tol
        candidates = np.unique(beat_of[on_third & (third_of % 3 != 0)])
        if not len(candidates):
            return
        end_beat = np.floor(ends + tol).astype(np.int64)
        end_third = np.rint((ends - end_beat) * 3).astype(np.int64)
        end_on_third = np.abs(ends - end_beat - end_third / 3) < tol
        bar_starts = [bar_start for bar_start, _, _ in bars]
        for beat in candidates.tolist():
            members = np.flatnonzero(beat_of == beat)
            ending = np.flatnonzero(end_beat == beat)
            if not (on_third[members].all() and end_on_third[ending].all()):
                continue
            step = beat * q
            if step < from_step:
                continue
            bar_start, bar_len, _ = bars[bisect.bisect_right(bar_starts, step) - 1]
            if bar_start % q or step + q > bar_start + bar_len or step + q > len(steps):
                continue
            tokens = [int(steps[step])]
            for k in (1, 2):
                starting = members[third_of[members] == k]
                if len(starting):
                    tokens.append(self.note_base + notes[starting[-1]].pitch - self.config.min_pitch)
                    continue
                ended = ending[end_third[ending] == k]
                sounding = np.any((onsets < beat + k / 3 - tol) & (ends > beat + k / 3 + tol))
                tokens.append(REST if len(ended) and not sounding else HOLD)
            steps[step: step + q] = [self.triplet_id, *tokens]

    def _section_labels(self, steps: np.ndarray, bars: list) -> dict[int, str]:
        """Full-bar index -> section letter, every ``section_bars`` bars (see the module docstring)."""
        n = self.config.section_bars
        spans = []
        for first in range(0, len(bars), n):
            a = bars[first][0]
            b = bars[min(first + n, len(bars)) - 1][0] + bars[min(first + n, len(bars)) - 1][1]
            spans.append((first, np.asarray(steps[a:b])))
        labels: dict[int, str] = {}
        letters: list[str] = []
        for j, (first, span) in enumerate(spans):
            if not len(span):
                break
            best, best_sim = None, SECTION_SIMILARITY
            for k in range(j):
                other = spans[k][1]
                m = min(len(span), len(other))
                sim = float(np.mean(span[:m] == other[:m])) if m else 0.0
                if sim >= best_sim:
                    best, best_sim = letters[k], sim
            if best is None:
                used = sorted(set(letters))
                best = SECTION_LETTERS[min(len(used), len(SECTION_LETTERS) - 1)]
            letters.append(best)
            labels[first] = best
        return labels

    def _bar_layout(self, score: Score, last_step: int, close: bool) -> list[tuple[int, int, tuple[int, int]]]:
        """(start step, steps in bar, (num, den)) of every bar covering ``last_step`` steps."""
        q = self.config.steps_per_beat
        sigs = sorted(score.time_signatures, key=lambda s: s.beat) or [TimeSignature(0.0, 4, 4)]
        sigs = [s if (s.numerator, s.denominator) in self._meter_index else TimeSignature(s.beat, 4, 4) for s in sigs]
        change_steps = [round(s.beat * q) if i else 0 for i, s in enumerate(sigs)]
        bars: list[tuple[int, int, tuple[int, int]]] = []
        pos, si = 0, 0
        while pos < last_step or not bars:
            while si + 1 < len(sigs) and change_steps[si + 1] <= pos:
                si += 1
            meter = (sigs[si].numerator, sigs[si].denominator)
            length = self.steps_per_bar(*meter)
            if si + 1 < len(sigs) and pos < change_steps[si + 1] < pos + length:
                # A meter change inside a bar (a pickup, a cut bar): end the bar there.
                length = change_steps[si + 1] - pos
                meter = self._meter_for_steps(length, meter)
            bars.append((pos, length, meter))
            pos += length
        return bars

    def _meter_for_steps(self, steps: int, fallback: tuple[int, int]) -> tuple[int, int]:
        """A supported meter whose bar has exactly ``steps`` steps (for cut bars)."""
        q = self.config.steps_per_beat
        for d in (4, 8, 16, 2, 1):
            n = steps * d / (4 * q)
            if n == int(n) and 1 <= n <= _MAX_NUMERATOR:
                return int(n), d
        return fallback

    # ---------------------------------------------------------------- decode
    def decode(self, tokens: np.ndarray) -> Score:
        """Token ids -> a one-track Score (no tempo: plays at 120 bpm).

        Unknown or misplaced tokens are ignored; a note still sounding at the end
        ends at the last step. Times are counted in thirds of a step, so a triplet
        beat's thirds (layout 3) fall on exact thirds of a beat.
        """
        c = self.config
        thirds_per_beat = 3.0 * c.steps_per_beat
        notes: list[Note] = []
        sigs: list[TimeSignature] = []
        keys: list[KeySignature] = []
        pos = 0  # in thirds of a step
        triplet_left = 0  # thirds of a triplet beat still to come
        cur: tuple[int, int] | None = None  # (pitch, start)
        style = ""
        pickup: int | None = None  # notes index where a pickup began
        for tok in np.asarray(tokens).tolist():
            if tok in (PAD, BOS):
                continue
            if tok == BAR:
                if pickup is not None:
                    # The pickup's steps end the first bar: pad its start with silence.
                    meter = (sigs[0].numerator, sigs[0].denominator) if sigs else (4, 4)
                    pad = max(0, 3 * self.steps_per_bar(*meter) - pos)
                    shift = pad / thirds_per_beat
                    notes[pickup:] = [Note(n.pitch, n.start + shift, n.duration, n.velocity) for n in notes[pickup:]]
                    if cur is not None:
                        cur = (cur[0], cur[1] + pad)
                    pos += pad
                    pickup = None
                triplet_left = 0
                continue
            if tok == EOS:
                break
            if tok == self.pickup_id:
                if pos == 0:
                    pickup = len(notes)
                continue
            if tok == self.triplet_id:
                triplet_left = 3
                continue
            pitch = self.pitch_of(tok)
            if pitch is not None or tok in (REST, HOLD):
                if tok != HOLD and cur is not None:
                    notes.append(Note(cur[0], cur[1] / thirds_per_beat, (pos - cur[1]) / thirds_per_beat, c.velocity))
                    cur = None
                if pitch is not None:
                    cur = (pitch, pos)
                pos += c.steps_per_beat if triplet_left else 3
                triplet_left = max(0, triplet_left - 1)
            elif (meter := self.meter_of(tok)) is not None:
                if not sigs or (sigs[-1].numerator, sigs[-1].denominator) != meter:
                    sigs.append(TimeSignature(pos / thirds_per_beat, *meter))
            elif self.is_key_token(tok):
                key = self.key_of(tok)
                if key is not None and (not keys or (keys[-1].tonic, keys[-1].mode) != (key.tonic, key.mode)):
                    keys.append(KeySignature(pos / thirds_per_beat, key.tonic, key.mode))
            elif (named := self.style_of(tok)) is not None and pos == 0:
                style = named
        if cur is not None and pos > cur[1]:
            notes.append(Note(cur[0], cur[1] / thirds_per_beat, (pos - cur[1]) / thirds_per_beat, c.velocity))
        score = Score(tracks=[Track(notes=notes)], time_signatures=sigs, key_signatures=keys)
        if style:
            score.style = style
        return score

    # ------------------------------------------------------- augmentation
    def transpose_tokens(self, tokens: np.ndarray, semitones: int) -> np.ndarray | None:
        """Shift every ``NOTE`` and ``KEY`` token by ``semitones``.

        Returns:
            the shifted ids (same shape), or None if a note would leave the range.
        """
        tokens = np.asarray(tokens)
        is_note = (tokens >= self.note_base) & (tokens < self.ts_base)
        shifted = tokens + np.where(is_note, semitones, 0)
        if is_note.any():
            moved = shifted[is_note]
            if moved.min() < self.note_base or moved.max() >= self.ts_base:
                return None
        for base, stop in ((self.key_base, self.key_none), (self.mode_base, self.style_base)):
            is_key = (tokens >= base) & (tokens < stop)
            if is_key.any():
                k = tokens[is_key] - base
                shifted[is_key] = base + (k % 12 + semitones) % 12 + (k // 12) * 12
        return shifted.astype(tokens.dtype)
