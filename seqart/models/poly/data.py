"""Batches of piano-roll frame windows for frame models, reproducible by batch index.

A batch is a dict of tensors:

- ``frames``: float32 ``(B, T + 1, F)``. Row 0 of each window is its *context
  frame*: the frame just before the window, or all zeros when the window starts
  the piece. Rows ``1..T`` are the frames to predict.
- ``start``: float32 ``(B,)``, 1.0 where the window starts its piece (the model
  then sees a start flag instead of a previous frame).
- ``mask``: float32 ``(B, T)``, 1.0 for real target frames, 0.0 for padding.

So every frame of a piece, its first included, is predicted exactly once in
evaluation, the first one from the model's initial state.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np


def feasible_shifts(window: np.ndarray, max_shift: int) -> tuple[int, int]:
    """The range ``(low, high)`` of transpositions (in keys) that keep every active
    key of ``window`` (``(T, F)`` 0/1) on the keyboard, clipped to ``±max_shift``."""
    active = np.flatnonzero(window.any(axis=0))
    if len(active) == 0:
        return -max_shift, max_shift
    width = window.shape[1]
    return max(-max_shift, -int(active[0])), min(max_shift, width - 1 - int(active[-1]))


def shift_frames(frames: np.ndarray, shift: int) -> np.ndarray:
    """Move every key of ``frames`` (``(T, F)``) up by ``shift`` columns (down if
    negative); keys pushed off the edge are dropped, so check with
    :func:`feasible_shifts` first."""
    if shift == 0:
        return frames
    out = np.zeros_like(frames)
    if shift > 0:
        out[:, shift:] = frames[:, :-shift]
    else:
        out[:, :shift] = frames[:, -shift:]
    return out


class FrameWindows:
    """Random training windows and whole-piece evaluation batches of frame sequences.

    Args:
        sequences: ``(T_i, F)`` 0/1 arrays, one per piece (``CorpusDataset.split``).
        batch_size: windows per training batch (B).
        seq_len: frames predicted per training window (T).
        seed: ``batch(i)`` depends only on ``(seed, i)``.
        max_transpose: transpose each training window by a shift drawn uniformly
            from those in ``[-max_transpose, max_transpose]`` that keep all its keys
            on the keyboard (0 = off).
        start_prob: probability that a training window starts at its piece's start.
        eval_frames: frame budget of one evaluation batch (whole pieces, padded).
    """

    def __init__(self, sequences: Sequence[np.ndarray], batch_size: int, seq_len: int, seed: int = 0,
                 max_transpose: int = 0, start_prob: float = 0.1, eval_frames: int = 16384):
        self.sequences = [np.asarray(s) for s in sequences if len(s) >= 1]
        if not self.sequences:
            from seqart.errors import CorpusError

            raise CorpusError("the split holds no frame sequence")
        widths = {s.shape[1] for s in self.sequences}
        if len(widths) != 1 or any(s.ndim != 2 for s in self.sequences):
            from seqart.errors import CorpusError

            raise CorpusError(f"frame sequences must all be (T, F) with one F, got widths {sorted(widths)}")
        self.n_features = widths.pop()
        self.batch_size = batch_size
        self.seq_len = seq_len
        self.seed = seed
        self.max_transpose = max_transpose
        self.start_prob = start_prob
        self.eval_frames = eval_frames
        lengths = np.array([len(s) for s in self.sequences], dtype=np.float64)
        self._weights = lengths / lengths.sum()
        self.num_frames = int(lengths.sum())

    def batch(self, index: int) -> dict:
        """Training batch number ``index`` (see the module docstring for its layout)."""
        import torch

        rng = np.random.default_rng([self.seed, index])
        picks = rng.choice(len(self.sequences), size=self.batch_size, p=self._weights)
        b, t, f = self.batch_size, self.seq_len, self.n_features
        frames = np.zeros((b, t + 1, f), dtype=np.float32)
        start = np.zeros(b, dtype=np.float32)
        mask = np.zeros((b, t), dtype=np.float32)
        for row, k in enumerate(picks):
            seq = self.sequences[k]
            span = len(seq) - t
            begin = 0 if span <= 0 or rng.random() < self.start_prob else int(rng.integers(1, span + 1))
            window = np.asarray(seq[max(begin - 1, 0): begin + t])  # context frame (if any) + targets
            if self.max_transpose:
                low, high = feasible_shifts(window, self.max_transpose)
                window = shift_frames(window, int(rng.integers(low, high + 1)))
            if begin == 0:
                start[row] = 1.0
                frames[row, 1: 1 + len(window)] = window
                mask[row, : len(window)] = 1.0
            else:
                frames[row, : len(window)] = window
                mask[row, : len(window) - 1] = 1.0
        return {"frames": torch.from_numpy(frames), "start": torch.from_numpy(start),
                "mask": torch.from_numpy(mask)}

    def eval_groups(self) -> list[list[int]]:
        """Indices of the pieces of each evaluation batch: pieces of similar length,
        shortest first, at most ``eval_frames`` padded frames a batch."""
        order = sorted(range(len(self.sequences)), key=lambda i: len(self.sequences[i]))
        groups: list[list[int]] = [[]]
        for i in order:
            if groups[-1] and (len(groups[-1]) + 1) * len(self.sequences[i]) > self.eval_frames:
                groups.append([])
            groups[-1].append(i)
        return groups if groups[-1] else []

    def eval_batch(self, group: list[int]) -> dict:
        """The pieces ``group`` whole, from their first frame, padded to the longest."""
        import torch

        t = max(len(self.sequences[i]) for i in group)
        frames = np.zeros((len(group), t + 1, self.n_features), dtype=np.float32)
        mask = np.zeros((len(group), t), dtype=np.float32)
        for row, i in enumerate(group):
            seq = self.sequences[i]
            frames[row, 1: 1 + len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        return {"frames": torch.from_numpy(frames), "start": torch.ones(len(group)),
                "mask": torch.from_numpy(mask)}

    def eval_batches(self, max_batches: int | None = None) -> Iterator[dict]:
        """Every piece whole (see :meth:`eval_groups`); each frame is predicted exactly once."""
        groups = self.eval_groups()
        for group in groups if max_batches is None else groups[:max_batches]:
            yield self.eval_batch(group)
