"""An uploaded file: its bytes, read within a size limit, and its kind, checked twice.

A file is uploaded as the raw request body, its name in the query
(``POST /api/primers?name=idea.mid``): a browser sends a picked file that way with
one ``fetch``, and nothing needs a multipart parser. The size is checked before the
body is read (its ``Content-Length``) and again while it is read, so a huge or
endless body is cut off at :data:`MAX_UPLOAD` bytes.

The kind is checked twice: the name's extension must be one seqart's CLI reads (a
score: ``.mid .midi .musicxml .xml .mxl .abc``; a recording: ``.wav .flac .mp3 .ogg
.oga .aif .aiff``), and the content must agree with it: a recording has its
format's header, a score is recognised by :func:`seqart.io.detect_format` and is no
recording. The name is only ever shown; the file is stored under a name the server
draws.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from seqart.errors import SeqartError
from seqart.io import AUDIO_EXTENSIONS, MUSIC_EXTENSIONS

#: largest upload, in bytes (a score is kilobytes; a minute of CD-quality WAV is 10 MB,
#: of MP3 about 1 MB)
MAX_UPLOAD = 5 << 20
#: longest file name shown, in characters
MAX_NAME = 80


class UploadError(SeqartError):
    """An upload that is too large, empty, unnamed, or not what its name says."""


def upload_name(raw: str | None) -> str:
    """The file name of an upload as shown: its last path part, printable, at most
    :data:`MAX_NAME` characters.

    Raises:
        UploadError: for a missing name, or one whose extension is no score or recording.
    """
    base = PureWindowsPath(PurePosixPath(raw or "").name).name  # C:\\x\\idea.mid as sent by old browsers too
    shown = "".join(ch for ch in base if ch.isprintable()).strip()
    if not shown:
        raise UploadError("an upload needs a file name: POST /api/primers?name=idea.mid")
    suffix = Path(shown).suffix.lower()
    if suffix not in MUSIC_EXTENSIONS + AUDIO_EXTENSIONS:
        raise UploadError(f"{shown[:MAX_NAME]!r} is not a score or a recording: upload "
                          f"{' '.join(MUSIC_EXTENSIONS)} or {' '.join(AUDIO_EXTENSIONS)}")
    if len(shown) > MAX_NAME:
        shown = shown[:MAX_NAME - len(suffix) - 3] + "..." + suffix
    return shown


def is_recording_name(name: str) -> bool:
    """True for a name with a recording's extension (it is transcribed, not read)."""
    return Path(name).suffix.lower() in AUDIO_EXTENSIONS


async def read_upload(request, limit: int = MAX_UPLOAD) -> bytes:
    """The request body, refused as soon as it is known to be larger than ``limit`` bytes.

    Raises:
        UploadError: for a declared or actual size over ``limit``, or an empty body.
    """
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
        raise UploadError(_too_large(declared.strip()[:20], limit))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise UploadError(_too_large(f"over {limit}", limit))
        chunks.append(chunk)
    if not size:
        raise UploadError("the upload is empty: send the file's bytes as the request body")
    return b"".join(chunks)


def _too_large(size: str, limit: int) -> str:
    return f"the upload is too large ({size} bytes; at most {limit >> 20} MB)"


def recording_format(head: bytes) -> str | None:
    """The recording format the first bytes of a file announce, or None.

    WAV (RIFF/RF64 ... WAVE), FLAC, Ogg, AIFF (FORM ... AIFF/AIFC), MP3 (an ID3 tag or an
    MPEG audio frame header).
    """
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "WAV"
    if head.startswith(b"fLaC"):
        return "FLAC"
    if head.startswith(b"OggS"):
        return "Ogg"
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "MP3"
    return None


def check_kind(path: Path, name: str) -> str:
    """Check that the stored upload ``path`` holds what its shown ``name`` says.

    Returns:
        ``"audio"`` for a recording, else the score format (``"midi"``, ``"musicxml"``,
        ``"mxl"``, ``"abc"``).

    Raises:
        UploadError: for content that does not match the name's extension.
    """
    from seqart.errors import ScoreReadError
    from seqart.io import detect_format

    with open(path, "rb") as fh:
        heard = recording_format(fh.read(16))
    if is_recording_name(name):
        if heard is None:
            raise UploadError(f"{name} is not a recording: it has no WAV, FLAC, MP3, Ogg or AIFF header")
        return "audio"
    if heard is not None:
        raise UploadError(f"{name} holds {heard} audio, not a score: give it its own extension "
                          f"(.{heard.lower()}) to have it transcribed")
    try:
        return detect_format(path)
    except ScoreReadError as exc:
        raise UploadError(f"{name}: {exc.reason}") from None
