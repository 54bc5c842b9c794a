"""Loading trained models by their registered type: the generator :func:`seqart.load`
returns, a folder's type, and the catalogue ``seqart presets`` shows (no torch import
until a generator that needs it is built)."""

from __future__ import annotations

from seqart.errors import ModelError
from seqart.models.registry import REGISTRY, ModelType, model_type


def load_generator(model: str = "folk", device: str | None = None):
    """The generator for a shipped model name or a model/run folder, by its registered type.

    Every generator speaks :mod:`seqart.generate.protocol`: a melody model gives a
    :class:`~seqart.models.melody_lm.sampler.MelodyGenerator` (NumPy, no torch import),
    a token language model trained on multi-track event tokens an
    :class:`~seqart.models.melody_lm.events_generator.EventsGenerator` (NumPy too),
    a frame model a :class:`~seqart.models.poly.sampler.FrameGenerator`, a melody VAE a
    :class:`~seqart.models.music_vae.sampler.MelodyVAE` and an image model an
    :class:`~seqart.models.images.sampler.ImageGenerator` (torch, on ``device``,
    default the CPU).

    Raises:
        ModelError: for an unknown model or model type, or a folder that does not load.
    """
    from seqart.models.folder import CONFIG, read_config, resolve_model

    folder = resolve_model(model)
    try:
        kind = model_type(read_config(folder)["model"])
    except ModelError as exc:
        raise ModelError(f"{folder / CONFIG}: {exc}") from None
    generator = kind.generator_class()
    if hasattr(generator, "numpy_lm") and _tokenizer_name(folder) == "events":
        # a token language model trained on multi-track event tokens
        from seqart.models.melody_lm.events_generator import EventsGenerator

        return EventsGenerator(folder, numpy_lm=generator.numpy_lm)
    return generator(folder, device=device)


def _tokenizer_name(folder) -> str | None:
    """The ``tokenizer`` named in a folder's ``tokenizer.json`` (None if it has none)."""
    from seqart.models.folder import TOKENIZER, read_json

    path = folder / TOKENIZER
    if not path.is_file():
        return None
    data = read_json(path, "tokenizer file")
    return data.get("tokenizer") if isinstance(data, dict) else None


def model_type_of(model: str) -> ModelType:
    """The registered type of a shipped model name or model/run folder (reads ``config.json`` only).

    Raises:
        ModelError: nothing of that name, or an unknown type.
    """
    from seqart.models.folder import CONFIG, read_config, resolve_model

    folder = resolve_model(model)
    try:
        return model_type(read_config(folder)["model"])
    except ModelError as exc:
        raise ModelError(f"{folder / CONFIG}: {exc}") from None


def catalogue() -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str, str]]]:
    """What ``seqart presets`` shows (no torch import).

    Returns:
        ``([(family, model type, preset, description), ...], [(shipped model, model type,
        held-out figures), ...])``, in registration order.
    """
    from seqart.models.folder import ASSETS, read_config, read_evaluation, shipped_models

    presets_rows = [(t.family, t.name, p.name, p.description) for t in REGISTRY.values() for p in t.presets]
    shipped_rows = []
    for name in shipped_models():
        folder = ASSETS / name
        meta = read_config(folder)
        evaluation = read_evaluation(folder) or {}
        test = evaluation.get("test") or {}
        figures = [f"test loss {test['loss']:.4f} nats"] if "loss" in test else []
        figures += [f"accuracy {test['accuracy']:.3f}"] if "accuracy" in test else []
        figures += [f"preset {evaluation['preset']}, {evaluation.get('step', '?')} steps"] if "preset" in evaluation else []
        shipped_rows.append((name, meta["model"], "; ".join(figures) or "-"))
    return presets_rows, shipped_rows
