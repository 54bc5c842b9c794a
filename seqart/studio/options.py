"""The form fields a model's generator takes, and a request's options checked against them.

The fields are derived from the generator itself: its ``sampling_defaults`` give the
defaults, and its kind (what :mod:`seqart.generate.protocol` says it is) which
options apply. A melody model takes bars, temperature, key, scale, meter, tempo,
style, form and seed; a frame (piano-roll) model bars, temperature, tempo and seed;
a latent (VAE) model temperature and seed; an image model (:mod:`.pictures`) seed
only. ``num`` (takes per request, or pictures in a grid) goes with every model.

Checking here is about JSON types and the page's bounds only (a number where a
number belongs, bars at most :data:`MAX_BARS`); what a value means (is "H minor" a
key?) is checked by the generator, whose one-line :class:`~seqart.errors.SeqartError`
the API passes on.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from seqart.errors import SeqartError

#: takes per request, at most (one card each)
MAX_NUM = 8
#: pictures per grid: at most, and by default
MAX_PICTURES, DEFAULT_PICTURES = 16, 8
#: bars per take, at most (the page draws every bar; 128 is a long tune)
MAX_BARS = 128
#: the largest seed the page offers (a JavaScript number holds whole numbers exactly up to here)
MAX_SEED = 2**53 - 1
#: longest text a text option takes, in characters
MAX_TEXT = 64
#: meters the page offers besides those the model's training tunes were in
COMMON_METERS = ("2/4", "3/4", "4/4", "6/8", "9/8", "12/8")


class OptionError(SeqartError):
    """A request's options do not fit the model's form fields."""


@dataclass(frozen=True)
class Field:
    """One form field.

    Attributes:
        name: the generator's ``sample`` option (``"bars"``), or ``"num"``.
        kind: ``"int"``, ``"float"``, ``"text"``, ``"choice"`` or ``"key"`` (a tonic and a mode,
            sent as one text, ``"D minor"``).
        label: what the page shows.
        default: the model's own default (None: the model draws it, e.g. a key).
        minimum, maximum: bounds of a number, inclusive (None: unbounded).
        choices: values offered for a choice (``""``: left to the model); for a key the
            tonics, with :attr:`modes` beside them.
        modes: the modes a key field offers.
        step: the page's increment for a number.
        help: one line the page shows under the field.
    """

    name: str
    kind: str
    label: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    step: float | None = None
    help: str = ""

    def to_json(self) -> dict:
        data = asdict(self)
        data["choices"], data["modes"] = list(self.choices), list(self.modes)
        return data


@dataclass
class ModelOptions:
    """A model's fields, in the order the page shows them, and how it continues a primer.

    Attributes:
        fields: the form fields.
        continues: ``"line"``: it continues one line of a primer, a track of it may be
            chosen (a melody model); ``"all"``: every track (a frame model); None: it
            continues nothing (a latent model, an image model).
    """

    fields: list[Field] = field(default_factory=list)
    continues: str | None = None

    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def to_json(self) -> list[dict]:
        return [f.to_json() for f in self.fields]


def options_of(generator) -> ModelOptions:
    """The form fields of a loaded generator (see the module docstring)."""
    from seqart.generate.protocol import LatentGenerator, MusicGenerator
    from seqart.models.registry import model_type

    defaults = dict(getattr(generator, "sampling_defaults", {}) or {})
    if model_type(generator.model_type).outputs == "images":
        return options_for("images", defaults)
    if isinstance(generator, LatentGenerator):
        return options_for("latent", defaults)
    if isinstance(generator, MusicGenerator) and _is_melody(generator):
        return options_for("melody", defaults, generator.tokenizer, generator.folder)
    return options_for("frames", defaults)


def options_for(kind: str, defaults: dict, tokenizer=None, folder=None) -> ModelOptions:
    """The form fields of a generator of ``kind``, without the generator itself (so a
    model folder's fields can be listed before its weights are loaded).

    Args:
        kind: ``"latent"`` (a VAE), ``"melody"`` (a melody model), ``"frames"`` (a piano-roll
            model) or ``"images"`` (an image model: its ``num`` is the pictures in a grid).
        defaults: its ``sampling_defaults`` (what an option left at None means).
        tokenizer, folder: a melody model's tokenizer and model folder (its ``keys.json``
            gives the styles and meters offered); unused for the other kinds.
    """
    continues = None
    if kind == "images":
        seed = _seed("same seed and number, same pictures; empty: a new one each time")
        return ModelOptions([seed, Field("num", "int", "Pictures", DEFAULT_PICTURES, 1, MAX_PICTURES, step=1,
                                            help=f"how many pictures in the grid (1-{MAX_PICTURES})")])
    if kind == "latent":
        fields = [_temperature(defaults, minimum=0.0)]
    elif kind == "melody":
        fields, continues = _melody_fields(tokenizer, folder, defaults), "line"
    else:
        fields, continues = [_bars(defaults), _temperature(defaults), _tempo()], "all"
    return ModelOptions([*fields, _seed(), Field("num", "int", "Takes", 2, 1, MAX_NUM, step=1,
                                                 help=f"how many takes at once (1-{MAX_NUM})")], continues)


def check_options(options: ModelOptions, raw: Any, model_name: str) -> dict[str, Any]:
    """The options of a request, checked against ``options``' fields.

    Args:
        options: the model's fields.
        raw: the request's ``options`` (a JSON object; None: all defaults). ``None`` or
            ``""`` leaves an option to the model.
        model_name: named in messages.

    Returns:
        option name -> value, for the options given (``num`` is not among them: the
        request carries it beside the options).

    Raises:
        OptionError: one line naming the option, for an unknown option, a wrong type or
            a number out of bounds.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise OptionError("options must be a JSON object of option names and values")
    by_name = {f.name: f for f in options.fields if f.name != "num"}
    checked = {}
    for name, value in raw.items():
        spec = by_name.get(name)
        if spec is None:
            raise OptionError(f"{model_name} takes no option {str(name)[:40]!r}; it takes {', '.join(by_name)}")
        if value is None or value == "":
            continue
        checked[name] = _check_value(spec, value)
    return checked


def split_primer(options: ModelOptions, raw: Any, model_name: str) -> tuple[Any, Any, int | None]:
    """A request's options without ``primer`` and ``track``, and those two checked.

    Args:
        options: the model's fields (and how it continues a primer).
        raw: the request's options (anything: :func:`check_options` checks the rest).
        model_name: named in messages.

    Returns:
        ``(rest, primer, track)``: the other options, the primer's id as sent (None: no
        primer; the session looks it up), and the track to continue, numbered from 1
        (None: the top voice of all pitched tracks).

    Raises:
        OptionError: for a primer to a model that continues none, a track that is not a
            whole number from 1, or a track without a primer or to a model that continues
            every track.
    """
    if not isinstance(raw, dict):
        return raw, None, None
    rest = dict(raw)
    primer, track = rest.pop("primer", None), rest.pop("track", None)
    primer = None if primer == "" else primer
    track = None if track == "" else track
    if primer is not None and options.continues is None:
        raise OptionError(f"{model_name} cannot continue an idea (it draws whole pieces from its latent space); "
                          "choose a melody or piano-roll model")
    if track is None:
        return rest, primer, None
    if isinstance(track, bool) or not isinstance(track, (int, float)) or track != int(track) or track < 1:
        raise OptionError(f"track must be a whole number from 1 (tracks are numbered from 1), got {_shown(track)}")
    track = int(track)
    if primer is None:
        raise OptionError("track chooses a line of the primer: give a primer too")
    if options.continues != "line":
        raise OptionError(f"{model_name} continues every track of a primer; leave track out")
    return rest, primer, track


def check_num(value: Any) -> int:
    """Takes per request: a whole number in 1-:data:`MAX_NUM` (None: 1)."""
    if value is None:
        return 1
    return int(_check_value(Field("num", "int", "Takes", minimum=1, maximum=MAX_NUM), value))


def _check_value(spec: Field, value: Any) -> Any:
    if spec.kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise OptionError(f"{spec.name} must be a number, got {_shown(value)}")
        if spec.kind == "int":
            if value != int(value):
                raise OptionError(f"{spec.name} must be a whole number, got {value}")
            value = int(value)
        if (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum):
            raise OptionError(f"{spec.name} must be within {_number(spec.minimum)}-{_number(spec.maximum)}, "
                              f"got {value}")
        return value
    if not isinstance(value, str):
        raise OptionError(f"{spec.name} must be text, got {_shown(value)}")
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise OptionError(f"{spec.name} is too long ({len(text)} characters; at most {MAX_TEXT})")
    return text


def _shown(value: Any) -> str:
    return f"{type(value).__name__} {str(value)[:40]!r}"


def _number(value: float | None) -> str:
    return "any" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


# ------------------------------------------------------------------ fields
def _is_melody(generator) -> bool:
    from seqart.models.registry import model_type

    return model_type(generator.model_type).representation == "melody"


def _melody_fields(tokenizer, folder, defaults: dict) -> list[Field]:
    from seqart.generate.constraints import SCALES
    from seqart.models.melody_lm.keys import read_openings
    from seqart.score import MODE_STEPS, PITCH_CLASS_NAMES

    openings = read_openings(folder, tokenizer)
    layout = getattr(tokenizer, "layout", 1)
    meters = [f"{n}/{d}" for n, d in (openings.meters if openings is not None else [])]
    fields = []
    if layout >= 2:
        fields.append(Field("style", "choice", "Style", None, choices=("", *_styles(openings)),
                            help="tune type; empty: drawn as the training tunes' styles are"))
    fields += [
        Field("key", "key", "Key", None, choices=("", *PITCH_CLASS_NAMES), modes=tuple(MODE_STEPS),
              help="empty: drawn as the training tunes' keys are; a key given always binds"),
        Field("scale", "choice", "Scale", None, choices=("", *SCALES),
              help="only notes of this scale on the key's tonic (empty: the key's own notes)"),
        Field("time_signature", "choice", "Meter", None, choices=("", *dict.fromkeys([*meters, *COMMON_METERS])),
              help="empty: the style's usual meter, else 4/4"),
        _tempo(),
        _bars(defaults),
    ]
    if layout >= 2:
        fields.append(Field("form", "text", "Form", None,
                            help=f"section letters A-E, one per {tokenizer.config.section_bars} bars, e.g. AABB"))
    fields.append(_temperature(defaults))
    if "pitch_temperature" in defaults:  # a melody model over melody tokens
        fields.append(Field("pitch_temperature", "float", "Pitch temperature", defaults["pitch_temperature"], 0.05,
                            5.0, step=0.05, help="which note sounds, once one starts; empty: the temperature"))
    return fields


def _styles(openings) -> list[str]:
    """The styles the model's training tunes had, most common first (else every style token)."""
    from seqart.tokenizers.melody import STYLES

    if openings is None:
        return list(STYLES)
    counts: dict[str, float] = {}
    for style, count in zip(openings.styles, openings.counts):
        if style in STYLES:
            counts[style] = counts.get(style, 0.0) + float(count)
    return sorted(counts, key=lambda s: -counts[s]) or list(STYLES)


def _bars(defaults: dict) -> Field:
    return Field("bars", "int", "Bars", defaults.get("bars"), 1, MAX_BARS, step=1, help=f"1-{MAX_BARS}")


def _temperature(defaults: dict, minimum: float = 0.05) -> Field:
    return Field("temperature", "float", "Temperature", defaults.get("temperature"), minimum, 5.0, step=0.05,
                 help="lower is safer, higher is wilder")


def _tempo() -> Field:
    return Field("tempo", "float", "Tempo (bpm)", None, 20, 400, step=1, help="empty: 120")


def _seed(help: str = "same seed and settings, same takes; empty: a new one each time") -> Field:
    return Field("seed", "int", "Seed", None, 0, MAX_SEED, step=1, help=help)
