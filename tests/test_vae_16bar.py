"""Issue 19: the shipped 16-bar melody VAE, ``folk-vae-16bar`` (a code per bar, a learned prior)."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import seqart
from seqart.cli import app
from seqart.evaluate.metrics import scale_consistency
from seqart.models.folder import shipped_models
from seqart.models.music_vae.data import HOLD
from seqart.score import Score

MODEL = "folk-vae-16bar"
runner = CliRunner()


@pytest.fixture(scope="module")
def vae():
    return seqart.load(MODEL)


@pytest.fixture(scope="module")
def songs() -> list[Score]:
    """Four 16-bar 4/4 melodies no corpus holds: the default model wrote them."""
    return seqart.load("folk").sample(4, seed=5, bars=16, time_signature="4/4")


def test_it_ships_under_10_mb_with_a_code_per_bar_and_a_learned_prior(vae):
    assert MODEL in shipped_models()
    assert sum(p.stat().st_size for p in vae.folder.iterdir()) < 10e6
    config = vae.model.config
    assert (vae.bars, config.global_latent_size, config.bar_latent_size, config.bar_prior) == (16, 128, 24, "learned")
    assert config.prior_noise == 0.5 and config.prior_fit == 1.0


def test_16_bar_melodies_come_back_in_one_span(vae, songs):
    """Each reconstruction beats holding every step by a margin; on average (test spans: 0.86
    of steps, 0.53 of onsets) most steps and most onsets come back."""
    accuracy, onsets = [], []
    for song in songs:
        spans, _ = vae.spans_of(song)
        assert spans.shape == (1, 16 * 16)
        back, _ = vae.spans_of(vae.reconstruct(song))
        onset = spans != HOLD
        accuracy.append((back == spans).mean())
        onsets.append((back[onset] == spans[onset]).mean())
        assert accuracy[-1] >= (~onset).mean() + 0.1
    assert np.mean(accuracy) >= 0.85 and np.mean(onsets) >= 0.6
    z = vae.encode(songs[0])
    assert z.shape == (1, 512) and np.array_equal(vae.encode(songs[0]), z)


def test_prior_melodies_are_seeded_16_bars_long_and_stay_in_a_scale(vae):
    first, again = vae.sample(12, seed=3), vae.sample(12, seed=3)
    assert [s.to_dict() for s in first] == [s.to_dict() for s in again]
    assert [s.to_dict() for s in vae.sample(12, seed=4)] != [s.to_dict() for s in first]
    assert all(s.num_notes >= 16 and s.end <= 64.0 for s in first)  # 16 bars of 4/4
    assert np.mean([scale_consistency(s) for s in first]) >= 0.9


def test_interpolate_and_vary_take_it_by_name(songs, tmp_path):
    a, b = tmp_path / "a.mid", tmp_path / "b.mid"
    songs[0].write(a)
    songs[1].write(b)
    r = runner.invoke(app, ["interpolate", str(a), str(b), "--model", MODEL, "--steps", "3", "-o", str(tmp_path / "i")])
    assert r.exit_code == 0, r.output
    blend = [Score.from_file(p) for p in sorted((tmp_path / "i").iterdir())]
    assert len(blend) == 3 and all(s.num_notes > 0 and s.end <= 64.0 for s in blend)
    r = runner.invoke(app, ["vary", str(a), "--model", MODEL, "--num", "2", "--seed", "1", "-o", str(tmp_path / "v")])
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "v").iterdir())) == 2
