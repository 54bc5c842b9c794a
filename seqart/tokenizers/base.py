"""The tokenizer interface every representation implements.

A tokenizer turns a :class:`seqart.Score` into an array and back:

- ``kind == "tokens"``: ``encode`` returns a 1-D ``int32`` array of token ids,
  shape ``(T,)``, with ``0 <= id < vocab_size``; ``vocab`` names each id.
- ``kind == "frames"``: ``encode`` returns a 2-D ``uint8`` array, shape
  ``(T, n_features)`` (e.g. 88 piano keys), one row per grid step.

Every tokenizer is configured by one dataclass; ``to_dict`` stores the class
name, the format version, the seqart version and that config as JSON, and
:func:`seqart.tokenizers.tokenizer_from_dict` rebuilds exactly that tokenizer.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from seqart.errors import TokenizerError
from seqart.score import Score


class Tokenizer(ABC):
    """Base class. Subclasses set ``name``, ``version``, ``kind``, ``config_class``."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "tokens"
    config_class: ClassVar[type]

    def __init__(self, config=None, **overrides: Any):
        if overrides:
            known = {f.name for f in fields(self.config_class)}
            unknown = sorted(set(overrides) - known)
            if unknown:
                raise TokenizerError(
                    f"unknown {self.name} tokenizer option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
                )
        if config is None:  # defaults that depend on other options see the overrides
            config = self.config_class(**overrides)
        elif overrides:
            config = type(config)(**{**asdict(config), **overrides})
        self.config = config
        self._validate()

    def _validate(self) -> None:
        """Check the config; raise TokenizerError with a message saying what to change."""

    # ------------------------------------------------------------------ core
    @abstractmethod
    def encode(self, score: Score) -> np.ndarray:
        """Score -> array (see the module docstring for shapes and dtypes)."""

    @abstractmethod
    def decode(self, data: np.ndarray) -> Score:
        """Array -> Score. Inverse of :meth:`encode` on input already on the grid."""

    # ------------------------------------------------------------ vocabulary
    #: token names, index = id; token tokenizers fill it in ``__init__``
    _vocab: "tuple[str, ...] | list[str]" = ()

    @property
    def vocab(self) -> list[str]:
        """Token names, index = id (empty for frame tokenizers)."""
        return list(self._vocab)

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    @property
    def n_features(self) -> int:
        """Width of a frame for ``kind == "frames"`` (0 for token tokenizers)."""
        return 0

    # ---------------------------------------------------------- persistence
    def to_dict(self) -> dict:
        from seqart import __version__

        return {
            "tokenizer": self.name,
            "version": self.version,
            "seqart_version": __version__,
            "config": asdict(self.config),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Tokenizer":
        if data.get("tokenizer") != cls.name:
            raise TokenizerError(f"tokenizer file is for {data.get('tokenizer')!r}, not {cls.name!r}")
        if int(data.get("version", 0)) > cls.version:
            raise TokenizerError(
                f"{cls.name} tokenizer format version {data.get('version')} is newer than this seqart reads ({cls.version}); upgrade seqart"
            )
        known = {f.name for f in fields(cls.config_class)}
        cfg = {k: v for k, v in dict(data.get("config", {})).items() if k in known}
        for f in fields(cls.config_class):  # JSON turns tuples into lists
            if f.name in cfg and isinstance(cfg[f.name], list):
                cfg[f.name] = tuple(tuple(x) if isinstance(x, list) else x for x in cfg[f.name])
        return cls(cls.config_class(**cfg))

    def save(self, path: str | Path) -> None:
        """Write ``to_dict()`` as JSON (atomically)."""
        from seqart.utils.atomic import write_json_atomic

        write_json_atomic(path, self.to_dict())

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.config == other.config  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


def load_json(path: str | Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TokenizerError(f"{path}: cannot read tokenizer file ({exc})") from None
