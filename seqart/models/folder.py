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
import math
import os
import shutil
import struct
from pathlib import Path

from seqart.errors import ModelError, OutputExistsError, one_line
from seqart.utils.atomic import atomic_folder

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
TOKENIZER = "tokenizer.json"
EVALUATION = "eval.json"
#: a VAE's attribute vectors (see seqart.models.music_vae.attributes)
ATTRIBUTES = "attributes.json"
#: a melody model's training openings (style, meter, key counts; :mod:`seqart.models.melody_lm.keys`)
OPENINGS = "keys.json"
#: an event-token model's training programs (:mod:`seqart.models.melody_lm.events_generator`)
PROGRAMS = "programs.json"
#: files of what a model was trained on, beside its weights, that a copy keeps
SIDE_FILES = (ATTRIBUTES, OPENINGS, PROGRAMS)
FORMAT_VERSION = 1
#: ``config.json``'s entry of a melody model's own sampling defaults, measured for it
#: (``{"temperature": 1.05, "pitch_temperature": 0.95}``; :mod:`seqart.models.melody_lm.sampler`)
SAMPLING = "sampling"

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


def read_json(path: Path, what: str):
    """A JSON file of a model folder, parsed.

    Raises:
        ModelError: one line naming ``path``, for a file that cannot be read or
            parsed (including JSON nested too deeply to parse).
    """
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ModelError(f"{path}: unreadable {what} ({one_line(reason, 200)})") from None


def read_config(folder: Path) -> dict:
    """The parsed ``config.json`` (``{"model": name, "config": {...}, ...}``)."""
    data = read_json(folder / CONFIG, "model config")
    if not isinstance(data, dict) or not isinstance(data.get("model"), str) or not isinstance(data.get("config"), dict):
        raise ModelError(f"{folder / CONFIG}: not a seqart model config (needs 'model' and 'config')")
    version = data.get("format_version", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelError(f"{folder / CONFIG}: format_version {version!r} is not a whole number")
    if version > FORMAT_VERSION:
        raise ModelError(f"{folder}: model format {data['format_version']} is newer than this seqart; upgrade")
    return data


def model_config(folder: Path, meta: dict):
    """The validated config dataclass of ``meta`` (from :func:`read_config`), built
    without torch and before any tensor is allocated.

    Raises:
        ModelError: naming ``config.json``, for an unknown model type or a config
            with unknown, missing, mistyped or absurd entries.
    """
    from seqart.models.registry import config_from_dict

    try:
        return config_from_dict(meta["model"], meta["config"])
    except ModelError as exc:
        raise ModelError(f"{folder / CONFIG}: {one_line(exc, 200)}") from None


def read_evaluation(folder: Path) -> dict | None:
    """The held-out figures a training run recorded (``eval.json``), or None."""
    path = Path(folder) / EVALUATION
    if not path.is_file():
        return None
    data = read_json(path, "evaluation file")
    if not isinstance(data, dict):
        raise ModelError(f"{path}: not an evaluation file (a JSON object)")
    return data


#: bytes per element of the safetensors dtypes seqart loads
_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
                "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def check_safetensors(path: Path) -> dict:
    """Validate a safetensors file's header without loading it: every entry names a
    known dtype, a shape and offsets that hold exactly that many bytes inside the file.

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
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, RecursionError):
        raise ModelError(f"{path}: not a safetensors file (bad header)") from None
    if not isinstance(header, dict):
        raise ModelError(f"{path}: not a safetensors file (bad header)")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelError(f"{path}: not a safetensors file (bad __metadata__)")
    for name, info in header.items():
        _check_entry(path, name, info, size - 8 - n)
    return header


def _check_entry(path: Path, name: str, info, data_bytes: int) -> None:
    def count(x) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and x >= 0

    if not (isinstance(info, dict) and isinstance(info.get("shape"), list)
            and isinstance(info.get("data_offsets"), list) and all(count(d) for d in info["shape"])
            and len(info["data_offsets"]) == 2 and all(count(o) for o in info["data_offsets"])):
        raise ModelError(f"{path}: tensor {name!r} has a malformed header entry")
    width = _DTYPE_BYTES.get(info.get("dtype")) if isinstance(info.get("dtype"), str) else None
    if width is None:
        raise ModelError(f"{path}: tensor {name!r} has an unsupported dtype {info.get('dtype')!r}")
    start, end = info["data_offsets"]
    if not start <= end <= data_bytes:
        raise ModelError(f"{path}: tensor {name!r} points outside the file")
    if math.prod(info["shape"]) * width != end - start:
        raise ModelError(f"{path}: tensor {name!r} of shape {info['shape']} does not fill its {end - start} bytes")


def read_weights_numpy(folder: Path) -> dict:
    """All weights as float32 NumPy arrays (no torch needed)."""
    import numpy as np
    from safetensors.numpy import load_file

    check_safetensors(folder / WEIGHTS)
    try:
        tensors = load_file(str(folder / WEIGHTS))
    except Exception as exc:  # safetensors' own error for what the header check cannot see
        raise ModelError(f"{folder / WEIGHTS}: unreadable weights ({one_line(exc, 200)})") from None
    return {k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()}


def save_model_folder(folder: str | os.PathLike, model, tokenizer, extra: dict | None = None,
                      sides_from: Path | None = None) -> Path:
    """Write ``model`` (a SeqartModel) and its tokenizer as a model folder, atomically.

    Weights shared between modules (tied embeddings) are stored once (:func:`stored_tensors`).
    ``sides_from``: a model folder whose side files (:data:`SIDE_FILES`: the openings a
    sample is given, programs, attributes) go into the new folder too.
    """
    from safetensors.torch import save_file

    from seqart import __version__

    folder = Path(folder)
    with atomic_folder(folder) as tmp:
        save_file({k: v.detach().to("cpu").contiguous() for k, v in stored_tensors(model).items()},
                  str(tmp / WEIGHTS))
        meta = {
            "format_version": FORMAT_VERSION,
            "model": model.registry_name,
            "config": model.config_dict(),
            "seqart_version": __version__,
            **(extra or {}),
        }
        (tmp / CONFIG).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (tmp / TOKENIZER).write_text(json.dumps(tokenizer.to_dict(), indent=2) + "\n", encoding="utf-8")
        for name in SIDE_FILES if sides_from is not None else ():
            if (sides_from / name).is_file():
                shutil.copyfile(sides_from / name, tmp / name)
    return folder


def twins(model) -> dict[str, list[str]]:
    """For each name in ``model``'s state dict that shares its tensor with other names
    (tied weights: an output layer sharing the embedding), those other names, in order."""
    groups: dict[int, list[str]] = {}
    for name, tensor in model.state_dict(keep_vars=True).items():  # the tensors themselves: shared ones are identical
        groups.setdefault(id(tensor), []).append(name)
    return {name: [other for other in group if other != name]
            for group in groups.values() if len(group) > 1 for name in group}


def stored_tensors(model) -> dict:
    """``model``'s state dict without the later names of tied tensors: what a weights file holds."""
    shared = twins(model)
    kept: dict = {}
    for name, tensor in model.state_dict().items():
        if not any(other in kept for other in shared.get(name, ())):
            kept[name] = tensor
    return kept


def fill_tied(model, weights: dict) -> dict:
    """``weights`` (as a weights file holds them) with every missing name of a tied
    tensor added, pointing at the stored twin, ready for ``load_state_dict(strict=True)``."""
    for name, others in twins(model).items():
        if name not in weights:
            source = next((o for o in others if o in weights), None)
            if source is not None:
                weights[name] = weights[source]
    return weights


def load_tokenizer_of(folder: Path):
    """The tokenizer ``tokenizer.json`` describes.

    Raises:
        ModelError: one line naming the file, for a file that is not JSON, names an
            unknown tokenizer, or holds a config the tokenizer refuses.
    """
    from seqart.errors import SeqartError
    from seqart.tokenizers import tokenizer_from_dict

    path = folder / TOKENIZER
    data = read_json(path, "tokenizer file")
    if not isinstance(data, dict) or not isinstance(data.get("config", {}), dict):
        raise ModelError(f"{path}: not a seqart tokenizer file (needs 'tokenizer' and 'config')")
    try:
        return tokenizer_from_dict(data)
    except (SeqartError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ModelError(f"{path}: unusable tokenizer ({one_line(exc, 200)})") from None


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
    try:
        cls = model_class(meta["model"])
        config = cls.config_from_dict(meta["config"])
    except ModelError as exc:
        raise ModelError(f"{folder / CONFIG}: {one_line(exc, 200)}") from None
    header = check_safetensors(folder / WEIGHTS)
    tokenizer = load_tokenizer_of(folder)
    _check_tokenizer_fits(cls, config, tokenizer, folder)
    # Compare with the file on torch's meta device first (shapes, no memory), so a
    # config that asks for gigabytes the file does not hold allocates nothing.
    try:
        with torch.device("meta"):
            shell = cls(config)
    except Exception:  # a constructor that needs real tensors: checked once built
        shell = None
    if shell is not None:
        _match_tensors(shell, header, folder / WEIGHTS, meta["model"])
    model = cls(config)
    _match_tensors(model, header, folder / WEIGHTS, meta["model"])
    try:
        state = load_file(str(folder / WEIGHTS))
    except Exception as exc:  # safetensors' own error for what the header check cannot see
        raise ModelError(f"{folder / WEIGHTS}: unreadable weights ({one_line(exc, 200)})") from None
    model.load_state_dict(fill_tied(model, state), strict=True)
    return model.to(device).eval(), tokenizer, meta


def _match_tensors(model, header: dict, path: Path, model_type: str) -> None:
    """Check a weights file's tensors against those ``model`` holds: the same names
    and shapes, none missing except the other names of a shared (tied) tensor."""
    expected = model.state_dict(keep_vars=True)  # the tensors themselves, so shared ones are identical
    for name, info in header.items():
        if name not in expected:
            raise ModelError(f"{path}: unexpected tensor {name!r} for {model_type}")
        if list(info["shape"]) != list(expected[name].shape):
            raise ModelError(
                f"{path}: tensor {name!r} has shape {info['shape']}, the config needs {list(expected[name].shape)}"
            )
    shared = twins(model)
    for name in expected:
        if name not in header and not any(other in header for other in shared.get(name, ())):
            raise ModelError(f"{path}: missing tensor {name!r}")


def _check_tokenizer_fits(cls, config, tokenizer, folder: Path) -> None:
    """The config entries the data fixes (vocabulary size, frame width) must match
    ``tokenizer.json``."""
    try:
        fixed = cls.data_config(tokenizer)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ModelError(f"{folder / TOKENIZER}: a {tokenizer.name} tokenizer cannot feed "
                         f"{cls.registry_name} ({one_line(exc, 200)})") from None
    wrong = [f"{k}={getattr(config, k)!r} (the tokenizer gives {v!r})" for k, v in fixed.items()
             if getattr(config, k, v) != v]
    if wrong:
        raise ModelError(f"{folder / CONFIG} does not fit {TOKENIZER}: " + ", ".join(wrong))


def export_model_folder(source: str | os.PathLike, target: str | os.PathLike, half: bool = False,
                        overwrite: bool = False, sampling: dict | None = None) -> Path:
    """Copy a model folder (or a run's ``model/``) to ``target``, optionally with
    float16 weights (half the size; sampling computes in float32 either way).

    ``config.json``, ``tokenizer.json``, ``eval.json``, ``attributes.json``, ``keys.json`` and
    ``programs.json`` are copied as they are, except that ``sampling`` (``{"temperature":
    1.05, "pitch_temperature": 0.95}``), if given, is recorded in ``config.json``
    (:data:`SAMPLING`) as the copy's sampling defaults.
    The copy is written to a temporary sibling and renamed into place.

    Raises:
        ModelError: for an unreadable source, an existing ``target`` without
            ``overwrite``, or a ``target`` that is a file or a folder of something else.
    """
    import numpy as np
    from safetensors.numpy import load_file, save_file

    src = resolve_model(source)
    meta = read_config(src)
    check_safetensors(src / WEIGHTS)
    for name, value in (sampling or {}).items():
        if not 0 < value < math.inf:
            raise ModelError(f"{name.replace('_', ' ')} must be a number above 0, got {value}")
    if sampling and load_tokenizer_of(src).name != "melody":
        raise ModelError(f"{source}: sampling temperatures are recorded for melody models, not a {meta['model']} "
                         "over other tokens")
    target = Path(target)
    check_replaceable(target, overwrite)
    with atomic_folder(target) as tmp:
        weights = load_file(str(src / WEIGHTS))
        if half:
            weights = {k: (v.astype(np.float16) if v.dtype == np.float32 else v) for k, v in weights.items()}
        save_file(weights, str(tmp / WEIGHTS))
        for name in (CONFIG, TOKENIZER, EVALUATION, *SIDE_FILES):
            if (src / name).is_file():
                shutil.copyfile(src / name, tmp / name)
        if sampling:
            (tmp / CONFIG).write_text(json.dumps({**meta, SAMPLING: {**meta.get(SAMPLING, {}), **sampling}},
                                                 indent=2) + "\n")
    return target


def check_replaceable(target: Path, overwrite: bool) -> None:
    """Refuse to write a model folder at ``target`` over anything but an empty folder or,
    with ``overwrite``, another model folder (replacing renames the old one aside and
    deletes it, so it is only ever done to a model folder).

    Raises:
        OutputExistsError: ``target`` exists and ``overwrite`` is False.
        ModelError: ``target`` is a file, or a folder of something else.
    """
    if not target.exists():
        return
    if not overwrite:
        raise OutputExistsError(target)
    if not (target.is_dir() and ((target / CONFIG).is_file() or not any(target.iterdir()))):
        raise ModelError(f"{target} exists and is not a model folder; only a model folder is ever replaced")
