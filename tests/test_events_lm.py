"""Language models over multi-track event tokens: the melody families train on
``events`` corpora, transposition leaves drums alone, a recipe keeps named voices
apart as programs, and grammar-constrained sampling continues every track."""

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


def band_corpus(root, **tokenizer_config):
    """An events corpus of 30 two-bar band pieces (``band(0..29)``) in ``root / "corpus"``."""
    from seqart.corpora.build import build_corpus

    (root / "midi").mkdir()
    for seed in range(30):
        band(seed).write(root / "midi" / f"band{seed:02d}.mid")
    build_corpus(root / "midi", root / "corpus", representation="events", tokenizer_config=tokenizer_config,
                 workers=1, progress=False, valid_fraction=0.2, test_fraction=0.2, use_cache=False)
    return root / "corpus"


@pytest.fixture(scope="module")
def events_corpus(tmp_path_factory):
    return band_corpus(tmp_path_factory.mktemp("events"))


SIZES = {"events-transformer": {"d_model": 32, "num_layers": 1, "num_heads": 2, "ff_dim": 64, "context": 64},
         "events-lstm": {"embed_dim": 32, "hidden_size": 32, "num_layers": 1}}


@pytest.fixture(scope="module", params=sorted(SIZES))
def events_run(events_corpus, tmp_path_factory, request):
    from seqart.train.config import parse_settings
    from seqart.workflows.train import train

    run = tmp_path_factory.mktemp(request.param) / "run"
    settings = parse_settings([f"{k}={v}" for k, v in {**SIZES[request.param], "batch_size": 4, "seq_len": 48,
                                                        "val_every": 10, "checkpoint_every": 10,
                                                        "threads": 1}.items()])
    train(request.param, events_corpus, run, steps=20, settings=settings, progress=False)
    return run


def test_a_melody_family_trains_on_event_tokens(events_run):
    import json

    assert json.loads((events_run / "model" / "tokenizer.json").read_text())["tokenizer"] == "events"
    assert not (events_run / "model" / "keys.json").exists()  # openings are a melody notion
    assert json.loads((events_run / "model" / "programs.json").read_text()) == {"programs": [33, 73, 128]}
    losses = [json.loads(line)["loss"] for line in (events_run / "metrics.jsonl").read_text().splitlines()
              if json.loads(line).get("split") == "train"]
    assert losses[-1] < losses[0]


def test_tuning_an_event_model_keeps_its_programs(events_run, tmp_path):
    import seqart
    from seqart.workflows.tune import tune

    gen = seqart.load(events_run)
    liked = [gen.tokenizer.encode(piece) for piece in gen.sample(2, seed=1, bars=2)]
    tune(events_run, liked, tmp_path / "tuned", steps=2, batch_size=2, replay_data=None)
    assert seqart.load(tmp_path / "tuned").programs == (33, 73, 128)  # not every program


def test_event_samples_are_grammatical_reproducible_and_keep_to_the_programs(events_run):
    import seqart
    from seqart.generate.events_grammar import EventsGrammar

    gen = seqart.load(events_run)
    assert type(gen).__name__ == "EventsGenerator" and gen.programs == (33, 73, 128)
    pieces = gen.sample(4, seed=3, bars=2)
    assert [p.to_dict() for p in pieces] == [p.to_dict() for p in gen.sample(4, seed=3, bars=2)]
    tok = gen.tokenizer
    for piece in pieces:
        ids = tok.encode(piece)
        EventsGrammar(tok, programs=gen.programs).check(ids)  # what was drawn is what encode writes
        assert 1 <= ids.tolist().count(tok.token_id("Bar")) <= 2
        assert {(t.program, t.is_drum) for t in piece.tracks} <= {(33, False), (73, False), (0, True)}
    for piece in gen.sample(8, seed=5, bars=2, time_signature="4/4"):
        assert max(n.end for t in piece.tracks for n in t.notes) <= 8.0  # nothing rings past bar 2


def test_a_thousand_event_samples_decode_and_honour_key_and_range(events_run):
    import seqart

    gen = seqart.load(events_run)
    pieces = gen.sample(1000, seed=0, bars=1, key="D", scale="dorian", pitch_range="40-80", temperature=1.5)
    assert len(pieces) == 1000 and all(p.num_notes > 0 for p in pieces)
    d_dorian = {2, 4, 5, 7, 9, 11, 0}
    for piece in pieces:
        for track in piece.tracks:
            if not track.is_drum:
                assert all(n.pitch % 12 in d_dorian and 40 <= n.pitch <= 80 for n in track.notes)


def test_continuing_keeps_every_track_of_the_primer_unchanged(events_run):
    import seqart

    gen = seqart.load(events_run)
    primer = band(7)
    primer.tracks[0].name = "my lead"
    for piece in gen.continue_score(primer, bars=2, num=3, seed=1):
        assert [t.name for t in piece.tracks[:3]] == ["my lead", "bass", "drums"]
        for mine, theirs in zip(primer.tracks, piece.tracks):
            assert theirs.notes[:len(mine.notes)] == mine.notes  # the primer's notes, as they were
            assert all(n.start >= 0 for n in theirs.notes)
        assert piece.num_notes > primer.num_notes
        assert max(n.start for t in piece.tracks for n in t.notes) < 16.0  # 2 primer bars + 2 new


def test_event_models_refuse_melody_only_options_in_one_line(events_run):
    import seqart

    gen = seqart.load(events_run)
    for option in ({"style": "reel"}, {"form": "AABB"}, {"steps": 16}, {"ending": "tonic"}, {"track": 1},
                   {"pickup": True}, {"pitch_temperature": 0.9}):
        with pytest.raises(ScoreError, match="does not apply"):
            gen.sample(1, seed=0, **option)
    with pytest.raises(ModelError, match="load it with seqart.load"):
        from seqart.models.loading import model_type_of

        model_type_of(events_run).generator_class()(events_run)  # the melody generator of its family


def test_seqart_sample_writes_a_multi_track_file(events_run, tmp_path):
    from typer.testing import CliRunner

    from seqart.cli import app

    out = tmp_path / "song.mid"
    result = CliRunner().invoke(app, ["sample", str(events_run), "-o", str(out), "--bars", "2", "--seed", "4",
                                      "--time-signature", "3/4", "--no-record"])
    assert result.exit_code == 0, result.output
    written = Score.from_file(out)
    assert written.num_notes > 0 and written.time_signatures[0].numerator == 3


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


class BarLovingLM:
    """A stand-in model that always wants a new bar most (its state is unused)."""

    def __init__(self, tokenizer):
        self.logits = np.zeros(tokenizer.vocab_size)
        self.logits[tokenizer.token_id("Bar")] = 20.0

    def run(self, tokens, state):
        return np.tile(self.logits, (len(tokens), 1)), None

    def step(self, tokens, state):
        return np.tile(self.logits, (len(tokens), 1)), None


def test_in_the_last_bar_the_wish_for_another_bar_ends_the_piece():
    from seqart.generate.events import EventsSampler
    from seqart.generate.melody import SamplingOptions

    tok = get_tokenizer("events")
    sampler = EventsSampler(BarLovingLM(tok), tok, programs=(0,))
    options = SamplingOptions.parse(bars=1, time_signature="4/4", ending="free")
    pieces = sampler.sample(16, options, np.random.default_rng(0))
    # each piece ends as soon as it may: after its first note, within bar 1
    assert [p.num_notes for p in pieces] == [1] * 16
    assert all(n.end <= 4.0 for p in pieces for t in p.tracks for n in t.notes)
