"""Hearing scores and listening to audio: synthesis, rendering to WAV/FLAC, transcription.

- :func:`seqart.audio.synth.synthesize` — the built-in additive synthesizer,
  Score -> float32 mono samples.
- :func:`seqart.audio.render.render` — a score or music file to a peak-normalised
  WAV or FLAC file (FluidSynth when installed, else the built-in synthesizer).
- :func:`seqart.audio.transcribe.transcribe` — a monophonic recording (voice,
  whistle, one instrument) to a quantised one-track :class:`~seqart.Score`.

Importing this package is cheap (no numpy, librosa or soundfile): each module
loads its heavy libraries itself, and :func:`read_score_or_audio` only when it
meets an audio file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seqart.score import Score

#: Extensions read as audio (and transcribed) where a score file is expected.
from seqart.io import AUDIO_EXTENSIONS  # noqa: E402 - re-exported: the extensions transcribe() reads


def is_audio_path(path: str | Path) -> bool:
    """True if ``path``'s extension is one of :data:`AUDIO_EXTENSIONS` (case-insensitive)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def read_score_or_audio(path: str | Path, steps_per_beat: int = 4) -> "Score":
    """Read a score file, or transcribe an audio file into one.

    An audio extension (:data:`AUDIO_EXTENSIONS`) goes through
    :func:`seqart.audio.transcribe.transcribe` (onsets and durations quantised
    to ``steps_per_beat`` steps per beat, tempo estimated); anything else
    through :meth:`seqart.Score.from_file`.

    Returns:
        a :class:`~seqart.Score` (times in beats).

    Raises:
        ScoreReadError: one-line message naming the file, for an unreadable
            file or audio without pitched notes.
    """
    if is_audio_path(path):
        from seqart.audio.transcribe import transcribe

        return transcribe(path, steps_per_beat=steps_per_beat)
    from seqart.score import Score

    return Score.from_file(path)
