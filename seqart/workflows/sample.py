"""``seqart sample`` as one call: generate with any model, optionally keep the best,
write the files (and WAV previews), and record them in the model's feedback store.

Music models write MIDI or MusicXML files; image models a PNG grid (``out.png``)
or a folder of PNGs. Every output is checked before anything is generated, so an
existing file stops the run before the work, not after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seqart.errors import SeqartError
from seqart.score import Score


@dataclass
class Written:
    """One file written.

    Attributes:
        path: where it went.
        score: the piece (None for images).
        distance: its distance from the reference in reference standard deviations (with ``keep``).
        audio: its audio preview (with ``audio``).
        images: how many images it holds (image models).
    """

    path: Path
    score: Score | None = None
    distance: float | None = None
    audio: Path | None = None
    images: int = 0


@dataclass
class SampleResult:
    """What :func:`sample_to_files` did.

    Attributes:
        written: the files, in order.
        seed: the seed used (to reproduce the run).
        warning: why the feedback store could not be written, or None.
        record_notice: where the samples were recorded, when this run created the model's
            feedback store (shown once per store), else None.
        primer_note: what was kept of a primer with several tracks or chords, or None.
        image_size: side of the images in pixels (image models), else None.
    """

    written: list[Written] = field(default_factory=list)
    seed: int | None = None
    warning: str | None = None
    record_notice: str | None = None
    primer_note: str | None = None
    image_size: int | None = None


def sample_to_files(model: str | Path, out: str | Path, num: int = 1, *, fmt: str | None = None, force: bool = False,
                    keep: int | None = None, reference: str | None = None, audio: bool = False, record: bool = True,
                    **options) -> SampleResult:
    """Generate ``num`` pieces (or images) with ``model`` and write them.

    Args:
        model: shipped model name or model/run folder, of any type.
        out: output file (``out-1.mid ...`` for several) or folder; for an image model a
            ``.png`` grid or a folder of PNGs.
        num: pieces (or images) to generate.
        fmt: ``"mid"`` or ``"musicxml"`` (default: from the extension).
        force: replace existing files.
        keep: write only the ``keep`` pieces whose metrics best match ``reference``.
        reference: built corpus folder or music folder (with ``keep``).
        audio: also write a ``.wav`` preview beside each file.
        record: add the files and their settings to the model's feedback store
            (``SEQART_NO_RECORD=1`` in the environment makes it False).
        options: the generator's ``sample`` options (bars, steps, temperature, top_k,
            top_p, seed, key, scale, pitch_range, time_signature, tempo, primer, track,
            style, form, ending, pickup); None
            takes the model's default. A primer may be an audio recording: it is
            transcribed first.

    Raises:
        SeqartError: bad options (named as the arguments here are), or an invalid ``SEQART_NO_RECORD``.
        OutputExistsError: an output exists and ``force`` is False (checked before anything is generated).
    """
    from seqart.feedback.store import recording_enabled
    from seqart.models.loading import load_generator, model_type_of

    record = record and recording_enabled()
    if model_type_of(model).outputs == "images":
        given = {"fmt": fmt, "keep": keep, "reference": reference, "audio": audio or None}
        _refuse_for_images(given)
        return _sample_images(model, Path(out), num, force, **options)
    from seqart.utils.paths import output_paths, refuse_existing

    if (keep is None) != (reference is None):
        raise SeqartError("keep and reference go together (keep the best of num pieces, as measured against "
                          "the reference)")
    if keep is not None and not 1 <= keep <= num:
        raise SeqartError(f"keep must be between 1 and num ({num}), got {keep}")
    paths = output_paths(out, keep or num, fmt, overwrite=force)
    if audio:
        refuse_existing([p.with_suffix(".wav") for p in paths], overwrite=force)
    stats = None
    if reference is not None:
        from seqart.evaluate import ReferenceStats, load_reference

        stats = ReferenceStats.from_scores(load_reference(reference).metric_scores)
    settings = dict(options)  # as given, for the feedback store
    if isinstance(options.get("primer"), (str, Path)):
        from seqart.audio import read_score_or_audio

        options["primer"] = read_score_or_audio(options["primer"])  # a recording is transcribed first
    generator = load_generator(model)
    scores = generator.sample(num, **options)
    ranked = [(s, None) for s in scores]
    if stats is not None:
        from seqart.evaluate import select_best

        ranked = select_best(scores, stats, keep)
    result = SampleResult(seed=generator.last_seed, primer_note=getattr(generator, "last_primer_note", None))
    for (score, distance), path in zip(ranked, paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        written = Written(score.write(path, format=fmt), score, distance)
        if audio:
            from seqart.audio.render import render

            written.audio = render(score, written.path.with_suffix(".wav"), overwrite=force)
        result.written.append(written)
    if record:
        from seqart.feedback.store import record_generated  # for 'seqart rate' and 'seqart tune'
        from seqart.generate.protocol import settings_used

        settings = settings_used(generator.sampling_defaults, settings)
        settings.pop("seed", None)
        if isinstance(settings.get("primer"), Score):
            settings.pop("primer")  # a score made in Python has no name to record
        recording = record_generated(model, [w.path for w in result.written], seed=generator.last_seed,
                                     num=num, **settings)
        result.warning, result.record_notice = recording.warning, recording.notice
    return result


def _refuse_for_images(given: dict) -> None:
    named = sorted(k for k, v in given.items() if v is not None)
    if named:
        raise SeqartError(f"{', '.join(named)} do{'es' if len(named) == 1 else ''} not apply to an image model: "
                          "it writes a .png grid or a folder of PNGs")


def _sample_images(model: str | Path, out: Path, num: int, force: bool, **options) -> SampleResult:
    """An image model's samples as one grid (``out.png``) or numbered PNGs in the folder ``out``."""
    from seqart.generate.writers import write_grid, write_pngs
    from seqart.models.loading import load_generator
    from seqart.utils.paths import numbered_paths, refuse_existing

    if num < 1:
        raise SeqartError(f"num must be at least 1, got {num}")
    suffix = out.suffix.lower()
    if suffix not in (".png", ""):
        raise SeqartError(f"an image model writes a .png grid or a folder of PNGs, not {out}")
    if suffix == ".png":
        refuse_existing([out], force)
    else:
        numbered_paths(out, num, suffix=".png", overwrite=force)  # refuse before sampling
    generator = load_generator(model)
    images = generator.sample(num, **options)
    result = SampleResult(seed=generator.last_seed, image_size=generator.size)
    if suffix == ".png":
        result.written.append(Written(write_grid(images, out), images=num))
    else:
        result.written += [Written(path, images=1) for path in write_pngs(images, out, overwrite=force)]
    return result
