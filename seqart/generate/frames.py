"""Sampling polyphonic frame models (``poly-lstm``, ``poly-nade``) into scores."""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np

from seqart.errors import ScoreError
from seqart.score import Score, TempoChange

#: options of the melody sampler that mean nothing to a frame model
_MELODY_ONLY = ("top_k", "top_p", "key", "scale", "pitch_range", "time_signature")


class FrameGenerator:
    """A trained frame model ready to sample piano rolls, written through the score model.

    Consecutive active frames of one pitch become one note. The frame grid is the
    model's tokenizer grid (``steps_per_beat`` frames per beat).

    Args:
        folder: a model folder of a frame model.
        device: torch device (default CPU).
    """

    def __init__(self, folder: Path, device: str | None = None):
        from seqart.models.folder import load_model, read_evaluation

        self.folder = Path(folder)
        self.device = device or "cpu"
        self.model, self.tokenizer, meta = load_model(self.folder, device=self.device)
        self.model_type = meta["model"]
        self.evaluation = read_evaluation(self.folder)
        self.last_seed: int | None = None

    @property
    def steps_per_beat(self) -> int:
        return int(self.tokenizer.config.steps_per_beat)

    def sample(self, num: int = 1, bars: int | None = 16, steps: int | None = None, temperature: float = 1.0,
               seed: int | None = None, primer: Score | str | Path | None = None, tempo: float | None = None,
               **melody_options) -> list[Score]:
        """Generate ``num`` pieces of ``steps`` frames (or ``bars`` bars of 4 beats) after an optional primer.

        Args:
            num: pieces, sampled as one batch.
            bars: length in 4/4 bars when ``steps`` is None.
            steps: frames to generate (overrides ``bars``).
            temperature: > 0; divides every key's logit.
            seed: same seed and options -> identical output (None draws one, kept in ``last_seed``).
            primer: a Score or MIDI/MusicXML/ABC path (or audio, transcribed) whose frames
                open every piece unchanged.
            tempo: output tempo in bpm (default: the primer's, else 120).

        Raises:
            ScoreError: for options a frame model cannot honour, or bad values.
        """
        import torch

        given = sorted(k for k in _MELODY_ONLY if melody_options.get(k) is not None)
        unknown = sorted(set(melody_options) - set(_MELODY_ONLY))
        if unknown:
            raise TypeError(f"unexpected option(s): {', '.join(unknown)}")
        if given:
            raise ScoreError(f"{', '.join('--' + g.replace('_', '-') for g in given)} only apply to melody models; "
                             f"{self.model_type} samples whole piano-roll frames")
        if steps is None:
            if bars is None or bars < 1:
                raise ScoreError(f"--bars must be at least 1, got {bars}")
            steps = bars * 4 * self.steps_per_beat
        if steps < 1:
            raise ScoreError(f"--steps must be at least 1, got {steps}")
        if not temperature > 0:
            raise ScoreError(f"temperature must be > 0, got {temperature}")
        if num < 1:
            raise ScoreError(f"--num must be at least 1, got {num}")
        if tempo is not None and not 1 <= tempo <= 1000:
            raise ScoreError(f"tempo must be within 1-1000 bpm, got {tempo}")
        prime_frames = None
        if primer is not None:
            if isinstance(primer, (str, Path)):
                from seqart.audio import read_score_or_audio

                primer = read_score_or_audio(primer)  # audio is transcribed first
            prime_frames = self.tokenizer.encode(primer)
            if not prime_frames.any():
                raise ScoreError("the primer has no notes inside the model's pitch range")
            if tempo is None and primer.tempos:
                tempo = primer.tempos[0].bpm
        self.last_seed = int(seed) if seed is not None else secrets.randbelow(2**31)
        generator = torch.Generator(device=self.device).manual_seed(self.last_seed)
        frames = self.model.generate(steps, num=num, temperature=temperature, primer=prime_frames,
                                     generator=generator)
        scores = []
        for piece in frames.cpu().numpy().astype(np.uint8):
            score = self.tokenizer.decode(piece)
            score.tempos = [TempoChange(0.0, float(tempo or 120.0))]
            scores.append(score)
        return scores

    def continue_(self, score: Score | str | Path, bars: int = 8, num: int = 1, **options) -> list[Score]:
        """Continue ``score`` by ``bars`` bars; same options as :meth:`sample`."""
        return self.sample(num=num, bars=bars, primer=score, **options)
