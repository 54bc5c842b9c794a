"""Every example runs in its quick mode against a small trained model."""

import runpy
import sys

import pytest

from seqart.score import Score
from tests.train_fixtures import tiny_corpus, tiny_run  # noqa: F401

EXAMPLES = ["daw_variations.py", "sample_in_a_key.py"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_quick(name, tiny_run, tmp_path, monkeypatch, capsys):
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / name
    out = tmp_path / ("v.mid" if name == "daw_variations.py" else "out")
    monkeypatch.setattr(sys, "argv", [str(script), "--quick", "--model", str(tiny_run), "-o", str(out)])
    runpy.run_path(str(script), run_name="__main__")
    printed = capsys.readouterr().out
    assert "wrote" in printed or "melody 1" in printed
    files = [out] if out.suffix else sorted(out.glob("*.mid"))
    assert files and all(Score.from_file(f).num_notes > 0 for f in files)
