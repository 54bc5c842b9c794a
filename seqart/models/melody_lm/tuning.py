"""Tuning a melody language model on a composer's ratings: the objective.

One step, on a batch of token windows (:class:`FeedbackLSTM`)::

    loss = NLL(liked)                                   likelihood up on liked melodies
         + replay * NLL(windows of the model's training corpus)    (if the corpus is here)
         + unlikelihood * UL(disliked)                  Welleck et al. 2019
         + anchor * sum((w - w0)^2)                     an L2 pull toward the original weights

``UL`` is the token-level unlikelihood loss ``-log(1 - p(token | prefix))`` averaged
over the event tokens (``NOTE_*``, ``REST`` and ``TRIPLET``) of the disliked melodies: their
pitch and rhythm choices become less likely. Structural tokens (``BAR``, ``HOLD``,
meter and key) are left out: a disliked melody's bar lines are as right as a
liked one's, and pushing them down would teach the model to break bars.

Liked and disliked windows start at the beginning of the piece and cover it whole
(up to :data:`MAX_WINDOW` tokens), transposed at random by up to
``max_transpose`` semitones so a handful of melodies is not learnt by heart in a
few steps. Replay windows and the anchor guard against forgetting the rest of
the style.

A tuner is what the family registers as its ``tuner`` (see
:mod:`seqart.models.registry`): a model class with ``from_base(base, tokenizer,
unlikelihood=, anchor=, replay=)``, a ``data(FeedbackData | sequences, tokenizer,
train, seed, training)`` batch source, and ``sequence_nll``-compatible
``validation_step``; :mod:`seqart.workflows.tune` runs it on the one trainer. The
result is a plain ``melody-lstm`` model folder: it samples like any other.
Figures are natural-log likelihoods per token (nats/token).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from seqart.errors import SeqartError
from seqart.models.melody_lm.data import TokenWindows
from seqart.models.melody_lm.model import PAD, MelodyLSTM

#: Longest training window, in tokens; longer pieces are cut into random windows.
MAX_WINDOW = 512


@dataclass
class FeedbackData:
    """Token sequences (1-D int arrays, the model's tokenizer) to tune on.

    Attributes:
        liked: melodies whose likelihood goes up.
        disliked: melodies whose event tokens' probability goes down.
        replay: melodies of the model's training corpus, mixed in against forgetting.
    """

    liked: Sequence[np.ndarray]
    disliked: Sequence[np.ndarray] = ()
    replay: Sequence[np.ndarray] = ()


class FeedbackBatches:
    """Batches for :class:`FeedbackLSTM`: ``{"liked": (B, T+1), "replay": (B, T+1),
    "disliked": (B // 2, T+1)}`` int64 token windows (the last two only when given);
    ``batch(i)`` depends only on the seed and ``i``."""

    def __init__(self, data: FeedbackData, tokenizer, batch_size: int, seq_len: int, seed: int,
                 max_transpose: int):
        def windows(seqs, rows, offset, whole):
            fits = all(len(s) <= seq_len + 1 for s in seqs)
            return TokenWindows(seqs, batch_size=rows, seq_len=seq_len, seed=seed + offset,
                                transpose=tokenizer.transpose_tokens, max_transpose=max_transpose,
                                start_prob=1.0 if whole and fits else 0.5)

        self.liked = windows(data.liked, batch_size, 0, True)
        self.replay = windows(data.replay, batch_size, 1, False) if len(data.replay) else None
        self.disliked = windows(data.disliked, max(1, batch_size // 2), 2, True) if len(data.disliked) else None

    def batch(self, index: int) -> dict:
        out = {"liked": self.liked.batch(index)}
        if self.replay is not None:
            out["replay"] = self.replay.batch(index)
        if self.disliked is not None:
            out["disliked"] = self.disliked.batch(index)
        return out

    def eval_batches(self, max_batches: int | None = None):
        return self.liked.eval_batches(max_batches)


class FeedbackObjective:
    """The feedback objective (module docstring) for any melody language model whose
    ``forward(x)`` returns ``(logits (B, T, V), state)``: mixed in before the model
    class, it makes that model's tuner (:class:`FeedbackLSTM`, and the transformer's).

    Its weights and config are the model's (the anchor weights are non-persistent
    buffers), so the trainer saves a plain model folder of the model's type.

    Args:
        config: the base model's config.
        event_ids: token ids the unlikelihood loss applies to.
        unlikelihood: weight of the unlikelihood loss on disliked melodies (0: off).
        anchor: weight of the L2 pull toward the starting weights, per squared unit
            of weight change summed over all weights (0: off).
        replay: weight of the NLL on replay windows of the training corpus.
    """

    #: longest training window, in tokens
    max_window: ClassVar[int] = MAX_WINDOW

    def __init__(self, config, event_ids: Sequence[int] = (), unlikelihood: float = 0.5, anchor: float = 0.01,
                 replay: float = 1.0):
        super().__init__(config)
        for name, value in (("unlikelihood", unlikelihood), ("anchor", anchor), ("replay", replay)):
            if not (value >= 0 and np.isfinite(value)):
                raise SeqartError(f"--{name} must be a number >= 0, got {value}")
        self.unlikelihood, self.anchor, self.replay = float(unlikelihood), float(anchor), float(replay)
        mask = torch.zeros(config.vocab_size, dtype=torch.bool)
        mask[list(event_ids)] = True
        self.register_buffer("event_mask", mask, persistent=False)
        self._anchors: list[str] = []

    @classmethod
    def from_base(cls, base, tokenizer, **weights) -> "FeedbackObjective":
        """A copy of ``base`` (weights and config) that remembers those weights as its anchor."""
        model = cls(base.config, event_ids=tokenizer.choice_ids.tolist(), **weights)
        model.load_state_dict(base.state_dict())
        for i, p in enumerate(model.parameters()):  # tied weights are one parameter: one anchor
            name = f"anchor_{i}"
            model.register_buffer(name, p.detach().clone(), persistent=False)
            model._anchors.append(name)
        return model

    def training_step(self, batch: dict, step) -> dict:
        liked = batch["liked"]
        parts = [liked] + [batch[k] for k in ("replay", "disliked") if k in batch]
        rows = torch.cat(parts)  # one forward pass for all of them: (R, T+1)
        x, y = rows[:, :-1], rows[:, 1:]
        logits, _ = self(x)  # (R, T, V)
        token_logp = F.log_softmax(logits.float(), dim=-1).gather(-1, y.unsqueeze(-1)).squeeze(-1)  # (R, T)
        real = y != PAD
        b = liked.size(0)
        count = real[:b].sum()
        liked_nll = -(token_logp[:b] * real[:b]).sum() / self.mean_items(count)
        loss = liked_nll
        out = {"liked_nll": liked_nll.detach()}
        start = b
        if "replay" in batch:
            part = slice(start, start + batch["replay"].size(0))
            replay_nll = -(token_logp[part] * real[part]).sum() / self.mean_items(real[part].sum())
            loss = loss + self.replay * replay_nll
            out["replay_nll"] = replay_nll.detach()
            start = part.stop
        if "disliked" in batch:
            part = slice(start, None)
            mask = real[part] & self.event_mask[y[part]]
            p = token_logp[part].exp().clamp(max=1.0 - 1e-6)
            unlikely = -(torch.log1p(-p) * mask).sum() / self.mean_items(mask.sum())
            loss = loss + self.unlikelihood * unlikely
            out["unlikelihood"] = unlikely.detach()
        if self.anchor and self._anchors:
            drift = sum(((p - getattr(self, a)) ** 2).sum() for p, a in zip(self.parameters(), self._anchors))
            loss = loss + self.anchor * drift
            out["drift"] = drift.detach()
        step("main", loss)
        return {"loss": loss.detach(), **out, "items": count}

    @classmethod
    def feedback_data(cls, liked: Sequence[np.ndarray], disliked: Sequence[np.ndarray],
                      replay: Sequence[np.ndarray], tokenizer, train, seed: int) -> FeedbackBatches:
        """Training batches of liked, disliked and replayed token sequences (see :class:`FeedbackBatches`)."""
        return cls.data(FeedbackData(liked=liked, disliked=disliked, replay=replay), tokenizer, train, seed=seed,
                        training=True)

    @staticmethod
    def sequence_nll(model, sequences: Sequence[np.ndarray], device: str | torch.device = "cpu") -> float:
        """Mean NLL of ``sequences`` under ``model``, nats per token (see :func:`sequence_nll`)."""
        return sequence_nll(model, sequences, device=device)

    @classmethod
    def data(cls, sequences, tokenizer, train, seed: int, training: bool, config=None):
        """:class:`FeedbackBatches` for a :class:`FeedbackData`, else plain token windows
        (evaluation: held-out liked melodies)."""
        if isinstance(sequences, FeedbackData):
            seq_len = min(max(len(s) for s in sequences.liked) - 1, train.seq_len,
                          getattr(config, "context", train.seq_len))
            return FeedbackBatches(sequences, tokenizer, train.batch_size, max(seq_len, 8), seed,
                                   train.augment_transpose if training else 0)
        return super().data(sequences, tokenizer, train, seed, training, config)


def sequence_nll(model, sequences: Sequence[np.ndarray], batch_size: int = 16,
                 device: str | torch.device = "cpu") -> float:
    """Mean negative log-likelihood of ``sequences`` under ``model``, in nats per token.

    Every token but each sequence's first is predicted once, as in the trainer's
    held-out figures (``eval.json``): in windows of at most the model's context (a
    transformer's) or 1024 tokens. Dropout is off.
    """
    windows = TokenWindows(sequences, batch_size=batch_size, seq_len=1,
                           eval_len=getattr(model.config, "context", 1024))
    was_training = model.training
    model.eval()
    total, count = 0.0, 0.0
    with torch.no_grad():
        for batch in windows.eval_batches():
            out = model.validation_step(batch.to(device))
            total, count = total + float(out["loss"]), count + float(out["weight"])
    model.train(was_training)
    return total / max(count, 1.0)


class FeedbackLSTM(FeedbackObjective, MelodyLSTM):
    """A :class:`MelodyLSTM` with the feedback objective: the ``melody-lstm`` family's
    registered tuner; it saves a plain ``melody-lstm`` model folder."""
