"""Reading and writing MIDI, MusicXML and ABC (seqart.io)."""

from __future__ import annotations

import math
import os
import random
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqart import KeySignature, Note, Score, TempoChange, TimeSignature, Track
from seqart.errors import ScoreError, ScoreReadError
from seqart.io import MUSIC_EXTENSIONS, detect_format, read_score, read_scores, write_score
from seqart.io.midi import TICKS_PER_BEAT, check_midi_structure, read_midi, write_midi
from seqart.io.musicxml_writer import write_musicxml

REPO = Path(__file__).resolve().parent.parent
CHILD_ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def note_tuples(track: Track) -> list[tuple[int, float, float, int]]:
    return sorted((n.pitch, n.start, n.duration, n.velocity) for n in track.notes)


def timing_tuples(track: Track) -> list[tuple[int, float, float]]:
    return sorted((n.pitch, n.start, n.duration) for n in track.notes)


def midi_file(track_body: bytes, tpq: int = 480) -> bytes:
    """A format-0 MIDI file with one track holding ``track_body`` plus end-of-track."""
    body = track_body + b"\x00\xff\x2f\x00"
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq)
            + b"MTrk" + struct.pack(">I", len(body)) + body)


ONE_NOTE = b"\x00\x90\x3c\x50\x83\x60\x80\x3c\x40"  # middle C for 480 ticks


def tempo_event(mspq: int) -> bytes:
    return b"\x00\xff\x51\x03" + mspq.to_bytes(3, "big")


def assert_one_line_error(exc: ScoreReadError, path: Path) -> None:
    msg = str(exc)
    assert "\n" not in msg and "\r" not in msg
    assert path.name in msg
    assert exc.path == str(path)
    assert msg == f"{path}: {exc.reason}"


# ===================================================================== MIDI
def test_midi_round_trip_keeps_notes_tracks_and_maps(tmp_path):
    score = Score(
        tracks=[
            Track([Note(60, 0, 1 / 3, 90), Note(62, 1 / 3, 1 / 3, 91), Note(64, 2 / 3, 4 / 3, 92),
                   Note(64, 2.0, 1.0, 1)], program=40, name="violin"),
            Track([Note(36, 0, 0.25, 127), Note(38, 1, 0.25, 100)], program=0, is_drum=True, name="drums"),
            Track([Note(48, 0, 4, 60), Note(55, 0, 4, 60), Note(52, 0.5, 2.5, 61)], program=33),
        ],
        tempos=[TempoChange(0, 93), TempoChange(2, 140.5)],
        time_signatures=[TimeSignature(0, 6, 8), TimeSignature(3, 2, 4)],
        key_signatures=[KeySignature(0, 2, "minor"), KeySignature(3, 6, "major"), KeySignature(3.5, 10, "minor")],
    )
    path = write_midi(score, tmp_path / "out.mid")
    assert path == tmp_path / "out.mid"
    back = read_midi(path)
    assert len(back.tracks) == 3
    for wrote, read in zip(score.tracks, back.tracks):
        assert note_tuples(read) == note_tuples(wrote)
        assert (read.program, read.is_drum, read.name) == (wrote.program, wrote.is_drum, wrote.name)
    # 93 bpm is stored as 645161 microseconds per beat; reading rounds that back to 93.
    assert back.tempos == score.tempos
    assert back.time_signatures == score.time_signatures
    assert back.key_signatures == score.key_signatures
    assert back.source == str(path) and back.title == ""


def test_midi_notes_come_back_sorted_and_legato_notes_stay_legato(tmp_path):
    score = Score(tracks=[Track([Note(67, 2, 1), Note(60, 0, 1), Note(60, 1, 1), Note(64, 0, 2)])])
    back = read_midi(write_midi(score, tmp_path / "a.mid"))
    assert [(n.pitch, n.start, n.duration) for n in back.tracks[0].notes] == [
        (60, 0.0, 1.0), (64, 0.0, 2.0), (60, 1.0, 1.0), (67, 2.0, 1.0)
    ]


def test_write_midi_rounds_to_ticks_and_defaults_to_120_bpm(tmp_path):
    off_grid = Note(60, 0.1234, 0.0001)  # shorter than a tick: kept as one tick
    back = read_midi(write_midi(Score(tracks=[Track([off_grid])]), tmp_path / "a.mid"))
    n = back.tracks[0].notes[0]
    assert n.start == round(0.1234 * TICKS_PER_BEAT) / TICKS_PER_BEAT
    assert n.duration == 1 / TICKS_PER_BEAT
    assert back.tempos == [TempoChange(0.0, 120.0)]


def test_write_midi_puts_a_late_first_tempo_at_beat_zero(tmp_path):
    # TempoMap plays the first tempo from beat 0; MIDI would play 120 bpm until it.
    score = Score(tracks=[Track([Note(60, 0, 1)])], tempos=[TempoChange(4, 90), TempoChange(8, 60)])
    back = read_midi(write_midi(score, tmp_path / "a.mid"))
    assert back.tempos == [TempoChange(0.0, 90.0), TempoChange(8.0, 60.0)]
    assert back.tempo_map.beats_to_seconds(8) == pytest.approx(score.tempo_map.beats_to_seconds(8))


@pytest.mark.parametrize(
    "score, match",
    [
        (Score(tracks=[Track([Note(128, 0, 1)])]), "pitch 128"),
        (Score(tracks=[Track([Note(60, -1, 1)])]), "finite and >= 0"),
        (Score(tracks=[Track([Note(60, 0, -1)])]), "negative"),
        (Score(tracks=[Track([Note(60, 0, 1)], program=200)]), "program 200"),
        (Score(tracks=[Track([Note(60, 0, 1)])], tempos=[TempoChange(0, 0.0001)]), "tempo 0.0001 bpm"),
        (Score(tracks=[Track([Note(60, 0, 1)])], time_signatures=[TimeSignature(0, 3, 5)]), "power of two"),
    ],
)
def test_write_midi_refuses_what_midi_cannot_store(tmp_path, score, match):
    target = tmp_path / "a.mid"
    with pytest.raises(ScoreError, match=match):
        write_midi(score, target)
    assert not target.exists()


def test_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "keep.mid"
    write_midi(Score(tracks=[Track([Note(60, 0, 1)])]), target)
    before = target.read_bytes()
    with pytest.raises(ScoreError):
        write_midi(Score(tracks=[Track([Note(60, 0, 1)])], tempos=[TempoChange(0, 1e9)]), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mid"]


def test_read_midi_divides_ticks_exactly_for_any_resolution(tmp_path):
    # 96 ticks per quarter; a triplet eighth is 32 ticks.
    body = b"\x00\x90\x3c\x50\x20\x80\x3c\x40\x00\x90\x3e\x50\x20\x80\x3e\x40"
    path = tmp_path / "tpq96.mid"
    path.write_bytes(midi_file(body, tpq=96))
    notes = read_midi(path).tracks[0].notes
    assert [(n.start, n.duration) for n in notes] == [(0.0, 32 / 96), (32 / 96, 32 / 96)]


def test_read_midi_drops_zero_length_notes(tmp_path):
    body = b"\x00\x90\x3c\x50\x00\x80\x3c\x40" + b"\x00\x90\x40\x50\x83\x60\x80\x40\x40"
    path = tmp_path / "zero.mid"
    path.write_bytes(midi_file(body))
    assert [n.pitch for n in read_midi(path).notes] == [64]


def test_fixture_twinkle(fixtures_dir):
    score = Score.from_file(fixtures_dir / "twinkle.mid")
    assert len(score.tracks) == 1 and score.tracks[0].name == "Melody"
    assert [n.pitch for n in score.notes][:7] == [60, 60, 67, 67, 69, 69, 67]
    assert score.num_notes == 14 and score.end == 16.0
    assert score.tempos == [TempoChange(0.0, 100.0)]
    assert str(score.time_signature) == "4/4" and str(score.key) == "C major"


def test_fixture_chords_has_a_drum_track(fixtures_dir):
    score = Score.from_file(fixtures_dir / "chords.mid")
    assert [(t.name, t.is_drum) for t in score.tracks] == [("Piano", False), ("Drums", True)]
    piano = score.tracks[0]
    assert [n.pitch for n in piano.notes[:3]] == [48, 52, 55]
    assert all(n.duration == 4.0 for n in piano.notes)
    assert {n.pitch for n in score.tracks[1].notes} == {36, 38, 42}


# Notes on a 1/4-beat grid with no two same-pitch notes overlapping in one track
# (MIDI pairs note-on and note-off by pitch, so such overlaps are ambiguous).
@st.composite
def grid_tracks(draw):
    raw = draw(st.lists(
        st.tuples(st.integers(0, 127), st.integers(0, 64), st.integers(1, 16), st.integers(1, 127)),
        min_size=1, max_size=40,
    ))
    busy_until: dict[int, int] = {}
    notes = []
    for pitch, start, dur, vel in sorted(raw, key=lambda r: (r[1], r[0])):
        if busy_until.get(pitch, -1) > start or (pitch, start) in {(n.pitch, n.start * 4) for n in notes}:
            continue
        busy_until[pitch] = start + dur
        notes.append(Note(pitch, start / 4, dur / 4, vel))
    return Track(notes=notes, program=draw(st.integers(0, 127)), is_drum=draw(st.booleans()),
                 name=draw(st.sampled_from(["", "lead", "bass", "Drums 2"])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tracks=st.lists(grid_tracks(), min_size=1, max_size=3))
def test_property_on_grid_scores_round_trip_through_midi_exactly(tmp_path, tracks):
    score = Score(tracks=tracks)
    back = read_midi(write_midi(score, tmp_path / "prop.mid"))
    assert len(back.tracks) == len(tracks)
    for wrote, read in zip(tracks, back.tracks):
        assert note_tuples(read) == note_tuples(wrote)
        assert (read.program, read.is_drum, read.name) == (wrote.program, wrote.is_drum, wrote.name)


# ================================================================= MusicXML
def _symusic_bytes(score: Score) -> bytes:
    """What symusic writes for ``score`` (the writer seqart used before its own)."""
    import numpy as np
    import symusic

    from seqart.io.midi import key_sharps

    sym = symusic.Score(TICKS_PER_BEAT, ttype="tick")
    tick = lambda beat: round(beat * TICKS_PER_BEAT)  # noqa: E731
    for track in score.tracks:
        st_ = symusic.Track(track.name, track.program, track.is_drum, ttype="tick")
        if track.notes:
            starts = [tick(n.start) for n in track.notes]
            st_.notes = symusic.Note.from_numpy(
                np.asarray(starts, dtype=np.int32),
                np.asarray([max(1, tick(n.end) - s) for n, s in zip(track.notes, starts)], dtype=np.int32),
                np.asarray([n.pitch for n in track.notes], dtype=np.int8),
                np.asarray([n.velocity for n in track.notes], dtype=np.int8), ttype="tick")
        sym.tracks.append(st_)
    for i, t in enumerate(sorted(score.tempos, key=lambda t: t.beat) or [TempoChange(0.0, 120.0)]):
        sym.tempos.append(symusic.Tempo(0 if i == 0 else tick(t.beat), mspq=round(60_000_000 / t.bpm), ttype="tick"))
    for s_ in score.time_signatures:
        sym.time_signatures.append(symusic.TimeSignature(tick(s_.beat), s_.numerator, s_.denominator, ttype="tick"))
    for k in score.key_signatures:
        sym.key_signatures.append(symusic.KeySignature(tick(k.beat), key_sharps(k), int(k.family == "minor"),
                                                       ttype="tick"))
    return sym.dumps_midi()


@st.composite
def any_scores(draw):
    """Scores with overlapping and same-pitch notes, off-grid times, up to 12 tracks,
    tempo, meter and key changes."""
    tracks = []
    for i in range(draw(st.integers(1, 12))):
        notes = [Note(p, s / 7, d / 5, v) for p, s, d, v in draw(st.lists(
            st.tuples(st.integers(0, 127), st.integers(0, 200), st.integers(0, 30), st.integers(1, 127)),
            min_size=int(i == 0), max_size=12))]  # a file without notes does not read
        tracks.append(Track(notes=notes, program=draw(st.integers(0, 127)), is_drum=draw(st.booleans()),
                            name=draw(st.sampled_from(["", "lead", "Bass ß"]))))
    tempos = [TempoChange(b, draw(st.sampled_from([60.0, 97.5, 120.0, 180.0])))
              for b in sorted(set(draw(st.lists(st.integers(0, 24), max_size=3))))]
    meters = [TimeSignature(float(b), *draw(st.sampled_from([(4, 4), (6, 8), (3, 4), (7, 16)])))
              for b in sorted(set(draw(st.lists(st.integers(0, 24), max_size=3))))]
    keys = [KeySignature(float(b), draw(st.sampled_from([0, 7, 3, 9])),
                         draw(st.sampled_from(["major", "minor", "dorian"])))
            for b in sorted(set(draw(st.lists(st.integers(0, 24), max_size=2))))]
    return Score(tracks=tracks, tempos=tempos, time_signatures=meters, key_signatures=keys)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(score=any_scores())
def test_written_midi_reads_back_as_symusics_own_writing_does(tmp_path, score):
    """seqart encodes MIDI itself (symusic's import cost a sample 30 ms); what it
    writes must read back exactly as what symusic writes for the same score."""
    ours = read_midi(write_midi(score, tmp_path / "ours.mid"))
    (tmp_path / "theirs.mid").write_bytes(_symusic_bytes(score))
    theirs = read_midi(tmp_path / "theirs.mid")
    assert ours.tracks == theirs.tracks
    assert (ours.tempos, ours.time_signatures, ours.key_signatures) == (
        theirs.tempos, theirs.time_signatures, theirs.key_signatures)


def test_written_midi_matches_symusics_bytes_for_a_melody():
    from seqart.io.midi import encode_midi

    score = Score(tracks=[Track(name="melody", program=73, notes=[
        Note(60, 0.0, 1.0, 90), Note(62, 1.0, 0.5, 100), Note(62, 1.5, 0.5, 100), Note(67, 2.0, 2.0, 80)])],
        tempos=[TempoChange(0.0, 100.0)], time_signatures=[TimeSignature(0.0, 6, 8)],
        key_signatures=[KeySignature(0.0, 2, "mixolydian")])
    ours, theirs = encode_midi(score), _symusic_bytes(score)
    assert ours[:14] == theirs[:14]  # header: format 1, one track, 480 per beat
    # the same events in the same order; symusic closes the track one tick after its
    # last event and uses running status, so compare events, not bytes
    assert _events(ours) == _events(theirs)


def _events(data: bytes) -> list[tuple[int, bytes]]:
    """(tick, status + data bytes) of every event but end-of-track in a one-track file."""
    body, at, now, status, out = data[22:], 0, 0, 0, []
    while at < len(body):
        delta = 0
        while True:
            byte = body[at]
            at += 1
            delta = (delta << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        now += delta
        if body[at] == 0xFF:
            length = body[at + 2]
            event, at = body[at:at + 3 + length], at + 3 + length
            if event[1] == 0x2F:
                break
        else:
            if body[at] >= 0x80:
                status, at = body[at], at + 1
            size = 1 if status >> 4 == 0xC else 2
            event, at = bytes([status]) + body[at:at + size], at + size
        out.append((now, bytes(event)))
    return out


def test_musicxml_round_trip_monophonic_with_triplets_and_ties(tmp_path):
    melody = [Note(60, 0, 1 / 3, 90), Note(62, 1 / 3, 1 / 3, 90), Note(64, 2 / 3, 1 / 3, 90),
              Note(65, 1, 1.25, 90), Note(67, 2.25, 0.75, 90), Note(69, 3, 3, 90),  # tied over the bar
              Note(70, 6.5, 1.5, 90), Note(72, 8, 8, 90)]  # tied over two bar lines
    score = Score(tracks=[Track(melody, program=73, name="Flute")],
                  tempos=[TempoChange(0, 93)], time_signatures=[TimeSignature(0, 4, 4)],
                  key_signatures=[KeySignature(0, 5, "major")], title="Round Trip")
    back = Score.from_file(write_musicxml(score, tmp_path / "mono.musicxml"))
    assert timing_tuples(back.tracks[0]) == timing_tuples(score.tracks[0])
    assert back.tracks[0].program == 73 and back.tracks[0].name == "Flute"
    assert back.title == "Round Trip"
    assert back.tempos == [TempoChange(0.0, 93.0)]
    assert back.time_signatures == [TimeSignature(0.0, 4, 4)]
    assert back.key_signatures == [KeySignature(0.0, 5, "major")]


def test_musicxml_round_trip_chords_voices_meter_change_and_tracks(tmp_path):
    piano = [Note(48, 0, 4, 60), Note(55, 0, 4, 60),  # a chord tied over the 3/4 bar line
             Note(60, 1, 1, 70), Note(62, 2, 5, 70),  # overlapping notes: a second voice
             Note(43, 4, 2, 80)]
    score = Score(
        tracks=[Track(piano, name="Piano"),
                Track([Note(36, 0, 0.5, 100), Note(38, 1, 0.5, 100)], is_drum=True, name="Kit"),
                Track([Note(42, 0.5, 0.5, 90)], is_drum=True, name="Hats")],
        tempos=[TempoChange(0, 120), TempoChange(3, 80)],
        time_signatures=[TimeSignature(0, 3, 4), TimeSignature(6, 2, 4)],
        key_signatures=[KeySignature(0, 2, "minor")],
    )
    path = write_score(score, tmp_path / "poly.xml")
    back = read_score(path)
    assert [timing_tuples(t) for t in back.tracks] == [timing_tuples(t) for t in score.tracks]
    assert [n.velocity for n in sorted(back.tracks[0].notes, key=lambda n: (n.start, n.pitch))] == [
        60, 60, 70, 70, 80]
    assert [(t.is_drum, t.name) for t in back.tracks] == [(False, "Piano"), (True, "Kit"), (True, "Hats")]
    assert back.tempos == score.tempos
    assert back.time_signatures == score.time_signatures
    assert back.key_signatures == score.key_signatures


METERS = [(4, 4), (3, 4), (6, 8), (5, 4), (7, 8), (2, 2)]


@st.composite
def notatable_scores(draw):
    """Scores on a 1/4- or 1/3-beat grid, with an optional meter change that may
    fall inside a bar, and no same-pitch overlaps inside a track."""
    tracks = []
    for _ in range(draw(st.integers(1, 2))):
        grid = draw(st.sampled_from([4, 3]))
        raw = draw(st.lists(st.tuples(st.integers(20, 108), st.integers(0, 10 * grid), st.integers(1, 4 * grid)),
                            min_size=1, max_size=12))
        busy: dict[int, float] = {}
        notes = []
        for pitch, start, dur in sorted(raw, key=lambda r: r[1]):
            if busy.get(pitch, -1.0) > start / grid:
                continue
            busy[pitch] = (start + dur) / grid
            notes.append(Note(pitch, start / grid, dur / grid, 80))
        tracks.append(Track(notes, program=draw(st.sampled_from([0, 24, 40, 73])), is_drum=draw(st.booleans())))
    meters = [TimeSignature(0, *draw(st.sampled_from(METERS)))]
    if draw(st.booleans()):
        meters.append(TimeSignature(draw(st.sampled_from([6, 7.5, 12])), *draw(st.sampled_from(METERS))))
    return Score(tracks=tracks, time_signatures=meters)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(score=notatable_scores())
def test_property_notatable_scores_round_trip_through_musicxml(tmp_path, score):
    back = read_score(write_musicxml(score, tmp_path / "prop.musicxml"))
    assert [timing_tuples(t) for t in back.tracks] == [timing_tuples(t) for t in score.tracks]
    assert [t.is_drum for t in back.tracks] == [t.is_drum for t in score.tracks]
    # A meter change inside a bar comes back with an extra meter for the short
    # bar before it, and one after the last note is not written, so compare the
    # bar lines under the notes rather than the meter lists.
    def bars_under_notes(s: Score) -> list[float]:
        return [b for b in s.bar_starts(until=score.end) if b < score.end]

    assert bars_under_notes(back) == bars_under_notes(score)


@pytest.mark.parametrize(
    "score, match",
    [
        (Score(tracks=[Track([Note(128, 0, 1)])]), "pitch 128"),
        (Score(tracks=[Track([Note(60, math.inf, 1)])]), "invalid note timing"),
        (Score(tracks=[Track([Note(60, 0, 1)], program=300)]), "program 300"),
        (Score(tracks=[Track([Note(60, 0, 1)])], tempos=[TempoChange(0, math.nan)]), "unusable tempo nan"),
        (Score(tracks=[Track([Note(60, 0, 1)])], tempos=[TempoChange(0, 0)]), "unusable tempo 0"),
        (Score(tracks=[Track([Note(60, 0, 1)])], time_signatures=[TimeSignature(0, 0, 4)]), "time signature 0/4"),
    ],
)
def test_write_musicxml_refuses_unusable_scores(tmp_path, score, match):
    target = tmp_path / "bad.musicxml"
    with pytest.raises(ScoreError, match=match) as info:
        write_musicxml(score, target)
    assert "\n" not in str(info.value)
    assert not target.exists()


def test_musicxml_snaps_off_grid_times_to_48ths(tmp_path):
    score = Score(tracks=[Track([Note(60, 0.01, 0.99), Note(62, 1.0, 0.001), Note(64, 1.5, 0.49)])])
    back = read_score(write_musicxml(score, tmp_path / "snap.musicxml"))
    assert timing_tuples(back.tracks[0]) == [(60, 0.0, 1.0), (62, 1.0, 1 / 48), (64, 1.5, 0.5)]


def test_musicxml_without_title_has_no_music21_placeholders(tmp_path):
    path = write_musicxml(Score(tracks=[Track([Note(61, 0, 1)])],
                                key_signatures=[KeySignature(0, 5, "major")]), tmp_path / "t.musicxml")
    text = path.read_text(encoding="utf-8")
    assert "Music21 Fragment" not in text and ">Music21<" not in text
    assert "<alter>-1</alter>" in text  # pitch 61 is spelled D-flat in F major, not C-sharp
    assert read_score(path).title == ""


def test_musicxml_writes_an_empty_score(tmp_path):
    path = write_musicxml(Score(), tmp_path / "empty.musicxml")
    assert "<score-partwise" in path.read_text(encoding="utf-8")
    with pytest.raises(ScoreReadError, match="no notes"):
        read_score(path)


def test_fixture_melody_musicxml(fixtures_dir):
    score = Score.from_file(fixtures_dir / "melody.musicxml")
    assert score.title == "Little Melody" and score.tracks[0].name == "Flute"
    assert [(n.pitch, n.start, n.duration) for n in score.notes] == [
        (67, 0.0, 1.0), (69, 1.0, 1.0), (71, 2.0, 2.0),
        (72, 4.0, 0.5), (71, 4.5, 0.5), (69, 5.0, 1.0), (67, 6.0, 2.0),
    ]
    assert score.tempos == [TempoChange(0.0, 90.0)]
    assert str(score.key) == "G major"


def test_mxl_archive_is_read_by_content(fixtures_dir, tmp_path):
    path = tmp_path / "melody.zip"  # the extension says nothing
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("META-INF/container.xml", '<?xml version="1.0"?><container><rootfiles>'
                         '<rootfile full-path="score.xml"/></rootfiles></container>')
        archive.writestr("score.xml", (fixtures_dir / "melody.musicxml").read_text(encoding="utf-8"))
    assert detect_format(path) == "mxl"
    assert read_score(path).num_notes == 7


# ======================================================================= ABC
def test_abc_book_yields_each_tune(fixtures_dir):
    path = fixtures_dir / "tunes.abc"
    scores = read_scores(path)
    assert [s.title for s in scores] == ["Pickup Reel", "Minor Waltz", "Jig in A"]
    assert [str(s.key) for s in scores] == ["G major", "D minor", "A major"]
    assert [str(s.time_signature) for s in scores] == ["4/4", "3/4", "6/8"]
    assert [s.source for s in scores] == [f"{path}#{i}" for i in (1, 2, 3)]
    assert [s.num_notes for s in scores] == [10, 6, 6]
    assert Score.read_all(path)[2].title == "Jig in A"
    assert read_score(path, index=1).title == "Minor Waltz"
    assert read_score(path, index=-1).title == "Jig in A"


def test_abc_pickup_bar_is_padded_to_a_full_bar(fixtures_dir):
    reel = read_score(fixtures_dir / "tunes.abc", index=0)
    first, second = reel.notes[:2]
    # "D2|G2..." in 4/4 with L:1/8: the one-beat pickup D ends where bar 2 starts.
    assert (first.pitch, first.start, first.duration) == (62, 3.0, 1.0)
    assert (second.pitch, second.start) == (67, 4.0)
    assert reel.bar_starts()[:3] == [0.0, 4.0, 8.0]


def test_abc_index_out_of_range(fixtures_dir):
    with pytest.raises(ScoreReadError, match="out of range") as info:
        read_score(fixtures_dir / "tunes.abc", index=3)
    assert_one_line_error(info.value, fixtures_dir / "tunes.abc")


def test_abc_book_skips_a_tune_without_notes(tmp_path, caplog):
    path = tmp_path / "book.abc"
    path.write_text("X:1\nT:One\nK:C\nCDEF|\n\nX:2\nT:Rests\nK:C\nz4|\n\nX:3\nT:Three\nK:C\nGABc|\n")
    scores = read_scores(path)
    assert [s.title for s in scores] == ["One", "Three"]
    assert [s.source for s in scores] == [f"{path}#1", f"{path}#3"]
    assert "#2" in caplog.text and "no notes" in caplog.text


def test_abc_tune_without_length_or_meter_uses_eighth_notes(tmp_path):
    path = tmp_path / "bare.abc"
    path.write_text("X:1\nT:Bare\nK:C\nCDE2|\n")
    assert [(n.start, n.duration) for n in read_score(path).notes] == [(0.0, 0.5), (0.5, 0.5), (1.0, 1.0)]


def test_abc_book_of_only_broken_tunes_is_an_error(tmp_path):
    path = tmp_path / "rests.abc"
    path.write_text("X:1\nT:A\nK:C\nz4|\n\nX:2\nT:B\nK:C\nz8|\n")
    with pytest.raises(ScoreReadError, match="no readable tune") as info:
        read_scores(path)
    assert_one_line_error(info.value, path)


# ========================================================= format detection
def test_detect_format_by_content_when_the_extension_lies(fixtures_dir, tmp_path):
    midi_as_abc = tmp_path / "really_midi.abc"
    midi_as_abc.write_bytes((fixtures_dir / "twinkle.mid").read_bytes())
    xml_as_txt = tmp_path / "score.txt"
    xml_as_txt.write_text((fixtures_dir / "melody.musicxml").read_text(encoding="utf-8"))
    abc_as_mid = tmp_path / "tune.mid"
    abc_as_mid.write_text("%abc-2.1\nX:1\nT:Hidden\nK:D\nDEFG|\n")
    assert detect_format(midi_as_abc) == "midi"
    assert detect_format(xml_as_txt) == "musicxml"
    assert detect_format(abc_as_mid) == "abc"
    assert read_score(midi_as_abc).num_notes == 14
    assert read_score(xml_as_txt).num_notes == 7
    assert read_score(abc_as_mid).title == "Hidden"


def test_detect_format_falls_back_on_the_extension(tmp_path):
    text = tmp_path / "words.abc"
    text.write_text("no tune in here\n")
    assert detect_format(text) == "abc"
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"\x00\x01binary")
    assert detect_format(junk) == "midi"  # then the MIDI reader says what is wrong


def test_detect_format_of_utf16_musicxml(fixtures_dir, tmp_path):
    path = tmp_path / "utf16.xml"
    text = (fixtures_dir / "melody.musicxml").read_text(encoding="utf-8")
    path.write_bytes(text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    assert detect_format(path) == "musicxml"
    assert read_score(path).num_notes == 7


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("nothing.mid", b"", "empty file"),
        ("notes.txt", b"just some text\n", "not a MIDI, MusicXML or ABC file"),
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00", "not a MIDI, MusicXML or ABC file"),
        ("binary.abc", b"\x00\x01\x02\x03", "binary data"),
    ],
)
def test_detect_format_errors(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ScoreReadError, match=reason) as info:
        detect_format(path)
    assert_one_line_error(info.value, path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ScoreReadError, match="no such file") as info:
        read_scores(tmp_path / "absent.mid")
    assert_one_line_error(info.value, tmp_path / "absent.mid")
    with pytest.raises(ScoreReadError, match="directory") as info:
        read_scores(tmp_path)
    assert_one_line_error(info.value, tmp_path)


# ============================================================ broken files
@pytest.mark.parametrize(
    "name, reason",
    [
        ("empty.mid", "empty file"),
        ("truncated.mid", "truncated MIDI"),
        ("garbage.mid", "not a MIDI file (no MThd header)"),
        ("notmusic.abc", "no ABC tune"),
        ("image.xml", "not a MIDI, MusicXML or ABC file"),
        ("zero_notes.mid", "no notes"),
        ("absurd_tempo.mid", "absurd tempo 100000 bpm"),
    ],
)
def test_corrupt_fixtures_give_one_line_errors(fixtures_dir, name, reason):
    path = fixtures_dir / "corrupt" / name
    with pytest.raises(ScoreReadError) as info:
        read_scores(path)
    assert reason in info.value.reason
    assert_one_line_error(info.value, path)


@pytest.mark.parametrize(
    "mspq, reason",
    [
        (0xFFFFFF, "absurd tempo 3.576 bpm"),  # the slowest tempo MIDI can hold
        (600, "absurd tempo 100000 bpm"),
        (0, "absurd tempo inf bpm"),  # zero microseconds per beat
    ],
)
def test_absurd_midi_tempos(tmp_path, mspq, reason):
    path = tmp_path / "tempo.mid"
    path.write_bytes(midi_file(tempo_event(mspq) + ONE_NOTE))
    with pytest.raises(ScoreReadError) as info:
        read_scores(path)
    assert info.value.reason == reason
    assert_one_line_error(info.value, path)


@pytest.mark.parametrize(
    "where, reason",
    [
        ("header", "not a MIDI file"),  # 'MThd' -> 'MTh`'
        ("chunk_length", "truncated MIDI"),
        ("division", "SMPTE time division"),
    ],
)
def test_bit_flipped_midi(fixtures_dir, tmp_path, where, reason):
    data = bytearray((fixtures_dir / "twinkle.mid").read_bytes())
    position = {"header": 3, "chunk_length": data.index(b"MTrk") + 5, "division": 12}[where]
    data[position] ^= 0x80 if where != "header" else 0x04
    path = tmp_path / f"flipped_{where}.mid"
    path.write_bytes(bytes(data))
    with pytest.raises(ScoreReadError) as info:
        read_scores(path)
    assert reason in info.value.reason
    assert_one_line_error(info.value, path)


def test_every_single_bit_flip_reads_or_raises_score_read_error(fixtures_dir, tmp_path):
    good = (fixtures_dir / "twinkle.mid").read_bytes()
    path = tmp_path / "flip.mid"
    outcomes = set()
    for position in range(len(good)):
        data = bytearray(good)
        data[position] ^= 1 << (position % 8)
        path.write_bytes(bytes(data))
        try:
            outcomes.add(type(read_scores(path)[0]).__name__)
        except ScoreReadError as exc:
            assert "\n" not in str(exc)
            outcomes.add("ScoreReadError")
    assert outcomes == {"Score", "ScoreReadError"}


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"\x00\x3c\x50", "corrupt MIDI (Unexpected running status"),  # data byte with no status
        (b"\x00\xff\x01\x8f\xff\xff\x7fabc", "corrupt MIDI (Unexpected EOF in Meta Event"),
        (b"\x00\xf4", "corrupt MIDI (Unknown or unsupported status byte"),
    ],
)
def test_symusic_errors_become_score_read_errors(tmp_path, body, reason):
    path = tmp_path / "bad_event.mid"
    path.write_bytes(midi_file(body + ONE_NOTE))
    with pytest.raises(ScoreReadError) as info:
        read_scores(path)
    assert info.value.reason.startswith(reason)
    assert_one_line_error(info.value, path)


@pytest.mark.parametrize(
    "header, reason",
    [
        (b"MThd" + struct.pack(">IHHH", 0xFFFFFFFF, 1, 1, 480), "header length"),
        (b"MThd" + struct.pack(">IHHH", 6, 7, 1, 480), "format 7"),
        (b"MThd" + struct.pack(">IHHH", 6, 1, 1, 0), "0 ticks per quarter"),
        (b"MThd\x00\x00", "truncated MIDI"),
        (b"MThd" + struct.pack(">IHHH", 6, 1, 1, 480), "no MTrk"),
    ],
)
def test_check_midi_structure(header, reason):
    with pytest.raises(ScoreReadError, match=reason):
        check_midi_structure(header, "x.mid")


def test_bytes_after_the_announced_tracks_are_ignored(fixtures_dir, tmp_path):
    path = tmp_path / "padded.mid"
    path.write_bytes((fixtures_dir / "twinkle.mid").read_bytes() + b"MTrk\xff\xff\xff\xff" + bytes(40))
    assert read_midi(path).num_notes == 14


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("noise.mid", random.Random(7).randbytes(300), "not a MIDI file"),
        ("cut.xml", b"<?xml version='1.0'?><score-partwise><part><measure><note>", "not valid MusicXML"),
        ("noise.musicxml", random.Random(8).randbytes(200), "binary data"),
        ("noise.mxl", b"PK\x03\x04" + random.Random(9).randbytes(100), "corrupt MXL"),
        ("empty.mxl", b"PK\x05\x06" + bytes(18), "holds no MusicXML score"),
        ("svg.xml", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "not valid MusicXML"),
        ("timewise.xml", b'<?xml version="1.0"?><score-timewise version="3.0"/>', "not valid MusicXML"),
    ],
)
def test_broken_content_never_escapes_as_another_exception(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ScoreReadError) as info:
        read_scores(path)
    assert reason in info.value.reason
    assert_one_line_error(info.value, path)


def test_latin1_abc_is_decoded(tmp_path):
    path = tmp_path / "latin1.abc"
    path.write_bytes("X:1\nT:Caf\xe9 Waltz\nM:3/4\nL:1/4\nK:C\nCDE|\n".encode("latin-1"))
    assert read_score(path).title == "Caf\xe9 Waltz"


@pytest.mark.slow
def test_symusic_survives_mutated_files_in_a_subprocess(fixtures_dir, tmp_path):
    """A crash in symusic's C++ parser would kill the process, so fuzz in a child."""
    rng = random.Random(2024)
    good = (fixtures_dir / "chords.mid").read_bytes()
    for i in range(300):
        data = bytearray(good)
        kind = i % 4
        if kind == 0:
            data = data[: rng.randrange(1, len(data))]
        elif kind == 1:
            for _ in range(rng.randint(1, 12)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif kind == 2:
            pos = rng.randrange(len(data))
            data[pos:pos] = rng.randbytes(rng.randint(1, 8))
        else:
            data = data[:14] + rng.randbytes(rng.randint(0, 400))
        (tmp_path / f"m{i:03d}.mid").write_bytes(bytes(data))
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from seqart.errors import ScoreReadError
        from seqart.io import read_scores
        for path in sorted(Path(sys.argv[1]).glob("*.mid")):
            try:
                read_scores(path)
            except ScoreReadError:
                pass
        print("survived")
    """)
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                            text=True, timeout=300, cwd=REPO, env=CHILD_ENV)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "survived"


# =================================================================== writing
def test_write_score_picks_the_format(tmp_path):
    score = Score(tracks=[Track([Note(60, 0, 1), Note(64, 1, 1)])])
    assert detect_format(write_score(score, tmp_path / "a.mid")) == "midi"
    assert detect_format(write_score(score, tmp_path / "b.MIDI")) == "midi"
    assert detect_format(write_score(score, tmp_path / "c.musicxml")) == "musicxml"
    assert detect_format(write_score(score, tmp_path / "d.out", format="mid")) == "midi"
    assert detect_format(write_score(score, tmp_path / "e.out", format="xml")) == "musicxml"
    assert detect_format(score.write(tmp_path / "sub" / "f.mid")) == "midi"


@pytest.mark.parametrize("name, fmt", [("a.wav", None), ("noext", None), ("a.mid", "mp3")])
def test_write_score_unknown_format(tmp_path, name, fmt):
    with pytest.raises(ScoreError) as info:
        write_score(Score(tracks=[Track([Note(60, 0, 1)])]), tmp_path / name, format=fmt)
    assert "\n" not in str(info.value) and "cannot write" in str(info.value)
    assert not (tmp_path / name).exists()


def test_music_extensions():
    assert MUSIC_EXTENSIONS == (".mid", ".midi", ".musicxml", ".xml", ".mxl", ".abc")


def test_importing_seqart_io_loads_no_parser():
    code = "import sys, seqart.io; print(sorted({'music21', 'symusic', 'pretty_midi'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env=CHILD_ENV, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
