"""``seqart render``, ``seqart transcribe``, ``seqart plot``: hear a score, write down a
recording, see a piano roll. librosa, soundfile and matplotlib load inside the
command bodies; torch never loads."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded

Force = Annotated[bool, typer.Option("--force", help="Overwrite an existing output file.")]


@guarded
def render_command(
    score: Annotated[Path, typer.Argument(help="MIDI, MusicXML or ABC file.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output .wav or .flac (default: IN.wav).")] = None,
    engine: Annotated[str, typer.Option(help="auto, fluidsynth or builtin.")] = "auto",
    soundfont: Annotated[Optional[Path], typer.Option(help="An .sf2 soundfont for FluidSynth.")] = None,
    force: Force = False,
) -> None:
    """Render a score to audio: FluidSynth when installed, else the built-in synthesizer."""
    from seqart.audio.render import render

    written = render(score, out or score.with_suffix(".wav"), soundfont=soundfont, engine=engine, overwrite=force)
    typer.echo(f"wrote {written}")


@guarded
def transcribe_command(
    audio: Annotated[Path, typer.Argument(help="Recording of one voice or instrument (.wav, .flac, .mp3).")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output .mid/.musicxml (default: IN.mid).")] = None,
    steps_per_beat: Annotated[int, typer.Option("--steps-per-beat", help="Quantisation grid (4 = sixteenths).")] = 4,
    tempo: Annotated[Optional[float], typer.Option(help="The recording's tempo in bpm (default: estimated).")] = None,
    force: Force = False,
) -> None:
    """Transcribe a monophonic recording into a melody (usable as a --primer)."""
    from seqart.audio.transcribe import transcribe
    from seqart.utils.paths import output_paths

    path = output_paths(out or audio.with_suffix(".mid"), 1, overwrite=force)[0]
    score = transcribe(audio, steps_per_beat=steps_per_beat, tempo=tempo)
    written = score.write(path)
    typer.echo(f"wrote {written} ({score.num_notes} notes, {score.tempos[0].bpm:g} bpm)")


@guarded
def plot_command(
    score: Annotated[Path, typer.Argument(help="MIDI, MusicXML or ABC file.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output .png (default: IN.png).")] = None,
    title: Annotated[Optional[str], typer.Option(help="Picture title (default: the file name).")] = None,
    force: Force = False,
) -> None:
    """Draw a score as a piano roll."""
    from seqart.plot import plot_pianoroll

    written = plot_pianoroll(score, out or score.with_suffix(".png"), title=title, overwrite=force)
    typer.echo(f"wrote {written}")
