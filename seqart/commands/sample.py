"""``seqart sample``: melodies from a trained model, written as MIDI or MusicXML."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded


@guarded
def sample_command(
    model: Annotated[str, typer.Argument(help="Shipped model name or model/run folder.")] = "folk",
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (with --num N: out-1.mid ...).")] = Path("melody.mid"),
    num: Annotated[int, typer.Option("--num", "-n", help="How many melodies.")] = 1,
    bars: Annotated[int, typer.Option(help="Bars to generate (after the primer).")] = 16,
    steps: Annotated[Optional[int], typer.Option(help="Frames to generate (frame models; overrides --bars).")] = None,
    temperature: Annotated[float, typer.Option("--temperature", "-t", help="> 0; lower is safer.")] = 1.0,
    top_k: Annotated[Optional[int], typer.Option("--top-k", help="Sample among the k likeliest tokens.")] = None,
    top_p: Annotated[Optional[float], typer.Option("--top-p", help="Nucleus sampling threshold (0-1].")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Same seed and options -> same output.")] = None,
    primer: Annotated[Optional[Path], typer.Option(help="MIDI, MusicXML or ABC to continue.")] = None,
    key: Annotated[Optional[str], typer.Option(help="Key to stay in, e.g. 'D minor', 'Bb'.")] = None,
    scale: Annotated[Optional[str], typer.Option(help="major, natural-minor, harmonic-minor, dorian, mixolydian, pentatonic, blues, ...")] = None,
    pitch_range: Annotated[Optional[str], typer.Option("--range", help="Pitch range LOW-HIGH, e.g. 60-84 or G3-C6.")] = None,
    time_signature: Annotated[Optional[str], typer.Option("--time-signature", help="e.g. 6/8 (default: primer's or 4/4).")] = None,
    tempo: Annotated[Optional[float], typer.Option(help="Tempo in bpm (default: primer's or 120).")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="mid or musicxml (default: from the extension).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")] = False,
) -> None:
    """Generate melodies (or piano rolls, with a frame model) with a trained model (default: 'folk')."""
    from seqart.generate import load_generator
    from seqart.utils.paths import output_paths

    paths = output_paths(out, num, fmt, overwrite=force)
    generator = load_generator(model)
    scores = generator.sample(num=num, bars=bars, steps=steps, temperature=temperature, top_k=top_k, top_p=top_p,
                              seed=seed, key=key, scale=scale, pitch_range=pitch_range,
                              time_signature=time_signature, tempo=tempo, primer=primer)
    for score, path in zip(scores, paths):
        written = score.write(path, format=fmt)
        typer.echo(f"wrote {written} ({score.num_notes} notes, {len(score.bar_starts())} bars)")
    typer.echo(f"seed {generator.last_seed}", err=True)
