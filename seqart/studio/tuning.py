"""Tune on my ratings: ``seqart tune --from-feedback`` as a studio job.

The tuning is the workflow's own (:func:`seqart.workflows.tune.tune_from_feedback`:
liked takes made likelier, disliked ones less likely, held-out figures before and
after), run in a child process by :mod:`.jobs`. A request is checked here first, so
what the tune would refuse (a model of a type that cannot be tuned, a store with no
liked take) is refused at once, with the workflow's own one-line error, rather than
seconds later by the child.

The tuned model is written into the session folder (``models/<name>-tuned-<n>/``),
never to a path a client names, and joins the models the page offers when the job
ends. The child trains with half the CPU cores (torch threads), so generation keeps
the rest.

This module is also the child's program: ``python -m seqart.studio.tuning`` with the
spec on standard input.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Callable

from seqart.errors import SeqartError
from seqart.workflows.tune import DEFAULT_STEPS  # about a minute for 'folk' on one CPU thread

#: the most steps a page may ask for
MAX_STEPS = 2000
#: what a tune request may hold
FIELDS = ("model", "steps", "lr")


class TuneRequestError(SeqartError):
    """A tune request that is not a model, whole steps within bounds and an optional rate."""


def check_request(body: dict[str, Any]) -> dict[str, Any]:
    """The settings of a ``POST /api/tune`` body: ``steps`` (1-:data:`MAX_STEPS`, None:
    :data:`DEFAULT_STEPS`) and, when given, ``lr`` (the peak learning rate, 0-1).

    Raises:
        TuneRequestError: for another field, or a value of the wrong type or out of bounds.
    """
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise TuneRequestError(f"unknown field {unknown[0][:40]!r}; a tune request has model, steps and lr")
    steps = body.get("steps")
    steps = DEFAULT_STEPS if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise TuneRequestError(f"steps must be a whole number within 1-{MAX_STEPS}, got {str(steps)[:20]}")
    settings: dict[str, Any] = {"steps": steps}
    lr = body.get("lr")
    if lr is not None:
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not 0 < lr <= 1:
            raise TuneRequestError(f"lr must be a number above 0 and at most 1, got {str(lr)[:20]}")
        settings["lr"] = float(lr)
    return settings


def tuned_folder(root: Path, name: str) -> Path:
    """A new folder for a tuned model in ``root``: ``<name>-tuned-<n>``, the first ``n`` not taken."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:40] or "model"
    n = 1
    while (root / f"{slug}-tuned-{n}").exists() or (root / f"{slug}-tuned-{n}.log").exists():
        n += 1
    return root / f"{slug}-tuned-{n}"


def tune_threads() -> int:
    """Torch threads of a tune: half the cores, at least one."""
    return max(1, (os.cpu_count() or 2) // 2)


def check_tune(model: str, out: Path) -> None:
    """Refuse at once what the tune would refuse (the workflow's own one-line errors).

    Raises:
        ModelError: a model of a type that cannot be tuned.
        FeedbackError: no feedback store, or no liked take in it.
    """
    from seqart.workflows.tune import check_feedback, check_tunable

    check_tunable(model, out)
    check_feedback(model)


def figures(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The before/after rows of a tune report (:class:`~seqart.workflows.tune.TuneReport`
    as a dict): ``{"figure", "detail", "before", "after"}``, mean NLL in nats per token
    (lower: likelier); ``figure`` names what was measured, ``detail`` says more."""
    if report["held_out"]:
        liked = ("held-out liked takes", f"{report['held_out']} liked takes kept out of the training")
    else:
        liked = ("liked takes (all trained on)",
                 "fewer than 3 liked takes: none held out, so this figure flatters the tuned model")
    rows = [{"figure": liked[0], "detail": liked[1], "before": _finite(report["liked_nll_before"]),
             "after": _finite(report["liked_nll_after"])}]
    if report.get("general_nll_before") is not None and report.get("general_nll_after") is not None:
        rows.append({"figure": "test tunes of its training corpus", "detail": report["general_source"],
                     "before": _finite(report["general_nll_before"]), "after": _finite(report["general_nll_after"])})
    return rows


def _finite(value: Any) -> float | None:
    """A figure JSON can carry (None for one not measured: NaN is not JSON)."""
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def tune_in_child(spec: dict[str, Any], send: Callable[..., None]) -> dict[str, Any]:
    """The child's work: tune ``spec["model"]`` into ``spec["out"]``, sending each training
    record of the trainer as a ``progress`` line; returns the report and its lines."""
    from seqart.workflows.tune import tune_from_feedback

    def on_log(record: dict) -> None:
        if record.get("split") == "train":
            last = record["step"] >= spec["steps"]
            send("progress", step=record["step"], loss=record.get("loss"),
                 phase="measuring the tuned model" if last else "training")

    send("progress", step=0, loss=None, phase="loading the model and the rated takes")
    report = tune_from_feedback(spec["model"], spec["out"], steps=spec["steps"], threads=spec["threads"],
                                **({"lr": spec["lr"]} if "lr" in spec else {}), on_log=on_log)
    return {"report": report.to_dict(), "lines": report.lines()}


if __name__ == "__main__":
    from seqart.studio.jobs import run_child

    run_child(tune_in_child)
