"""Monophonic melody tokens on a fixed grid, in the spirit of Magenta's MelodyRNN.

One token per grid step says what happens at that step:

- ``NOTE_p``: a note of MIDI pitch ``p`` starts (ending any sounding note);
- ``REST``: the sounding note ends, silence begins;
- ``HOLD``: nothing changes (the note, or the silence, goes on).

Structure and conditioning tokens frame the steps::

    BOS  TS_6/8  KEY_D_major  BAR s s s ... s  BAR s s ... s  EOS

``TS_n/d`` and ``KEY_*`` after ``BOS`` give the meter and key of the piece (use
them as conditioning when sampling); after a ``BAR`` they mark a change. Each bar
holds exactly ``bar_beats * steps_per_beat`` step tokens (a 6/8 bar at 4 steps per
beat has 12).

What the round trip loses (``decode(encode(s))`` equals ``s`` when none applies):

- polyphony: the highest voice is kept (:meth:`seqart.Score.monophonic`);
- timing off the grid: onsets and offsets snap to ``1/steps_per_beat`` beat, a note
  shorter than a step lasts one step, and of two notes snapping to one step the
  later one wins;
- pitches outside ``[min_pitch, max_pitch]`` move by octaves into the range;
- velocities (decoded as ``velocity``), tempo, track program/name and title;
- key changes move to the start of their bar; meters other than ``n/d`` with
  ``d`` in 1, 2, 4, 8, 16 and ``n`` in 1..16 become 4/4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqart.errors import TokenizerError
from seqart.score import PITCH_CLASS_NAMES, KeySignature, Note, Score, TimeSignature, Track
from seqart.tokenizers.base import Tokenizer

PAD, BOS, EOS, BAR, REST, HOLD = range(6)
_SPECIALS = ("PAD", "BOS", "EOS", "BAR", "REST", "HOLD")
_DENOMINATORS = (1, 2, 4, 8, 16)
_MAX_NUMERATOR = 16


@dataclass(frozen=True)
class MelodyConfig:
    """Settings of :class:`MelodyTokenizer`.

    Attributes:
        steps_per_beat: grid steps per beat (quarter note); 4 = sixteenth notes.
        min_pitch: lowest MIDI pitch with a ``NOTE`` token.
        max_pitch: highest MIDI pitch with a ``NOTE`` token (inclusive).
        velocity: velocity given to decoded notes.
    """

    steps_per_beat: int = 4
    min_pitch: int = 36
    max_pitch: int = 96
    velocity: int = 80


class MelodyTokenizer(Tokenizer):
    """Monophonic lines <-> 1-D int32 token ids (see the module docstring)."""

    name = "melody"
    version = 1
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
        return self.key_base + key.tonic % 12 + (12 if key.mode == "minor" else 0)

    def key_of(self, token: int) -> KeySignature | None:
        k = int(token) - self.key_base
        if 0 <= k < 24:
            return KeySignature(0.0, k % 12, "minor" if k >= 12 else "major")
        return None

    def is_key_token(self, token: int) -> bool:
        return self.key_base <= int(token) <= self.key_none

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
    def step_ids(self) -> np.ndarray:
        """Ids of the tokens that fill grid steps: REST, HOLD and every NOTE."""
        return np.array([REST, HOLD] + list(range(self.note_base, self.ts_base)), dtype=np.int64)

    # ---------------------------------------------------------------- encode
    def encode(self, score: Score, close: bool = True) -> np.ndarray:
        """Score -> token ids, shape ``(T,)``, dtype int32.

        Args:
            score: any score; it is reduced to its highest voice first.
            close: True pads the last bar with silence and ends with ``EOS``;
                False stops right after the last note's final step (a primer to
                continue), without ``EOS``.

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

        keys = sorted(line.key_signatures, key=lambda k: k.beat)
        out: list[int] = [BOS, self.meter_id(*bars[0][2]), self.key_id(keys[0] if keys else None)]
        key_changes = {}
        for k in keys[1:]:
            bar_index = max(i for i, b in enumerate(bars) if b[0] <= round(k.beat * q))
            key_changes[bar_index] = k
        prev_meter = bars[0][2]
        for i, (bar_start, bar_len, meter) in enumerate(bars):
            if bar_start >= total:
                break
            out.append(BAR)
            if meter != prev_meter:
                out.append(self.meter_id(*meter))
                prev_meter = meter
            if i in key_changes and i > 0:
                out.append(self.key_id(key_changes[i]))
            out.extend(steps[bar_start: bar_start + bar_len].tolist())
        if close:
            out.append(EOS)
        return np.asarray(out, dtype=np.int32)

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
        ends at the last step.
        """
        c = self.config
        q = float(c.steps_per_beat)
        notes: list[Note] = []
        sigs: list[TimeSignature] = []
        keys: list[KeySignature] = []
        pos = 0
        cur: tuple[int, int] | None = None  # (pitch, start step)
        for tok in np.asarray(tokens).tolist():
            if tok in (PAD, BOS, BAR):
                continue
            if tok == EOS:
                break
            pitch = self.pitch_of(tok)
            if pitch is not None or tok in (REST, HOLD):
                if tok != HOLD and cur is not None:
                    notes.append(Note(cur[0], cur[1] / q, (pos - cur[1]) / q, c.velocity))
                    cur = None
                if pitch is not None:
                    cur = (pitch, pos)
                pos += 1
            elif (meter := self.meter_of(tok)) is not None:
                if not sigs or (sigs[-1].numerator, sigs[-1].denominator) != meter:
                    sigs.append(TimeSignature(pos / q, *meter))
            elif self.is_key_token(tok):
                key = self.key_of(tok)
                if key is not None and (not keys or (keys[-1].tonic, keys[-1].mode) != (key.tonic, key.mode)):
                    keys.append(KeySignature(pos / q, key.tonic, key.mode))
        if cur is not None and pos > cur[1]:
            notes.append(Note(cur[0], cur[1] / q, (pos - cur[1]) / q, c.velocity))
        return Score(tracks=[Track(notes=notes)], time_signatures=sigs, key_signatures=keys)

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
        is_key = (tokens >= self.key_base) & (tokens < self.key_none)
        if is_key.any():
            k = tokens[is_key] - self.key_base
            shifted[is_key] = self.key_base + (k % 12 + semitones) % 12 + (k // 12) * 12
        return shifted.astype(tokens.dtype)
