"""The one score representation every part of seqart reads and writes.

Times are in **beats**, where one beat is a quarter note (the MIDI and DAW
convention: a 6/8 bar lasts 3 beats). A :class:`TempoMap` converts beats to
seconds and back. Pitches are MIDI numbers (60 = middle C), velocities 1-127.

The objects are plain dataclasses so a DAW script can build or edit a score
directly::

    from seqart import Score, Track, Note
    score = Score(tracks=[Track(notes=[Note(60, 0.0, 1.0), Note(62, 1.0, 1.0)])])
    score.write("clip.mid")

Conventions of the readers (:func:`seqart.io.read_scores`; ``tests/test_conformance.py``
checks them against pretty_midi and music21):

* Repeats of MusicXML and ABC are read as written, not played out, unless
  ``expand_repeats=True`` (``--expand-repeats`` of ``seqart corpus build`` and
  ``seqart sample``). A MIDI file is a performance, played out already.
* Grace notes are dropped unless ``grace_notes=True`` (``seqart sample
  --grace-notes``), which keeps each as a note of 1/8 beat (a run at most a quarter
  of the next note), taken from the start of the note it leads into.
* Pitches are sounding pitches: a B-flat clarinet part is moved down a major second.
* Keys keep their mode (MusicXML ``<mode>``, ABC ``K:Ador``) in :class:`KeySignature`.
  A MIDI key signature holds only sharps or flats and major or minor, so a modal key
  written to MIDI reads back as that signature's major or minor key (A dorian -> E minor).
* An unpitched MusicXML part becomes a drum track (``is_drum``) of General MIDI keys:
  those its ``<midi-unpitched>`` elements name, else the notes' display pitches.
* Tied notes become one note. A pickup bar is read after the rest that fills it, so
  bar lines fall on multiples of the bar length from beat 0.
* A MIDI file plays at 120 bpm until its first tempo event; reading makes that an
  explicit ``TempoChange(0.0, 120.0)``, since in a :class:`TempoMap` the first tempo
  holds from beat 0.
* MIDI track names lose NUL padding and other control characters.

Slurs, articulations and other markings are not kept.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

from seqart.errors import ScoreError

#: Tonic names used when printing key signatures (pitch class -> name).
PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Latest beat a note of a valid score may end on (about 14 hours at 120 bpm). A
#: hostile file can put a note at beat 10**12, which no tokenizer could encode.
MAX_BEATS = 100_000.0
#: Seconds :meth:`Score.from_file` may take to read one file by default. music21
#: reads real scores in well under a second per thousand notes but can run for
#: hours on a hostile file (a 1000000/1 meter).
READ_TIME_LIMIT = 60.0
_PC_BY_NAME = {
    "C": 0, "B#": 0, "C#": 1, "DB": 1, "D": 2, "D#": 3, "EB": 3, "E": 4, "FB": 4,
    "F": 5, "E#": 5, "F#": 6, "GB": 6, "G": 7, "G#": 8, "AB": 8, "A": 9, "A#": 10,
    "BB": 10, "B": 11, "CB": 11,
}


@dataclass
class Note:
    """One sounding note.

    Attributes:
        pitch: MIDI pitch number, 0-127.
        start: onset in beats (quarter notes) from the start of the score.
        duration: length in beats, > 0.
        velocity: MIDI velocity, 1-127.
    """

    pitch: int
    start: float
    duration: float
    velocity: int = 80

    @property
    def end(self) -> float:
        """Offset in beats (``start + duration``)."""
        return self.start + self.duration


@dataclass
class Track:
    """A list of notes played by one instrument.

    Attributes:
        notes: the notes, kept sorted by ``(start, pitch)`` by :meth:`Score.sorted`.
        program: General MIDI program number, 0-127 (0 = acoustic grand piano).
        is_drum: True for a percussion track (MIDI channel 10).
        name: free-text track name.
    """

    notes: list[Note] = field(default_factory=list)
    program: int = 0
    is_drum: bool = False
    name: str = ""


@dataclass(frozen=True)
class TempoChange:
    """A tempo that holds from ``beat`` until the next change, in quarter notes per minute."""

    beat: float
    bpm: float


@dataclass(frozen=True)
class TimeSignature:
    """A meter that holds from ``beat`` on, e.g. ``TimeSignature(0, 6, 8)``."""

    beat: float
    numerator: int
    denominator: int

    @property
    def bar_beats(self) -> float:
        """Length of one bar in beats (quarter notes): 6/8 -> 3.0, 3/4 -> 3.0."""
        return self.numerator * 4.0 / self.denominator

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


#: The modes a :class:`KeySignature` can have. "minor" is the aeolian mode (the
#: name kept for files and corpora written before modes existed); "ionian" and
#: "aeolian" parse to "major" and "minor".
MODES = ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian")
#: mode -> semitones of its seven degrees above the tonic ("minor" is natural minor).
MODE_STEPS: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
}
#: mode -> semitones from the major key whose signature it shares up to its tonic
#: (A dorian is G major's second degree: 2).
_MODE_DEGREE = {"major": 0, "dorian": 2, "phrygian": 4, "lydian": 5, "mixolydian": 7, "minor": 9, "locrian": 11}
#: the modes whose third is major; the others count as minor.
_MAJOR_FAMILY = ("major", "lydian", "mixolydian")
#: Every name a mode may be written as (a word of 3+ letters may be shortened:
#: "dor", "mixo"), mapped to its :data:`MODES` name.
_MODE_NAMES = {
    "major": "major", "ionian": "major", "minor": "minor", "aeolian": "minor",
    **{m: m for m in ("dorian", "phrygian", "lydian", "mixolydian", "locrian")},
}
_TONIC = re.compile(r"^([A-Ga-g])([#b]?)(.*)$")


def mode_named(word: str, abc: bool = False) -> str | None:
    """The :data:`MODES` name of a mode word, or None.

    ``"m"``, ``"min"``, ``"minor"``, ``"aeolian"`` -> ``"minor"``; ``"Dor"``,
    ``"dorian"`` -> ``"dorian"``; a word of three or more letters counts if it
    starts a mode's name (``"mixo"``). Case does not matter. With ``abc`` only the
    first three letters count, as the ABC standard says (``"Dorico"`` -> dorian).
    """
    w = word.strip().lower().rstrip(".")
    if w == "m":
        return "minor"
    if abc:
        w = w[:3]
    if len(w) < 3:
        return None
    return next((mode for name, mode in _MODE_NAMES.items() if name.startswith(w)), None)


def split_tonic(word: str) -> tuple[int, str] | None:
    """The pitch class of the note name ``word`` starts with (a letter A-G in either
    case, then ``#`` or ``b``) and the rest of the word: ``"F#m"`` -> ``(6, "m")``,
    ``"Ador"`` -> ``(9, "dor")``; None if it starts with no note name."""
    m = _TONIC.match(word)
    return (_PC_BY_NAME[(m.group(1) + m.group(2)).upper()], m.group(3)) if m else None


@dataclass(frozen=True)
class KeySignature:
    """A key that holds from ``beat`` on.

    Attributes:
        beat: where the key starts, in beats.
        tonic: pitch class of the tonic, 0-11 (0 = C).
        mode: one of :data:`MODES` (``"ionian"`` and ``"aeolian"`` are stored as
            ``"major"`` and ``"minor"``).

    Raises:
        ScoreError: for a mode that is not one of :data:`MODES`.
    """

    beat: float
    tonic: int
    mode: str = "major"

    def __post_init__(self):
        mode = _MODE_NAMES.get(str(self.mode).lower())
        if mode is None:
            raise ScoreError(f"unknown mode {self.mode!r} (use one of {', '.join(MODES)})")
        if mode != self.mode:
            object.__setattr__(self, "mode", mode)

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """``"A dorian"``, ``"F# minor"``: tonic name and mode."""
        return f"{PITCH_CLASS_NAMES[self.tonic % 12]} {self.mode}"

    @property
    def scale(self) -> tuple[int, ...]:
        """The mode's seven pitch classes (0-11, absolute), from the tonic up in scale
        order: A dorian -> ``(9, 11, 0, 2, 4, 6, 7)``. Minor gives natural minor."""
        return tuple((self.tonic + step) % 12 for step in MODE_STEPS[self.mode])

    @property
    def family(self) -> str:
        """``"major"`` for major, lydian and mixolydian (a major third above the tonic),
        else ``"minor"`` (minor, dorian, phrygian, locrian). What a format or token
        vocabulary that knows only major and minor stores for the mode."""
        return "major" if self.mode in _MAJOR_FAMILY else "minor"

    @property
    def signature_fifths(self) -> int:
        """Sharps (> 0) or flats (< 0) of the key signature the mode is written with,
        in -5..6 (F# rather than Gb): A dorian -> 1 (G major's), D minor -> -1."""
        major_tonic = (self.tonic - _MODE_DEGREE[self.mode]) % 12
        sharps = (7 * major_tonic) % 12  # each sharp moves the tonic up a fifth; 7 is its own inverse mod 12
        return sharps - 12 if sharps > 6 else sharps

    @classmethod
    def parse(cls, text: str, beat: float = 0.0) -> "KeySignature":
        """Parse a key name: a tonic (``C``, ``F#``, ``Bb``) and a mode, apart or joined.

        ``"D minor"``, ``"Dm"``, ``"F#m"``, ``"Bb major"``, ``"G"``, ``"A dorian"``,
        ``"Ador"``, ``"A Dor"``, ``"Amix"``, ``"F# phrygian"``, ``"Bb lydian"``,
        ``"E aeolian"`` (-> minor); the mode as in :func:`mode_named`. A lower-case
        tonic without a mode is minor (``"g"``). No mode means major.

        Raises:
            ScoreError: if the text names no key.
        """
        words = text.strip().replace("-", " ").replace("\u266f", "#").replace("\u266d", "b").split()
        if not words:
            raise ScoreError(f"not a key: {text!r} (try 'D minor' or 'Bb major')")
        split = split_tonic(words[0])
        if split is None:
            raise ScoreError(f"not a key: {text!r} (tonic must be a note name like C, F# or Bb)")
        tonic, rest = split
        mode_words = ([rest] if rest else []) + words[1:]
        if not mode_words:
            mode = "minor" if words[0][0].islower() else "major"
        else:
            mode = mode_named(mode_words[0]) if len(mode_words) == 1 else None
            if mode is None:
                raise ScoreError(f"not a key: {text!r} (mode must be one of {', '.join(MODES)}, or m for minor)")
        return cls(beat, tonic, mode)


#: Tune types and collection styles :attr:`Score.style` may hold (or "" for unknown):
#: dance types of the Irish/Scottish repertoire, slow airs and songs, the Chinese
#: (Han) folk songs of the Essen collection, and chorales.
STYLES = (
    "reel", "jig", "slip-jig", "hornpipe", "strathspey", "polka", "slide", "waltz", "march",
    "mazurka", "air", "song", "han-song", "chorale",
)
#: other names of the :data:`STYLES` (after lower-casing and hyphenating), as ABC
#: ``R:`` fields write them.
_STYLE_ALIASES = {
    "double-jig": "jig", "single-jig": "jig", "slipjig": "slip-jig", "clog": "hornpipe",
    "highland-fling": "strathspey", "fling": "strathspey", "slow-air": "air", "hansong": "han-song",
}


def normalise_style(text: str) -> str:
    """The :data:`STYLES` name of a tune type as written in an ABC ``R:`` field, or "".

    Case, spaces and hyphens do not matter and a plural counts: ``"Reel"``,
    ``"REEL"``, ``"reels"`` -> ``"reel"``; ``"double jig"``, ``"single jig"`` ->
    ``"jig"``; ``"slipjig"``, ``"slip jig"`` -> ``"slip-jig"``; ``"clog"`` ->
    ``"hornpipe"``; ``"highland fling"`` -> ``"strathspey"``; ``"slow air"`` ->
    ``"air"``. Anything else (``"Liebes - Lied"``, ``"set dance"``) -> ``""``.
    """
    words = re.findall(r"[a-z]+", str(text).lower())
    name = "-".join(words)
    candidates = [name]
    if name.endswith("es"):
        candidates.append(name[:-2])
    if name.endswith("s"):
        candidates.append(name[:-1])
    for c in candidates:
        if c in STYLES:
            return c
        if c in _STYLE_ALIASES:
            return _STYLE_ALIASES[c]
    return ""


class TempoMap:
    """Piecewise-constant tempo: converts between beats and seconds.

    Args:
        changes: tempo changes; the first one is moved to beat 0 if it starts later
            (a score with no tempo plays at 120 bpm).
    """

    def __init__(self, changes: Sequence[TempoChange] = ()):
        changes = sorted(changes, key=lambda c: c.beat) or [TempoChange(0.0, 120.0)]
        if changes[0].beat > 0:
            changes = [TempoChange(0.0, changes[0].bpm)] + list(changes)
        self.changes = list(changes)
        self._beats = [c.beat for c in self.changes]
        self._seconds = [0.0]
        for prev, cur in zip(self.changes, self.changes[1:]):
            self._seconds.append(self._seconds[-1] + (cur.beat - prev.beat) * 60.0 / prev.bpm)

    def beats_to_seconds(self, beat: float) -> float:
        """Time in seconds at which ``beat`` (quarter notes) sounds."""
        i = max(bisect.bisect_right(self._beats, beat) - 1, 0)
        return self._seconds[i] + (beat - self._beats[i]) * 60.0 / self.changes[i].bpm

    def seconds_to_beats(self, seconds: float) -> float:
        """Position in beats of the instant ``seconds``."""
        i = max(bisect.bisect_right(self._seconds, seconds) - 1, 0)
        return self._beats[i] + (seconds - self._seconds[i]) * self.changes[i].bpm / 60.0


@dataclass
class Score:
    """A piece of music: tracks of notes plus tempo, meter and key maps.

    Attributes:
        tracks: the instrument tracks.
        tempos: tempo changes (empty means 120 bpm throughout).
        time_signatures: meter changes (empty means 4/4 throughout).
        key_signatures: key changes (empty means unknown key).
        title: free-text title.
        source: where the score came from (file path, ``path#3`` for the third tune
            of a multi-tune ABC file); informational only.
        style: the tune type or collection style, one of :data:`STYLES` (``"reel"``,
            ``"slip-jig"``, ``"han-song"``), or ``""`` when unknown. Readers fill it from
            an ABC ``R:`` field (see :func:`normalise_style`), corpus recipes by file name.
    """

    tracks: list[Track] = field(default_factory=list)
    tempos: list[TempoChange] = field(default_factory=list)
    time_signatures: list[TimeSignature] = field(default_factory=list)
    key_signatures: list[KeySignature] = field(default_factory=list)
    title: str = ""
    source: str = ""
    style: str = ""

    # ----------------------------------------------------------------- reading
    @classmethod
    def from_file(cls, path: str | Path, index: int = 0, time_limit: float | None = READ_TIME_LIMIT) -> "Score":
        """Read a MIDI, MusicXML/MXL or ABC file (the ``index``-th tune of a multi-tune ABC).

        ``time_limit`` is the seconds the parse may take (None: no limit), so a
        pathological file cannot hang the caller; it is enforced in the main thread.

        Raises:
            ScoreReadError: one-line message naming the file and the reason.
        """
        from seqart.io import read_score

        return read_score(path, index=index, time_limit=time_limit)

    @classmethod
    def read_all(cls, path: str | Path, time_limit: float | None = READ_TIME_LIMIT) -> list["Score"]:
        """Read every score a file holds (many for an ABC tune book, one otherwise);
        ``time_limit`` as in :meth:`from_file`."""
        from seqart.io import read_scores

        return read_scores(path, time_limit=time_limit)

    def write(self, path: str | Path, format: str | None = None) -> Path:
        """Write to MIDI (``.mid``) or MusicXML (``.musicxml``/``.xml``), chosen by
        ``format`` (``"mid"`` or ``"musicxml"``) or else by the extension.

        The file is written atomically: a reader never sees half a file.
        """
        from seqart.io import write_score

        return write_score(self, path, format=format)

    # -------------------------------------------------------------- properties
    @property
    def notes(self) -> list[Note]:
        """All notes of all tracks, sorted by ``(start, pitch)``."""
        return sorted((n for t in self.tracks for n in t.notes), key=lambda n: (n.start, n.pitch))

    @property
    def num_notes(self) -> int:
        return sum(len(t.notes) for t in self.tracks)

    @property
    def end(self) -> float:
        """Offset of the last note, in beats (0 for an empty score)."""
        return max((n.end for t in self.tracks for n in t.notes), default=0.0)

    @property
    def tempo_map(self) -> TempoMap:
        return TempoMap(self.tempos)

    @property
    def time_signature(self) -> TimeSignature:
        """The first time signature (4/4 if none)."""
        return self.time_signatures[0] if self.time_signatures else TimeSignature(0.0, 4, 4)

    @property
    def key(self) -> KeySignature | None:
        """The first key signature, or None."""
        return self.key_signatures[0] if self.key_signatures else None

    def bar_starts(self, until: float | None = None) -> list[float]:
        """Beat positions of bar lines from 0 up to ``until`` (default: the score's end)."""
        until = self.end if until is None else until
        sigs = sorted(self.time_signatures, key=lambda s: s.beat) or [TimeSignature(0.0, 4, 4)]
        starts: list[float] = []
        for i, sig in enumerate(sigs):
            seg_end = sigs[i + 1].beat if i + 1 < len(sigs) else until
            beat = sig.beat if i else 0.0
            while beat < seg_end - 1e-9 or (not starts and beat <= seg_end):
                starts.append(beat)
                beat += sig.bar_beats
        return starts

    # ----------------------------------------------------------- transforms
    def copy(self) -> "Score":
        """A deep copy (notes and tracks are new objects)."""
        return replace(
            self,
            tracks=[replace(t, notes=[replace(n) for n in t.notes]) for t in self.tracks],
            tempos=list(self.tempos),
            time_signatures=list(self.time_signatures),
            key_signatures=list(self.key_signatures),
        )

    def sorted(self) -> "Score":
        """A copy with each track's notes sorted by ``(start, pitch)``."""
        out = self.copy()
        for t in out.tracks:
            t.notes.sort(key=lambda n: (n.start, n.pitch))
        return out

    def transpose(self, semitones: int, low: int = 0, high: int = 127) -> "Score":
        """Shift every pitched note by ``semitones``; keys move with it, drums stay.

        Notes that would leave ``[low, high]`` are moved by whole octaves back into
        the range (so the melody's shape survives up to octave folding).

        Raises:
            ScoreError: if the range spans less than an octave.
        """
        if high - low < 11:
            raise ScoreError(f"pitch range {low}-{high} is narrower than an octave")
        out = self.copy()
        for t in out.tracks:
            if t.is_drum:
                continue
            for n in t.notes:
                p = n.pitch + semitones
                while p < low:
                    p += 12
                while p > high:
                    p -= 12
                n.pitch = p
        out.key_signatures = [
            replace(k, tonic=(k.tonic + semitones) % 12) for k in out.key_signatures
        ]
        return out

    def fits(self, low: int, high: int) -> bool:
        """True if every pitched note lies in ``[low, high]``."""
        return all(low <= n.pitch <= high for t in self.tracks if not t.is_drum for n in t.notes)

    def pitch_range(self) -> tuple[int, int] | None:
        """(lowest, highest) pitched note, or None for a score without pitched notes."""
        pitches = [n.pitch for t in self.tracks if not t.is_drum for n in t.notes]
        return (min(pitches), max(pitches)) if pitches else None

    def monophonic(self, track: int | None = None) -> "Score":
        """Reduce to one monophonic line.

        Args:
            track: index of the track to keep; None merges all pitched tracks and
                keeps the highest voice (the "skyline").

        Returns:
            A score with one track whose notes never overlap: at each onset the
            highest note wins, and a note is cut short where the next one starts.

        Raises:
            ScoreError: if ``track`` is out of range.
        """
        if track is not None and not 0 <= track < len(self.tracks):
            raise ScoreError(f"track {track} does not exist (the score has {len(self.tracks)})")
        chosen = [self.tracks[track]] if track is not None else [t for t in self.tracks if not t.is_drum]
        notes = sorted((n for t in chosen for n in t.notes), key=lambda n: (n.start, -n.pitch))
        line: list[Note] = []
        for n in notes:
            if line and abs(line[-1].start - n.start) < 1e-9:
                continue  # same onset, lower pitch: the skyline keeps the top note
            if line and line[-1].end > n.start:
                prev = line[-1]
                if n.pitch < prev.pitch and n.end <= prev.end:
                    continue  # an inner voice under a held melody note
                prev.duration = n.start - prev.start
            line.append(replace(n))
        first = chosen[0] if chosen else Track()
        out = self.copy()
        out.tracks = [Track(notes=line, program=first.program, is_drum=False, name=first.name)]
        return out

    def quantize(self, steps_per_beat: int) -> "Score":
        """Snap onsets and offsets to a grid of ``steps_per_beat`` steps per beat.

        Notes that would become zero-length get one step.
        """
        q = float(steps_per_beat)
        out = self.copy()
        for t in out.tracks:
            for n in t.notes:
                start = round(n.start * q)
                end = max(round(n.end * q), start + 1)
                n.start, n.duration = start / q, (end - start) / q
        return out

    def slice(self, start: float, end: float) -> "Score":
        """Notes with onsets in ``[start, end)``, shifted to begin at 0 and cut at ``end``."""
        out = self.copy()
        for t in out.tracks:
            kept = []
            for n in t.notes:
                if start - 1e-9 <= n.start < end - 1e-9:
                    kept.append(Note(n.pitch, n.start - start, min(n.end, end) - n.start, n.velocity))
            t.notes = kept

        def shift(events, make):
            before = [e for e in events if e.beat <= start + 1e-9]
            after = [e for e in events if start + 1e-9 < e.beat < end]
            head = [make(before[-1], 0.0)] if before else []
            return head + [make(e, e.beat - start) for e in after]

        out.tempos = shift(self.tempos, lambda e, b: replace(e, beat=b))
        out.time_signatures = shift(self.time_signatures, lambda e, b: replace(e, beat=b))
        out.key_signatures = shift(self.key_signatures, lambda e, b: replace(e, beat=b))
        return out

    def append(self, other: "Score", at: float | None = None) -> "Score":
        """A copy with ``other``'s notes added track by track, offset by ``at`` beats
        (default: this score's end). Extra tracks of ``other`` are added as new tracks."""
        at = self.end if at is None else at
        out = self.copy()
        for i, t in enumerate(other.tracks):
            moved = [Note(n.pitch, n.start + at, n.duration, n.velocity) for n in t.notes]
            if i < len(out.tracks):
                out.tracks[i].notes.extend(moved)
            else:
                out.tracks.append(replace(t, notes=moved))
        return out

    # ------------------------------------------------------------- plain data
    def to_dict(self) -> dict:
        """A JSON-ready dict (used by the parse cache); :meth:`from_dict` inverts it."""
        return {
            "title": self.title,
            "source": self.source,
            "style": self.style,
            "tempos": [[t.beat, t.bpm] for t in self.tempos],
            "time_signatures": [[s.beat, s.numerator, s.denominator] for s in self.time_signatures],
            "key_signatures": [[k.beat, k.tonic, k.mode] for k in self.key_signatures],
            "tracks": [
                {
                    "program": t.program,
                    "is_drum": t.is_drum,
                    "name": t.name,
                    "notes": [[n.pitch, n.start, n.duration, n.velocity] for n in t.notes],
                }
                for t in self.tracks
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Score":
        return cls(
            tracks=[
                Track(
                    notes=[Note(int(p), float(s), float(d), int(v)) for p, s, d, v in t["notes"]],
                    program=int(t.get("program", 0)),
                    is_drum=bool(t.get("is_drum", False)),
                    name=str(t.get("name", "")),
                )
                for t in data.get("tracks", [])
            ],
            tempos=[TempoChange(float(b), float(q)) for b, q in data.get("tempos", [])],
            time_signatures=[TimeSignature(float(b), int(n), int(d)) for b, n, d in data.get("time_signatures", [])],
            key_signatures=[KeySignature(float(b), int(t), str(m)) for b, t, m in data.get("key_signatures", [])],
            title=str(data.get("title", "")),
            source=str(data.get("source", "")),
            style=normalise_style(data.get("style", "")),
        )

    def validate(self, max_bpm: float = 1000.0, min_bpm: float = 5.0, max_beats: float = MAX_BEATS) -> None:
        """Check the score is musically usable.

        Raises:
            ScoreError: for an empty score, invalid notes, a note ending after
                ``max_beats``, or an absurd tempo or meter.
        """
        if self.num_notes == 0:
            raise ScoreError("no notes")
        for t in self.tempos:
            if not (min_bpm <= t.bpm <= max_bpm) or not math.isfinite(t.bpm):
                raise ScoreError(f"absurd tempo {t.bpm:g} bpm")
        for s in self.time_signatures:
            if s.numerator <= 0 or s.denominator <= 0 or s.bar_beats > 64:
                raise ScoreError(f"absurd time signature {s}")
        for t in self.tracks:
            for n in t.notes:
                if not 0 <= n.pitch <= 127:
                    raise ScoreError(f"pitch {n.pitch} outside 0-127")
                if not (math.isfinite(n.start) and math.isfinite(n.duration)) or n.duration <= 0 or n.start < 0:
                    raise ScoreError(f"invalid note timing (start {n.start}, duration {n.duration})")
                if n.end > max_beats:
                    raise ScoreError(f"absurd length: a note ends after beat {max_beats:g} (at beat {n.end:.6g})")


def merge_tracks(tracks: Iterable[Track], program: int = 0, name: str = "") -> Track:
    """One track holding the notes of all ``tracks``, sorted by ``(start, pitch)``."""
    notes = sorted((replace(n) for t in tracks for n in t.notes), key=lambda n: (n.start, n.pitch))
    return Track(notes=notes, program=program, name=name)
