"""Real-world MusicXML/ABC read right (issue 17): transposing instruments at sounding
pitch, unpitched drum parts, ties that never stop, repeats and grace notes on request.

The fixtures are small hand-written files under ``tests/fixtures/real_world/read_*``;
each names the real files it stands for in a comment.
"""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqart import KeySignature
from seqart.cli import app
from seqart.corpora import build_corpus
from seqart.io import read_score, read_scores

REAL_WORLD = Path(__file__).resolve().parent / "fixtures" / "real_world"


def pitches_and_starts(track) -> list[tuple[int, float]]:
    return sorted((n.pitch, n.start) for n in track.notes)


def timings(track) -> list[tuple[int, float, float]]:
    return [(n.pitch, n.start, n.duration) for n in sorted(track.notes, key=lambda n: (n.start, n.pitch))]


def as_mxl(xml: Path, folder: Path) -> Path:
    """``xml`` packed as a compressed MusicXML (.mxl) archive."""
    path = folder / xml.with_suffix(".mxl").name
    container = ('<?xml version="1.0" encoding="UTF-8"?><container><rootfiles>'
                 '<rootfile full-path="score.musicxml"/></rootfiles></container>')
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("META-INF/container.xml", container)
        archive.writestr("score.musicxml", xml.read_text(encoding="utf-8"))
    return path


# ------------------------------------------------------- transposing instruments
def test_transposing_instruments_read_at_sounding_pitch():
    score = read_score(REAL_WORLD / "read_transposing_instruments.musicxml")
    clarinet, horn, sax = score.tracks
    # written C5 D5 | C5 (clarinet in Bb, then in A), C5 | G4 (horn in Eb), C5 | E5 (tenor sax)
    assert pitches_and_starts(clarinet) == [(69, 4.0), (70, 0.0), (72, 2.0)]
    assert pitches_and_starts(horn) == [(58, 4.0), (63, 0.0)]
    assert pitches_and_starts(sax) == [(58, 0.0), (62, 4.0)]
    # the first part is written in D major (Bb clarinet) and E-flat major (A clarinet): concert C
    assert score.key_signatures == [KeySignature(0.0, 0, "major")]


def test_transposing_instruments_read_at_sounding_pitch_from_mxl(tmp_path):
    mxl = as_mxl(REAL_WORLD / "read_transposing_instruments.musicxml", tmp_path)
    assert pitches_and_starts(read_score(mxl).tracks[1]) == [(58, 4.0), (63, 0.0)]


# ----------------------------------------------------------------- drum parts
@pytest.mark.parametrize("packed", [False, True], ids=["musicxml", "mxl"])
def test_unpitched_drum_part_reads_as_drum_track_with_general_midi_keys(packed, tmp_path):
    path = REAL_WORLD / "read_unpitched_drums.musicxml"
    if packed:
        path = as_mxl(path, tmp_path)
    piano, kit, snare = read_score(path).tracks
    assert not piano.is_drum and pitches_and_starts(piano) == [(60, 0.0), (64, 4.0)]
    assert kit.is_drum and snare.is_drum
    # <midi-unpitched> is 1-based: 37 bass drum -> 36, 39 snare -> 38, 43 closed hi-hat -> 42;
    # the note naming no instrument keeps its display pitch A4 (69)
    assert pitches_and_starts(kit) == [(36, 0.0), (36, 2.0), (36, 4.0), (38, 1.0),
                                       (42, 0.0), (42, 2.0), (42, 4.0), (69, 3.0)]
    assert timings(snare) == [(38, 2.0, 2.0), (38, 4.0, 4.0)]  # the part's only instrument


def test_drum_track_survives_a_midi_round_trip(tmp_path):
    score = read_score(REAL_WORLD / "read_unpitched_drums.musicxml")
    back = read_score(score.write(tmp_path / "drums.mid"))
    kits = [t for t in back.tracks if t.is_drum]
    assert sorted(p for t in kits for p, _ in pitches_and_starts(t)) == [36, 36, 36, 38, 38, 38, 42, 42, 42, 69]


# ----------------------------------------------------------- ties never stopped
def test_tie_start_followed_by_the_same_pitch_continues_the_note():
    notes = timings(read_score(REAL_WORLD / "read_tie_without_stop.musicxml").tracks[0])
    assert notes == [(72, 0.0, 4.0), (74, 4.0, 4.0), (76, 8.0, 2.0), (77, 10.0, 2.0),
                     (79, 12.0, 1.0), (79, 14.0, 1.0), (81, 15.0, 1.0)]


def test_unended_ties_of_a_real_madrigal_merge_as_music21_strip_ties_does():
    from music21 import corpus

    found = [p for p in corpus.getComposer("monteverdi") if p.name == "madrigal.4.9.mxl"]
    if not found:
        pytest.skip("music21's corpus does not hold monteverdi/madrigal.4.9")
    score = read_score(found[0])
    assert score.num_notes == 453  # 494 written notes, 41 of them ties whose stop is missing


# -------------------------------------------------------------------- repeats
def test_repeats_are_read_as_written_by_default_and_played_out_on_request():
    written, _ = read_scores(REAL_WORLD / "read_repeats.abc")
    played, _ = read_scores(REAL_WORLD / "read_repeats.abc", expand_repeats=True)
    assert (written.num_notes, written.end) == (17, 20.0)
    assert (played.num_notes, played.end) == (29, 32.0)
    assert [n.pitch for n in played.tracks[0].notes[12:17]] == [60, 62, 64, 65, 67]  # the A part again
    assert played.title == "Repeats" and played.time_signatures == written.time_signatures


def test_musicxml_repeat_with_endings_is_played_out():
    path = REAL_WORLD / "read_repeats.musicxml"
    assert pitches_and_starts(read_score(path).tracks[0]) == [(60, 0.0), (62, 4.0), (64, 8.0), (65, 12.0)]
    played = read_score(path, expand_repeats=True)
    assert timings(played.tracks[0]) == [(60, 0.0, 4.0), (62, 4.0, 4.0), (60, 8.0, 4.0), (64, 12.0, 4.0),
                                         (65, 16.0, 4.0)]
    assert played.title == "Repeats"


def test_malformed_repeats_fall_back_to_the_written_form_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="seqart.io.music21_reader"):
        broken = read_score(REAL_WORLD / "read_repeats.abc", index=1, expand_repeats=True)
    assert broken.num_notes == 17 and broken.end == 20.0
    warned = [r.getMessage() for r in caplog.records if "repeats" in r.getMessage()]
    assert len(warned) == 1 and "read_repeats.abc#2" in warned[0] and "\n" not in warned[0]


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A parse cache of the test's own."""
    monkeypatch.setenv("SEQART_CACHE_DIR", str(tmp_path / "cache"))


def test_corpus_build_expands_repeats_on_request(tmp_path, isolated_cache):
    folder = tmp_path / "music"
    folder.mkdir()
    (folder / "tune.abc").write_text((REAL_WORLD / "read_repeats.abc").read_text().split("\nX:2")[0])
    kw = {"workers": 1, "progress": False, "valid_fraction": 0.0, "test_fraction": 0.0}
    written = build_corpus(folder, tmp_path / "written", **kw)
    played = build_corpus(folder, tmp_path / "played", expand_repeats=True, **kw)  # the cache must not answer
    assert played.parsed == 1 and played.cache_hits == 0
    assert played.items["train"] > written.items["train"]
    again = build_corpus(folder, tmp_path / "again", expand_repeats=True, **kw)
    assert again.cache_hits == 1 and again.items == played.items


def test_cli_corpus_build_takes_expand_repeats(tmp_path, isolated_cache):
    folder = tmp_path / "music"
    folder.mkdir()
    (folder / "tune.abc").write_text((REAL_WORLD / "read_repeats.abc").read_text().split("\nX:2")[0])
    common = ["--workers", "1", "--no-cache"]
    written = CliRunner().invoke(app, ["corpus", "build", str(folder), "-o", str(tmp_path / "w"), *common])
    played = CliRunner().invoke(app, ["corpus", "build", str(folder), "-o", str(tmp_path / "p"), *common,
                                      "--expand-repeats"])
    assert written.exit_code == 0 and played.exit_code == 0, played.output
    assert "kept 1 sequences" in written.output and "kept 1 sequences" in played.output
    assert _train_tokens(written.output) < _train_tokens(played.output)


def _train_tokens(report: str) -> int:
    """Tokens of the train split in a ``corpus build`` report (``train 1 seq / 91 tokens, ...``)."""
    return int(re.search(r"train \d+ seq / ([\d,]+) tokens", report).group(1).replace(",", ""))


# ---------------------------------------------------------------- grace notes
def test_grace_notes_are_dropped_by_default():
    notes = timings(read_score(REAL_WORLD / "read_grace_notes.musicxml").tracks[0])
    assert notes == [(72, 0.0, 1.0), (72, 1.0, 1.0), (72, 2.0, 2.0), (76, 2.0, 2.0),
                     (72, 4.0, 0.5), (74, 4.5, 0.5), (76, 5.0, 3.0)]


def test_grace_notes_kept_take_their_time_from_the_following_note():
    notes = timings(read_score(REAL_WORLD / "read_grace_notes.musicxml", grace_notes=True).tracks[0])
    assert notes == [
        (74, 0.0, 0.125), (72, 0.125, 0.875),                      # one grace note: 1/8 beat
        (76, 1.0, 0.125), (74, 1.125, 0.125), (72, 1.25, 0.75),     # two of them
        (71, 2.0, 0.125), (72, 2.125, 1.875), (76, 2.125, 1.875),   # before a chord
        (69, 4.0, 0.0625), (71, 4.0625, 0.0625), (72, 4.125, 0.375),  # a quarter of an eighth, shared
        (74, 4.5, 0.5), (76, 5.0, 3.0),                              # the trailing grace has no note after it
    ]


def test_abc_grace_notes_kept_on_request():
    path = REAL_WORLD / "read_grace_notes.abc"
    assert [n.pitch for n in read_score(path).tracks[0].notes] == [69, 71, 72, 76]
    notes = timings(read_score(path, grace_notes=True).tracks[0])
    assert notes == [(79, 0.0, 0.125), (69, 0.125, 0.875), (81, 1.0, 0.125), (79, 1.125, 0.125),
                     (71, 1.25, 0.75), (72, 2.0, 2.0), (76, 4.0, 4.0)]


# ----------------------------------------------------------- sample primers
def test_cli_sample_reads_the_primer_with_the_read_options(monkeypatch, tmp_path):
    import seqart.workflows.sample as workflow

    seen = {}

    def fake_sample_to_files(model, out, **kw):
        seen.update(kw)
        return workflow.SampleResult(seed=1)

    monkeypatch.setattr(workflow, "sample_to_files", fake_sample_to_files)
    primer = REAL_WORLD / "read_repeats.musicxml"
    result = CliRunner().invoke(app, ["sample", "folk", "-o", str(tmp_path / "x.mid"), "--primer", str(primer),
                                      "--expand-repeats", "--grace-notes"])
    assert result.exit_code == 0, result.output
    assert seen["primer"].end == 20.0  # read played out, not as written (16 beats)
    plain = CliRunner().invoke(app, ["sample", "folk", "-o", str(tmp_path / "x.mid"), "--primer", str(primer)])
    assert plain.exit_code == 0 and seen["primer"] == primer  # a path, read as before
