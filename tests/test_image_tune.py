"""Tune an image model on the pictures you liked: the tuners, ``seqart tune`` for a DCGAN
and an image VAE, the before/after distances, and the one-line errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from seqart.cli import app
from seqart.feedback.store import FeedbackError
from seqart.models.folder import save_model_folder
from seqart.models.images.config import DCGANConfig, ImageVAEConfig
from seqart.models.images.dcgan import DCGAN
from seqart.models.images.tuning import FeedbackDCGAN, LikedBatches
from seqart.models.images.vae import ImageVAE
from seqart.tokenizers.images import ImageTokenizer
from tests.melody_factory import random_melody

runner = CliRunner()
#: a tune as short as it gets: pixel features need no classifier, and 16 pictures measure it
FAST = ["--steps", "3", "--features", "pixels", "--samples", "16", "--threads", "1", "--device", "cpu"]


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQART_DATA_DIR", str(tmp_path / "data"))


def image_model(folder: Path, kind: str) -> Path:
    """A tiny untrained 28x28 grey model folder that names scikit-learn's digits as its
    training data (bundled: replay needs no download)."""
    torch.manual_seed(0)
    if kind == "dcgan":
        model = DCGAN(DCGANConfig(latent_size=8, g_width=4, d_width=4, ema_decay=0.9))
    else:
        model = ImageVAE(ImageVAEConfig(latent_size=4, width=4, hidden_size=16, kl_warmup_steps=2))
    return save_model_folder(folder, model, ImageTokenizer(size=28, channels=1), extra={"data": "digits"})


def folder_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "feedback.sqlite"):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def ok(args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def one_line_error(args, *words):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert all(w in lines[0] for w in words), lines[0]


@pytest.mark.parametrize("kind", ["dcgan", "image-vae"])
def test_seqart_tune_tunes_an_image_model_on_liked_pictures(kind, tmp_path):
    model = image_model(tmp_path / kind, kind)
    base = folder_digest(model)
    ok(["sample", model, "-o", tmp_path / "pics", "-n", "4", "--seed", "1"])
    pics = sorted((tmp_path / "pics").glob("*.png"))
    ok(["rate", "--like", *pics[:3], "--dislike", pics[3], "--model", model])
    out = ok(["tune", model, "--from-feedback", "-o", tmp_path / "tuned", *FAST])
    assert "tuned" in out and "3 liked pictures" in out and "distance of 16 new pictures" in out

    assert folder_digest(model) == base  # the base model is never modified
    report = json.loads((tmp_path / "tuned" / "tune.json").read_text())
    assert report["model_type"] == kind and report["steps"] == 3 and report["liked"] == 3
    assert report["features"] == "pixels" and report["samples"] == 16 and report["replay"] == "digits"
    for key in ("liked_distance_before", "liked_distance_after", "data_distance_before", "data_distance_after"):
        assert np.isfinite(report[key]) and report[key] >= 0, key
    assert [row["figure"] for row in report["figures"]] == ["distance to the liked pictures",
                                                            "distance to the training data"]
    # the DCGAN's discriminator sees the disliked picture as a fake; the VAE ignores it and says so
    assert (report["disliked"], report["disliked_ignored"]) == ((1, 0) if kind == "dcgan" else (0, 1))

    import seqart

    tuned = seqart.load(tmp_path / "tuned")
    assert tuned.model_type == kind and tuned.sample(2, seed=0).shape == (2, 28, 28, 1)
    meta = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert meta["model"] == kind and meta["data"] == "digits" and meta["feedback"]["liked"] == 3


def test_the_measured_pictures_are_the_same_before_and_after_and_not_the_rated_ones(tmp_path):
    from seqart.workflows.tune_images import sample_pictures

    model = image_model(tmp_path / "m", "dcgan")
    first, again = sample_pictures(model, 8, seed=0), sample_pictures(model, 8, seed=0)
    assert np.array_equal(first, again)
    import seqart

    for seed in (0, 1):  # what 'seqart sample --seed N' draws is not what the report measures
        assert not np.array_equal(seqart.load(model).sample(8, seed=seed), first)


def test_image_tune_errors_are_one_line(tmp_path):
    model = image_model(tmp_path / "m", "dcgan")
    ok(["sample", model, "-o", tmp_path / "pics", "-n", "2", "--seed", "1"])
    pics = sorted((tmp_path / "pics").glob("*.png"))
    tune = ["tune", model, "--from-feedback", "-o", tmp_path / "tuned", *FAST]

    one_line_error(tune, "no liked samples", "feedback.sqlite")  # nothing rated yet: no store
    ok(["rate", "--dislike", pics[0], "--model", model])
    one_line_error(tune, "no liked samples", "seqart rate --like")

    melody = tmp_path / "tune.mid"  # a melody rated for an image model
    random_melody(1, bars=2).write(melody)
    ok(["rate", "--like", melody, "--model", model])
    one_line_error(tune, "none of the 1 liked samples is a picture", "tune.mid: not a picture")

    from seqart.generate.writers import write_grid

    grid = write_grid(np.zeros((4, 28, 28, 1), np.uint8), tmp_path / "grid.png")  # a grid, not one picture
    ok(["rate", "--like", grid, "--model", model])
    one_line_error(tune, "none of the 2 liked samples is a picture")

    ok(["rate", "--like", pics[1], "--model", model])
    one_line_error([*tune, "--unlikelihood", "0.5"], "unlikelihood applies to melody models", "image model (dcgan)")
    one_line_error([*tune, "--features", "inception"], "unknown feature space 'inception'", "mnist-cnn, pixels")
    one_line_error(["tune", "folk", "--from-feedback", "-o", tmp_path / "f", "--liked-share", "0.5"],
                   "liked_share applies to image models", "folk is a melody-")
    assert not (tmp_path / "tuned").exists()


def test_a_picture_rated_for_a_melody_model_is_skipped(tmp_path):
    from seqart.feedback.store import FeedbackStore
    from seqart.tokenizers.melody import MelodyTokenizer
    from seqart.workflows.tune import feedback_sequences

    picture = tmp_path / "p.png"
    from seqart.generate.writers import write_grid

    write_grid(np.zeros((1, 28, 28, 1), np.uint8), picture)
    with FeedbackStore(tmp_path / "s.sqlite") as store:
        sample = store.rate(picture, "like")
        assert store.content(sample) == picture.read_bytes() and sample.format == ".png"  # kept by its bytes
        encoded, skipped = feedback_sequences(store, [sample], MelodyTokenizer())
    assert encoded == [] and len(skipped) == 1 and skipped[0].startswith(str(picture.resolve()))


def test_liked_batches_mix_liked_and_replayed_rows_deterministically():
    liked = np.full((3, 1, 28, 28), 255, np.uint8)
    replay = np.zeros((10, 1, 28, 28), np.uint8)
    disliked = np.full((2, 1, 28, 28), 128, np.uint8)
    batches = LikedBatches(liked, replay, disliked, batch_size=8, liked_share=0.25, seed=3)
    batch = batches.batch(5)
    assert batch["images"].shape == (8, 1, 28, 28) and batch["liked"].tolist() == [True] * 2 + [False] * 6
    assert (batch["images"][:2] == 1).all() and (batch["images"][2:] == -1).all()  # liked first, in [-1, 1]
    assert batch["disliked"].shape == (2, 1, 28, 28)
    assert all(torch.equal(a, b) for a, b in zip(batches.batch(5).values(), batch.values()))
    alone = LikedBatches(liked, None, batch_size=8, liked_share=0.25).batch(0)  # no replay: every row liked
    assert alone["liked"].all() and "disliked" not in alone


def test_the_dcgan_tuner_starts_from_the_weight_average():
    torch.manual_seed(0)
    base = DCGAN(DCGANConfig(latent_size=8, g_width=4, d_width=4, ema_decay=0.9))
    with torch.no_grad():
        for p in base.generator_ema.parameters():
            p.add_(0.5)
    tuner = FeedbackDCGAN.from_base(base)
    for a, b in zip(tuner.generator.state_dict().values(), base.generator_ema.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(tuner.discriminator.net[0].weight, base.discriminator.net[0].weight)


def test_distance_to_the_nearest_liked_picture():
    from seqart.workflows.tune_images import decode_picture, mean_nearest_distance

    points = np.array([[0.0, 0.0], [3.0, 4.0]])
    liked = np.array([[0.0, 1.0], [3.0, 4.0], [100.0, 100.0]])
    assert mean_nearest_distance(points, liked) == pytest.approx(0.5)
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (28, 28), (255, 0, 0)).save(buffer, "PNG")
    grey = decode_picture(buffer.getvalue(), 28, 1)
    assert grey.shape == (1, 28, 28) and grey.dtype == np.uint8 and int(grey[0, 0, 0]) == 76  # ITU-R 601 luma
    buffer = io.BytesIO()
    Image.new("L", (62, 62)).save(buffer, "PNG")  # a grid of samples is not one picture
    with pytest.raises(FeedbackError, match="a 62x62 picture; the model makes 28x28 ones"):
        decode_picture(buffer.getvalue(), 28, 1)


def test_distances_in_the_mnist_classifier_features(tmp_path):
    from seqart.images.data import find_mnist
    from seqart.images.evaluate import _settings_key, cache_root
    from seqart.workflows.tune_images import tune_images

    from seqart.errors import CorpusError

    try:
        mnist = find_mnist()
    except CorpusError as exc:
        pytest.skip(f"MNIST is not here: {exc}")
    if not (cache_root() / "mnist-classifier" / _settings_key(mnist) / "model.safetensors").is_file():
        pytest.skip("the MNIST classifier is not cached (seqart evaluate-images trains it once, ~1 min)")
    model = image_model(tmp_path / "m", "image-vae")
    liked = np.zeros((2, 1, 28, 28), np.uint8)
    liked[:, :, 8:20, 12:16] = 255  # two strokes, a '1' of sorts
    report = tune_images(model, liked, tmp_path / "tuned", steps=2, samples=16, threads=1, device="cpu")
    assert report.features == "mnist-cnn" and report.liked_distance_before > 0 and report.steps == 2
    assert json.loads((tmp_path / "tuned" / "tune.json").read_text())["feature_space"].startswith("the 128-wide")


def test_the_studio_call_shape_reports_progress(tmp_path):
    """``tune_from_feedback(model, out, steps=, threads=, on_log=)``, as the studio's child calls it."""
    from seqart.feedback.store import FeedbackStore
    from seqart.workflows.tune import tune_from_feedback

    model = image_model(tmp_path / "m", "image-vae")
    ok(["sample", model, "-o", tmp_path / "pics", "-n", "2", "--seed", "1"])
    with FeedbackStore.for_model(model) as store:
        for path in sorted((tmp_path / "pics").glob("*.png")):
            store.rate(path, "like")
    records = []
    report = tune_from_feedback(model, tmp_path / "tuned", steps=4, threads=1, on_log=records.append,
                                features="pixels", samples=8, device="cpu")
    assert [r["step"] for r in records if r["split"] == "train"] == [4] and "loss" in records[-1]
    assert report.to_dict()["kind"] == "images" and report.lines()[0].startswith("tuned ")
