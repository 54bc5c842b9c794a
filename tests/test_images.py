"""The image side: data, DCGAN, image VAE, sampling, walks, evaluation and their commands."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from seqart.cli import app
from seqart.errors import CorpusError, ModelError, TokenizerError
from seqart.images.data import ImageBatches, ImageDataset, find_mnist
from seqart.models.images.config import DCGANConfig, ImageVAEConfig
from seqart.models.registry import config_from_dict
from seqart.models.images.dcgan import DCGAN
from seqart.models.folder import load_model, save_model_folder
from seqart.models.images.vae import ImageVAE
from seqart.score import Note, Score, TempoChange, Track
from seqart.tokenizers import tokenizer_from_dict
from seqart.tokenizers.images import ImageTokenizer
from seqart.train.config import apply_settings, parse_settings
from seqart.models.registry import get_preset

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent


def _has_mnist() -> bool:
    try:
        find_mnist()
    except CorpusError:
        return False
    return True


needs_mnist = pytest.mark.skipif(not _has_mnist(),
                                 reason="MNIST not found (../shared/data/images/mnist or $SEQART_SHARED)")


def tiny_gan(size: int = 28, channels: int = 1) -> DCGAN:
    torch.manual_seed(0)
    return DCGAN(DCGANConfig(size=size, channels=channels, latent_size=8, g_width=4, d_width=4))


def tiny_vae(size: int = 28, channels: int = 1, **kw) -> ImageVAE:
    torch.manual_seed(0)
    return ImageVAE(ImageVAEConfig(size=size, channels=channels, latent_size=4, width=4, hidden_size=16, **kw))


# ---------------------------------------------------------------- tokenizer
def test_image_tokenizer_saves_and_refuses_scores():
    tok = ImageTokenizer(size=64, channels=3)
    again = tokenizer_from_dict(json.loads(json.dumps(tok.to_dict())))
    assert again == tok and again.shape == (3, 64, 64) and again.kind == "images"
    with pytest.raises(TokenizerError, match="does not encode music"):
        tok.encode(Score())
    with pytest.raises(TokenizerError, match="does not decode"):
        tok.decode(np.zeros((1, 3, 64, 64), np.uint8))
    with pytest.raises(TokenizerError, match="size"):
        ImageTokenizer(size=32)
    with pytest.raises(TokenizerError, match="channels"):
        ImageTokenizer(channels=2)
    x = np.array([0, 128, 255], np.uint8)
    np.testing.assert_array_equal(ImageTokenizer.to_uint8(ImageTokenizer.to_model(x)), x)


# --------------------------------------------------------------------- data
def _png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_image_folder_loading_grey_rgb_resize_and_corrupt_files(tmp_path):
    wide = np.zeros((20, 60), np.uint8)
    wide[:, 20:40] = 255  # only the centre square is white: centre crop keeps exactly it
    _png(tmp_path / "wide.png", wide)
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[..., 0] = 200
    _png(tmp_path / "sub" / "red.jpg", rgb)
    _png(tmp_path / "sub" / "deep" / "grey.png", np.full((28, 28), 90, np.uint8))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (tmp_path / "notes.txt").write_text("ignored")

    ds = ImageDataset.open(tmp_path, size=28)
    assert ds.representation == "images" and ds.tokenizer.channels == 3  # one colour image: RGB
    assert ds.num_images() == 3 and sum(ds.manifest["counts"].values()) == 3
    assert [s["source"] for s in ds.manifest["skipped"]] == ["bad.png"] and ds.manifest["skipped"][0]["reason"]
    every = np.concatenate([ds.split(s) for s in ("train", "valid", "test")])
    assert every.dtype == np.uint8 and every.shape == (3, 3, 28, 28)
    assert any((im >= 250).all() for im in every)  # the centre-cropped wide image
    assert any(im[0].mean() > 150 and im[1].mean() < 30 for im in every)  # red stays red

    grey = ImageDataset.open(tmp_path, size=64, channels=1)
    assert grey.tokenizer.shape == (1, 64, 64) and grey.num_images() == 3
    (tmp_path / "sub" / "red.jpg").unlink()
    assert ImageDataset.open(tmp_path, size=28).tokenizer.channels == 1  # only grey images left


def test_image_folder_errors(tmp_path):
    with pytest.raises(CorpusError, match="no .png"):
        ImageDataset.open(tmp_path)
    (tmp_path / "a.png").write_bytes(b"junk")
    with pytest.raises(CorpusError, match="no readable image: 1 of 1"):
        ImageDataset.open(tmp_path)
    with pytest.raises(CorpusError, match="no such folder"):
        ImageDataset.open(tmp_path / "missing")
    with pytest.raises(CorpusError, match="size"):
        ImageDataset.open("digits", size=32)


def test_digits_dataset_is_deterministic_and_labelled():
    a, b = ImageDataset.open("digits", size=28), ImageDataset.open("digits", size=28)
    for split in ("train", "valid", "test"):
        x = a.split(split)
        assert x.dtype == np.uint8 and x.shape[1:] == (1, 28, 28) and len(x) > 100
        np.testing.assert_array_equal(x, b.split(split))
        assert len(a.labels(split)) == len(x)
    assert a.num_images() == 1797 and a.split("train").max() > 200


@needs_mnist
def test_mnist_standard_split():
    ds = ImageDataset.open("mnist", size=28)
    assert ds.manifest["counts"] == {"train": 55000, "valid": 5000, "test": 10000}
    assert abs(ds.split("train").mean() / 255 - 0.1307) < 0.002
    counts = np.bincount(np.concatenate([ds.labels("train"), ds.labels("valid")]), minlength=10)
    assert counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_missing_mnist_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEQART_SHARED", raising=False)
    with pytest.raises(CorpusError) as info:
        ImageDataset.open("mnist")
    message = str(info.value)
    assert "\n" not in message and "SEQART_SHARED" in message and str(tmp_path) in message


def test_batches_are_deterministic_and_in_range():
    images = np.random.default_rng(0).integers(0, 256, (50, 1, 28, 28), dtype=np.uint8)
    a, b = ImageBatches(images, 8, seed=3), ImageBatches(images, 8, seed=3)
    x = a.batch(5)
    assert x.dtype == torch.float32 and x.shape == (8, 1, 28, 28)
    assert x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, b.batch(5)) and not torch.equal(x, a.batch(6))
    assert not torch.equal(x, ImageBatches(images, 8, seed=4).batch(5))
    seen = torch.cat(list(a.eval_batches()))
    assert seen.shape[0] == 50 and torch.equal(seen, torch.from_numpy(images).float() / 127.5 - 1)
    assert len(list(a.eval_batches(max_batches=2))) == 2


# -------------------------------------------------------------------- DCGAN
@pytest.mark.parametrize("size, channels", [(28, 1), (64, 3)])
def test_dcgan_architecture_rules_and_shapes(size, channels):
    model = tiny_gan(size, channels)
    g, d = list(model.generator.net), list(model.discriminator.net)
    # no pooling; strided (transposed) convolutions only
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.Linear)) for m in model.modules())
    # G: ConvT -> BN -> ReLU blocks, then ConvT -> Tanh with no BatchNorm on the output
    assert isinstance(g[-1], nn.Tanh) and isinstance(g[-2], nn.ConvTranspose2d)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g) == sum(isinstance(m, nn.ConvTranspose2d) for m in g) - 1
    assert not any(isinstance(m, nn.LeakyReLU) for m in g) and any(isinstance(m, nn.ReLU) for m in g)
    # D: the input conv is followed straight by LeakyReLU(0.2): no BatchNorm on the input layer
    assert isinstance(d[0], nn.Conv2d) and isinstance(d[1], nn.LeakyReLU)
    assert all(m.negative_slope == 0.2 for m in d if isinstance(m, nn.LeakyReLU))
    assert not any(type(m) is nn.ReLU for m in d)
    convs = [m for m in d if isinstance(m, nn.Conv2d)]
    assert all(c.stride == (2, 2) for c in convs[:-1])
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d) == len(convs) - 2
    # N(0, 0.02) weights, BatchNorm scales N(1, 0.02)
    weights = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    assert abs(weights.std().item() - 0.02) < 0.002 and abs(weights.mean().item()) < 0.002
    scales = torch.cat([m.weight for m in model.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(scales.mean().item() - 1) < 0.02 and scales.std().item() < 0.05
    # shapes
    z = torch.randn(5, 8)
    x = model.generator(z)
    assert x.shape == (5, channels, size, size) and x.min() >= -1 and x.max() <= 1
    assert model.discriminator(x).shape == (5,)
    model.eval()
    assert model.generate(z).shape == (5, channels, size, size)


def test_dcgan_optimizers_follow_the_paper():
    recipe = get_preset("dcgan-28")
    model_cfg, train = apply_settings(recipe)
    model = DCGAN(config_from_dict("dcgan", {**model_cfg, "channels": 1}))
    opts = model.configure_optimizers(train)
    assert set(opts) == {"d", "g"}
    for name, opt in opts.items():
        assert isinstance(opt, torch.optim.Adam)
        group = opt.param_groups[0]
        assert group["lr"] == 2e-4 and group["betas"] == (0.5, 0.999)
    assert {id(p) for p in opts["d"].param_groups[0]["params"]} == {id(p) for p in model.discriminator.parameters()}
    assert {id(p) for p in opts["g"].param_groups[0]["params"]} == {id(p) for p in model.generator.parameters()}
    assert train.grad_clip == 0 and train.schedule == "constant" and DCGAN.select_on_valid is False


def test_training_step_updates_d_then_g_without_leaks():
    model = tiny_gan()
    model.train()
    opts = model.configure_optimizers(apply_settings(get_preset("dcgan-tiny"))[1])
    calls = []

    def snapshot(module):
        return [p.detach().clone() for p in module.parameters()]

    def step(name, loss):  # what the trainer's step does, recorded
        g_before, d_before = snapshot(model.generator), snapshot(model.discriminator)
        d_grads = [None if p.grad is None else p.grad.clone() for p in model.discriminator.parameters()]
        opts[name].zero_grad(set_to_none=True)
        loss.backward()
        if name == "d":
            assert all(p.grad is None for p in model.generator.parameters())  # fakes were detached
        else:  # D is frozen for G's loss: its gradients (left from its own step) are untouched
            assert all(torch.equal(a, p.grad) for a, p in zip(d_grads, model.discriminator.parameters()))
        opts[name].step()
        g_same = all(torch.equal(a, b) for a, b in zip(g_before, model.generator.parameters()))
        d_same = all(torch.equal(a, b) for a, b in zip(d_before, model.discriminator.parameters()))
        calls.append((name, g_same, d_same))

    batch = torch.rand(6, 1, 28, 28) * 2 - 1
    out = model.training_step(batch, step)
    assert [c[0] for c in calls] == ["d", "g"]
    assert calls[0][1] and not calls[0][2]  # D's update leaves G alone
    assert calls[1][2] and not calls[1][1]  # G's update leaves D alone
    assert all(p.requires_grad for p in model.discriminator.parameters())
    assert out["items"] == 6 and {"d", "g", "d_real", "d_fake"} <= set(out)
    model.eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    val = model.validation_step(batch)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())  # running stats untouched
    assert not model.discriminator.training
    assert val["weight"] == 6 and 0 <= float(val["d_accuracy"]) <= 6 and float(val["loss"]) > 0
    assert torch.equal(torch.as_tensor(val["loss"]), torch.as_tensor(model.validation_step(batch)["loss"]))


def test_ema_generator_averages_and_samples(tmp_path):
    torch.manual_seed(0)
    model = DCGAN(DCGANConfig(latent_size=8, g_width=4, d_width=4, ema_decay=0.9))
    assert model.sampler is model.generator_ema and not any(p.requires_grad for p in model.generator_ema.parameters())
    opts = model.configure_optimizers(apply_settings(get_preset("dcgan-tiny"))[1])
    assert not {id(p) for p in model.generator_ema.parameters()} & {id(p) for o in opts.values()
                                                                     for p in o.param_groups[0]["params"]}
    start = [p.clone() for p in model.generator_ema.parameters()]

    def step(name, loss):
        opts[name].zero_grad(set_to_none=True)
        loss.backward()
        opts[name].step()

    model.trainer_step = 100
    model.training_step(torch.rand(4, 1, 28, 28) * 2 - 1, step)
    for s0, avg, cur in zip(start, model.generator_ema.parameters(), model.generator.parameters()):
        np.testing.assert_allclose(avg.detach().numpy(), (0.9 * s0 + 0.1 * cur).detach().numpy(), atol=1e-6)
    model.eval()
    z = torch.randn(3, 8)
    assert torch.equal(model.generate(z), model.generator_ema(z)) and not torch.equal(model.generate(z),
                                                                                      model.generator(z))
    save_model_folder(tmp_path / "m", model, ImageTokenizer())
    loaded, _, _ = load_model(tmp_path / "m")
    assert torch.equal(loaded.generate(z), model.generate(z))


def test_trainer_keeps_the_last_gan_weights(tmp_path):
    from seqart.train.trainer import Trainer

    images = np.random.default_rng(0).integers(0, 256, (40, 1, 28, 28), dtype=np.uint8)
    _, train = apply_settings(get_preset("dcgan-tiny"), {"steps": 4, "val_every": 1, "checkpoint_every": 10,
                                                         "device": "cpu"})

    class Worsening(DCGAN):  # valid loss rises every time: selection would keep step 1
        def validation_step(self, batch):
            return {"loss": float(self.trainer_step) * batch.size(0), "weight": batch.size(0)}

    for keep_last, expected in ((True, 4), (False, 1)):
        torch.manual_seed(0)
        model = Worsening(DCGANConfig(latent_size=8, g_width=4, d_width=4))
        Worsening.select_on_valid = not keep_last
        run = tmp_path / f"run-{keep_last}"
        Trainer(model, ImageTokenizer(), ImageBatches(images, 8), ImageBatches(images, 8), train, run,
                progress=False).fit()
        assert json.loads((run / "model" / "config.json").read_text())["step"] == expected


# ---------------------------------------------------------------- image VAE
@pytest.mark.parametrize("size, channels", [(28, 1), (64, 3)])
def test_image_vae_shapes(size, channels):
    model = tiny_vae(size, channels)
    x = torch.rand(3, channels, size, size) * 2 - 1
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (3, 4)
    assert model.decode_raw(mu).shape == x.shape
    out = model.generate(torch.randn(2, 4))
    assert out.shape == (2, channels, size, size) and out.min() >= -1 and out.max() <= 1


def test_image_vae_elbo_terms_and_kl_annealing():
    model = tiny_vae(kl_warmup_steps=10, beta_max=0.5)
    assert ImageVAE.kl(torch.zeros(2, 4), torch.zeros(2, 4)).tolist() == [0.0, 0.0]
    assert ImageVAE.kl(torch.ones(1, 4), torch.zeros(1, 4)).item() == pytest.approx(2.0)  # 0.5 * mu^2 per dim
    assert ImageVAE.kl(torch.zeros(1, 1), torch.full((1, 1), math.log(4.0))).item() == pytest.approx(
        0.5 * (4 - 1 - math.log(4)))
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    assert model.nll(x, torch.zeros_like(x)).tolist() == pytest.approx([784 * math.log(2)] * 2, rel=1e-5)
    assert [model.kl_weight(s) for s in (0, 5, 10, 50)] == [0.0, 0.25, 0.5, 0.5]

    losses = []
    model.trainer_step = 0
    out = model.training_step(x, lambda name, loss: losses.append((name, loss)))
    assert losses[0][0] == "main" and float(out["beta"]) == 0.0
    assert losses[0][1].item() == pytest.approx(out["recon"].item(), rel=1e-5)  # beta 0: reconstruction only
    model.eval()
    val = model.validation_step(x)
    assert val["weight"] == 2 and float(val["loss"]) == pytest.approx(float(val["recon"] + val["kl"]), rel=1e-6)
    assert float(val["loss"]) == float(model.validation_step(x)["loss"])  # fixed noise

    gauss = tiny_vae(likelihood="gaussian")
    raw = torch.atanh(x.clamp(-0.99, 0.99))
    assert torch.isfinite(gauss.nll(x, raw)).all()
    assert (gauss.nll(x, raw) < gauss.nll(x, raw + 1)).all()


@pytest.mark.parametrize("make", [tiny_gan, tiny_vae], ids=["dcgan", "image-vae"])
def test_model_folder_save_load_equality(make, tmp_path):
    model = make().eval()
    tok = ImageTokenizer(size=28, channels=1)
    save_model_folder(tmp_path / "m", model, tok)
    loaded, tok2, meta = load_model(tmp_path / "m")
    assert tok2 == tok and meta["model"] == model.registry_name
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    z = torch.randn(3, model.latent_size)
    assert torch.equal(model.generate(z), loaded.generate(z))


def test_image_configs_are_validated():
    with pytest.raises(ModelError, match="size"):
        config_from_dict("dcgan", {"size": 32})
    with pytest.raises(ModelError, match="likelihood"):
        config_from_dict("image-vae", {"likelihood": "poisson"})
    with pytest.raises(ModelError, match="g_width"):
        config_from_dict("dcgan", {"g_width": 10 ** 6})


# ------------------------------------------------------------ command line
def _melody(path: Path) -> Path:
    notes = [Note(60, 0, 1), Note(64, 1, 0.5), Note(67, 1.5, 0.5), Note(72, 2, 1), Note(55, 3.5, 0.75)]
    Score(tracks=[Track(notes=notes)], tempos=[TempoChange(0.0, 120.0)]).write(path)
    return path


def _ok(args):
    r = runner.invoke(app, args)
    assert r.exit_code == 0, (args, r.output)
    return r


def test_train_sample_walk_end_to_end(tmp_path):
    from PIL import Image

    from seqart.models.images.sampler import ImageGenerator

    run = tmp_path / "run"
    _ok(["train", "dcgan-tiny", "--data", "digits", "-o", str(run), "--set", "threads=1"])
    meta = json.loads((run / "model" / "config.json").read_text())
    assert meta["model"] == "dcgan" and meta["step"] == 4 and meta["data"] == "digits"
    assert json.loads((run / "model" / "tokenizer.json").read_text())["tokenizer"] == "images"

    _ok(["sample", str(run), "--num", "4", "-o", str(tmp_path / "grid.png"), "--seed", "1"])
    assert Image.open(tmp_path / "grid.png").size == (62, 62)  # 2 x 2 images of 28 + 2-pixel padding
    _ok(["sample", str(run), "--num", "4", "-o", str(tmp_path / "pngs"), "--seed", "1"])
    names = sorted(p.name for p in (tmp_path / "pngs").iterdir())
    assert names == ["01.png", "02.png", "03.png", "04.png"]
    assert Image.open(tmp_path / "pngs" / "01.png").size == (28, 28)

    _ok(["walk", str(run), "--frames", "8", "-o", str(tmp_path / "w.gif"), "--seed", "2", "--scale", "2"])
    gif = Image.open(tmp_path / "w.gif")
    assert gif.n_frames == 8 and gif.info["loop"] == 0 and gif.size == (56, 56)
    gen = ImageGenerator(run)
    z = gen.walk_latents(8, seed=2, include_end=True)
    np.testing.assert_allclose(z[8], z[0], atol=1e-5)  # the frame after the last is the first
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), math.sqrt(gen.latent_size), rtol=1e-5)
    fine = gen.walk_latents(64, seed=2)
    steps = np.linalg.norm(np.diff(fine, axis=0), axis=1)
    assert steps.max() < 0.25 * np.linalg.norm(fine - fine[0], axis=1).max()  # smooth: neighbours are close

    melody = _melody(tmp_path / "melody.mid")
    _ok(["walk", str(run), "--music", str(melody), "-o", str(tmp_path / "m.gif"), "--seed", "3"])
    gif = Image.open(tmp_path / "m.gif")
    steps = math.ceil(Score.from_file(melody).end * 4)  # 4.25 beats -> 17 sixteenths
    assert gif.n_frames == steps == 17
    total = 0
    for i in range(gif.n_frames):
        gif.seek(i)
        total += gif.info["duration"]
    assert abs(total - 17 * 125) <= 5  # 120 bpm: 125 ms per sixteenth, rounding never accumulates
    z, times = gen.music_latents(melody, seed=3)
    assert z.shape == (17, gen.latent_size) and times[-1] == pytest.approx(17 * 0.125)
    np.testing.assert_array_equal(z, gen.music_latents(melody, seed=3)[0])


def test_image_vae_trains_and_samples(tmp_path):
    run = tmp_path / "vae"
    r = _ok(["train", "image-vae-tiny", "--data", "digits", "-o", str(run), "--set", "threads=1"])
    assert "nats/image" in r.output
    _ok(["sample", str(run), "--num", "3", "-o", str(tmp_path / "g.png")])
    assert (tmp_path / "g.png").is_file()


def test_bad_invocations_exit_2_with_one_line(tmp_path):
    run = tmp_path / "run"
    _ok(["train", "dcgan-tiny", "--data", "digits", "-o", str(run), "--set", "threads=1"])
    melody = _melody(tmp_path / "m.mid")
    (tmp_path / "taken.png").write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    bad = [
        ["sample", str(run), "--num", "4", "--bars", "8", "-o", str(tmp_path / "a.png")],
        ["sample", str(run), "--temperature", "0.5", "-o", str(tmp_path / "a.png")],
        ["sample", str(run), "-o", str(tmp_path / "a.mid")],
        ["sample", str(run), "-o", str(tmp_path / "taken.png")],
        ["sample", str(run), "--num", "0", "-o", str(tmp_path / "a.png")],
        ["walk", str(run), "-o", str(tmp_path / "w.png")],
        ["walk", str(run), "--frames", "8", "--music", str(melody), "-o", str(tmp_path / "w.gif")],
        ["walk", str(run), "--frames", "1", "-o", str(tmp_path / "w.gif")],
        ["walk", str(run), "--music", str(tmp_path / "missing.mid"), "-o", str(tmp_path / "w.gif")],
        ["walk", str(run), "--music", str(melody), "--steps-per-beat", "48", "-o", str(tmp_path / "w.gif")],
        ["walk", str(tmp_path / "nowhere"), "-o", str(tmp_path / "w.gif")],
        ["train", "dcgan-tiny", "--data", str(tmp_path / "nowhere"), "-o", str(tmp_path / "r2")],
        ["train", "dcgan-tiny", "--data", str(tmp_path / "empty"), "-o", str(tmp_path / "r3")],
        ["evaluate-images", str(tmp_path / "nowhere")],
        ["evaluate-images", str(run), "--num", "5"],
    ]
    for args in bad:
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        text = r.output.strip()
        assert "Traceback" not in text and text.startswith("error:") and len(text.splitlines()) == 1, (args, text)


def test_heavy_modules_load_lazily():
    code = ("import sys, seqart, seqart.cli, seqart.images, seqart.images.data, seqart.models.images.sampler, "
            "seqart.tokenizers.images\n"
            "heavy = {'torch', 'PIL', 'sklearn', 'scipy'} & set(sys.modules)\nassert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# ---------------------------------------------------------------- evaluation
def test_metrics_of_a_set_against_itself():
    from seqart.images.evaluate import (
        class_histogram,
        frechet_distance,
        kernel_inception_distance,
        precision_recall,
    )

    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 8))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifted = a + 2.0
    assert frechet_distance(a, shifted) == pytest.approx(8 * 4.0, rel=1e-6)  # |mean difference|^2
    kid_same, _ = kernel_inception_distance(a, a, subsets=5, subset_size=200)
    kid_far, _ = kernel_inception_distance(a, shifted, subsets=5, subset_size=200)
    assert abs(kid_same) < 0.01 * kid_far
    assert precision_recall(a, a) == (1.0, 1.0)
    p, r = precision_recall(a, a[:, ::-1] * 0.01)  # collapsed fakes inside the real data
    assert p > 0.9 and r < 0.1
    probs = np.eye(10)[np.arange(100) % 10]
    assert class_histogram(probs)["ok"] and class_histogram(probs)["classifier_score"] == pytest.approx(10, rel=1e-6)
    assert not class_histogram(np.eye(10)[np.zeros(100, int)])["ok"]


@needs_mnist
def test_evaluate_images_with_the_cached_classifier():
    from seqart.images.evaluate import _settings_key, cache_root, evaluate_images, load_classifier

    folder = cache_root() / "mnist-classifier" / _settings_key(find_mnist())
    if not (folder / "info.json").is_file():
        pytest.skip(f"the MNIST classifier is not cached in {folder} (seqart evaluate-images trains it once, ~1 min)")
    clf = load_classifier()
    assert clf.test_accuracy >= 0.98
    real = ImageDataset.open("mnist").split("valid")[:500]
    ev = evaluate_images(real, classifier=clf)
    assert ev.samples["fid_cnn"] < ev.blurred["fid_cnn"] and ev.samples["classes"]["ok"]
    assert ev.real_floor["fid_cnn"] < ev.blurred["fid_cnn"]
