"""The melody VAE: spans, the model, attributes, the latent API and its commands."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from seqart.cli import app
from seqart.models.music_vae.attributes import (
    compute_attribute_vectors,
    load_attribute_vectors,
    measure,
    mean_pitch,
    note_density,
    pitch_range,
    save_attribute_vectors,
    stepwise_motion,
    syncopation,
)
from seqart.models.music_vae.data import HOLD, NOTE_BASE, REST, BarSpans, extract_spans, melody_steps, transpose_spans
from seqart.models.music_vae.config import MusicVAEConfig
from seqart.models.music_vae.model import MusicVAE
from seqart.score import KeySignature, Note, Score, TempoChange, TimeSignature, Track
from seqart.tokenizers.melody import MelodyTokenizer
from tests.melody_factory import random_melody
from tests.train_fixtures import tiny_corpus  # noqa: F401

runner = CliRunner()
TOK = MelodyTokenizer()


def tiny_config(**kw) -> MusicVAEConfig:
    base = dict(n_classes=NOTE_BASE + TOK.num_pitches, bars=2, bar_steps=16, embed_dim=8, encoder_size=12,
                latent_size=6, decoder_size=16, decoder_layers=2, conductor_size=10, dropout=0.0)
    base.update(kw)
    return MusicVAEConfig(**base)


def melody(pitches_steps, meter=(4, 4)) -> Score:
    """A melody from (pitch or None for a rest, length in sixteenths) pairs."""
    notes, pos = [], 0
    for p, n in pitches_steps:
        if p is not None:
            notes.append(Note(p, pos / 4, n / 4, 80))
        pos += n
    return Score(tracks=[Track(notes=notes)], tempos=[TempoChange(0.0, 100.0)],
                 time_signatures=[TimeSignature(0.0, *meter)], key_signatures=[KeySignature(0.0, 0, "major")])


# ---------------------------------------------------------------- spans
def test_melody_steps_classes_and_bars():
    score = melody([(60, 4), (62, 4), (None, 4), (64, 4), (65, 16)])
    (seg,) = melody_steps(TOK.encode(score), TOK)
    assert seg.bar_steps == 16 and seg.meter == (4, 4)
    assert list(seg.bar_starts) == [0, 16]
    s = seg.steps
    assert s[0] == NOTE_BASE + 60 - 36 and s[4] == NOTE_BASE + 62 - 36 and s[8] == REST and s[12] == NOTE_BASE + 64 - 36
    assert (s[1:4] == HOLD).all() and s[16] == NOTE_BASE + 65 - 36 and (s[17:32] == HOLD).all()


def test_extract_spans_start_on_bar_lines_and_restart_held_notes():
    # a note tied over the bar line: the span starting at bar 2 must begin with its onset
    score = melody([(60, 8), (67, 16), (64, 8), (62, 16), (60, 16)])
    spans = extract_spans([TOK.encode(score)], TOK, bars=1, bar_steps=16, min_notes=1, unique=False)
    assert spans.shape == (4, 16)
    assert spans[1, 0] == NOTE_BASE + 67 - 36 and spans[1, 1] == HOLD  # re-struck at the bar line
    assert all(s[0] != HOLD for s in spans)


def test_triple_meters_are_left_out_and_two_four_pairs_bars():
    waltz = random_melody(1, bars=8, meter=(3, 4))
    assert extract_spans([TOK.encode(waltz)], TOK, bars=2, bar_steps=16).shape[0] == 0
    two_four = random_melody(2, bars=8, meter=(2, 4))  # 8-step bars: a span may start at any bar line
    spans = extract_spans([TOK.encode(two_four)], TOK, bars=2, bar_steps=16, min_notes=1, unique=False)
    assert spans.shape == (5, 32)  # 64 steps, starts every 8 steps with the whole span inside


def test_transpose_spans_keeps_range():
    spans = np.array([[NOTE_BASE, HOLD, REST, NOTE_BASE + 5], [NOTE_BASE + 30, HOLD, HOLD, REST]], np.uint8)
    out = transpose_spans(spans, np.array([-2, 3]), n_pitches=61)
    assert list(out[0]) == list(spans[0])  # would leave the range: unchanged
    assert list(out[1]) == [NOTE_BASE + 33, HOLD, HOLD, REST]


def test_bar_spans_batches_are_deterministic():
    spans = np.tile(np.array([[NOTE_BASE + 10] + [HOLD] * 31], np.uint8), (20, 1))
    spans[:, 0] += np.arange(20, dtype=np.uint8)
    data = BarSpans(spans, batch_size=5, n_pitches=61, seed=3, max_transpose=4)
    assert torch.equal(data.batch(7), data.batch(7)) and data.batch(7).shape == (5, 32)
    assert not torch.equal(data.batch(7), data.batch(8))
    assert sum(b.shape[0] for b in data.eval_batches()) == 20


# ---------------------------------------------------------------- model
@pytest.mark.parametrize("decoder", ["flat", "hierarchical"])
def test_shapes_and_greedy_decoding_matches_teacher_forcing(decoder):
    torch.manual_seed(0)
    model = MusicVAE(tiny_config(decoder=decoder)).eval()
    x = torch.randint(0, model.config.n_classes, (3, 32))
    mu, sigma = model.encode(x)
    assert mu.shape == (3, 6) and sigma.shape == (3, 6) and (sigma > 0).all()
    z = torch.randn(4, 6)
    out = model.decode(z, greedy=True)
    assert out.shape == (4, 32)
    # feeding the greedy output back with teacher forcing reproduces it: the
    # parallel (bar-batched) and the step-by-step decoders agree
    logits = model.reconstruct_logits(out, z)
    assert torch.equal(logits.argmax(-1), out)


def test_scheduled_sampling_and_schedules():
    torch.manual_seed(0)
    model = MusicVAE(tiny_config(kl_warmup_steps=100, beta_max=0.4, scheduled_sampling=0.5,
                                 sampling_warmup_steps=10, free_bits=1.0))
    assert model.kl_weight(0) == 0 and model.kl_weight(50) == pytest.approx(0.2) and model.kl_weight(500) == 0.4
    assert model.sample_prob(5) == pytest.approx(0.25) and model.sample_prob(50) == 0.5
    x = torch.randint(0, model.config.n_classes, (2, 32))
    z = torch.randn(2, 6)
    model.eval()
    assert model.reconstruct_logits(x, z, sample_prob=0.5).shape == (2, 32, model.config.n_classes)
    # free bits: KL below log(2) nats costs nothing
    assert model._kl_cost(torch.tensor([0.5, 2.0])).tolist() == pytest.approx([0.0, 2.0 - math.log(2)])


def test_training_step_lowers_the_loss():
    torch.manual_seed(0)
    model = MusicVAE(tiny_config(kl_warmup_steps=0, beta_max=0.01))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def step(name, loss):
        opt.zero_grad()
        loss.backward()
        opt.step()

    x = torch.randint(0, model.config.n_classes, (8, 32))
    first = model.training_step(x, step)["loss"]
    for i in range(60):
        model.trainer_step = i
        last = model.training_step(x, step)["loss"]
    assert last < 0.5 * first
    sums = model.validation_step(x)
    assert sums["weight"] == 8 * 32 and 0 <= sums["accuracy"] <= 8 * 32


def test_cpu_trainer_flushes_subnormals_while_it_trains(tmp_path):
    """The encoder's gradient decays into subnormals through time; on the CPU the
    trainer flushes them to zero while it trains (they made a 16-bar step 6x
    slower), and gives the caller IEEE arithmetic back afterwards."""
    from seqart.train.config import TrainConfig
    from seqart.train.trainer import Trainer, flushing_subnormals

    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush subnormals")
    torch.set_flush_denormal(False)
    seen = []

    class Watched(MusicVAE):
        def training_step(self, batch, step):
            seen.append(flushing_subnormals())
            return super().training_step(batch, step)

    spans = np.stack([np.full(32, NOTE_BASE + 10, np.uint8)] * 8)
    data = BarSpans(spans, batch_size=4, n_pitches=TOK.num_pitches)
    Trainer(Watched(tiny_config()), TOK, data, data, TrainConfig(steps=2, device="cpu", val_batches=1),
            tmp_path / "run", progress=False).fit()
    assert seen == [True, True]
    assert not flushing_subnormals()


def test_config_validation():
    from seqart.errors import ModelError
    from seqart.models.registry import config_from_dict

    with pytest.raises(ModelError):
        config_from_dict("music-vae", {"n_classes": 63, "decoder": "tree"})
    with pytest.raises(ModelError):
        config_from_dict("music-vae", {"n_classes": 63, "latent_size": 10 ** 9})
    with pytest.raises(ModelError):
        config_from_dict("music-vae", {"n_classes": 200, "min_pitch": 36})  # passes pitch 127


# ---------------------------------------------------------------- attributes
def test_attribute_measures_by_hand():
    s = np.array([NOTE_BASE + 0, HOLD, NOTE_BASE + 2, HOLD, HOLD, HOLD, NOTE_BASE + 7, HOLD], np.uint8)
    assert note_density(s) == pytest.approx(3 / 2)  # 3 onsets in 2 beats
    assert pitch_range(s) == 7 and mean_pitch(s) == pytest.approx(3.0)
    assert stepwise_motion(s) == pytest.approx(0.5)  # +2 is a step, +5 is a leap
    # the onset at step 2 is off the beat and sounds past the beat at step 4
    assert syncopation(s) == pytest.approx(1 / 3)
    assert measure(np.stack([s, s]), "note-density").tolist() == [1.5, 1.5]


def test_attribute_vectors_roundtrip(tmp_path):
    torch.manual_seed(0)
    model = MusicVAE(tiny_config())
    spans = extract_spans([TOK.encode(random_melody(i, bars=4)) for i in range(30)], TOK, 2, 16, unique=False)
    vectors = compute_attribute_vectors(model, spans)
    assert {"density", "range", "register", "stepwise"} <= set(vectors)
    assert vectors["density"]["high_mean"] > vectors["density"]["low_mean"]
    save_attribute_vectors(tmp_path, vectors)
    loaded = load_attribute_vectors(tmp_path, 6)
    assert np.allclose(loaded["density"], vectors["density"]["vector"], atol=1e-6)


# ---------------------------------------------------------------- trained tiny model, API and CLI
@pytest.fixture(scope="module")
def vae_run(tiny_corpus, tmp_path_factory):
    from seqart.workflows.train import train

    run = tmp_path_factory.mktemp("vae") / "run"
    result = train("melody-vae-tiny", tiny_corpus, run, steps=40,
                   settings={"threads": 1, "batch_size": 16, "val_every": 20, "checkpoint_every": 20}, progress=False)
    assert result["unit"] == "step" and 0 < result["test"]["accuracy"] <= 1
    return run


def test_trained_folder_has_attributes_and_loads_equal(vae_run):
    from seqart.models.folder import load_model, save_model_folder

    assert (vae_run / "model" / "attributes.json").is_file()
    model, tok, _ = load_model(vae_run / "model")
    x = torch.randint(0, model.config.n_classes, (2, model.config.span_steps))
    again, _, _ = load_model(save_model_folder(vae_run.parent / "copy", model, tok))
    assert torch.equal(model.encode(x)[0], again.encode(x)[0])


def test_latent_api(vae_run):
    from seqart.models.music_vae.sampler import MelodyVAE, slerp

    vae = MelodyVAE(vae_run)
    a, b = random_melody(5, bars=2), random_melody(6, bars=5)
    steps, layout = vae.steps_of(a)
    back = vae.score_of(steps, layout)
    assert [(n.pitch, n.start, n.duration) for n in back.notes] == [(n.pitch, n.start, n.duration) for n in a.notes]
    assert vae.encode(a).shape == (1, vae.latent_size)
    assert vae.encode([a, b]).shape == (1 + 3, vae.latent_size)  # 5 bars -> 3 spans of 2
    blend = vae.interpolate(a, b, steps=5)
    assert len(blend) == 5 and all(s.num_notes > 0 or True for s in blend)
    assert blend[0].end <= 6 * 4 and blend[-1].end <= 6 * 4
    first = vae.reconstruct(a)
    assert [n.pitch for n in blend[0].notes[: len(first.notes)]] == [n.pitch for n in first.notes][: len(blend[0].notes)]
    assert len(vae.sample(3, seed=1)) == 3
    assert [n.pitch for n in vae.sample(2, seed=4)[1].notes] == [n.pitch for n in vae.sample(2, seed=4)[1].notes]
    v = vae.vary(b, amount=0.5, num=3, seed=2)
    assert len(v) == 3 and [n.pitch for n in v[0].notes] == [n.pitch for n in vae.vary(b, 0.5, 3, seed=2)[0].notes]
    assert vae.attribute_vector("note_density").shape == (vae.latent_size,)
    shifted = vae.shift(b, "density", amount=0.0)
    assert [n.pitch for n in shifted.notes] == [n.pitch for n in vae.reconstruct(b).notes]
    za, zb = np.ones(4), np.array([1.0, -1, 0, 0])
    assert np.allclose(slerp(za, zb, 0), za) and np.allclose(slerp(za, zb, 1), zb)


def test_latent_commands(vae_run, tmp_path):
    a, b = tmp_path / "a.mid", tmp_path / "b.mid"
    random_melody(1, bars=2).write(a)
    random_melody(2, bars=3).write(b)
    model = str(vae_run)
    r = runner.invoke(app, ["interpolate", str(a), str(b), "--model", model, "--steps", "4", "-o", str(tmp_path / "i")])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "i").iterdir()) == ["01.mid", "02.mid", "03.mid", "04.mid"]
    r = runner.invoke(app, ["vary", str(a), "--model", model, "--num", "3", "--seed", "1", "-o", str(tmp_path / "v")])
    assert r.exit_code == 0, r.output and len(list((tmp_path / "v").iterdir())) == 3
    r = runner.invoke(app, ["shift", str(a), "--model", model, "--attribute", "density", "-o", str(tmp_path / "s.mid")])
    assert r.exit_code == 0, r.output and (tmp_path / "s.mid").is_file()
    bad = [
        ["shift", str(a), "--model", model, "--attribute", "loudness", "-o", str(tmp_path / "t.mid")],
        ["shift", str(a), "--model", model, "--attribute", "density", "-o", str(tmp_path / "s.mid")],  # exists
        ["interpolate", str(a), str(tmp_path / "missing.mid"), "--model", model, "-o", str(tmp_path / "j")],
        ["interpolate", str(a), str(b), "--model", model, "--steps", "1", "-o", str(tmp_path / "k")],
        ["vary", str(a), "--model", model, "--amount", "-1", "-o", str(tmp_path / "w")],
        ["vary", str(a), "--model", model, "-o", str(tmp_path / "v")],  # 01.mid exists
        ["vary", str(a), "--model", "folk", "-o", str(tmp_path / "x")],  # not a VAE
    ]
    for args in bad:
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output and r.output.strip().startswith("error:"), r.output


def test_shipped_vae_is_the_default_and_has_attributes(tmp_path):
    from seqart.models.music_vae.sampler import MelodyVAE
    from seqart.models.music_vae.attributes import ATTRIBUTES

    vae = MelodyVAE("folk-vae-2bar")
    assert vae.folder.name == "folk-vae-2bar" and vae.bars == 2
    assert set(vae.attributes) == set(ATTRIBUTES)
    a, b = tmp_path / "a.mid", tmp_path / "b.mid"
    random_melody(11, bars=2).write(a)
    random_melody(12, bars=2).write(b)
    r = runner.invoke(app, ["interpolate", str(a), str(b), "--steps", "3", "-o", str(tmp_path / "blend")])
    assert r.exit_code == 0, r.output
    blend = sorted((tmp_path / "blend").iterdir())
    assert len(blend) == 3 and all(Score.from_file(p).num_notes > 0 for p in blend)


def test_seqart_sample_draws_from_a_vae_prior(tmp_path):
    """The one protocol lets ``seqart sample`` use a VAE: melodies from its prior, the same for
    the same seed; an option a VAE cannot honour is refused in one line."""
    out = tmp_path / "v.mid"
    first = runner.invoke(app, ["sample", "folk-vae-2bar", "--num", "2", "--seed", "3", "-o", str(out)])
    assert first.exit_code == 0, first.output
    scores = [Score.from_file(tmp_path / f"v-{i}.mid") for i in (1, 2)]
    assert all(s.num_notes > 0 and s.end <= 8.0 for s in scores)  # one 2-bar span of 4/4 each
    again = runner.invoke(app, ["sample", "folk-vae-2bar", "--num", "2", "--seed", "3", "-o", str(out), "--force"])
    assert again.exit_code == 0
    assert [Score.from_file(tmp_path / f"v-{i}.mid").to_dict() for i in (1, 2)] == [s.to_dict() for s in scores]
    refused = runner.invoke(app, ["sample", "folk-vae-2bar", "--key", "D minor", "-o", str(tmp_path / "k.mid")])
    assert refused.exit_code == 2 and refused.output.startswith("error: key does not apply to a music-vae model")
