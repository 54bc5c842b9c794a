"""``seqart tune`` for image models: tune a DCGAN or an image VAE on the pictures a
composer liked, with the one trainer.

The model's family supplies the objective (its registered ``tuner``: for the DCGAN
the liked pictures join the discriminator's real set beside replayed training
images, for the VAE fine-tuning on liked pictures with replay; see
:mod:`seqart.models.images.tuning`). This module does the rest: reads the liked
(and disliked) pictures from the feedback store, finds the model's training images
for replay, measures the effect before and after, and writes the tuned model folder
atomically with its report (``tune.json``). The model it starts from is never modified.

The effect is measured in a feature space (:data:`FEATURE_SPACES`; by default the
128-wide penultimate layer of the MNIST classifier ``seqart evaluate-images`` uses):
``samples`` new pictures (``z ~ N(0, I)`` drawn with ``seed``, the same codes for the
base and the tuned model) are mapped to features, and the figure is the mean over them
of the Euclidean distance to the *nearest* liked picture (lower: closer to what was
liked). The liked pictures are also what the model trained on, so a model that only
copied them would score well too; the distance to the training data's test images,
measured the same way, shows whether the samples stayed like the data.

>>> report = tune_images_from_feedback("runs/dcgan", "runs/dcgan-mine", steps=200)
>>> report.liked_distance_before, report.liked_distance_after
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from seqart.errors import ModelError, SeqartError, one_line
from seqart.feedback.store import FeedbackError, FeedbackStore, Sample
from seqart.workflows.tune import TUNE_REPORT, _no_likes, check_tunable, open_own_store

#: Optimizer steps of a default image tune (about 25 s for a dcgan-28 model on one CPU thread).
DEFAULT_STEPS = 200
#: Share of each batch that is liked pictures; the rest replays the model's training images.
LIKED_SHARE = 0.5
#: New pictures the before/after distances are measured on.
DISTANCE_SAMPLES = 256
#: Test images of the training data the "still like the data" distance is measured against (at most).
DATA_REFERENCE = 1000
#: Feature spaces the distances can be measured in: name -> what it is.
FEATURE_SPACES = {
    "mnist-cnn": "the 128-wide penultimate layer of seqart's MNIST classifier (the features of "
                 "seqart evaluate-images; trained once and cached, about a minute)",
    "pixels": "grey 28x28 pixels scaled to [0, 1] (784 values; no classifier needed)",
}
#: Seeds the measured pictures' latent codes together with the tune's seed (see :func:`sample_pictures`).
MEASURE_STREAM = 0x7E57
#: What ``tune_from_feedback`` accepts for melodies only.
MELODY_ONLY = ("unlikelihood", "anchor", "replay", "max_transpose", "general_tunes")


@dataclass
class ImageTuneReport:
    """What :func:`tune_images` did, with the distances before and after.

    Distances are Euclidean, in the units of the feature space ``features``
    (see :data:`FEATURE_SPACES`).

    Attributes:
        out: the tuned model folder.
        base: the model it started from.
        model_type: ``"dcgan"`` or ``"image-vae"``.
        liked: liked pictures trained on.
        disliked: disliked pictures trained on (DCGAN: as fakes).
        disliked_ignored: disliked pictures the model's tuner does not use (image VAE).
        skipped: ``"path: reason"`` per rated sample that could not be used.
        steps: optimizer steps run.
        seconds: wall-clock time of the training.
        features: the feature space's name.
        samples: new pictures measured, before and after (the same latent codes).
        seed: seeds the latent codes of those pictures, the batch order and the noise.
        liked_distance_before: mean distance of the base model's samples to the nearest liked picture.
        liked_distance_after: the same for the tuned model.
        data_distance_before: mean distance of the base model's samples to the nearest of
            up to :data:`DATA_REFERENCE` test images of its training data (None: not here).
        data_distance_after: the same for the tuned model.
        data_source: which images and how many, or why that distance was not measured.
        replay: the training images replayed during tuning, or None.
        settings: the tuning settings.
    """

    out: Path
    base: str
    model_type: str
    liked: int
    disliked: int = 0
    disliked_ignored: int = 0
    skipped: list[str] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    features: str = "mnist-cnn"
    samples: int = DISTANCE_SAMPLES
    seed: int = 0
    liked_distance_before: float = float("nan")
    liked_distance_after: float = float("nan")
    data_distance_before: float | None = None
    data_distance_after: float | None = None
    data_source: str = ""
    replay: str | None = None
    settings: dict = field(default_factory=dict)

    @property
    def liked_change(self) -> float:
        """Relative change of the distance to the liked pictures (-0.2 = 20 % closer; NaN before tuning)."""
        if not self.liked_distance_before > 0:
            return float("nan")
        return self.liked_distance_after / self.liked_distance_before - 1.0

    def figures(self) -> list[dict]:
        """The before/after rows (``{"figure", "detail", "before", "after"}``, as the studio shows a
        melody tune's): the distance to the liked pictures, and to the training data when measured."""
        how = f"mean distance of {self.samples} new pictures (seed {self.seed}) to the nearest"
        rows = [{"figure": "distance to the liked pictures", "detail": f"{how} liked one, {self.features} features",
                 "before": self.liked_distance_before, "after": self.liked_distance_after}]
        if self.data_distance_before is not None:
            rows.append({"figure": "distance to the training data", "detail": f"{how} of {self.data_source}",
                         "before": self.data_distance_before, "after": self.data_distance_after})
        return rows

    def to_dict(self) -> dict:
        return {**asdict(self), "out": str(self.out), "kind": "images", "liked_change": self.liked_change,
                "feature_space": FEATURE_SPACES[self.features], "figures": self.figures()}

    def lines(self) -> list[str]:
        """The report as lines of text: what was tuned on, and the distances before and after."""
        out = [f"skipped {line}" for line in self.skipped]
        used = f" and {self.disliked} disliked (as fakes)" if self.disliked else ""
        ignored = (f"; {self.disliked_ignored} disliked ignored (a {self.model_type} tunes on likes only)"
                   if self.disliked_ignored else "")
        out.append(f"tuned {self.base} on {self.liked} liked pictures{used}{ignored}: {self.steps} steps in "
                   f"{self.seconds:.1f} s" + (f", replaying {self.replay}" if self.replay else ", no replay")
                   + f" -> {self.out}")
        hint = "" if self.liked_change < 0 else "; no closer than before: like more pictures, or try more steps"
        out.append(f"distance of {self.samples} new pictures to the nearest liked one ({self.features} features): "
                   f"{self.liked_distance_before:.3f} -> {self.liked_distance_after:.3f} "
                   f"({100 * self.liked_change:+.1f}%{hint})")
        if self.data_distance_before is None:
            out.append(f"distance to the training data: {self.data_source}")
        else:
            change = 100 * (self.data_distance_after / self.data_distance_before - 1.0)
            out.append(f"distance to the nearest of {self.data_source}: {self.data_distance_before:.3f} -> "
                       f"{self.data_distance_after:.3f} ({change:+.1f}%)")
        return out


# ------------------------------------------------------------ measuring
def picture_features(name: str = "mnist-cnn", progress: Callable[[str], None] | None = None):
    """The feature map of the feature space ``name`` (:data:`FEATURE_SPACES`).

    Args:
        name: ``"mnist-cnn"`` or ``"pixels"``.
        progress: called with one line when the MNIST classifier must be trained first.

    Returns:
        a function ``uint8`` images ``(N, C, H, W)`` or ``(N, H, W, C)`` (any size, grey or
        RGB: converted to grey 28x28) -> features ``(N, D)`` float64.

    Raises:
        SeqartError: an unknown name; CorpusError: MNIST not found (``mnist-cnn``).
    """
    from seqart.images.evaluate import _run, load_classifier, to_digit_format

    if name == "pixels":
        return lambda images: to_digit_format(images).reshape(len(images), -1) / 255.0
    if name == "mnist-cnn":
        classifier = load_classifier(progress)
        return lambda images: _run(classifier.model, to_digit_format(images))[0]
    raise SeqartError(f"unknown feature space {name!r}; choose one of {', '.join(FEATURE_SPACES)}")


def mean_nearest_distance(points: np.ndarray, references: np.ndarray) -> float:
    """Mean over ``points`` ``(N, D)`` of the Euclidean distance to the nearest of ``references`` ``(M, D)``."""
    points, references = np.asarray(points, np.float64), np.asarray(references, np.float64)
    squared = ((points ** 2).sum(1)[:, None] + (references ** 2).sum(1)[None, :]
               - 2.0 * points @ references.T)  # (N, M)
    return float(np.sqrt(np.clip(squared.min(axis=1), 0.0, None)).mean())


def sample_pictures(folder: str | os.PathLike, num: int, seed: int, device: str = "cpu") -> np.ndarray:
    """``num`` pictures of the image model in ``folder``: ``uint8`` ``(num, H, W, C)``.

    The latent codes depend only on ``seed`` and the latent size (the same for a base and
    its tuned model), and come from a stream of their own: no ``seqart sample --seed N``
    draws them, so pictures the composer rated are not measured against themselves.
    """
    from seqart.models.images.sampler import ImageGenerator

    generator = ImageGenerator(folder, device=device)
    codes = np.random.default_rng([MEASURE_STREAM, seed]).standard_normal((num, generator.latent_size))
    return generator.render(codes)


def training_images(meta: dict, tokenizer, replay_data: str | os.PathLike | None = "auto"):
    """The images a model was trained on, if they are on this machine, in the model's format.

    Args:
        meta: the model's ``config.json`` (its ``data`` entry: ``"mnist"``, ``"digits"`` or a folder).
        tokenizer: the model's :class:`~seqart.tokenizers.images.ImageTokenizer`.
        replay_data: ``"auto"`` (the ``data`` entry, silently None if unusable), an image
            source (an error if unusable), or None.

    Returns:
        an :class:`~seqart.images.data.ImageDataset`, or None.

    Raises:
        CorpusError: for an explicit ``replay_data`` that cannot be read.
    """
    from seqart.images.data import ImageDataset

    if replay_data is None:
        return None
    explicit = replay_data != "auto"
    source = replay_data if explicit else meta.get("data")
    if not source:
        return None
    try:
        return ImageDataset.open(source, size=tokenizer.size, channels=tokenizer.channels)
    except SeqartError:
        if explicit:
            raise
        return None


def _reference(data) -> np.ndarray:
    """Up to :data:`DATA_REFERENCE` test images of ``data`` (``uint8`` ``(N, C, H, W)``), evenly spread."""
    test = data.split("test") if len(data.split("test")) else data.split("valid")
    picks = np.unique(np.linspace(0, len(test) - 1, min(DATA_REFERENCE, len(test))).round().astype(int))
    return test[picks]


# ------------------------------------------------------------ tuning
def tune_images(model: str | os.PathLike, liked: np.ndarray, out: str | os.PathLike,
                disliked: np.ndarray | None = None, *, steps: int = DEFAULT_STEPS, lr: float | None = None,
                batch_size: int = 64, liked_share: float = LIKED_SHARE, replay_data: str | os.PathLike | None = "auto",
                features: str = "mnist-cnn", samples: int = DISTANCE_SAMPLES, threads: int = 0, device: str = "auto",
                seed: int = 0, overwrite: bool = False, progress: bool = False, info: dict | None = None,
                skipped: tuple | list = (), on_log: Callable[[dict], None] | None = None) -> ImageTuneReport:
    """Tune an image model towards ``liked`` pictures (a DCGAN also away from ``disliked`` ones).

    Args:
        model: the image model folder (or run folder) to start from; it is never modified.
        liked: ``uint8`` ``(N, C, H, W)`` pictures in the model's format.
        out: the model folder to write.
        disliked: ``uint8`` ``(K, C, H, W)`` pictures; a DCGAN adds them to its discriminator's
            fakes, an image VAE ignores them.
        steps: optimizer steps.
        lr: peak learning rate (10 warm-up steps, cosine decay to a tenth); None: the
            tuner's (DCGAN 2e-4, VAE 5e-4).
        batch_size: rows per step, liked and replayed together.
        liked_share: share of each batch that is liked pictures, in (0, 1]; 1: no replay.
        replay_data: the training images to replay and measure against: ``"auto"`` (the
            ``data`` named in the model's ``config.json``, when it is here), an image
            source (``"mnist"``, ``"digits"``, a folder), or None.
        features: the feature space of the distances (:data:`FEATURE_SPACES`).
        samples: new pictures measured before and after.
        threads: torch CPU threads (0: torch's default).
        device: torch device (``"auto"``: CUDA, then MPS, then CPU).
        seed: seeds the measured pictures' latent codes, the batch order and the noise.
        overwrite: replace an existing ``out``.
        progress: show the trainer's progress bar (and say when the classifier is trained first).
        info: extra JSON stored in the tuned model's ``config.json``.
        skipped: ``"path: reason"`` lines to carry into the report.
        on_log: called with each metrics record of the trainer.

    Returns:
        an :class:`ImageTuneReport`; it is also written to ``OUT/tune.json``.

    Raises:
        ModelError: a model that is not an image model, an ``out`` that exists (without
            ``overwrite``) or is the model itself.
        SeqartError: no liked pictures, pictures of another format, or bad settings.
    """
    from seqart.models.folder import load_model
    from seqart.models.images.tuning import LikedBatches
    from seqart.models.registry import model_type
    from seqart.train.config import TrainConfig
    from seqart.train.trainer import Trainer, seed_everything
    from seqart.utils.atomic import atomic_folder, write_json_atomic

    folder, meta = check_tunable(model, out, overwrite)
    kind = model_type(meta["model"])
    if kind.outputs != "images":
        raise ModelError(f"{model}: a {kind.name} model makes music; tune it with seqart.workflows.tune.tune")
    out = Path(out).expanduser()
    if liked is None or len(liked) == 0:
        raise FeedbackError("no liked pictures to tune on")
    if steps < 1 or samples < 1:
        raise SeqartError(f"steps and samples must be at least 1, got {steps} and {samples}")
    base, tokenizer, _ = load_model(folder)
    liked = tokenizer.check(liked)
    disliked = tokenizer.check(disliked) if disliked is not None and len(disliked) else None
    measure = picture_features(features, progress=_say if progress else None)
    tuner_cls = kind.tuner_class()
    seed_everything(seed)
    tuner = tuner_cls.from_base(base)
    data = training_images(meta, tokenizer, replay_data)
    replay = data.split("train") if data is not None and liked_share < 1 else None
    used = disliked if tuner_cls.uses_disliked else None
    train_data = LikedBatches(liked, replay, used, batch_size=batch_size, liked_share=liked_share, seed=seed)
    train = TrainConfig(steps=steps, batch_size=batch_size, lr=lr or tuner_cls.default_lr, weight_decay=0.0,
                        warmup_steps=min(10, steps - 1), schedule="cosine", min_lr_ratio=0.1, grad_clip=0.0,
                        val_every=steps, checkpoint_every=steps, checkpoint_minutes=0,
                        log_every=max(1, min(10, steps)), device=device, seed=seed, threads=threads)
    settings = {"steps": steps, "lr": train.lr, "batch_size": batch_size, "seed": seed, "features": features,
                "samples": samples, "liked_share": liked_share if replay is not None else 1.0}
    n_disliked = 0 if disliked is None else len(disliked)
    report = ImageTuneReport(out=out, base=str(model), model_type=kind.name, liked=len(liked),
                             disliked=n_disliked if used is not None else 0,
                             disliked_ignored=0 if used is not None else n_disliked, skipped=list(skipped),
                             features=features, samples=samples, seed=seed, settings=settings,
                             replay=data.manifest["source"] if replay is not None else None)
    liked_features = measure(liked)
    reference = measure(_reference(data)) if data is not None else None
    if reference is not None:
        report.data_source = f"{len(reference)} test images of {data.manifest['source']}"
    else:
        report.data_source = f"not measured: the model's training images ({meta.get('data') or 'unknown'}) are not here"

    run_info = {key: meta[key] for key in ("data", "corpus_source") if key in meta}
    run_info.update({"tuned_from": str(folder), "tune": settings, **(info or {})})
    with atomic_folder(out) as staged:  # the tuned model folder appears whole, or not at all
        run = staged / ".run"
        trainer = Trainer(tuner, tokenizer, train_data, None, train, run, run_info=run_info, progress=progress,
                          on_log=on_log)
        device_name = str(trainer.device)
        before = measure(sample_pictures(folder, samples, seed, device_name))
        started = time.perf_counter()
        report.steps = trainer.fit()["step"]
        report.seconds = time.perf_counter() - started
        after = measure(sample_pictures(run / "model", samples, seed, device_name))
        report.liked_distance_before = mean_nearest_distance(before, liked_features)
        report.liked_distance_after = mean_nearest_distance(after, liked_features)
        if reference is not None:
            report.data_distance_before = mean_nearest_distance(before, reference)
            report.data_distance_after = mean_nearest_distance(after, reference)
        for f in (run / "model").iterdir():
            os.replace(f, staged / f.name)
        shutil.rmtree(run)
        write_json_atomic(staged / TUNE_REPORT, report.to_dict())
    return report


def _say(line: str) -> None:
    from seqart.utils.console import console

    console().print(line)


# ------------------------------------------------------------ feedback
def decode_picture(content: bytes, size: int, channels: int) -> np.ndarray:
    """A rated picture's bytes (PNG, JPEG, ... as Pillow reads them) as ``uint8`` ``(C, size, size)``.

    Colour becomes grey for a grey model (and grey becomes RGB for a colour one).

    Raises:
        FeedbackError: bytes that are not a picture, or a picture of another size
            (a grid of samples, say) than the model's.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as im:
            if im.size != (size, size):
                raise FeedbackError(f"a {im.size[0]}x{im.size[1]} picture; the model makes {size}x{size} ones "
                                    "(rate single pictures: seqart sample MODEL -o FOLDER writes them)")
            picture = np.asarray(im.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    except FeedbackError:
        raise
    except UnidentifiedImageError:
        raise FeedbackError("not a picture (PNG, JPEG or another format Pillow reads)") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, ValueError, DecompressionBombError, ...
        raise FeedbackError(f"unreadable picture ({one_line(exc, 100)})") from None
    return picture[None] if channels == 1 else picture.transpose(2, 0, 1)


def read_pictures(store: FeedbackStore, samples: list[Sample], tokenizer) -> tuple[list[np.ndarray], list[str]]:
    """The recorded pictures of ``samples`` in the model's format (``tokenizer``'s size and channels).

    Returns:
        ``(pictures, skipped)``: ``uint8`` ``(C, H, W)`` per usable sample, and
        ``"path: reason"`` per unusable one.
    """
    pictures, skipped = [], []
    for sample in samples:
        try:
            pictures.append(decode_picture(store.content(sample), tokenizer.size, tokenizer.channels))
        except FeedbackError as exc:
            skipped.append(f"{sample.path}: {exc}")
    return pictures, skipped


def refuse_melody_options(model: str | os.PathLike, kind: str, options: dict) -> None:
    """Refuse settings that only a melody tune has (:data:`MELODY_ONLY`).

    Raises:
        SeqartError: naming them.
    """
    named = [name for name in MELODY_ONLY if name in options]
    if named:
        raise SeqartError(f"{', '.join(named)} appl{'ies' if len(named) == 1 else 'y'} to melody models; {model} is "
                          f"an image model ({kind}): set liked_share (--liked-share), steps or lr instead")


def tune_images_from_feedback(model: str | os.PathLike, out: str | os.PathLike, store: FeedbackStore | None = None,
                              **options) -> ImageTuneReport:
    """Tune the image model ``model`` on the pictures liked in its feedback store.

    Every liked picture is trained on (none is held out: the figure is the distance of
    new samples to them). A rated file that is not a picture of the model's size is
    skipped and listed in the report.

    Args:
        model: the image model folder whose store is read; never modified.
        out: the model folder to write.
        store: the store to read (default: the model's, see :func:`seqart.feedback.store.store_path`).
        options: passed to :func:`tune_images` (``steps``, ``lr``, ``liked_share``, ``features``, ...).

    Raises:
        FeedbackError: a missing store, or no liked sample that is a picture of the model's format.
        SeqartError: a melody-only setting (:data:`MELODY_ONLY`).
    """
    from seqart.models.folder import load_tokenizer_of

    folder, meta = check_tunable(model, out, options.get("overwrite", False))
    refuse_melody_options(model, meta["model"], options)
    tokenizer = load_tokenizer_of(folder)
    own = store is None
    if own:
        store = open_own_store(model)
    try:
        liked, disliked = store.liked(), store.disliked()
        if not liked:
            raise _no_likes(store.path, model)
        liked_pictures, skipped = read_pictures(store, sorted(liked, key=lambda s: s.sha256), tokenizer)
        disliked_pictures, skipped_disliked = read_pictures(store, disliked, tokenizer)
    finally:
        if own:
            store.close()
    if not liked_pictures:
        raise FeedbackError(f"none of the {len(liked)} liked samples is a picture this model can tune on "
                            f"(first: {skipped[0]})")
    info = {"feedback": {"store": str(store.path), "liked": len(liked_pictures),
                         "disliked": len(disliked_pictures)}}
    return tune_images(model, np.stack(liked_pictures), out,
                       disliked=np.stack(disliked_pictures) if disliked_pictures else None, info=info,
                       skipped=skipped + skipped_disliked, **options)
