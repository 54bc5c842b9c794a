"""Build a training corpus folder from a source: parse, encode, dedupe, split, write.

The steps of :func:`build_corpus`:

1. resolve the source (a built-in name, a folder, a music file or a benchmark
   ``.mat`` file) and cut it into work units (one per ABC tune, one per other file);
2. take each unit's parse from the cache, or parse it in a worker process
   (results are cached; a unit that fails, or takes longer than the time limit,
   is skipped with its reason);
3. validate and encode every score with the tokenizer of the chosen
   representation (the melody tokenizer reduces to one line itself);
4. drop exact duplicates (same encoded array; the first in source order stays);
5. split by content hash (stable across rebuilds, machines and worker counts);
6. write ``tokens.npy``/``frames.npy``, ``index.npy`` and ``manifest.json``
   atomically (see :mod:`seqart.corpora.layout`).

The result depends only on the source content, the representation and the
tokenizer config: not on the number of workers, the order in which workers
finish, or what was cached.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from seqart.corpora import sources
from seqart.corpora.cache import ScoreCache
from seqart.corpora.layout import (
    DATA_NAMES,
    FORMAT_VERSION,
    INDEX_DTYPE,
    INDEX_NAME,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    SPLITS,
)
from seqart.corpora.registry import ResolvedSource, resolve_source
from seqart.corpora.sources import Unit
from seqart.errors import CorpusError, ScoreError, TokenizerError
from seqart.score import READ_TIME_LIMIT

#: Frame resolution of the standard benchmark files (SOURCES.md): steps per quarter note.
BENCHMARK_STEPS_PER_BEAT = {"jsb_chorales": 1, "nottingham": 2, "musedata": 2, "piano_midi": 2}

_CRASH_REASON = "the parser crashed (its worker process died)"


@dataclass
class BuildReport:
    """What :func:`build_corpus` did.

    Attributes:
        out_dir: the corpus folder written.
        source: the source as resolved (built-in name or absolute path).
        representation: tokenizer name (``"melody"``, ``"events"``, ``"pianoroll"``).
        kind: ``"tokens"`` or ``"frames"``.
        units: work units (ABC tunes, files, or benchmark sequences).
        scores: scores parsed from those units.
        kept: sequences written.
        duplicates: sequences dropped as exact copies of an earlier one.
        skipped: ``{"source": label, "reason": one line}`` per unit or score dropped.
        sequences: kept sequences per split (``{"train": n, "valid": n, "test": n}``).
        items: tokens (kind ``"tokens"``) or frames (kind ``"frames"``) per split.
        cache_hits: units whose parse came from the cache.
        parsed: units parsed in this build (0 when everything was cached).
        seconds: wall-clock time of the whole build.
    """

    out_dir: Path
    source: str
    representation: str
    kind: str
    units: int = 0
    scores: int = 0
    kept: int = 0
    duplicates: int = 0
    skipped: list[dict] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    cache_hits: int = 0
    parsed: int = 0
    seconds: float = 0.0

    @property
    def manifest_path(self) -> Path:
        """``out_dir / "manifest.json"`` (it also lists every skipped unit)."""
        return self.out_dir / MANIFEST_NAME

    def skip_reasons(self) -> list[tuple[str, int]]:
        """Skip reasons grouped by their leading words (details in parentheses dropped),
        most frequent first."""
        counts = Counter(s["reason"].split(" (")[0] for s in self.skipped)
        return counts.most_common()


# ------------------------------------------------------------------------ API
def build_corpus(
    source: str | Path,
    out_dir: str | Path,
    representation: str = "melody",
    tokenizer_config: dict | None = None,
    workers: int | None = None,
    valid_fraction: float = 0.05,
    test_fraction: float = 0.05,
    use_cache: bool = True,
    progress: bool = True,
    limit: int | None = None,
    time_limit: float | None = READ_TIME_LIMIT,
) -> BuildReport:
    """Parse, encode, dedupe and split a source into a corpus folder.

    Args:
        source: a built-in corpus name (see :data:`seqart.corpora.BUILTINS`), a folder
            (scanned recursively), a music file, or a polyphonic benchmark ``.mat``.
        out_dir: the folder to write; created if needed. An earlier corpus there is
            replaced; any other non-empty folder is refused.
        representation: tokenizer name; ``.mat`` sources need ``"pianoroll"``.
        tokenizer_config: tokenizer config overrides (e.g. ``{"steps_per_beat": 2}``).
        workers: parser processes (default ``os.cpu_count()``; 1 parses in this process).
            Workers are started with ``spawn``: a script that builds with more than
            one worker must do so under ``if __name__ == "__main__":``.
        valid_fraction: share of distinct sequences put in the valid split, by hash.
        test_fraction: share put in the test split, by hash.
        use_cache: read and write the parse cache (see :mod:`seqart.corpora.cache`).
        progress: show a progress bar on stderr.
        limit: use only the first ``limit`` units (ABC tunes or files) in source
            order; for a ``.mat`` source, the first ``limit`` sequences of each split.
        time_limit: seconds one unit may take to parse before it is skipped (None or
            0: no limit). Enforced in worker processes, and with one worker only when
            called from the main thread.

    Returns:
        a :class:`BuildReport`.

    Raises:
        CorpusError: unknown source, bad fractions, ``out_dir`` not a corpus folder,
            a ``.mat`` source with another representation, or nothing usable left.
        TokenizerError: unknown representation or tokenizer option.
    """
    started = time.perf_counter()
    if not (0 <= valid_fraction < 1 and 0 <= test_fraction < 1 and valid_fraction + test_fraction < 1):
        raise CorpusError(
            f"valid fraction {valid_fraction:g} and test fraction {test_fraction:g} must be >= 0 and sum to less than 1"
        )
    if limit is not None and limit < 1:
        raise CorpusError(f"limit must be at least 1, got {limit}")
    if workers is not None and workers < 1:
        raise CorpusError(f"workers must be at least 1, got {workers}")
    if time_limit is not None and not time_limit >= 0:
        raise CorpusError(f"time limit must be >= 0 seconds (0: none), got {time_limit}")
    out = Path(out_dir).expanduser()
    check_out_dir(out)
    resolved = resolve_source(source)
    config = dict(tokenizer_config or {})
    if resolved.kind == "mat":
        report = _build_benchmark(resolved, out, representation, config, limit)
    else:
        from seqart.tokenizers import get_tokenizer

        try:
            tokenizer = get_tokenizer(representation, **config)
        except TypeError as exc:  # e.g. --set min_pitch=x: a value of the wrong type
            raise TokenizerError(f"invalid {representation} tokenizer option ({exc})") from None
        report = _build_scores(resolved, out, representation, tokenizer, workers, valid_fraction,
                               test_fraction, use_cache, progress, limit, time_limit)
    report.seconds = time.perf_counter() - started
    return report


def check_out_dir(out: Path) -> None:
    """Refuse to write into anything but a new folder, an empty one or an earlier corpus.

    Raises:
        CorpusError: if ``out`` is a file, or a non-empty folder without a seqart manifest.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise CorpusError(f"{out}: exists and is not a folder")
    entries = [p for p in out.iterdir() if not (p.name.startswith(".") and p.name.endswith(".tmp"))]
    if not entries:
        return
    try:
        manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
        ok = isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT
    except (OSError, ValueError):
        ok = False
    if not ok:
        raise CorpusError(
            f"{out}: folder is not empty and holds no seqart corpus (no seqart manifest.json); "
            "choose a new or empty folder"
        )


def split_of(digest: str, valid_fraction: float, test_fraction: float) -> int:
    """Split code (0 train, 1 valid, 2 test) of a sequence from its sha256 hex digest.

    The bucket ``int(digest[:8], 16) / 2**32`` is uniform in [0, 1): below
    ``test_fraction`` is test, below ``test_fraction + valid_fraction`` valid.
    """
    bucket = int(digest[:8], 16) / 2**32
    if bucket < test_fraction:
        return 2
    if bucket < test_fraction + valid_fraction:
        return 1
    return 0


# ------------------------------------------------------------- score sources
def _build_scores(resolved: ResolvedSource, out: Path, representation: str, tokenizer, workers: int | None,
                  valid_fraction: float, test_fraction: float, use_cache: bool, progress: bool,
                  limit: int | None, time_limit: float | None) -> BuildReport:
    units = sources.expand_units(resolved)
    if limit is not None:
        units = units[:limit]
    report = BuildReport(out, resolved.name, representation, tokenizer.kind, units=len(units))
    cache = ScoreCache() if use_cache else None
    # Each unit is encoded as soon as its parse arrives (in whatever order workers
    # finish), so only the compact arrays are held, not every parsed score;
    # dedupe and split then run in source order.
    outcomes: list[list[tuple]] = [[] for _ in units]

    def consume(i: int, payload: dict) -> None:
        outcomes[i] = _encode_payload(units[i], payload, tokenizer)

    bar = _Progress(progress)
    try:
        _parse_all(units, workers or os.cpu_count() or 1, cache, bar, report, consume, time_limit)
    finally:
        bar.close()

    arrays: list[np.ndarray] = []
    entries: list[dict] = []
    splits: list[int] = []
    duplicates: list[dict] = []
    seen: dict[str, str] = {}
    for outcome in outcomes:
        for label, title, result, is_score in outcome:
            report.scores += is_score
            if isinstance(result, str):
                report.skipped.append({"source": label, "reason": result})
                continue
            digest = hashlib.sha256(result.tobytes()).hexdigest()
            if digest in seen:
                duplicates.append({"source": label, "same_as": seen[digest]})
                continue
            seen[digest] = label
            arrays.append(result)
            splits.append(split_of(digest, valid_fraction, test_fraction))
            entries.append({"source": label, "title": title})
    report.duplicates = len(duplicates)
    if not arrays:
        _raise_nothing_usable(resolved, report)
    extra = {
        "split_method": "content-hash",
        "split_fractions": {"valid": valid_fraction, "test": test_fraction},
        "duplicates": duplicates,
    }
    _write_corpus(out, report, tokenizer, arrays, splits, entries, extra)
    return report


def _encode_payload(unit: Unit, payload: dict, tokenizer) -> list[tuple]:
    """Validate and encode the scores of one unit's payload.

    Returns:
        one ``(label, title, array or skip reason, is_score)`` per score, or one
        ``(label, "", reason, False)`` if the unit could not be parsed.
    """
    from seqart.score import Score

    if "error" in payload:
        return [(unit.label, "", payload["error"], False)]
    dicts = payload["scores"]
    out = []
    for j, data in enumerate(dicts):
        label = unit.label if len(dicts) == 1 else f"{unit.label}#{j + 1}"
        try:
            score = Score.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:  # a damaged cache entry
            out.append((label, "", f"unreadable parse result ({type(exc).__name__}: {exc})", True))
            continue
        score.source = label  # a cached entry may come from an identical file elsewhere
        try:
            score.validate()
            arr = _normalize(tokenizer.encode(score), tokenizer)
        except (ScoreError, TokenizerError) as exc:
            out.append((label, score.title, str(exc), True))
            continue
        if len(arr) == 0:
            out.append((label, score.title, "nothing left after encoding", True))
        else:
            out.append((label, score.title, arr, True))
    return out


def _normalize(arr, tokenizer) -> np.ndarray:
    """Encoder output as a contiguous int32 (tokens) or uint8 (frames) array."""
    arr = np.asarray(arr)
    if tokenizer.kind == "frames":
        if arr.ndim != 2 or arr.shape[1] != tokenizer.n_features:
            raise TokenizerError(f"{tokenizer.name} tokenizer returned frames of shape {arr.shape}")
        return np.ascontiguousarray(arr, dtype=np.uint8)
    if arr.ndim != 1:
        raise TokenizerError(f"{tokenizer.name} tokenizer returned tokens of shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int32)


def _raise_nothing_usable(resolved: ResolvedSource, report: BuildReport) -> None:
    first = report.skipped[0]["reason"] if report.skipped else "every score duplicated an earlier one"
    raise CorpusError(
        f"no usable music in {resolved.name}: {len(report.skipped)} of {report.units} "
        f"{'files' if resolved.kind != 'builtin' else 'units'} skipped (first reason: {first})"
    )


# ----------------------------------------------------------- benchmark .mat
def _build_benchmark(resolved: ResolvedSource, out: Path, representation: str, config: dict,
                     limit: int | None) -> BuildReport:
    """A ``.mat`` benchmark keeps its standard splits: no hashing, no dedupe."""
    from dataclasses import fields

    from seqart.corpora.dataset import load_polyphonic_benchmark
    from seqart.tokenizers import tokenizer_class

    path = resolved.files[0]
    if representation != "pianoroll":
        raise CorpusError(
            f"{path.name} holds 88-key piano rolls: build it with --representation pianoroll, not {representation}"
        )
    cls = tokenizer_class(representation)
    known = {f.name for f in fields(cls.config_class)}
    steps = BENCHMARK_STEPS_PER_BEAT.get(path.stem.lower())
    if steps is not None and "steps_per_beat" in known and "steps_per_beat" not in config:
        config["steps_per_beat"] = steps
    tokenizer = cls(**config)
    if tokenizer.n_features != 88 or getattr(tokenizer.config, "low", 21) != 21:
        raise CorpusError(
            f"{path.name} has 88 columns (MIDI 21-108) but the pianoroll tokenizer makes {tokenizer.n_features}; "
            "use its default pitch range"
        )
    data = load_polyphonic_benchmark(path)
    report = BuildReport(out, resolved.name, representation, "frames")
    arrays, splits, entries = [], [], []
    for code, name in enumerate(SPLITS):
        seqs = data[name][:limit] if limit is not None else data[name]
        for i, seq in enumerate(seqs):
            arrays.append(np.ascontiguousarray(seq, dtype=np.uint8))
            splits.append(code)
            entries.append({"source": f"{path.name}:{name}/{i}", "title": ""})
    report.units = report.scores = len(arrays)
    if not arrays:
        _raise_nothing_usable(resolved, report)
    extra = {"split_method": "standard", "split_fractions": None, "duplicates": []}
    _write_corpus(out, report, tokenizer, arrays, splits, entries, extra)
    return report


# ------------------------------------------------------------------ writing
def _write_corpus(out: Path, report: BuildReport, tokenizer, arrays: list[np.ndarray], splits: list[int],
                  entries: list[dict], extra: dict) -> None:
    """Write data, index and manifest (in that order, each atomically) and fill in the report."""
    from seqart import __version__
    from seqart.utils.atomic import atomic_path

    kind = tokenizer.kind
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    index = np.zeros(len(arrays), dtype=INDEX_DTYPE)
    index["length"] = lengths
    index["offset"] = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(arrays) else []
    index["split"] = splits
    if kind == "tokens":
        dtype = np.int16 if tokenizer.vocab_size < 32768 else np.int32
        data = np.concatenate(arrays).astype(dtype, copy=False)
    else:
        data = np.concatenate(arrays, axis=0).astype(np.uint8, copy=False)
    codes = np.asarray(splits, dtype=np.int64)
    report.kept = len(arrays)
    report.sequences = {name: int((codes == i).sum()) for i, name in enumerate(SPLITS)}
    report.items = {name: int(lengths[codes == i].sum()) for i, name in enumerate(SPLITS)}
    for entry, code in zip(entries, splits):
        entry["split"] = SPLITS[code]

    manifest = {
        "format": MANIFEST_FORMAT,
        "format_version": FORMAT_VERSION,
        "seqart_version": __version__,
        "source": report.source,
        "representation": report.representation,
        "kind": kind,
        "data_file": DATA_NAMES[kind],
        "dtype": np.dtype(data.dtype).name,
        "tokenizer": tokenizer.to_dict(),
    }
    if kind == "tokens":
        manifest["vocab"] = list(tokenizer.vocab)
    else:
        manifest["n_features"] = int(tokenizer.n_features)
    manifest["split_method"] = extra["split_method"]
    manifest["split_fractions"] = extra["split_fractions"]
    manifest["counts"] = {
        "units": report.units,
        "scores": report.scores,
        "kept": report.kept,
        "duplicates": report.duplicates,
        "skipped": len(report.skipped),
        "sequences": report.sequences,
        kind: report.items,
    }
    manifest["items"] = entries
    manifest["skipped"] = report.skipped
    manifest["duplicates"] = extra["duplicates"]

    out.mkdir(parents=True, exist_ok=True)
    for name, array in ((DATA_NAMES[kind], data), (INDEX_NAME, index)):
        with atomic_path(out / name) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, array)
    with atomic_path(out / MANIFEST_NAME) as tmp:
        tmp.write_text(_manifest_json(manifest), encoding="utf-8")
    for other_kind, name in DATA_NAMES.items():  # a rebuild with another kind leaves no stale data
        if other_kind != kind:
            (out / name).unlink(missing_ok=True)


def _manifest_json(manifest: dict) -> str:
    """The manifest as JSON with one line per top-level field and one per list entry
    (``items``, ``skipped``): easy to read, grep and diff."""
    lines = []
    for key, value in manifest.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            body = ",\n".join("  " + json.dumps(v, ensure_ascii=False) for v in value)
            text = "[\n" + body + "\n ]"
        else:
            text = json.dumps(value, ensure_ascii=False)
        lines.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


# ------------------------------------------------------------------ parsing
def _parse_chunk(units: list[Unit], cache_root: str | None, time_limit: float | None = None) -> list[dict]:
    """Worker entry point: parse each unit, store cacheable results, return the payloads."""
    cache = ScoreCache(cache_root) if cache_root is not None else None
    payloads = []
    for unit in units:
        payload, cacheable = sources.parse_unit(unit, time_limit)
        if cache is not None and cacheable:
            cache.put(unit.key, payload)
        payloads.append(payload)
    return payloads


def _parse_all(units: list[Unit], workers: int, cache: ScoreCache | None, bar: "_Progress",
               report: BuildReport, consume: Callable[[int, dict], None], time_limit: float | None = None) -> None:
    """Hand ``consume(i, payload)`` the parse payload of every unit ``units[i]``,
    from the cache or parsed, in completion order.

    Units with the same key (identical tunes or files) are parsed once.
    """
    task = bar.add("parsing", len(units), "units")
    by_key: dict[str, list[int]] = {}
    for i, unit in enumerate(units):
        if unit.error is not None:
            consume(i, {"error": unit.error})
            bar.advance(task)
        else:
            by_key.setdefault(unit.key, []).append(i)
    todo: list[Unit] = []
    for key, idxs in by_key.items():
        hit = cache.get(key) if cache is not None else None
        if hit is None:
            todo.append(units[idxs[0]])
            continue
        for i in idxs:
            consume(i, hit)
        report.cache_hits += len(idxs)
        bar.advance(task, len(idxs))

    def store(unit: Unit, payload: dict) -> None:
        idxs = by_key[unit.key]
        for i in idxs:
            consume(i, payload)
        report.parsed += len(idxs)
        bar.advance(task, len(idxs))

    cache_root = str(cache.root) if cache is not None else None
    if workers <= 1 or len(todo) <= 1:
        for unit in todo:
            store(unit, _parse_chunk([unit], cache_root, time_limit)[0])
    else:
        _parse_parallel(todo, min(workers, len(todo)), cache_root, store, time_limit)


def _parse_parallel(todo: list[Unit], workers: int, cache_root: str | None,
                    store: Callable[[Unit, dict], None], time_limit: float | None = None) -> None:
    """Parse ``todo`` in worker processes, surviving worker crashes.

    Units go out in chunks (a few dozen units each, so a 12,000-unit build costs
    a few hundred round trips), at most ``2 * workers`` chunks in flight. When a
    worker dies (a segfault in a parser, the OOM killer), every chunk in flight
    fails; those chunks are retried one unit per task in a fresh pool, and units
    that fail again are run alone, where a crash pins the culprit, which is
    skipped with a reason.
    """
    size = max(1, min(32, math.ceil(len(todo) / (workers * 8))))
    tasks = [todo[i:i + size] for i in range(0, len(todo), size)]
    suspects = _run_pool(tasks, workers, 2 * workers, cache_root, store, time_limit)
    if suspects:
        singles = [[u] for task in suspects for u in task]
        suspects = _run_pool(singles, workers, workers, cache_root, store, time_limit)
    if suspects:
        culprits = _run_pool([[u] for task in suspects for u in task], 1, 1, cache_root, store, time_limit)
        for task in culprits:
            for unit in task:
                store(unit, {"error": _CRASH_REASON})


def _run_pool(tasks: list[list[Unit]], workers: int, window: int, cache_root: str | None,
              store: Callable[[Unit, dict], None], time_limit: float | None = None) -> list[list[Unit]]:
    """Run tasks in a process pool with at most ``window`` in flight.

    Returns:
        the tasks that were in flight when a worker died (each break restarts the
        pool for the tasks not yet submitted).
    """
    pending = deque(tasks)
    broken: list[list[Unit]] = []
    context = multiprocessing.get_context("spawn")  # no fork under rich's refresh thread
    while pending:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        inflight: dict = {}
        pool_broken = False
        try:
            while pending or inflight:
                while pending and not pool_broken and len(inflight) < window:
                    task = pending.popleft()
                    inflight[pool.submit(_parse_chunk, task, cache_root, time_limit)] = task
                if not inflight:
                    break
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for future in done:
                    task = inflight.pop(future)
                    try:
                        results = future.result()
                    except BrokenProcessPool:
                        pool_broken = True
                        broken.append(task)
                        continue
                    except Exception as exc:  # e.g. a payload that does not pickle
                        msg = " ".join(str(exc).split())[:160]
                        results = [{"error": f"unexpected {type(exc).__name__} in a worker ({msg})"}] * len(task)
                    for unit, payload in zip(task, results):
                        store(unit, payload)
            pool.shutdown(wait=True)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return broken


# ----------------------------------------------------------------- progress
class _Progress:
    """A rich progress bar on stderr with a rate column, or nothing when disabled."""

    def __init__(self, enabled: bool):
        self._progress = None
        if enabled:
            import sys

            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), _rate_column(),
                TimeElapsedColumn(), console=Console(file=sys.stderr), transient=False,
            )
            self._progress.start()

    def add(self, description: str, total: int, unit: str):
        if self._progress is None:
            return None
        return self._progress.add_task(description, total=total, unit=unit)

    def advance(self, task, n: int = 1) -> None:
        if self._progress is not None and task is not None:
            self._progress.advance(task, n)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _rate_column():
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Items per second, e.g. ``120 units/s``."""

        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            unit = task.fields.get("unit", "items")
            return Text(f"{speed:,.0f} {unit}/s" if speed else f"- {unit}/s", style="progress.data.speed")

    return RateColumn()
