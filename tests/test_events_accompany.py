"""Accompaniment with an event-token model trained in tracks order: the given tracks come
back note for note, the model writes its other instruments for the given piece's length,
everything it writes is grammatical, and the errors are one line."""

from __future__ import annotations

import numpy as np
import pytest

from seqart.errors import ScoreError
from seqart.score import Note, Score, TimeSignature, Track
from tests.test_events_lm import band, band_corpus


@pytest.fixture(scope="module")
def tracks_run(tmp_path_factory):
    from seqart.train.config import parse_settings
    from seqart.workflows.train import train

    root = tmp_path_factory.mktemp("tracks")
    corpus = band_corpus(root, order="tracks")
    settings = parse_settings(["d_model=32", "num_layers=1", "num_heads=2", "ff_dim=64", "context=64",
                               "batch_size=4", "seq_len=48", "val_every=10", "checkpoint_every=10", "threads=1"])
    train("events-transformer", corpus, root / "run", steps=20, settings=settings, progress=False)
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


def test_written_notes_stay_under_the_given_ones_unless_asked(tracks_run):
    import seqart
    from seqart.evaluate.accompaniment import sounding_pitches

    gen = seqart.load(tracks_run)
    low_lead = Score(tracks=[Track([Note(62 + (i % 3), 0.5 * i, 0.5, 90) for i in range(24)], program=73)],
                     time_signatures=[TimeSignature(0.0, 4, 4)])
    above = 0
    for free in (False, True):
        for piece in gen.accompany(low_lead, num=20, seed=4, as_programs=[73], below=not free):
            for track in piece.tracks[1:]:
                if track.is_drum:
                    continue
                for note in track.notes:
                    ceiling = max(sounding_pitches(piece, [0], note.start), default=127)
                    if free:
                        above += note.pitch > ceiling
                    else:
                        assert note.pitch <= ceiling
    assert above > 0  # the bass of a barely trained model goes above a low lead when let


def test_no_parallels_keeps_written_voices_out_of_parallel_fifths_and_octaves():
    """A model that doubles the lead an octave below, note for note, writes nothing but
    parallel octaves; with parallels=False it never moves in parallel with the lead."""
    from seqart.evaluate.accompaniment import voice_leading
    from seqart.generate.events_parts import PartWriter
    from seqart.generate.melody import SamplingOptions
    from seqart.tokenizers import get_tokenizer

    tok = get_tokenizer("events", order="tracks", steps_per_beat=1, velocity_bins=1)

    class Doubler:
        """Favours, in the bass's section, a note an octave under the lead's at each of the
        lead's positions, one beat long."""

        def run(self, tokens, state):
            return self.step(tokens[:, -1], [{"program": -1, "position": 0, "lead": {}} for _ in tokens])

        def step(self, tokens, state):
            logits = np.zeros((len(tokens), tok.vocab_size))
            for row, (token, memory) in enumerate(zip(tokens.tolist(), state)):
                name = tok.vocab[token]
                if name == "Bar":
                    memory["lead"] = {}
                elif name.startswith("Program_"):
                    memory["program"] = tok.program_of(token)
                elif name.startswith("Position_"):
                    memory["position"] = int(name.split("_")[1])
                elif name.startswith("Pitch_") and memory["program"] == 0:
                    memory["lead"][memory["position"]] = tok.pitch_of(token)
                if memory["program"] == 33:
                    target = memory["lead"].get(memory["position"])
                    if target is not None:
                        logits[row, tok.token_id(f"Pitch_{target - 12}")] = 8.0
                    for position in memory["lead"]:
                        logits[row, tok.token_id(f"Position_{position}")] = 4.0
                    logits[row, tok.token_id("Duration_1")] = 8.0
                if memory["program"] == 0 and name.startswith("Duration_"):
                    logits[row, tok.token_id("Program_33")] = 8.0
            return logits, state

    lead = Score(tracks=[Track([Note(60 + (2 * i) % 12, 1.0 * i, 1.0, 90) for i in range(16)], program=0)],
                 time_signatures=[TimeSignature(0.0, 4, 4)])
    writer = PartWriter(Doubler(), tok, programs=(0, 33))
    counts = {}
    for parallels in (True, False):
        pieces = writer.accompany(lead, 10, SamplingOptions.parse(temperature=0.5), np.random.default_rng(1),
                                  parallels=parallels)
        counts[parallels] = sum(voice_leading(p, [0, 1]).parallels for p in pieces if len(p.tracks) == 2)
    assert counts[True] >= 10 and counts[False] == 0


def test_each_instrument_may_have_its_own_range(tracks_run):
    import seqart

    gen = seqart.load(tracks_run)
    for piece in gen.sample(50, seed=1, bars=1, pitch_range="40-90", ranges={33: "30-40"}):
        for track in piece.tracks:
            if not track.is_drum:
                low, high = (30, 40) if track.program == 33 else (40, 90)
                assert all(low <= n.pitch <= high for n in track.notes)
    for piece in gen.accompany(bass_line(), num=10, seed=2, ranges={73: (70, 75)}):
        assert all(70 <= n.pitch <= 75 for t in piece.tracks[1:] if t.program == 73 for n in t.notes)
    with pytest.raises(ScoreError, match="ranges names program 33"):
        gen.accompany(bass_line(), num=1, seed=0, ranges={33: "30-40"})  # the bass is given, not written
    with pytest.raises(ScoreError, match="LOW-HIGH"):
        gen.sample(1, seed=0, ranges={33: "low"})


def test_the_given_tracks_may_not_take_every_instrument(tracks_run):
    import seqart

    gen = seqart.load(tracks_run)
    with pytest.raises(ScoreError, match="nothing left to write"):
        gen.accompany(band(1), num=1, seed=0)
    with pytest.raises(ScoreError, match="no notes to accompany"):
        gen.accompany(Score(tracks=[Track(notes=[])]), num=1, seed=0)


def test_a_time_order_model_says_it_cannot_accompany():
    from seqart.generate.events_parts import PartWriter
    from seqart.tokenizers import get_tokenizer

    with pytest.raises(ScoreError, match="--set order=tracks"):
        PartWriter(lm=None, tokenizer=get_tokenizer("events"), programs=(0, 24))


def test_a_tracks_model_samples_and_continues_as_a_time_model_does(tracks_run):
    import seqart

    gen = seqart.load(tracks_run)
    for piece in gen.sample(20, seed=4, bars=2, time_signature="4/4"):
        assert piece.num_notes > 0 and max(n.end for t in piece.tracks for n in t.notes) <= 8.0
    primer = band(5)
    for piece in gen.continue_score(primer, bars=1, num=2, seed=3):
        for mine, theirs in zip(primer.tracks, piece.tracks):
            assert theirs.notes[:len(mine.notes)] == mine.notes


def test_a_thousand_tracks_order_samples_decode_and_encode_back(tracks_run):
    import seqart
    from seqart.generate.events_grammar import EventsGrammar

    gen = seqart.load(tracks_run)
    pieces = gen.sample(1000, seed=0, bars=1, key="D", scale="dorian", temperature=1.5)
    grammar = EventsGrammar(gen.tokenizer, programs=gen.programs)
    for piece in pieces:
        assert piece.num_notes > 0
        grammar.check(gen.tokenizer.encode(piece))
        assert all(n.pitch % 12 in {2, 4, 5, 7, 9, 11, 0} for t in piece.tracks if not t.is_drum for n in t.notes)


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


# ---------------------------------------------------------------- infilling
def four_bars(seed: int) -> Score:
    """Four bars of the band: two of band(seed), then two of band(seed + 1)."""
    second = band(seed + 1)
    piece = band(seed)
    for mine, theirs in zip(piece.tracks, second.tracks):
        mine.notes = mine.notes + [Note(n.pitch, n.start + 8.0, n.duration, n.velocity) for n in theirs.notes]
    return piece


def outside(score: Score, start: float, end: float) -> list[list[Note]]:
    return [[n for n in t.notes if not start <= n.start < end] for t in score.tracks]


@pytest.mark.parametrize("track", [None, 2])
def test_infill_keeps_every_note_outside_the_span(tracks_run, track):
    import seqart

    gen = seqart.load(tracks_run)
    piece = four_bars(6)
    versions = gen.infill(piece, "2-3", num=3, track=track, candidates=4, seed=5)
    assert [v.to_dict() for v in versions] == [v.to_dict() for v in gen.infill(piece, "2-3", num=3, track=track,
                                                                              candidates=4, seed=5)]
    for version in versions:
        assert outside(version, 4.0, 12.0) == outside(piece, 4.0, 12.0)
        for i, (mine, theirs) in enumerate(zip(piece.tracks, version.tracks)):
            if track is not None and i != track - 1:
                assert theirs.notes == mine.notes  # the other tracks, even inside the span
            assert all(n.end <= 12.0 for n in theirs.notes if 4.0 <= n.start < 12.0)
    assert any(v.to_dict() != piece.to_dict() for v in versions)


@pytest.mark.parametrize("bars, track, match", [
    ("5-6", None, "not within the piece's 4 bars"),
    ("3-2", None, "FIRST-LAST"),
    ("x", None, "FIRST-LAST"),
    ("2", 7, "track 7 is not one of the piece's tracks"),
])
def test_bad_infill_requests_are_one_line_errors(tracks_run, bars, track, match):
    import seqart

    gen = seqart.load(tracks_run)
    with pytest.raises(ScoreError, match=match):
        gen.infill(four_bars(1), bars, track=track, seed=0)


def test_infill_weights_follow_what_comes_after():
    """The candidate drawn is the one under which the model finds the rest likeliest:
    with a model that only likes one span, every version takes that span."""
    from seqart.generate.events_parts import PartWriter
    from seqart.generate.melody import SamplingOptions
    from seqart.tokenizers import get_tokenizer

    tok = get_tokenizer("events", order="tracks")
    piece = Score(tracks=[Track([Note(60 + 2 * b, 4.0 * b, 4.0, 80) for b in range(3)], program=0)],
                  time_signatures=[TimeSignature(0.0, 4, 4)])
    good = tok.token_id("Pitch_62")

    class Picky:
        """Uniform, except that until it has read a Pitch_62 it finds Pitch_64 (the last bar's note) unlikely."""

        def run(self, tokens, state):
            return np.zeros((len(tokens), tok.vocab_size)), np.zeros(len(tokens), dtype=bool)

        def step(self, tokens, state):
            liked = state | (tokens == good)
            logits = np.zeros((len(tokens), tok.vocab_size))
            logits[~liked, tok.token_id("Pitch_64")] = -30.0
            return logits, liked

    writer = PartWriter(Picky(), tok, programs=(0,))
    versions = writer.infill(piece, 2, 2, 1, 6, SamplingOptions.parse(pitch_range=(60, 64)),
                             np.random.default_rng(0), candidates=64)
    assert all(62 in [n.pitch for n in v.tracks[0].notes if 4.0 <= n.start < 8.0] for v in versions)
    blind = writer.infill(piece, 2, 2, 1, 6, SamplingOptions.parse(pitch_range=(60, 64)),
                          np.random.default_rng(0), candidates=1)  # one candidate: no choice, no fit
    assert not all(62 in [n.pitch for n in v.tracks[0].notes if 4.0 <= n.start < 8.0] for v in blind)


def test_seqart_infill_writes_the_new_version(tracks_run, tmp_path):
    from typer.testing import CliRunner

    from seqart.cli import app

    song = tmp_path / "song.mid"
    four_bars(2).write(song)
    out = tmp_path / "again.mid"
    result = CliRunner().invoke(app, ["infill", str(song), "--bars", "3-4", "--track", "1", "--model", str(tracks_run),
                                      "-o", str(out), "--seed", "3", "--candidates", "2"])
    assert result.exit_code == 0, result.output
    again, before = Score.from_file(out), Score.from_file(song)
    assert outside(again, 8.0, 16.0) == outside(before, 8.0, 16.0)


def test_an_exported_event_model_keeps_its_programs(tracks_run, tmp_path):
    import seqart
    from seqart.models.folder import export_model_folder

    out = export_model_folder(tracks_run, tmp_path / "exported", half=True)
    assert (out / "programs.json").read_text() == (tracks_run / "model" / "programs.json").read_text()
    assert seqart.load(out).programs == seqart.load(tracks_run).programs


# ------------------------------------------------------------ the shipped model
def test_the_shipped_folk_chords_model_accompanies_a_tune_offline(tmp_path):
    """``seqart accompany tune.mid -o song.mid`` right after install: chords under the tune,
    in its key, the tune unchanged."""
    from typer.testing import CliRunner

    from seqart.cli import app
    from seqart.evaluate.accompaniment import in_key_share, strong_beat_coverage
    from seqart.score import KeySignature

    bars = [[67, 71, 74, 71], [66, 69, 74, 72], [71, 67, 71, 74], [69, 66, 67, 67]]  # G major (F#), 4/4
    tune = Score(tracks=[Track([Note(p, 4.0 * b + i, 1.0, 90) for b, bar in enumerate(bars) for i, p in enumerate(bar)],
                               name="tune")], time_signatures=[TimeSignature(0.0, 4, 4)])
    path = tmp_path / "tune.mid"
    tune.write(path)
    out = tmp_path / "song.mid"
    result = CliRunner().invoke(app, ["accompany", str(path), "-o", str(out), "--seed", "0", "-t", "0.6"])
    assert result.exit_code == 0, result.output
    song = Score.from_file(out)
    assert song.tracks[0].notes == Score.from_file(path).tracks[0].notes
    chords = song.tracks[1]
    assert chords.program == 24 and len(chords.notes) >= 8
    assert max(n.end for n in chords.notes) <= 16.0
    in_key, total = in_key_share(song, [1], KeySignature(0.0, 7, "major"))
    assert in_key / total >= 0.9
    covered, strong = strong_beat_coverage(song, 0, [1])
    assert covered / strong >= 0.75  # the chords hold the tune's notes on beats 1 and 3
