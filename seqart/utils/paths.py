"""Output file naming."""

from __future__ import annotations

from pathlib import Path

from seqart.errors import SeqartError

_EXTENSIONS = {"mid": ".mid", "midi": ".mid", "musicxml": ".musicxml", "xml": ".musicxml"}


def output_paths(out: str | Path, count: int, fmt: str | None = None, overwrite: bool = False) -> list[Path]:
    """Paths for ``count`` outputs: ``out`` itself for one, ``out-1.ext ... out-N.ext`` for more.

    ``out`` may be a folder (existing, or ending in ``/``): files are then named
    ``melody-1.mid ...`` inside it. A missing extension comes from ``fmt`` (default MIDI).

    Raises:
        SeqartError: if a target exists and ``overwrite`` is False (nothing is
            replaced silently).
    """
    out = Path(out)
    if out.is_dir() or str(out).endswith(("/", "\\")):
        out = out / "melody"
        count_names = True
    else:
        count_names = count > 1
    suffix = out.suffix or _EXTENSIONS.get((fmt or "mid").lower(), ".mid")
    stem = out.with_suffix("") if out.suffix else out
    if count_names:
        paths = [stem.with_name(f"{stem.name}-{i}{suffix}") for i in range(1, count + 1)]
    else:
        paths = [stem.with_name(stem.name + suffix)]
    if not overwrite:
        existing = [p for p in paths if p.exists()]
        if existing:
            raise SeqartError(f"{existing[0]} exists; pass --force to overwrite it, or choose another -o")
    return paths
