"""seqart: train and use generative music sequence models.

Importing seqart is cheap: it never imports torch, music21 or pretty_midi.
Those load inside the functions that need them.

The main objects:

- :class:`seqart.Score` (with :class:`Note`, :class:`Track`, ...) — the one score
  representation, in beats.
- :func:`seqart.load` — a trained model of any type (a shipped name such as
  ``"folk"`` or a model folder) ready to ``sample``, ``continue_score``, and for a
  VAE ``encode``/``decode``/``interpolate``.
"""

from seqart.errors import SeqartError
from seqart.score import KeySignature, Note, Score, TempoChange, TempoMap, TimeSignature, Track

__version__ = "0.1.0"

__all__ = [
    "KeySignature",
    "Note",
    "Score",
    "SeqartError",
    "TempoChange",
    "TempoMap",
    "TimeSignature",
    "Track",
    "__version__",
    "load",
]


def load(model: str = "folk", device: str | None = None):
    """A trained model ready to generate: a shipped name (``"folk"``, ``"folk-vae-2bar"``)
    or a model/run folder.

    Every generator speaks one protocol (:mod:`seqart.generate.protocol`):
    ``sample(num=..., seed=..., ...)``; ``continue_score(score, bars=...)`` for melody
    and frame models; ``encode``/``decode``/``interpolate``/``vary``/``shift`` for a VAE.
    Music comes back as :class:`Score` objects (notes in beats), images as ``uint8`` arrays.
    """
    from seqart.models.loading import load_generator

    return load_generator(model, device=device)
