"""The melody tokenizer: exact round trips on the grid, documented losses, augmentation."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqart.errors import TokenizerError
from seqart.score import KeySignature, Note, Score, TimeSignature, Track
from seqart.tokenizers import get_tokenizer, tokenizer_from_dict
from seqart.tokenizers.melody import BAR, BOS, EOS, HOLD, REST
from tests.melody_factory import random_melody


def notes_of(score):
    return [(n.pitch, n.start, n.duration) for n in score.tracks[0].notes]


@st.composite
def grid_melodies(draw):
    meter = draw(st.sampled_from([(4, 4), (3, 4), (6, 8), (2, 4), (5, 8), (2, 2)]))
    notes, pos = [], draw(st.integers(0, 6))
    for _ in range(draw(st.integers(1, 40))):
        length = draw(st.integers(1, 16))
        notes.append(Note(draw(st.integers(36, 96)), pos / 4, length / 4, 80))
        pos += length + draw(st.sampled_from([0, 0, 0, 1, 3]))
    key = draw(st.one_of(st.none(), st.builds(KeySignature, st.just(0.0), st.integers(0, 11),
                                                st.sampled_from(["major", "minor"]))))
    return Score(tracks=[Track(notes=notes)], time_signatures=[TimeSignature(0.0, *meter)],
                 key_signatures=[key] if key else [])


@settings(max_examples=150, deadline=None)
@given(grid_melodies())
def test_round_trip_is_exact_on_the_grid(score):
    tok = get_tokenizer("melody")
    ids = tok.encode(score)
    assert ids.dtype == np.int32 and ids.min() >= 0 and ids.max() < tok.vocab_size
    back = tok.decode(ids)
    assert notes_of(back) == notes_of(score)
    assert [(s.numerator, s.denominator) for s in back.time_signatures] == \
        [(s.numerator, s.denominator) for s in score.time_signatures]
    assert [(k.tonic, k.mode) for k in back.key_signatures] == [(k.tonic, k.mode) for k in score.key_signatures]


def test_layout_has_header_bars_and_whole_bars():
    tok = get_tokenizer("melody")
    score = random_melody(3, bars=4, meter=(6, 8))
    ids = tok.encode(score).tolist()
    assert ids[:3] == [BOS, tok.meter_id(6, 8), tok.key_id(score.key)] and ids[-1] == EOS
    bars = [i for i, t in enumerate(ids) if t == BAR] + [len(ids) - 1]
    assert len(bars) == 5
    assert all(b - a - 1 == 12 for a, b in zip(bars, bars[1:]))  # 6/8 at 4 steps per beat


def test_meter_change_and_key_change_survive():
    tok = get_tokenizer("melody")
    score = Score(tracks=[Track(notes=[Note(60, 0, 4), Note(62, 4, 3), Note(64, 7, 3)])],
                  time_signatures=[TimeSignature(0, 4, 4), TimeSignature(4, 3, 4)],
                  key_signatures=[KeySignature(0, 0, "major"), KeySignature(7, 9, "minor")])
    back = tok.decode(tok.encode(score))
    assert notes_of(back) == notes_of(score)
    assert [(s.beat, str(s)) for s in back.time_signatures] == [(0, "4/4"), (4, "3/4")]
    assert [(k.beat, str(k)) for k in back.key_signatures] == [(0, "C major"), (7, "A minor")]


def test_documented_losses():
    tok = get_tokenizer("melody")
    chords = Score(tracks=[Track(notes=[Note(60, 0, 1), Note(67, 0, 1), Note(100, 1, 1.1)])])
    back = tok.decode(tok.encode(chords))
    # skyline keeps the top voice; 100 folds down an octave; 1.1 beats snaps to 1.0
    assert notes_of(back) == [(67, 0.0, 1.0), (88, 1.0, 1.0)]


def test_open_encoding_for_primers_has_no_padding_or_eos():
    tok = get_tokenizer("melody")
    score = Score(tracks=[Track(notes=[Note(60, 0, 1), Note(62, 1, 0.5)])])
    ids = tok.encode(score, close=False).tolist()
    steps = [t for t in ids if t in (REST, HOLD) or tok.pitch_of(t) is not None]
    assert len(steps) == 6 and ids[-1] != EOS


def test_transpose_tokens_moves_notes_and_keys_and_refuses_leaving_range():
    tok = get_tokenizer("melody")
    score = random_melody(1)
    ids = tok.encode(score)
    up = tok.transpose_tokens(ids, 3)
    assert notes_of(tok.decode(up)) == [(p + 3, s, d) for p, s, d in notes_of(score)]
    assert tok.decode(up).key.tonic == (score.key.tonic + 3) % 12
    assert tok.transpose_tokens(ids, 60) is None


def test_serialization_round_trip_and_bad_config():
    tok = get_tokenizer("melody", steps_per_beat=3, min_pitch=40, max_pitch=90)
    again = tokenizer_from_dict(json.loads(json.dumps(tok.to_dict())))
    assert again == tok and again.vocab == tok.vocab
    with pytest.raises(TokenizerError):
        get_tokenizer("melody", min_pitch=60, max_pitch=65)
    with pytest.raises(TokenizerError):
        get_tokenizer("melody", steps=4)
    with pytest.raises(TokenizerError):
        tok.encode(Score())
