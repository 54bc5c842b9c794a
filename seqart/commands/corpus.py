"""``seqart corpus``: list the built-in corpora, build a training corpus from a source.

Only Typer is imported at module level; numpy, rich and music21 load inside the
commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from seqart.commands.common import guarded

corpus_app = typer.Typer(
    help="Built-in corpora, and building training corpora from folders, files or corpora.",
    no_args_is_help=True,
)


@corpus_app.command("list")
@guarded
def list_corpora() -> None:
    """List the built-in corpora with their tune counts."""
    from rich.console import Console
    from rich.table import Table

    from seqart.corpora import list_builtins

    table = Table("name", "tunes", "description")
    for name, tunes, description in list_builtins():
        table.add_row(name, f"{tunes:,}", description)
    out = Console()
    out.print(table)
    out.print("SOURCE may also be a folder of MIDI/MusicXML/ABC files, one music file, "
              "or a polyphonic benchmark .mat file (e.g. JSB_Chorales.mat, with --representation pianoroll).")


@corpus_app.command("build")
@guarded
def build(
    source: Annotated[str, typer.Argument(help="Built-in corpus name, folder, music file or benchmark .mat file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Corpus folder to write (new, empty or an earlier corpus).")],
    representation: Annotated[str, typer.Option("--representation", "-r", help="melody, events or pianoroll.")] = "melody",
    workers: Annotated[Optional[int], typer.Option(help="Parser processes (default: all cores).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Parse everything again; neither read nor write the parse cache.")] = False,
    limit: Annotated[Optional[int], typer.Option(help="Use only the first N tunes/files (for a quick try).")] = None,
    settings: Annotated[Optional[list[str]], typer.Option("--set", help="Tokenizer option KEY=VALUE (repeatable), e.g. steps_per_beat=2.")] = None,
) -> None:
    """Parse, encode, dedupe and split SOURCE into a corpus folder for training."""
    from seqart.corpora import build_corpus

    report = build_corpus(source, out, representation=representation, tokenizer_config=parse_settings(settings or []),
                          workers=workers, use_cache=not no_cache, progress=True, limit=limit)
    unit = "tokens" if report.kind == "tokens" else "frames"
    typer.echo(f"{report.out_dir}: kept {report.kept:,} sequences of {report.scores:,} scores from {report.units:,} units "
               f"({report.duplicates:,} duplicates, {len(report.skipped):,} skipped) in {report.seconds:.1f} s "
               f"[{report.cache_hits:,} cached, {report.parsed:,} parsed]")
    typer.echo("  " + ", ".join(f"{s} {report.sequences[s]:,} seq / {report.items[s]:,} {unit}" for s in report.sequences))
    for reason, n in report.skip_reasons():
        typer.echo(f"  skipped {n:,}: {reason}")
    if report.skipped:
        typer.echo(f"  every skipped file and its reason: {report.manifest_path} (\"skipped\")")


def parse_settings(settings: list[str]) -> dict:
    """``["steps_per_beat=2", "min_pitch=48"]`` -> ``{"steps_per_beat": 2, "min_pitch": 48}``.

    Values are read as JSON when they parse (numbers, true/false, lists), else kept as text.

    Raises:
        TokenizerError: for an item without ``=``.
    """
    import json

    from seqart.errors import TokenizerError

    config = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TokenizerError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            config[key.strip()] = json.loads(value)
        except ValueError:
            config[key.strip()] = value
    return config
