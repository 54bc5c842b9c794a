"""Tuning the melody transformer on a composer's ratings: the melody LSTM's feedback
objective (:mod:`seqart.models.melody_lm.tuning`) on the transformer."""

from __future__ import annotations

from seqart.models.melody_lm.tuning import FeedbackObjective
from seqart.models.melody_transformer.model import MelodyTransformer


class FeedbackTransformer(FeedbackObjective, MelodyTransformer):
    """A :class:`MelodyTransformer` with the feedback objective: the family's registered
    tuner; it saves a plain ``melody-transformer`` model folder."""
