"""Shared helpers of the seqart benchmarks: result files, tables, timing statistics.

Every benchmark prints one or more plain-text tables and writes its figures to
``bench/results/<name>.json`` with the same layout::

    {"benchmark": name, "created": ISO time, "machine": {...}, "settings": {...},
     "rows": [{...}, ...], "summary": {...}, ...}

``summary`` holds the few headline figures that ``bench/run_all.py`` collects.
Importing this module is cheap (no torch, no music21).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

#: ``bench/``: the folder of the benchmark scripts.
BENCH_DIR = Path(__file__).resolve().parent
#: The repository root (``python cli.py`` runs from here).
REPO_ROOT = BENCH_DIR.parent
#: Where each benchmark writes ``<name>.json``.
RESULTS_DIR = BENCH_DIR / "results"
#: Scratch data kept between runs (gitignored): e.g. the chorale MIDI files.
CACHE_DIR = BENCH_DIR / ".cache"
#: 1-, 5- and 15-minute load averages when the benchmark started: a busy machine
#: (another job on the cores) makes timings unreliable.
LOAD_AT_START = os.getloadavg() if hasattr(os, "getloadavg") else None


def package_version(dist: str) -> str:
    """Installed version of a distribution, read from metadata (nothing imported); ``"-"`` if absent."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def machine_info() -> dict:
    """Python, platform, CPU count, load averages and the versions of the libraries the benchmarks time."""
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average_at_start": LOAD_AT_START,
        "load_average_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    for dist in ("torch", "numpy", "music21", "symusic", "miditok"):
        info[dist] = package_version(dist)
    if "torch" in sys.modules:
        info["torch_threads"] = sys.modules["torch"].get_num_threads()
    return info


def write_results(name: str, settings: dict, rows: list[dict], summary: dict, **extra: Any) -> Path:
    """Write ``bench/results/<name>.json`` and return its path.

    Args:
        name: benchmark name (the file stem).
        settings: the command-line settings the figures were measured with.
        rows: one dict per table row (plain JSON values).
        summary: headline figures (shown by ``run_all.py``).
        extra: further top-level keys (e.g. a second table).
    """
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in settings.items()},
        "rows": rows,
        "summary": summary,
        **extra,
    }
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    warning = busy_warning()
    if warning:
        print(warning)
    return path


def busy_warning(threshold: float = 1.0) -> str | None:
    """A warning when the 1-minute load average at start exceeded ``threshold``.

    Another job on the cores slows everything, and torch's worker threads worst
    of all: with 2 threads on 2 busy cores a step can take 100 times longer.
    (Right after another benchmark the load is high too; the warning is then
    a false alarm.)
    """
    if LOAD_AT_START is None or LOAD_AT_START[0] <= threshold:
        return None
    return (f"warning: load average {LOAD_AT_START[0]:.1f} at start on {os.cpu_count()} cores: if another job "
            "was running, these timings are unreliable (torch with several threads suffers most)")


def print_table(title: str, columns: Sequence[tuple[str, str, str]], rows: Iterable[dict],
                note: str | None = None) -> None:
    """Print ``rows`` as an aligned table on stdout (rich, no colours when piped).

    Args:
        title: printed above the table.
        columns: ``(header, row key, format spec)``; e.g. ``("tunes/s", "rate", ",.1f")``.
            A missing or None value prints as ``-``; a string value is printed as is.
        rows: dicts holding the keys named in ``columns``.
        note: a line printed under the table.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for i, (header, _, _) in enumerate(columns):
        table.add_column(header, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for row in rows:
        table.add_row(*(format_cell(row.get(key), spec) for _, key, spec in columns))
    console = Console(width=max(120, Console().width))
    console.print(table)
    if note:
        console.print(note, highlight=False)
    console.print()


def format_cell(value: Any, spec: str) -> str:
    """``value`` formatted with ``spec``; ``-`` for None, strings unchanged.

    The spec ``"auto"`` picks the decimals by size: none from 100 up, two from 1, else three.
    """
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if spec == "auto":
        spec = ",.0f" if abs(value) >= 100 else ".2f" if abs(value) >= 1 else ".3f"
    return format(value, spec)


def spread(samples: Sequence[float]) -> dict:
    """Median, min and max of timing samples (seconds), plus their number."""
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def rate(count: float, seconds: float) -> float | None:
    """``count / seconds``, or None when nothing was timed."""
    return count / seconds if seconds > 0 else None


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds`` (perf_counter wall time)."""

    def __enter__(self) -> "Stopwatch":
        self.seconds = 0.0
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start
