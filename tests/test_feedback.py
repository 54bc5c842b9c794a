"""Rate it and tune on it: the feedback store, ``seqart rate``, ``seqart tune`` and ``seqart train --from``."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from seqart.cli import app
from seqart.feedback.store import (
    SCHEMA_VERSION,
    STORE_NAME,
    FeedbackError,
    FeedbackStore,
    parse_rating,
    record_samples,
    store_path,
)
from tests.melody_factory import random_melody, write_melody_folder
from tests.train_fixtures import tiny_corpus, tiny_run  # noqa: F401

runner = CliRunner()
FAST = ["--steps", "12", "--threads", "1", "--device", "cpu", "--lr", "0.01"]


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch):
    """Shipped models' stores and the parse cache go to temporary folders, never to the home folder."""
    monkeypatch.setenv("SEQART_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SEQART_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def model(tiny_run, tmp_path):
    """A private copy of the tiny trained model folder (its store is written inside it)."""
    return shutil.copytree(tiny_run / "model", tmp_path / "m")


def melodies(folder, count, start=0):
    """``count`` MIDI melodies in ``folder``: ``walk<i>.mid``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folder / f"walk{i}.mid"
        random_melody(i, bars=4, tonic=i % 12).write(path)
        paths.append(path)
    return paths


def one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.strip().splitlines() if not line.lstrip().startswith("parsing ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output  # (a build's progress bar aside)
    for word in words:
        assert word in lines[0], lines[0]


def folder_digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.name != STORE_NAME}


# ------------------------------------------------------------------- store
def test_store_round_trip_and_schema(tmp_path):
    a = melodies(tmp_path / "s", 1)[0]
    with FeedbackStore(tmp_path / "fb.sqlite") as store:
        sample = store.add_sample(a, model="m", settings={"seed": 3, "temperature": 0.9})
        assert sample.rating is None and sample.settings == {"seed": 3, "temperature": 0.9}
        store.rate(a, "like", note="nice")
        store.rate(a, 2)  # a change of mind: the latest rating counts
    with FeedbackStore(tmp_path / "fb.sqlite", create=False) as store:
        (got,) = store.samples()
        assert got.path == str(a.resolve()) and got.model == "m" and got.settings["seed"] == 3
        assert (got.rating, got.stars, got.rating_text) == (-1, 2, "2 stars")
        assert store.disliked() == [got] and store.liked() == []
        assert store.content(got) == a.read_bytes() and got.sha256 == hashlib.sha256(a.read_bytes()).hexdigest()
        assert store.read_scores(got)[0].num_notes == random_melody(0, bars=4).num_notes
    db = sqlite3.connect(tmp_path / "fb.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")} == {"samples", "ratings"}
    assert [r[0] for r in db.execute("SELECT rating FROM ratings ORDER BY id")] == [1, -1]  # history kept
    db.close()


def test_rating_follows_the_content_after_a_rename(tmp_path):
    a = melodies(tmp_path / "s", 1)[0]
    with FeedbackStore(tmp_path / "fb.sqlite") as store:
        store.add_sample(a, settings={"seed": 1})
        store.rate(a, "like")
        moved = a.rename(tmp_path / "renamed.mid")
        found = store.find(moved)
        assert found is not None and found.rating == 1 and found.settings == {"seed": 1}
        store.rate(moved, 5)
        (only,) = store.samples()
        assert only.path == str(moved.resolve()) and only.stars == 5 and only.rating == 1


def test_ratings_map_sensibly():
    assert parse_rating("like") == (1, None) and parse_rating("d") == (-1, None)
    assert [parse_rating(n)[0] for n in (1, 2, 3, 4, 5)] == [-1, -1, 0, 1, 1]
    assert parse_rating("4") == (1, 4)
    for bad in ("meh", 0, 6, True):
        with pytest.raises(FeedbackError):
            parse_rating(bad)


def test_store_location_shipped_model_in_data_dir(tmp_path, monkeypatch, model, tiny_run):
    assert store_path("folk") == tmp_path / "data" / "feedback" / "folk.sqlite"
    assert store_path(model) == model / STORE_NAME
    assert store_path(tiny_run) == store_path(tiny_run / "model") == tiny_run / STORE_NAME  # survives retraining
    monkeypatch.delenv("SEQART_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert store_path("folk") == tmp_path / "xdg" / "seqart" / "feedback" / "folk.sqlite"


def test_foreign_or_newer_files_are_refused(tmp_path):
    (tmp_path / "text.sqlite").write_text("not a database at all, just some text " * 10)
    with pytest.raises(FeedbackError, match="not a feedback store"):
        FeedbackStore(tmp_path / "text.sqlite")
    db = sqlite3.connect(tmp_path / "new.sqlite")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(FeedbackError, match="newer"):
        FeedbackStore(tmp_path / "new.sqlite")
    with pytest.raises(FeedbackError, match="no feedback store"):
        FeedbackStore(tmp_path / "missing.sqlite", create=False)


def test_sample_records_what_it_generates(model, tmp_path):
    result = runner.invoke(app, ["sample", str(model), "-o", str(tmp_path / "out.mid"), "--num", "2", "--bars", "2",
                                 "--seed", "5", "--temperature", "0.9"])
    assert result.exit_code == 0, result.output
    with FeedbackStore.for_model(model, create=False) as store:
        samples = store.samples()
    assert sorted(s.path for s in samples) == [str((tmp_path / f"out-{i}.mid").resolve()) for i in (1, 2)]
    assert all(s.settings["seed"] == 5 and s.settings["temperature"] == 0.9 and s.settings["bars"] == 2
               and s.model == str(model.resolve()) and s.rating is None for s in samples)


# -------------------------------------------------------------------- rate
def test_rate_non_interactive(model, tmp_path):
    a, b, c, d = melodies(tmp_path / "s", 4)
    record_samples(model, [a], {"seed": 7})
    result = runner.invoke(app, ["rate", "--like", str(a), str(b), "--dislike", str(c), "--stars", "3", str(d),
                                 "--model", str(model)])
    assert result.exit_code == 0, result.output
    assert "2 liked, 1 disliked, 1 neutral" in result.output
    with FeedbackStore.for_model(model) as store:
        by_name = {s.path.rsplit("/", 1)[-1]: s for s in store.samples()}
    assert by_name["walk0.mid"].settings == {"seed": 7} and by_name["walk1.mid"].settings is None  # unknown
    assert [by_name[f"walk{i}.mid"].rating for i in range(4)] == [1, 1, -1, 0]
    # a folder after a mark rates every file in it
    result = runner.invoke(app, ["rate", "--dislike", str(tmp_path / "s"), "--model", str(model)])
    assert result.exit_code == 0 and "0 liked, 4 disliked" in result.output, result.output


def test_rate_interactive(model, tmp_path):
    melodies(tmp_path / "s", 3)
    result = runner.invoke(app, ["rate", str(tmp_path / "s"), "--model", str(model), "--no-plot"],
                           input="what\nl\n\n4\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "[1/3]" in out and "[3/3]" in out and "4 bars" in out and "in key" in out
    assert "settings unknown" in out and "answer l, d" in out and "-> like" in out and "-> 4 stars" in out
    assert "rated 2 sample(s)" in out and "2 liked, 0 disliked, 0 neutral, 0 unrated" in out  # a skip records nothing
    # a second pass shows the earlier rating; q stops; running out of input stops too
    result = runner.invoke(app, ["rate", str(tmp_path / "s"), "--model", str(model), "--no-plot"], input="d\nq\n")
    assert result.exit_code == 0 and "rated before: like" in result.output and "rated 1 sample(s)" in result.output
    result = runner.invoke(app, ["rate", str(tmp_path / "s"), "--model", str(model), "--no-plot"], input="")
    assert result.exit_code == 0 and "rated 0 sample(s)" in result.output


def test_rate_interactive_draws_a_piano_roll(model, tmp_path):
    pytest.importorskip("matplotlib")
    melodies(tmp_path / "s", 1)
    result = runner.invoke(app, ["rate", str(tmp_path / "s"), "--model", str(model)], input="s\n")
    assert result.exit_code == 0, result.output
    assert f"piano roll: {tmp_path / 's' / 'walk0.png'}" in result.output and (tmp_path / "s" / "walk0.png").is_file()


@pytest.mark.parametrize("args, words", [
    (["--stars", "9", "x.mid"], ["--stars", "1 to 5"]),
    (["--like"], ["no file after --like"]),
    (["--liek", "x.mid"], ["unknown option --liek"]),
    ([], ["give sample files"]),
    (["A", "--like", "B"], ["put --like"]),
    (["--like", "missing.mid"], ["no such file"]),
    (["--like", "x.mid", "--model", "nosuchmodel"], ["unknown model"]),
])
def test_rate_bad_invocations_are_one_line(args, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    melodies(tmp_path, 1)[0].rename(tmp_path / "x.mid")
    one_line_error(runner.invoke(app, ["rate", *args]), *words)


# -------------------------------------------------------------------- tune
def rate_generated(model, tmp_path, liked=4, disliked=2):
    """Sample from ``model`` and rate the samples: the first ``liked`` up, the next ``disliked`` down."""
    n = liked + disliked
    result = runner.invoke(app, ["sample", str(model), "-o", str(tmp_path / "g.mid"), "--num", str(n), "--bars", "4",
                                 "--seed", "1"])
    assert result.exit_code == 0, result.output
    files = [str(tmp_path / f"g-{i}.mid") for i in range(1, n + 1)]
    args = ["rate"] + (["--like", *files[:liked]] if liked else [])
    args += ["--dislike", *files[liked:]] if disliked else []
    result = runner.invoke(app, args + ["--model", str(model)])
    assert result.exit_code == 0, result.output


def test_tune_end_to_end(model, tmp_path):
    from seqart.workflows.tune import TUNE_REPORT, tune_from_feedback
    from seqart.models.folder import load_model

    rate_generated(model, tmp_path)
    before = folder_digest(model)
    report = tune_from_feedback(model, tmp_path / "m2", held_out_fraction=0.0, steps=12, lr=0.01, threads=1,
                                device="cpu")
    assert report.liked == 4 and report.disliked == 2 and report.held_out == 0
    assert report.liked_nll_after < report.liked_nll_before  # likelihood of the liked melodies went up
    assert report.general_nll_before is not None and report.replay is not None  # the tiny corpus is here
    assert (tmp_path / "m2" / TUNE_REPORT).is_file()
    _, _, meta = load_model(tmp_path / "m2")
    assert meta["model"] == "melody-lstm" and meta["tuned_from"] == str(model)
    assert folder_digest(model) == before  # M itself is never modified

    result = runner.invoke(app, ["tune", str(model), "--from-feedback", "-o", str(tmp_path / "m3"), *FAST])
    assert result.exit_code == 0, result.output
    assert "held-out liked melodies:" in result.output and "nats/token" in result.output
    assert "general held-out NLL" in result.output and "budget" in result.output
    result = runner.invoke(app, ["sample", str(tmp_path / "m3"), "-o", str(tmp_path / "from-m3.mid"), "--bars", "2",
                                 "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert folder_digest(model) == before


def test_tune_refuses_without_likes(model, tmp_path):
    one_line_error(runner.invoke(app, ["tune", str(model), "--from-feedback", "-o", str(tmp_path / "m2")]),
                   "no liked samples", "does not exist")
    assert not (model / STORE_NAME).exists() and not (tmp_path / "m2").exists()
    rate_generated(model, tmp_path, liked=0, disliked=2)
    one_line_error(runner.invoke(app, ["tune", str(model), "--from-feedback", "-o", str(tmp_path / "m2")]),
                   "no liked samples")
    one_line_error(runner.invoke(app, ["tune", str(model), "-o", str(tmp_path / "m2")]), "--from-feedback")


def test_tune_never_overwrites(model, tmp_path):
    rate_generated(model, tmp_path, liked=2, disliked=0)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep")
    one_line_error(runner.invoke(app, ["tune", str(model), "--from-feedback", "-o", str(taken), *FAST]), "--force")
    assert (taken / "mine.txt").read_text() == "keep"
    one_line_error(runner.invoke(app, ["tune", str(model), "--from-feedback", "-o", str(model), "--force", *FAST]),
                   "the model itself")
    one_line_error(runner.invoke(app, ["tune", str(model), "--from-feedback", "-o", str(taken), "--force", *FAST]),
                   "not a model folder")  # --force replaces a model folder, nothing else
    assert (taken / "mine.txt").read_text() == "keep"
    tuned = tmp_path / "tuned"
    for _ in range(2):  # the second time over the first tuned model
        result = runner.invoke(app, ["tune", str(model), "--from-feedback", "-o", str(tuned), "--force", *FAST])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tuned.iterdir()) == ["config.json", "keys.json", "model.safetensors",
                                                       "tokenizer.json", "tune.json"]


# ----------------------------------------------------------- train --from
TRAIN_FAST = ["--steps", "1", "--set", "lr=1e-12", "--set", "threads=1", "--set", "batch_size=4",
              "--set", "seq_len=32", "--device", "cpu"]


def music_folder(tmp_path, fixtures_dir, good=12):
    folder = tmp_path / "mine"
    write_melody_folder(folder, count=good, bars=4)
    shutil.copy(fixtures_dir / "corrupt" / "garbage.mid", folder / "garbage.mid")
    shutil.copy(fixtures_dir / "corrupt" / "zero_notes.mid", folder / "zero_notes.mid")
    return folder


def test_train_from_a_music_folder(model, tmp_path, fixtures_dir):
    from safetensors.numpy import load_file

    folder = music_folder(tmp_path, fixtures_dir)
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "melody-lstm", "--from", str(model), "--data", str(folder), "-o", str(run),
                                 *TRAIN_FAST])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "data:" in out and "14 files (or ABC tunes) found, 12 tunes extracted, 2 skipped" in out
    assert "skipped 1: no notes" in out
    assert "split: train" in out and out.index("data:") < out.index("model:")  # the report comes first
    assert (run / "corpus" / "manifest.json").is_file()
    assert (run / "model" / "tokenizer.json").read_text() == (model / "tokenizer.json").read_text()
    start, trained = load_file(str(model / "model.safetensors")), load_file(str(run / "model" / "model.safetensors"))
    assert start.keys() == trained.keys()
    for key in start:  # lr 1e-12: one step leaves the starting weights
        np.testing.assert_allclose(trained[key], start[key], atol=1e-6)
    import json

    assert json.loads((run / "run.json").read_text())["init_from"] == str(model.resolve())


def test_train_from_refuses_another_model_type(model, tmp_path, fixtures_dir):
    folder = music_folder(tmp_path, fixtures_dir, good=2)
    one_line_error(runner.invoke(app, ["train", "melody-vae-tiny", "--from", str(model), "--data", str(folder),
                                       "-o", str(tmp_path / "run")]),
                   "is a melody-lstm model", "melody-vae-tiny")
    assert not (tmp_path / "run").exists()


def test_train_from_a_folder_of_bad_files(model, tmp_path, fixtures_dir):
    folder = tmp_path / "bad"
    shutil.copytree(fixtures_dir / "corrupt", folder)
    one_line_error(runner.invoke(app, ["train", "melody-lstm", "--from", str(model), "--data", str(folder),
                                       "-o", str(tmp_path / "run"), *TRAIN_FAST]),
                   "nothing to fine-tune on", "no usable music", "skipped")


def test_train_from_refuses_a_corpus_with_another_vocabulary(model, tmp_path, fixtures_dir):
    from seqart.corpora.build import build_corpus

    folder = music_folder(tmp_path, fixtures_dir, good=4)
    build_corpus(folder, tmp_path / "coarse", tokenizer_config={"steps_per_beat": 2}, workers=1, progress=False)
    one_line_error(runner.invoke(app, ["train", "melody-lstm", "--from", str(model), "--data",
                                       str(tmp_path / "coarse"), "-o", str(tmp_path / "run"), *TRAIN_FAST]),
                   "steps_per_beat=2", "vocabularies differ")


def test_help_imports_no_torch():
    code = "import sys; from seqart.cli import app; import seqart.commands.feedback; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_two_writers_at_once(tmp_path):
    import threading

    files = melodies(tmp_path / "s", 16)
    errors = []

    def rate(part, rating):
        try:
            with FeedbackStore(tmp_path / "fb.sqlite") as store:
                for path in part:
                    store.rate(path, rating)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=rate, args=(files[:8], "like")),
               threading.Thread(target=rate, args=(files[8:], "dislike"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with FeedbackStore(tmp_path / "fb.sqlite") as store:
        assert store.counts() == {"samples": 16, "liked": 8, "disliked": 8, "neutral": 0, "unrated": 0}


def test_sample_still_works_when_the_store_cannot_be_written(tmp_path, monkeypatch):
    (tmp_path / "blocked").write_text("a file where the data folder should be")
    monkeypatch.setenv("SEQART_DATA_DIR", str(tmp_path / "blocked"))
    result = runner.invoke(app, ["sample", "folk", "-o", str(tmp_path / "x.mid"), "--bars", "2", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x.mid").is_file() and "warning: samples not recorded for rating" in result.output
