"""``seqart studio``: the composer's loop (generate, see, hear, rate) in a local web page."""

from __future__ import annotations

from typing import List, Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded


@guarded
def studio_command(
    model: Annotated[Optional[List[str]], typer.Option("--model", "-m", help="Also offer this model or run folder (repeatable); shipped models and model folders in the current folder are offered anyway.")] = None,
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free one).")] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on; anything but 127.0.0.1/localhost/::1 is reachable from other machines.")] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Print the link only; do not open a browser.")] = False,
    no_record: Annotated[bool, typer.Option("--no-record", help="Do not record the takes in the models' feedback stores (the history then keeps this session's takes only until it ends); SEQART_NO_RECORD=1 does the same.")] = False,
) -> None:
    """Open the studio: generate takes, see and play them, download and rate them, in your browser.
    Served on this machine only, behind a per-launch token printed in the link; Ctrl-C stops it."""
    from seqart.studio.server import serve

    serve(model or (), host=host, port=port, open_browser=not no_browser, record=False if no_record else None,
          echo=lambda line: typer.echo(line, err=line.startswith("warning:")))
