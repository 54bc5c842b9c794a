"""``seqart tune``: fine-tune a model on a composer's ratings, with the one trainer.

The model's family supplies the tuning objective (its registered ``tuner``; for
``melody-lstm`` likelihood up on liked melodies, unlikelihood on disliked ones,
replay of the training corpus and an anchor to the old weights: see
:mod:`seqart.models.melody_lm.tuning`). Image models are tuned on liked pictures
by :mod:`seqart.workflows.tune_images`; :func:`tune_from_feedback` dispatches on the
model's type. This module does the rest: reads the
feedback store, holds out liked melodies for validation, measures the NLL before
and after (on them and on the training corpus's test tunes), and writes the tuned
model folder atomically with its report (``tune.json``). The model it starts
from is never modified.

Figures are natural-log likelihoods per token (nats/token).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from seqart.errors import ModelError, SeqartError
from seqart.feedback.store import FeedbackError, FeedbackStore, Sample

#: Optimizer steps of a default tune (about a minute on one CPU thread for the 'folk' model).
DEFAULT_STEPS = 60
#: Share of the liked samples held out for validation (when there are 3 or more).
HELD_OUT_FRACTION = 0.2
#: Test tunes of the training corpus the general NLL is measured on, evenly spread over the split (None: all).
GENERAL_TUNES = 64
#: How far general held-out NLL may rise before the report warns (relative).
GENERAL_TOLERANCE = 0.05
#: Written into the tuned model folder: the settings and before/after figures.
TUNE_REPORT = "tune.json"
#: Settings of an image tune (:mod:`seqart.workflows.tune_images`) that a melody tune refuses.
IMAGE_ONLY = ("liked_share", "features", "samples")


@dataclass
class TuneReport:
    """What :func:`tune` did, with before/after figures in nats per token.

    Attributes:
        out: the tuned model folder.
        base: the model it started from.
        liked: liked melodies trained on.
        held_out: liked melodies held out for validation (0: validated on ``liked``).
        disliked: disliked melodies.
        skipped: ``"path: reason"`` per sample that could not be used.
        steps: optimizer steps run.
        seconds: wall-clock time of the training.
        liked_nll_before: mean NLL of the validation melodies under the base model.
        liked_nll_after: the same under the tuned model (those melodies also chose the best
            step, so this figure flatters the tuned model a little; ``bench/bench_tune.py``
            measures on tunes nothing has seen).
        general_nll_before: NLL of test tunes of the model's training corpus (None: not here).
        general_nll_after: the same under the tuned model.
        general_source: which corpus and how many tunes, or why it was not measured.
        replay: the corpus replayed during tuning, or None.
        settings: the tuning settings.
    """

    out: Path
    base: str
    liked: int
    held_out: int
    disliked: int
    skipped: list[str] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    liked_nll_before: float = float("nan")
    liked_nll_after: float = float("nan")
    general_nll_before: float | None = None
    general_nll_after: float | None = None
    general_source: str = ""
    replay: str | None = None
    settings: dict = field(default_factory=dict)

    @property
    def general_change(self) -> float | None:
        """Relative change of the general NLL (+0.02 = 2 % worse), or None."""
        if self.general_nll_before is None or self.general_nll_after is None:
            return None
        return self.general_nll_after / self.general_nll_before - 1.0

    def to_dict(self) -> dict:
        return {**asdict(self), "out": str(self.out), "general_change": self.general_change}

    def lines(self) -> list[str]:
        """The report as lines of text: what was tuned on, and the NLL before and after."""
        out = [f"skipped {line}" for line in self.skipped]
        out.append(f"tuned {self.base} on {self.liked} liked and {self.disliked} disliked melodies "
                   f"({self.held_out} liked held out): {self.steps} steps in {self.seconds:.1f} s"
                   + (f", replaying {self.replay}" if self.replay else "") + f" -> {self.out}")
        change = 100.0 * (self.liked_nll_after / self.liked_nll_before - 1.0)
        which = "held-out liked melodies" if self.held_out else "liked melodies (none held out: fewer than 3 liked)"
        hint = "" if change < 0 else "; no better than before: rate more samples, or try other steps or lr"
        out.append(f"{which}: {self.liked_nll_before:.4f} -> {self.liked_nll_after:.4f} nats/token "
                   f"({change:+.1f}%{hint})")
        if self.general_change is None:
            out.append(f"general held-out NLL: {self.general_source}")
        else:
            ok = self.general_change <= GENERAL_TOLERANCE
            verdict = (f"within the {GENERAL_TOLERANCE:.0%} budget" if ok else
                       f"MORE than the {GENERAL_TOLERANCE:.0%} budget: raise the anchor or replay, or lower the steps")
            out.append(f"general held-out NLL ({self.general_source}): {self.general_nll_before:.4f} -> "
                       f"{self.general_nll_after:.4f} nats/token ({100 * self.general_change:+.1f}%, {verdict})")
        return out


def replay_corpus(meta: dict, tokenizer, replay_data: str | os.PathLike | None = "auto"):
    """The corpus a model was trained on, if it is on this machine and speaks its tokenizer.

    Args:
        meta: the model's ``config.json`` (its ``data`` entry names the corpus folder).
        tokenizer: the model's tokenizer; the corpus must have been encoded with an equal one.
        replay_data: ``"auto"`` (the ``data`` entry, silently None if unusable), a corpus
            folder (an error if unusable), or None (no corpus).

    Returns:
        a :class:`~seqart.corpora.dataset.CorpusDataset`, or None.

    Raises:
        SeqartError: for an explicit ``replay_data`` that is unusable.
    """
    from seqart.corpora.dataset import CorpusDataset

    if replay_data is None:
        return None
    explicit = replay_data != "auto"
    folder = replay_data if explicit else meta.get("data")
    if not folder:
        return None
    try:
        corpus = CorpusDataset.open(folder)
        if corpus.kind != "tokens" or corpus.tokenizer != tokenizer:
            raise SeqartError(f"{folder}: encoded with other tokenizer settings than the model's")
    except SeqartError:
        if explicit:
            raise
        return None
    return corpus


def check_tunable(model: str | os.PathLike, out: str | os.PathLike, overwrite: bool = False) -> tuple[Path, dict]:
    """Check that ``model`` can be tuned into ``out``, before any work.

    Returns:
        (the model folder, its ``config.json``)

    Raises:
        ModelError: for an unknown model or one of a type that cannot be tuned, an ``out``
            that is the model itself or is not a model folder.
        OutputExistsError: ``out`` exists and ``overwrite`` is False.
    """
    from seqart.models.folder import check_replaceable, read_config, resolve_model
    from seqart.models.registry import REGISTRY, model_type

    folder = resolve_model(model)
    meta = read_config(folder)
    if not model_type(meta["model"]).tunable:
        tunable = ", ".join(t.name for t in REGISTRY.values() if t.tunable)
        raise ModelError(f"{model}: tuning needs a model of a tunable type ({tunable}), this is a {meta['model']}")
    out = Path(out).expanduser()
    if out.resolve() == folder.resolve():
        raise ModelError(f"{out} is the model itself; write the tuned model to another folder")
    check_replaceable(out, overwrite)
    return folder, meta


def tune(model: str | os.PathLike, liked: Sequence[np.ndarray], out: str | os.PathLike,
         disliked: Sequence[np.ndarray] = (), held_out: Sequence[np.ndarray] = (), *, steps: int = DEFAULT_STEPS,
         lr: float = 3e-4, batch_size: int = 8, unlikelihood: float = 0.5, anchor: float = 0.01,
         replay: float = 1.0, replay_data: str | os.PathLike | None = "auto", general_tunes: int | None = GENERAL_TUNES,
         max_transpose: int = 6, threads: int = 0, device: str = "auto", seed: int = 0, overwrite: bool = False,
         progress: bool = False, info: dict | None = None, skipped: Sequence[str] = (),
         on_log: Callable[[dict], None] | None = None) -> TuneReport:
    """Fine-tune a melody language model toward ``liked`` and away from ``disliked`` melodies.

    Args:
        model: the shipped name or model folder to start from; it is never modified.
        liked: token sequences (the model's tokenizer) to make likelier.
        out: the model folder to write.
        disliked: token sequences to make less likely (unlikelihood loss).
        held_out: liked sequences kept out of training, for validation and the
            before/after figure; empty: ``liked`` itself is used.
        steps: optimizer steps.
        lr: peak learning rate (5 warm-up steps, cosine decay).
        batch_size: liked windows per step (as many replay windows, half as many disliked).
        unlikelihood: weight of the unlikelihood loss.
        anchor: weight of the L2 pull toward the starting weights.
        replay: weight of the NLL on the training corpus (0: no replay).
        replay_data: the corpus to replay and measure general NLL on: ``"auto"`` (the
            one named in the model's ``config.json``, when it is here), a corpus folder, or None.
        general_tunes: test tunes of that corpus the general NLL is measured on (None: all).
        max_transpose: random transposition of training windows, in semitones.
        threads: torch CPU threads (0: torch's default).
        device: torch device (``"auto"``: CUDA, then MPS, then CPU).
        seed: seeds dropout and the batch order.
        overwrite: replace an existing ``out``.
        progress: show the trainer's progress bar.
        info: extra JSON stored in the tuned model's ``config.json``.
        skipped: ``"path: reason"`` lines to carry into the report.
        on_log: called with each metrics record of the trainer.

    Returns:
        a :class:`TuneReport`; its figures are also written to ``OUT/tune.json``.

    Raises:
        ModelError: for a model that cannot be tuned, an ``out`` that exists
            (without ``overwrite``; with it, one that is not a model folder) or is the model itself.
        SeqartError: for no liked sequences or bad settings.
    """
    from seqart.models.folder import load_model
    from seqart.models.registry import model_type
    from seqart.train.config import TrainConfig
    from seqart.train.trainer import Trainer, seed_everything
    from seqart.utils.atomic import atomic_folder, write_json_atomic

    folder, meta = check_tunable(model, out, overwrite)
    if model_type(meta["model"]).outputs == "images":
        raise ModelError(f"{model}: a {meta['model']} model makes pictures; tune it on pictures with "
                         "seqart.workflows.tune_images.tune_images")
    out = Path(out).expanduser()
    liked = [np.asarray(s) for s in liked if len(s) >= 2]
    if not liked:
        raise FeedbackError("no liked melodies to tune on")
    if steps < 1:
        raise SeqartError(f"steps must be at least 1, got {steps}")
    tuner_cls = model_type(meta["model"]).tuner_class()
    base, tokenizer, _ = load_model(folder)
    seed_everything(seed)
    tuner = tuner_cls.from_base(base, tokenizer, unlikelihood=unlikelihood, anchor=anchor, replay=replay)
    corpus = replay_corpus(meta, tokenizer, replay_data)
    replay_seqs = corpus.split("train") if corpus is not None and replay > 0 else []
    general = None
    if corpus is not None and len(corpus.split("test")):
        general = corpus.split("test")
        if general_tunes and general_tunes < len(general):  # spread over the split: it is in source order
            picks = np.unique(np.linspace(0, len(general) - 1, general_tunes).round().astype(int))
            general = [general[i] for i in picks]
    validation = [np.asarray(s) for s in held_out if len(s) >= 2] or liked

    seq_len = min(max(len(s) for s in liked) - 1, tuner_cls.max_window, getattr(base.config, "context", 1 << 30))
    train = TrainConfig(steps=steps, batch_size=batch_size, seq_len=max(seq_len, 8), lr=lr, weight_decay=0.0,
                        warmup_steps=min(5, steps - 1), schedule="cosine", min_lr_ratio=0.1, grad_clip=1.0,
                        val_every=max(1, steps // 6), checkpoint_every=steps, log_every=max(1, min(10, steps)),
                        device=device, seed=seed, augment_transpose=max_transpose, threads=threads)
    disliked = [np.asarray(s) for s in disliked if len(s) >= 2] if unlikelihood > 0 else []
    train_data = tuner_cls.feedback_data(liked, disliked, replay_seqs, tokenizer, train, seed=seed)
    valid_data = tuner_cls.data(validation, tokenizer, train, seed=seed, training=False)

    settings = {"steps": steps, "lr": lr, "batch_size": batch_size, "unlikelihood": unlikelihood, "anchor": anchor,
                "replay": replay if replay_seqs else 0.0, "max_transpose": max_transpose, "seed": seed,
                "seq_len": train.seq_len}
    report = TuneReport(out=out, base=str(model), liked=len(liked), held_out=len(held_out),
                        disliked=len(disliked), skipped=list(skipped), settings=settings,
                        replay=str(corpus.folder) if replay_seqs else None)
    if general is not None:
        report.general_source = f"{len(general)} test tunes of {corpus.folder}"
    else:
        report.general_source = ("not measured: the model's training corpus "
                                 f"({meta.get('data') or 'unknown'}) is not on this machine")

    run_info = {key: meta[key] for key in ("data", "corpus_source") if key in meta}
    run_info.update({"tuned_from": str(folder), "tune": settings, **(info or {})})
    with atomic_folder(out) as staged:  # the tuned model folder appears whole, or not at all
        run = staged / ".run"
        # the training tunes' openings (and an event model's programs) still describe the style
        trainer = Trainer(tuner, tokenizer, train_data, valid_data, train, run, run_info=run_info,
                          progress=progress, on_log=on_log, sides_from=folder)
        report.liked_nll_before = tuner_cls.sequence_nll(tuner, validation, device=trainer.device)
        if general is not None:
            report.general_nll_before = tuner_cls.sequence_nll(tuner, general, device=trainer.device)
        started = time.perf_counter()
        summary = trainer.fit()
        report.seconds = time.perf_counter() - started
        report.steps = summary["step"]
        tuned, _, _ = load_model(run / "model", device=str(trainer.device))
        report.liked_nll_after = tuner_cls.sequence_nll(tuned, validation, device=trainer.device)
        if general is not None:
            report.general_nll_after = tuner_cls.sequence_nll(tuned, general, device=trainer.device)
        for f in (run / "model").iterdir():
            os.replace(f, staged / f.name)
        shutil.rmtree(run)
        write_json_atomic(staged / TUNE_REPORT, report.to_dict())
    return report


def feedback_sequences(store: FeedbackStore, samples: Sequence[Sample], tokenizer) -> tuple[list, list[str]]:
    """Encode recorded samples with ``tokenizer``.

    Returns:
        ``(encoded, skipped)``: one ``(sample, [token arrays])`` per usable sample (an
        ABC tune book gives several arrays), and ``"path: reason"`` per unusable one.
    """
    encoded, skipped = [], []
    for sample in samples:
        try:
            arrays = [np.asarray(tokenizer.encode(score), dtype=np.int64) for score in store.read_scores(sample)]
        except SeqartError as exc:
            skipped.append(f"{sample.path}: {exc}")
            continue
        encoded.append((sample, arrays))
    return encoded, skipped


def open_own_store(model: str | os.PathLike) -> FeedbackStore:
    """The feedback store of ``model`` (:func:`seqart.feedback.store.store_path`), opened to read.

    Raises:
        FeedbackError: if it does not exist (nothing rated for the model yet).
    """
    from seqart.feedback.store import store_path

    path = store_path(model)
    if not path.exists():
        raise FeedbackError(f"no liked samples for {model}: its feedback store {path} does not exist "
                            f"(rate some: seqart rate --like FILE --model {model})")
    return FeedbackStore(path, create=False)


def check_feedback(model: str | os.PathLike) -> tuple[int, int]:
    """``(liked, disliked)`` samples in the feedback store of ``model``, checked as
    :func:`tune_from_feedback` checks them, before any work (a caller that tunes in
    the background refuses at once what the tune would refuse later).

    Raises:
        FeedbackError: no store, or no liked sample in it.
    """
    with open_own_store(model) as store:
        liked, disliked = store.liked(), store.disliked()
        if not liked:
            raise _no_likes(store.path, model)
    return len(liked), len(disliked)


def _no_likes(path: Path, model: str | os.PathLike) -> FeedbackError:
    return FeedbackError(f"no liked samples in {path} (rate some: seqart rate --like FILE --model {model})")


def tune_from_feedback(model: str | os.PathLike, out: str | os.PathLike, store: FeedbackStore | None = None,
                       held_out_fraction: float = HELD_OUT_FRACTION, **options):
    """Fine-tune ``model`` on its feedback store: liked samples up, disliked ones down.

    A share of the liked samples (``held_out_fraction``, when there are 3 or more;
    chosen by content hash, so the same ones each time) is held out for validation
    and the before/after figure.

    An image model (its type's ``outputs`` is ``"images"``) is tuned on the pictures
    liked in its store instead, by
    :func:`seqart.workflows.tune_images.tune_images_from_feedback` (``options`` go there;
    ``held_out_fraction`` does not apply), which returns an
    :class:`~seqart.workflows.tune_images.ImageTuneReport`: it has ``to_dict()``,
    ``lines()`` and ``out`` as a :class:`TuneReport` has.

    Args:
        model: the shipped name or model folder whose store is read; never modified.
        out: the model folder to write.
        store: the store to read (default: the model's, see :func:`seqart.feedback.store.store_path`).
        held_out_fraction: share of liked samples held out, 0-0.5 (melody models).
        options: passed to :func:`tune` (``steps``, ``unlikelihood``, ``anchor``, ...).

    Returns:
        a :class:`TuneReport` (melody models) or an ``ImageTuneReport`` (image models).

    Raises:
        FeedbackError: if the store is missing or holds no usable liked sample.
    """
    from seqart.models.folder import load_tokenizer_of
    from seqart.models.loading import model_type_of

    kind = model_type_of(model)
    if kind.outputs == "images":
        from seqart.workflows.tune_images import tune_images_from_feedback

        return tune_images_from_feedback(model, out, store=store, **options)
    image_only = [name for name in IMAGE_ONLY if name in options]
    if image_only:
        raise SeqartError(f"{', '.join(image_only)} appl{'ies' if len(image_only) == 1 else 'y'} to image models; "
                          f"{model} is a {kind.name} model")
    if not 0 <= held_out_fraction <= 0.5:
        raise SeqartError(f"held-out fraction must be 0-0.5, got {held_out_fraction}")
    folder, _ = check_tunable(model, out, options.get("overwrite", False))
    own = store is None
    if own:
        store = open_own_store(model)
    try:
        liked, disliked = store.liked(), store.disliked()
        if not liked:
            raise _no_likes(store.path, model)
        tokenizer = load_tokenizer_of(folder)
        liked_enc, skipped = feedback_sequences(store, sorted(liked, key=lambda s: s.sha256), tokenizer)
        disliked_enc, skipped_d = feedback_sequences(store, disliked, tokenizer)
    finally:
        if own:
            store.close()
    if not liked_enc:
        raise FeedbackError(f"none of the {len(liked)} liked samples could be read (first: {skipped[0]})")
    n_held = round(len(liked_enc) * held_out_fraction) if len(liked_enc) >= 3 else 0
    held = [a for _, arrays in liked_enc[:n_held] for a in arrays]
    train_liked = [a for _, arrays in liked_enc[n_held:] for a in arrays]
    dis = [a for _, arrays in disliked_enc for a in arrays]
    info = {"feedback": {"store": str(store.path), "liked": len(liked_enc), "disliked": len(disliked_enc)}}
    return tune(model, train_liked, out, disliked=dis, held_out=held, info=info, skipped=skipped + skipped_d,
                **options)

