"""Config of the melody language models (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from seqart.errors import ModelError
from seqart.models.checks import check_float, check_int


@dataclass
class MelodyLSTMConfig:
    """Shape of a :class:`seqart.models.melody_lm.model.MelodyLSTM`.

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
