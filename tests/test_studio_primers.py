"""seqart studio's "Continue my idea": uploading a score or a recording as a primer,
continuing it with the shipped ``folk`` model (its notes unchanged), and every kind of
bad upload refused with one line while the server goes on."""

from __future__ import annotations

import re
import warnings

import pytest

from seqart.errors import ScoreReadError
from seqart.score import Note, Score, TempoChange, TimeSignature, Track
from seqart.studio.app import create_app
from seqart.studio.reading import read_in_child
from seqart.studio.security import allowed_hosts_for
from seqart.studio.uploads import MAX_UPLOAD, UploadError, upload_name

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")  # starlette >= 1.10 prefers httpx2; httpx works
    from starlette.testclient import TestClient

TOKEN = "test-token-0123456789"
MELODY = [Note(67, 0.0, 1.0, 96), Note(71, 1.0, 0.5, 90), Note(74, 1.5, 0.5, 90), Note(72, 2.0, 1.0, 92),
          Note(71, 3.0, 1.0, 88)]
BASS = [Note(43, 0.0, 2.0, 70), Note(50, 2.0, 2.0, 70), Note(43, 4.0, 2.0, 70)]
ABC = "X:1\nT:Idea\nM:3/4\nL:1/8\nK:D\nD2 F2 A2 | d4 c2 |\n"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("SEQART_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def studio(data_dir):
    """A client with the token, on a studio offering ``folk`` and ``folk-vae-2bar``."""
    app = create_app(["folk", "folk-vae-2bar"], token=TOKEN, allowed_hosts=allowed_hosts_for("127.0.0.1", 8765))
    with TestClient(app, base_url="http://127.0.0.1:8765", headers={"X-Seqart-Token": TOKEN}) as client:
        yield client


def two_tracks() -> Score:
    """A melody over a bass that runs a bar longer (4/4, 110 bpm)."""
    return Score(tracks=[Track(list(MELODY), name="Melody"), Track(list(BASS), program=32, name="Bass")],
                 tempos=[TempoChange(0.0, 110.0)], time_signatures=[TimeSignature(0.0, 4, 4)])


def upload(client, name: str, data: bytes, expect: int = 200) -> dict:
    response = client.post("/api/primers", params={"name": name}, content=data)
    assert response.status_code == expect, response.text
    return response.json()


def continue_idea(client, primer_id: str, num: int = 2, **options) -> dict:
    response = client.post("/api/takes", json={"model": "folk", "num": num,
                                               "options": {"primer": primer_id, "bars": 2, "seed": 4, **options}})
    assert response.status_code == 200, response.text
    return response.json()


def note_rows(notes: list[Note]) -> list[list]:
    return sorted([n.pitch, n.start, n.duration, n.velocity] for n in notes)


# ------------------------------------------------------------------ upload
def test_a_midi_idea_lists_its_tracks_and_the_line_continued(studio, tmp_path, data_dir):
    idea = upload(studio, "my idea.mid", two_tracks().write(tmp_path / "idea.mid").read_bytes())
    assert re.fullmatch(r"[0-9a-f]{16}", idea["id"]) and idea["name"] == "my idea.mid"
    assert idea["kind"] == "midi" and idea["transcribed"] is False
    assert [(t["number"], t["name"], t["notes"]) for t in idea["tracks"]] == [(1, "Melody", 5), (2, "Bass", 3)]
    assert idea["notice"] == "continuing the top voice of 2 tracks (1 Melody, 2 Bass)"
    assert [t["notice"] for t in idea["tracks"]] == ["continuing track 1 (Melody)", "continuing track 2 (Bass)"]
    assert sorted(idea["notes"]) == note_rows(MELODY + BASS)
    assert idea["bar_starts"] == [0.0, 4.0] and idea["tempo"] == 110.0
    assert studio.get(f"/api/primers/{idea['id']}").json() == idea
    stored = list((data_dir / "studio").glob("*/primers/*"))
    assert [p.name for p in stored] == [f"{idea['id']}.mid"]  # named by the server, not the upload


@pytest.mark.parametrize("name, content, kind, pitches", [
    ("tune.abc", ABC.encode(), "abc", [62, 66, 69, 74, 73]),
    ("tune.musicxml", None, "musicxml", [67, 71, 74, 72, 71]),
])
def test_abc_and_musicxml_ideas_read_as_the_cli_reads_them(studio, tmp_path, name, content, kind, pitches):
    if content is None:
        content = Score(tracks=[Track(list(MELODY))]).write(tmp_path / name).read_bytes()
    idea = upload(studio, name, content)
    assert idea["kind"] == kind and [n[0] for n in idea["notes"]] == pitches
    assert idea["notice"] == "continuing its one line"


def test_a_recording_is_transcribed(studio, tmp_path):
    from seqart.audio.render import render

    phrase = [62, 64, 66, 67, 69]
    flute = Score(tracks=[Track([Note(p, i * 1.0, 1.0, 100) for i, p in enumerate(phrase)], program=73)],
                  tempos=[TempoChange(0.0, 100.0)])
    wav = render(flute, tmp_path / "hum.wav", engine="builtin")
    idea = upload(studio, "hum.wav", wav.read_bytes())
    assert idea["kind"] == "audio" and idea["transcribed"] is True
    assert [n[0] for n in idea["notes"]] == phrase


# ---------------------------------------------------------------- continue
def test_takes_continue_the_chosen_track_with_the_ideas_notes_unchanged(studio, tmp_path, data_dir):
    from seqart.feedback.store import FeedbackStore

    idea = upload(studio, "idea.mid", two_tracks().write(tmp_path / "idea.mid").read_bytes())
    answer = continue_idea(studio, idea["id"], track=1)
    assert answer["notice"] == "continuing track 1 (Melody)"
    for take in answer["takes"]:
        assert take["primer"] == [0.0, 4.0]  # the melody ends at beat 4: its continuation starts there
        assert take["primer_name"] == "idea.mid" and take["settings"]["track"] == 1
        own = [n for n, mine in zip(take["notes"], take["from_primer"]) if mine]
        new = [n for n, mine in zip(take["notes"], take["from_primer"]) if not mine]
        assert sorted(own) == note_rows(MELODY + BASS)  # every note of the idea, unchanged
        assert new and all(start >= 4.0 for _, start, _, _ in new)
        assert take["bars"] == 3  # the melody's bar, then 2 new ones
    assert studio.get(f"/api/primers/{idea['id']}").json() == idea  # continuing it changed nothing
    with FeedbackStore.for_model("folk", create=False) as store:
        settings = [s.settings for s in store.samples()]
    assert all(s["primer"].endswith(f"{idea['id']}.mid") and s["track"] == 1 for s in settings)


def test_without_a_track_the_top_voice_of_every_track_is_continued(studio, tmp_path):
    idea = upload(studio, "idea.mid", two_tracks().write(tmp_path / "idea.mid").read_bytes())
    answer = continue_idea(studio, idea["id"], num=1)
    assert answer["notice"].startswith("continuing the top voice of 2 tracks")
    take = answer["takes"][0]
    assert take["primer"] == [0.0, 6.0]  # the bass's last note ends at beat 6
    assert sum(take["from_primer"]) == len(MELODY + BASS)


@pytest.mark.parametrize("options, status, says", [
    ({"primer": "0123456789abcdef"}, 400, "no primer '0123456789abcdef' in this session"),
    ({"primer": "../../secret.mid"}, 400, "no primer '../../secret.mid'"),
    ({"primer": 7}, 400, "no primer"),
    ({"primer": "IDEA", "track": 0}, 400, "track must be a whole number from 1"),
    ({"primer": "IDEA", "track": "two"}, 400, "track must be a whole number from 1"),
    ({"primer": "IDEA", "track": 1.5}, 400, "track must be a whole number from 1"),
    ({"primer": "IDEA", "track": 5}, 400, "track 5 does not exist: idea.mid has 2 tracks"),
    ({"track": 1}, 400, "track chooses a line of the primer"),
])
def test_bad_primer_options_are_400s(studio, tmp_path, options, status, says):
    idea = upload(studio, "idea.mid", two_tracks().write(tmp_path / "idea.mid").read_bytes())
    options = {k: idea["id"] if v == "IDEA" else v for k, v in options.items()}
    response = studio.post("/api/takes", json={"model": "folk", "options": {"bars": 1, **options}})
    assert response.status_code == status
    assert says in response.json()["error"] and "\n" not in response.json()["error"]


def test_a_latent_model_cannot_continue_an_idea(studio, tmp_path):
    idea = upload(studio, "idea.mid", two_tracks().write(tmp_path / "idea.mid").read_bytes())
    models = {m["id"]: m["continues"] for m in studio.get("/api/models").json()["models"]}
    assert models == {"folk": "line", "folk-vae-2bar": None}
    response = studio.post("/api/takes", json={"model": "folk-vae-2bar", "options": {"primer": idea["id"]}})
    assert response.status_code == 400 and "cannot continue an idea" in response.json()["error"]


def test_unknown_primer_ids_are_404s(studio):
    for primer_id in ("0123456789abcdef", "x", "..%5C..%5Csecret"):
        response = studio.get(f"/api/primers/{primer_id}")
        assert response.status_code == 404 and "no primer" in response.json()["error"]
    assert studio.get("/api/primers/..%2F..%2Fsecret").status_code == 404  # no route at all


# ------------------------------------------------------------- bad uploads
MIDI_HEAD = b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0"
WAV_HEAD = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00"


@pytest.mark.parametrize("name, data, says", [
    (None, b"MThd", "an upload needs a file name"),
    ("notes.txt", b"X:1\nK:C\nCDE|\n", "'notes.txt' is not a score or a recording"),
    ("run.exe", b"MZ\x90\x00", "not a score or a recording"),
    ("idea.mid", b"", "the upload is empty"),
    ("idea.mid", WAV_HEAD + b"\x00" * 64, "idea.mid holds WAV audio, not a score"),
    ("hum.wav", MIDI_HEAD, "hum.wav is not a recording"),
    ("hum.mp3", b"<?xml version='1.0'?><score-partwise/>", "hum.mp3 is not a recording"),
    ("idea.mid", MIDI_HEAD + b"MTrk\xff\xff\xff\xff" + b"\x00" * 32, "idea.mid: "),
    ("idea.mid", b"\x00\x01\x02 just bytes", "idea.mid: "),
    ("idea.abc", b"\x00\x01\x02\x03" * 20, "idea.abc: not a MIDI, MusicXML or ABC file"),
    ("idea.musicxml", b"<?xml version='1.0'?><score-partwise><part-list>", "idea.musicxml: "),
    ("idea.abc", b"X:1\nT:no notes\nK:C\n", "idea.abc: "),
    ("hum.wav", WAV_HEAD + b"\x00" * 64, "hum.wav: "),
    ("../../../etc/idea.mid", b"\x00\x01", "idea.mid: "),
], ids=lambda value: f"{len(value)}-bytes" if isinstance(value, bytes) else None)
def test_bad_uploads_are_one_line_400s_and_the_studio_goes_on(studio, data_dir, name, data, says):
    params = {} if name is None else {"name": name}
    response = studio.post("/api/primers", params=params, content=data)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert says in error and "\n" not in error and "Traceback" not in error
    assert str(data_dir) not in error  # the server's own paths stay on the server
    assert not list(data_dir.glob("studio/*/primers/*"))  # nothing kept of a refused upload
    assert studio.get("/api/history").status_code == 200


def test_an_upload_over_the_limit_is_refused_before_it_is_read(studio):
    declared = studio.post("/api/primers", params={"name": "big.mid"},
                           headers={"Content-Length": str(MAX_UPLOAD + 1)}, content=b"MThd" + b"\x00" * 100)
    assert declared.status_code == 400 and "too large" in declared.json()["error"]

    sent = []

    def endless():  # chunked: no Content-Length, so the size is counted while reading
        for _ in range(MAX_UPLOAD // 65536 + 10):
            sent.append(1)
            yield b"\x00" * 65536

    streamed = studio.post("/api/primers", params={"name": "big.wav"}, content=endless())
    assert streamed.status_code == 400 and "at most 5 MB" in streamed.json()["error"]


def test_upload_names_are_shown_never_used_as_paths():
    assert upload_name("../../etc/passwd.mid") == "passwd.mid"
    assert upload_name("C:\\Users\\me\\idea.ABC") == "idea.ABC"
    assert upload_name("x" * 200 + ".mid").endswith("....mid") and len(upload_name("x" * 200 + ".mid")) == 80
    for bad in ("", "   ", "/", "idea", "idea.mid.exe"):
        with pytest.raises(UploadError):
            upload_name(bad)


def test_a_read_past_its_time_is_stopped(tmp_path):
    path = two_tracks().write(tmp_path / "idea.mid")
    with pytest.raises(ScoreReadError, match=r"^idea\.mid: gave up after 0\.01 s reading it"):
        read_in_child(path, "idea.mid", seconds=0.01)
    assert read_in_child(path, "idea.mid").source == "idea.mid"


def test_a_piano_roll_model_continues_every_track(data_dir, tmp_path):
    """A frame model (untrained, tiny: keys C4-B4) plays the idea back at one velocity;
    its notes still count as the idea's (a note sounding at the idea's end that the model holds
    on runs longer, as piano-roll frames merge), and a track cannot be chosen."""
    from seqart.models.folder import save_model_folder
    from tests.model_cases import CASES

    case = next(c for c in CASES if c.model == "poly-lstm")
    folder = save_model_folder(tmp_path / "poly", *case.build())
    app = create_app([folder], token=TOKEN, allowed_hosts=allowed_hosts_for("127.0.0.1", 8765))
    with TestClient(app, base_url="http://127.0.0.1:8765", headers={"X-Seqart-Token": TOKEN}) as client:
        (model,) = client.get("/api/models").json()["models"]
        assert model["continues"] == "all"
        idea = Score(tracks=[Track([Note(60, 0.0, 1.0, 100), Note(64, 1.0, 1.0, 50)]), Track([Note(67, 0.0, 2.0, 70)])])
        primer = upload(client, "idea.mid", idea.write(tmp_path / "idea.mid").read_bytes())
        response = client.post("/api/takes", json={"model": model["id"], "options": {"primer": primer["id"], "bars": 1}})
        assert response.status_code == 200, response.text
        take = response.json()["takes"][0]
        assert take["primer"] == [0.0, 2.0]
        kept = sorted(n[:3] for n, mine in zip(take["notes"], take["from_primer"]) if mine)
        assert [n[:2] for n in kept] == [[60, 0.0], [64, 1.0], [67, 0.0]]
        # C4 ends inside the idea, so it keeps its length; E4 and G4 end where the idea ends,
        # so the model may hold either on into the bar it writes
        assert kept[0][2] == 1.0 and kept[1][2] >= 1.0 and kept[2][2] >= 2.0
        refused = client.post("/api/takes", json={"model": model["id"],
                                                  "options": {"primer": primer["id"], "track": 1}})
        assert refused.status_code == 400 and "continues every track" in refused.json()["error"]
