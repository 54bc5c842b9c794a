"""``seqart store``: list the feedback stores where ``seqart sample`` records its samples, prune them.

Only Typer is imported at module level; the store loads inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded

store_app = typer.Typer(
    help="The feedback stores where 'seqart sample' records its samples (for seqart rate/tune): list, prune.",
    no_args_is_help=True,
)

Models = Annotated[Optional[List[str]], typer.Argument(
    metavar="[MODEL]...", help="Shipped model names, model/run folders or .sqlite store files.")]


@store_app.command("list")
@guarded
def list_command(models: Models = None) -> None:
    """Every store: the data folder's, those of MODELs, and those under the current folder (3 folders deep)."""
    from seqart.feedback.housekeeping import find_stores, list_stores
    from seqart.feedback.store import data_dir

    infos, problems = list_stores(find_stores(models or (), search=Path.cwd()))
    for problem in problems:
        typer.echo(f"warning: {problem}", err=True)
    if not infos:
        typer.echo(f"no feedback stores in {data_dir() / 'feedback'} nor under {Path.cwd()}")
        return
    _print_table(infos)


@store_app.command("prune")
@guarded
def prune_command(
    models: Models = None,
    older_than: Annotated[Optional[float], typer.Option("--older-than", metavar="DAYS", help="Only samples recorded more than DAYS days ago.")] = None,
    unrated: Annotated[bool, typer.Option("--unrated", help="Unrated samples, whatever their age.")] = False,
    everything: Annotated[bool, typer.Option("--all", help="Rated samples too (otherwise they are always kept).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be deleted.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete recorded samples of MODELs' stores (default: every store 'seqart store list' shows), then compact them."""
    from seqart.errors import SeqartError
    from seqart.feedback.housekeeping import find_stores, named_stores, plan_prune, prune

    if older_than is None and not (unrated or everything):
        raise SeqartError("say what to prune: --older-than DAYS, --unrated, or --all (rated samples too)")
    if unrated and everything:
        raise SeqartError("--unrated keeps rated samples and --all deletes them: give one of the two")
    stores = named_stores(models) if models else find_stores(search=Path.cwd())
    plans = [p for p in plan_prune(stores, older_than, keep_rated=not everything) if p.ids or p.kept_rated]
    for plan in plans:
        typer.echo(f"{plan.store}: {len(plan.ids)} sample(s) to delete ({plan.content_bytes:,} bytes of files), "
                   f"{plan.kept_rated} rated kept")
    total = sum(len(p.ids) for p in plans)
    if dry_run or total == 0:
        typer.echo("dry run: nothing deleted" if dry_run else "nothing to delete")
        return
    if not yes:
        typer.confirm(f"delete {total} sample(s)?", abort=True)
    done = prune(plans)
    typer.echo(f"deleted {sum(p.removed for p in done)} sample(s), freed {sum(p.bytes_freed for p in done):,} bytes")


def _print_table(infos) -> None:
    """One aligned row per store (plain text: paths are never cut, and grep sees whole rows)."""
    rows = [("model", "samples", "liked", "disliked", "rated", "MB", "oldest", "newest", "path")]
    rows += [(i.label, str(i.samples), str(i.liked), str(i.disliked), str(i.rated), f"{i.size_bytes / 1e6:.2f}",
              (i.oldest or "-")[:10], (i.newest or "-")[:10], str(i.path)) for i in infos]
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]) - 1)]
    for row in rows:
        numbers = [cell.rjust(width) for cell, width in zip(row[1:-1], widths[1:], strict=True)]
        typer.echo("  ".join([row[0].ljust(widths[0]), *numbers, row[-1]]))
