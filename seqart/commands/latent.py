"""``seqart interpolate``, ``seqart vary`` and ``seqart shift``: a melody VAE's latent space."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded
from seqart.utils.paths import numbered_paths

DEFAULT_VAE = "folk-vae-2bar"

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Shipped music-vae name or model/run folder.")]
TempOpt = Annotated[float, typer.Option("--temperature", "-t", help="0 = likeliest steps; > 0 samples.")]
SeedOpt = Annotated[Optional[int], typer.Option(help="Seed for noise and sampling.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")]


def _write_all(scores, paths) -> None:
    """Write each score (the folder is made only now, once everything has worked)."""
    for score, path in zip(scores, paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        typer.echo(f"wrote {score.write(path)} ({score.num_notes} notes)")


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
    from seqart.audio import read_score_or_audio as read
    from seqart.generate.latent import MelodyVAE

    paths = numbered_paths(out, steps, ".mid", overwrite=force) if steps >= 2 else None
    vae = MelodyVAE.load(model)
    scores = vae.interpolate(read(a), read(b), steps=steps, temperature=temperature, seed=seed)
    _write_all(scores, paths)


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
    from seqart.audio import read_score_or_audio as read
    from seqart.generate.latent import MelodyVAE

    paths = numbered_paths(out, num, ".mid", overwrite=force) if num >= 1 else None
    vae = MelodyVAE.load(model)
    _write_all(vae.vary(read(melody), amount=amount, num=num, temperature=temperature, seed=seed), paths)


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
    from seqart.audio import read_score_or_audio as read
    from seqart.generate.latent import MelodyVAE
    from seqart.models.attributes import attribute_name
    from seqart.utils.paths import output_paths

    attribute_name(attribute)
    path = output_paths(out, 1, overwrite=force)[0]
    vae = MelodyVAE.load(model)
    _write_all([vae.shift(read(melody), attribute, amount=amount, temperature=temperature, seed=seed)], [path])
