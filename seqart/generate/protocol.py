"""The one generation protocol every generator :func:`seqart.load` returns speaks.

Every generator has:

- ``folder`` (the model folder), ``model_type`` (its registry name),
  ``evaluation`` (its held-out figures, ``eval.json``, or None), ``last_seed``
  (the seed of the last call: drawn when None was given, so a result can be
  reproduced) and ``sampling_defaults`` (what an option left at None means, e.g.
  ``{"bars": 16, "temperature": 1.0}``);
- ``sample(num=1, *, seed=None, **options)``: ``num`` new pieces, the same for the
  same seed and options. Music models return a list of :class:`seqart.Score`
  (notes in beats); image models an ``uint8`` array ``(num, H, W, C)``.

Where they apply, the same verbs mean the same thing on every type:

- ``continue_score(score, bars=8, num=1, **options)``: pieces that begin with
  ``score``'s notes unchanged and go on for ``bars`` bars (melody and frame models);
- ``encode(scores)``, ``decode(z)``, ``interpolate(a, b, steps=8)``,
  ``vary(score, num=8)``, ``shift(score, attribute)``: latent models.

Every generator's ``sample`` takes every option in :data:`SAMPLE_OPTIONS` (so one
call site, ``seqart sample``, serves every type). An option a model cannot honour
(a key for a piano-roll model, a length for a fixed-span VAE) is refused with a
:class:`seqart.errors.ScoreError` naming it, never ignored. Options left at None
take the model's own default.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from seqart.errors import ScoreError
from seqart.score import Score

#: what a primer may be: a Score, or the path of a MIDI, MusicXML or ABC file
PrimerLike = Score | str | Path
#: the options of ``sample`` besides ``num`` and ``seed`` (see the module docstring)
SAMPLE_OPTIONS = ("bars", "steps", "temperature", "pitch_temperature", "top_k", "top_p", "key", "scale",
                  "pitch_range", "time_signature", "tempo", "primer", "track", "style", "form", "ending", "pickup")


@runtime_checkable
class Generator(Protocol):
    """What every generator has (see the module docstring)."""

    folder: Path
    model_type: str
    evaluation: dict | None
    last_seed: int | None
    sampling_defaults: dict

    def sample(self, num: int = 1, *, seed: int | None = None, **options: Any) -> Any: ...


@runtime_checkable
class MusicGenerator(Generator, Protocol):
    """A generator of scores that can continue one."""

    def sample(self, num: int = 1, *, seed: int | None = None, **options: Any) -> list[Score]: ...

    def continue_score(self, score: PrimerLike, bars: int = 8, num: int = 1, **options: Any) -> list[Score]: ...


@runtime_checkable
class LatentGenerator(Generator, Protocol):
    """A generator with a latent space (a VAE)."""

    def sample(self, num: int = 1, *, seed: int | None = None, **options: Any) -> list[Score]: ...

    def encode(self, scores: Score | Sequence[Score]) -> np.ndarray: ...

    def decode(self, z: np.ndarray, temperature: float = 0.0, seed: int | None = None) -> list[Score]: ...

    def interpolate(self, a: Score, b: Score, steps: int = 8, temperature: float = 0.0,
                    seed: int | None = None) -> list[Score]: ...


def draw_seed(seed: int | None) -> int:
    """``seed`` checked, or a fresh one when None (the caller keeps it as ``last_seed``).

    Raises:
        ScoreError: for a seed that is not a whole number >= 0.
    """
    if seed is None:
        return secrets.randbelow(2**31)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ScoreError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def read_primer(primer: PrimerLike) -> Score:
    """A primer as a Score: a Score as it is, a path read as a music file.

    Audio is transcribed by the layer above (``seqart sample --primer hum.wav``, or
    :func:`seqart.audio.transcribe` from Python) before it reaches a generator.

    Raises:
        ScoreError: for a primer without notes, or an audio file.
    """
    if isinstance(primer, (str, Path)):
        from seqart.io import AUDIO_EXTENSIONS

        if Path(primer).suffix.lower() in AUDIO_EXTENSIONS:
            raise ScoreError(f"{primer} is audio: transcribe it first (seqart.audio.transcribe), "
                             "then continue the Score it gives")
        primer = Score.from_file(primer)
    if primer.num_notes == 0:
        raise ScoreError("the primer has no notes")
    return primer


def settings_used(defaults: dict, given: dict[str, Any]) -> dict:
    """The options a ``sample`` call ran with: ``given`` (None: left out) over the
    generator's ``sampling_defaults``, where a temperature given alone tempers the
    pitches too (a melody model's ``pitch_temperature`` default holds only with its
    default temperature)."""
    settings = {**defaults, **{k: v for k, v in given.items() if v is not None}}
    if "pitch_temperature" in defaults and given.get("temperature") is not None \
            and given.get("pitch_temperature") is None:
        settings["pitch_temperature"] = given["temperature"]
    return settings


def refuse_options(model_type: str, given: dict[str, Any], reason: str) -> None:
    """Raise for options the caller set (not None) that ``model_type`` cannot honour.

    Args:
        model_type: named in the message.
        given: option name -> value; None values were not set and pass.
        reason: why they do not apply (``"it samples whole piano-roll frames"``).
    """
    named = sorted(k for k, v in given.items() if v is not None)
    if named:
        raise ScoreError(f"{', '.join(named)} do{'es' if len(named) == 1 else ''} not apply to a {model_type} "
                         f"model: {reason}")
