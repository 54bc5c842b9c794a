"""Reading a built corpus folder (memory-mapped) and the polyphonic benchmark ``.mat`` files.

>>> ds = CorpusDataset.open("corpora/han")
>>> train = ds.split("train")          # list of 1-D token arrays (views, no copy)
>>> ds.tokenizer.decode(train[0])      # back to a Score
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seqart.corpora.layout import (
    DATA_NAMES,
    FORMAT_VERSION,
    INDEX_DTYPE,
    INDEX_NAME,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    SPLITS,
    split_code,
)
from seqart.errors import CorpusError


class CorpusDataset:
    """A corpus folder written by :func:`seqart.corpora.build_corpus`, memory-mapped.

    Attributes:
        folder: the corpus folder.
        manifest: the parsed ``manifest.json``.
        kind: ``"tokens"`` or ``"frames"``.
        data: all sequences concatenated: shape ``(N,)`` int16/int32 token ids, or
            ``(N, n_features)`` uint8 frames (read-only memory map).
        index: one :data:`seqart.corpora.layout.INDEX_DTYPE` record per sequence.
    """

    def __init__(self, folder: Path, manifest: dict, data: np.ndarray, index: np.ndarray):
        self.folder = folder
        self.manifest = manifest
        self.kind = str(manifest["kind"])
        self.data = data
        self.index = index
        self._tokenizer = None

    @classmethod
    def open(cls, folder: str | Path) -> "CorpusDataset":
        """Open a corpus folder without reading its arrays into memory.

        Raises:
            CorpusError: one line, if the folder holds no readable seqart corpus.
        """
        folder = Path(folder).expanduser()
        path = folder / MANIFEST_NAME
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CorpusError(
                f"{folder}: not a corpus folder (no {MANIFEST_NAME}; build one with 'seqart corpus build')"
            ) from None
        except (OSError, ValueError) as exc:
            raise CorpusError(f"{path}: unreadable corpus manifest ({' '.join(str(exc).split())[:120]})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            raise CorpusError(f"{path}: not a seqart corpus manifest")
        if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
            raise CorpusError(
                f"{path}: corpus format {manifest.get('format_version')} is newer than this seqart reads "
                f"({FORMAT_VERSION}); upgrade seqart"
            )
        kind = manifest.get("kind")
        if kind not in DATA_NAMES:
            raise CorpusError(f"{path}: unknown corpus kind {kind!r}")
        try:
            data = np.load(folder / DATA_NAMES[kind], mmap_mode="r")
            index = np.load(folder / INDEX_NAME, mmap_mode="r")
        except (OSError, ValueError) as exc:
            reason = " ".join(str(exc).split())[:120]
            raise CorpusError(f"{folder}: corpus arrays are missing or damaged ({reason})") from None
        if index.dtype != INDEX_DTYPE or index.ndim != 1:
            raise CorpusError(f"{folder / INDEX_NAME}: unexpected index layout {index.dtype}")
        expected_ndim = 1 if kind == "tokens" else 2
        if data.ndim != expected_ndim:
            raise CorpusError(
                f"{folder / DATA_NAMES[kind]}: expected a {expected_ndim}-D array, got shape {data.shape}"
            )
        if len(index) and int(index["offset"][-1] + index["length"][-1]) > len(data):
            raise CorpusError(f"{folder}: index points past the end of {DATA_NAMES[kind]} (a half-finished rebuild?)")
        n_items = len(manifest.get("items", ()))
        if n_items != len(index):
            raise CorpusError(f"{folder}: manifest lists {n_items} items but the index has {len(index)}")
        return cls(folder, manifest, data, index)

    # ------------------------------------------------------------- metadata
    @property
    def tokenizer(self):
        """The tokenizer that encoded the corpus, rebuilt from the manifest."""
        if self._tokenizer is None:
            from seqart.tokenizers import tokenizer_from_dict

            self._tokenizer = tokenizer_from_dict(self.manifest["tokenizer"])
        return self._tokenizer

    @property
    def representation(self) -> str:
        return str(self.manifest["representation"])

    @property
    def vocab(self) -> list[str]:
        """Token names, index = id (empty for a frames corpus)."""
        return list(self.manifest.get("vocab", []))

    @property
    def n_features(self) -> int:
        """Frame width for a frames corpus (88 for piano rolls), 0 for tokens."""
        return int(self.manifest.get("n_features", 0))

    # ------------------------------------------------------------ sequences
    def _rows(self, split: str | None) -> np.ndarray:
        if split is None:
            return np.arange(len(self.index))
        return np.flatnonzero(np.asarray(self.index["split"]) == split_code(split))

    def split(self, name: str) -> list[np.ndarray]:
        """The sequences of split ``name`` (``"train"``, ``"valid"``, ``"test"``), in source order.

        Returns:
            read-only views into :attr:`data`: shape ``(T,)`` token ids or ``(T, n_features)`` frames.
        """
        return [self[int(i)] for i in self._rows(name)]

    def items(self, split: str | None = None) -> list[dict]:
        """Manifest entries ``{"source", "title", "split"}`` of the sequences of ``split`` (all if None)."""
        entries = self.manifest["items"]
        return [entries[int(i)] for i in self._rows(split)]

    def num_sequences(self, split: str | None = None) -> int:
        """Number of sequences in ``split`` (all splits if None)."""
        return len(self._rows(split))

    def num_items(self, split: str | None = None) -> int:
        """Tokens (or frames) in ``split`` (all splits if None)."""
        return int(np.asarray(self.index["length"])[self._rows(split)].sum())

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> np.ndarray:
        """Sequence ``i`` (in source order, any split) as a read-only view."""
        rec = self.index[i]
        start = int(rec["offset"])
        return self.data[start:start + int(rec["length"])]

    def __repr__(self) -> str:
        counts = ", ".join(f"{s} {self.num_sequences(s)}" for s in SPLITS)
        return f"CorpusDataset({str(self.folder)!r}, {self.representation}, {counts})"


def load_polyphonic_benchmark(path: str | Path) -> dict[str, list[np.ndarray]]:
    """Read a Boulanger-Lewandowski benchmark ``.mat`` file (JSB Chorales, Nottingham, ...).

    Returns:
        ``{"train": [...], "valid": [...], "test": [...]}``, each a list of ``uint8``
        arrays of shape ``(T, 88)`` holding 0/1, one row per time step, column ``k``
        = MIDI pitch ``21 + k``. The standard splits are kept as they are.

    Raises:
        CorpusError: if the file cannot be read or lacks ``traindata``/``validdata``/``testdata``.
    """
    from scipy.io import loadmat

    path = Path(path)
    try:
        mat = loadmat(str(path))
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such file") from None
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError, ...
        raise CorpusError(f"{path}: not a readable .mat file ({' '.join(str(exc).split())[:120]})") from None
    out: dict[str, list[np.ndarray]] = {}
    for name in SPLITS:
        key = f"{name}data"
        if key not in mat:
            raise CorpusError(f"{path}: no {key!r} in the file; not a polyphonic benchmark")
        seqs = []
        for seq in np.asarray(mat[key], dtype=object).ravel():
            arr = np.asarray(seq)
            if arr.ndim != 2 or arr.shape[1] != 88:
                raise CorpusError(f"{path}: a {name} sequence has shape {arr.shape}, expected (T, 88)")
            seqs.append(np.ascontiguousarray(arr, dtype=np.uint8))
        out[name] = seqs
    return out
