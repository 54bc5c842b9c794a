"""Tests of seqart.corpora and ``seqart corpus``: small hand-written folders only."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from seqart.cli import app
from seqart.corpora import (
    BUILTINS,
    CorpusDataset,
    build_corpus,
    list_builtins,
    load_polyphonic_benchmark,
    resolve_source,
    split_of,
)
from seqart.corpora import build as build_module
from seqart.corpora import sources
from seqart.errors import CorpusError
from seqart.io import read_scores
from seqart.io.music21_reader import parse_abc_tune, split_abc_tunes
from seqart.tokenizers import get_tokenizer

REPO = Path(__file__).resolve().parents[1]
_SHARED_CANDIDATES = [Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")]
JSB = next((p / "data/polyphonic/JSB_Chorales.mat" for p in _SHARED_CANDIDATES
            if (p / "data/polyphonic/JSB_Chorales.mat").is_file()), None)

TUNE_1 = "X:1\nT:First\nM:4/4\nL:1/8\nK:G\nGABc dedB|c2e2 d2B2|ABAG E2D2|G6 z2|\n"
TUNE_2 = "X:2\nT:Second\nM:3/4\nL:1/8\nK:D\nA2 d2 f2|e2 c2 A2|B2 G2 E2|D6|\n"


# ----------------------------------------------------------------- fixtures
def midi_bytes(notes: list[tuple[int, float, float]], tpq: int = 480) -> bytes:
    """A one-track standard MIDI file; ``notes`` are ``(pitch, start, duration)`` in beats."""
    events = []
    for pitch, start, dur in notes:
        events.append((round(start * tpq), 1, 0x90, pitch, 80))
        events.append((round((start + dur) * tpq), 0, 0x80, pitch, 0))
    events.sort()
    track, last = bytearray(), 0
    for tick, _, status, pitch, vel in events:
        delta, buf = tick - last, [(tick - last) & 0x7F]
        while delta > 0x7F:
            delta >>= 7
            buf.insert(0, (delta & 0x7F) | 0x80)
        track += bytes(buf) + bytes([status, pitch, vel])
        last = tick
    track += b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq) + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


MELODY_MIDI = midi_bytes([(60, 0, 1), (62, 1, 1), (64, 2, 1), (65, 3, 1), (67, 4, 2), (64, 6, 2)])


def write_bad_files(folder: Path) -> None:
    (folder / "empty.mid").write_bytes(b"")
    (folder / "garbage.mid").write_bytes(bytes(range(256)) * 8)
    (folder / "words.abc").write_text("just some words, no tune here\n")
    (folder / "broken.xml").write_text("this is not XML at all\n")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own parse cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SEQART_CACHE_DIR", str(cache))
    return cache / "scores"


@pytest.fixture
def music_folder(tmp_path) -> Path:
    """Two ABC tunes, a MIDI melody, a copy of tune 1 in a sub-folder, four bad files, a hidden file."""
    folder = tmp_path / "music"
    (folder / "sub").mkdir(parents=True)
    (folder / "tunes.abc").write_text(TUNE_1 + "\n" + TUNE_2)
    (folder / "sub" / "copy.abc").write_text(TUNE_1)
    (folder / "melody.mid").write_bytes(MELODY_MIDI)
    (folder / ".hidden.mid").write_bytes(b"not even looked at")
    write_bad_files(folder)
    return folder


def build(source, out, **kw):
    kw.setdefault("workers", 1)
    kw.setdefault("progress", False)
    return build_corpus(source, out, **kw)


# ---------------------------------------------------------------- building
def test_folder_build_keeps_good_files_and_lists_bad_ones(music_folder, tmp_path):
    report = build(music_folder, tmp_path / "out")
    assert (report.units, report.scores, report.kept, report.duplicates) == (8, 4, 3, 1)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [i["source"] for i in manifest["items"]] == ["melody.mid", "sub/copy.abc#1", "tunes.abc#2"]
    assert manifest["duplicates"] == [{"source": "tunes.abc#1", "same_as": "sub/copy.abc#1"}]
    skipped = {s["source"]: s["reason"] for s in manifest["skipped"]}
    assert sorted(skipped) == ["broken.xml", "empty.mid", "garbage.mid", "words.abc"]
    assert skipped["empty.mid"] == "empty file"
    assert skipped["words.abc"].startswith("no ABC tune")
    assert all(reason and "\n" not in reason for reason in skipped.values())
    assert manifest["counts"]["skipped"] == 4 and manifest["counts"]["kept"] == 3
    assert manifest["tokenizer"]["tokenizer"] == "melody" and manifest["vocab"][:2] == ["PAD", "BOS"]
    assert sum(report.sequences.values()) == 3
    assert sum(report.items.values()) == len(np.load(tmp_path / "out" / "tokens-00000.npy"))

    with pytest.raises(CorpusError, match="no usable music .*: 3 of 3 files skipped"):
        build(music_folder, tmp_path / "limited", limit=3)  # broken.xml, empty.mid, garbage.mid
    first_four = build(music_folder, tmp_path / "limited", limit=4)  # ... and melody.mid
    assert (first_four.units, first_four.kept, len(first_four.skipped)) == (4, 1, 3)


def test_dataset_reads_back_what_encode_produced(music_folder, tmp_path):
    build(music_folder, tmp_path / "out", valid_fraction=0.0, test_fraction=0.0)
    ds = CorpusDataset.open(tmp_path / "out")
    tok = get_tokenizer("melody")
    assert ds.tokenizer == tok and ds.data.dtype == np.int16
    expected = {
        "melody.mid": tok.encode(read_scores(music_folder / "melody.mid")[0]),
        "sub/copy.abc#1": tok.encode(parse_abc_tune(split_abc_tunes(TUNE_1)[0])),
        "tunes.abc#2": tok.encode(parse_abc_tune(split_abc_tunes(TUNE_1 + TUNE_2)[1])),
    }
    train = ds.split("train")
    assert [i["source"] for i in ds.items("train")] == list(expected)
    for seq, want in zip(train, expected.values()):
        np.testing.assert_array_equal(seq, want)
    assert ds.split("valid") == [] and ds.num_sequences("test") == 0
    assert ds.num_items("train") == sum(len(v) for v in expected.values()) == ds.num_items()
    assert ds.tokenizer.decode(train[0]).num_notes == 6


def test_second_build_is_served_by_the_cache(music_folder, tmp_path, monkeypatch, isolated_cache):
    first = build(music_folder, tmp_path / "a")
    assert first.parsed == 6 and first.cache_hits == 0  # 4 good units (one a copy) + garbage.mid + broken.xml
    assert len(list(isolated_cache.rglob("*.json.gz"))) == 5  # the identical tunes share one entry

    calls = []
    monkeypatch.setattr(sources, "parse_unit", lambda unit: calls.append(unit) or pytest.fail("parsed again"))
    second = build(music_folder, tmp_path / "b")
    assert calls == [] and second.parsed == 0 and second.cache_hits == 6
    for name in ("tokens-00000.npy", "index.npy", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()

    # A fully cached build needs no music21 at all.
    code = (
        "import sys; from seqart.corpora import build_corpus; "
        f"r = build_corpus({str(music_folder)!r}, {str(tmp_path / 'c')!r}, workers=1, progress=False); "
        "print(r.parsed, 'music21' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False"]


def test_editing_one_file_reparses_only_that_unit(music_folder, tmp_path):
    build(music_folder, tmp_path / "out")
    (music_folder / "tunes.abc").write_text(TUNE_1 + "\n" + TUNE_2.replace("D6|", "D4 F2|"))
    report = build(music_folder, tmp_path / "out")
    assert report.parsed == 1 and report.cache_hits == 5
    report = build(music_folder, tmp_path / "out", use_cache=False)
    assert report.parsed == 6 and report.cache_hits == 0


def test_split_is_by_content_hash_and_independent_of_workers(tmp_path):
    folder = tmp_path / "book"
    folder.mkdir()
    letters = "CDEFGABcdefgab"
    tunes = []
    for i in range(24):
        notes = " ".join(letters[(i * 5 + j * (i % 4 + 1)) % 14] + "2" for j in range(8))
        tunes.append(f"X:{i + 1}\nT:Tune {i}\nM:4/4\nL:1/8\nK:C\n{notes}|c8|\n")
    (folder / "book.abc").write_text("\n".join(tunes))
    kw = dict(valid_fraction=0.25, test_fraction=0.25, use_cache=False)
    one = build(folder, tmp_path / "w1", workers=1, **kw)
    two = build(folder, tmp_path / "w2", workers=2, **kw)
    assert one.kept == two.kept == 24 and all(one.sequences.values())
    for name in ("tokens-00000.npy", "index.npy", "manifest.json"):
        assert (tmp_path / "w1" / name).read_bytes() == (tmp_path / "w2" / name).read_bytes()
    ds = CorpusDataset.open(tmp_path / "w2")
    for i, item in enumerate(ds.items()):
        digest = hashlib.sha256(np.asarray(ds[i], dtype=np.int32).tobytes()).hexdigest()
        assert ("train", "valid", "test")[split_of(digest, 0.25, 0.25)] == item["split"]


def test_a_crashing_worker_skips_only_its_unit():
    class Crash:
        """Unpickling this in a worker kills the worker process."""

        def __reduce__(self):
            return (os._exit, (3,))

    units = [sources.Unit(f"ok{i}", sources.FILE, "", key=f"k{i}", error=f"fine {i}") for i in range(6)]
    units.insert(2, sources.Unit("boom", sources.ABC_TUNE, "", text=Crash(), key="boom"))  # type: ignore[arg-type]
    got = {}
    build_module._parse_parallel(units, 2, None, lambda unit, payload: got.setdefault(unit.label, payload))
    assert got.pop("boom") == {"error": build_module._CRASH_REASON}
    assert got == {f"ok{i}": {"error": f"fine {i}"} for i in range(6)}


@pytest.mark.skipif(JSB is None, reason="shared/data/polyphonic/JSB_Chorales.mat is not available")
def test_benchmark_mat_keeps_its_standard_split(tmp_path):
    report = build(JSB, tmp_path / "jsb", representation="pianoroll")
    assert report.sequences == {"train": 229, "valid": 76, "test": 77}
    assert report.items == {"train": 13807, "valid": 4602, "test": 4725}
    ds = CorpusDataset.open(tmp_path / "jsb")
    assert ds.manifest["split_method"] == "standard" and ds.n_features == 88
    assert ds.tokenizer.config.steps_per_beat == 1  # JSB frames are quarter notes
    raw = load_polyphonic_benchmark(JSB)
    np.testing.assert_array_equal(ds.split("test")[5], raw["test"][5])
    assert ds.split("valid")[0].shape == raw["valid"][0].shape and ds.data.dtype == np.uint8
    with pytest.raises(CorpusError, match="pianoroll"):
        build(JSB, tmp_path / "jsb2", representation="melody")


def test_refuses_to_overwrite_a_folder_that_is_not_a_corpus(music_folder, tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.txt").write_text("do not delete")
    with pytest.raises(CorpusError, match="not empty"):
        build(music_folder, out)
    assert sorted(p.name for p in out.iterdir()) == ["thesis.txt"]
    corpus = tmp_path / "corpus"
    build(music_folder, corpus)
    report = build(music_folder, corpus, representation="pianoroll", tokenizer_config={"steps_per_beat": 2})
    assert sorted(p.name for p in corpus.iterdir()) == ["frames-00000.npy", "index.npy", "manifest.json"]
    assert CorpusDataset.open(corpus).split("train")[0].shape[1] == 88 and report.kind == "frames"


def test_unknown_sources_and_bad_folders_are_one_line_errors(tmp_path):
    with pytest.raises(CorpusError, match=r"unknown corpus 'nope': not a built-in \(essen, han"):
        resolve_source("nope")
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(CorpusError, match="no music files"):
        resolve_source(tmp_path)
    with pytest.raises(CorpusError, match="not a music file"):
        resolve_source(tmp_path / "readme.txt")
    with pytest.raises(CorpusError, match="not a corpus folder"):
        CorpusDataset.open(tmp_path)


def test_builtins_resolve_and_count_without_parsing():
    rows = {name: (n, desc) for name, n, desc in list_builtins()}
    assert list(rows) == ["essen", "han", "oneills", "ryans", "airds", "folk", "bach", "bach-satb"]
    assert all(n > 0 and desc for n, desc in rows.values())
    assert rows["folk"][0] == sum(rows[n][0] for n in ("essen", "oneills", "ryans", "airds"))
    han = resolve_source("han")
    assert [han.label(p) for p in han.files] == ["essenFolksong/han1.abc", "essenFolksong/han2.abc"]
    assert {p.suffix for p in resolve_source("bach").files} == {".mxl", ".xml"}
    assert rows["bach"][0] == len(BUILTINS["bach"].paths())
    assert rows["bach-satb"][0] == rows["bach"][0] and BUILTINS["bach-satb"].recipe.tracks[0] == ("Soprano", 40)


# --------------------------------------------------------------------- CLI
def test_cli_list_shows_every_builtin_with_counts():
    result = CliRunner().invoke(app, ["corpus", "list"])
    assert result.exit_code == 0, result.output
    for name, tunes, _ in list_builtins():
        assert name in result.output and f"{tunes:,}" in result.output
    assert ".mat" in result.output
    # each row starts: name | tunes | representation | valid / test (the recipe's defaults)
    rows = {cells[0]: cells[1:4] for line in result.output.splitlines()
            if len(cells := [c.strip() for c in line.strip("│┃ ").split("│")]) >= 4}
    for name, tunes, _ in list_builtins():
        recipe = BUILTINS[name].recipe
        assert rows[name] == [f"{tunes:,}", recipe.representation, recipe.split_text], result.output
    assert BUILTINS["han"].recipe.split_text == "5% / 5%"


def test_cli_build_prints_a_summary(music_folder, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["corpus", "build", str(music_folder), "-o", str(out), "--workers", "1",
                                      "--set", "steps_per_beat=2"])
    assert result.exit_code == 0, result.output
    assert "kept 3 sequences" in result.output and "1 duplicates" in result.output
    assert "skipped 1: empty file" in result.output and str(out / "manifest.json") in result.output
    assert CorpusDataset.open(out).tokenizer.config.steps_per_beat == 2


def test_cli_all_bad_files_is_one_error_line(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    write_bad_files(folder)
    result = CliRunner().invoke(app, ["corpus", "build", str(folder), "-o", str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == 2
    assert "error: no usable music in" in result.output and "4 of 4 files skipped" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
    bad_option = CliRunner().invoke(app, ["corpus", "build", str(folder), "-o", str(tmp_path / "o"), "--set", "nope=1"])
    assert bad_option.exit_code == 2 and "error: unknown melody tokenizer option" in bad_option.output
