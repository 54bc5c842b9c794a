"""Sequence VAEs over melody spans (the MusicVAE family): encode a span of bars into a
latent code and decode it back, with a flat or a hierarchical decoder; sample,
interpolate, vary and shift along attribute vectors (:mod:`.sampler`)."""

from seqart.models.music_vae.config import MusicVAEConfig
from seqart.models.music_vae.presets import PRESETS
from seqart.models.registry import ModelType

MODEL_TYPES = (
    ModelType(name="music-vae", family="music_vae", config=MusicVAEConfig,
              model="seqart.models.music_vae.model:MusicVAE",
              generator="seqart.models.music_vae.sampler:MelodyVAE", representation="melody", presets=PRESETS,
              tiny_preset="melody-vae-tiny"),
)
