"""Recording is visible: ``seqart sample`` says once where it records, ``--no-record`` and
``SEQART_NO_RECORD`` turn it off, ``seqart store list/prune`` show and trim the stores."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from seqart.cli import app
from seqart.feedback.housekeeping import find_stores, plan_prune, prune
from seqart.feedback.store import STORE_NAME, FeedbackStore, record_samples
from seqart.models.folder import ASSETS
from tests.melody_factory import random_melody

runner = CliRunner()
NOTICE = "recording samples for 'seqart rate'/'seqart tune' in"


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch):
    """Shipped models' stores go to ``tmp_path/data``; the current folder is ``tmp_path/work``."""
    monkeypatch.setenv("SEQART_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SEQART_NO_RECORD", raising=False)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")


def folk_store(tmp_path):
    return tmp_path / "data" / "feedback" / "folk.sqlite"


def sample(*args, seed=1):
    return runner.invoke(app, ["sample", *args, "--bars", "2", "--seed", str(seed)])


def melodies(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        paths.append(folder / f"m{i}.mid")
        random_melody(i, bars=2, tonic=i % 12).write(paths[-1])
    return paths


def age(store_path, days, names):
    """Back-date the samples whose file name is in ``names`` by ``days`` days."""
    when = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")
    with sqlite3.connect(store_path) as db:
        for name in names:
            db.execute("UPDATE samples SET created = ? WHERE path LIKE ?", (when, f"%/{name}"))


def names_in(store_path):
    with FeedbackStore(store_path, create=False) as store:
        return sorted(s.path.rsplit("/", 1)[-1] for s in store.samples())


def one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]


# ---------------------------------------------------------------- recording
def test_the_first_recording_says_where_and_the_next_does_not(tmp_path):
    first = sample("folk", "-o", "a.mid")
    assert first.exit_code == 0, first.output
    notices = [line for line in first.stderr.splitlines() if line.startswith(NOTICE)]
    assert len(notices) == 1 and str(folk_store(tmp_path)) in notices[0]
    assert "--no-record" in notices[0] and "SEQART_NO_RECORD=1" in notices[0] and "seqart store list" in notices[0]
    second = sample("folk", "-o", "b.mid", seed=2)
    assert second.exit_code == 0 and NOTICE not in second.output
    assert names_in(folk_store(tmp_path)) == ["a.mid", "b.mid"]


def test_a_model_folder_is_told_its_own_store(tmp_path):
    mine = shutil.copytree(ASSETS / "folk", tmp_path / "mine")
    result = sample(str(mine), "-o", "a.mid")
    assert result.exit_code == 0, result.output
    assert f"{NOTICE} {mine / STORE_NAME} " in result.stderr


@pytest.mark.parametrize("flag, env", [(["--no-record"], None), ([], "1"), ([], "true"), ([], "YES")])
def test_no_record_creates_no_store(flag, env, tmp_path, monkeypatch):
    if env is not None:
        monkeypatch.setenv("SEQART_NO_RECORD", env)
    result = sample("folk", "-o", "a.mid", *flag)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "work" / "a.mid").is_file()
    assert not (tmp_path / "data").exists() and NOTICE not in result.output


@pytest.mark.parametrize("env", ["0", "false", ""])
def test_no_record_switched_off_still_records(env, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQART_NO_RECORD", env)
    assert sample("folk", "-o", "a.mid").exit_code == 0
    assert folk_store(tmp_path).is_file()


def test_an_unknown_no_record_value_is_refused_before_sampling(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQART_NO_RECORD", "maybe")
    one_line_error(sample("folk", "-o", "a.mid"), "SEQART_NO_RECORD", "maybe")
    assert not (tmp_path / "work" / "a.mid").exists()


def test_the_workflow_returns_the_notice_and_honours_the_switch(tmp_path, monkeypatch):
    from seqart.workflows.sample import sample_to_files

    assert sample_to_files("folk", "a.mid", bars=2, seed=1, record=False).record_notice is None
    assert not folk_store(tmp_path).exists()
    monkeypatch.setenv("SEQART_NO_RECORD", "1")
    assert sample_to_files("folk", "b.mid", bars=2, seed=1).record_notice is None
    assert not folk_store(tmp_path).exists()
    monkeypatch.delenv("SEQART_NO_RECORD")
    assert str(folk_store(tmp_path)) in sample_to_files("folk", "c.mid", bars=2, seed=1).record_notice
    assert sample_to_files("folk", "d.mid", bars=2, seed=2).record_notice is None


# ---------------------------------------------------------------------- list
def test_list_shows_every_store_with_its_counts(tmp_path):
    a, b, c = melodies(tmp_path / "takes", 3)
    record_samples("folk", [a, b, c])
    with FeedbackStore.for_model("folk") as store:
        store.rate(a, "like")
        store.rate(b, 3)
    mine = shutil.copytree(ASSETS / "folk", tmp_path / "work" / "projects" / "mine")
    record_samples(mine, [a])
    deep = shutil.copytree(ASSETS / "folk", tmp_path / "work" / "1" / "2" / "3" / "deep")  # 4 folders down
    record_samples(deep, [b, c])
    result = runner.invoke(app, ["store", "list"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[1:]}
    assert set(rows) == {"folk", "mine"}  # 'deep' is below the search depth
    assert rows["folk"][1:5] == ["3", "1", "0", "2"] and rows["folk"][-1] == str(folk_store(tmp_path))
    assert rows["mine"][1:5] == ["1", "0", "0", "0"] and rows["mine"][-1] == str(mine / STORE_NAME)
    today = datetime.now(timezone.utc).date().isoformat()
    assert rows["folk"][6:8] == [today, today] and float(rows["folk"][5]) > 0
    named = runner.invoke(app, ["store", "list", str(deep)])
    assert named.exit_code == 0 and "deep " in named.output


def test_list_without_stores_says_so():
    result = runner.invoke(app, ["store", "list"])
    assert result.exit_code == 0 and "no feedback stores" in result.output


# --------------------------------------------------------------------- prune
@pytest.fixture
def rated_and_aged(tmp_path):
    """folk's store: m0 liked, m1 3 stars, m2 and m3 unrated, all 40 days old; m4 unrated, new."""
    paths = melodies(tmp_path / "takes", 5)
    record_samples("folk", paths)
    with FeedbackStore.for_model("folk") as store:
        store.rate(paths[0], "like")
        store.rate(paths[1], 3)
    age(folk_store(tmp_path), 40, ["m0.mid", "m1.mid", "m2.mid", "m3.mid"])
    return folk_store(tmp_path)


def test_prune_old_keeps_rated_and_new_samples(rated_and_aged):
    result = runner.invoke(app, ["store", "prune", "folk", "--older-than", "30", "--yes"])
    assert result.exit_code == 0, result.output
    assert "2 sample(s) to delete" in result.output and "2 rated kept" in result.output
    assert "deleted 2 sample(s), freed" in result.output
    assert names_in(rated_and_aged) == ["m0.mid", "m1.mid", "m4.mid"]


def test_prune_unrated_of_any_age(rated_and_aged):
    assert runner.invoke(app, ["store", "prune", "folk", "--unrated", "--yes"]).exit_code == 0
    assert names_in(rated_and_aged) == ["m0.mid", "m1.mid"]


def test_dry_run_and_a_refused_confirmation_delete_nothing(rated_and_aged):
    dry = runner.invoke(app, ["store", "prune", "folk", "--unrated", "--dry-run"])
    assert dry.exit_code == 0 and "3 sample(s) to delete" in dry.output and "nothing deleted" in dry.output
    refused = runner.invoke(app, ["store", "prune", "folk", "--unrated"], input="n\n")
    assert refused.exit_code != 0 and "delete 3 sample(s)?" in refused.output
    assert len(names_in(rated_and_aged)) == 5
    confirmed = runner.invoke(app, ["store", "prune", "folk", "--unrated"], input="y\n")
    assert confirmed.exit_code == 0 and len(names_in(rated_and_aged)) == 2


def test_all_deletes_rated_samples_too(rated_and_aged):
    result = runner.invoke(app, ["store", "prune", "folk", "--older-than", "30", "--all", "--yes"])
    assert result.exit_code == 0, result.output
    assert names_in(rated_and_aged) == ["m4.mid"]
    with sqlite3.connect(rated_and_aged) as db:
        assert db.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 0  # their ratings went with them


def test_prune_gives_the_space_back(tmp_path):
    big = tmp_path / "big.mid"
    big.write_bytes(bytes(range(256)) * 2000)  # 512 kB: the store only keeps bytes, it does not parse them
    record_samples("folk", [big, *melodies(tmp_path / "takes", 1)])
    before = folk_store(tmp_path).stat().st_size
    result = runner.invoke(app, ["store", "prune", "--unrated", "--yes"])  # every store found
    assert result.exit_code == 0, result.output
    freed = int(result.output.rsplit("freed ", 1)[1].split()[0].replace(",", ""))
    assert freed > 400_000 and folk_store(tmp_path).stat().st_size == before - freed


def test_a_sample_rated_after_the_plan_is_spared(rated_and_aged, tmp_path):
    plans = plan_prune(find_stores(), older_than_days=30)
    assert len(plans[0].ids) == 2
    with FeedbackStore(rated_and_aged) as store:
        store.rate(tmp_path / "takes" / "m2.mid", "dislike")
    assert prune(plans)[0].removed == 1
    assert names_in(rated_and_aged) == ["m0.mid", "m1.mid", "m2.mid", "m4.mid"]


@pytest.mark.parametrize("args, words", [
    (["prune", "folk"], ["say what to prune", "--older-than"]),
    (["prune", "folk", "--unrated", "--all"], ["--unrated", "--all"]),
    (["prune", "folk", "--older-than", "-1"], ["0 days or more", "-1"]),
    (["prune", "nosuchmodel", "--unrated"], ["unknown model 'nosuchmodel'"]),
    (["prune", "folk-vae-2bar", "--unrated"], ["folk-vae-2bar", "no feedback store yet"]),
    (["list", "nosuchmodel"], ["unknown model 'nosuchmodel'"]),
])
def test_bad_arguments_are_one_line(args, words, rated_and_aged):
    one_line_error(runner.invoke(app, ["store", *args]), *words)
    assert len(names_in(rated_and_aged)) == 5


def test_a_file_that_is_not_a_store_is_named_not_fatal(tmp_path):
    record_samples("folk", melodies(tmp_path / "takes", 1))
    (tmp_path / "work" / STORE_NAME).write_text("not a database")
    result = runner.invoke(app, ["store", "list"])
    assert result.exit_code == 0 and "folk " in result.stdout
    assert "warning: " in result.stderr and "not a feedback store" in result.stderr
