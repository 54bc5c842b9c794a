"""An LSTM (or GRU) language model over ``melody`` tokens."""

from __future__ import annotations

import torch
from torch import nn

from seqart.models import recurrent
from seqart.models.melody_lm.config import MelodyLSTMConfig
from seqart.models.melody_lm.objective import PAD, NextTokenLM

__all__ = ["PAD", "MelodyLSTM"]


class MelodyLSTM(NextTokenLM):
    """Embedding -> LSTM/GRU stack -> linear logits over the next token."""

    registry_name = "melody-lstm"

    def __init__(self, config: MelodyLSTMConfig):
        config.validate()
        super().__init__(config)
        c = config
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        rnn = recurrent.LSTM if c.cell == "lstm" else recurrent.GRU
        self.rnn = rnn(c.embed_dim, c.hidden_size, c.num_layers, batch_first=True,
                       dropout=c.dropout if c.num_layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden_size, c.vocab_size)
        if c.tie_weights:
            self.head.weight = self.embed.weight
        nn.init.normal_(self.embed.weight, std=0.05)
        nn.init.zeros_(self.head.bias)

    def forward(self, idx: torch.Tensor, state=None):
        """Next-token logits.

        Args:
            idx: token ids, (B, T) int64.
            state: recurrent state from a previous call, or None (zeros).

        Returns:
            (logits (B, T, V) float, new state)
        """
        x = self.drop(self.embed(idx))  # (B, T, E)
        h, state = self.rnn(x, state)  # (B, T, H)
        return self.head(self.drop(h)), state  # (B, T, V)

    def configure_optimizers(self, train):
        return {"main": torch.optim.AdamW(self.parameters(), lr=train.lr, betas=(0.9, 0.99),
                                          weight_decay=train.weight_decay)}
