"""Built-in corpora (from music21's shipped corpus) and resolution of a SOURCE argument.

A SOURCE names one of:

- a built-in corpus (``essen``, ``han``, ``oneills``, ``ryans``, ``airds``, ``folk``, ``bach``),
  each described by a recipe file (see :mod:`seqart.corpora.recipes`);
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
from fnmatch import fnmatchcase
from pathlib import Path

from seqart.corpora.recipes import Recipe, builtin_recipes
from seqart.errors import CorpusError

_X_LINE = re.compile(rb"^X:", re.MULTILINE)


@dataclass(frozen=True)
class BuiltinCorpus:
    """A built-in corpus: the files its recipe selects from music21's corpus folder.

    Attributes:
        recipe: the recipe (see :mod:`seqart.corpora.recipes`).
        parts: for a union recipe, the corpora it joins, in order.
    """

    recipe: Recipe
    parts: tuple["BuiltinCorpus", ...] = ()

    @property
    def name(self) -> str:
        """The name a SOURCE argument uses (``"han"``)."""
        return self.recipe.name

    @property
    def description(self) -> str:
        """One line for ``seqart corpus list``."""
        return self.recipe.description

    def paths(self) -> list[Path]:
        """The corpus files as absolute paths: listed files, then each folder's files
        sorted (or each part's files in turn), less those the recipe's filters drop.

        Raises:
            CorpusError: if music21 (which ships the files) is not installed or the
                files are missing from it.
        """
        root = music21_corpus_root()
        recipe = self.recipe
        found: list[Path] = [p for part in self.parts for p in part.paths()]
        for rel in recipe.files:
            p = root / rel
            if not p.is_file():
                raise CorpusError(f"built-in corpus {self.name!r}: {p} is missing from the music21 install")
            found.append(p)
        for rel in recipe.folders:
            folder = root / rel
            if not folder.is_dir():
                raise CorpusError(f"built-in corpus {self.name!r}: {folder} is missing from the music21 install")
            found.extend(scan_folder(folder, recipe.suffixes))
        if recipe.suffixes is not None:
            found = [p for p in found if p.suffix.lower() in recipe.suffixes]
        if recipe.exclude:
            found = [p for p in found
                     if not any(fnmatchcase(p.relative_to(root).as_posix(), pat) for pat in recipe.exclude)]
        return found

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


def corpora_from_recipes(recipes: dict[str, Recipe]) -> dict[str, BuiltinCorpus]:
    """A :class:`BuiltinCorpus` per recipe, in the same order, unions joined to their parts.

    ``recipes`` must be checked as :func:`seqart.corpora.recipes.load_recipes` does
    (every union member known, no loops).
    """
    made: dict[str, BuiltinCorpus] = {}

    def make(name: str) -> BuiltinCorpus:
        if name not in made:
            recipe = recipes[name]
            made[name] = BuiltinCorpus(recipe, tuple(make(part) for part in recipe.union))
        return made[name]

    return {name: make(name) for name in recipes}


#: name -> built-in corpus, one per shipped recipe, in the order ``seqart corpus list`` shows them.
BUILTINS: dict[str, BuiltinCorpus] = corpora_from_recipes(builtin_recipes())


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
