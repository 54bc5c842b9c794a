"""Corpora: built-in music collections, and building training corpora from any source.

>>> from seqart.corpora import build_corpus, CorpusDataset
>>> report = build_corpus("han", "corpora/han", representation="melody")
>>> ds = CorpusDataset.open("corpora/han")

Importing this package is cheap (numpy only); music21 loads only where a unit
must actually be parsed.
"""

from seqart.corpora.build import BuildReport, build_corpus, split_of
from seqart.corpora.cache import ScoreCache, default_cache_dir
from seqart.corpora.dataset import CorpusDataset, load_polyphonic_benchmark
from seqart.corpora.registry import BUILTINS, ResolvedSource, list_builtins, resolve_source

__all__ = [
    "BUILTINS",
    "BuildReport",
    "CorpusDataset",
    "ResolvedSource",
    "ScoreCache",
    "build_corpus",
    "default_cache_dir",
    "list_builtins",
    "load_polyphonic_benchmark",
    "resolve_source",
    "split_of",
]
