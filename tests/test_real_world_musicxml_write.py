"""MusicXML written from real-world scores reads back note for note (issue 17, write side).

The scores are built here, in code or as MIDI files through mido, each holding
what MIDI files from the wild hold: overlapping notes of one pitch, chords
whose notes differ in velocity, programs music21 renames, unnamed tracks and
names with control characters. Times are in beats (quarter note = 1 beat); the
writer snaps onsets and offsets to 1/48 beat, and every time here lies on that
grid, so the round trip must give back exactly what went in.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import mido

from seqart import Note, Score, TimeSignature, Track
from seqart.io import read_score, write_score

TICKS_PER_BEAT = 480  # 10 ticks per 1/48-beat grid step


def note_tuples(track: Track) -> list[tuple[int, float, float, int]]:
    """Every note of ``track`` as ``(pitch, start, duration, velocity)``, sorted."""
    return sorted((n.pitch, n.start, n.duration, n.velocity) for n in track.notes)


def round_trip(score: Score, path: Path) -> Score:
    """``score`` written as MusicXML to ``path`` and read back."""
    return read_score(write_score(score, path))


def test_overlapping_notes_of_one_pitch_each_come_back(tmp_path):
    notes = [
        Note(60, 3.0, 2.0, 90), Note(60, 3.5, 1.5, 50),  # both tied over the bar line at beat 4
        Note(62, 0.0, 1.0, 70), Note(62, 0.0, 1.0, 40),  # the same note twice
        Note(64, 0.0, 10.0, 80), Note(64, 1.0, 1.0, 81), Note(64, 7.5, 5.0, 82),  # held under repeats
        Note(67, 2.0, 2.5, 60), Note(67, 2.0, 6.0, 61),  # one onset, two lengths
    ]
    score = Score(tracks=[Track(notes)], time_signatures=[TimeSignature(0, 4, 4)])
    back = round_trip(score, tmp_path / "write_overlapping_unisons.musicxml")
    assert note_tuples(back.tracks[0]) == note_tuples(score.tracks[0])


def test_chord_notes_keep_their_own_velocities(tmp_path):
    notes = [Note(60, 0.0, 1.0, 40), Note(64, 0.0, 1.0, 100), Note(67, 0.0, 1.0, 70),
             # a chord of 5/2 beats over a bar line: written as tied pieces
             Note(48, 3.0, 2.5, 127), Note(55, 3.0, 2.5, 1), Note(59, 3.0, 2.5, 64)]
    score = Score(tracks=[Track(notes)])
    path = write_score(score, tmp_path / "write_chord_velocities.musicxml")
    assert "seqart-velocity" not in path.read_text(encoding="utf-8")
    assert note_tuples(read_score(path).tracks[0]) == note_tuples(score.tracks[0])


def test_every_program_comes_back_pitched_and_on_drums(tmp_path):
    programs = list(range(128))
    for is_drum in (False, True):
        for first in range(0, 128, 15):  # 15 pitched tracks fill MIDI's 16 channels less drums
            chunk = programs[first:first + 15]
            score = Score(tracks=[Track([Note(60, 0, 1)], program=p, is_drum=is_drum) for p in chunk])
            back = round_trip(score, tmp_path / f"write_programs_{is_drum}_{first}.musicxml")
            assert [(t.program, t.is_drum) for t in back.tracks] == [(p, is_drum) for p in chunk]


def test_transposing_instrument_is_not_marked_transposing(tmp_path):
    # The notes are written at sounding pitch, so a clarinet's <transpose> would
    # make every reader that honours it play them a tone low.
    score = Score(tracks=[Track([Note(60, 0, 1)], program=71, name="Clarinet")])
    path = write_score(score, tmp_path / "write_clarinet.musicxml")
    assert "<transpose>" not in path.read_text(encoding="utf-8")
    assert [n.pitch for n in read_score(path).notes] == [60]


def test_unnamed_tracks_stay_unnamed(tmp_path):
    score = Score(tracks=[Track([Note(60, 0, 1)], program=p, is_drum=d) for p, d in
                          [(0, False), (4, False), (40, False), (0, True)]])
    back = round_trip(score, tmp_path / "write_unnamed.musicxml")
    assert [t.name for t in back.tracks] == ["", "", "", ""]


def test_names_with_control_characters_write_well_formed_xml(tmp_path):
    score = Score(tracks=[Track([Note(60, 0, 1)], name="Piano\x00"),
                          Track([Note(36, 0, 1)], is_drum=True, name="Kit\x01\x1f\ufffe")],
                  title="Song\x00")
    path = write_score(score, tmp_path / "write_control_names.musicxml")
    ET.parse(path)  # raises on a file that is not well-formed XML
    back = read_score(path)
    assert [t.name for t in back.tracks] == ["Piano", "Kit"]
    assert back.title == "Song"


def write_midi_from_the_wild(path: Path) -> Path:
    """A MIDI file with what POP909 and symusic's test files hold: overlapping
    note-ons of one pitch, a chord of three velocities, program 4 on an unnamed
    track and a drum track named with a trailing NUL."""
    keys = mido.MidiTrack([
        mido.Message("program_change", channel=0, program=4),
        mido.Message("note_on", channel=0, note=60, velocity=90, time=1440),  # beat 3
        mido.Message("note_on", channel=0, note=60, velocity=50, time=240),  # before the first ends
        mido.Message("note_off", channel=0, note=60, time=720),  # both over the bar line at beat 4
        mido.Message("note_off", channel=0, note=60, time=240),
        mido.Message("note_on", channel=0, note=64, velocity=30, time=600),  # beat 6.75
        mido.Message("note_on", channel=0, note=67, velocity=80, time=0),
        mido.Message("note_on", channel=0, note=72, velocity=120, time=0),
        mido.Message("note_off", channel=0, note=64, time=960),  # over the bar line at beat 8
        mido.Message("note_off", channel=0, note=67, time=0),
        mido.Message("note_off", channel=0, note=72, time=0),
    ])
    drums = mido.MidiTrack([
        mido.MetaMessage("track_name", name="Drums\x00"),
        mido.Message("note_on", channel=9, note=36, velocity=100, time=0),
        mido.Message("note_off", channel=9, note=36, time=240),
        mido.Message("note_on", channel=9, note=38, velocity=70, time=240),
        mido.Message("note_off", channel=9, note=38, time=240),
    ])
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.extend([keys, drums])
    mid.save(str(path))
    return path


def test_midi_from_the_wild_round_trips_through_musicxml(tmp_path):
    from_midi = read_score(write_midi_from_the_wild(tmp_path / "wild.mid"))
    back = round_trip(from_midi, tmp_path / "write_wild.musicxml")
    assert len(back.notes) == len(from_midi.notes) == 7
    assert [note_tuples(t) for t in back.tracks] == [note_tuples(t) for t in from_midi.tracks]
    assert [(t.program, t.is_drum, t.name) for t in back.tracks] == [
        (t.program, t.is_drum, t.name) for t in from_midi.tracks]
    assert [(t.program, t.is_drum) for t in back.tracks] == [(4, False), (0, True)]
