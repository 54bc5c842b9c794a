"""``seqart prune``: a smaller melody transformer cut from a trained one, to distil into.

The new model keeps each block's most important feed-forward units, measured on the
training windows of a corpus, and/or drops whole blocks
(:mod:`seqart.models.melody_transformer.prune`); everything else is the model it
comes from. It plays worse than that model until it is trained; the usual next step
is a distillation run that starts from it::

    seqart prune folk-large --data corpora/built/folk --ff-dim 384 -o pruned
    seqart train melody-transformer --from pruned --data corpora/built/folk -o run \\
        --set ff_dim=384 --set teacher=folk-large --set teacher_weight=0.8
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from seqart.errors import SeqartError

#: batches of training windows the units' importance is measured on, and windows per batch
IMPORTANCE_BATCHES = 24
IMPORTANCE_BATCH_SIZE = 32


def prune(model: str | Path, data: str | Path, out: str | Path, ff_dim: int | None = None,
          drop_layers: Sequence[int] = (), batches: int = IMPORTANCE_BATCHES, seed: int = 0, force: bool = False,
          progress: Callable[[str], None] | None = None) -> dict:
    """Write a model folder at ``out``: the melody transformer ``model`` (a shipped name or
    a model/run folder) without the blocks numbered ``drop_layers`` (0: nearest the
    input), then with every block's feed-forward layer cut to its ``ff_dim`` most
    important units, measured on ``batches`` batches of training windows of the built
    corpus ``data`` (drawn with ``seed``). The side files (the openings a sample is given)
    are the source's.

    Args:
        progress: called with a line before each phase that takes seconds.

    Returns:
        ``{"out", "from", "layers": (before, after), "ff_dim": (before, after),
        "parameters": (before, after), "valid_loss": (before, after) nats per token on
        the corpus's valid split, or None when it has none}``.

    Raises:
        SeqartError: one line, for a model that is not a melody transformer, neither
            ``ff_dim`` nor ``drop_layers``, an ``ff_dim`` that does not narrow it, blocks
            it does not have (or all of them), a corpus over other tokens, or an ``out``
            that exists (without ``force``).
    """
    from seqart.corpora.dataset import CorpusDataset
    from seqart.models.folder import check_replaceable, load_model, resolve_model, save_model_folder
    from seqart.models.melody_lm.objective import PAD
    from seqart.models.melody_lm.tuning import sequence_nll
    from seqart.models.melody_transformer.model import MelodyTransformer
    from seqart.models.melody_transformer.prune import drop_blocks, feed_forward_importance, prune_feed_forward
    from seqart.train.config import TrainConfig

    out = Path(out)
    check_replaceable(out, force)
    source = resolve_model(model)
    wide, tokenizer, _ = load_model(source)
    if not isinstance(wide, MelodyTransformer):
        raise SeqartError(f"{model}: only a melody transformer is pruned, not a {wide.registry_name}")
    width, layers = wide.config.ff_dim, wide.config.num_layers
    if ff_dim is None and not drop_layers:
        raise SeqartError("nothing to cut: give --ff-dim, --drop-layers or both")
    if ff_dim is not None and not 1 <= ff_dim < width:
        raise SeqartError(f"--ff-dim must be between 1 and {width - 1} (the model's feed-forward width is {width})")
    try:
        narrow = drop_blocks(wide, list(drop_layers)) if drop_layers else wide
    except ValueError as exc:
        raise SeqartError(f"--drop-layers: {exc}") from None
    if batches < 1:
        raise SeqartError(f"batches must be at least 1, not {batches}")
    corpus = CorpusDataset.open(data)
    if corpus.tokenizer != tokenizer:
        raise SeqartError(f"{data} holds other tokens than {model} reads (build the corpus with its tokenizer)")
    if ff_dim is not None:
        settings = TrainConfig(batch_size=IMPORTANCE_BATCH_SIZE, seq_len=wide.config.context, seed=seed)
        windows = MelodyTransformer.data(corpus.split("train"), tokenizer, settings, seed=seed, training=True,
                                         config=wide.config)
        if progress:
            progress(f"measuring {len(narrow.blocks)} x {width} feed-forward units on {batches} batches "
                     "of training windows")
        importance = feed_forward_importance(narrow, (windows.batch(i) for i in range(batches)), PAD)
        narrow = prune_feed_forward(narrow, ff_dim, importance)
    valid = corpus.split("valid")
    losses = None
    if len(valid):
        if progress:
            progress(f"valid loss before and after, {len(valid)} tunes")
        losses = (sequence_nll(wide, valid, IMPORTANCE_BATCH_SIZE), sequence_nll(narrow, valid, IMPORTANCE_BATCH_SIZE))
    save_model_folder(out, narrow, tokenizer, sides_from=source,
                      extra={"pruned_from": str(source), "pruned_shape": {"num_layers": layers, "ff_dim": width}})
    return {"out": str(out), "from": str(source), "layers": (layers, narrow.config.num_layers),
            "ff_dim": (width, narrow.config.ff_dim), "parameters": (wide.num_parameters(), narrow.num_parameters()),
            "valid_loss": losses}

