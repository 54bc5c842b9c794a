"""Names and array layouts of a built corpus folder, shared by the builder and the reader.

A corpus folder holds:

- ``tokens.npy`` (kind ``"tokens"``): every kept sequence concatenated, shape ``(N,)``,
  ``int16`` when the vocabulary has fewer than 32768 names, else ``int32``; or
  ``frames.npy`` (kind ``"frames"``): every sequence's frames concatenated, shape
  ``(N, n_features)``, ``uint8``.
- ``index.npy``: one record per sequence, dtype :data:`INDEX_DTYPE`
  (``offset`` and ``length`` in tokens or frames, ``split`` 0/1/2 for train/valid/test).
- ``manifest.json``: what was built from what, how it was split, and what was skipped.
"""

from __future__ import annotations

import numpy as np

#: ``manifest["format"]`` of every seqart corpus folder.
MANIFEST_FORMAT = "seqart-corpus"
#: Layout version; a reader refuses a newer one.
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
INDEX_NAME = "index.npy"
#: Data file name per tokenizer kind.
DATA_NAMES = {"tokens": "tokens.npy", "frames": "frames.npy"}
#: Split names; a sequence's ``split`` field is the position in this tuple.
SPLITS = ("train", "valid", "test")
#: One record of ``index.npy``.
INDEX_DTYPE = np.dtype([("offset", "<i8"), ("length", "<i8"), ("split", "u1")])


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
