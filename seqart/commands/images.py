"""``seqart walk`` and ``seqart evaluate-images``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded


@guarded
def walk_command(
    model: Annotated[str, typer.Argument(help="Image model or run folder (dcgan, image-vae).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The animated .gif to write.")],
    frames: Annotated[Optional[int], typer.Option(help="Frames of the loop (default 60); not with --music.")] = None,
    music: Annotated[Optional[Path], typer.Option(help="A melody (MIDI, MusicXML, ABC): one frame per grid step, in time with it.")] = None,
    steps_per_beat: Annotated[int, typer.Option("--steps-per-beat", help="With --music: frames per beat.")] = 4,
    fps: Annotated[float, typer.Option(help="Frames per second of a plain loop (at most 50).")] = 15.0,
    scale: Annotated[Optional[int], typer.Option(help="Upscale factor (default: about 256 pixels wide).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Same seed -> same walk.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing output file.")] = False,
) -> None:
    """Animate a closed loop through an image model's latent space (with --music: in time with a melody).

    With --music each grid step is one frame: pitch classes choose latent directions, note onsets
    step towards them, held notes drift, and frame durations follow the melody's tempo."""
    from seqart.workflows.images import walk_to_gif

    r = walk_to_gif(model, out, frames=frames, music=music, steps_per_beat=steps_per_beat, fps=fps, scale=scale,
                    seed=seed, force=force)
    if music is None:
        typer.echo(f"wrote {r.path} ({r.frames} frames at {r.fps:g} fps, a closed loop)")
    else:
        typer.echo(f"wrote {r.path} ({r.frames} frames, {r.steps_per_beat} per beat, {r.seconds:.1f} s "
                   f"in time with {music.name})")
    typer.echo(f"seed {r.seed}", err=True)


@guarded
def evaluate_images_command(
    target: Annotated[str, typer.Argument(help="Image model/run folder (sampled), or a folder of PNG/JPEG images.")],
    num: Annotated[int, typer.Option("--num", "-n", help="Images sampled from a model (10-5000; a folder is judged whole).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the samples, the reference choice and KID's subsets.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Judge generated digits: FID-CNN, KID, precision/recall and class coverage vs MNIST test images.

    Every figure is printed beside the real floor (train vs test images) and blurred test images."""
    import json

    from seqart.images.evaluate import format_report
    from seqart.workflows.images import evaluate_image_target

    ev, model_type, wanted = evaluate_image_target(target, num=num, seed=seed,
                                                   progress=lambda msg: typer.echo(msg, err=True))
    if as_json:
        typer.echo(json.dumps({"target": str(target), "model": model_type, **ev.to_dict(wanted)}, indent=2))
    else:
        typer.echo(format_report(ev, wanted))
