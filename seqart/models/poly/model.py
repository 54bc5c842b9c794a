"""Polyphonic frame models: an LSTM over piano-roll frames with a per-frame output.

Both models read the previous frame (plus a start flag for a piece's first frame)
and give, for each time step, the log-probability of the whole next frame of
``F`` keys (``F = 88`` for the piano):

- :class:`PolyLSTM`: independent Bernoulli outputs, one per key (the published
  LSTM baseline).
- :class:`PolyNADE`: the keys of a frame modelled jointly, lowest first, either by
  a note-axis LSTM (``inner="note-lstm"``) or by a NADE (``inner="nade"``, as in
  RNN-NADE). Sampling a frame is exact ancestral sampling, one key at a time.

Log-probabilities are natural logs; a frame's NLL is in nats.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqart.models import recurrent
from seqart.models.base import SeqartModel, StepFn
from seqart.models.poly.config import PolyLSTMConfig, PolyNADEConfig
from seqart.models.poly.data import FrameWindows

#: frames per chunk when an inner model runs without gradients (bounds memory)
EVAL_CHUNK = 4096
#: initial output bias: a key is on in about 5% of frames, so training starts near
#: the right marginal instead of at p = 0.5 for all 88 keys (about 61 nats a frame)
KEY_BIAS_INIT = -3.0


class PolyRNN(SeqartModel):
    """Shared frame LSTM, training and evaluation; subclasses define the frame output."""

    item_name = "frame"

    def __init__(self, config):
        config.validate()
        super().__init__(config)
        c = config
        self.in_drop = nn.Dropout(c.dropout)
        self.rnn = recurrent.LSTM(c.n_features + 1, c.hidden_size, c.num_layers, batch_first=True,
                           dropout=c.dropout if c.num_layers > 1 else 0.0)
        self.out_drop = nn.Dropout(c.dropout)

    @classmethod
    def data_config(cls, tokenizer) -> dict:
        return {"n_features": tokenizer.n_features}

    # ------------------------------------------------------------ frame LSTM
    def frame_states(self, frames: torch.Tensor, start: torch.Tensor, state=None):
        """Frame-LSTM outputs that predict ``frames[:, 1:]``.

        Args:
            frames: ``(B, T + 1, F)`` 0/1 floats; row 0 is the context frame.
            start: ``(B,)`` 1.0 where row 0 stands for the start of the piece.
            state: recurrent state to continue from, or None.

        Returns:
            (``(B, T, H)`` outputs, new state)
        """
        return self.read_frames(frames[:, :-1], start, state)

    def read_frames(self, inputs: torch.Tensor, start: torch.Tensor, state=None):
        """Run the frame LSTM over ``inputs`` (``(B, T, F)``); the start flag is set
        on the first step of the rows where ``start`` is 1.0.

        Returns:
            (``(B, T, H)`` outputs, where step ``t`` predicts the frame after input ``t``;
            new state)
        """
        flag = torch.zeros(inputs.shape[0], inputs.shape[1], 1, dtype=inputs.dtype, device=inputs.device)
        flag[:, 0, 0] = start.to(inputs.dtype)
        out, state = self.rnn(self.in_drop(torch.cat([inputs, flag], dim=-1)), state)
        return self.out_drop(out), state

    def frame_nll(self, h: torch.Tensor, prev: torch.Tensor, cur: torch.Tensor) -> torch.Tensor:
        """NLL in nats of each frame ``cur`` given the frame-LSTM output ``h``.

        Args:
            h: ``(N, H)``; prev: ``(N, F)`` the frame before; cur: ``(N, F)`` 0/1.

        Returns:
            ``(N,)`` nats per frame.
        """
        raise NotImplementedError

    def sequence_nll(self, batch: dict) -> torch.Tensor:
        """Per-frame NLL of a batch (see :mod:`seqart.models.poly.data`).

        Returns:
            ``(B, T)`` nats, 0 where ``mask`` is 0.
        """
        frames, mask = batch["frames"], batch["mask"]
        h, _ = self.frame_states(frames, batch["start"])
        b, t, f = frames.shape[0], frames.shape[1] - 1, frames.shape[2]
        flat_h = h.reshape(b * t, -1)
        prev = frames[:, :-1].reshape(b * t, f)
        cur = frames[:, 1:].reshape(b * t, f)
        keep = mask.reshape(-1) > 0
        # float32 whatever autocast made of h: the per-frame NLLs come out of frame_nll in
        # float32, and sums of thousands of them must not round at bf16/fp16 precision
        nll = torch.zeros(b * t, dtype=torch.float32, device=h.device)
        rows = torch.nonzero(keep).squeeze(1)
        if torch.is_grad_enabled():
            nll[rows] = self.frame_nll(flat_h[rows], prev[rows], cur[rows]).float()
        else:
            for a in range(0, len(rows), EVAL_CHUNK):
                part = rows[a: a + EVAL_CHUNK]
                nll[part] = self.frame_nll(flat_h[part], prev[part], cur[part]).float()
        return nll.reshape(b, t)

    # -------------------------------------------------------------- training
    def configure_optimizers(self, train):
        return {"main": torch.optim.AdamW(self.parameters(), lr=train.lr, weight_decay=train.weight_decay)}

    def training_step(self, batch: dict, step: StepFn) -> dict:
        nll = self.sequence_nll(batch)
        frames = batch["mask"].sum()
        loss = nll.sum() / self.mean_items(frames)  # nats per frame (of the global batch in a data-parallel run)
        step("main", loss)
        return {"loss": loss.detach(), "items": frames}

    @torch.no_grad()
    def validation_step(self, batch: dict) -> dict:
        nll = self.sequence_nll(batch)
        return {"loss": nll.sum(), "weight": batch["mask"].sum()}

    @classmethod
    def data(cls, sequences, tokenizer, train, seed: int, training: bool, config=None) -> FrameWindows:
        """Frame windows for training (optionally transposed) or whole pieces for evaluation."""
        return FrameWindows(sequences, batch_size=train.batch_size, seq_len=train.seq_len, seed=seed,
                            max_transpose=train.augment_transpose if training else 0)

    # -------------------------------------------------------------- sampling
    def sample_frame(self, h: torch.Tensor, prev: torch.Tensor, temperature: float,
                     generator: torch.Generator | None) -> torch.Tensor:
        """Draw one frame per row: ``h`` ``(N, H)``, ``prev`` ``(N, F)`` -> ``(N, F)`` 0/1."""
        raise NotImplementedError

    @torch.no_grad()
    def generate(self, steps: int, num: int = 1, temperature: float = 1.0, primer: torch.Tensor | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Ancestral sampling of ``steps`` frames after an optional primer.

        Args:
            steps: frames to generate.
            num: independent sequences.
            temperature: > 0; divides every key's logit.
            primer: ``(P, F)`` 0/1 frames the sequences start with (kept unchanged).
            generator: torch RNG for reproducible draws.

        Returns:
            ``(num, P + steps, F)`` float 0/1 frames.
        """
        was_training = self.training
        self.eval()
        f = self.config.n_features
        device = next(self.parameters()).device
        prime = (torch.zeros(0, f, device=device) if primer is None
                 else torch.as_tensor(primer, dtype=torch.float32, device=device))
        prime = prime.unsqueeze(0).expand(num, -1, -1)
        start = torch.ones(num, device=device)
        context = torch.zeros(num, 1, f, device=device)
        # The start context and the primer: the last output predicts the frame after
        # the primer (or the first frame, from the start flag alone, without one).
        h, state = self.read_frames(torch.cat([context, prime], dim=1), start)
        h_last, prev = h[:, -1], (prime[:, -1] if prime.shape[1] else context[:, 0])
        out = [prime]
        no_start = torch.zeros(num, device=device)
        for _ in range(steps):
            frame = self.sample_frame(h_last, prev, temperature, generator)
            out.append(frame.unsqueeze(1))
            h, state = self.read_frames(frame.unsqueeze(1), no_start, state)
            h_last, prev = h[:, -1], frame
        self.train(was_training)
        return torch.cat(out, dim=1)


class PolyLSTM(PolyRNN):
    """Frame LSTM with one independent Bernoulli output per key."""

    registry_name = "poly-lstm"

    def __init__(self, config: PolyLSTMConfig):
        super().__init__(config)
        self.head = nn.Linear(config.hidden_size, config.n_features)
        nn.init.constant_(self.head.bias, KEY_BIAS_INIT)

    def frame_nll(self, h, prev, cur):
        logits = self.head(h)
        return F.binary_cross_entropy_with_logits(logits.float(), cur.float(), reduction="none").sum(-1)

    def sample_frame(self, h, prev, temperature, generator):
        probs = torch.sigmoid(self.head(h).float() / temperature)
        return torch.bernoulli(probs, generator=generator)


class PolyNADE(PolyRNN):
    """Frame LSTM whose output models a frame's keys jointly, lowest key first."""

    registry_name = "poly-nade"

    def __init__(self, config: PolyNADEConfig):
        super().__init__(config)
        c = config
        if c.inner == "nade":
            self.to_visible_bias = nn.Linear(c.hidden_size, c.n_features)
            self.to_hidden_bias = nn.Linear(c.hidden_size, c.inner_size)
            self.nade_in = nn.Parameter(torch.randn(c.n_features, c.inner_size) * 0.01)
            self.nade_out = nn.Parameter(torch.randn(c.n_features, c.inner_size) * 0.01)
            nn.init.constant_(self.to_visible_bias.bias, KEY_BIAS_INIT)
        else:
            self.context = nn.Linear(c.hidden_size, c.context_size)
            self.pitch = nn.Embedding(c.n_features, c.pitch_embed)
            width = c.context_size + c.pitch_embed + c.window + 2 * c.window + 1
            self.note_rnn = recurrent.LSTM(width, c.inner_size, batch_first=True)
            self.note_drop = nn.Dropout(c.dropout)
            self.note_out = nn.Linear(c.inner_size, 1)
            nn.init.constant_(self.note_out.bias, KEY_BIAS_INIT)

    # ------------------------------------------------------------------ NADE
    def _nade_logits(self, h, cur):
        contrib = cur.unsqueeze(-1) * self.nade_in  # (N, F, Hn): key k's push on the hidden units
        pre = self.to_hidden_bias(h).unsqueeze(1) + torch.cumsum(contrib, dim=1) - contrib  # keys < k only
        return self.to_visible_bias(h) + (torch.sigmoid(pre) * self.nade_out).sum(-1)

    def _nade_sample(self, h, temperature, generator):
        pre = self.to_hidden_bias(h).float()  # (N, Hn); float32 so the running sum does not round
        bias = self.to_visible_bias(h).float()  # (N, F)
        frame = torch.zeros_like(bias)
        for k in range(self.config.n_features):
            logit = bias[:, k] + torch.sigmoid(pre) @ self.nade_out[k].float()
            frame[:, k] = torch.bernoulli(torch.sigmoid(logit / temperature), generator=generator)
            pre = pre + frame[:, k: k + 1] * self.nade_in[k].float()
        return frame

    # ------------------------------------------------------------ note LSTM
    def _note_features(self, h, prev, cur):
        """Per-key inputs of the note LSTM: ``(N, F, width)``."""
        w, n, f = self.config.window, h.shape[0], self.config.n_features
        ctx = self.note_drop(self.context(h)).unsqueeze(1).expand(n, f, -1)
        pitch = self.pitch.weight.unsqueeze(0).expand(n, f, -1)
        parts = [ctx, pitch]
        if w:
            below = F.pad(cur, (w, 0)).unfold(1, w, 1)[:, :f]  # keys k-w .. k-1 of this frame
            around = F.pad(prev, (w, w)).unfold(1, 2 * w + 1, 1)  # keys k-w .. k+w of the previous frame
            parts += [below, around]
        else:
            parts.append(prev.unsqueeze(-1))
        return torch.cat(parts, dim=-1)

    def _note_logits(self, h, prev, cur):
        out, _ = self.note_rnn(self._note_features(h, prev, cur))
        return self.note_out(self.note_drop(out)).squeeze(-1)

    def _note_sample(self, h, prev, temperature, generator):
        c, n = self.config, h.shape[0]
        w, f = c.window, c.n_features
        ctx = self.context(h)
        padded_prev = F.pad(prev, (w, w))
        frame = torch.zeros(n, f + w, device=h.device)  # w leading zeros, then keys (float32 0/1)
        state = None
        for k in range(f):
            parts = [ctx, self.pitch.weight[k].expand(n, -1)]
            if w:
                parts += [frame[:, k: k + w], padded_prev[:, k: k + 2 * w + 1]]
            else:
                parts.append(prev[:, k: k + 1])
            out, state = self.note_rnn(torch.cat(parts, dim=-1).unsqueeze(1), state)
            logit = self.note_out(out[:, 0]).squeeze(-1)
            frame[:, w + k] = torch.bernoulli(torch.sigmoid(logit.float() / temperature), generator=generator)
        return frame[:, w:]

    # ------------------------------------------------------------- interface
    def frame_nll(self, h, prev, cur):
        logits = self._nade_logits(h, cur) if self.config.inner == "nade" else self._note_logits(h, prev, cur)
        return F.binary_cross_entropy_with_logits(logits.float(), cur.float(), reduction="none").sum(-1)

    def sample_frame(self, h, prev, temperature, generator):
        if self.config.inner == "nade":
            return self._nade_sample(h, temperature, generator)
        return self._note_sample(h, prev, temperature, generator)
