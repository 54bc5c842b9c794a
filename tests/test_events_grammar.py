"""The events grammar automaton (seqart.generate.events_grammar) against what
``EventsTokenizer.encode`` writes: everything encode writes is accepted, and every
sequence the grammar lets a sampler write survives ``encode(decode(ids)) == ids``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqart.errors import ScoreError, TokenizerError
from seqart.generate.events_grammar import EventsGrammar
from seqart.score import Note, Score, TempoChange, TimeSignature, Track
from seqart.tokenizers.events import DRUM_PROGRAM, EventsTokenizer

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_FILES = sorted(
    p for pattern in ("*.mid", "*.musicxml", "*.mxl", "*.xml", "*.abc", "real_world/*.musicxml", "real_world/*.abc")
    for p in FIXTURES.glob(pattern)
)
TOKENIZERS = {
    "default": EventsTokenizer(),
    "triplets": EventsTokenizer(steps_per_beat=3, max_bar_beats=6, velocity_bins=16, max_duration_beats=4,
                                tempo_bins=12),
    "no-programs": EventsTokenizer(steps_per_beat=6, programs=False, velocity_bins=8),
    "fine": EventsTokenizer(steps_per_beat=12, max_bar_beats=4, velocity_bins=127, tempo_bins=64, tempo_min=20,
                            tempo_max=400),
    "tracks": EventsTokenizer(order="tracks"),
    "tracks-triplets": EventsTokenizer(order="tracks", steps_per_beat=3, max_bar_beats=6, velocity_bins=16,
                                       max_duration_beats=4, tempo_bins=12),
}


def ids_of(tok: EventsTokenizer, names: str) -> np.ndarray:
    return np.array([tok.token_id(name) for name in names.split()], dtype=np.int64)


def kind_of_tokens(tok: EventsTokenizer) -> np.ndarray:
    """``(vocab,)`` kind number of each token, from its name's prefix (``Pitch_60`` -> Pitch)."""
    prefixes = sorted({name.split("_")[0] for name in tok.vocab})
    return np.array([prefixes.index(name.split("_")[0]) for name in tok.vocab])


def walk(grammar: EventsGrammar, rows: int, seed: int, length: int = 300, by_kind: bool = False,
         max_bars=None) -> list[np.ndarray]:
    """Random walks through the grammar, one sequence (BOS .. EOS) per row.

    Each step draws uniformly among the allowed tokens (``by_kind``: uniformly among the
    allowed kinds, then among that kind's allowed tokens); after ``length`` tokens a row
    takes ``EOS`` as soon as it is allowed."""
    tok = grammar.tokenizer
    rng = np.random.default_rng(seed)
    kinds = kind_of_tokens(tok)
    one_hot = np.eye(kinds.max() + 1)[kinds]  # (V, K)
    state = grammar.start(rows)
    columns = [np.full(rows, tok.BOS_ID)]
    for step in range(length * 4):
        allowed = grammar.mask(state, max_bars=max_bars)
        assert allowed.any(axis=1).all(), "a row with nothing allowed"
        weight = allowed.astype(float)
        if by_kind:
            weight /= np.maximum(allowed @ one_hot, 1)[:, kinds]
        keys = np.log(rng.random(allowed.shape)) / np.maximum(weight, 1e-300)  # exponential race
        tokens = np.where(allowed, keys, -np.inf).argmax(axis=1)
        tokens = np.where((step >= length) & allowed[:, tok.EOS_ID], tok.EOS_ID, tokens)
        grammar.advance(state, tokens)
        columns.append(tokens)
        if state.ended.all():
            break
    assert state.ended.all()
    ids = np.stack(columns, axis=1)
    return [row[: np.flatnonzero(row == tok.EOS_ID)[0] + 1] for row in ids]


def assert_round_trips(tok: EventsTokenizer, sequences: list[np.ndarray]) -> None:
    for i, ids in enumerate(sequences):
        again = tok.encode(tok.decode(ids))
        assert np.array_equal(again, ids), f"walk {i}: {[tok.vocab[t] for t in ids]}"


def random_score(tok: EventsTokenizer, rng: np.random.Generator) -> Score:
    """A score within ``tok``'s limits: off-grid times, unbinned velocities and tempos,
    repeated programs, drums, doubled notes, meter changes inside bars. The first track
    is pitched, so that the score keeps a note without programs (the grammar refuses a
    piece with no note)."""
    spb = tok.config.steps_per_beat
    tracks = []
    for i in range(rng.integers(1, 5)):
        n = int(rng.integers(1, 12))
        on_grid = rng.random() < 0.5
        starts = rng.integers(0, 40 * spb, n) / spb if on_grid else rng.uniform(0, 40, n)
        notes = [Note(int(rng.integers(30, 90)), float(s), float(rng.uniform(0.01, 12)), int(rng.integers(1, 128)))
                 for s in starts]
        if rng.random() < 0.3:
            notes.append(Note(notes[0].pitch, notes[0].start, float(rng.uniform(0.01, 12)), int(rng.integers(1, 128))))
        tracks.append(Track(notes, program=int(rng.choice([0, 0, 5, 33, 127])), is_drum=bool(i and rng.random() < 0.2)))
    meters = tok.time_signatures
    sigs = [TimeSignature(float(rng.uniform(0, 40)) if i else 0.0, *meters[rng.integers(len(meters))])
            for i in range(rng.integers(0, 4))]
    tempos = [TempoChange(float(rng.uniform(0, 40)), float(rng.uniform(20, 400))) for _ in range(rng.integers(0, 5))]
    return Score(tracks=tracks, tempos=tempos, time_signatures=sigs)


def padded(sequences: list[np.ndarray]) -> np.ndarray:
    """``(rows, T)``: the sequences with ``PAD`` (0) after each one's ``EOS``."""
    batch = np.zeros((len(sequences), max(map(len, sequences))), dtype=np.int64)
    for row, ids in zip(batch, sequences):
        row[: len(ids)] = ids
    return batch


def has_doubled_note(tok: EventsTokenizer, ids: np.ndarray) -> bool:
    """Whether two notes of one program start on one step at one pitch."""
    seen = set()
    for track in tok.decode(ids).tracks:
        for note in track.notes:
            key = (track.program, track.is_drum, note.start, note.pitch)
            if key in seen:
                return True
            seen.add(key)
    return False


# ---------------------------------------------------------------- encode output
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_encode_output_of_every_fixture_file_is_accepted(path):
    assert FIXTURE_FILES
    for score in Score.read_all(path):
        for name in ("default", "fine", "tracks"):
            tok = TOKENIZERS[name]
            ids = tok.encode(score)
            EventsGrammar(tok).check(ids)
            EventsGrammar(tok, unisons=True).check(ids)


@pytest.mark.parametrize("name", TOKENIZERS)
def test_encode_output_of_random_scores_is_accepted(name):
    tok = TOKENIZERS[name]
    rng = np.random.default_rng(7)
    sequences = [tok.encode(random_score(tok, rng)) for _ in range(150)]
    batch = padded(sequences)
    # with unisons the grammar is exactly encode's language
    exact = EventsGrammar(tok, unisons=True)
    exact.check(batch)
    # the sampling default refuses only doubled notes
    doubled = np.array([has_doubled_note(tok, ids) for ids in sequences])
    assert 10 < doubled.sum() < len(sequences)
    np.testing.assert_array_equal(EventsGrammar(tok).accepts(batch), ~doubled)


def test_doubled_notes_follow_encode_order_with_unisons():
    tok = TOKENIZERS["default"]
    score = Score(tracks=[Track([Note(60, 0.0, 2.0, 100), Note(60, 0.0, 1.0, 100), Note(60, 0.0, 1.0, 20)])])
    ids = tok.encode(score)
    assert EventsGrammar(tok, unisons=True).accepts(ids)
    assert not EventsGrammar(tok).accepts(ids)
    names = [tok.vocab[i] for i in ids]
    head, notes = names[:5], [names[5:8], names[8:11], names[11:14]]
    assert [n[2] for n in notes] == ["Duration_4", "Duration_4", "Duration_8"]
    # encode orders them by duration then velocity; any other order is refused
    swapped = head + notes[0] + notes[2] + notes[1] + ["EOS"]
    with pytest.raises(TokenizerError, match="not allowed"):
        EventsGrammar(tok, unisons=True).check(ids_of(tok, " ".join(swapped)))


# ---------------------------------------------------------------- random walks
def test_a_thousand_uniform_walks_round_trip():
    tok = TOKENIZERS["default"]
    sequences = walk(EventsGrammar(tok), 1000, seed=1)
    assert_round_trips(tok, sequences)
    assert EventsGrammar(tok).accepts(padded(sequences)).all()
    assert EventsGrammar(tok).accepts(sequences[0])


@pytest.mark.parametrize("name", TOKENIZERS)
@pytest.mark.parametrize("unisons", [False, True])
def test_walks_by_kind_round_trip_and_reach_every_rule(name, unisons):
    tok = TOKENIZERS[name]
    sequences = walk(EventsGrammar(tok, unisons=unisons), 150, seed=2, length=250, by_kind=True)
    assert_round_trips(tok, sequences)
    names = [[tok.vocab[t] for t in ids] for ids in sequences]
    # the walks are not vacuous: meters change, tempos change, bars repeat, programs switch
    # (after a Bar the tracks order offers Program as well, so its walks begin fewer bars)
    assert sum(row.count("Bar") > 3 for row in names) > (40 if tok.config.order == "tracks" else 50)
    assert sum(sum(n.startswith("TimeSig") for n in row) > 1 for row in names) > 50
    assert sum(sum(n.startswith("Tempo") for n in row) > 1 for row in names) > 20
    if tok.config.programs:
        assert sum(sum(n.startswith("Program") for n in row) > 3 for row in names) > 20
    if unisons:
        assert any(has_doubled_note(tok, ids) for ids in sequences)


@pytest.mark.parametrize("name", ["default", "tracks"])
def test_walks_respect_programs_ranges_and_pitch_classes(name):
    tok = TOKENIZERS[name]
    c_major = {0, 2, 4, 5, 7, 9, 11}
    grammar = EventsGrammar(tok, programs=[0, 33, DRUM_PROGRAM],
                            pitch_ranges={0: (48, 84), 33: (28, 55), DRUM_PROGRAM: (35, 40)},
                            pitch_classes={0: c_major, 33: {0, 7}})
    sequences = walk(grammar, 300, seed=3, by_kind=True)
    assert_round_trips(tok, sequences)
    kinds_seen = set()
    for ids in sequences:
        for track in tok.decode(ids).tracks:
            program = DRUM_PROGRAM if track.is_drum else track.program
            kinds_seen.add(program)
            pitches = {n.pitch for n in track.notes}
            low, high = {0: (48, 84), 33: (28, 55), DRUM_PROGRAM: (35, 40)}[program]
            assert low <= min(pitches) and max(pitches) <= high
            if program == 0:
                assert {p % 12 for p in pitches} <= c_major
            elif program == 33:
                assert {p % 12 for p in pitches} <= {0, 7}
    assert kinds_seen == {0, 33, DRUM_PROGRAM}
    # drums keep every pitch class of their range (no key applies to them)
    drum_pitches = {n.pitch for ids in sequences for t in tok.decode(ids).tracks if t.is_drum for n in t.notes}
    assert drum_pitches == set(range(35, 41))


@pytest.mark.parametrize("name", ["default", "tracks"])
def test_max_bars_ends_each_row_within_its_last_bar(name):
    tok = TOKENIZERS[name]
    grammar = EventsGrammar(tok)
    cap = np.arange(200) % 3 + 1  # (rows,) bars each row may begin
    sequences = walk(grammar, 200, seed=4, length=10_000, by_kind=True, max_bars=cap)
    state = grammar.check(padded(sequences))
    assert (state.bars <= cap).all() and (state.bars == cap).mean() > 0.6
    np.testing.assert_array_equal(state.bars_completed, state.bars)
    assert (state.notes > 0).all()
    for seq, bars in zip(sequences, cap):  # notes begun in the last bar end by its bar line
        score = tok.decode(seq)
        lines = score.bar_starts(max(n.end for t in score.tracks for n in t.notes) + 64)
        last_bar = [n for t in score.tracks for n in t.notes if n.start >= lines[bars - 1] - 1e-9]
        assert all(n.end <= lines[bars] + 1e-9 for n in last_bar)


# ------------------------------------------------------------------- the rules
def test_counts_of_bars_and_notes():
    tok = TOKENIZERS["default"]
    score = Score(tracks=[Track([Note(60, 0.0, 1.0), Note(64, 0.0, 1.0), Note(62, 4.0, 6.0), Note(65, 9.0, 1.0)])])
    ids = tok.encode(score)
    grammar = EventsGrammar(tok)
    state = grammar.check(ids[:-1], complete=False)
    assert (state.bars.item(), state.bars_completed.item(), state.notes.item(), state.ended.item()) == (3, 2, 4, False)
    grammar.advance(state, [tok.EOS_ID])
    assert (state.bars_completed.item(), state.ended.item()) == (3, True)
    with pytest.raises(TokenizerError, match="without EOS"):
        grammar.check(ids[:-1])


@pytest.mark.parametrize("names, why", [
    ("BOS Pitch_60", "Pitch_60 is not allowed at position 1"),
    ("BOS Bar Position_0", "Position_0 is not allowed at position 2"),  # the first bar needs a meter
    ("BOS Bar TimeSig_4/4 Position_0 Pitch_60", "Pitch_60"),  # no program in force yet
    ("BOS Bar TimeSig_4/4 Bar TimeSig_4/4", "TimeSig_4/4 is not allowed at position 4"),  # not a change
    ("BOS Bar TimeSig_3/4 Position_12", "Position_12"),  # a 3/4 bar has steps 0-11
    ("BOS Bar TimeSig_4/4 Position_4 Tempo_120 Program_0 Pitch_60 Velocity_3 Duration_1 Position_4", "Position_4"),
    ("BOS Bar TimeSig_4/4 Position_0 Position_4", "Position_4"),  # a position holds something
    ("BOS Bar TimeSig_4/4 Position_0 Tempo_120 Program_0 Pitch_60 Velocity_3 Duration_1 Position_4 Tempo_120",
     "Tempo_120"),  # the tempo in force again
    ("BOS Bar TimeSig_4/4 Position_0 Program_0 Pitch_60 Velocity_3 Duration_1 Tempo_120", "Tempo_120"),
    ("BOS Bar TimeSig_4/4 Position_0 Program_0 Pitch_60 Velocity_3 Duration_1 Position_4 Program_0",
     "Program_0 is not allowed at position 9"),  # encode leaves out a repeat of the program in force
    ("BOS Bar TimeSig_4/4 Position_0 Program_0 Pitch_60 Velocity_3 Duration_1 Pitch_60", "Pitch_60"),
    ("BOS Bar TimeSig_4/4 Position_0 Program_0 Pitch_60 Velocity_3 Duration_1 Pitch_59", "Pitch_59"),
    (("BOS Bar TimeSig_4/4 Position_0 Program_0 Pitch_60 Velocity_3 Duration_1 Program_5 Pitch_40 Velocity_3 "
      "Duration_1 Program_0"), "Program_0 is not allowed"),  # once per position
    ("BOS Bar TimeSig_4/4 Position_0 Program_0 Pitch_60 Velocity_3 Duration_1 Bar EOS", "EOS"),  # bare bar
    ("BOS Bar TimeSig_4/4 EOS", "EOS"),  # no note
    ("BOS Bar TimeSig_4/4 Position_0 Program_0 Pitch_60 Velocity_3 Duration_1 EOS Bar", "Bar"),
])
def test_the_grammar_refuses_what_encode_never_writes(names, why):
    tok = TOKENIZERS["default"]
    with pytest.raises(TokenizerError, match=why) as error:
        EventsGrammar(tok).check(ids_of(tok, names), complete=False)
    assert "\n" not in str(error.value)


def test_programs_at_a_position_come_in_order_of_first_appearance():
    tok = TOKENIZERS["default"]
    grammar = EventsGrammar(tok)
    note = "Velocity_3 Duration_1"
    opening = f"BOS Bar TimeSig_4/4 Position_0 Program_40 Pitch_60 {note} Program_0 Pitch_50 {note}"
    # program 40 appeared first, so at later positions it comes before program 0
    good = ids_of(tok, f"{opening} Position_4 Program_40 Pitch_61 {note} Program_0 Pitch_51 {note} EOS")
    bad = ids_of(tok, f"{opening} Position_4 Pitch_51 {note} Program_40")
    grammar.check(good)
    with pytest.raises(TokenizerError, match="Program_40 is not allowed at position 16"):
        grammar.check(bad, complete=False)
    assert np.array_equal(tok.encode(tok.decode(good)), good)
    # a program new to the piece may follow any; after it only new ones
    grammar.check(ids_of(tok, f"{opening} Position_4 Pitch_51 {note} Program_7 Pitch_1 {note} EOS"))
    with pytest.raises(TokenizerError, match="Program_0 is not allowed"):
        grammar.check(ids_of(tok, f"{opening} Position_4 Program_7 Pitch_1 {note} Program_0"), complete=False)


NOTE = "Velocity_3 Duration_1"
TRACKS_OPENING = f"BOS Bar TimeSig_4/4 Position_0 Tempo_120 Program_5 Position_4 Pitch_60 {NOTE}"


@pytest.mark.parametrize("names, why", [
    ("BOS Bar TimeSig_4/4 Program_0 Pitch_60", "Pitch_60 is not allowed at position 4"),  # Program Position
    ("BOS Bar TimeSig_4/4 Position_0 Pitch_60", "Pitch_60 is not allowed at position 4"),  # conductor: a tempo
    ("BOS Bar TimeSig_4/4 Position_0 Program_0", "Program_0 is not allowed at position 4"),
    ("BOS Bar TimeSig_4/4 Program_0 Tempo_120", "Tempo_120 is not allowed at position 4"),
    ("BOS Bar TimeSig_4/4 Program_0 Position_0 Tempo_120", "Tempo_120 is not allowed at position 5"),
    ("BOS Bar TimeSig_4/4 Position_4 Tempo_120 Position_4", "Position_4 is not allowed at position 5"),
    ("BOS Bar TimeSig_4/4 Position_4 Tempo_120 Position_8 Tempo_120", "Tempo_120 is not allowed at position 6"),
    ("BOS Bar TimeSig_3/4 Program_0 Position_12", "Position_12"),  # a 3/4 bar has steps 0-11
    (f"{TRACKS_OPENING} Program_0", "Program_0 is not allowed at position 10"),  # programs ascend
    (f"{TRACKS_OPENING} Program_5", "Program_5 is not allowed at position 10"),  # once per bar
    (f"{TRACKS_OPENING} Program_drum Position_0 Pitch_36 {NOTE} Program_127", "Program_127"),  # drums last
    (f"{TRACKS_OPENING} Position_2", "Position_2 is not allowed at position 10"),  # back within a section
    (f"{TRACKS_OPENING} Position_4", "Position_4 is not allowed at position 10"),
    (f"{TRACKS_OPENING} Position_8 Tempo_61", "Tempo_61"),  # a section's position holds notes
    (f"{TRACKS_OPENING} Pitch_59", "Pitch_59 is not allowed at position 10"),  # pitches ascend
    (f"{TRACKS_OPENING} Program_7 Bar", "Bar is not allowed at position 11"),  # a section holds a note
    (f"{TRACKS_OPENING} Program_7 EOS", "EOS is not allowed at position 11"),
    (f"{TRACKS_OPENING} Bar Position_0 Pitch_60", "Pitch_60 is not allowed at position 12"),  # Program again
    (f"{TRACKS_OPENING} Bar EOS", "EOS is not allowed at position 11"),  # bare bar
    ("BOS Bar TimeSig_4/4 Position_0 Tempo_120 EOS", "EOS is not allowed"),  # no note
])
def test_the_tracks_grammar_refuses_what_encode_never_writes(names, why):
    tok = TOKENIZERS["tracks"]
    with pytest.raises(TokenizerError, match=why) as error:
        EventsGrammar(tok).check(ids_of(tok, names), complete=False)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("rest", [
    f"Program_7 Position_0 Pitch_40 {NOTE} Position_12 Pitch_30 {NOTE} EOS",  # positions count again from 0
    f"Bar Program_5 Position_0 Pitch_61 {NOTE} EOS",  # the same program opens the next bar's section
    f"Program_drum Position_0 Pitch_36 {NOTE} Bar Program_0 Position_0 Pitch_61 {NOTE} EOS",
    f"Pitch_64 {NOTE} Bar Position_4 Tempo_61 Position_8 Tempo_89 EOS",  # trailing tempo changes
    f"Bar TimeSig_3/4 Bar Position_0 Tempo_61 Program_0 Position_11 Pitch_1 {NOTE} EOS",
    f"Bar TimeSig_3/4 EOS",  # a trailing meter change
])
def test_the_tracks_grammar_accepts_what_encode_writes(rest):
    tok = TOKENIZERS["tracks"]
    ids = ids_of(tok, f"{TRACKS_OPENING} {rest}")
    EventsGrammar(tok).check(ids)
    assert np.array_equal(tok.encode(tok.decode(ids)), ids)


def test_a_thousand_uniform_walks_round_trip_in_tracks_order():
    tok = TOKENIZERS["tracks"]
    sequences = walk(EventsGrammar(tok), 1000, seed=5)
    assert_round_trips(tok, sequences)
    assert EventsGrammar(tok).accepts(padded(sequences)).all()
    names = [[tok.vocab[t] for t in ids] for ids in sequences]
    assert sum(sum(n.startswith("Program") for n in row) > 3 for row in names) > 500


def test_tracks_order_with_one_tempo_never_opens_a_position_it_cannot_fill():
    """With a single tempo token, once it is in force a conductor ``Position`` would have
    no ``Tempo`` to take: the grammar does not offer it."""
    tok = EventsTokenizer(order="tracks", tempo_bins=1, max_bar_beats=4)
    grammar = EventsGrammar(tok)
    sequences = walk(grammar, 200, seed=6, length=150, by_kind=True)
    assert_round_trips(tok, sequences)
    with pytest.raises(TokenizerError, match="Position_4 is not allowed at position 5"):
        grammar.check(ids_of(tok, "BOS Bar TimeSig_4/4 Position_0 Tempo_120 Position_4"), complete=False)


@pytest.mark.parametrize("ending", ["Bar TimeSig_3/4 EOS", "Bar Position_4 Tempo_61 EOS",
                                    "Bar Bar TimeSig_6/8 Bar TimeSig_3/4 EOS"])
def test_trailing_meter_and_tempo_changes_may_end_a_piece(ending):
    tok = TOKENIZERS["default"]
    ids = ids_of(tok, f"BOS Bar TimeSig_4/4 Position_0 Program_0 Pitch_60 Velocity_3 Duration_1 {ending}")
    EventsGrammar(tok).check(ids)
    assert np.array_equal(tok.encode(tok.decode(ids)), ids)


def test_advance_refuses_a_wrong_token_and_leaves_the_state_as_it_was():
    tok = TOKENIZERS["default"]
    grammar = EventsGrammar(tok)
    state = grammar.start(3)
    grammar.advance(state, np.full(3, tok.token_id("Bar")))
    before = state.copy()
    tokens = np.array([tok.token_id("TimeSig_4/4"), tok.token_id("Pitch_60"), tok.token_id("TimeSig_3/4")])
    with pytest.raises(TokenizerError) as error:
        grammar.advance(state, tokens)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("Pitch_60 is not allowed at position 2 (row 1, after Bar); allowed there: TimeSig_")
    for field in ("phase", "length", "bars", "meter"):
        np.testing.assert_array_equal(getattr(state, field), getattr(before, field))
    with pytest.raises(TokenizerError, match="outside the vocabulary"):
        grammar.advance(state, np.array([0, 1, tok.vocab_size]))
    with pytest.raises(TokenizerError, match="one per row"):
        grammar.advance(state, np.array([1, 2]))


def test_after_eos_only_padding():
    tok = TOKENIZERS["default"]
    grammar = EventsGrammar(tok)
    ids = tok.encode(Score(tracks=[Track([Note(60, 0.0, 1.0)])]))
    state = grammar.check(np.concatenate([ids, [tok.PAD_ID] * 3]))
    allowed = grammar.mask(state)
    assert state.ended.all() and np.flatnonzero(allowed[0]).tolist() == [tok.PAD_ID]
    with pytest.raises(TokenizerError, match="starts with Bar, not BOS"):
        grammar.check(ids[1:])
    assert not grammar.accepts(ids[1:])
    assert not grammar.accepts(np.concatenate([ids[:-1], [tok.vocab_size]]))
    # a row of a batch ends with EOS, then PAD
    assert grammar.accepts(padded([ids, ids[:-1], ids[1:]])).tolist() == [True, False, False]


def test_without_programs_the_first_note_needs_no_program():
    tok = TOKENIZERS["no-programs"]
    grammar = EventsGrammar(tok, pitch_ranges={0: (60, 72)}, pitch_classes={0: {0, 4, 7}})
    ids = ids_of(tok, "BOS Bar TimeSig_3/4 Position_0 Pitch_60 Velocity_3 Duration_1 Pitch_64 Velocity_3 Duration_1 EOS")
    grammar.check(ids)
    with pytest.raises(TokenizerError, match="Pitch_62"):
        grammar.check(ids_of(tok, "BOS Bar TimeSig_3/4 Position_0 Pitch_62"), complete=False)


@pytest.mark.parametrize("tokenizer, options, match", [
    ("default", {"programs": [200]}, "outside 0-127"),
    ("default", {"programs": []}, "empty"),
    ("default", {"programs": "piano"}, "list of program numbers"),
    ("default", {"programs": [1.5]}, "whole numbers"),
    ("no-programs", {"programs": [5]}, "no Program tokens"),
    ("no-programs", {"programs": [DRUM_PROGRAM]}, "no Program tokens"),
    ("default", {"programs": [0], "pitch_ranges": {5: (40, 50)}}, "names program 5"),
    ("default", {"pitch_ranges": {0: (70, 60)}}, "low <= high"),
    ("default", {"pitch_ranges": {0: (0, 128)}}, "low <= high"),
    ("default", {"pitch_ranges": {0: 60}}, r"must be \(low, high\)"),
    ("default", {"pitch_classes": {DRUM_PROGRAM: {0}}}, "do not apply to drums"),
    ("default", {"pitch_classes": {0: {12}}}, "0-11"),
    ("default", {"pitch_classes": {0: set()}}, "non-empty"),
    ("default", {"pitch_ranges": {0: (61, 62)}, "pitch_classes": {0: {0, 5}}}, "program 0 has no pitch left"),
    ("default", {"pitch_ranges": [(0, 60)]}, "must map program numbers"),
])
def test_bad_constraints_raise_one_line_errors(tokenizer, options, match):
    with pytest.raises(ScoreError, match=match) as error:
        EventsGrammar(TOKENIZERS[tokenizer], **options)
    assert "\n" not in str(error.value)


def test_needs_an_events_tokenizer():
    from seqart.tokenizers import get_tokenizer

    with pytest.raises(TokenizerError, match="needs an events tokenizer"):
        EventsGrammar(get_tokenizer("melody"))
