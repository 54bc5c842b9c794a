"""Hard pitch constraints for sampling: key, scale and range.

>>> sorted(allowed_pitch_classes(KeySignature.parse("D minor"), "pentatonic"))
[0, 2, 5, 7, 9]
"""

from __future__ import annotations

import re

from seqart.errors import ScoreError
from seqart.score import MODE_STEPS, PITCH_CLASS_NAMES, KeySignature

#: scale name -> semitones above the tonic (the seven modes as :data:`seqart.score.MODE_STEPS` has them)
SCALES: dict[str, tuple[int, ...]] = {
    "major": MODE_STEPS["major"],
    "ionian": MODE_STEPS["major"],
    "natural-minor": MODE_STEPS["minor"],
    "aeolian": MODE_STEPS["minor"],
    "harmonic-minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic-minor": (0, 2, 3, 5, 7, 9, 11),
    **{mode: MODE_STEPS[mode] for mode in ("dorian", "phrygian", "lydian", "mixolydian", "locrian")},
    "major-pentatonic": (0, 2, 4, 7, 9),
    "minor-pentatonic": (0, 3, 5, 7, 10),
    "pentatonic": (),  # major or minor pentatonic, after the key's mode
    "blues": (0, 3, 5, 6, 7, 10),
    "whole-tone": (0, 2, 4, 6, 8, 10),
    "chromatic": tuple(range(12)),
}

#: what a key alone allows beyond its mode's seven notes: minor in all its forms
#: (natural, harmonic and melodic: folk tunes in minor raise the 6th and 7th).
_KEY_DEFAULT = {"minor": (0, 2, 3, 5, 7, 8, 9, 10, 11)}


def allowed_pitch_classes(key: KeySignature | None, scale: str | None) -> set[int] | None:
    """Pitch classes a melody may use, or None for no constraint.

    Args:
        key: the key (its tonic roots the scale); None with a scale roots it on C.
        scale: a name from :data:`SCALES`, or None for the key's own notes: a major
            or modal key's seven (A dorian: A B C D E F# G), a minor key's natural,
            harmonic and melodic forms together.

    Raises:
        ScoreError: for an unknown scale name.
    """
    if scale is None:
        if key is None:
            return None
        if key.mode not in _KEY_DEFAULT:
            return set(key.scale)
        steps = _KEY_DEFAULT[key.mode]
    else:
        name = scale.strip().lower().replace(" ", "-").replace("_", "-")
        if name == "minor":
            name = "natural-minor"
        if name not in SCALES:
            raise ScoreError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
        steps = SCALES[name]
        if name == "pentatonic":
            # a mode with a minor third (dorian, phrygian, ...) takes the minor pentatonic
            steps = SCALES["minor-pentatonic" if key is not None and key.family == "minor" else "major-pentatonic"]
    tonic = key.tonic if key is not None else 0
    return {(tonic + s) % 12 for s in steps}


_NOTE = re.compile(r"^([A-Ga-g])([#b]?)(-?\d+)$")


def parse_pitch(text: str) -> int:
    """MIDI number from ``"60"`` or a note name with octave (``"C4"`` = 60, ``"Bb3"``)."""
    text = text.strip()
    if re.fullmatch(r"\d{1,3}", text):
        value = int(text)
    else:
        m = _NOTE.match(text)
        if not m:
            raise ScoreError(f"not a pitch: {text!r} (use a MIDI number like 60 or a name like C4)")
        pc = PITCH_CLASS_NAMES.index(m.group(1).upper()) if m.group(1).upper() in PITCH_CLASS_NAMES else 0
        pc += {"#": 1, "b": -1, "": 0}[m.group(2)]
        value = (int(m.group(3)) + 1) * 12 + pc
    if not 0 <= value <= 127:
        raise ScoreError(f"pitch {text!r} is outside MIDI 0-127")
    return value


def parse_range(text: str) -> tuple[int, int]:
    """``"55-84"`` or ``"G3-C6"`` -> (low, high), inclusive."""
    m = re.fullmatch(r"\s*([A-Ga-g]?[#b]?-?\d+)\s*(?:-|\.\.|:)\s*([A-Ga-g]?[#b]?-?\d+)\s*", text)
    if not m:
        raise ScoreError(f"not a pitch range: {text!r} (use LOW-HIGH, e.g. 55-84 or G3-C6)")
    low, high = parse_pitch(m.group(1)), parse_pitch(m.group(2))
    if low > high:
        raise ScoreError(f"pitch range {text!r} is empty (low above high)")
    return low, high


def parse_time_signature(text: str) -> tuple[int, int]:
    """``"6/8"`` -> (6, 8)."""
    m = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{1,2})\s*", text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) not in (1, 2, 4, 8, 16):
        raise ScoreError(f"not a time signature: {text!r} (use e.g. 4/4, 3/4 or 6/8)")
    return int(m.group(1)), int(m.group(2))
