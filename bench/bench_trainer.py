"""Training speed (steps/s): seqart's ``Trainer`` against a bare PyTorch loop.

Every row trains a fresh :class:`seqart.models.melody_lm.model.MelodyLSTM` built from
the preset's model config with the same seed, on the same
:class:`seqart.models.melody_lm.data.TokenWindows` batches (batch ``i`` depends only
on the seed and ``i``), with the same AdamW settings, gradient clipping and
learning-rate schedule (:func:`seqart.train.trainer.lr_factor`), on the CPU with
the same number of torch threads:

- ``bare PyTorch loop``: forward, the model's loss written out, zero-grad,
  backward, ``clip_grad_norm_``, ``opt.step()``, ``sched.step()``; nothing else;
- ``seqart Trainer, quiet``: ``Trainer.fit`` with ``log_every``, ``val_every`` and
  ``checkpoint_every`` beyond the run, no progress bar: the per-step machinery only;
- ``seqart Trainer, default logging``: the same with the preset's ``log_every``
  (metrics.jsonl, TensorBoard when installed) and the progress bar that
  ``seqart train`` shows (on stderr).

Each run does ``--warmup`` untimed steps, then ``--steps`` timed ones, then one
more: the window runs from the moment batch ``warmup`` is requested to the moment
batch ``warmup + steps`` is, so the end-of-run validation, checkpoint and model
save fall outside it. With ``--rounds R`` the three runs are repeated R times,
interleaved, and the median is reported. Overhead is the extra time a step
takes against the bare loop.

Without ``--data`` a small corpus is built from the first ``--limit`` tunes of
``han`` into a temporary folder.

Usage::

    PYTHONPATH=. python bench/bench_trainer.py [--steps 30] [--data CORPUS_DIR] [--set batch_size=8 ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table, write_results  # noqa: E402

NAME = "trainer"
VARIANTS = ("bare PyTorch loop", "seqart Trainer, quiet", "seqart Trainer, default logging")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="melody corpus folder (default: build one from han)")
    parser.add_argument("--limit", type=int, default=100, help="han tunes for the corpus built without --data")
    parser.add_argument("--preset", default="melody-lstm", help="training preset (default melody-lstm)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per run (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved repetitions; median kept (default 1)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a preset setting, e.g. --set batch_size=8 (repeatable)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--steps and --rounds must be at least 1, --warmup at least 0")
    return args


# -------------------------------------------------------------- batches
class TimedBatches:
    """A BatchSource that notes when each training batch is asked for.

    Args:
        inner: the real BatchSource (``batch(i)``, ``eval_batches(...)``).
    """

    def __init__(self, inner):
        self.inner = inner
        self.requested: dict[int, float] = {}

    def batch(self, index: int):
        self.requested[index] = time.perf_counter()
        return self.inner.batch(index)

    def eval_batches(self, max_batches: int | None = None):
        return self.inner.eval_batches(max_batches)

    def window(self, first: int, count: int) -> tuple[float, list[float]]:
        """Seconds from the request of batch ``first`` to that of ``first + count``,
        and the length of each step in between."""
        marks = [self.requested[i] for i in range(first, first + count + 1)]
        return marks[-1] - marks[0], [b - a for a, b in zip(marks, marks[1:])]


# ---------------------------------------------------------------- setup
def corpus_folder(args: argparse.Namespace, tmp: Path) -> Path:
    """``--data``, or a corpus of the first ``--limit`` han tunes built in ``tmp``."""
    if args.data:
        return Path(args.data)
    from seqart.corpora import build_corpus

    report = build_corpus("han", tmp / "han", limit=args.limit, progress=False)
    print(f"built {report.out_dir} ({report.kept} sequences, {report.items.get('train', 0):,} train tokens) "
          f"in {report.seconds:.1f} s")
    return report.out_dir


def setup(args: argparse.Namespace, data: Path):
    """Model class, model config, training settings, train/valid sequences and tokenizer."""
    from seqart.corpora import CorpusDataset
    from seqart.models import model_class
    from seqart.train.config import apply_settings, parse_settings
    from seqart.models.registry import get_preset

    recipe = get_preset(args.preset)
    if recipe.model != "melody-lstm":
        raise SystemExit(f"error: preset {args.preset} trains {recipe.model}; the bare loop here is MelodyLSTM's")
    model_cfg, train_cfg = apply_settings(recipe, parse_settings(args.overrides))
    train_cfg = replace(train_cfg, steps=args.warmup + args.steps + 1, device="cpu", threads=args.threads,
                        seed=args.seed)
    corpus = CorpusDataset.open(data)
    cls = model_class(recipe.model)
    config = cls.config_from_dict({**model_cfg, "vocab_size": corpus.tokenizer.vocab_size})
    return cls, config, train_cfg, corpus.split("train"), corpus.split("valid"), corpus.tokenizer


def fresh_model(cls, config, seed: int):
    """A newly initialised model; every run starts from the same weights."""
    from seqart.train.trainer import seed_everything

    seed_everything(seed)
    return cls(config)


# ----------------------------------------------------------------- runs
def run_bare(model, data: TimedBatches, train) -> None:
    """The plain loop: what the Trainer does per step, with nothing around it."""
    import torch
    import torch.nn.functional as F

    from seqart.models.melody_lm.model import PAD
    from seqart.train.trainer import lr_factor

    opt = torch.optim.AdamW(model.parameters(), lr=train.lr, betas=(0.9, 0.99), weight_decay=train.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, train))
    model.train()
    for step in range(train.steps):
        batch = data.batch(step)  # (B, T + 1)
        x, y = batch[:, :-1], batch[:, 1:]
        logits, _ = model(x)  # (B, T, V)
        nll = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1),
                              ignore_index=PAD, reduction="sum")
        loss = nll / (y != PAD).sum().clamp(min=1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if train.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
        opt.step()
        sched.step()


def run_trainer(model, tokenizer, data: TimedBatches, valid, train, run_dir: Path, progress: bool) -> None:
    """``Trainer.fit`` into ``run_dir``."""
    from seqart.train.trainer import Trainer

    Trainer(model, tokenizer, data, valid, train, run_dir, progress=progress).fit()


def one_run(variant: str, ctx: dict, tmp: Path, index: int) -> tuple[float, list[float]]:
    """Train one variant; returns the timed window and its step lengths (seconds)."""
    cls, config, train, train_seqs, valid_seqs, tokenizer = ctx["setup"]
    quiet = {"log_every": train.steps + 1, "val_every": train.steps + 1, "checkpoint_every": train.steps + 1}
    settings = replace(train, **quiet)
    if variant == VARIANTS[2]:
        settings = replace(settings, log_every=train.log_every)
    model = fresh_model(cls, config, train.seed)
    data = TimedBatches(cls.data(train_seqs, tokenizer, settings, seed=train.seed, training=True))
    if variant == VARIANTS[0]:
        run_bare(model, data, settings)
    else:
        valid = cls.data(valid_seqs, tokenizer, settings, seed=train.seed, training=False) if valid_seqs else None
        run_trainer(model, tokenizer, data, valid, settings, tmp / f"run{index}", progress=variant == VARIANTS[2])
    return data.window(ctx["warmup"], ctx["steps"])


def measure(args: argparse.Namespace, ctx: dict, tmp: Path) -> list[dict]:
    """All variants, ``--rounds`` times interleaved; one row per variant (medians)."""
    windows: dict[str, list[float]] = {v: [] for v in VARIANTS}
    steps: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for r in range(args.rounds):
        for i, variant in enumerate(VARIANTS):
            seconds, lengths = one_run(variant, ctx, tmp, r * len(VARIANTS) + i)
            windows[variant].append(seconds)
            steps[variant].extend(lengths)
    train = ctx["setup"][2]
    tokens_per_step = train.batch_size * train.seq_len
    bare = statistics.median(windows[VARIANTS[0]])
    rows = []
    for variant in VARIANTS:
        seconds = statistics.median(windows[variant])
        rows.append({
            "variant": variant,
            "log_every": train.log_every if variant == VARIANTS[2] else None,
            "steps": args.steps,
            "seconds": seconds,
            "steps_per_s": args.steps / seconds,
            "tokens_per_s": tokens_per_step * args.steps / seconds,
            "median_ms_per_step": 1000 * statistics.median(steps[variant]),
            "overhead_pct": 100 * (seconds / bare - 1),
            "all_windows_s": windows[variant],
        })
    return rows


# ----------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    args.threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="seqart-bench-trainer-") as tmp:
        data = corpus_folder(args, Path(tmp))
        ctx = {"setup": setup(args, data), "warmup": args.warmup, "steps": args.steps}
        rows = measure(args, ctx, Path(tmp))
    train = ctx["setup"][2]
    columns = [("variant", "variant", ""), ("steps", "steps", "d"), ("seconds", "seconds", ".2f"),
               ("steps/s", "steps_per_s", ".3f"), ("tokens/s", "tokens_per_s", ",.0f"),
               ("median ms/step", "median_ms_per_step", ",.1f"), ("overhead %", "overhead_pct", "+.1f")]
    print_table(f"Training steps: {args.preset}, batch {train.batch_size} x {train.seq_len} tokens, "
                f"{args.threads} threads, {args.warmup} warm-up steps, {args.rounds} round(s)", columns, rows,
                note="MEASUREMENTS.md: LSTM 2x256, batch 64 x 128, Adam: 1.16 s a step (about 7.0k tokens/s).")
    summary = {"bare_steps_per_s": rows[0]["steps_per_s"], "trainer_steps_per_s": rows[1]["steps_per_s"],
               "trainer_overhead_pct": rows[1]["overhead_pct"],
               "trainer_default_logging_overhead_pct": rows[2]["overhead_pct"]}
    settings = {**vars(args), "data": str(data), "batch_size": train.batch_size, "seq_len": train.seq_len}
    path = write_results(NAME, settings, rows, summary)
    print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
