"""Transcribe a monophonic recording (a voice, a whistle, one instrument) into a Score.

The steps:

1. pitch track with probabilistic YIN (``librosa.pyin``): one fundamental
   frequency and a voiced/unvoiced decision per analysis frame (16 ms);
2. segment notes: a note is a run of voiced, loud-enough frames, split where the
   pitch moves by a semitone or more for at least :data:`CHANGE_SECONDS`, and
   where the level dips and rises again (a repeated note); note starts are
   timed by onset detection (``librosa.onset``);
3. estimate the tempo, unless it is given: librosa's estimate (the one
   ``librosa.beat.beat_track`` starts from) over the note onsets, refined by
   how well the onsets fall on the grid;
4. quantise onsets and ends to ``1 / steps_per_beat`` beats, with the grid's
   phase fitted to all onsets (the first note starts at beat 0).

librosa is imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqart.errors import ScoreError, ScoreReadError, one_line
from seqart.score import Note, Score, TempoChange, Track

#: Analysis sample rate in Hz: enough for fundamentals up to C7 (2093 Hz), and pyin
#: costs half what it does at 44.1 kHz.
ANALYSIS_RATE = 16000
#: Hop between analysis frames, in samples at :data:`ANALYSIS_RATE` (16 ms).
HOP = 256
#: pyin window in samples (64 ms: four periods of the lowest pitch, C2).
FRAME = 1024
#: Lowest and highest fundamentals tracked, as MIDI pitches (C2 and C7).
LOWEST_PITCH, HIGHEST_PITCH = 36, 96
#: A pitch change must last this long (seconds) to start a new note; shorter
#: excursions (a scoop, vibrato, a tracking blip) stay part of the note.
CHANGE_SECONDS = 0.05
#: Notes shorter than this (seconds) are dropped as glitches.
MIN_NOTE_SECONDS = 0.045
#: Frames quieter than this (dB below the loudest frame) count as silence.
SILENCE_DB = 35.0
#: A dip in level followed by a rise this big (dB, within 100 ms) re-attacks a
#: held pitch: a repeated note.
REATTACK_DB = 3.0


@dataclass(frozen=True)
class DetectedNote:
    """A note found in audio, before quantisation.

    Attributes:
        start: onset in seconds from the start of the audio.
        end: offset in seconds.
        pitch: MIDI pitch (the median of the note's tracked pitch, rounded).
        level_db: loudness in dB relative to the loudest frame (<= 0).
    """

    start: float
    end: float
    pitch: int
    level_db: float


def transcribe(wav_path: str | Path, steps_per_beat: int = 4, tempo: float | None = None,
               program: int = 0) -> Score:
    """Transcribe a monophonic recording into a one-track score.

    Args:
        wav_path: an audio file librosa reads (WAV, FLAC, OGG; MP3 where the
            system's libsndfile or audioread can decode it). Stereo is mixed down.
        steps_per_beat: quantisation grid, steps per beat (quarter note); 4 = sixteenths.
        tempo: the recording's tempo in bpm; None estimates it.
        program: General MIDI program of the output track.

    Returns:
        a :class:`Score` with one monophonic track (notes never overlap), onsets
        and durations on the grid (times in beats, the first note at beat 0),
        one tempo (``tempo``, or the estimate rounded to 0.1 bpm) and the
        default 4/4 meter.

    Raises:
        ScoreReadError: (one line, naming the file) for a missing or unreadable
            file, or audio in which no pitched note is found (silence, noise).
        ScoreError: for a ``steps_per_beat`` below 1 or a non-positive ``tempo``.
    """
    if steps_per_beat < 1:
        raise ScoreError(f"steps per beat must be at least 1, not {steps_per_beat}")
    if tempo is not None and not 0 < tempo <= 1000:
        raise ScoreError(f"absurd tempo {tempo:g} bpm")
    samples = load_audio(wav_path)
    found = detect_notes(samples)
    if not found:
        raise ScoreReadError(wav_path, "no pitched notes found (silence or noise?)")
    onsets = np.array([n.start for n in found])
    bpm = float(tempo) if tempo is not None else estimate_tempo(onsets, steps_per_beat)
    score = quantize_notes(found, bpm, steps_per_beat, program=program)
    score.source = str(wav_path)
    score.title = Path(wav_path).stem
    return score


def load_audio(path: str | Path, sample_rate: int = ANALYSIS_RATE) -> np.ndarray:
    """Read an audio file as mono float32 samples at ``sample_rate`` Hz, shape ``(n,)``.

    Raises:
        ScoreReadError: for a missing, unreadable, empty or non-finite file.
    """
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ScoreReadError.from_os_error(path, exc) from None
    import warnings

    import librosa

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # librosa warns before falling back to audioread
            samples, _ = librosa.load(str(path), sr=sample_rate, mono=True)
    except Exception as exc:  # soundfile, audioread and resampling errors all mean "unreadable"
        # audioread's NoBackendError carries no message: it means no decoder knew the bytes.
        reason = one_line(exc, 120) if str(exc).strip() else "unknown or corrupt format"
        raise ScoreReadError(path, f"not readable as audio ({reason})") from None
    if samples.size < FRAME:
        raise ScoreReadError(path, "audio is empty or shorter than 0.1 s")
    if not np.all(np.isfinite(samples)):
        raise ScoreReadError(path, "audio holds non-finite samples")
    return samples.astype(np.float32)


def detect_notes(samples: np.ndarray, sample_rate: int = ANALYSIS_RATE) -> list[DetectedNote]:
    """Find the notes of a monophonic signal, in seconds.

    Args:
        samples: mono audio, shape ``(n,)``.
        sample_rate: its rate in Hz.

    Returns:
        the notes in time order, never overlapping; empty if nothing is pitched.
    """
    import librosa

    hop_s = HOP / sample_rate
    f0, voiced, _ = librosa.pyin(
        samples, fmin=librosa.midi_to_hz(LOWEST_PITCH), fmax=librosa.midi_to_hz(HIGHEST_PITCH),
        sr=sample_rate, frame_length=FRAME, hop_length=HOP,
        resolution=0.2,  # 0.2 semitone bins: rounding to semitones needs no finer, and it is 4x faster
    )  # (frames,) Hz (NaN unvoiced), (frames,) bool
    rms = librosa.feature.rms(y=samples, frame_length=FRAME, hop_length=HOP)[0]  # (frames,)
    frames = min(len(f0), len(rms))
    f0, voiced, rms = f0[:frames], voiced[:frames], rms[:frames]
    level_db = 20 * np.log10(np.maximum(rms, 1e-10) / max(float(rms.max()), 1e-10))  # (frames,) <= 0
    voiced = voiced & np.isfinite(f0) & (level_db > -SILENCE_DB) & (rms > 1e-4)
    if not voiced.any():
        return []
    pitch = np.full(frames, np.nan)
    pitch[voiced] = librosa.hz_to_midi(f0[voiced])  # (frames,) fractional MIDI pitch

    # Timing: onsets from spectral flux, with a maximum filter across frequency
    # (SuperFlux, ``max_size``) so that vibrato is no onset.
    envelope = librosa.onset.onset_strength(y=samples, sr=sample_rate, hop_length=HOP, max_size=5)
    onset_frames = librosa.onset.onset_detect(onset_envelope=envelope, sr=sample_rate, hop_length=HOP,
                                              units="frames")
    onset_frames = onset_frames[onset_frames < frames]
    # Re-attacks of a held pitch: dips in a sharper level curve (32 ms windows).
    fine = librosa.feature.rms(y=samples, frame_length=FRAME // 2, hop_length=HOP)[0][:frames]
    reattacks = _dips(20 * np.log10(np.maximum(fine, 1e-10)), REATTACK_DB)

    change_frames = max(int(round(CHANGE_SECONDS / hop_s)), 1)
    min_frames = max(int(round(MIN_NOTE_SECONDS / hop_s)), 1)
    notes = []
    for run_start, run_end in _runs(voiced):
        for a, b in _split_run(pitch, reattacks, run_start, run_end, change_frames, min_frames):
            if b - a < min_frames:
                continue
            notes.append(DetectedNote(
                start=_onset_time(a, onset_frames, hop_s), end=b * hop_s,
                pitch=int(round(float(np.median(pitch[a:b])))),
                level_db=float(np.max(level_db[a:b])),
            ))
    # An onset pulled earlier can reach into the previous note: keep them apart.
    for i in range(1, len(notes)):
        if notes[i].start < notes[i - 1].end:
            prev = notes[i - 1]
            notes[i - 1] = DetectedNote(prev.start, max(notes[i].start, prev.start + hop_s), prev.pitch, prev.level_db)
    return notes


def _dips(level_db: np.ndarray, rise_db: float, reach: int = 6) -> np.ndarray:
    """Frames (sorted, shape ``(k,)``) where ``level_db`` (shape ``(frames,)``) has a
    local minimum followed, within ``reach`` frames, by a rise of ``rise_db`` or
    more, and preceded, within ``reach`` frames, by a fall of half that or more
    (a decaying note struck again falls only a little before the new attack)."""
    frames = len(level_db)
    padded = np.pad(level_db, reach, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, reach)  # (frames + reach + 1, reach)
    before = windows[:frames].max(axis=1)  # max of level[f - reach : f]
    after = windows[reach + 1:reach + 1 + frames].max(axis=1)  # max of level[f + 1 : f + 1 + reach]
    left = np.concatenate([[np.inf], level_db[:-1]])
    right = np.concatenate([level_db[1:], [np.inf]])
    is_min = (level_db <= left) & (level_db < right)
    deep = (before - level_db >= rise_db / 2) & (after - level_db >= rise_db)
    return np.flatnonzero(is_min & deep)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` frame ranges where ``mask`` (shape ``(frames,)``) is True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _split_run(pitch, onsets, start, end, change_frames, min_frames) -> list[tuple[int, int]]:
    """Split the voiced frames ``[start, end)`` into notes, as ``[a, b)`` frame ranges.

    Pitch boundaries: where the pitch moves a semitone or more (0.8, for sung
    notes a little off pitch) from the current note's median pitch and stays
    there, steady, for ``change_frames`` frames. Onsets (re-attacks) within
    ``min_frames`` of a pitch boundary move it to the onset, which times an
    attack more sharply; other onsets split a note in two (a repeated note).

    Args:
        pitch: fractional MIDI pitch per frame, shape ``(frames,)``.
        onsets: re-attack frame numbers, sorted, shape ``(k,)``.
    """
    bounds = [start]
    for here in range(start + min_frames, end):
        if here - bounds[-1] < min_frames:
            continue
        reference = np.median(pitch[bounds[-1]:here])
        window = pitch[here:here + change_frames]
        if (len(window) == change_frames and np.all(np.abs(window - reference) >= 0.8)
                and np.ptp(window) < 1.0):
            bounds.append(here)
    for onset in onsets[(onsets > start) & (onsets < end)]:
        nearest = min(range(len(bounds)), key=lambda i: abs(bounds[i] - onset))
        if abs(bounds[nearest] - onset) < 2 * min_frames:
            if nearest > 0:
                bounds[nearest] = int(onset)
        else:
            bounds.append(int(onset))
    bounds = sorted(set(bounds)) + [end]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _onset_time(frame: int, onset_frames: np.ndarray, hop_s: float) -> float:
    """A note's start in seconds: the nearest detected onset within 3 frames of its
    first voiced frame (onsets are sharper than voicing decisions), else that frame."""
    if len(onset_frames):
        nearest = onset_frames[np.argmin(np.abs(onset_frames - frame))]
        if abs(int(nearest) - frame) <= 3:
            return float(nearest) * hop_s
    return frame * hop_s


def estimate_tempo(onsets: np.ndarray, steps_per_beat: int = 4) -> float:
    """The tempo of a melody from its note onsets, in bpm (rounded to 0.1).

    librosa's tempo estimate (the autocorrelation with a prior around 120 bpm
    that ``librosa.beat.beat_track`` starts from) over an envelope of the note
    onsets, which vibrato and legato do not blur as they blur spectral flux;
    then, with four or more notes, the tempo within 8% of it whose grid of
    ``steps_per_beat`` steps per beat the onsets fit best. A melody fits
    related tempi too, so the result may be twice, half or 2/3 of the tempo a
    listener would tap: pass the tempo when it matters.

    Args:
        onsets: note onsets in seconds from the start of the audio, shape ``(notes,)``.
    """
    import librosa

    hop_s = HOP / ANALYSIS_RATE
    envelope = np.zeros(int(round(onsets.max() / hop_s)) + 64)  # (frames,) + room for the last beat
    envelope[np.round(onsets / hop_s).astype(int)] = 1.0
    envelope = np.convolve(envelope, [0.25, 0.5, 1.0, 0.5, 0.25], mode="same")  # tolerate jitter
    rough = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=envelope, sr=ANALYSIS_RATE,
                                                      hop_length=HOP))[0])
    if not np.isfinite(rough) or rough <= 0:
        rough = 120.0
    if len(onsets) < 4:
        return round(rough, 1)
    best, best_fit = rough, -1.0
    for ratio in (1.0, 2.0 / 3.0, 1.5):
        candidates = np.arange(round(rough * ratio * 0.92, 1), rough * ratio * 1.08, 0.05)  # (C,) bpm
        beats = (onsets - onsets[0])[None, :] * candidates[:, None] / 60.0  # (C, notes) beats
        # How well the onsets sit on beats, on half beats, ... on grid steps: each
        # level alone is fooled (by off-beats, by timing jitter), their mean is not.
        levels = [k for k in range(1, steps_per_beat + 1) if steps_per_beat % k == 0]
        fit = np.mean([np.abs(np.exp(2j * np.pi * k * beats).mean(axis=1)) for k in levels], axis=0)  # (C,)
        fit *= 1.0 if ratio == 1.0 else 0.9
        if fit.max() > best_fit:
            best, best_fit = float(candidates[int(np.argmax(fit))]), float(fit.max())
    return round(best, 1)


def quantize_notes(notes: list[DetectedNote], bpm: float, steps_per_beat: int = 4,
                   program: int = 0) -> Score:
    """Put detected notes (seconds) on a grid of ``steps_per_beat`` steps per beat at ``bpm``.

    The grid's phase is the circular mean of all onsets' phases, so one early or
    late first note does not shift the rest; the grid point at the first onset
    is beat 0. Notes that land on an occupied step are dropped; a note is cut
    where the next begins, and lasts at least one step.

    Returns:
        a one-track :class:`Score` (times in beats) with tempo ``bpm``; velocity
        follows each note's level (100 for the loudest, 2 per dB less, 30 at least).
    """
    step_s = 60.0 / (bpm * steps_per_beat)
    onsets = np.array([n.start for n in notes])
    phase = np.angle(np.exp(2j * np.pi * (onsets - onsets[0]) / step_s).mean()) / (2 * np.pi)
    origin = onsets[0] + phase * step_s  # seconds at beat 0; |phase| <= 1/2, so the first note lands on 0
    loudest = max(n.level_db for n in notes)
    steps: list[list[int]] = []  # [start step, end step, pitch, velocity] per kept note
    for n in notes:
        start = max(int(round((n.start - origin) / step_s)), 0)
        end = max(int(round((n.end - origin) / step_s)), start + 1)
        if steps and start <= steps[-1][0]:
            continue  # two onsets in one step: keep the first
        if steps and steps[-1][1] > start:
            steps[-1][1] = start
        velocity = int(np.clip(round(100 + 2.0 * (n.level_db - loudest)), 30, 110))
        steps.append([start, end, n.pitch, velocity])
    q = float(steps_per_beat)
    line = [Note(pitch, start / q, (end - start) / q, velocity) for start, end, pitch, velocity in steps]
    return Score(tracks=[Track(notes=line, program=program, name="transcription")],
                 tempos=[TempoChange(0.0, float(bpm))])
