"""``seqart train`` as one call: a preset on a corpus (or, with ``init_from``, a trained
model on any music) -> a trained run folder."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Mapping

from seqart.errors import RunExistsError, SeqartError
from seqart.models.registry import get_preset
from seqart.train.config import apply_settings

#: the run folder's copy of the side files every saved model folder gets (``keys.json``, ...)
SIDES = "sides"


def train(preset: str, data: str | Path, out: str | Path, steps: int | None = None,
          settings: Mapping[str, Any] | None = None, resume: bool = False, dry_run: bool = False,
          progress: bool = True, on_log=None, init_from: str | Path | None = None,
          notify: Callable[[str], None] | None = None) -> dict:
    """Train a preset on a built corpus.

    Args:
        preset: preset name (``seqart presets`` lists them; :func:`seqart.models.registry.presets`).
        data: a corpus folder made by ``seqart corpus build``.
        out: the run folder.
        steps: override the preset's step count.
        settings: training or model config values by name, typed (``{"lr": 1e-3,
            "hidden_size": 512}``; see :func:`seqart.train.config.apply_settings`).
        resume: continue the run in ``out`` from its last checkpoint; where there is none
            yet (a first attempt, or one killed before its first checkpoint) the run
            starts from step 0, so the same command serves every attempt of a job that
            may be preempted.
        dry_run: one batch of training, validation, checkpointing and evaluation
            in a temporary folder; ``out`` is not touched.
        progress: show the progress bar.
        notify: called with one-line messages for the user: where a resumed run starts,
            and the build report of the data an ``init_from`` run built.
        init_from: a model to start from (shipped name or model/run folder) of the
            preset's model type: its architecture, tokenizer and weights, with the
            preset's training settings (see :mod:`seqart.workflows.start_from`). ``data``
            may then be any corpus source (a folder of music files, ...), built first
            into ``out/corpus`` with the model's tokenizer; the build report is
            ``result["data_report"]``.

    Returns:
        a summary: steps done, best valid loss, final valid/test figures, folders.

    Raises:
        SeqartError: for a bad preset, setting, corpus, or an ``out`` that holds
            another run while ``resume`` is False.
    """
    start = None
    if init_from is not None:  # fine-tuning: M's architecture, tokenizer and weights
        from seqart.workflows.start_from import data_report_lines, fine_tune_data, is_corpus_folder, start_model

        if not is_corpus_folder(data) and get_preset(preset).representation != "images":
            with fine_tune_data(init_from, preset, data, out, dry_run=dry_run, resume=resume,
                                progress=progress) as prepared:
                if notify is not None:
                    for line in data_report_lines(prepared):
                        notify(line)
                result = train(preset, prepared.corpus, out, steps, settings, resume, dry_run, progress, on_log,
                               init_from=init_from, notify=notify)
            return {**result, "data_report": prepared.report}
        start = start_model(init_from, get_preset(preset))
    recipe = get_preset(preset)
    if start is not None:
        recipe.model_config = dict(start.config)
    model_cfg, train_cfg = apply_settings(recipe, settings)
    if steps is not None:
        if steps < 1:
            raise SeqartError(f"steps must be at least 1, got {steps}")
        train_cfg.steps = steps
    corpus = open_training_data(data, recipe, model_cfg)
    if corpus.representation != recipe.representation:
        raise SeqartError(
            f"{data} holds {corpus.representation!r} data; preset {preset} needs {recipe.representation!r} "
            f"(build it with: seqart corpus build SOURCE -o DIR --representation {recipe.representation})"
        )
    new_tokens = 0
    if start is not None:
        from seqart.workflows.start_from import check_data_matches

        new_tokens = check_data_matches(start, corpus)
    out = Path(out)
    if dry_run:
        train_cfg.steps, train_cfg.val_batches = 1, 1
        train_cfg.log_every = train_cfg.val_every = train_cfg.checkpoint_every = 1
        tmp = Path(tempfile.mkdtemp(prefix="seqart-dry-run-"))
        try:
            result = _run(recipe, model_cfg, train_cfg, corpus, tmp / "run", data, False, False, on_log,
                          init=start.folder if start else None, new_tokens=new_tokens)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        result["dry_run"] = True
        return result
    check_run_folder(out, resume, corpus_inside=start is not None)
    return _run(recipe, model_cfg, train_cfg, corpus, out, data, resume, progress, on_log,
                init=start.folder if start else None, notify=notify, new_tokens=new_tokens)


def check_run_folder(out: Path, resume: bool, corpus_inside: bool = False) -> None:
    """Refuse to train into ``out`` when it holds a run and ``resume`` is False, or when it
    holds anything but a run (a run started from a model may already hold the corpus built
    for it, ``out/corpus``, when ``corpus_inside``).

    Raises:
        RunExistsError: a run is there and ``resume`` is False.
        SeqartError: ``out`` is a file, or a folder of something else.
    """
    from seqart.workflows.start_from import FROM_CORPUS

    has_run = (out / "checkpoint").exists() or (out / "checkpoint.old").exists() or (out / "model").exists()
    if has_run and not resume:
        raise RunExistsError(out)
    if out.exists() and not out.is_dir():
        raise SeqartError(f"{out} exists and is not a folder; choose another")
    if not has_run and out.exists() and not (out / "run.json").exists() \
            and any(p.name != FROM_CORPUS or not corpus_inside for p in out.iterdir()):
        raise SeqartError(f"{out} exists and is not a seqart run folder; choose another folder")


def train_in_processes(nproc: int, args: list[str], preset: str, data: str | Path, out: str | Path,
                       init_from: str | Path | None = None, resume: bool = False, dry_run: bool = False,
                       notify: Callable[[str], None] | None = None) -> int:
    """Run ``seqart train ARGS`` in ``nproc`` data-parallel processes under torchrun.

    A run that starts from a model (``init_from``) on a folder of music has its data
    built here, once, into ``out/corpus`` (its report goes to ``notify``), and the
    processes train on that corpus.

    Args:
        nproc: processes on this machine.
        args: the command's arguments after ``train`` (``--data`` among them).
        preset, data, out, init_from, resume, dry_run: as in :func:`train`.

    Returns:
        the exit status of torchrun.
    """
    from seqart.train.launch import launch_torchrun

    if init_from is None or get_preset(preset).representation == "images":
        return launch_torchrun(nproc, ["train", *args])
    from seqart.workflows.start_from import data_report_lines, fine_tune_data, is_corpus_folder

    if is_corpus_folder(data):
        return launch_torchrun(nproc, ["train", *args])
    with fine_tune_data(init_from, preset, data, out, dry_run=dry_run, resume=resume) as prepared:
        for line in data_report_lines(prepared) if notify is not None else ():
            notify(line)
        at = args.index("--data") + 1
        return launch_torchrun(nproc, ["train", *args[:at], str(prepared.corpus), *args[at + 1:]])


def open_training_data(data: str | Path, recipe, model_cfg: dict):
    """The data a preset trains on: a built corpus folder (:class:`~seqart.corpora.dataset.CorpusDataset`),
    or for an ``images`` preset an :class:`~seqart.images.data.ImageDataset` (an image folder,
    ``"mnist"`` or ``"digits"``) at the preset's size (and ``channels``, if set)."""
    if recipe.representation == "images":
        from seqart.images.data import ImageDataset

        return ImageDataset.open(data, size=model_cfg.get("size", 28), channels=model_cfg.get("channels"))
    from seqart.corpora.dataset import CorpusDataset

    return CorpusDataset.open(data)


def _run(recipe, model_cfg, train_cfg, corpus, out: Path, data, resume: bool, progress: bool, on_log,
         init: Path | None = None, notify: Callable[[str], None] | None = None, new_tokens: int = 0) -> dict:
    from seqart import __version__
    from seqart.models import model_class
    from seqart.train.trainer import Trainer, seed_everything

    cls = model_class(recipe.model)
    tokenizer = corpus.tokenizer
    config = cls.config_from_dict({**model_cfg, **cls.data_config(tokenizer)})
    seed_everything(train_cfg.seed)
    model = cls(config)
    if init is not None:
        from seqart.workflows.start_from import load_start_weights

        load_start_weights(model, init, new_tokens)
    if train_cfg.teacher:
        attach_teacher(model, train_cfg, tokenizer)
    train_data = cls.data(corpus.split("train"), tokenizer, train_cfg, seed=train_cfg.seed, training=True,
                          config=config)
    valid_seqs = corpus.split("valid")
    valid_data = (cls.data(valid_seqs, tokenizer, train_cfg, seed=train_cfg.seed, training=False, config=config)
                  if len(valid_seqs) else None)
    data_name = str(Path(data).resolve()) if Path(data).exists() else str(data)  # or a name: "mnist"
    info = {"preset": recipe.name, "data": data_name, "seqart_version": __version__,
            "corpus_source": corpus.manifest.get("source")}
    if init is not None:
        info["init_from"] = str(init)
    trainer = Trainer(model, tokenizer, train_data, valid_data, train_cfg, out, run_info=info,
                      progress=progress, on_log=on_log, sides_from=out / SIDES)
    if trainer.dist.is_main:
        model.save_data_files(out / SIDES, corpus, tokenizer)
    if resume:
        resumed = trainer.resume()
        if notify is not None and trainer.dist.is_main:
            notify(f"resuming {out} at step {trainer.step} of {train_cfg.steps}" if resumed
                   else f"no checkpoint in {out} yet: starting the run from step 0")
    summary = trainer.fit()
    if trainer.dist.enabled:  # the final figures are rank 0's job; the others are done
        from seqart.train.distributed import DistContext, shutdown

        trainer.dist.barrier()
        trainer.ddp = None  # free DDP's reducer while the process group it uses still exists
        ctx, trainer.dist = trainer.dist, DistContext()
        if not ctx.is_main:
            shutdown(ctx)
            return {**summary, "run_dir": str(out), "model_dir": str(out / "model"), "unit": cls.item_name,
                    "rank": ctx.rank}
        try:
            return _finish(recipe, cls, corpus, tokenizer, config, train_cfg, trainer, summary, out)
        finally:
            shutdown(ctx)
    return _finish(recipe, cls, corpus, tokenizer, config, train_cfg, trainer, summary, out)


def attach_teacher(model, train_cfg, tokenizer) -> None:
    """Make ``model`` distil from ``train_cfg.teacher`` (a model folder or shipped name) with
    ``train_cfg.teacher_weight`` (see :meth:`~seqart.models.melody_lm.objective.NextTokenLM.distil_from`).

    Raises:
        SeqartError: one line, when either model is not a next-token melody model or the
            teacher reads other tokens than the corpus.
    """
    from seqart.models.folder import load_model
    from seqart.models.melody_lm.objective import NextTokenLM

    if not isinstance(model, NextTokenLM):
        raise SeqartError(f"teacher: only next-token melody models distil, not a {model.registry_name}")
    teacher, teacher_tokens, _ = load_model(train_cfg.teacher)
    if not isinstance(teacher, NextTokenLM):
        raise SeqartError(f"teacher {train_cfg.teacher} is a {teacher.registry_name}, not a next-token melody model")
    if teacher_tokens != tokenizer:
        raise SeqartError(f"teacher {train_cfg.teacher} reads other tokens than the corpus "
                          "(a corpus built with its tokenizer settings distils from it)")
    model.distil_from(teacher, train_cfg.teacher_weight)


def _finish(recipe, cls, corpus, tokenizer, config, train_cfg, trainer, summary, out: Path) -> dict:
    """Final figures of the best model on the held-out splits; ``eval.json``."""
    from seqart.models.folder import load_model
    from seqart.utils.atomic import write_json_atomic

    best, _, _ = load_model(out / "model", device=str(trainer.device))
    trainer.model = best
    best.after_training(out / "model", corpus, tokenizer)
    figures = {}
    for split in ("valid", "test"):
        seqs = corpus.split(split)
        if len(seqs):
            # the whole split (val_batches limits only the checks during training)
            figures[split] = trainer.evaluate(cls.data(seqs, tokenizer, train_cfg, seed=0, training=False, config=config))
    evaluation = {"preset": recipe.name, "step": summary["step"], "train": asdict(train_cfg),
                  "parameters": best.num_parameters(), **figures}
    write_json_atomic(out / "eval.json", evaluation)
    write_json_atomic(out / "model" / "eval.json", evaluation)
    return {**summary, **figures, "run_dir": str(out), "model_dir": str(out / "model"),
            "unit": cls.item_name}
