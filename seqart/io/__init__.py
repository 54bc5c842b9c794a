"""Reading and writing score files: MIDI, MusicXML/MXL and ABC.

The format is decided by the file's content first and its extension second, so
a MIDI file saved as ``tune.abc`` still reads. Every problem with a file's
content surfaces as :class:`~seqart.errors.ScoreReadError`, whose one-line
message names the file and the reason; no parser's own exception escapes.

Importing this module is cheap: symusic and music21 load inside the functions.
"""

from __future__ import annotations

import re
from pathlib import Path

from seqart.errors import ScoreError, ScoreReadError, one_line
from seqart.score import READ_TIME_LIMIT, Score
from seqart.utils import timelimit

__all__ = [
    "MUSIC_EXTENSIONS",
    "READ_TIME_LIMIT",
    "detect_format",
    "read_score",
    "read_scores",
    "write_score",
]

#: File extensions a folder scan treats as music (lower case, with the dot).
MUSIC_EXTENSIONS = (".mid", ".midi", ".musicxml", ".xml", ".mxl", ".abc")
#: recordings :mod:`seqart.audio` transcribes into scores (not read here)
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".oga", ".aif", ".aiff")

_FORMAT_BY_EXTENSION = {
    ".mid": "midi",
    ".midi": "midi",
    ".musicxml": "musicxml",
    ".xml": "musicxml",
    ".mxl": "mxl",
    ".abc": "abc",
}
_WRITE_FORMATS = {"mid": "midi", "midi": "midi", "musicxml": "musicxml", "xml": "musicxml"}
_SNIFF_BYTES = 4096
_MAX_MXL_BYTES = 256 * 10**6  # far beyond any real score; guards memory against zip bombs
# An ABC tune starts with "X:"; a file may also open with other header fields or
# a "%abc" version line before it.
_ABC_X = re.compile(r"^X:", re.MULTILINE)
_ABC_HEADER = re.compile(r"^(%abc|[TKML]:)")
_NOT_MUSIC = "not a MIDI, MusicXML or ABC file"


def detect_format(path: str | Path) -> str:
    """The format of a music file: ``"midi"``, ``"musicxml"``, ``"mxl"`` or ``"abc"``.

    Decided from the first 4 KB of content (``MThd`` header, zip magic, an XML
    prolog or ``<score-partwise>`` root, ABC header lines); when the content is
    not recognised, from the extension (``.mid .midi .musicxml .xml .mxl .abc``),
    except that binary content never counts as MusicXML or ABC text.

    Raises:
        ScoreReadError: for a missing file, a folder, an empty file, or content
            that is no known format under an extension that is no known format.
    """
    path = Path(path)
    head = _read_head(path)
    if head.startswith(b"MThd"):
        return "midi"
    if head.startswith(b"PK\x03\x04"):
        return "mxl"
    text = _head_text(head)
    if text is not None:
        stripped = text.lstrip()
        if stripped.startswith("<?xml") or "<score-partwise" in text or "<score-timewise" in text:
            return "musicxml"
        if _ABC_X.search(text) or _ABC_HEADER.match(stripped):
            return "abc"
    fmt = _FORMAT_BY_EXTENSION.get(path.suffix.lower())
    if fmt is None:
        raise ScoreReadError(path, _NOT_MUSIC)
    if fmt in ("musicxml", "abc") and text is None:
        raise ScoreReadError(path, f"{_NOT_MUSIC} (binary data)")
    return fmt


def _read_head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise ScoreReadError.from_os_error(path, exc) from None
    if not head:
        raise ScoreReadError(path, "empty file")
    return head


def _head_text(head: bytes) -> str | None:
    """The start of the file as text, or None if it looks binary."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # MusicXML may be saved as UTF-16 with a byte-order mark
    else:
        if b"\x00" in head:
            return None
        encoding = "utf-8-sig"
    text = head.decode(encoding, errors="replace")
    # A cut multi-byte character at the 4 KB boundary is fine; many replacement
    # characters mean the bytes are not text at all.
    if text.count("\ufffd") > max(8, len(text) // 100):
        return None
    return text


def read_scores(path: str | Path, time_limit: float | None = READ_TIME_LIMIT, *, expand_repeats: bool = False,
                grace_notes: bool = False) -> list[Score]:
    """Every score in a file: each tune of an ABC tune book, one score otherwise.

    Times are in beats (quarter notes); see :class:`seqart.Score`. Tunes of an
    ABC book that cannot be read are skipped with a logged warning (their
    ``source`` tags, ``path#N``, keep the file's numbering); the file is an error
    only if no tune can be read.

    Args:
        path: the file.
        time_limit: seconds the parse may take (None: no limit); enforced in the
            main thread only (see :func:`seqart.utils.timelimit.time_limit`).
        expand_repeats: MusicXML/ABC: play repeats, endings and D.C./D.S. out (a
            score as performed); repeats too malformed to play out are read as
            written, with a logged warning. False (default): as written. MIDI is
            a performance already: it has nothing to expand.
        grace_notes: MusicXML/ABC: keep grace notes as short notes of 1/8 beat
            each (a run at most a quarter of the following note), taken from the
            start of the note they lead into. False (default): drop them.

    Raises:
        ScoreReadError: one-line message naming the file, for a missing,
            empty, corrupt or unrecognised file, one without notes, or one that
            takes longer than ``time_limit`` to parse.
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "mxl":
        _check_mxl(path)
    try:
        with timelimit.time_limit(time_limit):
            if fmt == "midi":
                from seqart.io.midi import read_midi

                scores = [read_midi(path)]
            else:
                from seqart.io.music21_reader import parse_music21_file

                scores = parse_music21_file(path, fmt=fmt, expand_repeats=expand_repeats, grace_notes=grace_notes)
    except timelimit.TimeLimitExceeded as exc:
        if not time_limit:
            raise  # a caller's own limit ran out; the caller reports it
        raise ScoreReadError(path, f"{exc} reading {fmt} (the time limit per file)") from None
    except ScoreReadError:
        raise
    except RecursionError:
        raise ScoreReadError(path, "too deeply nested to read") from None
    except Exception as exc:  # music21, lxml, zipfile, codecs: any failure means unreadable
        raise ScoreReadError(path, f"cannot read {fmt} ({one_line(exc)})") from None
    if not scores:
        raise ScoreReadError(path, "no score in the file")
    for score in scores:
        try:
            score.validate()
        except ScoreError as exc:
            raise ScoreReadError(score.source or path, str(exc)) from None
    return scores


def _check_mxl(path: Path) -> None:
    """Make sure a zip file is an archive holding a MusicXML file, since music21
    reports a broken one with a message about NoneType."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ScoreReadError(path, f"corrupt MXL (not a readable zip archive: {one_line(exc)})") from None
    scores = [
        i for i in infos
        if i.filename.lower().endswith((".xml", ".musicxml")) and not i.filename.startswith("META-INF/")
    ]
    if not scores:
        raise ScoreReadError(path, "MXL archive holds no MusicXML score")
    # zipfile never inflates past a member's declared size, so this stops zip bombs.
    biggest = max(i.file_size for i in scores)
    if biggest > _MAX_MXL_BYTES:
        raise ScoreReadError(path, f"MXL score unpacks to {biggest / 1e6:.0f} MB (limit {_MAX_MXL_BYTES // 10**6} MB)")


def read_score(path: str | Path, index: int = 0, time_limit: float | None = READ_TIME_LIMIT, *,
               expand_repeats: bool = False, grace_notes: bool = False) -> Score:
    """The ``index``-th score of :func:`read_scores` (0 = the first readable tune
    of an ABC book; negative indices count from the end); ``time_limit``,
    ``expand_repeats`` and ``grace_notes`` as there.

    Raises:
        ScoreReadError: as :func:`read_scores`, or if ``index`` is out of range.
    """
    scores = read_scores(path, time_limit=time_limit, expand_repeats=expand_repeats, grace_notes=grace_notes)
    if not -len(scores) <= index < len(scores):
        raise ScoreReadError(
            path, f"tune index {index} is out of range (the file holds {len(scores)})"
        )
    return scores[index]


def write_score(score: Score, path: str | Path, format: str | None = None) -> Path:
    """Write ``score`` atomically as MIDI or MusicXML.

    Args:
        score: the score (times in beats).
        path: destination; missing folders are created.
        format: ``"mid"``/``"midi"`` or ``"musicxml"``/``"xml"``; None picks by
            the extension of ``path``.

    Returns:
        ``path`` as a :class:`Path`.

    Raises:
        ScoreError: for an unknown format, or a score the format cannot store.
    """
    path = Path(path)
    key = (format or path.suffix).lower().lstrip(".")
    fmt = _WRITE_FORMATS.get(key)
    if fmt is None:
        what = f"format {format!r}" if format else f"extension {path.suffix or '(none)'!r} of {path}"
        raise ScoreError(f"cannot write {what}: use .mid/.midi or .musicxml/.xml")
    if fmt == "midi":
        from seqart.io.midi import write_midi

        return write_midi(score, path)
    from seqart.io.musicxml_writer import write_musicxml

    return write_musicxml(score, path)
