"""Polyphonic benchmark table: test NLL (nats/frame) of trained frame models on the
four standard sets, beside the published figures and the independent-Bernoulli floor.

Every run folder given is evaluated on the dataset it was trained on (read from
its ``run.json``: the corpus built from ``JSB_Chorales.mat`` and so on), by the
protocol of ``seqart bench polyphonic``: frame-weighted, first frame included,
and the variant without first frames. Training time is the span of the run's
``metrics.jsonl``; the step of the kept (best-on-valid) weights comes from the
model folder.

Usage::

    PYTHONPATH=. python bench/bench_polyphonic.py runs/poly-*-jsb runs/poly-*-nottingham ...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table, write_results  # noqa: E402


def run_facts(run: Path) -> dict:
    """Dataset key, preset, training seconds, steps and kept step of a run folder."""
    from seqart.benchmarks.polyphonic import dataset_key

    info = json.loads((run / "run.json").read_text())
    manifest = json.loads((Path(info["data"]) / "manifest.json").read_text())
    source = Path(str(manifest.get("source", ""))).name
    times, last_step = [], 0
    with open(run / "metrics.jsonl", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            times.append(record["time"])
            last_step = max(last_step, record["step"])
    model_meta = json.loads((run / "model" / "config.json").read_text())
    return {"dataset": dataset_key(source) or source, "preset": info["preset"],
            "train_seconds": (max(times) - min(times)) if times else None, "steps": last_step,
            "kept_step": model_meta.get("step"), "augment": info["train"].get("augment_transpose", 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders of poly-lstm / poly-nade presets")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from seqart.benchmarks.polyphonic import DATASETS, REFERENCE, run_polyphonic_benchmark

    by_dataset: dict[str, list[tuple[Path, dict]]] = {}
    for run in args.runs:
        facts = run_facts(run)
        by_dataset.setdefault(facts["dataset"], []).append((run, facts))
    rows = []
    for key in [k for k in DATASETS if k in by_dataset]:
        runs = by_dataset[key]
        result = run_polyphonic_benchmark(key, [str(r) for r, _ in runs], device=args.device)
        baseline, *measured = result["rows"]
        rows.append({"dataset": DATASETS[key][1], "model": "independent Bernoulli (train)",
                     "nll": baseline.nll, "nll_drop_first": baseline.nll_drop_first})
        for (run, facts), row in zip(runs, measured):
            rows.append({"dataset": DATASETS[key][1], "model": f"{facts['preset']}"
                         + (f" +transpose {facts['augment']}" if facts["augment"] else ""),
                         "run": str(run), "nll": row.nll, "nll_drop_first": row.nll_drop_first,
                         "train_minutes": (facts["train_seconds"] or 0) / 60, "steps": facts["steps"],
                         "kept_step": facts["kept_step"]})
        for name, figures in REFERENCE.items():
            if key in figures and not name.startswith("Independent"):
                rows.append({"dataset": DATASETS[key][1], "model": f"{name} (published)", "nll": figures[key]})
    print_table("Polyphonic benchmark: test NLL, nats per frame (lower is better)",
                [("dataset", "dataset", ""), ("model", "model", ""), ("NLL/frame", "nll", ".3f"),
                 ("no first frames", "nll_drop_first", ".3f"), ("train min", "train_minutes", ".1f"),
                 ("steps", "steps", "d"), ("kept step", "kept_step", "d")], rows,
                note="frame-weighted over the whole test split; model selection on valid only")
    summary = {f"{r['dataset']} {r['model']}": round(r["nll"], 3) for r in rows if "run" in r}
    path = write_results("polyphonic", vars(args), rows, summary)
    print(f"figures written to {path}")


if __name__ == "__main__":
    main()
