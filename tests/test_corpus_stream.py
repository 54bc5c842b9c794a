"""Streaming corpus builds: sharded data files, version 1 folders, interrupted and resumed builds."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seqart.corpora import CorpusDataset, build_corpus
from seqart.corpora import writer as writer_module
from seqart.corpora.layout import INDEX_DTYPE, INDEX_DTYPE_V1
from seqart.errors import CorpusError
from tests.test_corpora import TUNE_1, TUNE_2, midi_bytes, write_bad_files

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own parse cache."""
    monkeypatch.setenv("SEQART_CACHE_DIR", str(tmp_path / "cache"))


def melody(seed: int) -> bytes:
    """A distinct one-track MIDI melody of 6 to 16 quarter notes."""
    rng = random.Random(seed)
    return midi_bytes([(rng.randrange(55, 80), float(k), 1.0) for k in range(rng.randrange(6, 17))])


@pytest.fixture
def big_folder(tmp_path) -> Path:
    """30 MIDI melodies in three sub-folders, two of them copies of earlier ones, an ABC
    book with two tunes, and the four bad files."""
    folder = tmp_path / "music"
    for i in range(30):
        sub = folder / f"part{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"m{i:02d}.mid").write_bytes(melody(i))
    (folder / "part2" / "z_copy_of_m03.mid").write_bytes(melody(3))
    (folder / "part1" / "z_copy_of_m27.mid").write_bytes(melody(27))
    (folder / "book.abc").write_text(TUNE_1 + "\n" + TUNE_2)
    write_bad_files(folder)
    return folder


def build(source, out, **kw):
    kw.setdefault("workers", 1)
    kw.setdefault("progress", False)
    return build_corpus(source, out, **kw)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def stop_at(unit: int):
    """A progress callback that interrupts the build after ``unit`` units."""

    def callback(done: int, total: int) -> None:
        if done >= unit:
            raise KeyboardInterrupt

    return callback


# ------------------------------------------------------------------ shards
def test_shards_split_at_the_limit_and_read_back_like_one_shard(big_folder, tmp_path):
    one = build(big_folder, tmp_path / "one", valid_fraction=0.2, test_fraction=0.2)
    many = build(big_folder, tmp_path / "many", valid_fraction=0.2, test_fraction=0.2, shard_items=100)
    assert one.shards == 1 and many.shards > 3 and one.kept == many.kept == 32
    assert (one.duplicates, len(one.skipped)) == (many.duplicates, len(many.skipped)) == (2, 4)
    a, b = CorpusDataset.open(tmp_path / "one"), CorpusDataset.open(tmp_path / "many")
    assert a.manifest["items"] == b.manifest["items"] and a.manifest["counts"] == b.manifest["counts"]
    for name in ("train", "valid", "test"):
        left, right = a.split(name), b.split(name)
        assert len(left) == len(right) and all(np.array_equal(x, y) for x, y in zip(left, right))
    np.testing.assert_array_equal(a.data, b.data)  # several shards: concatenated on demand
    assert np.array_equal(a.index[["length", "split"]], b.index[["length", "split"]])

    shards = b.manifest["shards"]
    assert [s["file"] for s in shards] == [f"tokens-{k:05d}.npy" for k in range(len(shards))]
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == sorted(
        [s["file"] for s in shards] + ["index.npy", "manifest.json"])
    for k, shard in enumerate(shards):
        rows = b.index[b.index["shard"] == k]
        data = np.load(tmp_path / "many" / shard["file"])
        assert len(data) == shard["items"] <= 100 and len(rows) == shard["sequences"]
        assert rows["offset"][0] == 0 and np.array_equal(rows["offset"][1:], np.cumsum(rows["length"])[:-1])
        if k + 1 < len(shards):  # closed because the next sequence did not fit
            first_next = b.index[b.index["shard"] == k + 1]["length"][0]
            assert len(data) + first_next > 100
    assert b.index.dtype == INDEX_DTYPE and not list(tmp_path.glob(".*.building"))


def test_a_sequence_longer_than_the_limit_gets_a_shard_of_its_own(big_folder, tmp_path):
    report = build(big_folder, tmp_path / "out", shard_items=5)
    ds = CorpusDataset.open(tmp_path / "out")
    assert report.shards == report.kept == len(ds.shards)
    assert list(ds.index["shard"]) == list(range(report.kept)) and not ds.index["offset"].any()


def test_frames_shards(big_folder, tmp_path):
    kw = dict(representation="pianoroll", tokenizer_config={"steps_per_beat": 2})
    one = build(big_folder, tmp_path / "one", **kw)
    many = build(big_folder, tmp_path / "many", shard_items=64, **kw)
    assert many.shards > 3 and many.kept == one.kept
    a, b = CorpusDataset.open(tmp_path / "one"), CorpusDataset.open(tmp_path / "many")
    assert all(s.ndim == 2 and s.shape[1] == 88 and s.dtype == np.uint8 for s in b.shards)
    for x, y in zip(a.split("train"), b.split("train")):
        np.testing.assert_array_equal(x, y)


# --------------------------------------------------------------- version 1
def test_version_1_folders_still_read():
    """``fixtures/corpus_v1`` was written by the version 1 builder (one ``tokens.npy``)."""
    folder = FIXTURES / "corpus_v1"
    ds = CorpusDataset.open(folder)
    raw_index = np.load(folder / "index.npy")
    raw = np.load(folder / "tokens.npy")
    assert raw_index.dtype == INDEX_DTYPE_V1 and ds.manifest["format_version"] == 1
    assert ds.index.dtype == INDEX_DTYPE and not ds.index["shard"].any()
    assert isinstance(ds.data, np.memmap) and np.array_equal(ds.data, raw) and len(ds.shards) == 1
    for i, rec in enumerate(raw_index):
        np.testing.assert_array_equal(ds[i], raw[rec["offset"]:rec["offset"] + rec["length"]])
    by_split = {name: [ds[i] for i, item in enumerate(ds.manifest["items"]) if item["split"] == name]
                for name in ("train", "valid", "test")}
    for name, seqs in by_split.items():
        got = ds.split(name)
        assert len(got) == len(seqs) == ds.num_sequences(name)
        assert all(np.array_equal(x, y) for x, y in zip(got, seqs))
    assert [i["source"] for i in ds.items()] == ["tunes.abc#1", "tunes.abc#2", "tunes.abc#3", "twinkle.mid"]
    assert ds.tokenizer.decode(ds.split("train")[0]).num_notes > 0
    assert ds.num_items() == len(raw)


def test_newer_format_and_damaged_shards_are_one_line_errors(big_folder, tmp_path):
    build(big_folder, tmp_path / "out", shard_items=100)
    manifest_path = tmp_path / "out" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    (tmp_path / "out" / manifest["shards"][-1]["file"]).unlink()
    with pytest.raises(CorpusError, match="missing or damaged"):
        CorpusDataset.open(tmp_path / "out")
    manifest["format_version"] = 99
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CorpusError, match="newer than this seqart reads"):
        CorpusDataset.open(tmp_path / "out")


# ------------------------------------------------------------------ resume
@pytest.mark.parametrize("stop", [1, 9, 17, 26, 35])
def test_an_interrupted_build_resumes_to_the_same_corpus(big_folder, tmp_path, stop):
    kw = dict(valid_fraction=0.2, test_fraction=0.2, shard_items=100)
    whole = build(big_folder, tmp_path / "whole", **kw)
    with pytest.raises(KeyboardInterrupt):
        build(big_folder, tmp_path / "out", progress=stop_at(stop), **kw)
    assert not (tmp_path / "out").exists() and (tmp_path / ".out.building" / "journal.jsonl").is_file()

    resumed = build(big_folder, tmp_path / "out", **kw)
    assert resumed.resumed_units == stop  # Ctrl-C checkpoints every finished unit
    assert whole.units - stop - 2 <= resumed.cache_hits + resumed.parsed <= whole.units - stop  # 2 unreadable
    assert files_of(tmp_path / "out") == files_of(tmp_path / "whole")
    assert (resumed.kept, resumed.duplicates, resumed.skipped, resumed.sequences, resumed.items) == (
        whole.kept, whole.duplicates, whole.skipped, whole.sequences, whole.items)
    assert not (tmp_path / ".out.building").exists()


@pytest.mark.parametrize("shard_items", [100, None])
def test_a_killed_build_resumes_from_its_last_checkpoint(big_folder, tmp_path, shard_items):
    """SIGKILL (no cleanup at all) after 25 of 38 units. With small shards the last
    checkpoint is the last shard change: the closed shards are kept. With one shard,
    checkpoints come every unit up to unit 22, then none: the open shard is reopened
    and cut back to that checkpoint. Either way the resumed build matches."""
    kw = dict(valid_fraction=0.2, test_fraction=0.2, shard_items=shard_items)
    whole = build(big_folder, tmp_path / "whole", **kw)
    code = (
        "import os, signal\n"
        "from seqart.corpora import build_corpus, writer\n"
        f"writer.CHECKPOINT_SECONDS = {0.0 if shard_items is None else 1e9}\n"
        "def bar(done, total):\n"
        "    if done == 22: writer.CHECKPOINT_SECONDS = 1e9\n"
        "    if done == 25: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"build_corpus({str(big_folder)!r}, {str(tmp_path / 'out')!r}, workers=1, progress=bar, "
        f"valid_fraction=0.2, test_fraction=0.2, shard_items={shard_items})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    staging = tmp_path / ".out.building"
    records = [json.loads(line) for line in (staging / "journal.jsonl").read_text().splitlines()[1:]]
    assert list((staging / "corpus").glob("tokens-*.npy.part"))
    if shard_items:
        assert sum(r["closed"] for r in records) > 3
    else:
        assert not any(r["closed"] for r in records) and records[-1]["pos"] == [22, 0] and records[-1]["rows"]

    resumed = build(big_folder, tmp_path / "out", **kw)
    assert resumed.resumed_units == (records[-1]["pos"][0] if shard_items else 22)
    assert files_of(tmp_path / "out") == files_of(tmp_path / "whole")
    assert resumed.skipped == whole.skipped and resumed.shards == whole.shards


def test_data_written_after_the_last_checkpoint_is_cut_off(big_folder, tmp_path, monkeypatch):
    """Interrupted inside a unit, after its data reached the file: nothing is checkpointed,
    and the resume cuts the open shard back."""
    build(big_folder, tmp_path / "whole")
    real_append = writer_module._ShardFile.append
    calls = []

    def append_then_die(self, arr):
        real_append(self, arr)
        calls.append(len(arr))
        if len(calls) == 12:
            self.sync()
            raise KeyboardInterrupt

    monkeypatch.setattr(writer_module, "CHECKPOINT_SECONDS", 0.0)
    monkeypatch.setattr(writer_module._ShardFile, "append", append_then_die)
    with pytest.raises(KeyboardInterrupt):
        build(big_folder, tmp_path / "out")
    part = tmp_path / ".out.building" / "corpus" / "tokens-00000.npy.part"
    last = json.loads((tmp_path / ".out.building" / "journal.jsonl").read_text().splitlines()[-1])
    assert part.stat().st_size == writer_module.HEADER_BYTES + 2 * sum(calls) == (
        writer_module.HEADER_BYTES + 2 * (last["rows"] + calls[-1]))
    monkeypatch.setattr(writer_module._ShardFile, "append", real_append)
    resumed = build(big_folder, tmp_path / "out")
    assert resumed.resumed_units == last["pos"][0] and files_of(tmp_path / "out") == files_of(tmp_path / "whole")


def test_a_kill_between_closing_a_shard_and_its_checkpoint(big_folder, tmp_path, monkeypatch):
    kw = dict(shard_items=100)
    build(big_folder, tmp_path / "whole", **kw)
    real_close = writer_module._ShardFile.close

    def close_then_die(self, final):
        real_close(self, final)
        raise KeyboardInterrupt

    monkeypatch.setattr(writer_module._ShardFile, "close", close_then_die)
    with pytest.raises(KeyboardInterrupt):
        build(big_folder, tmp_path / "out", **kw)
    corpus = tmp_path / ".out.building" / "corpus"
    assert (corpus / "tokens-00000.npy").exists() and len((tmp_path / ".out.building" / "journal.jsonl")
                                                          .read_text().splitlines()) == 1
    monkeypatch.setattr(writer_module._ShardFile, "close", real_close)
    resumed = build(big_folder, tmp_path / "out", **kw)
    assert resumed.resumed_units == 0 and files_of(tmp_path / "out") == files_of(tmp_path / "whole")


def test_a_resume_with_two_workers(big_folder, tmp_path):
    kw = dict(shard_items=100, valid_fraction=0.2, test_fraction=0.2)
    build(big_folder, tmp_path / "whole", **kw)
    with pytest.raises(KeyboardInterrupt):
        build(big_folder, tmp_path / "out", workers=2, progress=stop_at(20), use_cache=False, **kw)
    resumed = build(big_folder, tmp_path / "out", workers=2, use_cache=False, **kw)
    assert resumed.resumed_units == 20 and resumed.parsed == 38 - 20 - 1  # words.abc is unreadable
    assert files_of(tmp_path / "out") == files_of(tmp_path / "whole")


def test_other_settings_or_no_resume_start_afresh(big_folder, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        build(big_folder, tmp_path / "out", progress=stop_at(10), shard_items=100)
    fresh = build(big_folder, tmp_path / "out", shard_items=50)  # another shard size: another build
    assert fresh.resumed_units == 0
    with pytest.raises(KeyboardInterrupt):
        build(big_folder, tmp_path / "b", progress=stop_at(10))
    assert build(big_folder, tmp_path / "b", resume=False).resumed_units == 0
    (big_folder / "part0" / "m00.mid").write_bytes(melody(100))  # the source changed meanwhile
    with pytest.raises(KeyboardInterrupt):
        build(big_folder, tmp_path / "c", progress=stop_at(10))
    (big_folder / "part0" / "m00.mid").write_bytes(melody(101))
    assert build(big_folder, tmp_path / "c").resumed_units == 0


def test_an_interrupted_rebuild_leaves_the_earlier_corpus_readable(big_folder, tmp_path):
    out = tmp_path / "out"
    build(big_folder, out, shard_items=40)
    before = files_of(out)
    with pytest.raises(KeyboardInterrupt):
        build(big_folder, out, progress=stop_at(20), representation="pianoroll")
    assert files_of(out) == before and CorpusDataset.open(out).kind == "tokens"
    report = build(big_folder, out, representation="pianoroll")
    assert report.resumed_units == 20 and report.shards == 1
    assert sorted(files_of(out)) == ["frames-00000.npy", "index.npy", "manifest.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "music", "out"]


def test_bad_files_are_skipped_and_reported(big_folder, tmp_path):
    report = build(big_folder, tmp_path / "out", shard_items=100)
    skipped = {s["source"]: s["reason"] for s in report.skipped}
    assert sorted(skipped) == ["broken.xml", "empty.mid", "garbage.mid", "words.abc"]
    assert skipped["empty.mid"] == "empty file"
    manifest = CorpusDataset.open(tmp_path / "out").manifest
    assert manifest["skipped"] == report.skipped and manifest["counts"]["skipped"] == 4
    assert manifest["duplicates"] == [{"source": "part1/z_copy_of_m27.mid", "same_as": "part0/m27.mid"},
                                      {"source": "part2/z_copy_of_m03.mid", "same_as": "part0/m03.mid"}]
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    write_bad_files(only_bad)
    with pytest.raises(CorpusError, match="4 of 4 files skipped"):
        build(only_bad, tmp_path / "none")
    assert not (tmp_path / "none").exists() and not (tmp_path / ".none.building").exists()


def test_two_builds_into_one_folder_at_once_are_refused(big_folder, tmp_path):
    held = writer_module.CorpusWriter.open(tmp_path / "out", "tokens", np.int16, 0, 100, split=lambda d: 0)
    try:
        with pytest.raises(CorpusError, match="another build is writing"):
            build(big_folder, tmp_path / "out")
    finally:
        held.discard()
    assert build(big_folder, tmp_path / "out").kept == 32
