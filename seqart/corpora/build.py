"""Build a training corpus folder from a source: parse, encode, dedupe, split, write.

The steps of :func:`build_corpus`:

1. resolve the source (a built-in name, a folder, a music file or a benchmark
   ``.mat`` file) and cut it into work units (one per ABC tune, one per other file);
2. take each unit's parse from the cache, or parse it in a worker process
   (results are cached; a unit that fails, or takes longer than the time limit,
   is skipped with its reason);
3. validate and encode every score with the tokenizer of the chosen
   representation (the melody tokenizer reduces to one line itself); a score
   without a style first gets its recipe's style for its file name (the recipe's
   ``styles``, see :mod:`seqart.corpora.recipes`);
4. drop exact duplicates (same encoded array; the first in source order stays);
5. split by content hash (stable across rebuilds, machines and worker counts);
6. append each kept sequence to the open data shard on disk, then write
   ``index.npy`` and ``manifest.json`` and rename the folder into place (see
   :mod:`seqart.corpora.layout` and :mod:`seqart.corpora.writer`).

The build streams: parse results are encoded as they arrive and handed to the
writer in source order, so memory holds a bounded window of encoded units plus
per-sequence bookkeeping (index records, manifest entries, dedupe digests), not
the corpus. An interrupted build (Ctrl-C, a kill) leaves a journal in its staging
folder, and the same call carries on from its last checkpoint.

The result depends only on the source content, the read options (``expand_repeats``),
the representation, the tokenizer config and the shard size: not on the number of workers, the order in which
workers finish, what was cached, or whether the build was interrupted and resumed.
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
from contextlib import closing
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Union

import numpy as np

from seqart.corpora import sources
from seqart.corpora.cache import ScoreCache
from seqart.corpora.layout import FORMAT_VERSION, MANIFEST_FORMAT, MANIFEST_NAME, SPLITS, default_shard_items
from seqart.corpora.recipes import build_settings
from seqart.corpora.registry import ResolvedSource, resolve_source
from seqart.corpora.sources import Unit
from seqart.corpora.writer import CorpusWriter, Known
from seqart.errors import CorpusError, ScoreError, TokenizerError, one_line
from seqart.score import READ_TIME_LIMIT

#: Frame resolution of the standard benchmark files (SOURCES.md): steps per quarter note.
BENCHMARK_STEPS_PER_BEAT = {"jsb_chorales": 1, "nottingham": 2, "musedata": 2, "piano_midi": 2}

_CRASH_REASON = "the parser crashed (its worker process died)"

#: Units whose encoded result may wait in memory for an earlier, slower unit (source order).
AHEAD_UNITS = 2048
#: Bytes of encoded results that may wait so.
AHEAD_BYTES = 64 << 20
#: With the parse cache on, workers may parse this far ahead of the writer: results
#: beyond the window above are left in the cache and read back in their turn.
SPILL_UNITS = 65536

#: ``progress`` argument of :func:`build_corpus`: a bar on stderr, or a callback
#: ``(units done, units in all)`` called after each unit.
ProgressArg = Union[bool, Callable[[int, int], None]]


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
        resumed_units: units taken over from an interrupted build (its journal),
            neither parsed nor read from the cache again.
        shards: data files written.
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
    resumed_units: int = 0
    shards: int = 0
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
    out_dir: str | Path | None = None,
    representation: str | None = None,
    tokenizer_config: dict | None = None,
    workers: int | None = None,
    valid_fraction: float | None = None,
    test_fraction: float | None = None,
    use_cache: bool = True,
    progress: ProgressArg = True,
    limit: int | None = None,
    time_limit: float | None = READ_TIME_LIMIT,
    shard_items: int | None = None,
    resume: bool = True,
    expand_repeats: bool = False,
) -> BuildReport:
    """Parse, encode, dedupe and split a source into a corpus folder.

    ``representation``, ``tokenizer_config`` and the split fractions left at None
    come from the recipe of a built-in corpus (:mod:`seqart.corpora.recipes`), else
    are ``"melody"``, no tokenizer settings and 5 % / 5 %; the manifest records what
    was used.

    Args:
        source: a built-in corpus name (see :data:`seqart.corpora.BUILTINS`), a folder
            (scanned recursively), a music file, or a polyphonic benchmark ``.mat``.
        out_dir: the folder to write; created if needed. An earlier corpus there is
            replaced (at the end, in one rename); any other non-empty folder is refused.
            None: ``corpora/built/NAME`` (relative to the current folder) for a built-in
            corpus NAME; any other source needs one.
        representation: tokenizer name; ``.mat`` sources need ``"pianoroll"`` (frames as
            they are) or ``"events"`` (each roll read as a score: Nottingham as melody
            and chord tracks, the others as one piano track; see
            :mod:`seqart.corpora.benchmark_tracks`).
        tokenizer_config: tokenizer config overrides (e.g. ``{"steps_per_beat": 2}``).
        workers: parser processes (default ``os.cpu_count()``; 1 parses in this process).
            Workers are started with ``spawn``: a script that builds with more than
            one worker must do so under ``if __name__ == "__main__":``.
        valid_fraction: share of distinct sequences put in the valid split, by hash.
        test_fraction: share put in the test split, by hash.
        use_cache: read and write the parse cache (see :mod:`seqart.corpora.cache`).
        progress: show a progress bar on stderr (True), nothing (False), or call
            ``progress(units_done, units_total)`` after each unit, in source order; the
            callback may raise (e.g. ``KeyboardInterrupt``) to stop the build, which a
            later call then resumes.
        limit: use only the first ``limit`` units (ABC tunes or files) in source
            order; for a ``.mat`` source, the first ``limit`` sequences of each split.
        time_limit: seconds one unit may take to parse before it is skipped (None or
            0: no limit). Enforced in worker processes, and with one worker only when
            called from the main thread.
        shard_items: most tokens (or frames) in one data file (default
            :func:`seqart.corpora.layout.default_shard_items`: 16,777,216 tokens, or
            1 GiB of frames); part of the result, like the tokenizer config.
        resume: carry on from the staging folder of an interrupted build of the same
            source, settings and ``out_dir`` (``.NAME.building`` next to it), keeping
            its finished work; False starts afresh. A staging folder left by another
            build is always discarded.
        expand_repeats: read MusicXML and ABC with their repeats played out (see
            :func:`seqart.io.read_scores`) rather than as written.

    Returns:
        a :class:`BuildReport`.

    Raises:
        CorpusError: unknown source, bad fractions, ``out_dir`` not a corpus folder,
            a ``.mat`` source with a representation other than pianoroll or events,
            nothing usable left, or
            another build writing ``out_dir``.
        TokenizerError: unknown representation or tokenizer option.
    """
    started = time.perf_counter()
    if out_dir is None:
        from seqart.corpora.recipes import builtin_recipes, default_out_dir, recipe_for

        if recipe_for(source) is None:
            raise CorpusError(f"no output folder given for {source}: only a built-in corpus "
                              f"({', '.join(builtin_recipes())}) has a default one (corpora/built/NAME)")
        out_dir = default_out_dir(str(source))
    settings = build_settings(source, representation, tokenizer_config, valid_fraction, test_fraction)
    representation, tokenizer_config = settings["representation"], settings["tokenizer_config"]
    valid_fraction, test_fraction = settings["valid_fraction"], settings["test_fraction"]
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
    if shard_items is not None and shard_items < 1:
        raise CorpusError(f"shard size must be at least 1 item, got {shard_items}")
    out = Path(out_dir).expanduser()
    check_out_dir(out)
    resolved = resolve_source(source)
    config = dict(tokenizer_config or {})
    if resolved.kind == "mat":
        report = _build_benchmark(resolved, out, representation, config, limit, shard_items)
    else:
        from seqart.tokenizers import get_tokenizer

        try:
            tokenizer = get_tokenizer(representation, **config)
        except TypeError as exc:  # e.g. --set min_pitch=x: a value of the wrong type
            raise TokenizerError(f"invalid {representation} tokenizer option ({exc})") from None
        report = _build_scores(resolved, out, representation, tokenizer, workers, valid_fraction,
                               test_fraction, use_cache, progress, limit, time_limit, shard_items, resume,
                               expand_repeats)
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
                  valid_fraction: float, test_fraction: float, use_cache: bool, progress: ProgressArg,
                  limit: int | None, time_limit: float | None, shard_items: int | None,
                  resume: bool, expand_repeats: bool = False) -> BuildReport:
    from seqart import __version__

    units = sources.expand_units(resolved, expand_repeats)  # their keys hold the option: cache, resume
    if limit is not None:
        units = units[:limit]
    styles = file_styles(resolved)
    tracks = recipe_tracks(resolved)
    resolved.files.clear()  # the units hold the paths; a Path object a file is ~400 bytes more
    kind = tokenizer.kind
    report = BuildReport(out, resolved.name, representation, kind, units=len(units))
    n_features = int(tokenizer.n_features) if kind == "frames" else 0
    shard_items = int(shard_items or default_shard_items(kind, n_features))
    if kind == "tokens":
        dtype = np.int16 if tokenizer.vocab_size < 32768 else np.int32
    else:
        dtype = np.uint8
    fingerprint = {
        "format_version": FORMAT_VERSION,
        "seqart_version": __version__,
        "source": resolved.name,
        "representation": representation,
        "tokenizer": tokenizer.to_dict(),
        "fractions": [valid_fraction, test_fraction],
        "shard_items": shard_items,
        "units": [len(units), _units_digest(units)],
    }
    if styles:  # only then, so fingerprints of builds without styles stay as they were
        labelled = sorted((resolved.label(Path(p)), style) for p, style in styles.items())
        fingerprint["styles"] = hashlib.sha256(json.dumps(labelled).encode()).hexdigest()
    if tracks:
        fingerprint["tracks"] = [list(t) for t in tracks]
    writer = CorpusWriter.open(out, kind, dtype, n_features, shard_items,
                               split=partial(split_of, valid_fraction=valid_fraction, test_fraction=test_fraction),
                               dedupe=True, fingerprint=fingerprint, resume=resume,
                               split_view=getattr(tokenizer, "split_view", None))
    report.resumed_units = writer.next_unit
    cache = ScoreCache() if use_cache else None
    bar = _Progress(progress)
    try:
        task = bar.add("parsing", len(units), "units", completed=writer.next_unit)
        stream = _ordered_outcomes(units, writer.next_unit, workers or os.cpu_count() or 1, cache, tokenizer,
                                   time_limit, styles, tracks)
        with closing(stream):
            for i, outcomes, how in stream:
                writer.add_unit(i, outcomes)
                report.cache_hits += how == "cache"
                report.parsed += how == "parsed"
                bar.advance(task)
        _finish(writer, report, resolved, tokenizer, {
            "vocab": list(tokenizer.vocab) if kind == "tokens" else None,
            "split_method": "content-hash",
            "split_fractions": {"valid": valid_fraction, "test": test_fraction},
        })
    except CorpusError:
        writer.discard()
        raise
    except BaseException:  # Ctrl-C, a kill, a bug: keep the finished work for a resume
        writer.suspend()
        raise
    finally:
        bar.close()
    report.shards = writer.n_shards
    return report


def _finish(writer: CorpusWriter, report: BuildReport, resolved: ResolvedSource, tokenizer, extra: dict) -> None:
    """Fill the report from the writer and publish the corpus with its manifest, or
    refuse a build that kept nothing (one line listing why)."""
    from seqart import __version__

    _fill_report(report, writer)
    if not writer.kept:
        writer.discard()
        _raise_nothing_usable(resolved, report)
    writer.finish({"seqart_version": __version__, "source": report.source, "representation": report.representation,
                   "tokenizer": tokenizer.to_dict(), **extra, "units": report.units})


def _fill_report(report: BuildReport, writer: CorpusWriter) -> None:
    report.scores = writer.scores
    report.kept = writer.kept
    report.duplicates = len(writer.duplicates)
    report.skipped = writer.skipped
    report.sequences, report.items = writer.split_counts()


def file_styles(resolved: ResolvedSource) -> dict[str, str]:
    """Style by file (absolute path as text) that the recipes of a built-in source give.

    A file takes the style of its recipe's first ``styles`` pattern its name matches;
    in a union, the member recipe's mapping comes first and the union's own fills the
    files left without one. Files without a style, and sources that are no built-in
    corpus, are left out (an empty dict).
    """
    if resolved.kind != "builtin":
        return {}
    from seqart.corpora.recipes import builtin_recipes
    from seqart.corpora.registry import corpora_from_recipes

    shipped = builtin_recipes()
    if resolved.name not in shipped:
        return {}
    styles: dict[str, str] = {}

    def walk(corpus) -> None:
        for part in corpus.parts:
            walk(part)
        if corpus.recipe.styles:
            for path in corpus.paths():
                style = styles.get(str(path)) or corpus.recipe.style_for(path.name)
                if style:
                    styles[str(path)] = style

    walk(corpora_from_recipes(shipped)[resolved.name])
    return styles


def recipe_tracks(resolved: ResolvedSource) -> tuple[tuple[str, int], ...]:
    """The ``tracks`` of a built-in source's recipe (see :mod:`seqart.corpora.recipes`), or ()."""
    if resolved.kind != "builtin":
        return ()
    from seqart.corpora.recipes import builtin_recipes

    recipe = builtin_recipes().get(resolved.name)
    return recipe.tracks if recipe is not None else ()


def select_tracks(score, tracks: tuple[tuple[str, int], ...]):
    """``score`` with only the tracks whose names begin with a ``tracks`` name (case and
    surrounding spaces ignored), each given that name's program, in ``tracks`` order;
    a track matching no name is dropped (an instrument doubling a voice, say).

    Raises:
        ScoreError: when a name matches no track of the score, or two tracks.
    """
    kept = []
    for name, program in tracks:
        found = [t for t in score.tracks if t.name.strip().lower().startswith(name.lower())]
        if len(found) != 1:
            have = ", ".join(repr(t.name) for t in score.tracks) or "none"
            raise ScoreError(f"{'no' if not found else 'more than one'} track named {name!r} (tracks: {have})")
        kept.append(replace(found[0], program=program, is_drum=False))
    score.tracks = kept
    return score


def _units_digest(units: list[Unit]) -> str:
    """sha256 of every unit's label, kind, content key and error, in order: changes when
    any file of the source is added, removed, renamed or edited."""
    h = hashlib.sha256()
    for unit in units:
        h.update(f"{unit.label}\0{unit.kind}\0{unit.key}\0{unit.error or ''}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _encode_payload(unit: Unit, payload: dict, tokenizer, style: str = "",
                    tracks: tuple[tuple[str, int], ...] = ()) -> list[tuple]:
    """Validate and encode the scores of one unit's payload; ``style`` is given to
    the scores whose reader found none (see :func:`file_styles`); with ``tracks``
    only those tracks are kept, with those programs (:func:`select_tracks`).

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
        score.style = score.style or style
        try:
            if tracks:
                score = select_tracks(score, tracks)
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


def _summarize(unit: Unit, outcomes: list[tuple]) -> list[tuple]:
    """What a later unit with the same content needs of ``outcomes``: per score the label
    suffix, title, digest (a :class:`Known`) or skip reason, and whether it was a score."""
    out = []
    for label, title, result, is_score in outcomes:
        if isinstance(result, np.ndarray):
            result = Known(hashlib.sha256(result.tobytes()).digest())
        out.append((label[len(unit.label):], title, result, is_score))
    return out


def _from_summary(unit: Unit, summary: list[tuple]) -> list[tuple]:
    return [(unit.label + suffix, title, result, is_score) for suffix, title, result, is_score in summary]


def _nbytes(outcomes: list[tuple]) -> int:
    return sum(r.nbytes for _, _, r, _ in outcomes if isinstance(r, np.ndarray))


def _ordered_outcomes(units: list[Unit], start: int, workers: int, cache: ScoreCache | None, tokenizer,
                      time_limit: float | None, styles: dict[str, str] | None = None,
                      tracks: tuple[tuple[str, int], ...] = ()) -> Iterator[tuple[int, list[tuple], str]]:
    """Encode ``units[start:]`` and yield ``(i, outcomes, how)`` in source order.

    ``outcomes`` is :func:`_encode_payload`'s list (a unit with the same content as an
    earlier one gets :class:`Known` digests instead of arrays); ``how`` is ``"cache"``,
    ``"parsed"`` or ``"error"`` (the unit could not even be read).

    Cached units are read from the cache in their turn. Parses run in worker
    processes in completion order; a unit's encoded result waits in memory only
    until the units before it are out, and at most :data:`AHEAD_UNITS` units or
    :data:`AHEAD_BYTES` bytes wait so. Beyond that, with the cache on, workers go on
    parsing up to :data:`SPILL_UNITS` ahead and their results are read back from the
    cache in their turn, so one slow file does not idle the others. Units with the
    same content key are parsed once, and encoded once when their files have the same
    style (``styles``: by file path, see :func:`file_styles`).
    """
    styles = styles or {}

    def group(u: Unit) -> str:
        # the cache keys parses by content; equal content in files of different styles
        # may encode differently, so repeats are found by content and style
        return f"{u.key}\0{styles[u.path]}" if u.path in styles else u.key

    n = len(units)
    workers = max(1, min(workers, n - start))
    # units left per content key, for keys of two or more units only
    copies = {k: c for k, c in Counter(group(u) for u in units[start:] if u.error is None).items() if c > 1}
    claimed: set[str] = set()  # keys with copies still to come whose first unit was handed out
    summaries: dict[str, tuple[str, list[tuple]]] = {}
    ready: dict[int, tuple] = {}  # i -> ("done", outcomes, how) | ("repeat",) | ("cached", how)
    cache_root = str(cache.root) if cache is not None else None
    if workers > 1:
        parsers: _Parsers | _InlineParsers = _Parsers(workers, cache_root, time_limit)
        size = max(1, min(32, math.ceil((n - start) / (workers * 8))))
        ahead_units, spill_units = AHEAD_UNITS, (SPILL_UNITS if cache is not None else 0)
    else:
        parsers = _InlineParsers(cache_root, time_limit)
        size, ahead_units, spill_units = 1, 1, 0
    buffered = 0
    chunk: list[tuple[int, Unit]] = []
    nxt = emit = start

    def near(i: int) -> bool:
        return i - emit < ahead_units and buffered < AHEAD_BYTES

    def done(i: int, unit: Unit, payload: dict, how: str) -> None:
        nonlocal buffered
        if "error" in payload or cache is None or near(i):
            outcomes = _encode_payload(unit, payload, tokenizer, styles.get(unit.path, ""), tracks)
            buffered += _nbytes(outcomes)
            ready[i] = ("done", outcomes, how)
        else:  # the worker stored it in the cache; read back in its turn
            ready[i] = ("cached", how)

    try:
        while emit < n:
            while nxt < n and (near(nxt) or nxt - emit < spill_units):
                if len(chunk) >= size:
                    if not parsers.has_room():
                        break
                    parsers.submit(chunk)
                    chunk = []
                unit = units[nxt]
                if unit.error is not None:
                    ready[nxt] = ("done", _encode_payload(unit, {"error": unit.error}, tokenizer), "error")
                elif group(unit) in claimed:
                    ready[nxt] = ("repeat",)
                else:
                    if group(unit) in copies:
                        claimed.add(group(unit))
                    if cache is not None and cache.path_for(unit.key).exists():
                        ready[nxt] = ("cached", "cache")  # read in its turn
                    else:
                        chunk.append((nxt, unit))
                nxt += 1
            if chunk and parsers.has_room():
                parsers.submit(chunk)
                chunk = []
            if emit not in ready:
                results = parsers.wait()
                if not results and not chunk:
                    raise RuntimeError(f"corpus build stalled at unit {emit}")  # a bug, not bad input
                for i, unit, payload in results:
                    done(i, unit, payload, "parsed")
                continue
            while emit in ready:
                entry = ready.pop(emit)
                unit = units[emit]
                if entry[0] == "repeat":
                    how, summary = summaries[group(unit)]
                    outcomes = _from_summary(unit, summary)
                else:
                    if entry[0] == "done":
                        outcomes, how = entry[1], entry[2]
                        buffered -= _nbytes(outcomes)
                    else:
                        how = entry[1]
                        payload = cache.get(unit.key) if cache is not None else None
                        if payload is None:  # the entry is damaged or went missing: parse it here
                            payload, how = _parse_chunk([unit], cache_root, time_limit)[0], "parsed"
                        outcomes = _encode_payload(unit, payload, tokenizer, styles.get(unit.path, ""), tracks)
                    if unit.error is None and group(unit) in claimed:
                        summaries[group(unit)] = (how, _summarize(unit, outcomes))
                if unit.error is None and group(unit) in copies:
                    copies[group(unit)] -= 1
                    if copies[group(unit)] == 0:
                        del copies[group(unit)]
                        summaries.pop(group(unit), None)
                        claimed.discard(group(unit))
                yield emit, outcomes, how
                emit += 1
    except BaseException:  # interrupted, or the consumer stopped (GeneratorExit)
        parsers.close(cancel=True)
        raise
    parsers.close()


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
                     limit: int | None, shard_items: int | None) -> BuildReport:
    """A ``.mat`` benchmark keeps its standard splits: no hashing, no dedupe (and no
    resume: the whole file is read in a second or two). ``pianoroll`` writes the frames
    as they are, ``events`` the tokens of each roll read as a score (frames at the
    resolution :data:`BENCHMARK_STEPS_PER_BEAT` gives, else the tokenizer's)."""
    from dataclasses import fields

    from seqart.corpora.dataset import load_polyphonic_benchmark
    from seqart.tokenizers import tokenizer_class

    path = resolved.files[0]
    if representation not in ("pianoroll", "events"):
        raise CorpusError(f"{path.name} holds 88-key piano rolls: build it with --representation pianoroll "
                          f"or events, not {representation}")
    cls = tokenizer_class(representation)
    known = {f.name for f in fields(cls.config_class)}
    steps = BENCHMARK_STEPS_PER_BEAT.get(path.stem.lower())
    if steps is not None and "steps_per_beat" in known and "steps_per_beat" not in config:
        config["steps_per_beat"] = steps
    tokenizer = cls(**config)
    if representation == "events":
        frame_steps = steps or tokenizer.config.steps_per_beat
        return _build_benchmark_events(resolved, out, tokenizer, frame_steps, limit, shard_items)
    if tokenizer.n_features != 88 or getattr(tokenizer.config, "low", 21) != 21:
        raise CorpusError(
            f"{path.name} has 88 columns (MIDI 21-108) but the pianoroll tokenizer makes {tokenizer.n_features}; "
            "use its default pitch range"
        )
    data = load_polyphonic_benchmark(path)
    report = BuildReport(out, resolved.name, representation, "frames")
    n_features = int(tokenizer.n_features)
    writer = CorpusWriter.open(out, "frames", np.uint8, n_features,
                               int(shard_items or default_shard_items("frames", n_features)), dedupe=False)
    try:
        for code, name in enumerate(SPLITS):
            seqs = data[name][:limit] if limit is not None else data[name]
            for i, seq in enumerate(seqs):
                label = f"{path.name}:{name}/{i}"
                writer.add_unit(writer.next_unit, [(label, "", np.ascontiguousarray(seq, dtype=np.uint8), True, code)])
        report.units = writer.next_unit
        _finish(writer, report, resolved, tokenizer, {"split_method": "standard", "split_fractions": None})
    except BaseException:
        writer.discard()
        raise
    report.shards = writer.n_shards
    return report


def _build_benchmark_events(resolved: ResolvedSource, out: Path, tokenizer, frame_steps: int,
                            limit: int | None, shard_items: int | None) -> BuildReport:
    """Event tokens of each roll of a ``.mat`` benchmark (``frame_steps`` frames per beat),
    standard splits kept; a roll the tokenizer refuses is skipped with its reason."""
    from seqart.corpora.dataset import load_polyphonic_benchmark

    path = resolved.files[0]
    data = load_polyphonic_benchmark(path)
    report = BuildReport(out, resolved.name, "events", "tokens")
    dtype = np.int16 if tokenizer.vocab_size < 32768 else np.int32
    writer = CorpusWriter.open(out, "tokens", dtype, 0, int(shard_items or default_shard_items("tokens")),
                               dedupe=False)
    nottingham = path.stem.lower() == "nottingham"
    try:
        for code, name in enumerate(SPLITS):
            seqs = data[name][:limit] if limit is not None else data[name]
            for i, roll in enumerate(seqs):
                label = f"{path.name}:{name}/{i}"
                result = _encode_roll(roll, label, tokenizer, frame_steps, nottingham)
                writer.add_unit(writer.next_unit, [(label, "", result, True, code)])
        report.units = writer.next_unit
        _finish(writer, report, resolved, tokenizer, {"vocab": list(tokenizer.vocab), "split_method": "standard",
                                                      "split_fractions": None})
    except BaseException:
        writer.discard()
        raise
    report.shards = writer.n_shards
    return report


def _encode_roll(roll: np.ndarray, label: str, tokenizer, frame_steps: int, nottingham: bool) -> np.ndarray | str:
    """Tokens of one benchmark roll read as a score (melody and chords for Nottingham,
    one piano track otherwise), or the one-line reason it was refused."""
    from seqart.corpora.benchmark_tracks import nottingham_score, piano_score

    try:
        score = (nottingham_score(roll, label, frame_steps) if nottingham
                 else piano_score(roll, label, frame_steps))
        score.validate()
        tokens = _normalize(tokenizer.encode(score), tokenizer)
    except (ScoreError, TokenizerError) as exc:
        return one_line(exc)
    return tokens if len(tokens) else "nothing left after encoding"


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


class _InlineParsers:
    """The :class:`_Parsers` interface, parsing in this process (one worker)."""

    def __init__(self, cache_root: str | None, time_limit: float | None):
        self._cache_root = cache_root
        self._time_limit = time_limit
        self._results: list[tuple[int, Unit, dict]] = []

    def has_room(self) -> bool:
        return True

    def submit(self, items: list[tuple[int, Unit]]) -> None:
        for i, unit in items:
            self._results.append((i, unit, _parse_chunk([unit], self._cache_root, self._time_limit)[0]))

    def wait(self) -> list[tuple[int, Unit, dict]]:
        out, self._results = self._results, []
        return out

    def close(self, cancel: bool = False) -> None:
        pass


class _Parsers:
    """Worker processes parsing chunks of units, surviving worker crashes.

    At most ``2 * workers`` chunks are in flight. When a worker dies (a segfault in a
    parser, the OOM killer), every chunk in flight fails with it; their units are
    retried one per task (level 1), a single unit that fails again is run alone
    (level 2), where a crash pins the culprit, which is skipped with a reason.

    Args:
        workers: worker processes.
        cache_root: parse cache folder the workers write to (None: no cache).
        time_limit: seconds per unit (None: no limit).
    """

    def __init__(self, workers: int, cache_root: str | None, time_limit: float | None):
        self.workers = workers
        self.window = 2 * workers
        self._cache_root = cache_root
        self._time_limit = time_limit
        self._queue: deque[tuple[list[tuple[int, Unit]], int]] = deque()  # (items, level) not yet submitted
        self._inflight: dict = {}  # future -> (items, level)
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    @property
    def pending(self) -> int:
        """Tasks queued or in flight."""
        return len(self._queue) + len(self._inflight)

    def has_room(self) -> bool:
        """Whether a new chunk would be started at once."""
        return not self._queue and not self._broken and len(self._inflight) < self.window

    def submit(self, items: list[tuple[int, Unit]]) -> None:
        """Queue a chunk: ``(tag, unit)`` pairs (the tag comes back with the result)."""
        self._queue.append((items, 0))
        self._fill()

    def _fill(self) -> None:
        while self._queue and not self._broken:
            items, level = self._queue[0]
            if any(lv >= 2 for _, lv in self._inflight.values()):
                break  # a suspect runs alone
            if level >= 2 and self._inflight:
                break
            if len(self._inflight) >= self.window:
                break
            if self._pool is None:
                context = multiprocessing.get_context("spawn")  # no fork under rich's refresh thread
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            self._queue.popleft()
            units = [u for _, u in items]
            self._inflight[self._pool.submit(_parse_chunk, units, self._cache_root, self._time_limit)] = (items, level)

    def wait(self) -> list[tuple[int, Unit, dict]]:
        """Block until one or more tasks finish; their ``(tag, unit, payload)`` triples
        ([] when nothing is queued or in flight)."""
        out: list[tuple[int, Unit, dict]] = []
        while not out and self.pending:
            self._fill()
            done, _ = wait(list(self._inflight), return_when=FIRST_COMPLETED)
            retries: list[tuple[list[tuple[int, Unit]], int]] = []
            for future in done:
                items, level = self._inflight.pop(future)
                try:
                    results = future.result()
                except BrokenProcessPool:
                    self._broken = True
                    if level == 0:
                        retries.extend(([item], 1) for item in items)
                    elif level == 1:
                        retries.append((items, 2))
                    else:
                        out.extend((i, unit, {"error": _CRASH_REASON}) for i, unit in items)
                    continue
                except Exception as exc:  # e.g. a payload that does not pickle
                    msg = one_line(exc, 160)
                    results = [{"error": f"unexpected {type(exc).__name__} in a worker ({msg})"}] * len(items)
                out.extend((i, unit, payload) for (i, unit), payload in zip(items, results))
            self._queue.extendleft(reversed(retries))
            if self._broken and not self._inflight:  # every task of the dead pool is back: start afresh
                self._pool.shutdown(wait=True)
                self._pool = None
                self._broken = False
        return out

    def close(self, cancel: bool = False) -> None:
        """Stop the workers: wait for them, or with ``cancel`` drop what has not started
        and return at once."""
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None


def _parse_parallel(todo: list[Unit], workers: int, cache_root: str | None,
                    store: Callable[[Unit, dict], None], time_limit: float | None = None) -> None:
    """Parse ``todo`` in worker processes, surviving worker crashes (see :class:`_Parsers`),
    calling ``store(unit, payload)`` as results arrive."""
    size = max(1, min(32, math.ceil(len(todo) / (workers * 8))))
    parsers = _Parsers(workers, cache_root, time_limit)
    try:
        for k in range(0, len(todo), size):
            parsers.submit(list(enumerate(todo[k:k + size], start=k)))
        while parsers.pending:
            for _, unit, payload in parsers.wait():
                store(unit, payload)
    except BaseException:
        parsers.close(cancel=True)
        raise
    parsers.close()


# ----------------------------------------------------------------- progress
class _Progress:
    """A rich progress bar on stderr with a rate column, a callback ``(done, total)``,
    or nothing when disabled."""

    def __init__(self, enabled: ProgressArg):
        self._progress = None
        self._callback = enabled if callable(enabled) else None
        self._counts: dict[int, list[int]] = {}
        if enabled is True:
            import sys

            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), _rate_column(),
                TimeElapsedColumn(), console=Console(file=sys.stderr), transient=False,
            )
            self._progress.start()

    def add(self, description: str, total: int, unit: str, completed: int = 0):
        if self._callback is not None:
            task = len(self._counts)
            self._counts[task] = [completed, total]
            return task
        if self._progress is None:
            return None
        return self._progress.add_task(description, total=total, unit=unit, completed=completed)

    def advance(self, task, n: int = 1) -> None:
        if self._callback is not None and task is not None:
            counts = self._counts[task]
            counts[0] += n
            self._callback(counts[0], counts[1])
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
