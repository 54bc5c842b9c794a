"""Which line of a primer a melody model continues, and how to say so.

A melody model continues one monophonic line. A primer with several tracks, or
with chords, is reduced to one: the top voice of all its pitched tracks (the
"skyline", :meth:`seqart.Score.monophonic`) unless a track is chosen, then that
track's top voice. The reduction is never silent: :func:`primer_line` returns a
sentence that says what was kept, for the command line to print.

Tracks are numbered from 1, in the file's order, as a DAW lists them
(``--track 2`` is ``score.tracks[1]``).
"""

from __future__ import annotations

from seqart.errors import ScoreError
from seqart.score import Score

#: tracks named in a message before "..."
LISTED_TRACKS = 6


def primer_line(score: Score, track: int | None = None, hint: bool = True) -> tuple[Score, str | None]:
    """The one line of ``score`` a melody model continues.

    Args:
        score: the primer, any number of tracks.
        track: the track to continue, numbered from 1; None: the top voice of every
            pitched track.
        hint: end the sentence for several tracks with how to choose one (``--track N``);
            a caller with its own track choice (the studio's menu) leaves it out.

    Returns:
        ``(line, notice)``: a copy of ``score`` with one monophonic track, and a
        sentence saying what was kept (None when the primer already was one
        pitched line and no track was chosen).

    Raises:
        ScoreError: for a track that does not exist, is a drum track or has no notes.
    """
    pitched = [i for i, t in enumerate(score.tracks) if not t.is_drum and t.notes]
    if track is not None:
        index = _checked_track(score, track)
        line = score.monophonic(index)
        chords = len(line.tracks[0].notes) < len(score.tracks[index].notes)
        if len(score.tracks) == 1 and not chords:
            return line, None
        voice = "the top voice of " if chords else ""
        return line, f"continuing {voice}track {track} ({track_label(score, index)})"
    line = score.monophonic()
    dropped = len(line.tracks[0].notes) < sum(len(score.tracks[i].notes) for i in pitched)
    if len(pitched) > 1:
        return line, (f"continuing the top voice of {len(pitched)} tracks ({_listing(score)})"
                      + ("; use --track N (track=N) for one of them" if hint else ""))
    if dropped:
        return line, f"continuing the top voice of track {pitched[0] + 1} ({track_label(score, pitched[0])}), which has chords"
    return line, None


def _checked_track(score: Score, track: int) -> int:
    """``track`` (from 1) as an index into ``score.tracks``, or a one-line error."""
    if isinstance(track, bool) or not isinstance(track, int):
        raise ScoreError(f"track must be a whole number from 1, got {track!r}")
    where = score.source or "the primer"
    count = len(score.tracks)
    if not 1 <= track <= count:
        raise ScoreError(f"track {track} does not exist: {where} has {count} track{'s' * (count != 1)}"
                         + (f" ({_listing(score)})" if count else ""))
    chosen = score.tracks[track - 1]
    if chosen.is_drum:
        raise ScoreError(f"track {track} of {where} is a drum track; a melody model continues a pitched one "
                         f"({_listing(score)})")
    if not chosen.notes:
        raise ScoreError(f"track {track} of {where} has no notes ({_listing(score)})")
    return track - 1


def track_label(score: Score, index: int) -> str:
    """A track as a message or a page names it: its name, or its instrument's
    (``"drums"``, ``"program 48"``); ``index`` into ``score.tracks``."""
    t = score.tracks[index]
    if t.name:
        return t.name
    return "drums" if t.is_drum else f"program {t.program}"


def _listing(score: Score) -> str:
    """``1 Piano, 2 Bass, 3 drums (drums), ...``."""
    parts = [f"{i + 1} {track_label(score, i)}" + (" (drums)" if t.is_drum and t.name else "")
             + ("" if t.notes else " (empty)") for i, t in enumerate(score.tracks)]
    more = len(parts) - LISTED_TRACKS
    return ", ".join(parts[:LISTED_TRACKS]) + (f", ... {more} more" if more > 0 else "")
