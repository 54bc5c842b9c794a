"""Smaller melody transformers cut from a trained one (structured pruning).

A block's feed-forward layer adds up its hidden units' outputs; a unit that is
seldom active, or whose output column is short, adds little to what the block
passes on. Keeping each block's most important units, or dropping whole blocks,
gives a model that samples faster (a step's cost follows the weights it reads) and
that starts a distillation run (``--set teacher=...``) close to the model it came
from, instead of from random weights.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

import torch


def feed_forward_importance(model, batches: Iterable[torch.Tensor], pad_id: int) -> list[torch.Tensor]:
    """Each feed-forward unit's importance, per block: (F,) float tensors.

    A unit's importance is its mean absolute GELU output over every unpadded position
    of ``batches`` times the length (L2 norm) of its column in ``ff_out``: the mean
    size of what it adds to the residual stream.

    Args:
        model: a :class:`~seqart.models.melody_transformer.model.MelodyTransformer`.
        batches: LongTensors (B, T + 1) of token ids, as training batches come; the last
            column is not fed. Positions holding ``pad_id`` are not counted.
    """
    sums = [torch.zeros(block.ff_out.in_features, dtype=torch.float64) for block in model.blocks]
    counted = 0
    fed = None  # (B, T) bool: the unpadded positions of the batch being fed, read by the hooks

    def hook_for(i: int):
        def record(module, inputs):
            sums[i] += inputs[0].abs()[fed].sum(dim=0, dtype=torch.float64)
        return record

    hooks = [block.ff_out.register_forward_pre_hook(hook_for(i)) for i, block in enumerate(model.blocks)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in batches:
                tokens = batch[:, :-1]
                fed = tokens != pad_id
                counted += int(fed.sum())
                model(tokens)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    if not counted:
        raise ValueError("no unpadded token to measure the feed-forward units on")
    return [(s / counted).float() * block.ff_out.weight.detach().norm(dim=0)
            for s, block in zip(sums, model.blocks)]


def prune_feed_forward(model, ff_dim: int, importance: list[torch.Tensor]):
    """A new model whose blocks keep their ``ff_dim`` most important feed-forward units
    (:func:`feed_forward_importance`), in their original order; every other tensor
    is copied. Its config differs from ``model``'s only in ``ff_dim``.

    Raises:
        ValueError: ``ff_dim`` is not between 1 and the model's feed-forward width,
            or ``importance`` does not hold one (F,) tensor per block.
    """
    width = model.config.ff_dim
    if not 1 <= ff_dim <= width:
        raise ValueError(f"ff_dim must be between 1 and the model's {width}, not {ff_dim}")
    if len(importance) != len(model.blocks) or any(tuple(s.shape) != (width,) for s in importance):
        raise ValueError(f"importance must hold one ({width},) tensor per block ({len(model.blocks)})")
    pruned = type(model)(replace(model.config, ff_dim=ff_dim))
    state = dict(model.state_dict())
    for i, scores in enumerate(importance):
        kept = torch.sort(torch.argsort(scores, descending=True, stable=True)[:ff_dim]).values
        p = f"blocks.{i}."
        state[p + "ff_in.weight"] = state[p + "ff_in.weight"][kept]
        state[p + "ff_in.bias"] = state[p + "ff_in.bias"][kept]
        state[p + "ff_out.weight"] = state[p + "ff_out.weight"][:, kept]
    pruned.load_state_dict({k: v.clone() for k, v in state.items()})
    pruned.train(model.training)
    return pruned


def drop_blocks(model, blocks: Sequence[int]):
    """A new model without the blocks numbered ``blocks`` (0: the one nearest the
    embedding); the others keep their weights and order, and its config differs from
    ``model``'s only in ``num_layers``.

    Raises:
        ValueError: a number that names no block, twice the same one, or every block.
    """
    layers = len(model.blocks)
    dropped = set(blocks)
    if len(dropped) != len(blocks) or not dropped <= set(range(layers)) or len(dropped) == layers:
        raise ValueError(f"blocks to drop must be different numbers from 0 to {layers - 1}, "
                         f"leaving at least one: {list(blocks)}")
    kept = [i for i in range(layers) if i not in dropped]
    smaller = type(model)(replace(model.config, num_layers=len(kept)))
    state = {}
    for name, tensor in model.state_dict().items():
        if name.startswith("blocks."):
            _, index, rest = name.split(".", 2)
            if int(index) in dropped:
                continue
            name = f"blocks.{kept.index(int(index))}.{rest}"
        state[name] = tensor.clone()
    smaller.load_state_dict(state)
    smaller.train(model.training)
    return smaller
