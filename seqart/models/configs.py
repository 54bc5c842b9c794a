"""Model configs and their validation, importable without torch.

Loading a model folder validates its ``config.json`` here before a single
weight is allocated, so a hostile config (a 10^9-wide layer) is refused early.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from seqart.errors import ModelError


def check_int(name: str, value: Any, low: int, high: int) -> None:
    """Raise ModelError unless ``value`` is an int in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ModelError(f"config {name}={value!r} must be an integer in {low}..{high}")


def check_float(name: str, value: Any, low: float, high: float) -> None:
    """Raise ModelError unless ``value`` is a number in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= float(value) <= high:
        raise ModelError(f"config {name}={value!r} must be a number in {low}..{high}")


@dataclass
class MelodyLSTMConfig:
    """Shape of a :class:`seqart.models.melody_lstm.MelodyLSTM`.

    Attributes:
        vocab_size: number of token ids (from the tokenizer).
        embed_dim: token embedding width.
        hidden_size: recurrent state width per layer.
        num_layers: stacked recurrent layers.
        dropout: dropout on embeddings, between layers and before the output.
        cell: ``"lstm"`` or ``"gru"``.
        tie_weights: share the embedding matrix with the output layer
            (needs ``embed_dim == hidden_size``).
    """

    vocab_size: int
    embed_dim: int = 256
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.3
    cell: str = "lstm"
    tie_weights: bool = True

    def validate(self) -> None:
        check_int("vocab_size", self.vocab_size, 2, 1 << 20)
        check_int("embed_dim", self.embed_dim, 1, 8192)
        check_int("hidden_size", self.hidden_size, 1, 8192)
        check_int("num_layers", self.num_layers, 1, 16)
        check_float("dropout", self.dropout, 0.0, 0.95)
        if self.cell not in ("lstm", "gru"):
            raise ModelError(f"config cell={self.cell!r} must be 'lstm' or 'gru'")
        if self.tie_weights and self.embed_dim != self.hidden_size:
            raise ModelError("tie_weights needs embed_dim == hidden_size")


@dataclass
class PolyLSTMConfig:
    """Shape of a :class:`seqart.models.poly.PolyLSTM`: an LSTM over piano-roll
    frames whose output is one independent Bernoulli per key.

    Attributes:
        n_features: keys per frame (88 for the piano).
        hidden_size: recurrent state width per layer.
        num_layers: stacked LSTM layers.
        dropout: dropout on the frame input, between layers and before the output.
    """

    n_features: int
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.3

    def validate(self) -> None:
        check_int("n_features", self.n_features, 1, 512)
        check_int("hidden_size", self.hidden_size, 1, 8192)
        check_int("num_layers", self.num_layers, 1, 16)
        check_float("dropout", self.dropout, 0.0, 0.95)


@dataclass
class PolyNADEConfig(PolyLSTMConfig):
    """Shape of a :class:`seqart.models.poly.PolyNADE`: a frame LSTM whose output
    models the keys of a frame jointly, lowest key first.

    Attributes:
        inner: ``"note-lstm"`` (a small LSTM runs up the keyboard, one step per key,
            seeing the frame LSTM's state, the keys already decided in this frame and
            the previous frame around the key) or ``"nade"`` (RNN-NADE: a NADE whose
            biases come from the frame LSTM).
        inner_size: hidden width of the inner model (note LSTM or NADE).
        context_size: width of the per-frame summary handed to the note LSTM.
        window: keys each side of the current one read from the previous frame, and
            keys below it read from the current frame (note LSTM only).
        pitch_embed: width of the learned per-key embedding (note LSTM only).
    """

    inner: str = "note-lstm"
    inner_size: int = 128
    context_size: int = 64
    window: int = 12
    pitch_embed: int = 16

    def validate(self) -> None:
        super().validate()
        if self.inner not in ("note-lstm", "nade"):
            raise ModelError(f"config inner={self.inner!r} must be 'note-lstm' or 'nade'")
        check_int("inner_size", self.inner_size, 1, 8192)
        check_int("context_size", self.context_size, 1, 8192)
        check_int("window", self.window, 0, 127)
        check_int("pitch_embed", self.pitch_embed, 1, 1024)


#: model registry name -> its config class
CONFIGS: dict[str, type] = {
    "melody-lstm": MelodyLSTMConfig,
    "poly-lstm": PolyLSTMConfig,
    "poly-nade": PolyNADEConfig,
}


def config_from_dict(model: str, data: dict):
    """Build and validate the config of model type ``model`` from JSON."""
    try:
        cls = CONFIGS[model]
    except KeyError:
        raise ModelError(f"unknown model type {model!r}; known: {', '.join(CONFIGS)}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{model} config must be a JSON object")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ModelError(f"unknown {model} config key(s): {', '.join(unknown)}")
    try:
        config = cls(**data)
    except TypeError as exc:
        raise ModelError(f"invalid {model} config: {exc}") from None
    config.validate()
    return config
