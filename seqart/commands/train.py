"""``seqart train``: a preset on a built corpus, into a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded


@guarded
def train_command(
    ctx: typer.Context,
    preset: Annotated[str, typer.Argument(help="Preset name: melody-lstm, melody-lstm-tiny, ...")],
    data: Annotated[Path, typer.Option("--data", "-d", help="Corpus folder from 'seqart corpus build' (image presets: an image folder, mnist or digits).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder to create (or resume).")],
    steps: Annotated[Optional[int], typer.Option(help="Optimizer steps (overrides the preset).")] = None,
    set_: Annotated[Optional[List[str]], typer.Option("--set", help="Override a setting: key=value (repeatable).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint (or start it if it has none yet).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Run one batch of everything; write nothing.")] = False,
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, cuda:1, mps (default: best available).")] = None,
    nproc: Annotated[int, typer.Option("--nproc", help="Processes on this machine (data-parallel via torchrun; GPUs: one each).")] = 1,
    from_: Annotated[Optional[str], typer.Option("--from", help="Fine-tune this model (shipped name or model folder); --data may then be a folder of music files.")] = None,
) -> None:
    """Train a model preset on a corpus folder; the best weights land in OUT/model."""
    from seqart.train.api import train

    if from_ is not None:  # check M; a music folder is built into OUT/corpus with M's tokenizer, report first
        from seqart.train.finetune import data_report_lines, fine_tune_data

        prepared = ctx.with_resource(fine_tune_data(from_, preset, data, out, dry_run=dry_run, resume=resume))
        for line in data_report_lines(prepared):
            typer.echo(line)
        data = prepared.corpus
    if nproc != 1:
        from seqart.train.launch import launch_torchrun

        args = [preset, "--data", str(data), "--out", str(out)] + (["--steps", str(steps)] if steps is not None else [])
        args += [a for kv in (set_ or []) for a in ("--set", kv)] + (["--resume"] if resume else [])
        args += (["--dry-run"] if dry_run else []) + (["--device", device] if device else [])
        args += ["--from", from_] if from_ is not None else []
        raise typer.Exit(launch_torchrun(nproc, ["train", *args]))

    overrides = list(set_ or []) + ([f"device={device}"] if device else [])
    try:
        result = train(preset, data, out, steps=steps, overrides=overrides, resume=resume, dry_run=dry_run,
                       init_from=from_, notify=lambda line: typer.echo(line, err=True))
    except KeyboardInterrupt:
        again = f" --from {from_}" if from_ is not None else ""
        typer.echo(f"interrupted: checkpoint saved; resume with: seqart train {preset} --data {data} -o {out}{again} --resume", err=True)
        raise typer.Exit(130) from None
    if dry_run:
        typer.echo(f"dry run ok: one batch trained, validated, checkpointed and evaluated ({preset})")
        return
    unit = result.get("unit", "token")
    for split in ("valid", "test"):
        if split in result:
            typer.echo(f"{split}: {_figures(result[split], unit)}")
    typer.echo(f"model: {result['model_dir']}  (steps {result['step']}{', stopped early' if result['stopped_early'] else ''})")


def _figures(figures: dict, unit: str) -> str:
    """One line of held-out figures: NLL per item, plus what the model reports besides."""
    if "d_accuracy" in figures:  # a GAN: its valid figures are the discriminator's, not a likelihood
        return (f"D loss {figures['d']:.4f}, G loss {figures['g']:.4f} nats/{unit}; "
                f"D accuracy {figures['d_accuracy']:.3f} (real {figures['d_real_accuracy']:.3f}, "
                f"fake {figures['d_fake_accuracy']:.3f})")
    line = f"{figures['loss']:.4f} nats/{unit}"
    if unit == "token" and "ppl" in figures:
        line += f" (perplexity {figures['ppl']:.2f})"
    if "accuracy" in figures:
        line += f"; reconstruction {figures.get('recon', float('nan')):.4f} nats/{unit}, accuracy {figures['accuracy']:.3f}"
    return line
