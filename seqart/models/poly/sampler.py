"""Sampling polyphonic frame models (``poly-lstm``, ``poly-nade``) into scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqart.errors import ScoreError
from seqart.generate.protocol import PrimerLike, draw_seed, read_primer, refuse_options
from seqart.score import Score, TempoChange

#: sampling defaults of a frame model (what None means)
DEFAULT_BARS = 16
DEFAULT_TEMPERATURE = 1.0


class FrameGenerator:
    """A trained frame model ready to sample piano rolls, written through the score model.

    Consecutive active frames of one pitch become one note. The frame grid is the
    model's tokenizer grid (``steps_per_beat`` frames per beat).

    Args:
        folder: a model folder of a frame model (or a run folder).
        device: torch device (default CPU).
    """

    def __init__(self, folder: str | Path, device: str | None = None):
        from seqart.models.folder import load_model, read_evaluation, resolve_model

        self.folder = resolve_model(folder)
        self.device = device or "cpu"
        self.model, self.tokenizer, meta = load_model(self.folder, device=self.device)
        self.model_type = meta["model"]
        self.evaluation = read_evaluation(self.folder)
        self.last_seed: int | None = None
        #: what an option left at None means for this model
        self.sampling_defaults: dict = {"bars": DEFAULT_BARS, "temperature": DEFAULT_TEMPERATURE}

    @property
    def steps_per_beat(self) -> int:
        return int(self.tokenizer.config.steps_per_beat)

    def sample(self, num: int = 1, *, seed: int | None = None, bars: int | None = None, steps: int | None = None,
               temperature: float | None = None, pitch_temperature: float | None = None,
               primer: PrimerLike | None = None, tempo: float | None = None,
               top_k: int | None = None, top_p: float | None = None, key=None, scale: str | None = None,
               pitch_range=None, time_signature=None, style: str | None = None, form: str | None = None,
               ending: str | None = None, track: int | None = None, pickup: bool | None = None) -> list[Score]:
        """Generate ``num`` pieces of ``steps`` frames (or ``bars`` bars of 4 beats) after an optional primer.

        Args:
            num: pieces, sampled as one batch.
            seed: same seed and options -> identical output (None draws one, kept in ``last_seed``).
            bars: length in 4/4 bars when ``steps`` is None (default 16).
            steps: frames to generate (overrides ``bars``).
            temperature: > 0 (default 1.0); divides every key's logit.
            primer: a Score or MIDI/MusicXML/ABC path whose frames open every piece unchanged.
            tempo: output tempo in bpm (default: the primer's, else 120).
            pitch_temperature, top_k, top_p, key, scale, pitch_range, time_signature, style, form, ending,
            track, pickup:
                melody-model options; a frame model refuses them (it continues every track of a primer).

        Raises:
            ScoreError: for options a frame model cannot honour, or bad values.
        """
        import torch

        refuse_options(self.model_type, {"pitch_temperature": pitch_temperature, "top_k": top_k, "top_p": top_p,
                                         "key": key, "scale": scale,
                                         "pitch_range": pitch_range, "time_signature": time_signature,
                                         "style": style, "form": form, "ending": ending, "track": track,
                                         "pickup": pickup},
                       "it samples whole piano-roll frames")
        if temperature is None:
            temperature = DEFAULT_TEMPERATURE
        if steps is None and bars is None:
            bars = DEFAULT_BARS
        if steps is None:
            if bars is None or bars < 1:
                raise ScoreError(f"bars must be at least 1, got {bars}")
            steps = bars * 4 * self.steps_per_beat
        if steps < 1:
            raise ScoreError(f"steps must be at least 1, got {steps}")
        if not temperature > 0:
            raise ScoreError(f"temperature must be > 0, got {temperature}")
        if num < 1:
            raise ScoreError(f"num must be at least 1, got {num}")
        if tempo is not None and not 1 <= tempo <= 1000:
            raise ScoreError(f"tempo must be within 1-1000 bpm, got {tempo}")
        prime_frames = None
        if primer is not None:
            primer = read_primer(primer)
            prime_frames = self.tokenizer.encode(primer)
            if not prime_frames.any():
                raise ScoreError("the primer has no notes inside the model's pitch range")
            if tempo is None and primer.tempos:
                tempo = primer.tempos[0].bpm
        self.last_seed = draw_seed(seed)
        generator = torch.Generator(device=self.device).manual_seed(self.last_seed)
        frames = self.model.generate(steps, num=num, temperature=temperature, primer=prime_frames,
                                     generator=generator)
        scores = []
        for piece in frames.cpu().numpy().astype(np.uint8):
            score = self.tokenizer.decode(piece)
            score.tempos = [TempoChange(0.0, float(tempo or 120.0))]
            scores.append(score)
        return scores

    def continue_score(self, score: PrimerLike, bars: int = 8, num: int = 1, **options) -> list[Score]:
        """Continue ``score`` by ``bars`` bars; same options as :meth:`sample`."""
        return self.sample(num=num, bars=bars, primer=score, **options)
