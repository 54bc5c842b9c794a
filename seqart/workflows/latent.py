"""``seqart interpolate``, ``seqart vary`` and ``seqart shift`` as calls: a melody VAE's
latent space, from files to files.

Melodies may be MIDI, MusicXML or ABC files, or recordings (transcribed first).
Every output path is checked before any work, and a folder is made only once
everything has worked.
"""

from __future__ import annotations

from pathlib import Path

from seqart.errors import SeqartError
from seqart.score import Score

#: the VAE these commands use by default
DEFAULT_VAE = "folk-vae-2bar"


def latent_generator(model: str | Path = DEFAULT_VAE):
    """The generator of a model with a latent space (a shipped name or model/run folder).

    Raises:
        ModelError: for a model without one.
    """
    from seqart.errors import ModelError
    from seqart.generate.protocol import LatentGenerator
    from seqart.models.loading import load_generator, model_type_of

    kind = model_type_of(model)
    if kind.outputs != "scores":
        raise ModelError(f"{model}: a {kind.name} model has no melodies in its latent space; use a music-vae model")
    gen = load_generator(model)
    if not isinstance(gen, LatentGenerator):
        raise ModelError(f"{model}: a {kind.name} model has no latent space; use a music-vae model")
    return gen


def _read(path: str | Path) -> Score:
    from seqart.audio import read_score_or_audio

    return read_score_or_audio(path)


def _write_all(scores: list[Score], paths: list[Path]) -> list[tuple[Path, Score]]:
    for score, path in zip(scores, paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        score.write(path)
    return list(zip(paths, scores))


def interpolate_to_files(a: str | Path, b: str | Path, out: str | Path, model: str | Path = DEFAULT_VAE,
                         steps: int = 8, temperature: float = 0.0, seed: int | None = None,
                         force: bool = False) -> list[tuple[Path, Score]]:
    """``steps`` melodies from ``a`` to ``b`` (both ends included) as ``out/01.mid ...``.

    Returns:
        ``(path, score)`` per file written.
    """
    from seqart.utils.paths import numbered_paths

    if steps < 2:
        raise SeqartError(f"steps must be at least 2, got {steps}")
    paths = numbered_paths(out, steps, ".mid", overwrite=force)
    scores = latent_generator(model).interpolate(_read(a), _read(b), steps=steps, temperature=temperature, seed=seed)
    return _write_all(scores, paths)


def vary_to_files(melody: str | Path, out: str | Path, model: str | Path = DEFAULT_VAE, amount: float = 0.3,
                  num: int = 8, temperature: float = 0.0, seed: int | None = None,
                  force: bool = False) -> list[tuple[Path, Score]]:
    """``num`` variations of ``melody`` (its code moved at random by ``amount``) as ``out/01.mid ...``."""
    from seqart.utils.paths import numbered_paths

    if num < 1:
        raise SeqartError(f"num must be at least 1, got {num}")
    paths = numbered_paths(out, num, ".mid", overwrite=force)
    scores = latent_generator(model).vary(_read(melody), amount=amount, num=num, temperature=temperature, seed=seed)
    return _write_all(scores, paths)


def shift_to_file(melody: str | Path, out: str | Path, attribute: str, model: str | Path = DEFAULT_VAE,
                  amount: float = 1.0, temperature: float = 0.0, seed: int | None = None,
                  force: bool = False) -> list[tuple[Path, Score]]:
    """``melody`` pushed along ``attribute`` (``density``, ``range``, ...) by ``amount``, written to ``out``."""
    from seqart.models.music_vae.attributes import attribute_name
    from seqart.utils.paths import output_paths

    attribute_name(attribute)
    path = output_paths(out, 1, overwrite=force)[0]
    score = latent_generator(model).shift(_read(melody), attribute, amount=amount, temperature=temperature, seed=seed)
    return _write_all([score], [path])
