"""Tokenizers: Score <-> arrays. A registry maps names to classes.

>>> from seqart.tokenizers import get_tokenizer
>>> tok = get_tokenizer("melody", steps_per_beat=4)
"""

from __future__ import annotations

import importlib
from pathlib import Path

from seqart.errors import TokenizerError
from seqart.tokenizers.base import Tokenizer, load_json

#: name -> "module:Class" (imported on first use).
REGISTRY = {
    "melody": "seqart.tokenizers.melody:MelodyTokenizer",
    "events": "seqart.tokenizers.events:EventsTokenizer",
    "pianoroll": "seqart.tokenizers.pianoroll:PianoRollTokenizer",
    "images": "seqart.tokenizers.images:ImageTokenizer",
}


def tokenizer_class(name: str) -> type[Tokenizer]:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise TokenizerError(f"unknown representation {name!r}; choose one of {', '.join(REGISTRY)}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def get_tokenizer(name: str, **config) -> Tokenizer:
    """A tokenizer by registry name with config overrides."""
    return tokenizer_class(name)(**config)


def tokenizer_from_dict(data: dict) -> Tokenizer:
    """Rebuild the tokenizer a ``to_dict()`` describes."""
    return tokenizer_class(str(data.get("tokenizer"))).from_dict(data)


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Read a ``tokenizer.json``."""
    return tokenizer_from_dict(load_json(path))


__all__ = ["REGISTRY", "Tokenizer", "get_tokenizer", "load_tokenizer", "tokenizer_class", "tokenizer_from_dict"]
