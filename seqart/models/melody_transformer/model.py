"""A decoder-only transformer language model over ``melody`` tokens, with rotary
(relative) positions.

Each block: ``x + Attn(LN(x))``, then ``x + FF(LN(x))`` (pre-norm), causal
multi-head attention with rotary queries and keys, a GELU feed-forward layer; a
final LayerNorm and a linear head (tied to the embedding by default). The NumPy
forward pass in :mod:`.numpy_transformer` computes the same function with a
key/value cache, for sampling without torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqart.models.melody_lm.objective import NextTokenLM
from seqart.models.melody_transformer.config import MelodyTransformerConfig
from seqart.models.melody_transformer.rope import rope_angles


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (B, H, T, Dh) rotated pairwise, first half of each head against the second."""
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Block(nn.Module):
    """One pre-norm decoder block."""

    def __init__(self, c: MelodyTransformerConfig):
        super().__init__()
        self.num_heads, self.dropout = c.num_heads, c.dropout
        self.ln1 = nn.LayerNorm(c.d_model)
        self.qkv = nn.Linear(c.d_model, 3 * c.d_model)
        self.proj = nn.Linear(c.d_model, c.d_model)
        self.ln2 = nn.LayerNorm(c.d_model)
        self.ff_in = nn.Linear(c.d_model, c.ff_dim)
        self.ff_out = nn.Linear(c.ff_dim, c.d_model)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """x (B, T, D) -> (B, T, D); cos/sin (T, Dh/2)."""
        B, T, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, self.num_heads, D // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)  # (B, H, T, Dh)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                             dropout_p=self.dropout if self.training else 0.0)
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(B, T, D)))
        return x + self.drop(self.ff_out(F.gelu(self.ff_in(self.ln2(x)), approximate="tanh")))


class MelodyTransformer(NextTokenLM):
    """Embedding -> decoder blocks -> LayerNorm -> logits over the next token."""

    registry_name = "melody-transformer"

    def __init__(self, config: MelodyTransformerConfig):
        config.validate()
        super().__init__(config)
        c = config
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.num_layers))
        self.ln_f = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab_size)
        if c.tie_weights:
            self.head.weight = self.embed.weight
        nn.init.normal_(self.embed.weight, std=0.02)
        for block in self.blocks:  # residual branches start small (GPT-2's scaled init)
            for layer in (block.proj, block.ff_out):
                nn.init.normal_(layer.weight, std=0.02 / (2 * c.num_layers) ** 0.5)
                nn.init.zeros_(layer.bias)
        nn.init.zeros_(self.head.bias)

    def forward(self, idx: torch.Tensor, state=None):
        """Next-token logits.

        Args:
            idx: token ids, (B, T) int64, T <= ``config.context``.
            state: ignored (the signature of the recurrent models; there is no state to carry).

        Returns:
            (logits (B, T, V) float, None)
        """
        c = self.config
        T = idx.size(1)
        cos, sin = (torch.from_numpy(a).to(idx.device) for a in rope_angles(range(T), c.head_dim, c.rope_base))
        x = self.drop(self.embed(idx))
        for block in self.blocks:
            x = block(x, cos, sin)
        return self.head(self.ln_f(x)), None

    # ------------------------------------------------------------ training
    def configure_optimizers(self, train):
        decay = [p for n, p in self.named_parameters() if p.dim() >= 2]
        no_decay = [p for n, p in self.named_parameters() if p.dim() < 2]
        return {"main": torch.optim.AdamW([{"params": decay, "weight_decay": train.weight_decay},
                                           {"params": no_decay, "weight_decay": 0.0}],
                                          lr=train.lr, betas=(0.9, 0.98))}
