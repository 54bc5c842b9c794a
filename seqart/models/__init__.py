"""Models: one folder per family, registered once (:mod:`seqart.models.registry`),
and model folders (:mod:`seqart.models.folder`).

A model folder holds ``config.json`` (the model's registry name and constructor
config), ``model.safetensors`` (weights) and ``tokenizer.json``: everything needed
to sample, and nothing that executes code when loaded.

Importing this package is cheap; torch loads with the first model class.
"""

from __future__ import annotations

from seqart.models.registry import REGISTRY, ModelType, Preset, config_from_dict, get_preset, model_class, model_type

__all__ = ["REGISTRY", "ModelType", "Preset", "config_from_dict", "get_preset", "model_class", "model_type"]
