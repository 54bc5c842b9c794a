"""Multi-process training (torchrun, gloo on CPU) and crash-proof runs (SIGKILL, resume)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from tests.train_fixtures import tiny_corpus  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
# no dropout (its masks would differ between one process and two), full windows only
SETTINGS = ["embed_dim=16", "hidden_size=16", "num_layers=1", "dropout=0.0", "batch_size=8", "seq_len=32",
            "val_every=4", "checkpoint_every=4", "log_every=2", "warmup_steps=2", "threads=1"]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def _weights(folder: Path) -> dict:
    return load_file(str(folder / "model.safetensors"))


def test_two_gloo_processes_match_one_process(tiny_corpus, tmp_path):
    from seqart.train.api import train

    single = tmp_path / "single"
    train("melody-lstm", tiny_corpus, single, steps=8, overrides=SETTINGS, progress=False)
    double = tmp_path / "double"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "seqart",
           "train", "melody-lstm", "--data", str(tiny_corpus), "-o", str(double), "--steps", "8"]
    cmd += [a for kv in SETTINGS for a in ("--set", kv)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    a, b = _weights(single / "checkpoint"), _weights(double / "checkpoint")
    assert a.keys() == b.keys()
    for k in a:
        assert np.allclose(a[k], b[k], atol=2e-5, rtol=1e-4), k
    # the weights moved: the comparison is not between two initialisations
    import json

    run = json.loads((double / "run.json").read_text())
    assert run["processes"] == 2
    assert (double / "eval.json").is_file() and (double / "model" / "config.json").is_file()
    lines = (double / "metrics.jsonl").read_text().splitlines()
    assert len([x for x in lines if '"split": "train"' in x]) == 4  # rank 0 alone logs


def test_batch_must_split_evenly(tiny_corpus, tmp_path):
    from seqart.errors import SeqartError
    from seqart.train.distributed import DistContext
    from seqart.train.config import TrainConfig
    from seqart.train.trainer import Trainer

    with pytest.raises(SeqartError, match="multiple of the number of processes"):
        Trainer(None, None, None, None, TrainConfig(batch_size=5), tmp_path, dist=DistContext(0, 2, 0, 2))


def test_shard_gives_contiguous_slices():
    import torch

    from seqart.train.distributed import DistContext

    batch = {"x": torch.arange(8).view(4, 2), "y": torch.arange(4)}
    first, second = DistContext(0, 2).shard(batch), DistContext(1, 2).shard(batch)
    assert first["y"].tolist() == [0, 1] and second["y"].tolist() == [2, 3]
    assert torch.equal(torch.cat([first["x"], second["x"]]), batch["x"])


def test_torchrun_command_line():
    from seqart.train.launch import torchrun_command

    cmd = torchrun_command(4, ["train", "melody-lstm", "--data", "D", "-o", "R"])
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4"]
    assert cmd[5:8] == ["-m", "seqart", "train"]


def _train_cmd(corpus, out, steps: int, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "seqart", "train", "melody-lstm", "--data", str(corpus), "-o", str(out),
           "--steps", str(steps), "--set", "checkpoint_every=1", "--set", "val_every=5"]
    cmd += [a for kv in SETTINGS
            if not kv.startswith(("checkpoint_every", "val_every", "dropout", "log_every"))
            for a in ("--set", kv)]
    return cmd + ["--set", "dropout=0.2", "--set", "log_every=1"] + (["--resume"] if resume else [])


def test_sigkill_at_random_moments_then_resume_equals_uninterrupted(tiny_corpus, tmp_path):
    """Kill a run (SIGKILL) at ten or more random moments, many of them during the
    checkpoint written after every step; each resume continues from an intact
    checkpoint, and the final weights equal those of a run never interrupted
    (dropout on: the random state is restored too)."""
    steps = 300
    clean = tmp_path / "clean"
    done = subprocess.run(_train_cmd(tiny_corpus, clean, steps, False), env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    run = tmp_path / "killed"
    rng = np.random.default_rng(7)
    kills, attempts, mid_write = 0, 0, 0
    while attempts < 40:
        attempts += 1
        metrics = run / "metrics.jsonl"
        lines_before = len(metrics.read_text().splitlines()) if metrics.exists() else 0
        proc = subprocess.Popen(_train_cmd(tiny_corpus, run, steps, _has_checkpoint(run)), env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # wait for training to be under way (torch imports first), then kill at a random moment
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if metrics.exists() and len(metrics.read_text().splitlines()) > lines_before:
                break
            time.sleep(0.02)
        time.sleep(float(rng.uniform(0.0, 0.25)))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            mid_write += bool(list(run.glob(".checkpoint.*"))) or (run / "checkpoint.old").exists()
            _check_checkpoint(run)
            if kills >= 10:
                break
        else:
            assert proc.returncode == 0, proc.stderr.read().decode()[-3000:]
            break
    assert kills >= 10, f"only {kills} kills landed before the run finished"
    # a checkpoint is written after every step, so some kills cut one short
    assert mid_write >= 1, "no kill fell during a checkpoint write"
    if not (run / "eval.json").exists():  # finish the run
        fin = subprocess.run(_train_cmd(tiny_corpus, run, steps, _has_checkpoint(run)), env=_env(), capture_output=True,
                             text=True, timeout=300)
        assert fin.returncode == 0, fin.stderr[-3000:]
    a, b = _weights(clean / "checkpoint"), _weights(run / "checkpoint")
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert not list(run.glob(".checkpoint.*")), "staging folders of killed writes were left behind"


def _has_checkpoint(run: Path) -> bool:
    return (run / "checkpoint").exists() or (run / "checkpoint.old").exists()


def _check_checkpoint(run: Path) -> None:
    """After a kill: one complete checkpoint exists (as ``checkpoint`` or, if the kill fell
    between the two renames, ``checkpoint.old``) and it loads."""
    import torch

    from seqart.models.folder import check_safetensors

    ckpt = run / "checkpoint"
    if not ckpt.exists():
        ckpt = run / "checkpoint.old"
    if not ckpt.exists():
        return  # killed before the first checkpoint
    check_safetensors(ckpt / "model.safetensors")
    load_file(str(ckpt / "model.safetensors"))
    state = torch.load(ckpt / "train_state.pt", map_location="cpu", weights_only=True)
    assert state["step"] >= 1
