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

from seqart.train.config import parse_settings
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


#: (preset, data, settings) per model family: dropout off (its masks differ between one
#: process and two by design), full windows only; the GAN with a weight average and BatchNorm
#: on both networks, whose statistics must cover the whole global batch
FAMILIES = {
    "lstm": ("melody-lstm", None, SETTINGS),
    "vae": ("melody-vae-tiny", None, ["batch_size=8", "augment_transpose=0", "val_every=4", "checkpoint_every=4",
                                      "log_every=2", "threads=1"]),
    "gan": ("dcgan-tiny", "digits", ["ema_decay=0.9", "val_every=4", "checkpoint_every=4", "log_every=2",
                                     "threads=1"]),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_two_gloo_processes_match_one_process(family, tiny_corpus, tmp_path):
    """DistributedDataParallel on 2 CPU processes (gloo) ends with the weights of one
    process on the same global batches: gradients averaged, noise drawn for the global
    batch, BatchNorm over the global batch."""
    from seqart.workflows.train import train

    preset, data, settings = FAMILIES[family]
    data = data or str(tiny_corpus)
    single = tmp_path / "single"
    train(preset, data, single, steps=8, settings=parse_settings(settings), progress=False)
    double = tmp_path / "double"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "seqart",
           "train", preset, "--data", data, "-o", str(double), "--steps", "8"]
    cmd += [a for kv in settings for a in ("--set", kv)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    a, b = _weights(single / "checkpoint"), _weights(double / "checkpoint")
    start = _weights_at_start(preset, data, settings, tmp_path / "start")
    assert a.keys() == b.keys()
    for k in a:
        assert np.allclose(a[k], b[k], atol=2e-5, rtol=1e-4), k
    # the weights moved: the comparison is not between two initialisations
    assert any(not np.allclose(a[k], start[k]) for k in a if a[k].dtype.kind == "f")
    import json

    run = json.loads((double / "run.json").read_text())
    assert run["processes"] == 2
    assert (double / "eval.json").is_file() and (double / "model" / "config.json").is_file()
    lines = (double / "metrics.jsonl").read_text().splitlines()
    assert len([x for x in lines if '"split": "train"' in x]) == 4  # rank 0 alone logs


def _weights_at_start(preset, data, settings, folder) -> dict:
    """The weights a run of ``preset`` starts from (a one-step dry run's first checkpoint would
    have moved; build the model the way training does instead)."""
    import torch

    from seqart.models import model_class
    from seqart.workflows.train import open_training_data
    from seqart.train.config import apply_settings, parse_settings
    from seqart.models.registry import get_preset
    from seqart.train.trainer import seed_everything

    recipe = get_preset(preset)
    model_cfg, train_cfg = apply_settings(recipe, parse_settings(list(settings)))
    corpus = open_training_data(data, recipe, model_cfg)
    cls = model_class(recipe.model)
    seed_everything(train_cfg.seed)
    model = cls(cls.config_from_dict({**model_cfg, **cls.data_config(corpus.tokenizer)}))
    return {k: v.detach().numpy() for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}


@pytest.mark.parametrize("world_size", ["1", "2"])
def test_a_torchrun_worker_leaves_without_teardown_once_its_summary_is_out(world_size, tmp_path, monkeypatch):
    """A finished torchrun worker prints its summary, flushes and ends with ``os._exit(0)``:
    DDP keeps gloo's threads alive past ``destroy_process_group``, and interpreter teardown
    around them sometimes aborts a run that is done. A single process exits normally."""
    from typer.testing import CliRunner

    import seqart.workflows.train as workflow
    from seqart.cli import app

    monkeypatch.setenv("WORLD_SIZE", world_size)
    monkeypatch.setenv("RANK", "1")
    summary = {"stopped_early": False, "step": 8, "model_dir": str(tmp_path / "run" / "model"), "rank": 1}
    monkeypatch.setattr(workflow, "train", lambda *args, **kwargs: summary)
    exits = []

    def _exit(code):
        exits.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(os, "_exit", _exit)
    result = CliRunner().invoke(app, ["train", "melody-lstm", "--data", str(tmp_path), "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert f"model: {tmp_path / 'run' / 'model'}  (steps 8)" in result.output
    assert exits == ([0] if world_size == "2" else [])


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
    """Run one command, ``seqart train ... --resume``, again and again, as a cluster does
    after each preemption, and SIGKILL it at random moments: half of the kills at any
    time from the process's first second (importing, before the first checkpoint,
    during the first steps), half once training is under way (many during the
    checkpoint written after every step). The run ends with the weights of a run never
    interrupted (dropout on: the random state is restored too), and its metrics log
    holds each step once."""
    steps = 1000  # enough that 16 kills land before the run ends on a fast, idle machine (600 once gave only 9)
    clean = tmp_path / "clean"
    done = subprocess.run(_train_cmd(tiny_corpus, clean, steps, False), env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    run = tmp_path / "killed"
    command = _train_cmd(tiny_corpus, run, steps, True)  # the same command every time, the first included
    rng = np.random.default_rng(7)
    kills, early, before_first, mid_write, attempts = 0, 0, 0, 0, 0
    while attempts < 40 and kills < 16:
        attempts += 1
        metrics = run / "metrics.jsonl"
        lines_before = len(metrics.read_text().splitlines()) if metrics.exists() else 0
        proc = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if attempts == 1:  # before the first checkpoint: as soon as the run folder is set up
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline and not (run / "run.json").exists():
                time.sleep(0.01)
        elif attempts % 2:  # any moment of the first 3 seconds: start-up, set-up, the first steps
            time.sleep(float(rng.uniform(0.0, 3.0)))
        else:  # once this attempt has trained a step
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
            early += attempts % 2
            before_first += not _has_checkpoint(run)
            mid_write += bool(list(run.glob(".checkpoint.*"))) or (run / "checkpoint.old").exists()
            _check_checkpoint(run)
        else:
            assert proc.returncode == 0, proc.stderr.read().decode()[-3000:]
            break
    assert kills >= 12 and early >= 6, f"only {kills} kills ({early} early) landed before the run finished"
    assert before_first >= 1, "no kill fell before the first checkpoint"
    assert mid_write >= 1, "no kill fell during a checkpoint write"
    if not (run / "eval.json").exists():  # finish the run
        fin = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300)
        assert fin.returncode == 0, fin.stderr[-3000:]
    a, b = _weights(clean / "checkpoint"), _weights(run / "checkpoint")
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert not list(run.glob(".checkpoint.*")), "staging folders of killed writes were left behind"
    assert _train_steps(run) == _train_steps(clean) == list(range(1, steps + 1))


def _train_steps(run: Path) -> list[int]:
    import json

    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["step"] for r in records if r["split"] == "train"]


def test_resume_before_the_first_checkpoint_starts_the_run(tiny_corpus, tmp_path):
    """A run that died before its first checkpoint (here: an error at step 5 of 12, the
    first checkpoint due at 100) is started again by ``resume=True``, which says so;
    it ends as an uninterrupted run does, and the lines the dead attempt logged are gone."""
    from seqart.workflows.train import train

    settings = [kv for kv in SETTINGS if not kv.startswith(("checkpoint_every", "log_every"))]
    settings += ["checkpoint_every=100", "log_every=1"]
    clean = tmp_path / "clean"
    train("melody-lstm", tiny_corpus, clean, steps=12, settings=parse_settings(settings), progress=False)

    class Preempted(Exception):
        pass

    def die_at_step_5(record):
        if record["step"] == 5:
            raise Preempted

    run = tmp_path / "run"
    said: list[str] = []
    with pytest.raises(Preempted):
        train("melody-lstm", tiny_corpus, run, steps=12, settings=parse_settings(settings), resume=True, progress=False,
              on_log=die_at_step_5, notify=said.append)
    assert said == [f"no checkpoint in {run} yet: starting the run from step 0"]
    assert not _has_checkpoint(run) and (run / "run.json").is_file() and 5 in _train_steps(run)
    said.clear()
    train("melody-lstm", tiny_corpus, run, steps=12, settings=parse_settings(settings), resume=True, progress=False,
          notify=said.append)
    assert said == [f"no checkpoint in {run} yet: starting the run from step 0"]
    a, b = _weights(clean / "checkpoint"), _weights(run / "checkpoint")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert _train_steps(run) == list(range(1, 13))
    said.clear()
    train("melody-lstm", tiny_corpus, run, steps=12, settings=parse_settings(settings), resume=True, progress=False,
          notify=said.append)  # a finished run: nothing left to train
    assert said == [f"resuming {run} at step 12 of 12"]


def test_checkpoints_by_elapsed_time(tiny_corpus, tmp_path, monkeypatch):
    """``checkpoint_minutes``: a checkpoint whenever that much time has passed since the
    last, however far off ``checkpoint_every`` is; 0 turns it off."""
    import torch

    from seqart.train import trainer as trainer_module
    from seqart.workflows.train import train

    clock = [0.0]
    monkeypatch.setattr(trainer_module.time, "monotonic", lambda: clock[0])
    written: dict[str, list[int]] = {}
    for minutes in ("2.5", "0"):
        run = tmp_path / minutes
        seen = written.setdefault(minutes, [])

        def watch(record, run=run, seen=seen):
            clock[0] += 60.0  # each step "takes" a minute
            state = run / "checkpoint" / "train_state.pt"
            if record["split"] == "train" and state.is_file():
                step = int(torch.load(state, weights_only=True)["step"])
                if not seen or seen[-1] != step:
                    seen.append(step)

        settings = [kv for kv in SETTINGS if not kv.startswith(("checkpoint_every", "log_every", "val_every"))]
        train("melody-lstm", tiny_corpus, run, steps=10, progress=False, on_log=watch,
              settings=parse_settings(settings + ["checkpoint_every=1000", "val_every=1000", "log_every=1",
                                    f"checkpoint_minutes={minutes}"]))
    # the clock moves a minute at each step's log line, after that step's check: step 4 is the first
    # checked 3 minutes after the start, step 8 the first 3 minutes after the checkpoint of step 4
    assert written["2.5"] == [4, 8]
    assert written["0"] == []  # by steps only: the one at the end comes after the last log line


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
