"""Batches of token windows for language models, reproducible by batch index."""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np

Transposer = Callable[[np.ndarray, int], "np.ndarray | None"]
#: most a style's windows are up-weighted by ``style_balance``, relative to the largest style
STYLE_BALANCE_CAP = 8.0


class TokenWindows:
    """Random training windows and ordered evaluation windows over token sequences.

    Args:
        sequences: 1-D int arrays (one per piece), e.g. ``CorpusDataset.split("train")``.
        batch_size: windows per batch (B).
        seq_len: tokens per window fed to the model (T); a batch holds T + 1 tokens
            per row so inputs and shifted targets come from one array.
        seed: base seed; ``batch(i)`` depends only on ``(seed, i)``.
        transpose: ``(tokens, semitones) -> tokens | None`` for augmentation.
        max_transpose: draw a shift uniformly from ``[-max_transpose, max_transpose]``
            (0 disables augmentation); a shift that leaves the range falls back to 0.
        start_prob: probability that a window starts at the sequence start (so the
            model learns openings, where sampling begins).
        pad_id: padding token (ignored by the loss).
        eval_len: tokens predicted per evaluation window (a model with a bounded
            context, a transformer's, evaluates windows no longer than it).
        styles: the style of each sequence (any hashable label), for ``style_balance``.
        style_balance: 0-1, how far training windows are drawn evenly over the styles
            (:class:`seqart.train.config.TrainConfig`); 0 or no ``styles``: by tokens.
        transpose_whole: transpose each whole sequence, then cut the window, for tokens
            whose meaning depends on what came before the window (an event token's
            pitch belongs to the instrument named earlier, and drums never move).
    """

    def __init__(
        self,
        sequences: Sequence[np.ndarray],
        batch_size: int,
        seq_len: int,
        seed: int = 0,
        transpose: Transposer | None = None,
        max_transpose: int = 0,
        start_prob: float = 0.5,
        pad_id: int = 0,
        eval_len: int = 1024,
        styles: Sequence | None = None,
        style_balance: float = 0.0,
        transpose_whole: bool = False,
    ):
        kept = [i for i, s in enumerate(sequences) if len(s) >= 2]
        self.sequences = [sequences[i] for i in kept]
        if not self.sequences:
            from seqart.errors import CorpusError

            raise CorpusError("the split holds no sequence of two or more tokens")
        self.batch_size = batch_size
        self.seq_len = seq_len
        self.seed = seed
        self.transpose = transpose
        self.max_transpose = max_transpose if transpose is not None else 0
        self.transpose_whole = transpose_whole
        self.start_prob = start_prob
        self.pad_id = pad_id
        self.eval_len = eval_len
        lengths = np.array([len(s) for s in self.sequences], dtype=np.float64)
        weights = lengths
        if styles is not None and style_balance > 0:
            weights = lengths * style_weights([styles[i] for i in kept], lengths, style_balance)
        self._weights = weights / weights.sum()
        self.num_tokens = int(lengths.sum())

    def batch(self, index: int):
        """Batch number ``index``: a LongTensor of shape (B, T + 1)."""
        import torch

        rng = np.random.default_rng([self.seed, index])
        picks = rng.choice(len(self.sequences), size=self.batch_size, p=self._weights)
        out = np.full((self.batch_size, self.seq_len + 1), self.pad_id, dtype=np.int64)
        for row, k in enumerate(picks):
            seq = np.asarray(self.sequences[k])
            span = len(seq) - (self.seq_len + 1)
            start = 0 if span <= 0 or rng.random() < self.start_prob else int(rng.integers(0, span + 1))
            window = seq[start: start + self.seq_len + 1].astype(np.int64)
            if self.max_transpose:
                shift = int(rng.integers(-self.max_transpose, self.max_transpose + 1))
                if self.transpose_whole:
                    moved = self.transpose(seq.astype(np.int64), shift) if shift else None
                    moved = None if moved is None else moved[start: start + self.seq_len + 1]
                else:
                    moved = self.transpose(window, shift) if shift else window
                window = window if moved is None else moved
            out[row, : len(window)] = window
        return torch.from_numpy(out)

    def eval_batches(self, max_batches: int | None = None, eval_len: int | None = None) -> Iterator:
        """Every sequence, cut into consecutive windows of ``eval_len + 1`` tokens (default:
        the ``eval_len`` given at construction) that
        overlap by one, batched by similar length; each token but the first of each
        sequence is predicted exactly once."""
        import torch

        eval_len = self.eval_len if eval_len is None else eval_len
        windows = []
        for seq in self.sequences:
            for a in range(0, len(seq) - 1, eval_len):
                windows.append(np.asarray(seq[a: a + eval_len + 1], dtype=np.int64))
        windows.sort(key=len)
        produced = 0
        for i in range(0, len(windows), self.batch_size):
            if max_batches is not None and produced >= max_batches:
                return
            chunk = windows[i: i + self.batch_size]
            out = np.full((len(chunk), max(len(w) for w in chunk)), self.pad_id, dtype=np.int64)
            for row, w in enumerate(chunk):
                out[row, : len(w)] = w
            produced += 1
            yield torch.from_numpy(out)


def style_weights(styles: Sequence, lengths: np.ndarray, balance: float) -> np.ndarray:
    """Per-sequence multipliers of its token weight that give each style a window share in
    proportion to ``share ** (1 - balance)`` (``share``: the style's share of the tokens),
    each at most :data:`STYLE_BALANCE_CAP` times the largest style's. Shape ``(len(styles),)``."""
    labels = np.array([str(s) for s in styles])
    names, index = np.unique(labels, return_inverse=True)
    shares = np.bincount(index, weights=lengths) / lengths.sum()
    multiplier = shares ** -balance
    multiplier = np.minimum(multiplier / multiplier.min(), STYLE_BALANCE_CAP)
    return multiplier[index]
