"""Corpora: built-in music collections, and building training corpora from any source.

>>> from seqart.corpora import build_corpus, CorpusDataset
>>> report = build_corpus("han", "corpora/built/han")  # settings from recipes/han.json
>>> ds = CorpusDataset.open("corpora/built/han")

Each built-in corpus is a small JSON recipe in ``seqart/corpora/recipes/`` (see
:mod:`seqart.corpora.recipes`): its files, filters, default representation,
tokenizer settings and split.

Importing this package is cheap (numpy, and those few JSON files); music21 loads
only where a unit must actually be parsed.
"""

from seqart.corpora.build import BuildReport, build_corpus, split_of
from seqart.corpora.cache import ScoreCache, default_cache_dir
from seqart.corpora.dataset import CorpusDataset, load_polyphonic_benchmark
from seqart.corpora.recipes import Recipe, build_settings, builtin_recipes, load_recipes
from seqart.corpora.registry import BUILTINS, ResolvedSource, list_builtins, resolve_source

__all__ = [
    "BUILTINS",
    "BuildReport",
    "CorpusDataset",
    "Recipe",
    "ResolvedSource",
    "ScoreCache",
    "build_corpus",
    "build_settings",
    "builtin_recipes",
    "default_cache_dir",
    "list_builtins",
    "load_polyphonic_benchmark",
    "load_recipes",
    "resolve_source",
    "split_of",
]
