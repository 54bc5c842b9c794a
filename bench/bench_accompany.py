"""Accompaniment benchmark: written parts against the real ones, on held-out melodies.

For each of ``--pieces`` pieces of the **test** split of an events corpus built in
tracks order (Nottingham melody and chords, or the four-part chorales), the first
``--bars`` bars are cut; the track with the lowest program (the melody, the soprano)
is given to ``seqart accompany``'s model, which writes the other parts. The same
figures are measured on the real parts and on the written ones
(:mod:`seqart.evaluate.accompaniment`):

- **strong-beat coverage**: the share of melody notes on strong beats (4/4: beats 1
  and 3; 6/8: 1 and 4; 3/4 and 2/4: the downbeat) whose pitch class sounds in the parts;
- **in key**: the share of the parts' notes in the melody's key (Krumhansl-Schmuckler
  on the melody's notes weighted by duration; a minor key counts its raised seventh);
- **notes per bar** of the parts, and the share of bars where the parts are silent;
- with three or more parts (chorales): the share of eighth-note slices where a lower
  voice sounds above the given top voice, and where any voice crosses the one above
  it; parallel fifths and octaves per 100 moves; each voice's 5th-95th percentile range;
- seconds per piece (one accompaniment, NumPy on one thread).

Usage::

    PYTHONPATH=. python bench/bench_accompany.py --model RUN --data corpora/built/nottingham-tracks [--pieces 60] [--bars 16]
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
    parser.add_argument("--pieces", type=int, default=60, help="Test pieces (first ones in corpus order).")
    parser.add_argument("--bars", type=int, default=16, help="Bars of each piece (0: whole pieces).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of piece i is seed + i.")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--no-parallels", action="store_true",
                        help="accompany with parallel fifths and octaves forbidden (seqart accompany --no-parallels)")
    parser.add_argument("--name", default="accompany", help="Results file stem (bench/results/NAME.json).")
    return parser.parse_args()


def ordered(score, programs, fill: bool = False):
    """``score`` with one track per program of ``programs``, in that order: a program it
    lacks is an empty track with ``fill``, else the piece is skipped (None)."""
    from seqart.generate.events import new_track, program_code
    from seqart.score import Score

    by_code = {program_code(t): t for t in score.tracks}
    if not fill and set(by_code) != set(programs):
        return None
    return Score(tracks=[by_code.get(p) or new_track(p, []) for p in programs], time_signatures=score.time_signatures)


def measure(pieces: list, keys: list, voices: bool) -> dict:
    from seqart.evaluate.accompaniment import (
        VoiceLeading,
        in_key_share,
        strong_beat_coverage,
        voice_leading,
    )

    covered = strong = in_key = notes = silent = bars = 0
    lead = VoiceLeading()
    pitches: dict[int, list[int]] = {}
    for score, key in zip(pieces, keys):
        parts = list(range(1, len(score.tracks)))
        c, t = strong_beat_coverage(score, 0, parts)
        covered, strong = covered + c, strong + t
        k, n = in_key_share(score, parts, key)
        in_key, notes = in_key + k, notes + n
        starts = score.bar_starts(score.end + 1e-9)
        written = [n.start for i in parts for n in score.tracks[i].notes]
        for a, b in zip(starts[:-1], starts[1:]):
            bars += 1
            silent += not any(a <= s < b for s in written)
        if voices:
            lead = lead.add(voice_leading(score, list(range(len(score.tracks)))))
        for i, track in enumerate(score.tracks):
            pitches.setdefault(i, []).extend(n.pitch for n in track.notes)
    out = {"coverage": covered / max(strong, 1), "in_key": in_key / max(notes, 1),
           "notes_per_bar": notes / max(bars, 1), "silent_bars": silent / max(bars, 1)}
    if voices:
        out.update(cross_top=lead.crossings_below_top / max(lead.slices, 1), cross=lead.crossings / max(lead.slices, 1),
                   parallels=100 * lead.parallels / max(lead.moves, 1))
    out["ranges"] = {i: f"{int(np.percentile(v, 5))}-{int(np.percentile(v, 95))}" for i, v in pitches.items() if v}
    return out


def main() -> None:
    import seqart
    from seqart.corpora import CorpusDataset
    from seqart.key_finding import estimate_key
    from seqart.score import Score

    args = parse_args()
    corpus = CorpusDataset.open(args.data)
    tok = corpus.tokenizer
    gen = seqart.load(args.model)
    programs = sorted(gen.programs)
    real, written, keys, seconds = [], [], [], []
    for i, ids in enumerate(corpus.split("test")):
        if len(real) == args.pieces:
            break
        piece = ordered(tok.decode(np.asarray(ids)), programs)
        if piece is None:
            continue
        if args.bars:
            starts = piece.bar_starts(piece.end + 1e-9)
            piece = piece.slice(0.0, starts[min(args.bars, len(starts) - 1)])
        melody = piece.tracks[0]
        if not melody.notes:
            continue
        given = Score(tracks=[melody], time_signatures=piece.time_signatures)
        started = time.perf_counter()
        song = gen.accompany(given, num=1, seed=args.seed + i, temperature=args.temperature,
                             parallels=not args.no_parallels)[0]
        seconds.append(time.perf_counter() - started)
        song = Score(tracks=[song.tracks[0]] + ordered(Score(tracks=song.tracks[1:]), programs[1:], fill=True).tracks,
                     time_signatures=song.time_signatures)
        real.append(piece)
        written.append(song)
        keys.append(estimate_key(np.array([n.pitch for n in melody.notes]),
                                 np.array([n.duration for n in melody.notes])))
    voices = len(programs) >= 4
    rows = []
    for name, pieces in (("real parts", real), ("written", written)):
        row = {"set": name, **measure(pieces, keys, voices)}
        rows.append(row)
    for row in rows:
        row["ranges"] = ", ".join(f"{programs[int(i)]}: {r}" for i, r in row["ranges"].items())
    columns = [("set", "set", ""), ("strong-beat coverage", "coverage", ".3f"), ("in key", "in_key", ".3f"),
               ("part notes/bar", "notes_per_bar", ".2f"), ("silent bars", "silent_bars", ".3f")]
    if voices:
        columns += [("below-top crossings", "cross_top", ".3f"), ("any crossing", "cross", ".3f"),
                    ("parallel 5ths/8ves per 100 moves", "parallels", ".2f")]
    columns += [("ranges (program: 5th-95th pct)", "ranges", "")]
    print_table(f"{len(real)} held-out pieces of {args.data} ({args.bars or 'all'} bars), model {args.model}",
                columns, rows, note=f"seconds per piece: median {np.median(seconds):.2f}, max {max(seconds):.2f}")
    summary = {"coverage_real": rows[0]["coverage"], "coverage_written": rows[1]["coverage"],
               "in_key_written": rows[1]["in_key"], "seconds_median": float(np.median(seconds))}
    write_results(args.name, vars(args), rows, summary)


if __name__ == "__main__":
    main()
