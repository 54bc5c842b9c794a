"""``seqart prune``: a smaller melody transformer cut from a trained one."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded


@guarded
def prune_command(
    model: Annotated[str, typer.Argument(help="Melody transformer: model folder, run folder or shipped name.")],
    data: Annotated[Path, typer.Option("--data", "-d", help="Built corpus (the model's tokens) to measure units on.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
    ff_dim: Annotated[Optional[int], typer.Option("--ff-dim", help="Feed-forward units each block keeps.")] = None,
    drop_layers: Annotated[Optional[str], typer.Option(
        "--drop-layers", help="Blocks to drop, comma-separated (0 is nearest the input).")] = None,
    batches: Annotated[int, typer.Option(help="Batches of 32 training windows to measure on.")] = 24,
    seed: Annotated[int, typer.Option(help="Seed of the training windows drawn.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing model folder.")] = False,
) -> None:
    """Cut a smaller, faster melody transformer from a trained one (fewer blocks or units), to distil into."""
    from seqart.commands.common import fail
    from seqart.workflows.prune import prune

    try:
        blocks = [int(b) for b in drop_layers.split(",")] if drop_layers else []
    except ValueError:
        raise fail(f"--drop-layers: not block numbers separated by commas: {drop_layers!r}") from None
    result = prune(model, data, out, ff_dim, blocks, batches=batches, seed=seed, force=force,
                   progress=lambda line: typer.echo(line, err=True))
    layers, ff, params, losses = result["layers"], result["ff_dim"], result["parameters"], result["valid_loss"]
    typer.echo(f"wrote {result['out']}: {layers[0]} blocks x {ff[0]} feed-forward units -> {layers[1]} x {ff[1]}, "
               f"{params[0]:,} -> {params[1]:,} parameters")
    if losses:
        typer.echo(f"valid loss {losses[0]:.4f} -> {losses[1]:.4f} nats/token; now train it, e.g. seqart train "
                   f"melody-transformer --from {result['out']} --data {data} --set num_layers={layers[1]} "
                   f"--set ff_dim={ff[1]} --set teacher={model}")
