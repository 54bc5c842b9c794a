"""Tests of the corpus recipes (seqart/corpora/recipes/*.json) and of what reads them:
the registry of built-in corpora, ``build_corpus`` and ``seqart corpus build NAME``."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqart.cli import app
from seqart.corpora import BUILTINS, build_corpus, list_builtins, recipes
from seqart.corpora.recipes import RECIPE_DIR, Recipe, build_settings, load_recipe, load_recipes
from seqart.corpora.registry import corpora_from_recipes, resolve_source
from seqart.errors import CorpusError

NAMES = ["essen", "han", "oneills", "ryans", "airds", "folk", "bach", "bach-satb"]

#: ``list_builtins()`` as the hard-coded table gave it before the recipes (music21 10.5.1).
BEFORE_RECIPES = [
    ("essen", 8514, "Essen folk song collection: German, Chinese and other European songs (ABC)"),
    ("han", 1224, "Chinese (Han) folk songs from the Essen collection (ABC)"),
    ("oneills", 2009, "O'Neill's Music of Ireland (1850): Irish dance tunes and airs (ABC)"),
    ("ryans", 1059, "Ryan's Mammoth Collection (1883): fiddle reels, jigs and hornpipes (ABC)"),
    ("airds", 1180, "Aird's Airs: Scottish, Irish and other 18th-century melodies (ABC)"),
    ("folk", 12762, "All folk melodies: essen + oneills + ryans + airds (ABC)"),
    ("bach", 410, "J. S. Bach four-part chorales (MusicXML/MXL, polyphonic)"),
]
#: recipes added since, with their listing rows
SINCE_RECIPES = [
    ("bach-satb", 410, "J. S. Bach four-part chorales as four instruments (soprano, alto, tenor, bass; event "
                       "tokens)"),
]

needs_music21 = pytest.mark.skipif(importlib.util.find_spec("music21") is None,
                                   reason="the built-in corpora come with music21")

TUNE = "X:1\nT:One\nM:4/4\nL:1/8\nK:G\nGABc dedB|c2e2 d2B2|ABAG E2D2|G6 z2|\n"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own parse cache."""
    monkeypatch.setenv("SEQART_CACHE_DIR", str(tmp_path / "cache"))


def write_recipe(folder: Path, file_name: str, **changes) -> Path:
    """A valid recipe file ``folder/FILE_NAME.json``; a change of None drops that key."""
    data = {"name": file_name, "description": f"the {file_name} corpus",
            "source": {"files": ["essenFolksong/han1.abc"]}, "filters": {"suffixes": [".abc"]},
            "representation": "melody", "tokenizer": {}, "split": {"valid": 0.05, "test": 0.05}}
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    path = folder / f"{file_name}.json"
    path.write_text(json.dumps(data))
    return path


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


# ---------------------------------------------------------- shipped recipes
@pytest.mark.parametrize("path", sorted(RECIPE_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_shipped_recipe_loads(path):
    recipe = load_recipe(path)
    assert recipe.name == path.stem and recipe.description
    assert recipe.representation == ("events" if recipe.tracks else "melody") and recipe.tokenizer == {}
    assert (recipe.valid_fraction, recipe.test_fraction) == (0.05, 0.05)


def test_the_builtins_come_from_the_recipes():
    shipped = load_recipes()
    assert list(shipped) == NAMES == list(BUILTINS)
    assert all(BUILTINS[name].recipe == shipped[name] for name in NAMES)
    assert shipped["folk"].union == ("essen", "oneills", "ryans", "airds")
    assert [part.name for part in BUILTINS["folk"].parts] == ["essen", "oneills", "ryans", "airds"]


@needs_music21
def test_names_descriptions_and_tune_counts_are_as_before():
    assert list_builtins() == BEFORE_RECIPES + SINCE_RECIPES
    assert resolve_source("folk").files == [p for n in ("essen", "oneills", "ryans", "airds")
                                            for p in BUILTINS[n].paths()]


def test_importing_the_corpora_reads_recipes_but_not_music21_or_torch():
    code = "import sys, seqart.corpora; print(sorted({'music21', 'torch'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------- malformed recipes
BAD = [
    ("unknown-key", {"splits": {"valid": 0.1}}, "unknown key 'splits' in the recipe"),
    ("unknown-source-key", {"source": {"folder": ["bach"]}}, "unknown key 'folder' in \"source\""),
    ("unknown-split-key", {"split": {"valid": 0.1, "test": 0.1, "train": 0.8}}, "unknown key 'train' in \"split\""),
    ("missing-key", {"split": None}, "missing key 'split' in the recipe"),
    ("missing-test-fraction", {"split": {"valid": 0.1}}, "missing key 'test' in \"split\""),
    ("fraction-as-text", {"split": {"valid": "0.1", "test": 0.1}}, '"split" "valid" must be a number, got text'),
    ("fraction-as-bool", {"split": {"valid": True, "test": 0.1}}, "must be a number, got true/false"),
    ("fraction-negative", {"split": {"valid": -0.1, "test": 0.1}}, "must be >= 0 and sum to less than 1"),
    ("fraction-one", {"split": {"valid": 1, "test": 0}}, "must be >= 0 and sum to less than 1"),
    ("fractions-sum-to-one", {"split": {"valid": 0.5, "test": 0.5}}, "must be >= 0 and sum to less than 1"),
    ("source-not-an-object", {"source": ["bach"]}, '"source" must be an object, got a list'),
    ("source-empty", {"source": {}}, 'names no "files", "folders" or "union"'),
    ("folders-not-a-list", {"source": {"folders": "bach"}}, '"source" "folders" must be a list, got text'),
    ("folder-absolute", {"source": {"folders": ["/etc"]}}, "must be a path relative to music21's corpus folder"),
    ("folder-above", {"source": {"folders": ["../x"]}}, "must be a path relative to music21's corpus folder"),
    ("union-and-folders", {"source": {"union": ["han"], "folders": ["bach"]}}, 'either "union" or'),
    ("union-of-itself", {"source": {"union": ["bad"]}}, "names the recipe itself ('bad')"),
    ("suffix-without-dot", {"filters": {"suffixes": ["abc"]}}, 'must be extensions like ".abc", got \'abc\''),
    ("suffixes-empty", {"filters": {"suffixes": []}}, '"filters" "suffixes" is empty'),
    ("exclude-not-texts", {"filters": {"exclude": [3]}}, '"filters" "exclude" must hold non-empty texts, got 3'),
    ("unknown-filter", {"filters": {"min_notes": 8}}, "unknown key 'min_notes' in \"filters\""),
    ("unknown-representation", {"representation": "melodie"}, "\"representation\" 'melodie' is not one of melody"),
    ("tokenizer-not-an-object", {"tokenizer": "steps_per_beat=2"}, '"tokenizer" must be an object of settings'),
    ("name-not-the-file-name", {"name": "other"}, "\"name\" must be the file name without .json ('bad')"),
    ("description-two-lines", {"description": "one\ntwo"}, '"description" must be one non-empty line'),
    ("order-as-text", {"order": "first"}, '"order" must be an integer, got text'),
]


@pytest.mark.parametrize("changes, message", [pytest.param(c, m, id=i) for i, c, m in BAD])
def test_a_malformed_recipe_is_one_line_naming_the_file(tmp_path, changes, message):
    path = write_recipe(tmp_path, "bad", **changes)
    with pytest.raises(CorpusError) as info:
        load_recipe(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert message in text


@pytest.mark.parametrize("content, message", [
    ("{\"name\": \"bad\",", "not valid JSON (Expecting property name enclosed in double quotes at line 1"),
    ("[1, 2]", "the recipe must be an object, got a list"),
    ('{"name": "bad", "name": "bad"}', "key 'name' given twice"),
    (b"\xff\xfe{}", "not UTF-8 text"),
], ids=["truncated", "a-list", "key-twice", "not-utf8"])
def test_a_recipe_that_is_not_a_json_object_is_refused(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(CorpusError, match="^" + str(path)) as info:
        load_recipe(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_union_of_an_unknown_recipe_or_of_itself_is_refused(tmp_path):
    write_recipe(tmp_path, "one")
    both = write_recipe(tmp_path, "both", source={"union": ["one", "two"]})
    with pytest.raises(CorpusError, match=f"^{both}: \"source\" \"union\" names unknown recipe 'two' "
                                          r"\(known: both, one\)$"):
        load_recipes(tmp_path)
    write_recipe(tmp_path, "two", source={"union": ["both"]})
    with pytest.raises(CorpusError, match=r"\"union\" includes itself \((both -> two -> both|two -> both -> two)\)"):
        load_recipes(tmp_path)


def test_recipes_are_listed_by_order_then_name(tmp_path):
    write_recipe(tmp_path, "zeta", order=1)
    write_recipe(tmp_path, "alpha")
    write_recipe(tmp_path, "beta", order=2)
    write_recipe(tmp_path, "gamma")
    assert list(load_recipes(tmp_path)) == ["zeta", "beta", "alpha", "gamma"]


# ------------------------------------------------------------------ filters
@needs_music21
def test_filters_choose_the_files(tmp_path):
    write_recipe(tmp_path, "han", source={"files": ["essenFolksong/han1.abc", "essenFolksong/han2.abc"]},
                 filters={"exclude": ["*/han2.*"]})
    write_recipe(tmp_path, "chorales", source={"folders": ["bach"]}, filters={"suffixes": [".XML"]})
    write_recipe(tmp_path, "both", source={"union": ["han", "chorales"]},
                 filters={"exclude": ["bach/bwv67*"], "suffixes": [".xml"]})
    corpora = corpora_from_recipes(load_recipes(tmp_path))
    assert [p.name for p in corpora["han"].paths()] == ["han1.abc"]
    chorales = corpora["chorales"].paths()
    assert chorales and {p.suffix for p in chorales} == {".xml"}
    assert chorales == [p for p in BUILTINS["bach"].paths() if p.suffix == ".xml"]
    both = corpora["both"].paths()
    assert both == [p for p in chorales if not p.name.startswith("bwv67")] and len(both) < len(chorales)


# ----------------------------------------------------------------- building
def han_recipe() -> Recipe:
    """han as a recipe with tokenizer settings and another split would state it."""
    return Recipe("han", "patched", files=("essenFolksong/han1.abc", "essenFolksong/han2.abc"),
                  suffixes=(".abc",), representation="melody", tokenizer={"steps_per_beat": 2},
                  valid_fraction=0.2, test_fraction=0.1)


def test_build_settings_come_from_the_recipe_unless_given(monkeypatch):
    monkeypatch.setattr(recipes, "_shipped", lambda: {"han": han_recipe()})
    assert build_settings("han") == {"representation": "melody", "tokenizer_config": {"steps_per_beat": 2},
                                     "valid_fraction": 0.2, "test_fraction": 0.1}
    given = build_settings("han", tokenizer_config={"min_pitch": 40}, valid_fraction=0.0)
    assert given["tokenizer_config"] == {"steps_per_beat": 2, "min_pitch": 40} and given["valid_fraction"] == 0.0
    assert build_settings("han", tokenizer_config={"steps_per_beat": 4})["tokenizer_config"] == {"steps_per_beat": 4}
    other = build_settings("han", representation="events")  # melody settings do not carry over
    assert other["representation"] == "events" and other["tokenizer_config"] == {}
    assert build_settings(Path("some/folder")) == {"representation": "melody", "tokenizer_config": {},
                                                   "valid_fraction": 0.05, "test_fraction": 0.05}


@needs_music21
def test_a_recipe_reaches_the_build_and_its_manifest(tmp_path, monkeypatch):
    shipped = build_corpus("han", tmp_path / "shipped", limit=5, workers=1, progress=False)
    m = manifest(tmp_path / "shipped")
    assert (shipped.representation, m["representation"], m["source"]) == ("melody", "melody", "han")
    assert m["split_fractions"] == {"valid": 0.05, "test": 0.05} and m["counts"]["units"] == 5

    monkeypatch.setattr(recipes, "_shipped", lambda: {"han": han_recipe()})
    build_corpus("han", tmp_path / "patched", limit=5, workers=1, progress=False)
    m = manifest(tmp_path / "patched")
    assert m["tokenizer"]["config"]["steps_per_beat"] == 2
    assert m["split_fractions"] == {"valid": 0.2, "test": 0.1}
    build_corpus("han", tmp_path / "given", tokenizer_config={"steps_per_beat": 4}, test_fraction=0.3,
                 limit=5, workers=1, progress=False)
    m = manifest(tmp_path / "given")
    assert m["tokenizer"]["config"]["steps_per_beat"] == 4
    assert m["split_fractions"] == {"valid": 0.2, "test": 0.3}


def test_positional_arguments_keep_their_places(tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    (folder / "tune.abc").write_text(TUNE)
    report = build_corpus(folder, tmp_path / "out", "melody", {"steps_per_beat": 2}, 1, 0.0, 0.0, True, False)
    m = manifest(tmp_path / "out")
    assert report.kept == 1 and m["split_fractions"] == {"valid": 0.0, "test": 0.0}
    assert m["tokenizer"]["config"]["steps_per_beat"] == 2


# --------------------------------------------------------------------- CLI
@needs_music21
def test_cli_builds_a_recipe_into_corpora_built(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["corpus", "build", "han", "--limit", "3", "--workers", "1"])
    assert result.exit_code == 0, result.output
    out = Path("corpora") / "built" / "han"
    assert "corpora/built/han: kept 3 sequences" in result.output
    m = manifest(tmp_path / out)
    assert (m["source"], m["representation"], m["counts"]["units"]) == ("han", "melody", 3)
    assert m["split_fractions"] == {"valid": 0.05, "test": 0.05}
    events = CliRunner().invoke(app, ["corpus", "build", "han", "-r", "events", "--limit", "3", "--workers", "1",
                                      "-o", "elsewhere"])
    assert events.exit_code == 0, events.output
    assert manifest(tmp_path / "elsewhere")["representation"] == "events"


def test_cli_folder_without_out_is_one_error_line(tmp_path, monkeypatch):
    folder = tmp_path / "music"
    folder.mkdir()
    (folder / "tune.abc").write_text(TUNE)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["corpus", "build", str(folder)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: no output folder given for {folder}: only a built-in corpus (essen, han")
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not (tmp_path / "corpora").exists()
