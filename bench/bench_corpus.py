"""Corpus build throughput (tunes/s): seqart's ``build_corpus`` against plain music21.

Rows:

- ``seqart build, cold``: :func:`seqart.corpora.build_corpus` with an empty parse
  cache (``SEQART_CACHE_DIR`` points at a fresh temporary folder), ``--workers``
  parser processes; includes starting the processes and importing music21 in them.
- ``seqart build, cached``: the same build again; every tune comes from the cache.
- ``music21, whole files``: the naive way, one process, no seqart:
  ``music21.converter.parse`` on each ABC file of the source, counting the tunes of
  the returned Opus. music21's own pickle cache is disabled (``forceSource=True,
  storePickle=False``) so the row measures parsing every time it runs.
- ``music21, tune by tune``: ``converter.parse`` on each tune's text (cut as seqart
  cuts them), one process: what seqart's workers do per unit, without the
  conversion to a seqart Score, the cache or the parallelism.

With ``--limit N`` every row covers the first N tunes in source order; the
whole-file row then parses each ABC file cut after its share of those tunes.
music21 is imported before the music21 rows are timed (the builds pay for the
import in their worker processes).

Usage::

    PYTHONPATH=. python bench/bench_corpus.py [--source han] [--limit N] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Stopwatch, print_table, rate, write_results  # noqa: E402

NAME = "corpus"
_X_LINE = re.compile(r"^X:", re.MULTILINE)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="han", help="built-in corpus name or ABC file/folder (default han)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N tunes (default: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="parser processes of the seqart build (default: CPU count)")
    parser.add_argument("--skip-whole-files", action="store_true",
                        help="leave out the slow whole-file music21 row")
    return parser.parse_args(argv)


# ------------------------------------------------------------ seqart builds
def time_builds(source: str, limit: int | None, workers: int) -> list[dict]:
    """A cold build into an empty cache, then the same build again (cached)."""
    from seqart.corpora import build_corpus

    rows = []
    with tempfile.TemporaryDirectory(prefix="seqart-bench-corpus-") as tmp:
        previous = os.environ.get("SEQART_CACHE_DIR")
        os.environ["SEQART_CACHE_DIR"] = str(Path(tmp) / "cache")
        try:
            for label, out in (("seqart build, cold", "cold"), ("seqart build, cached", "cached")):
                report = build_corpus(source, Path(tmp) / out, workers=workers, progress=False, limit=limit)
                rows.append({
                    "method": f"{label} ({workers} workers)",
                    "tunes": report.units,
                    "seconds": report.seconds,
                    "tunes_per_s": rate(report.units, report.seconds),
                    "parsed": report.parsed,
                    "cache_hits": report.cache_hits,
                    "kept": report.kept,
                    "skipped": len(report.skipped),
                })
        finally:
            if previous is None:
                os.environ.pop("SEQART_CACHE_DIR", None)
            else:
                os.environ["SEQART_CACHE_DIR"] = previous
    return rows


# ------------------------------------------------------------ plain music21
def abc_files(source: str) -> list[Path]:
    """The ABC files of ``source`` in seqart's source order (other formats are left out)."""
    from seqart.corpora.registry import resolve_source

    return [p for p in resolve_source(source).files if p.suffix.lower() == ".abc"]


def tunes_per_file(files: list[Path], limit: int | None) -> list[int]:
    """How many tunes of each file the first ``limit`` tunes take (``X:`` lines counted)."""
    counts = []
    left = limit
    for path in files:
        n = len(_X_LINE.findall(path.read_text(encoding="utf-8-sig", errors="replace")))
        take = n if left is None else min(n, left)
        counts.append(take)
        if left is not None:
            left -= take
    return counts


def cut_book(path: Path, keep: int, folder: Path) -> Path:
    """``path`` itself, or a copy in ``folder`` cut before its ``keep + 1``-th tune."""
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    starts = [m.start() for m in _X_LINE.finditer(text)]
    if keep >= len(starts):
        return path
    out = folder / path.name
    out.write_text(text[: starts[keep]], encoding="utf-8")
    return out


def count_tunes(parsed) -> int:
    """Tunes in what ``converter.parse`` returned: the scores of an Opus, else one."""
    from music21 import stream

    return len(parsed.scores) if isinstance(parsed, stream.Opus) else 1


def time_whole_files(files: list[Path], counts: list[int]) -> dict:
    """``converter.parse`` on each (possibly cut) ABC file, one after the other."""
    from music21 import converter

    tunes = 0
    with tempfile.TemporaryDirectory(prefix="seqart-bench-abc-") as tmp, Stopwatch() as sw:
        for path, keep in zip(files, counts):
            if keep == 0:
                continue
            book = cut_book(path, keep, Path(tmp))
            tunes += count_tunes(converter.parse(book, format="abc", forceSource=True, storePickle=False))
    return {"method": "music21, whole files (1 process)", "tunes": tunes, "seconds": sw.seconds,
            "tunes_per_s": rate(tunes, sw.seconds)}


def time_tune_by_tune(files: list[Path], counts: list[int]) -> dict:
    """``converter.parse`` on each tune's text, one after the other; failures are counted."""
    from music21 import converter

    from seqart.io.music21_reader import split_abc_tunes

    tunes = [t for path, keep in zip(files, counts)
             for t in split_abc_tunes(path.read_text(encoding="utf-8-sig", errors="replace"))[:keep]]
    failed = 0
    with Stopwatch() as sw:
        for text in tunes:
            try:
                converter.parse(text, format="abc")
            except Exception:  # music21 raises many kinds; a failed tune still took its time
                failed += 1
    return {"method": "music21, tune by tune (1 process)", "tunes": len(tunes), "seconds": sw.seconds,
            "tunes_per_s": rate(len(tunes), sw.seconds), "skipped": failed}


# -------------------------------------------------------------------- main
def add_speedups(rows: list[dict], baseline: dict | None) -> None:
    """Set ``speedup`` of every row: its tunes/s over the baseline row's."""
    for row in rows:
        base = baseline and baseline.get("tunes_per_s")
        row["speedup"] = row["tunes_per_s"] / base if base and row.get("tunes_per_s") else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = time_builds(args.source, args.limit, args.workers)
    files = abc_files(args.source)
    counts = tunes_per_file(files, args.limit)
    import music21  # noqa: F401  (import time kept out of the music21 rows)

    baseline = None
    if not args.skip_whole_files and files:
        baseline = time_whole_files(files, counts)
        rows.append(baseline)
    if files:
        rows.append(time_tune_by_tune(files, counts))
    add_speedups(rows, baseline or (rows[-1] if files else None))
    base_name = "whole files" if baseline else "tune by tune"
    columns = [("method", "method", ""), ("tunes", "tunes", "d"), ("seconds", "seconds", ".2f"),
               ("tunes/s", "tunes_per_s", ",.1f"), (f"speed-up vs {base_name}", "speedup", ".1f"),
               ("skipped", "skipped", "d")]
    print_table(f"Corpus build: {args.source}" + (f", first {args.limit} tunes" if args.limit else ""),
                columns, rows, note="MEASUREMENTS.md: han1.abc (554 tunes) whole-file music21 parse 77 s "
                                    "(0.14 s a tune, one core).")
    summary = {
        "cold_tunes_per_s": rows[0]["tunes_per_s"],
        "cached_tunes_per_s": rows[1]["tunes_per_s"],
        "cold_speedup_vs_plain_music21": rows[0]["speedup"],
    }
    path = write_results(NAME, vars(args), rows, summary)
    print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
