"""Data-parallel training across processes and machines with ``torch.distributed``.

``torchrun --nproc_per_node=N -m seqart train ...`` (or ``seqart train ... --nproc N``,
which launches torchrun) starts N copies of the trainer. Each copy:

- joins the process group torchrun describes in its environment (``RANK``,
  ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``): NCCL on GPUs,
  gloo on CPU;
- draws the same global batch ``batch(i)`` (batches are a function of the seed and
  the index only) and trains on its own contiguous slice of it, so N processes
  see exactly the batches one process would, with the work split N ways: what a
  ``DistributedSampler`` gives, without a sampler to keep in step on resume;
- hands each loss to PyTorch's :class:`~torch.nn.parallel.DistributedDataParallel`
  before its backward pass (see :func:`data_parallel`): DDP's reducer averages the
  gradients in buckets *while* the backward pass runs, so communication overlaps
  computation, and a model with several optimizers (a GAN's ``step("d", ...)``
  then ``step("g", ...)``) needs no change;
- normalises BatchNorm layers with the statistics of the whole global batch
  (:class:`SyncedBatchNorm`), so the running statistics agree across processes;
- draws per-item noise (a VAE's posterior sample, a GAN's latent codes) for the
  whole global batch and keeps its own rows (``SeqartModel.batch_noise``), while
  dropout masks come from a random stream of its own;
- evaluates its share of the validation batches; the sums are added across processes.

With dropout off, N processes therefore end with the weights one process reaches
on the same global batches (tests check it for an LSTM, a VAE and a GAN).

Only rank 0 writes: metrics, progress, checkpoints and model folders; the others
wait at a barrier while it writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class DistContext:
    """Where this process stands in a distributed run (rank 0 of 1 when alone)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ---------------------------------------------------------------- collectives
    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()

    def any_flags(self, flags: list[bool], device: torch.device) -> list[bool]:
        """Each flag True on every process if it is True on any (one collective for all)."""
        if not self.enabled:
            return list(flags)
        t = torch.tensor([1.0 if f else 0.0 for f in flags], device=device)
        torch.distributed.all_reduce(t)
        return [bool(v > 0) for v in t.tolist()]

    def first_row(self, global_rows: int) -> int:
        """Where this process's slice of a global batch of ``global_rows`` starts (see :meth:`shard`)."""
        return self.rank * (global_rows // self.world_size)

    def shard(self, batch):
        """This process's contiguous slice of a global batch (tensors split on dim 0)."""
        if not self.enabled:
            return batch

        def piece(t: torch.Tensor) -> torch.Tensor:
            per = t.size(0) // self.world_size
            return t[self.rank * per: (self.rank + 1) * per]

        return map_tensors(piece, batch)


def map_tensors(fn, batch):
    """``batch`` (a tensor, or lists, tuples and dicts of them) with ``fn`` applied to every tensor."""
    if isinstance(batch, torch.Tensor):
        return fn(batch)
    if isinstance(batch, (list, tuple)):
        return type(batch)(map_tensors(fn, b) for b in batch)
    if isinstance(batch, dict):
        return {k: map_tensors(fn, v) for k, v in batch.items()}
    return batch


def batch_rows(batch) -> int:
    """Items in a batch: the first dimension of its first tensor."""
    sizes: list[int] = []
    map_tensors(lambda t: sizes.append(t.size(0)), batch)
    if not sizes:
        raise TypeError(f"a batch of {type(batch).__name__} holds no tensor")
    return sizes[0]


class LossRelay(torch.nn.Module):
    """What :func:`data_parallel` wraps: it holds the model, so DDP registers the
    model's parameters, and its ``forward`` hands back the loss it is given."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, loss: torch.Tensor) -> torch.Tensor:
        return loss


def data_parallel(model: torch.nn.Module, find_unused: bool) -> torch.nn.parallel.DistributedDataParallel:
    """Wrap ``model`` (already on its device) in DistributedDataParallel, for the trainer.

    DDP starts the gradient all-reduce of a parameter bucket from autograd hooks as
    soon as the backward pass has filled it, and it arms those hooks for one
    backward pass each time its ``forward`` runs. A seqart model computes its losses
    in ``training_step`` and may take several optimizer steps in one (a GAN), so the
    trainer passes each loss through the wrapper (``ddp(loss)``, an identity on the
    model's side) right before ``loss.backward()``, which arms the hooks for that
    backward pass. With ``find_unused`` (a model whose steps leave some parameters
    out: the generator during a GAN's discriminator step) DDP traces each loss's
    graph to the parameters it reaches and treats the others as unused this time,
    leaving their gradients untouched; without it, it skips that trace. All of it is
    DDP's public interface; DDP also broadcasts rank 0's weights and buffers when
    it is built, and rank 0's buffers before each pass.
    """
    return torch.nn.parallel.DistributedDataParallel(LossRelay(model), device_ids=None,
                                                     find_unused_parameters=find_unused)


def step_seed(seed: int, step: int, stream: int) -> int:
    """A 63-bit seed that depends only on ``(seed, step, stream)``: random draws made
    from it are the same in an interrupted and an uninterrupted run, and the same in
    every process that uses the same ``stream``."""
    import numpy as np

    return int(np.random.SeedSequence([seed, step, stream]).generate_state(1, np.uint64)[0] >> 1)


def context_from_env() -> DistContext:
    """The context torchrun's environment variables describe (rank 0 of 1 without them)."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return DistContext()
    return DistContext(rank=int(os.environ.get("RANK", "0")), world_size=world,
                       local_rank=int(os.environ.get("LOCAL_RANK", "0")),
                       local_world_size=int(os.environ.get("LOCAL_WORLD_SIZE", str(world))))


def init_process_group(ctx: DistContext, device: torch.device) -> None:
    """Join the process group (NCCL for CUDA devices, gloo otherwise), once."""
    if not ctx.enabled or torch.distributed.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.distributed.init_process_group(backend=backend)


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
