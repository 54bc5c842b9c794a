"""Recurrent layers that train under CPU autocast on every CPU.

Under ``torch.autocast("cpu", dtype=torch.bfloat16)`` PyTorch runs ``nn.LSTM`` and
``nn.GRU`` in bfloat16 through oneDNN, which has no such kernel on CPUs without
AVX-512 ("could not create a primitive descriptor for the LSTM forward propagation
primitive"; seen on an AVX2-only AMD EPYC). :class:`LSTM` and :class:`GRU` run their
recurrence in float32 whenever CPU autocast is on (inputs and states cast up, autocast
paused inside), so a model trains alike on every CPU; the layers around them keep
autocast. On a GPU, and without autocast, they are ``nn.LSTM`` and ``nn.GRU``
unchanged: the same parameters and names, so saved weights load either way.
"""

from __future__ import annotations

import torch
from torch import nn


def _float(state):
    """A recurrent state (a tensor, or an LSTM's ``(h, c)``) in float32; None stays None."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.float() for s in state)
    return state.float()


class _Float32UnderCPUAutocast:
    """Mixin for a ``torch.nn`` recurrent layer: its recurrence in float32 under CPU autocast."""

    def forward(self, input, hx=None):  # noqa: A002  (nn.LSTM's own argument name)
        if input.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                return super().forward(input.float(), _float(hx))
        return super().forward(input, hx)


class LSTM(_Float32UnderCPUAutocast, nn.LSTM):
    """``nn.LSTM`` whose recurrence runs in float32 under CPU autocast (module docstring)."""


class GRU(_Float32UnderCPUAutocast, nn.GRU):
    """``nn.GRU`` whose recurrence runs in float32 under CPU autocast (module docstring)."""
