"""The ``seqart`` command line: a thin Typer layer over the Python API.

Only Typer is imported here; each command imports what it needs (torch, music21,
...) inside its body so ``seqart --help`` stays instant.
"""

from __future__ import annotations

import sys

import typer

#: the settings of the ``seqart`` app (and of the one-command app :func:`run` builds)
APP_SETTINGS = dict(
    name="seqart",
    help="Train and use generative music sequence models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

app = typer.Typer(**APP_SETTINGS)


@app.callback()
def main() -> None:
    """seqart: data in (MIDI, MusicXML, ABC, built-in corpora) -> train -> sample."""


@app.command()
def version() -> None:
    """Print the seqart version."""
    from seqart import __version__

    typer.echo(__version__)


# Commands live in seqart/commands/, one module per group; each imports its heavy
# libraries inside its body, so importing them here stays cheap.
from seqart.commands.accompany import accompany_command, infill_command  # noqa: E402
from seqart.commands.audio import plot_command, render_command, transcribe_command  # noqa: E402
from seqart.commands.bench import bench_app  # noqa: E402
from seqart.commands.corpus import corpus_app  # noqa: E402
from seqart.commands.evaluate import evaluate_command  # noqa: E402
from seqart.commands.export import export_command  # noqa: E402
from seqart.commands.feedback import RATE_CONTEXT, rate_command, tune_command  # noqa: E402
from seqart.commands.images import evaluate_images_command, walk_command  # noqa: E402
from seqart.commands.latent import interpolate_command, shift_command, vary_command  # noqa: E402
from seqart.commands.presets import presets_command  # noqa: E402
from seqart.commands.prune import prune_command  # noqa: E402
from seqart.commands.sample import sample_command  # noqa: E402
from seqart.commands.store import store_app  # noqa: E402
from seqart.commands.studio import studio_command  # noqa: E402
from seqart.commands.train import train_command  # noqa: E402

app.add_typer(corpus_app, name="corpus")
app.add_typer(bench_app, name="bench")
app.add_typer(store_app, name="store")
#: top-level commands: name -> (function, extra settings for ``app.command``)
COMMANDS = {name: (command, {}) for name, command in [
    ("train", train_command), ("sample", sample_command), ("accompany", accompany_command), ("infill", infill_command),
    ("export", export_command),
    ("evaluate", evaluate_command), ("interpolate", interpolate_command), ("vary", vary_command),
    ("shift", shift_command), ("render", render_command), ("transcribe", transcribe_command),
    ("plot", plot_command), ("walk", walk_command), ("evaluate-images", evaluate_images_command),
    ("tune", tune_command), ("presets", presets_command), ("studio", studio_command), ("prune", prune_command),
]}
COMMANDS["rate"] = (rate_command, {"context_settings": RATE_CONTEXT})
for _name, (_command, _settings) in COMMANDS.items():
    app.command(_name, **_settings)(_command)


def run() -> None:
    """The ``seqart`` script. ``seqart NAME ...`` for a top-level command builds an app
    holding that command alone (help, options and errors are the same): Typer inspects
    every command's signature to build the whole app, about 50 ms that ``seqart sample``
    would spend on commands it does not run. Anything else (``--help``, a group such as
    ``corpus``, a misspelt name) goes to :data:`app`."""
    name = sys.argv[1] if len(sys.argv) > 1 else None
    if name not in COMMANDS:
        app(prog_name="seqart")
        return
    one = typer.Typer(**APP_SETTINGS)
    one.callback()(main)
    command, settings = COMMANDS[name]
    one.command(name, **settings)(command)
    one(prog_name="seqart")
