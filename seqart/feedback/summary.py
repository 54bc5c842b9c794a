"""What ``seqart rate`` shows of a sample before asking for a rating: size, range, key,
meter, a few metrics from :mod:`seqart.evaluate`, and a piano-roll picture.

Nothing here imports torch; reading an ABC or MusicXML file imports music21.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from seqart.score import Score

#: Metrics shown for each sample: name -> (label, unit, format).
SHOWN_METRICS = {
    "in_key_rate": ("in key", "", ".0%"),
    "pitch_class_entropy": ("pitch-class entropy", " bits", ".2f"),
    "note_density": ("density", " notes/beat", ".2f"),
    "mean_interval": ("mean interval", " semitones", ".1f"),
}


@dataclass
class SampleSummary:
    """The facts ``seqart rate`` prints about one sample.

    Attributes:
        path: the file.
        bars: bars from the start to the last note's end.
        notes: number of notes.
        beats: length in beats (quarter notes) to the last note's end.
        pitch_range: (lowest, highest) MIDI pitch, or None without notes.
        key: the first key signature as text (``"D minor"``), or None.
        time_signature: the first time signature as text (``"6/8"``).
        metrics: the :data:`SHOWN_METRICS` values (``nan`` where undefined).
    """

    path: Path
    bars: int
    notes: int
    beats: float
    pitch_range: tuple[int, int] | None
    key: str | None
    time_signature: str
    metrics: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The summary as two short lines of text."""
        from seqart.plot import pitch_name

        if self.pitch_range is not None:
            low, high = self.pitch_range
            span = f"{pitch_name(low)}-{pitch_name(high)} ({high - low} semitones)"
        else:
            span = "no pitched notes"
        first = (f"{self.bars} bars, {self.notes} notes, {span}, {self.key or 'key unknown'}, "
                 f"{self.time_signature}")
        shown = [f"{label} {format(self.metrics[name], spec)}{unit}"
                 for name, (label, unit, spec) in SHOWN_METRICS.items()
                 if name in self.metrics and math.isfinite(self.metrics[name])]
        return [first, ", ".join(shown)] if shown else [first]


def summarize(score: Score, path: str | Path = "") -> SampleSummary:
    """The :class:`SampleSummary` of a score (times in beats)."""
    from seqart.evaluate.metrics import METRICS, Piece

    piece = Piece(score)
    metrics = {name: float(METRICS[name](piece)) for name in SHOWN_METRICS}
    key = score.key
    return SampleSummary(
        path=Path(path),
        bars=len(score.bar_starts()) if score.num_notes else 0,
        notes=score.num_notes,
        beats=score.end,
        pitch_range=score.pitch_range(),
        key=str(key) if key is not None else None,
        time_signature=str(score.time_signature),
        metrics=metrics,
    )


def pianoroll_for(score: Score, sample: Path, folder: Path | None = None) -> Path:
    """A piano-roll PNG of ``score`` named after ``sample`` (``a.mid`` -> ``a.png``), in
    ``folder`` (default: beside the sample). An existing picture newer than the sample is kept.

    Raises:
        SeqartError: if it cannot be drawn (matplotlib missing, folder not writable).
    """
    from seqart.errors import SeqartError
    from seqart.plot import plot_pianoroll

    png = (folder or sample.parent) / (sample.stem + ".png")
    try:
        if png.exists() and png.stat().st_mtime >= sample.stat().st_mtime:
            return png
        return plot_pianoroll(score, png, title=sample.name, overwrite=True)
    except OSError as exc:
        raise SeqartError(f"{png}: cannot write ({exc.strerror or exc})") from None
