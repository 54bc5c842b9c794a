"""Starting a training run from a trained model: ``seqart train PRESET --from M --data DATA``.

The preset supplies the training settings; the model ``M`` (a shipped name or a
model/run folder) supplies the architecture (its ``config.json``), the starting
weights (loaded strictly: every tensor, every shape) and the tokenizer. ``DATA``
is a corpus built with exactly M's tokenizer, or any corpus source (a folder of
MIDI/MusicXML/ABC files, one file, a built-in corpus name): that is built first
into ``RUN/corpus`` with M's tokenizer, so the vocabulary is M's, and the build
report (files found, tunes extracted, skipped and why, split sizes) is returned
for the caller to show before training starts.

Nothing here imports torch until weights are loaded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from seqart.errors import CorpusError, ModelError, SeqartError

#: The corpus built from a music folder, inside the run folder.
FROM_CORPUS = "corpus"
#: Valid and test shares of a corpus built from a user's folder (more than the 5 % of a
#: big corpus, so a few dozen tunes still give a validation set).
VALID_FRACTION = TEST_FRACTION = 0.1
#: A folder with fewer music files than this is parsed in this process (starting
#: parser processes would take longer than the parsing).
IN_PROCESS_FILES = 64


@dataclass
class StartModel:
    """The model a run starts from.

    Attributes:
        folder: its model folder.
        model_type: its registry name (``"melody-lstm"``).
        config: its constructor config from ``config.json`` (architecture and vocabulary size).
        tokenizer: its tokenizer, or None for a model without one.
    """

    folder: Path
    model_type: str
    config: dict
    tokenizer: object | None


@dataclass
class FineTuneData:
    """The data a ``--from`` run trains on.

    Attributes:
        corpus: the corpus folder (or, for image presets, the data as given).
        start: the model the run starts from.
        report: the build report when the corpus was built from music files, else None.
    """

    corpus: Path
    start: StartModel
    report: object | None = None


def start_model(init_from: str | os.PathLike, recipe) -> StartModel:
    """Find ``init_from`` and check it is the kind of model ``recipe`` (a Preset) trains.

    Raises:
        ModelError: for an unknown model or one of another type than the preset's.
    """
    from seqart.models.folder import TOKENIZER, load_tokenizer_of, read_config, resolve_model

    folder = resolve_model(init_from)
    meta = read_config(folder)
    if meta["model"] != recipe.model:
        raise ModelError(f"--from {init_from} is a {meta['model']} model but preset {recipe.name} trains "
                         f"{recipe.model} models; choose a {meta['model']} preset")
    tokenizer = load_tokenizer_of(folder) if (folder / TOKENIZER).is_file() else None
    return StartModel(folder, meta["model"], dict(meta["config"]), tokenizer)


def is_corpus_folder(path: str | os.PathLike) -> bool:
    """True if ``path`` is a folder with a corpus manifest (built by ``seqart corpus build``)."""
    from seqart.corpora.layout import MANIFEST_NAME

    return (Path(path).expanduser() / MANIFEST_NAME).is_file()


def check_data_matches(start: StartModel, corpus) -> int:
    """Refuse a corpus encoded with other tokenizer settings than the start model's,
    unless its tokenizer is a newer layout of the model's (:func:`extends`).

    Returns:
        how many token ids the corpus's tokenizer adds to the model's (0: the same).

    Raises:
        SeqartError: one line, naming both settings.
    """
    tokenizer = getattr(corpus, "tokenizer", None)
    if start.tokenizer is None or tokenizer is None or tokenizer == start.tokenizer:
        return 0
    if extends(tokenizer, start.tokenizer):
        return tokenizer.vocab_size - start.tokenizer.vocab_size
    raise SeqartError(
        f"{corpus.folder} was built with {_describe(tokenizer)} but {start.folder} uses {_describe(start.tokenizer)}: "
        "the vocabularies differ; pass the music folder itself as --data to rebuild it with the model's settings"
    )


def extends(newer, older) -> bool:
    """Whether tokenizer ``newer`` is a later layout of ``older``: the same kind, the same
    settings but a higher ``layout``, and every id of ``older`` naming the same token
    (new tokens are added at the end). A model of ``older`` can then start a run on
    ``newer``'s data, the new tokens getting new rows (:func:`load_start_weights`)."""
    if newer.name != older.name or not hasattr(newer.config, "layout"):
        return False
    a, b = asdict(newer.config), asdict(older.config)
    if a.pop("layout") <= b.pop("layout") or a != b:
        return False
    return newer.vocab_size > older.vocab_size and newer.vocab[:older.vocab_size] == older.vocab


def _describe(tokenizer) -> str:
    settings = ", ".join(f"{k}={v}" for k, v in asdict(tokenizer.config).items())
    return f"the {tokenizer.name} tokenizer ({settings})"


def load_start_weights(model, folder: Path, new_tokens: int = 0) -> None:
    """Copy the weights of the model folder ``folder`` into ``model``, strictly.

    Args:
        new_tokens: token ids the run's tokenizer adds at the end of the model's
            (:func:`check_data_matches`). A tensor with one row per token id (an
            embedding, an output layer) then keeps its rows and the new ids keep the
            run's fresh rows; a per-token bias starts each new id at the lowest old bias,
            so a new token starts out rare.

    Raises:
        ModelError: if a tensor is missing, extra or of another shape (a ``--set``
            that changed the architecture).
    """
    from seqart.models.folder import load_model

    source, _, _ = load_model(folder)
    theirs, ours = source.state_dict(), model.state_dict()
    for name, tensor in ours.items():
        if name not in theirs:
            raise ModelError(f"{folder}: no tensor {name!r} to start from")
        old = theirs[name]
        if new_tokens and old.dim() and tuple(old.shape[1:]) == tuple(tensor.shape[1:]) \
                and tensor.shape[0] == old.shape[0] + new_tokens:
            grown = tensor.detach().clone()
            grown[:old.shape[0]] = old
            if old.dim() == 1:
                grown[old.shape[0]:] = old.min()
            theirs[name] = grown
        if tuple(theirs[name].shape) != tuple(tensor.shape):
            raise ModelError(f"{folder}: tensor {name!r} has shape {list(theirs[name].shape)}, the run's model needs "
                             f"{list(tensor.shape)} (did a --set change the architecture?)")
    extra = sorted(set(theirs) - set(ours))
    if extra:
        raise ModelError(f"{folder}: tensor {extra[0]!r} has no place in the run's model")
    model.load_state_dict(theirs, strict=True)


@contextmanager
def fine_tune_data(init_from: str | os.PathLike, preset: str, data: str | os.PathLike, out: str | os.PathLike,
                   dry_run: bool = False, resume: bool = False, progress: bool = True) -> Iterator[FineTuneData]:
    """Check ``--from`` and make the data of a ``--from`` run ready.

    A built corpus (or image data) is used as it is. Any other source (a folder of
    music files, a file, a built-in name) is built into ``out/corpus`` with the start
    model's tokenizer (into a temporary folder, removed on exit, for a dry run).

    Args:
        init_from: the model to start from (shipped name or model/run folder).
        preset: the preset that will train.
        data: a built corpus folder or a corpus source.
        out: the run folder.
        dry_run: build into a temporary folder.
        resume: the run continues (``out`` may hold one).
        progress: show the build's progress bar.

    Yields:
        a :class:`FineTuneData`.

    Raises:
        ModelError: for a model of another type than the preset's.
        CorpusError: when nothing usable was extracted (one line, with the first reason).
        SeqartError: for an ``out`` that holds something else.
    """
    from seqart.models.registry import get_preset

    recipe = get_preset(preset)
    start = start_model(init_from, recipe)
    if recipe.representation == "images" or is_corpus_folder(data):
        yield FineTuneData(Path(data), start)
        return
    if start.tokenizer is None:
        raise ModelError(f"{start.folder} has no tokenizer.json to encode {data} with")
    source = Path(data).expanduser()
    workers = None
    if source.is_dir():
        from seqart.corpora.registry import scan_folder

        workers = 1 if len(scan_folder(source)) < IN_PROCESS_FILES else None
    tmp = Path(tempfile.mkdtemp(prefix="seqart-dry-corpus-")) if dry_run else None
    try:
        if tmp is None:
            out = Path(out)
            from seqart.workflows.train import check_run_folder

            check_run_folder(out, resume, corpus_inside=True)
            target = out / FROM_CORPUS
        else:
            target = tmp / FROM_CORPUS
        from seqart.corpora.build import build_corpus

        tok = start.tokenizer
        try:
            report = build_corpus(data, target, representation=tok.name, tokenizer_config=asdict(tok.config),
                                  workers=workers, valid_fraction=VALID_FRACTION, test_fraction=TEST_FRACTION,
                                  progress=progress)
        except CorpusError as exc:
            raise CorpusError(f"nothing to fine-tune on: {exc}") from None
        if not report.sequences.get("train"):
            raise CorpusError(f"nothing to fine-tune on: all {report.kept} tunes of {data} fell in the valid and "
                              "test splits; add more music")
        yield FineTuneData(target, start, report)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def data_report_lines(prepared: FineTuneData) -> list[str]:
    """The build report of a ``--from`` run as lines of text (nothing for a corpus given as built)."""
    r = prepared.report
    if r is None:
        return []
    lines = [(f"data: {r.source}: {r.units:,} files (or ABC tunes) found, {r.kept:,} tunes extracted, "
              f"{len(r.skipped):,} skipped, {r.duplicates:,} duplicates dropped")]
    lines += [f"  skipped {n:,}: {reason}" for reason, n in r.skip_reasons()]
    lines.append("  split: " + ", ".join(f"{s} {r.sequences.get(s, 0):,} tunes / {r.items.get(s, 0):,} tokens"
                                         for s in ("train", "valid", "test")))
    lines.append(f"  corpus: {prepared.corpus} (encoded with the tokenizer of {prepared.start.folder})")
    if r.skipped:
        lines.append(f"  every skipped file and its reason: {r.manifest_path} (\"skipped\")")
    return lines
