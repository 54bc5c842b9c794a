"""seqart.evaluate.form: form metrics on hand-built tunes with known answers, the evaluate
report and CLI form table, and a smoke run of bench/bench_form.py."""

import importlib.util
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from seqart.cli import app
from seqart.evaluate import FORM_METRICS, Reference, evaluate, form_metrics, form_summary
from seqart.evaluate.form import FORM_UNITS, FormPiece, strong_beat
from seqart.score import KeySignature, Note, Score, TimeSignature, Track
from tests.melody_factory import random_melody, write_melody_folder

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def tune(bars, meter=(4, 4), key=(0, "major"), start=0.0, sigs=None):
    """A one-track score from bars of ``(pitch, beats)`` (pitch None = rest), laid end to end from ``start``."""
    notes, t = [], start
    for bar in bars:
        for pitch, beats in bar:
            if pitch is not None:
                notes.append(Note(pitch, t, beats))
            t += beats
    return Score(tracks=[Track(notes=notes)],
                 time_signatures=sigs if sigs is not None else [TimeSignature(0.0, *meter)],
                 key_signatures=[KeySignature(0.0, *key)] if key else [])


def q(*pitches):
    """A bar of quarter notes."""
    return [(p, 1.0) for p in pitches]


# An AABA tune in C major, 4/4, 16 bars. B's bar 1 and bar 4 are A's transposed up
# (same rhythm and intervals); no B step sounds A's pitch at the same place.
A = [q(60, 62, 64, 65), q(67, 69, 67, 65), q(64, 62, 60, 62), [(64, 1.0), (62, 1.0), (60, 2.0)]]
B = [q(72, 74, 76, 77), q(79, 77, 76, 74), q(72, 71, 69, 71), [(71, 1.0), (69, 1.0), (67, 2.0)]]
AABA = A + A + B + A


def test_aaba_by_hand():
    m = form_metrics(tune(AABA))
    assert list(m) == list(FORM_METRICS) == list(FORM_UNITS)
    assert m["repeated_bars"] == pytest.approx(8 / 15)  # bars 5-8 and 13-16 of 15 after the first
    assert m["repeated_bars_transposed"] == pytest.approx(10 / 15)  # and bars 9 and 12
    assert m["phrase_similarity"] == pytest.approx(2 / 3)  # A2 and A3 are 1, B is 0
    # B against A at its best shift: +12 semitones for 5 of its 16 beats (+9 also 5)
    assert m["phrase_similarity_transposed"] == pytest.approx((2 + 5 / 16) / 3)
    assert m["restates_phrase"] == 1.0
    assert (m["cadence_bar4"], m["cadence_bar8"], m["cadence_bar12"], m["cadence_bar16"]) == (1.0, 1.0, 0.0, 1.0)
    assert m["cadences"] == 0.75
    assert m["final_tonic"] == m["final_tonic_long"] == 1.0
    assert m["notes_per_bar"] == 60 / 16
    assert m["rest_share"] == 0.0
    assert m["repeated_note_share"] == pytest.approx(2 / 59)  # C-C at bars 4|5, B-B at 11|12
    assert m["pickup"] == m["padded_pickup"] == 0.0


def test_transposed_repeat_is_not_an_exact_one():
    bars = [q(60, 62, 64, 62), q(62, 64, 66, 64), q(67, 65, 64, 62), q(60, 64, 67, 72)]  # bar 2 = bar 1 up a tone
    m = form_metrics(tune(bars))
    assert m["repeated_bars"] == 0.0
    assert m["repeated_bars_transposed"] == pytest.approx(1 / 3)
    assert math.isnan(m["phrase_similarity"]) and math.isnan(m["restates_phrase"])  # one phrase only


def test_strong_beats():
    beats = {(4, 4): 2.0, (2, 2): 2.0, (4, 2): 4.0, (3, 4): 0.0, (3, 8): 0.0, (2, 4): 0.0, (6, 8): 1.5,
             (9, 8): 3.0, (12, 8): 4.5, (5, 4): 0.0}
    assert {m: strong_beat(TimeSignature(0.0, *m)) for m in beats} == beats


def test_cadence_at_bar_8_in_4_4_and_6_8():
    filler = [q(64, 65, 67, 69)] * 7
    on_tonic = form_metrics(tune(filler + [[(62, 2.0), (60, 2.0)]]))  # C at beat 3
    on_downbeat_only = form_metrics(tune(filler + [[(60, 2.0), (62, 2.0)]]))
    assert on_tonic["cadence_bar8"] == 1.0 and on_downbeat_only["cadence_bar8"] == 0.0
    assert math.isnan(on_tonic["cadence_bar12"]) and on_tonic["cadences"] == 0.5  # bar 4 ends on A

    jig = [[(64, 0.5), (65, 0.5), (67, 0.5), (69, 1.5)]] * 7
    assert form_metrics(tune(jig + [[(62, 1.5), (60, 1.5)]], meter=(6, 8)))["cadence_bar8"] == 1.0
    assert form_metrics(tune(jig + [[(60, 1.5), (62, 1.5)]], meter=(6, 8)))["cadence_bar8"] == 0.0
    # in 3/4 the strong beat is the downbeat; a tonic arriving after it and held to the bar line counts
    waltz = [q(64, 65, 67)] * 7
    assert form_metrics(tune(waltz + [[(62, 1.0), (60, 2.0)]], meter=(3, 4)))["cadence_bar8"] == 1.0
    assert form_metrics(tune(waltz + [[(62, 1.0), (60, 1.0), (62, 1.0)]], meter=(3, 4)))["cadence_bar8"] == 0.0


def test_padded_and_cut_pickups():
    body = [q(60, 62, 64, 65)] * 7 + [[(67, 1.0), (60, 2.0)]]  # the last bar is short (3 beats)
    padded = tune([[(None, 3.0), (67, 1.0)]] + body)
    f = FormPiece(padded)
    assert (f.pickup, f.padded_pickup, f.bar1, f.n_full) == (1.0, 1.0, 4 * 12, 8)
    m = form_metrics(padded)
    assert m["notes_per_bar"] == (7 * 4 + 2) / 8  # the pickup note left out
    assert m["cadence_bar8"] == 1.0  # counted from the first full bar; the short last bar still counts
    assert m["repeated_bars"] == pytest.approx(6 / 7)

    # the same tune as a cut first bar (1/4, then 4/4 from beat 1): an unpadded anacrusis
    cut = tune([[(67, 1.0)]] + body, sigs=[TimeSignature(0.0, 1, 4), TimeSignature(1.0, 4, 4)])
    assert (form_metrics(cut)["pickup"], form_metrics(cut)["padded_pickup"]) == (1.0, 0.0)
    assert {k: v for k, v in form_metrics(cut).items() if "pickup" not in k} == \
        {k: v for k, v in m.items() if "pickup" not in k}

    # a rest of a beat before three beats of music is no anacrusis
    late = form_metrics(tune([[(None, 1.0), (60, 3.0)]] + body))
    assert late["pickup"] == late["padded_pickup"] == 0.0


def test_final_tonic_long_and_short():
    start = [q(64, 65, 67, 69)] * 3
    long_end = form_metrics(tune(start + [[(62, 2.0), (60, 2.0)]]))
    short_end = form_metrics(tune(start + [[(62, 1.0), (64, 1.0), (62, 1.5), (60, 0.5)]]))
    off_tonic = form_metrics(tune(start + [[(60, 2.0), (62, 2.0)]]))
    assert (long_end["final_tonic"], long_end["final_tonic_long"]) == (1.0, 1.0)
    assert (short_end["final_tonic"], short_end["final_tonic_long"]) == (1.0, 0.0)
    assert (off_tonic["final_tonic"], off_tonic["final_tonic_long"]) == (0.0, 0.0)


def test_tonic_estimated_without_a_key_signature():
    g_major = [q(67, 71, 74, 71), q(72, 69, 66, 69), q(67, 71, 74, 78), [(74, 2.0), (67, 2.0)]]
    f = FormPiece(tune(g_major, key=None))
    assert f.tonic == 7
    assert form_metrics(f)["final_tonic"] == 1.0


def test_random_melodies_have_little_form():
    s = form_summary([random_melody(i, bars=16) for i in range(30)])
    assert s["repeated_bars"] < 0.05 and s["restates_phrase"] < 0.1 and s["phrase_similarity"] < 0.3
    assert s["pickup"] == 0.0


def test_undefined_cases_are_nan():
    assert all(math.isnan(v) for v in form_metrics(Score(tracks=[Track()])).values())
    one = form_metrics(tune([[(60, 4.0)]]))
    assert math.isnan(one["repeated_note_share"]) and math.isnan(one["repeated_bars"])
    assert one["final_tonic_long"] == 1.0 and math.isnan(one["cadence_bar4"]) and math.isnan(one["cadences"])
    six = form_metrics(tune([q(60, 62, 64, 65)] * 6))
    assert six["cadence_bar4"] == 0.0 and math.isnan(six["cadence_bar8"])
    assert math.isnan(six["phrase_similarity"]) and math.isnan(six["restates_phrase"])
    summary = form_summary([tune([[(60, 4.0)]])])
    assert math.isnan(summary["restates_phrase"]) and summary["final_tonic"] == 1.0


def test_fast_enough():
    scores = [random_melody(i, bars=32) for i in range(200)]
    start = time.perf_counter()
    form_summary(scores)
    assert time.perf_counter() - start < 2.0  # about 0.5 ms a tune here


# ------------------------------------------------------------ evaluate and CLI
def test_evaluate_reports_form_means():
    ref_scores = [tune(AABA)] * 3
    ref = Reference("aaba", ref_scores, ["a", "b", "c"], [0, 1, 2])
    samples = [random_melody(i, bars=16, tonic=0) for i in range(4)]
    report = evaluate(samples, ref)
    assert [f.name for f in report.form] == list(FORM_METRICS)
    form = {f.name: f for f in report.form}
    assert form["restates_phrase"].reference_mean == 1.0 and form["restates_phrase"].reference_n == 3
    assert form["repeated_bars"].sample_mean == pytest.approx(form_summary(samples)["repeated_bars"])
    r = form["repeated_bars"]
    assert r.difference == pytest.approx(r.sample_mean - r.reference_mean)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert [f["name"] for f in data["form"]] == list(FORM_METRICS)


def test_cli_prints_the_form_table(tmp_path):
    ref = tmp_path / "ref"
    write_melody_folder(ref, count=6, bars=16)
    samples = tmp_path / "samples"
    samples.mkdir()
    tune(AABA).write(samples / "aaba.mid")
    out = tmp_path / "eval.json"
    result = runner.invoke(app, ["evaluate", str(samples), "--reference", str(ref), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "form" in result.output and "difference" in result.output
    for name in FORM_METRICS:
        assert name in result.output
    form = {f["name"]: f for f in json.loads(out.read_text())["form"]}
    assert form["restates_phrase"]["sample_mean"] == 1.0


# ------------------------------------------------------------------- bench
def _bench_module(name: str):
    """``bench/<name>.py`` loaded as a module (``bench/`` on the path for its ``_common``)."""
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bench_form():
    return _bench_module("bench_form")


def test_bench_compare_on_hand_made_scores():
    bench = _bench_form()
    references = {("4/4", ""): [tune(AABA)] * 4}
    generated = {("4/4", "", 1.0): [random_melody(i, bars=16, tonic=0) for i in range(4)],
                 ("6/8", "", 1.0): [random_melody(i, bars=16, meter=(6, 8)) for i in range(3)]}
    rows, columns = bench.compare(generated, references)
    assert [k for _, k in columns] == ["ref 4/4", "gen 4/4", "gen 6/8"]
    table = {r["metric"]: r for r in rows}
    assert table["restates_phrase"]["ref 4/4"] == 1.0 and table["restates_phrase"]["gen 4/4"] == 0.0
    assert table["pieces"]["gen 6/8"] == 3 and table["overlap"]["gen 6/8"] is None
    assert 0.0 <= table["overlap"]["gen 4/4"] <= 1.0 and table["overlap"]["ref 4/4"] is None

    # styles: a generated style is compared with that style's tunes where the reference has them
    jigs = [random_melody(i, bars=8, meter=(6, 8)) for i in range(3)]
    references = {("6/8", ""): jigs + [tune(AABA)], ("6/8", "jig"): jigs}
    generated = {("6/8", "jig", 0.8): jigs[:2], ("6/8", "jig", 1.0): jigs[:1]}
    _, columns = bench.compare(generated, references)
    assert [k for _, k in columns] == ["ref 6/8", "ref 6/8 jig", "gen 6/8 jig T0.8", "gen 6/8 jig T1"]
    tagged = tune(AABA)
    tagged.style = "reel"
    assert bench.style_of(tagged) == "reel" and bench.style_of(tune(AABA), {"style": "jig"}) == "jig"


def test_bench_form_main_on_a_tiny_corpus(tmp_path, monkeypatch, capsys):
    from seqart.corpora.build import build_corpus

    monkeypatch.setenv("SEQART_CACHE_DIR", str(tmp_path / "cache"))
    write_melody_folder(tmp_path / "midi", count=16, bars=16)
    build_corpus(tmp_path / "midi", tmp_path / "corpus", representation="melody", workers=1, progress=False,
                 valid_fraction=0.1, test_fraction=0.4)
    bench = _bench_form()
    import _common

    monkeypatch.setattr(_common, "RESULTS_DIR", tmp_path / "results")
    assert bench.main(["--model", "folk", "--data", str(tmp_path / "corpus"), "--num", "3",
                       "--meters", "4/4,6/8", "--overlap-seeds", "2", "--styles", "default,jig",
                       "--style-seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "gen 4/4" in out and "gen 6/8" in out and "restates_phrase" in out
    data = json.loads((tmp_path / "results" / "form.json").read_text())
    pieces = next(r for r in data["rows"] if r["metric"] == "pieces")
    assert pieces["gen 4/4"] == 3 and pieces["gen 6/8"] == 3
    checks = {row["meter"]: row for row in data["summary"]["overlap_check"]}
    overlap = next(r for r in data["rows"] if r["metric"] == "overlap")
    assert "4/4" in checks and all(row["fixed"] == overlap[f"gen {m}"] for m, row in checks.items())
    assert all(0.0 <= row["length_matched"] <= 1.0 for row in checks.values())
    assert all(row["real"] is None or 0.0 <= row["real"] <= 1.0 for row in checks.values())
    assert "length-matched" in out
    assert "Styles over 2 seeds" in out
    assert [(r["style"], r["metric"]) for r in data["summary"]["style_seeds"]] == \
        [("6/8 jig", m) for m in bench.STYLE_FIGURES]
    # over seeds: seed 0 is the table's own sample; the spread and the real draws are in range
    spread = {row["meter"]: row for row in data["summary"]["overlap_seeds"]}
    assert "over 2 seeds" in out and "4/4" in spread
    for meter, row in spread.items():
        assert row["per_seed"][0] == pytest.approx(overlap[f"gen {meter}"])
        assert row["min"] <= row["mean"] <= row["max"] and row["sd"] >= 0.0 and len(row["per_seed"]) == 2
        assert row["real_mean"] is None or 0.0 <= row["real_mean"] <= 1.0
        assert len(row["weakest"].split(", ")) == 3

    # the same figures from files already generated
    folder = tmp_path / "generated"
    folder.mkdir()
    for i in range(2):
        random_melody(i, bars=8, meter=(6, 8)).write(folder / f"s{i}.mid")
    assert bench.main(["--data", str(tmp_path / "corpus"), "--samples-dir", str(folder)]) == 0
    data = json.loads((tmp_path / "results" / "form.json").read_text())
    assert next(r for r in data["rows"] if r["metric"] == "pieces")["gen 6/8"] == 2
    assert np.isfinite(next(r for r in data["rows"] if r["metric"] == "notes_per_bar")["gen 6/8"])


def test_bench_style_figures_over_seeds():
    """Each style's notes per bar, rests and repeated notes over seeds, against that style's
    tunes: seed 0 is the figure of the main table's sample, the band is in order."""
    import seqart
    from seqart.evaluate import form_values
    from seqart.evaluate.metrics import Piece

    bench = _bench_form()
    reels = [random_melody(i, bars=8, meter=(2, 2)) for i in range(3)]
    more = [random_melody(10 + i, bars=8, meter=(2, 2)) for i in range(5)]
    rows = bench.style_seeds("folk", ["reel", ""], {("2/2", "reel"): reels}, num=3, bars=8, seeds=2,
                             train_references={("2/2", "reel"): more})
    assert [(r["style"], r["metric"]) for r in rows] == [("2/2 reel", m) for m in bench.STYLE_FIGURES]
    first = form_values([Piece.of(s) for s in seqart.load("folk").sample(3, seed=0, bars=8, style="reel")])
    real = form_values([Piece.of(s) for s in reels])
    trained = form_values([Piece.of(s) for s in more])
    for row in rows:
        name = row["metric"]
        assert row["min"] <= row["mean"] <= row["max"] and row["sd"] >= 0.0
        assert row["min"] <= bench._mean(first[name]) <= row["max"]
        assert row["reference"] == pytest.approx(bench._mean(real[name]))
        assert row["absolute"] == pytest.approx(row["mean"] - row["reference"])
        if row["reference"]:
            assert row["difference"] == pytest.approx(row["absolute"] / row["reference"])
        assert (row["reference_tunes"], row["train_tunes"]) == (3, 5)
        assert row["train_reference"] == pytest.approx(bench._mean(trained[name]))
        if row["train_reference"]:
            assert row["train_difference"] == pytest.approx(row["mean"] / row["train_reference"] - 1)
        finite = [x for x in trained[name] if x is not None and x == x]
        if len(finite) >= 3:  # sets of 3 (the test tunes) from the 5 train tunes
            assert min(finite) <= row["real_low"] <= row["real_high"] <= max(finite)
    unmatched = bench.style_seeds("folk", ["jig"], {}, num=2, bars=4, seeds=1)
    assert all(r["reference"] is None and r["difference"] is None and r["absolute"] is None
               and r["train_reference"] is None and r["train_tunes"] == 0 for r in unmatched)


def test_bench_sample_shapes_cuts_the_shipped_model(tmp_path, monkeypatch, capsys):
    """The shape benchmark cuts the shipped transformer to fewer, narrower blocks that
    still load and sample, and times each; a shape larger than the model is refused."""
    import json as _json

    bench = _bench_module("bench_sample_shapes")
    import _common

    from seqart.models.folder import resolve_model

    shipped = _json.loads((resolve_model("folk") / "config.json").read_text())["config"]
    config = bench.cut(resolve_model("folk"), tmp_path / "cut", layers=2, width=128)
    ff_dim = shipped["ff_dim"] * 128 // shipped["d_model"]  # narrowed in proportion
    assert (config["num_layers"], config["d_model"], config["ff_dim"], config["num_heads"]) == (2, 128, ff_dim, 2)
    saved = _json.loads((tmp_path / "cut" / "config.json").read_text())["config"]
    assert saved["d_model"] == 128 and saved["num_layers"] == 2
    timing, params = bench.time_sampling(tmp_path / "cut", runs=1, bars=2)
    assert timing["n"] == 1 and timing["median"] > 0 and 0 < params < 1_000_000
    with pytest.raises(SystemExit):
        bench.cut(resolve_model("folk"), tmp_path / "big", layers=8, width=256)

    monkeypatch.setattr(_common, "RESULTS_DIR", tmp_path / "results")
    assert bench.main(["--shapes", "1x64", "--runs", "1", "--bars", "2"]) == 0
    assert "1x64" in capsys.readouterr().out
    rows = _json.loads((tmp_path / "results" / "sample_shapes.json").read_text())["rows"]
    assert [r["shape"] for r in rows] == ["shipped", "1x64"] and rows[0]["ratio"] == 1.0


def test_bars_similarity_finds_a_restated_opening():
    from seqart.evaluate.form import bars_similarity

    bar = [Note(67, 0, 1), Note(71, 1, 1), Note(74, 2, 2)]
    other = [Note(72, 0, 2), Note(69, 2, 2)]
    notes = []
    for k, content in enumerate([bar, other, other, other, bar, other]):
        notes += [Note(n.pitch, n.start + 4 * k, n.duration) for n in content]
    score = Score(tracks=[Track(notes=notes)], time_signatures=[TimeSignature(0, 4, 4)],
                  key_signatures=[KeySignature(0, 7, "major")])
    assert bars_similarity(score, 1, 5, 2) == 1.0
    assert bars_similarity(score, 1, 2, 1) == 0.0
    assert math.isnan(bars_similarity(score, 1, 6, 2))  # bar 7 does not exist


def test_real_sets_tell_how_far_a_figure_moves_between_sets_of_real_tunes():
    """real_sets draws sets of a given size from the train tunes' values: a figure every tune
    shares never moves; one carried by a single tune of ten swings from 0 to a fifth of it;
    too few tunes, or none to compare with, give None."""
    bench = _bench_form()
    same = bench.real_sets([0.2] * 6 + [None, float("nan")], 3, 0.2)
    assert same["low"] == pytest.approx(0.2) and same["high"] == pytest.approx(0.2) and same["within"] == 1.0
    rare = bench.real_sets([0.0] * 9 + [1.0], 2, 0.1, draws=500)
    assert rare["low"] == 0.0 and rare["high"] == pytest.approx(0.5)
    assert rare["within"] == 0.0  # a set of two real tunes has either none of it or half its mean
    assert bench.real_sets([0.0] * 9 + [1.0], 2, 0.1, draws=500) == rare  # same seed, same sets
    assert bench.real_sets([0.1, 0.2], 3, 0.1) == {"low": None, "high": None, "within": None}
    assert bench.real_sets([0.1, 0.2, 0.3], 2, None)["within"] is None
