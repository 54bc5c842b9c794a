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
    bars: Annotated[Optional[int], typer.Option(help="Bars to generate, after the primer (default 16).")] = None,
    steps: Annotated[Optional[int], typer.Option(help="Frames to generate (frame models; overrides --bars).")] = None,
    temperature: Annotated[Optional[float], typer.Option("--temperature", "-t", help="> 0; lower is safer (default: the model's; 'folk' 1.1, pitches 0.95).")] = None,
    pitch_temperature: Annotated[Optional[float], typer.Option("--pitch-temperature", help="> 0; the temperature of which note sounds, once one starts (melodies; default: --temperature, or with neither the model's).")] = None,
    top_k: Annotated[Optional[int], typer.Option("--top-k", help="Sample among the k likeliest tokens.")] = None,
    top_p: Annotated[Optional[float], typer.Option("--top-p", help="Nucleus sampling threshold (0-1].")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Same seed and options -> same output.")] = None,
    primer: Annotated[Optional[Path], typer.Option(help="MIDI, MusicXML, ABC or audio (transcribed) to continue.")] = None,
    expand_repeats: Annotated[bool, typer.Option("--expand-repeats", help="Read a MusicXML/ABC primer with its repeats played out.")] = False,
    grace_notes: Annotated[bool, typer.Option("--grace-notes", help="Keep a MusicXML/ABC primer's grace notes (1/8 beat each).")] = False,
    track: Annotated[Optional[int], typer.Option(help="The primer's track to continue, from 1 (default: the top voice of all).")] = None,
    key: Annotated[Optional[str], typer.Option(help="Key to stay in, e.g. 'D minor', 'Bb'.")] = None,
    scale: Annotated[Optional[str], typer.Option(help="major, natural-minor, harmonic-minor, dorian, mixolydian, pentatonic, blues, ...")] = None,
    pitch_range: Annotated[Optional[str], typer.Option("--range", help="Pitch range LOW-HIGH, e.g. 60-84 or G3-C6.")] = None,
    time_signature: Annotated[Optional[str], typer.Option("--time-signature", help="e.g. 6/8 (default: primer's or 4/4).")] = None,
    tempo: Annotated[Optional[float], typer.Option(help="Tempo in bpm (default: primer's or 120).")] = None,
    style: Annotated[Optional[str], typer.Option(help="Tune type: reel, jig, hornpipe, polka, air, song, ... (default: drawn as the training tunes are).")] = None,
    form: Annotated[Optional[str], typer.Option(help="Section letters, one per 8 bars, e.g. AABB (a repeated letter restates its section).")] = None,
    ending: Annotated[Optional[str], typer.Option(help="tonic (default): close on the tonic, held, on a strong beat; free: stop where it is.")] = None,
    pickup: Annotated[bool, typer.Option("--pickup", help="Let the melody open with a pickup (an upbeat before bar 1) where the model writes one; --bars counts the full bars after it.")] = False,
    fmt: Annotated[Optional[str], typer.Option("--format", help="mid or musicxml (default: from the extension).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")] = False,
    keep: Annotated[Optional[int], typer.Option(help="Write only the K of --num whose metrics best match --reference.")] = None,
    reference: Annotated[Optional[str], typer.Option(help="Built corpus folder or music folder that --keep matches.")] = None,
    audio: Annotated[bool, typer.Option("--audio", help="Also write a .wav preview of each file.")] = False,
    no_record: Annotated[bool, typer.Option("--no-record", help="Do not record the files in the model's feedback store (for seqart rate/tune); SEQART_NO_RECORD=1 does the same.")] = False,
) -> None:
    """Generate melodies (or piano rolls, with a frame model; melodies, with a VAE) with a trained
    model (default: 'folk'). An image model writes a grid (-o grid.png) or single PNGs (-o FOLDER)."""
    from seqart.workflows.sample import sample_to_files

    if primer is not None:
        primer = _read_primer(primer, expand_repeats, grace_notes)
    result = sample_to_files(model, out, num=num, fmt=fmt, force=force, keep=keep, reference=reference, audio=audio,
                             record=not no_record, bars=bars, steps=steps, temperature=temperature,
                             pitch_temperature=pitch_temperature, top_k=top_k,
                             top_p=top_p, seed=seed, key=key, scale=scale, pitch_range=pitch_range,
                             time_signature=time_signature, tempo=tempo, primer=primer, track=track, style=style,
                             form=form, ending=ending, pickup=pickup or None)
    for line in _report(result, out):
        typer.echo(line)
    if result.primer_note:
        typer.echo(result.primer_note, err=True)
    for note in (result.record_notice, result.warning):
        if note:
            typer.echo(note, err=True)
    typer.echo(f"seed {result.seed}", err=True)


def _read_primer(primer: Path, expand_repeats: bool, grace_notes: bool):
    """The primer read with the read options (a Score), or its path as given when
    no option is set or it is audio (transcribed later, where none applies)."""
    from seqart.audio import is_audio_path

    if not (expand_repeats or grace_notes) or is_audio_path(primer):
        return primer
    from seqart.io import read_score

    return read_score(primer, expand_repeats=expand_repeats, grace_notes=grace_notes)


def _report(result, out: str) -> list[str]:
    """One line per file written (one for a folder of images)."""
    w = result.written
    if result.image_size is not None:
        size = f"{result.image_size}x{result.image_size}"
        if Path(out).suffix.lower() == ".png":
            return [f"wrote {w[0].path} ({w[0].images} images of {size} in a grid)"]
        return [f"wrote {len(w)} images to {Path(out)}/ ({w[0].path.name} ... {w[-1].path.name})"]
    lines = []
    for f in w:
        distance = "" if f.distance is None else f", distance {f.distance:.2f} sd from the reference"
        lines.append(f"wrote {f.path} ({f.score.num_notes} notes, {len(f.score.bar_starts())} bars{distance})")
        if f.audio is not None:
            lines.append(f"wrote {f.audio}")
    return lines
