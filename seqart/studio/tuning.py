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

An image model (``dcgan``, ``image-vae``) is tuned on the pictures liked in its store
(:mod:`seqart.workflows.tune_images`); its figures are distances of new pictures to
the liked ones in a feature space (``features``: the MNIST classifier's when MNIST is
on this machine, trained once the first time, else the pixels), lower being closer.

This module is also the child's program: ``python -m seqart.studio.tuning`` with the
spec on standard input.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Callable

from seqart.errors import SeqartError, one_line
from seqart.workflows.tune import DEFAULT_STEPS  # about a minute for 'folk' on one CPU thread
from seqart.workflows.tune_images import DEFAULT_STEPS as PICTURE_STEPS  # about 25 s for a dcgan-28 on one thread
from seqart.workflows.tune_images import FEATURE_SPACES

#: the most steps a page may ask for
MAX_STEPS = 2000
#: what a tune request may hold (``features``: an image model's only)
FIELDS = ("model", "steps", "lr", "features")
#: what the figures of each kind of tune measure (the page's caption of the table)
CAPTIONS = {"melodies": "Negative log-likelihood, nats per token (lower: likelier)",
            "images": "Distance to the liked pictures in {features} features (lower: closer)"}


class TuneRequestError(SeqartError):
    """A tune request that is not a model, whole steps within bounds and an optional rate."""


def check_request(body: dict[str, Any], pictures: bool = False) -> dict[str, Any]:
    """The settings of a ``POST /api/tune`` body: ``steps`` (1-:data:`MAX_STEPS`, None:
    :data:`DEFAULT_STEPS`, or :data:`PICTURE_STEPS` for an image model), when given ``lr``
    (the peak learning rate, 0-1), and for an image model (``pictures``) ``features``, the
    feature space of its figures (None: :func:`default_features`).

    Raises:
        TuneRequestError: for another field, a value of the wrong type or out of bounds, or
            ``features`` for a melody model.
    """
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise TuneRequestError(f"unknown field {unknown[0][:40]!r}; a tune request has {', '.join(FIELDS)}")
    steps = body.get("steps")
    steps = (PICTURE_STEPS if pictures else DEFAULT_STEPS) if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise TuneRequestError(f"steps must be a whole number within 1-{MAX_STEPS}, got {str(steps)[:20]}")
    settings: dict[str, Any] = {"steps": steps}
    lr = body.get("lr")
    if lr is not None:
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not 0 < lr <= 1:
            raise TuneRequestError(f"lr must be a number above 0 and at most 1, got {str(lr)[:20]}")
        settings["lr"] = float(lr)
    features = body.get("features")
    if features is not None and not pictures:
        raise TuneRequestError("features applies to image models: a melody tune measures likelihoods")
    if pictures:
        if features is not None and features not in FEATURE_SPACES:
            raise TuneRequestError(f"features must be one of {', '.join(FEATURE_SPACES)}, got {str(features)[:40]!r}")
        settings["features"] = features or default_features()
    return settings


def default_features() -> str:
    """The feature space of an image tune's figures: ``"mnist-cnn"`` when MNIST is on this
    machine (its classifier is trained once, about a minute, the first time), else ``"pixels"``."""
    from seqart.errors import CorpusError
    from seqart.images.data import find_mnist

    try:
        find_mnist()
    except CorpusError:
        return "pixels"
    return "mnist-cnn"


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
    """The before/after rows of a tune report (``to_dict()`` of a melody tune's
    :class:`~seqart.workflows.tune.TuneReport` or an image tune's
    :class:`~seqart.workflows.tune_images.ImageTuneReport`): ``{"figure", "detail", "before",
    "after"}``, lower being better in both: a melody tune's mean NLL in nats per token
    (lower: likelier), an image tune's mean distance of new pictures to the nearest liked
    one in its feature space (lower: closer); ``figure`` names what was measured,
    ``detail`` says more."""
    if report.get("kind") == "images":
        return [{"figure": row["figure"], "detail": row["detail"], "before": _finite(row["before"]),
                 "after": _finite(row["after"])} for row in report["figures"]]
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


def caption(report: dict[str, Any]) -> str:
    """What the figures of a tune report measure, in words, with their unit (:data:`CAPTIONS`)."""
    if report.get("kind") == "images":
        return CAPTIONS["images"].format(features=report.get("features", "its"))
    return CAPTIONS["melodies"]


def _finite(value: Any) -> float | None:
    """A figure JSON can carry (None for one not measured: NaN is not JSON)."""
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def tune_in_child(spec: dict[str, Any], send: Callable[..., None]) -> dict[str, Any]:
    """The child's work: tune ``spec["model"]`` into ``spec["out"]``, sending each training
    record of the trainer as a ``progress`` line; returns the report and its lines. An
    image tune (``spec["features"]`` set) first readies its feature space, saying so
    when the MNIST classifier must be trained."""
    from seqart.workflows.tune import tune_from_feedback

    def on_log(record: dict) -> None:
        if record.get("split") == "train":
            last = record["step"] >= spec["steps"]
            send("progress", step=record["step"], loss=record.get("loss"),
                 phase="measuring the tuned model" if last else "training")

    send("progress", step=0, loss=None, phase="loading the model and the rated takes")
    options = {name: spec[name] for name in ("lr", "features") if name in spec}
    if "features" in spec:
        from seqart.workflows.tune_images import picture_features

        picture_features(spec["features"], progress=lambda line: send("progress", step=0, loss=None,
                                                                        phase=one_line(line, 200)))
    report = tune_from_feedback(spec["model"], spec["out"], steps=spec["steps"], threads=spec["threads"],
                                on_log=on_log, **options)
    return {"report": report.to_dict(), "lines": report.lines()}


if __name__ == "__main__":
    from seqart.studio.jobs import run_child

    run_child(tune_in_child)
