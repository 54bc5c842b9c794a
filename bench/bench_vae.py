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
- **hierarchical minus flat**: when a flat and a hierarchical model of the same
  span length are given, the difference of their accuracies on the same spans,
  with a 95 % bootstrap interval over spans;
- **interpolation**: for ``--pairs`` random pairs of test spans, 11 melodies on
  the great circle between their codes: the mean fraction of steps that change
  between neighbouring melodies (smoothness; lower is smoother), the same for the
  two endpoints (how far apart the pairs are), and the fraction of interpolated
  melodies that decode to a valid score with at least one note;
- **prior samples**: ``--prior-samples`` melodies decoded from codes drawn from the
  prior (``z ~ N(0, I)``, or a learned prior of the bar codes)
  at temperature 0.5, on scale consistency, pitch-class entropy, note density
  and mean interval, beside the same figures of the test spans: what a code that
  carries more costs the prior's samples;
- **attribute shifts**: each attribute measured on the reconstructions
  (``z = mu``) and on the decodings of ``mu + amount * vector`` (amount 1): the
  mean before and after, and the fraction of spans that moved up;
- **use of the code** (``--z-usage``; :mod:`seqart.models.music_vae.diagnostics`):
  teacher-forced accuracy with the true code, a shuffled code and ``z = 0``,
  overall and per bar position, on all steps and on note-onset steps; under the
  table, per model, the KL per span and the active latent dimensions, the
  accuracy at bar starts (true code, shuffled code, the input carried over the
  bar line cut, the carried state cut) and the conductor's spread.

Reference (MusicVAE, Roberts et al. 2018, Table 1; Lakh MIDI melodies): 2-bar
flat 0.986 teacher-forced / 0.951 sampled; 16-bar flat 0.883 / 0.620,
hierarchical 0.919 / 0.812.

Usage::

    PYTHONPATH=. python bench/bench_vae.py RUN_OR_MODEL... --data CORPUS_DIR [--max-spans 2000]
        [--z-usage | --z-usage-only] [--name vae]
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


def accuracies(model, spans: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray, dict]:
    """Per-span (teacher-forced, sampled) step accuracy of reconstructions from ``mu``, each
    ``(N,)``, and the same two pooled over the note-onset steps only (``{"teacher_forced",
    "sampled"}``: steps whose target is a note, where an all-hold decoder scores nothing)."""
    import torch

    from seqart.models.music_vae.data import NOTE_BASE

    tf, greedy = [], []
    with torch.no_grad():
        for i in range(0, len(spans), batch):
            x = torch.from_numpy(spans[i: i + batch].astype(np.int64))
            mu, _ = model.encode(x)
            tf.append((model.reconstruct_logits(x, mu).argmax(-1) == x).numpy())
            greedy.append((model.decode(mu, greedy=True) == x).numpy())
    tf_hits, greedy_hits = np.concatenate(tf), np.concatenate(greedy)  # (N, T) bool
    onsets = spans >= NOTE_BASE
    onset = {"teacher_forced": float(tf_hits[onsets].mean()), "sampled": float(greedy_hits[onsets].mean())}
    return tf_hits.mean(1), greedy_hits.mean(1), onset


def paired_gain(a: np.ndarray, b: np.ndarray, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``b - a`` over the same spans and its 95 % bootstrap interval (spans resampled)."""
    d = b - a
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), (resamples, len(d)))].mean(1)
    return float(d.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def interpolation(vae, spans: np.ndarray, pairs: int, points: int = 11, seed: int = 0) -> dict:
    """Smoothness and decodability of interpolations between random test pairs."""
    from seqart.models.music_vae.sampler import slerp

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
    from seqart.models.music_vae.attributes import measure

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


PRIOR_METRICS = ("scale_consistency", "pitch_class_entropy", "note_density", "mean_interval")


def prior_samples(vae, spans: np.ndarray, num: int, temperature: float = 0.5, seed: int = 0) -> list[dict]:
    """Melodies decoded from codes drawn from the model's prior against the test spans, on
    four music metrics (``z ~ N(0, I)``, or a learned prior of the bar codes with the noise
    scaled by its ``prior_noise``: :meth:`MusicVAE.prior_codes`).

    The more a VAE's codes carry (its KL), the further the codes of real melodies
    can sit from the prior, and the less the prior's samples look like the data:
    this row shows what the reconstruction figures cost.
    """
    from seqart.evaluate import metrics

    z = vae.prior_codes(np.random.default_rng(seed).standard_normal((num, vae.config.latent_size)))
    noise = vae.config.prior_noise
    prior = "prior" if noise == 1.0 else f"prior (noise x{noise:g})"
    rows = []
    for what, classes in (("test spans", spans[:num]), (prior, vae._decode_codes(z, temperature, seed))):
        scores = [vae.score_of(row) for row in classes]
        scores = [s for s in scores if s.num_notes > 1]
        row = {"samples": what, "melodies": len(scores)}
        for name in PRIOR_METRICS:
            values = np.array([getattr(metrics, name)(s) for s in scores], dtype=float)
            row[name] = float(np.nanmean(values)) if len(values) else None
        rows.append(row)
    return rows


def z_usage_rows(name: str, usage) -> list[dict]:
    """The z-usage table's rows of one model (see :meth:`ZUsage.rows`)."""
    return [{"model": name, **row} for row in usage.rows()]


def z_usage_lines(name: str, usage) -> list[str]:
    """What is printed under the z-usage table for one model: KL, active dimensions, bar starts."""
    dims = len(usage.kl_per_dim)
    lines = [f"{name}: KL {usage.kl_total:.1f} nats/span ({usage.kl_total / np.log(2):.0f} bits); active dimensions "
             f"{usage.active_by_kl}/{dims} by KL > {usage.threshold} nats, {usage.active_by_variance}/{dims} by "
             f"Var(mu) > {usage.threshold}"]
    if usage.bar_start:
        parts = [f"{what} {usage.bar_start[what]:.3f} (onsets {usage.bar_start[what + ' onsets']:.3f})"
                 for what in ("true z", "shuffled z", "input cut", "state cut") if what in usage.bar_start]
        lines.append("  bar starts (bars 2..): " + "; ".join(parts))
    if usage.conductor_spread is not None:
        lines.append(f"  conductor spread {usage.conductor_spread:.3f} (0: the same bar embeddings for every span)")
    return lines


def print_z_usage(rows: list[dict], lines: list[str], bars: int) -> None:
    columns = [("model", "model", ""), ("z", "z", ""), ("steps", "steps", ""), ("all bars", "overall", ".3f")]
    columns += [(f"b{u}", f"bar{u}", ".2f") for u in range(1, bars + 1)]
    print_table("Use of the code: teacher-forced accuracy with the true, a shuffled and a zero z", columns, rows,
                note="shuffled z: each span decoded with another span's mu; onsets: steps whose target is a note "
                     "(an all-hold decoder scores 0 there); b1..: per bar position")
    for line in lines:
        print(line)
    print()


def print_sample_tables(interp_rows: list[dict], shift_rows: list[dict], prior_rows: list[dict]) -> None:
    """The interpolation, attribute-shift and prior-sample tables."""
    print_table("Interpolation between random test pairs (11 points, spherical)",
                [("model", "model", ""), ("change/step", "step_change", ".3f"), ("A vs B", "end_change", ".3f"),
                 ("decodable", "decodable", ".3f"), ("first = A", "endpoint_accuracy", ".3f")], interp_rows,
                note="change/step: fraction of 16th-note steps that differ between neighbouring melodies")
    print_table("Attribute vectors: shift by +1 on held-out spans",
                [("model", "model", ""), ("attribute", "attribute", ""), ("before", "before", ".3f"),
                 ("after", "after", ".3f"), ("raised", "raised", ".2f"), ("lowered", "lowered", ".2f")], shift_rows,
                note="before: measured on reconstructions (z = mu); after: on decodings of mu + vector")
    print_table("Samples from the prior against the test spans",
                [("model", "model", ""), ("samples", "samples", ""), ("melodies", "melodies", "d"),
                 ("scale consistency", "scale_consistency", ".3f"), ("pc entropy", "pitch_class_entropy", ".3f"),
                 ("notes/beat", "note_density", ".3f"), ("mean interval", "mean_interval", ".2f")], prior_rows,
                note="prior: decoded at temperature 0.5 from codes drawn from the model's prior (N(0, I), or its "
                     "learned prior of the bar codes); melodies with at least two notes; pc entropy in bits; "
                     "mean interval in semitones")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help="music-vae run or model folders")
    parser.add_argument("--data", type=Path, required=True, help="melody corpus folder (test split)")
    parser.add_argument("--max-spans", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--prior-samples", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--name", default="vae", help="results file stem: bench/results/NAME.json")
    parser.add_argument("--z-usage", action="store_true",
                        help="also measure how much each decoder uses its code (seqart.models.music_vae.diagnostics)")
    parser.add_argument("--z-usage-only", action="store_true",
                        help="the accuracy and code-use tables only (no interpolation, attribute or prior rows)")
    args = parser.parse_args()
    args.z_usage = args.z_usage or args.z_usage_only

    import torch

    from seqart.corpora.dataset import CorpusDataset
    from seqart.models.music_vae.sampler import MelodyVAE
    from seqart.models.music_vae.data import HOLD, extract_spans
    from seqart.models.folder import read_evaluation
    from seqart.models.music_vae.diagnostics import z_usage

    torch.set_num_threads(args.threads)
    corpus = CorpusDataset.open(args.data)
    rows, shift_rows, interp_rows = [], [], []
    prior_rows, usage_rows, usage_lines = [], [], []
    per_span = {}  # model name -> (config, spans, teacher-forced, sampled accuracy per span)
    for folder in args.models:
        vae = MelodyVAE(folder)
        c = vae.config
        spans = extract_spans(corpus.split("test"), corpus.tokenizer, c.bars, c.bar_steps)
        if len(spans) > args.max_spans:
            spans = spans[np.sort(np.random.default_rng(0).choice(len(spans), args.max_spans, replace=False))]
        t0 = time.perf_counter()
        tf_spans, greedy_spans, onset = accuracies(vae.model, spans)
        tf, greedy = float(tf_spans.mean()), float(greedy_spans.mean())
        ref = REFERENCE.get(c.bars, {}).get(c.decoder, (None, None))
        ev = read_evaluation(vae.folder) or {}
        name = f"{ev.get('preset', folder.name)} ({c.bars}-bar {c.decoder})"
        if name in per_span:
            name = f"{folder.name}: {name}"
        per_span[name] = (c, spans, tf_spans, greedy_spans)
        rows.append({"model": name, "folder": str(folder), "spans": len(spans), "teacher_forced": tf,
                     "sampled": greedy, "onset_teacher_forced": onset["teacher_forced"],
                     "onset_sampled": onset["sampled"], "hold_floor": float(np.mean(spans == HOLD)), "ref_tf": ref[0], "ref_sampled": ref[1],
                     "parameters": sum(p.numel() for p in vae.model.parameters()), "steps": ev.get("step"),
                     "seconds": time.perf_counter() - t0})
        if args.z_usage:
            usage = z_usage(vae.model, spans)
            usage_rows += z_usage_rows(name, usage)
            usage_lines += z_usage_lines(name, usage)
            rows[-1].update(kl=usage.kl_total, active_dims=usage.active_by_variance)
        if args.z_usage_only:
            continue
        interp_rows.append({"model": name, **interpolation(vae, spans, args.pairs)})
        prior_rows += [{"model": name, **r} for r in prior_samples(vae, spans, args.prior_samples)]
        for r in attribute_shifts(vae, spans[: min(len(spans), 1000)]):
            shift_rows.append({"model": name, **r})
    print_table("Melody VAE: reconstruction accuracy on held-out (test) spans",
                [("model", "model", ""), ("spans", "spans", "d"), ("TF", "teacher_forced", ".3f"),
                 ("sampled", "sampled", ".3f"), ("onset TF", "onset_teacher_forced", ".3f"),
                 ("onset sampled", "onset_sampled", ".3f"), ("hold floor", "hold_floor", ".3f"),
                 ("ref TF", "ref_tf", ".3f"), ("ref sampled", "ref_sampled", ".3f"), ("params", "parameters", ",d"),
                 ("steps", "steps", "d")],
                rows, note="accuracy per 16th-note step from z = mu(x): TF teacher-forced, sampled on the decoder's "
                "own argmax output; onset: on the steps whose target is a note; hold floor: all steps 'hold'; ref: MusicVAE on Lakh MIDI melodies")
    if usage_rows:
        print_z_usage(usage_rows, usage_lines, max(c.bars for c, *_ in per_span.values()))
    if not args.z_usage_only:
        print_sample_tables(interp_rows, shift_rows, prior_rows)
    gains = []
    for name, (c, spans, tf_h, greedy_h) in per_span.items():
        for flat_name, (fc, flat_spans, flat_tf, flat_greedy) in per_span.items():
            if c.decoder != "hierarchical" or fc.decoder != "flat" or not np.array_equal(flat_spans, spans):
                continue
            for what, a, b in (("teacher-forced", flat_tf, tf_h), ("sampled", flat_greedy, greedy_h)):
                mean, low, high = paired_gain(a, b)
                gains.append({"hierarchical": name, "flat": flat_name, "bars": c.bars, "accuracy": what,
                              "gain": mean, "low": low, "high": high, "spans": len(spans)})
    if gains:
        print_table("Hierarchical minus flat decoder, paired over the same test spans",
                    [("hierarchical", "hierarchical", ""), ("flat", "flat", ""), ("bars", "bars", "d"),
                     ("accuracy", "accuracy", ""), ("spans", "spans", "d"),
                     ("gain", "gain", "+.4f"), ("95 % low", "low", "+.4f"), ("95 % high", "high", "+.4f")], gains,
                    note="bootstrap over spans (2,000 resamples); a gain whose interval excludes 0 is not chance")
    summary = {r["model"]: {"teacher_forced": round(r["teacher_forced"], 4), "sampled": round(r["sampled"], 4),
                            "onset_teacher_forced": round(r["onset_teacher_forced"], 4),
                            "onset_sampled": round(r["onset_sampled"], 4)} for r in rows}
    path = write_results(args.name, {k: str(v) for k, v in vars(args).items()}, rows, summary,
                         interpolation=interp_rows, attributes=shift_rows, hierarchical_gain=gains,
                         prior=prior_rows, z_usage=usage_rows)
    print(f"figures written to {path}")


if __name__ == "__main__":
    main()
