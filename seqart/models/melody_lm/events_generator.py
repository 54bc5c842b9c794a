"""Sampling a token language model (LSTM or transformer) trained on multi-track event
tokens: the NumPy forward pass of its family and :class:`seqart.generate.events.EventsSampler`."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from seqart.errors import ModelError, ScoreError
from seqart.generate.protocol import PrimerLike, draw_seed, read_primer, refuse_options
from seqart.models.folder import (
    PROGRAMS,
    read_evaluation,
    read_json,
)
from seqart.score import Score

#: sampling defaults of an event-token model (what None means)
DEFAULT_BARS = 8
DEFAULT_TEMPERATURE = 1.0


def save_programs(folder: str | Path, sequences, tokenizer) -> None:
    """Write ``programs.json``: the program codes of the training split (0-127, 128 =
    drums), the instruments a sample may use unless a primer brings others."""
    from seqart.generate.events import programs_of
    from seqart.utils.atomic import write_json_atomic

    write_json_atomic(Path(folder) / PROGRAMS, {"programs": list(programs_of(list(sequences), tokenizer))})


def read_programs(folder: Path) -> tuple[int, ...] | None:
    """The programs ``programs.json`` lists, or None when the folder has none (any program).

    Raises:
        ModelError: for a file that is not a list of program codes.
    """
    path = folder / PROGRAMS
    if not path.is_file():
        return None
    data = read_json(path, "programs file")
    programs = data.get("programs") if isinstance(data, dict) else None
    if not isinstance(programs, list) or not programs or not all(
            isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 128 for p in programs):
        raise ModelError(f"{path}: 'programs' must be a non-empty list of program codes 0-128")
    return tuple(programs)


class EventsGenerator:
    """A trained event-token language model ready to sample (NumPy, no torch).

    Args:
        folder: a model folder, run folder or shipped name whose tokenizer is ``events``.
        numpy_lm: the family's NumPy forward pass, ``(weights, config) -> lm``
            (``MelodyGenerator.numpy_lm`` of the LSTM or the transformer).
        device: accepted for the protocol's sake; sampling runs in NumPy on the CPU.

    Attributes:
        folder, model_type, evaluation, last_seed, sampling_defaults: as every generator
            (:mod:`seqart.generate.protocol`).
        programs: the program codes a sample may use (None: any).
    """

    def __init__(self, folder: str | Path, numpy_lm: Callable, device: str | None = None):
        from seqart.generate.events import EventsSampler
        from seqart.models.melody_lm.sampler import load_numpy_lm

        self.folder, meta, self.tokenizer, self.lm = load_numpy_lm(folder, numpy_lm, "events")
        self.model_type = meta["model"]
        self.programs = read_programs(self.folder)
        self._sampler = EventsSampler(self.lm, self.tokenizer, self.programs)
        self.evaluation = read_evaluation(self.folder)
        self.last_seed: int | None = None
        self.last_primer_note: str | None = None
        self.sampling_defaults: dict = {"bars": DEFAULT_BARS, "temperature": DEFAULT_TEMPERATURE}

    def sample(self, num: int = 1, *, seed: int | None = None, bars: int | None = None,
               temperature: float | None = None, pitch_temperature: float | None = None,
               top_k: int | None = None, top_p: float | None = None,
               key=None, scale: str | None = None, pitch_range=None, time_signature=None,
               tempo: float | None = None, primer: PrimerLike | None = None, steps: int | None = None,
               ending: str | None = None, style: str | None = None, form: str | None = None,
               track: int | None = None, ranges=None, pickup: bool | None = None) -> list[Score]:
        """Generate ``num`` multi-track pieces of ``bars`` bars (after ``primer``'s, if given).

        Args:
            num: how many pieces (one batch).
            seed: same seed and options -> identical output; None draws one (``last_seed``).
            bars: bars to generate (default 8).
            temperature, top_k, top_p: as for melodies.
            key, scale: every pitched instrument keeps to the key's scale (``"D minor"``);
                drums never do.
            pitch_range: ``"36-84"`` or (low, high) MIDI, inclusive, for every pitched instrument.
            time_signature: ``"3/4"`` or (3, 4): the meter of a piece without a primer.
            tempo: output tempo in bpm.
            primer: a Score or a music file to continue: every track goes on, instruments
                and drums kept, its notes unchanged.
            ranges: program -> ``"36-60"`` or (low, high): one instrument's range, over ``pitch_range``.

        Returns:
            ``num`` :class:`Score` objects (notes in beats).

        Raises:
            ScoreError: for invalid options, or options that do not apply (``steps``,
                ``ending``, ``style``, ``form``, ``track``, ``pickup``, ``pitch_temperature``).
        """
        refuse_options(f"{self.model_type} (event tokens)",
                       {"steps": steps, "ending": ending, "style": style, "form": form, "track": track,
                        "pickup": pickup, "pitch_temperature": pitch_temperature},
                       "it continues every track of a multi-track piece, bar by bar")
        if primer is not None:
            primer = read_primer(primer)
        options, rng = self._seeded(seed, temperature, bars=DEFAULT_BARS if bars is None else bars, top_k=top_k,
                                    top_p=top_p, key=key, scale=scale, pitch_range=pitch_range,
                                    time_signature=time_signature, tempo=tempo)
        from seqart.utils.threads import one_blas_thread

        with one_blas_thread():
            return self._sampler.sample(num, options, rng, primer=primer, ranges=ranges)

    def accompany(self, given: PrimerLike, num: int = 1, *, seed: int | None = None,
                  temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
                  key=None, scale: str | None = None, pitch_range=None, tracks=None,
                  as_programs=None, ranges=None, below: bool = True, parallels: bool = True) -> list[Score]:
        """Keep ``given``'s tracks note for note and write the model's other instruments
        (chords for a melody, alto, tenor and bass for a soprano) for its whole length.

        Args:
            given: a Score or a music file.
            num: how many accompaniments (one batch).
            seed, temperature, top_k, top_p: as for :meth:`sample`.
            key, scale, pitch_range: hold the written instruments (not the given tracks)
                to a key's scale and a range.
            tracks: the given piece's tracks to keep, numbered from 1 (None: every track
                with notes); the others are dropped.
            as_programs: the model program each kept track is read as (default: the
                model's lowest programs in order, :func:`seqart.generate.events_parts.given_programs`).
            ranges: program -> ``"36-60"`` or (low, high): one written instrument's range.
            below: keep every written note at or below the given notes sounding where it
                starts (parts under the melody; no voice above the soprano). False: free.
            parallels: False forbids written notes moving in parallel fifths or octaves
                with another voice (four-part writing); True (default) leaves it to the model.

        Returns:
            ``num`` scores (beats): the kept tracks unchanged, then one track per written instrument.

        Raises:
            ScoreError: a model trained in time order, a piece without notes, bad options.
        """
        from seqart.generate.events_parts import PartWriter
        from seqart.utils.threads import one_blas_thread

        accompanist = PartWriter(self.lm, self.tokenizer, self.programs)
        piece = _kept_tracks(given if isinstance(given, Score) else read_primer(given), tracks)
        options, rng = self._seeded(seed, temperature, top_k=top_k, top_p=top_p, key=key, scale=scale,
                                    pitch_range=pitch_range)
        with one_blas_thread():
            return accompanist.accompany(piece, num, options, rng, as_programs=as_programs, ranges=ranges,
                                         below=below, parallels=parallels)

    def infill(self, piece: PrimerLike, bars, num: int = 1, *, track: int | None = None, candidates: int = 8,
               seed: int | None = None, temperature: float | None = None, top_k: int | None = None,
               top_p: float | None = None, key=None, scale: str | None = None, pitch_range=None,
               ranges=None) -> list[Score]:
        """Write bars of ``piece`` again, of one track or of all, everything else unchanged.

        Args:
            piece: a Score or a music file.
            bars: ``"5-8"``, ``"5"`` or ``(5, 8)``: the bars to write, from 1, inclusive.
            num: how many versions.
            track: the track to write, from 1 (None: every track, and any instrument of the model).
            candidates: spans written per version; one is drawn in proportion to how
                likely the model finds the rest of the piece after it (more: a closer fit
                to what follows, and that many times the work).
            seed, temperature, top_k, top_p, key, scale, pitch_range, ranges: as for :meth:`accompany`.

        Returns:
            ``num`` scores (beats): ``piece`` with the span's notes of the written track(s) replaced.

        Raises:
            ScoreError: a model trained in time order, a span or track outside the piece, bad options.
        """
        from seqart.generate.events_parts import PartWriter
        from seqart.utils.threads import one_blas_thread

        writer = PartWriter(self.lm, self.tokenizer, self.programs)
        first, last = parse_bar_span(bars)
        score = piece if isinstance(piece, Score) else read_primer(piece)
        options, rng = self._seeded(seed, temperature, top_k=top_k, top_p=top_p, key=key, scale=scale,
                                    pitch_range=pitch_range)
        with one_blas_thread():
            return writer.infill(score, first, last, track, num, options, rng, candidates=candidates, ranges=ranges)

    def _seeded(self, seed: int | None, temperature: float | None, **choices):
        """The sampling options (``choices`` as :meth:`SamplingOptions.parse` takes them, the
        model's default temperature for None) and a generator seeded with ``seed`` (or a
        drawn seed, kept in ``last_seed``)."""
        from seqart.generate.melody import SamplingOptions

        options = SamplingOptions.parse(temperature=DEFAULT_TEMPERATURE if temperature is None else temperature,
                                        ending="free", **choices)
        self.last_seed = draw_seed(seed)
        return options, np.random.default_rng(self.last_seed)

    def continue_score(self, score: PrimerLike, bars: int = 8, num: int = 1, **options) -> list[Score]:
        """Continue every track of ``score`` by ``bars`` bars; same options as :meth:`sample`."""
        if "primer" in options:
            raise ScoreError("continue_score takes the score to continue as its first argument, not primer=")
        return self.sample(num=num, bars=bars, primer=score, **options)


def parse_bar_span(bars) -> tuple[int, int]:
    """``"5-8"``, ``"5"``, ``5`` or ``(5, 8)`` -> ``(5, 8)``: first and last bar, from 1.

    Raises:
        ScoreError: for anything else, or a span that ends before it starts.
    """
    try:
        if isinstance(bars, str):
            parts = [int(x) for x in bars.replace(" ", "").split("-")]
        elif isinstance(bars, (int, np.integer)) and not isinstance(bars, bool):
            parts = [int(bars)]
        else:
            parts = [int(x) for x in bars]
    except (TypeError, ValueError):
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or not 1 <= parts[0] <= parts[1]:
        raise ScoreError(f"bars must be FIRST-LAST from 1 (e.g. 5-8) or one bar number, got {bars!r}")
    return parts[0], parts[1]


def _kept_tracks(score: Score, tracks) -> Score:
    """``score`` with only the tracks numbered (from 1) in ``tracks`` (None: all)."""
    if tracks is None:
        return score
    numbers = [tracks] if isinstance(tracks, int) else list(tracks)
    count = len(score.tracks)
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= count:
            raise ScoreError(f"track {number!r} is not one of the piece's tracks (1-{count})")
    kept = score.copy()
    kept.tracks = [kept.tracks[n - 1] for n in sorted(set(numbers))]
    return kept
