"""``seqart sample`` as one API call: generate, optionally keep the best, write the
files (and WAV previews), and record them in the model's feedback store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seqart.errors import SeqartError
from seqart.score import Score


@dataclass
class Written:
    """One file written: the score, where it went, its distance from the reference
    (in reference standard deviations, with ``keep``) and its audio preview."""

    path: Path
    score: Score
    distance: float | None = None
    audio: Path | None = None


@dataclass
class SampleResult:
    """What :func:`sample_to_files` did: the files, the seed used, and a warning (or None)
    if the feedback store could not be written."""

    written: list[Written] = field(default_factory=list)
    seed: int | None = None
    warning: str | None = None


def sample_to_files(model: str | Path, out: str | Path, num: int = 1, fmt: str | None = None, force: bool = False,
                    keep: int | None = None, reference: str | None = None, audio: bool = False, record: bool = True,
                    **options) -> SampleResult:
    """Generate ``num`` pieces with ``model`` and write them.

    Args:
        model: shipped model name or model/run folder.
        out: output file (``out-1.mid ...`` for several) or folder.
        num: pieces to generate.
        fmt: ``"mid"`` or ``"musicxml"`` (default: from the extension).
        force: replace existing files.
        keep: write only the ``keep`` pieces whose metrics best match ``reference``.
        reference: built corpus folder or music folder (with ``keep``).
        audio: also write a ``.wav`` preview beside each file.
        record: add the files and their settings to the model's feedback store.
        options: the generator's ``sample`` options (bars, steps, temperature, top_k,
            top_p, seed, key, scale, pitch_range, time_signature, tempo, primer).

    Raises:
        SeqartError: bad options, or outputs that exist without ``force`` (checked
            before anything is generated).
    """
    from seqart.generate import load_generator
    from seqart.utils.paths import output_paths

    if (keep is None) != (reference is None):
        raise SeqartError("--keep K and --reference DIR go together (keep the K of --num closest to DIR)")
    if keep is not None and not 1 <= keep <= num:
        raise SeqartError(f"--keep must be between 1 and --num ({num}), got {keep}")
    paths = output_paths(out, keep or num, fmt, overwrite=force)
    if audio:
        from seqart.audio.render import refuse_existing

        refuse_existing([p.with_suffix(".wav") for p in paths], overwrite=force)
    stats = None
    if reference is not None:
        from seqart.evaluate import ReferenceStats, load_reference

        stats = ReferenceStats.from_scores(load_reference(reference).metric_scores)
    generator = load_generator(model)
    scores = generator.sample(num=num, **options)
    ranked = [(s, None) for s in scores]
    if stats is not None:
        from seqart.evaluate import select_best

        ranked = select_best(scores, stats, keep)
    result = SampleResult(seed=generator.last_seed)
    for (score, distance), path in zip(ranked, paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        written = Written(score.write(path, format=fmt), score, distance)
        if audio:
            from seqart.audio.render import render

            written.audio = render(score, written.path.with_suffix(".wav"), overwrite=force)
        result.written.append(written)
    if record:
        from seqart.feedback.store import record_generated  # for 'seqart rate' and 'seqart tune'

        result.warning = record_generated(model, [w.path for w in result.written], seed=generator.last_seed,
                                          num=num, **{k: v for k, v in options.items() if k != "seed"})
    return result
