"""Ratings of generated samples.

- :mod:`seqart.feedback.store`: the SQLite feedback store (samples, settings, ratings);
- :mod:`seqart.feedback.summary`: what ``seqart rate`` shows of a sample.
- :mod:`seqart.feedback.housekeeping`: finding, listing and pruning stores (``seqart store``).

Tuning a model on the ratings is :mod:`seqart.workflows.tune` (the objective is the
model family's registered tuner).

Importing this package is cheap: no torch, no music21.
"""

from seqart.feedback.store import (
    FeedbackError,
    FeedbackStore,
    Sample,
    data_dir,
    parse_rating,
    record_samples,
    store_path,
)

__all__ = ["FeedbackError", "FeedbackStore", "Sample", "data_dir", "parse_rating", "record_samples", "store_path"]
