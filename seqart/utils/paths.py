"""Output file naming."""

from __future__ import annotations

from pathlib import Path

from seqart.errors import OutputExistsError, SeqartError

_EXTENSIONS = {"mid": ".mid", "midi": ".mid", "musicxml": ".musicxml", "xml": ".musicxml"}


def output_paths(out: str | Path, count: int, fmt: str | None = None, overwrite: bool = False) -> list[Path]:
    """Paths for ``count`` outputs: ``out`` itself for one, ``out-1.ext ... out-N.ext`` for more.

    ``out`` may be a folder (existing, or ending in ``/``): files are then named
    ``melody-1.mid ...`` inside it. A missing extension comes from ``fmt`` (default MIDI).

    Raises:
        OutputExistsError: if a target exists and ``overwrite`` is False (nothing is
            replaced silently).
    """
    as_folder = str(out).endswith(("/", "\\"))
    out = Path(out)
    if out.is_dir() or as_folder:
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
    refuse_existing(paths, overwrite)
    return paths


def numbered_paths(folder: str | Path, count: int, suffix: str = ".mid", overwrite: bool = False) -> list[Path]:
    """``folder/01.mid ... NN.mid`` (wider numbers past 99); nothing is created.

    Raises:
        SeqartError: ``folder`` is a file.
        OutputExistsError: a target exists and ``overwrite`` is False.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise SeqartError(f"{folder} is a file; -o takes a folder here")
    width = max(2, len(str(count)))
    paths = [folder / f"{i:0{width}d}{suffix}" for i in range(1, count + 1)]
    refuse_existing(paths, overwrite)
    return paths


def refuse_existing(paths, overwrite: bool = False) -> None:
    """The one check before writing outputs: unless ``overwrite``, raise for the first of
    ``paths`` that exists, so nothing a user made is replaced without being asked.

    Raises:
        OutputExistsError: naming that path (the command line adds how to replace it).
    """
    if overwrite:
        return
    for path in paths:
        if Path(path).exists():
            raise OutputExistsError(path)


#: environment variable naming the shared data folder (holding ``data/polyphonic``, ``data/images``)
SHARED_ENV = "SEQART_SHARED"


def find_shared(relative: str) -> Path | None:
    """``$SEQART_SHARED/relative`` if it exists, else ``shared/relative`` next to the
    working directory or any parent of it (the project checkout's ``../shared``); None if nowhere."""
    import os

    roots = [Path(os.environ[SHARED_ENV])] if os.environ.get(SHARED_ENV) else []
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        roots += [folder / "shared", folder.parent / "shared"]
    for root in roots:
        if (root / relative).exists():
            return root / relative
    return None
