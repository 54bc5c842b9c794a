"""Tuning image models on liked pictures: does ``seqart tune`` move a DCGAN's and an image VAE's
samples toward the pictures that were liked?

The protocol, on MNIST (``shared/data/images/mnist``), reproducible with one seed:

1. a base DCGAN and a base image VAE are trained briefly on MNIST (small widths and
   ``--base-steps`` steps, so the whole run stays within a few minutes on a CPU) and
   kept in ``bench/.cache/tune_images/`` for later runs;
2. a fixed rule stands in for the composer: of ``--pool`` pictures sampled from the
   base, it likes those the MNIST classifier (``seqart evaluate-images``' features)
   calls a ``--digit`` (default 3) with probability above 0.9;
3. :func:`seqart.workflows.tune_images.tune_images` tunes each model on its liked
   pictures with the one trainer (``--steps`` steps, half of each batch liked, half
   replayed MNIST training images);
4. the report's figures: the mean distance of 256 new pictures (the same latent codes
   before and after) to the nearest liked picture, in the classifier's 128-wide
   feature space, and to the nearest of 1,000 MNIST test images; and the share of those
   pictures the classifier calls the liked digit.

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=. python bench/bench_tune_images.py [--steps 150] [--digit 3]
        [--base-steps 1000] [--pool 256] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CACHE_DIR, print_table, write_results

NAME = "tune_images"
#: the base models: (preset, settings) trained on MNIST for --base-steps steps
BASES = {
    "dcgan": ("dcgan-28", {"latent_size": 64, "g_width": 32, "d_width": 32, "ema_decay": 0.99}),
    "image-vae": ("image-vae-28", {"width": 16, "hidden_size": 128, "kl_warmup_steps": 300, "batch_size": 64}),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=150, help="tuning steps per model (default 150)")
    parser.add_argument("--digit", type=int, default=3, help="the digit the rule likes (default 3)")
    parser.add_argument("--pool", type=int, default=256, help="base pictures the rule rates (default 256)")
    parser.add_argument("--base-steps", type=int, default=1000, help="training steps of the bases (default 1000)")
    parser.add_argument("--liked-share", type=float, default=0.5, help="liked share of each batch (default 0.5)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the bases, the pool and the tunes (default 0)")
    return parser.parse_args(argv)


def base_model(kind: str, steps: int, seed: int) -> tuple[Path, float]:
    """The cached base model folder of ``kind`` (trained first when absent) and the seconds training took."""
    from seqart.workflows.train import train

    preset, settings = BASES[kind]
    run = CACHE_DIR / "tune_images" / f"{kind}-{steps}-seed{seed}"
    if (run / "model" / "model.safetensors").is_file():
        return run / "model", 0.0
    started = time.perf_counter()
    train(preset, "mnist", run, steps=steps, progress=False,
          settings={**settings, "seed": seed, "val_every": steps, "checkpoint_every": steps, "log_every": 50})
    return run / "model", time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from seqart.images.evaluate import _run, load_classifier, to_digit_format
    from seqart.workflows.tune_images import sample_pictures, tune_images

    classifier = load_classifier(print)

    def digit_share(pictures) -> float:
        _, probs = _run(classifier.model, to_digit_format(pictures))
        return float((probs.argmax(1) == args.digit).mean())

    rows = []
    for kind in BASES:
        folder, train_seconds = base_model(kind, args.base_steps, args.seed)
        pool = sample_pictures(folder, args.pool, seed=args.seed + 1000)  # (N, 28, 28, 1): what the rule rates
        _, probs = _run(classifier.model, to_digit_format(pool))
        liked = pool[(probs.argmax(1) == args.digit) & (probs.max(1) > 0.9)].transpose(0, 3, 1, 2)  # (L, 1, 28, 28)
        if len(liked) == 0:
            raise SystemExit(f"{kind}: none of {args.pool} base pictures is a confident {args.digit}; raise --pool")
        with tempfile.TemporaryDirectory(prefix="seqart-bench-tune-images-") as tmp:
            out = Path(tmp) / "tuned"
            report = tune_images(folder, liked, out, steps=args.steps, liked_share=args.liked_share,
                                 threads=args.threads, device="cpu", seed=args.seed)
            share_before = digit_share(sample_pictures(folder, report.samples, report.seed))
            share_after = digit_share(sample_pictures(out, report.samples, report.seed))
        rows.append({"model": kind, "liked": len(liked), "steps": report.steps, "seconds": report.seconds,
                     "steps_per_s": report.steps / report.seconds, "base_seconds": train_seconds or None,
                     "liked_before": report.liked_distance_before, "liked_after": report.liked_distance_after,
                     "liked_change": 100.0 * report.liked_change,
                     "data_before": report.data_distance_before, "data_after": report.data_distance_after,
                     "share_before": 100.0 * share_before, "share_after": 100.0 * share_after})
    print_table(
        f"seqart tune on liked pictures: the rule likes the base pictures the MNIST classifier calls a {args.digit}; "
        f"{args.steps} steps on {args.threads} thread(s)",
        [("model", "model", ""), ("liked", "liked", "d"), ("steps", "steps", "d"), ("tune s", "seconds", ".1f"),
         ("steps/s", "steps_per_s", ".1f"), ("to liked: before", "liked_before", ".3f"),
         ("after", "liked_after", ".3f"), ("change %", "liked_change", "+.1f"),
         ("to data: before", "data_before", ".3f"),
         ("after", "data_after", ".3f"), (f"'{args.digit}' % before", "share_before", ".1f"),
         ("after", "share_after", ".1f")],
        rows,
        note=(f"distances: mean over {report.samples} new pictures (same latent codes before and after) of the "
              "Euclidean distance to the nearest liked picture / nearest of 1,000 MNIST test images, in the "
              f"128-wide features of the MNIST classifier; liked share {args.liked_share}, the rest replays MNIST; "
              f"bases: {args.base_steps} steps, cached in {CACHE_DIR / 'tune_images'}"),
    )
    path = write_results(NAME, vars(args), rows,
                         {f"{r['model']}_liked_change_pct": r["liked_change"] for r in rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
