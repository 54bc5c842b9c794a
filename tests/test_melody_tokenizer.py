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
    tok = get_tokenizer("melody", layout=1)
    score = random_melody(3, bars=4, meter=(6, 8))
    ids = tok.encode(score).tolist()
    assert ids[:3] == [BOS, tok.meter_id(6, 8), tok.key_id(score.key)] and ids[-1] == EOS
    bars = [i for i, t in enumerate(ids) if t == BAR] + [len(ids) - 1]
    assert len(bars) == 5
    assert all(b - a - 1 == 12 for a, b in zip(bars, bars[1:]))  # 6/8 at 4 steps per beat


def test_layout_2_header_style_sections_and_whole_bars():
    tok = get_tokenizer("melody", layout=2)
    assert tok.layout == 2
    score = random_melody(3, bars=17, meter=(6, 8))
    score.style = "jig"
    ids = tok.encode(score).tolist()
    assert ids[:4] == [BOS, tok.style_id("jig"), tok.meter_id(6, 8), tok.key_id(score.key)] and ids[-1] == EOS
    bars = [i for i, t in enumerate(ids) if t == BAR]
    # a section token opens bars 1, 9 and 17; every bar then holds 12 steps
    assert [ids[b + 1] in set(tok.section_ids.tolist()) for b in bars] == [i % 8 == 0 for i in range(len(bars))]
    steps = [sum(1 for t in ids[a:b] if t in set(tok.step_ids.tolist())) for a, b in zip(bars, bars[1:] + [len(ids)])]
    assert steps == [12] * 17
    back = tok.decode(np.asarray(ids))
    assert back.style == "jig" and notes_of(back) == notes_of(tok.decode(get_tokenizer("melody", layout=1).encode(score)))


def test_sections_restating_an_earlier_one_share_its_letter():
    tok = get_tokenizer("melody")
    a, b = random_melody(1, bars=8), random_melody(2, bars=8)
    notes = a.tracks[0].notes + [Note(n.pitch, n.start + 32, n.duration) for n in a.tracks[0].notes] + \
        [Note(n.pitch, n.start + 64, n.duration) for n in b.tracks[0].notes]
    score = Score(tracks=[Track(notes=notes)], time_signatures=[TimeSignature(0, 4, 4)])
    letters = [tok.section_of(t) for t in tok.encode(score) if tok.section_of(t)]
    assert letters == ["A", "A", "B"]


def test_a_pickup_is_a_partial_bar_and_decodes_padded():
    tok = get_tokenizer("melody")
    # one beat of pickup (padded with three silent beats, as the readers give it), then two bars
    notes = [Note(67, 3, 0.5), Note(69, 3.5, 0.5), Note(71, 4, 4), Note(72, 8, 4)]
    score = Score(tracks=[Track(notes=notes)], time_signatures=[TimeSignature(0, 4, 4)])
    ids = tok.encode(score).tolist()
    assert ids[4] == tok.pickup_id and ids[5:9] == [tok.note_id(67), HOLD, tok.note_id(69), HOLD]
    assert ids[9] == BAR
    assert notes_of(tok.decode(np.asarray(ids))) == notes_of(score)
    padded = tok.encode(score, pickup=False).tolist()
    assert tok.pickup_id not in padded and padded[4:6] == [BAR, tok.section_id("A")]
    assert padded[6:18] == [HOLD] * 12


def test_modes_have_their_own_keys_and_transpose():
    tok = get_tokenizer("melody")
    dorian = KeySignature(0, 9, "dorian")
    assert tok.key_of(tok.key_id(dorian)) == KeySignature(0, 9, "dorian")
    assert tok.is_key_token(tok.key_id(dorian)) and tok.key_id(dorian) in tok.key_ids
    moved = tok.transpose_tokens(np.array([tok.key_id(dorian), tok.note_id(60)]), 2)
    assert tok.key_of(moved[0]) == KeySignature(0, 11, "dorian") and tok.pitch_of(moved[1]) == 62
    old = get_tokenizer("melody", layout=1)
    assert old.key_of(old.key_id(dorian)) == KeySignature(0, 9, "minor")  # the family's key in layout 1
    assert old.key_of(old.key_id(KeySignature(0, 2, "mixolydian"))) == KeySignature(0, 2, "major")


def test_layout_1_ids_are_the_first_ids_of_layout_2_and_old_files_load_as_layout_1():
    from seqart.tokenizers import tokenizer_from_dict

    old, new = get_tokenizer("melody", layout=1), get_tokenizer("melody")
    assert new.vocab[:old.vocab_size] == old.vocab
    data = {"tokenizer": "melody", "version": 1, "config": {"steps_per_beat": 4, "min_pitch": 36, "max_pitch": 96}}
    assert tokenizer_from_dict(data).layout == 1
    assert tokenizer_from_dict(new.to_dict()) == new


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
