"""Accompaniment with an event-token model trained in tracks order: the given tracks come
back note for note, the model writes its other instruments for the given piece's length,
everything it writes is grammatical, and the errors are one line."""

from __future__ import annotations

import numpy as np
import pytest

from seqart.errors import ScoreError
from seqart.score import Note, Score, TimeSignature, Track
from tests.test_events_lm import band


@pytest.fixture(scope="module")
def tracks_run(tmp_path_factory):
    from seqart.corpora.build import build_corpus
    from seqart.train.config import parse_settings
    from seqart.workflows.train import train

    root = tmp_path_factory.mktemp("tracks")
    (root / "midi").mkdir()
    for seed in range(30):
        band(seed).write(root / "midi" / f"band{seed:02d}.mid")
    build_corpus(root / "midi", root / "corpus", representation="events", tokenizer_config={"order": "tracks"},
                 workers=1, progress=False, valid_fraction=0.2, test_fraction=0.2, use_cache=False)
    settings = parse_settings(["d_model=32", "num_layers=1", "num_heads=2", "ff_dim=64", "context=64",
                               "batch_size=4", "seq_len=48", "val_every=10", "checkpoint_every=10", "threads=1"])
    train("events-transformer", root / "corpus", root / "run", steps=20, settings=settings, progress=False)
    return root / "run"


def bass_line(bars: int = 3) -> Score:
    notes = [Note(36 + (i % 5), 2.0 * i, 2.0, 80) for i in range(2 * bars)]
    return Score(tracks=[Track(notes=notes, program=5, name="my bass")], time_signatures=[TimeSignature(0.0, 4, 4)])


def test_the_given_track_comes_back_unchanged_and_the_others_are_written(tracks_run):
    import seqart
    from seqart.generate.events_grammar import EventsGrammar

    gen = seqart.load(tracks_run)
    given = bass_line()
    pieces = gen.accompany(given, num=6, seed=2)
    assert [p.to_dict() for p in pieces] == [p.to_dict() for p in gen.accompany(given, num=6, seed=2)]
    tok = gen.tokenizer
    for piece in pieces:
        assert piece.tracks[0].name == "my bass" and piece.tracks[0].program == 5
        assert piece.tracks[0].notes == given.tracks[0].notes
        written = {(t.program, t.is_drum) for t in piece.tracks[1:]}
        assert written and written <= {(73, False), (0, True)}  # the bass is read as program 33
        assert max(n.end for t in piece.tracks for n in t.notes) <= 12.0  # three bars, nothing beyond
        as_model_reads = piece.copy()
        as_model_reads.tracks[0] = Track(notes=given.tracks[0].notes, program=33)
        EventsGrammar(tok, programs=gen.programs).check(tok.encode(as_model_reads))


def test_a_given_track_may_be_read_as_a_chosen_instrument_and_keyed(tracks_run):
    import seqart

    gen = seqart.load(tracks_run)
    lead = band(3)
    pieces = gen.accompany(lead, num=8, seed=0, tracks=[1], as_programs=[73], key="D", scale="dorian")
    assert sum(len(p.tracks) > 1 for p in pieces) >= 4  # a barely trained model may leave one silent
    for piece in pieces:
        assert piece.tracks[0].notes == lead.tracks[0].notes
        others = piece.tracks[1:]
        assert {(t.program, t.is_drum) for t in others} <= {(33, False), (0, True)}
        assert all(n.pitch % 12 in {2, 4, 5, 7, 9, 11, 0} for t in others if not t.is_drum for n in t.notes)


@pytest.mark.parametrize("options, match", [
    ({"as_programs": [40]}, "program 40 is not one this model writes"),
    ({"as_programs": [33, 73]}, "names 2 program"),
    ({"tracks": [9]}, "track 9 is not one of the piece's tracks"),
    ({"temperature": 0}, "temperature"),
])
def test_bad_accompaniment_options_are_one_line_errors(tracks_run, options, match):
    import seqart

    gen = seqart.load(tracks_run)
    with pytest.raises(ScoreError, match=match):
        gen.accompany(bass_line(), num=1, seed=0, **options)


def test_the_given_tracks_may_not_take_every_instrument(tracks_run):
    import seqart

    gen = seqart.load(tracks_run)
    with pytest.raises(ScoreError, match="nothing left to write"):
        gen.accompany(band(1), num=1, seed=0)
    with pytest.raises(ScoreError, match="no notes to accompany"):
        gen.accompany(Score(tracks=[Track(notes=[])]), num=1, seed=0)


def test_a_time_order_model_says_it_cannot_accompany():
    from seqart.generate.events_accompany import Accompanist
    from seqart.tokenizers import get_tokenizer

    with pytest.raises(ScoreError, match="--set order=tracks"):
        Accompanist(lm=None, tokenizer=get_tokenizer("events"), programs=(0, 24))


def test_a_tracks_model_samples_and_continues_as_a_time_model_does(tracks_run):
    import seqart

    gen = seqart.load(tracks_run)
    for piece in gen.sample(20, seed=4, bars=2, time_signature="4/4"):
        assert piece.num_notes > 0 and max(n.end for t in piece.tracks for n in t.notes) <= 8.0
    primer = band(5)
    for piece in gen.continue_score(primer, bars=1, num=2, seed=3):
        for mine, theirs in zip(primer.tracks, piece.tracks):
            assert theirs.notes[:len(mine.notes)] == mine.notes


def test_seqart_accompany_writes_the_song(tracks_run, tmp_path):
    from typer.testing import CliRunner

    from seqart.cli import app

    melody = tmp_path / "bass.mid"
    bass_line().write(melody)
    out = tmp_path / "song.mid"
    runner = CliRunner()
    result = runner.invoke(app, ["accompany", str(melody), "--model", str(tracks_run), "-o", str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output
    song = Score.from_file(out)
    assert len(song.tracks) >= 2 and song.tracks[0].notes == bass_line().tracks[0].notes
    again = runner.invoke(app, ["accompany", str(melody), "--model", str(tracks_run), "-o", str(out)])
    assert again.exit_code != 0 and "exists" in again.output and "Traceback" not in again.output
    missing = runner.invoke(app, ["accompany", str(tmp_path / "none.mid"), "--model", str(tracks_run),
                                  "-o", str(tmp_path / "x.mid")])
    assert missing.exit_code != 0 and len(missing.output.strip().splitlines()) == 1
    np.testing.assert_equal(len(list(tmp_path.glob("x*.mid"))), 0)
