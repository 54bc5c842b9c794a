"""Image models: a DCGAN and a convolutional VAE, 28x28 or 64x64, grey or RGB; sampled
as image grids, PNGs and latent walks (:mod:`.sampler`), and tuned on the pictures a
composer liked (:mod:`.tuning`)."""

from seqart.models.images.config import DCGANConfig, ImageVAEConfig
from seqart.models.images.presets import DCGAN_PRESETS, IMAGE_VAE_PRESETS
from seqart.models.registry import ModelType

MODEL_TYPES = (
    ModelType(name="dcgan", family="images", config=DCGANConfig, model="seqart.models.images.dcgan:DCGAN",
              generator="seqart.models.images.sampler:ImageGenerator", representation="images",
              presets=DCGAN_PRESETS, tiny_preset="dcgan-tiny", outputs="images",
              image_targets=("fid_within_5x_floor",), tuner="seqart.models.images.tuning:FeedbackDCGAN"),
    ModelType(name="image-vae", family="images", config=ImageVAEConfig, model="seqart.models.images.vae:ImageVAE",
              generator="seqart.models.images.sampler:ImageGenerator", representation="images",
              presets=IMAGE_VAE_PRESETS, tiny_preset="image-vae-tiny", outputs="images",
              image_targets=("fid_below_blurred",), tuner="seqart.models.images.tuning:FeedbackImageVAE"),
)
