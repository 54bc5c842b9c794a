"""Image training data: a folder of PNG/JPEG files, MNIST, or scikit-learn's digits.

:class:`ImageDataset` offers the surface the trainer API uses from
:class:`seqart.corpora.dataset.CorpusDataset`: ``split(name)``, ``tokenizer``,
``representation`` and ``manifest``. Every split is a ``uint8`` array of shape
``(N, C, H, W)`` with values 0-255 (0 = black).

>>> ds = ImageDataset.open("mnist", size=28)       # ../shared/data/images/mnist
>>> ds.split("train").shape
(55000, 1, 28, 28)
>>> ImageDataset.open("photos/", size=64).manifest["skipped"]   # unreadable files and why

Sources:

- ``"mnist"``: the LeCun IDX files in ``shared/data/images/mnist`` (found through
  ``$SEQART_SHARED`` or a ``shared/`` folder next to the working directory or one of
  its parents), or a folder holding them. The standard split: the first 55,000
  training images train, the last 5,000 validate, the 10,000 test images test.
- ``"digits"``: scikit-learn's bundled 1,797 8x8 digits (no download), scaled up;
  a tiny data set for tests and smoke runs.
- a folder: every ``.png``/``.jpg``/``.jpeg`` under it (recursively), centre-cropped
  to a square and resized; files Pillow cannot read are skipped and listed with the
  reason; identical images are kept once; the split is by content hash (stable
  across machines and file orders).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from pathlib import Path

import numpy as np

from seqart.errors import CorpusError, one_line
from seqart.utils.paths import SHARED_ENV, find_shared

#: environment variable naming the ``shared`` folder (the one holding ``data/images``)
#: the four MNIST files, as LeCun distributes them
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
#: MNIST training images kept for validation (the last ones of the training file)
MNIST_VALID = 5000
#: file name endings read from an image folder
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: split shares of an image folder (by content hash)
FOLDER_VALID, FOLDER_TEST = 0.05, 0.05
#: split shares of the digits set
DIGITS_VALID, DIGITS_TEST = 0.1, 0.1
SPLITS = ("train", "valid", "test")


class ImageDataset:
    """Images split into train/valid/test, in memory.

    Attributes:
        manifest: ``{"format", "source", "size", "channels", "counts", "skipped",
            "duplicates", "split_method"}``; ``skipped`` lists ``{"source", "reason"}``.
        representation: ``"images"``.
        kind: ``"images"``.
    """

    representation = "images"
    kind = "images"

    def __init__(self, splits: dict[str, np.ndarray], manifest: dict, labels: dict[str, np.ndarray] | None = None):
        from seqart.tokenizers.images import ImageTokenizer

        self._splits = splits
        self._labels = labels or {}
        self.manifest = manifest
        self.tokenizer = ImageTokenizer(size=int(manifest["size"]), channels=int(manifest["channels"]))

    @classmethod
    def open(cls, spec: str | os.PathLike, size: int = 28, channels: int | None = None) -> "ImageDataset":
        """Read an image source.

        Args:
            spec: ``"mnist"``, ``"digits"``, a folder of images, or a folder holding the MNIST IDX files.
            size: side of the square images, in pixels (28 or 64).
            channels: 1 (grey) or 3 (RGB); None: 1 for MNIST and digits, and for a
                folder 1 when every image is grey, else 3.

        Raises:
            CorpusError: one line: an unknown source, MNIST not found, or no readable image.
        """
        from seqart.tokenizers.images import CHANNELS, SIZES

        if size not in SIZES:
            raise CorpusError(f"image size must be one of {', '.join(map(str, SIZES))}, got {size}")
        if channels is not None and channels not in CHANNELS:
            raise CorpusError(f"image channels must be 1 or 3, got {channels}")
        text = str(spec)
        path = Path(text).expanduser()
        if path.is_dir():
            if (path / MNIST_FILES["train_images"]).is_file():
                return cls._mnist(path, size, channels or 1)
            return cls._folder(path, size, channels)
        if text.lower() == "mnist":
            return cls._mnist(find_mnist(), size, channels or 1)
        if text.lower() == "digits":
            return cls._digits(size, channels or 1)
        if path.exists():
            raise CorpusError(f"{path}: a file; image data is a folder of images, 'mnist' or 'digits'")
        raise CorpusError(f"{path}: no such folder; image data is a folder of PNG/JPEG images, 'mnist' or 'digits'")

    # ------------------------------------------------------------ reading
    def split(self, name: str) -> np.ndarray:
        """Images of split ``name`` (``"train"``, ``"valid"``, ``"test"``): ``uint8`` ``(N, C, H, W)``."""
        if name not in SPLITS:
            raise CorpusError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        return self._splits[name]

    def labels(self, name: str) -> np.ndarray | None:
        """Class labels ``(N,)`` int64 of split ``name`` (MNIST and digits), else None."""
        return self._labels.get(name)

    def num_images(self, split: str | None = None) -> int:
        return sum(len(self._splits[s]) for s in SPLITS) if split is None else len(self.split(split))

    def __len__(self) -> int:
        return self.num_images()

    def __repr__(self) -> str:
        counts = ", ".join(f"{s} {len(self._splits[s])}" for s in SPLITS)
        return f"ImageDataset({self.manifest['source']!r}, {self.tokenizer.channels}x{self.tokenizer.size}x" \
               f"{self.tokenizer.size}, {counts})"

    # ------------------------------------------------------------ sources
    @classmethod
    def _mnist(cls, folder: Path, size: int, channels: int) -> "ImageDataset":
        train_x = read_idx(folder / MNIST_FILES["train_images"], 3)
        train_y = read_idx(folder / MNIST_FILES["train_labels"], 1)
        test_x = read_idx(folder / MNIST_FILES["test_images"], 3)
        test_y = read_idx(folder / MNIST_FILES["test_labels"], 1)
        if len(train_x) != len(train_y) or len(test_x) != len(test_y) or len(train_x) <= MNIST_VALID:
            raise CorpusError(f"{folder}: MNIST image and label files do not match")
        cut = len(train_x) - MNIST_VALID
        images = {"train": train_x[:cut], "valid": train_x[cut:], "test": test_x}
        labels = {"train": train_y[:cut], "valid": train_y[cut:], "test": test_y}
        splits = {k: _to_format(v, size, channels) for k, v in images.items()}
        manifest = _manifest("mnist", size, channels, splits, [], 0, "mnist-standard",
                             folder=str(folder.resolve()))
        return cls(splits, manifest, {k: v.astype(np.int64) for k, v in labels.items()})

    @classmethod
    def _digits(cls, size: int, channels: int) -> "ImageDataset":
        from sklearn.datasets import load_digits

        from seqart.corpora.build import split_of

        digits = load_digits()
        raw = np.rint(np.asarray(digits.images, dtype=np.float64) * (255.0 / 16.0)).astype(np.uint8)  # (N, 8, 8)
        codes = np.array([split_of(hashlib.sha256(im.tobytes()).hexdigest(), DIGITS_VALID, DIGITS_TEST)
                          for im in raw])
        images = _to_format(raw, size, channels)
        target = np.asarray(digits.target, dtype=np.int64)
        splits = {s: images[codes == i] for i, s in enumerate(SPLITS)}
        labels = {s: target[codes == i] for i, s in enumerate(SPLITS)}
        manifest = _manifest("digits", size, channels, splits, [], 0, "content-hash")
        return cls(splits, manifest, labels)

    @classmethod
    def _folder(cls, folder: Path, size: int, channels: int | None) -> "ImageDataset":
        from seqart.corpora.build import split_of

        files = sorted((p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                       key=lambda p: p.relative_to(folder).as_posix())
        if not files:
            raise CorpusError(f"{folder}: no .png, .jpg or .jpeg files in it (or below it)")
        kept: list[np.ndarray] = []
        names: list[str] = []
        grey: list[bool] = []
        skipped: list[dict] = []
        for path in files:
            name = path.relative_to(folder).as_posix()
            try:
                rgb = read_image(path, size)
            except CorpusError as exc:
                skipped.append({"source": name, "reason": str(exc).split(": ", 1)[-1]})
                continue
            kept.append(rgb)
            names.append(name)
            grey.append(bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()))
        if not kept:
            first = skipped[0]["reason"] if skipped else "none found"
            raise CorpusError(f"{folder}: no readable image: {len(skipped)} of {len(files)} files skipped "
                              f"(first reason: {first})")
        if channels is None:
            channels = 1 if all(grey) else 3
        arrays = [(im[..., :1] if channels == 1 else im).transpose(2, 0, 1) for im in kept]  # (C, H, W)
        codes, unique, seen = [], [], {}
        duplicates = 0
        for name, arr in zip(names, arrays):
            digest = hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
            if digest in seen:
                duplicates += 1
                continue
            seen[digest] = name
            unique.append(arr)
            codes.append(split_of(digest, FOLDER_VALID, FOLDER_TEST))
        stack = np.stack(unique).astype(np.uint8)
        code_arr = np.asarray(codes)
        splits = {s: stack[code_arr == i] for i, s in enumerate(SPLITS)}
        manifest = _manifest(str(folder.resolve()), size, channels, splits, skipped, duplicates, "content-hash",
                             files=len(files))
        return cls(splits, manifest)


def _manifest(source: str, size: int, channels: int, splits: dict, skipped: list, duplicates: int,
              method: str, **extra) -> dict:
    return {"format": "seqart-images", "source": source, "size": size, "channels": channels,
            "counts": {s: int(len(splits[s])) for s in SPLITS}, "skipped": skipped, "duplicates": duplicates,
            "split_method": method, **extra}


def find_mnist() -> Path:
    """The folder holding the MNIST IDX files: ``$SEQART_SHARED/data/images/mnist``, else
    ``shared/data/images/mnist`` next to the working directory or any parent of it.

    Raises:
        CorpusError: one line saying where it looked.
    """
    found = find_shared(f"data/images/mnist/{MNIST_FILES['train_images']}")
    if found is not None:
        return found.parent
    here = Path.cwd().resolve()
    env = os.environ.get(SHARED_ENV)
    where = f"${SHARED_ENV}={env}" if env else f"${SHARED_ENV} (unset)"
    raise CorpusError(f"MNIST not found: looked for data/images/mnist/{MNIST_FILES['train_images']} under {where} "
                      f"and under shared/ next to {here} and each parent; set {SHARED_ENV} to the shared folder")


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes (MNIST).

    Args:
        path: ``*-idx3-ubyte.gz`` (images, ``ndim=3``) or ``*-idx1-ubyte.gz`` (labels, ``ndim=1``).

    Returns:
        ``uint8`` array of shape ``(N, 28, 28)`` or ``(N,)``.

    Raises:
        CorpusError: a missing, truncated or malformed file.
    """
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such file") from None
    except (OSError, EOFError) as exc:
        raise CorpusError(f"{path}: unreadable gzip file ({exc})") from None
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorpusError(f"{path}: not an IDX file (too short)")
    magic = int.from_bytes(data[:4], "big")
    if magic != 0x800 + ndim:
        raise CorpusError(f"{path}: not an IDX file of {ndim}-D unsigned bytes (magic {magic:#x})")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    count = int(np.prod(dims))
    if len(data) - header != count:
        raise CorpusError(f"{path}: holds {len(data) - header} bytes of data, the header promises {count}")
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims).copy()  # writable


def read_image(path: Path, size: int) -> np.ndarray:
    """One image file as ``uint8`` RGB ``(size, size, 3)``: EXIF rotation applied,
    transparency composited on black, centre-cropped to a square, then resized (Lanczos).

    Raises:
        CorpusError: ``"PATH: reason"`` for a file Pillow cannot decode.
    """
    from PIL import Image, ImageOps

    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            if im.format == "JPEG":
                im.draft("RGB", (2 * size, 2 * size))  # decode big JPEGs at a reduced scale: much faster
            im.load()
            im = ImageOps.exif_transpose(im)
            rgb = _as_rgb(im)
    except CorpusError:
        raise
    except OSError as exc:
        raise CorpusError(f"{path}: {one_line(exc, 160)}") from None
    except Exception as exc:  # Pillow raises ValueError, SyntaxError, DecompressionBombError, ...
        raise CorpusError(f"{path}: unreadable image ({type(exc).__name__}: "
                          f"{one_line(exc, 120)})") from None
    w, h = rgb.size
    if w < 1 or h < 1:
        raise CorpusError(f"{path}: empty image")
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    square = rgb.crop((left, top, left + side, top + side))
    if side != size:
        square = square.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(square, dtype=np.uint8).copy()


def _as_rgb(im):
    """A Pillow image in mode ``RGB``: 16-bit and float grey scaled to 8 bits, alpha composited on black."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") else max(float(arr.max()), 255.0)
        grey = Image.fromarray(np.clip(np.rint(arr * 255.0 / top), 0, 255).astype(np.uint8), "L")
        return grey.convert("RGB")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("RGB")
    return im.convert("RGB")


def _to_format(images: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Grey images ``(N, h, w)`` -> ``uint8`` ``(N, channels, size, size)`` (resized when ``h != size``)."""
    images = np.asarray(images, dtype=np.uint8)
    if images.shape[1] != size or images.shape[2] != size:
        from PIL import Image

        resample = Image.Resampling.BILINEAR if images.shape[1] < size else Image.Resampling.LANCZOS
        images = np.stack([np.asarray(Image.fromarray(im, "L").resize((size, size), resample)) for im in images])
    out = images[:, None]
    if channels == 3:
        out = np.repeat(out, 3, axis=1)
    return np.ascontiguousarray(out)


class ImageBatches:
    """Deterministic batches of images for the trainer.

    Args:
        images: ``uint8`` ``(N, C, H, W)``.
        batch_size: images per training batch (B).
        seed: ``batch(i)`` depends only on ``(seed, i)``.
    """

    def __init__(self, images: np.ndarray, batch_size: int, seed: int = 0):
        if len(images) == 0:
            raise CorpusError("the split holds no image")
        self.images = images
        self.batch_size = batch_size
        self.seed = seed

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, index: int):
        """Batch number ``index``: float32 tensor ``(B, C, H, W)`` in ``[-1, 1]``."""
        import torch

        rng = np.random.default_rng([self.seed, index])
        picks = rng.integers(0, len(self.images), size=self.batch_size)
        rows = self.images[picks]  # (B, C, H, W) uint8
        return torch.from_numpy(np.ascontiguousarray(rows)).float().div_(127.5).sub_(1.0)

    def eval_batches(self, max_batches: int | None = None):
        """The images in order, in batches of ``batch_size`` (each image exactly once)."""
        import torch

        for n, i in enumerate(range(0, len(self.images), self.batch_size)):
            if max_batches is not None and n >= max_batches:
                return
            rows = np.ascontiguousarray(self.images[i: i + self.batch_size])
            yield torch.from_numpy(rows).float().div_(127.5).sub_(1.0)
