"""``seqart.train.train``: preset + corpus folder -> trained run folder."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from seqart.errors import SeqartError
from seqart.train.config import apply_overrides, get_preset


def train(preset: str, data: str | Path, out: str | Path, steps: int | None = None,
          overrides: list[str] | None = None, resume: bool = False, dry_run: bool = False,
          progress: bool = True, on_log=None) -> dict:
    """Train a preset on a built corpus.

    Args:
        preset: preset name (``seqart.train.config.PRESETS``).
        data: a corpus folder made by ``seqart corpus build``.
        out: the run folder.
        steps: override the preset's step count.
        overrides: ``key=value`` settings (training or model config).
        resume: continue the run in ``out`` from its last checkpoint.
        dry_run: one batch of training, validation, checkpointing and evaluation
            in a temporary folder; ``out`` is not touched.
        progress: show the progress bar.

    Returns:
        a summary: steps done, best valid loss, final valid/test figures, folders.

    Raises:
        SeqartError: for a bad preset, setting, corpus, or an ``out`` that holds
            another run while ``resume`` is False.
    """
    from seqart.corpora.dataset import CorpusDataset

    recipe = get_preset(preset)
    model_cfg, train_cfg = apply_overrides(recipe, list(overrides or []))
    if steps is not None:
        if steps < 1:
            raise SeqartError(f"--steps must be at least 1, got {steps}")
        train_cfg.steps = steps
    corpus = CorpusDataset.open(data)
    if corpus.representation != recipe.representation:
        raise SeqartError(
            f"{data} holds {corpus.representation!r} data; preset {preset} needs {recipe.representation!r} "
            f"(build it with: seqart corpus build SOURCE -o DIR --representation {recipe.representation})"
        )
    out = Path(out)
    if dry_run:
        train_cfg.steps, train_cfg.val_batches = 1, 1
        train_cfg.log_every = train_cfg.val_every = train_cfg.checkpoint_every = 1
        tmp = Path(tempfile.mkdtemp(prefix="seqart-dry-run-"))
        try:
            result = _run(recipe, model_cfg, train_cfg, corpus, tmp / "run", data, False, False, on_log)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        result["dry_run"] = True
        return result
    has_run = (out / "checkpoint").exists() or (out / "checkpoint.old").exists() or (out / "model").exists()
    if has_run and not resume:
        raise SeqartError(f"{out} already holds a run; add --resume to continue it, or choose another -o")
    if not has_run and out.exists() and any(out.iterdir()) and not (out / "run.json").exists():
        raise SeqartError(f"{out} exists and is not a seqart run folder; choose another -o")
    if resume and not has_run:
        raise SeqartError(f"{out} has no checkpoint to resume")
    return _run(recipe, model_cfg, train_cfg, corpus, out, data, resume, progress, on_log)


def _run(recipe, model_cfg, train_cfg, corpus, out: Path, data, resume: bool, progress: bool, on_log) -> dict:
    from seqart import __version__
    from seqart.models import model_class
    from seqart.train.trainer import Trainer, seed_everything
    from seqart.utils.atomic import write_json_atomic

    cls = model_class(recipe.model)
    tokenizer = corpus.tokenizer
    config = cls.config_from_dict({**model_cfg, **cls.data_config(tokenizer)})
    seed_everything(train_cfg.seed)
    model = cls(config)
    train_data = cls.data(corpus.split("train"), tokenizer, train_cfg, seed=train_cfg.seed, training=True)
    valid_seqs = corpus.split("valid")
    valid_data = cls.data(valid_seqs, tokenizer, train_cfg, seed=train_cfg.seed, training=False) if valid_seqs else None
    info = {"preset": recipe.name, "data": str(Path(data).resolve()), "seqart_version": __version__,
            "corpus_source": corpus.manifest.get("source")}
    trainer = Trainer(model, tokenizer, train_data, valid_data, train_cfg, out, run_info=info,
                      progress=progress, on_log=on_log)
    if resume and not trainer.resume():
        raise SeqartError(f"{out}: no usable checkpoint to resume")
    summary = trainer.fit()
    # Final figures of the best model on the held-out splits.
    from seqart.models.folder import load_model

    best, _, _ = load_model(out / "model", device=str(trainer.device))
    trainer.model = best
    figures = {}
    for split in ("valid", "test"):
        seqs = corpus.split(split)
        if seqs:
            figures[split] = trainer.evaluate(cls.data(seqs, tokenizer, train_cfg, seed=0, training=False),
                                              train_cfg.val_batches)
    evaluation = {"preset": recipe.name, "step": summary["step"], "train": asdict(train_cfg),
                  "parameters": best.num_parameters(), **figures}
    write_json_atomic(out / "eval.json", evaluation)
    write_json_atomic(out / "model" / "eval.json", evaluation)
    return {**summary, **figures, "run_dir": str(out), "model_dir": str(out / "model"),
            "unit": cls.item_name}
