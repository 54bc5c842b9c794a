"""What every next-token melody model shares: the loss, the held-out figures, the
training openings saved next to the weights, and the token windows it reads.

A model class built on :class:`NextTokenLM` defines ``forward(idx, state=None) ->
(logits (B, T, V), state)`` and its optimizer; the LSTM and the transformer are two.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from seqart.models.base import SeqartModel, StepFn
from seqart.models.melody_lm.data import TokenWindows

PAD = 0


class NextTokenLM(SeqartModel):
    """Base class of the melody language models (cross-entropy on the next token, in nats).

    With a teacher (:meth:`distil_from`), each training step's loss per token is
    ``(1 - w) * NLL + w * KL(teacher || model)``, the KL summed over the vocabulary at
    every unpadded position: the model also fits the teacher's whole next-token
    distributions, which tell a small model more per token than the one note the data
    holds (knowledge distillation, Hinton et al. 2015, at temperature 1).
    """

    #: the model distilled from (not a submodule: not saved, not trained) and the KL's share
    _teacher: "NextTokenLM | None" = None
    _teacher_weight: float = 0.0

    def distil_from(self, teacher: "NextTokenLM", weight: float) -> None:
        """Fit ``teacher``'s next-token distributions too (share ``weight`` of the loss);
        ``teacher`` is frozen and kept out of this model's parameters and state dict."""
        teacher.eval().requires_grad_(False)
        object.__setattr__(self, "_teacher", teacher)  # bypasses nn.Module's registration
        self._teacher_weight = float(weight)

    def _nll(self, batch: torch.Tensor):
        x, y = batch[:, :-1], batch[:, 1:]
        logits, _ = self(x)
        nll = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1),
                              ignore_index=PAD, reduction="sum")
        return nll, (y != PAD).sum()

    def _distilled(self, batch: torch.Tensor):
        """(summed NLL, summed KL from the teacher, unpadded count) of ``batch``."""
        x, y = batch[:, :-1], batch[:, 1:]
        keep = y.reshape(-1) != PAD
        logits, _ = self(x)
        logits = logits.reshape(-1, logits.size(-1))[keep].float()  # (N, V)
        with torch.no_grad():
            teacher = self._teacher.to(x.device)
            target = F.log_softmax(teacher(x)[0].reshape(-1, logits.size(-1))[keep].float(), dim=-1)
        log_p = F.log_softmax(logits, dim=-1)
        nll = F.nll_loss(log_p, y.reshape(-1)[keep], reduction="sum")
        kl = F.kl_div(log_p, target, log_target=True, reduction="sum")
        return nll, kl, keep.sum()

    def training_step(self, batch: torch.Tensor, step: StepFn) -> dict:
        if self._teacher is None:
            nll, count = self._nll(batch)
            loss = nll / self.mean_items(count)  # nats per token (of the global batch in a data-parallel run)
            step("main", loss)
            return {"loss": loss.detach(), "items": count}
        nll, kl, count = self._distilled(batch)
        items = self.mean_items(count)
        w = self._teacher_weight
        step("main", ((1 - w) * nll + w * kl) / items)
        return {"loss": (nll / items).detach(), "kl": (kl / items).detach(), "items": count}

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict:
        nll, count = self._nll(batch)
        return {"loss": nll, "weight": count}

    def save_data_files(self, folder, corpus, tokenizer) -> None:
        """Save the openings (style, meter, key) of the untransposed training melodies
        (``keys.json``; melody tokens), or the programs of event tokens (``programs.json``): what a sample is given for what its caller leaves open
        (:mod:`seqart.models.melody_lm.keys`)."""
        from seqart.models.melody_lm.keys import save_key_counts

        if getattr(tokenizer, "name", None) == "melody":  # event tokens have no opening header
            save_key_counts(folder, corpus.split("train"), tokenizer)
        elif getattr(tokenizer, "name", None) == "events":
            from seqart.models.melody_lm.events_generator import save_programs

            save_programs(folder, corpus.split("train"), tokenizer)

    @classmethod
    def data(cls, sequences, tokenizer, train, seed: int, training: bool, config=None) -> TokenWindows:
        """Token windows for training (augmented) or evaluation; a model with a bounded
        context trains and is evaluated on windows no longer than it."""
        context = getattr(config, "context", None)
        balance = getattr(train, "style_balance", 0.0) if training else 0.0
        styles = None
        if balance and getattr(tokenizer, "layout", 1) >= 2:  # the style token follows BOS
            styles = [tokenizer.style_of(int(s[1])) if len(s) > 1 else None for s in sequences]
        return TokenWindows(
            sequences,
            batch_size=train.batch_size,
            seq_len=min(train.seq_len, context or train.seq_len),
            seed=seed,
            transpose=tokenizer.transpose_tokens if training else None,
            max_transpose=train.augment_transpose if training else 0,
            eval_len=context or 1024,
            styles=styles,
            style_balance=balance,
            transpose_whole=getattr(tokenizer, "name", None) == "events",
        )
