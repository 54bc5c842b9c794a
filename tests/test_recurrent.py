"""Recurrent layers under CPU autocast: float32 recurrence on every CPU, nn.LSTM's weights."""

import pytest
import torch
from torch import nn

from seqart.models.recurrent import GRU, LSTM


@pytest.mark.parametrize("layer,plain", [(LSTM, nn.LSTM), (GRU, nn.GRU)])
def test_recurrence_runs_in_float32_under_cpu_autocast(layer, plain):
    torch.manual_seed(0)
    rnn = layer(6, 8, num_layers=2, batch_first=True)
    reference = plain(6, 8, num_layers=2, batch_first=True)
    assert list(rnn.state_dict()) == list(reference.state_dict())  # saved weights load either way
    reference.load_state_dict(rnn.state_dict())
    x = torch.randn(3, 5, 6)
    expected, expected_state = reference(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        # a bfloat16 input, as a layer under autocast hands it on, and a given state
        out, state = rnn(x.bfloat16())
        again, _ = rnn(x, state)
    assert out.dtype == torch.float32 and again.dtype == torch.float32
    torch.testing.assert_close(out, reference(x.bfloat16().float())[0])
    out.sum().backward()  # gradients reach the weights
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in rnn.parameters())
    # without autocast it is the plain layer
    torch.testing.assert_close(rnn(x)[0], expected)
    assert type(state) is type(expected_state)
