"""Keeping the generated pieces whose metrics best match a reference distribution.

>>> stats = ReferenceStats.from_scores(load_reference("corpora/folk_melody").metric_scores)
>>> best = select_best(generator.sample(num=64), stats, keep=8)   # [(score, distance), ...]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from seqart.errors import SeqartError
from seqart.evaluate.metrics import METRICS, Piece
from seqart.score import Score

#: Distance charged for a metric that is undefined for a piece (an empty score, a single note), in standard deviations.
UNDEFINED_PENALTY = 10.0


@dataclass
class ReferenceStats:
    """Mean and standard deviation of each metric over a reference set.

    Attributes:
        mean: metric name -> mean over the pieces where it is defined.
        std: metric name -> standard deviation (population, ``ddof=0``).
        n: reference pieces used.
    """

    mean: dict[str, float]
    std: dict[str, float]
    n: int

    @classmethod
    def from_values(cls, values: dict[str, np.ndarray]) -> "ReferenceStats":
        """From a :func:`seqart.evaluate.compare.metric_values` table (``nan`` entries ignored)."""
        mean, std, n = {}, {}, 0
        for name, column in values.items():
            finite = np.asarray(column, dtype=np.float64)
            n = max(n, len(finite))
            finite = finite[np.isfinite(finite)]
            mean[name] = float(finite.mean()) if len(finite) else math.nan
            std[name] = float(finite.std()) if len(finite) else math.nan
        return cls(mean, std, n)

    @classmethod
    def from_scores(cls, scores: Sequence[Score | Piece]) -> "ReferenceStats":
        """Compute every metric of :data:`METRICS` over ``scores``.

        Raises:
            SeqartError: for an empty reference.
        """
        from seqart.evaluate.compare import metric_values

        if not scores:
            raise SeqartError("the reference set is empty")
        return cls.from_values(metric_values(scores))

    def distance(self, metrics: dict[str, float]) -> float:
        """Mean absolute z-score of ``metrics`` against the reference, in reference standard deviations.

        Metrics that are constant or undefined over the reference are skipped; a
        metric undefined for the piece costs :data:`UNDEFINED_PENALTY`.
        """
        total, used = 0.0, 0
        for name, mean in self.mean.items():
            std = self.std[name]
            if not (math.isfinite(mean) and math.isfinite(std)) or std <= 1e-12 or name not in metrics:
                continue
            value = metrics[name]
            total += abs(value - mean) / std if math.isfinite(value) else UNDEFINED_PENALTY
            used += 1
        return total / used if used else 0.0


def select_best(scores: Sequence[Score], reference_stats: ReferenceStats, keep: int) -> list[tuple[Score, float]]:
    """The ``keep`` pieces whose metrics lie closest to the reference, best first.

    Args:
        scores: the candidates (e.g. 64 generated melodies).
        reference_stats: the reference distribution (:meth:`ReferenceStats.from_scores`).
        keep: how many to keep, 1 to ``len(scores)``.

    Returns:
        ``(score, distance)`` pairs sorted by distance (mean absolute z-score, in
        reference standard deviations; see :meth:`ReferenceStats.distance`); ties
        keep the input order.

    Raises:
        SeqartError: if ``keep`` is out of range.
    """
    if not 1 <= keep <= len(scores):
        raise SeqartError(f"keep must be between 1 and the number of pieces ({len(scores)}), got {keep}")
    distances = [reference_stats.distance({name: fn(p) for name, fn in METRICS.items()})
                 for p in (Piece(s) for s in scores)]
    order = sorted(range(len(scores)), key=lambda i: distances[i])
    return [(scores[i], distances[i]) for i in order[:keep]]
