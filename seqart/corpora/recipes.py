"""Corpus recipes: one small JSON file per built-in corpus, in ``seqart/corpora/recipes/``.

A recipe says what a built-in corpus is and how ``seqart corpus build NAME`` builds
it when told nothing else::

    {
      "name": "han",
      "description": "Chinese (Han) folk songs from the Essen collection (ABC)",
      "order": 20,
      "source": {"files": ["essenFolksong/han1.abc", "essenFolksong/han2.abc"]},
      "filters": {"suffixes": [".abc"]},
      "representation": "melody",
      "tokenizer": {},
      "split": {"valid": 0.05, "test": 0.05}
    }

Keys (required unless marked optional):

- ``name``: the SOURCE name; the file is ``NAME.json``.
- ``description``: one line for ``seqart corpus list``.
- ``order`` (optional): position in ``seqart corpus list`` (lower first; recipes
  without one come last, by name).
- ``source``: ``files`` and/or ``folders`` relative to music21's shipped corpus
  folder (folders are scanned recursively, hidden entries skipped), or ``union``:
  other recipe names whose files are joined in that order.
- ``filters`` (optional): ``suffixes``, the file extensions that belong to the
  corpus (default: every format seqart reads), and ``exclude``, shell-style patterns
  matched against each file's path relative to the corpus folder (``*`` also
  crosses ``/``); a matching file is left out.
- ``representation``: the tokenizer a build uses unless told another.
- ``tokenizer`` (optional): tokenizer settings, under any given explicitly (used
  only when the build uses the recipe's representation).
- ``split``: ``valid`` and ``test`` fractions of the content-hash split.
- ``styles`` (optional): shell-style patterns over each file's name (``han*``)
  mapped to a style of :data:`seqart.score.STYLES` (or ``""``); a score whose
  reader found no style (no usable ABC ``R:`` field) gets the style of the first
  pattern its file's name matches, e.g. ``{"han*": "han-song", "*": "song"}``. A
  union's own ``styles`` apply to files its member recipes give no style.
- ``tracks`` (optional): track names mapped to MIDI programs, e.g. ``{"Soprano": 40,
  "Alto": 41, "Tenor": 42, "Bass": 43}``: of each score only the tracks whose names
  begin with one of them are kept (an instrument doubling a voice is dropped), each
  with its program, so that a multi-track tokenizer keeps four voices that all say
  program 0 apart; a score without exactly one track per name is skipped, and
  the build reports why.

JSON rather than TOML because seqart supports Python 3.10, which has no
``tomllib``. This module reads only those small files: no music21, no torch.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

from seqart.errors import CorpusError

#: Folder of the shipped recipes (package data).
RECIPE_DIR = Path(__file__).resolve().with_name("recipes")
#: Where ``seqart corpus build NAME`` writes a built-in corpus unless told otherwise
#: (relative to the current directory; git-ignored in the seqart repository).
BUILT_DIR = Path("corpora") / "built"
#: Representation and ``(valid, test)`` split fractions of a source without a recipe.
DEFAULT_REPRESENTATION = "melody"
DEFAULT_SPLIT = (0.05, 0.05)

_KEYS = ("name", "description", "order", "source", "filters", "representation", "tokenizer", "split", "styles",
         "tracks")
_REQUIRED = ("name", "description", "source", "representation", "split")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Recipe:
    """One built-in corpus as its recipe file states it (see the module docstring).

    Attributes:
        name: the SOURCE name (``"han"``).
        description: one line.
        files: files relative to music21's corpus folder.
        folders: folders relative to it, scanned recursively.
        union: names of other recipes whose files this one joins (then no files or folders).
        suffixes: extensions to keep (lower case, with the dot); None keeps every
            format seqart reads.
        exclude: shell-style patterns over paths relative to the corpus folder.
        representation: default tokenizer name.
        tokenizer: default tokenizer settings.
        valid_fraction: share of distinct sequences in the valid split.
        test_fraction: share in the test split.
        order: position in listings (None: after those that have one).
        path: the recipe file.
        styles: ``(pattern, style)`` pairs in recipe order: the style of a score
            without one, by its file's name (see :meth:`style_for`).
        tracks: ``(track name, program)`` pairs in recipe order: the tracks kept of
            each score, and their programs (:func:`seqart.corpora.build.select_tracks`).
    """

    name: str
    description: str
    files: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    union: tuple[str, ...] = ()
    suffixes: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    representation: str = DEFAULT_REPRESENTATION
    tokenizer: dict[str, Any] = field(default_factory=dict, hash=False)
    valid_fraction: float = DEFAULT_SPLIT[0]
    test_fraction: float = DEFAULT_SPLIT[1]
    order: int | None = None
    path: Path | None = None
    styles: tuple[tuple[str, str], ...] = ()
    tracks: tuple[tuple[str, int], ...] = ()

    def style_for(self, file_name: str) -> str:
        """The style of the first ``styles`` pattern ``file_name`` matches (a shell-style,
        case-sensitive match on the name alone, not its folder), or "" if none does."""
        return match_style(self.styles, file_name)

    @property
    def split_text(self) -> str:
        """``"5% / 5%"``: valid and test fractions, for listings."""
        return f"{self.valid_fraction * 100:g}% / {self.test_fraction * 100:g}%"


# ------------------------------------------------------------------ reading
def load_recipe(path: str | Path) -> Recipe:
    """Read and check one recipe file (a union's members are checked by :func:`load_recipes`).

    Raises:
        CorpusError: one line naming the file, for a file that cannot be read, is not
            JSON, or breaks the format: an unknown or missing key, a value of the
            wrong type, split fractions out of range, a union naming itself.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicate_keys)
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read the recipe ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise CorpusError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except ValueError as exc:  # a key twice
        raise CorpusError(f"{path}: {exc}") from None
    check = _Checker(path)
    data = check.mapping(data, "the recipe", _KEYS, _REQUIRED)

    name = check.text(data["name"], '"name"')
    if name != path.stem or not _NAME.match(name):
        check.fail(f'"name" must be the file name without .json ({path.stem!r}), got {name!r}')
    description = check.text(data["description"], '"description"')
    order = data.get("order")
    if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
        check.fail(f'"order" must be an integer, got {_type(order)}')

    source = check.mapping(data["source"], '"source"', ("files", "folders", "union"), ())
    files = check.strings(source.get("files", []), '"source" "files"', relative=True)
    folders = check.strings(source.get("folders", []), '"source" "folders"', relative=True)
    union = check.strings(source.get("union", []), '"source" "union"')
    if union and (files or folders):
        check.fail('"source" takes either "union" or "files"/"folders", not both')
    if not (union or files or folders):
        check.fail('"source" names no "files", "folders" or "union"')
    if name in union:
        check.fail(f'"source" "union" names the recipe itself ({name!r})')
    for label, items in (("files", files), ("folders", folders), ("union", union)):
        twice = next((x for i, x in enumerate(items) if x in items[:i]), None)
        if twice is not None:
            check.fail(f'"source" {label!r} names {twice!r} twice')

    filters = check.mapping(data.get("filters", {}), '"filters"', ("suffixes", "exclude"), ())
    suffixes = None
    if "suffixes" in filters:
        suffixes = tuple(s.lower() for s in check.strings(filters["suffixes"], '"filters" "suffixes"'))
        if not suffixes:
            check.fail('"filters" "suffixes" is empty (leave it out to keep every format seqart reads)')
        bad = next((s for s in suffixes if not re.fullmatch(r"\.[a-z0-9]+", s)), None)
        if bad is not None:
            check.fail(f'"filters" "suffixes" must be extensions like ".abc", got {bad!r}')
    exclude = check.strings(filters.get("exclude", []), '"filters" "exclude"')

    representation = check.text(data["representation"], '"representation"')
    from seqart.tokenizers import REGISTRY  # numpy only

    if representation not in REGISTRY:
        check.fail(f'"representation" {representation!r} is not one of {", ".join(REGISTRY)}')
    tokenizer = data.get("tokenizer", {})
    if not isinstance(tokenizer, dict):
        check.fail(f'"tokenizer" must be an object of settings, got {_type(tokenizer)}')

    split = check.mapping(data["split"], '"split"', ("valid", "test"), ("valid", "test"))
    valid, test = (check.number(split[k], f'"split" "{k}"') for k in ("valid", "test"))
    if not (0 <= valid < 1 and 0 <= test < 1 and valid + test < 1):
        check.fail(f'"split" fractions valid {valid:g} and test {test:g} must be >= 0 and sum to less than 1')

    styles = data.get("styles", {})
    if not isinstance(styles, dict):
        check.fail(f'"styles" must be an object of file-name patterns and styles, got {_type(styles)}')
    from seqart.score import STYLES  # the score model alone: no music21

    for pattern, style in styles.items():
        if not pattern.strip() or "/" in pattern or "\\" in pattern:
            check.fail(f'"styles" pattern {pattern!r} must match a file name (no folders)')
        if not isinstance(style, str) or (style and style not in STYLES):
            check.fail(f'"styles" {pattern!r} maps to {style!r}, not one of {", ".join(STYLES)} (or "")')

    tracks = data.get("tracks", {})
    if not isinstance(tracks, dict):
        check.fail(f'"tracks" must be an object of track names and programs, got {_type(tracks)}')
    for track, program in tracks.items():
        if not track.strip():
            check.fail('"tracks" has an empty track name')
        if isinstance(program, bool) or not isinstance(program, int) or not 0 <= program <= 127:
            check.fail(f'"tracks" {track!r} maps to {program!r}, not a MIDI program 0-127')

    return Recipe(name=name, description=description, files=files, folders=folders, union=union,
                  suffixes=suffixes, exclude=exclude, representation=representation, tokenizer=dict(tokenizer),
                  valid_fraction=float(valid), test_fraction=float(test), order=order, path=path,
                  styles=tuple(styles.items()), tracks=tuple((k.strip(), v) for k, v in tracks.items()))


def load_recipes(folder: str | Path = RECIPE_DIR) -> dict[str, Recipe]:
    """Every ``*.json`` recipe in ``folder``, by name, in listing order (``order``, then name).

    Raises:
        CorpusError: one line naming the file, for a malformed recipe (see
            :func:`load_recipe`) or a union naming an unknown recipe or, through
            other unions, itself.
    """
    found = [load_recipe(p) for p in sorted(Path(folder).glob("*.json"))]
    found.sort(key=lambda r: (r.order is None, r.order or 0, r.name))
    recipes = {r.name: r for r in found}
    for recipe in found:
        for part in recipe.union:
            if part not in recipes:
                raise CorpusError(f'{recipe.path}: "source" "union" names unknown recipe {part!r} '
                                  f"(known: {', '.join(recipes)})")
    for recipe in found:
        _check_no_cycle(recipe, recipes, ())
    return recipes


def _check_no_cycle(recipe: Recipe, recipes: dict[str, Recipe], trail: tuple[str, ...]) -> None:
    if recipe.name in trail:
        loop = trail[trail.index(recipe.name):] + (recipe.name,)
        raise CorpusError(f'{recipe.path}: "source" "union" includes itself ({" -> ".join(loop)})')
    for part in recipe.union:
        _check_no_cycle(recipes[part], recipes, trail + (recipe.name,))


@functools.lru_cache(maxsize=1)
def _shipped() -> dict[str, Recipe]:
    return load_recipes(RECIPE_DIR)


def builtin_recipes() -> dict[str, Recipe]:
    """The shipped recipes, by name, in listing order (read once per process)."""
    return dict(_shipped())


def recipe_for(source: str | Path) -> Recipe | None:
    """The recipe a SOURCE argument names, or None for a file, folder or anything else.

    A built-in name wins over a file or folder of the same name, as in
    :func:`seqart.corpora.registry.resolve_source`.
    """
    return _shipped().get(str(source))


def default_out_dir(name: str) -> Path:
    """``corpora/built/NAME``: where ``seqart corpus build NAME`` writes a built-in corpus."""
    return BUILT_DIR / name


# ----------------------------------------------------------------- building
def build_settings(source: str | Path, representation: str | None = None, tokenizer_config: dict | None = None,
                   valid_fraction: float | None = None, test_fraction: float | None = None) -> dict[str, Any]:
    """The representation, tokenizer settings and split fractions a build of ``source`` uses.

    Each None is filled from the recipe ``source`` names; for any other source from
    :data:`DEFAULT_REPRESENTATION` and :data:`DEFAULT_SPLIT` (and no tokenizer
    settings). A recipe's tokenizer settings apply only when the build uses the
    recipe's representation, and explicit settings win over them key by key.

    Returns:
        ``{"representation", "tokenizer_config", "valid_fraction", "test_fraction"}``.
    """
    recipe = recipe_for(source)
    if recipe is None:
        recipe_rep, recipe_config, (valid, test) = DEFAULT_REPRESENTATION, {}, DEFAULT_SPLIT
    else:
        recipe_rep, recipe_config = recipe.representation, recipe.tokenizer
        valid, test = recipe.valid_fraction, recipe.test_fraction
    representation = recipe_rep if representation is None else representation
    config = dict(recipe_config) if representation == recipe_rep else {}
    config.update(tokenizer_config or {})
    return {
        "representation": representation,
        "tokenizer_config": config,
        "valid_fraction": valid if valid_fraction is None else valid_fraction,
        "test_fraction": test if test_fraction is None else test_fraction,
    }


def match_style(styles: tuple[tuple[str, str], ...] | dict[str, str], file_name: str) -> str:
    """The style of the first ``(pattern, style)`` whose shell-style pattern matches
    ``file_name`` (case-sensitive), or "" if none does.

    >>> match_style({"han*": "han-song", "*": "song"}, "han1.abc")
    'han-song'
    """
    pairs = styles.items() if isinstance(styles, dict) else styles
    return next((style for pattern, style in pairs if fnmatchcase(file_name, pattern)), "")


# ----------------------------------------------------------------- checking
def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} given twice")
        out[key] = value
    return out


def _type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


class _Checker:
    """Type checks of a recipe's values; every failure is one line naming the file."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, problem: str) -> NoReturn:
        raise CorpusError(f"{self.path}: {problem}")

    def mapping(self, value: Any, what: str, keys: tuple[str, ...], required: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            self.fail(f"{what} must be an object, got {_type(value)}")
        unknown = next((k for k in value if k not in keys), None)
        if unknown is not None:
            self.fail(f"unknown key {unknown!r} in {what} (known: {', '.join(keys)})")
        missing = next((k for k in required if k not in value), None)
        if missing is not None:
            self.fail(f"missing key {missing!r} in {what}")
        return value

    def text(self, value: Any, what: str) -> str:
        if not isinstance(value, str):
            self.fail(f"{what} must be text, got {_type(value)}")
        if not value.strip() or "\n" in value:
            self.fail(f"{what} must be one non-empty line, got {value!r}")
        return value

    def strings(self, value: Any, what: str, relative: bool = False) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.fail(f"{what} must be a list, got {_type(value)}")
        for v in value:
            if not isinstance(v, str) or not v.strip():
                self.fail(f"{what} must hold non-empty texts, got {v!r}")
            p = PurePosixPath(v)
            if relative and (p.is_absolute() or "\\" in v or ".." in p.parts):
                self.fail(f"{what}: {v!r} must be a path relative to music21's corpus folder, with /")
        return tuple(value)

    def number(self, value: Any, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"{what} must be a number, got {_type(value)}")
        return float(value)
