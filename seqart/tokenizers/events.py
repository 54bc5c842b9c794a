"""REMI-style event tokens for polyphonic, multi-track scores.

A score becomes one flat sequence of token ids, bar by bar::

    BOS
    Bar TimeSig_4/4 Position_0 Tempo_120 Program_0 Pitch_60 Velocity_19 Duration_4
                                         Pitch_64 Velocity_19 Duration_4
                    Position_8 Program_drum Pitch_36 Velocity_24 Duration_1
    Bar Position_0 ...
    EOS

Time is counted on a grid of ``steps_per_beat`` steps per beat (a beat is a
quarter note). ``Position_k`` is the onset in steps from the bar line;
``Duration_k`` is a length in steps. Bars follow the score's time signatures
(:meth:`seqart.Score.bar_starts`).

>>> from seqart.tokenizers import get_tokenizer
>>> tok = get_tokenizer("events", steps_per_beat=4)
>>> ids = tok.encode(score)          # int32, shape (T,)
>>> again = tok.decode(ids)          # a Score
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from seqart.errors import TokenizerError
from seqart.score import Note, Score, TempoChange, TimeSignature, Track
from seqart.tokenizers.base import Tokenizer

#: Time-signature denominators the vocabulary offers (numerators follow from ``max_bar_beats``).
TIME_SIGNATURE_DENOMINATORS = (1, 2, 4, 8, 16)
#: Program code used in tokens for percussion (MIDI channel 10).
DRUM_PROGRAM = 128
#: Orders of the notes within a bar (:attr:`EventsConfig.order`).
ORDERS = ("time", "tracks")

def to_steps(beats, steps_per_beat: int) -> np.ndarray:
    """Beats -> nearest grid step, halves rounded up (so a bar of ``n`` steps that
    starts between steps still spans ``n`` steps).

    Args:
        beats: scalar or array of times in beats.
        steps_per_beat: grid resolution.

    Returns:
        ``int64`` array of the same shape, in steps.
    """
    return np.floor(np.asarray(beats, dtype=np.float64) * steps_per_beat + 0.5).astype(np.int64)


__all__ = [
    "DRUM_PROGRAM",
    "ORDERS",
    "TIME_SIGNATURE_DENOMINATORS",
    "EventsConfig",
    "EventsTokenizer",
    "quantize_velocity",
    "tempo_bin_values",
    "to_steps",
    "velocity_bin_table",
]

# Token kinds, one code per vocabulary section (used by the vectorised decoder).
_PAD, _BOS, _EOS, _BAR, _TS, _POS, _TEMPO, _PROG, _PITCH, _VEL, _DUR = range(11)


def velocity_bin_table(bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables for binning MIDI velocities.

    Velocities 1-127 are split into ``bins`` contiguous, nearly equal ranges.

    Args:
        bins: number of bins, 1-127.

    Returns:
        ``(bin_of, centres)``: ``bin_of`` is an ``int64`` array of shape ``(128,)``
        giving the bin of each velocity 0-127 (0 counts as 1); ``centres`` is an
        ``int64`` array of shape ``(bins,)`` with the velocity each bin decodes to
        (its median member, so ``bin_of[centres[i]] == i``).

    Raises:
        TokenizerError: if ``bins`` is outside 1-127.
    """
    if not 1 <= int(bins) <= 127:
        raise TokenizerError(f"velocity_bins must be between 1 and 127, got {bins}")
    bins = int(bins)
    values = np.arange(1, 128)
    members = (values - 1) * bins // 127  # (127,) bin of velocities 1..127
    bin_of = np.concatenate([[0], members]).astype(np.int64)
    centres = np.empty(bins, dtype=np.int64)
    for i in range(bins):
        group = values[members == i]
        centres[i] = group[len(group) // 2]
    return bin_of, centres


def quantize_velocity(velocity: int, bins: int = 32) -> int:
    """The velocity a note keeps after an events-tokenizer round trip.

    Args:
        velocity: MIDI velocity (values outside 1-127 are clipped into it).
        bins: the tokenizer's ``velocity_bins``.

    Returns:
        The centre of ``velocity``'s bin, 1-127. Velocities that are already
        bin centres are returned unchanged.
    """
    bin_of, centres = velocity_bin_table(bins)
    return int(centres[bin_of[min(max(int(round(velocity)), 1), 127)]])


def tempo_bin_values(bins: int, low: float, high: float) -> np.ndarray:
    """The tempos (whole bpm, as ``float64`` of shape ``(bins,)``) the vocabulary offers.

    They are spaced evenly on a log scale from about ``low`` to about ``high``,
    the whole grid shifted by less than half a bin so that 120 bpm (the MIDI
    default) is one of them when it lies in the range, then rounded to whole
    quarter notes per minute.

    Raises:
        TokenizerError: if the range is invalid or too narrow for ``bins`` distinct
            whole-number tempos.
    """
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise TokenizerError(f"tempo range must satisfy 0 < tempo_min < tempo_max, got {low}-{high}")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise TokenizerError(f"tempo_bins must be a whole number >= 1, got {bins!r}")
    if bins == 1:
        values = np.array([120.0 if low <= 120 <= high else low])
    else:
        ratio = math.log(high / low) / (bins - 1)  # natural-log step between bins
        below = round(math.log(120.0 / low) / ratio)
        if low <= 120 <= high:
            values = np.round(120.0 * np.exp(ratio * (np.arange(bins) - below)))
        else:
            values = np.round(np.geomspace(low, high, bins))
    if len(np.unique(values)) != len(values) or values[0] <= 0:
        raise TokenizerError(
            f"{bins} tempo bins do not fit between {low:g} and {high:g} bpm as distinct whole numbers; "
            "use fewer tempo_bins or a wider tempo range"
        )
    return values


@dataclass(frozen=True)
class EventsConfig:
    """Configuration of :class:`EventsTokenizer`.

    Attributes:
        steps_per_beat: grid resolution, steps per beat (quarter note).
        max_bar_beats: longest bar allowed, in beats; there are
            ``max_bar_beats * steps_per_beat`` position tokens.
        velocity_bins: number of velocity tokens (velocities 1-127 are binned).
        max_duration_beats: longest note, in beats; durations are 1 to
            ``max_duration_beats * steps_per_beat`` steps, longer notes are clamped.
        tempo_bins: number of tempo tokens, log-spaced from about ``tempo_min`` to about
            ``tempo_max`` and aligned so that 120 bpm is one (see :func:`tempo_bin_values`).
        tempo_min: slowest tempo token, quarter notes per minute.
        tempo_max: fastest tempo token, quarter notes per minute.
        programs: True to keep instruments apart with ``Program_*`` tokens; False
            merges all pitched tracks into one (program 0) and drops drum tracks.
        order: ``"time"``: within a bar, notes by onset, the instruments of one onset
            together (REMI); ``"tracks"``: within a bar, one section per instrument in
            ascending program (drums last), each opened by its ``Program`` token and
            holding that instrument's notes by onset. With ``"tracks"`` a model reads a
            whole bar of the first instrument before it writes the others' (what
            accompaniment needs); it needs ``programs=True``.
    """

    steps_per_beat: int = 4
    max_bar_beats: int = 8
    velocity_bins: int = 32
    max_duration_beats: int = 8
    tempo_bins: int = 32
    tempo_min: float = 30.0
    tempo_max: float = 300.0
    programs: bool = True
    order: str = "time"


class EventsTokenizer(Tokenizer):
    """Polyphonic multi-track REMI-style tokens (``kind == "tokens"``).

    Token grammar: ``BOS``, then for every bar ``Bar``, ``TimeSig_n/d`` (on the
    first bar and whenever the meter changes), then for every grid position that
    holds an onset or a tempo change ``Position_k`` (steps from the bar line),
    ``Tempo_b`` (when the tempo changes there), then for each note starting there,
    sorted by (track, pitch): ``Program_p`` / ``Program_drum`` (only when it
    differs from the previous note's), ``Pitch_p``, ``Velocity_v`` (bin index),
    ``Duration_k`` (steps); finally ``EOS``. ``PAD``, ``BOS``, ``EOS`` are ids 0, 1, 2.

    ``decode(encode(score))`` equals ``score`` (notes of every track, programs,
    drum flags, tempos, time signatures) when the score is on the grid, its
    velocities are bin centres (:meth:`quantize_velocity`), its tempos are bin
    values (:attr:`tempo_values`), its notes last at most ``max_duration_beats``,
    it has one track per distinct (program, is_drum), drum tracks use program 0,
    its time signatures start at beat 0 and change on bar lines, and consecutive
    tempos / time signatures differ. Everything else is lost as follows:

    - Onsets and offsets off the grid are snapped to the nearest step (halves
      round up); a note shorter than a step lasts one step. Tempo and meter
      changes snap too.
    - Velocities are binned into ``velocity_bins`` bins and come back as the
      bin centre; tempos come back as the nearest of ``tempo_bins`` log-spaced
      values; a tempo change to the same bin value is dropped.
    - Notes longer than ``max_duration_beats`` are clamped to that length.
    - Key signatures (of any mode), track names, the title, the source and the
      style are dropped.
    - Tracks with the same program (and all drum tracks) merge into one; the
      program number of a drum track is dropped (it decodes as 0); empty tracks
      vanish. Tracks come back in the order their first notes appear. With
      ``programs=False`` every pitched track merges into one program-0 track
      and drum tracks are dropped.
    - A score without time signatures decodes with an explicit 4/4; the first
      time signature is taken to start at beat 0 (as ``Score.bar_starts`` does);
      a repeated identical meter is dropped. A bar cut short by a meter change
      inside it is written with the meter of its actual length (a 4/4 bar cut
      after 2 beats becomes a 2/4 bar), so the decoded score gains that time
      signature. If no meter is that long (a cut on a triplet step), the
      shortest longer one is used and the later bar lines and time signatures
      move by that difference (less than a quarter of a beat for denominators up
      to 16). Note times survive either way.
    - A score without tempo changes encodes no ``Tempo`` token and decodes
      with none (120 bpm).

    Encoding raises :class:`~seqart.errors.TokenizerError` for a meter whose bar
    is longer than ``max_bar_beats`` or not a whole number of steps, a negative
    onset and a pitch outside 0-127.

    Decoding is lenient so that model output always gives a score: tokens act on
    a running state (bar, position, program, velocity); ``Duration`` completes
    the most recent unfinished ``Pitch``; a ``Pitch`` never completed is
    dropped; ``PAD`` and ``BOS`` are ignored and ``EOS`` ends the piece.
    """

    name = "events"
    version = 1
    kind = "tokens"
    config_class = EventsConfig

    PAD_ID = 0
    BOS_ID = 1
    EOS_ID = 2

    # ---------------------------------------------------------------- setup
    def _validate(self) -> None:
        cfg = self.config
        for field_name in ("steps_per_beat", "max_bar_beats", "max_duration_beats", "velocity_bins", "tempo_bins"):
            value = getattr(cfg, field_name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise TokenizerError(f"{field_name} must be a whole number >= 1, got {value!r}")
        if not isinstance(cfg.programs, (bool, np.bool_)):
            raise TokenizerError(f"programs must be true or false, got {cfg.programs!r}")
        if cfg.order not in ORDERS:
            raise TokenizerError(f"order must be one of {', '.join(ORDERS)}, got {cfg.order!r}")
        if cfg.order == "tracks" and not cfg.programs:
            raise TokenizerError("order='tracks' needs programs=true: each instrument's section opens with its Program")
        self._vel_bin_of, self._vel_centres = velocity_bin_table(cfg.velocity_bins)
        try:
            low, high = float(cfg.tempo_min), float(cfg.tempo_max)
        except (TypeError, ValueError):
            raise TokenizerError(
                f"tempo_min and tempo_max must be numbers, got {cfg.tempo_min!r}, {cfg.tempo_max!r}"
            ) from None
        self._tempo_values = tempo_bin_values(cfg.tempo_bins, low, high)
        logs = np.log(self._tempo_values)
        self._tempo_edges = (logs[1:] + logs[:-1]) / 2  # log-bpm boundaries between bins
        self._build_vocab()

    def _build_vocab(self) -> None:
        cfg = self.config
        spb = int(cfg.steps_per_beat)
        self.n_positions = int(cfg.max_bar_beats) * spb
        self.max_duration_steps = int(cfg.max_duration_beats) * spb

        meters = []  # (numerator, denominator) whose bar is a whole number of steps
        for den in TIME_SIGNATURE_DENOMINATORS:
            for num in range(1, cfg.max_bar_beats * den // 4 + 1):
                if (num * 4 * spb) % den == 0:
                    meters.append((num, den))
        self._meters = meters
        self._meters_by_steps: dict[int, list[tuple[int, int]]] = {}
        for n, d in meters:
            self._meters_by_steps.setdefault(n * 4 * spb // d, []).append((n, d))

        names: list[str] = ["PAD", "BOS", "EOS", "Bar"]
        kinds = [_PAD, _BOS, _EOS, _BAR]
        values = [0, 0, 0, 0]

        def section(kind: int, items) -> int:
            first = len(names)
            for name, value in items:
                names.append(name)
                kinds.append(kind)
                values.append(value)
            return first

        self._ts_first = section(_TS, ((f"TimeSig_{n}/{d}", n * 4 * spb // d) for n, d in meters))
        self._pos_first = section(_POS, ((f"Position_{k}", k) for k in range(self.n_positions)))
        self._tempo_first = section(_TEMPO, ((f"Tempo_{int(v)}", i) for i, v in enumerate(self._tempo_values)))
        if cfg.programs:
            self._prog_first = section(
                _PROG, [(f"Program_{p}", p) for p in range(128)] + [("Program_drum", DRUM_PROGRAM)]
            )
        else:
            self._prog_first = -1
        self._pitch_first = section(_PITCH, ((f"Pitch_{p}", p) for p in range(128)))
        self._vel_first = section(_VEL, ((f"Velocity_{i}", i) for i in range(cfg.velocity_bins)))
        self._dur_first = section(_DUR, ((f"Duration_{k}", k) for k in range(1, self.max_duration_steps + 1)))

        self._vocab = names
        self._ids = {name: i for i, name in enumerate(names)}
        self._kind_of = np.asarray(kinds, dtype=np.int8)  # (vocab_size,)
        self._value_of = np.asarray(values, dtype=np.int64)  # (vocab_size,)
        self._meter_id = {m: self._ts_first + i for i, m in enumerate(meters)}

    # ----------------------------------------------------------- vocabulary
    @property
    def tempo_values(self) -> list[float]:
        """The tempos (bpm) that survive a round trip unchanged, slowest first."""
        return self._tempo_values.tolist()

    @property
    def time_signatures(self) -> list[tuple[int, int]]:
        """The meters ``(numerator, denominator)`` the vocabulary offers."""
        return list(self._meters)

    def token_id(self, name: str) -> int:
        """The id of the token called ``name`` (e.g. ``"Bar"``, ``"Pitch_60"``).

        Raises:
            TokenizerError: if there is no such token.
        """
        try:
            return self._ids[name]
        except KeyError:
            raise TokenizerError(f"the {self.name} tokenizer has no token {name!r}") from None

    def quantize_velocity(self, velocity: int) -> int:
        """The velocity (1-127) ``velocity`` decodes to: the centre of its bin."""
        return int(self._vel_centres[self._vel_bin_of[min(max(int(round(velocity)), 1), 127)]])

    def quantize_tempo(self, bpm: float) -> float:
        """The tempo (bpm) ``bpm`` decodes to: the nearest bin value on a log scale."""
        return float(self._tempo_values[self._tempo_bins(np.asarray([bpm], dtype=np.float64))[0]])

    def _tempo_bins(self, bpm: np.ndarray) -> np.ndarray:
        return np.searchsorted(self._tempo_edges, np.log(np.maximum(bpm, 1e-9)))

    # ---------------------------------------------------------------- encode
    def encode(self, score: Score) -> np.ndarray:
        """Score -> token ids.

        Args:
            score: any score; times in beats.

        Returns:
            ``int32`` array of shape ``(T,)`` with ``0 <= id < vocab_size``,
            starting with ``BOS`` and ending with ``EOS``.

        Raises:
            TokenizerError: for an unsupported meter, a negative onset or a
                pitch outside 0-127.
        """
        cfg = self.config
        spb = int(cfg.steps_per_beat)

        # -- notes -> parallel arrays, one entry per note
        group_of: dict[tuple[int, bool], int] = {}
        parts: list[tuple[list, list, list, list]] = []
        part_groups: list[int] = []
        for track in score.tracks:
            if not track.notes:
                continue
            if cfg.programs:
                key = (0, True) if track.is_drum else (int(track.program), False)
            elif track.is_drum:
                continue
            else:
                key = (0, False)
            part_groups.append(group_of.setdefault(key, len(group_of)))
            notes = track.notes
            parts.append((
                [n.pitch for n in notes],
                [n.start for n in notes],
                [n.duration for n in notes],
                [n.velocity for n in notes],
            ))
        counts = [len(p[0]) for p in parts]
        n_notes = sum(counts)
        pitch = np.fromiter((x for p in parts for x in p[0]), dtype=np.int64, count=n_notes)
        start = np.fromiter((x for p in parts for x in p[1]), dtype=np.float64, count=n_notes)
        dur = np.fromiter((x for p in parts for x in p[2]), dtype=np.float64, count=n_notes)
        vel = np.fromiter((x for p in parts for x in p[3]), dtype=np.float64, count=n_notes)
        group = np.repeat(np.asarray(part_groups, dtype=np.int64), counts)
        group_prog = np.asarray(
            [DRUM_PROGRAM if drum else prog for prog, drum in group_of], dtype=np.int64
        )

        onset = to_steps(start, spb)  # (N,)
        offset = to_steps(start + dur, spb)
        length = np.clip(offset - onset, 1, self.max_duration_steps)
        if n_notes:
            if onset.min() < 0:
                raise TokenizerError(f"a note starts at a negative time ({start.min():g} beats)")
            if pitch.min() < 0 or pitch.max() > 127:
                bad = pitch[(pitch < 0) | (pitch > 127)][0]
                raise TokenizerError(f"pitch {bad} is outside 0-127")
        vbin = self._vel_bin_of[np.clip(np.rint(vel), 0, 127).astype(np.int64)]
        if len(group_prog) > 1:
            # number tracks by first onset (ties: score order) so that the decoded track
            # order, which is the order of first appearance, encodes identically again
            first = np.full(len(group_prog), np.iinfo(np.int64).max)
            np.minimum.at(first, group, onset)
            rank = np.empty(len(group_prog), dtype=np.int64)
            by_first = np.lexsort((np.arange(len(group_prog)), first))
            rank[by_first] = np.arange(len(group_prog))
            group, group_prog = rank[group], group_prog[by_first]

        # -- tempo changes: snapped, last one per step wins, repeats of a value dropped
        tempo_steps: list[int] = []
        tempo_ids: list[int] = []
        if score.tempos:
            tempos = sorted(score.tempos, key=lambda t: t.beat)
            t_steps = np.maximum(to_steps([t.beat for t in tempos], spb), 0)
            t_bins = self._tempo_bins(np.array([t.bpm for t in tempos], dtype=np.float64))
            last_bin = -1
            for i in range(len(tempos)):
                if i + 1 < len(tempos) and t_steps[i + 1] == t_steps[i]:
                    continue
                if t_bins[i] != last_bin:
                    tempo_steps.append(int(t_steps[i]))
                    tempo_ids.append(self._tempo_first + int(t_bins[i]))
                    last_bin = int(t_bins[i])

        # -- bars and meters
        sigs = sorted(score.time_signatures, key=lambda s: s.beat) or [TimeSignature(0.0, 4, 4)]
        sig_steps = [0] + np.maximum(to_steps([s.beat for s in sigs[1:]], spb), 0).tolist()
        last_event = max(
            int(onset.max()) if n_notes else 0,
            max(tempo_steps, default=0),
            max(sig_steps),
        )
        bar_beats = score.bar_starts(until=(last_event + 1) / spb)
        bar_steps = to_steps(bar_beats, spb).tolist()
        bars: list[int] = []  # bar-line steps, strictly increasing
        meters: list[tuple[int, int]] = []  # meter in effect at each bar
        for step in bar_steps:
            if step > last_event:  # a bar line off the grid may round past the last event
                break
            sig = sigs[bisect.bisect_right(sig_steps, step) - 1]
            if bars and bars[-1] >= step:
                bars.pop()
                meters.pop()
            bars.append(step)
            meters.append((sig.numerator, sig.denominator))
        bar_ids = []
        shift = 0  # steps by which later bar lines move when a cut bar has to be lengthened
        for i, meter in enumerate(meters):
            bars[i] += shift
            nominal = self._meter_steps(meter)
            if i + 1 < len(bars) and bars[i + 1] + shift - bars[i] != nominal:
                actual = bars[i + 1] + shift - bars[i]
                meter = self._fit_meter(actual, meter)
                shift += self._meter_steps(meter) - actual
            bar_ids.append(self._meter_id[meter])
        bars_arr = np.asarray(bars, dtype=np.int64)
        bar_ids_arr = np.asarray(bar_ids, dtype=np.int64)
        ts_changed = np.ones(len(bars), dtype=bool)
        ts_changed[1:] = bar_ids_arr[1:] != bar_ids_arr[:-1]
        # trailing bars that hold nothing (no onset, tempo or meter change) carry no information
        content = max(int(onset.max()) if n_notes else 0, max(tempo_steps, default=0))
        n_bars = max(
            int(np.searchsorted(bars_arr, content, side="right")), int(np.flatnonzero(ts_changed)[-1]) + 1
        )
        bars_arr, bar_ids_arr, ts_changed = bars_arr[:n_bars], bar_ids_arr[:n_bars], ts_changed[:n_bars]

        if cfg.order == "tracks":
            body = self._track_sections(bars_arr, bar_ids_arr[ts_changed], np.flatnonzero(ts_changed), onset,
                                        pitch, length, vbin, group_prog[group], tempo_steps, tempo_ids)
        else:
            body = self._time_ordered(bars_arr, bar_ids_arr, ts_changed, onset, pitch, length, vbin, group,
                                      group_prog, tempo_steps, tempo_ids)
        out = np.empty(len(body) + 2, dtype=np.int32)
        out[0] = self.BOS_ID
        out[1:-1] = body
        out[-1] = self.EOS_ID
        return out

    def _time_ordered(self, bars_arr, bar_ids_arr, ts_changed, onset, pitch, length, vbin, group, group_prog,
                      tempo_steps, tempo_ids) -> np.ndarray:
        """Body tokens (without BOS/EOS) in time order: per bar, positions ascending, the
        notes of one position by (track, pitch)."""
        cfg = self.config
        spb = int(cfg.steps_per_beat)
        n_notes = len(onset)
        # -- note tokens in (onset, track, pitch) order
        order = np.lexsort((vbin, length, pitch, group, onset))
        onset, pitch, length, vbin, group = onset[order], pitch[order], length[order], vbin[order], group[order]
        block = np.empty((n_notes, 4), dtype=np.int64)  # (N, 4): program, pitch, velocity, duration
        keep = np.ones((n_notes, 4), dtype=bool)
        if cfg.programs:
            block[:, 0] = self._prog_first + group_prog[group]  # Program_drum follows Program_127
            keep[1:, 0] = group[1:] != group[:-1]
        else:
            block[:, 0] = 0
            keep[:, 0] = False
        block[:, 1] = self._pitch_first + pitch
        block[:, 2] = self._vel_first + vbin
        block[:, 3] = self._dur_first + length - 1
        note_tokens = block[keep]
        tokens_before = np.concatenate([[0], np.cumsum(keep.sum(axis=1))])  # (N+1,)

        # -- structural events, ordered by (step, Bar < TimeSig < Position < Tempo)
        pos_steps = np.union1d(onset, np.asarray(tempo_steps, dtype=np.int64))
        pos_bar = np.searchsorted(bars_arr, pos_steps, side="right") - 1
        pos_in_bar = pos_steps - bars_arr[pos_bar]
        if len(pos_in_bar) and pos_in_bar.max() >= self.n_positions:
            raise TokenizerError(
                f"an event lies {pos_in_bar.max() / spb:g} beats into a bar, past max_bar_beats="
                f"{cfg.max_bar_beats}"
            )
        ev_step = np.concatenate([bars_arr, bars_arr[ts_changed], pos_steps, np.asarray(tempo_steps, np.int64)])
        ev_kind = np.concatenate([
            np.zeros(len(bars_arr), np.int64),
            np.ones(int(ts_changed.sum()), np.int64),
            np.full(len(pos_steps), 2, np.int64),
            np.full(len(tempo_steps), 3, np.int64),
        ])
        ev_token = np.concatenate([
            np.full(len(bars_arr), self._ids["Bar"], np.int64),
            bar_ids_arr[ts_changed],
            self._pos_first + pos_in_bar,
            np.asarray(tempo_ids, np.int64),
        ])
        ev_order = np.lexsort((ev_kind, ev_step))
        ev_step, ev_token = ev_step[ev_order], ev_token[ev_order]
        at = tokens_before[np.searchsorted(onset, ev_step, side="left")]
        return np.insert(note_tokens, at, ev_token)

    def _track_sections(self, bars_arr, meter_ids, meter_bars, onset, pitch, length, vbin, program,
                        tempo_steps, tempo_ids) -> np.ndarray:
        """Body tokens (without BOS/EOS) in track order: per bar ``Bar [TimeSig]``, then
        the tempo changes (``Position Tempo`` pairs), then one section per program in
        ascending code (drums, 128, last): ``Program`` and its notes by onset
        (``Position`` then ``Pitch Velocity Duration`` per note, pitches ascending).

        Args:
            bars_arr: ``(B,)`` bar-line steps; meter_ids / meter_bars: the ``TimeSig``
                ids and the bars (indices) that carry one; onset, pitch, length, vbin,
                program: ``(N,)`` per note; tempo_steps / tempo_ids: the tempo changes.
        """
        n_notes = len(onset)
        tempo_at = np.asarray(tempo_steps, dtype=np.int64)
        note_bar = np.searchsorted(bars_arr, onset, side="right") - 1
        tempo_bar = np.searchsorted(bars_arr, tempo_at, side="right") - 1
        note_pos = onset - bars_arr[note_bar]
        tempo_pos = tempo_at - bars_arr[tempo_bar]
        deepest = max(int(note_pos.max()) if n_notes else 0, int(tempo_pos.max()) if len(tempo_pos) else 0)
        if deepest >= self.n_positions:
            raise TokenizerError(
                f"an event lies {deepest / self.config.steps_per_beat:g} beats into a bar, past max_bar_beats="
                f"{self.config.max_bar_beats}"
            )
        # one row per token: sort keys (bar, section, position, sub, pitch, length, velocity, note, slot)
        sections = np.unique(note_bar * (DRUM_PROGRAM + 1) + program)
        places = np.unique((note_bar * (DRUM_PROGRAM + 1) + program) * self.n_positions + note_pos)
        place_section, place_pos = np.divmod(places, self.n_positions)
        n_bars, n_meters, n_tempos = len(bars_arr), len(meter_ids), len(tempo_at)
        parts = [  # (bar, section, position, sub, token) per kind of token
            (np.arange(n_bars), -2, 0, 0, np.full(n_bars, self._ids["Bar"])),
            (np.asarray(meter_bars, dtype=np.int64), -2, 0, 1, np.asarray(meter_ids, dtype=np.int64)),
            (tempo_bar, -1, tempo_pos, 0, self._pos_first + tempo_pos),
            (tempo_bar, -1, tempo_pos, 1, np.asarray(tempo_ids, dtype=np.int64)),
            (sections // (DRUM_PROGRAM + 1), sections % (DRUM_PROGRAM + 1), -1, 0,
             self._prog_first + sections % (DRUM_PROGRAM + 1)),
            (place_section // (DRUM_PROGRAM + 1), place_section % (DRUM_PROGRAM + 1), place_pos, 0,
             self._pos_first + place_pos),
        ]
        sizes = [n_bars, n_meters, n_tempos, n_tempos, len(sections), len(places)]
        keys = np.zeros((9, sum(sizes) + 3 * n_notes), dtype=np.int64)
        tokens = np.empty(keys.shape[1], dtype=np.int64)
        at = 0
        for (bar, section, position, sub, token), size in zip(parts, sizes):
            keys[0, at:at + size], keys[1, at:at + size] = bar, section
            keys[2, at:at + size], keys[3, at:at + size] = position, sub
            tokens[at:at + size] = token
            at += size
        for slot, token in enumerate((self._pitch_first + pitch, self._vel_first + vbin, self._dur_first + length - 1)):
            rows = slice(at, at + n_notes)
            keys[0, rows], keys[1, rows], keys[2, rows], keys[3, rows] = note_bar, program, note_pos, 1
            keys[4, rows], keys[5, rows], keys[6, rows] = pitch, length, vbin
            keys[7, rows], keys[8, rows] = np.arange(n_notes), slot  # identical notes stay whole
            tokens[rows] = token
            at += n_notes
        return tokens[np.lexsort(keys[::-1])]

    def _meter_steps(self, meter: tuple[int, int]) -> int:
        num, den = meter
        spb = self.config.steps_per_beat
        if num <= 0 or den <= 0:
            raise TokenizerError(f"invalid time signature {num}/{den}")
        if num * 4 > self.config.max_bar_beats * den:
            raise TokenizerError(
                f"time signature {num}/{den} has bars of {num * 4 / den:g} beats, longer than "
                f"max_bar_beats={self.config.max_bar_beats}; raise max_bar_beats to encode it"
            )
        if meter not in self._meter_id:
            raise TokenizerError(
                f"time signature {num}/{den} is not supported: its bar is not a whole number of steps at "
                f"steps_per_beat={spb} or its denominator is not one of {TIME_SIGNATURE_DENOMINATORS}"
            )
        return num * 4 * spb // den

    def _fit_meter(self, steps: int, meter: tuple[int, int]) -> tuple[int, int]:
        """The meter for a bar cut to ``steps`` steps by a meter change inside it.

        That is a meter lasting exactly ``steps`` steps if the vocabulary has one,
        else the shortest longer one (the uncut ``meter`` always qualifies); among
        equally long meters ``meter``'s denominator wins, then 4, 8, 16, 2, 1.
        """
        for length in range(steps, self.n_positions + 1):
            candidates = self._meters_by_steps.get(length)
            if candidates:
                for den in (meter[1], 4, 8, 16, 2, 1):
                    for cand in candidates:
                        if cand[1] == den:
                            return cand
        return meter

    def pitch_of(self, token: int) -> int | None:
        """MIDI pitch (or drum key) of a ``Pitch`` token, None for any other token:
        one note per ``Pitch`` token, the count figures per note divide by."""
        token = int(token)
        if 0 <= token < len(self._vocab) and self._kind_of[token] == _PITCH:
            return int(self._value_of[token])
        return None

    @property
    def choice_ids(self) -> np.ndarray:
        """Ids of the tokens that choose the music (every ``Position``, ``Pitch`` and
        ``Duration``), the ones feedback tuning's unlikelihood acts on."""
        return np.flatnonzero(np.isin(self._kind_of, (_POS, _PITCH, _DUR))).astype(np.int64)

    def program_of(self, token: int) -> int | None:
        """Program code of a ``Program`` token (0-127, :data:`DRUM_PROGRAM` for drums),
        None for any other token."""
        token = int(token)
        if 0 <= token < len(self._vocab) and self._kind_of[token] == _PROG:
            return int(self._value_of[token])
        return None

    # ---------------------------------------------------------- augmentation
    def transpose_tokens(self, tokens: np.ndarray, semitones: int) -> np.ndarray | None:
        """Shift the ``Pitch`` tokens of pitched notes by ``semitones``; drum notes (those
        after ``Program_drum``) stay where they are.

        Args:
            tokens: a whole sequence from its ``BOS`` (shape ``(T,)``): a pitch belongs to
                the last ``Program`` token before it, which a window cut from the middle
                may not hold.
            semitones: the shift.

        Returns:
            the shifted ids (same shape and dtype), or None if a note would leave 0-127.
        """
        tokens = np.asarray(tokens)
        kinds = self._kind_of[tokens]
        is_pitch = kinds == _PITCH
        if self.config.programs:
            is_program = kinds == _PROG
            # the program in force at each token: the value of the last Program token so far
            last = np.maximum.accumulate(np.where(is_program, np.arange(len(tokens)), -1))
            program = np.where(last >= 0, self._value_of[tokens[np.maximum(last, 0)]], -1)
            is_pitch &= program != DRUM_PROGRAM
        if not is_pitch.any():
            return tokens.copy()
        moved = self._value_of[tokens[is_pitch]] + semitones
        if moved.min() < 0 or moved.max() > 127:
            return None
        shifted = tokens.copy()
        shifted[is_pitch] = self._pitch_first + moved
        return shifted

    # ---------------------------------------------------------------- decode
    def decode(self, data) -> Score:
        """Token ids -> Score.

        Args:
            data: 1-D integer array or sequence of ids, shape ``(T,)``.

        Returns:
            A score with one track per program seen (in order of first
            appearance), the tempo changes and the time signatures; times in beats.

        Raises:
            TokenizerError: if ``data`` is not 1-D or holds an id outside the vocabulary.
        """
        ids = np.asarray(data)
        if ids.ndim != 1:
            raise TokenizerError(f"{self.name} tokens must be a 1-D array, got shape {ids.shape}")
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise TokenizerError(f"{self.name} tokens must be integers, got dtype {ids.dtype}")
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise TokenizerError(f"token id out of range 0-{self.vocab_size - 1} (got {ids.min()}..{ids.max()})")
        eos = np.flatnonzero(ids == self.EOS_ID)
        if eos.size:
            ids = ids[: eos[0]]
        cfg = self.config
        spb = cfg.steps_per_beat
        kind = self._kind_of[ids]  # (T,)
        value = self._value_of[ids]  # (T,)
        index = np.arange(len(ids))

        def last(mask: np.ndarray) -> np.ndarray:
            """Index of the latest token (at or before each position) where ``mask`` holds, -1 if none."""
            return np.maximum.accumulate(np.where(mask, index, -1)) if len(mask) else index

        # bars: each Bar moves on by the length of the meter in effect just before it
        is_bar = kind == _BAR
        last_ts = last(kind == _TS)
        default_len = 4 * spb
        meter_len = np.where(last_ts >= 0, value[np.maximum(last_ts, 0)], default_len)  # (T,) steps
        bar_tokens = np.flatnonzero(is_bar)
        bar_start = np.zeros(len(bar_tokens) + 1, dtype=np.int64)  # index = number of Bars seen
        if len(bar_tokens) > 1:
            bar_start[2:] = np.cumsum(meter_len[bar_tokens[1:]])
        bar_count = np.cumsum(is_bar)
        token_bar_start = bar_start[bar_count]  # (T,) steps

        last_pos = last(kind == _POS)
        last_bar = last(is_bar)
        pos = np.where(last_pos > last_bar, value[np.maximum(last_pos, 0)], 0)
        time = token_bar_start + pos  # (T,) steps

        # notes: a Duration completes the latest Pitch not yet completed
        is_dur = kind == _DUR
        last_pitch = last(kind == _PITCH)
        prev_dur = np.concatenate([[-1], last(is_dur)[:-1]]) if len(ids) else index
        done = np.flatnonzero(is_dur & (last_pitch > prev_dur))
        p_at = last_pitch[done]
        note_pitch = value[p_at]
        note_start = time[p_at]
        note_len = value[done]
        last_vel = last(kind == _VEL)[done]
        default_vel = self._vel_centres[self._vel_bin_of[80]]
        vel_bin = np.where(last_vel >= 0, value[np.maximum(last_vel, 0)], 0)
        note_vel = np.where(last_vel >= 0, self._vel_centres[vel_bin], default_vel)
        if cfg.programs:
            last_prog = last(kind == _PROG)[p_at]
            note_prog = np.where(last_prog >= 0, value[np.maximum(last_prog, 0)], 0)
        else:
            note_prog = np.zeros(len(done), dtype=np.int64)

        tracks = []
        progs, first_seen = np.unique(note_prog, return_index=True)
        for prog in progs[np.argsort(first_seen)]:
            sel = np.flatnonzero(note_prog == prog)
            sel = sel[np.lexsort((note_pitch[sel], note_start[sel]))]
            notes = [
                Note(p, s, d, v)
                for p, s, d, v in zip(
                    note_pitch[sel].tolist(),
                    (note_start[sel] / spb).tolist(),
                    (note_len[sel] / spb).tolist(),
                    note_vel[sel].tolist(),
                )
            ]
            drum = int(prog) == DRUM_PROGRAM
            tracks.append(Track(notes=notes, program=0 if drum else int(prog), is_drum=drum))

        tempos: list[TempoChange] = []
        for j in np.flatnonzero(kind == _TEMPO).tolist():
            change = TempoChange(float(time[j]) / spb, float(self._tempo_values[value[j]]))
            if tempos and tempos[-1].beat == change.beat:
                tempos.pop()
            if not tempos or tempos[-1].bpm != change.bpm:
                tempos.append(change)

        sigs: list[TimeSignature] = []
        for j in np.flatnonzero(kind == _TS).tolist():
            num, den = self._meters[ids[j] - self._ts_first]
            sig = TimeSignature(float(token_bar_start[j]) / spb, num, den)
            if sigs and sigs[-1].beat == sig.beat:
                sigs.pop()
            if not sigs or (sigs[-1].numerator, sigs[-1].denominator) != (num, den):
                sigs.append(sig)

        return Score(tracks=tracks, tempos=tempos, time_signatures=sigs)
