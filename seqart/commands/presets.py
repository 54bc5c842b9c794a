"""``seqart presets``: every registered model family, its presets and the shipped models."""

from __future__ import annotations

from seqart.commands.common import guarded


@guarded
def presets_command() -> None:
    """List the model families, their presets (what 'seqart train PRESET' takes) and the shipped models."""
    from rich.console import Console
    from rich.table import Table

    from seqart.models.loading import catalogue

    families, shipped = catalogue()
    table = Table("family", "model type", "preset", "description")
    previous = None
    for family, model_type, preset, description in families:
        table.add_row(family if family != previous else "", model_type, preset, description,
                      end_section=False)
        previous = family
    models = Table("shipped model", "model type", "held-out figures")
    for name, model_type, figures in shipped:
        models.add_row(name, model_type, figures)
    out = Console()
    out = Console(width=max(out.width, 120))
    out.print(table)
    out.print(models)
