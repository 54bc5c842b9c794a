"""Checks the model configs share: torch-free, so a model folder's ``config.json`` is
validated before a single weight is allocated (a hostile config asking for a
10^9-wide layer is refused early)."""

from __future__ import annotations

from typing import Any

from seqart.errors import ModelError


def check_int(name: str, value: Any, low: int, high: int) -> None:
    """Raise ModelError unless ``value`` is an int in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ModelError(f"config {name}={value!r} must be an integer in {low}..{high}")


def check_float(name: str, value: Any, low: float, high: float) -> None:
    """Raise ModelError unless ``value`` is a number in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= float(value) <= high:
        raise ModelError(f"config {name}={value!r} must be a number in {low}..{high}")


def check_tensor_shapes(weights: dict, shapes: dict[str, tuple[int, ...]], optional: set[str] = frozenset()) -> None:
    """Raise ValueError unless ``weights`` (name -> array) hold exactly the tensors ``shapes``
    names, each of its shape; names in ``optional`` may be missing (a tied output layer)."""
    for name, array in weights.items():
        if name not in shapes:
            raise ValueError(f"unexpected tensor {name!r}")
        if tuple(array.shape) != shapes[name]:
            raise ValueError(f"tensor {name!r} has shape {list(array.shape)}, the config needs {list(shapes[name])}")
    missing = sorted(set(shapes) - set(weights) - set(optional))
    if missing:
        raise ValueError(f"missing tensor {missing[0]!r}")
