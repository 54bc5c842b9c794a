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
    from seqart.generate import load_generator
    from seqart.generate.images import is_image_model
    from seqart.utils.paths import output_paths

    if is_image_model(model):
        from seqart.commands.images import sample_images

        return sample_images(model, out, num, seed, force, bars=bars, steps=steps, temperature=temperature,
                             top_k=top_k, top_p=top_p, primer=primer, key=key, scale=scale, pitch_range=pitch_range,
                             time_signature=time_signature, tempo=tempo, fmt=fmt, keep=keep, reference=reference,
                             audio=audio)
    if keep is not None or reference is not None:
        from seqart.errors import SeqartError

        if keep is None or reference is None:
            raise SeqartError("--keep K and --reference DIR go together (keep the K of --num closest to DIR)")
        if not 1 <= keep <= num:
            raise SeqartError(f"--keep must be between 1 and --num ({num}), got {keep}")
    paths = output_paths(out, keep or num, fmt, overwrite=force)
    if audio:
        from seqart.audio.render import refuse_existing, render

        refuse_existing([p.with_suffix(".wav") for p in paths], overwrite=force)
    if reference is not None:
        from seqart.evaluate import ReferenceStats, load_reference, select_best

        stats = ReferenceStats.from_scores(load_reference(reference).metric_scores)
    generator = load_generator(model)
    scores = generator.sample(num=num, bars=bars, steps=steps, temperature=temperature, top_k=top_k, top_p=top_p,
                              seed=seed, key=key, scale=scale, pitch_range=pitch_range,
                              time_signature=time_signature, tempo=tempo, primer=primer)
    distance = {}
    if keep is not None:
        ranked = select_best(scores, stats, keep)
        scores = [score for score, _ in ranked]
        distance = {path: d for path, (_, d) in zip(paths, ranked)}
    for score, path in zip(scores, paths):
        written = score.write(path, format=fmt)
        typer.echo(f"wrote {written} ({score.num_notes} notes, {len(score.bar_starts())} bars"
                   + (f", distance {distance[path]:.2f} sd from the reference" if path in distance else "") + ")")
        if audio:
            typer.echo(f"wrote {render(score, written.with_suffix('.wav'), overwrite=force)}")
    from seqart.feedback.store import record_generated  # for 'seqart rate' and 'seqart tune'

    warning = record_generated(model, paths[:len(scores)], seed=generator.last_seed, num=num, bars=bars, steps=steps,
                               temperature=temperature, top_k=top_k, top_p=top_p, key=key, scale=scale,
                               pitch_range=pitch_range, time_signature=time_signature, tempo=tempo, primer=primer)
    if warning:
        typer.echo(warning, err=True)
    typer.echo(f"seed {generator.last_seed}", err=True)
