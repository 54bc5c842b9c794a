"""``seqart walk`` and ``seqart evaluate-images`` as calls: animate an image model's
latent space into a GIF, and judge generated images against MNIST."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seqart.errors import SeqartError


@dataclass
class WalkResult:
    """What :func:`walk_to_gif` wrote.

    Attributes:
        path: the GIF.
        frames: frames in it.
        seconds: its length.
        seed: the seed of the walk.
        fps: frames per second of a plain loop (None for a music walk).
        steps_per_beat: frames per beat of a music walk (None for a plain loop).
    """

    path: Path
    frames: int
    seconds: float
    seed: int
    fps: float | None = None
    steps_per_beat: int | None = None


def image_generator(model: str | Path):
    """The generator of an image model (shipped name or model/run folder).

    Raises:
        SeqartError: for a model that does not make images.
    """
    from seqart.models.loading import load_generator, model_type_of

    kind = model_type_of(model)
    if kind.outputs != "images":
        raise SeqartError(f"{model}: a {kind.name} model does not make images")
    return load_generator(model)


def walk_to_gif(model: str | Path, out: str | Path, frames: int | None = None, music: str | Path | None = None,
                steps_per_beat: int = 4, fps: float = 15.0, scale: int | None = None, seed: int | None = None,
                force: bool = False) -> WalkResult:
    """A closed loop through an image model's latent space as an animated GIF; with
    ``music``, one frame per grid step in time with a melody (see
    :mod:`seqart.models.images.sampler`).

    Args:
        model: an image model (shipped name or model/run folder).
        out: the ``.gif`` to write.
        frames: frames of a plain loop (default 60); not with ``music``.
        music: a melody file (MIDI, MusicXML, ABC) to move in time with.
        steps_per_beat: frames per beat of a music walk.
        fps: frames per second of a plain loop, in (0, 50].
        scale: upscale factor 1..32 (default: about 256 pixels wide).
        seed: same seed -> same walk.
        force: replace an existing ``out``.

    Raises:
        SeqartError: for bad values (named as the arguments are).
        OutputExistsError: ``out`` exists and ``force`` is False.
    """
    from seqart.generate.writers import auto_scale, gif_durations, write_gif
    from seqart.utils.paths import refuse_existing

    out = Path(out)
    if out.suffix.lower() != ".gif":
        raise SeqartError(f"the walk is written as a .gif file, not {out}")
    refuse_existing([out], force)
    if music is not None and frames is not None:
        raise SeqartError("frames and music exclude each other: a music walk has one frame per grid step")
    if frames is not None and frames < 2:
        raise SeqartError(f"frames must be at least 2, got {frames}")
    if not 0 < fps <= 50:
        raise SeqartError(f"fps must be in (0, 50] (GIF frames last at least 20 ms), got {fps}")
    if scale is not None and not 1 <= scale <= 32:
        raise SeqartError(f"scale must be 1..32, got {scale}")
    if music is not None and not Path(music).is_file():
        raise SeqartError(f"{music}: no such file")
    gen = image_generator(model)
    factor = scale or auto_scale(gen.size)
    if music is None:
        n = frames or 60
        durations = gif_durations([i / fps for i in range(n + 1)])
        write_gif(gen.walk(n, seed=seed), out, durations, scale=factor)
        return WalkResult(out, n, sum(durations) / 1000, gen.last_seed, fps=fps)
    images, durations = gen.music_walk(music, steps_per_beat=steps_per_beat, seed=seed)
    write_gif(images, out, durations, scale=factor)
    return WalkResult(out, len(images), sum(durations) / 1000, gen.last_seed, steps_per_beat=steps_per_beat)


def evaluate_image_target(target: str | Path, num: int = 1000, seed: int = 0, progress=None):
    """FID-CNN, KID, precision/recall and class coverage of an image model's samples, or of a
    folder of images, against MNIST test images (:mod:`seqart.images.evaluate`).

    Args:
        target: an image model/run folder (``num`` samples are drawn) or a folder of PNG/JPEG images.
        num: samples from a model, 10..5000.
        seed: seed of the samples, the reference choice and KID's subsets.
        progress: called with one-line progress messages.

    Returns:
        ``(evaluation, model type or None, the targets it is held to: its registered
        ``image_targets``, or None for all of them)``.
    """
    from seqart.errors import ModelError
    from seqart.images.evaluate import evaluate_images, read_image_folder
    from seqart.models.folder import resolve_model

    if not 10 <= num <= 5000:
        raise SeqartError(f"num must be in 10..5000, got {num}")
    try:
        folder = resolve_model(target)
    except ModelError:
        if not Path(target).is_dir():
            raise SeqartError(f"{target}: neither an image model/run folder nor a folder of images") from None
        folder = None
    if folder is not None:
        from seqart.models.registry import model_type as registered

        gen = image_generator(folder)
        images, model_type = gen.sample(num, seed=seed), gen.model_type
        wanted = registered(model_type).image_targets
    else:
        images, model_type, wanted = read_image_folder(target), None, None
    return evaluate_images(images, seed=seed, progress=progress), model_type, wanted
