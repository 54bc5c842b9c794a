"""Scores from the 88-key piano rolls of the polyphonic benchmarks (``.mat`` files).

A roll is a ``(T, 88)`` array of 0/1, row ``t`` one frame of ``1 / steps_per_beat``
beats (a beat is a quarter note), column ``k`` MIDI pitch ``21 + k``; see
:func:`seqart.corpora.dataset.load_polyphonic_benchmark`. A roll holds no meter, no
tracks and no note boundaries: a pitch sounding in consecutive frames is read as
one note (:func:`roll_to_notes`, the usual reading of these rolls).

Nottingham frames are eighth notes, each a block chord with the melody note on top.
:func:`nottingham_score` splits them into a melody and a chord track
(:func:`split_melody_chords`) and infers the meter and the pickup from where the
harmony changes (:func:`infer_meter`), so that an events model can learn to
accompany a melody. :func:`piano_score` reads the other benchmarks (JSB Chorales,
MuseData, Piano-midi.de) as one piano track in 4/4.
"""

from __future__ import annotations

import numpy as np

from seqart.errors import ScoreError
from seqart.score import Note, Score, TimeSignature, Track

#: MIDI pitch of column 0 of a benchmark roll (A0).
LOWEST_PITCH = 21
#: Columns of a benchmark roll (A0-C8).
N_KEYS = 88
MELODY_PROGRAM, CHORD_PROGRAM, PIANO_PROGRAM = 0, 24, 0
MELODY_VELOCITY, CHORD_VELOCITY, PIANO_VELOCITY = 90, 64, 80
#: A chord-only candidate frame keeps its top note as melody when that note is at most
#: this many semitones from the top notes before and after it (a melody note doubling
#: a chord tone rather than a melody rest).
MELODY_STEP = 2
#: Meters :func:`infer_meter` chooses from: (numerator, denominator, beats per bar).
METERS = ((2, 4, 2), (3, 4, 3), (6, 8, 3), (4, 4, 4))
#: Weight of one melody onset of a quarter or longer against one harmony change.
MELODY_WEIGHT = 0.1
#: 4/4 rather than 2/4 when at least this share of the evidence on 2/4 bar lines
#: falls on one set of 4/4 bar lines (every other 2/4 line).
WHOLE_BAR_SHARE = 0.6


def _check_roll(roll) -> np.ndarray:
    """``roll`` as a ``(T, 88)`` bool array (nonzero = sounding).

    Raises:
        ScoreError: if it has another shape.
    """
    on = np.asarray(roll) != 0
    if on.ndim != 2 or on.shape[1] != N_KEYS:
        raise ScoreError(f"a benchmark piano roll has shape (T, {N_KEYS}), got {np.shape(roll)}")
    return on


def _check_steps(steps_per_beat) -> int:
    if isinstance(steps_per_beat, bool) or not isinstance(steps_per_beat, (int, np.integer)) or steps_per_beat < 1:
        raise ScoreError(f"steps_per_beat must be a whole number >= 1, got {steps_per_beat!r}")
    return int(steps_per_beat)


def roll_to_notes(roll, steps_per_beat: int) -> list[tuple[int, float, float]]:
    """Notes of a piano roll, each run of consecutive frames of a pitch merged into one.

    Args:
        roll: ``(T, 88)`` array, nonzero where column ``k`` (MIDI ``21 + k``) sounds.
        steps_per_beat: frames per beat (quarter note); frame ``t`` starts at beat
            ``t / steps_per_beat``.

    Returns:
        ``(pitch, start_beat, duration_beats)`` per note, sorted by ``(start, pitch)``.

    Raises:
        ScoreError: for a roll of another shape or a bad ``steps_per_beat``.
    """
    from seqart.tokenizers.pianoroll import frames_to_score

    steps = _check_steps(steps_per_beat)
    track = frames_to_score(_check_roll(roll), steps, low=LOWEST_PITCH).tracks[0]
    return [(n.pitch, n.start, n.duration) for n in track.notes]


def split_melody_chords(roll) -> tuple[np.ndarray, np.ndarray]:
    """Split a block-chord-plus-melody roll (Nottingham) into melody and chords.

    The melody is the top note of each frame, except in a chord-only frame, where it
    rests. Frames are taken in runs of identical frames; a run is chord-only when its
    notes equal the chord (notes minus the top one) of the run before or after it and
    its top note is not within :data:`MELODY_STEP` semitones of the top notes of both
    neighbouring runs (the melody then doubles a chord tone, stepping through it).
    Every note that is not melody is chord.

    Args:
        roll: ``(T, 88)`` array, nonzero where a key sounds.

    Returns:
        ``(melody_roll, chord_roll)``: two ``(T, 88)`` bool arrays whose union is the
        roll; the melody holds at most one note per frame.

    Raises:
        ScoreError: for a roll of another shape.
    """
    on = _check_roll(roll)
    new_run = np.ones(len(on), dtype=bool)
    new_run[1:] = (on[1:] != on[:-1]).any(axis=1)
    runs = on[new_run]  # (R, 88) the frame of each run
    chord_only = _chord_only_runs(runs)
    run_of_frame = np.cumsum(new_run) - 1  # (T,)
    top = _top_keys(runs)[run_of_frame]
    has_melody = ((top >= 0) & ~chord_only[run_of_frame]).nonzero()[0]
    melody = np.zeros_like(on)
    melody[has_melody, top[has_melody]] = True
    return melody, on & ~melody


def _top_keys(frames: np.ndarray) -> np.ndarray:
    """Column of the highest sounding key of each frame, -1 for an empty frame."""
    sounding = frames.any(axis=1)
    return np.where(sounding, N_KEYS - 1 - np.argmax(frames[:, ::-1], axis=1), -1)


def _chord_only_runs(runs: np.ndarray) -> np.ndarray:
    """Which runs (rows of distinct consecutive frames) hold only the chord."""
    top = _top_keys(runs)
    sounding = top >= 0
    chords = runs.copy()
    chords[sounding.nonzero()[0], top[sounding]] = False
    same_as_prev_chord = np.zeros(len(runs), dtype=bool)
    same_as_prev_chord[1:] = (runs[1:] == chords[:-1]).all(axis=1) & sounding[:-1]
    same_as_next_chord = np.zeros(len(runs), dtype=bool)
    same_as_next_chord[:-1] = (runs[:-1] == chords[1:]).all(axis=1) & sounding[1:]
    gaps = np.abs(np.diff(top))
    near_prev = np.ones(len(runs), dtype=bool)
    near_prev[1:] = (gaps <= MELODY_STEP) & sounding[:-1]
    near_next = np.ones(len(runs), dtype=bool)
    near_next[:-1] = (gaps <= MELODY_STEP) & sounding[1:]
    return sounding & (same_as_prev_chord | same_as_next_chord) & ~(near_prev & near_next)


def harmony_changes(chord_roll) -> np.ndarray:
    """Frames where the harmony changes: a sounding chord frame whose lowest note has
    another pitch class than the lowest note of the last sounding chord frame before it
    (the first sounding frame counts). Going by the bass ignores the re-struck chords
    and bass-chord alternation ("oom-pah") some tunes have.

    Returns:
        ``int64`` array of frame indices, ascending.
    """
    chords = _check_roll(chord_roll)
    sounding = chords.any(axis=1).nonzero()[0]
    bass_class = (np.argmax(chords[sounding], axis=1) + LOWEST_PITCH) % 12
    changed = np.ones(len(sounding), dtype=bool)
    changed[1:] = bass_class[1:] != bass_class[:-1]
    return sounding[changed]


def long_melody_onsets(melody_roll, steps_per_beat: int) -> np.ndarray:
    """Frames where a melody note of a quarter note or longer starts (``int64``, ascending)."""
    steps = _check_steps(steps_per_beat)
    notes = roll_to_notes(melody_roll, steps)
    return np.array([round(start * steps) for _, start, length in notes if length >= 1.0], dtype=np.int64)


def _bar_evidence(changes: np.ndarray, onsets: np.ndarray, bar_frames: int) -> np.ndarray:
    """Weighted evidence per position in a bar of ``bar_frames``, shape ``(bar_frames,)``."""
    return (np.bincount(changes % bar_frames, minlength=bar_frames)
            + MELODY_WEIGHT * np.bincount(onsets % bar_frames, minlength=bar_frames))


def infer_meter(melody_roll, chord_roll, steps_per_beat: int) -> tuple[int, int, int]:
    """Guess the meter and pickup of a tune from where its harmony changes.

    Evidence: the harmony changes (:func:`harmony_changes`), each weighing 1, and the
    melody onsets of notes a quarter or longer, each :data:`MELODY_WEIGHT`. For bars of
    2, 3 and 4 beats the evidence is counted per position in the bar; a bar length's
    alignment is the share of the evidence on its best position (its bar line).

    1. Three beats (3/4 or 6/8) when their alignment beats that of two beats, else two or four.
    2. 4/4 rather than 2/4 when the best 4/4 bar line holds at least
       :data:`WHOLE_BAR_SHARE` of the evidence on 2/4 bar lines (a 4/4 tune whose chords
       also change on beat 3 keeps most changes on beat 1; a 2/4 tune has no such
       preference between alternate bars).
    3. 6/8 rather than 3/4 when more long melody notes (a quarter or longer) start on
       the bar's first two off-beat eighths (beats 0.5 and 1.5: the eighth-quarter figure
       and the dotted-quarter split of 6/8, syncopations in 3/4) than on its beat 1
       (second beat of 3/4, a syncopation across the half bar in 6/8).

    A tune without evidence is 4/4 without pickup.

    Args:
        melody_roll: ``(T, 88)`` melody (see :func:`split_melody_chords`).
        chord_roll: ``(T, 88)`` chords.
        steps_per_beat: frames per beat (quarter note).

    Returns:
        ``(numerator, denominator, pickup_frames)``: the first bar line falls on frame
        ``pickup_frames``, 0 to bar length - 1; then every bar length.

    Raises:
        ScoreError: for rolls of another shape or a bad ``steps_per_beat``.
    """
    steps = _check_steps(steps_per_beat)
    changes = harmony_changes(chord_roll)
    onsets = long_melody_onsets(melody_roll, steps)
    if len(changes) == 0 and len(onsets) == 0:
        return 4, 4, 0
    evidence = {beats: _bar_evidence(changes, onsets, beats * steps) for beats in (2, 3, 4)}
    alignment = {beats: e.max() / e.sum() for beats, e in evidence.items()}
    if alignment[3] > alignment[2]:
        bar = evidence[3]
        numerator, denominator = (6, 8) if _compound(onsets, int(np.argmax(bar)), steps) else (3, 4)
        return numerator, denominator, int(np.argmax(bar))
    if evidence[4].max() >= WHOLE_BAR_SHARE * evidence[2].max():
        return 4, 4, int(np.argmax(evidence[4]))
    return 2, 4, int(np.argmax(evidence[2]))


def _compound(onsets: np.ndarray, pickup: int, steps: int) -> bool:
    """Whether a three-beat tune is 6/8 (rule 3 of :func:`infer_meter`); ``onsets`` are
    the frames of long melody notes. Needs an even ``steps`` (else False)."""
    if steps % 2:
        return False
    per_position = np.bincount((onsets - pickup) % (3 * steps), minlength=3 * steps)
    return per_position[steps // 2] + per_position[3 * steps // 2] > per_position[steps]


def _notes(roll, steps_per_beat: int, shift_frames: int, velocity: int) -> list[Note]:
    shift = shift_frames / steps_per_beat
    return [Note(pitch, start + shift, length, velocity) for pitch, start, length in roll_to_notes(roll, steps_per_beat)]


def _cut_at_bar_lines(notes: list[Note], bar_beats: float) -> list[Note]:
    """``notes`` with each note that crosses a bar line (multiples of ``bar_beats``
    beats from 0) cut there into one note per bar."""
    out = []
    for note in notes:
        start, end = note.start, note.end
        while True:
            line = (int(start / bar_beats + 1e-9) + 1) * bar_beats
            if line >= end - 1e-9:
                out.append(Note(note.pitch, start, end - start, note.velocity))
                break
            out.append(Note(note.pitch, start, line - start, note.velocity))
            start = line
    return out


def nottingham_score(roll, label: str, steps_per_beat: int = 2) -> Score:
    """A Nottingham tune as two tracks: ``Melody`` (program 0) then ``Chords`` (program 24).

    The meter and pickup come from :func:`infer_meter`. Every note is moved later by
    ``(bar - pickup) % bar`` frames, so that the inferred bar lines fall on multiples of
    the bar length from beat 0 (a tune with a pickup then opens with a rest, as an
    anacrusis is written). Melody notes have velocity 90, chord notes 64; no tempo.
    A chord held over a bar line is struck again at it (as a guitarist strums each bar),
    so every bar holds its own chord: no chord outlasts the events tokenizer's longest
    note, and an accompaniment model writes each bar's chord in that bar.

    Args:
        roll: ``(T, 88)`` array, nonzero where a key sounds.
        label: where the tune came from (the score's ``source``).
        steps_per_beat: frames per beat (quarter note); 2 for Nottingham.

    Raises:
        ScoreError: for a roll of another shape or a bad ``steps_per_beat``.
    """
    steps = _check_steps(steps_per_beat)
    melody, chords = split_melody_chords(roll)
    numerator, denominator, pickup = infer_meter(melody, chords, steps)
    bar_frames = round(numerator * 4 / denominator * steps)
    shift = (bar_frames - pickup) % bar_frames
    tracks = [
        Track(notes=_notes(melody, steps, shift, MELODY_VELOCITY), program=MELODY_PROGRAM, name="Melody"),
        Track(notes=_cut_at_bar_lines(_notes(chords, steps, shift, CHORD_VELOCITY), bar_frames / steps),
              program=CHORD_PROGRAM, name="Chords"),
    ]
    return Score(tracks=tracks, time_signatures=[TimeSignature(0.0, numerator, denominator)], source=label)


def piano_score(roll, label: str, steps_per_beat: int) -> Score:
    """A benchmark roll (JSB Chorales, MuseData, Piano-midi.de) as one piano track
    (program 0, velocity 80) in 4/4, notes as :func:`roll_to_notes` reads them.

    Raises:
        ScoreError: for a roll of another shape or a bad ``steps_per_beat``.
    """
    steps = _check_steps(steps_per_beat)
    track = Track(notes=_notes(roll, steps, 0, PIANO_VELOCITY), program=PIANO_PROGRAM, name="Piano")
    return Score(tracks=[track], time_signatures=[TimeSignature(0.0, 4, 4)], source=label)
