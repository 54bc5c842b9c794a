"""Infilling benchmark: bars written again against the real bars, on held-out pieces.

For each of ``--pieces`` pieces of the **test** split of an events corpus built in
tracks order, the first ``--bars`` bars are kept and bars ``--span`` are written
again by ``seqart infill``'s model: of one track (``--track``, e.g. the chords) or of
every track. Three versions of the span are measured against the real span:

- **infill, N candidates**: what ``seqart infill`` writes (N spans written, one drawn
  in proportion to the model's probability of the bars after the span);
- **infill, 1 candidate**: the same with one candidate (the span fits what comes
  before only);
- **unconditional**: a sample of the model of as many bars (with the piece's meter),
  the same track kept: music of the right kind, fitting nothing.

Each version's span (the rewritten track, or all tracks) gets every
``seqart evaluate`` metric (:data:`seqart.evaluate.METRICS`); its distance from the
real span is the mean over metrics of ``|version - real| / sd``, sd being the
metric's spread over the real spans. The table gives the mean distance, the share of
pieces where the infilled span is closer than the unconditional one, and a 95 %
bootstrap interval of the paired difference. With ``--track``, the strong-beat
coverage of the melody by the span's written part is shown too (real parts beside it).

Usage::

    PYTHONPATH=. python bench/bench_infill.py --model RUN --data corpora/built/nottingham-tracks --span 5-8 [--track 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench._common import print_table, write_results


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="Events model (tracks order): run folder or shipped name.")
    parser.add_argument("--data", required=True, help="Events corpus in tracks order (its test split is used).")
    parser.add_argument("--pieces", type=int, default=40)
    parser.add_argument("--bars", type=int, default=12, help="Bars of each piece kept (the span must fit).")
    parser.add_argument("--span", default="5-8", help="Bars written again, from 1.")
    parser.add_argument("--track", type=int, default=None, help="Track written again, from 1 (default: all).")
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="infill", help="Results file stem (bench/results/NAME.json).")
    return parser.parse_args()


def span_of(score, start: float, end: float, track: int | None):
    """The notes of ``score`` (one track, or all) starting in ``[start, end)``, from beat 0."""
    from seqart.score import Score

    part = score.slice(start, end)
    if track is not None:
        part = Score(tracks=[part.tracks[track - 1]], time_signatures=part.time_signatures)
    return part


def metric_row(score) -> np.ndarray:
    from seqart.evaluate import METRICS, piece_metrics

    values = piece_metrics(score) if score.num_notes else {name: np.nan for name in METRICS}
    return np.array([values[name] for name in METRICS], dtype=float)


def main() -> None:
    import seqart
    from seqart.corpora import CorpusDataset
    from seqart.evaluate.accompaniment import strong_beat_coverage
    from seqart.generate.events import new_track
    from seqart.models.melody_lm.events_generator import parse_bar_span
    from seqart.score import Score

    args = parse_args()
    first, last = parse_bar_span(args.span)
    corpus = CorpusDataset.open(args.data)
    tok = corpus.tokenizer
    gen = seqart.load(args.model)
    versions = {"real": [], f"infill, {args.candidates} candidates": [], "infill, 1 candidate": [],
                "unconditional": []}
    coverage = {name: [0, 0] for name in versions}
    seconds = []
    for i, ids in enumerate(corpus.split("test")):
        if len(versions["real"]) == args.pieces:
            break
        piece = tok.decode(np.asarray(ids))
        starts = piece.bar_starts(piece.end + 1e-9)
        if len(starts) <= args.bars or len(piece.tracks) < 2:
            continue
        piece = piece.slice(0.0, starts[args.bars])
        span = (starts[first - 1], starts[last])
        seed = args.seed + i
        started = time.perf_counter()
        best = gen.infill(piece, (first, last), track=args.track, candidates=args.candidates, seed=seed)[0]
        seconds.append(time.perf_counter() - started)
        blind = gen.infill(piece, (first, last), track=args.track, candidates=1, seed=seed)[0]
        free = gen.sample(1, seed=seed, bars=last - first + 1,
                          time_signature=(piece.time_signature.numerator, piece.time_signature.denominator))[0]
        if args.track is not None:  # the unconditional sample's part of the same instrument
            program = piece.tracks[args.track - 1].program
            kept = [t for t in free.tracks if t.program == program and not t.is_drum]
            free = Score(tracks=kept or [new_track(program, [])],
                         time_signatures=free.time_signatures)
        measured = (("real", piece, span), (f"infill, {args.candidates} candidates", best, span),
                    ("infill, 1 candidate", blind, span), ("unconditional", free, (0.0, span[1] - span[0])))
        for name, score, where in measured:
            track = args.track if name != "unconditional" else (1 if args.track is not None else None)
            versions[name].append(metric_row(span_of(score, *where, track)))
            if args.track is not None and name != "unconditional":
                mel = Score(tracks=[score.tracks[0], score.tracks[args.track - 1]],
                            time_signatures=score.time_signatures).slice(*where)
                c, t = strong_beat_coverage(mel, 0, [1])
                coverage[name][0] += c
                coverage[name][1] += t
    real = np.stack(versions["real"])  # (pieces, metrics)
    sd = np.nanstd(real, axis=0)
    sd[~(sd > 0)] = np.nan

    def distance(rows: list[np.ndarray]) -> np.ndarray:
        return np.nanmean(np.abs(np.stack(rows) - real) / sd, axis=1)  # (pieces,)

    free_d = distance(versions["unconditional"])
    rng = np.random.default_rng(0)
    rows = []
    for name in list(versions)[1:]:
        d = distance(versions[name])
        row = {"version": name, "distance": float(np.nanmean(d))}
        if name != "unconditional":
            diff = free_d - d
            boot = [np.nanmean(diff[rng.integers(0, len(diff), len(diff))]) for _ in range(2000)]
            row.update(closer=float(np.mean(d < free_d)), gain=float(np.nanmean(diff)),
                       low=float(np.percentile(boot, 2.5)), high=float(np.percentile(boot, 97.5)))
        if args.track is not None and name != "unconditional":
            row["coverage"] = coverage[name][0] / max(coverage[name][1], 1)
        rows.append(row)
    columns = [("version", "version", ""), ("distance (sd)", "distance", ".3f"),
               ("closer than unconditional", "closer", ".2f"), ("gain (sd)", "gain", ".3f"),
               ("95 % low", "low", ".3f"), ("95 % high", "high", ".3f")]
    note = f"seconds per infill ({args.candidates} candidates): median {np.median(seconds):.2f}"
    if args.track is not None:
        columns.append(("strong-beat coverage", "coverage", ".3f"))
        note += f"; real parts' coverage {coverage['real'][0] / max(coverage['real'][1], 1):.3f}"
    what = f"track {args.track}" if args.track is not None else "all tracks"
    print_table(f"bars {args.span} of {what}, {len(real)} held-out pieces of {args.data}, model {args.model}",
                columns, rows, note=note)
    write_results(args.name, vars(args), rows, {r["version"]: r["distance"] for r in rows})


if __name__ == "__main__":
    main()
