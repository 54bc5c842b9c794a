"""How much a trained melody VAE's decoder uses its latent code.

:func:`z_usage` measures, on a set of spans (step classes, see
:mod:`seqart.models.music_vae.data`):

- **teacher-forced accuracy** of the reconstructions with the span's own code
  (``z = mu(x)``), with the code of another span (the codes shuffled across the
  set, no span keeping its own) and with ``z = 0``, over all steps and per bar
  position, and the same on **note-onset steps** only (steps whose target is a
  note class: there an all-hold decoder scores nothing). If the accuracy with a
  shuffled code is close to the one with the true code, the decoder writes the
  span from its own previous steps, not from the code;
- the **KL per latent dimension** (nats, averaged over the spans; they sum to the
  mean KL per span) and the number of **active dimensions**, by KL above a
  threshold and by Burda et al.'s (2016) activity, the variance over the spans of
  the posterior mean;
- **what the decoder sees at bar starts**: the teacher-forced accuracy at the
  first step of bars 2, 3, ... with the true code, with a shuffled code, with the
  input carried over the bar line (the previous bar's last step) replaced by the
  start class, and, for a hierarchical model that carries its LSTM state across
  bar lines (``bar_state_reset`` false), with that state replaced by the one the
  conductor's embedding gives; and the **conductor spread** (hierarchical only):
  how far the bar embeddings of different spans lie apart, relative to their
  size (0: the conductor says the same to every span).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from seqart.errors import ModelError
from seqart.models.music_vae.data import NOTE_BASE

#: the codes the decoder is given, in table order
Z_KINDS = ("true z", "shuffled z", "z = 0")
#: a dimension with more KL than this (nats) or more variance of its posterior mean is active
ACTIVE_THRESHOLD = 0.01


@dataclass
class ZUsage:
    """What :func:`z_usage` measured on ``spans`` spans of ``bars`` bars.

    Attributes:
        spans, bars, bar_steps: the set measured (``T = bars * bar_steps`` steps a span).
        accuracy: z kind (:data:`Z_KINDS`) -> teacher-forced accuracy over all steps.
        onset_accuracy: z kind -> the same on note-onset steps only.
        per_bar: z kind -> accuracy per bar position, ``(bars,)``.
        onset_per_bar: z kind -> onset-step accuracy per bar position, ``(bars,)``
            (NaN for a bar position without onsets).
        kl_per_dim: mean KL of each latent dimension, nats, ``(Z,)``.
        kl_total: mean KL per span, nats (``kl_per_dim.sum()``).
        mu_variance: variance over the spans of each dimension's posterior mean, ``(Z,)``.
        active_by_kl: dimensions with ``kl_per_dim`` above ``threshold``.
        active_by_variance: dimensions with ``mu_variance`` above ``threshold`` (Burda's activity).
        threshold: the threshold used.
        bar_start: accuracy at the first steps of bars 2.. (all steps, then onsets):
            ``"true z"``, ``"shuffled z"``, ``"input cut"`` (the previous bar's last step
            replaced by the start class), ``"state cut"`` (carried state replaced by the
            conductor's; hierarchical models with ``bar_state_reset`` false only), each
            also with an ``" onsets"`` key. Empty for one-bar spans.
        conductor_spread: mean distance of a span's bar embedding from the mean
            embedding of that bar position, over the mean embedding norm; None for a
            flat decoder.
    """

    spans: int
    bars: int
    bar_steps: int
    accuracy: dict[str, float] = field(default_factory=dict)
    onset_accuracy: dict[str, float] = field(default_factory=dict)
    per_bar: dict[str, np.ndarray] = field(default_factory=dict)
    onset_per_bar: dict[str, np.ndarray] = field(default_factory=dict)
    kl_per_dim: np.ndarray | None = None
    kl_total: float = 0.0
    mu_variance: np.ndarray | None = None
    active_by_kl: int = 0
    active_by_variance: int = 0
    threshold: float = ACTIVE_THRESHOLD
    bar_start: dict[str, float] = field(default_factory=dict)
    conductor_spread: float | None = None

    def rows(self) -> list[dict]:
        """One row per (z kind, steps): ``{"z", "steps", "overall", "bar1", ...}`` (plain floats)."""
        out = []
        for kind in Z_KINDS:
            for steps, overall, per_bar in (("all", self.accuracy, self.per_bar),
                                            ("onsets", self.onset_accuracy, self.onset_per_bar)):
                row = {"z": kind, "steps": steps, "overall": overall[kind]}
                row.update({f"bar{u + 1}": _plain(v) for u, v in enumerate(per_bar[kind])})
                out.append(row)
        return out


def _plain(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def derangement(n: int, seed: int = 0) -> np.ndarray:
    """A permutation of ``range(n)`` that moves every index (identity when ``n < 2``)."""
    if n < 2:
        return np.arange(n)
    order = np.random.default_rng(seed).permutation(n)
    out = np.empty(n, np.int64)
    out[order] = np.roll(order, -1)  # each index takes the next one in a random cycle
    return out


def z_usage(model, spans: np.ndarray, batch: int = 256, seed: int = 0,
            threshold: float = ACTIVE_THRESHOLD) -> ZUsage:
    """Measure how much ``model``'s decoder uses its code on ``spans``.

    Args:
        model: a :class:`~seqart.models.music_vae.model.MusicVAE` (put in eval mode here).
        spans: step classes ``(N, T)``, ``T`` the model's span length.
        batch: spans per forward pass.
        seed: picks the shuffling of the codes.
        threshold: what makes a latent dimension active (nats of KL, or variance of mu).

    Returns:
        a :class:`ZUsage`.
    """
    c = model.config
    spans = np.asarray(spans)
    if spans.ndim != 2 or spans.shape[1] != c.span_steps or len(spans) == 0:
        raise ModelError(f"z_usage needs spans of shape (N, {c.span_steps}), got {spans.shape}")
    model.eval()
    x_all = torch.from_numpy(spans.astype(np.int64))
    with torch.no_grad():
        mu, sigma = _posteriors(model, x_all, batch)
        codes = {"true z": mu, "shuffled z": mu[torch.from_numpy(derangement(len(mu), seed))],
                 "z = 0": torch.zeros_like(mu)}
        correct = {kind: _correct(model, x_all, z, batch) for kind, z in codes.items()}
        starts = _bar_start_correct(model, x_all, codes, correct, batch)
        spread = _conductor_spread(model, mu, batch)
        kl = torch.cat([model.kl_per_dim(mu[i: i + batch], sigma[i: i + batch], mu[i: i + batch]).float()
                        for i in range(0, len(mu), batch)])  # (N, Z) nats, against the model's own prior
    onsets = spans >= NOTE_BASE  # (N, T)
    kl_per_dim = kl.mean(0).double().numpy()
    mu_variance = mu.double().var(0, unbiased=False).numpy() if len(mu) > 1 else np.zeros(mu.shape[1])
    usage = ZUsage(spans=len(spans), bars=c.bars, bar_steps=c.bar_steps, kl_per_dim=kl_per_dim,
                   kl_total=float(kl_per_dim.sum()), mu_variance=mu_variance,
                   active_by_kl=int((kl_per_dim > threshold).sum()),
                   active_by_variance=int((mu_variance > threshold).sum()), threshold=threshold,
                   conductor_spread=spread)
    for kind, hits in correct.items():
        usage.accuracy[kind] = float(hits.mean())
        usage.onset_accuracy[kind] = _masked_mean(hits, onsets)
        usage.per_bar[kind] = _by_bar(hits, np.ones_like(onsets), c.bars)
        usage.onset_per_bar[kind] = _by_bar(hits, onsets, c.bars)
    first = np.arange(1, c.bars) * c.bar_steps  # first step of bars 2..U
    if len(first):
        for name, hits in starts.items():
            usage.bar_start[name] = float(hits[:, first].mean())
            usage.bar_start[f"{name} onsets"] = _masked_mean(hits[:, first], onsets[:, first])
    return usage


def _posteriors(model, x, batch: int):
    """Posterior mean and standard deviation of every span, each ``(N, Z)`` float32."""
    mus, sigmas = [], []
    for i in range(0, len(x), batch):
        mu, sigma = model.encode(x[i: i + batch])
        mus.append(mu.float())
        sigmas.append(sigma.float())
    return torch.cat(mus), torch.cat(sigmas)


def _correct(model, x, z, batch: int, inputs=None, bar_state_reset: bool | None = None) -> np.ndarray:
    """Whether each step's likeliest class (teacher forced, given ``z``) is the true one, ``(N, T)`` bool."""
    out = []
    for i in range(0, len(x), batch):
        xb = x[i: i + batch]
        prev = model.decoder_inputs(xb) if inputs is None else inputs[i: i + batch]
        logits = model.logits_of_inputs(prev, z[i: i + batch], bar_state_reset=bar_state_reset)
        out.append((logits.argmax(-1) == xb).numpy())
    return np.concatenate(out)


def _bar_start_correct(model, x, codes: dict, correct: dict, batch: int) -> dict[str, np.ndarray]:
    """The ``(N, T)`` hits behind :attr:`ZUsage.bar_start` (the bar-start columns are read
    later); ``correct``: the hits already measured per z kind."""
    c = model.config
    if c.bars < 2:
        return {}
    cut = model.decoder_inputs(x).clone()
    cut[:, c.bar_steps:: c.bar_steps] = model.start_class  # every bar's first input but the span's
    out = {"true z": correct["true z"], "shuffled z": correct["shuffled z"],
           "input cut": _correct(model, x, codes["true z"], batch, inputs=cut)}
    if c.decoder == "hierarchical" and not c.bar_state_reset:
        out["state cut"] = _correct(model, x, codes["true z"], batch, bar_state_reset=True)
    return out


def _conductor_spread(model, mu, batch: int) -> float | None:
    """Mean distance of the bar embeddings from their per-position mean, over their mean norm."""
    if model.config.decoder != "hierarchical":
        return None
    cond = torch.cat([model.conditions(mu[i: i + batch]).float() for i in range(0, len(mu), batch)])  # (N, U, C)
    spread = (cond - cond.mean(0, keepdim=True)).norm(dim=-1).mean()
    size = cond.norm(dim=-1).mean()
    return float(spread / size) if float(size) > 0 else 0.0


def _masked_mean(hits: np.ndarray, mask: np.ndarray) -> float:
    """Mean of ``hits`` where ``mask`` is set (NaN where it never is)."""
    n = int(mask.sum())
    return float(hits[mask].mean()) if n else float("nan")


def _by_bar(hits: np.ndarray, mask: np.ndarray, bars: int) -> np.ndarray:
    """Mean of ``hits`` ``(N, T)`` where ``mask`` is set, per bar position: ``(bars,)``."""
    n = len(hits)
    h = hits.reshape(n, bars, -1)
    m = mask.reshape(n, bars, -1).astype(bool)
    counts = m.sum((0, 2))
    sums = (h & m).sum((0, 2))
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
