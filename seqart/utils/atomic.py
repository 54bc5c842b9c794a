"""Atomic writes of files and folders: write into a temporary sibling, fsync, rename.

A reader (or a resumed run after a crash) sees either the old file or folder or
the new one, never a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it over ``path``.

    The caller writes the whole file to the yielded path (with any library that
    takes a file name). If the block raises, the temporary file is removed and
    ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, path)
        fsync_dir(path.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, obj, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(obj, indent=indent, sort_keys=False) + "\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename inside it) to disk; a no-op where that is not possible."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def staging_dir(parent: str | Path, prefix: str) -> Path:
    """A new empty folder in ``parent`` to assemble a folder before renaming it into
    place, with the mode a plain ``mkdir`` would give (``mkdtemp`` makes 0700)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(folder, 0o777 & ~_umask())
    return folder


def usual_file_modes(folder: str | Path) -> None:
    """Give every file directly in ``folder`` the mode a plain ``open`` would
    (libraries that write through temporary files leave 0600)."""
    mode = 0o666 & ~_umask()
    for path in Path(folder).iterdir():
        if path.is_file():
            os.chmod(path, mode)


def replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``: the old one is renamed aside first and
    removed last, so at every instant one complete folder exists (``target`` or
    ``target.old``)."""
    old = target.with_name(target.name + ".old")
    recover_dir(target)  # never delete the only complete copy
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
    fsync_dir(target.parent)


def recover_dir(target: Path) -> None:
    """After a crash between the two renames of :func:`replace_dir`, restore ``target``."""
    old = target.with_name(target.name + ".old")
    if not target.exists() and old.exists():
        os.replace(old, target)


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target`` to write a whole folder into;
    when the block ends, its files get the usual modes and are flushed to disk, and
    it replaces ``target`` (:func:`replace_dir`). If the block raises, the staging
    folder is removed and ``target`` is untouched.

    The staging folder is named ``.TARGETNAME.*``: one a kill left behind can be
    found and removed by that prefix.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(target.parent, f".{target.name}.")
    try:
        yield tmp
        usual_file_modes(tmp)
        for path in tmp.iterdir():
            if path.is_file():
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
