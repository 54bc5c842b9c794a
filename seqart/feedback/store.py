"""The feedback store: generated samples, their generation settings and the user's ratings, in SQLite.

One store per model. A model folder the user owns keeps its store inside:
``MODEL/feedback.sqlite``; a training run's model keeps it in the run folder,
``RUN/feedback.sqlite``, because the trainer replaces ``RUN/model/`` whenever it
saves better weights (a later ``--resume`` must not lose the ratings). A shipped
model lives inside the installed package, which may be read-only and is replaced
by every upgrade, so its store lives in the user's data folder instead::

    $SEQART_DATA_DIR/feedback/<name>.sqlite                 if SEQART_DATA_DIR is set
    $XDG_DATA_HOME/seqart/feedback/<name>.sqlite            else if XDG_DATA_HOME is set
    ~/.local/share/seqart/feedback/<name>.sqlite            otherwise

Samples are keyed by the SHA-256 of the file's bytes, and the bytes themselves
are kept: a renamed or moved file keeps its rating, and a deleted one can still
be tuned on. Any file is kept as it is: melodies (read back by :meth:`FeedbackStore.read_scores`)
and, for an image model, PNG pictures (read back by
:func:`seqart.workflows.tune_images.read_pictures`). Ratings are kept as a history;
a sample's latest rating counts.

A rating is a like (+1), a dislike (-1), or 1-5 stars, which map to a preference
as 1-2 stars: dislike, 3 stars: neutral (0: tuning ignores it), 4-5 stars: like.

``seqart sample`` records every file it writes (see :func:`record_generated`);
``SEQART_NO_RECORD=1`` turns that off (:func:`recording_enabled`). Listing and
pruning stores is :mod:`seqart.feedback.housekeeping`.

Every write is one ``BEGIN IMMEDIATE`` transaction, and a busy database is
waited on for :data:`TIMEOUT` seconds, so two ``seqart`` processes can rate and
record at once. Nothing here imports torch.

>>> with FeedbackStore.for_model("folk") as store:
...     store.rate("melody-1.mid", "like")
...     [s.path for s in store.liked()]
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

from seqart.errors import SeqartError

#: Layout version of the tables, kept in SQLite's ``user_version``.
SCHEMA_VERSION = 1
#: A user model folder's store file.
STORE_NAME = "feedback.sqlite"
#: Seconds a write waits for another process's transaction before giving up.
TIMEOUT = 30.0
#: Largest sample file the store accepts, in bytes (a 16-bar melody as MIDI is well under 1 kB).
MAX_SAMPLE_BYTES = 16 << 20
#: Environment switch: ``1``/``true``/``yes`` stops the generating commands recording their samples.
NO_RECORD_ENV = "SEQART_NO_RECORD"
_YES = {"1", "true", "yes", "on"}
_NO = {"", "0", "false", "no", "off"}
#: Preference of each star count (1-5).
STARS_PREFERENCE = {1: -1, 2: -1, 3: 0, 4: 1, 5: 1}
_WORDS = {"like": 1, "l": 1, "+": 1, "+1": 1, "dislike": -1, "d": -1, "-": -1, "-1": -1}

_SCHEMA = """
CREATE TABLE samples (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,       -- of the file's bytes
    path TEXT NOT NULL,                -- where the file was last seen (absolute)
    format TEXT NOT NULL,              -- file extension, e.g. '.mid'
    content BLOB NOT NULL,             -- the file's bytes
    model TEXT,                        -- model that generated it (folder or shipped name), NULL if unknown
    settings TEXT,                     -- generation settings as JSON, NULL if unknown
    created TEXT NOT NULL              -- ISO 8601, UTC
);
CREATE TABLE ratings (
    id INTEGER PRIMARY KEY,
    sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 0, 1)),
    stars INTEGER CHECK (stars BETWEEN 1 AND 5),
    note TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE INDEX ratings_by_sample ON ratings(sample_id, id);
"""


class FeedbackError(SeqartError):
    """The feedback store cannot be read or written, or a rating is invalid."""


@dataclass
class Sample:
    """One recorded sample with its latest rating.

    Attributes:
        id: row id in the store.
        sha256: hex digest of the file's bytes.
        path: where the file was last seen.
        format: its extension (``".mid"``, ``".musicxml"``, ``".abc"``; ``".png"`` for a picture).
        model: the model that generated it, or None if unknown.
        settings: generation settings (``temperature``, ``seed``, ...), or None if unknown.
        created: when it was recorded (ISO 8601, UTC).
        rating: latest preference: +1 like, -1 dislike, 0 neutral, None unrated.
        stars: latest star rating (1-5) if it was given in stars.
        note: the latest rating's note.
        rated: when it was last rated (ISO 8601, UTC), or None.
    """

    id: int
    sha256: str
    path: str
    format: str
    model: str | None
    settings: dict | None
    created: str
    rating: int | None = None
    stars: int | None = None
    note: str = ""
    rated: str | None = None

    @property
    def rating_text(self) -> str:
        """``"like"``, ``"dislike"``, ``"3 stars"``, ``"neutral"`` or ``"unrated"``."""
        if self.stars is not None:
            return f"{self.stars} star{'s' if self.stars != 1 else ''}"
        return {1: "like", -1: "dislike", 0: "neutral", None: "unrated"}[self.rating]


def parse_rating(value: str | int) -> tuple[int, int | None]:
    """A rating as ``(preference, stars)``.

    Args:
        value: ``"like"``/``"l"``, ``"dislike"``/``"d"``, or 1-5 stars (int or digit string).

    Returns:
        preference +1, 0 or -1 (see :data:`STARS_PREFERENCE`), and the stars or None.

    Raises:
        FeedbackError: for anything else.
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _WORDS:
            return _WORDS[text], None
        if text.isdigit():
            value = int(text)
    if isinstance(value, int) and not isinstance(value, bool) and value in STARS_PREFERENCE:
        return STARS_PREFERENCE[value], value
    raise FeedbackError(f"not a rating: {value!r} (use like, dislike or 1-5 stars)")


# --------------------------------------------------------------- locations
def data_dir() -> Path:
    """The user's seqart data folder (``$SEQART_DATA_DIR``, else ``$XDG_DATA_HOME/seqart``,
    else ``~/.local/share/seqart``); not created here."""
    if os.environ.get("SEQART_DATA_DIR"):
        return Path(os.environ["SEQART_DATA_DIR"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "seqart"


def recording_enabled() -> bool:
    """False when ``$SEQART_NO_RECORD`` is ``1``/``true``/``yes``/``on`` (any case), True when it is
    unset, empty, ``0``/``false``/``no``/``off``.

    Raises:
        FeedbackError: for any other value (checked before anything is generated).
    """
    value = os.environ.get(NO_RECORD_ENV, "").strip().lower()
    if value in _YES or value in _NO:
        return value not in _YES
    raise FeedbackError(f"{NO_RECORD_ENV}={os.environ[NO_RECORD_ENV]!r}: use 1 (do not record samples) "
                        "or 0 (record them)")


def is_shipped(folder: Path) -> bool:
    """True if ``folder`` is a model that ships inside the seqart package."""
    from seqart.models.folder import ASSETS

    try:
        Path(folder).resolve().relative_to(ASSETS.resolve())
    except ValueError:
        return False
    return True


def store_path(model: str | os.PathLike) -> Path:
    """Where the feedback store of ``model`` (shipped name, model or run folder) lives.

    Raises:
        ModelError: if ``model`` names no model.
    """
    from seqart.models.folder import resolve_model

    folder = resolve_model(model)
    if is_shipped(folder):
        return data_dir() / "feedback" / f"{folder.name}.sqlite"
    if folder.name == "model" and (folder.parent / "run.json").is_file():
        return folder.parent / STORE_NAME  # RUN/model is replaced whenever the run saves better weights
    return folder / STORE_NAME


def model_label(model: str | os.PathLike) -> str:
    """How a store names a model: the shipped name, or the model folder's absolute path."""
    from seqart.models.folder import resolve_model

    folder = resolve_model(model)
    return folder.name if is_shipped(folder) else str(folder.resolve())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_SAMPLE_BYTES:
            raise FeedbackError(f"{path}: {size / 1e6:.0f} MB is too big for a sample (at most "
                                f"{MAX_SAMPLE_BYTES >> 20} MB)")
        return path.read_bytes()
    except FileNotFoundError:
        raise FeedbackError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FeedbackError(f"{path}: is a folder, not a sample file") from None
    except OSError as exc:
        raise FeedbackError(f"{path}: cannot read ({exc.strerror or exc})") from None


# -------------------------------------------------------------------- store
class FeedbackStore:
    """Samples and ratings in one SQLite file.

    Args:
        path: the ``.sqlite`` file.
        create: create the file (and its folder) if missing; with False a missing
            store is an error.

    Attributes:
        created: True if opening it created the store (this process wrote its tables).

    Raises:
        FeedbackError: for a file that is not a feedback store, one written by a
            newer seqart, or a missing store with ``create=False``.
    """

    def __init__(self, path: str | os.PathLike, create: bool = True):
        self.path = Path(path).expanduser()
        self.created = False
        if not self.path.exists() and not create:
            raise FeedbackError(f"{self.path}: no feedback store (rate some samples first: seqart rate)")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit mode: transactions are explicit (BEGIN IMMEDIATE) in _write
            self._db = sqlite3.connect(str(self.path), timeout=TIMEOUT, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise FeedbackError(f"{self.path}: cannot open the feedback store ({exc})") from None
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def for_model(cls, model: str | os.PathLike, create: bool = True) -> "FeedbackStore":
        """The store of a shipped model name or model/run folder (see :func:`store_path`)."""
        return cls(store_path(model), create=create)

    # ------------------------------------------------------------ plumbing
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "FeedbackStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; ``BEGIN IMMEDIATE`` takes the write lock up front, so a
        read-then-write cannot deadlock with another process."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise FeedbackError(f"{self.path}: cannot write the feedback store ({exc})") from None
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise FeedbackError(f"{self.path}: cannot write the feedback store ({exc})") from None

    def _query(self, sql: str, args: Sequence = ()) -> list[tuple]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise FeedbackError(f"{self.path}: cannot read the feedback store ({exc})") from None

    def _migrate(self) -> None:
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise FeedbackError(f"{self.path}: not a feedback store ({exc})") from None
        if version == SCHEMA_VERSION:
            return
        with self._write() as db:  # checked again inside: another process may have just created it
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version > SCHEMA_VERSION:
                raise FeedbackError(f"{self.path}: feedback store version {version} is newer than this seqart "
                                    f"reads ({SCHEMA_VERSION}); upgrade seqart")
            if version == SCHEMA_VERSION:
                return
            if tables:
                raise FeedbackError(f"{self.path}: not a feedback store (it holds other tables: "
                                    f"{', '.join(sorted(tables))})")
            for statement in _SCHEMA.split(";"):  # one by one: executescript would commit on its own
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.created = True

    # ------------------------------------------------------------- samples
    def add_sample(self, path: str | os.PathLike, model: str | None = None, settings: dict | None = None) -> Sample:
        """Record a sample file (again): by content, so a known file only gets its new path.

        Args:
            path: the music file.
            model: the model that generated it (None: unknown).
            settings: its generation settings (None: unknown); they fill in unknown
                settings of an earlier record, never replace known ones.

        Returns:
            the sample as stored.

        Raises:
            FeedbackError: for a missing, unreadable or oversized file.
        """
        path = Path(path).expanduser().resolve()
        content = _read_file(path)
        digest = hashlib.sha256(content).hexdigest()
        text = json.dumps(settings, sort_keys=True, default=str) if settings is not None else None
        with self._write() as db:
            db.execute(
                "INSERT INTO samples (sha256, path, format, content, model, settings, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(sha256) DO UPDATE SET path = excluded.path, "
                "model = COALESCE(samples.model, excluded.model), "
                "settings = COALESCE(samples.settings, excluded.settings)",
                (digest, str(path), path.suffix.lower(), content, model, text, _now()),
            )
        return self.get(digest)

    def find(self, path: str | os.PathLike) -> Sample | None:
        """The sample whose content equals the file at ``path`` (wherever it was recorded), or None."""
        digest = hashlib.sha256(_read_file(Path(path).expanduser())).hexdigest()
        found = self._samples("WHERE s.sha256 = ?", (digest,))
        return found[0] if found else None

    def get(self, key: int | str) -> Sample:
        """A sample by row id or SHA-256 hex digest.

        Raises:
            FeedbackError: if there is none.
        """
        column = "s.id" if isinstance(key, int) else "s.sha256"
        found = self._samples(f"WHERE {column} = ?", (key,))
        if not found:
            raise FeedbackError(f"{self.path}: no sample {key!r}")
        return found[0]

    def samples(self) -> list[Sample]:
        """Every recorded sample, oldest first, with its latest rating."""
        return self._samples("", ())

    def liked(self) -> list[Sample]:
        """Samples whose latest rating is a like (or 4-5 stars)."""
        return [s for s in self.samples() if s.rating == 1]

    def disliked(self) -> list[Sample]:
        """Samples whose latest rating is a dislike (or 1-2 stars)."""
        return [s for s in self.samples() if s.rating == -1]

    def content(self, sample: Sample | int) -> bytes:
        """The bytes of a sample's file as recorded."""
        sid = sample.id if isinstance(sample, Sample) else int(sample)
        rows = self._query("SELECT content FROM samples WHERE id = ?", (sid,))
        if not rows:
            raise FeedbackError(f"{self.path}: no sample {sid}")
        return bytes(rows[0][0])

    def read_scores(self, sample: Sample) -> list:
        """The scores of a sample's recorded bytes (several for an ABC tune book).

        Raises:
            ScoreReadError: if the bytes are not readable music.
        """
        from seqart.score import Score

        with tempfile.TemporaryDirectory(prefix="seqart-feedback-") as tmp:
            file = Path(tmp) / (Path(sample.path).stem + sample.format)
            file.write_bytes(self.content(sample))
            scores = Score.read_all(file)
        for score in scores:
            score.source = sample.path
        return scores

    def _samples(self, where: str, args: Sequence) -> list[Sample]:
        rows = self._query(
            "SELECT s.id, s.sha256, s.path, s.format, s.model, s.settings, s.created, "
            "r.rating, r.stars, r.note, r.created FROM samples s "
            "LEFT JOIN ratings r ON r.id = (SELECT MAX(id) FROM ratings WHERE sample_id = s.id) "
            f"{where} ORDER BY s.id",
            args,
        )
        out = []
        for sid, digest, path, fmt, model, settings, created, rating, stars, note, rated in rows:
            out.append(Sample(sid, digest, path, fmt, model, json.loads(settings) if settings else None, created,
                              rating, stars, note or "", rated))
        return out

    # ------------------------------------------------------------- ratings
    def rate(self, path: str | os.PathLike, rating: str | int, note: str = "", model: str | None = None) -> Sample:
        """Rate a sample file, recording it first if the store has not seen its content.

        Args:
            path: the music file (found by content: a renamed file keeps its record).
            rating: ``"like"``, ``"dislike"`` or 1-5 stars (see :func:`parse_rating`).
            note: free text kept with the rating.
            model: the generating model, for a file not recorded before (None: unknown).

        Returns:
            the sample with its new rating.

        Raises:
            FeedbackError: for an invalid rating or an unreadable file.
        """
        preference, stars = parse_rating(rating)
        sample = self.add_sample(path, model=model)
        with self._write() as db:
            db.execute("INSERT INTO ratings (sample_id, rating, stars, note, created) VALUES (?, ?, ?, ?, ?)",
                       (sample.id, preference, stars, note, _now()))
        return self.get(sample.id)

    def remove(self, ids: Sequence[int], keep_rated: bool = True) -> int:
        """Delete samples (with their ratings) in one transaction.

        Args:
            ids: row ids of the samples.
            keep_rated: spare any of them that has a rating, even one given since
                the ids were chosen.

        Returns:
            how many samples were deleted.
        """
        spare = "AND NOT EXISTS (SELECT 1 FROM ratings WHERE sample_id = samples.id)" if keep_rated else ""
        removed = 0
        with self._write() as db:
            for sid in ids:
                removed += db.execute(f"DELETE FROM samples WHERE id = ? {spare}", (int(sid),)).rowcount
        return removed

    def stored_bytes(self, ids: Sequence[int]) -> int:
        """Bytes of the recorded files of the samples ``ids`` (what deleting them frees, roughly)."""
        total = 0
        for sid in ids:
            total += self._query("SELECT COALESCE(SUM(LENGTH(content)), 0) FROM samples WHERE id = ?", (int(sid),))[0][0]
        return total

    def vacuum(self) -> None:
        """Rewrite the file without the space of deleted rows (SQLite ``VACUUM``), so it shrinks on disk.

        Raises:
            FeedbackError: if another process keeps the store busy for :data:`TIMEOUT` seconds.
        """
        try:
            self._db.execute("VACUUM")
        except sqlite3.Error as exc:
            raise FeedbackError(f"{self.path}: cannot compact the feedback store ({exc})") from None

    def counts(self) -> dict[str, int]:
        """``{"samples", "liked", "disliked", "neutral", "unrated"}``: samples by latest rating."""
        samples = self.samples()
        by = {1: "liked", -1: "disliked", 0: "neutral", None: "unrated"}
        out = {"samples": len(samples), "liked": 0, "disliked": 0, "neutral": 0, "unrated": 0}
        for s in samples:
            out[by[s.rating]] += 1
        return out


NOTICE = ("recording samples for 'seqart rate'/'seqart tune' in {path} (--no-record or {env}=1 turns this off; "
          "'seqart store list' shows what is kept)")


@dataclass
class Recording:
    """What :func:`record_generated` did.

    Attributes:
        store: the store's path, or None if nothing was recorded.
        created: this call created the store.
        warning: why the files were not recorded, or None.
    """

    store: Path | None = None
    created: bool = False
    warning: str | None = None

    @property
    def notice(self) -> str | None:
        """The one line that says where samples go, when this call created the store; else None."""
        return NOTICE.format(path=self.store, env=NO_RECORD_ENV) if self.created else None


def record_samples(model: str | os.PathLike, paths: Sequence[str | os.PathLike], settings: dict | None = None) -> Path:
    """Record generated files in ``model``'s feedback store, for ``seqart rate`` and ``seqart tune``.

    Args:
        model: the shipped name or model folder that generated them.
        paths: the files written.
        settings: the generation settings (JSON-serialisable; None values are dropped).

    Returns:
        the store's path.

    Raises:
        FeedbackError: if the store cannot be written.
        ModelError: if ``model`` names no model.
    """
    return _record(model, paths, settings).store


def _record(model: str | os.PathLike, paths: Sequence[str | os.PathLike], settings: dict | None) -> Recording:
    label = model_label(model)
    kept = {k: (str(v) if isinstance(v, os.PathLike) else v) for k, v in (settings or {}).items() if v is not None}
    with FeedbackStore.for_model(model) as store:
        for path in paths:
            store.add_sample(path, model=label, settings=kept)
    return Recording(store.path, store.created)


def record_generated(model: str | os.PathLike, paths: Sequence[str | os.PathLike], **settings) -> Recording:
    """:func:`record_samples` for ``seqart sample``, which has written its files already
    and must not fail because of the store.

    Args:
        model: the shipped name or model folder that generated the files.
        paths: the files written.
        settings: generation settings by name (``seed=...``, ``temperature=...``; None values dropped).

    Returns:
        where they were recorded, whether the store is new (its :attr:`Recording.notice`
        is then to be shown once), or a one-line warning to print.
    """
    try:
        return _record(model, paths, settings)
    except SeqartError as exc:
        return Recording(warning=f"warning: samples not recorded for rating ({exc})")
