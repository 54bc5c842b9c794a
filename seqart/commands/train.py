"""``seqart train``: a preset on a built corpus, into a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded


@guarded
def train_command(
    preset: Annotated[str, typer.Argument(help="Preset name: melody-lstm, melody-lstm-tiny, ...")],
    data: Annotated[Path, typer.Option("--data", "-d", help="Corpus folder from 'seqart corpus build'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder to create (or resume).")],
    steps: Annotated[Optional[int], typer.Option(help="Optimizer steps (overrides the preset).")] = None,
    set_: Annotated[Optional[List[str]], typer.Option("--set", help="Override a setting: key=value (repeatable).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Run one batch of everything; write nothing.")] = False,
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, cuda:1, mps (default: best available).")] = None,
) -> None:
    """Train a model preset on a corpus folder; the best weights land in OUT/model."""
    from seqart.train.api import train

    overrides = list(set_ or []) + ([f"device={device}"] if device else [])
    try:
        result = train(preset, data, out, steps=steps, overrides=overrides, resume=resume, dry_run=dry_run)
    except KeyboardInterrupt:
        typer.echo(f"interrupted: checkpoint saved; resume with: seqart train {preset} --data {data} -o {out} --resume", err=True)
        raise typer.Exit(130) from None
    if dry_run:
        typer.echo(f"dry run ok: one batch trained, validated, checkpointed and evaluated ({preset})")
        return
    unit = result.get("unit", "token")
    for split in ("valid", "test"):
        if split in result:
            ppl = f" (perplexity {result[split]['ppl']:.2f})" if unit == "token" else ""
            typer.echo(f"{split}: {result[split]['loss']:.4f} nats/{unit}{ppl}")
    typer.echo(f"model: {result['model_dir']}  (steps {result['step']}{', stopped early' if result['stopped_early'] else ''})")
