"""MusicXML, MXL and ABC through music21, converted to :class:`seqart.Score`.

music21 is imported inside the functions (it takes ~0.6 s to import).
"""

from __future__ import annotations

import re
from pathlib import Path

from seqart.errors import ScoreReadError
from seqart.score import KeySignature, Note, Score, TempoChange, TimeSignature, Track

_TUNE_START = re.compile(r"^X:", re.MULTILINE)


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

    Raises:
        ScoreReadError: if music21 cannot make sense of it.
    """
    from music21 import converter

    try:
        parsed = converter.parse(text, format="abc")
    except Exception as exc:  # music21 raises many kinds; any of them means unreadable
        raise ScoreReadError(source or "<abc>", f"not valid ABC ({_short(exc)})") from None
    return stream_to_score(parsed, source=source, from_abc=True)


def parse_music21_file(path: Path) -> list[Score]:
    """Read a MusicXML/MXL file, or every tune of an ABC file, with music21."""
    if path.suffix.lower() == ".abc":
        text = _read_text(path)
        tunes = split_abc_tunes(text)
        if not tunes:
            raise ScoreReadError(path, "no ABC tune in the file (no 'X:' line)")
        return [parse_abc_tune(t, source=f"{path}#{i + 1}") for i, t in enumerate(tunes)]
    from music21 import converter

    try:
        parsed = converter.parse(str(path))
    except Exception as exc:
        raise ScoreReadError(path, f"not valid MusicXML ({_short(exc)})") from None
    return [stream_to_score(parsed, source=str(path))]


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise ScoreReadError(path, "binary data where ABC text was expected")
    return data.decode("utf-8", errors="replace")


def _short(exc: Exception) -> str:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return msg[:160]


def stream_to_score(parsed, source: str = "", from_abc: bool = False) -> Score:
    """Convert a music21 Score/Part/Opus (first score of an Opus) to a :class:`Score`.

    Ties are merged, grace notes (zero duration) dropped, chords become notes with
    one onset. A pickup bar is padded with rest so bar lines fall on multiples of the
    bar length from beat 0.
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
        flat = part.stripTies().flatten()
        notes: list[Note] = []
        for el in flat.notes:
            ql = float(el.quarterLength)
            if ql <= 0:
                continue  # grace note
            start = float(el.offset) + offset
            velocity = int(el.volume.velocity) if el.volume is not None and el.volume.velocity else 80
            pitches = el.pitches if el.isChord else [el.pitch]
            for p in pitches:
                if 0 <= p.midi <= 127:
                    notes.append(Note(int(p.midi), start, ql, max(1, min(127, velocity))))
        program = 0
        inst = part.getInstrument(returnDefault=False) if hasattr(part, "getInstrument") else None
        if inst is not None and inst.midiProgram is not None:
            program = int(inst.midiProgram)
        name = str(part.partName or "") if hasattr(part, "partName") else ""
        tracks.append(Track(notes=notes, program=program, name=name))
        if idx == 0:
            for el in flat.getElementsByClass("MetronomeMark"):
                bpm = el.getQuarterBPM()
                if bpm:
                    tempos.append(TempoChange(float(el.offset) + offset if el.offset else 0.0, float(bpm)))
            for el in flat.getElementsByClass("TimeSignature"):
                beat = float(el.offset) + offset if el.offset else 0.0
                sigs.append(TimeSignature(beat, int(el.numerator), int(el.denominator)))
            for el in flat.getElementsByClass("KeySignature"):
                beat = float(el.offset) + offset if el.offset else 0.0
                keys.append(_key_of(el, beat))
    if from_abc:
        sigs = _drop_pickup_meters(sigs)
    title = ""
    if parsed.metadata is not None and parsed.metadata.title:
        title = str(parsed.metadata.title)
    return Score(
        tracks=tracks,
        tempos=_dedupe(tempos),
        time_signatures=_dedupe(sigs),
        key_signatures=_dedupe(keys),
        title=title,
        source=source,
    )


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
    from music21 import key as m21key

    k = el if isinstance(el, m21key.Key) else el.asKey("major")
    mode = "minor" if k.mode == "minor" else "major"
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
