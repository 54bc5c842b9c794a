"""``seqart export``: a copied (optionally float16) model folder samples like the original."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from seqart.cli import app
from seqart.models.folder import WEIGHTS, read_weights_numpy
from tests.train_fixtures import tiny_corpus, tiny_run  # noqa: F401

runner = CliRunner()


def test_export_half_is_smaller_and_close(tiny_run, tmp_path):
    out = tmp_path / "shipped"
    result = runner.invoke(app, ["export", str(tiny_run), "-o", str(out), "--half"])
    assert result.exit_code == 0, result.output
    original, halved = read_weights_numpy(tiny_run / "model"), read_weights_numpy(out)
    assert original.keys() == halved.keys()
    for k in original:
        np.testing.assert_allclose(halved[k], original[k], rtol=1e-3, atol=1e-4)
    assert (out / WEIGHTS).stat().st_size < 0.6 * (tiny_run / "model" / WEIGHTS).stat().st_size
    assert (out / "eval.json").is_file() and (out / "tokenizer.json").is_file()
    # the copy samples, through the same CLI, with the same seed -> a melody
    result = runner.invoke(app, ["sample", str(out), "-o", str(tmp_path / "m.mid"), "--bars", "2", "--seed", "1"])
    assert result.exit_code == 0, result.output


def test_export_never_overwrites_without_force(tiny_run, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    result = runner.invoke(app, ["export", str(tiny_run), "-o", str(out)])
    assert result.exit_code == 2 and "--force" in result.output
    assert (out / "mine.txt").read_text() == "keep"


def test_export_records_the_sampling_temperatures(tiny_run, tmp_path):
    import json

    import seqart

    out = tmp_path / "tempered"
    result = runner.invoke(app, ["export", str(tiny_run), "-o", str(out), "--temperature", "1.1",
                                 "--pitch-temperature", "0.9"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["sampling"] == {"temperature": 1.1, "pitch_temperature": 0.9}
    assert seqart.load(out).sampling_defaults == {"bars": 16, "temperature": 1.1, "pitch_temperature": 0.9}
    for bad in (["--temperature", "0"], ["--pitch-temperature", "inf"]):
        result = runner.invoke(app, ["export", str(tiny_run), "-o", str(tmp_path / "bad"), *bad])
        assert result.exit_code == 2 and "must be a number above 0" in result.output
        assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()
