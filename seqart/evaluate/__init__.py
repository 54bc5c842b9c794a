"""Judging generated music: per-piece metrics, comparison with a reference set,
a memorisation check, and keeping the best of many samples.

Nothing here imports torch or music21 (reading an ABC or MusicXML reference does).
"""

from seqart.evaluate.compare import (
    Evaluation,
    MelodyIndex,
    MetricComparison,
    Reference,
    SharedRun,
    compare_metrics,
    evaluate,
    load_reference,
    load_scores,
    melody_codes,
    metric_values,
    overlap_area,
)
from seqart.evaluate.metrics import METRICS, UNITS, Piece, piece_metrics
from seqart.evaluate.select import ReferenceStats, select_best

__all__ = [
    "METRICS", "UNITS", "Evaluation", "MelodyIndex", "MetricComparison", "Piece", "Reference", "ReferenceStats",
    "SharedRun", "compare_metrics", "evaluate", "load_reference", "load_scores", "melody_codes", "metric_values",
    "overlap_area", "piece_metrics", "select_best",
]
