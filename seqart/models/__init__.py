"""Model registry and model folders.

A model folder holds ``config.json`` (the model's registry name and constructor
config), ``model.safetensors`` (weights) and ``tokenizer.json``: everything needed
to sample, and nothing that executes code when loaded.

Importing this package is cheap; torch loads with the first model class.
"""

from __future__ import annotations

import importlib

from seqart.errors import ModelError

#: registry name -> "module:Class" (imported on first use)
REGISTRY = {
    "melody-lstm": "seqart.models.melody_lstm:MelodyLSTM",
    "poly-lstm": "seqart.models.poly:PolyLSTM",
    "poly-nade": "seqart.models.poly:PolyNADE",
    "music-vae": "seqart.models.music_vae:MusicVAE",
    "dcgan": "seqart.models.dcgan:DCGAN",
    "image-vae": "seqart.models.image_vae:ImageVAE",
}


def model_class(name: str):
    """The model class registered as ``name``."""
    try:
        target = REGISTRY[name]
    except KeyError:
        raise ModelError(f"unknown model type {name!r}; known: {', '.join(REGISTRY)}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["REGISTRY", "model_class"]
