"""``seqart prune``: a melody transformer cut to narrower feed-forward layers."""

from __future__ import annotations

from pathlib import Path

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded


@guarded
def prune_command(
    model: Annotated[str, typer.Argument(help="Melody transformer: model folder, run folder or shipped name.")],
    data: Annotated[Path, typer.Option("--data", "-d", help="Built corpus (the model's tokens) to measure units on.")],
    ff_dim: Annotated[int, typer.Option("--ff-dim", help="Feed-forward units each block keeps.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
    batches: Annotated[int, typer.Option(help="Batches of 32 training windows to measure on.")] = 24,
    seed: Annotated[int, typer.Option(help="Seed of the training windows drawn.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing model folder.")] = False,
) -> None:
    """Keep each block's most important feed-forward units: a faster model to distil into (--set teacher=MODEL)."""
    from seqart.workflows.prune import prune

    result = prune(model, data, out, ff_dim, batches=batches, seed=seed, force=force,
                   progress=lambda line: typer.echo(line, err=True))
    (before, after), losses = result["parameters"], result["valid_loss"]
    typer.echo(f"wrote {result['out']}: feed-forward {result['ff_dim'][0]} -> {result['ff_dim'][1]} units, "
               f"{before:,} -> {after:,} parameters")
    if losses:
        typer.echo(f"valid loss {losses[0]:.4f} -> {losses[1]:.4f} nats/token; now train it, e.g. seqart train "
                   f"melody-transformer --from {result['out']} --data {data} --set ff_dim={result['ff_dim'][1]} "
                   f"--set teacher={model}")
