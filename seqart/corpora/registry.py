"""Built-in corpora (from music21's shipped corpus) and resolution of a SOURCE argument.

A SOURCE names one of:

- a built-in corpus (``essen``, ``han``, ``oneills``, ``ryans``, ``airds``, ``folk``, ``bach``);
- a folder, scanned recursively for music files (hidden files and folders skipped);
- a single music file (MIDI, MusicXML, MXL or ABC);
- a polyphonic benchmark ``.mat`` file (Boulanger-Lewandowski splits, 88-key piano rolls).

Nothing here parses music or imports music21: the corpus folder is located through
the import system, and tune counts come from counting ``X:`` lines, so
``seqart corpus list`` takes a fraction of a second.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from seqart.errors import CorpusError

_X_LINE = re.compile(rb"^X:", re.MULTILINE)


@dataclass(frozen=True)
class BuiltinCorpus:
    """A named selection of files from music21's corpus folder.

    Attributes:
        name: the name a SOURCE argument uses (``"han"``).
        description: one line for ``seqart corpus list``.
        folders: folders relative to the music21 corpus root, scanned recursively.
        files: single files relative to the corpus root (used instead of ``folders``).
        suffixes: file extensions that belong to the corpus (lower case, with dot).
    """

    name: str
    description: str
    folders: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = (".abc",)

    def paths(self) -> list[Path]:
        """The corpus files, sorted, as absolute paths.

        Raises:
            CorpusError: if music21 (which ships the files) is not installed or the
                files are missing from it.
        """
        root = music21_corpus_root()
        out: list[Path] = []
        for rel in self.files:
            p = root / rel
            if not p.is_file():
                raise CorpusError(f"built-in corpus {self.name!r}: {p} is missing from the music21 install")
            out.append(p)
        for rel in self.folders:
            folder = root / rel
            if not folder.is_dir():
                raise CorpusError(f"built-in corpus {self.name!r}: {folder} is missing from the music21 install")
            out.extend(scan_folder(folder, self.suffixes))
        return out

    def count_tunes(self) -> int:
        """Number of tunes without parsing: ``X:`` lines of ABC files, one per other file."""
        return sum(count_tunes_in_file(p) for p in self.paths())


def count_tunes_in_file(path: Path) -> int:
    """``X:`` lines for an ABC file, 1 for any other music file (0 if unreadable)."""
    if path.suffix.lower() != ".abc":
        return 1
    try:
        return len(_X_LINE.findall(path.read_bytes()))
    except OSError:
        return 0


_ESSEN = BuiltinCorpus("essen", "Essen folk song collection: German, Chinese and other European songs (ABC)",
                       folders=("essenFolksong",))
_HAN = BuiltinCorpus("han", "Chinese (Han) folk songs from the Essen collection (ABC)",
                     files=("essenFolksong/han1.abc", "essenFolksong/han2.abc"))
_ONEILLS = BuiltinCorpus("oneills", "O'Neill's Music of Ireland (1850): Irish dance tunes and airs (ABC)",
                         folders=("oneills1850",))
_RYANS = BuiltinCorpus("ryans", "Ryan's Mammoth Collection (1883): fiddle reels, jigs and hornpipes (ABC)",
                       folders=("ryansMammoth",))
_AIRDS = BuiltinCorpus("airds", "Aird's Airs: Scottish, Irish and other 18th-century melodies (ABC)",
                       folders=("airdsAirs",))
_BACH = BuiltinCorpus("bach", "J. S. Bach four-part chorales (MusicXML/MXL, polyphonic)",
                      folders=("bach",), suffixes=(".mxl", ".xml"))


@dataclass(frozen=True)
class _Union:
    name: str
    description: str
    parts: tuple[BuiltinCorpus, ...]

    def paths(self) -> list[Path]:
        return [p for part in self.parts for p in part.paths()]

    def count_tunes(self) -> int:
        return sum(part.count_tunes() for part in self.parts)


_FOLK = _Union("folk", "All folk melodies: essen + oneills + ryans + airds (ABC)", (_ESSEN, _ONEILLS, _RYANS, _AIRDS))

#: name -> built-in corpus, in the order ``seqart corpus list`` shows them.
BUILTINS: dict[str, BuiltinCorpus | _Union] = {
    c.name: c for c in (_ESSEN, _HAN, _ONEILLS, _RYANS, _AIRDS, _FOLK, _BACH)
}


def music21_corpus_root() -> Path:
    """Folder of music21's shipped corpus, found without importing music21.

    Raises:
        CorpusError: if music21 is not installed.
    """
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError("built-in corpora come with music21, which is not installed (pip install music21)")
    return Path(list(spec.submodule_search_locations)[0]) / "corpus"


def list_builtins() -> list[tuple[str, int, str]]:
    """``(name, tunes, description)`` for every built-in corpus (no parsing; < 1 s in all).

    A corpus whose files are missing shows 0 tunes.
    """
    rows = []
    for c in BUILTINS.values():
        try:
            n = c.count_tunes()
        except CorpusError:
            n = 0
        rows.append((c.name, n, c.description))
    return rows


def music_extensions() -> tuple[str, ...]:
    """File extensions seqart reads (lower case, with the dot)."""
    from seqart.io import MUSIC_EXTENSIONS

    return tuple(MUSIC_EXTENSIONS)


def scan_folder(folder: Path, suffixes: tuple[str, ...] | None = None) -> list[Path]:
    """Music files under ``folder`` (recursive), sorted by relative path.

    Hidden files and everything inside hidden folders (names starting with ``.``)
    are skipped.

    Args:
        folder: the folder to scan.
        suffixes: extensions to keep (default: every format seqart reads).
    """
    suffixes = tuple(s.lower() for s in (suffixes or music_extensions()))
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):  # symlinked folders are not followed
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in suffixes:
                found.append(Path(dirpath) / name)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


@dataclass
class ResolvedSource:
    """What a SOURCE argument names.

    Attributes:
        kind: ``"builtin"``, ``"folder"``, ``"file"`` or ``"mat"``.
        name: the built-in name, or the absolute path as a string.
        root: folder that item labels are relative to (the music21 corpus root for
            built-ins, the folder itself, or the file's folder).
        files: the music files in source order (the ``.mat`` file for ``"mat"``).
    """

    kind: str
    name: str
    root: Path
    files: list[Path] = field(default_factory=list)

    def label(self, path: Path) -> str:
        """Short, machine-independent label of a file: its path relative to ``root``."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def resolve_source(source: str | Path) -> ResolvedSource:
    """Turn a SOURCE argument into the files it names.

    Raises:
        CorpusError: one line, for an unknown name, a folder without music files or
            a file seqart cannot read.
    """
    text = str(source)
    if text in BUILTINS:
        files = BUILTINS[text].paths()
        return ResolvedSource("builtin", text, music21_corpus_root(), files)
    path = Path(text).expanduser()
    if path.is_dir():
        path = path.resolve()
        files = scan_folder(path)
        if not files:
            raise CorpusError(
                f"no music files in {path} (looked recursively for {', '.join(music_extensions())})"
            )
        return ResolvedSource("folder", str(path), path, files)
    if path.is_file():
        path = path.resolve()
        suffix = path.suffix.lower()
        if suffix == ".mat":
            return ResolvedSource("mat", str(path), path.parent, [path])
        if suffix in music_extensions():
            return ResolvedSource("file", str(path), path.parent, [path])
        raise CorpusError(
            f"{path}: not a music file ({', '.join(music_extensions())}) nor a polyphonic benchmark .mat file"
        )
    names = ", ".join(BUILTINS)
    raise CorpusError(f"unknown corpus {text!r}: not a built-in ({names}) nor a file or folder")
