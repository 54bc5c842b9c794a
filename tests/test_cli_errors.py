"""Bad invocations of every command: exit status 2, a message, never a traceback.

Typer/Click reject unknown options, missing arguments and wrong types with a usage
error; seqart's own checks end as one ``error: ...`` line through ``guarded``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqart.cli import app
from tests.fuzz_cases import midi, note
from tests.train_fixtures import tiny_corpus  # noqa: F401

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli_errors")
    music = root / "music"
    music.mkdir()
    tune = music / "tune.mid"
    tune.write_bytes(midi(b"".join(note(60 + i, 240) for i in range(16))))
    (root / "exists.mid").write_bytes(tune.read_bytes())
    (root / "exists.wav").write_bytes(b"RIFF")
    (root / "exists.png").write_bytes(b"\x89PNG")
    (root / "exists.gif").write_bytes(b"GIF89a")
    (root / "notes.txt").write_text("not music\n")
    (root / "garbage.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    (root / "empty_dir").mkdir()
    (root / "full_dir").mkdir()
    (root / "full_dir" / "keep.txt").write_text("mine\n")
    return {
        "music": music, "tune": tune, "exists": root / "exists.mid", "exists_wav": root / "exists.wav",
        "exists_png": root / "exists.png", "exists_gif": root / "exists.gif", "txt": root / "notes.txt",
        "garbage": root / "garbage.mid", "empty_dir": root / "empty_dir", "full_dir": root / "full_dir",
        "missing": root / "missing.mid", "missing_wav": root / "missing.wav", "root": root,
    }


#: (id, argv); {name} is filled from the ``files`` fixture, {new} is a fresh path,
#: {corpus} a built melody corpus.
CASES = [
    # the top level
    ("unknown-command", ["no-such-command"]),
    ("unknown-top-option", ["--bogus"]),
    ("version-extra-argument", ["version", "extra"]),
    ("version-unknown-option", ["version", "--bogus"]),
    ("presets-extra-argument", ["presets", "melody-lstm"]),
    ("presets-unknown-option", ["presets", "--bogus"]),
    # store and studio
    ("store-unknown-subcommand", ["store", "wipe"]),
    ("store-prune-says-nothing-to-prune", ["store", "prune", "--yes"]),
    ("store-prune-unrated-and-all", ["store", "prune", "--unrated", "--all", "--yes"]),
    ("studio-unknown-model", ["studio", "--model", "no-such-model", "--no-browser"]),
    ("studio-port-text", ["studio", "--port", "abc"]),
    # corpus
    ("corpus-unknown-subcommand", ["corpus", "info", "folk"]),
    ("corpus-list-extra-argument", ["corpus", "list", "extra"]),
    ("corpus-build-no-source", ["corpus", "build"]),
    ("corpus-build-no-out", ["corpus", "build", "{music}"]),
    ("corpus-build-unknown-source", ["corpus", "build", "no-such-corpus", "-o", "{new}"]),
    ("corpus-build-missing-file", ["corpus", "build", "{missing}", "-o", "{new}"]),
    ("corpus-build-not-music", ["corpus", "build", "{txt}", "-o", "{new}"]),
    ("corpus-build-empty-folder", ["corpus", "build", "{empty_dir}", "-o", "{new}"]),
    ("corpus-build-only-garbage", ["corpus", "build", "{garbage}", "-o", "{new}", "--no-cache"]),
    ("corpus-build-workers-zero", ["corpus", "build", "{music}", "-o", "{new}", "--workers", "0"]),
    ("corpus-build-workers-negative", ["corpus", "build", "{music}", "-o", "{new}", "--workers", "-3"]),
    ("corpus-build-workers-text", ["corpus", "build", "{music}", "-o", "{new}", "--workers", "many"]),
    ("corpus-build-limit-zero", ["corpus", "build", "{music}", "-o", "{new}", "--limit", "0"]),
    ("corpus-build-time-limit-negative", ["corpus", "build", "{music}", "-o", "{new}", "--time-limit", "-1"]),
    ("corpus-build-time-limit-text", ["corpus", "build", "{music}", "-o", "{new}", "--time-limit", "soon"]),
    ("corpus-build-unknown-representation", ["corpus", "build", "{music}", "-o", "{new}", "-r", "bogus"]),
    ("corpus-build-set-without-equals", ["corpus", "build", "{music}", "-o", "{new}", "--set", "steps"]),
    ("corpus-build-set-unknown-option", ["corpus", "build", "{music}", "-o", "{new}", "--set", "warp=9"]),
    ("corpus-build-set-bad-value", ["corpus", "build", "{music}", "-o", "{new}", "--set", "steps_per_beat=0"]),
    ("corpus-build-set-text-for-number", ["corpus", "build", "{music}", "-o", "{new}", "--set", "min_pitch=low"]),
    ("corpus-build-set-list-for-number", ["corpus", "build", "{music}", "-o", "{new}", "--set", "steps_per_beat=[4]"]),
    ("corpus-build-out-is-a-file", ["corpus", "build", "{music}", "-o", "{exists}"]),
    ("corpus-build-out-not-a-corpus", ["corpus", "build", "{music}", "-o", "{full_dir}"]),
    # train
    ("train-no-preset", ["train"]),
    ("train-no-data", ["train", "melody-lstm", "-o", "{new}"]),
    ("train-unknown-preset", ["train", "no-such-preset", "--data", "{corpus}", "-o", "{new}"]),
    ("train-missing-data", ["train", "melody-lstm", "--data", "{missing}", "-o", "{new}"]),
    ("train-data-not-a-corpus", ["train", "melody-lstm", "--data", "{music}", "-o", "{new}"]),
    ("train-steps-zero", ["train", "melody-lstm", "--data", "{corpus}", "-o", "{new}", "--steps", "0"]),
    ("train-steps-negative", ["train", "melody-lstm", "--data", "{corpus}", "-o", "{new}", "--steps", "-5"]),
    ("train-steps-text", ["train", "melody-lstm", "--data", "{corpus}", "-o", "{new}", "--steps", "ten"]),
    ("train-set-unknown", ["train", "melody-lstm", "--data", "{corpus}", "-o", "{new}", "--set", "warp=9"]),
    ("train-set-without-equals", ["train", "melody-lstm", "--data", "{corpus}", "-o", "{new}", "--set", "lr"]),
    ("train-set-bad-type", ["train", "melody-lstm", "--data", "{corpus}", "-o", "{new}", "--set", "batch_size=big"]),
    ("train-set-zero-batch", ["train", "melody-lstm", "--data", "{corpus}", "-o", "{new}", "--set", "batch_size=0"]),
    ("train-set-negative-lr", ["train", "melody-lstm", "--data", "{corpus}", "-o", "{new}", "--set", "lr=-1"]),
    ("train-unknown-device", ["train", "melody-lstm", "--data", "{corpus}", "-o", "{new}", "--device", "tpu:3"]),
    ("train-resume-into-a-folder-that-is-no-run", ["train", "melody-lstm", "--data", "{corpus}", "-o", "{music}",
                                                   "--resume"]),
    ("train-set-negative-checkpoint-minutes", ["train", "melody-lstm", "--data", "{corpus}", "-o", "{new}", "--set",
                                               "checkpoint_minutes=-1"]),
    ("train-fp16-on-the-cpu", ["train", "melody-lstm", "--data", "{corpus}", "-o", "{new}", "--device", "cpu",
                               "--set", "precision=fp16"]),
    ("train-wrong-representation", ["train", "poly-lstm-jsb", "--data", "{corpus}", "-o", "{new}"]),
    # sample
    ("sample-unknown-model", ["sample", "no-such-model", "-o", "{new}.mid"]),
    ("sample-model-not-a-folder", ["sample", "{empty_dir}", "-o", "{new}.mid"]),
    ("sample-num-zero", ["sample", "-o", "{new}.mid", "--num", "0"]),
    ("sample-num-negative", ["sample", "-o", "{new}.mid", "--num", "-2"]),
    ("sample-num-text", ["sample", "-o", "{new}.mid", "--num", "two"]),
    ("sample-bars-zero", ["sample", "-o", "{new}.mid", "--bars", "0"]),
    ("sample-bars-huge", ["sample", "-o", "{new}.mid", "--bars", "100000"]),
    ("sample-temperature-zero", ["sample", "-o", "{new}.mid", "--temperature", "0"]),
    ("sample-temperature-negative", ["sample", "-o", "{new}.mid", "-t", "-1"]),
    ("sample-temperature-nan", ["sample", "-o", "{new}.mid", "-t", "nan"]),
    ("sample-pitch-temperature-zero", ["sample", "-o", "{new}.mid", "--pitch-temperature", "0"]),
    ("sample-pitch-temperature-inf", ["sample", "-o", "{new}.mid", "--pitch-temperature", "inf"]),
    ("sample-top-k-zero", ["sample", "-o", "{new}.mid", "--top-k", "0"]),
    ("sample-top-p-zero", ["sample", "-o", "{new}.mid", "--top-p", "0"]),
    ("sample-top-p-above-one", ["sample", "-o", "{new}.mid", "--top-p", "1.5"]),
    ("sample-unknown-key", ["sample", "-o", "{new}.mid", "--key", "Q major"]),
    ("sample-unknown-scale", ["sample", "-o", "{new}.mid", "--scale", "bogus"]),
    ("sample-empty-range", ["sample", "-o", "{new}.mid", "--range", "90-40"]),
    ("sample-range-outside-model", ["sample", "-o", "{new}.mid", "--range", "0-10"]),
    ("sample-bad-time-signature", ["sample", "-o", "{new}.mid", "--time-signature", "5/3"]),
    ("sample-tempo-zero", ["sample", "-o", "{new}.mid", "--tempo", "0"]),
    ("sample-seed-negative", ["sample", "-o", "{new}.mid", "--seed", "-1"]),
    ("sample-missing-primer", ["sample", "-o", "{new}.mid", "--primer", "{missing}"]),
    ("sample-garbage-primer", ["sample", "-o", "{new}.mid", "--primer", "{garbage}"]),
    ("sample-text-primer", ["sample", "-o", "{new}.mid", "--primer", "{txt}"]),
    ("sample-unknown-format", ["sample", "-o", "{new}", "--format", "mp3"]),
    ("sample-output-exists", ["sample", "-o", "{exists}"]),
    ("sample-steps-for-melody-model", ["sample", "-o", "{new}.mid", "--steps", "8"]),
    ("sample-keep-without-reference", ["sample", "-o", "{new}.mid", "--keep", "1"]),
    ("sample-keep-above-num", ["sample", "-o", "{new}.mid", "--num", "2", "--keep", "3", "--reference", "{music}"]),
    # accompany
    ("accompany-missing-file", ["accompany", "{missing}", "-o", "{new}.mid"]),
    ("accompany-garbage-file", ["accompany", "{garbage}", "-o", "{new}.mid"]),
    ("accompany-with-a-melody-model", ["accompany", "{tune}", "--model", "folk", "-o", "{new}.mid"]),
    ("accompany-output-exists", ["accompany", "{tune}", "-o", "{exists}"]),
    ("accompany-as-an-unknown-program", ["accompany", "{tune}", "--as", "40", "-o", "{new}.mid"]),
    ("accompany-as-every-program", ["accompany", "{tune}", "--as", "0", "--as", "24", "-o", "{new}.mid"]),
    ("accompany-bad-part-range", ["accompany", "{tune}", "--part-range", "24", "-o", "{new}.mid"]),
    ("accompany-part-range-of-the-given", ["accompany", "{tune}", "--part-range", "0=40-60", "-o", "{new}.mid"]),
    ("accompany-track-out-of-range", ["accompany", "{tune}", "--track", "5", "-o", "{new}.mid"]),
    ("accompany-temperature-zero", ["accompany", "{tune}", "-t", "0", "-o", "{new}.mid"]),
    ("accompany-unknown-key", ["accompany", "{tune}", "--key", "Q major", "-o", "{new}.mid"]),
    # infill
    ("infill-no-bars", ["infill", "{tune}", "-o", "{new}.mid"]),
    ("infill-bars-text", ["infill", "{tune}", "--bars", "x", "-o", "{new}.mid"]),
    ("infill-bars-backwards", ["infill", "{tune}", "--bars", "3-2", "-o", "{new}.mid"]),
    ("infill-bars-beyond-the-piece", ["infill", "{tune}", "--bars", "50-60", "-o", "{new}.mid"]),
    ("infill-track-out-of-range", ["infill", "{tune}", "--bars", "1", "--track", "3", "-o", "{new}.mid"]),
    ("infill-candidates-zero", ["infill", "{tune}", "--bars", "1", "--candidates", "0", "-o", "{new}.mid"]),
    ("infill-missing-file", ["infill", "{missing}", "--bars", "1", "-o", "{new}.mid"]),
    ("infill-with-a-melody-model", ["infill", "{tune}", "--bars", "1", "--model", "folk", "-o", "{new}.mid"]),
    ("infill-output-exists", ["infill", "{tune}", "--bars", "1", "-o", "{exists}"]),
    # export
    ("export-no-model", ["export"]),
    ("export-no-out", ["export", "folk"]),
    ("export-unknown-model", ["export", "no-such-model", "-o", "{new}"]),
    ("export-out-exists", ["export", "folk", "-o", "{full_dir}"]),
    ("export-force-onto-a-file", ["export", "folk", "-o", "{exists}", "--force"]),
    ("export-force-onto-another-folder", ["export", "folk", "-o", "{full_dir}", "--force"]),
    ("prune-nothing-to-cut", ["prune", "folk", "--data", "{corpus}", "-o", "{new}"]),
    ("prune-ff-dim-text", ["prune", "folk", "--data", "{corpus}", "--ff-dim", "x", "-o", "{new}"]),
    ("prune-unknown-model", ["prune", "no-such-model", "--data", "{corpus}", "--ff-dim", "8", "-o", "{new}"]),
    ("prune-missing-corpus", ["prune", "folk", "--data", "{missing}", "--ff-dim", "8", "-o", "{new}"]),
    ("prune-not-a-transformer", ["prune", "folk-vae-2bar", "--data", "{corpus}", "--ff-dim", "8", "-o", "{new}"]),
    ("prune-out-exists", ["prune", "folk", "--data", "{corpus}", "--ff-dim", "8", "-o", "{full_dir}"]),
    ("prune-no-batches", ["prune", "folk", "--data", "{corpus}", "--ff-dim", "8", "-o", "{new}", "--batches", "0"]),
    # bench
    ("bench-no-dataset", ["bench", "polyphonic"]),
    ("bench-unknown-dataset", ["bench", "polyphonic", "--dataset", "no-such-dataset"]),
    ("bench-dataset-not-mat", ["bench", "polyphonic", "--dataset", "{txt}"]),
]

#: commands other helpers are adding; their cases run only once they are registered
LATER = [
    ("evaluate", "evaluate-no-samples", ["evaluate", "-r", "{music}"]),
    ("evaluate", "evaluate-no-reference", ["evaluate", "{tune}"]),
    ("evaluate", "evaluate-missing-sample", ["evaluate", "{missing}", "-r", "{music}"]),
    ("evaluate", "evaluate-missing-reference", ["evaluate", "{tune}", "-r", "{missing}"]),
    ("evaluate", "evaluate-flag-notes-text", ["evaluate", "{tune}", "-r", "{music}", "--flag-notes", "x"]),
    ("interpolate", "interpolate-one-melody", ["interpolate", "{tune}", "-o", "{new}"]),
    ("interpolate", "interpolate-unknown-model", ["interpolate", "{tune}", "{tune}", "-o", "{new}", "-m", "nope"]),
    ("interpolate", "interpolate-missing-melody", ["interpolate", "{missing}", "{tune}", "-o", "{new}"]),
    ("vary", "vary-no-out", ["vary", "{tune}"]),
    ("vary", "vary-unknown-model", ["vary", "{tune}", "-o", "{new}", "-m", "nope"]),
    ("shift", "shift-unknown-attribute", ["shift", "{tune}", "-o", "{new}.mid", "-a", "loudness"]),
    ("shift", "shift-no-attribute", ["shift", "{tune}", "-o", "{new}.mid"]),
    ("render", "render-missing-score", ["render", "{missing}"]),
    ("render", "render-unknown-engine", ["render", "{tune}", "-o", "{new}.wav", "--engine", "bogus"]),
    ("render", "render-output-exists", ["render", "{tune}", "-o", "{exists_wav}"]),
    ("render", "render-garbage-score", ["render", "{garbage}", "-o", "{new}.wav"]),
    ("transcribe", "transcribe-missing-audio", ["transcribe", "{missing_wav}"]),
    ("transcribe", "transcribe-not-audio", ["transcribe", "{txt}", "-o", "{new}.mid"]),
    ("transcribe", "transcribe-steps-text", ["transcribe", "{missing_wav}", "--steps-per-beat", "x"]),
    ("plot", "plot-missing-score", ["plot", "{missing}"]),
    ("plot", "plot-output-exists", ["plot", "{tune}", "-o", "{exists_png}"]),
    ("plot", "plot-garbage-score", ["plot", "{garbage}", "-o", "{new}.png"]),
    ("walk", "walk-not-gif", ["walk", "folk", "-o", "{new}.png"]),
    ("walk", "walk-unknown-model", ["walk", "no-such-model", "-o", "{new}.gif"]),
    ("walk", "walk-output-exists", ["walk", "folk", "-o", "{exists_gif}"]),
    ("evaluate-images", "evaluate-images-num-too-small", ["evaluate-images", "{empty_dir}", "--num", "5"]),
    ("evaluate-images", "evaluate-images-unknown-target", ["evaluate-images", "no-such-thing"]),
    ("rate", "rate-nothing", ["rate"]),
    ("rate", "rate-missing-file", ["rate", "--like", "{missing}"]),
    ("rate", "rate-stars-out-of-range", ["rate", "--stars", "6", "{tune}"]),
    ("rate", "rate-mark-without-file", ["rate", "{tune}", "--dislike"]),
    ("rate", "rate-unknown-mark", ["rate", "--liek", "{tune}"]),
    ("rate", "rate-unknown-model", ["rate", "--like", "{tune}", "--model", "no-such-model"]),
    ("tune", "tune-no-out", ["tune", "folk", "--from-feedback"]),
    ("tune", "tune-without-from-feedback", ["tune", "folk", "-o", "{new}"]),
    ("tune", "tune-unknown-model", ["tune", "no-such-model", "--from-feedback", "-o", "{new}"]),
    ("tune", "tune-not-a-melody-lstm", ["tune", "{empty_dir}", "--from-feedback", "-o", "{new}"]),
    ("tune", "tune-steps-text", ["tune", "folk", "--from-feedback", "-o", "{new}", "--steps", "x"]),
    ("tune", "tune-out-exists", ["tune", "folk", "--from-feedback", "-o", "{full_dir}"]),
    ("tune", "tune-force-onto-another-folder", ["tune", "folk", "--from-feedback", "-o", "{full_dir}", "--force"]),
    ("train", "train-from-unknown-model", ["train", "melody-lstm", "--from", "no-such-model", "--data", "{music}",
                                           "-o", "{new}"]),
    ("train", "train-from-other-model-type", ["train", "melody-vae-tiny", "--from", "folk", "--data", "{music}",
                                              "-o", "{new}"]),
    ("train", "train-from-only-garbage", ["train", "melody-lstm", "--from", "folk", "--data", "{garbage}",
                                          "-o", "{new}"]),
]


@functools.lru_cache(maxsize=None)
def registered() -> frozenset[str]:
    import typer.main

    return frozenset(typer.main.get_command(app).commands)


ALL = [pytest.param(argv, id=name) for name, argv in CASES] + [
    pytest.param(argv, id=name, marks=pytest.mark.skipif(command not in registered(), reason=f"no '{command}' yet"))
    for command, name, argv in LATER
]


def test_the_table_covers_every_registered_command():
    covered = {argv[0] for _, argv in CASES} | {command for command, _, _ in LATER if command in registered()}
    assert registered() <= covered, f"add bad invocations for: {sorted(registered() - covered)}"
    assert len(ALL) >= 30


@pytest.mark.parametrize("argv", ALL)
def test_bad_invocation_exits_2_with_a_message_and_no_traceback(argv, files, tiny_corpus, tmp_path):  # noqa: F811
    names = {k: str(v) for k, v in files.items()}
    names["new"] = str(tmp_path / "new")
    if any("{corpus}" in a for a in argv):
        names["corpus"] = str(tiny_corpus)
    args = [a.format(**names) for a in argv]
    result = runner.invoke(app, args)
    output = result.output
    assert result.exit_code == 2, f"exit {result.exit_code} {result.exception!r}\n{output}"
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert output.strip(), "no message"
    if "error:" in output:  # seqart's own refusal: exactly one line
        errors = [line for line in output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, output
    else:  # a usage error from Click
        assert "Error" in output and "Usage" in output, output
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [], "wrote output anyway"


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_export_force_replaces_only_a_model_folder(tmp_path, kind):
    """``export --force`` renamed any existing target aside and deleted it: a file, or
    a home folder given by mistake. Now it replaces nothing but a model folder."""
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("precious\n")
    else:
        target.mkdir()
        (target / "precious.txt").write_text("precious\n")
    result = runner.invoke(app, ["export", "folk", "-o", str(target), "--force"])
    assert result.exit_code == 2, result.output
    assert "is not a model folder" in result.output
    precious = target if kind == "file" else target / "precious.txt"
    assert precious.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]


def test_export_force_replaces_a_model_folder(tmp_path):
    assert runner.invoke(app, ["export", "folk", "-o", str(tmp_path / "m")]).exit_code == 0
    result = runner.invoke(app, ["export", "folk", "-o", str(tmp_path / "m"), "--force", "--half"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
