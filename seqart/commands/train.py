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
    from seqart.train.config import parse_settings
    from seqart.train.distributed import context_from_env
    from seqart.workflows.train import train, train_in_processes

    if nproc != 1:
        raise typer.Exit(train_in_processes(nproc, _args_again(ctx), preset, data, out, init_from=from_, resume=resume,
                                            dry_run=dry_run, notify=typer.echo))
    settings = {**parse_settings(set_ or []), **({"device": device} if device else {})}
    try:
        result = train(preset, data, out, steps=steps, settings=settings, resume=resume, dry_run=dry_run,
                       init_from=from_, notify=lambda line: typer.echo(line, err=True))
    except KeyboardInterrupt:
        again = " ".join(_args_again(ctx, resume=True))
        typer.echo(f"interrupted: checkpoint saved; resume with: seqart train {again}", err=True)
        raise typer.Exit(130) from None
    for line in _summary(result, preset):
        typer.echo(line)
    if context_from_env().enabled:
        _leave_worker()


def _leave_worker() -> None:
    """End a torchrun worker whose run is done, skipping the interpreter's teardown.

    DDP's C++ reducer keeps the gloo process group, and its three threads, alive after
    ``destroy_process_group`` (torch 2.13: they are still running at exit even once the
    DDP wrapper and the model are gone). Tearing the interpreter down around them now and
    then aborts the process ("terminate called without an active exception", SIGABRT),
    and torchrun then reports a finished run as failed. Every file is written and closed
    by now; the streams are flushed here.
    """
    import os
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _args_again(ctx: typer.Context, resume: bool = False) -> list[str]:
    """This command's arguments, to run it again (under torchrun, or to resume), without --nproc."""
    p = ctx.params
    args = [p["preset"], "--data", str(p["data"]), "--out", str(p["out"])]
    args += ["--steps", str(p["steps"])] if p["steps"] is not None else []
    args += [a for kv in (p["set_"] or []) for a in ("--set", kv)]
    args += ["--resume"] if p["resume"] or resume else []
    args += ["--dry-run"] if p["dry_run"] else []
    args += ["--device", p["device"]] if p["device"] else []
    return args + (["--from", p["from_"]] if p["from_"] is not None else [])


def _summary(result: dict, preset: str) -> list[str]:
    if result.get("dry_run"):
        return [f"dry run ok: one batch trained, validated, checkpointed and evaluated ({preset})"]
    unit = result.get("unit", "token")
    lines = [f"{split}: {_figures(result[split], unit)}" for split in ("valid", "test") if split in result]
    stopped = ", stopped early" if result["stopped_early"] else ""
    return lines + [f"model: {result['model_dir']}  (steps {result['step']}{stopped})"]


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
