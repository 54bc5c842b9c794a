"""Which key a melody's notes are in: Krumhansl-Schmuckler key finding (NumPy only).

The pitch-class histogram of the notes (each weighted, e.g. by its duration, or
counted once) is correlated with the Krumhansl-Kessler probe-tone profile of each
of the 24 major and minor keys; the best correlation names the key. Used by the
form metrics (a piece without a key signature) and by the sampler (the key a
melody with a drawn key has settled in).
"""

from __future__ import annotations

import numpy as np

from seqart.score import KeySignature

# Krumhansl-Kessler key profiles (probe-tone ratings), index 0 = the tonic.
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _key_profiles() -> np.ndarray:
    """Shape ``(24, 12)``: rows 0-11 the major keys on tonic 0-11, rows 12-23 the minor ones; z-scored."""
    rows = [np.roll(prof, t) for prof in (_KK_MAJOR, _KK_MINOR) for t in range(12)]
    out = np.stack(rows)
    out = out - out.mean(axis=1, keepdims=True)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


_PROFILES = _key_profiles()


def estimate_key(pitch: np.ndarray, weight: np.ndarray | None = None) -> KeySignature | None:
    """The best of the 24 major and minor keys for these notes (at beat 0).

    Args:
        pitch: shape ``(n,)`` MIDI pitches.
        weight: shape ``(n,)`` each note's weight (its duration); None counts each note once.

    Returns:
        the key; for notes spread evenly over the pitch classes, the major key of the
        first note; None when there is nothing to weigh.
    """
    pitch = np.asarray(pitch, dtype=np.int64)
    weight = np.ones(len(pitch)) if weight is None else np.asarray(weight, dtype=np.float64)
    hist = np.bincount(pitch % 12, weights=weight, minlength=12)
    centred = hist - hist.mean()
    norm = np.linalg.norm(centred)
    if norm <= 0:
        return None if not hist.sum() else KeySignature(0.0, int(pitch[0] % 12), "major")
    best = int(np.argmax(_PROFILES @ (centred / norm)))
    return KeySignature(0.0, best % 12, "minor" if best >= 12 else "major")
