"""Synthetic melodies for tests: random walks on a grid, written without music21."""

from __future__ import annotations

import numpy as np

from seqart.score import KeySignature, Note, Score, TempoChange, TimeSignature, Track

MAJOR = (0, 2, 4, 5, 7, 9, 11)


def random_melody(seed: int, bars: int = 8, meter=(4, 4), tonic: int = 2, steps_per_beat: int = 4) -> Score:
    """A stepwise melody in ``tonic`` major on a 1/steps_per_beat grid, with rests."""
    rng = np.random.default_rng(seed)
    bar_beats = meter[0] * 4 / meter[1]
    total = int(bars * bar_beats * steps_per_beat)
    scale = [p for p in range(55, 85) if (p - tonic) % 12 in MAJOR]
    idx = len(scale) // 2
    notes, pos = [], 0
    while pos < total:
        length = int(rng.choice([1, 2, 2, 4, 4, 4, 8]))
        length = min(length, total - pos)
        if rng.random() < 0.12:
            pos += length  # a rest
            continue
        idx = int(np.clip(idx + rng.choice([-2, -1, -1, 0, 1, 1, 2]), 0, len(scale) - 1))
        notes.append(Note(scale[idx], pos / steps_per_beat, length / steps_per_beat, 80))
        pos += length
    return Score(
        tracks=[Track(notes=notes)],
        tempos=[TempoChange(0.0, 100.0)],
        time_signatures=[TimeSignature(0.0, *meter)],
        key_signatures=[KeySignature(0.0, tonic, "major")],
        title=f"walk {seed}",
    )


def write_melody_folder(folder, count: int = 24, bars: int = 8) -> None:
    """``count`` random melodies as MIDI files in ``folder`` (mixed meters)."""
    folder.mkdir(parents=True, exist_ok=True)
    meters = [(4, 4), (3, 4), (6, 8), (2, 4)]
    for i in range(count):
        random_melody(i, bars=bars, meter=meters[i % len(meters)], tonic=i % 12).write(folder / f"walk{i:03d}.mid")
