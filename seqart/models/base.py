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
    #: what the loss is counted per ("token", "frame", "step", "image")
    item_name: ClassVar[str] = "token"
    #: optimizer steps done so far; the trainer sets it before each
    #: ``training_step`` so schedules (KL annealing, scheduled sampling) can read it
    trainer_step: int = 0
    #: keep the weights with the lowest validation loss (True), or the last weights
    #: (False: a GAN, whose losses do not rank its weights)
    select_on_valid: ClassVar[bool] = True
    #: every optimizer step gives every trainable parameter a gradient (False: a GAN,
    #: whose discriminator step leaves the generator out): in a data-parallel run
    #: DDP then need not search each loss's graph for parameters it does not reach
    uses_all_parameters: ClassVar[bool] = True
    #: set by the trainer around each ``training_step``: this process's rows of the
    #: global batch ``(first, total)`` and a generator seeded for this step alone,
    #: the same in every process (see :meth:`batch_noise`); None outside the trainer
    batch_rows: tuple[int, int] | None = None
    noise_generator: torch.Generator | None = None

    def __init__(self, config):
        super().__init__()
        self.config = config

    @classmethod
    def config_from_dict(cls, data: dict) -> Any:
        """Build and validate a config from JSON, before any memory is allocated."""
        from seqart.models.registry import config_from_dict

        return config_from_dict(cls.registry_name, data)

    @classmethod
    def data_config(cls, tokenizer) -> dict:
        """Config entries fixed by the data rather than the preset (vocabulary size,
        frame width), taken from the corpus tokenizer."""
        return {"vocab_size": tokenizer.vocab_size}

    def save_data_files(self, folder, corpus, tokenizer) -> None:
        """Write into ``folder`` the side files that follow from the training data alone
        (a melody model's openings, ``keys.json``). Called once before training; the
        trainer copies them into every model folder it saves, so a run's best model
        samples mid-run as it will when the run ends."""

    def after_training(self, folder, corpus, tokenizer) -> None:
        """Called once on the best weights after training, to save anything else the
        model folder ``folder`` should hold that depends on the weights (e.g. a VAE's
        attribute vectors)."""

    def batch_noise(self, rows: int, *dims: int, device: torch.device) -> torch.Tensor:
        """Standard normal noise ``(rows, *dims)`` for the rows of this training batch
        (a VAE's posterior sample, a GAN's latent codes).

        Inside the trainer every process draws the noise of the whole global batch
        from the step's generator and keeps its own rows, so N data-parallel
        processes use exactly the noise one process would, and a resumed run the
        noise of an uninterrupted one. Outside it, torch's global generator draws.
        """
        gen = self.noise_generator
        if gen is None or self.batch_rows is None:
            return torch.randn(rows, *dims, device=device)
        first, total = self.batch_rows
        full = torch.randn(total, *dims, device=gen.device, generator=gen)  # (total, *dims)
        return full[first: first + rows].to(device)

    def mean_items(self, count: torch.Tensor) -> torch.Tensor:
        """What to divide this process's summed training loss by, given the ``count`` of
        items (unpadded tokens, unmasked frames) it sums over.

        In a data-parallel training step this is the mean of ``count`` over the
        processes (one small all-reduce), so that DDP's average of the processes'
        gradients is the gradient of the mean loss over the whole global batch even
        when padding leaves the slices with different counts. Elsewhere it is
        ``count`` itself.
        """
        count = count.detach().float().clamp(min=1)
        if self.batch_rows is None or not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return count
        world = torch.distributed.get_world_size()
        if world == 1:
            return count
        total = count.clone()
        torch.distributed.all_reduce(total)
        return total / world

    def config_dict(self) -> dict:
        return asdict(self.config)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

