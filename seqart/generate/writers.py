"""Writing generated images: PNG grids, numbered PNGs and looping animated GIFs.

Images are ``uint8`` arrays ``(N, H, W, C)`` (C = 1 grey or 3 RGB), as image
generators return them. Every file is written atomically.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from seqart.errors import SeqartError

#: GIF timing unit: frame delays are stored in hundredths of a second
GIF_TICK_MS = 10
#: browsers slow down frames shorter than this (ms)
MIN_FRAME_MS = 20


def gif_durations(times) -> list[int]:
    """Frame durations (ms, multiples of 10, as GIF stores them) for frame start times in seconds
    ``(F + 1,)``: each frame ends at its time rounded to 10 ms, so rounding never accumulates."""
    ticks = np.rint(np.asarray(times, float) * 1000 / GIF_TICK_MS).astype(np.int64) * GIF_TICK_MS
    return [int(d) for d in np.diff(ticks)]


def make_grid(images: np.ndarray, cols: int | None = None, pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile images into one.

    Args:
        images: ``uint8`` ``(N, H, W, C)``.
        cols: images per row (default: ``ceil(sqrt(N))``).
        pad: pixels between and around the images.
        pad_value: 0-255 value of the padding.

    Returns:
        ``uint8`` ``(rows * (H + pad) + pad, cols * (W + pad) + pad, C)``.
    """
    images = np.asarray(images, dtype=np.uint8)
    n, h, w, c = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), pad_value, np.uint8)
    for i, im in enumerate(images):
        r, k = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        grid[top: top + h, left: left + w] = im
    return grid


def _pil(image: np.ndarray, scale: int = 1):
    from PIL import Image

    arr = np.asarray(image, dtype=np.uint8)
    im = Image.fromarray(arr[..., 0], "L") if arr.shape[-1] == 1 else Image.fromarray(arr, "RGB")
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.Resampling.BICUBIC)
    return im


def write_png(image: np.ndarray, path, scale: int = 1) -> Path:
    """Write one ``uint8`` ``(H, W, C)`` image as PNG, atomically (``scale``: upscale factor)."""
    from seqart.utils.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        _pil(image, scale).save(tmp, format="PNG")
    return path


def write_grid(images: np.ndarray, path, cols: int | None = None, scale: int = 1) -> Path:
    """Write ``uint8`` ``(N, H, W, C)`` images as one grid PNG (see :func:`make_grid`)."""
    return write_png(make_grid(images, cols), path, scale)


def write_pngs(images: np.ndarray, folder, overwrite: bool = False, scale: int = 1) -> list[Path]:
    """Write each ``uint8`` ``(H, W, C)`` image of ``images`` as ``folder/01.png ...``."""
    from seqart.utils.paths import numbered_paths

    paths = numbered_paths(folder, len(images), suffix=".png", overwrite=overwrite)
    Path(folder).mkdir(parents=True, exist_ok=True)
    return [write_png(im, p, scale) for im, p in zip(images, paths)]


def auto_scale(size: int) -> int:
    """Upscale factor that makes a ``size``-pixel image about 256 pixels wide."""
    return max(1, 256 // size)


def write_gif(frames: np.ndarray, path, durations_ms, scale: int = 1) -> Path:
    """Write frames as a looping animated GIF, atomically.

    Args:
        frames: ``uint8`` ``(F, H, W, C)``.
        path: the ``.gif`` to write.
        durations_ms: one duration for every frame, or one per frame (ms; GIF keeps 10 ms steps).
        scale: upscale factor (bicubic).

    Pillow stores consecutive identical frames once, with their durations added: the
    timing stays exact and the file may hold fewer frames than ``F``.
    """
    from seqart.utils.atomic import atomic_path

    images = [_pil(f, scale) for f in np.asarray(frames, dtype=np.uint8)]
    if not images:
        raise SeqartError("no frames to write")
    durations = list(durations_ms) if isinstance(durations_ms, (list, tuple, np.ndarray)) else durations_ms
    path = Path(path)
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0,
                       optimize=False, disposal=1)
    return path
