"""Layout 3 of the melody tokenizer: triplet beats written as ``TRIPLET`` and three thirds,
decoded on exact thirds, sampled only where a beat starts."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqart.errors import TokenizerError
from seqart.generate.melody import MelodySampler, SamplingOptions, _beat_starts
from seqart.models.music_vae.data import melody_steps
from seqart.score import KeySignature, Note, Score, TimeSignature, Track
from seqart.tokenizers import get_tokenizer, tokenizer_from_dict
from seqart.tokenizers.melody import BAR, HOLD, REST


def _score(notes, meter=(4, 4)):
    return Score(tracks=[Track(notes=[Note(p, s, d, 80) for p, s, d in notes])],
                 time_signatures=[TimeSignature(0.0, *meter)], key_signatures=[KeySignature(0.0, 9, "minor")])


def _notes(score):
    return [(n.pitch, round(n.start, 9), round(n.duration, 9)) for n in score.tracks[0].notes]


#: a reel's bar with a triplet on beat 2 and a long-short triplet on beat 4, then a bar whose
#: third beat is a triplet with a rest on its first third
REEL = [(69, 0, 1), (71, 1, 1 / 3), (72, 4 / 3, 1 / 3), (74, 5 / 3, 1 / 3), (76, 2, 0.5), (74, 2.5, 0.5),
        (72, 3, 2 / 3), (71, 11 / 3, 1 / 3), (69, 4, 2), (67, 19 / 3, 1 / 3), (69, 20 / 3, 4 / 3)]


def test_triplets_round_trip_on_exact_thirds():
    tok = get_tokenizer("melody", layout=3)
    ids = tok.encode(_score(REEL))
    assert _notes(tok.decode(ids)) == _notes(_score(REEL))
    words = [tok.vocab[i] for i in ids]
    first_bar = words[words.index("BAR") + 2:]  # after BAR SEC_A
    assert first_bar[:16] == ["NOTE_69", "HOLD", "HOLD", "HOLD", "TRIPLET", "NOTE_71", "NOTE_72", "NOTE_74",
                              "NOTE_76", "HOLD", "NOTE_74", "HOLD", "TRIPLET", "NOTE_72", "HOLD", "NOTE_71"]
    second_bar = first_bar[17:]
    assert second_bar[:16] == ["NOTE_69"] + ["HOLD"] * 7 + ["TRIPLET", "REST", "NOTE_67", "NOTE_69"] + ["HOLD"] * 4


def test_a_triplet_beat_takes_the_tokens_of_any_beat_and_reads_on_the_grid_as_layout_2():
    old, new = get_tokenizer("melody", layout=2), get_tokenizer("melody", layout=3)
    a, b = old.encode(_score(REEL)), new.encode(_score(REEL))
    assert len(a) == len(b) and (new.on_grid(b) == a).all()
    bars = [i for i, t in enumerate(b.tolist()) if t == BAR] + [len(b) - 1]
    assert all(sum(new.is_step(t) for t in b[x:y]) == 16 for x, y in zip(bars, bars[1:]))


def test_layout_3_ids_extend_layout_2_and_need_four_steps_per_beat():
    old, new = get_tokenizer("melody", layout=2), get_tokenizer("melody", layout=3)
    assert get_tokenizer("melody").layout == 3  # what new tokenizers get
    assert new.vocab[:old.vocab_size] == old.vocab and new.vocab[new.triplet_id] == "TRIPLET"
    assert old.triplet_id is None and new.vocab_size == old.vocab_size + 1
    assert new.triplet_id in new.step_ids and tokenizer_from_dict(new.to_dict()).triplet_id == new.triplet_id
    with pytest.raises(TokenizerError, match="4 steps per beat"):
        get_tokenizer("melody", layout=3, steps_per_beat=12)


@pytest.mark.parametrize("notes,meter,why", [
    ([(60, 0, 0.25), (62, 0.25, 0.25), (64, 1 / 3, 2 / 3), (65, 1, 1)], (4, 4), "sixteenths and thirds mixed"),
    ([(60, 0, 1), (62, 1, 1), (64, 2, 1 / 3), (65, 7 / 3, 1 / 3), (67, 8 / 3, 1 / 3)], (5, 8), "beat across the bar"),
    ([(60, 0, 1), (62, 1, 0.5), (64, 1.5, 0.5)], (4, 4), "no off-beat third"),
])
def test_no_triplet_where_the_beat_is_not_one(notes, meter, why):
    tok = get_tokenizer("melody", layout=3)
    assert tok.triplet_id not in tok.encode(_score(notes, meter)).tolist(), why


def test_a_pickup_starting_inside_a_triplet_beat_keeps_the_grid():
    tok = get_tokenizer("melody", layout=3)
    pickup = [(64, 3 + 1 / 3, 1 / 3), (62, 3 + 2 / 3, 1 / 3)] + [(60 + i, 4 + i, 1) for i in range(4)]
    ids = tok.encode(_score(pickup)).tolist()
    assert tok.triplet_id not in ids and ids.count(BAR) == 1
    assert [p for p, _, _ in _notes(tok.decode(ids))] == [64, 62, 60, 61, 62, 63]


@st.composite
def triplet_melodies(draw):
    """Whole beats of sixteenth patterns or triplet patterns, in 4/4 or 3/4."""
    meter = draw(st.sampled_from([(4, 4), (3, 4), (2, 2)]))
    notes, beat = [], 0
    for _ in range(draw(st.integers(1, 24))):
        thirds = draw(st.booleans())
        grid = [0, 1 / 3, 2 / 3] if thirds else [0, 0.25, 0.5, 0.75]
        onsets = sorted(set([0] + draw(st.lists(st.sampled_from(grid), max_size=3))))
        for a, b in zip(onsets, onsets[1:] + [1]):
            notes.append((draw(st.integers(48, 84)), beat + a, b - a))
        beat += 1
    return _score(notes, meter)


@settings(max_examples=120, deadline=None)
@given(triplet_melodies())
def test_beats_of_sixteenths_or_thirds_round_trip(score):
    tok = get_tokenizer("melody", layout=3)
    ids = tok.encode(score)
    assert _notes(tok.decode(ids)) == _notes(score)
    assert (tok.on_grid(ids) == get_tokenizer("melody", layout=2).encode(score)).all()  # read on the grid: layout 2
    for i in np.flatnonzero(ids == tok.triplet_id):  # three step tokens follow every marker
        assert all(tok.is_step(t) and t != tok.triplet_id for t in ids[i + 1:i + 4])


def test_the_vae_reads_triplet_beats_on_the_grid():
    old, new = get_tokenizer("melody", layout=2), get_tokenizer("melody", layout=3)
    a = melody_steps(old.encode(_score(REEL)), old)
    b = melody_steps(new.encode(_score(REEL)), new)
    assert len(a) == len(b) == 1 and (a[0].steps == b[0].steps).all()


class _TripletLM:
    """Prefers ``TRIPLET`` above everything, then notes: a sampler that let it stand
    anywhere but a beat's start would write broken bars."""

    def __init__(self, tok):
        self.logits = np.zeros(tok.vocab_size, np.float32)
        self.logits[tok.triplet_id] = 8.0
        self.logits[[REST, HOLD]] = -4.0

    def initial_state(self, batch):
        return np.zeros((batch, 1))

    def step(self, tokens, state):
        return np.tile(self.logits, (len(tokens), 1)), state

    def run(self, tokens, state):
        tokens = np.atleast_2d(tokens)
        return np.tile(self.logits, (len(tokens), 1)), self.initial_state(len(tokens)) if state is None else state


@pytest.mark.parametrize("meter", [(4, 4), (3, 4), (6, 8)])
def test_the_sampler_writes_triplets_only_where_a_beat_starts(meter):
    tok = get_tokenizer("melody", layout=3)
    sampler = MelodySampler(_TripletLM(tok), tok)
    options = SamplingOptions(bars=4, key=KeySignature(0, 2, "major"), time_signature=meter)
    scores = sampler.sample(2, options, np.random.default_rng(0))
    bar_beats = meter[0] * 4 / meter[1]
    for score in scores:
        notes = score.tracks[0].notes
        assert notes[0].start == 0 and notes[-1].end == pytest.approx(4 * bar_beats)
        thirds = [n for n in notes if abs(n.start * 3 - round(n.start * 3)) < 1e-9 and n.start % 0.25]
        assert thirds, "the model's wish for triplets is granted where it may be"
        ids = tok.encode(score)
        assert (tok.on_grid(ids) != ids).any()
    assert [_notes(s) for s in scores] == [_notes(s) for s in sampler.sample(2, options, np.random.default_rng(0))]


def test_triplet_beats_start_on_whole_beats_inside_bars():
    assert [s for s in range(16) if _beat_starts(s, 16)] == [0, 4, 8, 12]
    assert [s for s in range(24) if _beat_starts(s, 12)] == [0, 4, 8, 12, 16, 20]
    assert [s for s in range(12) if _beat_starts(s, 6)] == [0]  # 3/8: the second bar starts off the beat


def test_a_model_starts_a_run_on_a_newer_layout_with_new_rows_for_the_new_tokens(tmp_path):
    """A layout-2 model trains on a layout-3 corpus (``seqart train --from M``): its rows are
    kept, ``TRIPLET`` gets a new one and starts rarer than every old token."""
    import os

    from seqart.corpora.build import build_corpus
    from seqart.models.folder import load_model
    from seqart.workflows.start_from import extends
    from seqart.workflows.train import train
    from tests.melody_factory import write_melody_folder
    from tests.train_fixtures import TINY_SETTINGS

    write_melody_folder(tmp_path / "midi", count=12)
    os.environ["SEQART_CACHE_DIR"] = str(tmp_path / "cache")
    try:
        for layout in (2, 3):
            build_corpus(tmp_path / "midi", tmp_path / f"corpus{layout}", representation="melody", workers=1,
                         progress=False, tokenizer_config={"layout": layout}, valid_fraction=0.2, test_fraction=0.2)
    finally:
        os.environ.pop("SEQART_CACHE_DIR", None)
    train("melody-lstm", tmp_path / "corpus2", tmp_path / "old", steps=3, settings=TINY_SETTINGS, progress=False)
    old, old_tok, _ = load_model(tmp_path / "old" / "model")
    assert old_tok.layout == 2
    assert extends(get_tokenizer("melody", layout=3), old_tok) and not extends(old_tok, get_tokenizer("melody", layout=3))
    train("melody-lstm", tmp_path / "corpus3", tmp_path / "run", steps=1, settings={**TINY_SETTINGS, "lr": 1e-9},
          progress=False, init_from=tmp_path / "old" / "model")
    new, new_tok, _ = load_model(tmp_path / "run" / "model")
    assert new_tok.triplet_id == old_tok.vocab_size and new_tok.vocab_size == old_tok.vocab_size + 1
    for name, tensor in old.state_dict().items():
        grown = new.state_dict()[name]
        if grown.shape != tensor.shape:
            assert grown.shape[0] == tensor.shape[0] + 1 and np.allclose(grown[:-1].numpy(), tensor.numpy(), atol=1e-6)
            if tensor.dim() == 1:
                assert grown[-1] <= tensor.min() + 1e-6
    assert any(new.state_dict()[n].shape != t.shape for n, t in old.state_dict().items())


def test_a_tune_lands_in_the_same_split_whatever_the_layout(tmp_path):
    """The split hashes the tokens as layout 2 writes them: a layout-3 corpus of the same
    files has the same train, valid and test tunes, so a model started from a layout-2
    model is never tested on tunes it trained on."""
    import json
    import os

    from seqart.corpora.build import build_corpus

    rng = np.random.default_rng(0)
    (tmp_path / "midi").mkdir()
    for i in range(40):  # every tune has triplets: its layout-3 tokens differ from its layout-2 tokens
        notes, beat = [], 0.0
        for b in range(16):
            if b % 3 == 1:
                notes += [(int(rng.integers(60, 72)), beat + k / 3, 1 / 3) for k in range(3)]
            else:
                notes.append((int(rng.integers(60, 72)), beat, 1.0))
            beat += 1
        _score(notes).write(tmp_path / "midi" / f"tune{i:02d}.mid")
    os.environ["SEQART_CACHE_DIR"] = str(tmp_path / "cache")
    try:
        splits = []
        for layout in (2, 3):
            out = tmp_path / f"corpus{layout}"
            build_corpus(tmp_path / "midi", out, representation="melody", workers=1, progress=False,
                         tokenizer_config={"layout": layout}, valid_fraction=0.3, test_fraction=0.3)
            items = json.loads((out / "manifest.json").read_text())["items"]
            splits.append([(item["source"], item["split"]) for item in items])
    finally:
        os.environ.pop("SEQART_CACHE_DIR", None)
    assert splits[0] == splits[1] and len({split for _, split in splits[0]}) == 3
