"""seqart.evaluate: hand-computed metrics, distribution overlap, memorisation, selection, and the CLI."""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from seqart.cli import app
from seqart.errors import SeqartError
from seqart.evaluate import (
    METRICS,
    MelodyIndex,
    Reference,
    ReferenceStats,
    evaluate,
    overlap_area,
    piece_metrics,
    select_best,
)
from seqart.evaluate import metrics as M
from seqart.score import KeySignature, Note, Score, TimeSignature, Track
from tests.melody_factory import random_melody, write_melody_folder

runner = CliRunner()


def score_of(notes, key=None, meter=(4, 4), drums=()):
    """A one-track score from ``(pitch, start, duration)`` triples (beats)."""
    tracks = [Track(notes=[Note(p, s, d) for p, s, d in notes])]
    if drums:
        tracks.append(Track(notes=[Note(p, s, d) for p, s, d in drums], is_drum=True))
    return Score(tracks=tracks, time_signatures=[TimeSignature(0.0, *meter)],
                 key_signatures=[KeySignature(0.0, *key)] if key else [])


C_MAJOR_SCALE = [(p, float(i), 1.0) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71])]


# ------------------------------------------------------------------ metrics
def test_c_major_scale_by_hand():
    m = piece_metrics(score_of(C_MAJOR_SCALE, key=(0, "major")))
    assert list(m) == list(METRICS)
    assert m["pitch_range"] == 11
    assert m["n_pitches_used"] == 7 and m["n_pitch_classes_used"] == 7
    assert m["pitch_class_entropy"] == pytest.approx(math.log2(7))
    assert m["scale_consistency"] == 1.0 and m["in_key_rate"] == 1.0
    assert m["polyphony"] == 1.0
    assert m["empty_beat_rate"] == 0.0
    assert m["note_density"] == pytest.approx(1.0)  # 7 notes in 7 beats
    assert m["mean_interval"] == pytest.approx(11 / 6)  # 2+2+1+2+2+2 over 6 steps


def test_in_key_rate_follows_the_key_signature_and_falls_back_to_the_best_key():
    notes = [(60, 0, 1), (61, 1, 1), (62, 2, 1), (64, 3, 1)]  # C C# D E
    assert M.in_key_rate(score_of(notes, key=(0, "major"))) == pytest.approx(0.75)
    assert M.in_key_rate(score_of(notes, key=(2, "major"))) == pytest.approx(0.75)  # D major: C is out, C# in
    assert M.in_key_rate(score_of(notes, key=(6, "major"))) == pytest.approx(0.25)  # F# major: only C# in
    assert M.in_key_rate(score_of(notes, key=(9, "minor"))) == pytest.approx(0.75)  # A minor = C major notes
    no_key = score_of(notes)
    assert M.in_key_rate(no_key) == M.scale_consistency(no_key) == pytest.approx(0.75)
    # a key change half-way: the second half is judged in the new key
    changed = score_of([(60, 0, 1), (62, 1, 1), (61, 2, 1), (66, 3, 1)])
    changed.key_signatures = [KeySignature(0.0, 0, "major"), KeySignature(2.0, 2, "major")]
    assert M.in_key_rate(changed) == 1.0


def test_polyphony_of_chords():
    triad = [(60, 0, 2), (64, 0, 2), (67, 0, 2)]
    assert M.polyphony(score_of(triad)) == pytest.approx(3.0)
    # a 2-beat triad then a 2-beat single note: (3*2 + 2) / 4 beats sounding; the gap does not count
    assert M.polyphony(score_of(triad + [(72, 6, 2)])) == pytest.approx(2.0)


def test_empty_beat_rate_counts_a_silent_bar():
    notes = [(60, float(b), 1.0) for b in range(4)] + [(62, float(b), 1.0) for b in range(8, 12)]
    assert M.empty_beat_rate(score_of(notes)) == pytest.approx(4 / 12)
    # a held note fills the beats it spans; leading silence before the first onset is not counted
    held = [(60, 2.0, 3.0), (62, 5.0, 1.0)]
    assert M.empty_beat_rate(score_of(held)) == 0.0


def test_groove_consistency_on_the_grid():
    bar = [(60, 0, 1), (62, 1, 1), (64, 2, 1), (65, 3, 1)]
    same = [(p, s + 4 * k, d) for k in range(4) for p, s, d in bar]
    assert M.groove_consistency(score_of(same)) == 1.0
    halves = bar + [(60, 4, 2), (62, 6, 2)]  # onsets at 0,12,24,36 vs 0,24 of 48 steps: 2 differ
    assert M.groove_consistency(score_of(halves)) == pytest.approx(1 - 2 / 48)
    assert math.isnan(M.groove_consistency(score_of(bar)))  # one bar: nothing to compare


def test_drums_ignored_and_empty_scores_undefined():
    with_drums = score_of(C_MAJOR_SCALE, key=(0, "major"), drums=[(36, 0.5, 0.25), (38, 30.0, 0.25)])
    assert piece_metrics(with_drums) == piece_metrics(score_of(C_MAJOR_SCALE, key=(0, "major")))
    empty = piece_metrics(Score(tracks=[Track()]))
    assert empty["n_pitches_used"] == 0
    assert all(math.isnan(empty[k]) for k in ("pitch_range", "pitch_class_entropy", "polyphony", "mean_interval"))


def test_mean_interval_uses_the_top_line():
    chords = [(60, 0, 1), (72, 0, 1), (64, 1, 1), (74, 1, 1)]
    assert M.mean_interval(score_of(chords)) == 2.0


# ------------------------------------------------------------------ overlap
def test_overlap_of_identical_disjoint_and_constant_sets():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 400)
    assert overlap_area(a, a) == pytest.approx(1.0, abs=0.01)
    assert overlap_area(a, rng.normal(50, 1, 400)) < 0.01
    big = rng.normal(0, 1, 3000), rng.normal(1, 1, 3000)
    assert overlap_area(*big) == pytest.approx(2 * 0.3085, abs=0.05)  # 2 * Phi(-0.5)
    assert overlap_area([1.0] * 5, [1.0] * 9) == 1.0
    assert overlap_area([1.0] * 5, [3.0] * 9) == 0.0
    assert 0.0 <= overlap_area([1.0] * 5, rng.normal(1, 1, 50)) <= 1.0  # constant vs spread: histograms
    assert math.isnan(overlap_area([math.nan], a))


# ------------------------------------------------------------- memorisation
def random_line(rng, n, start_pitch=60):
    """A melody of ``n`` notes with random leaps and rhythms (no two alike by chance)."""
    pitches = start_pitch + np.cumsum(rng.integers(-7, 8, n))
    durations = rng.choice([0.25, 0.5, 0.75, 1.0, 1.5, 2.0], n)
    onsets = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
    return [(int(p), float(s), float(d)) for p, s, d in zip(pitches, onsets, durations)]


@pytest.fixture
def library():
    rng = np.random.default_rng(7)
    lines = [random_line(rng, 60) for _ in range(30)]
    return lines, MelodyIndex([score_of(line) for line in lines], [f"ref{i}" for i in range(len(lines))])


@pytest.mark.parametrize("transpose", [0, 5, -3])
def test_memorisation_finds_a_planted_copy(library, transpose):
    lines, index = library
    rng = np.random.default_rng(1)
    head, tail = random_line(rng, 15, 40), random_line(rng, 15, 80)
    copied = lines[12][30:50]  # 20 notes
    shift_copy = head[-1][1] + head[-1][2] - copied[0][1]
    body = [(p + transpose, s + shift_copy, d) for p, s, d in copied]
    shift_tail = body[-1][1] + body[-1][2]
    sample = score_of(head + body + [(p, s + shift_tail, d) for p, s, d in tail])
    run = index.longest_run(sample, "planted")
    assert (run.notes, run.reference, run.sample_note, run.reference_note) == (20, "ref12", 15, 30)
    assert run.flagged


def test_memorisation_ignores_unrelated_melodies_and_changed_rhythm(library):
    lines, index = library
    rng = np.random.default_rng(99)
    for _ in range(5):
        run = index.longest_run(score_of(random_line(rng, 80)))
        assert run.notes == 0 and not run.flagged and run.reference == ""
    # the same pitches in another rhythm are not a copy
    same_pitches = [(p, i * 0.5, 0.5) for i, (p, _, _) in enumerate(lines[3])]
    assert index.longest_run(score_of(same_pitches)).notes == 0


def test_evaluate_report(library):
    lines, _ = library
    scores = [score_of(line, key=(0, "major")) for line in lines]
    ref = Reference("lib", scores, [f"ref{i}" for i in range(30)], list(range(30)))
    report = evaluate(scores[:3] + [score_of(random_line(np.random.default_rng(5), 40))], ref)
    assert [r.notes for r in report.memorisation] == [60, 60, 60, 0]
    assert len(report.flagged) == 3 and [m.name for m in report.metrics] == list(METRICS)
    assert json.loads(json.dumps(report.to_dict(), allow_nan=False))["n_reference"] == 30
    with pytest.raises(SeqartError):
        evaluate([], ref)


# ------------------------------------------------------------------ select
def test_select_best_prefers_the_reference_like_piece():
    reference = [random_melody(i, bars=8) for i in range(40)]
    stats = ReferenceStats.from_scores(reference)
    rng = np.random.default_rng(3)
    absurd = score_of([(int(p), i * 0.125, 0.125) for i, p in enumerate(rng.integers(21, 108, 300))])
    alike = random_melody(1000, bars=8)
    ranked = select_best([absurd, alike], stats, keep=2)
    assert ranked[0][0] is alike and ranked[1][0] is absurd
    assert ranked[0][1] < 1.5 < ranked[1][1]  # distances in reference standard deviations
    assert [s for s, _ in select_best([absurd, alike, Score(tracks=[Track()])], stats, keep=1)] == [alike]
    with pytest.raises(SeqartError):
        select_best([alike], stats, keep=2)


# --------------------------------------------------------------------- CLI
@pytest.fixture
def ref_dir(tmp_path):
    folder = tmp_path / "ref"
    write_melody_folder(folder, count=12, bars=16)
    return folder


def test_cli_evaluate_table_json_and_flag(ref_dir, tmp_path):
    samples = tmp_path / "samples"
    samples.mkdir()
    random_melody(3, bars=16, meter=(2, 4), tonic=3).transpose(2).write(samples / "copy.mid")  # walk003, transposed
    random_melody(500, bars=8).write(samples / "new.mid")
    out = tmp_path / "eval.json"
    result = runner.invoke(app, ["evaluate", str(samples), "--reference", str(ref_dir), "--json", str(out)])
    assert result.exit_code == 0, result.output
    for name in METRICS:
        assert name in result.output
    assert "walk003.mid" in result.output and "1 of 2 samples" in result.output
    data = json.loads(out.read_text())
    runs = {r["sample"].rsplit("/", 1)[-1]: r for r in data["memorisation"]}
    assert runs["copy.mid"]["flagged"] and runs["copy.mid"]["notes"] == 33 and not runs["new.mid"]["flagged"]
    assert len(data["samples"]) == 2 and data["n_reference"] == 12


def test_cli_sample_keeps_the_best(ref_dir, tmp_path):
    out = tmp_path / "out" / "x.mid"
    result = runner.invoke(app, ["sample", "folk", "--num", "8", "--keep", "2", "--reference", str(ref_dir),
                                 "-o", str(out), "--seed", "1", "--bars", "4"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.parent.iterdir()) == ["x-1.mid", "x-2.mid"]
    assert result.output.count("distance") == 2


@pytest.mark.parametrize("args", [
    ["evaluate", "{missing}", "--reference", "{ref}"],
    ["evaluate", "{garbage}", "--reference", "{ref}"],
    ["evaluate", "{sample}", "--reference", "folk"],
    ["evaluate", "{sample}", "--reference", "{missing}"],
    ["evaluate", "{sample}", "--reference", "{empty}"],
    ["evaluate", "{sample}", "--reference", "{ref}", "--max-reference", "0"],
    ["evaluate", "{sample}", "--reference", "{ref}", "--flag-notes", "3"],
    ["sample", "folk", "--keep", "2", "-o", "{out}"],
    ["sample", "folk", "--reference", "{ref}", "-o", "{out}"],
    ["sample", "folk", "--num", "2", "--keep", "3", "--reference", "{ref}", "-o", "{out}"],
    ["sample", "folk", "--num", "2", "--keep", "0", "--reference", "{ref}", "-o", "{out}"],
    ["sample", "folk", "--num", "2", "--keep", "1", "--reference", "{missing}", "-o", "{out}"],
])
def test_bad_invocations_are_one_line_and_exit_2(args, ref_dir, tmp_path):
    garbage = tmp_path / "garbage.mid"
    garbage.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    sample = tmp_path / "one.mid"
    random_melody(1).write(sample)
    (tmp_path / "empty").mkdir()
    names = {"missing": tmp_path / "missing.mid", "garbage": garbage, "ref": ref_dir, "sample": sample,
             "empty": tmp_path / "empty", "out": tmp_path / "o.mid"}
    result = runner.invoke(app, [a.format(**names) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.strip().startswith("error:") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "o.mid").exists() and not (tmp_path / "o-1.mid").exists()
