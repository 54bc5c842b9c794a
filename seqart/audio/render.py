"""Render a score to a WAV or FLAC file.

Two engines:

- ``"fluidsynth"``: pretty_midi's ``fluidsynth()`` with its bundled General MIDI
  soundfont (or any ``.sf2`` given). It needs the ``audio`` extra
  (``pip install "seqart[audio]"``, which brings pyfluidsynth) and the
  libfluidsynth library from the system package manager
  (``apt install libfluidsynth3``, ``brew install fluid-synth``).
- ``"builtin"``: :func:`seqart.audio.synth.synthesize`, numpy only, always there.

``"auto"`` takes FluidSynth when it can be loaded and the built-in synthesizer
otherwise. Either way the result is peak-normalised and written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqart.audio.synth import SAMPLE_RATE, synthesize
from seqart.errors import ScoreError, ScoreReadError, SeqartError
from seqart.score import Score
from seqart.utils.atomic import atomic_path
from seqart.utils.paths import refuse_existing

#: Output extensions (lower case) -> soundfile format.
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC"}
ENGINES = ("auto", "fluidsynth", "builtin")
_FLUIDSYNTH_HINT = ('pip install "seqart[audio]" for pyfluidsynth, and libfluidsynth3 from the system '
                    "package manager (apt install libfluidsynth3, brew install fluid-synth)")


def render(score_or_path: Score | str | Path, out_path: str | Path, sample_rate: int = SAMPLE_RATE,
           soundfont: str | Path | None = None, engine: str = "auto", overwrite: bool = False,
           peak_dbfs: float = -1.0) -> Path:
    """Render a score (or a MIDI/MusicXML/ABC file) to a WAV or FLAC file.

    Args:
        score_or_path: a :class:`Score` (times in beats) or a path to read one from.
        out_path: destination, ``.wav`` or ``.flac`` (the format follows the extension);
            missing folders are created.
        sample_rate: output rate in Hz.
        soundfont: a ``.sf2`` file for FluidSynth (None: pretty_midi's bundled
            General MIDI soundfont). Needs the FluidSynth engine.
        engine: ``"auto"`` (FluidSynth if it loads, else built-in), ``"fluidsynth"``
            or ``"builtin"``.
        overwrite: replace an existing ``out_path``; without it an existing file
            is an error and stays untouched.
        peak_dbfs: the loudest sample's level after normalising, in dB relative
            to full scale (-1.0 = amplitude 0.891).

    Returns:
        ``out_path`` as a :class:`Path`; the file holds 16-bit mono audio at
        ``sample_rate`` Hz.

    Raises:
        SeqartError: for an unknown extension or engine, an existing output
            without ``overwrite``, a missing soundfont, or FluidSynth asked for
            but not installed.
        ScoreReadError: if the input file cannot be read.
        ScoreError: if the score has no notes.
    """
    out_path = Path(out_path)
    fmt = audio_format(out_path)
    refuse_existing([out_path], overwrite)
    use_fluidsynth = _choose_engine(engine, soundfont)
    score = score_or_path if isinstance(score_or_path, Score) else Score.from_file(score_or_path)
    if score.num_notes == 0:
        raise ScoreError("nothing to render: the score has no notes")
    if use_fluidsynth:
        samples = _fluidsynth(score, sample_rate, soundfont)
    else:
        samples = synthesize(score, sample_rate=sample_rate)
    write_audio(normalize(samples, peak_dbfs), out_path, sample_rate, fmt)
    return out_path


def audio_format(path: str | Path) -> str:
    """The soundfile format (``"WAV"`` or ``"FLAC"``) for an output path's extension.

    Raises:
        SeqartError: for any other extension.
    """
    fmt = AUDIO_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise SeqartError(f"cannot write audio to {path}: use a .wav or .flac file name")
    return fmt


def normalize(samples: np.ndarray, peak_dbfs: float = -1.0) -> np.ndarray:
    """Scale ``samples`` (shape ``(n,)``) so the largest magnitude is ``peak_dbfs`` dB
    below full scale; silence stays silence. Returns float32, shape ``(n,)``."""
    samples = np.asarray(samples, dtype=np.float64)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > 0:
        samples = samples * (10.0 ** (peak_dbfs / 20.0) / peak)
    return samples.astype(np.float32)


def write_audio(samples: np.ndarray, path: str | Path, sample_rate: int, fmt: str | None = None) -> Path:
    """Write mono ``samples`` (shape ``(n,)``, in [-1, 1]) as 16-bit WAV or FLAC, atomically.

    Args:
        fmt: ``"WAV"`` or ``"FLAC"``; None picks by the extension.
    """
    import soundfile

    path = Path(path)
    fmt = fmt or audio_format(path)
    with atomic_path(path) as tmp:
        # The temporary name ends in .tmp, so the format must be given, not guessed.
        soundfile.write(str(tmp), samples, sample_rate, format=fmt, subtype="PCM_16")
    return path


def fluidsynth_available() -> bool:
    """True if pyfluidsynth imports and finds the libfluidsynth library."""
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth; loads libfluidsynth with ctypes)
    except (ImportError, OSError):
        return False
    return True


def _choose_engine(engine: str, soundfont: str | Path | None) -> bool:
    """True to render with FluidSynth, False for the built-in synthesizer."""
    if engine not in ENGINES:
        raise SeqartError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine == "builtin":
        if soundfont is not None:
            raise SeqartError("a soundfont needs the fluidsynth engine, not builtin")
        return False
    if soundfont is not None and not Path(soundfont).is_file():
        raise ScoreReadError(soundfont, "no such soundfont file")
    available = fluidsynth_available()
    if not available and (engine == "fluidsynth" or soundfont is not None):
        raise SeqartError(f"FluidSynth is not installed: {_FLUIDSYNTH_HINT}")
    return available


def _fluidsynth(score: Score, sample_rate: int, soundfont: str | Path | None) -> np.ndarray:
    """Render with pretty_midi + FluidSynth; returns float32, shape ``(n,)``."""
    import pretty_midi

    tempo = score.tempo_map
    midi = pretty_midi.PrettyMIDI()
    for track in score.tracks:
        instrument = pretty_midi.Instrument(program=track.program, is_drum=track.is_drum, name=track.name)
        for note in track.notes:
            instrument.notes.append(pretty_midi.Note(
                velocity=int(min(max(note.velocity, 1), 127)), pitch=int(note.pitch),
                start=tempo.beats_to_seconds(note.start), end=tempo.beats_to_seconds(note.end)))
        midi.instruments.append(instrument)
    sf2 = str(soundfont) if soundfont is not None else None
    # Positional: the second parameter is ``sf2_path`` in pretty_midi 0.2.10 and
    # ``synthesizer`` (which takes an .sf2 path) from 0.2.11 on; None = bundled soundfont.
    return np.asarray(midi.fluidsynth(sample_rate, sf2), dtype=np.float32)
