"""Presets of the melody language models."""

from __future__ import annotations

from seqart.models.registry import Preset

PRESETS = (
    Preset(
        name="melody-lstm",
        model="melody-lstm",
        representation="melody",
        description="2x384 LSTM language model over melody tokens, transposition-augmented",
        model_config={"embed_dim": 384, "hidden_size": 384, "num_layers": 2, "dropout": 0.25},
        train={"steps": 3000, "batch_size": 32, "seq_len": 256, "lr": 3e-3, "warmup_steps": 100,
               "augment_transpose": 6, "val_every": 250, "val_batches": 20, "checkpoint_every": 100},
    ),
    Preset(
        name="events-lstm",
        model="melody-lstm",
        representation="events",
        description="2x256 LSTM over multi-track event tokens (Bach chorales: seqart corpus build bach-satb)",
        model_config={"embed_dim": 256, "hidden_size": 256, "num_layers": 2, "dropout": 0.2},
        train={"steps": 1500, "batch_size": 16, "seq_len": 384, "lr": 3e-3, "warmup_steps": 100,
               "augment_transpose": 5, "val_every": 250, "val_batches": 10, "checkpoint_every": 100},
    ),
    Preset(
        name="melody-lstm-tiny",
        model="melody-lstm",
        representation="melody",
        description="1x64 LSTM for smoke tests and quick experiments",
        model_config={"embed_dim": 64, "hidden_size": 64, "num_layers": 1, "dropout": 0.0},
        train={"steps": 200, "batch_size": 16, "seq_len": 64, "lr": 1e-2, "warmup_steps": 10,
               "val_every": 50, "checkpoint_every": 50, "augment_transpose": 6},
    ),
)
