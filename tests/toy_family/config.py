"""Config of the toy unigram model (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from seqart.models.checks import check_float, check_int


@dataclass
class UnigramConfig:
    """Attributes:
        vocab_size: token ids (from the tokenizer).
        smoothing: added to every count's logit at initialisation.
    """

    vocab_size: int
    smoothing: float = 0.0

    def validate(self) -> None:
        check_int("vocab_size", self.vocab_size, 2, 1 << 20)
        check_float("smoothing", self.smoothing, 0.0, 10.0)
