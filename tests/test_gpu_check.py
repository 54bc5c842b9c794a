"""``bench/gpu_check.py``: it says so and runs nothing without a GPU, and its whole path
(train, resume, sample, time) runs on the CPU in bf16 so it cannot rot between the
sessions that have a GPU to run it on."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tests.train_fixtures import tiny_corpus  # noqa: E402,F401

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def _gpu_check():
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "bench" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the check would run")
def test_without_a_gpu_it_says_so_and_runs_nothing(capsys, tmp_path):
    assert _gpu_check().main(["--data", str(tmp_path / "nothing")]) == 0
    out = capsys.readouterr().out
    assert "no CUDA GPU here, so nothing was run" in out
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(not (SHARED / "polyphonic" / "JSB_Chorales.mat").is_file()
                    or not (SHARED / "images" / "mnist").is_dir(), reason="../shared/data is absent")
def test_the_whole_check_runs_on_the_cpu(tiny_corpus, tmp_path, capsys):
    from seqart.corpora import build_corpus

    data = tmp_path / "data"
    shutil.copytree(tiny_corpus, data / "melody")
    build_corpus(SHARED / "polyphonic" / "JSB_Chorales.mat", data / "jsb", representation="pianoroll",
                 progress=False)
    (data / "shared" / "data" / "images").mkdir(parents=True)
    (data / "shared" / "data" / "images" / "mnist").symlink_to(SHARED / "images" / "mnist")
    code = _gpu_check().main(["--data", str(data), "--device", "cpu", "--steps", "2", "--timing-steps", "1",
                              "--only", "melody-lstm", "poly-nade-jsb", "dcgan-28", "--no-results",
                              "--set", "batch_size=4", "--set", "seq_len=32", "--set", "val_batches=1",
                              "--out", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "fp16 autocast runs on CUDA only" in out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["rows_ok"] == summary["rows"] == 3
    assert "resume: melody-lstm bf16 stopped after its checkpoint at step 1" in out
    assert "seqart Trainer" in out and "bare bf16 loop" in out
    for run in ("melody-lstm-bf16", "melody-lstm-resumed", "poly-nade-jsb-bf16", "dcgan-28-bf16"):
        assert (tmp_path / "runs" / run / "model" / "model.safetensors").is_file(), run
