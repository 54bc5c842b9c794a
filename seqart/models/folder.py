"""Model folders: ``config.json`` + ``model.safetensors`` + ``tokenizer.json``.

Reading a folder never executes code: the weights are safetensors (a JSON header
plus raw arrays), the config is JSON and is validated before any tensor is
allocated. Folders are written whole into a temporary sibling and then renamed,
so a crash leaves either the old folder or the new one.

Functions here that do not build a torch model (:func:`resolve_model`,
:func:`read_config`, :func:`read_weights_numpy`) do not import torch.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

from seqart.errors import ModelError
from seqart.utils.atomic import staging_dir, usual_file_modes

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
TOKENIZER = "tokenizer.json"
EVALUATION = "eval.json"
FORMAT_VERSION = 1

#: shipped models live here, one folder per name
ASSETS = Path(__file__).resolve().parent.parent / "assets" / "models"


def shipped_models() -> list[str]:
    """Names of the models that ship inside the package."""
    if not ASSETS.is_dir():
        return []
    return sorted(p.name for p in ASSETS.iterdir() if (p / CONFIG).is_file())


def resolve_model(model: str | os.PathLike) -> Path:
    """Find a model folder by shipped name, folder path, or run folder (``RUN/model``).

    Raises:
        ModelError: naming the shipped models when nothing matches.
    """
    text = str(model)
    path = Path(text).expanduser()
    if path.is_dir():
        if (path / CONFIG).is_file():
            return path
        if (path / "model" / CONFIG).is_file():
            return path / "model"
        raise ModelError(f"{path}: not a model folder (no {CONFIG})")
    if (ASSETS / text / CONFIG).is_file():
        return ASSETS / text
    names = ", ".join(shipped_models()) or "none"
    raise ModelError(f"unknown model {text!r}: not a shipped model ({names}) nor a model folder")


def read_config(folder: Path) -> dict:
    """The parsed ``config.json`` (``{"model": name, "config": {...}, ...}``)."""
    try:
        data = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{folder / CONFIG}: unreadable model config ({exc})") from None
    if not isinstance(data, dict) or "model" not in data or not isinstance(data.get("config"), dict):
        raise ModelError(f"{folder / CONFIG}: not a seqart model config (needs 'model' and 'config')")
    if int(data.get("format_version", 1)) > FORMAT_VERSION:
        raise ModelError(f"{folder}: model format {data['format_version']} is newer than this seqart; upgrade")
    return data


def read_evaluation(folder: Path) -> dict | None:
    """The held-out figures a training run recorded (``eval.json``), or None."""
    path = Path(folder) / EVALUATION
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable evaluation file ({exc})") from None


def check_safetensors(path: Path) -> dict:
    """Validate a safetensors file's header without loading it.

    Returns:
        the header (tensor name -> {"dtype", "shape", "data_offsets"}).

    Raises:
        ModelError: for a missing file, pickle data, or a malformed header.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            if head[:1] == b"\x80" or head[:2] == b"PK":
                raise ModelError(f"{path}: holds pickle data, which seqart refuses to load (it can run code)")
            if len(head) < 8:
                raise ModelError(f"{path}: not a safetensors file (too short)")
            (n,) = struct.unpack("<Q", head)
            if n <= 0 or n > min(size - 8, 100 << 20):
                raise ModelError(f"{path}: not a safetensors file (bad header length)")
            header = json.loads(fh.read(n))
    except FileNotFoundError:
        raise ModelError(f"{path}: missing weights file") from None
    except (ValueError, UnicodeDecodeError):
        raise ModelError(f"{path}: not a safetensors file (bad header)") from None
    header.pop("__metadata__", None)
    for name, info in header.items():
        start, end = info.get("data_offsets", (0, -1))
        if not 0 <= start <= end <= size - 8 - n:
            raise ModelError(f"{path}: tensor {name!r} points outside the file")
    return header


def read_weights_numpy(folder: Path) -> dict:
    """All weights as float32 NumPy arrays (no torch needed)."""
    import numpy as np
    from safetensors.numpy import load_file

    check_safetensors(folder / WEIGHTS)
    return {k: np.asarray(v, dtype=np.float32) for k, v in load_file(str(folder / WEIGHTS)).items()}


def save_model_folder(folder: str | os.PathLike, model, tokenizer, extra: dict | None = None) -> Path:
    """Write ``model`` (a SeqartModel) and its tokenizer as a model folder, atomically.

    Weights shared between modules (tied embeddings) are stored once.
    """
    from safetensors.torch import save_file

    from seqart import __version__

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(folder.parent, f".{folder.name}.")
    try:
        tensors, seen = {}, set()
        for name, value in model.state_dict().items():
            key = (value.data_ptr(), value.shape)
            if key in seen:
                continue  # tied: restored from its first name on load
            seen.add(key)
            tensors[name] = value.detach().to("cpu").contiguous()
        save_file(tensors, str(tmp / WEIGHTS))
        meta = {
            "format_version": FORMAT_VERSION,
            "model": model.registry_name,
            "config": model.config_dict(),
            "seqart_version": __version__,
            **(extra or {}),
        }
        (tmp / CONFIG).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (tmp / TOKENIZER).write_text(json.dumps(tokenizer.to_dict(), indent=2) + "\n", encoding="utf-8")
        usual_file_modes(tmp)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        replace_dir(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``: the old one is renamed aside first and
    removed last, so at every instant one complete folder exists (``target`` or
    ``target.old``)."""
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def recover_dir(target: Path) -> None:
    """After a crash between the two renames of :func:`replace_dir`, restore ``target``."""
    old = target.with_name(target.name + ".old")
    if not target.exists() and old.exists():
        os.replace(old, target)


def load_tokenizer_of(folder: Path):
    from seqart.tokenizers import load_tokenizer

    return load_tokenizer(folder / TOKENIZER)


def load_model(folder: str | os.PathLike, device: str = "cpu"):
    """Build the model a folder describes and load its weights strictly.

    Returns:
        (model in eval mode on ``device``, tokenizer, config dict)
    """
    import torch
    from safetensors.torch import load_file

    from seqart.models import model_class

    folder = resolve_model(folder)
    meta = read_config(folder)
    cls = model_class(meta["model"])
    config = cls.config_from_dict(meta["config"])
    header = check_safetensors(folder / WEIGHTS)
    tokenizer = load_tokenizer_of(folder)
    model = cls(config)
    expected = model.state_dict()
    for name, info in header.items():
        if name not in expected:
            raise ModelError(f"{folder / WEIGHTS}: unexpected tensor {name!r} for {meta['model']}")
        if list(info["shape"]) != list(expected[name].shape):
            raise ModelError(
                f"{folder / WEIGHTS}: tensor {name!r} has shape {info['shape']}, the config needs {list(expected[name].shape)}"
            )
    state = load_file(str(folder / WEIGHTS))
    missing = [k for k in expected if k not in state]
    ptr_to_name = {}
    for k, v in model.state_dict().items():
        ptr_to_name.setdefault(v.data_ptr(), k)
    for k in missing:
        source = ptr_to_name.get(expected[k].data_ptr())
        if source is None or source not in state:
            raise ModelError(f"{folder / WEIGHTS}: missing tensor {k!r}")
        state[k] = state[source]
    model.load_state_dict(state, strict=True)
    return model.to(device).eval(), tokenizer, meta


def export_model_folder(source: str | os.PathLike, target: str | os.PathLike, half: bool = False,
                        overwrite: bool = False) -> Path:
    """Copy a model folder (or a run's ``model/``) to ``target``, optionally with
    float16 weights (half the size; sampling computes in float32 either way).

    ``config.json``, ``tokenizer.json`` and ``eval.json`` are copied as they are.
    The copy is written to a temporary sibling and renamed into place.

    Raises:
        ModelError: for an unreadable source, or an existing ``target`` without ``overwrite``.
    """
    import numpy as np
    from safetensors.numpy import load_file, save_file

    src = resolve_model(source)
    read_config(src)
    check_safetensors(src / WEIGHTS)
    target = Path(target)
    if target.exists() and not overwrite:
        raise ModelError(f"{target} exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(target.parent, f".{target.name}.")
    try:
        weights = load_file(str(src / WEIGHTS))
        if half:
            weights = {k: (v.astype(np.float16) if v.dtype == np.float32 else v) for k, v in weights.items()}
        save_file(weights, str(tmp / WEIGHTS))
        for name in (CONFIG, TOKENIZER, EVALUATION):
            if (src / name).is_file():
                shutil.copyfile(src / name, tmp / name)
        usual_file_modes(tmp)
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
