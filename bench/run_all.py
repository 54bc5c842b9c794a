"""Run every seqart benchmark with its defaults, then print their headline figures.

Each benchmark runs as its own process (``python bench/<script>.py ...``, from the
repository root, with the repository on PYTHONPATH), prints its tables as it
goes and writes ``bench/results/<name>.json``; a failing benchmark is reported
and the others still run. The held-out NLL benchmark needs ``--model`` and
``--data``; the trainer benchmark uses ``--data`` when given; the sampling
benchmark uses the shipped ``folk`` model, or ``--sample-model``, or ``--model``.

``--quick`` passes tiny settings to every benchmark (a smoke test of a few
seconds each; its figures mean nothing).

Usage::

    PYTHONPATH=. python bench/run_all.py --model RUN/model --data CORPUS_DIR [--quick] [--only corpus trainer]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DIR, REPO_ROOT, RESULTS_DIR, print_table  # noqa: E402

#: benchmark name -> script (the name is also the results file stem)
SCRIPTS = {
    "corpus": "bench_corpus.py",
    "tokenizers": "bench_tokenizers.py",
    "melody_lm": "bench_melody_lm.py",
    "trainer": "bench_trainer.py",
    "sample": "bench_sample.py",
}

#: extra arguments of each benchmark under --quick
QUICK = {
    "corpus": ["--limit", "12"],
    "tokenizers": ["--files", "5", "--repeat", "1"],
    "melody_lm": [],
    "trainer": ["--steps", "3", "--warmup", "1", "--limit", "40", "--threads", "1", "--set", "batch_size=8", "--set", "seq_len=64"],
    "sample": ["--runs", "2"],
}

#: (benchmark, summary key, label, reference figure to compare with)
HEADLINES = [
    ("corpus", "cold_tunes_per_s", "corpus build, cold (tunes/s)", "plain music21: 7.2 (554 tunes in 77 s)"),
    ("corpus", "cached_tunes_per_s", "corpus build, cached (tunes/s)", "-"),
    ("corpus", "cold_speedup_vs_plain_music21", "cold build speed-up vs plain music21", "> 1"),
    ("tokenizers", "events_encode_notes_per_s", "events encode (notes/s)", "MidiTok REMI: 21.8k"),
    ("tokenizers", "remi_encode_notes_per_s", "MidiTok REMI encode here (notes/s)", "21.8k"),
    ("tokenizers", "events_decode_notes_per_s", "events decode (notes/s)", "MidiTok REMI: 80k"),
    ("tokenizers", "remi_decode_notes_per_s", "MidiTok REMI decode here (notes/s)", "80k"),
    ("melody_lm", "ngram_nats_per_token", "KN n-gram NLL (nats/token)", "-"),
    ("melody_lm", "lstm_nats_per_token", "LSTM NLL (nats/token)", "-"),
    ("melody_lm", "relative_reduction", "LSTM reduction vs n-gram", "target >= 0.15"),
    ("trainer", "bare_steps_per_s", "bare PyTorch loop (steps/s)", "-"),
    ("trainer", "trainer_steps_per_s", "seqart Trainer, quiet (steps/s)", "-"),
    ("trainer", "trainer_overhead_pct", "Trainer overhead, quiet (%)", "close to 0"),
    ("trainer", "trainer_default_logging_overhead_pct", "Trainer overhead, default logging (%)", "close to 0"),
    ("sample", "sample_median_s", "seqart sample, 16 bars (s)", "import torch alone: 2.1"),
    ("sample", "import_torch_median_s", "python -c 'import torch' here (s)", "2.1"),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="trained melody model folder (melody_lm; sample fallback)")
    parser.add_argument("--data", default=None, help="melody corpus folder (melody_lm, trainer)")
    parser.add_argument("--sample-model", default=None, help="model for the sampling benchmark (default folk)")
    parser.add_argument("--quick", action="store_true", help="tiny settings: a smoke test, not a measurement")
    parser.add_argument("--only", nargs="+", choices=list(SCRIPTS), default=None, help="run only these")
    parser.add_argument("--skip", nargs="+", choices=list(SCRIPTS), default=[], help="leave these out")
    return parser.parse_args(argv)


def sample_model(args: argparse.Namespace) -> str | None:
    """``--sample-model``, else the shipped ``folk`` model if it exists, else ``--model``."""
    if args.sample_model:
        return args.sample_model
    from seqart.models.folder import shipped_models

    return "folk" if "folk" in shipped_models() else args.model


def arguments(name: str, args: argparse.Namespace) -> tuple[list[str] | None, str]:
    """Command-line arguments of one benchmark, or None and the reason it cannot run."""
    extra = QUICK[name] if args.quick else []
    if name == "melody_lm":
        if not (args.model and args.data):
            return None, "needs --model and --data"
        return ["--model", args.model, "--data", args.data, *extra], ""
    if name == "trainer":
        return (["--data", args.data] if args.data else []) + extra, ""
    if name == "sample":
        model = sample_model(args)
        if model is None:
            return None, "no shipped 'folk' model yet: pass --sample-model or --model"
        return ["--model", model, *extra], ""
    return extra, ""


def run_one(name: str, argv: list[str]) -> tuple[int, float]:
    """Run one benchmark script, its output going straight to this terminal."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, str(BENCH_DIR / SCRIPTS[name]), *argv]
    print(f"$ {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    code = subprocess.run(cmd, cwd=REPO_ROOT, env=env).returncode
    return code, time.perf_counter() - start


def headline_rows(status: dict[str, str]) -> list[dict]:
    """One row per headline figure, read from the results files of the benchmarks that ran."""
    rows = []
    for name, key, label, reference in HEADLINES:
        if status.get(name) != "ok":
            continue
        summary = json.loads((RESULTS_DIR / f"{name}.json").read_text()).get("summary", {})
        rows.append({"figure": label, "value": summary.get(key), "reference": reference})
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n for n in (args.only or SCRIPTS) if n not in args.skip]
    status: dict[str, str] = {}
    for name in names:
        argv_, reason = arguments(name, args)
        if argv_ is None:
            status[name] = f"skipped: {reason}"
            print(f"--- {name}: skipped ({reason})\n", flush=True)
            continue
        code, seconds = run_one(name, argv_)
        status[name] = "ok" if code == 0 else f"failed (exit {code})"
        print(f"--- {name}: {status[name]} in {seconds:.0f} s\n", flush=True)
    quick_note = "--quick: tiny settings, the figures mean nothing" if args.quick else None
    print_table("Benchmarks", [("benchmark", "name", ""), ("status", "status", "")],
                [{"name": n, "status": s} for n, s in status.items()], note=quick_note)
    print_table("Headline figures", [("figure", "figure", ""), ("value", "value", "auto"),
                                     ("for comparison", "reference", "")], headline_rows(status), note=quick_note)
    return 0 if all(s == "ok" or s.startswith("skipped") for s in status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
