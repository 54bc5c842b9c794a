"""Image benchmark: FID-CNN, KID, precision/recall and digit-class coverage of trained image
models (``dcgan-28``, ``image-vae-28``, ...) on MNIST, beside the real-vs-real floor and the
blurred-test baseline.

Each run folder is sampled (``--num`` images, seed ``--seed``) and judged with
:mod:`seqart.images.evaluate` against as many MNIST test images; the two baselines use the
same number of images and the same reference. Targets (issue 6): a DCGAN's FID-CNN within
5x the real floor, an image VAE's below the blurred test images, and all 10 digits present
in the samples with none above 20 %. Training time is the wall time from the run's
``run.json`` (written when training starts) to its ``eval.json`` (written when it ends).

Usage::

    PYTHONPATH=. python bench/bench_images.py runs/dcgan-28 runs/image-vae-28 [--num 1000]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table, write_results  # noqa: E402


def run_facts(run: Path) -> dict:
    """Preset, model type, steps, threads and training minutes of a run folder."""
    info = json.loads((run / "run.json").read_text())
    meta = json.loads((run / "model" / "config.json").read_text())
    minutes = None
    if (run / "eval.json").is_file():
        minutes = ((run / "eval.json").stat().st_mtime - (run / "run.json").stat().st_mtime) / 60
    return {"preset": info.get("preset"), "model": meta["model"], "steps": meta.get("step"),
            "threads": info.get("train", {}).get("threads"), "train_minutes": minutes,
            "data": info.get("corpus_source"), "parameters": _parameters(run)}


def _parameters(run: Path) -> int | None:
    path = run / "eval.json"
    return json.loads(path.read_text()).get("parameters") if path.is_file() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run (or model) folders of image presets")
    parser.add_argument("--num", type=int, default=1000, help="samples per model (and reference images)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from seqart.models.images.sampler import ImageGenerator
    from seqart.images.evaluate import MAX_CLASS_SHARE, evaluate_images, load_classifier
    from seqart.models.registry import model_type

    clf = load_classifier(progress=print)
    rows, details, summary = [], [], {}
    baselines = None
    jobs = []
    for run in args.runs:
        facts = run_facts(run) if (run / "run.json").is_file() else {"model": None, "preset": run.name}
        jobs.append((run, facts, True, facts["preset"] or run.name))
        if getattr(ImageGenerator(run).model.config, "ema_decay", 0) > 0:  # also the trained G, unaveraged
            jobs.append((run, facts, False, f"{facts['preset'] or run.name} (no weight average)"))
    for run, facts, average, name in jobs:
        gen = ImageGenerator(run, average=average)
        ev = evaluate_images(gen.sample(args.num, seed=args.seed), seed=args.seed, classifier=clf)
        baselines = ev
        s = ev.samples
        ratio = s["fid_cnn"] / max(ev.real_floor["fid_cnn"], 1e-12)
        targets = ev.targets(model_type(gen.model_type).image_targets)
        rows.append({"name": name, "fid": s["fid_cnn"], "ratio": ratio, "kid": s["kid"],
                     "precision": s["precision"], "recall": s["recall"], "score": s["classifier_score"],
                     "present": s["classes"]["present"], "max_share": 100 * s["classes"]["max_share"],
                     "minutes": facts.get("train_minutes"), "steps": facts.get("steps"),
                     "targets": "yes" if all(targets.values()) else "NO",
                     "run": str(run)})
        details.append({"run": str(run), "name": name, "weight_average": average, **facts,
                        **ev.to_dict(model_type(gen.model_type).image_targets)})
        summary[f"{name} FID-CNN"] = round(s["fid_cnn"], 3)
        summary[f"{name} FID / floor"] = round(ratio, 2)
        summary[f"{name} targets met"] = all(targets.values())
    for label, key in (("real floor (train vs test)", "real_floor"), ("blurred test (sigma 1)", "blurred")):
        b = getattr(baselines, key)
        floor = max(baselines.real_floor["fid_cnn"], 1e-12)
        rows.append({"name": label, "fid": b["fid_cnn"], "ratio": b["fid_cnn"] / floor,
                     "kid": b["kid"], "precision": b["precision"], "recall": b["recall"],
                     "score": b["classifier_score"], "present": b["classes"]["present"],
                     "max_share": 100 * b["classes"]["max_share"]})
    summary["real floor FID-CNN"] = round(baselines.real_floor["fid_cnn"], 3)
    summary["blurred test FID-CNN"] = round(baselines.blurred["fid_cnn"], 3)
    summary["classifier test accuracy"] = clf.test_accuracy
    print_table(f"Image models on MNIST: {args.num} samples vs {args.num} test images (FID-CNN: lower is better)",
                [("model", "name", ""), ("FID-CNN", "fid", ".1f"), ("x floor", "ratio", ".2f"), ("KID", "kid", ".1f"),
                 ("prec", "precision", ".3f"), ("recall", "recall", ".3f"), ("digits", "present", "d"),
                 ("max %", "max_share", ".1f"), ("min", "minutes", ".1f"), ("steps", "steps", "d"),
                 ("targets", "targets", "")], rows,
                note=f"features: penultimate layer of an MNIST CNN (test accuracy {100 * clf.test_accuracy:.2f}%, "
                     f"trained in {clf.train_seconds:.0f} s on one thread); min: training wall minutes; targets: "
                     f"DCGAN FID within 5x the floor, VAE below blurred test, all 10 digits with none above "
                     f"{100 * MAX_CLASS_SHARE:.0f}%")
    path = write_results("images", {"runs": [str(r) for r in args.runs], "num": args.num, "seed": args.seed,
                                    "threads": args.threads}, rows, summary,
                         classifier={k: v for k, v in clf.info().items()}, details=details)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
