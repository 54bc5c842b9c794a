"""seqart studio's blend, vary and shift (``seqart.studio.latent``) through the JSON API:
folk takes read by the shipped ``folk-vae-2bar``, the results as ordinary takes, the
attribute sliders measured by the attributes' own metrics, and one-line errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from seqart.models.music_vae.attributes import measure
from seqart.studio.app import create_app
from seqart.studio.security import allowed_hosts_for

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")  # as in test_studio_api
    from starlette.testclient import TestClient

TOKEN = "test-token-0123456789"
VAE = "folk-vae-2bar"
SPAN_BEATS = 8.0  # folk-vae-2bar reads 2 bars of 4 beats


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """One client for the module (the VAE loads once): a studio offering ``folk`` only,
    its data dir in a tmp folder."""
    with pytest.MonkeyPatch.context() as patch:
        data = tmp_path_factory.mktemp("latent") / "data"
        patch.setenv("SEQART_DATA_DIR", str(data))
        app = create_app(["folk"], token=TOKEN, allowed_hosts=allowed_hosts_for("127.0.0.1", 8765))
        with TestClient(app, base_url="http://127.0.0.1:8765", headers={"X-Seqart-Token": TOKEN}) as client:
            yield client


def session(client):
    return client.app.state.session


def latent_entry(client):
    """The latent model's entry (the shipped VAE, a helper of the session: not offered)."""
    return session(client).latent.entry(VAE)


def folk_takes(client, num=2, bars=2, meter="4/4", seed=3):
    body = {"model": "folk", "num": num, "options": {"bars": bars, "time_signature": meter, "seed": seed}}
    response = client.post("/api/takes", json=body)
    assert response.status_code == 200, response.text
    return response.json()["takes"]


def post(client, path, body):
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def onsets(take, upto=SPAN_BEATS):
    """``(pitch, start beat)`` of the notes starting in the first ``upto`` beats."""
    return {(pitch, round(start, 3)) for pitch, start, _, _ in take["notes"] if start < upto - 1e-6}


def likeness(a, b) -> float:
    """Shared onsets over all onsets (1: the same notes)."""
    return len(a & b) / max(len(a | b), 1)


def attribute_of(client, take_id, name) -> float:
    """``name`` measured as the VAE measures its training spans, on the take's spans."""
    vae = latent_entry(client).generator
    spans, _ = vae.spans_of(session(client).takes.get(take_id).score)
    return float(np.nanmean(measure(spans, name)))


# ------------------------------------------------------------------ listing
def test_latent_lists_the_vae_and_its_sliders_without_loading_it(studio):
    about = studio.get("/api/latent").json()
    (model,) = about["models"]
    assert model["id"] == VAE and model["span_beats"] == SPAN_BEATS and model["bars"] == 2
    sliders = {a["name"]: a for a in model["attributes"]}
    assert {"density", "range", "register", "syncopation", "stepwise"} <= set(sliders)
    density = sliders["density"]
    assert (density["min"], density["max"], density["unit"]) == (-2.0, 2.0, "notes per beat")
    assert density["low"] < density["high"]
    assert about["blend"] == {"steps": 5, "min_steps": 3, "max_steps": 9}
    assert about["vary"]["max_num"] == 8 and 0 < about["vary"]["amount"] <= about["vary"]["max_amount"] == 1.0
    assert latent_entry(studio).generator is None  # listed from its files, loaded on first use


# -------------------------------------------------------------------- blend
def test_a_blend_strip_runs_from_one_take_to_the_other(studio):
    a, b = folk_takes(studio, seed=3)
    answer = post(studio, "/api/blend", {"a": a["id"], "b": b["id"], "steps": 5})
    strip = answer["takes"]
    assert [t["index"] for t in strip] == [1, 2, 3, 4, 5] and {t["num"] for t in strip} == {5}
    assert {t["model"] for t in strip} == {VAE} and answer["notice"] is None  # 2 bars: one span, read plainly
    assert strip[0]["settings"] == {"latent": "blend", "a": a["id"], "b": b["id"], "steps": 5}
    assert likeness(onsets(strip[0]), onsets(a)) >= 0.8 and likeness(onsets(strip[-1]), onsets(b)) >= 0.8
    assert likeness(onsets(strip[0]), onsets(b)) < 0.8  # the ends differ, so the strip goes somewhere
    vae = latent_entry(studio).generator
    post(studio, "/api/blend", {"a": b["id"], "b": a["id"], "steps": 3})
    assert latent_entry(studio).generator is vae  # loaded once, kept


def test_blend_takes_are_takes_like_any_other(studio):
    from seqart.feedback.store import FeedbackStore

    a, b = folk_takes(studio, seed=8)
    strip = post(studio, "/api/blend", {"a": a["id"], "b": b["id"], "steps": 3})["takes"]
    middle = strip[1]
    assert studio.get(f"/api/takes/{middle['id']}").json()["notes"] == middle["notes"]
    assert studio.get(middle["downloads"]["mid"]).content[:4] == b"MThd"
    assert studio.post(f"/api/takes/{middle['id']}/rating", json={"rating": 4}).json()["rating"] == 4
    history = [t["id"] for t in studio.get("/api/history").json()["takes"]]
    assert history[:3] == [t["id"] for t in strip]  # newest first, the strip in order
    with FeedbackStore.for_model(VAE, create=False) as store:
        rated = [s for s in store.samples() if s.stars == 4]
    assert len(rated) == 1 and rated[0].settings["latent"] == "blend"
    assert rated[0].settings["a"].endswith(f"{a['id']}.mid")  # the file, which outlives the session's ids


def test_the_latent_model_that_blends_does_not_join_the_generate_picker(studio):
    a, b = folk_takes(studio, seed=9)
    strip = post(studio, "/api/blend", {"a": a["id"], "b": b["id"], "steps": 3})["takes"]
    assert [m["id"] for m in studio.get("/api/models").json()["models"]] == ["folk"]  # what the composer offered
    stored = {t["id"]: t for t in studio.get("/api/history", params={"limit": 200}).json()["takes"]}
    assert {t["id"] for t in strip} <= set(stored)  # its takes are in the history all the same
    later = create_app(["folk"], token=TOKEN, allowed_hosts=allowed_hosts_for("127.0.0.1", 8765))
    with TestClient(later, base_url="http://127.0.0.1:8765", headers={"X-Seqart-Token": TOKEN}) as again:
        again.get("/api/latent")  # a later launch blends too: its store's takes are listed, and open
        earlier = [t for t in again.get("/api/history", params={"limit": 200}).json()["takes"] if t["model"] == VAE]
        assert len(earlier) >= 3 and again.get(f"/api/history/{earlier[0]['id']}").status_code == 200
        assert [m["id"] for m in again.get("/api/models").json()["models"]] == ["folk"]
    response = studio.post("/api/takes", json={"model": VAE, "num": 1})
    assert response.status_code == 400 and "no model 'folk-vae-2bar' here" in response.json()["error"]


def test_a_longer_take_is_read_span_by_span_and_said_so(studio):
    a, b = folk_takes(studio, bars=4, seed=5)
    three = folk_takes(studio, num=1, bars=2, meter="3/4", seed=5)[0]
    answer = post(studio, "/api/blend", {"a": a["id"], "b": b["id"], "steps": 3})
    assert "spans of 8 beats" in answer["notice"]
    assert all(t["end_beat"] == 4 * 4 for t in answer["takes"])  # 4 bars in, 4 bars out
    assert likeness(onsets(answer["takes"][0], 16), onsets(a, 16)) >= 0.8
    odd = post(studio, "/api/vary", {"take": three["id"], "num": 1, "seed": 1})
    assert "duple meters" in odd["notice"] and "3/4" in odd["notice"]


# --------------------------------------------------------------------- vary
def test_vary_is_deterministic_under_a_seed(studio):
    (take,) = folk_takes(studio, num=1, seed=11)
    body = {"take": take["id"], "num": 3, "amount": 0.6, "seed": 7}
    first, again = post(studio, "/api/vary", body)["takes"], post(studio, "/api/vary", body)["takes"]
    assert [t["notes"] for t in first] == [t["notes"] for t in again]
    assert [t["seed"] for t in first] == [7, 7, 7] and first[0]["settings"]["amount"] == 0.6
    other = post(studio, "/api/vary", {**body, "seed": 8})["takes"]
    assert [t["notes"] for t in other] != [t["notes"] for t in first]
    still = post(studio, "/api/vary", {**body, "amount": 0})["takes"]
    assert all(t["notes"] == still[0]["notes"] for t in still)  # no noise: the take as the model reads it
    drawn = post(studio, "/api/vary", {"take": take["id"], "num": 1})["takes"][0]
    assert isinstance(drawn["seed"], int)  # reported, so it can be made again


# -------------------------------------------------------------------- shift
@pytest.mark.parametrize("attribute", ["density", "register"])
def test_shift_moves_the_attribute_its_way(studio, attribute):
    takes = [t for t in folk_takes(studio, num=3, bars=4, seed=21) if len(t["notes"]) >= 12]
    assert takes, "no take busy enough to move both ways"
    values = []  # per take: [moved -1, as read, moved +1]
    for take in takes:
        plain = post(studio, "/api/vary", {"take": take["id"], "num": 1, "amount": 0, "seed": 0})["takes"][0]
        up = post(studio, "/api/shift", {"take": take["id"], "attribute": attribute, "amount": 1.0})["takes"]
        down = post(studio, "/api/shift", {"take": take["id"], "attribute": attribute, "amount": -1.0})["takes"]
        assert len(up) == len(down) == 1 and up[0]["settings"]["attribute"] == attribute
        values.append([attribute_of(studio, t["id"], attribute) for t in (down[0], plain, up[0])])
        assert values[-1][0] < values[-1][2], values[-1]
    # on average both ways (one take may sit past the training spans' top quarter already and stay there)
    down, plain, up = np.mean(values, axis=0)
    assert down < plain < up, values


def test_a_silent_result_is_said_and_a_silent_take_refused(studio):
    from seqart.score import Score, Track
    from seqart.studio.latent import silence_notice

    (take,) = folk_takes(studio, num=1, seed=4)
    silent = session(studio).takes.add(latent_entry(studio), [Score(tracks=[Track([])])], {}, 0)[0]
    for path, body in (("/api/blend", {"a": take["id"], "b": silent.id}), ("/api/vary", {"take": silent.id}),
                       ("/api/shift", {"take": silent.id, "attribute": "density", "amount": 1})):
        response = studio.post(path, json=body)
        assert response.status_code == 400 and "has no notes to read" in response.json()["error"], path
    scores = [session(studio).takes.get(take["id"]).score, silent.score]
    assert silence_notice(scores).startswith("1 of the 2 takes came out silent")
    assert "try a smaller amount" in silence_notice([silent.score]) and silence_notice(scores[:1]) is None


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize("path, body, says", [
    ("/api/blend", {"steps": 2}, "steps must be within 3-9, got 2"),
    ("/api/blend", {"steps": 10}, "steps must be within 3-9"),
    ("/api/blend", {"steps": 4.5}, "steps must be a whole number"),
    ("/api/blend", {"steps": "five"}, "steps must be a whole number"),
    ("/api/blend", {"colour": "red"}, "unknown field 'colour'"),
    ("/api/blend", {"model": "folk"}, "folk has no latent space"),
    ("/api/blend", {"model": "no-such-model"}, "no model 'no-such-model'"),
    ("/api/vary", {"amount": 1.5}, "amount must be within 0 to 1"),
    ("/api/vary", {"amount": -0.1}, "amount must be within 0 to 1"),
    ("/api/vary", {"num": 0}, "num must be within 1-8"),
    ("/api/vary", {"seed": -1}, "seed must be within"),
    ("/api/vary", {"amount": True}, "amount must be a number"),
    ("/api/shift", {"attribute": "density", "amount": 3}, "amount must be within -2 to 2"),
    ("/api/shift", {"attribute": "density"}, "amount is missing"),
    ("/api/shift", {"attribute": "loudness", "amount": 1}, "unknown attribute 'loudness'"),
    ("/api/shift", {"attribute": 5, "amount": 1}, "attribute must be one of"),
])
def test_bad_numbers_and_fields_are_400s_with_one_line(studio, path, body, says):
    a, b = folk_takes(studio, seed=2)
    ids = {"a": a["id"], "b": b["id"]} if path == "/api/blend" else {"take": a["id"]}
    response = studio.post(path, json={**ids, **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert says in error and "\n" not in error and "Traceback" not in error


def test_unknown_and_path_like_take_ids_are_404s(studio):
    (take,) = folk_takes(studio, num=1, seed=4)
    for bad in ("0123456789abcdef", "../secret", 7, None):
        for path, body in (("/api/blend", {"a": take["id"], "b": bad}), ("/api/blend", {"a": bad, "b": take["id"]}),
                           ("/api/vary", {"take": bad}), ("/api/shift", {"take": bad, "attribute": "density",
                                                                          "amount": 1})):
            response = studio.post(path, json=body)
            assert response.status_code == 404 and "no take" in response.json()["error"], (path, body)
    assert studio.post("/api/vary", content=b"[1, 2]").json() == {"error": "the request body must be a JSON object"}
    assert studio.get("/api/history").status_code == 200  # the server goes on
