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
    INDEX_DTYPE_V1,
    INDEX_NAME,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    SPLITS,
    split_code,
)
from seqart.errors import CorpusError, one_line


class CorpusDataset:
    """A corpus folder written by :func:`seqart.corpora.build_corpus`, memory-mapped.

    Reads format version 2 (sharded data files) and version 1 (one data file).

    Attributes:
        folder: the corpus folder.
        manifest: the parsed ``manifest.json``.
        kind: ``"tokens"`` or ``"frames"``.
        shards: the data shards in order, read-only memory maps: shape ``(n_i,)``
            int16/int32 token ids, or ``(n_i, n_features)`` uint8 frames.
        index: one :data:`seqart.corpora.layout.INDEX_DTYPE` record per sequence, in
            source order (``shard``, ``offset`` in it, ``length``, ``split``); a version 1
            index is read with ``shard`` 0.
    """

    def __init__(self, folder: Path, manifest: dict, shards: list[np.ndarray], index: np.ndarray):
        self.folder = folder
        self.manifest = manifest
        self.kind = str(manifest["kind"])
        self.shards = shards
        self.index = index
        self._tokenizer = None
        self._data = shards[0] if len(shards) == 1 else None

    @property
    def data(self) -> np.ndarray:
        """Every sequence concatenated in source order: shape ``(N,)`` token ids or
        ``(N, n_features)`` frames.

        The read-only memory map itself when the corpus has one shard; with several,
        a copy of all of them in memory (made on first use): prefer :meth:`split`,
        ``ds[i]`` or :attr:`shards` for large corpora.
        """
        if self._data is None:
            self._data = np.concatenate(self.shards, axis=0) if self.shards else np.zeros(0, np.int16)
        return self._data

    @classmethod
    def open(cls, folder: str | Path) -> "CorpusDataset":
        """Open a corpus folder without reading its data into memory.

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
            raise CorpusError(f"{path}: unreadable corpus manifest ({one_line(exc, 120)})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            raise CorpusError(f"{path}: not a seqart corpus manifest")
        version = int(manifest.get("format_version", 0))
        if version > FORMAT_VERSION:
            raise CorpusError(
                f"{path}: corpus format {manifest.get('format_version')} is newer than this seqart reads "
                f"({FORMAT_VERSION}); upgrade seqart"
            )
        kind = manifest.get("kind")
        if kind not in DATA_NAMES:
            raise CorpusError(f"{path}: unknown corpus kind {kind!r}")
        entries = manifest.get("shards") if version >= 2 else None
        if entries is None:  # version 1 (or an early version 2 without shards): one data file
            names = [DATA_NAMES[kind]]
        elif isinstance(entries, list) and all(isinstance(e, dict) and isinstance(e.get("file"), str)
                                               and Path(e["file"]).name == e["file"] for e in entries):
            names = [e["file"] for e in entries]  # plain names: a manifest cannot point outside the folder
        else:
            raise CorpusError(f"{path}: no valid shard list (\"shards\")")
        try:
            shards = [np.load(folder / name, mmap_mode="r") for name in names]
            index = np.load(folder / INDEX_NAME, mmap_mode="r")
        except (OSError, ValueError) as exc:
            reason = one_line(exc, 120)
            raise CorpusError(f"{folder}: corpus arrays are missing or damaged ({reason})") from None
        if index.dtype not in (INDEX_DTYPE, INDEX_DTYPE_V1) or index.ndim != 1:
            raise CorpusError(f"{folder / INDEX_NAME}: unexpected index layout {index.dtype}")
        if index.dtype == INDEX_DTYPE_V1:
            upgraded = np.zeros(len(index), dtype=INDEX_DTYPE)  # shard 0 for every record
            for name in INDEX_DTYPE_V1.names:
                upgraded[name] = index[name]
            index = upgraded
        expected_ndim = 1 if kind == "tokens" else 2
        for k, (name, shard) in enumerate(zip(names, shards)):
            if shard.ndim != expected_ndim:
                raise CorpusError(f"{folder / name}: expected a {expected_ndim}-D array, got shape {shard.shape}")
            if entries is not None and len(shard) != entries[k].get("items", len(shard)):
                raise CorpusError(f"{folder / name}: holds {len(shard)} items, the manifest says "
                                  f"{entries[k].get('items')} (a damaged or half-copied corpus?)")
        if len(index):
            which = np.asarray(index["shard"])
            if int(which.max()) >= len(shards):
                raise CorpusError(f"{folder}: index names a shard the manifest does not list "
                                  "(a half-finished rebuild?)")
            sizes = np.array([len(s) for s in shards], dtype=np.int64)
            if np.any(np.asarray(index["offset"]) + np.asarray(index["length"]) > sizes[which]):
                raise CorpusError(f"{folder}: index points past the end of a data file (a half-finished rebuild?)")
        n_items = len(manifest.get("items", ()))
        if n_items != len(index):
            raise CorpusError(f"{folder}: manifest lists {n_items} items but the index has {len(index)}")
        return cls(folder, manifest, shards, index)

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
            read-only views into the data shards: shape ``(T,)`` token ids or ``(T, n_features)`` frames.
        """
        rows = self._rows(name)
        shard = np.asarray(self.index["shard"])[rows].tolist()
        offset = np.asarray(self.index["offset"])[rows].tolist()
        length = np.asarray(self.index["length"])[rows].tolist()
        return [self.shards[s][o:o + n] for s, o, n in zip(shard, offset, length)]

    def items(self, split: str | None = None) -> list[dict]:
        """Manifest entries ``{"source", "title", "split"}`` of the sequences of ``split`` (all if None)."""
        entries = self.manifest["items"]
        return [entries[int(i)] for i in self._rows(split)]

    def style_counts(self, split: str | None = None) -> dict[str, int]:
        """Sequences per style (``""``: unknown), most common first, read from each melody's
        ``STYLE_*`` token; empty for a representation without style tokens."""
        from collections import Counter

        tok = self.tokenizer
        if self.kind != "tokens" or not hasattr(tok, "style_of") or getattr(tok, "layout", 1) < 2:
            return {}
        counts: Counter = Counter()
        for name in ([split] if split else list(SPLITS)):
            for seq in self.split(name):
                style = tok.style_of(int(seq[1])) if len(seq) > 1 else None
                counts[style or ""] += 1
        return dict(counts.most_common())

    def num_sequences(self, split: str | None = None) -> int:
        """Number of sequences in ``split`` (all splits if None)."""
        return len(self._rows(split))

    def num_items(self, split: str | None = None) -> int:
        """Tokens (or frames) in ``split`` (all splits if None)."""
        return int(np.asarray(self.index["length"])[self._rows(split)].sum())

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> np.ndarray:
        """Sequence ``i`` (in source order, any split) as a read-only view into its shard:
        shape ``(T,)`` token ids or ``(T, n_features)`` frames."""
        rec = self.index[i]
        start = int(rec["offset"])
        return self.shards[int(rec["shard"])][start:start + int(rec["length"])]

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
        raise CorpusError(f"{path}: not a readable .mat file ({one_line(exc, 120)})") from None
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
