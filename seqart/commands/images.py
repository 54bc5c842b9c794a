"""``seqart walk`` and ``seqart evaluate-images``, and the image branch of ``seqart sample``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from seqart.commands.common import guarded

#: options of ``seqart sample`` that only music models take: parameter -> (flag, default)
_MUSIC_OPTIONS = {
    "bars": ("--bars", 16), "steps": ("--steps", None), "temperature": ("--temperature", 1.0),
    "top_k": ("--top-k", None), "top_p": ("--top-p", None), "primer": ("--primer", None), "key": ("--key", None),
    "scale": ("--scale", None), "pitch_range": ("--range", None), "time_signature": ("--time-signature", None),
    "tempo": ("--tempo", None), "fmt": ("--format", None), "keep": ("--keep", None),
    "reference": ("--reference", None), "audio": ("--audio", False),
}


def sample_images(model: str, out: Path, num: int, seed: int | None, force: bool, **music) -> None:
    """``seqart sample`` for an image model: ``-o grid.png`` (one grid) or ``-o DIR`` (``DIR/01.png ...``).

    Raises:
        SeqartError: a music-only option, another output type, or an existing output without ``force``.
    """
    from seqart.errors import SeqartError
    from seqart.generate.images import ImageGenerator, write_grid, write_pngs
    from seqart.utils.paths import numbered_paths

    for name, value in music.items():
        flag, default = _MUSIC_OPTIONS.get(name, (f"--{name.replace('_', '-')}", None))
        if value != default:
            raise SeqartError(f"{flag} is for music models; an image model takes --num, --seed, --force "
                              "and -o grid.png or -o FOLDER")
    if num < 1:
        raise SeqartError(f"--num must be at least 1, got {num}")
    suffix = out.suffix.lower()
    if suffix not in (".png", ""):
        raise SeqartError(f"an image model writes a .png grid (-o grid.png) or a folder of PNGs (-o FOLDER), not {out}")
    if suffix == ".png" and out.exists() and not force:
        raise SeqartError(f"{out} exists; pass --force to overwrite it, or choose another -o")
    if suffix == "":
        numbered_paths(out, num, suffix=".png", overwrite=force)  # refuse before sampling
    gen = ImageGenerator(model)
    images = gen.sample(num, seed=seed)
    if suffix == ".png":
        write_grid(images, out)
        typer.echo(f"wrote {out} ({num} images of {gen.size}x{gen.size} in a grid)")
    else:
        paths = write_pngs(images, out, overwrite=force)
        typer.echo(f"wrote {len(paths)} images to {out}/ ({paths[0].name} ... {paths[-1].name})")
    typer.echo(f"seed {gen.last_seed}", err=True)


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
    from seqart.errors import SeqartError

    if out.suffix.lower() != ".gif":
        raise SeqartError(f"-o must name a .gif file, got {out}")
    if out.exists() and not force:
        raise SeqartError(f"{out} exists; pass --force to overwrite it, or choose another -o")
    if music is not None and frames is not None:
        raise SeqartError("--frames and --music exclude each other: a music walk has one frame per grid step")
    if frames is not None and frames < 2:
        raise SeqartError(f"--frames must be at least 2, got {frames}")
    if not 0 < fps <= 50:
        raise SeqartError(f"--fps must be in (0, 50] (GIF frames last at least 20 ms), got {fps}")
    if scale is not None and not 1 <= scale <= 32:
        raise SeqartError(f"--scale must be 1..32, got {scale}")
    if music is not None and not music.is_file():
        raise SeqartError(f"{music}: no such file")
    from seqart.generate.images import ImageGenerator, auto_scale, gif_durations, write_gif

    gen = ImageGenerator(model)
    factor = scale or auto_scale(gen.size)
    if music is None:
        n = frames or 60
        images = gen.walk(n, seed=seed)
        durations = gif_durations([i / fps for i in range(n + 1)])
        write_gif(images, out, durations, scale=factor)
        typer.echo(f"wrote {out} ({n} frames at {fps:g} fps, a closed loop)")
    else:
        images, durations = gen.music_walk(music, steps_per_beat=steps_per_beat, seed=seed)
        write_gif(images, out, durations, scale=factor)
        typer.echo(f"wrote {out} ({len(images)} frames, {steps_per_beat} per beat, {sum(durations) / 1000:.1f} s "
                   f"in time with {music.name})")
    typer.echo(f"seed {gen.last_seed}", err=True)


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

    from seqart.errors import ModelError, SeqartError
    from seqart.generate.images import IMAGE_MODELS
    from seqart.models.folder import read_config, resolve_model

    if not 10 <= num <= 5000:
        raise SeqartError(f"--num must be in 10..5000, got {num}")
    model_type = None
    try:
        folder = resolve_model(target)
    except ModelError:
        folder = None
        if not Path(target).is_dir():
            raise SeqartError(f"{target}: neither an image model/run folder nor a folder of images") from None
    from seqart.images.evaluate import evaluate_images, format_report, read_image_folder

    if folder is not None:
        model_type = read_config(folder)["model"]
        if model_type not in IMAGE_MODELS:
            raise SeqartError(f"{target}: a {model_type} model does not make images")
        from seqart.generate.images import ImageGenerator

        images = ImageGenerator(folder).sample(num, seed=seed)
    else:
        images = read_image_folder(target)
    ev = evaluate_images(images, seed=seed, progress=lambda msg: typer.echo(msg, err=True))
    if as_json:
        typer.echo(json.dumps({"target": str(target), "model": model_type, **ev.to_dict(model_type)}, indent=2))
    else:
        typer.echo(format_report(ev, model_type))
