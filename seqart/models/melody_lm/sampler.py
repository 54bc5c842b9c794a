"""Sampling a melody language model: NumPy forward pass, melody grammar, hard constraints."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from seqart.errors import ModelError, ScoreError
from seqart.generate.protocol import PrimerLike, draw_seed, read_primer, refuse_options, settings_used
from seqart.models.folder import SAMPLING, read_config, read_evaluation, read_weights_numpy, resolve_model
from seqart.score import KeySignature, Score

#: sampling defaults of a melody model (what None means)
DEFAULT_BARS = 16
DEFAULT_TEMPERATURE = 1.0


def load_numpy_lm(folder: str | Path, numpy_lm, tokens: str, model_type: str | None = None):
    """A token language model's folder read for NumPy sampling.

    Args:
        folder: a model folder, run folder or shipped name.
        numpy_lm: the family's NumPy forward pass, ``(weights, config) -> lm``.
        tokens: the tokenizer the folder must hold (``"melody"``, ``"events"``).
        model_type: the registry name the folder must name (None: any).

    Returns:
        ``(folder, config.json as read, tokenizer, lm)``.

    Raises:
        ModelError: one line, for another model type or tokenizer, a vocabulary that
            differs from the config's, or weights that do not fit.
    """
    from dataclasses import asdict

    from seqart.models.folder import load_tokenizer_of, model_config

    path = resolve_model(folder)
    meta = read_config(path)
    if model_type is not None and meta["model"] != model_type:
        raise ModelError(f"{folder}: a {meta['model']} model is not a {model_type} model")
    config = asdict(model_config(path, meta))  # refuse absurd sizes before allocating
    tokenizer = load_tokenizer_of(path)
    if tokenizer.name != tokens:
        if tokenizer.name == "events":
            raise ModelError(f"{folder}: a model of multi-track event tokens, not melodies: load it with "
                             "seqart.load")
        if tokens == "events":
            raise ModelError(f"{folder}: its tokenizer is {tokenizer.name!r}, not 'events'")
    if config.get("vocab_size") != tokenizer.vocab_size:
        raise ModelError(f"{folder}: config vocab_size {config.get('vocab_size')} does not match "
                         f"tokenizer.json ({tokenizer.vocab_size})")
    try:
        lm = numpy_lm(read_weights_numpy(path), config)
    except (KeyError, ValueError) as exc:
        raise ModelError(f"{folder}: weights do not match the config ({exc})") from None
    return path, meta, tokenizer, lm


class MelodyGenerator:
    """A trained melody language model ready to sample (no torch: a NumPy forward pass).

    Subclasses for other melody language models (the transformer) name their
    ``model_type`` and build their NumPy forward pass in :meth:`numpy_lm`.

    Args:
        folder: a model folder (``config.json`` + ``model.safetensors`` + ``tokenizer.json``),
            a run folder or a shipped name.
        device: accepted for the protocol's sake; sampling runs in NumPy on the CPU.

    Attributes:
        folder: where the model lives.
        model_type: its registry name (``"melody-lstm"``).
        evaluation: its held-out figures (``eval.json``), if recorded.
        last_seed: the seed of the last call.
        last_primer_note: what the last call kept of a primer with several tracks or
            chords ("continuing the top voice of 3 tracks ..."), or None.
    """

    #: the registry name of the models this class samples
    MODEL_TYPE = "melody-lstm"

    @staticmethod
    def numpy_lm(weights: dict, config: dict):
        """The NumPy forward pass over ``weights`` (raises KeyError/ValueError when they do not fit)."""
        from seqart.models.melody_lm.numpy_lstm import NumpyRNNLM

        return NumpyRNNLM(weights, config)

    def __init__(self, folder: str | Path, device: str | None = None):
        from seqart.generate.melody import MelodySampler

        self.folder, meta, self.tokenizer, self.lm = load_numpy_lm(folder, self.numpy_lm, "melody", self.MODEL_TYPE)
        self.model_type = meta["model"]
        from seqart.models.melody_lm.keys import read_openings

        self._sampler = MelodySampler(self.lm, self.tokenizer, read_openings(self.folder, self.tokenizer))
        self.evaluation = read_evaluation(self.folder)
        self.last_seed: int | None = None
        #: what the last call kept of a primer with several tracks or chords (None: all of it)
        self.last_primer_note: str | None = None
        #: what an option left at None means for this model (``pitch_temperature``: when
        #: ``temperature`` is left at None too, see :meth:`sample`)
        self.sampling_defaults: dict = {"bars": DEFAULT_BARS, **sampling_temperatures(meta, self.folder)}

    def sample(self, num: int = 1, *, seed: int | None = None, bars: int | None = None,
               temperature: float | None = None, pitch_temperature: float | None = None,
               top_k: int | None = None, top_p: float | None = None,
               key: str | KeySignature | None = None, scale: str | None = None,
               pitch_range: str | tuple[int, int] | None = None,
               time_signature: str | tuple[int, int] | None = None, tempo: float | None = None,
               primer: PrimerLike | None = None, steps: int | None = None,
               ending: str | None = None, style: str | None = None, form: str | None = None,
               track: int | None = None, pickup: bool | None = None) -> list[Score]:
        """Generate ``num`` melodies of ``bars`` bars (after ``primer``, if given).

        Args:
            num: how many melodies (sampled as one batch).
            seed: same seed and options -> identical output; None draws one
                (kept in ``self.last_seed``).
            bars: bars to generate (default 16).
            temperature: > 0 (default: the model's, 1.0 unless its ``config.json`` says
                otherwise); 0.8-1.0 gives idiomatic lines. It tempers the rhythm (whether a
                note starts, rests or holds), and the pitches unless ``pitch_temperature``
                is given.
            pitch_temperature: > 0, the temperature of which note sounds once one starts
                (default: ``temperature``; with neither given, the model's own).
            top_k: sample among the k most likely step tokens only.
            top_p: nucleus sampling threshold in (0, 1].
            key: ``"D minor"``, ``"Bb"``, a KeySignature; the melody stays in it.
            scale: ``major``, ``dorian``, ``pentatonic``, ... on the key's tonic.
            pitch_range: ``"55-84"``, ``"G3-C6"`` or (low, high) MIDI, inclusive.
            time_signature: ``"6/8"`` or (6, 8).
            tempo: output tempo in bpm.
            primer: a Score or a MIDI/MusicXML/ABC path to continue; each result
                begins with its notes unchanged.
            steps: frames, for frame models only; a melody model refuses it (it takes ``bars``).
            ending: ``"tonic"`` (default): the last two bars close on the tonic, on a strong
                beat, held to the end of the bar; ``"free"``: stop after ``bars`` bars as drawn.
            style: ``reel``, ``jig``, ``hornpipe``, ... (models with style tokens); None: drawn
                as the training melodies' styles are.
            form: section letters, one per section of the model's ``section_bars`` bars
                (``"AABB"``); ``bars`` then defaults to the form's length.
            track: the primer's track to continue, numbered from 1 (None: the top voice of
                all its pitched tracks). What was kept of a primer with several tracks or
                chords is said in ``self.last_primer_note``.
            pickup: True: a melody may open with a pickup (an anacrusis of at most half a
                bar, where the model writes one, as most folk tunes do) before its ``bars``
                full bars; the score pads it to a first bar. None/False: it opens on the
                downbeat of bar 1. Needs a model with pickup tokens and no primer.

        Returns:
            a list of ``num`` :class:`Score` objects (notes in beats).

        Raises:
            ScoreError: for invalid options (one-line message).
        """
        from seqart.generate.melody import SamplingOptions

        refuse_options(self.model_type, {"steps": steps}, "it generates bars, not frames")
        self.last_primer_note = None
        line_track = None
        if primer is not None:
            from seqart.generate.primer import primer_line

            primer = read_primer(primer)
            _, self.last_primer_note = primer_line(primer, track)
            line_track = None if track is None else track - 1
        elif track is not None:
            raise ScoreError("track chooses a line of the primer: give a primer too")
        if pickup and primer is not None:
            raise ScoreError("pickup opens a melody of its own; a primer brings its own opening")
        if pickup and self.tokenizer.pickup_id is None:
            raise ScoreError("this model has no pickup tokens (it was trained before they existed); leave out pickup")
        if bars is None:
            bars = len(form.strip()) * self.tokenizer.config.section_bars if form and form.strip() else DEFAULT_BARS
        options = SamplingOptions.parse(
            bars=bars,
            **self._temperatures(temperature, pitch_temperature), top_k=top_k, top_p=top_p, key=key, scale=scale,
            pitch_range=pitch_range,
            time_signature=time_signature, tempo=tempo, ending=ending or "tonic", style=style, form=form,
            pickup=bool(pickup))
        from seqart.utils.threads import one_blas_thread

        self.last_seed = draw_seed(seed)
        rng = np.random.default_rng(self.last_seed)
        with one_blas_thread():  # batch-1 steps must not wait for a second, busy core
            return self._sampler.sample(num, options, rng, primer=primer, track=line_track)

    def _temperatures(self, temperature: float | None, pitch_temperature: float | None) -> dict:
        """``temperature`` and ``pitch_temperature`` with None filled in as
        :func:`~seqart.generate.protocol.settings_used` records them."""
        given = {"temperature": temperature, "pitch_temperature": pitch_temperature}
        used = settings_used(self.sampling_defaults, given)
        return {"temperature": used["temperature"], "pitch_temperature": used["pitch_temperature"]}

    def continue_score(self, score: PrimerLike, bars: int = 8, num: int = 1, **options) -> list[Score]:
        """Continue ``score`` by ``bars`` bars; same options as :meth:`sample`."""
        return self.sample(num=num, bars=bars, primer=score, **options)


def sampling_temperatures(meta: dict, folder) -> dict:
    """``{"temperature": t, "pitch_temperature": p}``: a model's own defaults from its
    ``config.json`` (:data:`seqart.models.folder.SAMPLING`), else :data:`DEFAULT_TEMPERATURE` for both.

    Raises:
        ModelError: one line, for an entry that is not positive numbers.
    """
    given = meta.get(SAMPLING) or {}
    temperature = given.get("temperature", DEFAULT_TEMPERATURE) if isinstance(given, dict) else None
    pitch = given.get("pitch_temperature", temperature) if isinstance(given, dict) else None
    for value in (temperature, pitch):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            raise ModelError(f"{folder}: config.json's {SAMPLING!r} must hold temperatures above 0, "
                             f"got {meta.get(SAMPLING)!r}")
    return {"temperature": float(temperature), "pitch_temperature": float(pitch)}
