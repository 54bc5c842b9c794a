"""seqart: train and use generative music sequence models.

Importing seqart is cheap: it never imports torch, music21 or pretty_midi.
Those load inside the functions that need them.

The main objects:

- :class:`seqart.Score` (with :class:`Note`, :class:`Track`, ...) — the one score
  representation, in beats.
- :func:`seqart.load` — a trained model (a shipped name such as ``"folk"`` or a
  model folder) ready to ``sample`` or ``continue_``.
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
    """Load a trained generator by shipped name (``"folk"``) or model-folder path.

    Returns:
        a :class:`seqart.generate.Generator` with ``sample(...)`` and ``continue_(...)``.
    """
    from seqart.generate import load_generator

    return load_generator(model, device=device)
