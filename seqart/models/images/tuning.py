"""Tuning an image model on the pictures a composer liked: the objectives.

Both tuners read :class:`LikedBatches`: each batch is ``B`` images of which a share
``liked_share`` are liked pictures (drawn with replacement) and the rest replay the
model's training images (when those are on this machine; else every row is liked).

- **DCGAN** (:class:`FeedbackDCGAN`): the liked pictures join the discriminator's real
  set beside the replayed training images. D learns that they are real, and G, which
  chases D, moves its samples towards them; the replayed images keep the rest of the
  data real, so G does not forget how to draw it. Disliked pictures join the *fake*
  set (a quarter batch of them beside G's fakes): D learns to call them fake, and G is
  pushed away from what it looks like. The generator starts from the weight average
  (``generator_ema``) when the model keeps one: those are the weights that drew the
  pictures the composer rated.
- **image VAE** (:class:`FeedbackImageVAE`): the negative ELBO (``recon + beta * KL``,
  nats per image, ``beta`` at the model's ``beta_max``: the base's KL annealing is over)
  averaged over the batch, liked and replayed rows alike. Disliked pictures are
  ignored: pushing a likelihood *down* on chosen images has no bounded form as cheap
  as this one, and the liked share already decides where the model's mass goes.

A tuner is what the family registers as its ``tuner`` (see
:mod:`seqart.models.registry`): a model class with ``from_base(base)`` and a
``training_step`` over :class:`LikedBatches`; :mod:`seqart.workflows.tune_images`
runs it on the one trainer. It saves a plain ``dcgan`` / ``image-vae`` model folder
that samples like any other.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from seqart.errors import SeqartError
from seqart.models.base import StepFn
from seqart.models.images.dcgan import DCGAN
from seqart.models.images.vae import ImageVAE

#: disliked pictures per batch, as a share of the batch (DCGAN: they join the fakes)
DISLIKED_SHARE = 0.25


class LikedBatches:
    """Training batches of liked pictures mixed with replayed training images.

    Args:
        liked: ``uint8`` ``(N, C, H, W)`` liked pictures (N >= 1).
        replay: ``uint8`` ``(M, C, H, W)`` training images of the model, or None.
        disliked: ``uint8`` ``(K, C, H, W)`` disliked pictures, or None.
        batch_size: rows per batch (B).
        liked_share: share of the B rows that are liked pictures, in (0, 1]; 1 (or no
            replay) makes every row liked.
        seed: ``batch(i)`` depends only on ``(seed, i)``.
    """

    def __init__(self, liked: np.ndarray, replay: np.ndarray | None = None, disliked: np.ndarray | None = None,
                 batch_size: int = 64, liked_share: float = 0.5, seed: int = 0):
        if not 0 < liked_share <= 1:
            raise SeqartError(f"the liked share must be above 0 and at most 1, got {liked_share}")
        if batch_size < 2:
            raise SeqartError(f"batch size must be at least 2, got {batch_size}")
        if len(liked) == 0:
            raise SeqartError("no liked picture to tune on")
        self.liked, self.seed, self.batch_size = liked, seed, batch_size
        self.replay = replay if replay is not None and len(replay) else None
        self.disliked = disliked if disliked is not None and len(disliked) else None
        rows = min(batch_size, max(1, round(batch_size * liked_share)))
        self.liked_rows = batch_size if self.replay is None else rows

    def batch(self, index: int) -> dict:
        """Batch ``index``: ``{"images": (B, C, H, W) float32 in [-1, 1], liked rows first,
        "liked": (B,) bool, "disliked": (B // 4, C, H, W)}`` (``disliked`` only when given)."""
        rng = np.random.default_rng([self.seed, index])
        parts = [self.liked[rng.integers(0, len(self.liked), self.liked_rows)]]
        if self.liked_rows < self.batch_size:
            parts.append(self.replay[rng.integers(0, len(self.replay), self.batch_size - self.liked_rows)])
        out = {"images": _to_model(np.concatenate(parts)),
               "liked": torch.arange(self.batch_size) < self.liked_rows}
        if self.disliked is not None:
            count = max(1, round(self.batch_size * DISLIKED_SHARE))
            out["disliked"] = _to_model(self.disliked[rng.integers(0, len(self.disliked), count)])
        return out


def _to_model(images: np.ndarray) -> torch.Tensor:
    """``uint8`` ``(N, C, H, W)`` -> float32 ``(N, C, H, W)`` in ``[-1, 1]``."""
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(127.5).sub_(1.0)


class FeedbackDCGAN(DCGAN):
    """A :class:`DCGAN` whose discriminator's real set holds the liked pictures beside the
    replayed training images, and whose fake set holds the disliked ones (module docstring).
    The ``dcgan`` family's registered tuner; it saves a plain ``dcgan`` model folder."""

    #: peak learning rate of a tune (the DCGAN paper's, as the presets train with)
    default_lr: ClassVar[float] = 2e-4
    #: disliked pictures take part (as fakes)
    uses_disliked: ClassVar[bool] = True

    @classmethod
    def from_base(cls, base: DCGAN) -> FeedbackDCGAN:
        """A copy of ``base``; its generator starts from the weight average when ``base`` keeps one."""
        model = cls(base.config)
        model.load_state_dict(base.state_dict())
        if base.config.ema_decay > 0:
            model.generator.load_state_dict(model.generator_ema.state_dict())
        return model

    def training_step(self, batch: dict, step: StepFn) -> dict:
        """One D update (real: liked + replayed; fake: G's samples + disliked), then one G update.

        Returns:
            ``d`` and ``g`` losses (nats per image), ``d_liked`` and ``d_replay`` (D's mean
            probability of "real" on the liked and on the replayed rows), ``items``.
        """
        real, liked = batch["images"], batch["liked"]  # (B, C, H, W), (B,)
        d_loss, g_loss, d_real, _ = self.adversarial_step(real, step, batch.get("disliked"))
        p_real = torch.sigmoid(d_real.detach())
        out = {"d": d_loss.detach(), "g": g_loss.detach(), "d_liked": p_real[liked].mean(), "items": real.size(0)}
        if not bool(liked.all()):
            out["d_replay"] = p_real[~liked].mean()
        return out


class FeedbackImageVAE(ImageVAE):
    """An :class:`ImageVAE` fine-tuned on liked pictures with replay, at the full KL weight
    (module docstring). The ``image-vae`` family's registered tuner; it saves a plain
    ``image-vae`` model folder."""

    default_lr: ClassVar[float] = 5e-4
    #: disliked pictures are ignored (module docstring)
    uses_disliked: ClassVar[bool] = False

    @classmethod
    def from_base(cls, base: ImageVAE) -> FeedbackImageVAE:
        """A copy of ``base`` (weights and config)."""
        model = cls(base.config)
        model.load_state_dict(base.state_dict())
        return model

    def training_step(self, batch: dict, step: StepFn) -> dict:
        """``recon + beta_max * KL`` (nats per image) averaged over liked and replayed rows; one step.

        Returns:
            ``loss``, ``liked`` and ``replay`` (the negative ELBO estimate on each kind of row), ``items``.
        """
        images, liked = batch["images"], batch["liked"]  # (B, C, H, W), (B,)
        recon, kl = self.terms(images)  # (B,), (B,)
        per_image = recon + self.config.beta_max * kl
        loss = per_image.mean()
        step("main", loss)
        out = {"loss": loss.detach(), "liked": per_image[liked].detach().mean(), "items": images.size(0)}
        if not bool(liked.all()):
            out["replay"] = per_image[~liked].detach().mean()
        return out
