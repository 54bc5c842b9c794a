"""Streaming writer of a corpus folder: dedupe, split, sharded data, a journal to resume from.

:class:`CorpusWriter` takes the encoded sequences of a build one work unit at a time,
in source order, and appends each kept one to the open data shard on disk, so a
build holds only per-sequence bookkeeping in memory (index records, manifest
entries, the digests that dedupe), never the data itself.

While ``OUT`` is built, everything lives in a staging folder next to it, on the
same file system::

    .OUT.building/
        lock                      locked (flock) by the build writing here
        journal.jsonl             a header (what is being built), then one checkpoint a line
        corpus/                   the corpus being assembled
            tokens-00000.npy      closed shards
            tokens-00001.npy.part the open shard: a placeholder .npy header, rows appended
            index.npy             written at the end
            manifest.json         written at the end

A checkpoint (written when a shard closes, every :data:`CHECKPOINT_SECONDS` or
:data:`CHECKPOINT_SEQUENCES`, and on Ctrl-C) records what was added since the
previous one and where the build stands (unit ``u``, outcome ``j`` of that unit);
the open shard is fsynced before the journal line is written, so a journal never
claims data that is not on disk. An interrupted build (Ctrl-C, SIGKILL, a crash)
is resumed by replaying the journal: the closed shards are kept, the open one is
cut back to its last checkpoint, and the build carries on from that unit. The
result is the same, byte for byte, as an uninterrupted build, because shard
boundaries, dedupe and splits depend only on the sequences in source order.

At the end ``corpus/`` is renamed to ``OUT`` (an earlier corpus there is first
moved into the staging folder and deleted with it): a reader sees the old corpus
or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from array import array
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

import numpy as np

from seqart.corpora.layout import (
    FORMAT_VERSION,
    INDEX_DTYPE,
    INDEX_NAME,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    SPLITS,
    shard_name,
)
from seqart.errors import CorpusError
from seqart.utils.atomic import fsync_dir

#: Seconds between two checkpoints of a build (besides one at every shard change).
CHECKPOINT_SECONDS = 30.0
#: Sequences after which a checkpoint is written anyway (bounds the size of one journal line).
CHECKPOINT_SEQUENCES = 8192
#: Bytes of the .npy header of a shard: fixed, so it can be rewritten in place at the end.
HEADER_BYTES = 128
JOURNAL_NAME = "journal.jsonl"
_JOURNAL_VERSION = 1
_PART = ".part"


class Known(NamedTuple):
    """An encoded sequence given only by its sha256 digest: a copy of one already added
    (a unit whose content is identical to an earlier unit's)."""

    digest: bytes


def staging_folder(out: Path) -> Path:
    """The staging folder of corpus folder ``out``: ``.NAME.building`` next to it."""
    out = Path(os.path.abspath(out))
    return out.parent / f".{out.name}.building"


class CorpusWriter:
    """Writes one corpus folder from a stream of outcomes; resumable; atomic at the end.

    Use :meth:`open`; then :meth:`add_unit` for every unit from :attr:`next_unit` on, in
    source order; then :meth:`finish`, or :meth:`suspend` on an interruption (keeps the
    staging folder for a resume), or :meth:`discard` (removes it).

    Attributes:
        out: the corpus folder to write.
        kind: ``"tokens"`` or ``"frames"``.
        dtype: numpy dtype of the data shards.
        shard_items: most tokens or frames in one shard.
        next_unit: the first unit still to add (0 unless resumed).
        resumed_units: units whose outcomes were restored from the journal.
        scores: scores seen (kept, duplicated or skipped), including restored ones.
        skipped: ``{"source", "reason"}`` per dropped unit or score.
        duplicates: ``{"source", "same_as"}`` per sequence dropped as a copy.
    """

    def __init__(self, out: Path, kind: str, dtype, n_features: int, shard_items: int,
                 split: Callable[[str], int] | None, dedupe: bool):
        self.out = out
        self.kind = kind
        self.dtype = np.dtype(dtype)
        self.row_shape: tuple[int, ...] = () if kind == "tokens" else (int(n_features),)
        self.shard_items = int(shard_items)
        self._split = split
        self._split_view: Callable[[np.ndarray], np.ndarray] | None = None
        self._dedupe = dedupe
        self.staging = staging_folder(out)
        self.corpus_dir = self.staging / "corpus"
        self.next_unit = 0
        self.resumed_units = 0
        self._skip = 0  # outcomes of next_unit already in the journal
        self._pos = (0, 0)
        # per-sequence bookkeeping (the data itself is on disk)
        self._offsets = array("q")
        self._lengths = array("q")
        self._splits = array("B")
        self._shard_of = array("I")
        self._items: list[tuple[str, str]] = []
        self._seen: dict[bytes, int] = {}
        self.skipped: list[dict] = []
        self.duplicates: list[dict] = []
        self.scores = 0
        self._shards: list[dict] = []
        self._open: _ShardFile | None = None
        self._open_sequences = 0
        # what the last checkpoint covers
        self._ck = (0, 0, 0, 0)  # sequences, skipped, duplicates, scores
        self._delta_digests: list[bytes] = []
        self._last_checkpoint = time.monotonic()
        self._consistent = True
        self._journal = None
        self._lock_fd: int | None = None

    # ------------------------------------------------------------ opening
    @classmethod
    def open(cls, out: Path, kind: str, dtype, n_features: int, shard_items: int,
             split: Callable[[str], int] | None = None, dedupe: bool = True,
             fingerprint: dict | None = None, resume: bool = False,
             split_view: Callable[[np.ndarray], np.ndarray] | None = None) -> "CorpusWriter":
        """Start writing ``out``: resume the build in its staging folder when ``resume``
        is set and the journal there was written for the same ``fingerprint``, else
        start afresh (clearing any staging folder left behind).

        Args:
            out: the corpus folder to write.
            kind: ``"tokens"`` or ``"frames"``.
            dtype: dtype of the data shards (``int16``/``int32`` tokens, ``uint8`` frames).
            n_features: frame width (frames only).
            shard_items: most tokens (or frames) in one shard; at least 1.
            split: split code (0/1/2) of a kept sequence from its sha256 hex digest;
                None when every :meth:`add_unit` outcome gives its split.
            dedupe: drop sequences identical to an earlier one.
            fingerprint: JSON-able description of everything the result depends on
                (source units, tokenizer, fractions, shard size); a journal with another
                fingerprint is not resumed.
            resume: carry on from a journal left by an interrupted build, if it matches.
            split_view: what of a sequence ``split`` hashes (None: the sequence itself), e.g.
                :meth:`seqart.tokenizers.melody.MelodyTokenizer.split_view`, so that a tune
                lands in one split whatever the tokenizer's layout.

        Raises:
            CorpusError: another build holds the staging folder, or it cannot be written.
        """
        writer = cls(Path(out), kind, dtype, n_features, shard_items, split, dedupe)
        writer._split_view = split_view
        try:
            writer.staging.mkdir(parents=True, exist_ok=True)
            writer._lock()
            header = {"journal": _JOURNAL_VERSION, "fingerprint": _jsonable(fingerprint or {})}
            if not (resume and writer._restore(header)):
                writer._start_fresh(header)
        except OSError as exc:
            writer._close_files()
            raise CorpusError(f"{writer.staging}: cannot write the staging folder ({exc.strerror or exc})") from None
        except BaseException:
            writer._close_files()
            raise
        return writer

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; one build at a time is up to the user
            return
        fd = os.open(self.staging / "lock", os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise CorpusError(f"{self.out}: another build is writing it (its staging folder {self.staging} "
                              "is locked)") from None
        self._lock_fd = fd

    def _start_fresh(self, header: dict) -> None:
        if self.corpus_dir.exists():
            shutil.rmtree(self.corpus_dir)
        for stale in ("old",):  # left by a build killed while swapping folders
            if (self.staging / stale).exists():
                shutil.rmtree(self.staging / stale)
        self.corpus_dir.mkdir()
        self._journal = open(self.staging / JOURNAL_NAME, "wb")
        self._journal_line(header)

    def _restore(self, header: dict) -> bool:
        """Replay the journal, one checkpoint at a time; False (nothing restored) if there
        is none, it belongs to another build, or the files it describes are not there."""
        path = self.staging / JOURNAL_NAME
        if not self.corpus_dir.is_dir():
            return False
        try:
            with open(path, "rb") as fh:
                first = fh.readline()
                if not first.endswith(b"\n") or json.loads(first) != header:
                    return False
                good, rows = len(first), 0
                for line in fh:
                    if not line.endswith(b"\n"):  # a line cut by a kill
                        break
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        break
                    rows = self._replay(rec, rows)
                    good += len(line)
            self._recover_files(rows)
        except (KeyError, TypeError, ValueError, OSError, _Inconsistent):
            self._reset_state()
            return False
        self._ck = (len(self._items), len(self.skipped), len(self.duplicates), self.scores)
        self._journal = open(path, "r+b")
        self._journal.truncate(good)
        self._journal.seek(good)
        self.next_unit, self._skip = self._pos
        self.resumed_units = self.next_unit
        return True

    def _replay(self, rec: dict, rows: int) -> int:
        """Add the bookkeeping of one checkpoint record, given the rows of the open shard
        before it; returns them after it."""
        shard = int(rec["shard"])
        if shard != len(self._shards):
            raise _Inconsistent
        lengths, splits = rec["lengths"], rec["splits"]
        items, digests = rec["items"], rec["digests"]
        if not (len(lengths) == len(splits) == len(items)) or (self._dedupe and len(digests) != len(items)):
            raise _Inconsistent
        for k, (length, code, (source, title)) in enumerate(zip(lengths, splits, items)):
            self._offsets.append(rows)
            self._lengths.append(int(length))
            self._splits.append(int(code))
            self._shard_of.append(shard)
            if self._dedupe:
                self._seen.setdefault(bytes.fromhex(digests[k]), len(self._items))
            self._items.append((str(source), str(title)))
            rows += int(length)
        self._open_sequences += len(lengths)
        self.skipped.extend(rec["skipped"])
        self.duplicates.extend(rec["duplicates"])
        self.scores += int(rec["scores"])
        if rows != int(rec["rows"]):
            raise _Inconsistent
        if rec["closed"]:
            self._shards.append({"file": shard_name(self.kind, shard), "sequences": self._open_sequences,
                                 "items": rows})
            rows, self._open_sequences = 0, 0
        self._pos = (int(rec["pos"][0]), int(rec["pos"][1]))
        return rows

    def _recover_files(self, open_rows: int) -> None:
        """Check the closed shards, cut the open one back to ``open_rows`` rows, and
        remove whatever the journal does not account for."""
        keep = set()
        for shard in self._shards:
            path = self.corpus_dir / shard["file"]
            if path.stat().st_size != HEADER_BYTES + shard["items"] * self._row_bytes:
                raise _Inconsistent
            keep.add(shard["file"])
        name = shard_name(self.kind, len(self._shards))
        part, final = self.corpus_dir / (name + _PART), self.corpus_dir / name
        if not part.exists() and final.exists():  # killed between closing a shard and its checkpoint
            os.replace(final, part)
        if open_rows:  # (with none, whatever the .part file holds was never checkpointed)
            if not part.exists() or part.stat().st_size < HEADER_BYTES + open_rows * self._row_bytes:
                raise _Inconsistent
            self._open = _ShardFile.reopen(part, self.dtype, self.row_shape, open_rows)
            keep.add(part.name)
        for path in self.corpus_dir.iterdir():
            if path.name not in keep:
                path.unlink()

    def _reset_state(self) -> None:
        if self._open is not None:
            self._open.abandon()
        fresh = CorpusWriter(self.out, self.kind, self.dtype, self.row_shape[0] if self.row_shape else 0,
                             self.shard_items, self._split, self._dedupe)
        lock = self._lock_fd
        self.__dict__.update(fresh.__dict__)
        self._lock_fd = lock

    @property
    def _row_bytes(self) -> int:
        return self.dtype.itemsize * int(np.prod(self.row_shape, dtype=np.int64))

    # ------------------------------------------------------------- adding
    def add_unit(self, unit: int, outcomes: Iterable[tuple]) -> None:
        """Add the outcomes of unit number ``unit`` (the units must come in source order).

        Args:
            unit: the unit's position in the source (``next_unit``, then one more each call).
            outcomes: one ``(label, title, result, is_score)`` or ``(label, title, result,
                is_score, split)`` per score of the unit, where ``result`` is the encoded
                sequence (shape ``(T,)`` int32 tokens or ``(T, n_features)`` uint8 frames),
                a :class:`Known` digest, or the reason (one line) it was dropped.
        """
        if unit != self.next_unit:
            raise ValueError(f"units must come in order: expected {self.next_unit}, got {unit}")
        skip, self._skip = self._skip, 0
        self._consistent = False
        for j, outcome in enumerate(outcomes):
            if j < skip:  # recorded before the interruption
                continue
            self._pos = (unit, j)
            self._add(*outcome)
        self.next_unit = unit + 1
        self._pos = (unit + 1, 0)
        self._consistent = True
        if (time.monotonic() - self._last_checkpoint >= CHECKPOINT_SECONDS
                or len(self._items) - self._ck[0] >= CHECKPOINT_SEQUENCES):
            self.checkpoint()

    def _add(self, label: str, title: str, result, is_score: bool, split: int | None = None) -> None:
        # Nothing is recorded before a shard change: its checkpoint must not cover this outcome.
        if isinstance(result, str):
            self.scores += bool(is_score)
            self.skipped.append({"source": label, "reason": result})
            return
        if isinstance(result, Known):
            arr, digest = None, result.digest
        else:
            arr = result
            digest = hashlib.sha256(arr.tobytes()).digest() if self._dedupe or split is None else b""
        if self._dedupe and digest in self._seen:
            self.scores += bool(is_score)
            self.duplicates.append({"source": label, "same_as": self._items[self._seen[digest]][0]})
            return
        if arr is None:
            raise ValueError(f"{label}: a copy of a sequence that was never added")
        if split is None:
            if self._split is None:
                raise ValueError("no split given and no split function")
            key = digest if self._split_view is None else \
                hashlib.sha256(np.ascontiguousarray(self._split_view(arr), dtype=arr.dtype).tobytes()).digest()
            split = self._split(key.hex())
        if self._open is not None and self._open.rows and self._open.rows + len(arr) > self.shard_items:
            self._close_shard()
        self.scores += bool(is_score)
        if self._dedupe:
            self._seen[digest] = len(self._items)
        self._append(arr, int(split), label, title, digest)

    def _append(self, arr: np.ndarray, split: int, label: str, title: str, digest: bytes) -> None:
        if self._open is None:
            name = shard_name(self.kind, len(self._shards)) + _PART
            self._open = _ShardFile.create(self.corpus_dir / name, self.dtype, self.row_shape)
        self._offsets.append(self._open.rows)
        self._lengths.append(len(arr))
        self._splits.append(split)
        self._shard_of.append(len(self._shards))
        self._items.append((label, title))
        if self._dedupe:
            self._delta_digests.append(digest)
        self._open.append(arr)
        self._open_sequences += 1

    def _close_shard(self) -> None:
        name = shard_name(self.kind, len(self._shards))
        rows = self._open.rows
        self._open.close(self.corpus_dir / name)
        self._open = None
        self._shards.append({"file": name, "sequences": self._open_sequences, "items": rows})
        self._open_sequences = 0
        self._checkpoint(closed_rows=rows)

    # -------------------------------------------------------- checkpoints
    def checkpoint(self) -> None:
        """Make everything added so far survive a kill (fsync the open shard, then journal it)."""
        if self._journal is None:
            return
        if self._open is not None:
            self._open.sync()
        self._checkpoint(closed_rows=None)

    def _checkpoint(self, closed_rows: int | None) -> None:
        if self._journal is None:
            return
        n_seq, n_skip, n_dup, n_scores = self._ck
        closed = closed_rows is not None
        shard = len(self._shards) - 1 if closed else len(self._shards)
        rec = {
            "pos": list(self._pos),
            "shard": shard,
            "closed": closed,
            "rows": closed_rows if closed else (self._open.rows if self._open is not None else 0),
            "lengths": self._lengths[n_seq:].tolist(),
            "splits": self._splits[n_seq:].tolist(),
            "digests": [d.hex() for d in self._delta_digests],
            "items": self._items[n_seq:],
            "skipped": self.skipped[n_skip:],
            "duplicates": self.duplicates[n_dup:],
            "scores": self.scores - n_scores,
        }
        self._journal_line(rec)
        self._delta_digests = []
        self._ck = (len(self._items), len(self.skipped), len(self.duplicates), self.scores)
        self._last_checkpoint = time.monotonic()

    def _journal_line(self, obj: dict) -> None:
        self._journal.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
        self._journal.flush()
        os.fsync(self._journal.fileno())

    # ----------------------------------------------------------- counting
    @property
    def n_shards(self) -> int:
        """Data shards closed so far (all of them after :meth:`finish`)."""
        return len(self._shards)

    @property
    def kept(self) -> int:
        """Sequences kept so far."""
        return len(self._items)

    def split_counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """``(sequences per split, tokens or frames per split)`` of the kept sequences."""
        codes = np.frombuffer(self._splits, dtype=np.uint8) if len(self._splits) else np.zeros(0, np.uint8)
        lengths = np.frombuffer(self._lengths, dtype=np.int64) if len(self._lengths) else np.zeros(0, np.int64)
        sequences = {name: int((codes == i).sum()) for i, name in enumerate(SPLITS)}
        items = {name: int(lengths[codes == i].sum()) for i, name in enumerate(SPLITS)}
        return sequences, items

    # ------------------------------------------------------------- ending
    def finish(self, info: dict) -> dict:
        """Close the last shard, write ``index.npy`` and ``manifest.json``, and rename
        the corpus into place (replacing an earlier corpus there); removes the staging folder.

        Args:
            info: manifest fields from the builder: ``seqart_version``, ``source``,
                ``representation``, ``tokenizer`` (its dict), ``vocab`` or ``n_features``,
                ``split_method``, ``split_fractions``, ``units``.

        Returns:
            the manifest written.
        """
        if self._open is not None:
            self._close_shard()
        self._checkpoint(closed_rows=None)  # records the end position: a kill from here on only redoes this
        index = np.zeros(len(self._items), dtype=INDEX_DTYPE)
        if len(index):
            index["offset"] = np.frombuffer(self._offsets, dtype=np.int64)
            index["length"] = np.frombuffer(self._lengths, dtype=np.int64)
            index["split"] = np.frombuffer(self._splits, dtype=np.uint8)
            index["shard"] = np.frombuffer(self._shard_of, dtype=np.uint32)
        sequences, items = self.split_counts()
        manifest = {
            "format": MANIFEST_FORMAT,
            "format_version": FORMAT_VERSION,
            "seqart_version": info["seqart_version"],
            "source": info["source"],
            "representation": info["representation"],
            "kind": self.kind,
            "dtype": self.dtype.name,
            "shard_items": self.shard_items,
            "shards": self._shards,
            "tokenizer": info["tokenizer"],
        }
        if self.kind == "tokens":
            manifest["vocab"] = info["vocab"]
        else:
            manifest["n_features"] = int(self.row_shape[0])
        manifest["split_method"] = info["split_method"]
        manifest["split_fractions"] = info["split_fractions"]
        manifest["counts"] = {
            "units": info["units"],
            "scores": self.scores,
            "kept": self.kept,
            "duplicates": len(self.duplicates),
            "skipped": len(self.skipped),
            "sequences": sequences,
            self.kind: items,
        }
        splits = self._splits
        manifest["items"] = ({"source": s, "title": t, "split": SPLITS[splits[i]]}
                             for i, (s, t) in enumerate(self._items))
        manifest["skipped"] = self.skipped
        manifest["duplicates"] = self.duplicates
        with open(self.corpus_dir / INDEX_NAME, "wb") as fh:
            np.save(fh, index)
            fh.flush()
            os.fsync(fh.fileno())
        with open(self.corpus_dir / MANIFEST_NAME, "w", encoding="utf-8") as fh:
            write_manifest(fh, manifest)
            fh.flush()
            os.fsync(fh.fileno())
        self._close_files(release=False)  # the lock is held until the folder is in place
        self._swap_into_place()
        manifest["items"] = None  # the generator is spent
        return manifest

    def _swap_into_place(self) -> None:
        out = self.out
        out.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(out):
            old = self.staging / "old"
            if old.exists():  # left by an earlier attempt killed while swapping
                shutil.rmtree(old)
            os.replace(out, old)
        os.replace(self.corpus_dir, out)
        fsync_dir(out.parent)
        shutil.rmtree(self.staging, ignore_errors=True)
        self._release()

    def suspend(self) -> None:
        """After an interruption: checkpoint what is complete and keep the staging folder
        for a resume."""
        try:
            if self._consistent and self._journal is not None:
                self.checkpoint()
        finally:
            self._close_files()

    def discard(self) -> None:
        """Give up this build: remove the staging folder (an earlier corpus in ``out`` stays)."""
        self._close_files()
        shutil.rmtree(self.staging, ignore_errors=True)

    def _close_files(self, release: bool = True) -> None:
        if self._open is not None:
            self._open.abandon()
            self._open = None
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if release:
            self._release()

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None


class _Inconsistent(Exception):
    """The journal and the files in the staging folder do not agree."""


class _ShardFile:
    """A data shard being written: a ``.npy`` file whose fixed-size header is rewritten
    with the final shape when it is closed.

    Args:
        path: the ``.part`` file.
        dtype: element dtype.
        row_shape: shape of one item (``()`` for tokens, ``(n_features,)`` for frames).
        rows: items already in the file.
    """

    def __init__(self, path: Path, dtype: np.dtype, row_shape: tuple[int, ...], fh, rows: int):
        self.path = path
        self.dtype = dtype
        self.row_shape = row_shape
        self.rows = rows
        self._fh = fh

    @classmethod
    def create(cls, path: Path, dtype: np.dtype, row_shape: tuple[int, ...]) -> "_ShardFile":
        fh = open(path, "wb")
        fh.write(npy_header(dtype, (0, *row_shape)))
        return cls(path, dtype, row_shape, fh, 0)

    @classmethod
    def reopen(cls, path: Path, dtype: np.dtype, row_shape: tuple[int, ...], rows: int) -> "_ShardFile":
        """Open a ``.part`` file left by an interrupted build, cut back to ``rows`` items."""
        fh = open(path, "r+b")
        row_bytes = dtype.itemsize * int(np.prod(row_shape, dtype=np.int64))
        fh.truncate(HEADER_BYTES + rows * row_bytes)
        fh.seek(0, os.SEEK_END)
        return cls(path, dtype, row_shape, fh, rows)

    def append(self, arr: np.ndarray) -> None:
        self._fh.write(np.ascontiguousarray(arr, dtype=self.dtype).tobytes())
        self.rows += len(arr)

    def sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self, final: Path) -> None:
        """Write the real header, fsync, and rename to ``final``."""
        self._fh.seek(0)
        self._fh.write(npy_header(self.dtype, (self.rows, *self.row_shape)))
        self.sync()
        self._fh.close()
        os.replace(self.path, final)

    def abandon(self) -> None:
        """Close without finishing (the ``.part`` file stays for a resume)."""
        self._fh.close()


def npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    """A ``.npy`` format 1.0 header of exactly :data:`HEADER_BYTES` bytes for a C-order
    array of ``dtype`` and ``shape`` (the dict padded with spaces, as numpy pads it)."""
    fields = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": tuple(shape)}
    text = "{" + "".join(f"'{k}': {v!r}, " for k, v in sorted(fields.items())) + "}"
    room = HEADER_BYTES - 10 - 1  # magic (6), version (2), length (2); the closing newline
    if len(text) > room:
        raise ValueError(f"shape {shape} does not fit a {HEADER_BYTES}-byte .npy header")
    body = (text + " " * (room - len(text)) + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + (len(body)).to_bytes(2, "little") + body


def write_manifest(fh, manifest: dict) -> None:
    """Write ``manifest`` as JSON with one line per top-level field and one per list
    entry (``items``, ``skipped``, ...): easy to read, grep and diff. A field may be
    an iterator of dicts (written as it is consumed)."""
    fh.write("{\n")
    for n, (key, value) in enumerate(manifest.items()):
        fh.write(",\n" if n else "")
        fh.write(f" {json.dumps(key)}: ")
        if not isinstance(value, (list, dict, str, int, float, bool, type(None))):
            value = iter(value)
            first = next(value, None)
            if first is None:
                fh.write("[]")
                continue
            rows: Iterable = _chain(first, value)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows = value
        else:
            fh.write(json.dumps(value, ensure_ascii=False))
            continue
        fh.write("[\n")
        for i, row in enumerate(rows):
            fh.write((",\n  " if i else "  ") + json.dumps(row, ensure_ascii=False))
        fh.write("\n ]")
    fh.write("\n}\n")


def _chain(first, rest):
    yield first
    yield from rest


def _jsonable(obj):
    """``obj`` as it reads back from JSON (tuples become lists), to compare with a journal."""
    return json.loads(json.dumps(obj, ensure_ascii=False))
