"""MIDI files as real software writes them (issue 17, MIDI side).

Each file is built here with mido, so each holds exactly one known quirk:
track names padded with NUL bytes, and a first tempo event after beat 0.
"""

from __future__ import annotations

from pathlib import Path

import mido
import pretty_midi
import pytest

from seqart import TempoChange
from seqart.io import read_score, write_score
from seqart.io.midi import TICKS_PER_BEAT, clean_text, read_midi, write_midi

#: (MIDI pitch, onset tick, duration in ticks) of the melody every file holds.
MELODY_TICKS = [(60, 0, 480), (62, 480, 480), (64, 960, 480), (65, 1440, 240), (67, 1920, 960)]


def write_mido_file(path: Path, track_name: str | None = None, tempo_tick: int | None = None,
                    bpm: float = 60.0) -> Path:
    """A format-0 file at 480 ticks per beat holding :data:`MELODY_TICKS`.

    Args:
        path: where to write it.
        track_name: the track-name meta event's text, None for no such event.
        tempo_tick: tick of the only set_tempo event, None for none.
        bpm: that event's tempo.
    """
    events: list[tuple[int, object]] = []
    if track_name is not None:
        events.append((0, mido.MetaMessage("track_name", name=track_name)))
    if tempo_tick is not None:
        events.append((tempo_tick, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    for pitch, start, duration in MELODY_TICKS:
        events.append((start, mido.Message("note_on", note=pitch, velocity=80)))
        events.append((start + duration, mido.Message("note_off", note=pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1].type != "note_off"))  # offs before ons at one tick
    track, now = mido.MidiTrack(), 0
    for tick, message in events:
        track.append(message.copy(time=tick - now))
        now = tick
    mid = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.append(track)
    mid.save(str(path))
    return path


def pretty_midi_onsets(path: Path) -> list[float]:
    """Note onsets in seconds as pretty_midi computes them, sorted."""
    return sorted(n.start for inst in pretty_midi.PrettyMIDI(str(path)).instruments for n in inst.notes)


def seqart_onsets(path: Path) -> list[float]:
    """Note onsets in seconds through seqart's reader and tempo map, sorted."""
    score = read_midi(path)
    return sorted(score.tempo_map.beats_to_seconds(n.start) for n in score.notes)


def onset_ticks(path: Path) -> list[tuple[int, int]]:
    """(pitch, absolute onset tick) of every note_on in a MIDI file, sorted."""
    found = []
    for track in mido.MidiFile(str(path)).tracks:
        now = 0
        for message in track:
            now += message.time
            if message.type == "note_on" and message.velocity > 0:
                found.append((message.note, now))
    return sorted(found)


def tempo_ticks(path: Path) -> list[tuple[int, int]]:
    """(absolute tick, microseconds per beat) of every set_tempo event in a MIDI file."""
    found = []
    for track in mido.MidiFile(str(path)).tracks:
        now = 0
        for message in track:
            now += message.time
            if message.type == "set_tempo":
                found.append((now, message.tempo))
    return sorted(found)


# -------------------------------------------------------------- track names
@pytest.mark.parametrize("raw, clean", [
    ("Piano\x00", "Piano"),
    ("\x00\x00Pia\x00no\x00\x00", "Piano"),
    ("  Str\tings\r\n", "Str ings"),
    ("Fl\u00f6te \u6b4c \U0001f3b9", "Fl\u00f6te \u6b4c \U0001f3b9"),
    ("Bass\x1b\x7f\x9f", "Bass"),
    ("Lead\ud800\ufffe\uffff", "Lead"),
    ("", ""),
])
def test_clean_text_drops_control_characters_and_keeps_unicode(raw, clean):
    assert clean_text(raw) == clean


def test_nul_padded_track_name_reads_without_nul(tmp_path):
    path = write_mido_file(tmp_path / "nul_name.mid", track_name="Piano\x00")
    assert [t.name for t in read_midi(path).tracks] == ["Piano"]


@pytest.mark.parametrize("name", ["", None], ids=["empty-name-event", "no-name-event"])
def test_track_without_name_stays_unnamed(tmp_path, name):
    path = write_mido_file(tmp_path / "unnamed.mid", track_name=name)
    assert [t.name for t in read_midi(path).tracks] == [""]


def test_nul_padded_track_name_survives_musicxml_round_trip(tmp_path):
    score = read_midi(write_mido_file(tmp_path / "nul_name.mid", track_name="Piano\x00"))
    out = write_score(score, tmp_path / "x.musicxml")
    assert b"\x00" not in out.read_bytes()
    back = read_score(out)
    assert [t.name for t in back.tracks] == ["Piano"]
    assert [n.pitch for n in back.notes] == [p for p, _, _ in MELODY_TICKS]


# -------------------------------------------------------------- late first tempo
def test_music_before_late_first_tempo_plays_at_120_bpm(tmp_path):
    path = write_mido_file(tmp_path / "late_tempo.mid", tempo_tick=960, bpm=60.0)
    score = read_midi(path)
    assert score.tempos == [TempoChange(0.0, 120.0), TempoChange(2.0, 60.0)]
    # 2 beats at 120 bpm, then 60 bpm: onsets 0, 0.5, 1, 2, 3 seconds
    assert seqart_onsets(path) == pytest.approx([0.0, 0.5, 1.0, 2.0, 3.0], abs=1e-9)


@pytest.mark.parametrize("tempo_tick", [None, 0, 960, 1000])
def test_onset_seconds_agree_with_pretty_midi(tmp_path, tempo_tick):
    path = write_mido_file(tmp_path / "tempo.mid", tempo_tick=tempo_tick, bpm=75.0)
    assert seqart_onsets(path) == pytest.approx(pretty_midi_onsets(path), abs=1e-3)


def test_late_first_tempo_round_trip_keeps_ticks_and_seconds(tmp_path):
    original = write_mido_file(tmp_path / "late_tempo.mid", tempo_tick=960, bpm=60.0)
    copy = write_midi(read_midi(original), tmp_path / "copy.mid")
    assert onset_ticks(copy) == onset_ticks(original)
    assert tempo_ticks(copy) == [(0, mido.bpm2tempo(120)), (960, mido.bpm2tempo(60))]
    assert pretty_midi_onsets(copy) == pytest.approx(pretty_midi_onsets(original), abs=1e-3)
    assert read_midi(copy).tempos == read_midi(original).tempos
