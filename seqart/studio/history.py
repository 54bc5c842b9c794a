"""The studio's history: the takes of this session and every take recorded earlier in the
feedback stores of the models it offers, newest first, a page at a time.

A take made in this session is listed as the session holds it (its id, its in-memory
settings). Every other row of those stores is an **earlier take**: made by an earlier
studio launch or by ``seqart sample``, or rated with ``seqart rate``. Its id is the
first 16 hex digits of the SHA-256 of its model and its row's content hash, so it is
the same in every tab and every launch, looks like any other take id, and names no
file. ``GET /api/history/{id}`` opens it (:func:`open_stored`): its recorded bytes are
written to the session folder and read, and from then on it is a card like any other
(roll, downloads, rating), its rating going to the same store row.

A row's settings are what was recorded with it; the page gets them without what is
the server's own (a primer's file path, the kept primer's bytes) and with the seed,
the request's size and the take's place in it apart, as :meth:`Take.summary
<seqart.studio.takes.Take.summary>` has them.

**Kept ideas.** A take that continues an uploaded idea records the idea's bytes in its
own settings (:data:`IDEA_KEY`, base64, at most :data:`MAX_KEPT_IDEA` bytes; a larger
one is recorded by name only), so the store row alone restores the idea: it survives
the session folder being deleted and moves with a model folder's store, as the take's
own bytes do, and the server never reads a file path back out of a store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from seqart.errors import SeqartError, one_line
from seqart.feedback.store import Sample
from seqart.studio.models import ModelEntry
from seqart.studio.takes import Take, TakeRegistry, UnknownTakeError

#: takes per page when the request does not say
DEFAULT_LIMIT = 50
#: takes per page, at most
MAX_LIMIT = 200
#: largest idea (uploaded score, or MIDI of a transcribed recording) kept with its takes, in bytes
MAX_KEPT_IDEA = 16 << 10
#: the recorded settings' entry that keeps an idea: ``{"name": file name, "base64": its bytes}``
IDEA_KEY = "primer_kept"
#: recorded settings the page gets apart (seed, num, index, idea) or not at all (primer's path)
_APART = ("seed", "num", "index", "primer", "track", IDEA_KEY)


class HistoryError(SeqartError):
    """A history request the studio cannot answer: a bad page size, or an idea that was not kept."""


def rating_of(sample: Sample) -> str | int | None:
    """A store sample's latest rating as the page shows it: 1-5 stars, ``"like"``,
    ``"dislike"``, or None (unrated)."""
    if sample.stars is not None:
        return sample.stars
    return {1: "like", -1: "dislike"}.get(sample.rating)


def rate_stored(model_source, path, rating: Any) -> str | int | None:
    """Rate the file ``path`` in the feedback store of the model ``model_source`` and return
    its rating as the page shows it (:func:`rating_of`); a take's or a picture's rating.

    Raises:
        FeedbackError: for anything else than a rating (refused before the store is
            opened), or a store that cannot be written.
    """
    from seqart.feedback.store import FeedbackError, FeedbackStore, model_label, parse_rating

    if isinstance(rating, bool) or not isinstance(rating, (str, int)):
        raise FeedbackError("rating must be like, dislike or 1-5 stars")
    parse_rating(rating)
    with FeedbackStore.for_model(model_source) as store:
        return rating_of(store.rate(path, rating, model=model_label(model_source)))


def earlier_id(source: str, sha256: str) -> str:
    """The id of the take a model's store keeps with content hash ``sha256`` (see the module docstring)."""
    return hashlib.sha256(f"{source}\n{sha256}".encode()).hexdigest()[:16]


def kept_idea(primer) -> dict[str, Any]:
    """What a take's recorded settings keep of the :class:`~seqart.studio.primers.Primer` it
    continues (under :data:`IDEA_KEY`): the name and bytes of
    :meth:`~seqart.studio.primers.Primer.file_to_keep`, or the name only when the bytes
    are over :data:`MAX_KEPT_IDEA` (or its file is gone from the session folder)."""
    try:
        name, data = primer.file_to_keep()
    except (OSError, SeqartError):
        return {"name": primer.name}
    if len(data) > MAX_KEPT_IDEA:
        return {"name": primer.name}
    return {"name": name, "base64": base64.b64encode(data).decode("ascii")}


def idea_of(settings: dict) -> dict[str, Any] | None:
    """What a recorded take continued: ``{"name", "track", "kept"}`` (``kept``: its bytes are
    in the store), or None when it continued nothing."""
    if not settings.get("primer") and IDEA_KEY not in settings:
        return None
    record = settings.get(IDEA_KEY)
    if isinstance(record, dict) and isinstance(record.get("name"), str):
        name, kept = record["name"], isinstance(record.get("base64"), str)
    else:  # recorded by seqart sample --primer FILE: only the file's path
        name, kept = Path(str(settings.get("primer"))).name, False
    track = settings.get("track")
    return {"name": name, "track": track if isinstance(track, int) else None, "kept": kept}


def idea_file(settings: dict) -> tuple[str, bytes]:
    """The file name and bytes of the idea a recorded take kept.

    Raises:
        HistoryError: when it continued no idea, or its idea was not kept.
    """
    idea = idea_of(settings)
    if idea is None:
        raise HistoryError("that take continued no idea")
    try:
        return idea["name"], base64.b64decode(settings[IDEA_KEY]["base64"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise HistoryError(f"the idea that take continued, {idea['name']}, was not kept with it (larger than "
                           f"{MAX_KEPT_IDEA >> 10} kB, or given to seqart sample as a file): upload it again") from None


@dataclass
class StoredTake:
    """One row of an offered model's feedback store, as the history lists it.

    Attributes:
        id: its id (:func:`earlier_id`).
        entry: the :class:`~seqart.studio.models.ModelEntry` whose store holds it.
        sample: the row (:class:`~seqart.feedback.store.Sample`), without its bytes.
    """

    id: str
    entry: ModelEntry
    sample: Sample

    @property
    def settings(self) -> dict:
        return self.sample.settings if isinstance(self.sample.settings, dict) else {}

    def summary(self) -> dict[str, Any]:
        """The history's entry, in the keys of :meth:`~seqart.studio.takes.Take.summary`
        (``notes_count`` None: the bytes are read only when the take is opened)."""
        settings = self.settings
        return {"id": self.id, "model": self.entry.id, "model_name": self.entry.name,
                "index": _whole(settings.get("index")), "num": _whole(settings.get("num")),
                "seed": _whole(settings.get("seed")), "settings": page_settings(settings),
                "created": self.sample.created, "rating": rating_of(self.sample), "notes_count": None,
                "earlier": True, "idea": idea_of(settings)}


def page_settings(settings: dict) -> dict[str, Any]:
    """Recorded settings as the page gets them: without the seed, the request's size, the
    take's place (given apart) and the idea (a path, bytes)."""
    return {k: v for k, v in settings.items() if k not in _APART}


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def stored_takes(entries: Sequence[ModelEntry]) -> tuple[list[StoredTake], list[str]]:
    """Every row of the feedback stores of ``entries`` (models offered), store by store, oldest
    first; and one line for each store that cannot be read (it is left out). A model with no
    store yet has no rows; no store is created here."""
    from seqart.feedback.store import FeedbackStore, store_path

    rows, notes, seen = [], [], set()
    for entry in entries:
        try:
            path = store_path(entry.source)
            if path in seen or not path.is_file():
                continue
            seen.add(path)
            with FeedbackStore(path, create=False) as store:
                samples = store.samples()
        except SeqartError as exc:
            notes.append(f"{entry.name}'s earlier takes are left out: {one_line(exc, 200)}")
            continue
        rows += [StoredTake(earlier_id(entry.source, s.sha256), entry, s) for s in samples]
    return rows, notes


def merged(made: Sequence[Take], stored: Sequence[StoredTake]) -> list[dict[str, Any]]:
    """The history, newest first: the summaries of the takes ``made`` in this session, with
    the rating their store row has now, and of every stored take that is none of them.
    The takes of one request stay together, in order; within one second (the stores'
    resolution) this session's takes come first, then the newer request."""
    rows = {(s.entry.source, s.sample.sha256): s for s in stored}
    listed = []
    for order, take in enumerate(made):  # already the newest request first, its takes in order
        summary = take.summary()
        row = rows.pop((take.model_source, take.sha256), None)
        if row is not None:
            summary["rating"] = rating_of(row.sample)
        listed.append(((-_seconds(take.created), 0, order, 0), summary))
    started: dict[tuple[str, int], float] = {}  # a request's time: its first row's (its rows may span a second)
    for row in rows.values():
        started[_request(row)] = min(started.get(_request(row), float("inf")), _seconds(row.sample.created))
    for row in rows.values():
        source, first = _request(row)
        index = _whole(row.settings.get("index")) or 1
        listed.append(((-started[(source, first)], 1, -first, index), row.summary()))
    return [summary for _, summary in sorted(listed, key=lambda pair: pair[0])]


def _request(row: StoredTake) -> tuple[str, int]:
    """The request a stored take was made in: its model, and the row id of the request's
    first take (a request's rows are recorded one after another, ``index`` 1 first)."""
    index = _whole(row.settings.get("index")) or 1
    return row.entry.source, row.sample.id - (index - 1)


def _seconds(created: str) -> float:
    try:
        return datetime.fromisoformat(created).timestamp()
    except (TypeError, ValueError):
        return 0.0


def check_limit(raw: str | None) -> int:
    """A page's size: a whole number in 1-:data:`MAX_LIMIT` (None: :data:`DEFAULT_LIMIT`).

    Raises:
        HistoryError: for anything else.
    """
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise HistoryError(f"limit must be a whole number within 1-{MAX_LIMIT}, got {raw[:20]!r}")
    return int(raw)


def page(listed: list[dict[str, Any]], limit: int, before: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The page of ``limit`` takes after the one of id ``before`` (None: from the newest),
    and the id to ask the next page ``before`` (None: this is the last page).

    Raises:
        UnknownTakeError: for a ``before`` that is no take of the history (pruned meanwhile).
    """
    start = 0
    if before is not None:
        ids = [t["id"] for t in listed]
        if before not in ids:
            raise UnknownTakeError(f"no take {before[:40]!r} in the history (pruned meanwhile?): reload it")
        start = ids.index(before) + 1
    shown = listed[start:start + limit]
    return shown, (shown[-1]["id"] if shown and start + limit < len(listed) else None)


def find_stored(entries: Sequence[ModelEntry], take_id: Any) -> StoredTake:
    """The stored take of ``take_id``.

    Raises:
        UnknownTakeError: for an id that is none of the offered models' stored takes.
    """
    from seqart.studio.ids import lookup

    rows, _ = stored_takes(entries)
    return lookup({r.id: r for r in rows}, take_id, UnknownTakeError, "no take {key} in this session or its history")


def open_stored(takes: TakeRegistry, stored: StoredTake) -> Take:
    """An earlier take as a take of this session: its recorded bytes written to the session
    folder as ``<id><format>`` (and ``<id>.mid`` from them when they are no MIDI file), read,
    and held in ``takes``.

    Raises:
        SeqartError: when the bytes are gone from the store or are no music the readers read.
    """
    from seqart.feedback.store import FeedbackStore, store_path
    from seqart.score import Score

    with FeedbackStore(store_path(stored.entry.source), create=False) as store:
        content = store.content(stored.sample)
    takes.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    recorded = takes.folder / f"{stored.id}{stored.sample.format}"
    recorded.write_bytes(content)
    score = Score.read_all(recorded)[0]
    midi = recorded if stored.sample.format == ".mid" else score.write(takes.folder / f"{stored.id}.mid", format="mid")
    summary = stored.summary()
    take = Take(stored.id, stored.entry.id, stored.entry.name, stored.entry.source, score, summary["settings"],
                summary["seed"], summary["index"], summary["num"], stored.sample.created, midi,
                rating=summary["rating"], sha256=stored.sample.sha256, recorded=None if midi == recorded else recorded,
                earlier=True, idea=summary["idea"])
    return takes.keep(take)
