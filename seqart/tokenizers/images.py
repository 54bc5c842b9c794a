"""The ``images`` representation: square images as ``uint8`` arrays.

Images are not scores, so :class:`ImageTokenizer` does not encode music: its
``encode``/``decode`` raise :class:`~seqart.errors.TokenizerError`. It exists so
that an image model folder names its data format in ``tokenizer.json`` like
every other model (size and channels), and it carries the conversions the image
side shares:

- storage: ``uint8`` arrays of shape ``(C, H, W)`` (or ``(N, C, H, W)``), 0-255;
- model space: float tensors in ``[-1, 1]`` (``x / 127.5 - 1``);
- files: ``(H, W, C)`` arrays as Pillow wants them.

>>> tok = ImageTokenizer(size=28, channels=1)
>>> tok.to_model(batch_uint8)       # float32 in [-1, 1], same shape
>>> tok.to_uint8(model_output)      # back to 0-255
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqart.errors import TokenizerError
from seqart.score import Score
from seqart.tokenizers.base import Tokenizer

__all__ = ["ImageConfig", "ImageTokenizer", "SIZES", "CHANNELS", "to_hwc", "to_chw"]

#: image sides the image models are built for (pixels)
SIZES = (28, 64)
#: 1 = grey, 3 = RGB
CHANNELS = (1, 3)


@dataclass(frozen=True)
class ImageConfig:
    """Configuration of :class:`ImageTokenizer`.

    Attributes:
        size: side of the square images in pixels (28 or 64).
        channels: 1 (grey) or 3 (RGB).
    """

    size: int = 28
    channels: int = 1


class ImageTokenizer(Tokenizer):
    """The image format of a model: ``channels`` x ``size`` x ``size``, 8 bits per value.

    ``kind == "images"``. It does not read or write scores: use
    :class:`seqart.images.data.ImageDataset` to read image files.
    """

    name = "images"
    version = 1
    kind = "images"
    config_class = ImageConfig

    def _validate(self) -> None:
        cfg = self.config
        if isinstance(cfg.size, bool) or cfg.size not in SIZES:
            raise TokenizerError(f"image size must be one of {', '.join(map(str, SIZES))} pixels, got {cfg.size!r}")
        if isinstance(cfg.channels, bool) or cfg.channels not in CHANNELS:
            raise TokenizerError(f"image channels must be 1 (grey) or 3 (RGB), got {cfg.channels!r}")

    @property
    def size(self) -> int:
        return int(self.config.size)

    @property
    def channels(self) -> int:
        return int(self.config.channels)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return (self.channels, self.size, self.size)

    # ------------------------------------------------------------- scores
    def encode(self, score: Score) -> np.ndarray:
        """Refused: images are not scores.

        Raises:
            TokenizerError: always.
        """
        raise TokenizerError("the 'images' representation does not encode music: images are read from image "
                             "files (seqart train PRESET --data IMAGE_FOLDER|mnist|digits)")

    def decode(self, data: np.ndarray) -> Score:
        """Refused: an image does not decode to a score.

        Raises:
            TokenizerError: always.
        """
        raise TokenizerError("the 'images' representation does not decode to music: write images with "
                             "seqart.models.images.sampler (seqart sample RUN -o grid.png)")

    # ---------------------------------------------------------- conversions
    def check(self, images: np.ndarray) -> np.ndarray:
        """``images`` as a ``uint8`` array of shape ``(N, C, H, W)`` matching this format.

        Raises:
            TokenizerError: for another shape or dtype.
        """
        arr = np.asarray(images)
        if arr.ndim == 3:
            arr = arr[None]
        if arr.ndim != 4 or tuple(arr.shape[1:]) != self.shape or arr.dtype != np.uint8:
            raise TokenizerError(f"expected uint8 images of shape (N, {', '.join(map(str, self.shape))}), "
                                 f"got {arr.dtype} {tuple(arr.shape)}")
        return arr

    @staticmethod
    def to_model(images: np.ndarray) -> np.ndarray:
        """``uint8`` 0-255 -> ``float32`` in ``[-1, 1]`` (any shape)."""
        return np.asarray(images, dtype=np.float32) / 127.5 - 1.0

    @staticmethod
    def to_uint8(values) -> np.ndarray:
        """Model values in ``[-1, 1]`` (NumPy array or torch tensor, any shape) -> ``uint8`` 0-255,
        rounded, values outside the range clipped."""
        if hasattr(values, "detach"):
            values = values.detach().float().cpu().numpy()
        return np.clip(np.rint((np.asarray(values, dtype=np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_hwc(images: np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` or ``(C, H, W)`` -> ``(N, H, W, C)`` or ``(H, W, C)`` (as Pillow and PNG files have them)."""
    arr = np.asarray(images)
    return np.moveaxis(arr, -3, -1)


def to_chw(images: np.ndarray) -> np.ndarray:
    """``(N, H, W, C)`` or ``(H, W, C)`` -> channels first."""
    arr = np.asarray(images)
    return np.moveaxis(arr, -1, -3)
