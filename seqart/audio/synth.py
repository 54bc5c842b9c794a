"""The built-in synthesizer: a :class:`~seqart.Score` to mono audio samples, numpy only.

Each note is a sum of harmonic partials shaped by an ADSR envelope; the
partial amplitudes, envelope times and decay rates (a :class:`Timbre`) come
from the track's General MIDI program family: piano, organ, plucked (guitar),
bass, strings and flute. Drum tracks sound as short noise bursts.

Note edges never click: the attack and release are raised-cosine ramps of a few
milliseconds or more, so every note starts and ends at zero amplitude with a
smooth slope, and the mix is continuous wherever notes begin or end.

Times in the score are beats; the score's tempo map turns them into seconds,
and seconds into samples at ``sample_rate`` (Hz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqart.score import Score

__all__ = ["SAMPLE_RATE", "TIMBRES", "Timbre", "midi_to_hz", "synthesize", "timbre_for"]

#: Default output rate in Hz (CD audio; what FluidSynth renders at too).
SAMPLE_RATE = 44100

#: Loudness of one note at velocity 127, before the mix is limited to [-1, 1].
_NOTE_GAIN = 0.3


@dataclass(frozen=True)
class Timbre:
    """How one instrument family sounds.

    Attributes:
        name: family name (``"piano"``, ``"organ"``, ...).
        partials: relative amplitudes of harmonics 1, 2, 3, ... (the fundamental first).
        attack: attack time in seconds (raised-cosine rise from 0 to 1).
        decay: decay time in seconds (linear fall from 1 to ``sustain``).
        sustain: sustain level, 0-1, relative to the attack peak.
        release: release time in seconds after the note's end (raised-cosine fall to 0).
        fade: exponential fade rate of the sustain in 1/s (0 = held level, as an organ).
        partial_fade: extra fade rate in 1/s per harmonic number above 1 (bright
            attack that mellows, as a plucked string).
        vibrato: vibrato depth in semitones (0 = none), at 5.5 Hz, fading in over 0.3 s.
    """

    name: str
    partials: tuple[float, ...]
    attack: float
    decay: float
    sustain: float
    release: float
    fade: float = 0.0
    partial_fade: float = 0.0
    vibrato: float = 0.0


TIMBRES = {
    "piano": Timbre("piano", (1.0, 0.45, 0.3, 0.18, 0.12, 0.07, 0.05, 0.03), attack=0.004, decay=0.3,
                    sustain=0.45, release=0.08, fade=0.9, partial_fade=0.5),
    "organ": Timbre("organ", (1.0, 0.7, 0.0, 0.5, 0.0, 0.3, 0.0, 0.25), attack=0.012, decay=0.02,
                    sustain=0.95, release=0.04),
    "pluck": Timbre("pluck", (1.0, 0.7, 0.45, 0.3, 0.2, 0.12, 0.08, 0.05, 0.03), attack=0.003, decay=0.08,
                    sustain=0.6, release=0.05, fade=2.5, partial_fade=1.5),
    "bass": Timbre("bass", (1.0, 0.6, 0.25, 0.12, 0.05), attack=0.006, decay=0.15, sustain=0.7,
                   release=0.05, fade=0.8, partial_fade=0.8),
    "strings": Timbre("strings", tuple(1.0 / k for k in range(1, 11)), attack=0.08, decay=0.1,
                      sustain=0.85, release=0.15, vibrato=0.12),
    "flute": Timbre("flute", (1.0, 0.12, 0.04), attack=0.04, decay=0.05, sustain=0.9, release=0.06,
                    vibrato=0.08),
}

# General MIDI program ranges (0-based) -> family; every program gets one.
_FAMILY_RANGES = (
    (0, 15, "piano"),     # pianos, chromatic percussion
    (16, 23, "organ"),
    (24, 31, "pluck"),    # guitars
    (32, 39, "bass"),
    (40, 55, "strings"),  # strings, ensembles, choirs
    (56, 71, "organ"),    # brass and reeds: steady and bright
    (72, 79, "flute"),    # pipes
    (80, 87, "organ"),    # synth leads
    (88, 103, "strings"),  # synth pads and effects
    (104, 111, "pluck"),  # ethnic: sitar, banjo, shamisen, koto, ...
    (112, 119, "piano"),  # percussive
    (120, 127, "flute"),  # sound effects: a soft sine will do
)

# Drum hits: (exponential decay time in s) by GM key range; cymbals ring longest.
_DRUM_KICK_MAX = 36
_DRUM_CYMBALS = range(49, 60)


def timbre_for(program: int) -> Timbre:
    """The :class:`Timbre` of a General MIDI program (0-127; values outside are clipped)."""
    program = min(max(int(program), 0), 127)
    for low, high, family in _FAMILY_RANGES:
        if low <= program <= high:
            return TIMBRES[family]
    raise AssertionError("unreachable: the ranges cover 0-127")


def midi_to_hz(pitch: float) -> float:
    """Frequency in Hz of a MIDI pitch (69 = A4 = 440 Hz)."""
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def synthesize(score: Score, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Render ``score`` with the built-in synthesizer.

    Args:
        score: the score; note times in beats, converted with ``score.tempo_map``.
        sample_rate: output rate in Hz.

    Returns:
        float32 array, shape ``(num_samples,)``: mono samples in [-1, 1], from
        time 0 to the end of the last note's release. Samples where no note
        sounds are exactly 0. The mix is scaled down only if it would clip, so
        loudness follows velocity; :func:`seqart.audio.render.render`
        peak-normalises. An empty score gives shape ``(0,)``.
    """
    tempo = score.tempo_map
    events = []  # (first sample, note samples in float64) for overlap-add
    rng = np.random.default_rng(0)  # drums: the same score always sounds the same
    for track in score.tracks:
        timbre = None if track.is_drum else timbre_for(track.program)
        for note in track.notes:
            start_s = tempo.beats_to_seconds(note.start)
            length_s = max(tempo.beats_to_seconds(note.end) - start_s, 0.0)
            gain = _NOTE_GAIN * (min(max(note.velocity, 1), 127) / 127.0) ** 1.5
            if timbre is None:
                samples = _drum_hit(note.pitch, sample_rate, rng)
            else:
                samples = _tone(midi_to_hz(note.pitch), length_s, timbre, sample_rate)
            events.append((int(round(start_s * sample_rate)), gain * samples))
    if not events:
        return np.zeros(0, dtype=np.float32)
    total = max(first + len(s) for first, s in events)
    mix = np.zeros(total, dtype=np.float64)
    for first, samples in events:
        mix[first:first + len(samples)] += samples
    peak = float(np.max(np.abs(mix)))
    if peak > 1.0:
        mix /= peak
    return mix.astype(np.float32)


def _tone(freq: float, length_s: float, timbre: Timbre, sample_rate: int) -> np.ndarray:
    """One pitched note: harmonic partials times the ADSR envelope.

    Args:
        freq: fundamental in Hz.
        length_s: time from onset to release start, in seconds.

    Returns:
        float64 array, shape ``(round((max(length_s, timbre.attack) + timbre.release)
        * sample_rate),)``; it starts and ends at 0.
    """
    # A note shorter than its attack still reaches full level before it is released.
    length_s = max(length_s, timbre.attack)
    n = max(int(round((length_s + timbre.release) * sample_rate)), 2)
    t = np.arange(n) / sample_rate  # (n,) seconds since the onset
    amps = np.asarray(timbre.partials, dtype=np.float64)
    amps = amps / amps.sum()  # the timbre changes colour, not loudness
    # Partials near or above Nyquist would alias into wrong, inharmonic pitches.
    amps = amps[: max(int(0.45 * sample_rate / freq), 1)]
    if timbre.vibrato:
        depth = timbre.vibrato * np.minimum(t / 0.3, 1.0)  # (n,) semitones
        ratio = 2.0 ** (depth * np.sin(2 * np.pi * 5.5 * t) / 12.0)
        cycles = np.cumsum(freq * ratio) / sample_rate  # (n,) cycles of the fundamental
    else:
        cycles = freq * t
    theta = 2 * np.pi * cycles  # (n,) phase of the fundamental, radians
    # sin(k * theta) by the Chebyshev recurrence: one multiply-add per harmonic
    # instead of one sin() per harmonic and sample.
    two_cos = 2.0 * np.cos(theta)
    below, current = np.zeros_like(theta), np.sin(theta)
    fade_step = np.exp(-timbre.partial_fade * t)  # (n,) harmonic k fades as fade_step ** (k - 1)
    fade = np.ones_like(t)
    wave = amps[0] * current
    for amp in amps[1:]:
        below, current = current, two_cos * current - below
        fade *= fade_step
        if amp:
            wave += amp * fade * current
    return wave * _envelope(t, length_s, timbre)


def _envelope(t: np.ndarray, length_s: float, timbre: Timbre) -> np.ndarray:
    """ADSR amplitude, shape of ``t``: raised-cosine attack, linear decay, sustain
    with exponential fade, and a raised-cosine release from ``length_s`` seconds
    to the last sample, ending at 0."""
    attack = max(timbre.attack, 0.002)
    rise = _ramp(t / attack)
    fall = 1.0 - (1.0 - timbre.sustain) * np.clip((t - attack) / max(timbre.decay, 1e-3), 0.0, 1.0)
    fade = np.exp(-timbre.fade * np.maximum(t - attack - timbre.decay, 0.0))
    # The release ramp multiplies a continuous curve, so the level never jumps.
    release = max(t[-1] - length_s, 1e-3)
    gate = 1.0 - _ramp((t - length_s) / release)
    return rise * fall * fade * gate


def _ramp(x: np.ndarray) -> np.ndarray:
    """Raised-cosine step: 0 for x <= 0, 1 for x >= 1, with zero slope at both ends."""
    x = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def _drum_hit(pitch: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A drum as a noise burst (a low thump for kick drums), shape ``(samples,)``,
    starting and ending at 0."""
    if pitch <= _DRUM_KICK_MAX:
        tau = 0.08
        n = int(5 * tau * sample_rate)
        t = np.arange(n) / sample_rate
        wave = np.sin(2 * np.pi * np.cumsum(55.0 + 90.0 * np.exp(-t / 0.03)) / sample_rate)
    else:
        tau = 0.25 if pitch in _DRUM_CYMBALS else 0.05
        n = int(5 * tau * sample_rate)
        t = np.arange(n) / sample_rate
        wave = rng.uniform(-1.0, 1.0, n) * 0.7
    env = np.exp(-t / tau) * _ramp(t / 0.001) * (1.0 - _ramp((t - t[-1] + 0.005) / 0.005))
    return wave * env


