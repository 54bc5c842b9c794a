"""A polyphonic primer: which line a melody model continues, and the message that says so."""

import pytest
from typer.testing import CliRunner

from seqart.cli import app
from seqart.errors import ScoreError
from seqart.generate.primer import primer_line
from seqart.models.loading import load_generator
from seqart.score import KeySignature, Note, Score, TimeSignature, Track
from tests.train_fixtures import tiny_corpus, tiny_run  # noqa: F401


def song() -> Score:
    """Four bars of 4/4 in D: a melody, a bass line, a chord pad and drums."""
    melody = Track(notes=[Note(74 + i % 3, float(i), 1.0) for i in range(16)], name="Flute", program=73)
    bass = Track(notes=[Note(50, float(b), 2.0) for b in range(0, 16, 2)], name="Bass", program=33)
    pad = Track(notes=[Note(p, float(b), 4.0) for b in range(0, 16, 4) for p in (62, 66, 69)], name="", program=48)
    drums = Track(notes=[Note(36, float(b), 0.5) for b in range(16)], name="Kit", is_drum=True)
    return Score(tracks=[melody, bass, pad, drums], time_signatures=[TimeSignature(0, 4, 4)],
                 key_signatures=[KeySignature(0, 2, "major")], source="song.mid")


def test_several_tracks_are_reduced_with_a_notice():
    line, note = primer_line(song())
    assert len(line.tracks) == 1
    assert note.startswith("continuing the top voice of 3 tracks (1 Flute, 2 Bass, 3 program 48, 4 Kit (drums))")
    assert "--track N" in note


def test_a_chosen_track_is_kept_and_named():
    line, note = primer_line(song(), track=2)
    assert [n.pitch for n in line.tracks[0].notes] == [50] * 8
    assert note == "continuing track 2 (Bass)"
    _, note = primer_line(song(), track=3)
    assert note == "continuing the top voice of track 3 (program 48)"


def test_one_plain_line_needs_no_notice():
    one = Score(tracks=[song().tracks[0]])
    assert primer_line(one) == (primer_line(one)[0], None)
    assert primer_line(one, track=1)[1] is None
    chords = Score(tracks=[song().tracks[2]])
    assert "which has chords" in primer_line(chords)[1]


@pytest.mark.parametrize("track,match", [(5, "track 5 does not exist: song.mid has 4 tracks"),
                                         (0, "does not exist"), (4, "drum track"), ("2", "whole number")])
def test_bad_tracks_are_one_line_errors(track, match):
    with pytest.raises(ScoreError, match=match) as info:
        primer_line(song(), track=track)
    assert "\n" not in str(info.value)


def test_continuation_extends_the_chosen_track_and_keeps_the_others(tiny_run):
    gen = load_generator(tiny_run)
    primer = song()
    out = gen.continue_score(primer, bars=2, num=2, seed=1, track=2)
    assert gen.last_primer_note == "continuing track 2 (Bass)"
    for score in out:
        assert [t.name for t in score.tracks] == ["Flute", "Bass", "", "Kit"]
        for before, after in zip(primer.tracks, score.tracks):
            assert [(n.pitch, n.start, n.duration) for n in after.notes[:len(before.notes)]] == \
                   [(n.pitch, n.start, n.duration) for n in before.notes]
        assert len(score.tracks[1].notes) > len(primer.tracks[1].notes)  # the bass goes on
        assert score.tracks[0].notes == primer.tracks[0].notes and score.tracks[3].notes == primer.tracks[3].notes
    skyline = gen.continue_score(primer, bars=2, seed=1)[0]
    assert gen.last_primer_note.startswith("continuing the top voice of 3 tracks")
    assert len(skyline.tracks) == 5 and skyline.tracks[4].name == "seqart melody"
    gen.sample(bars=2, seed=1)
    assert gen.last_primer_note is None
    with pytest.raises(ScoreError, match="give a primer"):
        gen.sample(bars=2, seed=1, track=1)


def test_cli_says_what_it_continues_and_takes_track(tiny_run, tmp_path):
    path = tmp_path / "song.mid"
    song().write(path)
    runner = CliRunner()
    res = runner.invoke(app, ["sample", str(tiny_run), "--primer", str(path), "--bars", "2", "--seed", "1",
                              "-o", str(tmp_path / "a.mid")])
    assert res.exit_code == 0, res.output
    assert "continuing the top voice of 3 tracks" in res.output
    res = runner.invoke(app, ["sample", str(tiny_run), "--primer", str(path), "--track", "2", "--bars", "2",
                              "--seed", "1", "-o", str(tmp_path / "b.mid")])
    assert res.exit_code == 0, res.output
    assert "continuing track 2 (Bass)" in res.output
    res = runner.invoke(app, ["sample", str(tiny_run), "--primer", str(path), "--track", "9", "-o",
                              str(tmp_path / "c.mid")])
    assert res.exit_code != 0 and "track 9 does not exist" in res.output and "Traceback" not in res.output
    b = Score.from_file(tmp_path / "b.mid")
    assert len(b.tracks) == 4


def test_a_dorian_primer_is_continued_in_its_mode(tiny_run, tmp_path):
    """Issue 17's E-dorian primer: read as E dorian (not E major), continued with its notes only."""
    path = tmp_path / "edor.abc"
    path.write_text("X:1\nT:Dorian idea\nM:4/4\nL:1/8\nK:Edor\nEFGA B2AG|FDEF G2FE|\n")
    gen = load_generator(tiny_run)
    for score in gen.continue_score(path, bars=4, num=6, seed=2):
        assert score.key.name == "E dorian"
        assert {n.pitch % 12 for n in score.tracks[0].notes} <= {4, 6, 7, 9, 11, 1, 2}  # no G#, no D#
