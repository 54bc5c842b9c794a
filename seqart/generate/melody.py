"""Sampling melodies from a melody language model under hard constraints.

The sampler owns the token grammar: it writes ``BOS``, the meter and key tokens
and every ``BAR`` itself, and only asks the model for the step tokens inside
bars. Key, scale and range constraints remove forbidden ``NOTE`` tokens from the
distribution before sampling, so no generated note can break them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqart.errors import ScoreError, TokenizerError
from seqart.generate.constraints import allowed_pitch_classes
from seqart.score import KeySignature, Note, Score, TempoChange, TimeSignature, Track
from seqart.tokenizers.melody import BAR, BOS, HOLD, REST, MelodyTokenizer


@dataclass
class SamplingOptions:
    """How to sample; every field is validated by :meth:`check`.

    Attributes:
        bars: bars to generate (after the primer, if any).
        temperature: > 0; below 1 is safer, above 1 wilder.
        top_k: keep only the k most likely step tokens (None = all).
        top_p: keep the smallest set of tokens whose probability reaches p (None = 1).
        key: key to condition on and to stay in (None: the primer's key, or none).
        scale: restrict notes to this scale on the key's tonic (see ``SCALES``).
        pitch_range: (low, high) MIDI pitches, inclusive.
        time_signature: (numerator, denominator) (None: the primer's, or 4/4).
        tempo: output tempo in bpm (None: the primer's, or 120).
    """

    bars: int = 16
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    key: KeySignature | None = None
    scale: str | None = None
    pitch_range: tuple[int, int] | None = None
    time_signature: tuple[int, int] | None = None
    tempo: float | None = None

    @classmethod
    def parse(cls, key=None, pitch_range=None, time_signature=None, **options) -> "SamplingOptions":
        """Options as a caller writes them: ``key="D minor"``, ``pitch_range="G3-C6"`` or
        ``(55, 84)``, ``time_signature="6/8"`` or ``(6, 8)``, and the other fields as they are."""
        from seqart.generate.constraints import parse_range, parse_time_signature

        return cls(key=KeySignature.parse(key) if isinstance(key, str) else key,
                   pitch_range=parse_range(pitch_range) if isinstance(pitch_range, str) else pitch_range,
                   time_signature=(parse_time_signature(time_signature) if isinstance(time_signature, str)
                                   else time_signature), **options)

    def check(self) -> None:
        if not isinstance(self.bars, int) or not 1 <= self.bars <= 4096:
            raise ScoreError(f"bars must be a whole number from 1 to 4096, got {self.bars}")
        if not self.temperature > 0:
            raise ScoreError(f"temperature must be above 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ScoreError(f"top-k must be at least 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ScoreError(f"top-p must be in (0, 1], got {self.top_p}")
        if self.tempo is not None and not 5 <= self.tempo <= 1000:
            raise ScoreError(f"tempo must be 5-1000 bpm, got {self.tempo}")


#: Longest primer, in bars, that :meth:`MelodySampler.sample` continues: as many bars
#: as it generates at most. Feeding the model the primer costs as much per step as
#: generating, so a 100,000-note primer would otherwise run for minutes.
MAX_PRIMER_BARS = 4096


class MelodySampler:
    """Grammar- and constraint-aware sampling from a step-wise language model.

    Args:
        lm: an object with ``initial_state(B)``, ``step(tokens (B,), state) -> (logits (B, V), state)``
            and ``run(tokens (B, T), state)`` (e.g. :class:`seqart.models.melody_lm.numpy_lstm.NumpyRNNLM`; its state, batch first, nested as the model likes).
        tokenizer: the model's melody tokenizer.
    """

    def __init__(self, lm, tokenizer: MelodyTokenizer):
        self.lm = lm
        self.tok = tokenizer

    def sample(self, num: int, options: SamplingOptions, rng: np.random.Generator,
               primer: Score | None = None) -> list[Score]:
        """Generate ``num`` melodies (continuations of ``primer`` if given).

        Returns:
            ``num`` scores; with a primer each begins with the primer's notes, unchanged.
        """
        options.check()
        if not 1 <= num <= 100_000:
            raise ScoreError(f"num must be 1-100000, got {num}")
        tok = self.tok
        key = options.key if options.key is not None else (primer.key if primer is not None else None)
        meter = options.time_signature or (
            (primer.time_signature.numerator, primer.time_signature.denominator) if primer is not None else (4, 4)
        )
        if tok.meter_of(tok.meter_id(*meter)) != meter:
            if options.time_signature is None and primer is not None:
                raise ScoreError(f"{primer.source or 'primer'}: its time signature {meter[0]}/{meter[1]} is not "
                                 "supported by this model (choose one with --time-signature)")
            raise ScoreError(f"time signature {meter[0]}/{meter[1]} is not supported by this model")
        bar_steps = tok.steps_per_bar(*meter)
        step_mask = self._step_mask(key, options)

        # The prefix every row shares: header, then the primer's tokens.
        header = [BOS, tok.meter_id(*meter), tok.key_id(key)]
        if primer is not None:
            primed = primer.copy()
            primed.time_signatures = [TimeSignature(0.0, *meter)]
            primed.key_signatures = [KeySignature(0.0, key.tonic, key.mode)] if key else []
            try:
                prefix = tok.encode(primed, close=False).tolist()
            except TokenizerError as exc:
                raise TokenizerError(f"{primer.source or 'primer'}: {exc}") from None
            pos = sum(1 for t in prefix if t in (REST, HOLD) or tok.pitch_of(t) is not None)
            if pos > MAX_PRIMER_BARS * bar_steps:
                raise ScoreError(f"{primer.source or 'primer'}: the primer is {-(-pos // bar_steps)} bars long; "
                                 f"at most {MAX_PRIMER_BARS} can be continued (cut it with Score.slice)")
        else:
            prefix, pos = header + [BAR], 0
        choose_key = key is None and primer is None
        if choose_key:
            prefix = prefix[:2]  # BOS, meter: each melody draws its key from the model
        logits, state = self.lm.run(np.asarray([prefix]), None)
        logits = np.repeat(logits, num, axis=0)
        state = _repeat_rows(state, num)
        keys = [key] * num
        if choose_key:
            key_mask = np.zeros(tok.vocab_size, dtype=bool)
            key_mask[tok.key_base:tok.key_none] = True
            drawn = self._draw(logits, key_mask, options, rng)
            keys = [tok.key_of(t) for t in drawn]
            logits, state = self.lm.step(drawn, state)
            logits, state = self.lm.step(np.full(num, BAR), state)
            # The drawn key then binds like --key would.
            step_mask = np.stack([self._step_mask(k, options) for k in keys])

        total_steps = (-(-pos // bar_steps) + options.bars) * bar_steps
        generated = np.empty((num, total_steps - pos), dtype=np.int64)
        for i in range(total_steps - pos):
            if pos > 0 and pos % bar_steps == 0:
                # Bar line: feed BAR, whose output predicts the bar's first step.
                logits, state = self.lm.step(np.full(num, BAR), state)
            mask = step_mask
            if i == 0 and primer is not None:
                mask = step_mask.copy()
                mask[..., HOLD] = False  # the primer's last note stays as written
            choice = self._draw(logits, mask, options, rng)
            generated[:, i] = choice
            logits, state = self.lm.step(choice, state)
            pos += 1
        return [self._to_score(row, primer, meter, k, options, total_steps) for row, k in zip(generated, keys)]

    def _step_mask(self, key: KeySignature | None, options: SamplingOptions) -> np.ndarray:
        """Boolean (V,) mask of the step tokens that may be drawn."""
        tok = self.tok
        mask = np.zeros(tok.vocab_size, dtype=bool)
        mask[[REST, HOLD]] = True
        classes = allowed_pitch_classes(key, options.scale)
        low, high = options.pitch_range or (tok.config.min_pitch, tok.config.max_pitch)
        if high < tok.config.min_pitch or low > tok.config.max_pitch:
            raise ScoreError(
                f"pitch range {low}-{high} lies outside the model's {tok.config.min_pitch}-{tok.config.max_pitch}"
            )
        allowed = [p for p in range(max(low, tok.config.min_pitch), min(high, tok.config.max_pitch) + 1)
                   if classes is None or p % 12 in classes]
        if not allowed:
            raise ScoreError(f"no pitch satisfies the key/scale within range {low}-{high}")
        mask[[tok.note_id(p) for p in allowed]] = True
        return mask

    @staticmethod
    def _draw(logits: np.ndarray, mask: np.ndarray, options: SamplingOptions,
              rng: np.random.Generator) -> np.ndarray:
        """One token per row from masked, tempered, top-k/top-p filtered logits (B, V)."""
        z = np.where(mask, logits / options.temperature, -np.inf)
        if options.top_k is not None and options.top_k < mask.sum(axis=-1).min():
            kth = np.partition(z, -options.top_k, axis=1)[:, -options.top_k][:, None]
            z = np.where(z >= kth, z, -np.inf)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        if options.top_p is not None and options.top_p < 1:
            order = np.argsort(-p, axis=1, kind="stable")
            sorted_p = np.take_along_axis(p, order, axis=1)
            keep_sorted = np.cumsum(sorted_p, axis=1) - sorted_p < options.top_p
            keep = np.zeros_like(keep_sorted)
            np.put_along_axis(keep, order, keep_sorted, axis=1)
            p = np.where(keep, p, 0.0)
            p /= p.sum(axis=1, keepdims=True)
        u = rng.random((p.shape[0], 1))
        return np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), p.shape[1] - 1)

    def _to_score(self, steps: np.ndarray, primer: Score | None, meter, key, options, total_steps) -> Score:
        tok = self.tok
        q = tok.config.steps_per_beat
        start_step = total_steps - len(steps)
        melody = tok.decode(np.concatenate([[BOS, BAR], np.full(start_step, HOLD), steps]))
        new_notes = [Note(n.pitch, n.start, n.duration, n.velocity) for n in melody.tracks[0].notes
                     if n.start >= start_step / q - 1e-9]
        tempo = options.tempo or (primer.tempos[0].bpm if primer is not None and primer.tempos else 120.0)
        if primer is None:
            return Score(
                tracks=[Track(notes=new_notes, name="seqart melody")],
                tempos=[TempoChange(0.0, float(tempo))],
                time_signatures=[TimeSignature(0.0, *meter)],
                key_signatures=[KeySignature(0.0, key.tonic, key.mode)] if key else [],
                title="seqart melody",
            )
        out = primer.copy()
        if options.tempo is not None:
            out.tempos = [TempoChange(0.0, float(tempo))]
        pitched = [t for t in out.tracks if not t.is_drum]
        if len(pitched) == 1:
            pitched[0].notes.extend(new_notes)
        else:
            out.tracks.append(Track(notes=new_notes, name="seqart melody"))
        return out


def _repeat_rows(state, num: int):
    """A model's recurrent state (arrays with the batch first, nested in tuples and lists,
    however the model keeps it: an LSTM's ``(h, c)`` per layer, a key/value cache)
    with each row repeated ``num`` times."""
    if isinstance(state, np.ndarray):
        return np.repeat(state, num, axis=0)
    if isinstance(state, (list, tuple)):
        return type(state)(_repeat_rows(s, num) for s in state)
    if isinstance(state, dict):
        return {k: _repeat_rows(v, num) for k, v in state.items()}
    return state

