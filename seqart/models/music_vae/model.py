"""A sequence VAE over melody spans, in the MusicVAE family (Roberts et al. 2018).

A bidirectional LSTM encodes a span of step classes (see
:mod:`seqart.models.music_vae.data`) into a Gaussian posterior over ``z``; a decoder
rebuilds the span from ``z``:

- ``flat``: one autoregressive LSTM over the whole span, its state initialised
  from ``z`` and ``z`` fed at every step;
- ``hierarchical``: a *conductor* LSTM turns ``z`` into one embedding per bar, and
  a bar-level LSTM decodes each bar from its embedding (state initialised from it,
  embedding fed at every step). The bar decoder cannot lean on a long
  autoregressive history, so it has to use the latent code: this is what keeps
  16-bar reconstructions faithful. With ``bar_latent_size`` part of ``z`` is one
  code per bar, read from that bar by a hierarchical encoder and handed to that
  bar (and, with ``bar_prior="learned"``, drawn from a learned prior given the
  bars before). Config ``conductor_input`` says whether the
  conductor reads ``z`` at every bar or only starts from it, ``bar_state_reset``
  whether the bar decoder starts every bar afresh from its embedding or carries
  its state across bar lines.

The loss is the reconstruction cross-entropy plus ``beta * max(KL - free, 0)``,
with ``beta`` annealed linearly to ``beta_max`` and ``free`` the free bits.
With ``word_dropout`` the decoder's previous-step inputs are, while training,
replaced at random by a placeholder class.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqart.models import recurrent
from seqart.models.music_vae.data import NOTE_BASE, BarSpans, extract_spans
from seqart.models.base import SeqartModel, StepFn
from seqart.models.music_vae.config import MusicVAEConfig


class MusicVAE(SeqartModel):
    """Bidirectional-LSTM encoder (over the span, or per bar then over bars) -> z -> flat or
    hierarchical LSTM decoder."""

    registry_name = "music-vae"
    item_name = "step"

    def __init__(self, config: MusicVAEConfig):
        config.validate()
        super().__init__(config)
        c = config
        self.start_class = c.n_classes  # decoder input before the first step
        # word dropout's stand-in for a hidden input; only such models have the row,
        # so the weights of every other model keep their shapes
        self.placeholder_class = c.n_classes + 1 if c.word_dropout > 0 else None
        self.drop = nn.Dropout(c.dropout)
        self.enc_embed = nn.Embedding(c.n_classes, c.embed_dim)
        self.encoder = recurrent.LSTM(c.embed_dim, c.encoder_size, c.encoder_layers, batch_first=True,
                               bidirectional=True, dropout=c.dropout if c.encoder_layers > 1 else 0.0)
        if c.encoder == "hierarchical":  # reads the bars' descriptions
            self.bar_encoder = recurrent.LSTM(2 * c.encoder_size, c.encoder_size, batch_first=True, bidirectional=True)
        self.to_mu = nn.Linear(2 * c.encoder_size, c.global_latent_size)
        self.to_sigma = nn.Linear(2 * c.encoder_size, c.global_latent_size)
        if c.bar_latent_size:  # a bar's code: from its own description and the bar-level LSTM's output there
            self.bar_to_mu = nn.Linear(4 * c.encoder_size, c.bar_latent_size)
            self.bar_to_sigma = nn.Linear(4 * c.encoder_size, c.bar_latent_size)
        if c.bar_prior == "learned":  # each bar code's Gaussian from the global part and the codes before
            self.prior_init = nn.Linear(c.global_latent_size, 2 * c.conductor_size)
            self.prior_lstm = recurrent.LSTM(c.bar_latent_size, c.conductor_size, batch_first=True)
            self.prior_out = nn.Linear(c.conductor_size, 2 * c.bar_latent_size)
        if c.decoder == "hierarchical":
            self.conductor_init = nn.Linear(c.global_latent_size, 2 * c.conductor_layers * c.conductor_size)
            if c.bar_latent_size:
                conductor_in = c.bar_latent_size  # each bar's code
            else:
                conductor_in = c.latent_size if c.conductor_input == "z" else 1  # "zeros": a constant input
            self.conductor = recurrent.LSTM(conductor_in, c.conductor_size, c.conductor_layers, batch_first=True)
            cond = c.conductor_size + c.bar_latent_size
        else:
            cond = c.latent_size
        self.dec_embed = nn.Embedding(c.n_classes + (2 if self.placeholder_class is not None else 1), c.embed_dim)
        self.dec_init = nn.Linear(cond, 2 * c.decoder_layers * c.decoder_size)
        self.decoder = recurrent.LSTM(c.embed_dim + cond, c.decoder_size, c.decoder_layers, batch_first=True,
                               dropout=c.dropout if c.decoder_layers > 1 else 0.0)
        self.head = nn.Linear(c.decoder_size, c.n_classes)

    @classmethod
    def data_config(cls, tokenizer) -> dict:
        from seqart.errors import ModelError

        if getattr(tokenizer, "name", None) != "melody":
            raise ModelError("music-vae reads 'melody' corpora (seqart corpus build ... --representation melody)")
        return {"n_classes": NOTE_BASE + tokenizer.num_pitches, "steps_per_beat": tokenizer.config.steps_per_beat,
                "min_pitch": tokenizer.config.min_pitch}

    # ------------------------------------------------------------- encoder
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior of each span.

        Args:
            x: step classes, ``(B, T)`` int64 with ``T = bars * bar_steps``.

        Returns:
            (mu ``(B, Z)``, sigma ``(B, Z)``)
        """
        e = self.drop(self.enc_embed(x))  # (B, T, E)
        if self.config.encoder == "hierarchical":
            B, T, E = e.shape
            bars = T // self.config.bar_steps
            _, (h, _) = self.encoder(e.reshape(B * bars, self.config.bar_steps, E))  # each bar on its own
            described = torch.cat([h[-2], h[-1]], dim=-1).view(B, bars, -1)  # (B, bars, 2H)
            in_context, (h, _) = self.bar_encoder(described)  # (B, bars, 2H)
        else:
            _, (h, _) = self.encoder(e)  # h: (layers * 2, B, H)
        feat = torch.cat([h[-2], h[-1]], dim=-1)  # last layer, forward and backward: (B, 2H)
        mu, sigma = self.to_mu(feat), F.softplus(self.to_sigma(feat)) + 1e-5
        if self.config.bar_latent_size:
            per_bar = torch.cat([described, in_context], dim=-1)  # (B, bars, 4H)
            mu = torch.cat([mu, self.bar_to_mu(per_bar).flatten(1)], dim=1)
            sigma = torch.cat([sigma, (F.softplus(self.bar_to_sigma(per_bar)) + 1e-5).flatten(1)], dim=1)
        return mu, sigma

    # ------------------------------------------------------------- prior
    def _prior_gaussian(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of a bar code, each ``(..., D)``, from the prior LSTM's output."""
        D = self.config.bar_latent_size
        p = self.prior_out(out)
        return p[..., :D], F.softplus(p[..., D:]) + 1e-3

    def bar_prior(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The learned prior of each bar code of ``z`` ``(B, Z)`` given its global part and the
        codes before it: mean and standard deviation, each ``(B, bars * bar_latent_size)``."""
        c = self.config
        G, D = c.global_latent_size, c.bar_latent_size
        codes = z[:, G:].reshape(z.size(0), c.bars, D)
        before = torch.cat([torch.zeros_like(codes[:, :1]), codes[:, :-1]], dim=1)  # (B, U, D)
        out, _ = self.prior_lstm(before, self._state_from(z[:, :G], self.prior_init, 1, c.conductor_size))
        mean, std = self._prior_gaussian(out)
        return mean.flatten(1), std.flatten(1)

    def kl_per_dim(self, mu: torch.Tensor, sigma: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """KL of the posterior from the prior per dimension, nats ``(B, Z)``: against N(0, I),
        or for the bar codes of a learned prior against its Gaussians given ``z`` (the code
        drawn from the posterior, or its mean)."""
        standard = 0.5 * (mu ** 2 + sigma ** 2 - 1 - 2 * torch.log(sigma))
        if self.config.bar_prior != "learned":
            return standard
        G = self.config.global_latent_size
        return torch.cat([standard[:, :G], self._bar_kl(mu, sigma, z)], dim=1)

    def _bar_kl(self, mu: torch.Tensor, sigma: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """KL of the bar codes' posterior from the learned prior given ``z``, nats ``(B, bars * D)``."""
        G = self.config.global_latent_size
        mean, std = self.bar_prior(z)
        return torch.log(std / sigma[:, G:]) + (sigma[:, G:] ** 2 + (mu[:, G:] - mean) ** 2) / (2 * std ** 2) - 0.5

    @torch.no_grad()
    def prior_codes(self, noise: torch.Tensor) -> torch.Tensor:
        """Codes drawn from the prior, ``(N, Z)``, from standard normal ``noise`` ``(N, Z)``:
        the noise itself under N(0, I); with a learned bar prior, the global part is the
        noise's and each bar's code is its prior mean plus its deviation times the noise
        times ``config.prior_noise``."""
        c = self.config
        if c.bar_prior != "learned":
            return noise
        G, D = c.global_latent_size, c.bar_latent_size
        state = self._state_from(noise[:, :G], self.prior_init, 1, c.conductor_size)
        codes = [noise.new_zeros(noise.size(0), D)]  # what the first bar's prior reads
        for u in range(c.bars):
            out, state = self.prior_lstm(codes[-1][:, None], state)
            mean, std = self._prior_gaussian(out[:, 0])
            codes.append(mean + std * c.prior_noise * noise[:, G + u * D: G + (u + 1) * D])
        return torch.cat([noise[:, :G]] + codes[1:], dim=1)

    # ------------------------------------------------------------- decoder
    def _state_from(self, cond: torch.Tensor, layer: nn.Linear, layers: int, size: int):
        """Initial LSTM state ``(h, c)``, each ``(layers, N, size)``, from ``cond`` ``(N, D)``."""
        s = torch.tanh(layer(cond)).view(cond.size(0), 2, layers, size)
        return s[:, 0].transpose(0, 1).contiguous(), s[:, 1].transpose(0, 1).contiguous()

    def conditions(self, z: torch.Tensor) -> torch.Tensor:
        """What each decoded sequence is conditioned on.

        Returns:
            flat: ``z`` itself, ``(B, Z)``; hierarchical: the conductor's bar
            embeddings, ``(B, bars, conductor_size)``, each followed by its bar's
            code with bar codes (``(B, bars, conductor_size + bar_latent_size)``).
        """
        c = self.config
        if c.decoder != "hierarchical":
            return z
        if c.bar_latent_size:
            G = c.global_latent_size
            codes = z[:, G:].reshape(z.size(0), c.bars, c.bar_latent_size)  # (B, U, D)
            state = self._state_from(z[:, :G], self.conductor_init, c.conductor_layers, c.conductor_size)
            out, _ = self.conductor(codes, state)
            return torch.cat([out, codes], dim=-1)  # (B, U, C + D)
        state = self._state_from(z, self.conductor_init, c.conductor_layers, c.conductor_size)
        if c.conductor_input == "z":
            inputs = z[:, None, :].expand(-1, c.bars, -1).contiguous()  # (B, U, Z)
        else:
            inputs = z.new_zeros(z.size(0), c.bars, 1)  # (B, U, 1)
        out, _ = self.conductor(inputs, state)
        return out  # (B, U, C)

    def initial_decoder_state(self, cond: torch.Tensor):
        """The (bar) decoder's LSTM state ``(h, c)`` at the start of a sequence, each
        ``(decoder_layers, N, decoder_size)``, from its condition ``cond`` ``(N, D)``."""
        c = self.config
        return self._state_from(cond, self.dec_init, c.decoder_layers, c.decoder_size)

    def _run_decoder(self, prev: torch.Tensor, cond: torch.Tensor, state=None):
        """One pass of the (bar) decoder over ``prev`` ``(N, S)`` inputs, conditioned on
        ``cond``: ``(N, D)`` for every step, or ``(N, S, D)`` one per step. Without a
        ``state`` it starts from the one the (first step's) condition gives."""
        if state is None:
            state = self.initial_decoder_state(cond if cond.dim() == 2 else cond[:, 0])
        emb = self.drop(self.dec_embed(prev))  # (N, S, E)
        per_step = cond[:, None, :].expand(-1, prev.size(1), -1) if cond.dim() == 2 else cond
        inp = torch.cat([emb, per_step], dim=-1)
        out, state = self.decoder(inp, state)
        return self.head(self.drop(out)), state  # (N, S, C)

    def _sequences(self, z: torch.Tensor, prev: torch.Tensor, bar_state_reset: bool):
        """Reshape (B, T) decoder inputs and z into the decoder's sequences and conditions:
        flat, ``(B, T)`` and ``(B, Z)``; hierarchical with the state reset at every bar,
        one sequence per bar, ``(B * U, S)`` and ``(B * U, C)``; hierarchical with the state
        carried, one per span, ``(B, T)`` with each step's bar embedding ``(B, T, C)``."""
        c = self.config
        cond = self.conditions(z)
        if c.decoder != "hierarchical":
            return prev, cond
        if not bar_state_reset:
            return prev, cond.repeat_interleave(c.bar_steps, dim=1)
        B = prev.size(0)
        return prev.reshape(B * c.bars, c.bar_steps), cond.reshape(B * c.bars, -1)

    def decoder_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """The teacher-forced inputs of targets ``x`` ``(B, T)``: the start class, then
        ``x`` without its last step, ``(B, T)``."""
        start = torch.full((x.size(0), 1), self.start_class, dtype=x.dtype, device=x.device)
        return torch.cat([start, x[:, :-1]], dim=1)

    def drop_words(self, prev: torch.Tensor) -> torch.Tensor:
        """Word dropout: in training mode, each input of ``prev`` ``(B, T)`` replaced by the
        placeholder class with probability ``config.word_dropout``; unchanged otherwise.
        The draw comes from :meth:`batch_noise`, so it is the same in a resumed or a
        data-parallel run."""
        p = self.config.word_dropout
        if not self.training or self.placeholder_class is None:
            return prev
        uniform = torch.special.ndtr(self.batch_noise(*prev.shape, device=prev.device).float())  # (B, T) in (0, 1)
        return torch.where(uniform < p, torch.full_like(prev, self.placeholder_class), prev)

    def reconstruct_logits(self, x: torch.Tensor, z: torch.Tensor, sample_prob: float = 0.0) -> torch.Tensor:
        """Teacher-forced logits of ``x`` given ``z`` (with word dropout in training mode).

        Args:
            x: target step classes ``(B, T)``.
            z: latent codes ``(B, Z)``.
            sample_prob: scheduled sampling: the chance that a step's input is the
                model's own sample of the previous step instead of the true one.

        Returns:
            logits ``(B, T, n_classes)``.
        """
        return self.logits_of_inputs(self.drop_words(self.decoder_inputs(x)), z, sample_prob)

    def logits_of_inputs(self, prev: torch.Tensor, z: torch.Tensor, sample_prob: float = 0.0,
                         bar_state_reset: bool | None = None) -> torch.Tensor:
        """Logits of every step given the decoder's inputs (see :meth:`decoder_inputs`).

        Args:
            prev: inputs ``(B, T)``: step classes, the start class or the placeholder.
            z: latent codes ``(B, Z)``.
            sample_prob: as in :meth:`reconstruct_logits`.
            bar_state_reset: override the config's (hierarchical only; the diagnostics
                use it to cut the state a model carries across bar lines).

        Returns:
            logits ``(B, T, n_classes)``.
        """
        B, T = prev.shape
        reset = self.config.bar_state_reset if bar_state_reset is None else bar_state_reset
        seqs, cond = self._sequences(z, prev, reset)
        if sample_prob <= 0:
            logits, _ = self._run_decoder(seqs, cond)
        else:
            logits = self._scheduled(seqs, cond, sample_prob)
        return logits.reshape(B, T, -1)

    def _scheduled(self, seqs: torch.Tensor, cond: torch.Tensor, p: float) -> torch.Tensor:
        """Step-by-step decoding where each input is, with probability ``p``, the
        model's own sample of the previous step (Bengio et al. 2015)."""
        outs, state, own = [], None, None
        for t in range(seqs.size(1)):
            inp = seqs[:, t: t + 1]
            if own is not None:
                use_own = torch.rand(inp.shape, device=inp.device) < p
                inp = torch.where(use_own, own, inp)
            logits, state = self._run_decoder(inp, cond if cond.dim() == 2 else cond[:, t: t + 1], state)
            outs.append(logits)
            own = torch.multinomial(torch.softmax(logits[:, 0].detach().float(), -1), 1)
        return torch.cat(outs, dim=1)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, temperature: float = 1.0, greedy: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode latent codes autoregressively.

        Args:
            z: ``(N, Z)``.
            temperature: > 0; divides the logits before sampling.
            greedy: take the likeliest class at each step (``temperature`` ignored).
            generator: torch random generator for sampling.

        Returns:
            step classes ``(N, T)`` int64.
        """
        c = self.config
        N = z.size(0)
        cond = self.conditions(z)
        prev = torch.full((N, 1), self.start_class, dtype=torch.long, device=z.device)
        out = []
        hierarchical = c.decoder == "hierarchical"
        groups = [(cond[:, u], c.bar_steps) for u in range(c.bars)] if hierarchical else [(cond, c.span_steps)]
        state = None
        for g_cond, length in groups:
            if not hierarchical or c.bar_state_reset:
                state = None
            for _ in range(length):
                logits, state = self._run_decoder(prev, g_cond, state)
                logits = logits[:, 0].float()
                if greedy:
                    prev = logits.argmax(-1, keepdim=True)
                else:
                    probs = torch.softmax(logits / temperature, -1)
                    prev = torch.multinomial(probs, 1, generator=generator)
                out.append(prev)
        return torch.cat(out, dim=1)

    # ------------------------------------------------------------ training
    def kl_weight(self, step: int) -> float:
        c = self.config
        return c.beta_max * (min(1.0, step / c.kl_warmup_steps) if c.kl_warmup_steps else 1.0)

    def sample_prob(self, step: int) -> float:
        c = self.config
        if c.scheduled_sampling <= 0:
            return 0.0
        return c.scheduled_sampling * (min(1.0, step / c.sampling_warmup_steps) if c.sampling_warmup_steps else 1.0)

    def _terms(self, x: torch.Tensor, sample_z: bool, sample_prob: float = 0.0, fit: bool = False):
        """Per-span reconstruction NLL (nats), KL (nats), correct steps, and the prior's fit
        (:meth:`prior_fit`; 0 unless ``fit`` and ``config.prior_fit``), each ``(B,)``."""
        mu, sigma = self.encode(x)
        z = mu + sigma * self.batch_noise(*sigma.shape, device=sigma.device).to(sigma.dtype) if sample_z else mu
        logits = self.reconstruct_logits(x, z, sample_prob).float()  # (B, T, C)
        nll = F.cross_entropy(logits.transpose(1, 2), x, reduction="none").sum(1)
        kl = self.kl_per_dim(mu.float(), sigma.float(), z.float()).sum(1)
        correct = (logits.argmax(-1) == x).sum(1)
        fitted = self.prior_fit(mu.float(), sigma.float(), z.float()) if fit and self.config.prior_fit else 0 * kl
        return nll, kl, correct, fitted

    def prior_fit(self, mu: torch.Tensor, sigma: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """KL of the bar codes' posterior from the learned prior with the posterior held fixed,
        nats ``(B,)``: its gradient reaches only the prior, which so keeps fitting the codes the
        encoder writes, also where the free bits leave the KL without a cost."""
        return self._bar_kl(mu.detach(), sigma.detach(), z.detach()).sum(1)

    def _kl_cost(self, kl: torch.Tensor) -> torch.Tensor:
        return torch.clamp(kl - self.config.free_bits * math.log(2.0), min=0.0)

    def configure_optimizers(self, train):
        return {"main": torch.optim.AdamW(self.parameters(), lr=train.lr, betas=(0.9, 0.999),
                                          weight_decay=train.weight_decay)}

    def training_step(self, batch: torch.Tensor, step: StepFn) -> dict:
        T = batch.size(1)
        beta = self.kl_weight(self.trainer_step)
        nll, kl, correct, fit = self._terms(batch, sample_z=True, sample_prob=self.sample_prob(self.trainer_step),
                                            fit=True)
        loss = (nll + beta * self._kl_cost(kl) + self.config.prior_fit * fit).mean() / T
        step("main", loss)
        return {"loss": loss.detach(), "recon": nll.detach().mean() / T, "kl": kl.detach().mean(),
                "accuracy": correct.float().mean().detach() / T, "beta": torch.tensor(beta), "items": batch.numel()}

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict:
        """Sums over the batch, per step after the trainer divides by ``weight``:
        ``loss`` (reconstruction from the posterior mean + ``beta_max`` x KL cost),
        ``recon``, ``accuracy`` (teacher-forced) and ``kl`` (nats per step; x T for per span)."""
        nll, kl, correct, _ = self._terms(batch, sample_z=False)
        cost = self.config.beta_max * self._kl_cost(kl)
        return {"loss": (nll + cost).sum(), "recon": nll.sum(), "kl": kl.sum(), "accuracy": correct.sum(),
                "weight": batch.numel()}

    @classmethod
    def data(cls, sequences, tokenizer, train, seed: int, training: bool, config: MusicVAEConfig | None = None):
        """Bar-aligned spans of ``config.bars`` bars (training: random, transposed)."""
        if config is None:
            raise ValueError("MusicVAE.data needs the model config (span length)")
        spans = extract_spans(sequences, tokenizer, config.bars, config.bar_steps)
        return BarSpans(spans, batch_size=train.batch_size, n_pitches=tokenizer.num_pitches, seed=seed,
                        max_transpose=train.augment_transpose if training else 0)

    def after_training(self, folder, corpus, tokenizer) -> None:
        """Compute the attribute vectors from the training split and save them next to the weights."""
        from seqart.models.music_vae.attributes import compute_attribute_vectors, save_attribute_vectors

        spans = extract_spans(corpus.split("train"), tokenizer, self.config.bars, self.config.bar_steps)
        save_attribute_vectors(folder, compute_attribute_vectors(self, spans))
