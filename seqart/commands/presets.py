"""``seqart presets``: every registered model family, its presets and the shipped models."""

from __future__ import annotations

from seqart.commands.common import guarded


@guarded
def presets_command() -> None:
    """List the model families, their presets (what 'seqart train PRESET' takes) and the shipped models."""
    from rich.console import Console

    from seqart.models.loading import catalogue

    families, shipped = catalogue()
    out = Console()
    out = Console(width=max(out.width, 120))
    out.print(_table(("family", "model type", "preset", "description"), families))
    out.print(_table(("shipped model", "model type", "held-out figures"), shipped))


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]):
    """A rich table; a first column repeating the row above is left blank."""
    from rich.table import Table

    table = Table(*headers)
    previous = None
    for row in rows:
        table.add_row(row[0] if row[0] != previous else "", *row[1:])
        previous = row[0]
    return table
