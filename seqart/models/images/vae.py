"""A convolutional VAE (Kingma & Welling 2014) for 28x28 and 64x64 images.

Encoder: strided convolutions (``w, 2w, ...`` maps, each halving the side) down to
7x7 (28) or 4x4 (64), a dense layer, then the mean and log-variance of a diagonal
Gaussian posterior ``q(z|x)``. Decoder: the mirror image, ending in one value per
pixel.

Likelihood ``p(x|z)`` (config ``likelihood``):

- ``"bernoulli"``: the decoder gives a logit per pixel and value; the target is the
  intensity in ``[0, 1]``. For grey-level targets this is a cross-entropy rather
  than a normalised likelihood (exact for binary images); the usual MNIST choice.
- ``"gaussian"``: the decoder gives a mean in ``[-1, 1]`` (tanh) and a learned
  log-scale per channel; a density on the ``[-1, 1]`` values.

Loss: ``recon + beta * KL`` in nats per image, ``beta`` annealed linearly from 0 to
``beta_max`` over ``kl_warmup_steps`` (read from ``trainer_step``). Validation
reports the negative ELBO (``beta = 1``) in nats per image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqart.models.base import StepFn
from seqart.models.images.config import ImageVAEConfig
from seqart.models.images.base import ImageModel

#: convolution levels (each halves the side) and the side at the bottom
LEVELS = {28: (2, 7), 64: (4, 4)}


class ImageVAE(ImageModel):
    """Conv encoder -> Gaussian ``z`` -> conv decoder."""

    registry_name = "image-vae"

    def __init__(self, config: ImageVAEConfig):
        config.validate()
        super().__init__(config)
        c = config
        levels, self.bottom = LEVELS[c.size]
        widths = [c.width * 2 ** i for i in range(levels)]  # (w, 2w, ...)
        enc: list[nn.Module] = []
        cin = c.channels
        for w in widths:
            enc += [nn.Conv2d(cin, w, 4, 2, 1), nn.ReLU(inplace=True)]
            cin = w
        self.encoder = nn.Sequential(*enc, nn.Flatten(),
                                     nn.Linear(cin * self.bottom ** 2, c.hidden_size), nn.ReLU(inplace=True))
        self.to_mu = nn.Linear(c.hidden_size, c.latent_size)
        self.to_logvar = nn.Linear(c.hidden_size, c.latent_size)
        self.bottom_width = cin
        self.from_z = nn.Sequential(nn.Linear(c.latent_size, c.hidden_size), nn.ReLU(inplace=True),
                                    nn.Linear(c.hidden_size, cin * self.bottom ** 2), nn.ReLU(inplace=True))
        dec: list[nn.Module] = []
        for w in reversed(widths[:-1]):
            dec += [nn.ConvTranspose2d(cin, w, 4, 2, 1), nn.ReLU(inplace=True)]
            cin = w
        dec.append(nn.ConvTranspose2d(cin, c.channels, 4, 2, 1))
        self.decoder = nn.Sequential(*dec)
        if c.likelihood == "gaussian":
            self.log_scale = nn.Parameter(torch.full((c.channels,), math.log(0.2)))

    @property
    def latent_size(self) -> int:
        return self.config.latent_size

    @property
    def pixels(self) -> int:
        """Values per image (``C * H * W``)."""
        return self.config.channels * self.config.size ** 2


    # ------------------------------------------------------------- networks
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior of each image.

        Args:
            x: images ``(B, C, H, W)`` in ``[-1, 1]``.

        Returns:
            (mu ``(B, Z)``, log-variance ``(B, Z)``)
        """
        h = self.encoder(x)  # (B, hidden)
        return self.to_mu(h), self.to_logvar(h).clamp(-12.0, 8.0)

    def decode_raw(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output ``(B, C, H, W)``: logits (Bernoulli) or pre-tanh means (Gaussian)."""
        h = self.from_z(z).view(z.size(0), self.bottom_width, self.bottom, self.bottom)
        return self.decoder(h)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, average: bool = True) -> torch.Tensor:
        """Mean images ``(N, C, H, W)`` in ``[-1, 1]`` for latent codes ``z`` ``(N, Z)``.

        ``average`` is the image models' common signature (a DCGAN may sample from a
        weight average); a VAE keeps none, so it gives the same images either way.
        """
        out = self.decode_raw(z)
        return torch.sigmoid(out) * 2 - 1 if self.config.likelihood == "bernoulli" else torch.tanh(out)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean reconstruction ``(B, C, H, W)`` in ``[-1, 1]`` from the posterior mean."""
        mu, _ = self.encode(x)
        return self.generate(mu)

    # ------------------------------------------------------------ objective
    def nll(self, x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        """Reconstruction term ``-log p(x|z)``, nats per image ``(B,)``."""
        raw = raw.float()
        if self.config.likelihood == "bernoulli":
            target = (x.float() + 1) / 2
            return F.binary_cross_entropy_with_logits(raw, target, reduction="none").flatten(1).sum(1)
        mean = torch.tanh(raw)
        log_scale = self.log_scale.clamp(min=-7.0)[None, :, None, None]
        per = 0.5 * ((x.float() - mean) * torch.exp(-log_scale)) ** 2 + log_scale + 0.5 * math.log(2 * math.pi)
        return per.flatten(1).sum(1)

    @staticmethod
    def kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """``KL(q(z|x) || N(0, I))``, nats per image ``(B,)``."""
        mu, logvar = mu.float(), logvar.float()
        return 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)

    def terms(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One-sample estimates of the reconstruction NLL and the KL, nats per image, each ``(B,)``."""
        mu, logvar = self.encode(x)
        eps = (torch.randn(mu.shape, device=mu.device, generator=generator) if generator is not None
               else self.batch_noise(*mu.shape, device=mu.device))
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.nll(x, self.decode_raw(z)), self.kl(mu, logvar)

    def kl_weight(self, step: int) -> float:
        """``beta`` at optimizer step ``step``: linear from 0 to ``beta_max`` over ``kl_warmup_steps``."""
        c = self.config
        return c.beta_max * (min(1.0, step / c.kl_warmup_steps) if c.kl_warmup_steps else 1.0)

    # ------------------------------------------------------------ training
    def configure_optimizers(self, train):
        return {"main": torch.optim.AdamW(self.parameters(), lr=train.lr, weight_decay=train.weight_decay)}

    def training_step(self, batch: torch.Tensor, step: StepFn) -> dict:
        """``recon + beta * KL`` (nats per image), one optimizer step.

        Args:
            batch: images ``(B, C, H, W)`` in ``[-1, 1]``.
        """
        beta = self.kl_weight(self.trainer_step)
        recon, kl = self.terms(batch)
        loss = (recon + beta * kl).mean()
        step("main", loss)
        return {"loss": loss.detach(), "recon": recon.detach().mean(), "kl": kl.detach().mean(),
                "beta": torch.tensor(beta), "items": batch.size(0)}

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict:
        """Sums over the batch; per image after the trainer divides by ``weight``:
        ``loss`` = negative ELBO (``recon + KL``, one posterior sample with fixed noise), nats."""
        gen = torch.Generator(device=batch.device).manual_seed(batch.size(0))
        recon, kl = self.terms(batch, generator=gen)
        return {"loss": (recon + kl).sum(), "recon": recon.sum(), "kl": kl.sum(), "weight": batch.size(0)}
