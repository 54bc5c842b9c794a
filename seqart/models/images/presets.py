"""Presets of the image models (DCGAN and convolutional VAE, 28x28 and 64x64)."""

from __future__ import annotations

from seqart.models.registry import Preset

#: image presets (DCGAN and conv VAE, 28x28 and 64x64): name -> (model, description, model config,
#: training settings). ``channels`` comes from the data (grey or RGB); ``--set channels=3`` forces RGB.
#: The 28x28 step counts are sized to finish in under 30 minutes on one CPU thread (README).
_GAN_TRAIN = {"lr": 2e-4, "weight_decay": 0.0, "warmup_steps": 0, "schedule": "constant", "grad_clip": 0.0}
_IMAGE_VAE_TRAIN = {"lr": 1e-3, "weight_decay": 0.0, "warmup_steps": 100, "grad_clip": 0.0}
_IMAGE_SETTINGS = {
    "dcgan-28": (
        "dcgan", "DCGAN for 28x28 images (MNIST): strided convs, BatchNorm, Adam 2e-4 beta1 0.5; "
                 "samples from a weight average",
        {"size": 28, "latent_size": 100, "g_width": 64, "d_width": 64, "ema_decay": 0.995},
        {**_GAN_TRAIN, "steps": 6000, "batch_size": 64, "val_every": 500, "val_batches": 10,
         "checkpoint_every": 250, "log_every": 50},
    ),
    "dcgan-64": (
        "dcgan", "DCGAN for 64x64 images (the paper's architecture, grey or RGB)",
        {"size": 64, "latent_size": 100, "g_width": 64, "d_width": 64, "ema_decay": 0.999},
        {**_GAN_TRAIN, "steps": 10000, "batch_size": 64, "val_every": 1000, "val_batches": 10,
         "checkpoint_every": 500, "log_every": 50},
    ),
    "dcgan-tiny": (
        "dcgan", "a tiny 28x28 DCGAN for smoke tests",
        {"size": 28, "latent_size": 8, "g_width": 4, "d_width": 4},
        {**_GAN_TRAIN, "steps": 4, "batch_size": 8, "val_every": 2, "val_batches": 1, "checkpoint_every": 2,
         "log_every": 2},
    ),
    "image-vae-28": (
        "image-vae", "convolutional VAE for 28x28 images (MNIST), Bernoulli likelihood, KL annealing",
        {"size": 28, "latent_size": 16, "width": 32, "hidden_size": 256, "likelihood": "bernoulli",
         "beta_max": 1.0, "kl_warmup_steps": 1000},
        {**_IMAGE_VAE_TRAIN, "steps": 10000, "batch_size": 128, "val_every": 1000, "val_batches": 10,
         "checkpoint_every": 250, "log_every": 50},
    ),
    "image-vae-64": (
        "image-vae", "convolutional VAE for 64x64 images, Bernoulli likelihood, KL annealing",
        {"size": 64, "latent_size": 64, "width": 32, "hidden_size": 512, "likelihood": "bernoulli",
         "beta_max": 1.0, "kl_warmup_steps": 2000},
        {**_IMAGE_VAE_TRAIN, "steps": 10000, "batch_size": 64, "val_every": 1000, "val_batches": 10,
         "checkpoint_every": 500, "log_every": 50},
    ),
    "image-vae-tiny": (
        "image-vae", "a tiny 28x28 image VAE for smoke tests",
        {"size": 28, "latent_size": 4, "width": 4, "hidden_size": 16, "likelihood": "bernoulli",
         "beta_max": 1.0, "kl_warmup_steps": 2},
        {**_IMAGE_VAE_TRAIN, "warmup_steps": 0, "steps": 4, "batch_size": 8, "val_every": 2, "val_batches": 1,
         "checkpoint_every": 2, "log_every": 2},
    ),
}


def _presets(model_type: str) -> tuple[Preset, ...]:
    return tuple(Preset(name=name, model=model, representation="images", description=desc,
                        model_config=dict(config), train=dict(train))
                 for name, (model, desc, config, train) in _IMAGE_SETTINGS.items() if model == model_type)


DCGAN_PRESETS = _presets("dcgan")
IMAGE_VAE_PRESETS = _presets("image-vae")
