"""DCGAN (Radford, Metz & Chintala 2016) for 28x28 and 64x64 images.

The architecture rules of the paper:

- no pooling: the discriminator downsamples with strided convolutions, the
  generator upsamples with strided transposed convolutions;
- BatchNorm in both networks except at the generator's output and the
  discriminator's input;
- ReLU in the generator, Tanh at its output (images in ``[-1, 1]``);
  LeakyReLU (slope 0.2) in the discriminator;
- weights drawn from ``N(0, 0.02)`` (BatchNorm scales from ``N(1, 0.02)``);
- Adam, learning rate 2e-4, ``beta1 = 0.5`` (the presets set the rate).

64x64: ``z -> 4x4 (8w) -> 8x8 (4w) -> 16x16 (2w) -> 32x32 (w) -> 64x64``, as in
the paper. 28x28 (MNIST): ``z -> 3x3 (4w) -> 7x7 (2w) -> 14x14 (w) -> 28x28``. The
discriminator mirrors the generator and ends in one logit per image.

Training uses the trainer's two optimizers: each ``training_step`` calls
``step("d", ...)`` (real images vs detached fakes) and then ``step("g", ...)``
(the non-saturating loss ``-log D(G(z))`` on the same fakes, through the updated D).

With ``ema_decay > 0`` the model also keeps ``generator_ema``, an exponential moving
average of the generator's weights (and BatchNorm statistics), updated after each
step and used for sampling: averaging removes much of the step-to-step wobble of
GAN training and gives better samples for the same compute (Yazici et al. 2019).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from seqart.models.base import StepFn
from seqart.models.images.config import DCGANConfig
from seqart.models.images.base import ImageModel

#: generator layers per image size, from z outwards: (kernel, stride, padding, width multiple);
#: a multiple of 0 is the output layer (``channels`` maps)
LAYOUTS = {
    28: [(3, 1, 0, 4), (3, 2, 0, 2), (4, 2, 1, 1), (4, 2, 1, 0)],  # 1 -> 3 -> 7 -> 14 -> 28
    64: [(4, 1, 0, 8), (4, 2, 1, 4), (4, 2, 1, 2), (4, 2, 1, 1), (4, 2, 1, 0)],  # 1 -> 4 -> 8 -> 16 -> 32 -> 64
}


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN initialisation: convolutions ``N(0, 0.02)``; BatchNorm scale ``N(1, 0.02)``, shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """``z`` ``(B, Z)`` -> images ``(B, C, H, W)`` in ``[-1, 1]``."""

    def __init__(self, c: DCGANConfig):
        super().__init__()
        layers: list[nn.Module] = []
        cin = c.latent_size
        for kernel, stride, pad, mult in LAYOUTS[c.size]:
            last = mult == 0
            cout = c.channels if last else c.g_width * mult
            layers.append(nn.ConvTranspose2d(cin, cout, kernel, stride, pad, bias=False))
            if last:
                layers.append(nn.Tanh())
            else:
                layers += [nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            cin = cout
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])  # (B, Z, 1, 1) -> (B, C, H, W)


class DCGANDiscriminator(nn.Module):
    """Images ``(B, C, H, W)`` -> logits ``(B,)`` (positive = judged real)."""

    def __init__(self, c: DCGANConfig):
        super().__init__()
        layers: list[nn.Module] = []
        mirrored = list(reversed(LAYOUTS[c.size]))  # from the image inwards
        cin = c.channels
        for i, (kernel, stride, pad, _) in enumerate(mirrored):
            last = i == len(mirrored) - 1
            mult = mirrored[i + 1][3] if not last else 0
            cout = 1 if last else c.d_width * mult
            layers.append(nn.Conv2d(cin, cout, kernel, stride, pad, bias=False))
            if not last:
                if i > 0:  # no BatchNorm on the input layer
                    layers.append(nn.BatchNorm2d(cout))
                layers.append(nn.LeakyReLU(0.2, inplace=True))
            cin = cout
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()  # (B, 1, 1, 1) -> (B,)


class DCGAN(ImageModel):
    """A generator and a discriminator trained against each other.

    Sampling: :meth:`generate` maps latent codes to images (the generator in eval
    mode uses its BatchNorm running statistics, so an image depends on its own
    ``z`` only).
    """

    registry_name = "dcgan"
    #: a GAN's losses do not rank its weights: the trainer keeps the last ones
    select_on_valid = False
    #: the D step reaches no generator weight, the G step no discriminator weight
    uses_all_parameters = False

    def __init__(self, config: DCGANConfig):
        config.validate()
        super().__init__(config)
        self.generator = DCGANGenerator(config)
        self.discriminator = DCGANDiscriminator(config)
        self.apply(dcgan_init)
        if config.ema_decay > 0:
            self.generator_ema = DCGANGenerator(config).requires_grad_(False)
            self.generator_ema.load_state_dict(self.generator.state_dict())

    @property
    def latent_size(self) -> int:
        return self.config.latent_size


    @property
    def sampler(self) -> DCGANGenerator:
        """The generator that samples: the weight average when kept, else the trained one."""
        return self.generator_ema if self.config.ema_decay > 0 else self.generator

    @torch.no_grad()
    def generate(self, z: torch.Tensor, average: bool = True) -> torch.Tensor:
        """Images ``(N, C, H, W)`` in ``[-1, 1]`` for latent codes ``z`` ``(N, Z)`` (eval-mode BatchNorm).

        Args:
            average: use the weight-averaged generator when the model keeps one (False: the trained one).
        """
        sampler = self.sampler if average else self.generator
        training = sampler.training
        sampler.eval()
        try:
            return sampler(z)
        finally:
            sampler.train(training)

    @torch.no_grad()
    def update_ema(self, step: int) -> None:
        """Move ``generator_ema`` towards the generator: ``ema = d * ema + (1 - d) * g`` for weights and
        BatchNorm statistics, with ``d = min(ema_decay, (1 + step) / (10 + step))`` so early steps are not
        dominated by the random initialisation."""
        decay = min(self.config.ema_decay, (1 + step) / (10 + step))
        for avg, cur in zip(self.generator_ema.state_dict().values(), self.generator.state_dict().values()):
            if avg.dtype.is_floating_point:
                avg.lerp_(cur, 1 - decay)
            else:
                avg.copy_(cur)

    # ------------------------------------------------------------ training
    def configure_optimizers(self, train):
        betas = (self.config.beta1, 0.999)
        return {"d": torch.optim.Adam(self.discriminator.parameters(), lr=train.lr, betas=betas),
                "g": torch.optim.Adam(self.generator.parameters(), lr=train.lr, betas=betas)}

    def training_step(self, batch: torch.Tensor, step: StepFn) -> dict:
        """One D update, then one G update.

        Args:
            batch: real images ``(B, C, H, W)`` in ``[-1, 1]``.
            step: the trainer's ``step(name, loss)``.

        Returns:
            ``d`` and ``g`` losses (nats per image), ``d_real``/``d_fake`` (D's mean
            probability of "real" on real and fake images), ``items``.
        """
        d_loss, g_loss, d_real, d_fake = self.adversarial_step(batch, step)
        return {"d": d_loss.detach(), "g": g_loss.detach(), "d_real": torch.sigmoid(d_real.detach()).mean(),
                "d_fake": torch.sigmoid(d_fake.detach()).mean(), "items": batch.size(0)}

    def adversarial_step(self, real: torch.Tensor, step: StepFn, extra_fakes: torch.Tensor | None = None):
        """One D update (``real`` -> 1; G's fakes and ``extra_fakes`` -> 0), one G update, and
        the weight average's update.

        Args:
            real: images ``(B, C, H, W)`` in ``[-1, 1]``.
            step: the trainer's ``step(name, loss)``.
            extra_fakes: more images ``(K, C, H, W)`` D learns to call fake (a tune's disliked ones).

        Returns:
            ``(d_loss, g_loss, d_real (B,), d_fake (B + K,))``, D's logits in float32.
        """
        B = real.size(0)
        z = self.batch_noise(B, self.config.latent_size, device=real.device)
        fake = self.generator(z)  # (B, C, H, W)
        fakes = fake.detach() if extra_fakes is None else torch.cat([fake.detach(), extra_fakes])
        # D: real -> 1, fake -> 0. The fakes are detached so the D loss sends nothing into G.
        d_real = self.discriminator(real).float()
        d_fake = self.discriminator(fakes).float()
        d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        step("d", d_loss)
        # G: make the updated D call the same fakes real. D's parameters are frozen for this
        # pass so G's loss computes no gradients for them.
        self.discriminator.requires_grad_(False)
        try:
            g_logits = self.discriminator(fake).float()
            g_loss = F.binary_cross_entropy_with_logits(g_logits, torch.ones_like(g_logits))
            step("g", g_loss)
        finally:
            self.discriminator.requires_grad_(True)
        if self.config.ema_decay > 0:
            self.update_ema(self.trainer_step)
        return d_loss, g_loss, d_real, d_fake

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict:
        """D against held-out real images and as many fakes (fixed noise), summed over the batch.

        After the trainer divides by ``weight`` (images): ``loss`` = ``d`` (D's
        cross-entropy on one real plus one fake, nats), ``g`` (G's loss), ``d_accuracy``
        (share of real and fake images D classifies right), ``d_real_accuracy``,
        ``d_fake_accuracy``. A GAN's weights are not chosen by these (see ``select_on_valid``).
        """
        B = batch.size(0)
        gen = torch.Generator(device=batch.device).manual_seed(B)
        z = torch.randn(B, self.config.latent_size, device=batch.device, generator=gen)
        fake = self.generate(z)  # as sampled
        with batch_statistics(self.discriminator):  # D judges as in training: real and fake batches apart
            d_real = self.discriminator(batch).float()
            d_fake = self.discriminator(fake).float()
        d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real), reduction="sum")
             + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake), reduction="sum"))
        g = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake), reduction="sum")
        real_ok, fake_ok = (d_real > 0).sum(), (d_fake < 0).sum()
        return {"loss": d, "d": d, "g": g, "d_accuracy": (real_ok + fake_ok) / 2, "d_real_accuracy": real_ok,
                "d_fake_accuracy": fake_ok, "weight": B}


@contextmanager
def batch_statistics(module: nn.Module):
    """Within the block, the BatchNorm layers of ``module`` normalise with each batch's own
    statistics, as in training; their running statistics are left as they were.

    A GAN's discriminator is trained on all-real and all-fake batches, so its running
    statistics (a blend of the two) describe neither: judged in eval mode it is not the
    discriminator that was trained.
    """
    layers = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.training, {k: v.clone() for k, v in m.named_buffers()}) for m in layers]
    for m in layers:
        m.train()
    try:
        yield module
    finally:
        for m, (training, buffers) in zip(layers, saved):
            m.train(training)
            for k, v in buffers.items():
                getattr(m, k).copy_(v)
