"""The accompaniment figures (seqart.evaluate.accompaniment) on hand-made pieces."""

from __future__ import annotations

from seqart.evaluate.accompaniment import (
    in_key_share,
    key_scale,
    strong_beat_coverage,
    strong_beats,
    voice_leading,
)
from seqart.score import KeySignature, Note, Score, TimeSignature, Track


def piece(melody, chords, meter=(4, 4)) -> Score:
    return Score(tracks=[Track([Note(p, s, d, 90) for p, s, d in melody]),
                         Track([Note(p, s, d, 64) for p, s, d in chords], program=24)],
                 time_signatures=[TimeSignature(0.0, *meter)])


def test_strong_beats_by_meter():
    assert strong_beats(TimeSignature(0.0, 4, 4)) == (0.0, 2.0)
    assert strong_beats(TimeSignature(0.0, 6, 8)) == (0.0, 1.5)
    assert strong_beats(TimeSignature(0.0, 3, 4)) == (0.0,)
    assert strong_beats(TimeSignature(0.0, 7, 8)) == (0.0,)


def test_coverage_counts_strong_beat_melody_notes_whose_pitch_class_sounds():
    c_major = [(48, 0.0, 4.0), (52, 0.0, 4.0), (55, 0.0, 4.0)]
    # beats 1 and 3 of bar 1 (E and D over C major), beat 1 of bar 2 (no chord); beat 2 is weak
    melody = [(76, 0.0, 1.0), (77, 1.0, 1.0), (74, 2.0, 2.0), (72, 4.0, 4.0)]
    assert strong_beat_coverage(piece(melody, c_major), 0, [1]) == (1, 3)
    jig = piece([(67, 0.0, 1.5), (69, 1.5, 1.5)], [(48, 0.0, 3.0), (52, 0.0, 3.0), (55, 0.0, 3.0)], (6, 8))
    assert strong_beat_coverage(jig, 0, [1]) == (1, 2)


def test_in_key_counts_a_minor_keys_leading_tone():
    a_minor = KeySignature(0.0, 9, "minor")
    assert key_scale(a_minor) == {9, 11, 0, 2, 4, 5, 7, 8}
    chords = [(52, 0.0, 2.0), (56, 0.0, 2.0), (59, 0.0, 2.0), (54, 2.0, 2.0)]  # E G# B, then F#
    assert in_key_share(piece([(69, 0.0, 4.0)], chords), [1], a_minor) == (3, 4)


def test_voice_leading_finds_crossings_and_parallel_fifths():
    def voices(*lines):
        return Score(tracks=[Track([Note(p, 2.0 * i, 2.0, 80) for i, p in enumerate(line)]) for line in lines],
                     time_signatures=[TimeSignature(0.0, 4, 4)])

    # soprano and bass a fifth (+ octaves) apart move up together: C/F -> D/G, one parallel per grid move
    parallel = voice_leading(voices([72, 74], [53, 55]), [0, 1])
    assert parallel.slices == 8 and parallel.moves == 7 and parallel.parallels == 1
    # contrary motion: none; the alto above the soprano in the second half note crosses
    crossed = voice_leading(voices([72, 67], [67, 69], [48, 52]), [0, 1, 2])
    assert crossed.parallels == 0
    assert crossed.crossings_below_top == 4 and crossed.crossings == 4
    silent = voice_leading(voices([72, 74], []), [0, 1])
    assert silent.slices == 0 and silent.moves == 0
