"""Pictures of scores: a piano roll drawn with matplotlib.

matplotlib is imported inside :func:`plot_pianoroll` (and drawn with its Agg
canvas, without pyplot's global state), so importing this module is cheap and
works on machines without a display.
"""

from __future__ import annotations

from pathlib import Path

from seqart.errors import ScoreError, SeqartError
from seqart.score import PITCH_CLASS_NAMES, Score
from seqart.utils.paths import refuse_existing

#: Picture formats by extension (lower case).
PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def pitch_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI pitch: 60 -> ``"C4"``, 70 -> ``"Bb4"``."""
    return f"{PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}"


def plot_pianoroll(score: Score | str | Path, out_png: str | Path, title: str | None = None,
                   overwrite: bool = False, dpi: int = 120) -> Path:
    """Draw ``score`` as a piano roll and save it.

    Notes are horizontal bars (x: beats, y: pitch), coloured by track and more
    opaque the louder they are; thin vertical lines mark the bars, following the
    score's time signatures, with bar numbers underneath; the y axis names
    pitches (every pitch for a range up to two octaves, else the Cs and Gs).

    Args:
        score: a :class:`Score` (times in beats), or a music file to read one from.
        out_png: destination; ``.png`` (or ``.svg``, ``.pdf``); missing folders are created.
        title: picture title (default: the score's title, else the file name).
        overwrite: replace an existing ``out_png``; without it that is an error.
        dpi: resolution of a PNG in dots per inch.

    Returns:
        ``out_png`` as a :class:`Path`, written atomically.

    Raises:
        SeqartError: for an unknown extension, an existing file without
            ``overwrite``, or matplotlib not installed.
        ScoreError: for a score without notes.
        ScoreReadError: if ``score`` is a path that cannot be read.
    """
    out_png = Path(out_png)
    fmt = PLOT_FORMATS.get(out_png.suffix.lower())
    if fmt is None:
        raise SeqartError(f"cannot draw to {out_png}: use a .png, .svg or .pdf file name")
    refuse_existing([out_png], overwrite)
    if not isinstance(score, Score):
        score = Score.from_file(score)
    if score.num_notes == 0:
        raise ScoreError("nothing to plot: the score has no notes")
    try:
        from matplotlib import colormaps
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise SeqartError('plotting needs matplotlib (a seqart dependency): pip install matplotlib') from None
    from seqart.utils.atomic import atomic_path

    end = score.end
    low, high = (min(n.pitch for n in score.notes), max(n.pitch for n in score.notes))
    bars = score.bar_starts(end)
    fig = Figure(figsize=(min(max(4.0 + end * 0.18, 6.0), 24.0), min(max(2.0 + (high - low) * 0.16, 3.0), 12.0)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    palette = colormaps["tab10"]
    for index, track in enumerate(score.tracks):
        if not track.notes:
            continue
        base = palette(index % 10)
        colors = [(*base[:3], 0.3 + 0.7 * min(max(n.velocity, 1), 127) / 127) for n in track.notes]
        ax.barh([n.pitch for n in track.notes], [n.duration for n in track.notes],
                left=[n.start for n in track.notes], height=0.8, color=colors,
                edgecolor=(*base[:3], 1.0), linewidth=0.5,
                label=track.name or f"track {index + 1}" + (" (drums)" if track.is_drum else ""))
    for beat in bars + [end]:
        ax.axvline(beat, color="0.55", linewidth=0.6, zorder=0)
    ax.set_xlim(0, max(end, bars[-1] if bars else 0.0) + 1e-6)
    ax.set_ylim(low - 1, high + 1)
    ax.set_xticks(bars, [str(i + 1) for i in range(len(bars))])
    ax.set_xlabel("bar")
    shown = [p for p in range(low, high + 1) if high - low <= 24 or p % 12 in (0, 7)]
    ax.set_yticks(shown, [pitch_name(p) for p in shown])
    ax.grid(axis="y", color="0.9", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.set_title(title if title is not None else (score.title or Path(score.source).name or "score"))
    if sum(1 for t in score.tracks if t.notes) > 1:
        ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return out_png
