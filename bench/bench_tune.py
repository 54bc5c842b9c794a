"""Tuning on feedback: does ``seqart tune`` move a model toward a liked style without forgetting the rest?

The protocol, on a built folk melody corpus and the model trained on it (the
shipped ``folk`` model and ``/work/build/folk_melody`` by default):

1. the "liked style" is one recognisable corner of the corpus: tunes from one
   source collection in one meter and mode (default: O'Neill's Music of Ireland,
   6/8, minor: Irish jigs in minor keys), read from the manifest's ``items``
   (``source``) and each tune's meter and key tokens;
2. ``--liked`` of its *train* tunes stand in for the liked samples, its *valid*
   tunes are the held-out part tuning validates on, and ``--disliked`` train
   tunes of a contrasting corner (default: Chinese Han folk songs in 2/4 major)
   stand in for the disliked samples;
3. :func:`seqart.workflows.tune.tune` fine-tunes the model with the one trainer
   (``--steps`` steps, one CPU thread by default);
4. mean NLL in nats per token, before and after, of the liked style's *test*
   tunes (never seen by the model nor the tuning), of the disliked corner's test
   tunes, and of the whole test split of the corpus (the general figure, which
   must not rise by more than 5 %).

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=. python bench/bench_tune.py [--model folk] [--data /work/build/folk_melody]
        [--steps 60] [--liked 20] [--disliked 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table, write_results  # noqa: E402

NAME = "tune"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="folk", help="melody-lstm model: shipped name or folder (default folk)")
    parser.add_argument("--data", default=None, help="the corpus it was trained on (default: its config's 'data')")
    parser.add_argument("--style", default="oneills1850:6/8:minor",
                        help="liked style SOURCE-PREFIX:METER:MODE (default oneills1850:6/8:minor)")
    parser.add_argument("--contrast", default="essenFolksong/han:2/4:major",
                        help="disliked corner, same form (default essenFolksong/han:2/4:major)")
    parser.add_argument("--liked", type=int, default=20, help="liked train tunes (default 20)")
    parser.add_argument("--disliked", type=int, default=10, help="disliked train tunes (default 10; 0: none)")
    parser.add_argument("--steps", type=int, default=60, help="tuning steps (default 60)")
    parser.add_argument("--lr", type=float, default=3e-4, help="peak learning rate (default 3e-4)")
    parser.add_argument("--batch-size", type=int, default=8, help="liked windows per step (default 8)")
    parser.add_argument("--unlikelihood", type=float, default=0.5, help="unlikelihood weight (default 0.5)")
    parser.add_argument("--anchor", type=float, default=0.01, help="L2 anchor weight (default 0.01)")
    parser.add_argument("--replay", type=float, default=1.0, help="replay NLL weight (default 1; 0: off)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="tune seed and tune choice (default 0)")
    return parser.parse_args(argv)


def parse_corner(text: str) -> tuple[str, tuple[int, int], str]:
    """``"oneills1850:6/8:minor"`` -> ``("oneills1850", (6, 8), "minor")``."""
    source, meter, mode = text.split(":")
    num, den = meter.split("/")
    return source, (int(num), int(den)), mode


def corner(corpus, spec: str, split: str) -> list:
    """Token arrays of ``split`` whose source starts with the prefix, in the meter and mode."""
    source, meter, mode = parse_corner(spec)
    tok = corpus.tokenizer
    out = []
    for seq, item in zip(corpus.split(split), corpus.items(split)):
        key = tok.key_of(int(seq[2]))
        if item["source"].startswith(source) and tok.meter_of(int(seq[1])) == meter and key and key.mode == mode:
            out.append(seq)
    return out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from seqart.corpora.dataset import CorpusDataset
    from seqart.models.melody_lm.tuning import sequence_nll
    from seqart.workflows.tune import tune
    from seqart.models.folder import load_model, read_config, resolve_model

    folder = resolve_model(args.model)
    data = args.data or read_config(folder).get("data")
    corpus = CorpusDataset.open(data)
    rng = np.random.default_rng(args.seed)

    def pick(seqs, n):
        if n > len(seqs):
            raise SystemExit(f"only {len(seqs)} tunes in that corner, asked for {n}")
        return [seqs[i] for i in sorted(rng.choice(len(seqs), size=n, replace=False))]

    liked = pick(corner(corpus, args.style, "train"), args.liked)
    held = corner(corpus, args.style, "valid")
    disliked = pick(corner(corpus, args.contrast, "train"), args.disliked) if args.disliked else []
    style_test, contrast_test, general = (corner(corpus, args.style, "test"), corner(corpus, args.contrast, "test"),
                                          corpus.split("test"))
    base, _, _ = load_model(folder)
    sets = {"liked style, test split": style_test, "disliked corner, test split": contrast_test,
            "general: whole test split": general}
    started = time.perf_counter()
    before = {name: sequence_nll(base, seqs) for name, seqs in sets.items()}
    eval_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="seqart-bench-tune-") as tmp:
        report = tune(folder, liked, Path(tmp) / "tuned", disliked=disliked, held_out=held, steps=args.steps,
                      lr=args.lr, batch_size=args.batch_size, unlikelihood=args.unlikelihood, anchor=args.anchor,
                      replay=args.replay, replay_data=data, general_tunes=64, threads=args.threads,
                      device="cpu", seed=args.seed)
        tuned, _, _ = load_model(Path(tmp) / "tuned")
        after = {name: sequence_nll(tuned, seqs) for name, seqs in sets.items()}

    rows = []
    for name, seqs in sets.items():
        rows.append({"set": name, "tunes": len(seqs), "tokens": int(sum(len(s) - 1 for s in seqs)),
                     "before": before[name], "after": after[name],
                     "change": 100.0 * (after[name] / before[name] - 1.0)})
    rows.append({"set": "tuning validation: liked style, valid split", "tunes": len(held),
                 "tokens": int(sum(len(s) - 1 for s in held)), "before": report.liked_nll_before,
                 "after": report.liked_nll_after,
                 "change": 100.0 * (report.liked_nll_after / report.liked_nll_before - 1.0)})
    general_change = rows[2]["change"]
    print_table(
        f"seqart tune: {args.model} on {len(liked)} liked ({args.style}) and {len(disliked)} disliked "
        f"({args.contrast}) tunes, {report.steps} steps in {report.seconds:.0f} s on {args.threads} thread(s)",
        [("held-out set", "set", ""), ("tunes", "tunes", ",d"), ("tokens", "tokens", ",d"),
         ("before nats/token", "before", ".4f"), ("after nats/token", "after", ".4f"), ("change %", "change", "+.1f")],
        rows,
        note=(f"general held-out NLL {'rose' if general_change > 0 else 'fell'} {abs(general_change):.1f} % "
              f"({'within' if general_change <= 5.0 else 'OVER'} the 5 % budget); "
              f"unlikelihood {args.unlikelihood}, anchor {args.anchor}, replay {args.replay if report.replay else 0}, "
              f"lr {args.lr}, batch {args.batch_size}; evaluating the base model took {eval_seconds:.0f} s"),
    )
    settings = {k: v for k, v in vars(args).items()}
    settings["data"] = str(data)
    path = write_results(NAME, settings, rows,
                         {"style_before": rows[0]["before"], "style_after": rows[0]["after"],
                          "general_before": rows[2]["before"], "general_after": rows[2]["after"],
                          "general_change_pct": general_change, "tune_seconds": report.seconds},
                         tune_report=report.to_dict())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
