"""Configs of the polyphonic frame models (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from seqart.errors import ModelError
from seqart.models.checks import check_float, check_int


@dataclass
class PolyLSTMConfig:
    """Shape of a :class:`seqart.models.poly.model.PolyLSTM`: an LSTM over piano-roll
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
    """Shape of a :class:`seqart.models.poly.model.PolyNADE`: a frame LSTM whose output
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
