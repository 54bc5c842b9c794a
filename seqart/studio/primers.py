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
"""

from __future__ import annotations

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
    """

    id: str
    name: str
    kind: str
    path: Path
    score: Score

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
        primer = Primer(primer_id, name, kind, path, score)
        with self._lock:
            self._primers[primer_id] = primer
            while len(self._primers) > MAX_PRIMERS:
                del self._primers[next(iter(self._primers))]
        return primer

    def get(self, primer_id: Any) -> Primer:
        """The primer of ``primer_id``.

        Raises:
            UnknownPrimerError: for an id that is not 16 hex digits or not of this session.
        """
        return lookup(self._primers, primer_id, UnknownPrimerError,
                      "no primer {key} in this session: upload the file again")
