"""NumPy inference for the melody transformer, with a key/value cache (no torch needed).

Sampling feeds one token at a time; the cache keeps every earlier position's
rotated keys and values per layer, so a step costs one row of each matrix
product plus attention over the cache. Beyond ``context`` tokens the oldest
cached positions are dropped (a sliding window): rotary positions make a cached
key's meaning independent of how far the sequence has grown. The logits match
the torch model within 1e-5 for sequences up to ``context`` (checked in the tests).
"""

from __future__ import annotations

import numpy as np

from seqart.models.melody_transformer.rope import rope_angles, rotate


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """LayerNorm over the last axis (torch's, biased variance); sums, not ``mean``: fewer
    NumPy calls per step."""
    scale = np.float32(1.0 / x.shape[-1])
    centred = x - x.sum(axis=-1, keepdims=True) * scale
    var = (centred * centred).sum(axis=-1, keepdims=True) * scale
    return centred / np.sqrt(var + np.float32(eps)) * w + b


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (attention weights; a -inf score gets weight 0)."""
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (torch's ``approximate="tanh"``)."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))


def expected_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape of a MelodyTransformer state dict for ``config`` (``head.weight``
    included: a tied model stores it once, under ``embed.weight``)."""
    V, D, F = int(config["vocab_size"]), int(config["d_model"]), int(config["ff_dim"])
    shapes = {"embed.weight": (V, D), "head.weight": (V, D), "head.bias": (V,),
              "ln_f.weight": (D,), "ln_f.bias": (D,)}
    for i in range(int(config["num_layers"])):
        p = f"blocks.{i}."
        shapes.update({p + "ln1.weight": (D,), p + "ln1.bias": (D,), p + "qkv.weight": (3 * D, D),
                       p + "qkv.bias": (3 * D,), p + "proj.weight": (D, D), p + "proj.bias": (D,),
                       p + "ln2.weight": (D,), p + "ln2.bias": (D,), p + "ff_in.weight": (F, D),
                       p + "ff_in.bias": (F,), p + "ff_out.weight": (D, F), p + "ff_out.bias": (D,)})
    return shapes


def check_shapes(weights: dict[str, np.ndarray], config: dict) -> None:
    """Raise ValueError unless ``weights`` are exactly the tensors ``config`` needs
    (a shape that does not fit would fail only mid-sampling, or broadcast silently)."""
    from seqart.models.checks import check_tensor_shapes

    check_tensor_shapes(weights, expected_shapes(config),
                        optional={"head.weight"} if config.get("tie_weights", True) else set())


class KVCache:
    """Rotated keys and values of every position fed so far, per layer.

    Attributes:
        keys, values: per layer, shape ``(B, H, capacity, Dh)`` float32; the first
            ``length`` positions along axis 2 are filled.
        length: filled positions (at most the model's context).
        position: absolute position of the next token fed.
        oldest: slot of the oldest position once a full cache is written round-robin
            (one token at a time past the context: the slot of the oldest position is
            overwritten, nothing moves; attention does not care where a key sits).
    """

    def __init__(self, batch: int, num_layers: int, num_heads: int, head_dim: int, capacity: int):
        shape = (batch, num_heads, capacity, head_dim)
        self.keys = [np.zeros(shape, dtype=np.float32) for _ in range(num_layers)]
        self.values = [np.zeros(shape, dtype=np.float32) for _ in range(num_layers)]
        self.length = 0
        self.position = 0
        self.oldest = 0

    def repeat(self, num: int) -> "KVCache":
        """A copy with each batch row repeated ``num`` times."""
        out = KVCache.__new__(KVCache)
        out.keys = [np.repeat(k, num, axis=0) for k in self.keys]
        out.values = [np.repeat(v, num, axis=0) for v in self.values]
        out.length, out.position, out.oldest = self.length, self.position, self.oldest
        return out

    def take(self, rows: np.ndarray) -> "KVCache":
        """A copy holding only batch rows ``rows`` (in that order, repeats allowed)."""
        out = KVCache.__new__(KVCache)
        out.keys = [k[rows] for k in self.keys]
        out.values = [v[rows] for v in self.values]
        out.length, out.position, out.oldest = self.length, self.position, self.oldest
        return out

    def next_slot(self, context: int) -> int:
        """The slot the next token's key and value go to (dropping the oldest position
        when ``context`` positions are held); counts the token in ``length``."""
        slot = self.slot_for_one(context)
        if slot is None:
            self.make_room(1, context)
            slot = self.length
            self.length += 1
        return slot

    def attend(self, layer: int, slot: int, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Store one token's key and value (each (B, H, Dh)) at ``slot`` of ``layer`` and
        return the attention of query ``q`` (B, H, Dh; scaled) over every held position:
        (B, H, Dh)."""
        keys, values = self.keys[layer], self.values[layer]
        keys[:, :, slot] = k
        values[:, :, slot] = v
        scores = np.matmul(keys[:, :, :self.length], q[..., None])[..., 0]  # (B, H, L)
        scores = _softmax(scores)
        return np.matmul(scores[:, :, None, :], values[:, :, :self.length])[:, :, 0]

    def slot_for_one(self, context: int) -> int | None:
        """Where one more token goes when the cache is full (round-robin), else None."""
        if self.length < context:
            return None
        slot = self.oldest
        self.oldest = (self.oldest + 1) % self.length
        return slot

    def make_room(self, count: int, context: int) -> None:
        """Drop the oldest positions so ``count`` more fit within ``context`` at the end of
        the buffers (in order), and grow the buffers if they are too small."""
        if self.oldest:  # back in order, oldest first
            for arrays in (self.keys, self.values):
                for i, a in enumerate(arrays):
                    a[:, :, :self.length] = np.roll(a[:, :, :self.length], -self.oldest, axis=2)
            self.oldest = 0
        keep = min(self.length, context - count)
        if keep < self.length:
            drop = self.length - keep
            for arrays in (self.keys, self.values):
                for a in arrays:
                    a[:, :, :keep] = a[:, :, drop:self.length]
            self.length = keep
        need = self.length + count
        if need > self.keys[0].shape[2]:
            grow = max(need, min(context, 2 * self.keys[0].shape[2]))
            for arrays in (self.keys, self.values):
                for i, a in enumerate(arrays):
                    bigger = np.zeros(a.shape[:2] + (grow,) + a.shape[3:], dtype=a.dtype)
                    bigger[:, :, :self.length] = a[:, :, :self.length]
                    arrays[i] = bigger


class SharedPrefixCache:
    """``k`` continuations of each row of a cache, sharing its keys and values.

    Sampling candidates (several endings of one melody) repeat each row ``k`` times;
    copying the cache would make every step read ``k`` copies of the same keys. Here
    the parent's positions are kept once per row and read as one matrix product for
    the ``k`` queries, and each continuation keeps only what it is fed afterwards. The
    window stays ``context`` wide: as continuations grow, the parent's oldest positions
    drop out. Rows are ordered as ``np.repeat(parent rows, k)``.

    Attributes:
        k: continuations per parent row.
        prefix_keys, prefix_values: per layer, (R, H, P, Dh) views of the parent's
            positions, oldest first.
        start: parent positions dropped from the window so far.
        suffix: a :class:`KVCache` of the (R * k) continuations' own positions.
        position: absolute position of the next token fed.
    """

    def __init__(self, parent: KVCache, k: int, context: int):
        parent.make_room(0, context)  # oldest first; the parent is not used again
        self.k = k
        self.prefix_keys = [a[:, :, :parent.length] for a in parent.keys]
        self.prefix_values = [a[:, :, :parent.length] for a in parent.values]
        self.start = 0
        rows, heads, _, head_dim = parent.keys[0].shape
        self.suffix = KVCache(rows * k, len(parent.keys), heads, head_dim, 16)
        self.position = parent.position

    @property
    def length(self) -> int:
        """Positions each continuation attends to."""
        return self.prefix_keys[0].shape[2] - self.start + self.suffix.length

    def next_slot(self, context: int) -> int:
        """The suffix slot of the next token (the parent's oldest position leaves a full window)."""
        if self.length >= context:
            if self.start >= self.prefix_keys[0].shape[2]:
                raise ValueError("continuations longer than the context: take() them into a KVCache first")
            self.start += 1
        self.suffix.make_room(1, 1 << 62)  # grow only; it never holds more than the context
        self.suffix.length += 1
        return self.suffix.length - 1

    def attend(self, layer: int, slot: int, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        """As :meth:`KVCache.attend`; the shared positions go through one product per parent row."""
        keys, values = self.suffix.keys[layer], self.suffix.values[layer]
        keys[:, :, slot] = k
        values[:, :, slot] = v
        B, H, Dh = q.shape
        rows = B // self.k
        shared_k = self.prefix_keys[layer][:, :, self.start:]  # (R, H, P', Dh)
        shared_v = self.prefix_values[layer][:, :, self.start:]
        grouped = q.reshape(rows, self.k, H, Dh).transpose(0, 2, 3, 1)  # (R, H, Dh, k)
        shared = np.matmul(shared_k, grouped).transpose(0, 3, 1, 2).reshape(B, H, -1)  # (B, H, P')
        own = np.matmul(keys[:, :, :self.suffix.length], q[..., None])[..., 0]  # (B, H, S)
        scores = np.concatenate((shared, own), axis=-1)
        scores = _softmax(scores)
        cut = shared.shape[-1]
        by_row = scores[..., :cut].reshape(rows, self.k, H, cut).transpose(0, 2, 1, 3)  # (R, H, k, P')
        att = np.matmul(by_row, shared_v).transpose(0, 2, 1, 3).reshape(B, H, Dh)
        return att + np.matmul(scores[:, :, None, cut:], values[:, :, :self.suffix.length])[:, :, 0]

    def take(self, rows: np.ndarray) -> KVCache:
        """A plain :class:`KVCache` of continuations ``rows`` (in that order, oldest first)."""
        rows = np.asarray(rows)
        out = KVCache.__new__(KVCache)
        parents = rows // self.k

        def joined(prefix: np.ndarray, suffix: np.ndarray) -> np.ndarray:
            return np.concatenate((prefix[parents][:, :, self.start:], suffix[rows][:, :, :self.suffix.length]), axis=2)

        out.keys = [joined(p, s) for p, s in zip(self.prefix_keys, self.suffix.keys)]
        out.values = [joined(p, s) for p, s in zip(self.prefix_values, self.suffix.values)]
        out.length, out.position, out.oldest = out.keys[0].shape[2], self.position, 0
        return out


class NumpyTransformerLM:
    """The melody transformer's forward pass in NumPy, fed token by token or in chunks.

    Args:
        weights: tensor name -> float32 array (``model.safetensors`` contents).
        config: the model config (``d_model``, ``num_layers``, ``num_heads``, ``context`` ...).
    """

    def __init__(self, weights: dict[str, np.ndarray], config: dict):
        check_shapes(weights, config)
        self.num_layers = int(config["num_layers"])
        self.num_heads = int(config["num_heads"])
        self.d_model = int(config["d_model"])
        self.head_dim = self.d_model // self.num_heads
        self.context = int(config["context"])
        self.rope_base = float(config.get("rope_base", 10000.0))
        self.embed = weights["embed.weight"]  # (V, D)
        self.head_w = weights.get("head.weight", self.embed).T.copy()  # (D, V)
        self.head_b = weights["head.bias"]
        self.ln_f = (weights["ln_f.weight"], weights["ln_f.bias"])
        self.layers = []
        # the attention scale 1/sqrt(Dh), folded into the query weights (rotation is linear)
        q_scale = np.ones(3 * self.d_model, dtype=np.float32)
        q_scale[:self.d_model] = 1.0 / np.sqrt(self.head_dim)
        for i in range(self.num_layers):
            p = f"blocks.{i}."
            self.layers.append({
                "ln1": (weights[p + "ln1.weight"], weights[p + "ln1.bias"]),
                "qkv_w": (weights[p + "qkv.weight"].T * q_scale).astype(np.float32),
                "qkv_b": (weights[p + "qkv.bias"] * q_scale).astype(np.float32),
                "proj_w": weights[p + "proj.weight"].T.copy(), "proj_b": weights[p + "proj.bias"],
                "ln2": (weights[p + "ln2.weight"], weights[p + "ln2.bias"]),
                "ff_in_w": weights[p + "ff_in.weight"].T.copy(), "ff_in_b": weights[p + "ff_in.bias"],
                "ff_out_w": weights[p + "ff_out.weight"].T.copy(), "ff_out_b": weights[p + "ff_out.bias"],
            })

    def initial_state(self, batch: int) -> KVCache:
        """An empty cache for ``batch`` rows."""
        return KVCache(batch, self.num_layers, self.num_heads, self.head_dim, min(self.context, 64))

    def step(self, tokens: np.ndarray, state: KVCache) -> tuple[np.ndarray, KVCache]:
        """Advance one token.

        Args:
            tokens: current token ids, (B,) int.
            state: a cache from :meth:`initial_state` or an earlier call; updated in place.

        Returns:
            (next-token logits (B, V) float32, the cache)
        """
        slot = state.next_slot(self.context)
        return self._step_one(np.asarray(tokens), state, slot), state

    def branch(self, state: KVCache, k: int) -> SharedPrefixCache:
        """``k`` continuations of every row of ``state`` (rows ordered as ``np.repeat``),
        sharing its keys and values (:class:`SharedPrefixCache`); ``state`` is used up."""
        return SharedPrefixCache(state, k, self.context)

    def _rope_at(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """cos and sin of ``position``, each (Dh/2,), from a table grown as needed."""
        table = getattr(self, "_rope_table", None)
        if table is None or position >= len(table[0]):
            size = max(2 * position + 1, 1024)
            table = self._rope_table = rope_angles(np.arange(size), self.head_dim, self.rope_base)
        return table[0][position], table[1][position]

    def _step_one(self, tokens: np.ndarray, cache: KVCache, slot: int) -> np.ndarray:
        """One token per row (B,) written at cache ``slot``: logits (B, V). The same
        function as :meth:`_forward` with fewer NumPy calls (2-D rows, one rotation for
        queries and keys together)."""
        B = len(tokens)
        H, Dh, D = self.num_heads, self.head_dim, self.d_model
        half = Dh // 2
        cos, sin = self._rope_at(cache.position)
        x = self.embed[tokens]  # (B, D)
        for layer, w in enumerate(self.layers):
            qkv = (_layer_norm(x, *w["ln1"]) @ w["qkv_w"] + w["qkv_b"]).reshape(B, 3, H, Dh)
            a, b = qkv[:, :2, :, :half], qkv[:, :2, :, half:]
            qk = np.concatenate((a * cos - b * sin, b * cos + a * sin), axis=-1)  # (B, 2, H, Dh), q scaled
            att = cache.attend(layer, slot, qk[:, 0], qk[:, 1], qkv[:, 2])  # (B, H, Dh)
            x = x + att.reshape(B, D) @ w["proj_w"] + w["proj_b"]
            x = x + _gelu(_layer_norm(x, *w["ln2"]) @ w["ff_in_w"] + w["ff_in_b"]) @ w["ff_out_w"] + w["ff_out_b"]
        cache.position += 1
        return (_layer_norm(x, *self.ln_f) @ self.head_w + self.head_b).astype(np.float32, copy=False)

    def run(self, tokens: np.ndarray, state: KVCache | None = None) -> tuple[np.ndarray, KVCache]:
        """Feed a whole prefix (B, T); returns (logits after the last token (B, V), cache)."""
        tokens = np.atleast_2d(tokens)
        state = self.initial_state(tokens.shape[0]) if state is None else state
        if isinstance(state, SharedPrefixCache):
            state = state.take(np.arange(tokens.shape[0]))
        chunk = max(1, self.context // 2)
        logits = None
        for a in range(0, tokens.shape[1], chunk):
            part = tokens[:, a:a + chunk]
            if part.shape[1] == 1:
                logits, state = self.step(part[:, 0], state)
            else:
                logits, state = self._forward(part, state)
                logits = logits[:, -1]
        return logits, state

    def logits(self, tokens: np.ndarray) -> np.ndarray:
        """Next-token logits at every position of ``tokens`` (B, T <= context): (B, T, V)."""
        out, _ = self._forward(np.atleast_2d(tokens), self.initial_state(np.atleast_2d(tokens).shape[0]))
        return out

    def _forward(self, tokens: np.ndarray, cache: KVCache) -> tuple[np.ndarray, KVCache]:
        """Feed ``tokens`` (B, T), T <= context, after what ``cache`` holds (in order, as
        :meth:`KVCache.make_room` leaves it): logits (B, T, V). One token at a time goes
        through :meth:`_step_one` instead."""
        B, T = tokens.shape
        H, Dh, D = self.num_heads, self.head_dim, self.d_model
        cache.make_room(T, self.context)
        start = cache.length
        cos, sin = rope_angles(np.arange(cache.position, cache.position + T), Dh, self.rope_base)
        x = self.embed[tokens]  # (B, T, D)
        if T > 1:  # causal mask among the new tokens; every cached one is visible
            future = np.triu(np.ones((T, T), dtype=bool), 1)
            mask = np.concatenate([np.zeros((T, start), dtype=bool), future], axis=1)
        for layer, w in enumerate(self.layers):
            qkv = (_layer_norm(x, *w["ln1"]) @ w["qkv_w"] + w["qkv_b"]).reshape(B, T, 3, H, Dh)
            q, k = rotate(qkv[:, :, :2].transpose(2, 0, 3, 1, 4), cos, sin)  # each (B, H, T, Dh), q scaled
            keys, values = cache.keys[layer], cache.values[layer]
            keys[:, :, start:start + T] = k
            values[:, :, start:start + T] = qkv[:, :, 2].transpose(0, 2, 1, 3)
            k_all, v_all = keys[:, :, :start + T], values[:, :, :start + T]
            scores = q @ k_all.transpose(0, 1, 3, 2)  # (B, H, T, L)
            if T > 1:
                scores = np.where(mask, -np.inf, scores)
            att = _softmax(scores) @ v_all  # (B, H, T, Dh)
            x = x + att.transpose(0, 2, 1, 3).reshape(B, T, D) @ w["proj_w"] + w["proj_b"]
            hidden = _gelu(_layer_norm(x, *w["ln2"]) @ w["ff_in_w"] + w["ff_in_b"])
            x = x + hidden @ w["ff_out_w"] + w["ff_out_b"]
        cache.length += T
        cache.position += T
        logits = _layer_norm(x, *self.ln_f) @ self.head_w + self.head_b
        return logits.astype(np.float32, copy=False), cache
