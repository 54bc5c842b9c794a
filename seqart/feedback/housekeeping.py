"""Housekeeping of feedback stores: find them, say what they keep, prune samples.

``seqart sample`` records every file it writes, with its bytes, in the model's
store (see :mod:`seqart.feedback.store`). Stores are found in three places:

- the data folder, ``data_dir()/feedback/NAME.sqlite`` (shipped models);
- the model or run folders named (``MODEL/feedback.sqlite``, ``RUN/feedback.sqlite``);
- under a search folder, at most :data:`SEARCH_DEPTH` folders down (hidden folders skipped).

Pruning never deletes a rated sample (liked, disliked or given stars) unless asked
to; the deletion is one transaction, re-checked against ratings given meanwhile,
and the file is compacted (``VACUUM``) after it. Nothing here imports torch.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Sequence

from seqart.feedback.store import STORE_NAME, FeedbackError, FeedbackStore, data_dir, store_path

#: How many folders below the search folder stores are looked for (the search folder itself is 0).
SEARCH_DEPTH = 3


@dataclass
class StoreInfo:
    """What one store keeps.

    Attributes:
        label: the shipped model's name, or the name of the model/run folder holding the store.
        path: the ``.sqlite`` file.
        samples: samples recorded.
        liked: samples whose latest rating is a like (or 4-5 stars).
        disliked: samples whose latest rating is a dislike (or 1-2 stars).
        rated: samples with any rating (3 stars included).
        size_bytes: the file's size on disk, in bytes.
        oldest: when the oldest sample was recorded (ISO 8601, UTC), None if there is none.
        newest: when the newest sample was recorded, None if there is none.
    """

    label: str
    path: Path
    samples: int
    liked: int
    disliked: int
    rated: int
    size_bytes: int
    oldest: str | None
    newest: str | None


@dataclass
class Pruning:
    """Samples of one store to delete (:func:`plan_prune`), then what went (:func:`prune`).

    Attributes:
        store: the ``.sqlite`` file.
        ids: row ids of the samples chosen.
        kept_rated: rated samples that matched the age limit but are kept.
        content_bytes: bytes of the chosen samples' recorded files.
        keep_rated: spare rated samples (re-checked when deleting).
        removed: samples deleted (after :func:`prune`).
        bytes_freed: how much the file shrank on disk, in bytes (after :func:`prune`).
    """

    store: Path
    ids: list[int]
    kept_rated: int
    content_bytes: int
    keep_rated: bool = True
    removed: int = 0
    bytes_freed: int = 0


# ----------------------------------------------------------------- finding
def named_stores(models: Iterable[str | os.PathLike]) -> list[Path]:
    """The stores of shipped model names, model/run folders or ``.sqlite`` files.

    Raises:
        ModelError: for a name that is no model.
        FeedbackError: for a model that has no store yet.
    """
    found = []
    for model in models:
        path = Path(model).expanduser()
        if path.is_file() and path.suffix == ".sqlite":
            found.append(path)
            continue
        store = store_path(model)
        if not store.is_file():
            raise FeedbackError(f"{model}: no feedback store yet ({store} does not exist)")
        found.append(store)
    return _unique(found)


def find_stores(models: Iterable[str | os.PathLike] = (), search: str | os.PathLike | None = None,
                depth: int = SEARCH_DEPTH) -> list[Path]:
    """Every store: the data folder's, those of ``models`` (see :func:`named_stores`) and those
    under ``search`` (None: none searched), at most ``depth`` folders down."""
    shipped = data_dir() / "feedback"
    found = sorted(shipped.glob("*.sqlite")) if shipped.is_dir() else []
    found += named_stores(models)
    if search is not None:
        found += _stores_under(Path(search), depth)
    return _unique(found)


def _stores_under(folder: Path, depth: int) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):  # symbolic links to folders are not followed
        level = len(Path(root).relative_to(folder).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if level < depth else []
        if STORE_NAME in files:
            found.append(Path(root) / STORE_NAME)
    return found


def _unique(paths: Sequence[Path]) -> list[Path]:
    seen, out = set(), []
    for path in paths:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


# ----------------------------------------------------------------- listing
def describe(path: str | os.PathLike) -> StoreInfo:
    """What the store at ``path`` keeps.

    Raises:
        FeedbackError: for a missing file or one that is not a feedback store.
    """
    path = Path(path)
    with FeedbackStore(path, create=False) as store:
        samples = store.samples()
    dates = sorted(s.created for s in samples)
    return StoreInfo(
        label=_label(path), path=path, samples=len(samples),
        liked=sum(s.rating == 1 for s in samples), disliked=sum(s.rating == -1 for s in samples),
        rated=sum(s.rating is not None for s in samples), size_bytes=_size(path),
        oldest=dates[0] if dates else None, newest=dates[-1] if dates else None,
    )


def list_stores(paths: Sequence[Path]) -> tuple[list[StoreInfo], list[str]]:
    """:func:`describe` of each store, and one line for each that cannot be read."""
    infos, problems = [], []
    for path in paths:
        try:
            infos.append(describe(path))
        except FeedbackError as exc:
            problems.append(str(exc))
    return infos, problems


def _label(path: Path) -> str:
    if path.resolve().parent == (data_dir() / "feedback").resolve():
        return path.stem  # a shipped model's store is named after it
    return path.resolve().parent.name


def _size(path: Path) -> int:
    """Bytes on disk of a store, with its write-ahead log or rollback journal if one is left."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.is_file())


# ----------------------------------------------------------------- pruning
def plan_prune(stores: Sequence[Path], older_than_days: float | None = None, keep_rated: bool = True,
               now: datetime | None = None) -> list[Pruning]:
    """Choose the samples to delete from each store; nothing is deleted here.

    Args:
        stores: the ``.sqlite`` files.
        older_than_days: only samples recorded more than this many days ago (None: any age).
        keep_rated: spare every sample that has a rating (False: rated ones go too).
        now: the time ages are measured from (default: now, UTC).

    Raises:
        FeedbackError: for a negative or non-finite ``older_than_days``, or a store that cannot be read.
    """
    if older_than_days is not None and not (math.isfinite(older_than_days) and older_than_days >= 0):
        raise FeedbackError(f"the age limit must be 0 days or more, got {older_than_days:g}")
    now = now or datetime.now(timezone.utc)
    cutoff = None if older_than_days is None else now - timedelta(days=older_than_days)
    plans = []
    for path in stores:
        with FeedbackStore(path, create=False) as store:
            aged = [s for s in store.samples() if cutoff is None or _recorded_at(s.created) < cutoff]
            chosen = [s.id for s in aged if s.rating is None or not keep_rated]
            plans.append(Pruning(Path(path), chosen, kept_rated=len(aged) - len(chosen),
                                 content_bytes=store.stored_bytes(chosen), keep_rated=keep_rated))
    return plans


def _recorded_at(created: str) -> datetime:
    """A sample's ``created`` stamp as an aware datetime (a stamp without a zone is UTC)."""
    when = datetime.fromisoformat(created)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def prune(plans: Sequence[Pruning]) -> list[Pruning]:
    """Delete the planned samples, one transaction per store, then compact each store that lost any.

    A sample rated since it was planned is spared when the plan keeps rated samples.

    Returns:
        the plans, with ``removed`` and ``bytes_freed`` filled in.

    Raises:
        FeedbackError: if a store cannot be written or compacted.
    """
    for plan in plans:
        if not plan.ids:
            continue
        before = _size(plan.store)
        with FeedbackStore(plan.store, create=False) as store:
            plan.removed = store.remove(plan.ids, keep_rated=plan.keep_rated)
            if plan.removed:
                store.vacuum()
        plan.bytes_freed = max(before - _size(plan.store), 0)
    return plans
