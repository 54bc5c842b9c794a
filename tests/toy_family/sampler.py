"""Sampling the toy unigram model through the shared melody grammar walker (NumPy only)."""

from __future__ import annotations

import numpy as np

from seqart.generate.melody import MelodySampler, SamplingOptions
from seqart.generate.protocol import draw_seed, read_primer, refuse_options
from seqart.models.folder import load_tokenizer_of, read_config, read_evaluation, read_weights_numpy, resolve_model


class _Logits:
    """The walker's step-wise model interface over one logits vector; the state is empty."""

    def __init__(self, logits: np.ndarray):
        self.logits = logits  # (V,)

    def step(self, tokens, state):
        return np.tile(self.logits, (len(tokens), 1)), state

    def run(self, tokens, state=None):
        return np.tile(self.logits, (np.atleast_2d(tokens).shape[0], 1)), ()


class UnigramGenerator:
    def __init__(self, folder, device=None):
        self.folder = resolve_model(folder)
        self.model_type = read_config(self.folder)["model"]
        self.tokenizer = load_tokenizer_of(self.folder)
        self._walker = MelodySampler(_Logits(read_weights_numpy(self.folder)["logits"]), self.tokenizer)
        self.evaluation = read_evaluation(self.folder)
        self.last_seed = None
        self.sampling_defaults = {"bars": 4, "temperature": 1.0}

    def sample(self, num=1, *, seed=None, bars=None, temperature=None, primer=None, steps=None, **options):
        refuse_options(self.model_type, {"steps": steps}, "it generates bars")
        self.last_seed = draw_seed(seed)
        opts = SamplingOptions.parse(bars=bars or 4, temperature=temperature or 1.0,
                                     **{k: v for k, v in options.items() if v is not None})
        return self._walker.sample(num, opts, np.random.default_rng(self.last_seed),
                                   primer=None if primer is None else read_primer(primer))

    def continue_score(self, score, bars=8, num=1, **options):
        return self.sample(num=num, bars=bars, primer=score, **options)
