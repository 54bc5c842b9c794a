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


def rope_phases(positions: np.ndarray, head_dim: int, base: float) -> np.ndarray:
    """The rotations of :func:`rope_angles` as unit complex numbers ``cos + i sin``, shape
    ``(T, head_dim // 2)`` complex64: a pair ``(a, b)`` written ``a + ib`` is rotated by
    one product (the NumPy forward pass interleaves each head's halves into such pairs)."""
    cos, sin = rope_angles(positions, head_dim, base)
    return (cos + 1j * sin).astype(np.complex64)
