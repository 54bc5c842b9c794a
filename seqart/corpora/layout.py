"""Names and array layouts of a built corpus folder, shared by the builder and the reader.

A corpus folder (format version 2) holds:

- data shards ``tokens-00000.npy``, ``tokens-00001.npy``, ... (kind ``"tokens"``): the
  kept sequences concatenated in source order and cut into shards of at most
  ``manifest["shard_items"]`` tokens, each of shape ``(n,)``, ``int16`` when the
  vocabulary has fewer than 32768 names, else ``int32``; or ``frames-00000.npy``, ...
  (kind ``"frames"``): the sequences' frames, each shard of shape
  ``(n, n_features)``, ``uint8``. A sequence never spans two shards (one longer
  than the limit gets a shard of its own). ``manifest["shards"]`` lists them.
- ``index.npy``: one record per sequence, dtype :data:`INDEX_DTYPE` (``shard``
  number, ``offset`` in that shard and ``length``, in tokens or frames, and
  ``split`` 0/1/2 for train/valid/test).
- ``manifest.json``: what was built from what, how it was split, what was skipped,
  and the shard files.

Version 1 folders (still read) hold one unsharded ``tokens.npy``/``frames.npy`` and
an index without the ``shard`` field (dtype :data:`INDEX_DTYPE_V1`).
"""

from __future__ import annotations

import numpy as np

#: ``manifest["format"]`` of every seqart corpus folder.
MANIFEST_FORMAT = "seqart-corpus"
#: Layout version; a reader refuses a newer one. 2: sharded data files.
FORMAT_VERSION = 2
MANIFEST_NAME = "manifest.json"
INDEX_NAME = "index.npy"
#: Data file name per tokenizer kind in a version 1 folder (a single shard).
DATA_NAMES = {"tokens": "tokens.npy", "frames": "frames.npy"}
#: Split names; a sequence's ``split`` field is the position in this tuple.
SPLITS = ("train", "valid", "test")
#: One record of ``index.npy`` (version 2): ``offset`` is counted from the start of shard ``shard``.
INDEX_DTYPE = np.dtype([("offset", "<i8"), ("length", "<i8"), ("split", "u1"), ("shard", "<u4")])
#: One record of a version 1 ``index.npy``: ``offset`` into the single data file.
INDEX_DTYPE_V1 = np.dtype([("offset", "<i8"), ("length", "<i8"), ("split", "u1")])
#: Default most tokens in one shard: 2**24 (32 MiB of int16).
DEFAULT_SHARD_TOKENS = 1 << 24
#: Default most bytes of frames in one shard (1 GiB; 12.2 million 88-key frames).
DEFAULT_SHARD_FRAME_BYTES = 1 << 30


def shard_name(kind: str, number: int) -> str:
    """File name of data shard ``number`` of a corpus of ``kind``: ``"tokens-00003.npy"``."""
    return f"{kind}-{number:05d}.npy"


def default_shard_items(kind: str, n_features: int = 0) -> int:
    """Default shard limit in items: :data:`DEFAULT_SHARD_TOKENS` tokens, or as many
    frames of ``n_features`` bytes as fill :data:`DEFAULT_SHARD_FRAME_BYTES`."""
    if kind == "tokens":
        return DEFAULT_SHARD_TOKENS
    return max(1, DEFAULT_SHARD_FRAME_BYTES // max(1, n_features))


def split_code(name: str) -> int:
    """0, 1 or 2 for ``"train"``, ``"valid"``, ``"test"``.

    Raises:
        CorpusError: for any other name.
    """
    from seqart.errors import CorpusError

    try:
        return SPLITS.index(name)
    except ValueError:
        raise CorpusError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}") from None
