"""Melody VAE benchmark: reconstruction accuracy, interpolation, attribute shifts.

For each trained ``music-vae`` model, on the **test** split of a melody corpus
(spans cut exactly as for training: bar-aligned, duple meters, at least one note
per bar, duplicates removed; at most ``--max-spans`` of them, drawn with a fixed
seed):

- **teacher-forced accuracy**: the fraction of steps whose likeliest class, given
  the true previous steps and ``z = mu(x)``, is the true one;
- **sampled accuracy**: the decoder runs on its own argmax output from
  ``z = mu(x)``; the fraction of steps equal to the input (MusicVAE's "sampling"
  column);
- **all-hold floor**: the accuracy of a decoder that emits "hold" at every step
  (the share of hold steps in the spans): the score of a model that ignores its
  input, and what a collapsed decoder reaches;
- **interpolation**: for ``--pairs`` random pairs of test spans, 11 melodies on
  the great circle between their codes: the mean fraction of steps that change
  between neighbouring melodies (smoothness; lower is smoother), the same for the
  two endpoints (how far apart the pairs are), and the fraction of interpolated
  melodies that decode to a valid score with at least one note;
- **attribute shifts**: each attribute measured on the reconstructions
  (``z = mu``) and on the decodings of ``mu + amount * vector`` (amount 1): the
  mean before and after, and the fraction of spans that moved up.

Reference (MusicVAE, Roberts et al. 2018, Table 1; Lakh MIDI melodies): 2-bar
flat 0.986 teacher-forced / 0.951 sampled; 16-bar flat 0.883 / 0.620,
hierarchical 0.919 / 0.812.

Usage::

    PYTHONPATH=. python bench/bench_vae.py RUN_OR_MODEL... --data CORPUS_DIR [--max-spans 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table, write_results  # noqa: E402

REFERENCE = {
    2: {"flat": (0.986, 0.951)},
    16: {"flat": (0.883, 0.620), "hierarchical": (0.919, 0.812)},
}


def accuracies(model, spans: np.ndarray, batch: int = 256) -> tuple[float, float]:
    """(teacher-forced, sampled) step accuracy of reconstructions from ``mu``."""
    import torch

    tf = greedy = 0
    with torch.no_grad():
        for i in range(0, len(spans), batch):
            x = torch.from_numpy(spans[i: i + batch].astype(np.int64))
            mu, _ = model.encode(x)
            tf += int((model.reconstruct_logits(x, mu).argmax(-1) == x).sum())
            greedy += int((model.decode(mu, greedy=True) == x).sum())
    return tf / spans.size, greedy / spans.size


def interpolation(vae, spans: np.ndarray, pairs: int, points: int = 11, seed: int = 0) -> dict:
    """Smoothness and decodability of interpolations between random test pairs."""
    from seqart.generate.latent import slerp

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(spans), size=(pairs, 2), replace=len(spans) < 2 * pairs)
    z = vae._encode_spans(spans[idx.reshape(-1)]).reshape(pairs, 2, -1)
    codes = np.stack([np.stack([slerp(za, zb, t) for t in np.linspace(0, 1, points)]) for za, zb in z])
    decoded = vae._decode_codes(codes.reshape(pairs * points, -1), 0.0, 0).reshape(pairs, points, -1)
    step_change = float(np.mean(decoded[:, 1:] != decoded[:, :-1]))
    end_change = float(np.mean(decoded[:, 0] != decoded[:, -1]))
    ok = 0
    for row in decoded.reshape(pairs * points, -1):
        try:
            ok += vae.score_of(row).num_notes > 0
        except Exception:  # noqa: BLE001 - counted as not decodable
            pass
    return {"step_change": step_change, "end_change": end_change, "decodable": ok / (pairs * points),
            "endpoint_accuracy": float(np.mean(decoded[:, 0] == spans[idx[:, 0]]))}


def attribute_shifts(vae, spans: np.ndarray, amount: float = 1.0) -> list[dict]:
    """Each attribute on reconstructions vs on decodings of ``mu + amount * vector``."""
    from seqart.models.attributes import measure

    mu = vae._encode_spans(spans)
    before = vae._decode_codes(mu, 0.0, 0)
    rows = []
    for name, vector in vae.attributes.items():
        after = vae._decode_codes(mu + amount * vector[None, :], 0.0, 0)
        a = measure(before, name, vae.config.steps_per_beat)
        b = measure(after, name, vae.config.steps_per_beat)
        ok = np.isfinite(a) & np.isfinite(b)
        rows.append({"attribute": name, "before": float(a[ok].mean()), "after": float(b[ok].mean()),
                     "raised": float(np.mean(b[ok] > a[ok])), "lowered": float(np.mean(b[ok] < a[ok]))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help="music-vae run or model folders")
    parser.add_argument("--data", type=Path, required=True, help="melody corpus folder (test split)")
    parser.add_argument("--max-spans", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from seqart.corpora.dataset import CorpusDataset
    from seqart.generate.latent import MelodyVAE
    from seqart.models.bar_spans import HOLD, extract_spans
    from seqart.models.folder import read_evaluation

    torch.set_num_threads(args.threads)
    corpus = CorpusDataset.open(args.data)
    rows, shift_rows, interp_rows = [], [], []
    for folder in args.models:
        vae = MelodyVAE(folder)
        c = vae.config
        spans = extract_spans(corpus.split("test"), corpus.tokenizer, c.bars, c.bar_steps)
        if len(spans) > args.max_spans:
            spans = spans[np.sort(np.random.default_rng(0).choice(len(spans), args.max_spans, replace=False))]
        t0 = time.perf_counter()
        tf, greedy = accuracies(vae.model, spans)
        ref = REFERENCE.get(c.bars, {}).get(c.decoder, (None, None))
        ev = read_evaluation(vae.folder) or {}
        name = f"{ev.get('preset', folder.name)} ({c.bars}-bar {c.decoder})"
        rows.append({"model": name, "folder": str(folder), "spans": len(spans), "teacher_forced": tf,
                     "sampled": greedy, "hold_floor": float(np.mean(spans == HOLD)), "ref_tf": ref[0], "ref_sampled": ref[1],
                     "parameters": sum(p.numel() for p in vae.model.parameters()), "steps": ev.get("step"),
                     "seconds": time.perf_counter() - t0})
        interp_rows.append({"model": name, **interpolation(vae, spans, args.pairs)})
        for r in attribute_shifts(vae, spans[: min(len(spans), 1000)]):
            shift_rows.append({"model": name, **r})
    print_table("Melody VAE: reconstruction accuracy on held-out (test) spans",
                [("model", "model", ""), ("spans", "spans", "d"), ("teacher-forced", "teacher_forced", ".3f"),
                 ("sampled (argmax)", "sampled", ".3f"), ("all-hold floor", "hold_floor", ".3f"),
                 ("MusicVAE TF", "ref_tf", ".3f"),
                 ("MusicVAE sampled", "ref_sampled", ".3f"), ("params", "parameters", ",d"), ("steps", "steps", "d")],
                rows, note="accuracy per 16th-note step from z = mu(x); MusicVAE figures are on Lakh MIDI melodies")
    print_table("Interpolation between random test pairs (11 points, spherical)",
                [("model", "model", ""), ("change/step", "step_change", ".3f"), ("A vs B", "end_change", ".3f"),
                 ("decodable", "decodable", ".3f"), ("first = A", "endpoint_accuracy", ".3f")], interp_rows,
                note="change/step: fraction of 16th-note steps that differ between neighbouring melodies")
    print_table("Attribute vectors: shift by +1 on held-out spans",
                [("model", "model", ""), ("attribute", "attribute", ""), ("before", "before", ".3f"),
                 ("after", "after", ".3f"), ("raised", "raised", ".2f"), ("lowered", "lowered", ".2f")], shift_rows,
                note="before: measured on reconstructions (z = mu); after: on decodings of mu + vector")
    summary = {r["model"]: {"teacher_forced": round(r["teacher_forced"], 4), "sampled": round(r["sampled"], 4)}
               for r in rows}
    path = write_results("vae", {k: str(v) for k, v in vars(args).items()}, rows, summary,
                         interpolation=interp_rows, attributes=shift_rows)
    print(f"figures written to {path}")


if __name__ == "__main__":
    main()
