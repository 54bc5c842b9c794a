"""What the page's piano roll draws of a score: its notes, bar lines and tempo map, as JSON.

Times are in beats (a quarter note = 1 beat), as everywhere in seqart; the page turns
seconds of audio into beats with ``tempos`` to move the playhead.
"""

from __future__ import annotations

from typing import Any

from seqart.score import Score


def roll_json(score: Score) -> dict[str, Any]:
    """A score as the roll draws it.

    Returns:
        ``notes``: ``[pitch, start_beat, duration_beats, velocity]`` of every note (all
        tracks, by start); ``bar_starts``: the bar lines in beats; ``bars``: how many;
        ``end_beat``: the end of the last bar; ``meter``, ``key`` (None: no key),
        ``tempo`` (bpm, the first), ``tempos``: ``[beat, bpm]`` changes; ``style`` (None: none).
    """
    bars = score.bar_starts()
    key = score.key
    return {
        "notes": [[n.pitch, round(n.start, 4), round(n.duration, 4), n.velocity] for n in score.notes],
        "meter": str(score.time_signature),
        "key": key.name if key is not None else None,
        "tempo": score.tempos[0].bpm if score.tempos else 120.0,
        "tempos": [[t.beat, t.bpm] for t in score.tempos] or [[0.0, 120.0]],
        "bar_starts": bars,
        "bars": len(bars),
        "end_beat": end_of_last_bar(score, bars),
        "style": score.style or None,
    }


def end_of_last_bar(score: Score, bar_starts: list[float]) -> float:
    """The beat where the bar holding the last note ends."""
    in_force = [s for s in score.time_signatures if s.beat <= bar_starts[-1]] or [score.time_signature]
    meter = max(in_force, key=lambda s: s.beat)
    return max(bar_starts[-1] + meter.bar_beats, score.end)
