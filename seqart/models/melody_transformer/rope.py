"""Rotary position embedding (Su et al. 2021), shared by the torch model and the NumPy
forward pass so both rotate by the same angles.

Queries and keys are rotated by an angle proportional to their position, so their
dot product depends only on the distance between the two positions: attention
sees relative positions, and a key cached at one position stays valid however
far the sequence grows.
"""

from __future__ import annotations

import numpy as np


def rope_angles(positions: np.ndarray, head_dim: int, base: float) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of the rotation angles, each shape ``(T, head_dim // 2)`` float32.

    Args:
        positions: absolute token positions, shape ``(T,)``.
        head_dim: width of one attention head (even).
        base: frequency base (10000 in the original paper).
    """
    inv_freq = 1.0 / base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)  # (head_dim/2,)
    angles = np.asarray(positions, dtype=np.float64)[:, None] * inv_freq[None, :]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate ``x`` (..., T, head_dim) pairwise: the first half of each head against the second."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
