"""Which models the studio offers, each addressed by an id the page sends back.

Three sources, in this order: the models shipped inside seqart (``folk``, ...), the
model and run folders directly inside the current folder (one level, not deeper:
a studio started in a project folder finds the runs kept there without walking a
whole disk), and the folders given with ``--model``. A folder found twice is offered
once. Image models (``dcgan``, ``image-vae``) are offered too: they make pictures
(:mod:`.pictures`) where the others make takes.

An id is the shipped name, or for a folder its name and a short hash of its
absolute path (``my-run-3f2a9c``): stable for one folder, opaque to the page, and
never read as a path.

Listing the models loads none of them: an entry's form fields come from its folder
(``config.json``, ``tokenizer.json``, ``keys.json``) and its generator's class
(:meth:`ModelEntry.folder_options`); the generator itself, with its weights (and torch,
for the VAE and the piano-roll models), is loaded on first use.
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from seqart.errors import SeqartError
from seqart.studio.options import ModelOptions, options_for

#: entries of the current folder looked at, at most (a huge folder is not walked whole)
MAX_SCANNED = 500


@dataclass
class ModelEntry:
    """One model the page offers.

    Attributes:
        id: what the page sends back (see the module docstring).
        name: what the page shows: the shipped name or the folder's name.
        source: what :func:`seqart.load` and the feedback store take: the shipped name
            or the folder's absolute path.
        model_type: its registry name (``"melody-transformer"``).
        folder: the model folder, absolute (what tells two entries apart).
        outputs: what it makes, as its registry type says: ``"scores"`` (takes) or
            ``"images"`` (pictures).
        shipped: True for a model inside the seqart package.
        lock: held while its generator samples (a generator keeps ``last_seed`` and
            caches; one call at a time).
    """

    id: str
    name: str
    source: str
    model_type: str
    folder: Path
    shipped: bool = False
    outputs: str = "scores"
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    generator: object | None = field(default=None, repr=False, compare=False)

    @property
    def makes_pictures(self) -> bool:
        """True for an image model (its requests go to :mod:`.pictures`)."""
        return self.outputs == "images"

    def summary(self) -> dict:
        """What ``GET /api/models`` says of it besides its options: ``makes`` is ``"music"``
        (takes) or ``"pictures"``."""
        return {"id": self.id, "name": self.name, "type": self.model_type,
                "where": "shipped with seqart" if self.shipped else self.source,
                "makes": "pictures" if self.makes_pictures else "music"}

    def load(self):
        """Its generator, loaded once (call with :attr:`lock` held)."""
        if self.generator is None:
            from seqart.models.loading import load_generator

            self.generator = load_generator(self.source)
        return self.generator

    def folder_options(self) -> ModelOptions | None:
        """Its form fields read without loading it: the generator's kind from its class,
        the defaults its class declares (:func:`declared_defaults`), a melody model's
        styles and meters from its tokenizer and ``keys.json``. The same fields as
        :func:`~seqart.studio.options.options_of` gives the loaded generator.

        Returns:
            None when the class declares no defaults (the generator must then be loaded to ask it).

        Raises:
            ModelError: for a tokenizer that does not load, or a type no longer registered.
        """
        from seqart.models.folder import load_tokenizer_of
        from seqart.models.registry import model_type

        kind = model_type(self.model_type)
        if kind.outputs == "images":
            return options_for("images", {})
        generator_class = kind.generator_class()
        made = generator_kind(generator_class, kind.representation)
        defaults = declared_defaults(generator_class)
        if made is None or defaults is None:
            return None
        tokenizer = load_tokenizer_of(self.folder) if made == "melody" else None
        if tokenizer is not None and tokenizer.name == "melody":  # the folder's own temperatures
            from seqart.models.folder import read_config
            from seqart.models.melody_lm.sampler import sampling_temperatures

            defaults = {**defaults, **sampling_temperatures(read_config(self.folder), self.folder)}
        return options_for(made, defaults, tokenizer, self.folder)


def generator_kind(generator_class: type, representation: str) -> str | None:
    """What a generator of this class is to the form, as :func:`~seqart.studio.options.options_of`
    tells a loaded one by the methods of :mod:`seqart.generate.protocol`: ``"latent"`` (it
    encodes, decodes and interpolates), ``"melody"`` or ``"frames"`` (it continues a score;
    by its representation), None (neither: it makes images)."""

    def has(*names: str) -> bool:
        return all(callable(getattr(generator_class, name, None)) for name in names)

    if has("sample", "encode", "decode", "interpolate"):
        return "latent"
    if has("sample", "continue_score"):
        return "melody" if representation == "melody" else "frames"
    return None


def declared_defaults(generator_class: type) -> dict | None:
    """The ``sampling_defaults`` a generator class gives its instances, read without building
    one: the ``DEFAULT_<OPTION>`` constants (``DEFAULT_BARS``, ``DEFAULT_TEMPERATURE``) of the
    module whose class defines its ``__init__``, which each sampler builds them from.

    Returns:
        option name -> default, or None when that module declares none.
    """
    from seqart.generate.protocol import SAMPLE_OPTIONS

    maker = next((c for c in generator_class.__mro__ if "__init__" in vars(c)), generator_class)
    module = sys.modules.get(maker.__module__)
    declared = {name: getattr(module, f"DEFAULT_{name.upper()}") for name in SAMPLE_OPTIONS
                if hasattr(module, f"DEFAULT_{name.upper()}")}
    return declared or None


def find_models(given: Sequence[str | Path] = (), cwd: str | Path | None = None,
                shipped: Sequence[str] | None = None) -> list[ModelEntry]:
    """The models to offer (see the module docstring).

    Args:
        given: ``--model`` values: shipped names or model/run folders.
        cwd: the folder to look in, one level deep (None: none is looked in).
        shipped: the shipped names to offer (None: every shipped model).

    Raises:
        ModelError: for a given model that does not exist or cannot be read.
    """
    from seqart.models.folder import shipped_models

    entries: dict[Path, ModelEntry] = {}
    for name in shipped_models() if shipped is None else shipped:
        _add(entries, name, refuse=False)
    if cwd is not None:
        for folder in _model_folders(Path(cwd)):
            _add(entries, folder, refuse=False)
    for model in given:
        _add(entries, model, refuse=True)
    return list(entries.values())


def _model_folders(cwd: Path) -> list[Path]:
    """Model and run folders directly inside ``cwd``, by name."""
    from seqart.models.folder import CONFIG

    try:
        children = sorted(p for _, p in zip(range(MAX_SCANNED), cwd.iterdir()))
    except OSError:
        return []
    found = []
    for child in children:
        try:
            if (child / CONFIG).is_file() or (child / "model" / CONFIG).is_file():
                found.append(child)
        except OSError:
            continue
    return found


def _add(entries: dict[Path, ModelEntry], model: str | Path, refuse: bool) -> None:
    """Add ``model`` unless its folder is there already; a broken one is refused
    (``refuse``) or skipped."""
    try:
        entry = _entry(model)
    except SeqartError:
        if refuse:
            raise
        return
    entries.setdefault(entry.folder, entry)


def _entry(model: str | Path) -> ModelEntry:
    from seqart.feedback.store import is_shipped
    from seqart.models.folder import read_config, resolve_model
    from seqart.models.registry import model_type

    folder = resolve_model(model).resolve()
    kind = model_type(read_config(folder)["model"])
    if is_shipped(folder):
        return ModelEntry(folder.name, folder.name, folder.name, kind.name, folder, shipped=True, outputs=kind.outputs)
    named = folder.parent if folder.name == "model" else folder  # a run folder is known by its own name
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:6]
    slug = re.sub(r"[^a-z0-9]+", "-", named.name.lower()).strip("-")[:40] or "model"
    return ModelEntry(f"{slug}-{digest}", named.name, str(folder), kind.name, folder, outputs=kind.outputs)
