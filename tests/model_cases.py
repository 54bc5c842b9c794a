"""One tiny, trainable case per registered model type (and per decoder/inner variant):
a model config small enough to train in milliseconds, its tokenizer, and batch
sources of synthetic data made here (no corpus, no download).

Tests parametrized over :data:`CASES` run the same checks on every model the
registry knows; :func:`test_every_registered_model_has_a_case` (in
``test_model_registry_checks.py``) fails when a model is registered without one.
Dropout is 0 everywhere so one process and several see the same computation; some
sequences are shorter than a window, so batches hold padding and masked steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class ModelCase:
    """A registered model type at toy size.

    Attributes:
        id: test id (the registry name, plus the variant).
        model: registry name.
        config: model config entries besides those the tokenizer fixes.
        make_tokenizer: builds the tokenizer saved beside the weights.
        make_data: ``(batch_size, seed, training) -> BatchSource`` of synthetic data.
        train: TrainConfig entries the case needs (sequence length, ...).
    """

    id: str
    model: str
    config: dict
    make_tokenizer: Callable
    make_data: Callable
    train: dict = field(default_factory=dict)

    def build(self, seed: int = 0):
        """``(model, tokenizer)`` with weights drawn under ``seed``."""
        import torch

        from seqart.models import model_class

        cls = model_class(self.model)
        tokenizer = self.make_tokenizer()
        torch.manual_seed(seed)
        return cls(cls.config_from_dict({**self.config, **cls.data_config(tokenizer)})), tokenizer


# ----------------------------------------------------------------- melody tokens
def _melody_tokenizer():
    from seqart.tokenizers.melody import MelodyTokenizer

    return MelodyTokenizer()


def _token_windows(batch_size: int, seed: int, training: bool):
    from seqart.models.token_data import TokenWindows

    vocab = _melody_tokenizer().vocab_size
    rng = np.random.default_rng(11)
    sequences = [rng.integers(1, vocab, size=int(n)).astype(np.int32) for n in rng.integers(6, 90, size=12)]
    return TokenWindows(sequences, batch_size=batch_size, seq_len=24, seed=seed)


# ------------------------------------------------------------- piano-roll frames
KEYS = 12


def _pianoroll_tokenizer():
    from seqart.tokenizers.pianoroll import PianoRollTokenizer

    return PianoRollTokenizer(low=60, high=60 + KEYS - 1)


def _frame_windows(batch_size: int, seed: int, training: bool):
    from seqart.models.frame_data import FrameWindows

    rng = np.random.default_rng(12)
    sequences = [(rng.random((int(n), KEYS)) < 0.2).astype(np.uint8) for n in rng.integers(4, 50, size=10)]
    return FrameWindows(sequences, batch_size=batch_size, seq_len=16, seed=seed, eval_frames=64)


# ---------------------------------------------------------------- melody spans
def _bar_spans(batch_size: int, seed: int, training: bool):
    from seqart.models.bar_spans import NOTE_BASE, BarSpans

    tokenizer = _melody_tokenizer()
    rng = np.random.default_rng(13)
    spans = rng.integers(0, NOTE_BASE + tokenizer.num_pitches, size=(40, 32)).astype(np.uint8)
    return BarSpans(spans, batch_size=batch_size, n_pitches=tokenizer.num_pitches, seed=seed)


# ----------------------------------------------------------------------- images
def _image_tokenizer():
    from seqart.tokenizers.images import ImageTokenizer

    return ImageTokenizer(size=28, channels=1)


def _image_batches(batch_size: int, seed: int, training: bool):
    from seqart.images.data import ImageBatches

    rng = np.random.default_rng(14)
    images = rng.integers(0, 256, size=(48, 1, 28, 28)).astype(np.uint8)
    return ImageBatches(images, batch_size=batch_size, seed=seed)


_VAE = dict(bars=2, bar_steps=16, embed_dim=8, encoder_size=12, latent_size=6, decoder_size=16, decoder_layers=2,
            conductor_size=10, dropout=0.0, kl_warmup_steps=4)

CASES: list[ModelCase] = [
    ModelCase("melody-lstm", "melody-lstm", dict(embed_dim=16, hidden_size=16, num_layers=2, dropout=0.0),
              _melody_tokenizer, _token_windows, {"seq_len": 24}),
    ModelCase("poly-lstm", "poly-lstm", dict(hidden_size=16, num_layers=1, dropout=0.0),
              _pianoroll_tokenizer, _frame_windows, {"seq_len": 16}),
    ModelCase("poly-nade-nade", "poly-nade", dict(hidden_size=16, dropout=0.0, inner="nade", inner_size=8),
              _pianoroll_tokenizer, _frame_windows, {"seq_len": 16}),
    ModelCase("poly-nade-note-lstm", "poly-nade",
              dict(hidden_size=16, dropout=0.0, inner="note-lstm", inner_size=8, context_size=4, window=2,
                   pitch_embed=3),
              _pianoroll_tokenizer, _frame_windows, {"seq_len": 16}),
    ModelCase("music-vae-flat", "music-vae", dict(_VAE, decoder="flat"), _melody_tokenizer, _bar_spans),
    ModelCase("music-vae-hierarchical", "music-vae", dict(_VAE, decoder="hierarchical"), _melody_tokenizer,
              _bar_spans),
    ModelCase("dcgan", "dcgan", dict(size=28, channels=1, latent_size=8, g_width=4, d_width=4, ema_decay=0.9),
              _image_tokenizer, _image_batches),
    ModelCase("image-vae", "image-vae", dict(size=28, channels=1, latent_size=4, width=4, hidden_size=16,
                                             kl_warmup_steps=4),
              _image_tokenizer, _image_batches),
]
