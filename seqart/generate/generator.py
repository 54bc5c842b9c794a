"""The generator facade a DAW script or the CLI uses: ``sample`` and ``continue_``."""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np

from seqart.errors import ModelError, ScoreError
from seqart.generate.constraints import parse_range, parse_time_signature
from seqart.models.folder import read_config, read_evaluation, read_weights_numpy, resolve_model
from seqart.score import KeySignature, Score

#: model types the NumPy sampler can run
_RECURRENT_LMS = {"melody-lstm"}


class Generator:
    """A trained melody model ready to sample.

    Args:
        folder: a model folder (``config.json`` + ``model.safetensors`` + ``tokenizer.json``).

    Attributes:
        folder: where the model lives.
        model_type: its registry name (e.g. ``"melody-lstm"``).
        evaluation: its held-out figures (``eval.json``), if recorded.
    """

    def __init__(self, folder: Path):
        from dataclasses import asdict

        from seqart.generate.melody import MelodySampler
        from seqart.generate.numpy_rnn import NumpyRNNLM
        from seqart.models.folder import load_tokenizer_of, model_config

        self.folder = Path(folder)
        meta = read_config(self.folder)
        self.model_type = meta["model"]
        if self.model_type not in _RECURRENT_LMS:
            hint = (" on its own; use seqart interpolate / vary / shift, or MelodyVAE.sample from Python"
                    if self.model_type == "music-vae" else "")
            raise ModelError(f"{folder}: a {self.model_type} model does not generate melodies{hint}")
        config = asdict(model_config(self.folder, meta))  # refuse absurd sizes before allocating
        self.tokenizer = load_tokenizer_of(self.folder)
        if config.get("vocab_size") != self.tokenizer.vocab_size:
            raise ModelError(f"{folder}: config vocab_size {config.get('vocab_size')} does not match "
                             f"tokenizer.json ({self.tokenizer.vocab_size})")
        weights = read_weights_numpy(self.folder)
        try:
            self.lm = NumpyRNNLM(weights, config)
        except (KeyError, ValueError) as exc:
            raise ModelError(f"{folder}: weights do not match the config ({exc})") from None
        self._sampler = MelodySampler(self.lm, self.tokenizer)
        self.evaluation = read_evaluation(self.folder)

    def sample(self, num: int = 1, bars: int = 16, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, seed: int | None = None, key: str | KeySignature | None = None,
               scale: str | None = None, pitch_range: str | tuple[int, int] | None = None,
               time_signature: str | tuple[int, int] | None = None, tempo: float | None = None,
               primer: Score | str | Path | None = None, steps: int | None = None) -> list[Score]:
        """Generate ``num`` melodies of ``bars`` bars (after ``primer``, if given).

        Args:
            num: how many melodies (sampled as one batch).
            bars: bars to generate.
            temperature: > 0; 0.8-1.0 gives idiomatic lines.
            top_k: sample among the k most likely step tokens only.
            top_p: nucleus sampling threshold in (0, 1].
            seed: same seed and options -> identical output; None draws one
                (kept in ``self.last_seed``).
            key: ``"D minor"``, ``"Bb"``, a KeySignature; the melody stays in it.
            scale: ``major``, ``dorian``, ``pentatonic``, ... on the key's tonic.
            pitch_range: ``"55-84"``, ``"G3-C6"`` or (low, high) MIDI, inclusive.
            time_signature: ``"6/8"`` or (6, 8).
            tempo: output tempo in bpm.
            primer: a Score or a MIDI/MusicXML/ABC path to continue (an audio path,
                .wav/.flac/.mp3, is transcribed first); each result begins
                with its notes unchanged.
            steps: frames, for frame models only; a melody model refuses it (use ``bars``).

        Returns:
            a list of ``num`` :class:`Score` objects (notes in beats).

        Raises:
            ScoreError: for invalid options (one-line message).
        """
        from seqart.generate.melody import SamplingOptions

        if steps is not None:
            raise ScoreError(f"--steps is for frame models; a {self.model_type} model takes --bars")
        if isinstance(primer, (str, Path)):
            from seqart.audio import read_score_or_audio

            primer = read_score_or_audio(primer)  # audio is transcribed first
        if primer is not None and primer.num_notes == 0:
            raise ScoreError("the primer has no notes")
        options = SamplingOptions(
            bars=bars, temperature=temperature, top_k=top_k, top_p=top_p,
            key=KeySignature.parse(key) if isinstance(key, str) else key,
            scale=scale,
            pitch_range=parse_range(pitch_range) if isinstance(pitch_range, str) else pitch_range,
            time_signature=parse_time_signature(time_signature) if isinstance(time_signature, str) else time_signature,
            tempo=tempo,
        )
        if seed is not None and not int(seed) >= 0:
            raise ScoreError(f"seed must be a whole number >= 0, got {seed}")
        self.last_seed = int(seed) if seed is not None else secrets.randbelow(2**31)
        rng = np.random.default_rng(self.last_seed)
        return self._sampler.sample(num, options, rng, primer=primer)

    def continue_(self, score: Score | str | Path, bars: int = 8, num: int = 1, **options) -> list[Score]:
        """Continue ``score`` by ``bars`` bars; same options as :meth:`sample`."""
        return self.sample(num=num, bars=bars, primer=score, **options)


#: model types sampled frame by frame (piano rolls), with torch
_FRAME_MODELS = {"poly-lstm", "poly-nade"}


def load_generator(model: str | Path = "folk", device: str | None = None):
    """A generator for a shipped model name or a model/run folder.

    Melody language models give a :class:`Generator` (NumPy, no torch import);
    frame models give a :class:`seqart.generate.frames.FrameGenerator` and image
    models (``dcgan``, ``image-vae``) a :class:`seqart.generate.images.ImageGenerator`
    (torch, on ``device``, default CPU).
    """
    from seqart.generate.images import IMAGE_MODELS

    folder = resolve_model(model)
    model_type = read_config(folder)["model"]
    if model_type in _FRAME_MODELS:
        from seqart.generate.frames import FrameGenerator

        return FrameGenerator(folder, device=device)
    if model_type in IMAGE_MODELS:
        from seqart.generate.images import ImageGenerator

        return ImageGenerator(folder, device=device)
    return Generator(folder)
