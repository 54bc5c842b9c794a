"""Session-wide fixtures: a tiny melody corpus and a tiny trained model (seconds on CPU)."""

from __future__ import annotations

import pytest

from seqart.train.config import parse_settings
from tests.melody_factory import write_melody_folder


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A melody corpus folder built from 24 synthetic MIDI melodies."""
    import os

    from seqart.corpora.build import build_corpus

    root = tmp_path_factory.mktemp("tiny")
    write_melody_folder(root / "midi", count=40)
    old = os.environ.get("SEQART_CACHE_DIR")
    os.environ["SEQART_CACHE_DIR"] = str(root / "cache")
    try:
        build_corpus(root / "midi", root / "corpus", representation="melody", workers=1, progress=False,
                     valid_fraction=0.2, test_fraction=0.2)
    finally:
        if old is None:
            os.environ.pop("SEQART_CACHE_DIR", None)
        else:
            os.environ["SEQART_CACHE_DIR"] = old
    return root / "corpus"


TINY = ["embed_dim=32", "hidden_size=32", "num_layers=2", "dropout=0.1", "batch_size=8", "seq_len=48",
        "val_every=10", "checkpoint_every=10", "log_every=5", "warmup_steps=5", "threads=1"]
#: :data:`TINY` as typed settings, for the Python API
TINY_SETTINGS = parse_settings(TINY)


@pytest.fixture(scope="session")
def tiny_run(tiny_corpus, tmp_path_factory):
    """A run folder of melody-lstm trained 30 steps on the tiny corpus."""
    from seqart.workflows.train import train

    run = tmp_path_factory.mktemp("run") / "run"
    train("melody-lstm", tiny_corpus, run, steps=30, settings=TINY_SETTINGS, progress=False)
    return run
