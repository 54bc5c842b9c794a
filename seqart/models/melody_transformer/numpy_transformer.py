"""NumPy inference for the melody transformer, with a key/value cache (no torch needed).

Sampling feeds one token at a time; the cache keeps every earlier position's
rotated keys and values per layer, so a step costs one row of each matrix
product plus attention over the cache. Beyond ``context`` tokens the oldest
cached positions are dropped (a sliding window): rotary positions make a cached
key's meaning independent of how far the sequence has grown. The logits match
the torch model within 1e-5 for sequences up to ``context`` (checked in the tests).

A batch-1 step is a few hundred NumPy calls on vectors a few hundred wide, so the
calls, not the arithmetic, set its cost; the weights are rearranged once at load to
need fewer of them (see :class:`NumpyTransformerLM`).
"""

from __future__ import annotations

import numpy as np

from seqart.models.melody_transformer.rope import rope_phases

#: torch's LayerNorm epsilon
LN_EPS = 1e-5


def _unit_rows(x: np.ndarray, eps_sum: float) -> np.ndarray:
    """``x`` (..., D) centred and scaled to unit length per row: ``LayerNorm(x) / sqrt(D)``
    before its gain and bias (``eps_sum`` is ``D`` times torch's epsilon). The gain, the
    bias and the factor ``sqrt(D)`` are folded into the matrix that follows."""
    centred = x - np.add.reduce(x, axis=-1, keepdims=True) / x.shape[-1]
    return centred / np.sqrt(np.vecdot(centred, centred)[..., None] + eps_sum)


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (attention weights; a -inf score gets weight 0)."""
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores


def _feed_forward(unit: np.ndarray, in_w: np.ndarray, in_b: np.ndarray, out_w: np.ndarray,
                  out_b: np.ndarray) -> np.ndarray:
    """A block's feed-forward layer on normalised rows ``unit`` (..., D), with ``ff_in``
    (the LayerNorm folded in) and ``ff_out`` (GELU's half folded in): (..., D)."""
    return _twice_gelu(unit @ in_w + in_b) @ out_w + out_b


def _twice_gelu(x: np.ndarray) -> np.ndarray:
    """Twice GELU, tanh approximation (torch's ``approximate="tanh"``), in one new buffer;
    the half is folded into the feed-forward output matrix."""
    inner = x * x
    inner *= 0.035677408136300125
    inner += 0.7978845608028654
    inner *= x
    np.tanh(inner, out=inner)
    inner += 1.0
    inner *= x
    return inner


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
        scores = np.matmul(keys[:, :, :self.length], q[..., None])  # (B, H, L, 1)
        scores -= scores.max(axis=2, keepdims=True)
        np.exp(scores, out=scores)
        weighted = np.matmul(scores.transpose(0, 1, 3, 2), values[:, :, :self.length])  # (B, H, 1, Dh)
        weighted /= scores.sum(axis=2, keepdims=True)
        return weighted[:, :, 0]

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

    The torch model's weights are rearranged once, here, into an equivalent form that
    takes fewer NumPy calls per step:

    - each LayerNorm's gain and bias (and the factor ``sqrt(D)`` that :func:`_unit_rows`
      leaves out) are folded into the matrix after it: ``qkv``, ``ff_in`` and the head;
    - the attention scale ``1/sqrt(Dh)`` is folded into the query weights, and GELU's
      factor 1/2 into ``ff_out``;
    - each head's query and key columns are interleaved, first half against second
      (``a0 b0 a1 b1 ...``), so the rotary rotation of a pair ``(a, b)`` is one complex
      product: ``(a + ib) * exp(i angle)``. Queries and keys are permuted alike, so their
      dot products, and the cached keys' meaning, are the torch model's.

    Args:
        weights: tensor name -> float32 array (``model.safetensors`` contents).
        config: the model config (``d_model``, ``num_layers``, ``num_heads``, ``context`` ...).
    """

    def __init__(self, weights: dict[str, np.ndarray], config: dict):
        check_shapes(weights, config)
        self.num_layers = int(config["num_layers"])
        self.num_heads = int(config["num_heads"])
        self.d_model = D = int(config["d_model"])
        self.head_dim = Dh = self.d_model // self.num_heads
        self.context = int(config["context"])
        self.rope_base = float(config.get("rope_base", 10000.0))
        self._eps_sum = np.float32(D * LN_EPS)
        self.embed = weights["embed.weight"]  # (V, D)
        self.head_w, self.head_b = _fold_norm(weights["ln_f.weight"], weights["ln_f.bias"],
                                              weights.get("head.weight", self.embed).T, weights["head.bias"])
        # column order of qkv: each head's query (then key) pairs interleaved; values as they are
        half = Dh // 2
        pairs = np.stack([np.arange(half), np.arange(half, Dh)], axis=1).ravel()  # a0 b0 a1 b1 ...
        qk_order = (np.arange(2 * self.num_heads)[:, None] * Dh + pairs).ravel()
        order = np.concatenate([qk_order, np.arange(2 * D, 3 * D)])
        q_scale = np.ones(3 * D, dtype=np.float32)
        q_scale[:D] = 1.0 / np.sqrt(Dh)
        #: per layer: (qkv_w (D, 3D), qkv_b (3D,), proj_w (D, D), proj_b (D,),
        #: ff_in_w (D, F), ff_in_b (F,), ff_out_w (F, D), ff_out_b (D,)), folded as above
        self.layers = []
        for i in range(self.num_layers):
            p = f"blocks.{i}."
            qkv_w, qkv_b = _fold_norm(weights[p + "ln1.weight"], weights[p + "ln1.bias"],
                                      weights[p + "qkv.weight"].T[:, order] * q_scale[order],
                                      weights[p + "qkv.bias"][order] * q_scale[order])
            ff_in_w, ff_in_b = _fold_norm(weights[p + "ln2.weight"], weights[p + "ln2.bias"],
                                          weights[p + "ff_in.weight"].T, weights[p + "ff_in.bias"])
            self.layers.append((
                qkv_w, qkv_b,
                np.ascontiguousarray(weights[p + "proj.weight"].T), weights[p + "proj.bias"],
                ff_in_w, ff_in_b,
                np.ascontiguousarray(weights[p + "ff_out.weight"].T * np.float32(0.5)), weights[p + "ff_out.bias"],
            ))

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

    def _phases(self, start: int, count: int) -> np.ndarray:
        """Rotary phases ``exp(i angle)`` of positions ``start`` to ``start + count``,
        (count, Dh/2) complex64, from a table grown as needed."""
        table = getattr(self, "_phase_table", None)
        if table is None or start + count > len(table):
            size = max(2 * (start + count), 1024)
            table = self._phase_table = rope_phases(np.arange(size), self.head_dim, self.rope_base)
        return table[start:start + count]

    def _step_one(self, tokens: np.ndarray, cache: KVCache, slot: int) -> np.ndarray:
        """One token per row (B,) written at cache ``slot``: logits (B, V). The same
        function as :meth:`_forward` with fewer NumPy calls (2-D rows)."""
        B = len(tokens)
        H, D, eps = self.num_heads, self.d_model, self._eps_sum
        phase = self._phases(cache.position, 1)  # (1, Dh/2)
        x = self.embed[tokens]  # (B, D)
        for layer, (qkv_w, qkv_b, proj_w, proj_b, ff_in_w, ff_in_b, ff_out_w, ff_out_b) in enumerate(self.layers):
            qkv = _unit_rows(x, eps) @ qkv_w + qkv_b  # (B, 3D), queries and keys paired
            qk = (qkv[:, :2 * D].view(np.complex64).reshape(B, 2 * H, -1) * phase).view(np.float32)  # rotated
            att = cache.attend(layer, slot, qk[:, :H], qk[:, H:], qkv[:, 2 * D:].reshape(B, H, -1))  # (B, H, Dh)
            x = x + (att.reshape(B, D) @ proj_w + proj_b)
            x = x + _feed_forward(_unit_rows(x, eps), ff_in_w, ff_in_b, ff_out_w, ff_out_b)
        cache.position += 1
        return _unit_rows(x, eps) @ self.head_w + self.head_b

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
        H, Dh, D, eps = self.num_heads, self.head_dim, self.d_model, self._eps_sum
        cache.make_room(T, self.context)
        start = cache.length
        phase = self._phases(cache.position, T)[:, None]  # (T, 1, Dh/2)
        x = self.embed[tokens]  # (B, T, D)
        if T > 1:  # causal mask among the new tokens; every cached one is visible
            future = np.triu(np.ones((T, T), dtype=bool), 1)
            mask = np.concatenate([np.zeros((T, start), dtype=bool), future], axis=1)
        for layer, (qkv_w, qkv_b, proj_w, proj_b, ff_in_w, ff_in_b, ff_out_w, ff_out_b) in enumerate(self.layers):
            qkv = _unit_rows(x, eps) @ qkv_w + qkv_b  # (B, T, 3D)
            qk = (qkv[..., :2 * D].view(np.complex64).reshape(B, T, 2 * H, -1) * phase).view(np.float32)
            q, k = qk[:, :, :H].transpose(0, 2, 1, 3), qk[:, :, H:].transpose(0, 2, 1, 3)  # (B, H, T, Dh)
            keys, values = cache.keys[layer], cache.values[layer]
            keys[:, :, start:start + T] = k
            values[:, :, start:start + T] = qkv[..., 2 * D:].reshape(B, T, H, Dh).transpose(0, 2, 1, 3)
            k_all, v_all = keys[:, :, :start + T], values[:, :, :start + T]
            scores = q @ k_all.transpose(0, 1, 3, 2)  # (B, H, T, L)
            if T > 1:
                scores = np.where(mask, -np.inf, scores)
            att = _softmax(scores) @ v_all  # (B, H, T, Dh)
            x = x + (att.transpose(0, 2, 1, 3).reshape(B, T, D) @ proj_w + proj_b)
            x = x + _feed_forward(_unit_rows(x, eps), ff_in_w, ff_in_b, ff_out_w, ff_out_b)
        cache.length += T
        cache.position += T
        logits = _unit_rows(x, eps) @ self.head_w + self.head_b
        return logits.astype(np.float32, copy=False), cache


def _fold_norm(gain: np.ndarray, bias: np.ndarray, weight: np.ndarray, weight_bias: np.ndarray):
    """``LayerNorm(x; gain, bias) @ weight + weight_bias`` as ``unit @ W + b`` for
    ``unit = _unit_rows(x)`` (the normalised row over ``sqrt(D)``): ``(W (D, out), b (out,))``
    float32, W C-contiguous."""
    folded = np.multiply(weight, (np.float32(np.sqrt(len(gain))) * gain)[:, None], order="C", dtype=np.float32)
    return folded, (bias @ weight + weight_bias).astype(np.float32)
