"""Configs of the image models (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from seqart.errors import ModelError
from seqart.models.checks import check_float, check_int


def _check_image_shape(size, channels) -> None:
    if isinstance(size, bool) or size not in (28, 64):
        raise ModelError(f"config size={size!r} must be 28 or 64 (pixels)")
    if isinstance(channels, bool) or channels not in (1, 3):
        raise ModelError(f"config channels={channels!r} must be 1 (grey) or 3 (RGB)")


@dataclass
class DCGANConfig:
    """Shape of a :class:`seqart.models.images.dcgan.DCGAN` (Radford et al. 2016).

    Attributes:
        size: image side in pixels, 28 or 64 (from the data).
        channels: 1 (grey) or 3 (RGB) (from the data).
        latent_size: dimensions of the noise ``z ~ N(0, I)``.
        g_width: feature maps of the generator's last hidden layer; each layer
            nearer ``z`` has twice as many.
        d_width: feature maps of the discriminator's first layer; each deeper layer
            has twice as many.
        beta1: Adam's first-moment decay for both networks (DCGAN: 0.5).
        ema_decay: sampling uses an exponential moving average of the generator's
            weights with this decay per step (Yazici et al. 2019; 0 = the trained
            generator itself). Training is unchanged.
    """

    size: int = 28
    channels: int = 1
    latent_size: int = 100
    g_width: int = 64
    d_width: int = 64
    beta1: float = 0.5
    ema_decay: float = 0.0

    def validate(self) -> None:
        _check_image_shape(self.size, self.channels)
        check_int("latent_size", self.latent_size, 1, 4096)
        check_int("g_width", self.g_width, 1, 1024)
        check_int("d_width", self.d_width, 1, 1024)
        check_float("beta1", self.beta1, 0.0, 0.999)
        check_float("ema_decay", self.ema_decay, 0.0, 0.99999)


@dataclass
class ImageVAEConfig:
    """Shape and objective of a :class:`seqart.models.images.vae.ImageVAE`.

    Attributes:
        size: image side in pixels, 28 or 64 (from the data).
        channels: 1 (grey) or 3 (RGB) (from the data).
        latent_size: dimensions of z.
        width: feature maps of the encoder's first convolution (doubling per level;
            the decoder mirrors it).
        hidden_size: width of the dense layer between the convolutions and z.
        likelihood: ``"bernoulli"`` (each pixel's intensity in [0, 1] is the target
            of a Bernoulli cross-entropy; the usual choice for MNIST) or ``"gaussian"``
            (a Gaussian on the [-1, 1] values with a learned scale per channel).
        beta_max: weight of the KL term once annealing is done (1 = the ELBO).
        kl_warmup_steps: the KL weight grows linearly from 0 to ``beta_max`` over these steps.
    """

    size: int = 28
    channels: int = 1
    latent_size: int = 16
    width: int = 32
    hidden_size: int = 256
    likelihood: str = "bernoulli"
    beta_max: float = 1.0
    kl_warmup_steps: int = 1000

    def validate(self) -> None:
        _check_image_shape(self.size, self.channels)
        check_int("latent_size", self.latent_size, 1, 4096)
        check_int("width", self.width, 1, 1024)
        check_int("hidden_size", self.hidden_size, 1, 8192)
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ModelError(f"config likelihood={self.likelihood!r} must be 'bernoulli' or 'gaussian'")
        check_float("beta_max", self.beta_max, 0.0, 100.0)
        check_int("kl_warmup_steps", self.kl_warmup_steps, 0, 10 ** 9)
