"""Musical form of generated melodies against the held-out tunes of their corpus.

Generates ``--num`` melodies of ``--bars`` bars per meter (and per temperature,
and per style with ``--styles``) with ``seqart.load(MODEL).sample(...)``, or
reads already generated files from ``--samples-dir``, and compares them with the
test split of the built corpus (``--data``), grouped by meter (the meter bars are
counted in, see :mod:`seqart.evaluate.form`) and, where the decoded scores
(``score.style``) or the manifest's items (``"style"``) name a style, by style.

Rows (means over the pieces of a column where the metric is defined):

- every form metric of :data:`seqart.evaluate.form.FORM_METRICS` (a 1/0 flag's
  mean is the share of pieces);
- ``overlap``: the mean, over the per-piece metrics of
  :data:`seqart.evaluate.METRICS`, of the overlap area between the generated
  column's distribution and its reference column's (as ``seqart evaluate``);
- ``memorised``: the share of pieces sharing a run of 16 or more notes
  (intervals and onsets, any transposition) with a tune of the train split; on a
  reference column, the test tunes' own share (the floor: folk collections hold
  variants of one tune);
- ``pieces``: how many pieces the column holds.

With ``--continue-style reel`` (the default; ``""`` skips it) a table asks
whether continuations return to the primer's material as the style does: the
first 4 full bars (and any pickup) of each test tune of that style are the
primer, continued by 4 bars (``ending="free"``); the figure is the share of tunes
whose bars 5-6 restate bars 1-2 (similarity >= 0.6, exact pitches, as
:func:`seqart.evaluate.form.bars_similarity` measures), for the real tunes and
for the continuations, and the mean similarity.

A second table calibrates the ``overlap`` row (``--no-overlap-check`` skips it): per
meter, the overlap of length-matched samples (each as many full bars as a test tune
drawn at random) and of ``--num`` real tunes of the valid split, whole, against the
same test tunes; see :func:`overlap_check`.

With ``--form AABB`` a further table samples ``--num`` melodies with that form (in the
style of ``--form-style``, default reel) and measures, for every pair of sections,
their similarity (:func:`seqart.evaluate.form.bars_similarity` over the section's
8 bars): sections sharing a letter should be recognisably alike (>= 0.6), sections
with different letters not.

The overlap of 64 melodies moves by 0.015-0.02 from seed to seed, so a last table
(``--overlap-seeds 6``; 0 skips it) gives the ``overlap`` figure of default sampling
over seeds 0 to N-1 (mean, sd, range) beside seeded draws of real valid-split tunes;
see :func:`overlap_seeds`. Likewise each style of ``--styles`` gets its notes per bar,
rest share and repeated-note share over ``--style-seeds`` seeds (default 6) beside
its test tunes' and, as a larger reference, its train tunes' (:func:`style_seeds`),
and the band such a figure spans over random sets of as many real tunes as the test
split holds (:func:`real_sets`): few test tunes of a style rest at all.

Usage::

    PYTHONPATH=. python bench/bench_form.py --model folk --data corpora/built/folk [--num 64]
        [--meters 4/4,6/8] [--temperatures model,1.0] [--styles reel,jig] [--samples-dir DIR]
        [--reference-group auto|meter] [--continue-style reel] [--overlap-seeds 6] [--style-seeds 6] [--pickup]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table, write_results  # noqa: E402

NAME = "form"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="folk", help="shipped model name or model folder (default folk)")
    parser.add_argument("--data", required=True, help="built melody corpus folder (its test split is the reference)")
    parser.add_argument("--num", type=int, default=64, help="melodies generated per meter, style and temperature")
    parser.add_argument("--meters", default=None,
                        help="comma-separated meters (default 4/4,6/8; with --samples-dir: every meter found)")
    parser.add_argument("--temperatures", default="model",
                        help="comma-separated sampling temperatures; 'model' (default): the model's own")
    parser.add_argument("--styles", default="",
                        help="comma-separated styles to generate (the model must take style=), in the meter the "
                             "model gives each style; 'default' (or '-') is sampling without a style, per meter")
    parser.add_argument("--bars", type=int, default=16, help="bars per generated melody (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--samples-dir", default=None, help="judge these generated files instead of sampling")
    parser.add_argument("--continue-style", default="reel",
                        help="style whose test tunes' first 4 bars are continued (default reel; '' skips it)")
    parser.add_argument("--form", default="", help="also sample with this form (e.g. AABB) and measure its sections")
    parser.add_argument("--form-style", default="reel", help="style of the --form samples (default reel)")
    parser.add_argument("--no-overlap-check", dest="overlap_check", action="store_false",
                        help="skip the overlap table of length-matched samples and real (valid split) tunes")
    parser.add_argument("--pickup", action="store_true",
                        help="sample with pickup=True: melodies may open with an upbeat (every sampled figure)")
    parser.add_argument("--overlap-seeds", type=int, default=6,
                        help="seeds of the overlap-over-seeds table (default 6; 0 skips it)")
    parser.add_argument("--style-seeds", type=int, default=6,
                        help="seeds of the table of each --styles style's notes per bar, rests and repeated notes "
                             "(default 6; 0 skips it)")
    parser.add_argument("--reference-group", choices=("auto", "meter"), default="auto",
                        help="auto: by meter, and by style where the corpus names styles; meter: by meter only")
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error("--num must be at least 1")
    if args.overlap_seeds < 0 or args.style_seeds < 0:
        parser.error("--overlap-seeds and --style-seeds must be 0 or more")
    args.meter_list = [m.strip() for m in args.meters.split(",") if m.strip()] if args.meters else []
    if not args.meter_list and not args.samples_dir:
        args.meter_list = ["4/4", "6/8"]
    args.style_list = ["" if s.strip() in ("-", "default") else s.strip() for s in args.styles.split(",") if s.strip()]
    try:
        args.temperature_list = [None if t.strip() == "model" else float(t)
                                 for t in args.temperatures.split(",") if t.strip()]
    except ValueError:
        parser.error(f"--temperatures: not numbers: {args.temperatures!r}")
    return args


def style_of(score, item: dict | None = None) -> str:
    """The style a decoded score (a newer tokenizer sets ``score.style``) or its manifest item names, else ''."""
    return str(getattr(score, "style", "") or (item or {}).get("style", "") or "")


def meter_of(score) -> str:
    """The meter the form metrics count bars in (a cut first bar is an anacrusis, not the meter)."""
    from seqart.evaluate.form import FormPiece

    return str(FormPiece(score).meter)


# ------------------------------------------------------------------ reading
def reference_sets(data: str | Path, meters: list[str], by_style: bool) -> tuple[dict, list, list, dict]:
    """The corpus's test tunes grouped, and its train tunes (for the memorisation index).

    Returns:
        ``(groups, train_scores, train_labels, train_styles)``: ``groups`` maps ``(meter,
        style)`` (style '' = all of that meter) to a list of Scores; only ``meters`` are
        kept (all of them when ``meters`` is empty). ``train_styles`` maps ``(meter, style)``
        to the train tunes of each style the source names (any meter; empty without
        ``by_style``): a larger reference for a style whose test tunes are few.
    """
    import numpy as np

    from seqart.corpora import CorpusDataset

    ds = CorpusDataset.open(data)
    tok = ds.tokenizer
    groups: dict = {}
    for seq, item in zip(ds.split("test"), ds.items("test")):
        score = tok.decode(np.asarray(seq))
        meter = meter_of(score)
        if meters and meter not in meters:
            continue
        groups.setdefault((meter, ""), []).append(score)
        style = style_of(score, item) if by_style else ""
        if style:
            groups.setdefault((meter, style), []).append(score)
    train, labels, train_styles = [], [], {}
    for seq, item in zip(ds.split("train"), ds.items("train")):
        score = tok.decode(np.asarray(seq))
        train.append(score)
        labels.append(item.get("source") or item.get("title") or str(len(labels)))
        style = style_of(score, item) if by_style else ""
        if style:
            train_styles.setdefault((meter_of(score), style), []).append(score)
    return groups, train, labels, train_styles


def generate(model: str, meters: list[str], styles: list[str], temperatures: list[float], num: int, bars: int,
             seed: int, pickup: bool = False) -> dict:
    """``(meter, style, temperature)`` -> ``num`` melodies sampled by ``model``."""
    import seqart
    from seqart.errors import SeqartError

    gen = seqart.load(model)
    out = {}
    for style in styles or [""]:
        for meter in meters if not style else [None]:  # a style comes in the meter the model gives it
            for t in temperatures:
                options = {"style": style} if style else {"time_signature": meter}
                options.update(_options(pickup))
                try:
                    scores = gen.sample(num, seed=seed, bars=bars, temperature=t, **options)
                except (SeqartError, TypeError) as exc:
                    raise SystemExit(f"error: {model} cannot sample {meter or ''} {style} at T={t}: {exc}") from None
                out[(meter or meter_of(scores[0]), style, t)] = scores
    return out


def _options(pickup: bool) -> dict:
    """The sampling options ``--pickup`` adds (none without it, so any model takes them)."""
    return {"pickup": True} if pickup else {}


def read_samples(folder: str | Path, meters: list[str]) -> dict:
    """``(meter, style, None)`` -> the generated files of ``folder`` of that meter (of ``meters``, if given)."""
    from seqart.evaluate import load_scores

    scores, _ = load_scores([folder])
    out: dict = {}
    for score in scores:
        meter = meter_of(score)
        if not meters or meter in meters:
            out.setdefault((meter, style_of(score), None), []).append(score)
    if not out:
        raise SystemExit(f"error: no file of {folder} is in {', '.join(meters)}")
    return dict(sorted(out.items(), key=lambda kv: (kv[0][0], kv[0][1])))


# ---------------------------------------------------------------- comparing
def _label(meter: str, style: str, temperature: float | None, show_t: bool) -> str:
    shown = "model's T" if temperature is None else f"T{temperature:g}"
    words = [meter] + ([style] if style else []) + ([shown] if show_t else [])
    return " ".join(words)


def _band(row: dict) -> str:
    """A style row's real-set band as text ("0.001-0.007"), '-' without one."""
    if row.get("real_low") is None:
        return "-"
    digits = 2 if row["metric"] == "notes_per_bar" else 3
    return f"{row['real_low']:.{digits}f}-{row['real_high']:.{digits}f}"


def _mean(values) -> float | None:
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else None


def compare(generated: dict, references: dict, index=None) -> tuple[list[dict], list[tuple[str, str]]]:
    """The table: one row per figure, one column per reference group and per generated group.

    Args:
        generated: ``(meter, style, temperature)`` -> Scores.
        references: ``(meter, style)`` -> Scores; a generated group is compared with
            ``(meter, style)`` when it exists, else ``(meter, '')``.
        index: a :class:`seqart.evaluate.MelodyIndex` of the train tunes, or None
            (no ``memorised`` figures).

    Returns:
        ``(rows, columns)``: each row ``{"metric", "unit", column key: value or
        None}``; ``columns`` the ``(header, key)`` pairs in order (a reference
        column, then the generated ones matched to it).
    """
    from seqart.evaluate import FORM_METRICS, FORM_UNITS, METRICS, compare_metrics, form_values, metric_values
    from seqart.evaluate.compare import FLAG_NOTES
    from seqart.evaluate.metrics import Piece

    show_t = len({g[2] for g in generated}) > 1
    match = {g: (g[0], g[1]) if (g[0], g[1]) in references else (g[0], "") for g in generated}
    order = {m: i for i, m in enumerate(dict.fromkeys(g[0] for g in generated))}
    # the groups something is compared with, and each generated meter's whole test split
    wanted = (set(match.values()) | {(g[0], "") for g in generated}) if generated else set(references)
    ref_keys = sorted((r for r in references if r in wanted), key=lambda r: (order.get(r[0], len(order)), r[0], r[1]))
    columns, figures, metric_tables = [], {}, {}

    def add_column(key: str, scores, reference: str | None = None) -> None:
        ps = [Piece.of(s) for s in scores]
        form = form_values(ps)
        figs = {name: _mean(form[name]) for name in FORM_METRICS}
        figs["pieces"] = float(len(ps))
        if index is not None and ps:
            runs = [index.longest_run(p, flag_notes=FLAG_NOTES) for p in ps]
            figs["memorised"] = sum(r.flagged for r in runs) / len(runs)
        metric_tables[key] = metric_values(ps) if ps else None
        if reference is not None and metric_tables[key] is not None and metric_tables[reference] is not None:
            figs["overlap"] = _mean([m.overlap for m in compare_metrics(metric_tables[key], metric_tables[reference])])
        figures[key] = figs
        columns.append((key, key))

    for r in ref_keys:
        ref_key = "ref " + _label(r[0], r[1], None, False)
        add_column(ref_key, references[r])
        for g in (g for g in generated if match[g] == r):
            add_column("gen " + _label(g[0], g[1], g[2], show_t), generated[g], ref_key)
    for g in (g for g in generated if match[g] not in references):  # a meter the test split lacks
        add_column("gen " + _label(g[0], g[1], g[2], show_t), generated[g])

    names = list(FORM_METRICS) + ["overlap", "memorised", "pieces"]
    units = {**FORM_UNITS, "overlap": f"0-1, mean of {len(METRICS)}", "memorised": f"share >= {FLAG_NOTES} notes",
             "pieces": "pieces"}
    rows = [{"metric": n, "unit": units[n], **{k: figures[k].get(n) for _, k in columns}} for n in names]
    return rows, columns


def continuations(model: str, data: str | Path, style: str, seed: int) -> dict | None:
    """Do continuations of 4-bar primers restate bars 1-2 in bars 5-6 as the style's tunes do?

    Returns:
        ``{"style", "tunes", "reference_share", "generated_share", "reference_mean",
        "generated_mean"}``, or None when the test split holds no tune of ``style``
        with 6 full bars.
    """
    import numpy as np

    import seqart
    from seqart.corpora import CorpusDataset
    from seqart.evaluate.form import FormPiece, bars_similarity

    ds = CorpusDataset.open(data)
    tunes = []
    for seq in ds.split("test"):
        score = ds.tokenizer.decode(np.asarray(seq))
        if style_of(score) == style and FormPiece.of(score).n_full >= 6:
            tunes.append(score)
    if not tunes:
        return None
    gen = seqart.load(model)
    real, made = [], []
    for i, tune in enumerate(tunes):
        fp = FormPiece.of(tune)
        cut = (fp.bar1 + 4 * fp.bar_steps) / 12  # beats (the form grid has 12 steps a beat)
        primer = tune.slice(0.0, cut)
        real.append(bars_similarity(tune, 1, 5, 2))
        out = gen.continue_score(primer, bars=4, seed=seed + i, ending="free")[0]
        made.append(bars_similarity(out, 1, 5, 2))
    real, made = np.array(real), np.array(made)
    return {"style": style, "tunes": len(tunes),
            "reference_share": float(np.mean(real >= 0.6)), "generated_share": float(np.mean(made >= 0.6)),
            "reference_mean": float(np.nanmean(real)), "generated_mean": float(np.nanmean(made))}


def form_sections(model: str, form: str, style: str, num: int, seed: int, section_bars: int = 8) -> list[dict]:
    """Similarity of every pair of sections of ``num`` melodies sampled with ``form``: one row
    per pair ``{"pair", "same_letter", "mean", "share_alike"}`` (alike: similarity >= 0.6)."""
    import numpy as np

    import seqart
    from seqart.evaluate.form import bars_similarity

    scores = seqart.load(model).sample(num, seed=seed, form=form, style=style or None)
    rows = []
    for i in range(len(form)):
        for j in range(i + 1, len(form)):
            sims = np.array([bars_similarity(s, 1 + i * section_bars, 1 + j * section_bars, section_bars)
                             for s in scores])
            rows.append({"pair": f"{form[i]}{i + 1}-{form[j]}{j + 1}", "same_letter": form[i] == form[j],
                         "mean": float(np.nanmean(sims)), "share_alike": float(np.mean(sims >= 0.6))})
    return rows


def overlap_check(model: str, tests: dict, valids: dict, num: int, seed: int, pickup: bool = False) -> list[dict]:
    """How far the ``overlap`` row is from what real tunes reach, per meter of ``meters``.

    The test split's tunes have their own lengths (4/4: a median of 12 full bars, mostly
    Essen songs), and a melody's pitch range, pitches used and pitch-class entropy grow
    with its length, so fixed-length samples are judged partly by their length. Two
    columns tell the model from the yardstick:

    - ``length_matched``: ``num`` melodies, each as many full bars long (at least 4) as a
      test tune of that meter drawn at random (seeded);
    - ``real``: ``num`` tunes of the *valid* split in that meter (all of them if fewer),
      whole, against the same test tunes: what a perfect model's samples would reach
      with this many pieces.

    Args:
        tests: meter -> the test split's Scores of that meter (as :func:`reference_sets` groups them).
        valids: meter -> the valid split's Scores of that meter (:func:`valid_sets`).

    Returns:
        one row per meter: ``{"meter", "length_matched", "real", "real_pieces"}`` (overlap
        areas, the mean over the per-piece metrics, as ``seqart evaluate``).
    """
    from collections import Counter

    import numpy as np

    import seqart
    from seqart.evaluate import metric_values
    from seqart.evaluate.form import FormPiece
    from seqart.evaluate.metrics import Piece

    gen = seqart.load(model)
    rng = np.random.default_rng(seed)
    rows = []
    for meter, test in tests.items():
        valid = valids.get(meter, [])
        reference = metric_values([Piece.of(s) for s in test])
        lengths = Counter(int(b) for b in rng.choice([max(4, FormPiece(s).n_full) for s in test], num))
        made = []
        for bars, count in sorted(lengths.items()):
            made += gen.sample(count, seed=seed + bars, bars=bars, time_signature=meter, **_options(pickup))
        real = [valid[i] for i in sorted(rng.choice(len(valid), min(num, len(valid)), replace=False))] if valid else []
        rows.append({"meter": meter, "length_matched": mean_overlap(made, reference),
                     "real": mean_overlap(real, reference) if real else None, "real_pieces": len(real)})
    return rows


def valid_sets(data: str | Path) -> dict:
    """meter -> the Scores of the corpus's valid split in that meter."""
    import numpy as np

    from seqart.corpora import CorpusDataset

    ds = CorpusDataset.open(data)
    valids: dict = {}
    for seq in ds.split("valid"):
        score = ds.tokenizer.decode(np.asarray(seq))
        valids.setdefault(meter_of(score), []).append(score)
    return valids


def metric_overlaps(scores, reference: dict) -> dict:
    """metric name -> overlap area of ``scores``' distribution with ``reference`` (a :func:`metric_values` table)."""
    from seqart.evaluate import compare_metrics, metric_values
    from seqart.evaluate.metrics import Piece

    return {m.name: m.overlap for m in compare_metrics(metric_values([Piece.of(s) for s in scores]), reference)}


def mean_overlap(scores, reference: dict) -> float:
    """The ``overlap`` row's figure: the mean of :func:`metric_overlaps`."""
    import numpy as np

    return float(np.mean(list(metric_overlaps(scores, reference).values())))


def overlap_seeds(model: str, tests: dict, valids: dict, num: int, bars: int, seeds: int,
                  pickup: bool = False) -> list[dict]:
    """The ``overlap`` row of default sampling over ``seeds`` seeds (0 to seeds - 1), per meter.

    One seed's 64 melodies are a small sample: the overlap moves by about 0.01 from seed
    to seed, so a figure near a threshold is read as the mean of several. Beside it, the
    same number of draws of ``num`` real tunes of the valid split (each draw seeded
    alike), against the same test tunes: the ceiling and its spread. ``tests`` and
    ``valids`` are as :func:`overlap_check` takes them.

    Returns:
        one row per meter: ``{"meter", "mean", "sd", "min", "max", "per_seed", "real_mean",
        "real_sd", "weakest"}``; ``weakest`` names the three metrics of lowest mean overlap.
    """
    import numpy as np

    import seqart
    from seqart.evaluate import metric_values
    from seqart.evaluate.metrics import Piece

    gen = seqart.load(model)
    rows = []
    for meter, test in tests.items():
        reference = metric_values([Piece.of(s) for s in test])
        valid = valids.get(meter, [])
        per_seed, real = [], []
        for seed in range(seeds):
            made = gen.sample(num, seed=seed, bars=bars, time_signature=meter, **_options(pickup))
            per_seed.append(metric_overlaps(made, reference))
            if valid:
                draw = np.random.default_rng(seed).choice(len(valid), min(num, len(valid)), replace=False)
                real.append(mean_overlap([valid[i] for i in sorted(draw)], reference))
        means = np.array([np.mean(list(o.values())) for o in per_seed])
        by_metric = {name: float(np.mean([o[name] for o in per_seed])) for name in per_seed[0]}
        weakest = sorted(by_metric, key=by_metric.get)[:3]
        rows.append({"meter": meter, "mean": float(means.mean()), "sd": float(means.std(ddof=1)) if seeds > 1 else 0.0,
                     "min": float(means.min()), "max": float(means.max()), "per_seed": means.tolist(),
                     "real_mean": float(np.mean(real)) if real else None,
                     "real_sd": float(np.std(real, ddof=1)) if len(real) > 1 else None,
                     "weakest": ", ".join(f"{name} {by_metric[name]:.3f}" for name in weakest)})
    return rows


#: the figures :func:`style_seeds` follows: the issue asks each within 15 % of the style's tunes
STYLE_FIGURES = ("notes_per_bar", "rest_share", "repeated_note_share")
#: how many random sets of real tunes :func:`real_sets` draws
REAL_SET_DRAWS = 2000
#: the band :func:`style_seeds` judges a figure by: within 15 % of the reference
STYLE_BAND = 0.15


def real_sets(values, size: int, reference: float | None, draws: int = REAL_SET_DRAWS, seed: int = 0) -> dict:
    """How a figure moves between sets of ``size`` real tunes: the mean of ``values`` (one
    per train tune of a style, None or NaN where a tune has none) over ``draws`` random sets
    of ``size`` of them (drawn without replacement from the finite ones).

    A style's test split holds a few dozen tunes; a share near 0 (a reel's rests: 4 of 32
    test reels rest at all) moves far with the tunes drawn. These figures say how far:
    ``{"low", "high"}``, the 5th and 95th percentiles of the set means, and ``"within"``,
    the share of sets within :data:`STYLE_BAND` of ``reference`` (the test tunes' mean; None
    without one), i.e. how often a set of real tunes of that size would itself meet the band.
    All None where fewer than ``size`` tunes have the figure or ``size`` is 0."""
    import numpy as np

    v = np.asarray([np.nan if x is None else x for x in values], dtype=np.float64)
    v = v[np.isfinite(v)]
    if size < 1 or len(v) < size:
        return {"low": None, "high": None, "within": None}
    rng = np.random.default_rng(seed)
    means = np.array([v[rng.choice(len(v), size, replace=False)].mean() for _ in range(draws)])
    within = float(np.mean(np.abs(means - reference) <= STYLE_BAND * reference)) if reference else None
    return {"low": float(np.percentile(means, 5)), "high": float(np.percentile(means, 95)), "within": within}


def style_seeds(model: str, styles: list[str], references: dict, num: int, bars: int, seeds: int,
                pickup: bool = False, train_references: dict | None = None) -> list[dict]:
    """A style's notes per bar, rest share and repeated-note share over ``seeds`` seeds.

    One seed's ``num`` melodies move these shares by several percent (a reel's
    repeated-note share: 0.093 at seed 0, 0.084 over seeds 0-2), so a figure judged
    against a band around the reference is read as a mean over seeds, as
    :func:`overlap_seeds` does for the overlap.

    Args:
        styles: styles to sample (each in the meter the model gives it); '' is skipped.
        references: ``(meter, style)`` -> test-split Scores, as :func:`reference_sets` gives.
        train_references: the same for the train split (``reference_sets``' ``train_styles``),
            or None. The test split holds few tunes of a style (32 reels, 22 jigs in the folk
            corpus, one of the jigs with a rest), so a share near 0 moves with a tune or two;
            the style's train tunes (hundreds) tell where it sits.

    Returns:
        one row per style and figure: ``{"style", "metric", "reference", "mean", "sd", "min",
        "max", "difference", "absolute", "reference_tunes", "train_reference",
        "train_difference", "train_tunes", "real_low", "real_high", "real_within"}``
        (``difference``: (mean - reference) / reference,
        None where the reference is 0; ``absolute``: mean - reference, which tells more for
        a share near 0, such as a reel's rests; both None where the test split holds no tune
        of the style; the ``train_`` figures alike against the train tunes, None without them;
        ``real_``: :func:`real_sets` of the train tunes in sets as large as the test split's).
    """
    import numpy as np

    import seqart
    from seqart.evaluate import form_values
    from seqart.evaluate.metrics import Piece

    gen = seqart.load(model)
    rows = []
    for style in (s for s in styles if s):
        per_seed, meter = {name: [] for name in STYLE_FIGURES}, None
        for seed in range(seeds):
            made = gen.sample(num, seed=seed, bars=bars, style=style, **_options(pickup))
            meter = meter or meter_of(made[0])
            values = form_values([Piece.of(m) for m in made])
            for name in STYLE_FIGURES:
                per_seed[name].append(_mean(values[name]))
        test_scores = references.get((meter, style), [])
        train_scores = (train_references or {}).get((meter, style), [])
        test_values = form_values([Piece.of(r) for r in test_scores]) if test_scores else None
        train_values = form_values([Piece.of(r) for r in train_scores]) if train_scores else None
        for name in STYLE_FIGURES:
            v = np.array([x for x in per_seed[name] if x is not None])
            mean = float(v.mean())
            ref = _mean(test_values[name]) if test_values is not None else None
            train_ref = _mean(train_values[name]) if train_values is not None else None
            spread = real_sets(train_values[name] if train_values is not None else [], len(test_scores), ref)
            rows.append({"style": f"{meter} {style}", "metric": name, "reference": ref, "mean": mean,
                         "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "min": float(v.min()),
                         "max": float(v.max()),
                         "difference": (mean - ref) / ref if ref else None,
                         "absolute": mean - ref if ref is not None else None, "reference_tunes": len(test_scores),
                         "train_reference": train_ref,
                         "train_difference": (mean - train_ref) / train_ref if train_ref else None,
                         "train_tunes": len(train_scores), "real_low": spread["low"],
                         "real_high": spread["high"], "real_within": spread["within"]})
    return rows


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from seqart.evaluate import MelodyIndex

    start = time.perf_counter()
    if args.samples_dir:
        generated = read_samples(args.samples_dir, args.meter_list)
        source = f"files of {args.samples_dir}"
    else:
        generated = generate(args.model, args.meter_list, args.style_list, args.temperature_list, args.num,
                             args.bars, args.seed, args.pickup)
        source = f"{args.model}, {args.bars} bars, seed {args.seed}" + (", pickup" if args.pickup else "")
    gen_seconds = time.perf_counter() - start
    meters = sorted({g[0] for g in generated})
    references, train, labels, train_styles = reference_sets(args.data, meters, args.reference_group == "auto")
    mark = time.perf_counter()
    index = MelodyIndex(train, labels)
    index_seconds = time.perf_counter() - mark
    mark = time.perf_counter()
    rows, columns = compare(generated, references, index)
    compare_seconds = time.perf_counter() - mark
    missing = sorted({g[0] for g in generated} - {r[0] for r in references})
    shown = [{**r, **{k: f"{r[k]:.0f}" for _, k in columns if r[k] is not None}} if r["metric"] == "pieces" else r
             for r in rows]
    print_table(f"Form of generated melodies (gen) vs the test split of {args.data} (ref)",
                [("metric", "metric", ""), ("unit", "unit", "")] + [(h, k, ".3f") for h, k in columns], shown,
                note=f"generated: {source} ({gen_seconds:.1f} s); memorisation index: {len(train)} train tunes "
                     f"({index_seconds:.1f} s); every figure of the table in {compare_seconds:.1f} s.\n"
                     "Means over the pieces where a metric is defined (bar-k cadences need k full bars after any "
                     "anacrusis); a 1/0 flag's mean is the share of pieces."
                     + (f"\nno test tune in {', '.join(missing)}: those columns have no reference" if missing else ""))
    cont = None
    if args.continue_style and not args.samples_dir:
        cont = continuations(args.model, args.data, args.continue_style, args.seed)
        if cont is not None:
            print_table(f"Continuations of 4-bar primers: {cont['tunes']} {cont['style']} test tunes",
                        [("", "what", ""), ("bars 5-6 restate 1-2 (share)", "share", ".3f"),
                         ("similarity (mean)", "mean", ".3f")],
                        [{"what": "real tunes", "share": cont["reference_share"], "mean": cont["reference_mean"]},
                         {"what": f"{args.model} continuations", "share": cont["generated_share"],
                          "mean": cont["generated_mean"]}])
    summary = {"continuations": cont} if cont else {}
    if (args.overlap_check or args.overlap_seeds) and not args.samples_dir:
        tests = {m: references[(m, "")] for m in args.meter_list if references.get((m, ""))}
        valids = valid_sets(args.data)
    if args.overlap_check and not args.samples_dir:
        overlap_row = next(r for r in rows if r["metric"] == "overlap")
        checks = overlap_check(args.model, tests, valids, args.num, args.seed, args.pickup)
        for row in checks:  # the default-sampling column of the table above, if there is one
            row["fixed"] = overlap_row.get(f"gen {row['meter']}")
        print_table("Overlap with the test tunes: the samples above, length-matched samples, and real tunes",
                    [("meter", "meter", ""), (f"{args.bars} bars", "fixed", ".3f"),
                     ("length-matched", "length_matched", ".3f"), ("real (valid split)", "real", ".3f"),
                     ("real pieces", "real_pieces", "")], checks,
                    note="length-matched: each melody as many full bars as a test tune drawn at random; real: "
                         "tunes of the valid split, whole, against the same test tunes (what this many "
                         "pieces of a perfect model would reach)")
        summary["overlap_check"] = checks
    if args.overlap_seeds and not args.samples_dir:
        spread = overlap_seeds(args.model, tests, valids, args.num, args.bars, args.overlap_seeds, args.pickup)
        print_table(f"Overlap with the test tunes over {args.overlap_seeds} seeds ({args.num} melodies each)",
                    [("meter", "meter", ""), ("mean", "mean", ".3f"), ("sd", "sd", ".3f"), ("min", "min", ".3f"),
                     ("max", "max", ".3f"), ("real (valid) mean", "real_mean", ".3f"), ("real sd", "real_sd", ".3f"),
                     ("weakest metrics", "weakest", "")], spread,
                    note=f"seeds 0-{args.overlap_seeds - 1} of default sampling ({args.bars} bars); real: as many "
                         f"draws of {args.num} valid-split tunes, whole")
        summary["overlap_seeds"] = spread
    if args.style_seeds and any(args.style_list) and not args.samples_dir:
        figures = style_seeds(args.model, args.style_list, references, args.num, args.bars, args.style_seeds,
                              args.pickup, train_references=train_styles)
        print_table(f"Styles over {args.style_seeds} seeds ({args.num} melodies each) vs the style's test and "
                    "train tunes",
                    [("style", "style", ""), ("figure", "metric", ""), ("test", "reference", ".4f"),
                     ("n", "reference_tunes", ""), ("generated", "mean", ".4f"), ("vs test", "difference", "+.1%"),
                     ("train", "train_reference", ".4f"), ("n", "train_tunes", ""),
                     ("vs train", "train_difference", "+.1%"), ("real sets", "real_band", ""),
                     ("in band", "real_within", ".0%")],
                    [{**row, "real_band": _band(row)} for row in figures],
                    note=f"seeds 0-{args.style_seeds - 1} of --style sampling ({args.bars} bars); test, train: the "
                         "style's tunes in that split (n: how many); vs: (generated - tunes) / tunes; real sets: "
                         f"{REAL_SET_DRAWS} random sets of as many train tunes as the test split holds, the 5th-95th "
                         f"percentiles of their means; in band: the share of those sets within {STYLE_BAND:.0%} "
                         "of the test tunes (how often real tunes would meet the band)")
        summary["style_seeds"] = figures
    if args.form and not args.samples_dir:
        sections = form_sections(args.model, args.form.upper(), args.form_style, args.num, args.seed)
        print_table(f"Sections of {args.num} melodies sampled with --form {args.form.upper()} "
                    f"--style {args.form_style or '-'}",
                    [("sections", "pair", ""), ("same letter", "same_letter", ""), ("similarity", "mean", ".3f"),
                     ("share >= 0.6", "share_alike", ".3f")], sections)
        summary["form"] = {"form": args.form.upper(), "sections": sections}
    for name in ("restates_phrase", "repeated_bars", "phrase_similarity", "cadences", "final_tonic_long",
                 "overlap", "memorised"):
        row = next(r for r in rows if r["metric"] == name)
        for _, key in columns:
            value = row.get(key)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                summary[f"{key} {name}"] = value
    settings = {k: v for k, v in vars(args).items() if not k.endswith("_list")}
    path = write_results(NAME, settings, rows, summary, columns=[k for _, k in columns],
                         seconds={"generate": gen_seconds, "index": index_seconds, "compare": compare_seconds})
    print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
