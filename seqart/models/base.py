"""What every trainable seqart model provides to the one trainer.

A model is an ``nn.Module`` with a dataclass ``config`` and these methods:

- ``configure_optimizers(train) -> dict[str, Optimizer]``: one entry per
  optimizer, by name (``{"main": adam}``; a GAN returns ``{"d": ..., "g": ...}``).
- ``training_step(batch, step) -> dict[str, float]``: computes the losses and
  calls ``step(name, loss)`` once per optimizer; the trainer does zero-grad,
  (scaled) backward, clipping and the optimizer step inside ``step``. Returns
  metrics to log; the key ``"items"`` (tokens, frames, images) feeds throughput.
- ``validation_step(batch) -> dict[str, float]``: sums over the batch, including
  ``"weight"`` (the number of items): the trainer reports ``sum / weight``.
- ``data(sequences, tokenizer, train, seed, training, config) -> BatchSource``:
  batches of this model's input drawn from one split of a built corpus.

The trainer knows nothing else about the model.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Callable, ClassVar, Protocol

import torch
from torch import nn


StepFn = Callable[[str, torch.Tensor], None]


class BatchSource(Protocol):
    """Deterministic batches: ``batch(i)`` is a function of the seed and ``i`` only,
    so a resumed run sees exactly the batches an uninterrupted one would."""

    def batch(self, index: int) -> Any: ...

    def eval_batches(self, max_batches: int | None = None): ...


class SeqartModel(nn.Module):
    """Base class: config handling and validation shared by all models."""

    registry_name: ClassVar[str]
    config_class: ClassVar[type]
    #: representation the model reads ("melody", "events", "pianoroll", "images")
    representation: ClassVar[str]
    #: what the loss is counted per ("token", "frame", "step", "image")
    item_name: ClassVar[str] = "token"
    #: optimizer steps done so far; the trainer sets it before each
    #: ``training_step`` so schedules (KL annealing, scheduled sampling) can read it
    trainer_step: int = 0
    #: keep the weights with the lowest validation loss (True), or the last weights
    #: (False: a GAN, whose losses do not rank its weights)
    select_on_valid: ClassVar[bool] = True

    def __init__(self, config):
        super().__init__()
        self.config = config

    @classmethod
    def config_from_dict(cls, data: dict) -> Any:
        """Build and validate a config from JSON, before any memory is allocated."""
        from seqart.models.configs import config_from_dict

        return config_from_dict(cls.registry_name, data)

    @classmethod
    def data_config(cls, tokenizer) -> dict:
        """Config entries fixed by the data rather than the preset (vocabulary size,
        frame width), taken from the corpus tokenizer."""
        return {"vocab_size": tokenizer.vocab_size}

    def after_training(self, folder, corpus, tokenizer) -> None:
        """Called once on the best weights after training, to save anything else the
        model folder ``folder`` should hold (e.g. a VAE's attribute vectors)."""

    def config_dict(self) -> dict:
        return asdict(self.config)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

