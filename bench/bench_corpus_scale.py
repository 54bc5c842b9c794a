"""Corpus builds at scale: files/s and peak memory over 2k, 10k and 20k MIDI files.

A synthetic folder of ``--files`` small MIDI melodies (8 to 24 notes, all distinct,
1,000 to a sub-folder) is written once; then, for each size in ``--sizes``, the
first N files are built (``build_corpus(folder, limit=N)``) twice, each build in
a fresh process:

- ``cold``: an empty parse cache; ``--workers`` parser processes parse every file;
- ``cached``: the same build again; every parse comes from the cache, so the main
  process alone reads, encodes, dedupes and writes (the most it ever holds).

Columns: files/s of the whole build (``report.seconds``, the process start and
imports left out); ``peak RSS`` of the building process (``ru_maxrss``) and ``growth``
over its RSS just before the build (after imports), i.e. what the build itself
needed; ``worker RSS``: the largest peak of a parser process. A streaming build
holds per-file bookkeeping only (a work unit, an index record, a manifest entry, a
digest: a few hundred bytes a file), so growth should stay within a few tens of MB
at 20k files, while the build of seqart 0.1 before streaming kept every encoded
sequence and concatenated them at the end.

``--seqart PATH`` imports seqart from PATH instead (e.g. a checkout of an older
version, to compare).

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=. python bench/bench_corpus_scale.py [--files 20000]
        [--sizes 2000,10000,20000] [--workers 2] [--representation melody] [--shard-items N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO_ROOT, print_table, rate, write_results  # noqa: E402

NAME = "corpus_scale"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20000, help="synthetic MIDI files to write (default 20000)")
    parser.add_argument("--sizes", default="2000,10000,20000", help="file counts to build (comma-separated)")
    parser.add_argument("--workers", type=int, default=2, help="parser processes (default 2)")
    parser.add_argument("--representation", "-r", default="melody", help="melody, events or pianoroll (default melody)")
    parser.add_argument("--shard-items", type=int, default=None, help="tokens per shard (default: seqart's)")
    parser.add_argument("--folder", default=None, help="keep the synthetic files here (default: a temporary folder)")
    parser.add_argument("--seqart", default=str(REPO_ROOT), help="folder to import seqart from (default: this repo)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal: one build, JSON out
    return parser.parse_args(argv)


# ------------------------------------------------------------ synthetic data
def write_folder(folder: Path, n: int, seed: int = 0) -> None:
    """``n`` distinct melodies, ``sub000/f000000.mid`` ..., 1,000 to a sub-folder (skipped if present)."""
    marker = folder / f".complete-{n}-{seed}"
    if marker.exists():
        return
    from seqart.score import Note, Score, Track

    rng = random.Random(seed)
    for i in range(n):
        sub = folder / f"sub{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        t, notes = 0.0, []
        for _ in range(rng.randrange(8, 25)):
            dur = rng.choice((0.5, 1.0, 1.0, 2.0))  # beats
            notes.append(Note(rng.randrange(55, 84), t, dur, 80))
            t += dur
        Score(tracks=[Track(notes=notes)]).write(sub / f"f{i:06d}.mid")
    marker.touch()


# --------------------------------------------------------------- one build
def child(spec: dict) -> None:
    """Run one build in this process and print its figures as JSON (the last line)."""
    import resource

    sys.path.insert(0, spec["seqart"])
    os.environ["SEQART_CACHE_DIR"] = spec["cache"]
    from seqart.corpora import build_corpus

    # what a build imports on the way, so the baseline holds every module
    import concurrent.futures  # noqa: F401
    import multiprocessing  # noqa: F401

    import seqart.io  # noqa: F401
    import seqart.io.music21_reader  # noqa: F401
    import seqart.score  # noqa: F401
    import seqart.tokenizers  # noqa: F401

    def rss_now() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    base = rss_now()
    kw = {"shard_items": spec["shard_items"]} if spec["shard_items"] else {}
    report = build_corpus(spec["folder"], spec["out"], representation=spec["representation"],
                          workers=spec["workers"], progress=False, limit=spec["limit"], **kw)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({"units": report.units, "kept": report.kept, "seconds": report.seconds,
                      "parsed": report.parsed, "cache_hits": report.cache_hits,
                      "tokens": sum(report.items.values()), "shards": getattr(report, "shards", None),
                      "base_rss": base, "peak_rss": peak, "worker_rss": workers}))


def run_build(args: argparse.Namespace, folder: Path, cache: Path, out: Path, limit: int) -> dict:
    spec = {"seqart": args.seqart, "cache": str(cache), "folder": str(folder), "out": str(out),
            "workers": args.workers, "limit": limit, "shard_items": args.shard_items,
            "representation": args.representation}
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": args.seqart})
    if proc.returncode != 0:
        raise SystemExit(f"build of {limit} files failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="seqart-bench-scale-") as tmp:
        folder = Path(args.folder) if args.folder else Path(tmp) / "midi"
        write_folder(folder, max(args.files, max(sizes)))
        for n in sizes:
            cache = Path(tmp) / f"cache{n}"
            for label in ("cold", "cached"):
                r = run_build(args, folder, cache, Path(tmp) / f"out{n}-{label}", n)
                mb = 1 << 20
                rows.append({"build": label, "representation": args.representation, "files": r["units"],
                             "kept": r["kept"], "tokens": r["tokens"],
                             "shards": r["shards"], "seconds": r["seconds"],
                             "files_per_s": rate(r["units"], r["seconds"]),
                             "peak_rss_mb": r["peak_rss"] / mb, "growth_mb": (r["peak_rss"] - r["base_rss"]) / mb,
                             "worker_rss_mb": r["worker_rss"] / mb if label == "cold" else None})
                print(f"{label} {n}: {rows[-1]['files_per_s']:.0f} files/s, peak {rows[-1]['peak_rss_mb']:.0f} MB "
                      f"(+{rows[-1]['growth_mb']:.0f} MB)", file=sys.stderr)
    columns = [("build", "build", ""), ("files", "files", ",d"), ("tokens/frames", "tokens", ",d"),
               ("shards", "shards", "d"),
               ("seconds", "seconds", ".1f"), ("files/s", "files_per_s", ",.0f"),
               ("peak RSS MB", "peak_rss_mb", ".0f"), ("growth MB", "growth_mb", ".1f"),
               ("worker RSS MB", "worker_rss_mb", ".0f")]
    print_table(f"Corpus build of synthetic MIDI folders ({args.representation}, {args.workers} workers, "
                f"seqart from {args.seqart})",
                columns, rows, note="growth: peak RSS of the building process minus its RSS after imports.")
    cold = [r for r in rows if r["build"] == "cold"]
    summary = {"cold_files_per_s": cold[-1]["files_per_s"], "growth_mb_smallest": cold[0]["growth_mb"],
               "growth_mb_largest": cold[-1]["growth_mb"]}
    path = write_results(NAME, {k: v for k, v in vars(args).items() if k != "child"}, rows, summary)
    print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
