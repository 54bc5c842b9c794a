"""``seqart interpolate``, ``seqart vary`` and ``seqart shift``: a melody VAE's latent space."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded

DEFAULT_VAE = "folk-vae-2bar"  # seqart.workflows.latent.DEFAULT_VAE, without importing it for --help

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Shipped music-vae name or model/run folder.")]
TempOpt = Annotated[float, typer.Option("--temperature", "-t", help="0 = likeliest steps; > 0 samples.")]
SeedOpt = Annotated[Optional[int], typer.Option(help="Seed for noise and sampling.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")]


def _report(written) -> None:
    for path, score in written:
        typer.echo(f"wrote {path} ({score.num_notes} notes)")


@guarded
def interpolate_command(
    a: Annotated[Path, typer.Argument(help="First melody (MIDI, MusicXML, ABC, or audio to transcribe).")],
    b: Annotated[Path, typer.Argument(help="Last melody.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for 01.mid ... NN.mid.")],
    model: ModelOpt = DEFAULT_VAE,
    steps: Annotated[int, typer.Option(help="Melodies from A to B, both ends included (>= 2).")] = 8,
    temperature: TempOpt = 0.0,
    seed: SeedOpt = None,
    force: ForceOpt = False,
) -> None:
    """Blend two melodies: STEPS melodies moving from A to B through the model's latent space."""
    from seqart.workflows.latent import interpolate_to_files

    _report(interpolate_to_files(a, b, out, model, steps=steps, temperature=temperature, seed=seed, force=force))


@guarded
def vary_command(
    melody: Annotated[Path, typer.Argument(help="The melody to vary.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for 01.mid ... NN.mid.")],
    model: ModelOpt = DEFAULT_VAE,
    amount: Annotated[float, typer.Option(help="How far to move (latent noise std; 0.1 subtle, 1 free).")] = 0.3,
    num: Annotated[int, typer.Option("--num", "-n", help="How many variations.")] = 8,
    temperature: TempOpt = 0.0,
    seed: SeedOpt = None,
    force: ForceOpt = False,
) -> None:
    """Variations on a melody: its latent code moved at random by AMOUNT."""
    from seqart.workflows.latent import vary_to_files

    _report(vary_to_files(melody, out, model, amount=amount, num=num, temperature=temperature, seed=seed,
                          force=force))


@guarded
def shift_command(
    melody: Annotated[Path, typer.Argument(help="The melody to change.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output MIDI or MusicXML file.")],
    attribute: Annotated[str, typer.Option("--attribute", "-a", help="density, range, register, syncopation or stepwise.")],
    model: ModelOpt = DEFAULT_VAE,
    amount: Annotated[float, typer.Option(help="How far along the attribute (1 = low quarter -> high quarter; < 0 lowers).")] = 1.0,
    temperature: TempOpt = 0.0,
    seed: SeedOpt = None,
    force: ForceOpt = False,
) -> None:
    """Push a melody along a musical attribute (e.g. more notes: --attribute density --amount 1)."""
    from seqart.workflows.latent import shift_to_file

    _report(shift_to_file(melody, out, attribute, model, amount=amount, temperature=temperature, seed=seed,
                          force=force))
