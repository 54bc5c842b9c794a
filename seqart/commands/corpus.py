"""``seqart corpus``: list the built-in corpora, build a training corpus from a source.

``seqart corpus build NAME`` builds a built-in corpus as its recipe says, into
``corpora/built/NAME`` unless ``-o`` says otherwise.

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
    """List the built-in corpora with their tune counts, default representation and split."""
    from rich.console import Console
    from rich.table import Table

    from seqart.corpora import BUILTINS, list_builtins

    table = Table("name", "tunes", "representation", "valid / test", "styles (built)", "description")
    for name, tunes, description in list_builtins():
        recipe = BUILTINS[name].recipe
        table.add_row(name, f"{tunes:,}", recipe.representation, recipe.split_text, _styles_of(name), description)
    out = Console()
    out.print(table)
    out.print("SOURCE may also be a folder of MIDI/MusicXML/ABC files, one music file, "
              "or a polyphonic benchmark .mat file (JSB_Chorales.mat ... with --representation pianoroll, or events: Nottingham.mat as melody and chords, the others as piano).")


def _styles_of(name: str) -> str:
    """``reel 1,210 · jig 640 ...`` of the corpus built at its default folder, or a dash."""
    from seqart.corpora import CorpusDataset
    from seqart.errors import SeqartError

    folder = Path("corpora") / "built" / name
    if not (folder / "manifest.json").is_file():
        return "-"
    try:
        counts = CorpusDataset.open(folder).style_counts()
    except SeqartError:
        return "-"
    return " · ".join(f"{style or 'other'} {n:,}" for style, n in counts.items()) or "-"


Representation = Annotated[
    Optional[str],
    typer.Option("--representation", "-r",
                 help="melody, events or pianoroll (default: the built-in corpus's recipe, else melody)."),
]
Workers = Annotated[Optional[int], typer.Option(help="Parser processes (default: all cores).")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Parse everything again; neither read nor write the cache.")]
Limit = Annotated[Optional[int], typer.Option(help="Use only the first N tunes/files (for a quick try).")]
TimeLimit = Annotated[
    float, typer.Option("--time-limit", help="Seconds one file or tune may take to parse before it is skipped (0: none).")
]
ShardItems = Annotated[
    Optional[int],
    typer.Option("--shard-items",
                 help="Most tokens (or frames) per data file (default: 16,777,216 tokens or 1 GiB of frames)."),
]
Resume = Annotated[
    bool,
    typer.Option("--resume/--no-resume",
                 help="Carry on from an interrupted build of the same source and settings into OUT (default), "
                      "or start afresh."),
]
ExpandRepeats = Annotated[
    bool,
    typer.Option("--expand-repeats", help="Play repeats of MusicXML and ABC tunes out (default: read as written)."),
]
Settings = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Tokenizer option KEY=VALUE (repeatable), e.g. steps_per_beat=2."),
]


@corpus_app.command("build")
@guarded
def build(
    source: Annotated[str, typer.Argument(help="Built-in corpus name, folder, music file or benchmark .mat file.")],
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Corpus folder to write (new, empty or an earlier corpus); "
                                         "default for a built-in corpus: corpora/built/NAME."),
    ] = None,
    representation: Representation = None,
    workers: Workers = None,
    no_cache: NoCache = False,
    limit: Limit = None,
    settings: Settings = None,
    time_limit: TimeLimit = 60.0,
    shard_items: ShardItems = None,
    resume: Resume = True,
    expand_repeats: ExpandRepeats = False,
) -> None:
    """Parse, encode, dedupe and split SOURCE into a corpus folder for training.

    The build streams into data shards in a staging folder next to OUT and renames it
    into place at the end; if it is interrupted (Ctrl-C, a kill), the same command
    carries on where it stopped.

    A built-in corpus NAME is built as its recipe seqart/corpora/recipes/NAME.json says.
    """
    from seqart.corpora import build_corpus
    from seqart.train.config import parse_settings

    try:
        r = build_corpus(source, out, representation=representation, tokenizer_config=parse_settings(settings or []),
                         workers=workers, use_cache=not no_cache, progress=True, limit=limit, time_limit=time_limit,
                         shard_items=shard_items, resume=resume, expand_repeats=expand_repeats)
    except KeyboardInterrupt:
        typer.echo("build interrupted: run the same command again to carry on from where it stopped", err=True)
        raise
    for line in _report(r):
        typer.echo(line)


def _report(r) -> list[str]:
    """A build report as lines: totals, the split, what was skipped and why."""
    unit = "tokens" if r.kind == "tokens" else "frames"
    resumed = f", {r.resumed_units:,} from the interrupted build" if r.resumed_units else ""
    lines = [f"{r.out_dir}: kept {r.kept:,} sequences of {r.scores:,} scores from {r.units:,} units "
             f"({r.duplicates:,} duplicates, {len(r.skipped):,} skipped) in {r.seconds:.1f} s "
             f"[{r.cache_hits:,} cached, {r.parsed:,} parsed{resumed}; {r.shards:,} data "
             f"file{'s' if r.shards != 1 else ''}]",
             "  " + ", ".join(f"{s} {r.sequences[s]:,} seq / {r.items[s]:,} {unit}" for s in r.sequences)]
    lines += [f"  skipped {n:,}: {reason}" for reason, n in r.skip_reasons()]
    if r.skipped:
        lines.append(f"  every skipped file and its reason: {r.manifest_path} (\"skipped\")")
    return lines
