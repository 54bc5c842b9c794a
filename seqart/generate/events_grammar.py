"""The grammar of events-tokenizer sequences, as an automaton a sampler runs row by row.

:class:`EventsGrammar` follows a batch of token sequences of an
:class:`~seqart.tokenizers.events.EventsTokenizer` and says, for every row, which
tokens may come next (:meth:`EventsGrammar.mask`, shape ``(rows, vocab_size)``). A
sampler that only draws allowed tokens writes sequences that ``encode`` could have
written: ``tok.encode(tok.decode(ids))`` gives ``ids`` back. It is NumPy only.

Time is counted as the tokenizer counts it: in grid steps, ``steps_per_beat`` steps
per beat (a beat is a quarter note). The rules, each as ``encode`` writes it::

    BOS
    Bar  TimeSig_n/d          (required on the first bar; later only a change of meter)
         Position_k           (steps from the bar line: strictly increasing in a bar and
                               below the bar's length from the meter in force)
           [Tempo_b]          (only straight after a Position; never the tempo in force;
                               the first may be any, 120 bpm included)
           [Program_p] Pitch_p Velocity_v Duration_k   (one note; repeated)
    ...
    EOS

- A ``Position`` holds a tempo change or a note (``encode`` writes one for nothing else).
- ``Program`` tokens are written only where they differ from the previous note's
  program, anywhere in the piece: the first note has one, and ``Program_p`` is never
  allowed while ``p`` is the program in force. A ``Pitch`` without one belongs to the
  program in force.
- At one position the programs come in the order of their first appearance in the
  piece (``encode`` numbers tracks by first onset, ties in score order, and a decoded
  score's tracks are in order of appearance): a program seen before may follow only
  one that appeared before it, a program new to the piece may follow any, and after a
  new one only new ones may follow. So each program appears at most once per position.
- Within one program at one position pitches strictly ascend. ``encode`` also writes a
  doubled note (the same pitch twice at one onset in one program), ordered by duration
  then velocity; ``unisons=True`` allows exactly that, the default forbids it.
- ``Duration_k`` is 1 to ``max_duration_beats * steps_per_beat`` steps. Durations are
  not cut at the bar line: a note may sound on into later bars (it is tied over them).
- ``EOS`` needs at least one note (so the encoding of a score without notes, ``BOS Bar
  TimeSig_4/4 EOS``, is refused) and comes after a note, after a tempo-only position
  or after a ``TimeSig`` (a trailing bar that only changes the meter). It never follows
  a bare ``Bar``: ``encode`` drops trailing bars that hold nothing, so such a bar could
  not survive a round trip. After ``EOS`` only ``PAD`` is allowed and the row stays ended.

With ``order="tracks"`` (:class:`~seqart.tokenizers.events.EventsConfig`) a bar is
written as a conductor part and then one section per instrument::

    BOS
    Bar  [TimeSig_n/d]        (as in time order)
         Position_k Tempo_b   (the bar's tempo changes: positions strictly increasing,
                               below the bar's length; a Position here is always followed
                               by a Tempo, never the tempo in force)
         Program_p            (a section: p strictly ascending within the bar, drums
                               (code 128) last, so each program once per bar)
           Position_k         (strictly increasing within the section, from 0 again in
                               each section; below the bar's length)
             Pitch_p Velocity_v Duration_k   (one note; repeated, pitches ascending)
    ...
    EOS

- Every section opens with ``Program_p Position_k``: its ``Program`` is written even
  when the previous section (the last of the previous bar) had the same program, a
  ``Pitch`` never follows a ``Program`` or a conductor ``Position``, and a ``Program``
  never comes straight before ``Bar`` or ``EOS``; no ``Tempo`` follows a ``Program``.
- The order of first appearance plays no part: sections go by program code.
- Within a section, the notes of one position, doubled notes (``unisons``), durations,
  ``EOS`` and ``max_bars`` follow the time-order rules above.

A sampler limits the program set, each program's range and its pitch classes (a key)
through the constructor; :meth:`EventsGrammar.mask` with ``max_bars`` makes a row that
has begun that many bars end within its last one, its notes there ending by the bar line.

>>> grammar = EventsGrammar(tok, programs=[0, 33, DRUM_PROGRAM], pitch_ranges={33: (28, 55)})
>>> state = grammar.start(64)
>>> allowed = grammar.mask(state)          # (64, vocab_size) bool
>>> grammar.advance(state, tokens)         # tokens: (64,) ids drawn from the allowed ones
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

import numpy as np

from seqart.errors import ScoreError, TokenizerError
from seqart.tokenizers.events import DRUM_PROGRAM, EventsTokenizer

__all__ = ["EventsGrammar", "EventsGrammarState"]

# Phases: what a row read last. A token kind is written as the phase it leads to
# (a Position of the tracks order's conductor part leads to _AFTER_TEMPO_POSITION).
(_AFTER_BOS, _AFTER_FIRST_BAR, _AFTER_BAR, _AFTER_TIMESIG, _AFTER_POSITION, _AFTER_TEMPO,
 _AFTER_PROGRAM, _AFTER_PITCH, _AFTER_VELOCITY, _AFTER_DURATION, _ENDED, _AFTER_TEMPO_POSITION) = range(12)
_N_PHASES = 12
_PAD_KIND = -2  # kind of PAD (allowed only once ended)
_KIND_NAMES = {
    _AFTER_BOS: "BOS", _AFTER_BAR: "Bar", _AFTER_TIMESIG: "TimeSig", _AFTER_POSITION: "Position",
    _AFTER_TEMPO: "Tempo", _AFTER_PROGRAM: "Program", _AFTER_PITCH: "Pitch", _AFTER_VELOCITY: "Velocity",
    _AFTER_DURATION: "Duration", _ENDED: "EOS", _PAD_KIND: "PAD",
}
#: what may follow each phase in time order, by token kind (refined per row by :meth:`EventsGrammar.mask`)
_TIME_FOLLOWERS = {
    _AFTER_BOS: (_AFTER_BAR,),
    _AFTER_FIRST_BAR: (_AFTER_TIMESIG,),
    _AFTER_BAR: (_AFTER_TIMESIG, _AFTER_POSITION, _AFTER_BAR),
    _AFTER_TIMESIG: (_AFTER_POSITION, _AFTER_BAR, _ENDED),
    _AFTER_POSITION: (_AFTER_TEMPO, _AFTER_PROGRAM, _AFTER_PITCH),
    _AFTER_TEMPO: (_AFTER_PROGRAM, _AFTER_PITCH, _AFTER_POSITION, _AFTER_BAR, _ENDED),
    _AFTER_PROGRAM: (_AFTER_PITCH,),
    _AFTER_PITCH: (_AFTER_VELOCITY,),
    _AFTER_VELOCITY: (_AFTER_DURATION,),
    _AFTER_DURATION: (_AFTER_PROGRAM, _AFTER_PITCH, _AFTER_POSITION, _AFTER_BAR, _ENDED),
    _ENDED: (_PAD_KIND,),
}
#: the same for the tracks order: conductor Position -> Tempo; a section's Position -> Pitch
_TRACK_FOLLOWERS = {
    _AFTER_BOS: (_AFTER_BAR,),
    _AFTER_FIRST_BAR: (_AFTER_TIMESIG,),
    _AFTER_BAR: (_AFTER_TIMESIG, _AFTER_POSITION, _AFTER_PROGRAM, _AFTER_BAR),
    _AFTER_TIMESIG: (_AFTER_POSITION, _AFTER_PROGRAM, _AFTER_BAR, _ENDED),
    _AFTER_TEMPO_POSITION: (_AFTER_TEMPO,),
    _AFTER_TEMPO: (_AFTER_POSITION, _AFTER_PROGRAM, _AFTER_BAR, _ENDED),
    _AFTER_PROGRAM: (_AFTER_POSITION,),
    _AFTER_POSITION: (_AFTER_PITCH,),
    _AFTER_PITCH: (_AFTER_VELOCITY,),
    _AFTER_VELOCITY: (_AFTER_DURATION,),
    _AFTER_DURATION: (_AFTER_PROGRAM, _AFTER_PITCH, _AFTER_POSITION, _AFTER_BAR, _ENDED),
    _ENDED: (_PAD_KIND,),
}
_FOLLOWERS = {"time": _TIME_FOLLOWERS, "tracks": _TRACK_FOLLOWERS}
_N_PROGRAM_CODES = DRUM_PROGRAM + 1  # programs 0-127 and the drum code


@dataclass
class EventsGrammarState:
    """Where each of ``rows`` sequences stands. Every field is an array of shape ``(rows,)``
    unless noted; -1 means "none yet". :meth:`EventsGrammar.advance` updates it in place
    (use :meth:`copy` to branch).

    Attributes:
        phase: what the row read last (a private phase code).
        last_token: id of the last token read.
        length: tokens read, ``BOS`` included (so the index the next token will have).
        bars: ``Bar`` tokens read (bars begun).
        notes: notes completed (``Duration`` tokens read).
        meter: index into ``tokenizer.time_signatures`` of the meter in force.
        bar_steps: length in steps of the current bar (from the meter in force).
        position: the current bar's latest ``Position``, steps from the bar line; in
            tracks order the latest of the conductor part or of the current section
            (-1 again after each ``Program``).
        tempo: tempo bin in force (index into ``tokenizer.tempo_values``).
        program: program in force (0-127, or ``DRUM_PROGRAM``); 0 throughout for a
            tokenizer without programs. In tracks order the current section's program,
            -1 from each ``Bar`` to its first ``Program`` (the conductor part).
        ranks: shape ``(rows, 129)``: each program's rank, its order of first appearance
            (time order only; -1 throughout in tracks order).
        programs_seen: programs that have appeared (time order only).
        position_rank: rank of the latest program with a note at the current position
            (time order only).
        note_pitch, note_velocity: pitch and velocity bin of the latest note begun.
        chord_pitch, chord_velocity, chord_duration: pitch, velocity bin and duration
            (steps) of the latest completed note of the program in force at the current
            position (chord_pitch -1: none).
    """

    phase: np.ndarray
    last_token: np.ndarray
    length: np.ndarray
    bars: np.ndarray
    notes: np.ndarray
    meter: np.ndarray
    bar_steps: np.ndarray
    position: np.ndarray
    tempo: np.ndarray
    program: np.ndarray
    ranks: np.ndarray
    programs_seen: np.ndarray
    position_rank: np.ndarray
    note_pitch: np.ndarray
    note_velocity: np.ndarray
    chord_pitch: np.ndarray
    chord_velocity: np.ndarray
    chord_duration: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.phase)

    @property
    def ended(self) -> np.ndarray:
        """``(rows,)`` bool: the row has read ``EOS``."""
        return self.phase == _ENDED

    @property
    def bars_completed(self) -> np.ndarray:
        """``(rows,)``: bars closed by a later ``Bar`` or by ``EOS``."""
        return np.maximum(self.bars - 1 + self.ended, 0)

    def copy(self) -> EventsGrammarState:
        return EventsGrammarState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


class EventsGrammar:
    """Which events tokens may come next, for a batch of rows (module docstring).

    Args:
        tokenizer: the model's :class:`~seqart.tokenizers.events.EventsTokenizer`.
        programs: program codes a piece may use: 0-127, and ``DRUM_PROGRAM`` (128) for
            drums; None: every program the vocabulary has (only 0 without ``Program`` tokens).
        pitch_ranges: program -> ``(low, high)`` MIDI pitches, inclusive; programs not
            named may use 0-127.
        pitch_classes: program -> allowed pitch classes (0-11, 0 = C), e.g. a key's
            scale; not for drums, whose pitches are instruments.
        unisons: allow a doubled note (the same pitch again at one position in one
            program, by ascending duration then velocity), as ``encode`` writes for a
            score that has one; False (the default, for sampling): pitches strictly ascend.

    Raises:
        TokenizerError: if ``tokenizer`` is not an events tokenizer.
        ScoreError: for a program, range or pitch class outside the vocabulary, or a
            program left with no pitch at all.
    """

    def __init__(self, tokenizer: EventsTokenizer, programs: Iterable[int] | None = None,
                 pitch_ranges: Mapping[int, tuple[int, int]] | None = None,
                 pitch_classes: Mapping[int, Iterable[int]] | None = None, unisons: bool = False):
        if not isinstance(tokenizer, EventsTokenizer):
            raise TokenizerError(f"EventsGrammar needs an events tokenizer, got {type(tokenizer).__name__}")
        self.tokenizer = tokenizer
        self.unisons = bool(unisons)
        self.has_programs = bool(tokenizer.config.programs)
        self.order = tokenizer.config.order
        if self.order not in _FOLLOWERS:
            raise TokenizerError(f"EventsGrammar knows the orders {', '.join(_FOLLOWERS)}, not {self.order!r}")
        self.by_tracks = self.order == "tracks"
        self._read_vocabulary(tokenizer)
        self.programs = self._checked_programs(programs)
        self._program_ok = np.zeros(_N_PROGRAM_CODES, dtype=bool)  # (129,)
        self._program_ok[list(self.programs)] = True
        self._pitch_ok = self._pitch_table(pitch_ranges or {}, pitch_classes or {})  # (130, 128)
        self._phase_masks = self._build_phase_masks()  # (phases, vocab)

    # ------------------------------------------------------------ vocabulary
    def _read_vocabulary(self, tok: EventsTokenizer) -> None:
        """Token sections, and each id's kind and value, from the tokenizer's public names."""
        self.vocab_size = tok.vocab_size
        self._names = tok.vocab
        self.pad_id, self.bos_id, self.eos_id = tok.PAD_ID, tok.BOS_ID, tok.EOS_ID
        self.bar_id = tok.token_id("Bar")
        spb = tok.config.steps_per_beat
        meters = tok.time_signatures
        self._meter_steps = np.array([n * 4 * spb // d for n, d in meters] + [4 * spb], dtype=np.int64)
        self._n_velocities = tok.config.velocity_bins
        self._max_duration = tok.max_duration_steps
        self._sections = {}  # kind -> slice of ids
        self._kind = np.full(self.vocab_size, -1, dtype=np.int64)
        self._value = np.zeros(self.vocab_size, dtype=np.int64)

        def section(kind: int, names: list[str], values) -> None:
            """Tokens ``names`` (which the vocabulary holds side by side) have ``kind`` and ``values``."""
            first = tok.token_id(names[0])
            if [tok.token_id(name) for name in names] != list(range(first, first + len(names))):
                raise TokenizerError(f"the events vocabulary does not hold {names[0]}..{names[-1]} side by side")
            ids = slice(first, first + len(names))
            self._sections[kind] = ids
            self._kind[ids] = kind
            self._value[ids] = values

        section(_AFTER_TIMESIG, [f"TimeSig_{n}/{d}" for n, d in meters], np.arange(len(meters)))
        section(_AFTER_POSITION, [f"Position_{k}" for k in range(tok.n_positions)], np.arange(tok.n_positions))
        tempos = tok.tempo_values
        section(_AFTER_TEMPO, [f"Tempo_{int(v)}" for v in tempos], np.arange(len(tempos)))
        if self.has_programs:
            section(_AFTER_PROGRAM, [f"Program_{p}" for p in range(128)] + ["Program_drum"],
                    np.arange(_N_PROGRAM_CODES))
        section(_AFTER_PITCH, [f"Pitch_{p}" for p in range(128)], np.arange(128))
        section(_AFTER_VELOCITY, [f"Velocity_{v}" for v in range(self._n_velocities)], np.arange(self._n_velocities))
        durations = np.arange(1, self._max_duration + 1)
        section(_AFTER_DURATION, [f"Duration_{k}" for k in durations], durations)
        self._kind[self.bar_id] = _AFTER_BAR
        self._kind[self.eos_id] = _ENDED
        self._kind[self.pad_id] = _PAD_KIND
        self._kind[self.bos_id] = _AFTER_BOS
        self._sections[_AFTER_BAR] = slice(self.bar_id, self.bar_id + 1)
        self._sections[_ENDED] = slice(self.eos_id, self.eos_id + 1)
        self._sections[_PAD_KIND] = slice(self.pad_id, self.pad_id + 1)
        self._section_values = {kind: self._value[ids] for kind, ids in self._sections.items()}

    def _checked_programs(self, programs) -> tuple[int, ...]:
        offered = tuple(range(_N_PROGRAM_CODES)) if self.has_programs else (0,)
        if programs is None:
            return offered
        if isinstance(programs, (str, bytes)) or not isinstance(programs, Iterable):
            raise ScoreError(f"programs must be a list of program numbers, got {programs!r}")
        chosen = []
        for program in programs:
            if isinstance(program, (bool, np.bool_)) or not isinstance(program, (int, np.integer)):
                raise ScoreError(f"programs must be whole numbers (0-127, {DRUM_PROGRAM} for drums), got {program!r}")
            if int(program) not in offered:
                if not self.has_programs:
                    raise ScoreError(f"program {program} is not available: this tokenizer has no Program tokens "
                                     "(programs=False), every note is program 0")
                raise ScoreError(f"program {program} is outside 0-127 and {DRUM_PROGRAM} (drums)")
            chosen.append(int(program))
        if not chosen:
            raise ScoreError("programs is empty: allow at least one program")
        return tuple(sorted(set(chosen)))

    def _pitch_table(self, pitch_ranges: Mapping, pitch_classes: Mapping) -> np.ndarray:
        """``(130, 128)`` bool: the pitches each program code may use; row 129 (index -1,
        no program in force) allows none."""
        table = np.zeros((_N_PROGRAM_CODES + 1, 128), dtype=bool)
        table[list(self.programs)] = True
        pitches = np.arange(128)
        for program, bounds in self._constraint_items(pitch_ranges, "pitch_ranges"):
            try:
                low, high = (int(b) for b in bounds)
            except (TypeError, ValueError):
                raise ScoreError(f"pitch_ranges[{program}] must be (low, high), got {bounds!r}") from None
            if not 0 <= low <= high <= 127:
                raise ScoreError(f"pitch_ranges[{program}] must satisfy 0 <= low <= high <= 127, got {low}-{high}")
            table[program] &= (pitches >= low) & (pitches <= high)
        for program, classes in self._constraint_items(pitch_classes, "pitch_classes"):
            if program == DRUM_PROGRAM:
                raise ScoreError("pitch_classes do not apply to drums (their pitches are instruments)")
            try:
                allowed = {int(c) for c in classes}
            except (TypeError, ValueError):
                raise ScoreError(f"pitch_classes[{program}] must be pitch classes 0-11, got {classes!r}") from None
            if not allowed or not allowed <= set(range(12)):
                raise ScoreError(f"pitch_classes[{program}] must be a non-empty set of 0-11, got {sorted(allowed)}")
            table[program] &= np.isin(pitches % 12, sorted(allowed))
        for program in self.programs:
            if not table[program].any():
                raise ScoreError(f"program {program} has no pitch left: its range holds none of its pitch classes")
        return table

    def _constraint_items(self, mapping, what: str):
        if not isinstance(mapping, Mapping):
            raise ScoreError(f"{what} must map program numbers to values, got {type(mapping).__name__}")
        for program, value in mapping.items():
            if isinstance(program, (bool, np.bool_)) or not isinstance(program, (int, np.integer)) \
                    or int(program) not in self.programs:
                raise ScoreError(f"{what} names program {program!r}, which is not one of the allowed programs")
            yield int(program), value

    def _build_phase_masks(self) -> np.ndarray:
        masks = np.zeros((_N_PHASES, self.vocab_size), dtype=bool)
        for phase, kinds in _FOLLOWERS[self.order].items():
            for kind in kinds:
                if kind in self._sections:
                    masks[phase, self._sections[kind]] = True
        program_ids = self._sections.get(_AFTER_PROGRAM)
        if program_ids is not None:
            masks[:, program_ids] &= self._program_ok
        return masks

    # ----------------------------------------------------------------- state
    def start(self, rows: int) -> EventsGrammarState:
        """The state of ``rows`` sequences that have read ``BOS``."""
        if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
            raise ScoreError(f"rows must be a whole number >= 1, got {rows!r}")

        def filled(value: int) -> np.ndarray:
            return np.full(rows, value, dtype=np.int64)

        return EventsGrammarState(
            phase=filled(_AFTER_BOS), last_token=filled(self.bos_id), length=filled(1), bars=filled(0),
            notes=filled(0), meter=filled(-1), bar_steps=filled(self._meter_steps[-1]), position=filled(-1),
            tempo=filled(-1), program=filled(-1 if self.has_programs else 0),
            ranks=np.full((rows, _N_PROGRAM_CODES), -1, dtype=np.int64), programs_seen=filled(0),
            position_rank=filled(-1), note_pitch=filled(-1), note_velocity=filled(-1), chord_pitch=filled(-1),
            chord_velocity=filled(-1), chord_duration=filled(0),
        )

    # ------------------------------------------------------------------ mask
    def mask(self, state: EventsGrammarState, max_bars: int | np.ndarray | None = None) -> np.ndarray:
        """The tokens each row may read next.

        Args:
            state: the rows' state.
            max_bars: None, or the most bars a row may begin (a number, or one per row,
                shape ``(rows,)``): a row that has begun that many bars may not start
                another, so it ends within its last bar (``EOS`` comes once a note is there),
                and a note begun in that bar ends by its bar line.

        Returns:
            ``bool`` array of shape ``(rows, vocab_size)``; ``True`` where a token is allowed.
            Never all ``False`` for a row.
        """
        out = self._phase_masks[state.phase]  # (rows, V)
        rows = np.arange(state.rows)
        positions = self._section_values[_AFTER_POSITION]  # (P,) steps
        out[:, self._sections[_AFTER_POSITION]] &= (positions > state.position[:, None]) & (
            positions < state.bar_steps[:, None])
        self._forbid(out, rows, _AFTER_TIMESIG, state.meter)
        self._forbid(out, rows, _AFTER_TEMPO, state.tempo)
        if self.by_tracks:
            self._order_sections(out, state)
        elif self.has_programs:
            rank = state.ranks  # (rows, 129)
            out[:, self._sections[_AFTER_PROGRAM]] &= (rank < 0) | (rank > state.position_rank[:, None])
            self._forbid(out, rows, _AFTER_PROGRAM, state.program)
        pitches = self._section_values[_AFTER_PITCH]  # (128,)
        above = pitches >= state.chord_pitch[:, None] if self.unisons else pitches > state.chord_pitch[:, None]
        out[:, self._sections[_AFTER_PITCH]] &= self._pitch_ok[state.program] & above
        if self.unisons:
            self._order_unisons(out, state)
        out[:, self.eos_id] &= state.notes > 0
        if max_bars is not None:
            last = state.bars >= np.asarray(max_bars)
            out[:, self.bar_id] &= ~last
            room = state.bar_steps - state.position  # steps left in the bar, (rows,)
            durations = self._section_values[_AFTER_DURATION]
            out[:, self._sections[_AFTER_DURATION]] &= ~last[:, None] | (durations <= room[:, None])
        return out

    def _order_sections(self, out: np.ndarray, state: EventsGrammarState) -> None:
        """Tracks order: a section's program above the bar's previous one, and a conductor
        ``Position`` only while some tempo other than the one in force is left for it."""
        codes = self._section_values[_AFTER_PROGRAM]  # (129,)
        out[:, self._sections[_AFTER_PROGRAM]] &= codes > state.program[:, None]
        tempos_left = len(self._section_values[_AFTER_TEMPO]) - (state.tempo >= 0)  # (rows,)
        out[:, self._sections[_AFTER_POSITION]] &= ((state.program >= 0) | (tempos_left > 0))[:, None]

    def _forbid(self, out: np.ndarray, rows: np.ndarray, kind: int, value: np.ndarray) -> None:
        """Clear the ``kind`` token of ``value`` in each row where ``value >= 0``."""
        has = value >= 0
        out[rows[has], self._sections[kind].start + value[has]] = False

    def _order_unisons(self, out: np.ndarray, state: EventsGrammarState) -> None:
        """A doubled note (its pitch equals the previous note's in this program at this
        position) must not sort before it: a duration at least as long, and at equal
        durations a velocity bin at least as high."""
        doubled = (state.note_pitch == state.chord_pitch) & (state.chord_pitch >= 0)
        velocities = self._section_values[_AFTER_VELOCITY]
        longest = doubled & (state.chord_duration >= self._max_duration)
        out[:, self._sections[_AFTER_VELOCITY]] &= velocities >= np.where(longest, state.chord_velocity, 0)[:, None]
        shortest = np.where(state.note_velocity >= state.chord_velocity, state.chord_duration,
                            state.chord_duration + 1)
        durations = self._section_values[_AFTER_DURATION]
        out[:, self._sections[_AFTER_DURATION]] &= durations >= np.where(doubled, shortest, 1)[:, None]

    # --------------------------------------------------------------- advance
    def advance(self, state: EventsGrammarState, tokens) -> EventsGrammarState:
        """Read one token per row; updates ``state`` in place and returns it.

        Args:
            tokens: integer ids, shape ``(rows,)``.

        Raises:
            TokenizerError: naming the first token not allowed (``state`` is then unchanged).
        """
        tokens = self._checked_ids(tokens, (state.rows,))
        allowed = self.mask(state)
        ok = allowed[np.arange(state.rows), tokens]
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise self._rejection(state, allowed[row], row, int(tokens[row]))
        self._read(state, tokens, np.ones(state.rows, dtype=bool))
        return state

    def _read(self, s: EventsGrammarState, tokens: np.ndarray, live: np.ndarray) -> None:
        """Update the rows where ``live`` holds with their (allowed) ``tokens``."""
        kind = np.where(live, self._kind[tokens], -1)
        value = self._value[tokens]
        s.length += live
        s.last_token = np.where(live, tokens, s.last_token)
        is_bar, is_timesig, is_position = kind == _AFTER_BAR, kind == _AFTER_TIMESIG, kind == _AFTER_POSITION
        is_program, is_pitch, is_duration = kind == _AFTER_PROGRAM, kind == _AFTER_PITCH, kind == _AFTER_DURATION
        s.phase = np.where(is_bar, np.where(s.meter < 0, _AFTER_FIRST_BAR, _AFTER_BAR),
                           np.where(live & (kind != _PAD_KIND), kind, s.phase))
        if self.by_tracks:  # a Position before the bar's first Program holds a tempo change
            s.phase = np.where(is_position & (s.program < 0), _AFTER_TEMPO_POSITION, s.phase)
        s.bars += is_bar
        s.meter = np.where(is_timesig, value, s.meter)
        s.bar_steps = self._meter_steps[s.meter]  # meter -1 -> the last entry, 4/4
        new_place = is_bar | is_position
        restart = is_bar | is_program if self.by_tracks else is_bar  # positions count again from 0
        s.position = np.where(restart, -1, np.where(is_position, value, s.position))
        s.position_rank = np.where(new_place, -1, s.position_rank)
        s.chord_pitch = np.where(new_place | is_program, -1, s.chord_pitch)
        s.tempo = np.where(kind == _AFTER_TEMPO, value, s.tempo)
        if self.by_tracks:
            s.program = np.where(is_bar, -1, np.where(is_program, value, s.program))
        elif self.has_programs:
            where = np.flatnonzero(is_program)
            first = where[s.ranks[where, value[where]] < 0]
            s.ranks[first, value[first]] = s.programs_seen[first]
            s.programs_seen[first] += 1
            s.program = np.where(is_program, value, s.program)
            rank_now = s.ranks[np.arange(s.rows), np.maximum(s.program, 0)]
            s.position_rank = np.where(is_pitch, rank_now, s.position_rank)
        s.note_pitch = np.where(is_pitch, value, s.note_pitch)
        s.note_velocity = np.where(kind == _AFTER_VELOCITY, value, s.note_velocity)
        s.chord_pitch = np.where(is_duration, s.note_pitch, s.chord_pitch)
        s.chord_velocity = np.where(is_duration, s.note_velocity, s.chord_velocity)
        s.chord_duration = np.where(is_duration, value, s.chord_duration)
        s.notes += is_duration

    # ------------------------------------------------------- whole sequences
    def check(self, sequences, complete: bool = True) -> EventsGrammarState:
        """Check whole sequences, each from its ``BOS``.

        Args:
            sequences: ids, shape ``(T,)``, or a batch ``(rows, T)`` padded with ``PAD``
                after each row's ``EOS``.
            complete: require every row to end with ``EOS``; False accepts a prefix
                (a primer to continue from the returned state).

        Returns:
            The state after the last token, one row per sequence.

        Raises:
            TokenizerError: naming the first token not allowed, or a row left unfinished.
        """
        state, _ = self._run(sequences, complete, raise_errors=True)
        return state

    def accepts(self, sequences, complete: bool = True):
        """Whether :meth:`check` would pass (an id outside the vocabulary fails too): a
        bool for one sequence ``(T,)``, a ``(rows,)`` bool array for a batch ``(rows, T)``."""
        ids = np.asarray(sequences)
        _, ok = self._run(ids, complete, raise_errors=False)
        return bool(ok[0]) if ids.ndim == 1 else ok

    def _run(self, sequences, complete: bool, raise_errors: bool) -> tuple[EventsGrammarState, np.ndarray]:
        ids = np.asarray(sequences)
        if ids.ndim not in (1, 2):
            raise TokenizerError(f"token sequences must have shape (T,) or (rows, T), got {ids.shape}")
        ids = ids if ids.ndim == 2 else ids[None, :]  # (rows, T)
        in_vocabulary = np.ones(len(ids), dtype=bool)
        if not raise_errors and ids.size and np.issubdtype(ids.dtype, np.integer):
            in_vocabulary = ((ids >= 0) & (ids < self.vocab_size)).all(axis=1)
            ids = np.where(in_vocabulary[:, None], ids, self.pad_id)
        ids = self._checked_ids(ids, None)
        if ids.shape[1] == 0:
            if raise_errors:
                raise TokenizerError("an empty token sequence: it must start with BOS")
            return self.start(len(ids)), np.zeros(len(ids), dtype=bool)
        state = self.start(len(ids))
        live = (ids[:, 0] == self.bos_id) & in_vocabulary
        if raise_errors and not live.all():
            row = int(np.flatnonzero(~live)[0])
            raise TokenizerError(f"row {row} starts with {self._names[ids[row, 0]]}, not BOS")
        rows = np.arange(len(ids))
        for column in range(1, ids.shape[1]):
            tokens = ids[:, column]
            allowed = self.mask(state)
            ok = allowed[rows, tokens]
            if raise_errors and not ok.all():
                row = int(np.flatnonzero(~ok)[0])
                raise self._rejection(state, allowed[row], row, int(tokens[row]))
            live &= ok
            self._read(state, tokens, live)
        if complete:
            if raise_errors and not state.ended.all():
                row = int(np.flatnonzero(~state.ended)[0])
                raise TokenizerError(f"row {row} ends after {self._names[state.last_token[row]]} "
                                     f"(position {state.length[row] - 1}) without EOS")
            live &= state.ended
        return state, live

    # ---------------------------------------------------------------- errors
    def _checked_ids(self, tokens, shape) -> np.ndarray:
        ids = np.asarray(tokens)
        if shape is not None and ids.shape != shape:
            raise TokenizerError(f"expected {shape[0]} token ids (one per row), got shape {ids.shape}")
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise TokenizerError(f"token ids must be integers, got dtype {ids.dtype}")
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            bad = ids[(ids < 0) | (ids >= self.vocab_size)].flat[0]
            raise TokenizerError(f"token id {bad} is outside the vocabulary (0-{self.vocab_size - 1})")
        return ids

    def _rejection(self, state: EventsGrammarState, allowed: np.ndarray, row: int, token: int) -> TokenizerError:
        """The one-line error for ``token`` read where it is not allowed."""
        where = f"row {row}, " if state.rows > 1 else ""
        return TokenizerError(
            f"{self._names[token]} is not allowed at position {int(state.length[row])} ({where}after "
            f"{self._names[state.last_token[row]]}); allowed there: {self._describe(allowed)}"
        )

    def _describe(self, allowed: np.ndarray) -> str:
        """Allowed tokens of one row, by kind: ``Position_4..Position_15, Bar, EOS``."""
        parts = []
        for kind, ids in self._sections.items():
            chosen = np.flatnonzero(allowed[ids]) + ids.start
            if not len(chosen):
                continue
            if len(chosen) == 1:
                parts.append(self._names[chosen[0]])
            elif chosen[-1] - chosen[0] + 1 == len(chosen):
                parts.append(f"{self._names[chosen[0]]}..{self._names[chosen[-1]]}")
            else:
                parts.append(f"{len(chosen)} {_KIND_NAMES[kind]} tokens")
        return ", ".join(parts)
