"""Judging generated music: per-piece metrics, form metrics (repetition, phrases,
cadences), comparison with a reference set, a memorisation check, and keeping the
best of many samples.

Nothing here imports torch or music21 (reading an ABC or MusicXML reference does).
"""

from seqart.evaluate.compare import (
    Evaluation,
    FormComparison,
    MelodyIndex,
    MetricComparison,
    Reference,
    SharedRun,
    compare_form,
    compare_metrics,
    evaluate,
    load_reference,
    load_scores,
    melody_codes,
    metric_values,
    overlap_area,
)
from seqart.evaluate.form import FORM_METRICS, FORM_UNITS, FormPiece, form_metrics, form_summary, form_values
from seqart.evaluate.metrics import METRICS, UNITS, Piece, piece_metrics
from seqart.evaluate.select import ReferenceStats, select_best

__all__ = [
    "FORM_METRICS", "FORM_UNITS", "METRICS", "UNITS", "Evaluation", "FormComparison", "FormPiece", "MelodyIndex",
    "MetricComparison", "Piece", "Reference", "ReferenceStats", "SharedRun", "compare_form", "compare_metrics",
    "evaluate", "form_metrics", "form_summary", "form_values", "load_reference", "load_scores", "melody_codes",
    "metric_values", "overlap_area", "piece_metrics", "select_best",
]
