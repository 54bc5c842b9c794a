"""Presets of the melody transformer."""

from __future__ import annotations

from seqart.models.registry import Preset

PRESETS = (
    Preset(
        name="melody-transformer",
        model="melody-transformer",
        representation="melody",
        description="4-layer 256-wide transformer (rotary positions) over melody tokens; ships as 'folk'; ~55 min on a 2-core CPU",
        model_config={"d_model": 256, "num_layers": 4, "num_heads": 4, "ff_dim": 768, "dropout": 0.1,
                      "context": 256},
        train={"steps": 2000, "batch_size": 32, "seq_len": 256, "lr": 1e-3, "warmup_steps": 100,
               "weight_decay": 0.05, "augment_transpose": 6, "val_every": 250, "val_batches": 20,
               "checkpoint_every": 100},
    ),
    Preset(
        name="melody-transformer-gpu",
        model="melody-transformer",
        representation="melody",
        description="6-layer 512-wide transformer for one GPU (bf16), context 1024",
        model_config={"d_model": 512, "num_layers": 6, "num_heads": 8, "ff_dim": 2048, "dropout": 0.1,
                      "context": 1024},
        train={"steps": 6000, "batch_size": 64, "seq_len": 1024, "lr": 6e-4, "warmup_steps": 300,
               "weight_decay": 0.05, "augment_transpose": 6, "val_every": 500, "val_batches": 40,
               "checkpoint_every": 500},
    ),
    Preset(
        name="events-transformer",
        model="melody-transformer",
        representation="events",
        description="4-layer 128-wide transformer over multi-track event tokens (Bach chorales: seqart corpus "
                    "build bach-satb), context 512, sized for a CPU",
        model_config={"d_model": 128, "num_layers": 4, "num_heads": 4, "ff_dim": 512, "dropout": 0.1,
                      "context": 512},
        train={"steps": 1500, "batch_size": 16, "seq_len": 384, "lr": 2e-3, "warmup_steps": 100,
               "weight_decay": 0.05, "augment_transpose": 5, "val_every": 250, "val_batches": 10,
               "checkpoint_every": 100},
    ),
    Preset(
        name="melody-transformer-tiny",
        model="melody-transformer",
        representation="melody",
        description="2-layer 32-wide transformer for smoke tests and quick experiments",
        model_config={"d_model": 32, "num_layers": 2, "num_heads": 2, "ff_dim": 64, "dropout": 0.0,
                      "context": 128},
        train={"steps": 200, "batch_size": 16, "seq_len": 64, "lr": 3e-3, "warmup_steps": 10,
               "val_every": 50, "checkpoint_every": 50, "augment_transpose": 6},
    ),
)
