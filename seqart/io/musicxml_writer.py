""":class:`seqart.Score` -> MusicXML, through music21.

Each track becomes one part. Notes with the same onset and duration become a
chord, each note keeping its velocity; notes that overlap otherwise, a note
doubled at the same pitch included, go to extra voices, so nothing is cut
short or merged. Times are snapped to 1/48 beat, the finest grid that holds
both 64th notes and 32nd-note triplets, because music21 cannot notate
arbitrary floats.

The measures are built here rather than by ``makeNotation``: music21 puts
overlapping notes of one part into a single voice and gives each voice its own
number of bars. music21's exporter still completes the notation (beams,
accidentals, splitting durations such as 5/4 into tied notes).

music21 is imported inside the functions (it takes about half a second).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path

from seqart.errors import ScoreError, one_line
from seqart.io.midi import key_sharps
from seqart.score import KeySignature, Note, Score, TimeSignature, Track
from seqart.utils.atomic import write_bytes_atomic

#: Grid steps per beat (quarter note) that written times are snapped to.
GRID = 48

_SCORE_PART = re.compile(rb"<score-part\b.*?</score-part>", re.DOTALL)
_MIDI_CHANNEL = re.compile(rb"<midi-channel>\d+</midi-channel>")
# Marks a chord note's velocity in its id while music21 exports (an XML id must not
# start with a digit); _chord_velocities replaces it with the note's dynamics.
_VELOCITY_MARK = "seqart-velocity-"
_VELOCITY_ID = re.compile(rb'<note(?: dynamics="[^"]*")? id="seqart-velocity-(\d+)"')
# Characters XML 1.0 forbids (control characters such as NUL, lone surrogates,
# U+FFFE and U+FFFF): a file holding one is not well-formed and no reader opens it.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# music21 fills a missing title and composer with these placeholders.
_PLACEHOLDERS = re.compile(
    rb"\s*<movement-title>Music21 Fragment</movement-title>"
    rb'|\s*<creator type="composer">Music21</creator>'
)


def write_musicxml(score: Score, path: str | Path) -> Path:
    """Write ``score`` as an uncompressed MusicXML file, atomically.

    Onsets and offsets (beats) are snapped, each on its own, to 1/:data:`GRID`
    beat; a note shorter than that lasts one step. Tempos go into the first part
    as metronome marks; time and key signatures into every part, a key as the
    ``<fifths>`` of its mode's signature and its ``<mode>`` (``dorian``, ...), so the
    mode reads back. The style (:attr:`Score.style`) is not stored. Velocities are
    kept per note as MusicXML note dynamics (chord notes too); drum tracks go on
    MIDI channel 10. A track's program (0-127) is written as the 1-based
    ``<midi-program>`` (program 4 as 5) of a plain instrument, written at
    sounding pitch. Names lose the characters XML 1.0 cannot hold (NUL and other
    control characters); an empty track name stays empty. Reading the file back
    with :func:`seqart.io.read_score` gives every note (same count, pitches,
    onsets, durations and velocities for notes on the grid, overlapping notes of
    one pitch included), each track's program, drum flag and name, and the title.

    Args:
        score: the score to write.
        path: destination; missing folders are created.

    Returns:
        ``path`` as a :class:`Path`.

    Raises:
        ScoreError: for a pitch or program outside 0-127, a negative or
            non-finite time, a tempo that is not a positive number, an unusable
            time signature, or a score music21 cannot export.
    """
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    m21 = score_to_music21(score)
    try:
        data = GeneralObjectExporter(m21).parse()
    except Exception as exc:  # music21 raises its own exception kinds for unexportable streams
        msg = one_line(exc, 160)
        raise ScoreError(f"music21 cannot export this score as MusicXML ({msg})") from None
    if not _xml_text(score.title):
        data = _PLACEHOLDERS.sub(b"", data)
    data = _force_drum_channels(data, [t.is_drum for t in score.tracks])
    data = _chord_velocities(data)
    path = Path(path)
    write_bytes_atomic(path, data)
    return path


def _force_drum_channels(data: bytes, drums: list[bool]) -> bytes:
    """Put every drum part on MIDI channel 10.

    music21 gives each part a channel of its own, so a second drum track would
    move to another channel and read back as pitched.
    """
    if sum(drums) < 2:
        return data
    blocks = list(_SCORE_PART.finditer(data))
    if len(blocks) != len(drums):
        return data
    out, last = [], 0
    for match, is_drum in zip(blocks, drums):
        out.append(data[last:match.start()])
        block = match.group(0)
        if is_drum:
            block = _MIDI_CHANNEL.sub(b"<midi-channel>10</midi-channel>", block)
        out.append(block)
        last = match.end()
    out.append(data[last:])
    return b"".join(out)


def score_to_music21(score: Score):
    """Build a ``music21.stream.Score`` with measures (see the module docstring).

    Raises:
        ScoreError: as :func:`write_musicxml`.
    """
    from music21 import metadata, stream

    _check(score)
    end = max((_span(n)[1] for t in score.tracks for n in t.notes), default=Fraction(0))
    bars = _bars(score.time_signatures, end)
    out = stream.Score()
    title = _xml_text(score.title)
    out.insert(0, metadata.Metadata(title=title) if title else metadata.Metadata())
    tracks = score.tracks or [Track()]
    pitched_channels = [c for c in range(16) if c != 9]
    pitched = 0
    for i, track in enumerate(tracks):
        channel = pitched_channels[pitched % len(pitched_channels)]
        pitched += not track.is_drum
        out.insert(0, _part(track, bars, score, with_tempo=(i == 0), channel=channel))
    return out


def _xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (``"Piano\\x00"`` -> ``"Piano"``)."""
    return _NOT_XML.sub("", text)


def _instrument(track: Track, channel: int):
    """A plain music21 instrument playing ``track``'s exact program on ``channel``
    (0-15; drums on 9, MIDI channel 10).

    music21's own instrument classes would change the program (it writes
    program 4 as an "Electric Piano", which it reads back as program 2), write
    a pitched agogo or taiko as unpitched drums, and mark a clarinet as
    transposing while its notes stay at sounding pitch.
    """
    from music21 import instrument

    inst = instrument.Instrument()
    inst.midiProgram = track.program  # written 1-based as <midi-program>, read back 0-based
    inst.midiChannel = 9 if track.is_drum else channel
    inst.instrumentName = _instrument_name(track)
    inst.partName = _xml_text(track.name)
    return inst


def _instrument_name(track: Track) -> str:
    """The ``<instrument-name>`` for ``track``: music21's name for its program when
    music21 reads that name back as the same program ("Violin" for 40), else empty.

    music21's reader lets a known instrument name override ``<midi-program>``
    for piano-like programs, so a name that means another program would change
    the program read back. Drum tracks get no name (program 0 is "Piano").
    """
    from music21 import instrument

    if track.is_drum:
        return ""
    try:
        name = instrument.instrumentFromMidiProgram(track.program).instrumentName or ""
        same = bool(name) and instrument.fromString(name).midiProgram == track.program
    except instrument.InstrumentException:  # music21 knows no instrument for this program or name
        return ""
    return name if same else ""


def _check(score: Score) -> None:
    for t in score.tracks:
        if not 0 <= t.program <= 127:
            raise ScoreError(f"program {t.program} of track {t.name!r} is outside 0-127")
        for n in t.notes:
            if not 0 <= n.pitch <= 127:
                raise ScoreError(f"pitch {n.pitch} is outside 0-127 (track {t.name!r})")
            if not (math.isfinite(n.start) and math.isfinite(n.duration)) or n.start < 0 or n.duration < 0:
                raise ScoreError(f"invalid note timing (start {n.start}, duration {n.duration} beats)")
    for s in score.time_signatures:
        if s.numerator <= 0 or s.denominator <= 0 or not math.isfinite(s.beat) or s.beat < 0:
            raise ScoreError(f"unusable time signature {s} at beat {s.beat}")
    for t in score.tempos:
        if not (math.isfinite(t.bpm) and t.bpm > 0 and math.isfinite(t.beat)):
            raise ScoreError(f"unusable tempo {t.bpm:g} bpm at beat {t.beat:g}")


def _q(beats: float) -> Fraction:
    """``beats`` snapped to the 1/GRID grid, as an exact fraction."""
    return Fraction(round(beats * GRID), GRID)


def _span(note: Note) -> tuple[Fraction, Fraction]:
    """Onset and offset of ``note`` on the grid, each snapped on its own so legato
    notes stay legato; at least one grid step long."""
    start = _q(note.start)
    return start, max(_q(note.end), start + Fraction(1, GRID))


def _bars(signatures: list[TimeSignature], end: Fraction) -> list[tuple[Fraction, Fraction, TimeSignature | None]]:
    """Bars ``(start, end, signature or None)`` covering beats 0..``end``.

    The signature is given for the first bar of each meter. A meter change that
    does not fall on a bar line cuts the bar before it short, as
    :meth:`Score.bar_starts` does; that bar gets a meter of its own length (2/4
    for two beats), because a MusicXML reader takes a bar that is shorter than
    its meter for a full one and shifts every later note. Meter changes are
    snapped to 1/16 beat so that such a meter exists.
    """
    by_beat: dict[Fraction, TimeSignature] = {}
    for s in sorted(signatures, key=lambda s: s.beat):
        by_beat[Fraction(round(s.beat * 16), 16)] = s
    sigs = sorted(by_beat.items()) or [(Fraction(0), TimeSignature(0.0, 4, 4))]
    sigs[0] = (Fraction(0), sigs[0][1])
    bars: list[tuple[Fraction, Fraction, TimeSignature | None]] = []
    for i, (seg_start, sig) in enumerate(sigs):
        seg_end = sigs[i + 1][0] if i + 1 < len(sigs) else None
        length = Fraction(4 * sig.numerator, sig.denominator)
        beat, first = seg_start, True
        while beat < end and (seg_end is None or beat < seg_end):
            bar_end = beat + length if seg_end is None else min(beat + length, seg_end)
            meter = sig if first else None
            if bar_end - beat < length:
                meter = _meter_of_length(bar_end - beat)
            bars.append((beat, bar_end, meter))
            beat, first = bar_end, False
    if not bars:  # an empty score still gets one bar
        sig = sigs[0][1]
        bars.append((Fraction(0), Fraction(4 * sig.numerator, sig.denominator), sig))
    return bars


def _meter_of_length(beats: Fraction) -> TimeSignature:
    """The simplest meter whose bar lasts ``beats`` (a multiple of 1/16 beat): 3/8 for 1.5."""
    denominator = 4
    while (beats * denominator / 4).denominator != 1:
        denominator *= 2
    return TimeSignature(0.0, int(beats * denominator / 4), denominator)


#: One chord of a voice: onset and offset on the grid (beats) and its notes as
#: ``(pitch, velocity)``, lowest pitch first.
Chord = tuple[Fraction, Fraction, list[tuple[int, int]]]


def _chords(track: Track) -> list[Chord]:
    """The notes of ``track`` grouped into chords by their span on the grid.

    Each note keeps its own velocity. A note whose pitch its span's chord already
    holds (a doubled note) starts another chord, so that it gets a voice of its
    own instead of disappearing.
    """
    by_span: dict[tuple[Fraction, Fraction], list[dict[int, int]]] = {}
    for n in track.notes:
        velocity = max(1, min(127, int(n.velocity)))
        chords_here = by_span.setdefault(_span(n), [])
        for members in chords_here:
            if n.pitch not in members:
                members[n.pitch] = velocity
                break
        else:
            chords_here.append({n.pitch: velocity})
    return [
        (start, end, sorted(members.items()))
        for (start, end), chords_here in by_span.items()
        for members in chords_here
    ]


def _voices(track: Track) -> list[list[Chord]]:
    """The chords of ``track`` packed into as few voices as keep each voice free
    of overlaps (highest chord first), so two overlapping notes of one pitch
    always sit in different voices and their ties stay apart."""
    ordered = sorted(_chords(track), key=lambda c: (c[0], -c[2][-1][0]))
    voices: list[list[Chord]] = []
    for item in ordered:
        for voice in voices:
            if voice[-1][1] <= item[0]:
                voice.append(item)
                break
        else:
            voices.append([item])
    return voices or [[]]


def _part(track: Track, bars, score: Score, with_tempo: bool, channel: int):
    from music21 import clef, stream, tempo

    part = stream.Part()
    part.partName = _xml_text(track.name)  # "" writes an empty <part-name>, not "Piano"
    inst = _instrument(track, channel)
    voices = _voices(track)
    keys = sorted(score.key_signatures, key=lambda k: k.beat)
    pitches = [p for v in voices for (_s, _e, members) in v for p, _v in members]
    flats = bool(keys) and key_sharps(keys[0]) < 0
    for number, (b0, b1, sig) in enumerate(bars, start=1):
        measure = stream.Measure(number=number)
        if number == 1:
            measure.insert(0, inst)
            measure.insert(0, _best_clef(pitches, track.is_drum, clef))
        if sig is not None:
            measure.insert(0, _m21_meter(sig))
        for k in keys:
            if b0 <= _q(k.beat) < b1:
                measure.insert(_q(k.beat) - b0, _m21_key(k))
                flats = key_sharps(k) < 0
        if with_tempo:
            for t in sorted(score.tempos, key=lambda t: t.beat):
                beat = _q(t.beat)
                if b0 <= beat < b1:
                    mark = tempo.MetronomeMark(number=round(t.bpm, 3), referent=1.0)
                    measure.insert(beat - b0, mark)
        if len(voices) == 1:
            _fill(measure, voices[0], b0, b1, flats, rests=True)
        else:
            for v, items in enumerate(voices):
                voice = stream.Voice(id=str(v + 1))
                if _fill(voice, items, b0, b1, flats, rests=(v == 0)):
                    measure.insert(0, voice)
        part.append(measure)
    return part


def _fill(container, items: list[Chord], b0: Fraction, b1: Fraction, flats: bool, rests: bool) -> bool:
    """Put the parts of ``items`` that sound in bar ``[b0, b1)`` into ``container``,
    tied across bar lines, with rests in the gaps. Returns True if anything was added."""
    from music21 import note

    cursor, added = b0, False
    for start, end, members in items:
        if end <= b0 or start >= b1:
            continue
        seg_start, seg_end = max(start, b0), min(end, b1)
        if seg_start > cursor and rests:
            container.insert(cursor - b0, note.Rest(quarterLength=seg_start - cursor))
        el = _sounding(members, flats)
        el.quarterLength = seg_end - seg_start
        # A length such as 5/2 beats needs tied notes (half + eighth). Split here,
        # because the exporter would split it itself and overwrite the ties that
        # continue the note across bar lines.
        pieces = el.splitAtDurations() if el.duration.type == "complex" else (el,)
        offset = seg_start - b0
        for i, piece in enumerate(pieces):
            _tie(piece, tied_from=start < b0 or i > 0, tied_to=end > b1 or i < len(pieces) - 1)
            container.insert(offset, piece)
            offset += Fraction(piece.quarterLength)
        cursor, added = seg_end, True
    if rests and cursor < b1:
        container.insert(cursor - b0, note.Rest(quarterLength=b1 - cursor))
        added = True
    return added


def _sounding(members: list[tuple[int, int]], flats: bool):
    """A music21 note, or a chord whose notes carry their velocities in marker
    ids (music21 writes one chord's velocity on all its notes;
    :func:`_chord_velocities` puts each note's own back)."""
    from music21 import chord, note

    if len(members) == 1:
        pitch, velocity = members[0]
        single = note.Note(_spell(pitch, flats))
        single.volume.velocity = velocity
        return single
    together = chord.Chord([_spell(pitch, flats) for pitch, _v in members])
    for member, (_pitch, velocity) in zip(together.notes, members):
        member.id = f"{_VELOCITY_MARK}{velocity}"
    return together


def _chord_velocities(data: bytes) -> bytes:
    """Turn the velocity markers of chord notes into MusicXML ``dynamics``
    (percent of velocity 90, as music21 writes and reads them)."""
    return _VELOCITY_ID.sub(
        lambda m: b'<note dynamics="%.2f"' % (int(m.group(1)) * 100 / 90), data
    )


def _tie(el, tied_from: bool, tied_to: bool) -> None:
    """Set the tie of a note or chord (all its notes) that continues from / into a neighbour."""
    from music21 import tie

    kind = {(True, True): "continue", (True, False): "stop", (False, True): "start"}.get((tied_from, tied_to))
    el.tie = tie.Tie(kind) if kind else None
    if el.isChord:
        for member in el.notes:
            member.tie = tie.Tie(kind) if kind else None


def _spell(midi: int, flats: bool):
    """A ``music21.pitch.Pitch`` for MIDI ``midi``, with flats in flat keys (Bb, not A#)."""
    from music21 import pitch

    p = pitch.Pitch(midi=midi)  # music21 spells black keys with sharps
    if flats and p.accidental is not None and p.accidental.alter > 0:
        p = p.getEnharmonic()
    return p


def _m21_meter(sig: TimeSignature):
    from music21 import meter

    return meter.TimeSignature(f"{sig.numerator}/{sig.denominator}")


def _m21_key(k: KeySignature):
    """A music21 ``Key`` written as ``<fifths>`` of the mode's signature and ``<mode>``
    (``dorian``, ...), so reading the file back gives the same tonic and mode."""
    from music21 import key

    return key.KeySignature(key_sharps(k)).asKey(k.mode)


def _best_clef(pitches: list[int], is_drum: bool, clef):
    if is_drum:
        return clef.PercussionClef()
    if not pitches:
        return clef.TrebleClef()
    mean = sum(pitches) / len(pitches)
    return clef.TrebleClef() if mean >= 57 else clef.BassClef()  # split around A3
