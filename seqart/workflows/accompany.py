"""``seqart accompany`` and ``seqart infill`` as one call each: read a piece, let an
event-token model write the parts asked for around what is given, write the results."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seqart.errors import SeqartError
from seqart.score import Score

#: The shipped accompaniment model (melody and chords, trained on the Nottingham tunes).
DEFAULT_ACCOMPANIST = "folk-chords"


@dataclass
class AccompanyResult:
    """What :func:`accompany_to_files` did.

    Attributes:
        written: ``(path, score)`` per file, in order.
        seed: the seed used (to reproduce the run).
        audio: the ``.wav`` previews written (with ``audio``).
    """

    written: list[tuple[Path, Score]] = field(default_factory=list)
    seed: int | None = None
    audio: list[Path] = field(default_factory=list)


def accompany_to_files(given: str | Path | Score, out: str | Path, model: str | Path = DEFAULT_ACCOMPANIST,
                       num: int = 1, *, fmt: str | None = None, force: bool = False, audio: bool = False,
                       **options) -> AccompanyResult:
    """Accompany ``given`` ``num`` times with ``model`` and write the songs.

    Args:
        given: a music file, an audio recording (transcribed first) or a Score.
        out: output file (``out-1.mid ...`` for several) or folder.
        model: shipped name or model/run folder of an events model trained in tracks order.
        num: how many songs.
        fmt: ``"mid"`` or ``"musicxml"`` (default: from the extension).
        force: replace existing files.
        audio: also write a ``.wav`` preview beside each file.
        options: :meth:`~seqart.models.melody_lm.events_generator.EventsGenerator.accompany`
            options (seed, temperature, top_k, top_p, key, scale, pitch_range, tracks, as_programs).

    Raises:
        SeqartError: a model that cannot accompany, or bad options.
        OutputExistsError: an output exists and ``force`` is False (checked before any work).
    """
    paths = _output_paths(out, num, fmt, force, audio)
    if not isinstance(given, Score):
        from seqart.audio import read_score_or_audio

        given = read_score_or_audio(given)
    generator = _generator_that(model, "accompany", "accompany")
    scores = generator.accompany(given, num, **options)
    return _write(scores, paths, generator.last_seed, fmt, audio, force)


def infill_to_files(piece: str | Path | Score, out: str | Path, bars, model: str | Path = DEFAULT_ACCOMPANIST,
                    num: int = 1, *, fmt: str | None = None, force: bool = False, audio: bool = False,
                    **options) -> AccompanyResult:
    """Write bars ``bars`` of ``piece`` again ``num`` times with ``model`` and write the results.

    Args:
        piece: a music file or a Score.
        out: output file (``out-1.mid ...`` for several) or folder.
        bars: ``"5-8"`` (from 1, inclusive) or one bar number.
        model, num, fmt, force, audio: as for :func:`accompany_to_files`.
        options: :meth:`~seqart.models.melody_lm.events_generator.EventsGenerator.infill`
            options (track, candidates, seed, temperature, top_k, top_p, key, scale, pitch_range).

    Raises:
        SeqartError: a model that cannot infill, or bad options.
        OutputExistsError: an output exists and ``force`` is False (checked before any work).
    """
    paths = _output_paths(out, num, fmt, force, audio)
    if not isinstance(piece, Score):
        piece = Score.from_file(piece)
    generator = _generator_that(model, "infill", "write bars again")
    scores = generator.infill(piece, bars, num, **options)
    return _write(scores, paths, generator.last_seed, fmt, audio, force)


def _output_paths(out: str | Path, num: int, fmt: str | None, force: bool, audio: bool) -> list[Path]:
    """The files to write (and their ``.wav`` previews with ``audio``), refused before any
    work if one exists and ``force`` is False."""
    from seqart.utils.paths import output_paths, refuse_existing

    paths = output_paths(out, num, fmt, overwrite=force)
    if audio:
        refuse_existing([p.with_suffix(".wav") for p in paths], overwrite=force)
    return paths


def _generator_that(model: str | Path, method: str, doing: str):
    """``model`` loaded, if its generator has ``method`` (else a one-line error saying it
    cannot ``doing``)."""
    from seqart.models.loading import load_generator

    generator = load_generator(model)
    if not hasattr(generator, method):
        raise SeqartError(f"{model}: a {generator.model_type} model cannot {doing}; use an events model "
                          f"trained in tracks order (default: {DEFAULT_ACCOMPANIST})")
    return generator


def _write(scores: list[Score], paths: list[Path], seed: int | None, fmt: str | None, audio: bool,
           force: bool) -> AccompanyResult:
    result = AccompanyResult(seed=seed)
    for score, path in zip(scores, paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        result.written.append((score.write(path, format=fmt), score))
        if audio:
            from seqart.audio.render import render

            result.audio.append(render(score, path.with_suffix(".wav"), overwrite=force))
    return result
