"""seqart studio's history across launches: earlier takes listed from the feedback stores
(newest first, a page at a time), opened as cards whose ratings reach the same store row,
their settings and the idea they continued restored; recording switched off and said so;
the model list read without loading any generator; and two requests at once (two tabs).

Each test's stores live in its own ``SEQART_DATA_DIR``; "a later launch" is a second
application on the same data folder."""

from __future__ import annotations

import re
import shutil
import threading
import warnings

import pytest

from seqart.models.folder import ASSETS
from seqart.studio import history
from seqart.studio.app import create_app
from seqart.studio.security import allowed_hosts_for
from tests.test_studio_primers import BASS, MELODY, note_rows, two_tracks

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")  # starlette >= 1.10 prefers httpx2; httpx works
    from starlette.testclient import TestClient

TOKEN = "test-token-0123456789"
WAIT = 60  # seconds a request of a thread may take


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("SEQART_DATA_DIR", str(folder))
    monkeypatch.delenv("SEQART_NO_RECORD", raising=False)
    return folder


def launch(models=("folk",), **kwargs) -> TestClient:
    """A client with the token on a new studio launch (a new session on the same data folder)."""
    app = create_app(list(models), token=TOKEN, allowed_hosts=allowed_hosts_for("127.0.0.1", 8765), **kwargs)
    return TestClient(app, base_url="http://127.0.0.1:8765", headers={"X-Seqart-Token": TOKEN})


def generate(client, num=2, model="folk", **options) -> list[dict]:
    response = client.post("/api/takes", json={"model": model, "num": num, "options": options})
    assert response.status_code == 200, response.text
    return response.json()["takes"]


def listed(client, **query) -> dict:
    response = client.get("/api/history", params=query)
    assert response.status_code == 200, response.text
    return response.json()


# ------------------------------------------------------------ earlier takes
def test_a_later_launch_lists_the_earlier_takes_newest_first_with_settings_and_rating(data_dir):
    first = launch()
    older = generate(first, num=2, bars=2, seed=11)
    newer = generate(first, num=1, bars=3, key="A dorian", seed=12)
    first.post(f"/api/takes/{older[1]['id']}/rating", json={"rating": 5})

    later = listed(launch())
    takes = later["takes"]
    assert later["recording"] is True and later["next"] is None and later["notes"] == []
    assert [(t["seed"], t["index"], t["num"]) for t in takes] == [(12, 1, 1), (11, 1, 2), (11, 2, 2)]
    assert all(t["earlier"] and t["model"] == "folk" and t["model_name"] == "folk" for t in takes)
    assert takes[0]["settings"]["key"] == "A dorian" and takes[0]["settings"]["bars"] == 3
    assert [t["rating"] for t in takes] == [None, None, 5]
    assert takes[0]["created"] == newer[0]["created"]
    for take in takes:
        assert re.fullmatch(r"[0-9a-f]{16}", take["id"])
        assert not {"seed", "num", "index", "primer"} & set(take["settings"])  # apart, or the server's own
    assert [t["id"] for t in listed(launch())["takes"]] == [t["id"] for t in takes]  # the same ids every launch


def test_this_sessions_takes_come_first_and_are_not_listed_twice(data_dir):
    generate(launch(), num=1, bars=2, seed=1)
    client = launch()
    mine = generate(client, num=2, bars=2, seed=2)
    takes = listed(client)["takes"]
    assert [t["id"] for t in takes[:2]] == [t["id"] for t in mine] and not takes[0]["earlier"]
    assert len(takes) == 3 and takes[2]["earlier"] and takes[2]["seed"] == 1


def test_an_earlier_take_opens_as_a_card_and_its_rating_goes_to_its_store_row(data_dir):
    from seqart.feedback.store import FeedbackStore

    made = generate(launch(), num=2, bars=2, seed=5)
    client = launch()
    earlier = listed(client)["takes"][1]
    assert client.get(f"/api/takes/{earlier['id']}").status_code == 404  # not a card until opened
    card = client.get(f"/api/history/{earlier['id']}").json()
    assert card["notes"] == made[1]["notes"] and card["earlier"] and card["index"] == 2
    assert card["downloads"]["mid"] == f"/api/takes/{earlier['id']}/download.mid"
    with FeedbackStore.for_model("folk", create=False) as store:
        sample = next(s for s in store.samples() if s.settings["index"] == 2)
        recorded = store.content(sample)
    assert client.get(card["downloads"]["mid"]).content == recorded  # the bytes the store keeps
    rated = client.post(f"/api/takes/{earlier['id']}/rating", json={"rating": "dislike"})
    assert rated.status_code == 200 and rated.json()["rating"] == "dislike"
    with FeedbackStore.for_model("folk", create=False) as store:
        samples = store.samples()
    assert len(samples) == 2 and [s.rating for s in samples if s.id == sample.id] == [-1]
    assert listed(client)["takes"][1]["rating"] == "dislike"


def test_the_rows_of_one_request_stay_together_when_they_span_a_second():
    from seqart.feedback.store import Sample
    from seqart.studio.history import StoredTake, merged
    from seqart.studio.models import ModelEntry

    entry = ModelEntry("folk", "folk", "folk", "melody-transformer", ASSETS / "folk")

    def row(row_id: int, index: int, second: int) -> StoredTake:
        sample = Sample(row_id, f"{row_id:064x}", "take.mid", ".mid", "folk", {"index": index, "num": 2, "seed": 1},
                        f"2025-01-01T10:00:{second:02d}+00:00")
        return StoredTake(f"{row_id:016x}", entry, sample)

    rows = [row(1, 1, 5), row(2, 2, 6), row(3, 1, 6), row(4, 2, 6)]  # request 1: rows 1-2, request 2: rows 3-4
    assert [int(t["id"], 16) for t in merged([], rows)] == [3, 4, 1, 2]


@pytest.mark.parametrize("take_id", ["0123456789abcdef", "feedback.sqlite", "%2e%2e%2fsecret.mid", "0123456789ABCDEF"])
def test_an_unknown_take_of_the_history_is_a_404_with_one_line(data_dir, take_id):
    response = launch().get(f"/api/history/{take_id}")
    assert response.status_code == 404 and "\n" not in response.json()["error"]


def test_the_history_comes_a_page_at_a_time(data_dir):
    generate(launch(), num=5, bars=2, seed=3)
    client = launch()
    everything = [t["id"] for t in listed(client)["takes"]]
    assert len(everything) == 5
    pages, before = [], None
    while True:
        answer = listed(client, limit=2, **({} if before is None else {"before": before}))
        pages.append([t["id"] for t in answer["takes"]])
        before = answer["next"]
        if before is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1] and [i for p in pages for i in p] == everything


@pytest.mark.parametrize("query, status, says", [
    ({"limit": "0"}, 400, "limit must be a whole number within 1-200"),
    ({"limit": "500"}, 400, "within 1-200"),
    ({"limit": "lots"}, 400, "'lots'"),
    ({"before": "0123456789abcdef"}, 404, "no take '0123456789abcdef' in the history"),
])
def test_bad_pages_are_refused_with_one_line(data_dir, query, status, says):
    response = launch().get("/api/history", params=query)
    assert response.status_code == status and says in response.json()["error"]


# ------------------------------------------------------------------ ideas
def continue_idea(client, tmp_path, **options) -> tuple[dict, list[dict]]:
    upload = client.post("/api/primers", params={"name": "idea.mid"},
                         content=two_tracks().write(tmp_path / "idea.mid").read_bytes())
    assert upload.status_code == 200, upload.text
    idea = upload.json()
    return idea, generate(client, num=2, primer=idea["id"], bars=2, seed=4, **options)


def test_a_later_launch_restores_the_idea_a_take_continued(data_dir, tmp_path):
    idea, takes = continue_idea(launch(), tmp_path, track=1)
    client = launch()
    earlier = listed(client)["takes"][0]
    assert earlier["idea"] == {"name": "idea.mid", "track": 1, "kept": True}
    assert "primer_kept" not in earlier["settings"]  # the bytes stay on the server

    restored = client.post(f"/api/history/{earlier['id']}/primer")
    assert restored.status_code == 200, restored.text
    primer, track = restored.json()["primer"], restored.json()["track"]
    assert track == 1 and primer["name"] == "idea.mid" and primer["id"] != idea["id"]
    assert sorted(primer["notes"]) == note_rows(MELODY + BASS)
    again = client.post(f"/api/history/{earlier['id']}/primer").json()["primer"]
    assert again["id"] == primer["id"]  # restored once, then held
    options = {**earlier["settings"], "primer": primer["id"], "track": track, "seed": earlier["seed"]}
    remade = generate(client, num=earlier["num"], **options)
    assert remade[earlier["index"] - 1]["notes"] == takes[earlier["index"] - 1]["notes"]


def test_a_take_of_this_session_gives_back_its_own_idea(data_dir, tmp_path):
    client = launch()
    idea, takes = continue_idea(client, tmp_path)
    restored = client.post(f"/api/history/{takes[0]['id']}/primer").json()
    assert restored["primer"]["id"] == idea["id"] and restored["track"] is None
    plain = generate(client, num=1, bars=1)[0]
    response = client.post(f"/api/history/{plain['id']}/primer")
    assert response.status_code == 400 and response.json()["error"] == "that take continued no idea"


def test_an_idea_too_large_to_keep_is_named_and_its_restore_says_why(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(history, "MAX_KEPT_IDEA", 16)
    continue_idea(launch(), tmp_path)
    client = launch()
    earlier = listed(client)["takes"][0]
    assert earlier["idea"] == {"name": "idea.mid", "track": None, "kept": False}
    response = client.post(f"/api/history/{earlier['id']}/primer")
    error = response.json()["error"]
    assert response.status_code == 400 and "idea.mid, was not kept" in error and "upload it again" in error


def test_a_take_recorded_by_seqart_sample_lists_its_primer_by_name_only(data_dir, tmp_path):
    from seqart.feedback.store import record_samples

    take = two_tracks().write(tmp_path / "sampled.mid")
    record_samples("folk", [take], {"seed": 9, "num": 1, "bars": 4, "primer": str(tmp_path / "secret" / "hum.mid")})
    earlier = listed(launch())["takes"][0]
    assert (earlier["seed"], earlier["num"], earlier["index"]) == (9, 1, None)
    assert earlier["idea"] == {"name": "hum.mid", "track": None, "kept": False}
    assert "secret" not in str(earlier)  # no server path reaches the page


def test_a_take_rated_without_a_seed_downloads_under_its_model_and_id(data_dir, tmp_path):
    from seqart.feedback.store import FeedbackStore

    with FeedbackStore.for_model("folk") as store:  # as seqart rate --like FILE records it: no settings
        store.rate(two_tracks().write(tmp_path / "mine.mid"), "like")
    client = launch()
    earlier = listed(client)["takes"][0]
    assert (earlier["seed"], earlier["index"]) == (None, None)
    card = client.get(f"/api/history/{earlier['id']}").json()
    for fmt in ("mid", "musicxml"):
        disposition = client.get(card["downloads"][fmt]).headers["content-disposition"]
        assert f'filename="folk-{earlier["id"]}.{fmt}"' in disposition and "None" not in disposition


def test_seqart_rate_shows_a_take_settings_without_the_kept_idea(data_dir, tmp_path):
    from typer.testing import CliRunner

    from seqart.cli import app as cli_app

    client = launch()
    idea = client.post("/api/primers", params={"name": "idea.mid"},
                       content=two_tracks().write(tmp_path / "idea.mid").read_bytes()).json()
    take = client.post("/api/takes", json={"model": "folk", "num": 1,
                                           "options": {"primer": idea["id"], "track": 1, "bars": 2, "seed": 4}})
    assert take.status_code == 200, take.text
    made = take.json()["takes"][0]
    midi = client.get(made["downloads"]["mid"]).content
    (tmp_path / "take.mid").write_bytes(midi)

    shown = CliRunner().invoke(cli_app, ["rate", str(tmp_path / "take.mid"), "--no-plot"], input="s\n",
                               terminal_width=200)
    assert shown.exit_code == 0, shown.output
    settings = next(line for line in shown.output.splitlines() if "generated by" in line)
    assert "seed 4" in settings and "bars 2" in settings and "track 1" in settings
    assert "continues idea.mid" in settings  # the idea by its name
    assert "base64" not in settings and "primer_kept" not in settings and str(tmp_path) not in settings
    assert len(settings) < 400, settings


# -------------------------------------------------------------- recording
@pytest.mark.parametrize("switch", ["env", "argument"])
def test_with_recording_off_the_history_says_so_and_no_store_is_written(data_dir, monkeypatch, switch):
    if switch == "env":
        monkeypatch.setenv("SEQART_NO_RECORD", "1")
    client = launch(**({"record": False} if switch == "argument" else {}))
    made = generate(client, num=2, bars=1)
    answer = listed(client)
    assert answer["recording"] is False and [t["id"] for t in answer["takes"]] == [t["id"] for t in made]
    assert not (data_dir / "feedback").exists()


def test_the_command_takes_no_record(data_dir):
    from typer.testing import CliRunner

    from seqart.cli import app as cli_app

    shown = CliRunner().invoke(cli_app, ["studio", "--help"], terminal_width=200)
    assert shown.exit_code == 0 and "--no-record" in shown.output


# ----------------------------------------------------------------- models
def test_listing_the_models_loads_no_generator_and_gives_the_loaded_fields(data_dir):
    from seqart.studio.options import options_of

    client = launch(models=("folk", "folk-vae-2bar"))
    models = {m["id"]: m for m in client.get("/api/models").json()["models"]}
    entries = client.app.state.session.models
    assert set(models) == {"folk", "folk-vae-2bar"}
    assert all(entry.generator is None for entry in entries.values())
    for model_id, entry in entries.items():
        with entry.lock:
            loaded = options_of(entry.load())
        assert models[model_id]["options"] == loaded.to_json() and models[model_id]["continues"] == loaded.continues


# ---------------------------------------------------------------- two tabs
def in_thread(call, *args, **kwargs) -> tuple[threading.Thread, list]:
    answers: list = []
    thread = threading.Thread(target=lambda: answers.append(call(*args, **kwargs)), daemon=True)
    thread.start()
    return thread, answers


def test_the_models_answer_while_another_tab_generates(data_dir):
    with launch() as client:
        entry = client.app.state.session.models["folk"]
        with entry.lock:  # a take being generated with folk, as another tab asked
            thread, answers = in_thread(client.get, "/api/models")
            thread.join(WAIT / 4)
            answered = not thread.is_alive()
        thread.join(WAIT)
    assert answered, "GET /api/models waited for a take being generated"
    assert answers[0].status_code == 200


def test_two_tabs_generate_at_once_and_both_get_their_takes(data_dir, tmp_path):
    mine = shutil.copytree(ASSETS / "folk", tmp_path / "my-folk")
    with launch(models=("folk", mine)) as client:
        ids = [m["id"] for m in client.get("/api/models").json()["models"]]
        start = threading.Barrier(2)

        def tab(model_id: str):
            start.wait(WAIT)
            return client.post("/api/takes", json={"model": model_id, "num": 2, "options": {"bars": 4, "seed": 8}})

        threads = [in_thread(tab, model_id) for model_id in ids]
        for thread, _ in threads:
            thread.join(WAIT)
        answers = [answers[0] for _, answers in threads]
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        made = {t["id"]: t["model"] for a in answers for t in a.json()["takes"]}
        assert sorted(made.values()) == sorted(ids * 2)
        assert {t["id"] for t in listed(client)["takes"]} == set(made)
