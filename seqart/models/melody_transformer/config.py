"""Config of the melody transformer (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from seqart.errors import ModelError
from seqart.models.checks import check_float, check_int


@dataclass
class MelodyTransformerConfig:
    """Shape of a :class:`seqart.models.melody_transformer.model.MelodyTransformer`.

    Attributes:
        vocab_size: number of token ids (from the tokenizer).
        d_model: width of the residual stream and of the token embedding.
        num_layers: decoder blocks.
        num_heads: attention heads per block (``d_model`` divisible by it, head width even).
        ff_dim: hidden width of each block's feed-forward layer.
        dropout: dropout on embeddings, attention weights and residual branches.
        context: longest stretch of tokens one prediction attends to (tokens). Training
            windows should be no longer; sampling beyond it slides a window this long.
        rope_base: base of the rotary position frequencies (relative positions).
        tie_weights: share the embedding matrix with the output layer.
    """

    vocab_size: int
    d_model: int = 256
    num_layers: int = 4
    num_heads: int = 4
    ff_dim: int = 1024
    dropout: float = 0.1
    context: int = 512
    rope_base: float = 10000.0
    tie_weights: bool = True

    def validate(self) -> None:
        check_int("vocab_size", self.vocab_size, 2, 1 << 20)
        check_int("d_model", self.d_model, 2, 8192)
        check_int("num_layers", self.num_layers, 1, 64)
        check_int("num_heads", self.num_heads, 1, 128)
        check_int("ff_dim", self.ff_dim, 1, 65536)
        check_float("dropout", self.dropout, 0.0, 0.95)
        check_int("context", self.context, 2, 1 << 16)
        check_float("rope_base", self.rope_base, 2.0, 1e9)
        if self.d_model % self.num_heads or (self.d_model // self.num_heads) % 2:
            raise ModelError(f"config d_model={self.d_model} must split into {self.num_heads} heads of even width")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.num_heads
