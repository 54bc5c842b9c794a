"""``seqart evaluate``: how close generated pieces are to a reference set, and whether they copy it."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded


@guarded
def evaluate_command(
    samples: Annotated[List[Path], typer.Argument(help="Generated files, or folders of them (MIDI, MusicXML, ABC).")],
    reference: Annotated[str, typer.Option("--reference", "-r", help="Built corpus folder, or a folder/file of music.")],
    max_reference: Annotated[int, typer.Option("--max-reference", help="Reference pieces sampled for the metrics (copies: all searched).")] = 2000,
    flag_notes: Annotated[int, typer.Option("--flag-notes", help="Flag a run of this many notes shared with the reference.")] = 16,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write every figure as JSON here.")] = None,
) -> None:
    """Compare SAMPLES with a reference: metric distributions (overlap 1 = alike) and copied runs of notes."""
    from seqart.evaluate import evaluate, load_reference, load_scores

    scores, labels = load_scores(samples)
    ref = load_reference(reference, max_pieces=max_reference)
    if ref.skipped:
        typer.echo(f"skipped {len(ref.skipped)} unreadable reference file(s), e.g. {ref.skipped[0]}", err=True)
    report = evaluate(scores, ref, labels, flag_notes=flag_notes)
    print_evaluation(report)
    if json_out is not None:
        from seqart.utils.atomic import write_json_atomic

        write_json_atomic(json_out, report.to_dict())


def _fmt(mean: float, std: float) -> str:
    import math

    return "-" if math.isnan(mean) else f"{mean:.3f} ± {std:.3f}"


def print_evaluation(report) -> None:
    """Print a :class:`seqart.evaluate.Evaluation` as three rich tables on stdout: metrics, form, copies."""
    from rich.console import Console
    from rich.table import Table

    from seqart.evaluate.form import FORM_UNITS
    from seqart.evaluate.metrics import UNITS

    console = Console()
    console = Console(width=max(console.width, 100))
    table = Table(title=f"{report.n_samples} samples vs {report.n_reference_metrics} pieces of {report.reference}")
    table.add_column("metric")
    table.add_column("unit", style="dim")
    table.add_column("samples", justify="right")
    table.add_column("reference", justify="right")
    table.add_column("overlap", justify="right")
    for m in report.metrics:
        overlap = "-" if m.overlap != m.overlap else f"{m.overlap:.2f}"
        table.add_row(m.name, UNITS.get(m.name, ""), _fmt(m.sample_mean, m.sample_std),
                      _fmt(m.reference_mean, m.reference_std), overlap)
    console.print(table)

    form = Table(title="form (mean over pieces; a 1/0 flag's mean is the share of pieces)")
    for name in ("metric", "unit", "samples", "reference", "difference"):
        form.add_column(name, style="dim" if name == "unit" else None,
                        justify="left" if name in ("metric", "unit") else "right")
    for f in report.form:
        cells = ["-" if v != v else f"{v:+.3f}" if i == 2 else f"{v:.3f}"
                 for i, v in enumerate((f.sample_mean, f.reference_mean, f.difference))]
        form.add_row(f.name, FORM_UNITS.get(f.name, ""), *cells)
    console.print(form)

    runs = Table(title=f"longest run of notes shared with the {report.n_reference} reference pieces "
                       f"(intervals and onsets, any transposition)")
    runs.add_column("sample")
    runs.add_column("notes", justify="right")
    runs.add_column("reference piece")
    runs.add_column("flag")
    found = sorted((r for r in report.memorisation if r.notes), key=lambda r: -r.notes)
    for r in found:
        runs.add_row(r.sample, str(r.notes), r.reference, "[bold red]copy?[/bold red]" if r.flagged else "")
    others = report.n_samples - len(found)
    if others:
        runs.add_row(f"[dim]{'the' if not found else 'the other'} {others} sample(s)[/dim]",
                     f"< {report.seed_notes}", "", "")
    console.print(runs)
    flagged = report.flagged
    console.print(f"{len(flagged)} of {report.n_samples} samples share a run of {report.flag_notes} or more notes "
                  f"with the reference" + (": " + ", ".join(r.sample for r in flagged) if flagged else ""))
