"""Real modes in key signatures and tune styles (issues 16 and 17): the score model,
the readers and writers, the sampling constraints and the corpus recipes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from seqart import KeySignature, Note, Score, TimeSignature, Track
from seqart.corpora import build_corpus, recipes, registry
from seqart.corpora.build import file_styles
from seqart.corpora.recipes import Recipe, load_recipe, match_style
from seqart.errors import CorpusError, ScoreError
from seqart.generate.constraints import allowed_pitch_classes
from seqart.io import read_score, read_scores, write_score
from seqart.io.music21_reader import abc_key, parse_abc_tune
from seqart.score import MODES, STYLES, normalise_style

needs_music21 = pytest.mark.skipif(importlib.util.find_spec("music21") is None,
                                   reason="the built-in corpora come with music21")


def tune(key: str, rhythm: str | None = None) -> str:
    r = f"R:{rhythm}\n" if rhythm is not None else ""
    return f"X:1\nT:Test\n{r}M:4/4\nL:1/8\nK:{key}\nABcd efga|gfed cBAG|A8|\n"


# ------------------------------------------------------------- score model
@pytest.mark.parametrize("text, tonic, mode", [
    ("A dorian", 9, "dorian"), ("Ador", 9, "dorian"), ("A Dor", 9, "dorian"), ("ADorian", 9, "dorian"),
    ("Amix", 9, "mixolydian"), ("D mixolydian", 2, "mixolydian"), ("F# phrygian", 6, "phrygian"),
    ("Bb lydian", 10, "lydian"), ("Bloc", 11, "locrian"), ("D minor", 2, "minor"), ("Dm", 2, "minor"),
    ("G", 7, "major"), ("g", 7, "minor"), ("E aeolian", 4, "minor"), ("C ionian", 0, "major"),
    ("Ebmix", 3, "mixolydian"), ("c# dorian", 1, "dorian"),
])
def test_parse_modal_keys(text, tonic, mode):
    key = KeySignature.parse(text)
    assert (key.tonic, key.mode) == (tonic, mode)


@pytest.mark.parametrize("text", ["A klingon", "Ami", "A dorian minor", "Am inor"])
def test_parse_refuses_unknown_modes(text):
    with pytest.raises(ScoreError, match="mode must be one of major, minor, dorian"):
        KeySignature.parse(text)


def test_constructor_normalises_ionian_aeolian_and_refuses_unknown_modes():
    assert KeySignature(0, 9, "aeolian").mode == "minor"
    assert KeySignature(0, 0, "Ionian").mode == "major"
    assert KeySignature(0, 0, "Dorian") == KeySignature(0, 0, "dorian")
    with pytest.raises(ScoreError, match="unknown mode 'hypodorian'"):
        KeySignature(0, 0, "hypodorian")


@pytest.mark.parametrize("text, scale, family, fifths, name", [
    ("A dorian", (9, 11, 0, 2, 4, 6, 7), "minor", 1, "A dorian"),
    ("D mixolydian", (2, 4, 6, 7, 9, 11, 0), "major", 1, "D mixolydian"),
    ("E phrygian", (4, 5, 7, 9, 11, 0, 2), "minor", 0, "E phrygian"),
    ("F lydian", (5, 7, 9, 11, 0, 2, 4), "major", 0, "F lydian"),
    ("B locrian", (11, 0, 2, 4, 5, 7, 9), "minor", 0, "B locrian"),
    ("F# minor", (6, 8, 9, 11, 1, 2, 4), "minor", 3, "F# minor"),
    ("Bb major", (10, 0, 2, 3, 5, 7, 9), "major", -2, "Bb major"),
    ("G dorian", (7, 9, 10, 0, 2, 4, 5), "minor", -1, "G dorian"),
])
def test_scale_family_signature_and_name(text, scale, family, fifths, name):
    key = KeySignature.parse(text)
    assert (key.scale, key.family, key.signature_fifths, key.name, str(key)) == (scale, family, fifths, name, name)


def test_every_mode_shares_its_signature_with_its_scale():
    for mode in MODES:
        for tonic in range(12):
            key = KeySignature(0, tonic, mode)
            parent = KeySignature(0, (7 * key.signature_fifths) % 12, "major")
            assert set(key.scale) == set(parent.scale), key


@pytest.mark.parametrize("text, style", [
    ("Reel", "reel"), ("reel", "reel"), ("REEL", "reel"), (" reel ", "reel"), ("reels", "reel"),
    ("Jig", "jig"), ("double jig", "jig"), ("single jig", "jig"), ("slipjig", "slip-jig"),
    ("slip jig", "slip-jig"), ("Slip-Jig", "slip-jig"), ("hornpipe", "hornpipe"), ("clog", "hornpipe"),
    ("strathspey", "strathspey"), ("highland fling", "strathspey"), ("air", "air"), ("slow air", "air"),
    ("waltz", "waltz"), ("march", "march"), ("polka", "polka"), ("Slide", "slide"), ("mazurka", "mazurka"),
    ("han-song", "han-song"), ("Liebes - Lied", ""), ("Xiaodiao]", ""), ("set dance", ""), ("", ""),
])
def test_normalise_style(text, style):
    assert normalise_style(text) == style
    assert style == "" or style in STYLES


def test_style_is_carried_by_copies_transforms_and_plain_data():
    score = Score(tracks=[Track([Note(60, 0, 1), Note(62, 1, 1)])], title="t", style="reel",
                  key_signatures=[KeySignature(0, 9, "dorian")])
    for out in (score.copy(), score.sorted(), score.transpose(2), score.slice(0, 1), score.quantize(4),
                score.monophonic(), score.append(score), Score.from_dict(json.loads(json.dumps(score.to_dict())))):
        assert out.style == "reel"
    assert score.transpose(2).key_signatures == [KeySignature(0, 11, "dorian")]
    assert Score.from_dict(score.to_dict()) == score
    assert score != Score.from_dict({**score.to_dict(), "style": "jig"})
    assert Score.from_dict({k: v for k, v in score.to_dict().items() if k != "style"}).style == ""


# ----------------------------------------------------------------- readers
@pytest.mark.parametrize("key, tonic, mode", [
    ("Ador", 9, "dorian"), ("Dmix", 2, "mixolydian"), ("E dorian", 4, "dorian"), ("Bm", 11, "minor"),
    ("A Dor ^c", 9, "dorian"), ("Bloc", 11, "locrian"), ("G", 7, "major"), ("E phr -8va", 4, "phrygian"),
])
def test_abc_keys_keep_their_mode(key, tonic, mode):
    score = parse_abc_tune(tune(key), "t.abc")
    assert [(k.beat, k.tonic, k.mode) for k in score.key_signatures] == [(0.0, tonic, mode)]


def test_abc_key_field_reader():
    assert abc_key("X:1\nK:Ador % a comment\n") == KeySignature(0, 9, "dorian")
    assert abc_key("X:1\nK:G clef=bass\n") == KeySignature(0, 7, "major")
    assert abc_key("X:1\nK:HP\n") is None and abc_key("X:1\nK:none\n") is None and abc_key("X:1\n") is None


@pytest.mark.parametrize("rhythm, style", [
    ("reel", "reel"), ("Reel", "reel"), ("double jig", "jig"), ("slipjig", "slip-jig"),
    ("Set dance", ""), (" Liebes - Lied", ""), (None, ""),
])
def test_abc_rhythm_field_gives_the_style(rhythm, style):
    assert parse_abc_tune(tune("G", rhythm), "t.abc").style == style


def test_abc_tune_book_reads_modes_and_styles(tmp_path):
    path = tmp_path / "book.abc"
    path.write_text(tune("Ador", "reel") + "\n" + tune("Dmix", "hornpipe").replace("X:1", "X:2"))
    scores = read_scores(path)
    assert [(s.key.name, s.style) for s in scores] == [("A dorian", "reel"), ("D mixolydian", "hornpipe")]


def dorian_score() -> Score:
    return Score(tracks=[Track([Note(69, 0, 1), Note(71, 1, 1), Note(72, 2, 1), Note(66, 3, 1)])],
                 time_signatures=[TimeSignature(0, 4, 4)], key_signatures=[KeySignature(0, 9, "dorian")],
                 style="reel")


@pytest.mark.parametrize("mode", ["dorian", "locrian", "lydian", "mixolydian", "phrygian", "minor", "major"])
def test_musicxml_round_trip_keeps_the_mode(tmp_path, mode):
    score = dorian_score()
    score.key_signatures = [KeySignature(0, 9, mode)]
    path = write_score(score, tmp_path / "modal.musicxml")
    text = path.read_text()
    assert f"<fifths>{score.key.signature_fifths}</fifths>" in text and f"<mode>{mode}</mode>" in text
    assert read_score(path).key_signatures == score.key_signatures


def test_musicxml_dorian_file_reads_as_dorian(tmp_path):
    path = write_score(dorian_score(), tmp_path / "d.musicxml")
    path.write_text(path.read_text().replace("<fifths>1</fifths>", "<fifths>0</fifths>"))
    assert read_score(path).key == KeySignature(0, 2, "dorian")  # no sharps, dorian: D dorian


def test_midi_writes_a_mode_as_its_signature_and_family(tmp_path):
    """MIDI knows major and minor only: A dorian is written with G major's signature
    (one sharp) and the minor flag of its family, and reads back as E minor: the same
    seven notes, the tonic and mode lost."""
    import symusic

    path = write_score(dorian_score(), tmp_path / "d.mid")
    sig = symusic.Score(str(path)).key_signatures[0]
    assert (sig.key, sig.tonality) == (1, 1)
    back = read_score(path)
    assert back.key_signatures == [KeySignature(0.0, 4, "minor")]
    assert set(back.key.scale) == set(KeySignature(0, 9, "dorian").scale)
    mixo = dorian_score()
    mixo.key_signatures = [KeySignature(0, 2, "mixolydian")]
    assert read_score(write_score(mixo, tmp_path / "m.mid")).key_signatures == [KeySignature(0.0, 7, "major")]


# ------------------------------------------------------------- constraints
def test_constraints_allow_the_modes_own_notes():
    assert allowed_pitch_classes(KeySignature.parse("A dorian"), None) == {9, 11, 0, 2, 4, 6, 7}
    assert allowed_pitch_classes(KeySignature.parse("D mixolydian"), None) == {2, 4, 6, 7, 9, 11, 0}
    assert allowed_pitch_classes(KeySignature.parse("G major"), None) == {7, 9, 11, 0, 2, 4, 6}
    # minor keeps natural, harmonic and melodic forms
    assert allowed_pitch_classes(KeySignature.parse("A minor"), None) == {9, 11, 0, 2, 4, 5, 6, 7, 8}
    assert allowed_pitch_classes(KeySignature.parse("A dorian"), "pentatonic") == {9, 0, 2, 4, 7}
    assert allowed_pitch_classes(KeySignature.parse("D mixolydian"), "pentatonic") == {2, 4, 6, 9, 11}


# ----------------------------------------------------------------- corpora
def test_match_style_takes_the_first_matching_pattern():
    styles = {"han*": "han-song", "*": "song"}
    assert [match_style(styles, n) for n in ("han1.abc", "han2.abc", "erk5.abc")] == ["han-song", "han-song", "song"]
    assert match_style((("irl*", "air"),), "erk5.abc") == ""
    recipe = Recipe("x", "x", folders=("f",), styles=(("*.abc", "reel"),))
    assert recipe.style_for("a.abc") == "reel" and recipe.style_for("a.mid") == ""


def write_recipe(folder: Path, **changes) -> Path:
    data = {"name": "mini", "description": "mini", "source": {"folders": ["songs"]},
            "representation": "melody", "split": {"valid": 0.0, "test": 0.0}, **changes}
    path = folder / "mini.json"
    path.write_text(json.dumps(data))
    return path


def test_recipe_styles_are_read_and_checked(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path, styles={"han*": "han-song", "*": "song"}))
    assert recipe.styles == (("han*", "han-song"), ("*", "song"))
    assert load_recipe(write_recipe(tmp_path)).styles == ()
    for styles, message in [(["han*"], '"styles" must be an object'),
                            ({"han*": "Han Song"}, "not one of reel, jig"),
                            ({"a/han*": "song"}, "must match a file name"),
                            ({"*": 3}, "not one of reel")]:
        with pytest.raises(CorpusError, match=message):
            load_recipe(write_recipe(tmp_path, styles=styles))


@needs_music21
def test_essen_recipe_tags_han_files_and_folk_inherits_it():
    essen = file_styles(registry.resolve_source("essen"))
    assert {Path(p).name for p, s in essen.items() if s == "han-song"} == {"han1.abc", "han2.abc"}
    assert set(essen.values()) == {"han-song", "song"}
    folk = file_styles(registry.resolve_source("folk"))
    assert folk == essen  # the other members give no style; their R: fields do


@needs_music21
def test_a_build_gives_recipe_styles_to_scores_without_one(tmp_path, monkeypatch):
    root = tmp_path / "corpus"
    (root / "songs").mkdir(parents=True)
    (root / "songs" / "han1.abc").write_text(tune("G") + "\n" + tune("Ador", "reel").replace("X:1", "X:2"))
    (root / "songs" / "deu1.abc").write_text(tune("D"))
    recipe = Recipe("mini", "mini", folders=("songs",), suffixes=(".abc",), valid_fraction=0.0,
                    test_fraction=0.0, styles=(("han*", "han-song"), ("*", "song")))
    monkeypatch.setattr(recipes, "_shipped", lambda: {"mini": recipe})
    monkeypatch.setattr(registry, "BUILTINS", registry.corpora_from_recipes({"mini": recipe}))
    monkeypatch.setattr(registry, "music21_corpus_root", lambda: root)
    monkeypatch.setenv("SEQART_CACHE_DIR", str(tmp_path / "cache"))
    from seqart.tokenizers.melody import MelodyTokenizer

    seen = []
    encode = MelodyTokenizer.encode

    def spy(self, score, *args, **kwargs):
        seen.append((score.source, score.style, score.key.name))
        return encode(self, score, *args, **kwargs)

    monkeypatch.setattr(MelodyTokenizer, "encode", spy)
    report = build_corpus("mini", tmp_path / "out", workers=1, progress=False)
    assert report.kept == 3
    assert sorted(seen) == [("songs/deu1.abc#1", "song", "D major"),
                            ("songs/han1.abc#1", "han-song", "G major"),
                            ("songs/han1.abc#2", "reel", "A dorian")]  # its own R: wins
