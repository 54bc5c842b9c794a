"""Data-parallel training across processes and machines with ``torch.distributed``.

``torchrun --nproc_per_node=N -m seqart train ...`` (or ``seqart train ... --nproc N``,
which launches torchrun) starts N copies of the trainer. Each copy:

- joins the process group torchrun describes in its environment (``RANK``,
  ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``): NCCL on GPUs,
  gloo on CPU;
- draws the same global batch ``batch(i)`` (batches are a function of the seed and
  the index only) and trains on its own contiguous slice of it, so N processes
  see exactly the batches one process would, with the work split N ways — what a
  ``DistributedSampler`` gives, without a sampler to keep in step on resume;
- averages gradients across processes inside each ``step(name, loss)`` before
  clipping and the optimizer step (the arithmetic of DistributedDataParallel,
  done in the trainer so a model with several optimizers, like a GAN, needs no
  change), and takes buffers (BatchNorm statistics) from rank 0 after each step,
  as DistributedDataParallel does;
- evaluates its share of the validation batches; the sums are added across processes.

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

    def all_reduce_grads(self, params: list[torch.Tensor]) -> None:
        """Average the gradients of ``params`` across processes (one flat buffer per dtype)."""
        if not self.enabled:
            return
        grads = [p.grad for p in params if p.grad is not None]
        by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
        for g in grads:
            by_dtype.setdefault(g.dtype, []).append(g)
        for group in by_dtype.values():
            flat = torch.cat([g.reshape(-1) for g in group])
            torch.distributed.all_reduce(flat)
            flat /= self.world_size
            offset = 0
            for g in group:
                n = g.numel()
                g.copy_(flat[offset: offset + n].view_as(g))
                offset += n

    def broadcast_module(self, module: torch.nn.Module, buffers_only: bool = False) -> None:
        """Copy rank 0's parameters (unless ``buffers_only``) and buffers to every process."""
        if not self.enabled:
            return
        tensors = list(module.buffers()) + ([] if buffers_only else [p.data for p in module.parameters()])
        for t in tensors:
            torch.distributed.broadcast(t, src=0)

    def sum_floats(self, values: dict[str, float], device: torch.device) -> dict[str, float]:
        """Add a dict of numbers across processes (every process must pass the same keys)."""
        if not self.enabled or not values:
            return values
        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
        torch.distributed.all_reduce(t)
        return dict(zip(keys, t.tolist()))

    def any_flag(self, flag: bool, device: torch.device) -> bool:
        """True on every process if it is True on any."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        torch.distributed.all_reduce(t)
        return bool(t.item() > 0)

    def shard(self, batch):
        """This process's contiguous slice of a global batch (tensors split on dim 0)."""
        if not self.enabled:
            return batch
        if isinstance(batch, torch.Tensor):
            n = batch.size(0)
            per = n // self.world_size
            return batch[self.rank * per: (self.rank + 1) * per]
        if isinstance(batch, (list, tuple)):
            return type(batch)(self.shard(b) for b in batch)
        if isinstance(batch, dict):
            return {k: self.shard(v) for k, v in batch.items()}
        return batch


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
