"""Training settings: what the trainer needs besides the model and the data."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Mapping

from seqart.errors import SeqartError

if TYPE_CHECKING:
    from seqart.models.registry import Preset


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
        style_balance: 0-1; how far training windows of a melody model are drawn evenly
            over the styles instead of in proportion to their tokens (0: by tokens; a: a
            style with token share ``p`` gets a window share in proportion to ``p ** (1 - a)``,
            at most :data:`seqart.models.melody_lm.data.STYLE_BALANCE_CAP` times its own
            weight relative to the largest style). Validation is never reweighted.
        threads: CPU threads for torch (0 = torch's default).
        teacher: a trained model (shipped name or model/run folder) to distil from: a
            next-token melody model over the same tokens as the corpus ("" = none). Each
            training step then also fits the teacher's next-token distributions.
        teacher_weight: 0-1, with a teacher: the share of the training loss that is the
            KL divergence from the teacher's distributions to the model's (the rest is
            the cross-entropy on the data). Validation is always the data's NLL.
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
    style_balance: float = 0.0
    threads: int = 0
    teacher: str = ""
    teacher_weight: float = 0.5

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
        if not 0 <= self.teacher_weight <= 1:
            raise SeqartError(f"teacher_weight must be 0-1, got {self.teacher_weight}")
        if not 0 <= self.style_balance <= 1:
            raise SeqartError(f"style_balance must be 0-1, got {self.style_balance}")
        if self.checkpoint_minutes < 0:
            raise SeqartError(f"checkpoint_minutes must be 0 (off) or more, got {self.checkpoint_minutes}")
        if not self.lr > 0:
            raise SeqartError(f"lr must be positive, got {self.lr}")
        if self.schedule not in ("cosine", "constant"):
            raise SeqartError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise SeqartError(f"precision must be auto, fp32, bf16 or fp16, got {self.precision!r}")


def parse_value(text: str):
    """A setting written as text (``--set KEY=VALUE``) as the value it names: JSON when it
    parses (numbers, ``true``/``false``, ``null``, lists such as ``[4, 8]``), else
    ``True``/``False``/``None`` in any case, else a number, else the text itself."""
    import json

    try:
        return json.loads(text)
    except ValueError:
        pass
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


def parse_settings(items: list[str]) -> dict[str, Any]:
    """``["lr=1e-3", "cell=gru"]`` (``--set`` items) as ``{"lr": 0.001, "cell": "gru"}``
    (see :func:`parse_value`); a later item wins over an earlier one.

    Raises:
        SeqartError: for an item that is not ``KEY=VALUE``.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SeqartError(f"a setting is written KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_value(value)
    return out


def apply_settings(preset: Preset, settings: Mapping[str, Any] | None = None) -> tuple[dict, TrainConfig]:
    """A preset's model config and training settings, with ``settings`` put over them.

    Args:
        preset: the recipe.
        settings: ``{name: value}`` with typed values (``{"lr": 1e-3, "hidden_size": 512}``);
            a name is a :class:`TrainConfig` field or a field of the preset's model config
            (``"model.hidden_size"`` or plain ``"hidden_size"``).

    Returns:
        (model config dict, validated TrainConfig)

    Raises:
        SeqartError: for an unknown name or a value of the wrong kind.
    """
    from seqart.models.registry import model_type

    train_fields = {f.name for f in fields(TrainConfig)}
    model_fields = {f.name for f in fields(model_type(preset.model).config)}
    model_cfg = dict(preset.model_config)
    train_cfg = dict(preset.train)
    for key, value in (settings or {}).items():
        name = key.strip()
        if name.startswith("model."):
            name = name[len("model."):]
            target = model_cfg if name in model_fields else None
        elif name in train_fields:
            target = train_cfg
        elif name in model_fields:
            target = model_cfg
        else:
            target = None
        if target is None:
            known = sorted(train_fields | model_fields - {"vocab_size", "n_features"})
            raise SeqartError(f"unknown setting {name!r}; known: {', '.join(known)}")
        target[name] = value
    try:
        train = TrainConfig(**train_cfg)
    except TypeError as exc:
        raise SeqartError(f"bad training setting: {exc}") from None
    train.validate()
    return model_cfg, train
