"""Training settings and presets (model + representation + hyperparameters by name)."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields

from seqart.errors import SeqartError


#: a TrainConfig field's annotation -> (accepted Python types, how to say it)
_FIELD_TYPES = {"int": (int, "an integer"), "int | None": (int, "an integer"), "float": ((int, float), "a number"),
                "str": (str, "text")}


@dataclass
class TrainConfig:
    """Everything the trainer needs besides the model and the data.

    Attributes:
        steps: optimizer steps (batches) to run in all.
        batch_size: sequences (or images) per batch.
        seq_len: tokens per training window (token models).
        lr: peak learning rate.
        weight_decay: AdamW weight decay.
        warmup_steps: linear warm-up from 0 to ``lr``.
        schedule: ``"cosine"`` (decay to ``min_lr_ratio * lr`` at ``steps``) or ``"constant"``.
        min_lr_ratio: floor of the cosine schedule, as a fraction of ``lr``.
        grad_clip: clip the global gradient norm of each optimizer (0 = off).
        val_every: validate every this many steps (and at the end).
        val_batches: cap on validation batches (None = the whole valid split).
        early_stop_patience: stop after this many validations without improvement (0 = never).
        checkpoint_every: write a resumable checkpoint every this many steps.
        checkpoint_minutes: also write one whenever this many minutes have passed since the
            last (0 = by steps only), so a preempted run on slow steps loses at most this much.
        log_every: write a metrics line every this many steps.
        precision: ``"auto"`` (bf16 on CUDA if supported, else fp16 on CUDA, fp32 elsewhere),
            ``"fp32"``, ``"bf16"`` or ``"fp16"``.
        device: ``"auto"`` (CUDA, then MPS, then CPU) or a torch device string.
        seed: seeds weights, dropout and the batch order.
        augment_transpose: random transposition of training windows by up to this many
            semitones (0 = off).
        threads: CPU threads for torch (0 = torch's default).
    """

    steps: int = 2000
    batch_size: int = 64
    seq_len: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    schedule: str = "cosine"
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    val_every: int = 250
    val_batches: int | None = None
    early_stop_patience: int = 0
    checkpoint_every: int = 250
    checkpoint_minutes: float = 10.0
    log_every: int = 10
    precision: str = "auto"
    device: str = "auto"
    seed: int = 0
    augment_transpose: int = 0
    threads: int = 0

    def validate(self) -> None:
        for f in fields(self):  # types first: a --set value of the wrong kind is one clear line
            value = getattr(self, f.name)
            if value is None and f.type == "int | None":
                continue
            want, kind = _FIELD_TYPES[f.type]
            if isinstance(value, bool) or not isinstance(value, want):
                raise SeqartError(f"setting {f.name}={value!r} must be {kind}")
        for name in ("steps", "batch_size", "seq_len", "val_every", "checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                raise SeqartError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.checkpoint_minutes < 0:
            raise SeqartError(f"checkpoint_minutes must be 0 (off) or more, got {self.checkpoint_minutes}")
        if not self.lr > 0:
            raise SeqartError(f"lr must be positive, got {self.lr}")
        if self.schedule not in ("cosine", "constant"):
            raise SeqartError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise SeqartError(f"precision must be auto, fp32, bf16 or fp16, got {self.precision!r}")


@dataclass
class Preset:
    """A named recipe: which model, on which representation, with which settings."""

    name: str
    model: str
    representation: str
    description: str
    model_config: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)


#: frame-model settings per polyphonic benchmark: (model config, training settings);
#: the figures these give are in the README (``seqart bench polyphonic``)
_POLY_COMMON = {"lr": 2e-3, "warmup_steps": 100, "early_stop_patience": 10, "augment_transpose": 0}
_POLY_LSTM_SMALL = ({"hidden_size": 38, "num_layers": 1, "dropout": 0.0},  # Chung et al.'s size, ~23k parameters
                    {"steps": 2000, "batch_size": 16, "seq_len": 128, "lr": 1e-2, "val_every": 100,
                     "checkpoint_every": 100})
_POLY_LSTM_LARGE = ({"hidden_size": 256, "num_layers": 1, "dropout": 0.0},
                    {"steps": 8000, "batch_size": 16, "seq_len": 128, "lr": 3e-3, "val_every": 250,
                     "checkpoint_every": 250})
_NADE = {"hidden_size": 256, "num_layers": 1, "dropout": 0.5, "inner": "note-lstm", "inner_size": 64,
         "context_size": 64, "window": 12, "pitch_embed": 16}
_POLY_SETTINGS = {
    "poly-lstm": {
        "jsb": (_POLY_LSTM_SMALL[0], {**_POLY_LSTM_SMALL[1], "seq_len": 64}),
        # transposition augmentation helps where the sets are in many keys (not JSB: all in C)
        "nottingham": (_POLY_LSTM_LARGE[0], {**_POLY_LSTM_LARGE[1], "augment_transpose": 6}),
        "musedata": (_POLY_LSTM_LARGE[0], {**_POLY_LSTM_LARGE[1], "augment_transpose": 6, "steps": 24000,
                                           "early_stop_patience": 20}),
        "piano": (_POLY_LSTM_SMALL[0], {**_POLY_LSTM_SMALL[1], "steps": 4000}),
    },
    "poly-nade": {
        "jsb": (_NADE, {"steps": 2000, "batch_size": 16, "seq_len": 64, "val_every": 50, "checkpoint_every": 100,
                        "early_stop_patience": 12}),
        "nottingham": (_NADE, {"steps": 3000, "batch_size": 8, "seq_len": 128, "val_every": 250,
                               "checkpoint_every": 250}),
        "musedata": (_NADE, {"steps": 3000, "batch_size": 8, "seq_len": 128, "val_every": 250,
                             "checkpoint_every": 250}),
        "piano": (_NADE, {"steps": 3000, "batch_size": 8, "seq_len": 128, "val_every": 250,
                          "checkpoint_every": 250}),
    },
}
_POLY_DESCRIPTIONS = {
    "poly-lstm": "LSTM over 88-key frames, one independent Bernoulli per key (the published LSTM baseline)",
    "poly-nade": "LSTM over frames; a note-axis LSTM models each frame's keys jointly (RNN-NADE family)",
}


#: sequence-VAE presets on melody corpora (MusicVAE's 2-bar and 16-bar melody models, sized
#: for a CPU): name -> (description, model config, training settings)
_VAE_SETTINGS = {
    "melody-vae-2bar": (
        "MusicVAE-style 2-bar melody VAE, flat LSTM decoder (stage 1 of the shipped 'folk-vae-2bar'; "
        "README: Latent melodies)",
        {"bars": 2, "embed_dim": 64, "encoder_size": 256, "latent_size": 128, "decoder": "flat",
         "decoder_size": 256, "decoder_layers": 2, "dropout": 0.1, "beta_max": 0.1, "kl_warmup_steps": 1000,
         "free_bits": 64.0},
        {"steps": 6000, "batch_size": 128, "lr": 2e-3, "warmup_steps": 100, "augment_transpose": 6,
         "val_every": 250, "val_batches": 20, "checkpoint_every": 250},
    ),
    "melody-vae-16bar": (
        "MusicVAE-style 16-bar melody VAE, hierarchical decoder (a conductor LSTM per bar, a bar LSTM per step)",
        {"bars": 16, "embed_dim": 64, "encoder_size": 192, "latent_size": 256, "decoder": "hierarchical",
         "conductor_size": 256, "decoder_size": 256, "decoder_layers": 1, "dropout": 0.1, "beta_max": 0.2,
         "kl_warmup_steps": 2000, "free_bits": 256.0},
        {"steps": 7000, "batch_size": 32, "lr": 2e-3, "warmup_steps": 100, "augment_transpose": 6,
         "val_every": 500, "val_batches": 16, "checkpoint_every": 250},
    ),
    "melody-vae-16bar-flat": (
        "the 16-bar melody VAE with a flat decoder (the baseline the hierarchical one is compared with)",
        {"bars": 16, "embed_dim": 64, "encoder_size": 192, "latent_size": 256, "decoder": "flat",
         "decoder_size": 256, "decoder_layers": 1, "dropout": 0.1, "beta_max": 0.2, "kl_warmup_steps": 2000,
         "free_bits": 256.0},
        {"steps": 7000, "batch_size": 32, "lr": 2e-3, "warmup_steps": 100, "augment_transpose": 6,
         "val_every": 500, "val_batches": 16, "checkpoint_every": 250},
    ),
    "melody-vae-tiny": (
        "a tiny 2-bar melody VAE for smoke tests",
        {"bars": 2, "embed_dim": 16, "encoder_size": 32, "latent_size": 8, "decoder": "flat", "decoder_size": 32,
         "decoder_layers": 1, "dropout": 0.0, "beta_max": 0.2, "kl_warmup_steps": 20},
        {"steps": 60, "batch_size": 32, "lr": 1e-2, "warmup_steps": 5, "augment_transpose": 6,
         "val_every": 30, "checkpoint_every": 30},
    ),
}


def _vae_presets() -> list[Preset]:
    return [Preset(name=name, model="music-vae", representation="melody", description=desc,
                   model_config=dict(model), train=dict(train))
            for name, (desc, model, train) in _VAE_SETTINGS.items()]


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


def _image_presets() -> list[Preset]:
    return [Preset(name=name, model=model, representation="images", description=desc,
                   model_config=dict(config), train=dict(train))
            for name, (model, desc, config, train) in _IMAGE_SETTINGS.items()]


def _poly_presets() -> list[Preset]:
    """``poly-lstm-DATASET`` and ``poly-nade-DATASET`` for the four polyphonic benchmarks."""
    presets = []
    for model, by_dataset in _POLY_SETTINGS.items():
        for dataset, (model_config, train) in by_dataset.items():
            presets.append(Preset(name=f"{model}-{dataset}", model=model, representation="pianoroll",
                                  description=f"{_POLY_DESCRIPTIONS[model]}; {dataset} benchmark",
                                  model_config=dict(model_config), train={**_POLY_COMMON, **train}))
    return presets


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            name="melody-lstm",
            model="melody-lstm",
            representation="melody",
            description="2x384 LSTM language model over melody tokens, transposition-augmented (ships as 'folk')",
            model_config={"embed_dim": 384, "hidden_size": 384, "num_layers": 2, "dropout": 0.25},
            train={"steps": 3000, "batch_size": 32, "seq_len": 256, "lr": 3e-3, "warmup_steps": 100,
                   "augment_transpose": 6, "val_every": 250, "val_batches": 20, "checkpoint_every": 100},
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
    ]
    + _vae_presets()
    + _poly_presets()
    + _image_presets()
}


def get_preset(name: str) -> Preset:
    try:
        return copy.deepcopy(PRESETS[name])
    except KeyError:
        raise SeqartError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def parse_value(text: str):
    """Turn a ``--set`` value into int, float, bool, None or str."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def apply_overrides(preset: Preset, overrides: list[str]) -> tuple[dict, TrainConfig]:
    """Apply ``key=value`` overrides to a preset.

    A key names a TrainConfig field or a model config field (``model.hidden_size``
    or plain ``hidden_size``).

    Returns:
        (model config dict, TrainConfig)

    Raises:
        SeqartError: for a malformed item or an unknown key.
    """
    train_fields = {f.name for f in fields(TrainConfig)}
    model_cfg = dict(preset.model_config)
    train_cfg = dict(preset.train)
    from seqart.models.configs import CONFIGS

    model_fields = {f.name for f in fields(CONFIGS[preset.model])}
    for item in overrides:
        if "=" not in item:
            raise SeqartError(f"--set expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        key = key.strip()
        if key.startswith("model."):
            key = key[len("model."):]
            target = model_cfg if key in model_fields else None
        elif key in train_fields:
            target = train_cfg
        elif key in model_fields:
            target = model_cfg
        else:
            target = None
        if target is None:
            known = sorted(train_fields | model_fields - {"vocab_size", "n_features"})
            raise SeqartError(f"unknown setting {key!r}; known: {', '.join(known)}")
        target[key] = parse_value(value)
    try:
        train = TrainConfig(**train_cfg)
    except TypeError as exc:
        raise SeqartError(f"bad training setting: {exc}") from None
    train.validate()
    return model_cfg, train


def train_config_dict(train: TrainConfig) -> dict:
    return asdict(train)
