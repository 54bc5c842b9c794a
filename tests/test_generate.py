"""Sampling: NumPy path equals torch, constraints always hold, seeds reproduce, primers stay."""

import numpy as np
import pytest
import torch

from seqart.errors import ModelError, ScoreError
from seqart.models.loading import load_generator
from seqart.generate.constraints import allowed_pitch_classes, parse_range
from seqart.models.folder import load_model
from seqart.score import KeySignature, Note, Score, TimeSignature, Track
from tests.train_fixtures import tiny_corpus, tiny_run  # noqa: F401


def test_numpy_logits_match_torch(tiny_run):
    gen = load_generator(tiny_run)
    model, tok, _ = load_model(tiny_run / "model")
    seq = np.random.default_rng(0).integers(3, tok.vocab_size, size=(3, 40))
    with torch.no_grad():
        expected, _ = model(torch.from_numpy(seq))
    state = gen.lm.initial_state(3)
    for t in range(seq.shape[1]):
        logits, state = gen.lm.step(seq[:, t], state)
        np.testing.assert_allclose(logits, expected[:, t].numpy(), atol=1e-5, rtol=0)


def test_same_seed_same_melodies_and_bars(tiny_run):
    gen = load_generator(tiny_run)
    a = gen.sample(num=3, bars=4, seed=7, temperature=0.9, time_signature="3/4")
    b = gen.sample(num=3, bars=4, seed=7, temperature=0.9, time_signature="3/4")
    assert [s.to_dict() for s in a] == [s.to_dict() for s in b]
    assert all(s.end <= 4 * 3 + 1e-9 for s in a)
    assert str(a[0].time_signature) == "3/4"
    c = gen.sample(num=3, bars=4, seed=8, temperature=0.9)
    assert [s.to_dict() for s in a] != [s.to_dict() for s in c]


@pytest.mark.parametrize("key,scale,rng", [("D minor", None, None), ("C", "pentatonic", "60-72"),
                                           ("F#", "blues", "G3-C5"), (None, "whole-tone", None)])
def test_constraints_are_never_broken(tiny_run, key, scale, rng):
    gen = load_generator(tiny_run)
    low, high = parse_range(rng) if rng else (0, 127)
    for score in gen.sample(num=8, bars=8, seed=1, temperature=2.0, key=key, scale=scale, pitch_range=rng):
        # Without --key each melody draws its key, which roots the scale (a drawn key binds only under --scale).
        allowed = allowed_pitch_classes(KeySignature.parse(key) if key else score.key, scale)
        for n in score.notes:
            assert n.pitch % 12 in allowed and low <= n.pitch <= high


def test_top_k_one_is_greedy_and_deterministic(tiny_run):
    gen = load_generator(tiny_run)
    # the key fixed: a melody without one draws it from its training melodies' keys, not the model
    a = gen.sample(num=2, bars=2, seed=1, top_k=1, key="E")
    b = gen.sample(num=2, bars=2, seed=99, top_k=1, key="E")
    assert a[0].to_dict() == a[1].to_dict() == b[0].to_dict()
    assert gen.sample(num=1, bars=2, seed=1, top_p=0.5)[0].num_notes >= 0


def test_primer_notes_come_first_unchanged(tiny_run, tmp_path):
    primer = Score(tracks=[Track(notes=[Note(62, 0, 1), Note(64, 1, 0.5), Note(66, 1.5, 1.25), Note(67, 3, 2)])],
                   time_signatures=[TimeSignature(0, 4, 4)], key_signatures=[KeySignature(0, 2, "major")])
    path = tmp_path / "primer.mid"
    primer.write(path)
    gen = load_generator(tiny_run)
    for out in gen.continue_score(path, bars=2, num=4, seed=3):
        got = [(n.pitch, n.start, n.duration) for n in out.notes]
        want = [(n.pitch, n.start, n.duration) for n in primer.notes]
        assert got[: len(want)] == want
        assert all(n.start >= 5 for n in out.notes[len(want):])
        assert out.end <= 16 + 1e-9  # the primer reaches into bar 2: finish it, then 2 more bars
        assert out.key.tonic == 2  # the primer's key applies without --key


@pytest.mark.parametrize("kwargs,match", [
    ({"bars": 0}, "bars"), ({"temperature": 0}, "temperature"), ({"temperature": -1}, "temperature"),
    ({"key": "H minor"}, "not a key"), ({"scale": "klingon"}, "unknown scale"), ({"pitch_range": "90-80"}, "empty"),
    ({"pitch_range": "0-10"}, "outside the model"), ({"time_signature": "7/3"}, "time signature"),
    ({"top_p": 1.5}, "top-p"), ({"num": 0}, "num"), ({"pitch_temperature": 0}, "pitch temperature"), ({"key": "C", "scale": "major", "pitch_range": "61-61"}, "no pitch"),
])
def test_bad_options_raise_one_line_errors(tiny_run, kwargs, match):
    gen = load_generator(tiny_run)
    with pytest.raises(ScoreError, match=match) as info:
        gen.sample(**{"bars": 2, **kwargs})
    assert "\n" not in str(info.value)


def test_unknown_model_and_hostile_folders(tmp_path, tiny_run):
    import shutil

    with pytest.raises(ModelError, match="unknown model"):
        load_generator("no-such-model")
    bad = tmp_path / "pickled"
    shutil.copytree(tiny_run / "model", bad)
    (bad / "model.safetensors").write_bytes(b"\x80\x04\x95" + b"\x00" * 64)
    with pytest.raises(ModelError, match="pickle"):
        load_generator(bad)
    huge = tmp_path / "huge"
    shutil.copytree(tiny_run / "model", huge)
    cfg = (huge / "config.json").read_text().replace('"hidden_size": 32', '"hidden_size": 1000000000')
    (huge / "config.json").write_text(cfg)
    with pytest.raises(ModelError, match="hidden_size"):
        load_generator(huge)


def test_top_k_holds_per_row_when_another_row_allows_fewer_tokens():
    """A row narrowed to one token (a forced held step) must not switch top-k off for the others."""
    from types import SimpleNamespace

    from seqart.generate.melody import draw_tokens

    logits = np.tile(np.linspace(0.0, 1.0, 12), (2, 1))  # token 11 the likeliest
    mask = np.ones((2, 12), dtype=bool)
    mask[0] = False
    mask[0, 3] = True  # row 0: only token 3
    options = SimpleNamespace(temperature=5.0, top_k=1, top_p=None)
    drawn = {tuple(draw_tokens(logits, mask, options, np.random.default_rng(seed))) for seed in range(50)}
    assert drawn == {(3, 11)}
    options.top_k = 3
    drawn = np.array([draw_tokens(logits, mask, options, np.random.default_rng(seed)) for seed in range(200)])
    assert set(drawn[:, 0]) == {3} and set(drawn[:, 1]) == {9, 10, 11}


def _two_level_probabilities(logits, mask, temperature, pitch_temperature, pitch_ids):
    from types import SimpleNamespace

    from seqart.generate.melody import draw_tokens

    options = SimpleNamespace(temperature=temperature, pitch_temperature=pitch_temperature, top_k=None, top_p=None)
    drawn = np.array([draw_tokens(logits, mask, options, np.random.default_rng(seed), pitch_ids=pitch_ids)
                      for seed in range(4000)])
    return np.stack([np.bincount(row, minlength=logits.shape[1]) / len(drawn) for row in drawn.T])


def test_pitch_temperature_tempers_which_note_and_temperature_whether_one_starts():
    """The notes' total share against a rest or hold is what ``temperature`` alone gives
    them; which note, ``pitch_temperature``; a row that allows no note draws as it would
    without it."""
    logits = np.array([[1.0, 0.5, 2.0, 1.0, 0.0, -1.0], [1.0, 0.5, 2.0, 1.0, 0.0, -1.0]])
    mask = np.ones_like(logits, dtype=bool)
    mask[1, 2:] = False  # row 1: only the two non-note tokens
    notes = np.array([2, 3, 4, 5])

    def softmax(z):
        e = np.exp(z - z.max())
        return e / e.sum()

    got = _two_level_probabilities(logits, mask, 1.2, 0.5, notes)
    plain = softmax(logits[0] / 1.2)
    assert got[0, notes].sum() == pytest.approx(plain[notes].sum(), abs=0.01)  # whether a note starts
    np.testing.assert_allclose(got[0, notes] / got[0, notes].sum(), softmax(logits[0, notes] / 0.5), atol=0.01)
    np.testing.assert_allclose(got[1, :2], softmax(logits[1, :2] / 1.2), atol=0.03)
    assert got[1, 2:].sum() == 0
    from seqart.generate.melody import _temper_pitches

    z = np.where(mask, logits, -np.inf)
    np.testing.assert_allclose(_temper_pitches(z, notes, 1.2, 1.2), z / 1.2)  # one temperature: as before


def test_a_models_own_temperatures_are_its_defaults(tiny_run, tmp_path):
    import json
    import shutil

    folder = tmp_path / "tempered"
    shutil.copytree(tiny_run / "model", folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "sampling": {"temperature": 1.2,
                                                                           "pitch_temperature": 0.6}}))
    gen = load_generator(folder)
    assert gen.sampling_defaults == {"bars": 16, "temperature": 1.2, "pitch_temperature": 0.6}
    plain = load_generator(tiny_run)
    assert plain.sampling_defaults["pitch_temperature"] == plain.sampling_defaults["temperature"] == 1.0

    def notes(pieces):
        return [[(n.pitch, n.start, n.duration) for n in p.tracks[0].notes] for p in pieces]

    assert notes(gen.sample(4, seed=2, bars=4)) == notes(plain.sample(4, seed=2, bars=4, temperature=1.2,
                                                                      pitch_temperature=0.6))
    assert notes(gen.sample(4, seed=2, bars=4, temperature=0.8)) == notes(  # a temperature given alone: both
        plain.sample(4, seed=2, bars=4, temperature=0.8, pitch_temperature=0.8))
    assert notes(gen.sample(4, seed=2, bars=4, pitch_temperature=0.5)) == notes(
        plain.sample(4, seed=2, bars=4, temperature=1.2, pitch_temperature=0.5))
    assert notes(gen.sample(4, seed=2, bars=4)) != notes(plain.sample(4, seed=2, bars=4))
    (folder / "config.json").write_text(json.dumps({**config, "sampling": {"temperature": "hot"}}))
    with pytest.raises(ModelError, match="'sampling' must hold temperatures") as info:
        load_generator(folder)
    assert "\n" not in str(info.value)


def test_the_settings_a_call_ran_with_are_recorded_as_it_ran():
    from seqart.generate.protocol import settings_used

    defaults = {"bars": 16, "temperature": 1.05, "pitch_temperature": 0.95}
    assert settings_used(defaults, {"bars": 8, "key": None}) == {**defaults, "bars": 8}
    assert settings_used(defaults, {"temperature": 0.8})["pitch_temperature"] == 0.8  # alone: both
    assert settings_used(defaults, {"temperature": 0.8, "pitch_temperature": 0.7})["pitch_temperature"] == 0.7
    assert settings_used({"bars": 8, "temperature": 1.0}, {"temperature": 0.8}) == {"bars": 8, "temperature": 0.8}
