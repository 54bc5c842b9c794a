"""How a corpus's melodies open: style, meter and key, counted together. What a sample
is given for whatever the caller leaves open.

A melody model is trained with random transposition (so it can write in any
key), which flattens the key distribution it would draw from: fiddle tunes sit
mostly in G, D and A, a transposed corpus in every key alike. The counts here
come from the untransposed training split and are saved next to the weights
(``keys.json``); the sampler draws what is not given from them, conditioned on
what is: a reel's key from the reels' keys, a jig's meter from the jigs'.

``keys.json``::

    {"headers": [["reel", "4/4", "KEY_D_major", 212], ["jig", "6/8", "KEY_G_major", 180], ...]}

Styles and keys are named as the tokenizer names them (a style is ``""`` when
unknown), so the file stays readable.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from seqart.models.folder import OPENINGS as KEYS_FILE  # the file in a model folder
from seqart.tokenizers.melody import BOS


def header_counts(sequences: Sequence[np.ndarray], tokenizer) -> list[list]:
    """``[style, "n/d", key token name, count]`` of the openings of ``sequences``, most common first."""
    counts: Counter = Counter()
    at = tokenizer.key_position
    for seq in sequences:
        if len(seq) <= at or int(seq[0]) != BOS:
            continue
        style = tokenizer.style_of(int(seq[1])) if at == 3 else ""
        meter, key = tokenizer.meter_of(int(seq[at - 1])), int(seq[at])
        if meter is None or style is None or tokenizer.key_of(key) is None:
            continue
        counts[(style, f"{meter[0]}/{meter[1]}", tokenizer.vocab[key])] += 1
    return [[s, m, k, n] for (s, m, k), n in counts.most_common()]


def save_key_counts(folder: str | Path, sequences: Sequence[np.ndarray], tokenizer) -> None:
    """Write ``keys.json`` for the sequences (a model's untransposed training split)."""
    from seqart.utils.atomic import write_json_atomic

    write_json_atomic(Path(folder) / KEYS_FILE, {"headers": header_counts(sequences, tokenizer)})


@dataclass
class Openings:
    """The opening counts of a model's training melodies.

    Attributes:
        styles: style per row ("" = unknown), shape ``(n,)``.
        meters: (numerator, denominator) per row.
        keys: key token id per row, shape ``(n,)``.
        counts: melodies per row, shape ``(n,)``.
    """

    styles: list[str]
    meters: list[tuple[int, int]]
    keys: np.ndarray
    counts: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    def _rows(self, style: str | None = None, meter: tuple[int, int] | None = None) -> np.ndarray:
        keep = np.ones(len(self), dtype=bool)
        if style is not None:
            keep &= np.array([s == style for s in self.styles], dtype=bool)
        if meter is not None:
            keep &= np.array([m == tuple(meter) for m in self.meters], dtype=bool)
        return np.flatnonzero(keep)

    def meter_for(self, style: str) -> tuple[int, int] | None:
        """The meter most melodies of ``style`` are in (None: the style is not counted)."""
        rows = self._rows(style=style)
        if not len(rows):
            return None
        totals: Counter = Counter()
        for r in rows:
            totals[self.meters[r]] += int(self.counts[r])
        return totals.most_common(1)[0][0]

    def draw(self, num: int, rng: np.random.Generator, meter: tuple[int, int], style: str | None = None
             ) -> tuple[list[str], np.ndarray] | None:
        """Styles and key ids of ``num`` melodies in ``meter`` (of ``style`` if given), drawn as
        often as the training melodies have them. With no melody of that style in that
        meter, the style's keys in any meter; then the meter's; then all; None when empty."""
        tries = [(style, meter), (style, None), (None, meter), (None, None)] if style is not None else \
            [(None, meter), (None, None)]
        for want_style, want_meter in tries:  # the closest match first
            rows = self._rows(style=want_style, meter=want_meter)
            if len(rows):
                styles, keys = self._pick(rows, num, rng)
                return ([style] * num if style is not None else styles), keys
        return None

    def _pick(self, rows: np.ndarray, num: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
        p = self.counts[rows] / self.counts[rows].sum()
        chosen = rows[rng.choice(len(rows), size=num, p=p)]
        return [self.styles[r] for r in chosen], self.keys[chosen]


def read_openings(folder: str | Path, tokenizer) -> Openings | None:
    """``keys.json`` of a model folder, or None when it has none or it does not fit the tokenizer."""
    path = Path(folder) / KEYS_FILE
    if not path.is_file():
        return None
    try:
        index = {name: i for i, name in enumerate(tokenizer.vocab)}
        rows = [r for r in json.loads(path.read_text()).get("headers", [])
                if len(r) == 4 and r[2] in index and float(r[3]) > 0]
        if not rows:
            return None
        return Openings(styles=[str(r[0]) for r in rows],
                        meters=[tuple(int(x) for x in str(r[1]).split("/")) for r in rows],
                        keys=np.array([index[r[2]] for r in rows], dtype=np.int64),
                        counts=np.array([float(r[3]) for r in rows]))
    except (ValueError, TypeError, AttributeError, OSError):
        return None
