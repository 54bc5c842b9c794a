"""Sampling the melody transformer: its NumPy forward pass with a key/value cache, under
the melody grammar and hard constraints of :mod:`seqart.generate.melody`."""

from __future__ import annotations

from seqart.models.melody_lm.sampler import MelodyGenerator


class TransformerMelodyGenerator(MelodyGenerator):
    """A trained melody transformer ready to sample (no torch); the options of
    :meth:`seqart.models.melody_lm.sampler.MelodyGenerator.sample`."""

    MODEL_TYPE = "melody-transformer"

    @staticmethod
    def numpy_lm(weights: dict, config: dict):
        from seqart.models.melody_transformer.numpy_transformer import NumpyTransformerLM

        return NumpyTransformerLM(weights, config)
