"""seqart studio's server: token, Host and Origin checks, the JSON API with the shipped
``folk`` model (NumPy sampling, fast), downloads, ratings into the feedback store,
history, one-line errors, static assets without external URLs, and the command."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import warnings

import pytest
from typer.testing import CliRunner

from seqart.cli import app as cli_app
from seqart.models.folder import ASSETS
from seqart.models.loading import load_generator
from seqart.score import Score
from seqart.studio.app import STATIC, create_app
from seqart.studio.models import find_models
from seqart.studio.security import allowed_hosts_for, host_allowed
from seqart.studio.takes import TakeRegistry, UnknownTakeError

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")  # starlette >= 1.10 prefers httpx2; httpx works
    from starlette.testclient import TestClient

TOKEN = "test-token-0123456789"
BASE = "http://127.0.0.1:8765"
ALLOWED = allowed_hosts_for("127.0.0.1", 8765)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("SEQART_DATA_DIR", str(folder))
    return folder


def client_for(app, base_url: str = BASE, token: str | None = TOKEN) -> TestClient:
    return TestClient(app, base_url=base_url, headers={"X-Seqart-Token": token} if token else {})


@pytest.fixture
def studio(data_dir):
    """A client with the token, on a studio offering ``folk``."""
    with client_for(create_app(["folk"], token=TOKEN, allowed_hosts=ALLOWED)) as client:
        yield client


def generate(client, num=2, **options):
    response = client.post("/api/takes", json={"model": "folk", "num": num, "options": options})
    assert response.status_code == 200, response.text
    return response.json()["takes"]


# ---------------------------------------------------------------- security
def test_every_api_call_needs_the_token(data_dir):
    app = create_app(["folk"], token=TOKEN, allowed_hosts=ALLOWED)
    without = client_for(app, token=None)
    assert without.get("/api/history").status_code == 401
    assert without.post("/api/takes", json={"model": "folk"}).status_code == 401
    assert client_for(app, token="wrong").get("/api/history").status_code == 403
    without.cookies.set("seqart_studio_8765", "wrong")
    assert without.get("/api/history").status_code == 403
    assert client_for(app).get("/api/history").json()["takes"] == []


def test_the_first_page_load_trades_the_token_for_a_strict_cookie(data_dir):
    browser = client_for(create_app(["folk"], token=TOKEN, allowed_hosts=ALLOWED), token=None)
    assert browser.get("/").status_code == 401
    assert browser.get("/?token=wrong", follow_redirects=False).status_code == 403
    response = browser.get(f"/?token={TOKEN}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = browser.get("/")
    assert page.status_code == 200 and "seqart studio" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert browser.get("/api/history").status_code == 200  # the cookie carries the token now


def test_a_foreign_host_or_origin_is_refused(data_dir):
    app = create_app(["folk"], token=TOKEN, allowed_hosts=ALLOWED)
    rebound = client_for(app, base_url="http://attacker.example:8765")
    assert rebound.get("/api/models").status_code == 403
    assert rebound.get(f"/?token={TOKEN}").status_code == 403
    cross_site = client_for(app).post("/api/takes", json={"model": "folk"},
                                      headers={"Origin": "http://attacker.example"})
    assert cross_site.status_code == 403 and "Origin" in cross_site.json()["error"]
    for host, allowed in [("127.0.0.1:8765", True), ("localhost:8765", True), ("[::1]:8765", True),
                          ("127.0.0.1:9999", False), ("attacker.example:8765", False), ("", False)]:
        assert host_allowed(host, ALLOWED) is allowed, host


# ------------------------------------------------------------------ models
def test_models_lists_folk_and_a_given_model_folder(data_dir, tmp_path):
    mine = shutil.copytree(ASSETS / "folk", tmp_path / "my-folk")
    entries = find_models(given=[mine], shipped=["folk"])
    with client_for(create_app(entries, token=TOKEN, allowed_hosts=ALLOWED)) as client:
        models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert set(models) == {"folk", "my-folk"}
    assert models["folk"]["id"] == "folk" and models["folk"]["type"] == "melody-transformer"
    assert models["my-folk"]["where"] == str(mine.resolve()) and "/" not in models["my-folk"]["id"]
    fields = {f["name"]: f for f in models["folk"]["options"]}
    assert {"bars", "temperature", "pitch_temperature", "key", "scale", "time_signature", "tempo", "style", "form",
            "seed", "num"} <= set(fields)
    own = load_generator("folk").sampling_defaults  # listed before it is loaded, as loaded it says
    assert fields["bars"]["default"] == 16 and fields["temperature"]["default"] == own["temperature"]
    assert fields["pitch_temperature"]["default"] == own["pitch_temperature"]
    assert "reel" in fields["style"]["choices"] and "dorian" in fields["key"]["modes"]


def test_model_folders_are_found_one_level_deep(tmp_path):
    shutil.copytree(ASSETS / "folk", tmp_path / "here")
    shutil.copytree(ASSETS / "folk", tmp_path / "run" / "model")
    (tmp_path / "run" / "run.json").write_text("{}")
    shutil.copytree(ASSETS / "folk", tmp_path / "deeper" / "still" / "model")
    names = [m.name for m in find_models(cwd=tmp_path, shipped=())]
    assert names == ["here", "run"]


# ------------------------------------------------------------------- takes
def test_two_folk_takes_keep_to_their_bars(studio):
    takes = generate(studio, num=2, bars=4, time_signature="3/4", seed=5)
    assert len(takes) == 2 and takes[0]["id"] != takes[1]["id"]
    for take in takes:
        assert re.fullmatch(r"[0-9a-f]{16}", take["id"])
        assert take["seed"] == 5 and take["meter"] == "3/4" and take["bars"] == 4
        assert take["notes"] and take["bar_starts"] == [0.0, 3.0, 6.0, 9.0]
        for pitch, start, duration, velocity in take["notes"]:
            assert 0 <= start and start + duration <= 12.0 + 1e-6 and 0 <= pitch <= 127 and 1 <= velocity <= 127
        own = load_generator("folk").sampling_defaults  # left to the model
        assert take["settings"]["bars"] == 4 and take["settings"]["temperature"] == own["temperature"]
        assert take["settings"]["pitch_temperature"] == own["pitch_temperature"]


def test_downloads_are_valid_midi_musicxml_and_wav(studio, tmp_path):
    take = generate(studio, num=1, bars=2, seed=1)[0]
    for fmt in ("mid", "musicxml"):
        response = studio.get(take["downloads"][fmt])
        assert response.status_code == 200 and f"folk-1-1.{fmt}" in response.headers["content-disposition"]
        (tmp_path / f"back.{fmt}").write_bytes(response.content)
        back = Score.from_file(tmp_path / f"back.{fmt}")
        assert [n.pitch for n in back.notes] == [n[0] for n in take["notes"]]
    wav = studio.get(take["downloads"]["wav"])
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF" and wav.content[8:12] == b"WAVE"
    assert wav.headers["content-type"] == "audio/wav"


def test_a_rating_goes_into_the_models_feedback_store(studio, data_dir):
    from seqart.feedback.store import FeedbackStore

    first, second = generate(studio, num=2, bars=2, seed=7)
    response = studio.post(f"/api/takes/{first['id']}/rating", json={"rating": "like"})
    assert response.status_code == 200 and response.json()["rating"] == "like"
    assert studio.post(f"/api/takes/{second['id']}/rating", json={"rating": 2}).json()["rating"] == 2
    with FeedbackStore.for_model("folk", create=False) as store:
        samples = store.samples()
    assert store.path.is_relative_to(data_dir)
    assert sorted(s.rating for s in samples) == [-1, 1] and sorted(s.stars or 0 for s in samples) == [0, 2]
    assert all(s.settings["seed"] == 7 and s.settings["bars"] == 2 and s.model == "folk" for s in samples)


def test_history_is_newest_first_and_its_settings_reproduce_a_take(studio):
    older = generate(studio, num=2, bars=2, seed=11)
    newer = generate(studio, num=1, bars=3, key="A dorian", seed=12)
    studio.post(f"/api/takes/{older[1]['id']}/rating", json={"rating": 5})
    history = studio.get("/api/history").json()["takes"]
    assert [t["id"] for t in history] == [newer[0]["id"], older[0]["id"], older[1]["id"]]
    assert history[0]["settings"]["key"] == "A dorian" and history[2]["rating"] == 5
    again = generate(studio, num=history[0]["num"], seed=history[0]["seed"], **history[0]["settings"])
    assert again[0]["notes"] == newer[0]["notes"]


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("body, says", [
    ({"model": "folk", "options": {"bars": "many"}}, "bars must be a number"),
    ({"model": "folk", "options": {"bars": 1000}}, "bars must be within"),
    ({"model": "folk", "options": {"top_k": 3}}, "takes no option 'top_k'"),
    ({"model": "folk", "options": {"key": "H minor"}}, "not a key"),
    ({"model": "folk", "options": {"form": "AZ"}}, "form"),
    ({"model": "folk", "options": ["bars"]}, "options must be a JSON object"),
    ({"model": "folk", "num": 9}, "num must be within 1-8"),
    ({"model": "no-such-model"}, "no model 'no-such-model'"),
    ({"model": "folk", "colour": "red"}, "unknown field 'colour'"),
])
def test_bad_input_is_a_400_with_one_line(studio, body, says):
    response = studio.post("/api/takes", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert says in error and "\n" not in error and "Traceback" not in error


def test_bad_bodies_and_ratings_are_400s(studio):
    assert studio.post("/api/takes", content=b"{not json").json() == {"error": "the request body is not JSON"}
    take = generate(studio, num=1, bars=2)[0]
    for rating in ("meh", 6, True, None, [1]):
        response = studio.post(f"/api/takes/{take['id']}/rating", json={"rating": rating})
        assert response.status_code == 400 and "like, dislike or 1-5" in response.json()["error"]
    assert studio.get("/api/history").status_code == 200  # the server goes on


def test_unknown_and_path_like_ids_are_refused(studio, data_dir):
    take = generate(studio, num=1, bars=2)[0]
    (data_dir / "secret.mid").write_bytes(b"not for the page")
    for take_id in ("0123456789abcdef", "....", "..%5C..%5Csecret", "..%2F..%2Fsecret", "%2e%2e"):
        for path in (f"/api/takes/{take_id}", f"/api/takes/{take_id}/download.mid"):
            response = studio.get(path)
            assert response.status_code == 404 and "error" in response.json(), path
    assert studio.post("/api/takes/0123456789abcdef/rating", json={"rating": "like"}).status_code == 404
    assert studio.get(f"/api/takes/{take['id']}/download.exe").status_code == 404
    with pytest.raises(UnknownTakeError):
        TakeRegistry(data_dir / "takes").get("../secret")


# ------------------------------------------------------------ page and CLI
def test_static_assets_reach_nothing_outside(studio):
    files = sorted(STATIC.iterdir())
    assert {f.name for f in files} == {"index.html", "studio.js", "studio.css", "latent.js", "pictures.js",
                                       "record.js", "record-worklet.js"}
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert not re.search(r"(?i)https?:|ftp:|wss?:", text), file.name
        assert not re.search(r"""(?i)(src|href)\s*=\s*["']//|url\(\s*["']?//|@import""", text), file.name
        assert studio.get(f"/static/{file.name}").status_code == 200
    index = (STATIC / "index.html").read_text(encoding="utf-8")
    linked = set(re.findall(r"""(?:src|href)="([^"]+)\"""", index))
    assert linked == {"/static/studio.css", "/static/studio.js", "/static/latent.js", "/static/pictures.js",
                      "/static/record.js"}


def test_cli_help_and_light_imports():
    result = CliRunner().invoke(cli_app, ["studio", "--help"])
    assert result.exit_code == 0
    for option in ("--model", "--port", "--host", "--no-browser"):
        assert option in result.output
    check = ("import sys\nfrom seqart.cli import app\nsys.argv = ['seqart', '--help']\ntry:\n    app()\n"
             "except SystemExit:\n    pass\nassert 'starlette' not in sys.modules and 'uvicorn' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", check], check=True, capture_output=True)


def test_cli_prints_the_link_and_warns_off_loopback(data_dir, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    result = CliRunner().invoke(cli_app, ["studio", "--host", "0.0.0.0", "--port", "0", "--no-browser"])
    assert result.exit_code == 0, result.output
    assert "warning: listening on 0.0.0.0" in result.output
    assert re.search(r"open http://127\.0\.0\.1:\d+/\?token=[\w-]{40,}", result.output)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = CliRunner().invoke(cli_app, ["studio", "--port", str(busy.getsockname()[1]), "--no-browser"])
    assert taken.exit_code == 2 and "choose another --port" in taken.output


class _FakeGenerator:
    """Just what :func:`options_of` reads of a generator: the protocol's attributes."""

    folder, evaluation, last_seed = ASSETS / "folk", None, None

    def __init__(self, model_type, defaults):
        self.model_type, self.sampling_defaults = model_type, defaults

    def sample(self, num=1, *, seed=None, **options):
        return []


class _FakeFrames(_FakeGenerator):
    def continue_score(self, score, bars=8, num=1, **options):
        return []


class _FakeLatent(_FakeGenerator):
    def encode(self, scores): ...

    def decode(self, z, temperature=0.0, seed=None): ...

    def interpolate(self, a, b, steps=8, temperature=0.0, seed=None): ...


@pytest.mark.parametrize("generator, fields", [
    (_FakeFrames("poly-lstm", {"bars": 16, "temperature": 1.0}), ["bars", "temperature", "tempo", "seed", "num"]),
    (_FakeLatent("music-vae", {"temperature": 0.5}), ["temperature", "seed", "num"]),
])
def test_frame_and_latent_models_get_their_own_fields(generator, fields):
    from seqart.studio.options import options_of

    options = options_of(generator)
    assert options.names() == fields
    assert options.fields[0].default == generator.sampling_defaults[fields[0]]
