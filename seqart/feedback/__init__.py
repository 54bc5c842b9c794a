"""Rating generated samples and tuning a model on the ratings.

- :mod:`seqart.feedback.store`: the SQLite feedback store (samples, settings, ratings);
- :mod:`seqart.feedback.summary`: what ``seqart rate`` shows of a sample;
- :mod:`seqart.workflows.tune`: fine-tuning a melody model toward liked samples and
  away from disliked ones (imports torch when called).

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
