"""``seqart accompany`` (keep a melody, write the other parts) and ``seqart infill`` (write
some bars again) with an events model trained in tracks order."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded

DEFAULT_ACCOMPANIST = "folk-chords"  # seqart.workflows.accompany.DEFAULT_ACCOMPANIST, without importing it

# options both commands take
OutOpt = Annotated[str, typer.Option("--out", "-o", help="Output file (with --num N: out-1.mid ...), or a folder ending in '/'.")]
ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Shipped events model or model/run folder (trained with --set order=tracks).")]
TempOpt = Annotated[Optional[float], typer.Option("--temperature", "-t", help="> 0; lower is safer (default 1.0).")]
TopKOpt = Annotated[Optional[int], typer.Option("--top-k", help="Sample among the k likeliest tokens.")]
TopPOpt = Annotated[Optional[float], typer.Option("--top-p", help="Nucleus sampling threshold (0-1].")]
KeyOpt = Annotated[Optional[str], typer.Option(help="Hold the written notes to this key's scale, e.g. 'G', 'E minor'.")]
ScaleOpt = Annotated[Optional[str], typer.Option(help="major, natural-minor, dorian, mixolydian, ... (with --key).")]
RangeOpt = Annotated[Optional[str], typer.Option("--range", help="Pitch range of the written notes, e.g. 36-72.")]
SeedOpt = Annotated[Optional[int], typer.Option(help="Same seed and options -> same output.")]
FormatOpt = Annotated[Optional[str], typer.Option("--format", help="mid or musicxml (default: from the extension).")]
AudioOpt = Annotated[bool, typer.Option("--audio", help="Also write a .wav preview of each file.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")]


@guarded
def accompany_command(
    given: Annotated[Path, typer.Argument(help="Melody (or tracks) to keep: MIDI, MusicXML, ABC, or audio to transcribe.")],
    out: OutOpt = "song.mid",
    model: ModelOpt = DEFAULT_ACCOMPANIST,
    num: Annotated[int, typer.Option("--num", "-n", help="How many accompaniments.")] = 1,
    track: Annotated[Optional[List[int]], typer.Option("--track", help="Track of the file to keep, from 1 (repeatable; default: all).")] = None,
    as_program: Annotated[Optional[List[int]], typer.Option("--as", help="Model program each kept track is read as (repeatable; default: the model's first instruments).")] = None,
    temperature: TempOpt = None,
    top_k: TopKOpt = None,
    top_p: TopPOpt = None,
    key: KeyOpt = None,
    scale: ScaleOpt = None,
    pitch_range: RangeOpt = None,
    part_range: Annotated[Optional[List[str]], typer.Option("--part-range", help="One part's range, PROGRAM=LOW-HIGH, e.g. 24=C3-C5 (repeatable).")] = None,
    above: Annotated[bool, typer.Option("--above", help="Let written notes go above the given ones (default: they stay under the melody).")] = False,
    no_parallels: Annotated[bool, typer.Option("--no-parallels", help="No parallel fifths or octaves between voices (four-part writing, e.g. chorales).")] = False,
    seed: SeedOpt = None,
    fmt: FormatOpt = None,
    audio: AudioOpt = False,
    force: ForceOpt = False,
) -> None:
    """Accompany a melody: its notes stay as they are, the model writes the other parts (chords for a
    tune with the default model; alto, tenor and bass for a soprano with a chorale model)."""
    from seqart.workflows.accompany import accompany_to_files

    result = accompany_to_files(given, out, model, num, fmt=fmt, force=force, audio=audio, seed=seed,
                                temperature=temperature, top_k=top_k, top_p=top_p, key=key, scale=scale,
                                pitch_range=pitch_range, tracks=track or None, as_programs=as_program or None,
                                ranges=_part_ranges(part_range), below=not above, parallels=not no_parallels)
    _report(result)


@guarded
def infill_command(
    piece: Annotated[Path, typer.Argument(help="The piece: MIDI, MusicXML or ABC.")],
    bars: Annotated[str, typer.Option("--bars", "-b", help="Bars to write again, from 1: 5-8, or one bar: 5.")],
    out: OutOpt = "infilled.mid",
    model: ModelOpt = DEFAULT_ACCOMPANIST,
    track: Annotated[Optional[int], typer.Option("--track", help="Write only this track, from 1 (default: every track).")] = None,
    num: Annotated[int, typer.Option("--num", "-n", help="How many versions.")] = 1,
    candidates: Annotated[int, typer.Option(help="Spans written per version; the one that fits what follows best is likeliest to be kept.")] = 8,
    temperature: TempOpt = None,
    top_k: TopKOpt = None,
    top_p: TopPOpt = None,
    key: KeyOpt = None,
    scale: ScaleOpt = None,
    pitch_range: RangeOpt = None,
    seed: SeedOpt = None,
    fmt: FormatOpt = None,
    audio: AudioOpt = False,
    force: ForceOpt = False,
) -> None:
    """Write some bars of a piece again (of one track, or all), to fit what comes before and after;
    every note outside them stays as it is."""
    from seqart.workflows.accompany import infill_to_files

    result = infill_to_files(piece, out, bars, model, num, fmt=fmt, force=force, audio=audio, track=track,
                             candidates=candidates, seed=seed, temperature=temperature, top_k=top_k, top_p=top_p,
                             key=key, scale=scale, pitch_range=pitch_range)
    _report(result)


def _report(result) -> None:
    for path, score in result.written:
        typer.echo(f"wrote {path} ({len(score.tracks)} tracks, {score.num_notes} notes)")
    for path in result.audio:
        typer.echo(f"wrote {path}")
    typer.echo(f"seed {result.seed}", err=True)


def _part_ranges(items: Optional[List[str]]) -> Optional[dict]:
    """``["24=36-60"]`` -> ``{24: "36-60"}`` (the range is parsed where it is used)."""
    if not items:
        return None
    from seqart.errors import SeqartError

    out = {}
    for item in items:
        program, _, text = item.partition("=")
        if not program.strip().isdigit() or not text:
            raise SeqartError(f"--part-range takes PROGRAM=LOW-HIGH (e.g. 24=36-60), got {item!r}")
        out[int(program)] = text.strip()
    return out
