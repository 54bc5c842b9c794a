"""Pictures in seqart studio, through the JSON API: an image model offered beside the music
models, a grid of pictures served as PNGs, a rating that reaches the model's feedback store
with the picture's bytes, latent walks (a loop, and one in time with a take) as GIFs, a
tune job on the liked pictures that ends with the before/after distances, and one-line
errors for bad requests.

The image model is a tiny untrained DCGAN (:func:`tests.test_image_tune.image_model`),
made once for the module; its pictures are noise, which is all these tests need."""

from __future__ import annotations

import io
import json
import math
import shutil
import warnings

import pytest
from PIL import Image

from seqart.score import Note, Score, TempoChange, Track
from seqart.studio.app import create_app
from seqart.studio.security import allowed_hosts_for
from tests.test_image_tune import image_model

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")  # as in test_studio_api
    from starlette.testclient import TestClient

TOKEN = "test-token-0123456789"
WAIT = 120  # seconds a tune job may take


@pytest.fixture(scope="module")
def base_model(tmp_path_factory):
    """A tiny untrained DCGAN model folder (28x28 grey), made once."""
    return image_model(tmp_path_factory.mktemp("dcgan") / "dcgan", "dcgan")


@pytest.fixture
def studio(base_model, tmp_path, monkeypatch):
    """A client on a studio offering ``folk`` and a private copy of the DCGAN (its feedback
    store lives in the copy), and the DCGAN's id."""
    monkeypatch.setenv("SEQART_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SEQART_NO_RECORD", raising=False)
    model = shutil.copytree(base_model, tmp_path / "dcgan")
    app = create_app(["folk", model], token=TOKEN, allowed_hosts=allowed_hosts_for("127.0.0.1", 8765))
    with TestClient(app, base_url="http://127.0.0.1:8765", headers={"X-Seqart-Token": TOKEN}) as client:
        models = client.get("/api/models").json()["models"]
        (dcgan,) = [m["id"] for m in models if m["makes"] == "pictures"]
        client.model_folder = model
        yield client, dcgan
        for job in client.get("/api/jobs").json()["jobs"]:  # leave no child running
            client.post(f"/api/jobs/{job['id']}/cancel")


def post(client, path, body, status=200):
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()


def grid(client, model, num=4, seed=3):
    return post(client, "/api/pictures", {"model": model, "num": num, "seed": seed})["pictures"]


def png(client, url) -> Image.Image:
    response = client.get(url)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png", response.text
    return Image.open(io.BytesIO(response.content))


# ------------------------------------------------------------------ offered
def test_an_image_model_is_offered_with_the_fields_of_a_grid(studio):
    client, dcgan = studio
    models = {m["id"]: m for m in client.get("/api/models").json()["models"]}
    assert {m["makes"] for m in models.values()} == {"music", "pictures"}
    picture_model = models[dcgan]
    assert picture_model["type"] == "dcgan" and picture_model["name"] == "dcgan" and "error" not in picture_model
    assert [f["name"] for f in picture_model["options"]] == ["seed", "num"]
    pictures_field = picture_model["options"][1]
    assert (pictures_field["label"], pictures_field["default"], pictures_field["maximum"]) == ("Pictures", 8, 16)
    assert picture_model["continues"] is None and picture_model["tunable"] is True
    assert picture_model["tune_steps"] == 200 and models["folk"]["tune_steps"] == 60
    assert dcgan not in {m["id"] for m in client.get("/api/latent").json()["models"]}  # an image VAE blends no takes


def test_find_models_offers_an_image_model_found_in_the_current_folder(base_model, tmp_path):
    from seqart.studio.models import find_models

    shutil.copytree(base_model, tmp_path / "here" / "my-dcgan")
    (entry,) = find_models(cwd=tmp_path / "here", shipped=())
    assert entry.name == "my-dcgan" and entry.makes_pictures and entry.summary()["makes"] == "pictures"


# --------------------------------------------------------------------- grid
def test_a_grid_of_pictures_each_a_png_of_the_models_size(studio):
    client, dcgan = studio
    pictures = grid(client, dcgan, num=4, seed=3)
    assert [p["index"] for p in pictures] == [1, 2, 3, 4] and {(p["seed"], p["num"]) for p in pictures} == {(3, 4)}
    assert {(p["width"], p["height"]) for p in pictures} == {(28, 28)} and {p["model"] for p in pictures} == {dcgan}
    first = png(client, pictures[0]["image"])
    assert first.size == (28, 28) and first.mode == "L"
    download = client.get(pictures[0]["download"])
    assert download.status_code == 200 and 'filename="dcgan-3-1.png"' in download.headers["content-disposition"]
    again = grid(client, dcgan, num=4, seed=3)  # same seed, same pictures; new ids
    assert client.get(again[2]["image"]).content == client.get(pictures[2]["image"]).content
    assert {p["id"] for p in again}.isdisjoint(p["id"] for p in pictures)
    drawn = grid(client, dcgan, num=1, seed=None)[0]
    assert isinstance(drawn["seed"], int)  # no seed given: one is drawn and reported


def test_rating_a_picture_keeps_its_png_bytes_in_the_models_store(studio):
    from seqart.feedback.store import FeedbackStore

    client, dcgan = studio
    pictures = grid(client, dcgan, num=3, seed=5)
    assert post(client, f"/api/pictures/{pictures[1]['id']}/rating", {"rating": "like"})["rating"] == "like"
    assert post(client, f"/api/pictures/{pictures[2]['id']}/rating", {"rating": 4})["rating"] == 4
    with FeedbackStore.for_model(client.model_folder, create=False) as store:
        samples = store.samples()
        (liked,) = [s for s in store.liked() if s.stars is None]  # 4 stars count as liked too
        assert store.content(liked) == client.get(pictures[1]["image"]).content
    assert liked.format == ".png" and liked.settings == {"seed": 5, "num": 3, "index": 2}
    assert len(samples) == 3  # the grid was recorded as seqart sample records its PNGs
    assert sorted(s.stars or 0 for s in samples) == [0, 0, 4]


# -------------------------------------------------------------------- walks
def gif(client, walk) -> Image.Image:
    response = client.get(walk["image"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif", response.text
    return Image.open(io.BytesIO(response.content))


def test_a_latent_walk_is_a_looping_gif(studio):
    client, dcgan = studio
    walk = post(client, "/api/walks", {"model": dcgan, "seed": 1, "frames": 6})
    assert (walk["frames"], walk["seed"], walk["take"], walk["steps_per_beat"]) == (6, 1, None, None)
    assert walk["seconds"] == pytest.approx(6 / 15, abs=0.011)
    image = gif(client, walk)
    assert image.size == (168, 168) and 2 <= image.n_frames <= 6 and image.info.get("loop") == 0
    same = post(client, "/api/walks", {"model": dcgan, "seed": 1, "frames": 6})
    assert client.get(same["image"]).content == client.get(walk["image"]).content


def test_a_walk_driven_by_a_take_moves_in_time_with_its_notes(studio):
    client, dcgan = studio
    body = {"model": "folk", "num": 1, "options": {"bars": 2, "time_signature": "4/4", "tempo": 120, "seed": 2}}
    (take,) = post(client, "/api/takes", body)["takes"]
    walk = post(client, "/api/walks", {"model": dcgan, "seed": 4, "take": take["id"]})
    beats = max(start + duration for _, start, duration, _ in take["notes"])
    assert walk["take"] == take["id"] and walk["steps_per_beat"] == 4 and walk["take_title"] == "folk take 1 of 1"
    assert walk["frames"] == math.ceil(beats * 4 - 1e-9)  # one frame a sixteenth
    assert walk["seconds"] == pytest.approx(beats * 60 / 120, abs=0.011)  # as long as the take plays
    assert gif(client, walk).n_frames > 2


def test_a_long_take_is_walked_on_a_coarser_grid(studio):
    client, dcgan = studio
    session = client.app.state.session
    long_line = Score(tracks=[Track([Note(60 + i % 12, 2.0 * i, 2.0, 90) for i in range(100)])],
                      tempos=[TempoChange(0.0, 240.0)])  # 200 beats: 800 sixteenths, too many frames
    (take,) = session.takes.add(session.model("folk"), [long_line], {}, 0)
    walk = post(client, "/api/walks", {"model": dcgan, "seed": 0, "take": take.id})
    assert walk["steps_per_beat"] == 2 and walk["frames"] == 400 and walk["seconds"] == pytest.approx(50.0, abs=0.02)


# --------------------------------------------------------------------- tune
def test_tune_on_the_liked_pictures_ends_with_the_distances_before_and_after(studio):
    from tests.test_studio_tune import read_events

    client, dcgan = studio
    pictures = grid(client, dcgan, num=4, seed=7)
    for picture, rating in zip(pictures, ("like", "like", "like", "dislike")):
        post(client, f"/api/pictures/{picture['id']}/rating", {"rating": rating})
    job = post(client, "/api/tune", {"model": dcgan, "steps": 3, "features": "pixels"}, status=202)
    assert job["total"] == 3 and job["title"] == "tune dcgan"

    events = read_events(client, job["id"])
    end = events[-1][1]
    assert events[-1][0] == "end" and end["state"] == "done", end
    assert [data["step"] for name, data in events if name == "progress"][-1] == 3
    result = end["result"]
    liked, data = result["figures"]  # the model names scikit-learn's digits as its data: replayed, measured
    assert liked["figure"] == "distance to the liked pictures" and "pixels features" in liked["detail"]
    assert data["figure"] == "distance to the training data" and "digits" in data["detail"]
    assert all(isinstance(row[k], float) and row[k] > 0 for row in (liked, data) for k in ("before", "after"))
    assert result["caption"] == "Distance to the liked pictures in pixels features (lower: closer)"
    assert any("3 liked pictures" in line for line in result["lines"])

    tuned = result["model"]
    models = {m["id"]: m for m in client.get("/api/models").json()["models"]}
    assert models[tuned["id"]]["makes"] == "pictures" and models[tuned["id"]]["name"] == "dcgan-tuned-1"
    assert len(grid(client, tuned["id"], num=2, seed=1)) == 2  # the tuned model draws a grid at once
    report = json.loads((client.app.state.session.takes.folder / "models" / "dcgan-tuned-1" / "tune.json").read_text())
    assert report["kind"] == "images" and report["liked"] == 3


def test_the_features_of_an_image_tune_default_to_what_this_machine_has(monkeypatch):
    from seqart.errors import CorpusError
    from seqart.studio import tuning

    assert tuning.check_request({}, pictures=True)["steps"] == 200
    assert tuning.check_request({"features": "pixels"}, pictures=True)["features"] == "pixels"

    def no_mnist():
        raise CorpusError("MNIST not found")

    monkeypatch.setattr("seqart.images.data.find_mnist", no_mnist)
    assert tuning.default_features() == "pixels"


# ------------------------------------------------------------------- errors
BAD_REQUESTS = [
    ("/api/pictures", {"num": 0}, 400, "num must be within 1-16"),
    ("/api/pictures", {"num": 17}, 400, "num must be within 1-16"),
    ("/api/pictures", {"num": 2.5}, 400, "num must be a whole number"),
    ("/api/pictures", {"seed": -1}, 400, "seed must be within"),
    ("/api/pictures", {"size": 64}, 400, "unknown field 'size'; a pictures request has model, num, seed"),
    ("/api/pictures", {"model": "folk"}, 400, "folk makes music, not pictures; image models here: dcgan-"),
    ("/api/pictures", {"model": "nope"}, 400, "no model 'nope' here"),
    ("/api/takes", {"num": 1}, 400, "dcgan makes pictures, not takes"),
    ("/api/walks", {"frames": 1}, 400, "frames must be within 2-240"),
    ("/api/walks", {"frames": 500}, 400, "frames must be within 2-240"),
    ("/api/walks", {"take": "0123456789abcdef", "frames": 8}, 400, "frames and take exclude each other"),
    ("/api/walks", {"take": "0123456789abcdef"}, 404, "no take '0123456789abcdef'"),
    ("/api/walks", {"take": "../etc/passwd"}, 404, "no take '../etc/passwd'"),
    ("/api/tune", {"features": "inception"}, 400, "features must be one of mnist-cnn, pixels"),
    ("/api/tune", {"steps": 0}, 400, "steps must be a whole number"),
]


@pytest.mark.parametrize("path, body, status, says", BAD_REQUESTS)
def test_bad_picture_requests_get_one_line(studio, path, body, status, says):
    client, dcgan = studio
    response = client.post(path, json={"model": dcgan, **body})
    error = response.json()["error"]
    assert response.status_code == status and says in error and "\n" not in error, error


def test_unknown_pictures_and_walks_are_404_and_bad_ratings_400(studio):
    client, dcgan = studio
    for url in ("/api/pictures/0123456789abcdef.png", "/api/pictures/0123456789abcdef/download.png",
                "/api/walks/0123456789abcdef.gif"):
        response = client.get(url)
        assert response.status_code == 404 and "in this session" in response.json()["error"], url
    assert client.get("/api/pictures/..%2Fsecret.png").status_code == 404
    assert client.post("/api/pictures/0123456789abcdef/rating", json={"rating": "like"}).status_code == 404
    (picture,) = grid(client, dcgan, num=1)
    for body, says in (({"rating": "great"}, "like, dislike"), ({"rating": True}, "like, dislike"),
                       ({}, "a rating request has a rating")):
        response = client.post(f"/api/pictures/{picture['id']}/rating", json=body)
        assert response.status_code == 400 and says in response.json()["error"], body
    response = client.post("/api/tune", json={"model": "folk", "features": "pixels"})
    assert response.status_code == 400 and "features applies to image models" in response.json()["error"]
