"""The primers of one studio session: uploaded ideas that takes continue ("Continue my idea").

A primer is a score or recording the user uploads (:mod:`.uploads` checks its size
and kind, :mod:`.reading` reads it, a recording transcribed as ``seqart sample
--primer hum.wav`` does). Like a take it is addressed by an opaque id of 16 hex
digits drawn at random; its file is kept in the session folder under
``primers/<id><extension>``, and a request names a primer by its id, never by a path.

A melody model continues one line of a primer: the top voice of all its pitched
tracks, or of the track chosen (numbered from 1, as
:func:`seqart.generate.primer.primer_line` numbers them); a primer's JSON lists its
tracks and says what line each choice continues.

A take that continues a primer keeps it: :meth:`Primer.file_to_keep` gives the bytes
recorded with the take in its feedback store (:mod:`.history`), from which a later
session restores the same idea (:meth:`PrimerRegistry.add` again, or the primer held
already with the same bytes, :meth:`PrimerRegistry.find_content`).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqart.errors import ScoreReadError, SeqartError
from seqart.score import Score
from seqart.studio.ids import lookup, new_id
from seqart.studio.roll import roll_json

#: primers kept per session, at most (the oldest is forgotten first)
MAX_PRIMERS = 50


class UnknownPrimerError(SeqartError):
    """No primer of that id in this session (or an id that cannot be one)."""


@dataclass
class Primer:
    """One uploaded idea.

    Attributes:
        id: its opaque id.
        name: the file name it was uploaded as (shown only).
        kind: ``"midi"``, ``"musicxml"``, ``"mxl"``, ``"abc"`` or ``"audio"`` (transcribed).
        path: its file in the session folder.
        score: what was read (times in beats, a quarter note = 1 beat); ``source`` is ``name``.
        sha256: the hex SHA-256 of the uploaded bytes.
    """

    id: str
    name: str
    kind: str
    path: Path
    score: Score
    sha256: str = ""

    def file_to_keep(self) -> tuple[str, bytes]:
        """A file name and the bytes that restore this idea later: the uploaded score as it
        is (read again, it is the same score), or for a recording the MIDI file of its
        transcription, named ``<stem>-transcribed.mid`` (that is what was continued; the
        recording may be megabytes, and transcribing it again is slow)."""
        if self.kind != "audio":
            return self.name, self.path.read_bytes()
        midi = self.path.with_suffix(".mid")
        if not midi.is_file():
            self.score.write(midi, format="mid")
        return f"{Path(self.name).stem}-transcribed.mid", midi.read_bytes()

    def line(self, track: int | None = None) -> tuple[Score, str | None]:
        """The line a melody model continues, and the sentence saying which (see
        :func:`seqart.generate.primer.primer_line`; ``track`` numbered from 1)."""
        from seqart.generate.primer import primer_line

        return primer_line(self.score, track, hint=False)

    def notice(self, track: int | None = None) -> str:
        """What a melody model continues of it, for the page: the sentence of
        :func:`seqart.generate.primer.primer_line` (``track`` numbered from 1), without
        the command line's hint (the page has a track choice)."""
        _, notice = self.line(track)
        if notice is None:
            return "continuing its one line" if track is None else f"continuing track {track}"
        return notice

    def tracks_json(self) -> list[dict[str, Any]]:
        """Its tracks, numbered from 1: ``number``, ``name`` (the track's, or its instrument),
        ``notes`` (how many), ``drums``, and for a track a melody model can continue (pitched,
        with notes) ``notice``, what choosing it continues (else None)."""
        from seqart.generate.primer import track_label

        out = []
        for number, track in enumerate(self.score.tracks, start=1):
            choosable = bool(track.notes) and not track.is_drum
            out.append({"number": number, "notes": len(track.notes), "drums": track.is_drum,
                        "name": track_label(self.score, number - 1),
                        "notice": self.notice(number) if choosable else None})
        return out

    def to_json(self) -> dict[str, Any]:
        """What the page draws and offers: the roll (:func:`~seqart.studio.roll.roll_json`),
        the tracks, and ``notice``: what a melody model continues with no track chosen."""
        return {"id": self.id, "name": self.name, "kind": self.kind, "transcribed": self.kind == "audio",
                "tracks": self.tracks_json(), "notice": self.notice(), **roll_json(self.score)}


class PrimerRegistry:
    """The primers of one session, by id, with their files in ``folder``.

    Args:
        folder: where the uploaded files go (created, owner-only, on the first upload).
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._primers: dict[str, Primer] = {}
        self._lock = threading.Lock()

    def add(self, name: str, data: bytes) -> Primer:
        """Store an upload, check its kind and read it (a recording is transcribed).

        Args:
            name: the file name it was uploaded as (:func:`~seqart.studio.uploads.upload_name`).
            data: its bytes.

        Raises:
            UploadError: for content that is not what the name says.
            ScoreReadError: for a file the readers cannot read (one line naming ``name``).
        """
        from seqart.studio.reading import read_in_child
        from seqart.studio.uploads import check_kind

        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        primer_id = new_id()
        path = self.folder / f"{primer_id}{Path(name).suffix.lower()}"
        path.write_bytes(data)
        try:
            kind = check_kind(path, name)
            score = read_in_child(path, name)
            if not score.num_notes:
                raise ScoreReadError(name, "no notes to continue")
        except SeqartError:
            path.unlink(missing_ok=True)
            raise
        return self.keep(Primer(primer_id, name, kind, path, score, hashlib.sha256(data).hexdigest()))

    def keep(self, primer: Primer) -> Primer:
        """Hold ``primer`` (again: one forgotten as :data:`MAX_PRIMERS` were passed, that a
        take still continues), as the newest; returns it."""
        with self._lock:
            self._primers.pop(primer.id, None)
            self._primers[primer.id] = primer
            while len(self._primers) > MAX_PRIMERS:
                del self._primers[next(iter(self._primers))]
        return primer

    def find_content(self, sha256: str) -> Primer | None:
        """The primer held whose uploaded bytes have this hex SHA-256, or None."""
        with self._lock:
            return next((p for p in self._primers.values() if p.sha256 == sha256), None)

    def get(self, primer_id: Any) -> Primer:
        """The primer of ``primer_id``.

        Raises:
            UnknownPrimerError: for an id that is not 16 hex digits or not of this session.
        """
        return lookup(self._primers, primer_id, UnknownPrimerError,
                      "no primer {key} in this session: upload the file again")
