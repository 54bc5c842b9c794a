"""Every registered model type at toy size: its tiny preset (declared by its family in
the registry), the tokenizer of its representation, and batch sources made by the
model class's own ``data()`` from synthetic music made here (no corpus, no download).

:data:`CASES` holds one case per registered type, built from the type's
``tiny_preset``, plus the variants a type's config switches between (the NADE inner
model, the hierarchical decoder, the GAN's weight average). A model type cannot be
registered without a tiny preset (the registry refuses it), so every new type is
covered by the tests parametrized over :data:`CASES` without a line added here.
Dropout is off in every tiny preset, so one process and several see the same
computation; some sequences are shorter than a window, so batches hold padding
and masked steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

#: keys per frame of the synthetic piano rolls
KEYS = 12


@dataclass
class ModelCase:
    """A registered model type at toy size.

    Attributes:
        id: test id (the registry name, plus the variant).
        model: registry name.
        config: the model config entries of the tiny preset (with the variant's on top).
        train: TrainConfig entries the case's batches need (``seq_len``).
    """

    id: str
    model: str
    config: dict
    train: dict = field(default_factory=dict)

    @property
    def model_type(self):
        from seqart.models.registry import model_type

        return model_type(self.model)

    def make_tokenizer(self):
        """The tokenizer of the type's representation, for the synthetic data."""
        return _tokenizer(self.model_type.representation)

    def build(self, seed: int = 0):
        """``(model, tokenizer)`` with weights drawn under ``seed``."""
        import torch

        cls = self.model_type.model_class()
        tokenizer = self.make_tokenizer()
        torch.manual_seed(seed)
        return cls(cls.config_from_dict({**self.config, **cls.data_config(tokenizer)})), tokenizer

    def make_data(self, batch_size: int, seed: int, training: bool):
        """A batch source of synthetic data through the model class's own ``data()``."""
        from seqart.train.config import TrainConfig

        cls = self.model_type.model_class()
        tokenizer = self.make_tokenizer()
        config = cls.config_from_dict({**self.config, **cls.data_config(tokenizer)})
        settings = TrainConfig(batch_size=batch_size, **self.train)
        sequences = _sequences(self.model_type.representation)
        return cls.data(sequences, tokenizer, settings, seed=seed, training=training, config=config)


# --------------------------------------------------------------- synthetic data
@lru_cache(maxsize=None)
def _tokenizer(representation: str):
    if representation == "melody":
        from seqart.tokenizers.melody import MelodyTokenizer

        return MelodyTokenizer()
    if representation == "pianoroll":
        from seqart.tokenizers.pianoroll import PianoRollTokenizer

        return PianoRollTokenizer(low=60, high=60 + KEYS - 1)
    if representation == "images":
        from seqart.tokenizers.images import ImageTokenizer

        return ImageTokenizer(size=28, channels=1)
    raise ValueError(f"no synthetic data for the {representation!r} representation: add it to tests/model_cases.py")


@lru_cache(maxsize=None)
def _sequences(representation: str):
    """Synthetic training items of a representation, as a corpus split holds them."""
    if representation == "melody":  # real token sequences: bar lines, meters, keys (2 to 8 bars, 4/4 and 2/4)
        from tests.melody_factory import random_melody

        tokenizer = _tokenizer("melody")
        return [np.asarray(tokenizer.encode(random_melody(i, bars=2 + i % 7, meter=[(4, 4), (2, 4)][i % 2],
                                                          tonic=i % 12)), dtype=np.int32) for i in range(14)]
    if representation == "pianoroll":
        rng = np.random.default_rng(12)
        return [(rng.random((int(n), KEYS)) < 0.2).astype(np.uint8) for n in rng.integers(4, 50, size=10)]
    if representation == "images":
        rng = np.random.default_rng(14)
        return rng.integers(0, 256, size=(48, 1, 28, 28)).astype(np.uint8)
    raise ValueError(f"no synthetic data for the {representation!r} representation: add it to tests/model_cases.py")


# -------------------------------------------------------------------- the cases
#: variants beyond the tiny presets: (registry name, variant name, config entries on top)
VARIANTS = [
    ("poly-nade", "nade", {"inner": "nade", "inner_size": 8}),
    ("music-vae", "hierarchical", {"decoder": "hierarchical", "conductor_size": 10}),
    ("dcgan", "ema", {"ema_decay": 0.9}),
]


def _cases() -> list[ModelCase]:
    from seqart.models.registry import REGISTRY, get_preset

    cases = []
    for name, kind in REGISTRY.items():
        preset = get_preset(kind.tiny_preset)
        train = {"seq_len": preset.train["seq_len"]} if "seq_len" in preset.train else {}
        cases.append(ModelCase(name, name, dict(preset.model_config), train))
        for model, variant, extra in VARIANTS:
            if model == name:
                cases.append(ModelCase(f"{name}-{variant}", name, {**preset.model_config, **extra}, train))
    return cases


CASES: list[ModelCase] = _cases()
