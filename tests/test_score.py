"""The Score data model (seqart.score): transforms, maps between beats, bars and seconds, validation."""

from __future__ import annotations

import json
import math

import pytest

from seqart import KeySignature, Note, Score, TempoChange, TempoMap, TimeSignature, Track
from seqart.errors import ScoreError
from seqart.score import merge_tracks


def triples(notes) -> list[tuple[int, float, float]]:
    return [(n.pitch, n.start, n.duration) for n in notes]


def melody_score() -> Score:
    return Score(
        tracks=[
            Track([Note(60, 0, 1, 90), Note(64, 1, 1, 91), Note(67, 2, 2, 92)], program=40, name="lead"),
            Track([Note(36, 0, 0.5, 100), Note(38, 1, 0.5, 100)], is_drum=True, name="kit"),
        ],
        tempos=[TempoChange(0, 100), TempoChange(2, 80)],
        time_signatures=[TimeSignature(0, 3, 4)],
        key_signatures=[KeySignature(0, 7, "major")],
        title="Tune",
        source="tune.mid",
    )


# --------------------------------------------------------------- basics
def test_note_end_and_score_summaries():
    score = melody_score()
    assert Note(60, 1.5, 0.25).end == 1.75
    assert score.num_notes == 5
    assert score.end == 4.0
    assert score.pitch_range() == (60, 67)  # drums do not count
    assert triples(score.notes)[:3] == [(36, 0, 0.5), (60, 0, 1), (38, 1, 0.5)]
    assert str(score.time_signature) == "3/4" and str(score.key) == "G major"
    assert Score().end == 0.0 and Score().pitch_range() is None and Score().key is None
    assert Score().time_signature == TimeSignature(0.0, 4, 4)


def test_copy_is_deep_and_sorted_sorts_each_track():
    score = Score(tracks=[Track([Note(64, 1, 1), Note(60, 0, 1)])])
    copy = score.copy()
    copy.tracks[0].notes[0].pitch = 99
    assert score.tracks[0].notes[0].pitch == 64
    assert triples(score.sorted().tracks[0].notes) == [(60, 0, 1), (64, 1, 1)]
    assert triples(score.tracks[0].notes) == [(64, 1, 1), (60, 0, 1)]  # unchanged


def test_fits_ignores_drums():
    score = melody_score()  # pitched 60-67, drums 36 and 38
    assert score.fits(60, 67)
    assert not score.fits(61, 80) and not score.fits(0, 66)


# ------------------------------------------------------------- transpose
def test_transpose_moves_pitches_and_keys_but_not_drums():
    score = melody_score()
    up = score.transpose(3)
    assert [n.pitch for n in up.tracks[0].notes] == [63, 67, 70]
    assert [n.pitch for n in up.tracks[1].notes] == [36, 38]
    assert up.key_signatures == [KeySignature(0, 10, "major")]  # G -> Bb
    assert score.tracks[0].notes[0].pitch == 60  # the original is untouched
    down = score.transpose(-8)
    assert down.key_signatures == [KeySignature(0, 11, "major")]  # wraps round the octave


def test_transpose_folds_out_of_range_notes_by_octaves():
    score = Score(tracks=[Track([Note(120, 0, 1), Note(5, 1, 1), Note(60, 2, 1)])])
    assert [n.pitch for n in score.transpose(12).tracks[0].notes] == [120, 17, 72]
    assert [n.pitch for n in score.transpose(-12).tracks[0].notes] == [108, 5, 48]
    narrow = score.transpose(0, low=55, high=70)
    assert [n.pitch for n in narrow.tracks[0].notes] == [60, 65, 60]
    assert narrow.fits(55, 70)


def test_transpose_rejects_a_range_narrower_than_an_octave():
    with pytest.raises(ScoreError, match="narrower than an octave"):
        melody_score().transpose(2, low=60, high=70)


# ------------------------------------------------------------ monophonic
def test_monophonic_skyline_keeps_the_top_voice():
    score = Score(tracks=[
        Track([Note(60, 0, 1), Note(64, 0, 1), Note(67, 0, 2),  # chord: the top note wins
               Note(62, 1, 1),  # inner voice under the held 67: dropped
               Note(72, 4, 4), Note(65, 6, 4)]),  # lower but longer: cuts the 72 short
        Track([Note(84, 2, 1)], program=5),
        Track([Note(90, 0, 8)], is_drum=True),  # drums never join the skyline
    ])
    line = score.monophonic()
    assert len(line.tracks) == 1
    assert triples(line.tracks[0].notes) == [(67, 0, 2), (84, 2, 1), (72, 4, 2), (65, 6, 4)]
    notes = line.tracks[0].notes
    assert all(a.end <= b.start for a, b in zip(notes, notes[1:]))


def test_monophonic_of_a_chosen_track():
    score = Score(tracks=[
        Track([Note(72, 0, 4)], name="top"),
        Track([Note(48, 0, 1), Note(55, 0, 1), Note(50, 1, 1)], program=32, name="bass"),
    ])
    line = score.monophonic(track=1)
    assert triples(line.tracks[0].notes) == [(55, 0, 1), (50, 1, 1)]
    assert (line.tracks[0].program, line.tracks[0].name) == (32, "bass")
    with pytest.raises(ScoreError, match="track 2 does not exist"):
        score.monophonic(track=2)


# --------------------------------------------------------------- quantize
def test_quantize_snaps_onsets_and_offsets():
    score = Score(tracks=[Track([Note(60, 0.13, 0.2), Note(62, 0.9, 0.62), Note(64, 2.05, 0.01)])])
    out = score.quantize(4)
    assert triples(out.tracks[0].notes) == [(60, 0.25, 0.25), (62, 1.0, 0.5), (64, 2.0, 0.25)]
    assert triples(score.quantize(3).tracks[0].notes)[0] == (60, 0.0, 1 / 3)


# ------------------------------------------------------------------ slice
def test_slice_shifts_notes_cuts_at_end_and_carries_the_maps():
    score = Score(
        tracks=[Track([Note(60, 0, 1), Note(62, 2, 3), Note(64, 3, 1), Note(65, 5, 1)])],
        tempos=[TempoChange(0, 100), TempoChange(3, 80), TempoChange(6, 60)],
        time_signatures=[TimeSignature(0, 4, 4)],
        key_signatures=[KeySignature(0, 0), KeySignature(2, 7)],
    )
    part = score.slice(2, 4)
    assert triples(part.tracks[0].notes) == [(62, 0, 2), (64, 1, 1)]
    assert part.tempos == [TempoChange(0.0, 100), TempoChange(1, 80)]
    assert part.time_signatures == [TimeSignature(0.0, 4, 4)]
    assert part.key_signatures == [KeySignature(0.0, 7)]


# ----------------------------------------------------------------- append
def test_append_adds_track_by_track_at_the_end():
    first = Score(tracks=[Track([Note(60, 0, 2)], name="a")])
    second = Score(tracks=[Track([Note(62, 0, 1)]), Track([Note(40, 0.5, 1)], program=33, name="b")])
    both = first.append(second)
    assert triples(both.tracks[0].notes) == [(60, 0, 2), (62, 2, 1)]
    assert triples(both.tracks[1].notes) == [(40, 2.5, 1)]
    assert (both.tracks[1].program, both.tracks[1].name) == (33, "b")
    assert triples(first.append(second, at=8).tracks[0].notes)[-1] == (62, 8, 1)
    assert first.num_notes == 1  # the original is untouched


# -------------------------------------------------------------- bar lines
def test_bar_starts_follow_meter_changes():
    score = Score(time_signatures=[TimeSignature(0, 4, 4), TimeSignature(8, 3, 4), TimeSignature(14, 6, 8)])
    assert score.bar_starts(until=20) == [0, 4, 8, 11, 14, 17]
    assert Score(time_signatures=[TimeSignature(0, 6, 8)]).bar_starts(until=9) == [0, 3, 6]
    assert Score(time_signatures=[TimeSignature(0, 7, 8)]).bar_starts(until=7) == [0, 3.5]
    assert Score().bar_starts() == [0.0]  # an empty score still has its first bar
    assert Score(tracks=[Track([Note(60, 0, 9)])]).bar_starts() == [0, 4, 8]  # default 4/4 to the end


def test_time_signature_bar_beats():
    assert TimeSignature(0, 6, 8).bar_beats == 3.0
    assert TimeSignature(0, 3, 4).bar_beats == 3.0
    assert TimeSignature(0, 2, 2).bar_beats == 4.0


# -------------------------------------------------------------- tempo map
def test_tempo_map_converts_beats_and_seconds_across_changes():
    tmap = TempoMap([TempoChange(0, 120), TempoChange(4, 60), TempoChange(6, 240)])
    assert tmap.beats_to_seconds(0) == 0.0
    assert tmap.beats_to_seconds(4) == 2.0
    assert tmap.beats_to_seconds(5) == 3.0
    assert tmap.beats_to_seconds(6) == 4.0
    assert tmap.beats_to_seconds(10) == 5.0
    for beat in (0, 1.5, 4, 5.25, 6, 9.75):
        assert tmap.seconds_to_beats(tmap.beats_to_seconds(beat)) == pytest.approx(beat)


def test_tempo_map_defaults_and_late_first_tempo():
    assert TempoMap().beats_to_seconds(2) == 1.0  # 120 bpm
    late = TempoMap([TempoChange(4, 60)])
    assert late.beats_to_seconds(2) == 2.0  # the first tempo holds from beat 0
    assert melody_score().tempo_map.beats_to_seconds(3) == pytest.approx(1.2 + 0.75)


# ------------------------------------------------------------- key parsing
@pytest.mark.parametrize(
    "text, tonic, mode",
    [
        ("D minor", 2, "minor"),
        ("Bb major", 10, "major"),
        ("F#m", 6, "minor"),
        ("g", 7, "minor"),
        ("C", 0, "major"),
        ("eb", 3, "minor"),
        ("Db maj", 1, "major"),
        ("A-min", 9, "minor"),
        ("  E   major ", 4, "major"),
        ("Cb major", 11, "major"),
    ],
)
def test_key_signature_parse(text, tonic, mode):
    key = KeySignature.parse(text, beat=2.0)
    assert (key.beat, key.tonic, key.mode) == (2.0, tonic, mode)


@pytest.mark.parametrize(
    "text, match",
    [("", "try 'D minor'"), ("H major", "tonic must be"), ("D klingon", "mode must be"), ("x", "tonic must be")],
)
def test_key_signature_parse_errors(text, match):
    with pytest.raises(ScoreError, match=match) as info:
        KeySignature.parse(text)
    assert "\n" not in str(info.value)


def test_key_signature_str():
    assert str(KeySignature(0, 10, "minor")) == "Bb minor"
    assert str(KeySignature(0, 6)) == "F# major"


# -------------------------------------------------------------- plain data
def test_to_dict_from_dict_round_trip_through_json():
    score = melody_score()
    data = json.loads(json.dumps(score.to_dict()))
    assert Score.from_dict(data) == score
    assert Score.from_dict({"tracks": [{"notes": [[60, 0, 1, 80]]}]}) == Score(tracks=[Track([Note(60, 0.0, 1.0)])])


def test_merge_tracks():
    merged = merge_tracks([Track([Note(64, 1, 1)]), Track([Note(60, 0, 1), Note(67, 1, 1)])], program=4, name="m")
    assert triples(merged.notes) == [(60, 0, 1), (64, 1, 1), (67, 1, 1)]
    assert (merged.program, merged.name) == (4, "m")


# ---------------------------------------------------------------- validate
def test_validate_accepts_a_good_score():
    assert melody_score().validate() is None


@pytest.mark.parametrize(
    "score, match",
    [
        (Score(), "no notes"),
        (Score(tracks=[Track()]), "no notes"),
        (Score(tracks=[Track([Note(60, 0, 1)])], tempos=[TempoChange(0, 0.0001)]), "absurd tempo 0.0001 bpm"),
        (Score(tracks=[Track([Note(60, 0, 1)])], tempos=[TempoChange(0, 100000)]), "absurd tempo 100000 bpm"),
        (Score(tracks=[Track([Note(60, 0, 1)])], tempos=[TempoChange(0, math.inf)]), "absurd tempo inf bpm"),
        (Score(tracks=[Track([Note(60, 0, 1)])], tempos=[TempoChange(0, math.nan)]), "absurd tempo nan bpm"),
        (Score(tracks=[Track([Note(60, 0, 1)])], time_signatures=[TimeSignature(0, 0, 4)]), "time signature 0/4"),
        (Score(tracks=[Track([Note(60, 0, 1)])], time_signatures=[TimeSignature(0, 4, 0)]), "time signature 4/0"),
        (Score(tracks=[Track([Note(60, 0, 1)])], time_signatures=[TimeSignature(0, 200, 1)]), "200/1"),
        (Score(tracks=[Track([Note(130, 0, 1)])]), "pitch 130 outside 0-127"),
        (Score(tracks=[Track([Note(60, 0, 0)])]), "invalid note timing"),
        (Score(tracks=[Track([Note(60, -1, 1)])]), "invalid note timing"),
        (Score(tracks=[Track([Note(60, math.nan, 1)])]), "invalid note timing"),
    ],
)
def test_validate_errors(score, match):
    with pytest.raises(ScoreError, match=match) as info:
        score.validate()
    assert "\n" not in str(info.value)
