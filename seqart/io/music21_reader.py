"""MusicXML, MXL and ABC through music21, converted to :class:`seqart.Score`.

music21 is imported inside the functions (it takes ~0.6 s to import).
"""

from __future__ import annotations

import logging
import re
import warnings
from fractions import Fraction
from pathlib import Path

from seqart.errors import ScoreError, ScoreReadError, one_line
from seqart.score import (
    KeySignature,
    Note,
    Score,
    TempoChange,
    TimeSignature,
    Track,
    mode_named,
    normalise_style,
    split_tonic,
)

_TUNE_START = re.compile(r"^X:", re.MULTILINE)
_LENGTH_OR_METER = re.compile(r"^[LM]:", re.MULTILINE)
_KEY_FIELD = re.compile(r"^K:(.*)$", re.MULTILINE)
_RHYTHM_FIELD = re.compile(r"^R:(.*)$", re.MULTILINE)
_log = logging.getLogger(__name__)


def split_abc_tunes(text: str) -> list[str]:
    """Split an ABC tune book into self-contained tunes.

    Each tune starts at an ``X:`` line. Lines before the first tune (the file
    header, e.g. a default ``L:``) are prepended to every tune, as the ABC
    standard says they apply to all of them.

    Returns:
        one ABC text per tune, in file order (empty for a file without ``X:``).
    """
    starts = [m.start() for m in _TUNE_START.finditer(text)]
    if not starts:
        return []
    header_lines = [
        line for line in text[: starts[0]].splitlines()
        if re.match(r"^[A-Za-z]:", line) and not line.startswith(("T:", "X:"))
    ]
    header = "\n".join(header_lines)
    bounds = starts + [len(text)]
    tunes = []
    for a, b in zip(bounds, bounds[1:]):
        body = text[a:b].strip()
        tunes.append(_with_header(body, header))
    return tunes


def _with_header(body: str, header: str) -> str:
    # File-header fields go right after the X: line so the tune's own fields override them.
    if not header:
        return body + "\n"
    first, _, rest = body.partition("\n")
    return f"{first}\n{header}\n{rest}\n"


def parse_abc_tune(text: str, source: str = "", *, expand_repeats: bool = False, grace_notes: bool = False) -> Score:
    """Parse one ABC tune (as returned by :func:`split_abc_tunes`).

    The key at beat 0 comes from the tune's ``K:`` field as :func:`abc_key` reads
    it (music21 loses some modes, e.g. reads ``K:Bloc`` as B major); the style from
    its first ``R:`` field through :func:`seqart.score.normalise_style`.
    ``expand_repeats`` and ``grace_notes`` are as in :func:`stream_to_score`.

    Raises:
        ScoreReadError: if music21 cannot make sense of it.
    """
    from music21 import converter

    if not _LENGTH_OR_METER.search(text):
        # The ABC standard's default unit note length without L: or M: is an
        # eighth; music21 refuses such a tune instead.
        first, _, rest = text.partition("\n")
        text = f"{first}\nL:1/8\n{rest}"
    try:
        parsed = converter.parse(text, format="abc")
        score = stream_to_score(parsed, source=source, from_abc=True, expand_repeats=expand_repeats,
                                grace_notes=grace_notes)
    except ScoreReadError:
        raise
    except Exception as exc:  # music21 raises many kinds; any of them means unreadable
        raise ScoreReadError(source or "<abc>", f"not valid ABC ({one_line(exc)})") from None
    key = abc_key(text)
    if key is not None:
        rest = [k for k in score.key_signatures if k.beat > 0]
        score.key_signatures = _dedupe([key] + rest)
    rhythm = _RHYTHM_FIELD.search(text)
    score.style = normalise_style(rhythm.group(1)) if rhythm else ""
    return score


def abc_key(text: str) -> KeySignature | None:
    """The key (at beat 0) of an ABC tune's first ``K:`` field, or None when it names none.

    Reads a tonic (``A``-``G`` with ``#`` or ``b``) and a mode written after it,
    joined or apart, in any case, of which the first three letters count (``Ador``,
    ``A Dor``, ``E dorian``, ``Dmix``, ``Bm``, ``F#min``, ``Bloc``); no mode is major.
    Explicit accidentals, clefs and other words after the key are ignored.
    ``K:none``, ``K:HP`` and a mode word it does not know give None.
    """
    field = _KEY_FIELD.search(text)
    if field is None:
        return None
    words = field.group(1).split("%")[0].split()
    if not words:
        return None
    split = split_tonic(words[0])
    if split is None or not words[0][0].isupper():
        return None
    tonic, rest = split
    if rest:
        mode = mode_named(rest, abc=True)
    elif len(words) > 1 and words[1].isalpha():
        # a word that names no mode ("exp", a voice property) leaves the key major
        mode = mode_named(words[1], abc=True) or "major"
    else:
        mode = "major"
    return None if mode is None else KeySignature(0.0, tonic, mode)


def parse_music21_file(path: Path, fmt: str | None = None, *, expand_repeats: bool = False,
                       grace_notes: bool = False) -> list[Score]:
    """Read a MusicXML/MXL file, or every tune of an ABC file, with music21.

    Args:
        path: the file.
        fmt: ``"abc"`` for ABC, anything else for MusicXML or MXL (told apart by
            content); None decides by the extension (``.abc`` or not).
        expand_repeats: play repeats out, as :func:`stream_to_score` says.
        grace_notes: keep grace notes as short notes, as :func:`stream_to_score` says.
    """
    path = Path(path)
    options = {"expand_repeats": expand_repeats, "grace_notes": grace_notes}
    if fmt == "abc" or (fmt is None and path.suffix.lower() == ".abc"):
        text = _read_text(path)
        tunes = split_abc_tunes(text)
        if not tunes:
            raise ScoreReadError(path, "no ABC tune in the file (no 'X:' line)")
        return _parse_tunes(tunes, path, **options)
    try:
        with warnings.catch_warnings():
            # music21 warns about a bad measure (printing a line of its own source)
            # and then raises; the ScoreReadError below says it in one line.
            warnings.simplefilter("ignore")
            parsed, root = _parse_musicxml(path)
    except Exception as exc:
        raise ScoreReadError(path, f"not valid MusicXML ({one_line(exc)})") from None
    _set_drum_keys(parsed, root)
    return [stream_to_score(parsed, source=str(path), **options)]


def _parse_musicxml(path: Path):
    """The music21 Score of a MusicXML or MXL file, and the root of its XML tree.

    music21's MusicXML importer directly, not ``converter.parse``: that one picks
    the parser by file extension (a MusicXML file named .txt would fail) and reads
    and writes pickle caches in the temp folder for every file it parses. The XML
    root is kept for what music21 does not read (see :func:`_set_drum_keys`).
    """
    from music21 import converter
    from music21.musicxml.xmlToM21 import MusicXMLImporter

    importer = MusicXMLImporter()
    archive = converter.ArchiveManager(path)
    if archive.isArchive():
        importer.xmlText = archive.getData()
        importer.parseXMLText()
    else:
        importer.readFile(path)
    return importer.stream, importer.xmlRoot


def _parse_tunes(tunes: list[str], path: Path, **options) -> list[Score]:
    """Parse each tune; in a tune book, skip (and log) the tunes that fail.

    One broken tune should not make a 1,000-tune book unreadable. If every tune
    fails, the first tune's error is raised.
    """
    scores: list[Score] = []
    errors: list[ScoreReadError] = []
    for i, text in enumerate(tunes):
        source = f"{path}#{i + 1}"
        try:
            score = parse_abc_tune(text, source=source, **options)
            score.validate()
        except ScoreReadError as exc:
            errors.append(exc)
            continue
        except ScoreError as exc:
            errors.append(ScoreReadError(source, str(exc)))
            continue
        scores.append(score)
    if not scores:
        first = errors[0]
        reason = first.reason if len(tunes) == 1 else f"no readable tune (tune 1: {first.reason})"
        raise ScoreReadError(path, reason)
    for exc in errors:
        _log.warning("skipped unreadable tune %s", exc)
    return scores


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise ScoreReadError(path, "binary data where ABC text was expected")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older tune books are mostly Latin-1 (ABC 2.1 still allows it); it decodes any bytes.
        return data.decode("latin-1")


def stream_to_score(parsed, source: str = "", from_abc: bool = False, *, expand_repeats: bool = False,
                    grace_notes: bool = False) -> Score:
    """Convert a music21 Score/Part/Opus (first score of an Opus) to a :class:`Score`.

    Pitches are sounding pitches: a part for a transposing instrument (MusicXML
    ``<transpose>``: clarinet in B-flat, horn in E-flat) is moved from the written
    pitch, and so are its key signatures. Ties are merged (also inside voices; a tie
    start followed by the same pitch continues the note even without a tie stop),
    chords become notes with one onset. A part on MIDI channel 10, or holding
    unpitched notes, is a drum track; an unpitched note's pitch is the General MIDI
    key music21 (or :func:`_set_drum_keys`) gives it, else its display pitch. A
    pickup bar is padded with rest so bar lines fall on multiples of the bar length
    from beat 0.

    Args:
        parsed: the music21 stream (transposed in place to sounding pitch).
        source: the file or tune the stream comes from, for messages and ``Score.source``.
        from_abc: the stream is an ABC parse (its pickup meters are cleaned up).
        expand_repeats: play repeats, endings and D.C./D.S. out (music21's
            ``expandRepeats``); repeats too malformed to play out are read as
            written, with a logged warning. False reads the score as written.
        grace_notes: keep grace notes as short notes (see :func:`_grace_timings`:
            1/8 beat each, taken from the start of the note they lead into).
            False drops them.
    """
    from music21 import stream

    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        if not scores:
            raise ScoreReadError(source or "<music21>", "no score in the file")
        parsed = scores[0]
    parsed.toSoundingPitch(inPlace=True)  # no-op where the written pitch is not known to differ (ABC)
    if expand_repeats:
        parsed = _expanded(parsed, source)
    parts = list(parsed.parts) if isinstance(parsed, stream.Score) and parsed.parts else [parsed]

    offset = _pickup_padding(parts[0])
    tracks: list[Track] = []
    tempos: list[TempoChange] = []
    sigs: list[TimeSignature] = []
    keys: list[KeySignature] = []
    for idx, part in enumerate(parts):
        flat = part.flatten()
        notes = _tied_notes(flat, offset, _grace_timings(part) if grace_notes else {})
        program = 0
        inst = part.getInstrument(returnDefault=False) if hasattr(part, "getInstrument") else None
        if inst is not None and inst.midiProgram is not None:
            program = int(inst.midiProgram)
        name = _part_name(part, inst)
        # music21 counts channels from 0
        is_drum = (inst is not None and inst.midiChannel == 9) or _has_unpitched(flat)
        tracks.append(Track(notes=notes, program=program, is_drum=is_drum, name=name))
        if idx == 0:
            tempos, sigs, keys = _meta_events(part, offset)
    if from_abc:
        sigs = _drop_pickup_meters(sigs)
    title = ""
    if parsed.metadata is not None:
        # music21's MusicXML import drops a work title equal to the movement title
        # (keeping only movementName), and names the movement after the file when
        # the file has no title at all.
        name = parsed.metadata.title or parsed.metadata.movementName
        if name and str(name) != Path(source).name:
            title = str(name)
    return Score(
        tracks=tracks,
        tempos=_dedupe(tempos),
        time_signatures=_dedupe(sigs),
        key_signatures=_dedupe(keys),
        title=title,
        source=source,
    )


def _part_name(part, inst) -> str:
    """The part's own name: a MusicXML ``<part-name>``, kept on the part's first
    instrument, or "" when empty. music21's ``Part.partName`` falls back to the
    instrument's name, which would read an unnamed part as "Piano"."""
    if inst is not None:
        return str(inst.partName or "")
    return str(getattr(part, "partName", None) or "")


def _meta_events(part, offset: float):
    """Tempo, meter and key events of a part, with their beats shifted by ``offset``.

    Walks the hierarchy (``recurse``) rather than a flattened copy: flattening
    an ABC parse can drop the opening time signature of the first measure.
    """
    tempos: list[TempoChange] = []
    sigs: list[TimeSignature] = []
    keys: list[KeySignature] = []
    for el in part.recurse().getElementsByClass(["MetronomeMark", "TimeSignature", "KeySignature"]):
        raw = float(el.getOffsetInHierarchy(part))
        beat = raw + offset if raw > 0 else 0.0
        kind = type(el).__name__
        if kind == "MetronomeMark":
            bpm = el.getQuarterBPM()
            if bpm:
                tempos.append(TempoChange(beat, float(bpm)))
        elif kind == "TimeSignature":
            sigs.append(TimeSignature(beat, int(el.numerator), int(el.denominator)))
        else:
            keys.append(_key_of(el, beat))
    return tempos, sigs, keys


def _tied_notes(flat, offset: float, graces: dict[int, tuple[Fraction, Fraction]] | None = None) -> list[Note]:
    """The notes of a flattened part with tied notes merged, onsets shifted by ``offset`` beats.

    music21's ``stripTies`` walks the flattened notes in time order, so it misses
    ties inside voices whose notes interleave with another voice's; here a tie
    joins a note to the next note of the same pitch that starts where it ends.
    As in ``stripTies``, that next note need not say that the tie stops: files
    often leave the stop out (41 of 494 notes in music21's monteverdi/madrigal.4.9),
    and a note struck again where the tie says "hold" is wrong either way. Times
    are summed as fractions so triplets stay exact.

    ``graces`` maps ``id()`` of grace notes to keep, and of the notes they lead
    into, to their onset shift and length in beats (:func:`_grace_timings`); other
    grace notes (zero duration) are dropped.
    """
    events = []
    for el in flat.notes:
        start, length = _timing(el, offset, graces or {})
        if length <= 0:
            continue  # a grace note not kept
        velocity = _velocity(el, 80)
        voice = _voice_of(el)
        for member in _members(el):
            tie = member.tie if member.tie is not None else el.tie
            midi = _midi_key(member)
            own_velocity = _velocity(member, velocity) if el.isChord else velocity
            if 0 <= midi <= 127:
                events.append((start, length, midi, own_velocity, tie.type if tie is not None else None, voice))
    events.sort(key=lambda e: e[0])
    merged: list[list] = []  # [pitch, start, length, velocity]
    # (pitch, offset) -> (voice, note) of the notes whose ties wait for a note of that
    # pitch starting there; keyed by offset so an untied unison note in another voice
    # does not break it.
    open_ties: dict[tuple[int, Fraction], list[tuple[str | None, list]]] = {}
    for start, length, midi, velocity, tie, voice in events:
        if tie in ("stop", "continue"):
            held = _take_tie(open_ties, (midi, start), voice)
        else:  # a tie whose stop is missing: the same pitch in the same voice goes on with it
            held = _take_unstopped_tie(open_ties, (midi, start), voice)
        if held is not None:
            held[2] += length
            if tie in ("start", "continue"):
                open_ties.setdefault((midi, start + length), []).append((voice, held))
            continue
        note = [midi, start, length, velocity]
        merged.append(note)
        if tie in ("start", "continue"):
            open_ties.setdefault((midi, start + length), []).append((voice, note))
    return [Note(p, float(s), float(d), v) for p, s, d, v in merged]


def _take_tie(open_ties: dict, key: tuple[int, Fraction], voice: str | None) -> list | None:
    """Remove and return a note waiting at ``key`` (pitch, offset) for its tie to
    go on, the one of ``voice`` first: two overlapping notes of one pitch, each
    in its own voice, both wait at a bar line they cross."""
    waiting = open_ties.get(key)
    if not waiting:
        return None
    index = next((i for i, (v, _note) in enumerate(waiting) if v == voice), 0)
    held = waiting.pop(index)[1]
    if not waiting:
        del open_ties[key]
    return held


def _voice_of(el) -> str | None:
    """The id of the music21 ``Voice`` holding ``el`` (None outside voices)."""
    from music21 import stream

    return next((site.id for site in el.sites.get() if isinstance(site, stream.Voice)), None)


def _velocity(el, default: int) -> int:
    """The MIDI velocity (1-127) of a music21 note or chord, ``default`` if it has none.

    A chord read from MusicXML keeps each note's ``dynamics`` on the note itself.
    """
    if not el.hasVolumeInformation() or not el.volume.velocity:
        return default
    return max(1, min(127, int(el.volume.velocity)))


def _pickup_padding(part) -> float:
    """Beats of rest needed before a pickup (anacrusis) bar to make it a full bar."""
    measures = part.getElementsByClass("Measure")
    if not measures:
        return 0.0
    first = measures[0]
    pad = float(first.paddingLeft or 0.0)
    if pad <= 0:
        bar = first.barDuration.quarterLength if first.timeSignature or first.getContextByClass("TimeSignature") else 0
        dur = float(first.duration.quarterLength)
        if bar and 0 < dur < bar and len(measures) > 1:
            pad = float(bar) - dur
    return pad


def _key_of(el, beat: float) -> KeySignature:
    """A music21 ``Key`` (any of its modes; MusicXML ``<mode>``, ABC ``K:Ador``) or a
    bare ``KeySignature`` (read as its major key)."""
    from music21 import key as m21key

    k = el if isinstance(el, m21key.Key) else el.asKey("major")
    mode = mode_named(str(k.mode or "")) or "major"
    return KeySignature(beat, int(k.tonic.pitchClass), mode)


def _drop_pickup_meters(sigs: list[TimeSignature]) -> list[TimeSignature]:
    """music21 marks mid-tune ABC pickups with one-bar meters (e.g. 1/16, then 2/4
    again); keep the meter the tune is actually in."""
    kept: list[TimeSignature] = []
    for i, s in enumerate(sigs):
        nxt = sigs[i + 1] if i + 1 < len(sigs) else None
        prev = kept[-1] if kept else None
        if nxt is not None and prev is not None and nxt.beat - s.beat <= s.bar_beats + 1e-9 \
                and (nxt.numerator, nxt.denominator) == (prev.numerator, prev.denominator):
            continue
        if prev is not None and (prev.numerator, prev.denominator) == (s.numerator, s.denominator):
            continue
        kept.append(s)
    return kept


def _dedupe(events: list) -> list:
    """Sort by beat, keep the last event at a beat, drop events that restate the previous one."""
    by_beat = {}
    for e in sorted(events, key=lambda e: e.beat):
        by_beat[round(e.beat, 6)] = e
    out = []
    for e in by_beat.values():
        if out and {k: v for k, v in vars(out[-1]).items() if k != "beat"} == {
            k: v for k, v in vars(e).items() if k != "beat"
        }:
            continue
        out.append(e)
    return out


def _take_unstopped_tie(open_ties: dict, key: tuple[int, Fraction], voice: str | None) -> list | None:
    """Remove and return the note of ``voice`` waiting at ``key`` (pitch, offset) for
    its tie to go on, for a note that does not say the tie stops. Only the same
    voice's: an untied unison note in another voice is a note of its own."""
    waiting = open_ties.get(key)
    index = next((i for i, (v, _note) in enumerate(waiting or ()) if v == voice), None)
    if index is None:
        return None
    held = waiting.pop(index)[1]
    if not waiting:
        del open_ties[key]
    return held


def _members(el) -> list:
    """The notes of a chord (also an unpitched ``PercussionChord``), or ``[el]``."""
    return list(el.notes) if "ChordBase" in el.classSet else [el]


# ---------------------------------------------------------------- drum parts
def _midi_key(member) -> int:
    """The MIDI number of a music21 note: its pitch; for an unpitched (percussion)
    note the General MIDI key of its instrument (``storedInstrument.percMapPitch``,
    see :func:`_set_drum_keys`), else the MIDI number of its display position."""
    pitch = getattr(member, "pitch", None)
    if pitch is not None:
        return int(pitch.midi)
    key = getattr(getattr(member, "storedInstrument", None), "percMapPitch", None)
    return int(key) if key is not None else int(member.displayPitch().midi)


def _has_unpitched(flat) -> bool:
    return any("Unpitched" in el.classSet or "PercussionChord" in el.classSet for el in flat.notes)


def _set_drum_keys(parsed, root) -> None:
    """Give each unpitched note of a MusicXML parse the General MIDI key of its instrument.

    music21 reads a drum note's display position but not the ``<instrument>`` it
    names, so the key comes from the XML: the ``<midi-unpitched>`` (1-based in
    MusicXML) of the note's instrument, or of the part's only instrument when the
    note names none. The music21 note is found by part, bar, onset in the bar and
    display position, and gets the key as ``storedInstrument.percMapPitch``. A
    note without a key is left alone (it sounds its display pitch).
    """
    from music21 import instrument

    keys_by_part = _xml_unpitched_keys(root)
    drums: dict[int, object] = {}  # key -> one shared music21 instrument
    for part in parsed.parts if keys_by_part else ():
        keys = next((keys_by_part[g] for g in part.groups if g in keys_by_part), None)
        for index, measure in enumerate(part.getElementsByClass("Measure") if keys else ()):
            for el in measure.recurse().notes:
                onset = _onset_key(el.getOffsetInHierarchy(measure))
                for member in _members(el):
                    key = keys.get((index, onset, member.displayStep, member.displayOctave)) \
                        if "Unpitched" in member.classSet else None
                    if key is not None:
                        if key not in drums:
                            drums[key] = instrument.UnpitchedPercussion()
                            drums[key].percMapPitch = key
                        member.storedInstrument = drums[key]


def _xml_unpitched_keys(root) -> dict[str, dict[tuple, int]]:
    """XML part id -> {(bar index, onset in the bar, display step, display octave):
    General MIDI key} of the unpitched notes whose instrument has a ``<midi-unpitched>``.

    Onsets (in beats, rounded by :func:`_onset_key`) follow ``<divisions>``,
    ``<backup>``, ``<forward>`` and ``<chord/>`` as MusicXML defines them; grace
    notes take no time.
    """
    instruments = _midi_unpitched(root)
    found: dict[str, dict[tuple, int]] = {}
    for part in root.findall("part"):
        if part.get("id") not in instruments:
            continue
        by_id, only = instruments[part.get("id")]
        keys = found.setdefault(part.get("id"), {})
        divisions = Fraction(1)
        for index, measure in enumerate(part.findall("measure")):
            position = last_onset = Fraction(0)
            for child in measure:
                if child.tag == "attributes":
                    divisions = _xml_number(child.find("divisions"), divisions) or divisions
                elif child.tag in ("backup", "forward"):
                    step = _xml_number(child.find("duration"), Fraction(0)) / divisions
                    position += step if child.tag == "forward" else -step
                elif child.tag == "note":
                    in_chord = child.find("chord") is not None
                    onset = last_onset if in_chord else position
                    unpitched = child.find("unpitched")
                    named = child.find("instrument")
                    key = only if named is None else by_id.get(named.get("id"))
                    if unpitched is not None and key is not None:
                        step = (unpitched.findtext("display-step") or "B").strip()
                        octave = int(_xml_number(unpitched.find("display-octave"), Fraction(4)))
                        keys[(index, _onset_key(onset), step, octave)] = key
                    if not in_chord:
                        last_onset = position
                        if child.find("grace") is None:
                            position += _xml_number(child.find("duration"), Fraction(0)) / divisions
    return found


def _midi_unpitched(root) -> dict[str, tuple[dict[str, int], int | None]]:
    """XML part id -> ({instrument id: General MIDI key (0-127)}, key of the part's
    only instrument or None) for the parts with a ``<midi-unpitched>`` (1-128)."""
    parts = {}
    for score_part in root.iter("score-part"):
        by_id = {}
        for midi in score_part.findall("midi-instrument"):
            number = _xml_number(midi.find("midi-unpitched"), Fraction(0))
            if number.denominator == 1 and 1 <= number <= 128:
                by_id[midi.get("id")] = int(number) - 1
        if by_id:
            single = len(by_id) == 1 and len(score_part.findall("score-instrument")) <= 1
            parts[score_part.get("id")] = (by_id, next(iter(by_id.values())) if single else None)
    return parts


def _xml_number(element, default: Fraction) -> Fraction:
    """The number an XML element holds (``"3"``, ``"1.5"``), or ``default``."""
    try:
        return Fraction(element.text.strip())
    except (AttributeError, ValueError, ZeroDivisionError):
        return default


def _onset_key(beats) -> float:
    """An onset rounded so XML fractions and music21 offsets compare equal."""
    return round(float(beats), 6)


# -------------------------------------------------------- repeats, grace notes
#: Length in beats of a grace note kept by ``grace_notes=True`` (a 32nd note).
GRACE_BEATS = Fraction(1, 8)


def _expanded(parsed, source: str):
    """``parsed`` with its repeats played out (music21's ``expandRepeats``, a copy),
    or ``parsed`` as written, with a logged warning, when they cannot be."""
    try:
        return parsed.expandRepeats()
    except Exception as exc:  # music21's ExpanderException, or any failure of its own
        _log.warning("%s: repeats not expanded, read as written (%s)", source or "<music21>", one_line(exc))
        return parsed


def _timing(el, offset: float, graces: dict[int, tuple[Fraction, Fraction]]) -> tuple[Fraction, Fraction]:
    """Onset and length in beats of a note of a flattened part (``offset`` added to
    the onset), as :func:`_grace_timings` changed them."""
    shift, length = graces.get(id(el), (Fraction(0), Fraction(el.quarterLength)))
    return Fraction(el.offset) + Fraction(offset) + shift, length


def _grace_timings(part) -> dict[int, tuple[Fraction, Fraction]]:
    """``id()`` -> (onset shift, length), in beats, of the grace notes of ``part``
    and of the notes they lead into.

    A grace note lasts :data:`GRACE_BEATS` (1/8 beat), but a run of them takes at
    most a quarter of the note that follows (sharing it equally). They are played
    on the beat: the run starts where the following note did, and that note starts
    later and is shorter by the run's length. A grace note with no note of its voice
    starting where it stands (one after the last note) is left out.
    """
    timings: dict[int, tuple[Fraction, Fraction]] = {}
    for line in _voice_lines(part):
        run: list = []
        for onset, el in line:
            if el.quarterLength == 0:
                run = (run if run and run[0][0] == onset else []) + [(onset, el)]
            else:
                if run and run[0][0] == onset:
                    _take_grace_time([g for _, g in run], el, timings)
                run = []
    return timings


def _take_grace_time(graces: list, principal, timings: dict[int, tuple[Fraction, Fraction]]) -> None:
    length = Fraction(principal.quarterLength)
    each = min(GRACE_BEATS, length / (4 * len(graces)))
    for i, grace in enumerate(graces):
        timings[id(grace)] = (i * each, each)
    timings[id(principal)] = (len(graces) * each, length - len(graces) * each)


def _voice_lines(part) -> list[list[tuple[Fraction, object]]]:
    """The notes and chords of ``part`` as one list per voice, in order, each with
    its onset in the part (beats); voices of the same id in successive bars join."""
    lines: dict[str | None, list] = {}
    for measure in part.getElementsByClass("Measure") or [part]:
        base = Fraction(measure.offset) if measure is not part else Fraction(0)
        containers = [(None, measure, base)] + [(str(v.id), v, base + Fraction(v.offset)) for v in measure.voices]
        for voice, container, start in containers:
            lines.setdefault(voice, []).extend((start + Fraction(el.offset), el) for el in container.notes)
    return list(lines.values())
