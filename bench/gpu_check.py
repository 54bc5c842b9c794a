"""GPU check: every model family trains on CUDA in bf16 and fp16, resumes, and samples.

One command for a machine with a GPU. For each model family's preset and each
precision (bf16 autocast; fp16 autocast with loss scaling) it trains ``--steps``
steps with seqart's own ``train`` API, then loads the run's model folder and
samples from it; one run is stopped halfway (after a checkpoint) and resumed with
``resume=True``; and the trainer is timed against a bare bf16 PyTorch loop on the
same batches (``melody-lstm``). It prints one table and writes
``bench/results/gpu.json``. Where no CUDA GPU is found it says so and exits 0,
having run nothing (``--device cpu`` runs the same check on the CPU, in bf16 only:
a smoke test of the script).

The device machine lacks the packages that read music files (music21, symusic,
pretty_midi), so the data are built first, here::

    PYTHONPATH=. python bench/gpu_check.py --prepare bench/.cache/gpu_data    # CPU machine, a few minutes once
    PYTHONPATH=. python bench/gpu_check.py --data bench/.cache/gpu_data       # GPU machine, < 8 minutes

``--prepare`` builds a melody corpus (O'Neill's tunes, long enough for 16-bar
spans), a piano-roll corpus of JSB Chorales (``../shared/data/polyphonic``) and
copies MNIST (``../shared/data/images``) into one folder of about 15 MB, which
travels with the command.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO_ROOT, print_table, write_results  # noqa: E402

NAME = "gpu"
#: preset -> the data it trains on (a folder of ``--data``, or ``mnist``); the steps are scaled by the factor
FAMILIES = {
    "melody-lstm": ("melody", 1.0),
    "poly-lstm-jsb": ("jsb", 1.0),
    "poly-nade-jsb": ("jsb", 0.5),  # 88 note-LSTM steps per frame: the slowest step
    "melody-vae-2bar": ("melody", 1.0),
    "melody-vae-16bar": ("melody", 1.0),
    "dcgan-28": ("mnist", 1.0),
    "image-vae-28": ("mnist", 1.0),
}
PRECISIONS = ("bf16", "fp16")
#: the run stopped halfway and resumed
RESUMED = ("melody-lstm", "bf16")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepare", type=Path, default=None, metavar="DIR",
                        help="build the data the check trains on into DIR (needs music21, symusic) and stop")
    parser.add_argument("--data", type=Path, default=REPO_ROOT / "bench" / ".cache" / "gpu_data",
                        help="the folder --prepare made (default bench/.cache/gpu_data)")
    parser.add_argument("--melody-source", default="oneills", help="--prepare: melody corpus source (default oneills)")
    parser.add_argument("--limit", type=int, default=None, help="--prepare: first N tunes of the melody source")
    parser.add_argument("--steps", type=int, default=300, help="training steps per run (default 300)")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu for a smoke test")
    parser.add_argument("--precisions", default=",".join(PRECISIONS), help="comma-separated: bf16,fp16")
    parser.add_argument("--only", nargs="*", default=None, help="presets to run (default: one per family)")
    parser.add_argument("--budget", type=float, default=420.0,
                        help="seconds; rows not started by then are reported as skipped (default 420)")
    parser.add_argument("--timing-steps", type=int, default=200,
                        help="timed steps of the trainer-against-bare-loop comparison (default 200; 0 = skip)")
    parser.add_argument("--out", type=Path, default=None, help="keep the run folders here (default: a temporary folder)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting for every run, after the check's own (a smoke test: --set batch_size=4)")
    parser.add_argument("--no-results", action="store_true",
                        help="write no results file (default: bench/results/gpu.json; gpu_cpu.json for --device cpu)")
    return parser.parse_args(argv)


# ------------------------------------------------------------------ preparation
def prepare(args: argparse.Namespace) -> int:
    """Build the corpora and copy MNIST into ``args.prepare`` (on a machine that reads music files)."""
    from seqart.corpora import build_corpus
    from seqart.images.data import MNIST_FILES
    from seqart.utils.paths import find_shared

    out = args.prepare
    out.mkdir(parents=True, exist_ok=True)
    melody = build_corpus(args.melody_source, out / "melody", limit=args.limit, progress=True)
    print(f"melody: {melody.out_dir} ({melody.kept} tunes)")
    jsb_file = find_shared("data/polyphonic/JSB_Chorales.mat")
    mnist_file = find_shared(f"data/images/mnist/{MNIST_FILES['train_images']}")
    if jsb_file is None or mnist_file is None:
        raise SystemExit("error: ../shared/data (JSB_Chorales.mat, MNIST) not found; set SEQART_SHARED")
    jsb = build_corpus(jsb_file, out / "jsb", representation="pianoroll", progress=False)
    print(f"jsb: {jsb.out_dir} ({jsb.kept} chorales)")
    target = out / "shared" / "data" / "images" / "mnist"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(mnist_file.parent, target)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"ready: {out} ({size / 1e6:.1f} MB). On the GPU machine: PYTHONPATH=. python bench/gpu_check.py --data {out}")
    return 0


# ----------------------------------------------------------------------- one run
class Preempted(Exception):
    """Raised from the metrics hook to stop a run the way a preemption would (after a checkpoint)."""


def data_for(kind: str, data: Path) -> str:
    if kind == "mnist":
        return "mnist"
    return str(data / kind)


def train_row(preset: str, precision: str, args: argparse.Namespace, runs: Path) -> dict:
    """Train one preset at one precision; returns the table row (raises on failure)."""
    from seqart.train.config import parse_settings
    from seqart.workflows.train import train

    kind, factor = FAMILIES[preset]
    steps = max(2, int(args.steps * factor))
    log_every = max(1, steps // 10)
    overrides = [f"precision={precision}", f"device={args.device}", f"log_every={log_every}",
                 f"val_every={steps}", f"checkpoint_every={steps}", "val_batches=4", "checkpoint_minutes=0",
                 *args.overrides]
    records: list[dict] = []
    run = runs / f"{preset}-{precision}"
    started = time.perf_counter()
    resume = None
    if (preset, precision) == RESUMED:
        resume = resumed_run(preset, kind, steps, overrides, args, runs)
    result = train(preset, data_for(kind, args.data), run, steps=steps, settings=parse_settings(overrides), progress=False,
                   on_log=records.append)
    seconds = time.perf_counter() - started
    train_records = [r for r in records if r["split"] == "train"]
    loss_key = "loss" if "loss" in train_records[-1] else "d"
    later = train_records[1:] or train_records  # the first window holds CUDA start-up and autotuning
    span = later[-1]["time"] - later[0]["time"]
    steps_per_s = (later[-1]["step"] - later[0]["step"]) / span if len(later) > 1 and span > 0 else None
    row = {"model": preset, "precision": precision, "steps": result["step"], "seconds": seconds,
           "steps_per_s": steps_per_s,
           "items_per_s": sum(r["items_per_s"] for r in later) / len(later),
           "final_loss": train_records[-1][loss_key], "loss_name": loss_key,
           "valid_loss": result.get("valid", {}).get("loss"), "unit": result.get("unit")}
    finite = all(math.isfinite(v) for r in records for v in r.values() if isinstance(v, float))
    row["finite"] = finite
    if resume is not None:
        row.update(resume_verdict(resume, run))
    row["sample"] = sample_check(run / "model", args.device)
    return row


def resumed_run(preset: str, kind: str, steps: int, overrides: list[str], args: argparse.Namespace,
                runs: Path) -> dict:
    """Train ``preset`` with a checkpoint halfway, stop it just after that checkpoint, and
    run it again with ``resume=True`` to the end."""
    from seqart.train.config import parse_settings
    from seqart.workflows.train import train

    half = steps // 2
    run = runs / f"{preset}-resumed"
    settings = [o for o in overrides if not o.startswith("checkpoint_every")] + [f"checkpoint_every={half}"]

    def stop_after_half(record):
        if record["split"] == "train" and record["step"] > half:
            raise Preempted

    try:
        train(preset, data_for(kind, args.data), run, steps=steps, settings=parse_settings(settings), progress=False,
              on_log=stop_after_half)
    except Preempted:
        pass
    said: list[str] = []
    train(preset, data_for(kind, args.data), run, steps=steps, settings=parse_settings(settings), progress=False, resume=True,
          notify=said.append)
    return {"folder": run, "said": said, "half": half}


def resume_verdict(resume: dict, uninterrupted: Path) -> dict:
    """Did the second run start from the halfway checkpoint, and end near the uninterrupted run?
    (cuDNN's kernels are not bit-exact from run to run, so the weights are compared with a tolerance.)"""
    from safetensors.numpy import load_file

    a = load_file(str(uninterrupted / "checkpoint" / "model.safetensors"))
    b = load_file(str(resume["folder"] / "checkpoint" / "model.safetensors"))
    diff = max(float(abs(a[k].astype("float64") - b[k].astype("float64")).max()) for k in a)
    scale = max(float(abs(a[k].astype("float64")).max()) for k in a)
    expected = f"at step {resume['half']} of"
    ok = any(expected in line for line in resume["said"]) and diff <= 1e-2 * scale
    return {"resume": "ok" if ok else "FAIL", "resumed_at": resume["half"], "resume_max_abs_diff": diff,
            "resume_said": resume["said"]}


def sample_check(folder: Path, device: str) -> str:
    """Load a trained model folder with the generator its type uses and draw from it."""
    import numpy as np

    from seqart.models.folder import read_config

    model_type = read_config(folder)["model"]
    if model_type == "melody-lstm":
        import seqart

        scores = seqart.load(str(folder), device=device).sample(num=2, bars=4, seed=0)
        return f"ok: {sum(len(s.notes) for s in scores)} notes"
    if model_type in ("poly-lstm", "poly-nade"):
        from seqart.models.poly.sampler import FrameGenerator

        scores = FrameGenerator(folder, device=device).sample(num=2, bars=2, seed=0)
        return f"ok: {sum(len(s.notes) for s in scores)} notes"
    if model_type == "music-vae":
        from seqart.models.music_vae.sampler import MelodyVAE

        scores = MelodyVAE(folder, device=device).sample(2, seed=0)
        return f"ok: {sum(len(s.notes) for s in scores)} notes"
    from seqart.models.images.sampler import ImageGenerator

    images = ImageGenerator(folder, device=device).sample(num=4, seed=0)
    if images.dtype != np.uint8 or images.shape[0] != 4:
        return f"FAIL (images {images.dtype} {images.shape})"
    return f"ok: {images.shape[0]} images"


# ------------------------------------------------------------ trainer against a bare loop
class MarkedBatches:
    """A batch source that notes when batches ``first`` and ``last`` are asked for,
    after waiting for the device, so a timed window holds finished work only."""

    def __init__(self, source, first: int, last: int, device):
        self.source, self.first, self.last, self.device = source, first, last, device
        self.marks: dict[int, float] = {}

    def batch(self, index: int):
        if index in (self.first, self.last):
            import torch

            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.marks[index] = time.perf_counter()
        return self.source.batch(index)

    def eval_batches(self, max_batches=None):
        return self.source.eval_batches(max_batches)

    def seconds(self) -> float:
        return self.marks[self.last] - self.marks[self.first]


def timing_rows(args: argparse.Namespace, runs: Path) -> list[dict]:
    """``melody-lstm`` steps/s: a bare bf16 loop against ``Trainer.fit`` on the same batches."""
    import torch
    import torch.nn.functional as F

    from seqart.corpora import CorpusDataset
    from seqart.models import model_class
    from seqart.models.melody_lm.model import PAD
    from seqart.train.config import apply_settings, parse_settings
    from seqart.models.registry import get_preset
    from seqart.train.trainer import Trainer, lr_factor, pick_device, seed_everything

    recipe = get_preset("melody-lstm")
    timed = args.timing_steps
    warmup = min(10, timed)
    total = warmup + timed + 1
    model_cfg, train = apply_settings(recipe, {"device": args.device, "precision": "bf16", "steps": total,
                                               "log_every": total + 1, "val_every": total + 1,
                                               "checkpoint_every": total + 1, "checkpoint_minutes": 0,
                                               **parse_settings(args.overrides)})
    corpus = CorpusDataset.open(args.data / "melody")
    cls = model_class(recipe.model)
    config = cls.config_from_dict({**model_cfg, **cls.data_config(corpus.tokenizer)})
    device = pick_device(args.device)
    rows = []
    for variant in ("bare bf16 loop", "seqart Trainer"):
        seed_everything(train.seed)
        model = cls(config).to(device)
        data = MarkedBatches(cls.data(corpus.split("train"), corpus.tokenizer, train, seed=train.seed, training=True),
                             warmup, warmup + timed, device)
        if variant == "seqart Trainer":
            Trainer(model, corpus.tokenizer, data, None, train, runs / "timing", progress=False).fit()
        else:
            opt = model.configure_optimizers(train)["main"]
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, train))
            model.train()
            for step in range(total):
                batch = data.batch(step).to(device, non_blocking=True)  # (B, T + 1)
                with torch.autocast(device.type, dtype=torch.bfloat16):
                    logits, _ = model(batch[:, :-1])  # (B, T, V)
                    y = batch[:, 1:]
                    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1),
                                           ignore_index=PAD, reduction="sum") / (y != PAD).sum().clamp(min=1)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
                opt.step()
                sched.step()
        seconds = data.seconds()
        rows.append({"variant": variant, "steps": timed, "seconds": seconds, "steps_per_s": timed / seconds,
                     "tokens_per_s": timed * train.batch_size * train.seq_len / seconds})
    rows[1]["overhead_pct"] = 100 * (rows[1]["seconds"] / rows[0]["seconds"] - 1)
    return rows


# ------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.prepare is not None:
        return prepare(args)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU here, so nothing was run (it times training on a GPU; "
              "--device cpu runs it on the CPU as a smoke test)")
        return 0
    missing = [p for p in ("melody", "jsb", "shared") if not (args.data / p).is_dir()]
    if missing:
        raise SystemExit(f"error: {args.data} lacks {', '.join(missing)}: build it first with "
                         f"PYTHONPATH=. python bench/gpu_check.py --prepare {args.data}")
    os.environ["SEQART_SHARED"] = str((args.data / "shared").resolve())
    precisions = [p for p in args.precisions.split(",") if p]
    if args.device == "cpu" and "fp16" in precisions:
        print("gpu_check: fp16 autocast runs on CUDA only; the CPU runs bf16")
        precisions = [p for p in precisions if p != "fp16"]
    presets = args.only or list(FAMILIES)
    started = time.perf_counter()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="seqart-gpu-check-") as tmp:
        runs = args.out or Path(tmp)
        for preset in presets:
            for precision in precisions:
                if time.perf_counter() - started > args.budget:
                    rows.append({"model": preset, "precision": precision, "status": "skipped: time budget"})
                    continue
                try:
                    row = train_row(preset, precision, args, runs)
                    row["status"] = "ok" if row["finite"] and row["sample"].startswith("ok") else "FAIL"
                except Exception as exc:  # noqa: BLE001 - a row reports its failure and the check goes on
                    row = {"model": preset, "precision": precision,
                           "status": f"FAIL: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"}
                rows.append(row)
                print(f"{preset} {precision}: {row['status']} ({time.perf_counter() - started:.0f} s)", flush=True)
        timing = []
        if args.timing_steps and time.perf_counter() - started <= args.budget:
            timing = timing_rows(args, runs)
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    columns = [("model", "model", ""), ("precision", "precision", ""), ("steps", "steps", "d"),
               ("steps/s", "steps_per_s", ".1f"), ("items/s", "items_per_s", ",.0f"),
               ("final loss", "final_loss", ".3f"), ("valid loss", "valid_loss", ".3f"),
               ("resume", "resume", ""), ("sample", "sample", ""), ("s", "seconds", ".0f"), ("status", "status", "")]
    resumed = next((r for r in rows if "resumed_at" in r), None)
    note = ("items: tokens (melody-lstm), frames (poly), steps (VAE), images; the final loss is the last logged "
            "window's (GANs: the discriminator's)")
    if resumed is not None:
        note += (f"\nresume: {resumed['model']} {resumed['precision']} stopped after its checkpoint at step "
                 f"{resumed['resumed_at']} and run again with resume=True: {resumed['resume']}, largest weight "
                 f"difference from the uninterrupted run {resumed['resume_max_abs_diff']:.1e}")
    print_table(f"Training on {name} (torch {torch.__version__}), {args.steps} steps a run", columns, rows, note=note)
    if timing:
        print_table(f"melody-lstm on {name}: trainer against a bare bf16 loop, same batches", [
            ("variant", "variant", ""), ("steps", "steps", "d"), ("steps/s", "steps_per_s", ".1f"),
            ("tokens/s", "tokens_per_s", ",.0f"), ("overhead %", "overhead_pct", "+.1f")], timing)
    ok = sum(1 for r in rows if r.get("status") == "ok")
    summary = {"device": name, "rows_ok": ok, "rows": len(rows),
               "trainer_overhead_pct": timing[1]["overhead_pct"] if timing else None,
               "seconds": time.perf_counter() - started}
    print(f"{ok} of {len(rows)} runs ok in {summary['seconds']:.0f} s")
    if not args.no_results:
        path = write_results(NAME if args.device.startswith("cuda") else f"{NAME}_cpu",
                             {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                             [{k: v for k, v in r.items() if k != "resume_said"} for r in rows], summary, timing=timing)
        print(f"figures written to {path}")
    print(json.dumps(summary))
    return 0 if ok == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
