"""Tests of seqart.corpora.benchmark_tracks and the events build of benchmark ``.mat`` files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqart.corpora import CorpusDataset, build_corpus
from seqart.corpora.benchmark_tracks import (
    infer_meter,
    nottingham_score,
    piano_score,
    roll_to_notes,
    split_melody_chords,
)
from seqart.errors import CorpusError, ScoreError

_SHARED_CANDIDATES = [Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")]
NOTTINGHAM = next((p / "data/polyphonic/Nottingham.mat" for p in _SHARED_CANDIDATES
                   if (p / "data/polyphonic/Nottingham.mat").is_file()), None)

#: C, F, G and A minor triads: each bass a different pitch class.
CHORDS = ([48, 52, 55], [53, 57, 60], [55, 59, 62], [45, 48, 52])


def roll_of(frames: list[list[int]]) -> np.ndarray:
    """A ``(T, 88)`` uint8 roll from the MIDI pitches sounding in each frame."""
    roll = np.zeros((len(frames), 88), dtype=np.uint8)
    for t, pitches in enumerate(frames):
        roll[t, [p - 21 for p in pitches]] = 1
    return roll


def pitches(roll: np.ndarray) -> list[list[int]]:
    return [[int(k) + 21 for k in np.flatnonzero(frame)] for frame in roll]


def tune(bar: int, chord_at, melody_bar, bars: int = 8, pickup: int = 0) -> np.ndarray:
    """A roll of ``pickup`` melody-only frames, then ``bars`` bars of ``bar`` frames.

    ``chord_at(b)`` gives the positions in bar ``b`` where the next chord of
    :data:`CHORDS` starts; ``melody_bar`` the ``(position, frames)`` melody notes of
    every bar, pitches cycling 72, 74, 76 so that neighbours never merge.
    """
    melody = [72 + 2 * (i % 3) for i in range(pickup)]
    chords: list[list[int]] = [[] for _ in range(pickup)]
    n, k, chord = pickup, 0, []
    for b in range(bars):
        line = [0] * bar
        for pos, length in melody_bar:
            line[pos:pos + length] = [72 + 2 * (n % 3)] * length
            n += 1
        melody += line
        for pos in range(bar):
            if pos in chord_at(b):
                chord, k = CHORDS[k % len(CHORDS)], k + 1
            chords.append(chord)
    return roll_of([c + ([m] if m else []) for c, m in zip(chords, melody)])


def meter_of(roll: np.ndarray) -> tuple[int, int, int]:
    return infer_meter(*split_melody_chords(roll), steps_per_beat=2)


# ------------------------------------------------------------------ notes
def test_roll_to_notes_merges_runs_of_a_pitch():
    roll = roll_of([[60], [60, 64], [60], [], [60]])
    assert roll_to_notes(roll, steps_per_beat=2) == [(60, 0.0, 1.5), (64, 0.5, 0.5), (60, 2.0, 0.5)]
    assert roll_to_notes(roll, steps_per_beat=1)[0] == (60, 0.0, 3.0)
    assert roll_to_notes(np.zeros((0, 88)), 2) == []


def test_bad_rolls_get_one_line_errors():
    with pytest.raises(ScoreError, match=r"shape \(T, 88\), got \(4, 12\)"):
        roll_to_notes(np.zeros((4, 12)), 2)
    with pytest.raises(ScoreError, match="steps_per_beat must be a whole number"):
        nottingham_score(np.zeros((4, 88)), "x", steps_per_beat=0)


# ------------------------------------------------------------------ split
def test_split_rests_the_melody_on_chord_only_frames_but_keeps_doubled_steps():
    c, g = CHORDS[0], CHORDS[2]
    frames = [[67], c + [64], c + [67], c, c + [64], g + [65], g, g + [64], g, g + [64], []]
    melody, chords = split_melody_chords(roll_of(frames))
    # frame 3 (after a leap from 67) and frame 6 (a third from 65) hold only the chord;
    # frame 8's top note, a step from 64 on both sides, is the melody doubling the chord's D
    assert pitches(melody) == [[67], [64], [67], [], [64], [65], [], [64], [62], [64], []]
    assert pitches(chords) == [[], c, c, c, c, g, g, g, [55, 59], g, []]
    assert not (melody & chords).any() and ((melody | chords) == roll_of(frames).astype(bool)).all()


# ------------------------------------------------------------------ meter
def test_three_beat_tunes_are_6_8_or_3_4_by_where_long_notes_start():
    jig = tune(6, lambda b: (0,), [(0, 2), (2, 1), (3, 2), (5, 1)])
    waltz = tune(6, lambda b: (0,), [(0, 2), (2, 2), (4, 1), (5, 1)])
    eighth_quarter_jig = tune(6, lambda b: (0,), [(0, 1), (1, 2), (3, 1), (4, 2)])
    assert meter_of(jig) == (6, 8, 0)
    assert meter_of(waltz) == (3, 4, 0)
    assert meter_of(eighth_quarter_jig) == (6, 8, 0)


def test_4_4_with_changes_on_beat_3_stays_4_4_and_even_changes_make_2_4():
    quarters = [(0, 2), (2, 2), (4, 2), (6, 1), (7, 1)]
    half_bar_changes = tune(8, lambda b: (0, 4) if b % 2 else (0,), quarters)
    assert meter_of(half_bar_changes) == (4, 4, 0)
    every_two_beats = tune(8, lambda b: (0, 4), quarters)
    assert meter_of(every_two_beats)[:2] == (2, 4)


def test_pickup_is_found_and_the_score_starts_with_a_rest_bar():
    roll = tune(8, lambda b: (0,), [(0, 2), (2, 2), (4, 4)], pickup=3)
    assert meter_of(roll) == (4, 4, 3)
    score = nottingham_score(roll, "reel#1")
    melody, chords = score.tracks
    assert melody.notes[0].start == 2.5  # moved 5 frames later: the pickup ends on beat 4
    assert chords.notes[0].start == 4.0 and score.bar_starts(12.0) == [0.0, 4.0, 8.0]
    jig = tune(6, lambda b: (0,), [(0, 2), (2, 1), (3, 2), (5, 1)], pickup=1)
    assert meter_of(jig) == (6, 8, 1)


def test_a_roll_without_chords_or_long_notes_is_4_4():
    assert meter_of(roll_of([[72], [74], [76]])) == (4, 4, 0)


# ------------------------------------------------------------------ scores
def test_nottingham_score_has_melody_then_chords():
    score = nottingham_score(tune(6, lambda b: (0,), [(0, 2), (2, 1), (3, 2), (5, 1)], bars=2), "jig#7")
    assert [(t.name, t.program) for t in score.tracks] == [("Melody", 0), ("Chords", 24)]
    assert {n.velocity for n in score.tracks[0].notes} == {90}
    assert {n.velocity for n in score.tracks[1].notes} == {64}
    assert [str(s) for s in score.time_signatures] == ["6/8"] and not score.tempos
    assert score.source == "jig#7"
    assert [(n.pitch, n.start, n.duration) for n in score.tracks[1].notes][:2] == [(48, 0.0, 3.0), (52, 0.0, 3.0)]


def test_a_chord_held_over_bar_lines_is_struck_again_in_each_bar():
    """One chord for three 4/4 bars (a change only every third bar) comes back as one
    chord per bar, each 4 beats long, so no chord outlasts the tokenizer's 8 beats."""
    roll = tune(8, lambda b: (0,) if b % 3 == 0 else (), [(0, 2), (2, 2), (4, 2), (6, 2)], bars=6)
    score = nottingham_score(roll, "reel")
    assert str(score.time_signature) == "4/4"
    chords = score.tracks[1].notes
    assert {n.duration for n in chords} == {4.0} and {n.start for n in chords} == {0.0, 4.0, 8.0, 12.0, 16.0, 20.0}
    assert [n.pitch for n in chords if n.start == 4.0] == [n.pitch for n in chords if n.start == 0.0]


def test_piano_score_is_one_piano_track_in_4_4():
    score = piano_score(roll_of([[60, 64], [60, 64], [62]]), "chorale", steps_per_beat=1)
    assert len(score.tracks) == 1 and score.tracks[0].program == 0
    assert str(score.time_signature) == "4/4" and score.source == "chorale"
    assert [(n.pitch, n.start, n.duration) for n in score.tracks[0].notes] == [(60, 0, 2), (64, 0, 2), (62, 2, 1)]


# ------------------------------------------------------------------ builds
def write_mat(path: Path, splits: dict[str, list[np.ndarray]]) -> Path:
    from scipy.io import savemat

    cells = {}
    for name, rolls in splits.items():
        cell = np.empty((1, len(rolls)), dtype=object)
        for i, roll in enumerate(rolls):
            cell[0, i] = roll
        cells[f"{name}data"] = cell
    savemat(str(path), cells)
    return path


def build(source, out, **kw):
    return build_corpus(source, out, workers=1, progress=False, **kw)


def test_events_build_of_nottingham_gives_melody_and_chord_tracks(tmp_path):
    jig = tune(6, lambda b: (0,), [(0, 2), (2, 1), (3, 2), (5, 1)], bars=4, pickup=1)
    reel = tune(8, lambda b: (0,), [(0, 2), (2, 2), (4, 4)], bars=4)
    mat = write_mat(tmp_path / "Nottingham.mat",
                    {"train": [jig, reel], "valid": [reel], "test": [jig, np.zeros((4, 88), np.uint8)]})
    report = build(mat, tmp_path / "out", representation="events")
    assert report.kind == "tokens" and report.sequences == {"train": 2, "valid": 1, "test": 1}
    assert report.skipped == [{"source": "Nottingham.mat:test/1", "reason": "no notes"}]
    ds = CorpusDataset.open(tmp_path / "out")
    assert ds.manifest["split_method"] == "standard" and ds.data.dtype == np.int16
    assert ds.tokenizer.config.steps_per_beat == 2  # Nottingham frames are eighth notes
    decoded = ds.tokenizer.decode(ds.split("train")[0])
    assert sorted(t.program for t in decoded.tracks) == [0, 24]
    assert [str(s) for s in decoded.time_signatures] == ["6/8"]
    melody = next(t for t in decoded.tracks if t.program == 0)
    assert melody.notes[0].start == 2.5  # the eighth pickup ends on the first bar line (beat 3)


def test_events_build_of_other_benchmarks_gives_one_piano_track(tmp_path):
    chorale = roll_of([[48, 60, 64], [48, 60, 64], [50, 62, 65], [52, 64, 67]])
    mat = write_mat(tmp_path / "MuseData.mat", {"train": [chorale], "valid": [chorale], "test": [chorale]})
    build(mat, tmp_path / "out", representation="events")
    ds = CorpusDataset.open(tmp_path / "out")
    decoded = ds.tokenizer.decode(ds.split("test")[0])
    assert [t.program for t in decoded.tracks] == [0] and decoded.num_notes == 9
    with pytest.raises(CorpusError, match="pianoroll or events"):
        build(mat, tmp_path / "out2", representation="melody")


@pytest.mark.skipif(NOTTINGHAM is None, reason="shared/data/polyphonic/Nottingham.mat is not available")
def test_events_build_of_the_real_nottingham_file(tmp_path):
    report = build(NOTTINGHAM, tmp_path / "nott", representation="events", limit=3)
    assert report.sequences == {"train": 3, "valid": 3, "test": 3} and report.skipped == []
    ds = CorpusDataset.open(tmp_path / "nott")
    for i in range(3):
        decoded = ds.tokenizer.decode(ds.split("valid")[i])
        assert sorted(t.program for t in decoded.tracks) == [0, 24]
