"""Seconds per training step of the melody-VAE presets, with and without subnormal flushing.

A VAE's encoder receives its gradient only at its final state; flowing back
through hundreds of LSTM steps it shrinks into subnormal (denormal) floats, and
x86 cores handle those in microcode, tens of times slower than normal floats.
The trainer therefore calls ``torch.set_flush_denormal(True)`` on the CPU. This
benchmark shows what that is worth: for each preset, one training step
(forward, backward, AdamW update) on a random batch of the preset's shape,
timed ``--rounds`` times after ``--warmup`` untimed steps, with flushing off and
on. The model is built with the preset's config, a fixed seed and the preset's
batch size; the batch does not matter to the arithmetic's speed.

The table also shows the encoder's share: the same step's encoder alone
(forward and backward of its final state), where the slowdown lives.

Usage::

    PYTHONPATH=. python bench/bench_vae_step.py [--presets melody-vae-2bar melody-vae-16bar ...] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import busy_warning, print_table, write_results  # noqa: E402

def time_preset(name: str, flush: bool, warmup: int, rounds: int) -> dict:
    """Median seconds of one training step and of the encoder alone, for one preset."""
    import torch

    from seqart.models.music_vae.config import MusicVAEConfig
    from seqart.models.music_vae.model import MusicVAE
    from seqart.tokenizers.melody import MelodyTokenizer
    from seqart.train.config import apply_settings
    from seqart.models.registry import get_preset

    model_config, train = apply_settings(get_preset(name))
    data_config = MusicVAE.data_config(MelodyTokenizer())  # n_classes etc. of the default melody tokenizer
    n_classes = data_config["n_classes"]
    torch.set_flush_denormal(flush)
    torch.manual_seed(0)
    model = MusicVAE(MusicVAEConfig(**data_config, **model_config))
    model.trainer_step = 10**6  # past every warm-up: the full objective
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch = train.batch_size
    x = torch.randint(0, n_classes, (batch, model.config.span_steps), generator=torch.Generator().manual_seed(0))

    def step(_name, loss):
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def encoder_only():
        mu, sigma = model.encode(x)
        (mu.sum() + sigma.sum()).backward()

    def median_seconds(fn) -> float:
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    return {"preset": name, "flush": "on" if flush else "off", "batch": batch, "steps_per_span": model.config.span_steps,
            "step_s": median_seconds(lambda: model.training_step(x, step)),
            "encoder_s": median_seconds(encoder_only)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+",
                        default=["melody-vae-2bar", "melody-vae-16bar", "melody-vae-16bar-flat"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warning = busy_warning()
    if warning:
        print(warning)

    import torch

    torch.set_num_threads(args.threads)
    rows = []
    for name in args.presets:
        for flush in (False, True):
            rows.append(time_preset(name, flush, args.warmup, args.rounds))
        off, on = rows[-2], rows[-1]
        on["speedup"] = off["step_s"] / on["step_s"]
    torch.set_flush_denormal(False)
    print_table(f"Melody VAE training step, seconds (median of {args.rounds}, {args.threads} thread(s))",
                [("preset", "preset", ""), ("flush subnormals", "flush", ""), ("batch", "batch", "d"),
                 ("steps/span", "steps_per_span", "d"), ("step s", "step_s", ".3f"),
                 ("encoder s", "encoder_s", ".3f"), ("speed-up", "speedup", ".1f")], rows,
                note="encoder s: the bidirectional encoder's forward and backward alone")
    summary = {f"{r['preset']} flush {r['flush']}": round(r["step_s"], 4) for r in rows}
    path = write_results("vae_step", {k: str(v) for k, v in vars(args).items()}, rows, summary)
    print(f"figures written to {path}")


if __name__ == "__main__":
    main()
