"""What a composer does with a trained melody VAE: encode, decode, sample,
interpolate, vary and push along an attribute.

>>> import seqart
>>> vae = seqart.load("folk-vae-2bar")                # a MelodyVAE
>>> a, b = Score.from_file("a.mid"), Score.from_file("b.mid")
>>> blend = vae.interpolate(a, b, steps=8)          # 8 scores, first ~ a, last ~ b
>>> busier = vae.shift(a, "density", amount=1.0)   # more notes per beat

A melody longer than the model's span (``bars`` bars of 4 beats) is cut into
consecutive spans that are encoded and decoded one by one and joined again; a
shorter one is padded with rests (and the padding is cut off again after decoding).
Latent codes are NumPy arrays ``(N, Z)``; decoding is deterministic (the likeliest
step each time) unless a temperature is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from seqart.errors import ModelError, ScoreError
from seqart.generate.protocol import draw_seed, refuse_options
from seqart.models.music_vae.data import HOLD, NOTE_BASE, REST, canonical, melody_steps
from seqart.score import KeySignature, Score, TempoChange, TimeSignature

_MAX_SPANS = 4096  # refuse melodies longer than this many spans (~16k bars at 2 bars/span)


@dataclass
class _Layout:
    """How to write steps back as a score: meter, key, tempo, original length (steps)."""

    meter: tuple[int, int]
    key: KeySignature | None
    tempo: float
    length: int


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation between latent codes (falls back to linear when they are parallel).

    Args:
        a, b: codes of the same shape ``(Z,)``.
        t: 0 gives ``a``, 1 gives ``b``.
    """
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-8 or nb < 1e-8:
        return (1 - t) * a + t * b
    cos = float(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    omega = math.acos(cos)
    if abs(math.sin(omega)) < 1e-6:
        return (1 - t) * a + t * b
    return (math.sin((1 - t) * omega) * a + math.sin(t * omega) * b) / math.sin(omega)


#: decoder temperature of :meth:`MelodyVAE.sample` when none is given
DEFAULT_TEMPERATURE = 0.5


class MelodyVAE:
    """A trained ``music-vae`` model folder, ready to use.

    Args:
        folder: a model folder (``config.json`` + ``model.safetensors`` +
            ``tokenizer.json`` [+ ``attributes.json``]).
        device: torch device for the network (``"cpu"``).

    Attributes:
        bars: model bars per span; span_steps: grid steps per span (``T``);
        latent_size: dimensions of a code (``Z``); attributes: attribute name ->
        vector ``(Z,)`` (from the training data; empty if none were saved).
    """

    def __init__(self, folder: str | Path, device: str | None = None):
        import torch

        from seqart.models.folder import load_model, read_evaluation, resolve_model
        from seqart.models.music_vae.attributes import load_attribute_vectors

        self.folder = resolve_model(folder)
        device = device or "cpu"
        model, tokenizer, meta = load_model(self.folder, device=device)
        if meta["model"] != "music-vae":
            raise ModelError(f"{self.folder}: a {meta['model']} model has no latent space; use a music-vae model")
        self.model, self.tokenizer, self.config = model, tokenizer, model.config
        self.device = torch.device(device)
        self.model_type = meta["model"]
        self.bars = self.config.bars
        self.span_steps = self.config.span_steps
        self.latent_size = self.config.latent_size
        self.attributes = load_attribute_vectors(self.folder, self.latent_size)
        self.evaluation = read_evaluation(self.folder)
        self.last_seed: int | None = None
        #: what an option left at None means for this model
        self.sampling_defaults: dict = {"temperature": DEFAULT_TEMPERATURE}

    # ------------------------------------------------------------ scores <-> spans
    def steps_of(self, score: Score) -> tuple[np.ndarray, _Layout]:
        """A score's melody (highest voice) as step classes ``(n,)`` and its layout."""
        tokens = self.tokenizer.encode(score)
        segments = melody_steps(tokens, self.tokenizer)
        steps = np.concatenate([s.steps for s in segments]) if segments else np.zeros(0, np.uint8)
        if not (steps >= NOTE_BASE).any():
            raise ScoreError(f"{score.source or 'the score'}: no notes to encode")
        ts = score.time_signature
        tempo = score.tempos[0].bpm if score.tempos else 120.0
        return steps, _Layout((ts.numerator, ts.denominator), score.key, tempo, len(steps))

    def spans_of(self, score: Score) -> tuple[np.ndarray, _Layout]:
        """The score cut into model spans ``(n_spans, T)`` int64 (the last padded with rests)."""
        steps, layout = self.steps_of(score)
        T = self.span_steps
        n = max(1, -(-len(steps) // T))
        if n > _MAX_SPANS:
            raise ScoreError(f"{score.source or 'the score'}: too long for this model ({n} spans of {self.bars} bars)")
        padded = np.full(n * T, HOLD, np.int64)
        padded[: len(steps)] = steps
        if len(steps) < n * T:
            padded[len(steps)] = REST
        spans = padded.reshape(n, T)
        sounding = None
        for i in range(n):
            before = sounding
            events = spans[i][spans[i] != HOLD]
            if len(events):
                sounding = int(events[-1])
            spans[i] = canonical(spans[i], before)
        return spans, layout

    def score_of(self, steps: np.ndarray, layout: _Layout | None = None) -> Score:
        """Step classes ``(n,)`` -> a one-track Score (the layout's meter, key and tempo;
        4/4, no key and 120 bpm without one)."""
        layout = layout or _Layout((4, 4), None, 120.0, len(steps))
        steps = np.asarray(steps, np.int64)[: layout.length]
        tok = self.tokenizer
        bar = tok.steps_per_bar(*layout.meter)
        n_bars = max(1, -(-len(steps) // bar))
        full = np.full(n_bars * bar, HOLD, np.int64)
        full[: len(steps)] = steps
        from seqart.tokenizers.melody import BAR, BOS, EOS, HOLD as T_HOLD, REST as T_REST

        ids = np.where(full >= NOTE_BASE, full - NOTE_BASE + tok.note_base, np.where(full == REST, T_REST, T_HOLD))
        out = [BOS, tok.meter_id(*layout.meter), tok.key_id(layout.key)]
        for b in range(n_bars):
            out.append(BAR)
            out.extend(ids[b * bar: (b + 1) * bar].tolist())
        out.append(EOS)
        score = tok.decode(np.asarray(out, np.int64))
        score.tempos = [TempoChange(0.0, float(layout.tempo))]
        if not score.time_signatures:
            score.time_signatures = [TimeSignature(0.0, *layout.meter)]
        return score

    # ------------------------------------------------------------ the network
    def _encode_spans(self, spans: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            x = torch.from_numpy(np.asarray(spans, np.int64)).to(self.device)
            return self.model.encode(x)[0].float().cpu().numpy()

    def prior_codes(self, noise: np.ndarray) -> np.ndarray:
        """Codes drawn from the model's prior, ``(N, Z)``, from standard normal ``noise`` ``(N, Z)``
        (the noise itself unless the model learned a prior for its bar codes)."""
        import torch

        with torch.no_grad():
            z = torch.from_numpy(np.asarray(noise, np.float32)).to(self.device)
            return self.model.prior_codes(z).float().cpu().numpy()

    def _decode_codes(self, z: np.ndarray, temperature: float, seed: int | None) -> np.ndarray:
        import torch

        if temperature < 0 or not math.isfinite(temperature):
            raise ScoreError(f"temperature must be >= 0 (0 = the likeliest steps), got {temperature}")
        gen = torch.Generator(device=self.device)
        gen.manual_seed(int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2 ** 63)))
        zt = torch.from_numpy(np.asarray(z, np.float32)).to(self.device)
        out = self.model.decode(zt, temperature=temperature or 1.0, greedy=temperature == 0, generator=gen)
        return out.cpu().numpy()

    # ------------------------------------------------------------ the API
    def encode(self, scores: Score | Sequence[Score]) -> np.ndarray:
        """Latent codes (posterior means) of every span of every score, in order: ``(N, Z)``.
        A score within one span gives one row."""
        scores = [scores] if isinstance(scores, Score) else list(scores)
        spans = [self.spans_of(s)[0] for s in scores]
        return self._encode_spans(np.concatenate(spans)) if spans else np.zeros((0, self.latent_size), np.float32)

    def decode(self, z: np.ndarray, temperature: float = 0.0, seed: int | None = None) -> list[Score]:
        """One span-long melody per code.

        Args:
            z: codes ``(N, Z)`` (or one code ``(Z,)``).
            temperature: 0 takes the likeliest step each time; > 0 samples, lower is safer.
            seed: for sampling.
        """
        z = np.atleast_2d(np.asarray(z, np.float32))
        if z.shape[1] != self.latent_size:
            raise ScoreError(f"codes have {z.shape[1]} dimensions, the model's z has {self.latent_size}")
        return [self.score_of(s) for s in self._decode_codes(z, temperature, seed)]

    def sample(self, num: int = 1, *, seed: int | None = None, temperature: float | None = None,
               **options) -> list[Score]:
        """``num`` new span-long melodies from codes drawn from the prior (N(0, I), or the
        model's learned prior of its bar codes: :meth:`prior_codes`).

        Args:
            num: how many melodies.
            seed: same seed -> same melodies (None draws one, kept in ``last_seed``).
            temperature: decoder temperature (default 0.5; 0 takes the likeliest step).
            options: the other sampling options of the protocol (``bars``, ``key``, ``primer``,
                ...); a VAE refuses any that is set: it decodes spans of a fixed length.
        """
        refuse_options(self.model_type, options, f"it decodes spans of {self.bars} bars from its latent space")
        if num < 1:
            raise ScoreError(f"num must be at least 1, got {num}")
        self.last_seed = draw_seed(seed)
        rng = np.random.default_rng(self.last_seed)
        z = self.prior_codes(rng.standard_normal((num, self.latent_size)).astype(np.float32))
        return self.decode(z, temperature=DEFAULT_TEMPERATURE if temperature is None else temperature,
                           seed=self.last_seed)

    def reconstruct(self, score: Score, temperature: float = 0.0, seed: int | None = None) -> Score:
        """Encode and decode a melody (how faithfully the model reads it)."""
        spans, layout = self.spans_of(score)
        return self.score_of(self._decode_codes(self._encode_spans(spans), temperature, seed).reshape(-1), layout)

    def interpolate(self, a: Score, b: Score, steps: int = 8, temperature: float = 0.0,
                    seed: int | None = None) -> list[Score]:
        """``steps`` melodies moving from ``a`` to ``b`` along the great circle between
        their codes (span by span; the shorter melody is padded with rests).
        The first is ``a``'s reconstruction, the last ``b``'s."""
        if steps < 2:
            raise ScoreError(f"steps must be at least 2, got {steps}")
        sa, la = self.spans_of(a)
        sb, lb = self.spans_of(b)
        n = max(len(sa), len(sb))
        sa, sb = _pad_spans(sa, n, self.span_steps), _pad_spans(sb, n, self.span_steps)
        za, zb = self._encode_spans(sa), self._encode_spans(sb)
        layout = _Layout(la.meter, la.key, la.tempo, max(la.length, lb.length))
        out = []
        for i in range(steps):
            t = i / (steps - 1)
            z = np.stack([slerp(za[k], zb[k], t) for k in range(n)])
            lay = layout if t < 0.5 else _Layout(lb.meter, lb.key, lb.tempo, layout.length)
            out.append(self.score_of(self._decode_codes(z, temperature, seed).reshape(-1), lay))
        return out

    def attribute_vector(self, name: str) -> np.ndarray:
        """The latent direction of an attribute (``density``, ``range``, ``register``,
        ``syncopation``, ``stepwise``): ``(Z,)``."""
        from seqart.models.music_vae.attributes import attribute_name

        key = attribute_name(name)
        if key not in self.attributes:
            have = ", ".join(self.attributes) or "none"
            raise ModelError(f"{self.folder}: no attribute vector {key!r} (this model has: {have})")
        return self.attributes[key]

    def shift(self, score: Score, attribute: str, amount: float = 1.0, temperature: float = 0.0,
              seed: int | None = None) -> Score:
        """``score`` moved along an attribute: each span's code plus ``amount`` times the
        attribute vector (1.0 = from a typical low-quarter span to a high-quarter one;
        negative values move the other way)."""
        vector = self.attribute_vector(attribute)
        spans, layout = self.spans_of(score)
        z = self._encode_spans(spans) + float(amount) * vector[None, :]
        return self.score_of(self._decode_codes(z, temperature, seed).reshape(-1), layout)

    def vary(self, score: Score, amount: float = 0.3, num: int = 8, temperature: float = 0.0,
             seed: int | None = None) -> list[Score]:
        """``num`` variations: each span's code moved by Gaussian noise of standard
        deviation ``amount`` (0 = reconstructions; 1 = as far as the prior spreads)."""
        if num < 1:
            raise ScoreError(f"num must be at least 1, got {num}")
        if amount < 0 or not math.isfinite(amount):
            raise ScoreError(f"amount must be >= 0, got {amount}")
        spans, layout = self.spans_of(score)
        z = self._encode_spans(spans)
        rng = np.random.default_rng(seed)
        out = []
        for i in range(num):
            zi = z + amount * rng.standard_normal(z.shape).astype(np.float32)
            child = None if seed is None else seed * 1000 + i
            out.append(self.score_of(self._decode_codes(zi, temperature, child).reshape(-1), layout))
        return out


def _pad_spans(spans: np.ndarray, n: int, T: int) -> np.ndarray:
    """Append silent spans (a rest, then holds) up to ``n`` spans."""
    if len(spans) >= n:
        return spans
    rest = np.full((n - len(spans), T), HOLD, np.int64)
    rest[:, 0] = REST
    return np.concatenate([spans, rest])
