"""Printing and saving benchmark results (rich tables, JSON)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path


def print_polyphonic(result: dict) -> None:
    """A table of test NLL (nats/frame) for a :func:`run_polyphonic_benchmark` result,
    published figures below the measured ones."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result['dataset']} test split: {result['test_pieces']} pieces, "
                        f"{result['test_frames']:,} frames (nats per frame, lower is better)")
    table.add_column("model")
    table.add_column("NLL/frame", justify="right")
    table.add_column("NLL/frame, first frames dropped", justify="right")
    table.add_column("seconds", justify="right")
    for row in result["rows"]:
        table.add_row(row.name, f"{row.nll:.3f}", f"{row.nll_drop_first:.3f}", f"{row.seconds:.1f}")
    for name, figure in result["reference"].items():
        table.add_row(f"[dim]{name}, published[/dim]", f"[dim]{figure:.2f}[/dim]", "", "")
    console = Console()
    Console(width=max(console.width, 118)).print(table)


def write_polyphonic_json(result: dict, path: str | Path) -> None:
    """Write a benchmark result as JSON (atomically)."""
    from seqart.utils.atomic import write_json_atomic

    write_json_atomic(Path(path), {**result, "rows": [asdict(r) for r in result["rows"]]})
