"""BatchNorm over the global batch of a data-parallel run, on any device and backend.

Each process of a data-parallel run holds a slice of the global batch. A plain
BatchNorm layer would normalise with the slice's statistics, so N processes would
train a different network than one process does on the same global batch, and
their running statistics would drift apart. :class:`SyncedBatchNorm` adds the
per-channel sums across processes instead (two all-reduces of ``C`` numbers, with
gradients, through ``torch.distributed.nn``), which works with gloo on the CPU as
well as NCCL on GPUs; ``torch.nn.SyncBatchNorm`` refuses CPU tensors.

It synchronises only inside :func:`synchronized` (the trainer's training step):
validation, where each process judges different batches, and sampling normalise
locally as a plain BatchNorm layer does. Its parameters and buffers have the same
names as BatchNorm's, so the weights it saves load into the plain model.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class SyncedBatchNorm(_BatchNorm):
    """A BatchNorm layer (any input rank: ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)``, ...)
    whose training-mode statistics cover every process's slice while ``synchronize`` is set."""

    synchronize: bool = False

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected a batch of at least 2 dimensions, got {input.dim()}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.synchronize and self.training and torch.distributed.is_initialized()
                and torch.distributed.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        xf = x.float()
        local = torch.cat([xf.sum(dims), xf.new_tensor([x.numel() // x.size(1)])])
        total = all_reduce(local)  # (C + 1,): per-channel sums, then the item count
        count = total[-1]
        mean = total[:-1] / count
        centred = xf - mean.view(shape)
        var = all_reduce((centred * centred).sum(dims)) / count  # biased, as BatchNorm normalises
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum)
                self.running_mean.lerp_(mean.detach(), factor)
                self.running_var.lerp_(var.detach() * count / (count - 1).clamp(min=1), factor)
        return y.to(x.dtype)


def convert_batch_norms(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm layer in ``module`` by a :class:`SyncedBatchNorm` that
    shares its parameters and buffers (optimizers and references stay valid).

    Returns:
        ``module`` itself when it is not a BatchNorm layer (changed in place), else its replacement.
    """
    if isinstance(module, _BatchNorm) and not isinstance(module, SyncedBatchNorm):
        synced = SyncedBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                 module.track_running_stats)
        synced._parameters = module._parameters
        synced._buffers = module._buffers
        synced.train(module.training)
        return synced
    for name, child in list(module.named_children()):
        replaced = convert_batch_norms(child)
        if replaced is not child:
            setattr(module, name, replaced)
    return module


@contextmanager
def synchronized(module: nn.Module) -> Iterator[None]:
    """Within the block, the :class:`SyncedBatchNorm` layers of ``module`` normalise over the global batch."""
    layers = [m for m in module.modules() if isinstance(m, SyncedBatchNorm)]
    for m in layers:
        m.synchronize = True
    try:
        yield
    finally:
        for m in layers:
            m.synchronize = False
