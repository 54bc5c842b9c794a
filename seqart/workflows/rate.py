"""``seqart rate`` without the questions: find the sample files named by files and
folders, and record ratings in a model's feedback store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from seqart.errors import SeqartError


def music_files(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The music files ``paths`` name, in order (folders scanned recursively).

    Raises:
        SeqartError: a path that does not exist, or a folder without music files.
    """
    from seqart.corpora.registry import music_extensions, scan_folder

    out: list[Path] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found = scan_folder(path)
            if not found:
                raise SeqartError(f"no music files in {path} (looked for {', '.join(music_extensions())})")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise SeqartError(f"{path}: no such file or folder")
    return out


def rate_files(store, rated: Sequence[tuple[str | os.PathLike, str | int]], note: str = "") -> list:
    """Record each ``(file or folder, rating)`` in ``store`` (a rating is ``"like"``,
    ``"dislike"`` or 1-5 stars); every file is found before the first is recorded.

    Returns:
        ``(file, its recorded :class:`seqart.feedback.store.Sample`)`` for each file, in order.
    """
    marked = [(path, rating) for given, rating in rated for path in music_files([given])]
    return [(path, store.rate(path, rating, note=note)) for path, rating in marked]
