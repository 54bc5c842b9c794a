"""Conformance: seqart reads every fixture as an independent reader does, and writes
it back as MIDI and MusicXML without adding or losing a note (issue 17).

Files: every music file in ``tests/fixtures/`` and ``tests/fixtures/real_world/``,
and the MIDI files :data:`MADE_MIDI` builds here with mido (multi-track with drums,
tempo changes, a late first tempo, overlapping notes of one pitch, names padded
with NULs). References: pretty_midi for MIDI; for MusicXML and ABC a fresh music21
parse taken through music21's own tools (``toSoundingPitch``, ``expandRepeats``,
``voicesToParts`` and ``stripTies``), not through seqart's reader.

The conventions seqart follows (see the :mod:`seqart.score` docstring) and that
the references are brought to:

* times in beats (quarter notes); MIDI times come from pretty_midi's seconds
  through its own tick map, and before the first tempo event a MIDI file plays
  at 120 bpm (pretty_midi's and the standard's default);
* repeats read as written unless ``expand_repeats=True`` (then as music21's
  ``expandRepeats`` plays them out, and as written where it cannot);
* grace notes dropped unless ``grace_notes=True`` (then each kept grace note is
  one more note of its pitch);
* pitches sounding, not written, for transposing instruments;
* keys with their modes (MusicXML ``<mode>``, ABC ``K:Ador``); MIDI keeps only
  major and minor;
* a pickup bar is read after the rest that completes it, so bar lines fall on
  multiples of the bar length from beat 0;
* drum tracks hold General MIDI keys: MIDI channel 10 as it is, a MusicXML
  unpitched part at the keys its ``<midi-unpitched>`` names (else at the notes'
  display pitch);
* track names without control characters (NUL padding and the like).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from xml.etree import ElementTree

import mido
import pretty_midi
import pytest

from seqart.io import MUSIC_EXTENSIONS, read_score, read_scores, write_score
from seqart.score import Score, TempoMap

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: committed fixture files: every music file of the two folders
FIXTURE_FILES = sorted(
    path for folder in (FIXTURES, FIXTURES / "real_world") for path in folder.iterdir()
    if path.suffix.lower() in MUSIC_EXTENSIONS
)
#: beats two times may differ by and still be one time (float sums of triplets)
EPS = 1e-6


# ------------------------------------------------------------ MIDI made here
def _track(name: str | None, events: list[tuple[int, mido.Message | mido.MetaMessage]]) -> mido.MidiTrack:
    """A track of ``events`` (absolute tick, message), note-offs before note-ons at one tick."""
    track = mido.MidiTrack()
    if name is not None:
        track.append(mido.MetaMessage("track_name", name=name, time=0))
    now = 0
    for tick, message in sorted(events, key=lambda e: (e[0], e[1].type == "note_on" and e[1].velocity > 0)):
        track.append(message.copy(time=tick - now))
        now = tick
    return track


def _notes(notes: list[tuple[int, int, int]], channel: int = 0, velocity: int = 90, off_as_on: bool = False):
    """note_on/off events of ``notes`` (pitch, onset tick, length in ticks); ``off_as_on``
    writes each note-off as a note-on of velocity 0, as many sequencers do."""
    events = []
    for pitch, start, length in notes:
        events.append((start, mido.Message("note_on", note=pitch, velocity=velocity, channel=channel)))
        off = mido.Message("note_on", note=pitch, velocity=0, channel=channel) if off_as_on \
            else mido.Message("note_off", note=pitch, velocity=0, channel=channel)
        events.append((start + length, off))
    return events


def _tempo(tick: int, bpm: float) -> tuple[int, mido.MetaMessage]:
    return tick, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))


def _save(path: Path, tracks: list[mido.MidiTrack], ticks_per_beat: int, midi_type: int = 1) -> None:
    mid = mido.MidiFile(type=midi_type, ticks_per_beat=ticks_per_beat)
    mid.tracks.extend(tracks)
    mid.save(str(path))


def _multitrack_drums(path: Path) -> None:
    """Format 1 at 384 ticks a beat: a conductor track (3/4, B-flat minor, 100 bpm),
    piano chords whose notes differ in velocity, a bass on channel 2 whose note-offs are note-ons of velocity 0,
    and drums on channel 10."""
    q = 384
    conductor = _track("Song", [
        (0, mido.MetaMessage("time_signature", numerator=3, denominator=4)),
        (0, mido.MetaMessage("key_signature", key="Bbm")),
        _tempo(0, 100),
    ])
    roots = (58, 54, 53)
    chord_notes = [  # root, third and fifth of each bar's chord, each at its own velocity
        event
        for step, velocity in ((0, 100), (3, 64), (7, 82))
        for event in _notes([(root + step, bar * 3 * q, 3 * q) for bar, root in enumerate(roots)], velocity=velocity)
    ]
    piano = _track("Piano", [(0, mido.Message("program_change", program=0)), *chord_notes])
    bass_notes = [(34, i * q, q // 2) for i in range(9)]
    bass = _track("Bass", [(0, mido.Message("program_change", program=33, channel=1))]
                  + _notes(bass_notes, channel=1, off_as_on=True))
    hits = [(36, i * q, q // 4) for i in range(0, 9, 3)] + [(38, i * q, q // 4) for i in (1, 2, 4, 5, 7, 8)] \
        + [(42, i * q // 2, q // 8) for i in range(18)]
    drums = _track("Drums", _notes(hits, channel=9, velocity=100))
    _save(path, [conductor, piano, bass, drums], q)


def _tempo_changes(path: Path) -> None:
    """Format 0 at 96 ticks a beat, melody (channel 1) and drums (channel 10) in one
    track: 90 bpm, 140 at beat 4, 60 at beat 6.5; 4/4 then 7/8 and D major then
    B minor at beat 8."""
    q = 96
    meta = [
        (0, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
        (0, mido.MetaMessage("key_signature", key="D")),
        _tempo(0, 90), _tempo(4 * q, 140), _tempo(13 * q // 2, 60),
        (8 * q, mido.MetaMessage("time_signature", numerator=7, denominator=8)),
        (8 * q, mido.MetaMessage("key_signature", key="Bm")),
    ]
    melody = [(62 + step, i * q // 2, q // 2) for i, step in enumerate((0, 2, 4, 5, 7, 9, 11, 12) * 3)]
    hats = [(42, i * q, q // 4) for i in range(12)]
    _save(path, [_track("Band", meta + _notes(melody) + _notes(hats, channel=9))], q, midi_type=0)


def _late_first_tempo(path: Path) -> None:
    """Format 1 at 480 ticks a beat whose only tempo (80 bpm) comes at beat 2: the
    first two beats play at 120 bpm."""
    q = 480
    conductor = _track(None, [_tempo(2 * q, 80)])
    melody = _track("Melody", _notes([(60 + i, i * q, q) for i in range(6)]))
    _save(path, [conductor, melody], q)


def _overlapping_same_pitch(path: Path) -> None:
    """One track whose notes of one pitch overlap: C4 0-2 and 1-3, E4 4-8 holding a
    struck-again E4 5-6, and G4 struck twice before either note ends."""
    q = 480
    notes = [(60, 0, 2 * q), (60, q, 2 * q), (64, 4 * q, 4 * q), (64, 5 * q, q), (67, 8 * q, 2 * q),
             (67, 9 * q, 2 * q), (72, 11 * q, q)]
    _save(path, [_track(None, [_tempo(0, 120)]), _track("Organ", _notes(notes))], q)


def _nul_names(path: Path) -> None:
    """Four tracks named as old sequencers and trackers name them: padded with NULs,
    only a NUL, a control character inside, blanks around."""
    q = 480
    names = ["Piano\x00\x00\x00\x00", "\x00", "Lead\x01Synth", "  Strings  "]
    tracks = [_track(None, [_tempo(0, 110)])]
    for i, name in enumerate(names):
        program = (0, 80, 81, 48)[i]
        events = [(0, mido.Message("program_change", program=program, channel=i))]
        tracks.append(_track(name, events + _notes([(60 + 4 * i, j * q, q) for j in range(4)], channel=i)))
    _save(path, tracks, q)


#: name -> function writing that MIDI file
MADE_MIDI = {
    "multitrack_drums": _multitrack_drums,
    "tempo_changes": _tempo_changes,
    "late_first_tempo": _late_first_tempo,
    "overlapping_same_pitch": _overlapping_same_pitch,
    "nul_names": _nul_names,
}
CASES = [*(f.relative_to(FIXTURES).as_posix() for f in FIXTURE_FILES), *(f"made/{n}.mid" for n in MADE_MIDI)]
MIDI_CASES = [c for c in CASES if c.endswith((".mid", ".midi"))]
NOTATION_CASES = [c for c in CASES if c not in MIDI_CASES]


@pytest.fixture(scope="module")
def made_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("made")
    for name, write in MADE_MIDI.items():
        write(folder / f"{name}.mid")
    return folder


def case_path(case: str, made_dir: Path) -> Path:
    return made_dir / case.removeprefix("made/") if case.startswith("made/") else FIXTURES / case


# ------------------------------------------------------------- comparisons
def timeline(notes) -> list[tuple[int, Fraction, Fraction]]:
    """(pitch, onset, duration) of ``notes`` (objects with pitch, start, duration in
    beats), sorted, times as fractions limited to 1/1000 beat so float sums compare."""
    def exact(x):
        return Fraction(x).limit_denominator(1000)
    return sorted((n.pitch, exact(n.start), exact(n.duration)) for n in notes)


def changes(events: list[tuple]) -> list[tuple]:
    """(beat, value...) events sorted, the last at a beat kept, restatements dropped."""
    by_beat = {}
    for event in sorted(events, key=lambda e: e[0]):
        by_beat[round(event[0], 6)] = event[1:]
    kept: list[tuple] = []
    for beat, value in by_beat.items():
        if not kept or kept[-1][1:] != value:
            kept.append((beat, *value))
    return kept


def printable(name: str) -> str:
    """A name as seqart keeps it: control characters out (tab, newline, return as
    blanks), blanks around trimmed."""
    spaced = "".join(" " if ch in "\t\n\r" else ch for ch in name)
    return "".join(ch for ch in spaced if unicodedata.category(ch) != "Cc").strip()


# --------------------------------------------------------- MIDI vs pretty_midi
@dataclass
class Timed:
    """A note as a reference reader gives it: MIDI pitch, onset and length in beats."""

    pitch: int
    start: float
    duration: float


def pretty_midi_view(path: Path) -> dict:
    """What pretty_midi reads, in beats from its own tick map."""
    pm = pretty_midi.PrettyMIDI(str(path))

    def beat(seconds: float) -> float:
        return pm.time_to_tick(seconds) / pm.resolution

    tracks = []
    for inst in pm.instruments:
        notes = [Timed(n.pitch, beat(n.start), beat(n.end) - beat(n.start)) for n in inst.notes]
        velocities = Counter((n.pitch, n.velocity) for n in inst.notes)
        tracks.append((inst.is_drum, int(inst.program), printable(inst.name), notes, velocities))
    times, bpms = pm.get_tempo_changes()
    return {
        "tracks": tracks,
        "tempos": changes([(beat(t), round(float(b), 3)) for t, b in zip(times, bpms)]),
        "meters": changes([(beat(s.time), s.numerator, s.denominator) for s in pm.time_signature_changes]),
        "keys": changes([
            (beat(k.time), k.key_number % 12, "minor" if k.key_number >= 12 else "major")
            for k in pm.key_signature_changes
        ]),
    }


def seqart_view(score: Score) -> dict:
    tracks = [
        (t.is_drum, t.program, t.name, t.notes, Counter((n.pitch, n.velocity) for n in t.notes))
        for t in score.tracks
    ]
    return {
        "tracks": tracks,
        # TempoMap: no tempo is 120 bpm, as pretty_midi says for a file without one
        "tempos": changes([(c.beat, c.bpm) for c in TempoMap(score.tempos).changes]),
        "meters": changes([(s.beat, s.numerator, s.denominator) for s in score.time_signatures]),
        "keys": changes([(k.beat, k.tonic, k.mode) for k in score.key_signatures]),
    }


def same_pitch_overlaps(notes) -> set[int]:
    """Indexes of ``notes`` that overlap another note of their pitch."""
    found = set()
    for i, a in enumerate(notes):
        for j, b in enumerate(notes):
            overlap = a.start < b.start + b.duration - EPS and b.start < a.start + a.duration - EPS
            if i != j and a.pitch == b.pitch and overlap:
                found.add(i)
    return found


def assert_same_midi_notes(ours, theirs) -> None:
    """Same notes; durations compared only where no note of the same pitch overlaps.

    Two overlapping notes of one pitch in one track cannot be told apart in MIDI:
    symusic ends them first in, first out, pretty_midi ends all of them at the
    first note-off. Their pitches and onsets are what the file says for sure.
    """
    def onsets(notes):
        return sorted((n.pitch, round(n.start, 6)) for n in notes)

    assert onsets(ours) == onsets(theirs)
    clear_ours = [n for i, n in enumerate(ours) if i not in same_pitch_overlaps(ours)]
    clear_theirs = [n for i, n in enumerate(theirs) if i not in same_pitch_overlaps(theirs)]
    assert timeline(clear_ours) == timeline(clear_theirs)


@pytest.mark.parametrize("case", MIDI_CASES)
def test_midi_reads_as_pretty_midi_reads_it(case, made_dir):
    path = case_path(case, made_dir)
    ours, theirs = seqart_view(read_score(path)), pretty_midi_view(path)
    for what in ("tempos", "meters", "keys"):
        assert ours[what] == theirs[what], what
    # tracks matched by drum flag, program and name (each case names its tracks apart)
    ours_by_id = {t[:3]: t for t in ours["tracks"]}
    theirs_by_id = {t[:3]: t for t in theirs["tracks"]}
    assert sorted(ours_by_id) == sorted(theirs_by_id)
    for ident, (*_, notes, velocities) in theirs_by_id.items():
        assert_same_midi_notes(ours_by_id[ident][3], notes)
        assert ours_by_id[ident][4] == velocities, ident


# ------------------------------------------------- MusicXML and ABC vs music21
def music21_scores(path: Path, expand_repeats: bool) -> list:
    """Every score music21 itself reads from ``path`` (each tune of an ABC book), at
    sounding pitch and, with ``expand_repeats``, played out where music21 can."""
    from music21 import converter, stream

    parsed = converter.parse(str(path), forceSource=True)
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    scores = [s.toSoundingPitch() for s in scores]
    if expand_repeats:
        scores = [_expanded_or_written(s) for s in scores]
    return scores


def _expanded_or_written(score):
    from music21.exceptions21 import Music21Exception

    try:
        return score.expandRepeats()
    except Music21Exception:  # repeats music21 cannot play out: seqart reads them as written
        return score


def pickup_rest(part) -> Fraction:
    """Beats of rest before a pickup bar that make it a full bar (0 without a pickup)."""
    measures = part.getElementsByClass("Measure")
    if len(measures) < 2:
        return Fraction(0)
    first = measures[0]
    full, held = Fraction(first.barDuration.quarterLength), Fraction(first.duration.quarterLength)
    return full - held if 0 < held < full else Fraction(0)


def music21_part_notes(part, rest: Fraction) -> tuple[list[Timed], list[int], bool]:
    """(pitched and unpitched notes with ties merged, pitches of grace notes, drum part?).

    Ties are merged voice by voice (``stripTies`` on each part of ``voicesToParts``):
    on a whole part ``stripTies`` misses ties whose notes interleave with another
    voice's. An unpitched note gets its display pitch here; seqart gives it the
    General MIDI key of its instrument (checked with :func:`named_drum_keys`).
    """
    notes, graces, drum = [], [], False
    for voice in part.voicesToParts().parts:
        for el in voice.stripTies().flatten().notes:
            members = list(el.notes) if "ChordBase" in el.classSet else [el]  # PercussionChord too
            if el.duration.isGrace:
                graces.extend(_pitch_of(m) for m in members)
                continue
            for member in members:
                drum = drum or not hasattr(member, "pitch")
                onset = Fraction(el.offset) + rest
                notes.append(Timed(_pitch_of(member), onset, Fraction(el.quarterLength)))
    instrument = part.getInstrument(returnDefault=False)
    drum = drum or (instrument is not None and instrument.midiChannel == 9)
    return notes, graces, drum


def _pitch_of(member) -> int:
    return member.pitch.midi if hasattr(member, "pitch") else member.displayPitch().midi


def music21_meta(part, rest: Fraction) -> dict:
    """Tempo, meter and key changes of the first part, in beats after the pickup's rest."""
    from music21 import key as m21key

    def beat(el) -> float:
        offset = Fraction(el.getOffsetInHierarchy(part))
        return float(offset + rest) if offset > 0 else 0.0

    found = part.recurse()
    keys = []
    for signature in found.getElementsByClass("KeySignature"):
        k = signature if isinstance(signature, m21key.Key) else signature.asKey("major")
        mode = {"ionian": "major", "aeolian": "minor"}.get(k.mode, k.mode)
        keys.append((beat(signature), k.tonic.pitchClass, mode))
    return {
        "tempos": changes([(beat(m), float(m.getQuarterBPM())) for m in found.getElementsByClass("MetronomeMark")]),
        "meters": changes([(beat(s), s.numerator, s.denominator) for s in found.getElementsByClass("TimeSignature")]),
        "keys": changes(keys),
    }


def named_drum_keys(path: Path) -> list[Counter]:
    """Per part of a MusicXML file, in order: the General MIDI keys of its unpitched
    notes that the file names (through the ``<instrument>`` a note names, or the
    part's only instrument), from the ``<midi-unpitched>`` elements (1-based there).
    A note that names no key is not counted; nor is the second note of a tie."""
    if path.suffix.lower() not in (".musicxml", ".xml"):
        return []
    root = ElementTree.parse(path).getroot()
    keys_by_part = {
        score_part.get("id"): {
            midi.get("id"): int(midi.findtext("midi-unpitched")) - 1
            for midi in score_part.findall("midi-instrument") if midi.findtext("midi-unpitched")
        }
        for score_part in root.iter("score-part")
    }
    found = []
    for part in root.findall("part"):
        keys = keys_by_part.get(part.get("id"), {})
        only = next(iter(keys.values())) if len(keys) == 1 else None
        counts: Counter = Counter()
        for note in part.iter("note"):
            tied_on = any(tie.get("type") == "stop" for tie in note.findall("tie"))
            if note.find("unpitched") is None or note.find("grace") is not None or tied_on:
                continue
            named = note.find("instrument")
            key = keys.get(named.get("id")) if named is not None else only
            if key is not None:
                counts[key] += 1
        found.append(counts)
    return found


@pytest.mark.parametrize("expand_repeats", [False, True], ids=["as-written", "expand-repeats"])
@pytest.mark.parametrize("case", NOTATION_CASES)
def test_notation_reads_as_music21_reads_it(case, expand_repeats):
    path = FIXTURES / case
    ours = read_scores(path, expand_repeats=expand_repeats)
    theirs = music21_scores(path, expand_repeats)
    assert len(ours) == len(theirs)
    drum_keys = named_drum_keys(path)
    for score, reference in zip(ours, theirs):
        parts = list(reference.parts)
        rest = pickup_rest(parts[0])
        assert len(score.tracks) == len(parts)
        for index, (track, part) in enumerate(zip(score.tracks, parts)):
            notes, _graces, drum = music21_part_notes(part, rest)
            assert track.is_drum == drum
            if drum_keys and drum_keys[index]:
                # unpitched notes: their times as music21 reads them, their keys as the
                # file names them (music21 reads only the display pitch)
                assert sorted(n[1:] for n in timeline(track.notes)) == sorted(n[1:] for n in timeline(notes))
                assert not drum_keys[index] - Counter(n.pitch for n in track.notes)
            else:
                assert timeline(track.notes) == timeline(notes)
        meta = music21_meta(parts[0], rest)
        assert changes([(c.beat, c.bpm) for c in score.tempos]) == meta["tempos"]
        assert changes([(s.beat, s.numerator, s.denominator) for s in score.time_signatures]) == meta["meters"]
        assert changes([(k.beat, k.tonic, k.mode) for k in score.key_signatures]) == meta["keys"]


@pytest.mark.parametrize("case", NOTATION_CASES)
def test_grace_notes_kept_on_request_add_only_grace_notes(case):
    """With ``grace_notes=True`` every note read without it is still there (its onset and
    length may give way to the graces before it) and the rest are grace notes."""
    path = FIXTURES / case
    plain, graced = read_scores(path), read_scores(path, grace_notes=True)
    for score, with_graces, reference in zip(plain, graced, music21_scores(path, expand_repeats=False)):
        rest = pickup_rest(reference.parts[0])
        for track, graced_track, part in zip(score.tracks, with_graces.tracks, reference.parts):
            _kept, graces, _drum = music21_part_notes(part, rest)
            added = Counter(n.pitch for n in graced_track.notes) - Counter(n.pitch for n in track.notes)
            assert len(graced_track.notes) - len(track.notes) == sum(added.values())
            assert not added - Counter(graces)
            if graces:  # each fixture's grace notes lead into a note, but for one at the very end
                assert added


# ------------------------------------------------------------------ round trips
#: format -> beats a written onset may move by (half a step of the writer's grid)
ROUND_TRIP_TOLERANCE = {"mid": 0.5 / 480, "musicxml": 0.5 / 48}


@pytest.mark.parametrize("fmt", sorted(ROUND_TRIP_TOLERANCE))
@pytest.mark.parametrize("case", CASES)
def test_round_trip_adds_or_loses_no_note(case, fmt, made_dir, tmp_path):
    """Written and read back, each track keeps its name, program, drum flag, and every
    note's pitch and velocity; onsets move at most half a step of the writer's grid
    (1/480 beat in MIDI, 1/48 in MusicXML). Durations are not compared: MIDI cannot
    tell overlapping notes of one pitch apart."""
    for i, score in enumerate(read_scores(case_path(case, made_dir))):
        back = read_score(write_score(score, tmp_path / f"{i}.{fmt}"))
        # MIDI keeps no track without notes
        tracks = [t for t in score.tracks if t.notes]
        assert [(t.name, t.program, t.is_drum, len(t.notes)) for t in back.tracks] \
            == [(t.name, t.program, t.is_drum, len(t.notes)) for t in tracks]
        for track, track_back in zip(tracks, back.tracks):
            assert Counter((n.pitch, n.velocity) for n in track_back.notes) \
                == Counter((n.pitch, n.velocity) for n in track.notes)
            for pitch in {n.pitch for n in track.notes}:
                onsets = sorted(n.start for n in track.notes if n.pitch == pitch)
                onsets_back = sorted(n.start for n in track_back.notes if n.pitch == pitch)
                assert onsets_back == pytest.approx(onsets, abs=ROUND_TRIP_TOLERANCE[fmt]), (track.name, pitch)
