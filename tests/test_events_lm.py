"""Language models over multi-track event tokens (issue 20, first slice): the melody
families train on ``events`` corpora, transposition leaves drums alone, a recipe keeps
named voices apart as programs, and sampling such a model says it cannot yet."""

from __future__ import annotations

import numpy as np
import pytest

from seqart.errors import ModelError, ScoreError
from seqart.score import Note, Score, TimeSignature, Track
from seqart.tokenizers import get_tokenizer


def band(seed: int) -> Score:
    """Two bars of a lead, a bass and drums."""
    rng = np.random.default_rng(seed)
    lead = [Note(int(p), i * 0.5, 0.5, 90) for i, p in enumerate(rng.integers(60, 72, 16))]
    bass = [Note(int(p), i * 2.0, 2.0, 80) for i, p in enumerate(rng.integers(36, 48, 4))]
    drums = [Note(36 + 2 * (i % 2), float(i), 0.25, 100) for i in range(8)]
    return Score(tracks=[Track(notes=lead, program=73, name="lead"), Track(notes=bass, program=33, name="bass"),
                         Track(notes=drums, is_drum=True, name="drums")],
                 time_signatures=[TimeSignature(0.0, 4, 4)])


def test_transposing_events_moves_pitched_notes_and_never_drums():
    tok = get_tokenizer("events")
    ids = tok.encode(band(0))
    up = tok.decode(tok.transpose_tokens(ids, 5))
    before = {(t.program, t.is_drum): [n.pitch for n in t.notes] for t in tok.decode(ids).tracks}
    after = {(t.program, t.is_drum): [n.pitch for n in t.notes] for t in up.tracks}
    assert after[(73, False)] == [p + 5 for p in before[(73, False)]]
    assert after[(33, False)] == [p + 5 for p in before[(33, False)]]
    assert after[(0, True)] == before[(0, True)]
    assert tok.transpose_tokens(ids, 60) is None  # the lead would pass pitch 127
    assert tok.transpose_tokens(ids, 0).tolist() == ids.tolist()


def test_training_windows_transpose_whole_event_sequences_before_cutting():
    """A window cut after the drums' Program token still leaves the drums in place."""
    from seqart.models.melody_lm.data import TokenWindows

    tok = get_tokenizer("events")
    seqs = [tok.encode(band(s)) for s in range(3)]
    windows = TokenWindows(seqs, batch_size=64, seq_len=24, seed=1, transpose=tok.transpose_tokens,
                           max_transpose=5, start_prob=0.0, transpose_whole=True)
    drum_pitches = {tok.token_id(f"Pitch_{p}") for p in (36, 38)}
    batch = windows.batch(0).numpy()
    found = 0
    for row in batch:
        row = row[row > 0]
        for seq in seqs:
            for shift in range(-5, 6):
                moved = tok.transpose_tokens(seq, shift)
                text = moved.tobytes()
                if moved is not None and row.astype(moved.dtype).tobytes() in text:
                    found += 1
                    break
            else:
                continue
            break
    assert found == len(batch)  # each window is a cut of one whole sequence shifted as a whole
    assert any(int(t) in drum_pitches for row in batch for t in row)


def test_a_recipes_tracks_keep_named_voices_apart_and_drop_the_rest():
    from seqart.corpora.build import select_tracks

    voices = [Track(notes=[Note(60 + i, 0.0, 1.0, 80)], name=name) for i, name in
              enumerate(["Horn 2", "Soprano", "Alto ", "tenor", "Bass"])]
    kept = select_tracks(Score(tracks=voices), (("Soprano", 40), ("Alto", 41), ("Tenor", 42), ("Bass", 43)))
    assert [(t.name, t.program) for t in kept.tracks] == [("Soprano", 40), ("Alto ", 41), ("tenor", 42),
                                                         ("Bass", 43)]
    with pytest.raises(ScoreError, match="no track named 'Tenor'"):
        select_tracks(Score(tracks=voices[:3]), (("Tenor", 42),))
    doubled = voices + [Track(notes=[Note(72, 0.0, 1.0, 80)], name="Soprano 2")]
    with pytest.raises(ScoreError, match="more than one track named 'Soprano'"):
        select_tracks(Score(tracks=doubled), (("Soprano", 40),))


def test_recipe_tracks_are_checked(tmp_path):
    from seqart.corpora.recipes import load_recipe
    from seqart.errors import CorpusError

    base = ('{"name": "r", "description": "d", "source": {"folders": ["bach"]}, "representation": "events", '
            '"split": {"valid": 0.1, "test": 0.1}, "tracks": %s}')
    for bad, says in (('{"Soprano": 200}', "not a MIDI program"), ('{" ": 1}', "empty track name"),
                      ('["Soprano"]', "must be an object")):
        (tmp_path / "r.json").write_text(base % bad)
        with pytest.raises(CorpusError, match=says):
            load_recipe(tmp_path / "r.json")
    (tmp_path / "r.json").write_text(base % '{"Soprano": 40, "Bass": 43}')
    assert load_recipe(tmp_path / "r.json").tracks == (("Soprano", 40), ("Bass", 43))


@pytest.fixture(scope="module")
def events_corpus(tmp_path_factory):
    from seqart.corpora.build import build_corpus

    root = tmp_path_factory.mktemp("events")
    (root / "midi").mkdir()
    for seed in range(30):
        band(seed).write(root / "midi" / f"band{seed:02d}.mid")
    build_corpus(root / "midi", root / "corpus", representation="events", workers=1, progress=False,
                 valid_fraction=0.2, test_fraction=0.2, use_cache=False)
    return root / "corpus"


@pytest.mark.parametrize("preset,size", [("events-transformer", {"d_model": 32, "num_layers": 1, "num_heads": 2,
                                                                  "ff_dim": 64, "context": 64}),
                                         ("events-lstm", {"embed_dim": 32, "hidden_size": 32, "num_layers": 1})])
def test_a_melody_family_trains_on_event_tokens_and_sampling_says_it_cannot_yet(events_corpus, tmp_path, preset,
                                                                                size):
    import json

    import seqart
    from seqart.train.config import parse_settings
    from seqart.workflows.train import train

    run = tmp_path / "run"
    settings = parse_settings([f"{k}={v}" for k, v in {**size, "batch_size": 4, "seq_len": 48, "val_every": 10,
                                                        "checkpoint_every": 10, "threads": 1}.items()])
    train(preset, events_corpus, run, steps=20, settings=settings, progress=False)
    assert json.loads((run / "model" / "tokenizer.json").read_text())["tokenizer"] == "events"
    assert not (run / "model" / "keys.json").exists()  # openings are a melody notion
    losses = [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()
              if json.loads(line).get("split") == "train"]
    assert losses[-1] < losses[0]
    with pytest.raises(ModelError, match="cannot sample it yet"):
        seqart.load(run)


def test_the_bach_satb_recipe_builds_four_voices_as_four_programs(tmp_path, monkeypatch):
    from seqart.corpora import CorpusDataset, build_corpus

    monkeypatch.setenv("SEQART_CACHE_DIR", str(tmp_path / "cache"))
    build_corpus("bach-satb", tmp_path / "satb", workers=1, progress=False, limit=4)
    corpus = CorpusDataset.open(tmp_path / "satb")
    assert corpus.tokenizer.name == "events"
    seqs = [s for split in ("train", "valid", "test") for s in corpus.split(split)]
    assert seqs
    for seq in seqs:
        tracks = corpus.tokenizer.decode(np.asarray(seq)).tracks
        assert sorted(t.program for t in tracks) == [40, 41, 42, 43]
        by_program = {t.program: np.mean([n.pitch for n in t.notes]) for t in tracks}
        assert by_program[40] > by_program[41] > by_program[43] and by_program[42] > by_program[43]
