"""Blend, vary and shift takes with a latent melody model: the studio's ``seqart
interpolate``, ``seqart vary`` and ``seqart shift``.

A latent model is a ``music-vae`` the studio offers; when none is, the shipped
``folk-vae-2bar`` is taken as a helper (:meth:`StudioSession.helper
<seqart.studio.session.StudioSession.helper>`) on first use: it blends and varies,
but does not join the Generate picker, which keeps the models the composer chose.
Every result is a take like any other: a card, downloads, ratings, the history,
recorded in the latent model's feedback store with where it came from.

How a take is read: the model reads one melody, a take's top voice, in spans of
``bars`` model bars of 4 beats (8 beats for ``folk-vae-2bar``). A take longer than one
span is read span by span: each span is encoded, moved on its own and decoded, and the
spans are joined again, so a 16-bar take gives 16-bar results that keep its phrase
lengths; blending takes of different lengths pads the shorter with silence. The
answer's ``notice`` says when a take was read this way, when only its top voice was
read, and when its meter is not one the model learned (it learned duple meters,
4/4, 2/4, 2/2, and reads a 3/4 or 6/8 take in 8-beat spans all the same, so the
result may sound less like it).

Decoding takes the likeliest step each time, so a blend or a shift gives the same
take every time (its seed is recorded as 0); a variation's noise comes from its seed.
A code moved far from any melody the model knows (a shift of 2 towards sparse) may
decode to silence: that take is kept, and ``notice`` says so and suggests a smaller amount;
a take without notes is refused as an input.
"""

from __future__ import annotations

import math
from typing import Any

from seqart.errors import ModelError, SeqartError
from seqart.score import Score
from seqart.studio.models import ModelEntry
from seqart.studio.options import MAX_NUM, MAX_SEED
from seqart.studio.takes import Take

#: strip length of a blend (both ends included): fewest, most, default
MIN_STEPS, MAX_STEPS, DEFAULT_STEPS = 3, 9, 5
#: takes per vary request by default (at most :data:`~seqart.studio.options.MAX_NUM`)
DEFAULT_VARIATIONS = 4
#: a variation's noise (standard deviation in latent units): default, most
DEFAULT_AMOUNT, MAX_AMOUNT = 0.3, 1.0
#: an attribute shift, in attribute vectors (1 = from a typical low-quarter span to a
#: typical high-quarter one): the slider's bound either way and its increment
MAX_SHIFT, SHIFT_STEP = 2.0, 0.1
#: what the page calls each attribute, and the unit of its measure (attributes.py)
ATTRIBUTE_LABELS = {
    "density": ("Note density", "notes per beat"),
    "range": ("Pitch range", "semitones"),
    "register": ("Register", "mean MIDI pitch (60 = middle C)"),
    "syncopation": ("Syncopation", "share of onsets off the beat and held over it"),
    "stepwise": ("Stepwise motion", "share of intervals that are steps"),
}
#: the fields of each request
BLEND_FIELDS = ("a", "b", "steps", "model")
VARY_FIELDS = ("take", "num", "amount", "seed", "model")
SHIFT_FIELDS = ("take", "attribute", "amount", "model")
#: what a latent model's generator does (the protocol's latent verbs the studio calls)
LATENT_VERBS = ("interpolate", "vary", "shift")


class LatentRequestError(SeqartError):
    """A blend, vary or shift request with an unknown field, a missing one or a number out of bounds."""


class LatentStudio:
    """Blend, vary and shift the takes of one session (see the module docstring).

    Every method is blocking (the API runs it in a worker thread). A latent model's
    generator is loaded once, on first use, and kept in its :class:`ModelEntry`;
    its lock is held while it works, as for sampling.

    Args:
        session: the :class:`~seqart.studio.session.StudioSession` whose takes are read
            and added to.
    """

    def __init__(self, session):
        self.session = session

    # ------------------------------------------------------------ the models
    def entries(self) -> list[ModelEntry]:
        """The latent models offered, or the shipped default as a helper if none is."""
        from seqart.workflows.latent import DEFAULT_VAE

        found = [e for e in list(self.session.models.values()) if is_latent(e)]
        return found or [self.session.helper(DEFAULT_VAE)]

    def entry(self, model_id: Any) -> ModelEntry:
        """The latent model of ``model_id`` (None: the first offered).

        Raises:
            UnknownModelError: for a model the studio does not offer.
            LatentRequestError: for one without a latent space.
        """
        entries = self.entries()
        if model_id is None:
            return entries[0]
        latent = next((e for e in entries if e.id == model_id), None)
        if latent is not None:
            return latent
        entry = self.session.model(model_id)
        raise LatentRequestError(f"{entry.name} has no latent space to blend in; use {', '.join(e.id for e in entries)}")

    def models_json(self) -> dict[str, Any]:
        """``GET /api/latent``: the latent models with their span and attribute sliders,
        and the bounds of a blend and of variations. A model whose files cannot be read
        says why in ``error`` instead of hiding the others."""
        models = []
        for entry in self.entries():
            about = {"id": entry.id, "name": entry.name}
            try:
                models.append({**about, **describe_model(entry)})
            except SeqartError as exc:
                models.append({**about, "span_beats": None, "attributes": [], "error": str(exc)})
        return {"models": models,
                "blend": {"steps": DEFAULT_STEPS, "min_steps": MIN_STEPS, "max_steps": MAX_STEPS},
                "vary": {"num": DEFAULT_VARIATIONS, "max_num": MAX_NUM, "amount": DEFAULT_AMOUNT,
                         "max_amount": MAX_AMOUNT}}

    # ------------------------------------------------------------ the verbs
    def blend(self, body: dict) -> tuple[list[Take], str | None, str | None]:
        """``POST /api/blend``: an interpolation strip from take ``a`` to take ``b``.

        Args:
            body: ``a``, ``b`` (take ids), ``steps`` (takes in the strip, both ends
                included, :data:`MIN_STEPS`-:data:`MAX_STEPS`; None: :data:`DEFAULT_STEPS`),
                ``model`` (a latent model's id; None: the first offered).

        Returns:
            the strip's takes, in order from ``a``'s reading to ``b``'s; the store's
            warning (else None); how the takes were read (else None).

        Raises:
            UnknownTakeError: for an unknown take.
            SeqartError: for a bad field, or takes the model cannot read (no notes).
        """
        check_fields(body, BLEND_FIELDS, "a blend request")
        first, second = self.session.takes.get(body.get("a")), self.session.takes.get(body.get("b"))
        steps = whole_number(body, "steps", MIN_STEPS, MAX_STEPS, DEFAULT_STEPS)
        entry = self.entry(body.get("model"))
        with entry.lock:
            vae = latent_generator(entry)
            scores = vae.interpolate(readable(first), readable(second), steps=steps)
            notice = join_notices(reading_notice(vae, [first.score, second.score]), silence_notice(scores))
        settings = {"latent": "blend", "a": first.id, "b": second.id, "steps": steps}
        recorded = {**settings, "a": str(first.midi), "b": str(second.midi)}
        return self._add(entry, scores, settings, 0, recorded) + (notice,)

    def vary(self, body: dict) -> tuple[list[Take], str | None, str | None]:
        """``POST /api/vary``: variations of a take, its code moved by Gaussian noise.

        Args:
            body: ``take`` (its id), ``num`` (1-:data:`~seqart.studio.options.MAX_NUM`;
                None: :data:`DEFAULT_VARIATIONS`), ``amount`` (the noise's standard deviation
                in latent units, 0-1: 0 gives the take as the model reads it, 1 as far as
                the model's prior spreads; None: :data:`DEFAULT_AMOUNT`), ``seed`` (same seed,
                same variations; None: one is drawn and reported as the takes' seed),
                ``model``.

        Returns:
            the variations, the store's warning, how the take was read (see :meth:`blend`).
        """
        from seqart.generate.protocol import draw_seed

        check_fields(body, VARY_FIELDS, "a vary request")
        take = self.session.takes.get(body.get("take"))
        num = whole_number(body, "num", 1, MAX_NUM, DEFAULT_VARIATIONS)
        amount = number(body, "amount", 0.0, MAX_AMOUNT, DEFAULT_AMOUNT)
        seed = draw_seed(whole_number(body, "seed", 0, MAX_SEED, None))
        entry = self.entry(body.get("model"))
        with entry.lock:
            vae = latent_generator(entry)
            scores = vae.vary(readable(take), amount=amount, num=num, seed=seed)
            notice = join_notices(reading_notice(vae, [take.score]), silence_notice(scores))
        settings = {"latent": "vary", "take": take.id, "amount": amount}
        return self._add(entry, scores, settings, seed, {**settings, "take": str(take.midi)}) + (notice,)

    def shift(self, body: dict) -> tuple[list[Take], str | None, str | None]:
        """``POST /api/shift``: a take moved along one attribute vector.

        Args:
            body: ``take`` (its id), ``attribute`` (``density``, ``range``, ``register``,
                ``syncopation``, ``stepwise``: what the model has), ``amount`` (in attribute
                vectors, -:data:`MAX_SHIFT` to :data:`MAX_SHIFT`: 1 moves each span from a
                typical low-quarter span of the attribute to a typical high-quarter one,
                negative values the other way), ``model``.

        Returns:
            one take, the store's warning, how the take was read (see :meth:`blend`).
        """
        from seqart.models.music_vae.attributes import attribute_name

        check_fields(body, SHIFT_FIELDS, "a shift request")
        take = self.session.takes.get(body.get("take"))
        attribute = body.get("attribute")
        if not isinstance(attribute, str):
            raise LatentRequestError(f"attribute must be one of {', '.join(ATTRIBUTE_LABELS)}")
        attribute = attribute_name(attribute[:40])
        amount = number(body, "amount", -MAX_SHIFT, MAX_SHIFT, None)
        entry = self.entry(body.get("model"))
        with entry.lock:
            vae = latent_generator(entry)
            scores = [vae.shift(readable(take), attribute, amount=amount)]
            notice = join_notices(reading_notice(vae, [take.score]), silence_notice(scores))
        settings = {"latent": "shift", "take": take.id, "attribute": attribute, "amount": amount}
        return self._add(entry, scores, settings, 0, {**settings, "take": str(take.midi)}) + (notice,)

    def _add(self, entry: ModelEntry, scores: list[Score], settings: dict, seed: int,
             recorded: dict) -> tuple[list[Take], str | None]:
        """Register the scores as one request's takes and record them in the latent model's
        store (``recorded``: the settings with take ids replaced by their MIDI files, which
        outlive the session)."""
        takes = self.session.takes.add(entry, scores, settings, seed)
        return takes, self.session._record(entry, takes, {**recorded, "seed": seed, "num": len(takes)})


# ------------------------------------------------------------------ helpers
def is_latent(entry: ModelEntry) -> bool:
    """True for a model whose generator blends, varies and shifts (told by its registered
    generator class, without loading it)."""
    import importlib

    from seqart.models.registry import model_type

    try:
        kind = model_type(entry.model_type)
        module, name = kind.generator.split(":")
        generator = getattr(importlib.import_module(module), name)
    except (SeqartError, ImportError, AttributeError, ValueError):
        return False
    return kind.outputs == "scores" and all(callable(getattr(generator, verb, None)) for verb in LATENT_VERBS)


def latent_generator(entry: ModelEntry):
    """The entry's generator, loaded once (call with its lock held).

    Raises:
        ModelError: for one that has no latent space after all.
    """
    generator = entry.load()
    if not all(callable(getattr(generator, verb, None)) for verb in LATENT_VERBS):
        raise ModelError(f"{entry.name} has no latent space to blend in")
    return generator


def describe_model(entry: ModelEntry) -> dict[str, Any]:
    """A latent model's span and attribute sliders, from its folder's files (no torch).

    Returns:
        ``span_beats`` (beats per span, a quarter note = 1 beat), ``bars`` (model bars
        of 4 beats per span) and ``attributes``: per attribute vector its ``name``,
        ``label``, ``unit``, the slider's ``min``, ``max``, ``step`` (in attribute
        vectors) and ``low``/``high``, the attribute's mean (in ``unit``) in the low
        and high quarters of the training spans, which ``amount = 1`` spans.

    Raises:
        ModelError: for a config or attribute file that cannot be read.
    """
    from seqart.models.folder import ATTRIBUTES, read_config, read_json

    config = read_config(entry.folder)["config"]
    span_beats = config["bars"] * config["bar_steps"] / config["steps_per_beat"]
    path = entry.folder / ATTRIBUTES
    stored = read_json(path, "attribute vectors").get("attributes", {}) if path.is_file() else {}
    if not isinstance(stored, dict):
        raise ModelError(f"{path}: unreadable attribute vectors (no 'attributes' table)")
    attributes = []
    for name, about in stored.items():
        label, unit = ATTRIBUTE_LABELS.get(name, (name, ""))
        offset = config.get("min_pitch", 0) if name == "register" else 0  # measured from the lowest pitch class
        attributes.append({"name": name, "label": label, "unit": unit, "min": -MAX_SHIFT, "max": MAX_SHIFT,
                           "step": SHIFT_STEP, "low": _mean(about, "low_mean", offset),
                           "high": _mean(about, "high_mean", offset)})
    return {"span_beats": span_beats, "bars": config["bars"], "attributes": attributes}


def _mean(about: Any, key: str, offset: float = 0) -> float | None:
    value = about.get(key) if isinstance(about, dict) else None
    return round(float(value) + offset, 3) if isinstance(value, (int, float)) and math.isfinite(value) else None


def readable(take: Take) -> Score:
    """The take's score, if it has notes to read.

    Raises:
        LatentRequestError: for a silent take (a shift can move a melody into silence).
    """
    if not take.score.num_notes:
        raise LatentRequestError(f"that take ({take.model_name}, take {take.index} of {take.num}) has no notes "
                                 "to read; choose another")
    return take.score


def silence_notice(scores: list[Score]) -> str | None:
    """A warning when some results came out without notes (a code moved far from any
    melody the model knows decodes to rests); else None."""
    silent = sum(not score.num_notes for score in scores)
    if not silent:
        return None
    which = "the take" if len(scores) == 1 else f"{silent} of the {len(scores)} takes"
    return f"{which} came out silent: the model moved it past any melody it knows; try a smaller amount"


def join_notices(*notices: str | None) -> str | None:
    """The notices given, as one line (None: none)."""
    return "; ".join(n for n in notices if n) or None


def reading_notice(vae, scores: list[Score]) -> str | None:
    """How the model read ``scores`` when it is not plainly (see the module docstring):
    span by span, the top voice only, a meter it did not learn; None when plainly."""
    span_beats = vae.span_steps / vae.config.steps_per_beat
    parts = []
    if any(len(vae.spans_of(score)[0]) > 1 for score in scores):
        parts.append(f"read in spans of {span_beats:g} beats ({vae.bars} bars of 4/4), each moved on its own "
                     "and joined again")
    if any(several_voices(score) for score in scores):
        parts.append("only the top voice was read")
    model_bar = vae.config.bar_steps / vae.config.steps_per_beat
    odd = sorted({str(s.time_signature) for s in scores if not _duple(s.time_signature.bar_beats, model_bar)})
    if odd:
        parts.append(f"the model learned duple meters (4/4, 2/4), so a take in {' or '.join(odd)} "
                     "may come back less like itself")
    return "; ".join(parts) or None


def _duple(bar_beats: float, model_bar_beats: float) -> bool:
    """True when bars of ``bar_beats`` divide into model bars, or model bars into them."""
    ratio = bar_beats / model_bar_beats
    return ratio > 0 and (float(ratio).is_integer() or float(1 / ratio).is_integer())


def several_voices(score: Score) -> bool:
    """True when notes of ``score`` sound at once (a chord, or two lines)."""
    sounding_until = -math.inf
    for note in score.notes:
        if note.start < sounding_until - 1e-6:
            return True
        sounding_until = max(sounding_until, note.start + note.duration)
    return False


# ------------------------------------------------------------------ request fields
def check_fields(body: dict, allowed: tuple[str, ...], what: str,
                 error: type[SeqartError] = LatentRequestError) -> None:
    """Refuse a field ``allowed`` does not name.

    Raises:
        error: naming the first unknown field and the ones ``what`` has.
    """
    unknown = sorted(str(k) for k in set(body) - set(allowed))
    if unknown:
        raise error(f"unknown field {unknown[0][:40]!r}; {what} has {', '.join(allowed)}")


def number(body: dict, name: str, low: float, high: float, default: float | None) -> float:
    """``body[name]``: a number within ``low``-``high`` (None or absent: ``default``).

    Raises:
        LatentRequestError: for another type, a non-finite number, one out of bounds, or
            a missing one without a default.
    """
    value = body.get(name)
    if value is None:
        if default is None:
            raise LatentRequestError(f"{name} is missing: a number within {low:g} to {high:g}")
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LatentRequestError(f"{name} must be a number, got {type(value).__name__} {str(value)[:40]!r}")
    if not low <= value <= high:
        raise LatentRequestError(f"{name} must be within {low:g} to {high:g}, got {value:g}")
    return float(value)


def whole_number(body: dict, name: str, low: int, high: int, default: int | None,
                 error: type[SeqartError] = LatentRequestError) -> int | None:
    """``body[name]``: a whole number within ``low``-``high`` (None or absent: ``default``,
    which may itself be None).

    Raises:
        error: for another type, a fraction, or one out of bounds.
    """
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value):
        raise error(f"{name} must be a whole number, got {type(value).__name__} {str(value)[:40]!r}")
    if not low <= value <= high:
        raise error(f"{name} must be within {low}-{high}, got {int(value)}")
    return int(value)
