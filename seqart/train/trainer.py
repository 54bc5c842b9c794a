"""The one trainer for every seqart model (LSTM, VAE, GAN, ...).

The model supplies its optimizers and a ``training_step(batch, step)`` that calls
``step(name, loss)`` once per optimizer; the trainer does everything else:
device, mixed precision, zero-grad/backward/clip/step, learning-rate schedule,
validation, early stopping, metrics, progress, checkpoints (every N steps and
every M minutes), resume, and data-parallel training through PyTorch's
DistributedDataParallel (see :mod:`seqart.train.distributed`).

Run folder::

    RUN/
      run.json           preset, settings, data source, seqart version
      model/             best model so far (config.json, model.safetensors, tokenizer.json)
      checkpoint/        latest state for --resume (model files + train_state.pt)
      metrics.jsonl      one JSON object per log line / validation
      eval.json          final valid/test figures of model/
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from seqart.errors import SeqartError, one_line
from seqart.models.folder import fill_tied, save_model_folder
from seqart.train.config import TrainConfig
from seqart.train.distributed import (DistContext, batch_rows, context_from_env, data_parallel, init_process_group,
                                      map_tensors, step_seed)
from seqart.train.sync_batchnorm import convert_batch_norms, synchronized
from seqart.utils.atomic import atomic_folder, recover_dir, write_json_atomic, write_text_atomic

STATE = "train_state.pt"


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA, then MPS, then CPU for ``"auto"``; otherwise the named device (checked)."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise SeqartError(f"unknown device {requested!r} (try cpu, cuda, cuda:1 or mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SeqartError("--device cuda asked for, but no CUDA GPU is available")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise SeqartError("--device mps asked for, but MPS is not available")
    return device


def pick_precision(requested: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype (None = full fp32).

    ``"auto"`` is bf16 on a CUDA GPU that has it, else fp16 there (with loss
    scaling), and fp32 elsewhere. ``"bf16"`` also runs on the CPU, under CPU
    autocast: worth it on processors with bf16 matrix units, and the way CI checks
    that every model trains under autocast without a GPU.
    """
    if device.type != "cuda":
        if requested == "bf16" and device.type == "cpu":
            return torch.bfloat16
        if requested == "fp16":
            raise SeqartError("fp16 mixed precision needs a CUDA device (bf16 runs on the CPU too)")
        if requested == "bf16":
            raise SeqartError(f"bf16 mixed precision needs a CUDA device or the CPU, not {device.type}")
        return None
    if requested == "fp32":
        return None
    if requested == "bf16" or (requested == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


def lr_factor(step: int, train: TrainConfig) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based)."""
    if train.warmup_steps and step < train.warmup_steps:
        return (step + 1) / train.warmup_steps
    if train.schedule == "constant":
        return 1.0
    span = max(train.steps - train.warmup_steps, 1)
    progress = min(max(step - train.warmup_steps, 0) / span, 1.0)
    return train.min_lr_ratio + (1 - train.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def flushing_subnormals() -> bool:
    """Whether this thread currently flushes subnormal floats to zero."""
    return (torch.tensor([1e-38]) * torch.tensor([0.01])).item() == 0.0


@contextmanager
def subnormals_flushed() -> Iterator[None]:
    """Flush subnormal floats to zero on the CPU while the block runs, then restore.

    Gradients that enter an LSTM only at its last step (a VAE encoder's final
    state) shrink into subnormal floats on their way back through time, and x86
    cores take tens of times longer on those: a 16-bar encoder's backward pass ran
    13x slower (``bench/bench_vae_step.py``). Flushing them to zero changes
    nothing measurable in the losses. The setting is processor state of the
    calling thread (threads started from it later inherit it), so it is undone on
    exit: code that calls the trainer keeps IEEE arithmetic.
    """
    was = flushing_subnormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(was)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


class Trainer:
    """Train ``model`` on ``train_data`` and keep the best weights on ``valid_data``.

    Args:
        model: a SeqartModel (see :mod:`seqart.models.base`).
        tokenizer: saved next to the weights.
        train_data: a BatchSource of training batches.
        valid_data: a BatchSource for validation, or None.
        train: the settings.
        run_dir: the run folder (created).
        run_info: extra JSON saved in ``run.json`` and each model's ``config.json``.
        progress: show a rich progress bar.
        on_log: called with each metrics record (for tests and callers).
        dist: this process's place in a distributed run (default: from torchrun's
            environment; rank 0 of 1 without it). See :mod:`seqart.train.distributed`.
    """

    def __init__(self, model, tokenizer, train_data, valid_data, train: TrainConfig, run_dir,
                 run_info: dict | None = None, progress: bool = True,
                 on_log: Callable[[dict], None] | None = None, dist: DistContext | None = None,
                 sides_from: Path | None = None):
        train.validate()
        self.train = train
        self.run_dir = Path(run_dir)
        self.dist = dist if dist is not None else context_from_env()
        self.device = pick_device(train.device)
        if self.dist.enabled and self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", self.dist.local_rank)
        if self.dist.enabled and train.batch_size % self.dist.world_size:
            raise SeqartError(f"batch_size {train.batch_size} must be a multiple of the number of processes "
                              f"({self.dist.world_size})")
        self.amp_dtype = pick_precision(train.precision, self.device)
        if train.threads:
            torch.set_num_threads(train.threads)
        elif self.dist.enabled and self.device.type == "cpu":  # share the cores between local processes
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // self.dist.local_world_size))
        init_process_group(self.dist, self.device)
        self.model = model.to(self.device)
        if self.dist.enabled:
            convert_batch_norms(self.model)
        self.tokenizer = tokenizer
        self.train_data = train_data
        self.valid_data = valid_data
        self.run_info = dict(run_info or {})
        self.progress = progress
        self.on_log = on_log
        #: a folder whose side files (``keys.json``, ...) every saved ``RUN/model`` folder gets a copy of
        self.sides_from = sides_from
        self.optimizers = model.configure_optimizers(train)
        #: the DistributedDataParallel wrapper every loss passes through (None in a one-process run);
        #: building it gives every process rank 0's weights
        self.ddp = (data_parallel(self.model, find_unused=len(self.optimizers) > 1 or not model.uses_all_parameters)
                    if self.dist.enabled else None)
        self.schedulers = {
            name: torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, train))
            for name, opt in self.optimizers.items()
        }
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.step = 0
        self.best_val = math.inf
        self.bad_validations = 0
        self.history: list[dict] = []
        self._stop_requested = False

    # ------------------------------------------------------------- resume
    def resume(self) -> bool:
        """Load ``RUN/checkpoint`` if there is one. Returns True if it resumed."""
        ckpt = self.run_dir / "checkpoint"
        recover_dir(ckpt)
        recover_dir(self.run_dir / "model")
        if self.dist.is_main:  # staging folders of writes a crash cut short
            for stale in list(self.run_dir.glob(".checkpoint.*")) + list(self.run_dir.glob(".model.*")):
                shutil.rmtree(stale, ignore_errors=True)
        self.dist.barrier()
        if not (ckpt / STATE).is_file():
            return False
        from safetensors.torch import load_file

        from seqart.models.folder import check_safetensors

        check_safetensors(ckpt / "model.safetensors")  # a header check before any tensor is read
        try:
            weights = load_file(str(ckpt / "model.safetensors"), device="cpu")
        except Exception as exc:  # noqa: BLE001 - any damage is one line
            raise SeqartError(f"{ckpt / 'model.safetensors'}: unreadable checkpoint weights "
                              f"({one_line(exc, 120)})") from None
        try:
            self.model.load_state_dict(fill_tied(self.model, weights), strict=True)  # tied weights are stored once
        except RuntimeError as exc:
            raise SeqartError(f"{ckpt / 'model.safetensors'}: does not fit this model ({one_line(exc, 120)})") from None
        try:
            state = torch.load(ckpt / STATE, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - includes refused pickles
            raise SeqartError(f"{ckpt / STATE}: unreadable training state ({one_line(exc, 120)})") from None
        try:
            self._restore_state(state)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
            raise SeqartError(f"{ckpt / STATE}: unreadable training state (missing or malformed {exc})") from None
        return True

    def _restore_state(self, state: dict) -> None:
        """Optimizer, schedule, scaler, counters and random states from a checkpoint."""
        if not isinstance(state, dict):
            raise TypeError("not a mapping")
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        for name, sch in self.schedulers.items():
            sch.load_state_dict(state["schedulers"][name])
        if "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.best_val = float(state["best_val"])
        self.bad_validations = int(state["bad_validations"])
        torch.set_rng_state(state["rng_torch"])
        if torch.cuda.is_available() and state.get("rng_cuda") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        random.setstate(_tuple_state(state["rng_python"]))
        np.random.set_state(_np_state(state["rng_numpy"]))

    def save_checkpoint(self) -> None:
        """Write ``RUN/checkpoint`` (weights + optimizer/scheduler/RNG state) atomically
        (rank 0 writes; the other processes wait for it)."""
        if self.dist.is_main:
            self._write_checkpoint()
        self.dist.barrier()

    def _write_checkpoint(self) -> None:
        with atomic_folder(self.run_dir / "checkpoint") as tmp:
            save_model_folder(tmp / "c", self.model, self.tokenizer, extra=self.run_info)
            for f in (tmp / "c").iterdir():
                os.replace(f, tmp / f.name)
            (tmp / "c").rmdir()
            np_state = np.random.get_state()
            state = {
                "step": self.step,
                "best_val": self.best_val,
                "bad_validations": self.bad_validations,
                "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
                "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
                "scaler": self.scaler.state_dict(),
                "rng_torch": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
                "rng_python": _listify(random.getstate()),
                "rng_numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
                "train": asdict(self.train),
            }
            torch.save(state, tmp / STATE)

    # ------------------------------------------------------------ training
    def _make_step_fn(self):
        def step(name: str, loss: torch.Tensor) -> None:
            try:
                opt = self.optimizers[name]
            except KeyError:
                raise SeqartError(f"training_step used optimizer {name!r}, the model declares {list(self.optimizers)}") from None
            opt.zero_grad(set_to_none=True)
            # through DDP: its reducer averages the gradients across processes during backward()
            self.scaler.scale(self.ddp(loss) if self.ddp is not None else loss).backward()
            if self.train.grad_clip:
                self.scaler.unscale_(opt)
                params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
                torch.nn.utils.clip_grad_norm_(params, self.train.grad_clip)
            self.scaler.step(opt)

        return step

    def fit(self) -> dict:
        """Train until ``train.steps`` or early stopping; returns the final metrics.

        Ctrl-C (SIGINT) or SIGTERM finish the current step, write a checkpoint and
        raise KeyboardInterrupt, so a later ``--resume`` continues from there.
        """
        train = self.train
        main = self.dist.is_main
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.run_dir / "run.json", {**self.run_info, "train": asdict(train),
                                                          "processes": self.dist.world_size})
        if main:  # lines logged after the checkpoint this run starts from belong to a lost future
            _drop_records_after(self.run_dir / "metrics.jsonl", self.step)
        metrics_file = open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") if main else None
        tb = _tensorboard(self.run_dir / "tensorboard", purge_after=self.step) if main else None
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def request_stop(signum, frame):
            if self._stop_requested:  # a second Ctrl-C aborts at once
                raise KeyboardInterrupt
            self._stop_requested = True

        for s in previous:
            try:
                signal.signal(s, request_stop)
            except ValueError:  # not in the main thread
                pass
        bar = _Progress(train.steps, enabled=self.progress and main)
        try:
            with subnormals_flushed() if self.device.type == "cpu" else nullcontext():
                return self._loop(metrics_file, tb, bar)
        finally:
            bar.close()
            if metrics_file is not None:
                metrics_file.close()
            if tb is not None:
                tb.close()
            for s, h in previous.items():
                try:
                    signal.signal(s, h)
                except ValueError:
                    pass

    def _on_device(self, batch):
        return map_tensors(lambda t: t.to(self.device, non_blocking=True), batch)

    def _training_step(self, global_batch) -> dict:
        """The model's ``training_step`` on this process's slice of batch ``self.step``."""
        batch = self._on_device(self.dist.shard(global_batch))
        model = self.model
        model.trainer_step = self.step
        rows = batch_rows(global_batch)
        model.batch_rows = (self.dist.first_row(rows), rows)
        model.noise_generator = torch.Generator(device=self.device).manual_seed(step_seed(self.train.seed, self.step, 0))
        if self.dist.enabled:  # dropout masks: a stream per process, a function of the step (resume needs no state)
            torch.manual_seed(step_seed(self.train.seed, self.step, 1 + self.dist.rank))
        autocast = (torch.autocast(self.device.type, dtype=self.amp_dtype)
                    if self.amp_dtype is not None else nullcontext())
        try:
            with autocast, synchronized(model) if self.dist.enabled else nullcontext():
                return model.training_step(batch, self._make_step_fn())
        finally:
            model.batch_rows = model.noise_generator = None

    def _loop(self, metrics_file, tb, bar) -> dict:
        train = self.train
        main = self.dist.is_main
        self.model.train()
        window_items, window_start, window_losses = 0, time.perf_counter(), {}
        bar.update(self.step, {})
        stopped_early = False
        last_checkpoint = time.monotonic()
        while self.step < train.steps:
            out = self._training_step(self.train_data.batch(self.step))
            self.scaler.update()
            for sch in self.schedulers.values():
                sch.step()
            overdue = (bool(train.checkpoint_minutes)
                       and time.monotonic() - last_checkpoint >= 60 * train.checkpoint_minutes)
            if self.dist.enabled:  # every process must agree, or the checkpoint's barrier waits forever
                self._stop_requested, overdue = self.dist.any_flags([self._stop_requested, overdue], self.device)
            self.step += 1
            for k, v in out.items():
                if k != "items":
                    window_losses.setdefault(k, []).append(v)
            window_items += int(out.get("items", 0)) * self.dist.world_size
            if self.step % train.log_every == 0 or self.step == train.steps:
                elapsed = max(time.perf_counter() - window_start, 1e-9)
                record = {"step": self.step, "split": "train",
                          **{k: float(torch.stack([torch.as_tensor(x, dtype=torch.float32) for x in v]).mean())
                             for k, v in window_losses.items()},
                          "items_per_s": window_items / elapsed,
                          "lr": self.optimizers[next(iter(self.optimizers))].param_groups[0]["lr"]}
                self._log(record, metrics_file, tb)
                bar.update(self.step, record)
                window_items, window_start, window_losses = 0, time.perf_counter(), {}
            else:
                bar.update(self.step, None)
            if self.valid_data is not None and (self.step % train.val_every == 0 or self.step == train.steps):
                val = self.evaluate(self.valid_data, train.val_batches)
                self._log({"step": self.step, "split": "valid", **val}, metrics_file, tb)
                keep_last = not getattr(self.model, "select_on_valid", True)  # a GAN: its losses rank nothing
                if keep_last or val["loss"] < self.best_val - 1e-6:
                    self.best_val, self.bad_validations = val["loss"], 0
                    if main:
                        save_model_folder(self.run_dir / "model", self.model, self.tokenizer,
                                          extra={**self.run_info, "step": self.step, "valid_loss": val["loss"]},
                                          sides_from=self.sides_from)
                    self.dist.barrier()
                else:
                    self.bad_validations += 1
                if train.early_stop_patience and self.bad_validations >= train.early_stop_patience:
                    stopped_early = True
            if self.step % train.checkpoint_every == 0 or self.step == train.steps or stopped_early \
                    or self._stop_requested or overdue:
                self.save_checkpoint()
                last_checkpoint = time.monotonic()
            if self._stop_requested:
                raise KeyboardInterrupt
            if stopped_early:
                break
        if self.valid_data is None:
            if main:
                save_model_folder(self.run_dir / "model", self.model, self.tokenizer,
                                  extra={**self.run_info, "step": self.step}, sides_from=self.sides_from)
            self.dist.barrier()
        return {"step": self.step, "best_valid_loss": self.best_val, "stopped_early": stopped_early}

    @torch.no_grad()
    def evaluate(self, data, max_batches: int | None = None) -> dict:
        """Weighted mean of the model's ``validation_step`` sums over ``data``
        (``loss`` is nats per item; ``ppl`` = exp(loss))."""
        was_training = self.model.training
        self.model.eval()
        sums: dict[str, float] = {}
        for k, batch in enumerate(data.eval_batches(max_batches)):
            if k % self.dist.world_size != self.dist.rank:  # each process evaluates its share
                continue
            out = self.model.validation_step(self._on_device(batch))
            for key, v in out.items():
                sums[key] = sums.get(key, 0.0) + float(v)
        if self.dist.enabled:
            gathered: list = [None] * self.dist.world_size
            torch.distributed.all_gather_object(gathered, sums)
            sums = {}
            for part in gathered:
                for key, v in part.items():
                    sums[key] = sums.get(key, 0.0) + v
        self.model.train(was_training)
        weight = max(sums.pop("weight", 0.0), 1e-12)
        result = {k: v / weight for k, v in sums.items()}
        result["items"] = weight
        if "loss" in result and self.model.item_name == "token":
            result["ppl"] = math.exp(min(result["loss"], 50.0))  # per-token perplexity; meaningless for frames
        return result

    def _log(self, record: dict, fh, tb) -> None:
        if fh is None:  # not rank 0
            return
        record = {"time": round(time.time(), 3), **record}
        fh.write(json.dumps(record) + "\n")
        fh.flush()
        self.history.append(record)
        if tb is not None:
            for k, v in record.items():
                if isinstance(v, (int, float)) and k not in ("step", "time"):
                    tb.add_scalar(f"{record['split']}/{k}", v, record["step"])
        if self.on_log is not None:
            self.on_log(record)


def _listify(state):
    return [_listify(x) if isinstance(x, tuple) else x for x in state]


def _tuple_state(state):
    return tuple(_tuple_state(x) if isinstance(x, list) else x for x in state)


def _np_state(state):
    return (state[0], state[1].numpy().astype(np.uint32), *state[2:])


def _tensorboard(folder: Path, purge_after: int):
    """A SummaryWriter when tensorboard is installed, else None; events of steps after
    ``purge_after`` that an earlier, interrupted process logged are purged."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard is optional
        return None
    return SummaryWriter(str(folder), purge_step=purge_after + 1)


def _drop_records_after(path: Path, step: int) -> None:
    """Remove the lines of ``metrics.jsonl`` logged after ``step`` (and any line a kill
    cut short), atomically; nothing happens when there are none."""
    if not path.is_file():
        return
    kept, dropped = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            keep = int(record.get("step", 0)) <= step
        except (ValueError, TypeError, AttributeError):
            keep = False
        if keep:
            kept.append(line)
        dropped |= not keep
    if dropped:
        write_text_atomic(path, "".join(line + "\n" for line in kept))


class _Progress:
    """A rich progress bar showing step, loss and throughput (or nothing)."""

    def __init__(self, total: int, enabled: bool):
        self.enabled = enabled
        self.total = total
        if not enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from seqart.utils.console import console

        self._progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(), console=console(), transient=False,
        )
        self._task = self._progress.add_task("train", total=total, info="")
        self._progress.start()

    def update(self, step: int, record: dict | None) -> None:
        if not self.enabled:
            return
        if record:
            parts = [f"{k} {v:.3f}" for k, v in record.items() if k in ("loss", "d", "g", "kl")]
            if "items_per_s" in record:
                parts.append(f"{record['items_per_s']:,.0f} items/s")
            self._progress.update(self._task, completed=step, info="  ".join(parts))
        else:
            self._progress.update(self._task, completed=step)

    def close(self) -> None:
        if self.enabled:
            self._progress.stop()
