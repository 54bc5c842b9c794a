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
    out: Annotated[str, typer.Option("--out", "-o", help="Output file (with --num N: out-1.mid ...), or a folder ending in '/'.")] = "melody.mid",
    num: Annotated[int, typer.Option("--num", "-n", help="How many melodies.")] = 1,
    bars: Annotated[int, typer.Option(help="Bars to generate (after the primer).")] = 16,
    steps: Annotated[Optional[int], typer.Option(help="Frames to generate (frame models; overrides --bars).")] = None,
    temperature: Annotated[float, typer.Option("--temperature", "-t", help="> 0; lower is safer.")] = 1.0,
    top_k: Annotated[Optional[int], typer.Option("--top-k", help="Sample among the k likeliest tokens.")] = None,
    top_p: Annotated[Optional[float], typer.Option("--top-p", help="Nucleus sampling threshold (0-1].")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Same seed and options -> same output.")] = None,
    primer: Annotated[Optional[Path], typer.Option(help="MIDI, MusicXML, ABC or audio (transcribed) to continue.")] = None,
    key: Annotated[Optional[str], typer.Option(help="Key to stay in, e.g. 'D minor', 'Bb'.")] = None,
    scale: Annotated[Optional[str], typer.Option(help="major, natural-minor, harmonic-minor, dorian, mixolydian, pentatonic, blues, ...")] = None,
    pitch_range: Annotated[Optional[str], typer.Option("--range", help="Pitch range LOW-HIGH, e.g. 60-84 or G3-C6.")] = None,
    time_signature: Annotated[Optional[str], typer.Option("--time-signature", help="e.g. 6/8 (default: primer's or 4/4).")] = None,
    tempo: Annotated[Optional[float], typer.Option(help="Tempo in bpm (default: primer's or 120).")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="mid or musicxml (default: from the extension).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")] = False,
    keep: Annotated[Optional[int], typer.Option(help="Write only the K of --num whose metrics best match --reference.")] = None,
    reference: Annotated[Optional[str], typer.Option(help="Built corpus folder or music folder that --keep matches.")] = None,
    audio: Annotated[bool, typer.Option("--audio", help="Also write a .wav preview of each file.")] = False,
) -> None:
    """Generate melodies (or piano rolls, with a frame model) with a trained model (default: 'folk').
    An image model writes a grid (-o grid.png) or single PNGs (-o FOLDER)."""
    from seqart.generate.images import is_image_model
    from seqart.generate.to_files import sample_to_files

    if is_image_model(model):
        from seqart.commands.images import sample_images

        return sample_images(model, Path(out), num, seed, force, bars=bars, steps=steps, temperature=temperature,
                             top_k=top_k, top_p=top_p, primer=primer, key=key, scale=scale, pitch_range=pitch_range,
                             time_signature=time_signature, tempo=tempo, fmt=fmt, keep=keep, reference=reference,
                             audio=audio)
    result = sample_to_files(model, out, num=num, fmt=fmt, force=force, keep=keep, reference=reference, audio=audio,
                             bars=bars, steps=steps, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
                             key=key, scale=scale, pitch_range=pitch_range, time_signature=time_signature,
                             tempo=tempo, primer=primer)
    for w in result.written:
        distance = "" if w.distance is None else f", distance {w.distance:.2f} sd from the reference"
        typer.echo(f"wrote {w.path} ({w.score.num_notes} notes, {len(w.score.bar_starts())} bars{distance})")
        if w.audio is not None:
            typer.echo(f"wrote {w.audio}")
    if result.warning:
        typer.echo(result.warning, err=True)
    typer.echo(f"seed {result.seed}", err=True)
