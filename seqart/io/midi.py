"""Standard MIDI files <-> :class:`seqart.Score`: read through symusic, written here.

symusic parses MIDI in C++, about 270 times faster than pretty_midi, which
matters when a corpus holds tens of thousands of files. It is imported inside
the functions so ``import seqart.io`` stays cheap.

Times are read as integer ticks and divided by the file's ticks per quarter in
Python: symusic's own ``ttype="quarter"`` mode stores float32, so 1/3 of a beat
would come back as 0.3333333432674408 instead of 1/3. Written files use
:data:`TICKS_PER_BEAT` ticks per quarter note.

Robustness: symusic 0.6 bounds-checks chunk and event lengths and raised a
Python exception (never crashed the interpreter) on 5,000+ randomly mutated and
~60 hand-made hostile files. It does accept some nonsense silently (a division
of 0 ticks per quarter, zero-length tempo or key events whose bytes it then
takes from the next event), so :func:`read_midi` checks the chunk structure
itself first and validates what symusic returns.
"""

from __future__ import annotations

import math
import struct
import unicodedata
from pathlib import Path

from seqart.errors import ScoreError, ScoreReadError, one_line
from seqart.score import KeySignature, Note, Score, TempoChange, TimeSignature, Track
from seqart.utils.atomic import atomic_path

#: Resolution of written files, in ticks per quarter note (beat). 480 is divisible
#: by 2, 3, 4, 5, 6, 8, 10, 12, 16 and 32, so common note values are exact.
TICKS_PER_BEAT = 480

#: Latest tick a written file can hold: the largest variable-length delta (4 bytes) from 0.
_MAX_TICK = 2**28 - 1
#: Tempo is stored as microseconds per quarter note in 3 bytes.
_MAX_MSPQ = 0xFFFFFF
#: Most notes a file may hold. A dense piano piece has about 10,000; a "black MIDI"
#: file with tens of millions would take gigabytes as Note objects.
MAX_NOTES = 2_000_000
#: Time-signature denominators MIDI can store (as a power of two in one byte that
#: symusic keeps as uint8).
_DENOMINATORS = (1, 2, 4, 8, 16, 32, 64, 128)

#: The tempo a MIDI file plays at until its first tempo event, in bpm.
MIDI_DEFAULT_BPM = 120.0

#: Characters XML 1.0 forbids even as character references, besides control characters.
_NOT_XML_CHARS = frozenset("\ufffe\uffff")


# ------------------------------------------------------------------- reading
def read_midi(path: str | Path) -> Score:
    """Read a Standard MIDI File (format 0, 1 or 2).

    Each symusic track (one per MTrk chunk and channel) becomes a :class:`Track`
    with its program, drum flag (channel 10) and name, the name cleaned by
    :func:`clean_text` (real files often pad names with NUL bytes); a track
    without a name keeps ``""``. Onsets and durations are
    in beats (quarter notes); notes with zero length are dropped; notes are
    sorted by ``(start, pitch)``. Tempos are rounded to 1/1000 bpm, which undoes
    the microseconds-per-beat storage (93 bpm is stored as 645161 us and would
    otherwise read as 93.00004). Key signatures with impossible values (more
    than 7 sharps or flats) are dropped, since a key only annotates the notes.
    A file whose first tempo event comes after beat 0 plays at 120 bpm until
    then (the MIDI standard's default), so the score gets an explicit
    ``TempoChange(0.0, 120.0)`` in front: :class:`TempoMap` would otherwise play
    the first tempo from the start.

    Args:
        path: the ``.mid`` file.

    Returns:
        the score, with ``source`` set to ``str(path)`` and an empty title.

    Raises:
        ScoreReadError: one-line message naming the file, for a missing, empty,
            truncated or corrupt file, a file without notes or with more than
            :data:`MAX_NOTES`, or an absurd tempo (outside 5-1000 bpm) or time signature.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScoreReadError.from_os_error(path, exc) from None
    return midi_bytes_to_score(data, source=path)


def midi_bytes_to_score(data: bytes, source: str | Path = "<midi>") -> Score:
    """Parse the bytes of a MIDI file; ``source`` names it in errors and in ``Score.source``.

    Raises:
        ScoreReadError: as :func:`read_midi`.
    """
    import symusic

    check_midi_structure(data, source)
    try:
        sym = symusic.Score.from_midi(data, ttype="tick")
        score = _from_symusic(sym, str(source))
    except ScoreReadError:
        raise
    except Exception as exc:  # symusic raises RuntimeError, bad names raise UnicodeDecodeError, ...
        raise ScoreReadError(source, f"corrupt MIDI ({_short(exc)})") from None
    try:
        score.validate()
    except ScoreError as exc:
        raise ScoreReadError(source, str(exc)) from None
    return score


def check_midi_structure(data: bytes, source: str | Path = "<midi>") -> None:
    """Check the chunk layout of a MIDI file before a C++ parser sees it.

    Checks the ``MThd`` header (length 6, format 0-2, a ticks-per-quarter
    division > 0) and that the chunks up to the last of the track chunks the
    header announces fit in the file. Unknown chunk types are allowed (the
    standard says to skip them), and bytes after the announced tracks are
    ignored, as symusic ignores them (old sequencers often left padding there).

    Raises:
        ScoreReadError: naming ``source`` and what is wrong.
    """
    if not data:
        raise ScoreReadError(source, "empty file")
    if not data.startswith(b"MThd"):
        raise ScoreReadError(source, "not a MIDI file (no MThd header)")
    if len(data) < 14:
        raise ScoreReadError(source, f"truncated MIDI (header needs 14 bytes, file has {len(data)})")
    length, fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
    if length != 6:
        raise ScoreReadError(source, f"corrupt MIDI (header length {length}, expected 6)")
    if fmt > 2:
        raise ScoreReadError(source, f"corrupt MIDI (format {fmt}, expected 0, 1 or 2)")
    if division & 0x8000:
        raise ScoreReadError(source, "SMPTE time division is not supported (only ticks per quarter)")
    if division == 0:
        raise ScoreReadError(source, "corrupt MIDI (0 ticks per quarter note)")
    pos, tracks = 14, 0
    while len(data) - pos >= 8 and tracks < ntracks:
        kind = data[pos:pos + 4]
        (size,) = struct.unpack(">I", data[pos + 4:pos + 8])
        left = len(data) - pos - 8
        if size > left:
            raise ScoreReadError(
                source, f"truncated MIDI (chunk at byte {pos} needs {size} bytes, {left} left)"
            )
        tracks += kind == b"MTrk"
        pos += 8 + size
    if tracks == 0:
        raise ScoreReadError(source, "corrupt MIDI (no MTrk track chunk)")


def _from_symusic(sym, source: str) -> Score:
    """Convert a tick-based symusic score to a :class:`Score` in beats."""
    tpq = float(sym.ticks_per_quarter)
    total = sum(len(st.notes) for st in sym.tracks)
    if total > MAX_NOTES:
        raise ScoreReadError(source, f"too many notes ({total:,}; seqart reads at most {MAX_NOTES:,})")
    tracks: list[Track] = []
    for st in sym.tracks:
        arr = st.notes.numpy()
        notes = [
            Note(int(p), t / tpq, d / tpq, max(1, min(127, int(v))))
            for t, d, p, v in zip(
                arr["time"].tolist(), arr["duration"].tolist(),
                arr["pitch"].tolist(), arr["velocity"].tolist(),
            )
            if d > 0 and t >= 0
        ]
        notes.sort(key=lambda n: (n.start, n.pitch))
        name = clean_text(str(st.name))
        tracks.append(Track(notes=notes, program=int(st.program), is_drum=bool(st.is_drum), name=name))
    tempos = [
        TempoChange(t.time / tpq, round(60_000_000 / t.mspq, 3) if t.mspq > 0 else math.inf)
        for t in sym.tempos
    ]
    sigs = [TimeSignature(s.time / tpq, int(s.numerator), int(s.denominator)) for s in sym.time_signatures]
    keys = [
        KeySignature(k.time / tpq, *key_from_sharps(int(k.key), int(k.tonality)))
        for k in sym.key_signatures
        if -7 <= k.key <= 7 and k.tonality in (0, 1)
    ]
    return Score(
        tracks=[t for t in tracks if t.notes],
        tempos=_with_default_first_tempo(_dedupe(tempos)),
        time_signatures=_dedupe(sigs),
        key_signatures=_dedupe(keys),
        source=source,
    )


def clean_text(text: str) -> str:
    """``text`` fit for a name or title: control characters out, whitespace trimmed.

    NUL and the other control characters (Unicode category Cc, C0 and C1) are
    removed, except tab, newline and carriage return, which become spaces;
    lone surrogates and U+FFFE/U+FFFF are removed too, so the result can be
    written into XML. Letters of any script, accents, symbols and emoji are
    kept. ``"Piano\\x00"`` -> ``"Piano"``, ``" Str\\tings "`` -> ``"Str ings"``.
    """
    kept = []
    for ch in text:
        if ch in "\t\n\r":
            kept.append(" ")
        elif unicodedata.category(ch) not in ("Cc", "Cs") and ch not in _NOT_XML_CHARS:
            kept.append(ch)
    return "".join(kept).strip()


def _with_default_first_tempo(tempos: list[TempoChange]) -> list[TempoChange]:
    """``tempos`` (sorted by beat) with :data:`MIDI_DEFAULT_BPM` at beat 0 when the
    first change comes later; an empty list stays empty (a score's default is 120 bpm)."""
    if tempos and tempos[0].beat > 0:
        return [TempoChange(0.0, MIDI_DEFAULT_BPM)] + tempos
    return tempos


def key_from_sharps(sharps: int, tonality: int) -> tuple[int, str]:
    """(tonic pitch class 0-11, ``"major"``/``"minor"``) of a MIDI key signature.

    Args:
        sharps: number of sharps (> 0) or flats (< 0), -7..7.
        tonality: 0 for major, 1 for minor.
    """
    major_tonic = (7 * sharps) % 12  # each sharp moves the tonic up a fifth
    if tonality == 1:
        return (major_tonic + 9) % 12, "minor"  # relative minor: a minor third below
    return major_tonic, "major"


def key_sharps(key: KeySignature) -> int:
    """Sharps (> 0) or flats (< 0) of ``key``'s signature, in -5..6 (F# rather than Gb);
    a mode's is that of the major key it shares notes with (A dorian: 1, as G major).
    See :attr:`KeySignature.signature_fifths`."""
    return key.signature_fifths


def _dedupe(events: list) -> list:
    """Sort by beat; of events at the same beat keep the last, as players do."""
    by_beat: dict[float, object] = {}
    for e in sorted(events, key=lambda e: e.beat):
        by_beat[e.beat] = e
    return list(by_beat.values())


def _short(exc: BaseException) -> str:
    """symusic's error on one line, without its prefix and suffix."""
    return one_line(one_line(exc, 10_000).removeprefix("MiniMidi: ").removesuffix(": iostream error"))


# ------------------------------------------------------------------- writing
def write_midi(score: Score, path: str | Path) -> Path:
    """Write ``score`` as a format-1 MIDI file at :data:`TICKS_PER_BEAT` ticks per beat.

    Note times are rounded to the tick grid (onset and offset separately, so
    legato notes stay legato); a note shorter than one tick lasts one tick.
    Velocities are clamped to 1-127. With no tempo the file says 120 bpm; a first
    tempo after beat 0 is written at beat 0, since :class:`TempoMap` applies it
    from the start. Titles, styles and empty tracks are not stored. MIDI key
    signatures know only major and minor, so a modal key is written as its
    signature (:attr:`KeySignature.signature_fifths`) with its family's flag
    (:attr:`KeySignature.family`) and reads back as the key that signature and flag
    name: A dorian (one sharp, minor family) comes back as E minor, D mixolydian
    (one sharp, major family) as G major; the notes of the scale are kept, the
    tonic and mode are lost. Two notes of the same pitch that overlap in one track
    cannot be told apart in MIDI and come back with exchanged offsets. The file is
    written atomically.

    Reading the file back with :func:`read_midi` gives the same notes exactly
    when every onset and duration is a multiple of 1/480 beat.

    Args:
        score: the score to write.
        path: destination; missing folders are created.

    Returns:
        ``path`` as a :class:`Path`.

    Raises:
        ScoreError: for what MIDI cannot store: a pitch or program outside 0-127,
            a negative or non-finite time or duration, a tempo outside about
            3.6-60,000,000 bpm, or a time signature whose denominator is not a
            power of two up to 128.
    """
    path = Path(path)
    data = encode_midi(score)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def encode_midi(score: Score) -> bytes:
    """The bytes of the format-1 MIDI file :func:`write_midi` writes for ``score``.

    Encoded here in Python rather than through symusic, whose import alone (it
    brings a soundfont downloader and with it ``urllib``, ``ssl`` and ``email``)
    took about 30 ms of ``seqart sample``'s half second. The layout is symusic's:
    one chunk per track, in order; the tempo, time-signature and key-signature
    events in the first chunk (in a chunk of their own when the score has no
    tracks); a track's name (when it has one) and program change at tick 0; a note
    as a note-on and a note-off with the note's velocity. Non-drum tracks take
    channels 0, 1, ... in order, skipping the drum channel 9 (and wrapping after
    16); drum tracks take channel 9. At one tick, meta events come first, then a
    track's name and program, note-offs, note-ons.

    Raises:
        ScoreError: as :func:`write_midi`.
    """
    meta = _meta_events(score)
    chunks = []
    channel = 0
    for i, track in enumerate(score.tracks):
        if track.is_drum:
            events = _track_events(track, 9)
        else:
            events = _track_events(track, channel)
            channel = (channel + 1) % 16
            if channel == 9:
                channel = 10
        chunks.append(_chunk(sorted(meta + events if i == 0 else events, key=lambda e: (e[0], e[1]))))
    if not chunks:
        chunks.append(_chunk(sorted(meta, key=lambda e: (e[0], e[1]))))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), TICKS_PER_BEAT)
    return header + b"".join(chunks)


def _meta_events(score: Score) -> list[tuple[int, int, int, bytes]]:
    """(tick, order at that tick, sequence, event bytes) of ``score``'s tempos, time and
    key signatures; a first tempo is written at tick 0 (120 bpm when there is none)."""
    events = []
    tempos = sorted(score.tempos, key=lambda t: t.beat) or [TempoChange(0.0, 120.0)]
    for i, t in enumerate(tempos):
        if not (math.isfinite(t.bpm) and t.bpm > 0) or not 1 <= round(60_000_000 / t.bpm) <= _MAX_MSPQ:
            raise ScoreError(f"tempo {t.bpm:g} bpm cannot be stored in MIDI (range 3.6-60000000 bpm)")
        tick = 0 if i == 0 else _tick(t.beat)
        events.append((tick, 2, i, b"\xff\x51\x03" + round(60_000_000 / t.bpm).to_bytes(3, "big")))
    for i, s in enumerate(sorted(score.time_signatures, key=lambda s: s.beat)):
        if not (1 <= s.numerator <= 255 and s.denominator in _DENOMINATORS):
            raise ScoreError(
                f"time signature {s} cannot be stored in MIDI "
                "(numerator 1-255, denominator a power of two up to 128)"
            )
        body = bytes((s.numerator, s.denominator.bit_length() - 1, 24, 8))
        events.append((_tick(s.beat), 0, i, b"\xff\x58\x04" + body))
    for i, k in enumerate(sorted(score.key_signatures, key=lambda k: k.beat)):
        # MIDI knows major and minor only: a mode keeps its signature and its family's flag
        tonality = 1 if k.family == "minor" else 0
        events.append((_tick(k.beat), 1, i, b"\xff\x59\x02" + struct.pack(">bB", key_sharps(k), tonality)))
    return events


def _track_events(track: Track, channel: int) -> list[tuple[int, int, int, bytes]]:
    """(tick, order at that tick, sequence, event bytes) of one track on ``channel``."""
    if not 0 <= track.program <= 127:
        raise ScoreError(f"program {track.program} of track {track.name!r} is outside 0-127")
    events = []
    if track.name:
        name = track.name.encode("utf-8")
        events.append((0, 3, 0, b"\xff\x03" + _varlen(len(name)) + name))
    events.append((0, 4, 0, bytes((0xC0 | channel, int(track.program)))))
    for i, n in enumerate(track.notes):
        if not 0 <= n.pitch <= 127:
            raise ScoreError(f"pitch {n.pitch} is outside 0-127 (track {track.name!r})")
        if not n.duration >= 0:
            raise ScoreError(f"note duration {n.duration} beats is negative or not a number")
        start = _tick(n.start)
        end = start + max(1, _tick(n.end) - start)
        if end > _MAX_TICK:
            raise ScoreError(f"time {n.end:g} beats is too late for MIDI (limit {_MAX_TICK // TICKS_PER_BEAT} beats)")
        velocity = max(1, min(127, int(n.velocity)))
        events.append((start, 6, i, bytes((0x90 | channel, n.pitch, velocity))))
        events.append((end, 5, i, bytes((0x80 | channel, n.pitch, velocity))))
    return events


def _chunk(events: list[tuple[int, int, int, bytes]]) -> bytes:
    """An ``MTrk`` chunk of time-ordered ``events``, closed by an end-of-track event."""
    body = bytearray()
    now = 0
    for tick, _, _, data in events:
        body += _varlen(tick - now)
        body += data
        now = tick
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def _varlen(value: int) -> bytes:
    """``value`` (0 to 2**28 - 1) as a MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _tick(beat: float) -> int:
    """``beat`` (quarter notes) as a tick at :data:`TICKS_PER_BEAT` per beat."""
    if not math.isfinite(beat) or beat < 0:
        raise ScoreError(f"time {beat} beats cannot be stored in MIDI (it must be finite and >= 0)")
    tick = round(beat * TICKS_PER_BEAT)
    if tick > _MAX_TICK:
        raise ScoreError(f"time {beat:g} beats is too late for MIDI (limit {_MAX_TICK // TICKS_PER_BEAT} beats)")
    return tick
