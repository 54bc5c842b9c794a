"""Musical attributes of melody spans and their directions in a VAE's latent space.

Each attribute is measured on step classes (see :mod:`seqart.models.music_vae.data`)
with NumPy. An *attribute vector* is the mean latent code of the training spans
in the top quarter of the attribute minus that of the bottom quarter (MusicVAE's
recipe, with quartiles in place of a yes/no attribute; where most spans share one
value, as with syncopation, the spans above it against the rest). Adding it to a melody's
code moves the melody along the attribute; ``amount=1`` is one full step from a
typical low-quarter span to a typical high-quarter one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from seqart.models.music_vae.data import HOLD, NOTE_BASE
from seqart.models.folder import ATTRIBUTES as ATTRIBUTES_FILE



def _onsets(steps: np.ndarray) -> np.ndarray:
    return np.flatnonzero(steps >= NOTE_BASE)


def note_density(steps: np.ndarray, steps_per_beat: int = 4) -> float:
    """Note onsets per beat."""
    return len(_onsets(steps)) / max(len(steps) / steps_per_beat, 1e-9)


def pitch_range(steps: np.ndarray, steps_per_beat: int = 4) -> float:
    """Highest minus lowest pitch, in semitones (0 with fewer than two notes)."""
    notes = steps[steps >= NOTE_BASE].astype(np.int64)
    return float(notes.max() - notes.min()) if len(notes) else 0.0


def mean_pitch(steps: np.ndarray, steps_per_beat: int = 4) -> float:
    """Mean pitch of the notes, in semitones above the lowest pitch class (register);
    NaN for a span without notes."""
    notes = steps[steps >= NOTE_BASE].astype(np.float64) - NOTE_BASE
    return float(notes.mean()) if len(notes) else float("nan")


def syncopation(steps: np.ndarray, steps_per_beat: int = 4) -> float:
    """Fraction of onsets that fall off the beat and are still sounding at the next beat."""
    onsets = _onsets(steps)
    if not len(onsets):
        return 0.0
    ends = _note_ends(steps, onsets)
    off = onsets % steps_per_beat != 0
    next_beat = (onsets // steps_per_beat + 1) * steps_per_beat
    return float(np.mean(off & (ends > next_beat)))


def stepwise_motion(steps: np.ndarray, steps_per_beat: int = 4) -> float:
    """Fraction of intervals between consecutive notes that are steps (1 or 2 semitones)."""
    notes = steps[steps >= NOTE_BASE].astype(np.int64)
    if len(notes) < 2:
        return 0.0
    d = np.abs(np.diff(notes))
    return float(np.mean((d >= 1) & (d <= 2)))


def _note_ends(steps: np.ndarray, onsets: np.ndarray) -> np.ndarray:
    """End step (exclusive) of each note starting at ``onsets``: the next non-hold step."""
    events = np.flatnonzero(steps != HOLD)
    pos = np.searchsorted(events, onsets, side="right")
    return np.where(pos < len(events), events[np.minimum(pos, len(events) - 1)], len(steps))


#: attribute name -> function(steps (T,), steps_per_beat) -> float
ATTRIBUTES: dict[str, Callable[..., float]] = {
    "density": note_density,
    "range": pitch_range,
    "register": mean_pitch,
    "syncopation": syncopation,
    "stepwise": stepwise_motion,
}


def attribute_name(name: str) -> str:
    """Normalise an attribute name (accepts ``note_density``, ``pitch-range``, ...).

    Raises:
        SeqartError: for an unknown name, listing the known ones.
    """
    from seqart.errors import SeqartError

    key = name.strip().lower().replace("-", "_")
    aliases = {"note_density": "density", "pitch_range": "range", "mean_pitch": "register",
               "stepwise_motion": "stepwise", "steps": "stepwise"}
    key = aliases.get(key, key)
    if key not in ATTRIBUTES:
        raise SeqartError(f"unknown attribute {name!r}; choose one of {', '.join(ATTRIBUTES)}")
    return key


def measure(spans: np.ndarray, name: str, steps_per_beat: int = 4) -> np.ndarray:
    """``name`` measured on each span: ``(N, T)`` -> ``(N,)`` float."""
    fn = ATTRIBUTES[attribute_name(name)]
    return np.array([fn(np.asarray(s), steps_per_beat) for s in spans], dtype=np.float64)


def compute_attribute_vectors(model, spans: np.ndarray, max_spans: int = 8000, seed: int = 0,
                              batch_size: int = 512) -> dict:
    """Attribute vectors of a trained :class:`~seqart.models.music_vae.model.MusicVAE`.

    Args:
        model: the VAE (any device).
        spans: training spans, ``(N, T)`` step classes.
        max_spans: encode at most this many (drawn deterministically).

    Returns:
        ``{name: {"vector": [Z floats], "low": q25, "high": q75, "low_mean", "high_mean", "spans"}}``
    """
    import torch

    rng = np.random.default_rng(seed)
    if len(spans) > max_spans:
        spans = spans[np.sort(rng.choice(len(spans), max_spans, replace=False))]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    mus = []
    with torch.no_grad():
        for i in range(0, len(spans), batch_size):
            x = torch.from_numpy(spans[i: i + batch_size].astype(np.int64)).to(device)
            mus.append(model.encode(x)[0].float().cpu().numpy())
    model.train(was_training)
    mu = np.concatenate(mus) if mus else np.zeros((0, model.config.latent_size))
    out = {}
    for name in ATTRIBUTES:
        values = measure(spans, name, model.config.steps_per_beat)
        ok = np.isfinite(values)
        if ok.sum() < 8:
            continue
        lo, hi = np.quantile(values[ok], [0.25, 0.75])
        low, high = ok & (values <= lo), ok & (values >= hi)
        if hi <= lo:  # most spans share one value (e.g. no syncopation): without vs with
            low, high = ok & (values <= lo), ok & (values > lo)
        if low.sum() < 4 or high.sum() < 4:
            continue
        vector = mu[high].mean(0) - mu[low].mean(0)
        out[name] = {"vector": [round(float(v), 6) for v in vector], "low": float(lo), "high": float(hi),
                     "low_mean": float(values[low].mean()), "high_mean": float(values[high].mean()),
                     "spans": int(ok.sum())}
    return out


def save_attribute_vectors(folder: str | Path, vectors: dict) -> None:
    """Write ``attributes.json`` into a model folder (atomically)."""
    from seqart.utils.atomic import write_json_atomic

    write_json_atomic(Path(folder) / ATTRIBUTES_FILE, {"format": "seqart-attribute-vectors", "attributes": vectors})


def load_attribute_vectors(folder: str | Path, latent_size: int) -> dict[str, np.ndarray]:
    """The attribute vectors of a model folder (empty if it has none).

    Raises:
        ModelError: for a damaged file or vectors of the wrong size.
    """
    from seqart.errors import ModelError

    path = Path(folder) / ATTRIBUTES_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        vectors = {str(k): np.asarray(v["vector"], dtype=np.float32) for k, v in data["attributes"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: unreadable attribute vectors ({exc})") from None
    for k, v in vectors.items():
        if v.shape != (latent_size,):
            raise ModelError(f"{path}: attribute {k!r} has {v.size} values, the model's z has {latent_size}")
    return vectors
