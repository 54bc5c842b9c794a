"""``seqart export``: copy a trained model folder, e.g. into a package, optionally halved."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded


@guarded
def export_command(
    model: Annotated[str, typer.Argument(help="Model folder, run folder or shipped name.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write.")],
    half: Annotated[bool, typer.Option("--half", help="Store float16 weights (half the size).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing folder.")] = False,
    temperature: Annotated[Optional[float], typer.Option("--temperature", help="Record the copy's default sampling temperature (melody models).")] = None,
    pitch_temperature: Annotated[Optional[float], typer.Option("--pitch-temperature", help="Record the copy's default temperature of which note sounds (melody models).")] = None,
) -> None:
    """Copy a model folder (config, weights, tokenizer, figures), optionally with float16 weights."""
    from seqart.models.folder import WEIGHTS, export_model_folder

    sampling = {name: value for name, value in (("temperature", temperature), ("pitch_temperature", pitch_temperature))
                if value is not None}
    target = export_model_folder(model, out, half=half, overwrite=force, sampling=sampling)
    size = (target / WEIGHTS).stat().st_size / 1e6
    typer.echo(f"wrote {target} ({size:.1f} MB of weights{', float16' if half else ''})")
