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


def parse_abc_tune(text: str, source: str = "") -> Score:
    """Parse one ABC tune (as returned by :func:`split_abc_tunes`).

    The key at beat 0 comes from the tune's ``K:`` field as :func:`abc_key` reads
    it (music21 loses some modes, e.g. reads ``K:Bloc`` as B major); the style from
    its first ``R:`` field through :func:`seqart.score.normalise_style`.

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
        score = stream_to_score(parsed, source=source, from_abc=True)
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


def parse_music21_file(path: Path, fmt: str | None = None) -> list[Score]:
    """Read a MusicXML/MXL file, or every tune of an ABC file, with music21.

    Args:
        path: the file.
        fmt: ``"abc"`` for ABC, anything else for MusicXML or MXL (told apart by
            content); None decides by the extension (``.abc`` or not).
    """
    path = Path(path)
    if fmt == "abc" or (fmt is None and path.suffix.lower() == ".abc"):
        text = _read_text(path)
        tunes = split_abc_tunes(text)
        if not tunes:
            raise ScoreReadError(path, "no ABC tune in the file (no 'X:' line)")
        return _parse_tunes(tunes, path)
    # The MusicXML sub-converter directly, not converter.parse: that one picks the
    # parser by file extension (a MusicXML file named .txt would fail) and reads and
    # writes pickle caches in the temp folder for every file it parses.
    from music21.converter.subConverters import ConverterMusicXML

    conv = ConverterMusicXML()
    try:
        with warnings.catch_warnings():
            # music21 warns about a bad measure (printing a line of its own source)
            # and then raises; the ScoreReadError below says it in one line.
            warnings.simplefilter("ignore")
            conv.parseFile(path)
    except Exception as exc:
        raise ScoreReadError(path, f"not valid MusicXML ({one_line(exc)})") from None
    return [stream_to_score(conv.stream, source=str(path))]


def _parse_tunes(tunes: list[str], path: Path) -> list[Score]:
    """Parse each tune; in a tune book, skip (and log) the tunes that fail.

    One broken tune should not make a 1,000-tune book unreadable. If every tune
    fails, the first tune's error is raised.
    """
    scores: list[Score] = []
    errors: list[ScoreReadError] = []
    for i, text in enumerate(tunes):
        source = f"{path}#{i + 1}"
        try:
            score = parse_abc_tune(text, source=source)
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


def stream_to_score(parsed, source: str = "", from_abc: bool = False) -> Score:
    """Convert a music21 Score/Part/Opus (first score of an Opus) to a :class:`Score`.

    Ties are merged (also inside voices), grace notes (zero duration) dropped,
    chords become notes with one onset. A part on MIDI channel 10 is a drum
    track. A pickup bar is padded with rest so bar lines fall on multiples of
    the bar length from beat 0.
    """
    from music21 import stream

    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        if not scores:
            raise ScoreReadError(source or "<music21>", "no score in the file")
        parsed = scores[0]
    parts = list(parsed.parts) if isinstance(parsed, stream.Score) and parsed.parts else [parsed]

    offset = _pickup_padding(parts[0])
    tracks: list[Track] = []
    tempos: list[TempoChange] = []
    sigs: list[TimeSignature] = []
    keys: list[KeySignature] = []
    for idx, part in enumerate(parts):
        flat = part.flatten()
        notes = _tied_notes(flat, offset)
        program = 0
        inst = part.getInstrument(returnDefault=False) if hasattr(part, "getInstrument") else None
        if inst is not None and inst.midiProgram is not None:
            program = int(inst.midiProgram)
        name = str(part.partName or "") if hasattr(part, "partName") else ""
        is_drum = inst is not None and inst.midiChannel == 9  # music21 counts channels from 0
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


def _tied_notes(flat, offset: float) -> list[Note]:
    """The notes of a flattened part with tied notes merged, onsets shifted by ``offset`` beats.

    music21's ``stripTies`` walks the flattened notes in time order, so it misses
    ties inside voices whose notes interleave with another voice's; here a tie
    joins a note to the next note of the same pitch that starts where it ends.
    Times are summed as fractions so triplets stay exact. Grace notes (zero
    duration) are dropped.
    """
    events = []
    for el in flat.notes:
        if el.quarterLength <= 0:
            continue  # grace note
        start = Fraction(el.offset) + Fraction(offset)
        length = Fraction(el.quarterLength)
        velocity = int(el.volume.velocity) if el.volume is not None and el.volume.velocity else 80
        velocity = max(1, min(127, velocity))
        members = el.notes if el.isChord else [el]
        for member in members:
            tie = member.tie if member.tie is not None else el.tie
            midi = int(member.pitch.midi)
            if 0 <= midi <= 127:
                events.append((start, length, midi, velocity, tie.type if tie is not None else None))
    events.sort(key=lambda e: e[0])
    merged: list[list] = []  # [pitch, start, length, velocity]
    # (pitch, offset) -> note whose tie waits for a note of that pitch starting there;
    # keyed by offset so an untied unison note in another voice does not break it.
    open_ties: dict[tuple[int, Fraction], list] = {}
    for start, length, midi, velocity, tie in events:
        held = open_ties.pop((midi, start), None) if tie in ("stop", "continue") else None
        if held is not None:
            held[2] += length
            if tie == "continue":
                open_ties[(midi, start + length)] = held
            continue
        note = [midi, start, length, velocity]
        merged.append(note)
        if tie in ("start", "continue"):
            open_ties[(midi, start + length)] = note
    return [Note(p, float(s), float(d), v) for p, s, d, v in merged]


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
