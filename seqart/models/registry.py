"""The model registry: every model type, registered once by its family.

A family is one folder, ``seqart/models/<family>/``, holding its configs
(``config.py``, torch-free), its model (``model.py``), its presets
(``presets.py``) and its sampler (``sampler.py``). Its ``__init__.py`` declares
``MODEL_TYPES``: one :class:`ModelType` per registry name. Everything else is
derived from that declaration: the config class a ``config.json`` is validated
with, the model class a folder is built with, the presets ``seqart train``
knows, the generator :func:`seqart.load` returns, and whether ``seqart tune``
can tune it.

Adding a family is that folder plus one line in :data:`FAMILIES` (a package path,
so a family may also live outside seqart).

Nothing here imports torch: configs and presets are plain data, and the model,
generator and tuner classes are named as ``"module:Class"`` and imported on first
use.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields

from seqart.errors import ModelError, SeqartError

#: the families' packages, in the order ``seqart presets`` lists them: one line per family
FAMILIES = [
    "seqart.models.melody_lm",
    "seqart.models.melody_transformer",
    "seqart.models.music_vae",
    "seqart.models.poly",
    "seqart.models.images",
]


@dataclass
class Preset:
    """A named recipe: which model, on which representation, with which settings.

    Attributes:
        name: what ``seqart train NAME`` takes.
        model: the registry name of the model type it trains.
        representation: the corpus representation it reads (``melody``, ``pianoroll``, ``images``, ...).
        description: one line for ``seqart presets``.
        model_config: model config entries (the data fixes the rest: vocabulary size, ...).
        train: :class:`seqart.train.config.TrainConfig` entries.
    """

    name: str
    model: str
    representation: str
    description: str
    model_config: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ModelType:
    """One registered model type.

    Attributes:
        name: the registry name stored in every model folder's ``config.json`` (``"poly-nade"``).
        family: the family folder it belongs to (``"poly"``).
        config: its config dataclass (torch-free; ``validate()`` refuses bad values).
        model: ``"module:Class"`` of the :class:`seqart.models.base.SeqartModel` subclass.
        generator: ``"module:Class"`` of what :func:`seqart.load` returns for its folders;
            the class is built with ``(folder, device=...)``.
        representation: the corpus representation it trains on.
        presets: its presets, in listing order.
        also_reads: other representations its presets may train on (a token language model
            reads multi-track ``events`` as well as ``melody``; :func:`seqart.load` then
            builds the generator for those tokens).
        tiny_preset: the preset the registry-wide model tests train (seconds on a CPU).
        tuner: ``"module:Class"`` of the tuner, a model class that fine-tunes a trained model
            of this type on a composer's ratings (``seqart tune``), or None when the type
            cannot be tuned.
        outputs: ``"scores"`` (melodies, piano rolls) or ``"images"``.
        image_targets: for an image model, the targets ``seqart evaluate-images`` holds its
            samples to (see :meth:`seqart.images.evaluate.ImageEvaluation.targets`).
    """

    name: str
    family: str
    config: type
    model: str
    generator: str
    representation: str
    presets: tuple[Preset, ...]
    tiny_preset: str
    tuner: str | None = None
    outputs: str = "scores"
    image_targets: tuple[str, ...] = ()
    also_reads: tuple[str, ...] = ()

    @property
    def tunable(self) -> bool:
        return self.tuner is not None

    def model_class(self):
        """The model class (imports torch)."""
        return _import(self.model)

    def generator_class(self):
        """The generator class :func:`seqart.load` builds for this type's folders."""
        return _import(self.generator)

    def tuner_class(self):
        """The tuner (``seqart tune``): a model class with the tuning objective that starts
        from a trained model of this type (see :mod:`seqart.models.melody_lm.tuning`).

        Raises:
            ModelError: for a type that cannot be tuned.
        """
        if self.tuner is None:
            tunable = ", ".join(t.name for t in REGISTRY.values() if t.tunable)
            raise ModelError(f"a {self.name} model cannot be tuned on feedback; tunable types: {tunable}")
        return _import(self.tuner)


def _import(target: str):
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


class _Registry(Mapping):
    """``name -> ModelType`` for every registered type; the families load on first use."""

    def __init__(self):
        self._types: dict[str, ModelType] | None = None

    def _load(self) -> dict[str, ModelType]:
        if self._types is None:
            types: dict[str, ModelType] = {}
            for family in FAMILIES:
                for model_type in importlib.import_module(family).MODEL_TYPES:
                    if model_type.name in types:
                        raise ModelError(f"model type {model_type.name!r} is registered twice")
                    if model_type.tiny_preset not in {p.name for p in model_type.presets}:
                        raise ModelError(f"{model_type.name}: tiny preset {model_type.tiny_preset!r} is not "
                                         "one of its presets")
                    types[model_type.name] = model_type
            self._types = types
        return self._types

    def __getitem__(self, name: str) -> ModelType:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def reload(self) -> None:
        """Forget the registered types: the next use imports :data:`FAMILIES` again."""
        self._types = None


#: registry name -> :class:`ModelType`, for every family in :data:`FAMILIES`
REGISTRY: Mapping[str, ModelType] = _Registry()


def model_type(name: str) -> ModelType:
    """The registered type ``name``.

    Raises:
        ModelError: naming the known types.
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise ModelError(f"unknown model type {name!r}; known: {', '.join(REGISTRY)}") from None


def model_class(name: str):
    """The model class registered as ``name`` (imports torch)."""
    return model_type(name).model_class()


def config_from_dict(model: str, data: dict):
    """Build and validate the config of model type ``model`` from JSON (torch-free).

    Raises:
        ModelError: for an unknown type or key, a missing entry, or a value the config refuses.
    """
    cls = model_type(model).config
    if not isinstance(data, dict):
        raise ModelError(f"{model} config must be a JSON object")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ModelError(f"unknown {model} config key(s): {', '.join(unknown)}")
    try:
        config = cls(**data)
    except TypeError as exc:
        raise ModelError(f"invalid {model} config: {exc}") from None
    config.validate()
    return config


def presets() -> dict[str, Preset]:
    """Every preset of every registered type, by name, in listing order."""
    out: dict[str, Preset] = {}
    for t in REGISTRY.values():
        for p in t.presets:
            if p.name in out:
                raise ModelError(f"preset {p.name!r} is declared twice")
            out[p.name] = p
    return out


def get_preset(name: str) -> Preset:
    """A copy of the preset ``name``.

    Raises:
        SeqartError: naming the presets there are.
    """
    try:
        return copy.deepcopy(presets()[name])
    except KeyError:
        raise SeqartError(f"unknown preset {name!r}; choose one of {', '.join(presets())}") from None
