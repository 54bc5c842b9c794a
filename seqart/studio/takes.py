"""The takes of one studio session: in memory, with their files on disk.

A take is one generated piece. It is addressed by an opaque id (16 hex digits,
drawn at random); a client never names a file: every file lives in the session's
own folder, named by the server (``<id>.mid``, ``<id>.musicxml``, ``<id>.wav``),
and an id that is not exactly 16 hex digits is refused before any lookup, so a
path-like id never reaches the file system.

The session folder is ``<data dir>/studio/<date>-<time>-<random>/`` (the data dir of
:func:`seqart.feedback.store.data_dir`), created on the first take, readable by its
owner only. The MIDI file is written when the take is made (the feedback store
records it then); MusicXML and WAV are written on the first download and kept.

Besides the takes it makes, a session holds the earlier takes it opens from the
feedback stores (:mod:`.history`): their recorded bytes are written to the session
folder under the take's id, so downloads and ratings go through the same files, and
a rating reaches the same store row (the store finds a sample by its bytes).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from seqart.errors import SeqartError
from seqart.score import Score
from seqart.studio.ids import lookup, new_id
from seqart.studio.roll import roll_json

#: download formats -> (file extension, media type)
DOWNLOADS = {"mid": (".mid", "audio/midi"), "musicxml": (".musicxml", "application/vnd.recordare.musicxml+xml"),
             "wav": (".wav", "audio/wav")}


class UnknownTakeError(SeqartError):
    """No take of that id in this session (or an id that cannot be one)."""


@dataclass
class Take:
    """One generated piece.

    Attributes:
        id: its opaque id.
        model_id, model_name: the model that made it (the catalogue's id, and the name shown).
        model_source: the shipped name or folder the feedback store files it under.
        score: the piece (notes in beats, a quarter note = 1 beat).
        settings: the options it was asked with, the model's defaults filled in (no seed, no num).
        seed: the seed of its request (with ``num`` and ``settings`` it reproduces the take;
            None for an earlier take recorded without one).
        index: its place in its request, from 1 (None: not recorded).
        num: how many takes its request made (None: not recorded).
        created: when it was made (ISO 8601, UTC, seconds).
        midi: its MIDI file in the session folder.
        rating: the latest rating: ``"like"``, ``"dislike"``, 1-5 stars, or None.
        primer_end: the beat where a primer it continues ends and the continuation starts
            (None: it has no primer).
        primer: the :class:`~seqart.studio.primers.Primer` it continues (None: none).
        batch: the number of its request in the session, from 0.
        sha256: the hex SHA-256 of the bytes the feedback store keeps of it (its row's key).
        recorded: the file holding those bytes, when it is not ``midi`` (an earlier take
            recorded as ABC or MusicXML); None: ``midi``.
        earlier: True for a take made before this session, opened from its store.
        idea: for an earlier take that continued an idea: ``{"name", "track", "kept"}``
            (:func:`seqart.studio.history.idea_of`); None otherwise.
    """

    id: str
    model_id: str
    model_name: str
    model_source: str
    score: Score
    settings: dict
    seed: int | None
    index: int | None
    num: int | None
    created: str
    midi: Path
    rating: str | int | None = None
    primer_end: float | None = None
    primer: Any = None
    batch: int = 0
    sha256: str = ""
    recorded: Path | None = None
    earlier: bool = False
    idea: dict | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def summary(self) -> dict[str, Any]:
        """What the history lists: who made it, how, and its rating; ``earlier`` (made before
        this session) and ``idea``, what it continued: ``{"name", "track", "kept"}`` (``kept``:
        the idea can be restored) or None."""
        return {"id": self.id, "model": self.model_id, "model_name": self.model_name, "index": self.index,
                "num": self.num, "seed": self.seed, "settings": self.settings, "created": self.created,
                "rating": self.rating, "notes_count": self.score.num_notes, "earlier": self.earlier,
                "idea": self.idea_json()}

    def idea_json(self) -> dict[str, Any] | None:
        """What it continued (see :meth:`summary`)."""
        if self.primer is not None:
            return {"name": self.primer.name, "track": self.settings.get("track"), "kept": True}
        return self.idea

    @property
    def stored_file(self) -> Path:
        """The file whose bytes its feedback store keeps (what a rating is given to)."""
        return self.recorded or self.midi

    def to_json(self) -> dict[str, Any]:
        """Everything a card needs: the summary, the roll (:func:`~seqart.studio.roll.roll_json`)
        and where to download.

        With a primer, ``primer`` is ``[0, beat where the continuation starts]``,
        ``primer_name`` its file name, and ``from_primer`` tells note by note (as ``notes``)
        which are the primer's own, unchanged. Without one all three are None.
        """
        roll = roll_json(self.score)
        from_primer = None
        if self.primer is not None:
            from_primer = primer_flags(roll["notes"], roll_json(self.primer.score)["notes"])
        return {
            **self.summary(),
            **roll,
            "primer": None if self.primer_end is None else [0.0, self.primer_end],
            "primer_name": (self.idea_json() or {}).get("name"),
            "from_primer": from_primer,
            "downloads": {fmt: f"/api/takes/{self.id}/download.{fmt}" for fmt in DOWNLOADS},
        }


class TakeRegistry:
    """The takes of one session, by id, with their files in the session folder.

    Args:
        folder: the session folder (None: a new one under the data dir, see the module docstring).
    """

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else new_session_folder()
        self._takes: dict[str, Take] = {}
        self._lock = threading.Lock()
        self._batches = itertools.count()

    def add(self, model, scores: list[Score], settings: dict, seed: int, primer=None,
            primer_end: float | None = None) -> list[Take]:
        """Register the scores of one request and write their MIDI files.

        Args:
            model: the :class:`~seqart.studio.models.ModelEntry` that made them.
            scores: the pieces, in order.
            settings: the options asked, defaults filled in (no seed, no num).
            seed: the request's seed.
            primer: the :class:`~seqart.studio.primers.Primer` they continue (None: none).
            primer_end: the beat where their continuation starts (with ``primer``).
        """
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        takes = []
        for index, score in enumerate(scores, start=1):
            take_id = new_id()
            midi = score.write(self.folder / f"{take_id}.mid", format="mid")
            takes.append(Take(take_id, model.id, model.name, model.source, score, dict(settings), seed, index,
                              len(scores), created, midi, primer_end=primer_end, primer=primer,
                              sha256=hashlib.sha256(midi.read_bytes()).hexdigest()))
        with self._lock:
            batch = next(self._batches)
            for take in takes:
                take.batch = batch
                self._takes[take.id] = take
        return takes

    def keep(self, take: Take) -> Take:
        """Hold an earlier take opened from its store (:func:`seqart.studio.history.open_stored`);
        the one held already when two requests open it at once."""
        with self._lock:
            return self._takes.setdefault(take.id, take)

    def get(self, take_id: str) -> Take:
        """The take of ``take_id``.

        Raises:
            UnknownTakeError: for an id that is not 16 hex digits or not of this session.
        """
        return lookup(self._takes, take_id, UnknownTakeError, "no take {key} in this session")

    def find(self, take_id: Any) -> Take | None:
        """The take of ``take_id``, or None."""
        try:
            return self.get(take_id)
        except UnknownTakeError:
            return None

    def history(self) -> list[Take]:
        """Every take made in the session (not the earlier ones it opened): the newest request
        first, its takes in order."""
        with self._lock:
            made = [t for t in self._takes.values() if not t.earlier]
        return sorted(made, key=lambda t: (-t.batch, t.index))

    def file(self, take: Take, fmt: str) -> Path:
        """The take's file in ``fmt`` (``"mid"``, ``"musicxml"`` or ``"wav"``), written on first use.

        Raises:
            UnknownTakeError: for another format.
            SeqartError: if the file cannot be written.
        """
        if fmt not in DOWNLOADS:
            raise UnknownTakeError(f"no {str(fmt)[:20]!r} download; there are {', '.join(DOWNLOADS)}")
        path = take.midi.with_suffix(DOWNLOADS[fmt][0])
        with take.lock:  # two requests for one WAV render it once
            if not path.is_file():
                self._write(take.score, path, fmt)
        return path

    @staticmethod
    def _write(score: Score, path: Path, fmt: str) -> None:
        if fmt == "wav":
            from seqart.audio.render import render

            render(score, path)
        else:
            score.write(path, format=fmt)


def download_name(take: Take, fmt: str) -> str:
    """The file name a download of ``take`` in ``fmt`` gets: ``<model>-<seed>-<index>.<ext>``
    (``folk-3-1.mid``), what remakes it; for a take whose store row has no seed or place
    (one rated with ``seqart rate``, or recorded before seeds were), ``<model>-<take id>``.

    Raises:
        UnknownTakeError: for a format that is not a download.
    """
    if fmt not in DOWNLOADS:
        raise UnknownTakeError(f"no {str(fmt)[:20]!r} download; there are {', '.join(DOWNLOADS)}")
    known = take.seed is not None and take.index is not None
    stem = f"{take.model_name}-{take.seed}-{take.index}" if known else f"{take.model_name}-{take.id}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem) + DOWNLOADS[fmt][0]


def primer_flags(notes: list[list], primer_notes: list[list]) -> list[bool]:
    """For each of ``notes`` (``[pitch, start, duration, velocity]``), True if it is one of
    ``primer_notes``: same pitch and start, and at least as long (each primer note matches
    once). Velocity is left out, and a longer note still counts: a piano-roll model plays
    its primer back at one velocity, and a last note it holds on merges with the primer's."""
    left = Counter((n[0], n[1]) for n in primer_notes)
    shortest = {}
    for n in primer_notes:
        shortest[(n[0], n[1])] = min(shortest.get((n[0], n[1]), n[2]), n[2])
    flags = []
    for note in notes:
        key = (note[0], note[1])
        mine = left[key] > 0 and note[2] >= shortest[key] - 1e-9
        flags.append(mine)
        left[key] -= mine
    return flags


def new_session_folder() -> Path:
    """A fresh folder name for a session's files (not created here)."""
    from seqart.feedback.store import data_dir

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return data_dir() / "studio" / f"{stamp}-{secrets.token_hex(3)}-{os.getpid()}"
