"""The polyphonic music benchmark (Boulanger-Lewandowski et al., 2012), by its protocol.

The figure is the test NLL in nats per frame: ``-log p`` of each whole 88-key
frame, summed over every frame of the test split and divided by the number of
frames (frame-weighted, not an average of per-piece means). Each piece's first
frame is included, predicted from the model's initial state; the variant that
drops it (as the TCN code does) is reported beside it. Nothing here looks at the
test split to choose a model: runs keep their best weights on the valid split.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqart.errors import CorpusError
from seqart.utils.paths import SHARED_ENV, find_shared

#: dataset name -> (file in shared/data/polyphonic, display name)
DATASETS = {
    "jsb": ("JSB_Chorales.mat", "JSB Chorales"),
    "nottingham": ("Nottingham.mat", "Nottingham"),
    "musedata": ("MuseData.mat", "MuseData"),
    "piano": ("Piano_midi.mat", "Piano-midi.de"),
}

#: published test NLL (nats/frame): model -> dataset -> figure
REFERENCE = {
    "Independent Bernoulli (train marginals)": {"jsb": 11.06, "nottingham": 10.25, "musedata": 11.51, "piano": 11.05},
    "LSTM (Chung et al. 2014)": {"jsb": 8.67, "nottingham": 3.20, "musedata": 6.23, "piano": 9.03},
    "TCN (Bai et al. 2018)": {"jsb": 8.10, "nottingham": 3.07},
    "RNN-NADE (Boulanger-Lewandowski et al. 2012)": {"jsb": 5.56, "nottingham": 2.31, "musedata": 5.60,
                                                      "piano": 7.05},
}

#: environment variable naming the folder that holds ``data/polyphonic``


def find_benchmark_file(dataset: str) -> Path:
    """The ``.mat`` file of ``dataset`` (a name in :data:`DATASETS` or a path).

    Names are looked up in ``$SEQART_SHARED/data/polyphonic``, then in
    ``shared/data/polyphonic`` next to the working directory or any parent of it.

    Raises:
        CorpusError: unknown name, or the file is nowhere to be found.
    """
    path = Path(dataset).expanduser()
    if path.suffix.lower() == ".mat":
        if not path.is_file():
            raise CorpusError(f"{path}: no such file")
        return path
    key = dataset.lower().replace("-", "").replace("_", "")
    aliases = {"jsbchorales": "jsb", "pianomidi": "piano", "pianomidide": "piano", "muse": "musedata"}
    key = aliases.get(key, key)
    if key not in DATASETS:
        raise CorpusError(f"unknown polyphonic dataset {dataset!r}; choose one of {', '.join(DATASETS)} "
                          "or give a .mat file")
    name = DATASETS[key][0]
    found = find_shared(f"data/polyphonic/{name}")
    if found is not None and found.is_file():
        return found
    raise CorpusError(f"{name} not found: set {SHARED_ENV} to the folder holding data/polyphonic/, "
                      "or pass the .mat file itself")


def dataset_key(dataset: str) -> str | None:
    """The :data:`DATASETS` key a name or ``.mat`` file stands for (None if unknown)."""
    stem = Path(dataset).name.lower()
    for key, (file, _) in DATASETS.items():
        if stem in (key, file.lower(), file.lower()[:-4]):
            return key
    return None


@dataclass
class FrameNLL:
    """Test-split NLL of one model under both frame-weighted conventions.

    Attributes:
        name: what was evaluated.
        nll: nats per frame, every frame included.
        nll_drop_first: nats per frame without each piece's first frame.
        frames: frames counted for ``nll``.
        seconds: evaluation wall time.
    """

    name: str
    nll: float
    nll_drop_first: float
    frames: int
    seconds: float = 0.0


def summarize(name: str, per_frame: list[np.ndarray], seconds: float = 0.0) -> FrameNLL:
    """Frame-weighted means of per-piece NLL arrays (``(T_i,)`` nats, first frame first)."""
    total = sum(float(x.sum()) for x in per_frame)
    frames = sum(len(x) for x in per_frame)
    rest = sum(float(x[1:].sum()) for x in per_frame)
    rest_frames = sum(max(len(x) - 1, 0) for x in per_frame)
    return FrameNLL(name, total / max(frames, 1), rest / max(rest_frames, 1), frames, seconds)


def bernoulli_baseline(train: list[np.ndarray], test: list[np.ndarray], prior: float = 0.5) -> FrameNLL:
    """Independent Bernoulli per key with train marginals (``prior`` pseudo-counts
    for on and off, so a key never seen in train keeps a finite cost)."""
    stacked = np.concatenate([np.asarray(s, dtype=np.float64) for s in train])
    p = (stacked.sum(axis=0) + prior) / (len(stacked) + 2 * prior)
    log_on, log_off = np.log(p), np.log1p(-p)
    per_piece = [-(s * log_on + (1 - s) * log_off).sum(axis=1) for s in (np.asarray(t, np.float64) for t in test)]
    return summarize("independent Bernoulli (fitted on train)", per_piece)


def model_frame_nll(model, sequences: list[np.ndarray], device: str = "cpu", max_frames: int = 16384,
                    progress=None) -> list[np.ndarray]:
    """Per-frame NLL (nats) of each piece under a frame model, from its initial state.

    Args:
        model: a :class:`seqart.models.poly.PolyRNN` in eval mode.
        sequences: ``(T_i, F)`` 0/1 arrays.
        max_frames: padded frames per batch.
        progress: optional callable ``(done, total)``.

    Returns:
        one ``(T_i,)`` float64 array per piece, in the order given.
    """
    import torch

    from seqart.models.poly.data import FrameWindows

    if any(len(s) == 0 for s in sequences):
        raise CorpusError("a piece has no frames; the benchmark needs every piece to have one or more")
    windows = FrameWindows(sequences, batch_size=1, seq_len=1, eval_frames=max_frames)
    out: list[np.ndarray | None] = [None] * len(sequences)
    done = 0
    with torch.no_grad():
        for group in windows.eval_groups():
            batch = {k: v.to(device) for k, v in windows.eval_batch(group).items()}
            nll = model.sequence_nll(batch).double().cpu().numpy()
            for row, i in enumerate(group):
                out[i] = nll[row, : len(sequences[i])]
            done += len(group)
            if progress is not None:
                progress(done, len(sequences))
    return out  # type: ignore[return-value]


def run_polyphonic_benchmark(dataset: str, models: list[str] | None = None, device: str = "cpu",
                             progress: bool = False) -> dict:
    """Evaluate the independent-Bernoulli baseline and any trained frame models on a test split.

    Args:
        dataset: a name in :data:`DATASETS` or a ``.mat`` file.
        models: model or run folders (a run folder's ``model/`` is used).
        device: torch device for the models.

    Returns:
        ``{"dataset", "file", "test_pieces", "test_frames", "rows": [FrameNLL, ...], "reference": {...}}``

    Raises:
        CorpusError / ModelError: unreadable data, a model that is not a frame model
            or whose width differs from the data.
    """
    import time

    from seqart.corpora.dataset import load_polyphonic_benchmark
    from seqart.errors import ModelError

    path = find_benchmark_file(dataset)
    data = load_polyphonic_benchmark(path)
    rows = [bernoulli_baseline(data["train"], data["test"])]
    for folder in models or []:
        from seqart.models.folder import load_model

        folder = Path(folder)
        model_dir = folder / "model" if (folder / "model" / "config.json").is_file() else folder
        model, _, meta = load_model(model_dir, device=device)
        if not hasattr(model, "sequence_nll"):
            raise ModelError(f"{model_dir}: a {meta['model']} model is not a frame model")
        if model.config.n_features != data["test"][0].shape[1]:
            raise ModelError(f"{model_dir}: the model reads {model.config.n_features} keys, "
                             f"{path.name} has {data['test'][0].shape[1]}")
        start = time.perf_counter()
        with _pieces_progress(progress, f"{model_dir.parent.name}/{model_dir.name}") as update:
            per_piece = model_frame_nll(model, data["test"], device=device, progress=update)
        label = f"{meta['model']} ({model_dir.parent.name if model_dir.name == 'model' else model_dir.name})"
        rows.append(summarize(label, per_piece, time.perf_counter() - start))
    key = dataset_key(path.name)
    return {
        "dataset": DATASETS[key][1] if key else path.stem,
        "key": key,
        "file": str(path),
        "test_pieces": len(data["test"]),
        "test_frames": int(sum(len(s) for s in data["test"])),
        "rows": rows,
        "reference": {name: figures[key] for name, figures in REFERENCE.items() if key in figures},
    }


@contextmanager
def _pieces_progress(enabled: bool, label: str):
    """A transient rich progress bar over pieces: yields ``update(done, total)``, or
    None when disabled."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"evaluating {label}", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
