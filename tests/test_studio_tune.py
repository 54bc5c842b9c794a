"""Tune on my ratings, from the studio: rate takes of the tiny trained model, start a tune
job, read its Server-Sent Events to the end, find the tuned model in the model list and
generate with it; cancel a running job while generation goes on; refuse a tune without
liked takes with the workflow's own one-line error."""

from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path

import pytest

from seqart.studio.app import create_app
from seqart.studio.security import allowed_hosts_for
from tests.train_fixtures import tiny_corpus, tiny_run  # noqa: F401

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")  # starlette >= 1.10 prefers httpx2; httpx works
    from starlette.testclient import TestClient

TOKEN = "test-token-0123456789"
WAIT = 60  # seconds a job may take to report


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQART_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SEQART_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "data"


@pytest.fixture
def studio(tiny_run, tmp_path, data_dir):
    """A client on a studio offering a private copy of the tiny trained melody-lstm (its
    feedback store lives in the copy), and that model's id."""
    model = shutil.copytree(tiny_run / "model", tmp_path / "tiny")
    app = create_app([model], token=TOKEN, allowed_hosts=allowed_hosts_for("127.0.0.1", 8765))
    with TestClient(app, base_url="http://127.0.0.1:8765", headers={"X-Seqart-Token": TOKEN}) as client:
        (entry,) = client.get("/api/models").json()["models"]
        yield client, entry["id"]
        for job in client.get("/api/jobs").json()["jobs"]:  # leave no child running
            client.post(f"/api/jobs/{job['id']}/cancel")


def rate_takes(client, model_id, liked=3, disliked=2):
    response = client.post("/api/takes", json={"model": model_id, "num": liked + disliked,
                                               "options": {"bars": 4, "seed": 1}})
    assert response.status_code == 200, response.text
    takes = response.json()["takes"]
    for i, take in enumerate(takes):
        rating = "like" if i < liked else "dislike"
        assert client.post(f"/api/takes/{take['id']}/rating", json={"rating": rating}).status_code == 200


def read_events(client, job_id):
    """Every event of a job's stream, to its end: ``[(name, data), ...]``."""
    events, name = [], None
    with client.stream("GET", f"/api/jobs/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: "):])))
    return events


def wait_for(client, job_id, ready):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if ready(job):
            return job
        time.sleep(0.2)
    raise AssertionError(f"the job did not get there: {job}")


def test_a_tune_job_streams_its_progress_and_offers_the_tuned_model(studio, data_dir):
    client, model_id = studio
    rate_takes(client, model_id)
    response = client.post("/api/tune", json={"model": model_id, "steps": 12, "lr": 0.01})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["state"] == "running" and job["total"] == 12 and job["kind"] == "tune"

    events = read_events(client, job["id"])
    progress = [data for name, data in events if name == "progress"]
    assert [name for name, _ in events][-1] == "end" and [name for name, _ in events].count("end") == 1
    steps = [p["step"] for p in progress]
    assert steps == sorted(steps) and steps[-1] == 12 and all(p["total"] == 12 for p in progress)
    assert any(p["loss"] is not None and p["loss"] > 0 for p in progress)
    end = events[-1][1]
    assert end["state"] == "done" and end["step"] == 12 and end["error"] is None, end
    tuned = end["result"]["model"]
    figures = end["result"]["figures"]
    assert figures[0]["figure"] == "held-out liked takes"  # 1 of the 3 liked ones
    assert all(isinstance(row[k], float) and row[k] > 0 for row in figures for k in ("before", "after"))
    assert figures[1]["figure"] == "test tunes of its training corpus"  # the tiny corpus is here
    assert figures[1]["detail"].startswith("6 test tunes of ")
    assert any("nats/token" in line for line in end["result"]["lines"])

    models = {m["id"]: m for m in client.get("/api/models").json()["models"]}
    assert set(models) == {model_id, tuned["id"]}
    assert Path(models[tuned["id"]]["where"]).is_relative_to(data_dir / "studio")  # the session folder, nowhere else
    assert models[tuned["id"]]["name"] == "tiny-tuned-1" and models[tuned["id"]]["options"]
    made = client.post("/api/takes", json={"model": tuned["id"], "num": 1, "options": {"bars": 2, "seed": 3}})
    assert made.status_code == 200 and made.json()["takes"][0]["notes"]
    assert client.get(f"/api/jobs/{job['id']}").json()["state"] == "done"
    again = read_events(client, job["id"])  # a stream opened after the end: just the end
    assert [name for name, _ in again] == ["progress"] * len(progress) + ["end"]


def test_a_running_tune_is_cancelled_while_generation_goes_on(studio, data_dir):
    client, model_id = studio
    rate_takes(client, model_id, liked=2, disliked=0)
    job = client.post("/api/tune", json={"model": model_id, "steps": 2000}).json()
    wait_for(client, job["id"], lambda j: j["step"] > 0)
    made = client.post("/api/takes", json={"model": model_id, "num": 2, "options": {"bars": 2}})
    assert made.status_code == 200  # generation goes on while it trains
    busy = client.post("/api/tune", json={"model": model_id, "steps": 5})
    assert busy.status_code == 409 and "is running" in busy.json()["error"]

    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
    events = read_events(client, job["id"])
    assert events[-1][0] == "end" and events[-1][1]["state"] == "cancelled" and events[-1][1]["result"] is None
    assert [m["id"] for m in client.get("/api/models").json()["models"]] == [model_id]
    left = [p.name for p in (data_dir / "studio").glob("*/models/*") if not p.name.endswith(".log")]
    assert left == []  # no tuned folder, no staging folder


def test_a_tune_without_liked_takes_is_a_400_with_the_workflows_error(studio):
    client, model_id = studio
    response = client.post("/api/tune", json={"model": model_id, "steps": 5})
    assert response.status_code == 400 and "no liked samples" in response.json()["error"]
    rate_takes(client, model_id, liked=0, disliked=2)
    response = client.post("/api/tune", json={"model": model_id})
    error = response.json()["error"]
    assert response.status_code == 400 and error.startswith("no liked samples in ") and "\n" not in error
    for body, says in [({"model": model_id, "steps": 0}, "steps must be"), ({"model": model_id, "steps": "9"},
                       "steps must be"), ({"model": model_id, "lr": -1}, "lr must be"),
                       ({"model": model_id, "out": "/tmp/x"}, "unknown field 'out'"), ({"model": "nope"}, "no model")]:
        response = client.post("/api/tune", json=body)
        assert response.status_code == 400 and says in response.json()["error"], body
    assert client.get("/api/jobs").json() == {"jobs": []}
    assert client.get("/api/jobs/0123456789abcdef").status_code == 404
    assert client.get("/api/jobs/..%2Fx/events").status_code == 404
    assert client.post("/api/jobs/0123456789abcdef/cancel").status_code == 404
