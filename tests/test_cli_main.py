"""The command line: fast help without torch, train and sample through CliRunner, one-line errors."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from seqart.cli import app
from seqart.score import Score
from tests.train_fixtures import TINY, tiny_corpus, tiny_run  # noqa: F401

runner = CliRunner()


@pytest.mark.parametrize("code", [
    "import seqart",
    "from seqart.cli import app\nimport sys\nsys.argv=['seqart','--help']\ntry:\n    app()\nexcept SystemExit:\n    pass",
    "from seqart.cli import app\nimport sys\nsys.argv=['seqart','sample','--help']\ntry:\n    app()\nexcept SystemExit:\n    pass",
    "from seqart.cli import run\nimport sys\nsys.argv=['seqart','sample','--help']\ntry:\n    run()\nexcept SystemExit:\n    pass",
])
def test_help_and_import_never_load_torch(code):
    check = code + "\nimport sys\nassert 'torch' not in sys.modules, 'torch imported'\n" \
                   "assert 'music21' not in sys.modules, 'music21 imported'\n"
    subprocess.run([sys.executable, "-c", check], check=True, capture_output=True)


def test_sampling_a_melody_does_not_load_torch(tiny_run, tmp_path):
    code = (f"import sys\nfrom seqart.cli import run\nsys.argv=['seqart','sample',{str(tiny_run)!r},'-o',"
            f"{str(tmp_path / 'x.mid')!r},'--seed','1']\ntry:\n    run()\nexcept SystemExit as e:\n    assert not e.code\n"
            "assert 'torch' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert Score.from_file(tmp_path / "x.mid").num_notes > 0


@pytest.mark.parametrize("argv", [["sample", "--help"], ["sample", "--bogus"], ["rate", "--help"], ["--help"],
                                  ["corpus", "--help"], ["sampel"], ["version"]])
def test_the_script_answers_as_the_whole_app(argv, capsys, monkeypatch):
    """``seqart NAME`` builds an app of that command alone (run()); what it prints and its
    exit code are the whole app's."""
    from seqart.cli import run

    monkeypatch.setattr(sys, "argv", ["seqart", *argv])
    with pytest.raises(SystemExit) as one:
        run()
    by_run = capsys.readouterr()
    with pytest.raises(SystemExit) as whole:
        app(prog_name="seqart")
    by_app = capsys.readouterr()
    assert (one.value.code or 0) == (whole.value.code or 0)
    assert (by_run.out, by_run.err) == (by_app.out, by_app.err)
    assert by_run.out or by_run.err


def test_train_then_sample_many_files(tiny_corpus, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "melody-lstm", "--data", str(tiny_corpus), "-o", str(run),
                                 "--steps", "6", *sum((["--set", s] for s in TINY), [])])
    assert result.exit_code == 0, result.output
    assert "nats/token" in result.output
    result = runner.invoke(app, ["sample", str(run), "-o", str(tmp_path / "out.mid"), "--num", "3", "--bars", "4",
                                 "--seed", "5", "--key", "G", "--time-signature", "6/8", "--tempo", "90"])
    assert result.exit_code == 0, result.output
    files = sorted(tmp_path.glob("out-*.mid"))
    assert [f.name for f in files] == ["out-1.mid", "out-2.mid", "out-3.mid"]
    score = Score.from_file(files[0])
    assert str(score.time_signature) == "6/8" and round(score.tempos[0].bpm) == 90


def test_sample_musicxml_and_no_silent_overwrite(tiny_run, tmp_path):
    out = tmp_path / "tune.musicxml"
    assert runner.invoke(app, ["sample", str(tiny_run), "-o", str(out), "--bars", "2", "--seed", "1"]).exit_code == 0
    assert Score.from_file(out).num_notes > 0
    again = runner.invoke(app, ["sample", str(tiny_run), "-o", str(out), "--bars", "2"])
    assert again.exit_code == 2 and "--force" in again.output
    assert runner.invoke(app, ["sample", str(tiny_run), "-o", str(out), "--bars", "2", "--force"]).exit_code == 0


@pytest.mark.parametrize("args", [
    ["sample", "no-such-model"],
    ["sample", "{run}", "--bars", "0"],
    ["sample", "{run}", "--temperature", "0"],
    ["sample", "{run}", "--temperature", "-0.5"],
    ["sample", "{run}", "--key", "Q major"],
    ["sample", "{run}", "--primer", "{missing}"],
    ["sample", "{run}", "--primer", "{garbage}"],
    ["train", "no-such-preset", "--data", "{corpus}", "-o", "{out}"],
    ["train", "melody-lstm", "--data", "{missing}", "-o", "{out}"],
    ["train", "melody-lstm", "--data", "{corpus}", "-o", "{out}", "--set", "warp=9"],
    ["train", "melody-lstm", "--data", "{corpus}", "-o", "{out}", "--device", "cuda:7"],
    ["train", "melody-lstm", "--data", "{corpus}", "-o", "{corpus}", "--resume"],  # a folder that holds no run
])
def test_bad_input_is_one_line_and_exit_2(args, tiny_run, tiny_corpus, tmp_path):
    garbage = tmp_path / "garbage.mid"
    garbage.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    names = {"run": tiny_run, "corpus": tiny_corpus, "out": tmp_path / "o", "missing": tmp_path / "missing.mid",
             "garbage": garbage}
    argv = [a.format(**names) for a in args] + ["-o" if args[0] == "sample" else "--steps",
                                                 str(tmp_path / "s.mid") if args[0] == "sample" else "1"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.strip().startswith("error:") and len(result.output.strip().splitlines()) == 1


def test_sample_into_a_folder_named_with_a_trailing_slash(tmp_path):
    from typer.testing import CliRunner

    from seqart.cli import app

    target = tmp_path / "new-folder"
    result = CliRunner().invoke(app, ["sample", "--num", "2", "--bars", "2", "--seed", "3", "-o", f"{target}/"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == ["melody-1.mid", "melody-2.mid"]


def test_sample_with_a_pickup_writes_it_before_the_full_bars(tmp_path):
    # seeds 0-5 of the shipped model in 6/8: some open with a pickup, some on the downbeat
    starts = []
    for seed in range(6):
        out = tmp_path / f"p{seed}.mid"
        result = runner.invoke(app, ["sample", "--pickup", "--bars", "4", "--time-signature", "6/8",
                                     "--seed", str(seed), "-o", str(out), "--no-record"])
        assert result.exit_code == 0, result.output
        notes = sorted(Score.from_file(out).tracks[0].notes, key=lambda n: n.start)
        starts.append(notes[0].start)
        bars = 4 + (notes[0].start > 0)  # a pickup fills the end of a first, padded bar
        assert abs(max(n.end for n in notes) - 3.0 * bars) < 1e-6
    assert any(s > 0 for s in starts) and all(s == 0 or 1.5 <= s < 3.0 for s in starts)
    result = runner.invoke(app, ["sample", "--pickup", "--primer", str(tmp_path / "p0.mid"), "-o",
                                 str(tmp_path / "c.mid"), "--no-record"])
    assert result.exit_code != 0 and "pickup" in result.output and "Traceback" not in result.output
