"""Judging generated digits without Inception: a small MNIST classifier's features.

Inception weights cannot be downloaded here, so every figure is computed on the
128-wide penultimate layer of a small CNN trained deterministically on the 60,000
MNIST training images (about a minute on one CPU thread; cached, rebuilt when absent;
nothing is downloaded):

- **FID-CNN**: the Fréchet distance between Gaussians fitted to two feature sets
  (Heusel et al. 2017, with this classifier in place of Inception);
- **KID**: the unbiased squared MMD with the kernel ``(x.y / d + 1) ** 3``, averaged
  over random subsets (Bińkowski et al. 2018);
- **precision / recall**: the share of generated images inside the real manifold and of
  real images inside the generated one, each manifold the union of balls reaching each
  point's 3rd nearest neighbour (Kynkäänniemi et al. 2019);
- **classes**: the classifier's label histogram of the samples (mode coverage: all 10
  digits present, none above 20 %), and the classifier score ``exp E[KL(p(y|x) || p(y))]``.

Every figure comes with two baselines measured on the same number of images against
the same reference (test images): the **real floor** (training images vs test images:
what a perfect generator would score at that sample size) and **blurred test** (other
test images blurred with a Gaussian of sigma 1 pixel vs test images).

Images of another size or with colour are converted to grey and resized to 28x28, so a
64x64 model trained on MNIST is judged the same way. On other image sets the figures
can still be computed but mean little: the classifier only knows digits.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from seqart.errors import SeqartError

#: what the cached classifier is keyed by; change anything here and it is retrained
CLASSIFIER_SETTINGS = {"arch": "cnn-32-64-128-v1", "epochs": 2, "batch_size": 128, "lr": 1e-3, "seed": 0,
                       "data": "mnist-train-60000", "threads": 1}
#: width of the feature layer
FEATURES = 128
CACHE_ENV = "SEQART_CACHE_DIR"
#: targets of the issue: a mode is "covered" when present; none may exceed this share
MAX_CLASS_SHARE = 0.20


def cache_root() -> Path:
    """``$SEQART_CACHE_DIR``, else ``$XDG_CACHE_HOME/seqart``, else ``~/.cache/seqart``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "seqart"


# --------------------------------------------------------------- classifier
def _classifier_module():
    from torch import nn

    class DigitCNN(nn.Module):
        """``(B, 1, 28, 28)`` in ``[-1, 1]`` -> (features ``(B, 128)``, logits ``(B, 10)``)."""

        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 14x14
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 7x7
                nn.Flatten(), nn.Linear(64 * 7 * 7, FEATURES), nn.ReLU(),
            )
            self.drop = nn.Dropout(0.25)
            self.head = nn.Linear(FEATURES, 10)

        def forward(self, x):
            f = self.body(x)
            return f, self.head(self.drop(f))

    return DigitCNN()


@dataclass
class Classifier:
    """The feature extractor and its record.

    Attributes:
        model: the trained ``DigitCNN`` (eval mode, CPU).
        test_accuracy: share of the 10,000 MNIST test images it labels right.
        train_seconds: how long training took (when it was built).
        folder: where it is cached.
    """

    model: object
    test_accuracy: float
    train_seconds: float
    folder: Path

    def info(self) -> dict:
        return {"test_accuracy": self.test_accuracy, "train_seconds": self.train_seconds, "folder": str(self.folder),
                "settings": CLASSIFIER_SETTINGS}


def _settings_key(mnist_folder: Path) -> str:
    h = hashlib.sha256(json.dumps(CLASSIFIER_SETTINGS, sort_keys=True).encode())
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        h.update(hashlib.sha256((mnist_folder / name).read_bytes()).digest())
    return h.hexdigest()[:16]


def load_classifier(progress=None) -> Classifier:
    """The cached MNIST classifier, trained first if absent (about a minute on one CPU thread).

    Args:
        progress: called with a one-line message when training starts (e.g. ``print``).

    Raises:
        CorpusError: MNIST is not found (see :func:`seqart.images.data.find_mnist`).
    """
    from safetensors.torch import load_file

    from seqart.images.data import find_mnist

    mnist = find_mnist()
    folder = cache_root() / "mnist-classifier" / _settings_key(mnist)
    info_path, weights = folder / "info.json", folder / "model.safetensors"
    if not (info_path.is_file() and weights.is_file()):
        if progress:
            progress(f"training the MNIST feature classifier once (about a minute); cached in {folder}")
        _train_classifier(mnist, folder)
    info = json.loads(info_path.read_text(encoding="utf-8"))
    model = _classifier_module()
    model.load_state_dict(load_file(str(weights)), strict=True)
    model.eval()
    return Classifier(model, float(info["test_accuracy"]), float(info["train_seconds"]), folder)


def _train_classifier(mnist: Path, folder: Path) -> None:
    """Train deterministically (fixed seed, order and one thread) and cache weights + info atomically."""
    import shutil

    import torch
    import torch.nn.functional as F
    from safetensors.torch import save_file

    from seqart.images.data import MNIST_FILES, read_idx
    from seqart.utils.atomic import staging_dir

    s = CLASSIFIER_SETTINGS
    x = read_idx(mnist / MNIST_FILES["train_images"], 3)
    y = read_idx(mnist / MNIST_FILES["train_labels"], 1).astype(np.int64)
    threads = torch.get_num_threads()
    torch.set_num_threads(s["threads"])
    start = time.perf_counter()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(s["seed"])
            model = _classifier_module()
            opt = torch.optim.Adam(model.parameters(), lr=s["lr"])
            rng = np.random.default_rng(s["seed"])
            model.train()
            for _ in range(s["epochs"]):
                order = rng.permutation(len(x))
                for i in range(0, len(x), s["batch_size"]):
                    idx = order[i: i + s["batch_size"]]
                    xb = torch.from_numpy(x[idx]).float().div_(127.5).sub_(1.0)[:, None]
                    _, logits = model(xb)
                    loss = F.cross_entropy(logits, torch.from_numpy(y[idx]))
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
        seconds = time.perf_counter() - start
        model.eval()
        tx = read_idx(mnist / MNIST_FILES["test_images"], 3)
        ty = read_idx(mnist / MNIST_FILES["test_labels"], 1).astype(np.int64)
        _, probs = _run(model, tx[:, None])
        accuracy = float((probs.argmax(1) == ty).mean())
    finally:
        torch.set_num_threads(threads)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(folder.parent, f".{folder.name}.")
    try:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp / "model.safetensors"))
        (tmp / "info.json").write_text(json.dumps({"test_accuracy": accuracy, "train_seconds": seconds,
                                                   "settings": s}, indent=2) + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _run(model, images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(N, 128)`` and class probabilities ``(N, 10)`` of ``uint8`` ``(N, 1, 28, 28)`` images."""
    import torch

    feats, probs = [], []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(images[i: i + batch_size])).float().div_(127.5).sub_(1.0)
            f, logits = model(xb)
            feats.append(f.double().numpy())
            probs.append(torch.softmax(logits.double(), -1).numpy())
    if not feats:
        return np.zeros((0, FEATURES)), np.zeros((0, 10))
    return np.concatenate(feats), np.concatenate(probs)


def to_digit_format(images: np.ndarray) -> np.ndarray:
    """Any ``uint8`` images ``(N, C, H, W)`` or ``(N, H, W, C)`` -> grey ``uint8`` ``(N, 1, 28, 28)``.

    Colour becomes luminance (ITU-R 601); other sizes are resized (Lanczos).
    """
    arr = np.asarray(images)
    if arr.ndim != 4:
        raise SeqartError(f"expected a batch of images (N, C, H, W) or (N, H, W, C), got shape {arr.shape}")
    if arr.shape[1] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = np.moveaxis(arr, 1, -1)  # channels last
    elif arr.shape[-1] not in (1, 3):
        raise SeqartError(f"images must have 1 or 3 channels, got shape {arr.shape}")
    grey = arr[..., 0].astype(np.float64) if arr.shape[-1] == 1 else arr.astype(np.float64) @ [0.299, 0.587, 0.114]
    grey = np.clip(np.rint(grey), 0, 255).astype(np.uint8)  # (N, H, W)
    if grey.shape[1:] != (28, 28):
        from PIL import Image

        grey = np.stack([np.asarray(Image.fromarray(g, "L").resize((28, 28), Image.Resampling.LANCZOS)) for g in grey])
    return grey[:, None]


# ------------------------------------------------------------------ metrics
def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a`` ``(N, D)`` and ``b`` ``(M, D)``."""
    import warnings

    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # a collapsed generator gives a singular covariance: still defined
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(c1 @ c2)
        if not np.isfinite(covmean).all():
            eps = np.eye(len(c1)) * 1e-6
            covmean = linalg.sqrtm((c1 + eps) @ (c2 + eps))
    covmean = np.real(covmean)
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * np.trace(covmean))
    return max(value, 0.0)


def kernel_inception_distance(a: np.ndarray, b: np.ndarray, subsets: int = 10, subset_size: int = 1000,
                              seed: int = 0) -> tuple[float, float]:
    """KID: unbiased MMD² with the kernel ``(x.y / d + 1) ** 3``, mean and standard deviation over subsets.

    Args:
        a: features ``(N, D)``; b: features ``(M, D)``.
        subsets: random subsets drawn (without replacement within a subset).
        subset_size: images per subset (capped at ``min(N, M)``).
    """
    rng = np.random.default_rng(seed)
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise SeqartError("KID needs at least 2 images in each set")
    d = a.shape[1]
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        mmd = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.mean()
        values.append(mmd)
    return float(np.mean(values)), float(np.std(values))


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0.0)


def _radii(x: np.ndarray, k: int, chunk: int = 2000) -> np.ndarray:
    """Squared distance from each row of ``x`` to its ``k``-th nearest other row."""
    out = np.empty(len(x))
    for i in range(0, len(x), chunk):
        d = _sq_dists(x[i: i + chunk], x)
        out[i: i + chunk] = np.partition(d, k, axis=1)[:, k]  # index 0 is the point itself
    return out


def _coverage(points: np.ndarray, centres: np.ndarray, radii: np.ndarray, chunk: int = 2000) -> float:
    """Share of ``points`` inside at least one ball (centre, squared radius)."""
    inside = np.zeros(len(points), bool)
    for i in range(0, len(points), chunk):
        d = _sq_dists(points[i: i + chunk], centres)
        inside[i: i + chunk] = (d <= radii[None, :] * (1 + 1e-9) + 1e-12).any(1)
    return float(inside.mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with ``k`` nearest neighbours.

    Returns:
        (precision: share of ``fake`` inside the real manifold, recall: share of ``real``
        inside the fake manifold).
    """
    if len(real) <= k or len(fake) <= k:
        raise SeqartError(f"precision/recall with k={k} needs more than {k} images in each set")
    return _coverage(fake, real, _radii(real, k)), _coverage(real, fake, _radii(fake, k))


def class_histogram(probs: np.ndarray) -> dict:
    """Label histogram of a sample set from class probabilities ``(N, 10)``.

    Returns:
        ``{"counts": [10 ints], "shares": [...], "present": int, "max_share": float,
        "ok": all 10 present and none above 20 %, "classifier_score": exp E[KL(p(y|x) || p(y))]}``
    """
    counts = np.bincount(probs.argmax(1), minlength=10)
    shares = counts / max(len(probs), 1)
    marginal = probs.mean(0)
    kl = (probs * (np.log(probs + 1e-12) - np.log(marginal + 1e-12))).sum(1).mean()
    return {"counts": counts.tolist(), "shares": [round(float(s), 4) for s in shares],
            "present": int((counts > 0).sum()), "max_share": float(shares.max()),
            "ok": bool((counts > 0).all() and shares.max() <= MAX_CLASS_SHARE),
            "classifier_score": float(math.exp(kl))}


def compare(reference: np.ndarray, images_feats: np.ndarray, images_probs: np.ndarray, seed: int = 0) -> dict:
    """Every figure of one image set (features, probabilities) against the reference features."""
    fid = frechet_distance(reference, images_feats)
    kid, kid_std = kernel_inception_distance(reference, images_feats, seed=seed)
    precision, recall = precision_recall(reference, images_feats)
    hist = class_histogram(images_probs)
    return {"fid_cnn": fid, "kid": kid, "kid_std": kid_std, "precision": precision, "recall": recall,
            "classifier_score": hist["classifier_score"], "classes": hist}


# ---------------------------------------------------------------- evaluation
@dataclass
class ImageEvaluation:
    """Figures of a sample set and of the two baselines, all against the same test images.

    Attributes:
        n: images per set.
        samples, real_floor, blurred: :func:`compare` results.
        classifier: the feature classifier's record (accuracy, training time).
    """

    n: int
    samples: dict
    real_floor: dict
    blurred: dict
    classifier: dict

    def targets(self, wanted: Sequence[str] | None = None) -> dict:
        """Whether the samples meet their targets: mode coverage always, and the FID targets
        named in ``wanted`` (all when None): ``fid_within_5x_floor`` (FID within 5x the
        real floor, what a GAN is held to) and ``fid_below_blurred`` (FID below blurred
        test images, what a VAE is held to). A model type registers its own
        (``ModelType.image_targets``)."""
        ratio = self.samples["fid_cnn"] / max(self.real_floor["fid_cnn"], 1e-12)
        figures = {"fid_within_5x_floor": bool(ratio <= 5.0),
                   "fid_below_blurred": bool(self.samples["fid_cnn"] < self.blurred["fid_cnn"])}
        unknown = sorted(set(wanted or ()) - set(figures))
        if unknown:
            raise ValueError(f"unknown image target(s): {', '.join(unknown)}")
        return {"mode_coverage": self.samples["classes"]["ok"],
                **{k: v for k, v in figures.items() if wanted is None or k in wanted}}

    def to_dict(self, wanted: Sequence[str] | None = None) -> dict:
        return {**asdict(self), "fid_over_floor": self.samples["fid_cnn"] / max(self.real_floor["fid_cnn"], 1e-12),
                "targets": self.targets(wanted)}


def blur(images: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gaussian blur of ``uint8`` ``(N, C, H, W)`` images, ``sigma`` in pixels, each image and channel alone."""
    from scipy.ndimage import gaussian_filter

    out = gaussian_filter(images.astype(np.float64), sigma=(0, 0, sigma, sigma), mode="constant")
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def evaluate_images(images: np.ndarray, seed: int = 0, classifier: Classifier | None = None,
                    progress=None) -> ImageEvaluation:
    """Judge generated images against MNIST test images, beside the two baselines.

    The reference is ``n = len(images)`` test images (a fixed random choice); the real
    floor uses ``n`` training images and the blur baseline ``n`` other test images (so
    ``n`` may be at most 5,000).

    Args:
        images: ``uint8`` ``(N, C, H, W)`` or ``(N, H, W, C)``, any size, grey or RGB.
        seed: chooses the reference, floor and blurred images and the KID subsets.
        classifier: a loaded :class:`Classifier` (default: :func:`load_classifier`).

    Raises:
        SeqartError: fewer than 10 or more than 5,000 images, or no MNIST.
    """
    from seqart.images.data import MNIST_FILES, find_mnist, read_idx

    n = len(images)
    if not 10 <= n <= 5000:
        raise SeqartError(f"evaluation needs 10 to 5000 images, got {n}")
    clf = classifier or load_classifier(progress)
    mnist = find_mnist()
    train = read_idx(mnist / MNIST_FILES["train_images"], 3)
    test = read_idx(mnist / MNIST_FILES["test_images"], 3)
    rng = np.random.default_rng(seed)
    test_pick = rng.permutation(len(test))
    reference = test[test_pick[:n]][:, None]
    others = test[test_pick[n: 2 * n]][:, None]
    floor = train[rng.permutation(len(train))[:n]][:, None]
    ref_f, _ = _run(clf.model, reference)
    rows = {}
    for name, imgs in (("samples", to_digit_format(images)), ("real_floor", floor), ("blurred", blur(others))):
        feats, probs = _run(clf.model, imgs)
        rows[name] = compare(ref_f, feats, probs, seed=seed)
    return ImageEvaluation(n=n, samples=rows["samples"], real_floor=rows["real_floor"], blurred=rows["blurred"],
                           classifier={k: v for k, v in clf.info().items() if k != "settings"})


def read_image_folder(folder) -> np.ndarray:
    """Every PNG/JPEG in ``folder`` (sorted, recursive) as grey ``uint8`` ``(N, 1, 28, 28)``.

    Raises:
        SeqartError: no readable image.
    """
    from seqart.errors import CorpusError
    from seqart.images.data import IMAGE_SUFFIXES, read_image

    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    images = []
    for p in files:
        try:
            images.append(read_image(p, 28))
        except CorpusError:
            continue
    if not images:
        raise SeqartError(f"{folder}: no readable .png/.jpg image in it")
    return to_digit_format(np.stack(images))


def format_report(ev: ImageEvaluation, wanted: Sequence[str] | None = None, title: str = "samples") -> str:
    """A plain-text table of an evaluation: every figure beside its two baselines, then the
    class histogram, the targets and the classifier's record."""
    rows = [("FID-CNN (lower is better)", "fid_cnn", ".3f"), ("KID", "kid", ".5f"),
            ("precision (k=3)", "precision", ".3f"), ("recall (k=3)", "recall", ".3f"),
            ("classifier score (max 10)", "classifier_score", ".2f")]
    head = ("figure", title, "real floor (train vs test)", "blurred test (sigma 1)")
    body = [(label, format(ev.samples[key], spec), format(ev.real_floor[key], spec), format(ev.blurred[key], spec))
            for label, key, spec in rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(4)]
    lines = [f"{ev.n} images each, against {ev.n} MNIST test images"]
    for r in [head, *body]:
        lines.append("  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]))
    classes = ev.samples["classes"]
    lines.append("classes 0-9: " + " ".join(str(c) for c in classes["counts"])
                 + f"  ({classes['present']} of 10 present, largest {100 * classes['max_share']:.1f}%)")
    ratio = ev.samples["fid_cnn"] / max(ev.real_floor["fid_cnn"], 1e-12)
    verdict = {True: "yes", False: "NO"}
    targets = ev.targets(wanted)
    if "fid_within_5x_floor" in targets:
        lines.append(f"target FID-CNN within 5x the real floor: {ratio:.2f}x -> "
                     f"{verdict[targets['fid_within_5x_floor']]}")
    if "fid_below_blurred" in targets:
        lines.append(f"target FID-CNN below blurred test ({ev.blurred['fid_cnn']:.3f}): "
                     f"{verdict[targets['fid_below_blurred']]}")
    lines.append(f"target all 10 digits present, none above {100 * MAX_CLASS_SHARE:.0f}%: "
                 f"{verdict[targets['mode_coverage']]}")
    c = ev.classifier
    lines.append(f"feature classifier: MNIST test accuracy {100 * c['test_accuracy']:.2f}% "
                 f"(trained in {c['train_seconds']:.0f} s on one thread; cached in {c['folder']})")
    return "\n".join(lines)
