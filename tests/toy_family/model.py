"""The toy unigram model: next-token logits that ignore the past."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqart.models.base import SeqartModel
from seqart.models.melody_lm.data import TokenWindows

PAD = 0


class Unigram(SeqartModel):
    registry_name = "toy-unigram"

    def __init__(self, config):
        config.validate()
        super().__init__(config)
        self.logits = nn.Parameter(torch.full((config.vocab_size,), float(config.smoothing)))

    def _nll(self, batch: torch.Tensor):
        y = batch[:, 1:]  # (B, T)
        logits = self.logits.expand(*y.shape, -1)  # (B, T, V)
        nll = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1), ignore_index=PAD,
                              reduction="sum")
        return nll, (y != PAD).sum()

    def configure_optimizers(self, train):
        return {"main": torch.optim.Adam(self.parameters(), lr=train.lr)}

    def training_step(self, batch, step):
        nll, count = self._nll(batch)
        loss = nll / self.mean_items(count)
        step("main", loss)
        return {"loss": loss.detach(), "items": count}

    @torch.no_grad()
    def validation_step(self, batch):
        nll, count = self._nll(batch)
        return {"loss": nll, "weight": count}

    @classmethod
    def data(cls, sequences, tokenizer, train, seed, training, config=None):
        return TokenWindows(sequences, batch_size=train.batch_size, seq_len=train.seq_len, seed=seed)
