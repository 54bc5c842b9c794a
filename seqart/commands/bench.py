"""``seqart bench``: benchmarks with a published protocol."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded

bench_app = typer.Typer(help="Benchmarks with a published protocol.", no_args_is_help=True)


@bench_app.command("polyphonic")
@guarded
def polyphonic_command(
    dataset: Annotated[str, typer.Option("--dataset", help="jsb, nottingham, musedata, piano, or a .mat file.")],
    model: Annotated[Optional[List[Path]], typer.Option("--model", "-m", help="Run or model folder (repeatable).")] = None,
    device: Annotated[str, typer.Option(help="Torch device for the models.")] = "cpu",
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the figures as JSON here.")] = None,
) -> None:
    """Test NLL in nats per frame on a polyphonic benchmark (frame-weighted, first frame included)."""
    from seqart.benchmarks.polyphonic import run_polyphonic_benchmark
    from seqart.benchmarks.report import print_polyphonic, write_polyphonic_json

    result = run_polyphonic_benchmark(dataset, [str(m) for m in model or []], device=device, progress=True)
    print_polyphonic(result)
    if json_out is not None:
        write_polyphonic_json(result, json_out)
