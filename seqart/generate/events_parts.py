"""Writing some parts of a piece around the given ones with an event-token model:
accompaniment (keep the given tracks, write the other instruments) and infilling
(write again some bars of one track, or of all, keeping everything else).

The model must have been trained on ``order="tracks"`` event tokens
(:class:`~seqart.tokenizers.events.EventsConfig`): there every bar is written as one
section per instrument, in ascending program, so the instrument with the lowest
program is read a whole bar ahead of the others. That is the conditioning order
accompaniment needs, and it costs nothing at training time: the model learns to write
the chords (or the alto, tenor and bass) of a bar after reading that bar's melody (or
soprano), exactly as it will be asked to. Anticipation-style interleaving (the given
notes a fixed time ahead of the generated ones) would allow any track to be the given
one, but needs a separate training order and a window hyperparameter; with one order
per corpus a given track that is not first is still honoured (its section is inserted
where its program falls), it is only read later in the bar.

How a row is written, bar by bar: the given bar's ``Bar``, ``TimeSig`` and tempo tokens
are fed to the model as they are; then the model writes sections of its own
instruments, and where the next given instrument's program falls (the model writes its
``Program`` token, or has no other instrument left before it), that section is fed
verbatim. ``Bar`` and ``EOS`` wait until every given section of the bar is in; the
piece ends with the given piece's last bar, where the model's wish for another bar
goes to ending the piece. Everything drawn passes :class:`EventsGrammar`, so the
result decodes, and the given tracks come back unchanged (with their own programs,
names and every note).

Infilling (``seqart infill song.mid --bars 5-8 [--track 2]``) runs the same loop with
another plan: bars before and after the span are fed whole; in the span the other
tracks' sections are fed and the chosen track's written (or every track's, without
``--track``). A left-to-right model reads the bars after the span only after writing
it, so ``candidates`` spans are written and one is drawn in proportion to the
probability the model gives to everything fed after the span began (sampling
importance resampling: the drawn span follows the model's distribution given what
comes before *and* after, as the number of candidates grows). No separate training is
needed; the cost is ``candidates`` times the tokens after the span's start.

Times are in beats (a beat is a quarter note).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seqart.errors import ScoreError, TokenizerError
from seqart.generate.events import (
    MAX_TOKENS_PER_BAR,
    check_num,
    constrained_grammar,
    cut_notes,
    last_bar_line,
    new_track,
    program_code,
)
from seqart.generate.events_grammar import EventsGrammar
from seqart.generate.melody import SamplingOptions, draw_tokens
from seqart.score import Note, Score, Track
from seqart.tokenizers.events import DRUM_PROGRAM, EventsTokenizer


@dataclass
class GivenBar:
    """One bar of the given piece as tokens, and what the model may write in it.

    Attributes:
        header: ``Bar``, an optional ``TimeSig`` and the bar's ``Position Tempo`` pairs.
        sections: ``(program code, tokens)`` in ascending program; tokens start with
            that ``Program`` token.
        writable: the program codes the model may write sections for in this bar.
    """

    header: list[int]
    sections: list[tuple[int, list[int]]]
    writable: frozenset = frozenset()


def given_programs(tracks: Sequence[Track], model_programs: Sequence[int],
                   as_programs: Sequence[int] | None = None) -> list[int]:
    """The program code each given track is read as (one per track, in order).

    By default the given pitched tracks become the model's lowest pitched programs, in
    order (the first given track is read as the instrument the model reads first in
    each bar: the melody of a melody-and-chords model, the soprano of a chorale model);
    a drum track is read as the model's drums.

    Args:
        tracks: the given tracks (those with notes).
        model_programs: the program codes the model writes (0-127, 128 for drums).
        as_programs: one program code per given track, to choose instead.

    Raises:
        ScoreError: too many given tracks, a program the model does not know, or one
            named twice.
    """
    known = sorted({int(p) for p in model_programs})
    if as_programs is not None:
        chosen = [int(p) for p in as_programs]
        if len(chosen) != len(tracks):
            raise ScoreError(f"--as names {len(chosen)} program(s) for {len(tracks)} given track(s)")
        unknown = [p for p in chosen if p not in known]
        if unknown:
            raise ScoreError(f"program {unknown[0]} is not one this model writes ({_names(known)})")
    else:
        pitched = [p for p in known if p != DRUM_PROGRAM]
        chosen, next_pitched = [], 0
        for track in tracks:
            if track.is_drum:
                if DRUM_PROGRAM not in known:
                    raise ScoreError("the given piece has drums, and this model writes none")
                chosen.append(DRUM_PROGRAM)
                continue
            if next_pitched >= len(pitched):
                raise ScoreError(f"the given piece has more pitched tracks than this model has instruments "
                                 f"({_names(known)}); name the ones to keep with --track")
            chosen.append(pitched[next_pitched])
            next_pitched += 1
    if len(set(chosen)) != len(chosen):
        raise ScoreError(f"two given tracks would be read as the same instrument ({_names(chosen)})")
    if set(chosen) >= set(known):
        raise ScoreError(f"nothing left to write: the given tracks take every instrument of the model "
                         f"({_names(known)})")
    return chosen


def split_bars(ids: Sequence[int], tok: EventsTokenizer) -> list[GivenBar]:
    """Cut a tracks-order token sequence (``BOS .. EOS``) into its bars."""
    bar_id = tok.token_id("Bar")
    bars: list[GivenBar] = []
    section: list[int] | None = None
    for token in ids:
        token = int(token)
        if token in (tok.BOS_ID, tok.EOS_ID, tok.PAD_ID):
            continue
        if token == bar_id:
            bars.append(GivenBar([token], []))
            section = None
        elif tok.program_of(token) is not None:
            section = [token]
            bars[-1].sections.append((tok.program_of(token), section))
        elif section is not None:
            section.append(token)
        else:
            bars[-1].header.append(token)
    return bars


class PartWriter:
    """Writes some parts of a piece around the given ones (module docstring).

    Args:
        lm: an object with ``step(tokens (B,), state) -> (logits (B, V), state)`` and
            ``run(tokens (B, T), state) -> (logits (B, V), state)``.
        tokenizer: the model's events tokenizer; its ``order`` must be ``"tracks"``.
        programs: the program codes the model writes (``programs.json``).
    """

    def __init__(self, lm, tokenizer: EventsTokenizer, programs: Sequence[int] | None):
        if tokenizer.config.order != "tracks":
            raise ScoreError("this model cannot write parts around given ones: it was trained on events tokens "
                             "in time order; accompaniment and infilling need a corpus built with --set order=tracks")
        self.lm = lm
        self.tok = tokenizer
        self.programs = tuple(programs) if programs is not None else tuple(range(DRUM_PROGRAM + 1))

    # ------------------------------------------------------------ accompany
    def accompany(self, given: Score, num: int, options: SamplingOptions, rng: np.random.Generator,
                  as_programs: Sequence[int] | None = None, ranges=None, below: bool = True,
                  parallels: bool = True) -> list[Score]:
        """``num`` pieces: ``given``'s tracks unchanged plus the model's other instruments.

        Honoured options: ``temperature``, ``top_k``, ``top_p``, ``key``/``scale`` and
        ``pitch_range`` (of the written instruments only; the given notes stay as they are);
        ``ranges`` (program -> range) for single written instruments. With ``below`` (the
        default) a written note is never higher than the given notes sounding where it
        starts (the parts stay under the melody, no voice crosses above the soprano),
        unless a part's range leaves it no pitch there. With ``parallels=False`` no written
        note moves in parallel fifths or octaves (unisons) with a voice sounding beside
        it (four-part writing; block chords, which move in parallel, want the default).

        Returns:
            ``num`` scores (notes in beats): the given tracks first, then one track per
            instrument written, as long as the given piece.

        Raises:
            ScoreError: for a piece without notes, one the tokenizer cannot hold, or
                programs that do not fit the model.
        """
        check_num(num)
        tracks = [t for t in given.tracks if t.notes]
        if not tracks:
            raise ScoreError(f"{given.source or 'the given piece'}: no notes to accompany")
        codes = given_programs(tracks, self.programs, as_programs)
        as_read = Score(tracks=[new_track(c, t.notes) for t, c in zip(tracks, codes)],
                        tempos=given.tempos, time_signatures=given.time_signatures)
        written = frozenset(p for p in self.programs if p not in codes)
        bars = self._bars(as_read, given.source)
        for bar in bars:
            bar.writable = written
        starts = as_read.bar_starts(as_read.end + 64 * 8)[:len(bars)]  # beats
        ceilings = self._ceilings(as_read, starts) if below else None
        guard = None if parallels else _NoParallels(self.tok, as_read, starts, num)
        rows, _ = self._write(bars, set(codes) | written, written, num, options, rng, ranges=ranges,
                              ceilings=ceilings, guard=guard)
        out = []
        for row in rows:
            whole = self._decode(row)
            end = last_bar_line(whole, len(bars))
            score = given.copy()
            for program in sorted(written):
                notes = cut_notes(_notes_of(whole, program), end)
                if notes:
                    score.tracks.append(new_track(program, notes))
            out.append(score)
        return out

    def _ceilings(self, given: Score, starts: list[float]) -> np.ndarray:
        """``(bars, positions)``: the highest given pitch sounding at each grid step of
        each bar (bar lines at ``starts``, beats), 127 where none sounds."""
        spb = self.tok.config.steps_per_beat
        n_bars = len(starts)
        out = np.full((n_bars, self.tok.n_positions), 127, dtype=np.int64)
        grid = np.arange(self.tok.n_positions) / spb  # beats from the bar line
        highest = np.full((n_bars, self.tok.n_positions), -1, dtype=np.int64)
        for note in (n for t in given.tracks if not t.is_drum for n in t.notes):
            first = max(bisect.bisect_right(starts, note.start + 1e-9) - 1, 0)
            for b in range(first, bisect.bisect_left(starts, note.end - 1e-9)):
                at = (starts[b] + grid >= note.start - 1e-9) & (starts[b] + grid < note.end - 1e-9)
                highest[b, at] = np.maximum(highest[b, at], note.pitch)
        return np.where(highest >= 0, highest, out)

    # --------------------------------------------------------------- infill
    def infill(self, piece: Score, first_bar: int, last_bar: int, track: int | None, num: int,
               options: SamplingOptions, rng: np.random.Generator, candidates: int = 8,
               ranges=None) -> list[Score]:
        """``num`` versions of ``piece`` with bars ``first_bar``-``last_bar`` (from 1,
        inclusive) written again: of track number ``track`` (from 1), or of every track.

        Every note outside the span stays as it is; a note of a rewritten track that
        starts in the span is replaced, and the written notes end by the span's last bar
        line. Of ``candidates`` spans written per version, one is drawn in proportion to
        the model's probability of what follows (module docstring).

        Raises:
            ScoreError: a span outside the piece, a track that does not exist or has no
                program the model may write, bad options.
        """
        check_num(num)
        if not 1 <= candidates <= 256:
            raise ScoreError(f"candidates must be 1-256, got {candidates}")
        if piece.num_notes == 0:
            raise ScoreError(f"{piece.source or 'the piece'}: no notes")
        codes = [program_code(t) for t in piece.tracks]
        bars = self._bars(piece, piece.source)
        if not 1 <= first_bar <= last_bar <= len(bars):
            raise ScoreError(f"bars {first_bar}-{last_bar} are not within the piece's {len(bars)} bars")
        if track is not None:
            if not 1 <= track <= len(piece.tracks):
                raise ScoreError(f"track {track} is not one of the piece's tracks (1-{len(piece.tracks)})")
            targets = {codes[track - 1]}
        else:
            targets = set(codes) | set(self.programs)
        for number, bar in enumerate(bars, start=1):
            if first_bar <= number <= last_bar:
                bar.sections = [(p, s) for p, s in bar.sections if p not in targets]
                bar.writable = frozenset(targets)
        rows, weights = self._write(bars, set(codes) | targets, frozenset(targets), num * candidates, options,
                                    rng, weigh_from=first_bar, ranges=ranges)
        starts = piece.bar_starts(piece.end + 64 * 8)
        span = (starts[first_bar - 1], starts[last_bar])
        out = []
        for version in range(num):
            block = weights[version * candidates:(version + 1) * candidates]
            chances = np.exp(block - block.max())
            pick = version * candidates + int(rng.choice(candidates, p=chances / chances.sum()))
            out.append(self._spliced(piece, self._decode(rows[pick]), targets, span))
        return out

    def _spliced(self, piece: Score, whole: Score, targets: set[int], span: tuple[float, float]) -> Score:
        """``piece`` with the notes of ``targets`` that start in ``span`` replaced by ``whole``'s."""
        start, end = span
        score = piece.copy()

        def inside(note: Note) -> bool:
            return start - 1e-9 <= note.start < end - 1e-9

        for track in score.tracks:
            if program_code(track) in targets:
                track.notes = [n for n in track.notes if not inside(n)]
        for program in sorted(targets):
            notes = cut_notes([n for n in _notes_of(whole, program) if inside(n)], end)
            if not notes:
                continue
            home = next((t for t in score.tracks if program_code(t) == program), None)
            if home is None:
                home = new_track(program, [])
                score.tracks.append(home)
            home.notes = sorted(home.notes + notes, key=lambda n: (n.start, n.pitch))
        return score

    # ------------------------------------------------------------ the loop
    def _bars(self, score: Score, source: str) -> list[GivenBar]:
        try:
            return split_bars(self.tok.encode(score), self.tok)
        except TokenizerError as exc:
            raise ScoreError(f"{source or 'the given piece'}: {exc}") from None

    def _grammar(self, programs: set[int], written: frozenset, options: SamplingOptions,
                 bars: list[GivenBar], ranges=None) -> EventsGrammar:
        """The grammar: every program of the piece, key and range on the written ones;
        doubled notes allowed only when the given tracks have one."""
        pitched = [p for p in written if p != DRUM_PROGRAM]
        flat = [self.tok.BOS_ID] + [t for bar in bars for t in bar.header + [x for _, s in bar.sections for x in s]]
        strict = constrained_grammar(self.tok, programs, pitched, options, ranges)
        if strict.accepts(flat + [self.tok.EOS_ID]):
            return strict
        return constrained_grammar(self.tok, programs, pitched, options, ranges, unisons=True)

    def _write(self, bars: list[GivenBar], programs: set[int], written: frozenset, num: int,
               options: SamplingOptions, rng: np.random.Generator,
               weigh_from: int | None = None, ranges=None,
               ceilings: np.ndarray | None = None,
               guard: _NoParallels | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Run ``num`` rows through ``bars``: header and given sections fed, the rest drawn.

        Args:
            weigh_from: sum, per row, the log-probability of what the plan decides (the
                tokens fed, and draws with a single choice) from this bar (from 1) on.
            ceilings: ``(bars, positions)``: the highest pitch a written note may have at
                each grid position of each bar (None: any).
            guard: forbids written notes that move in parallel fifths or octaves (None: free).

        Returns:
            ``(rows, weights)``: ids after ``BOS`` ``(num, T)``, PAD-padded, and the
            ``(num,)`` summed log-probabilities (0 without ``weigh_from``).
        """
        options.check()
        tok = self.tok
        grammar = self._grammar(programs, written, options, bars, ranges)
        plan = _Plan(tok, bars, num, ceilings, guard)
        state = grammar.start(num)
        weights = np.zeros(num)
        logits, lm_state = self.lm.run(np.full((num, 1), tok.BOS_ID), None)
        drawn: list[np.ndarray] = []
        limit = MAX_TOKENS_PER_BAR * len(bars) + sum(len(b.header) + sum(len(s) for _, s in b.sections) for b in bars)
        while not state.ended.all():
            if len(drawn) >= limit:
                raise ScoreError(f"writing drew {limit} tokens without finishing {len(bars)} bars")
            allowed = plan.allowed(grammar.mask(state, max_bars=len(bars)), state)
            forced = plan.forced()
            closing = (state.bars >= len(bars)) & allowed[:, tok.EOS_ID]
            if closing.any():  # in the last bar, the wish for another bar ends the piece
                logits = logits.copy()
                logits[closing, tok.EOS_ID] = np.logaddexp(logits[closing, tok.EOS_ID], logits[closing, plan.bar_id])
            free = ~forced & ~state.ended
            if (free & ~allowed.any(axis=1)).any():
                raise ScoreError("writing reached a point where the model may write nothing")
            choice = np.full(num, tok.PAD_ID)
            if free.any():
                choice[free] = draw_tokens(logits[free], allowed[free], options, rng)
            choice[forced] = plan.feed(forced)
            if weigh_from is not None:
                weigh = (forced | (free & (allowed.sum(axis=1) == 1))) & (plan.bar_of >= weigh_from - 1)
                if weigh.any():
                    shifted = logits[weigh] - logits[weigh].max(axis=1, keepdims=True)
                    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
                    weights[weigh] += log_p[np.arange(int(weigh.sum())), choice[weigh]]
            plan.read(choice, forced, ~state.ended, state)
            grammar.advance(state, choice)
            drawn.append(choice)
            logits, lm_state = self.lm.step(choice, lm_state)
        return np.stack(drawn, axis=1), weights

    def _decode(self, row: np.ndarray) -> Score:
        tok = self.tok
        return tok.decode(np.concatenate([[tok.BOS_ID], row[row != tok.PAD_ID]]))


class _Plan:
    """Where each row stands in the plan of :meth:`PartWriter._write`: the tokens to feed
    next, the given sections still to come in its bar, and whether it is in a section
    the model writes.

    Args:
        tok: the tracks-order events tokenizer.
        bars: the plan, bar by bar.
        num: rows.
        ceilings: ``(bars, positions)`` highest written pitch per grid step, or None.
    """

    def __init__(self, tok: EventsTokenizer, bars: list[GivenBar], num: int, ceilings: np.ndarray | None,
                 guard: _NoParallels | None = None):
        self.tok, self.bars, self.ceilings, self.guard = tok, bars, ceilings, guard
        self.bar_id = tok.token_id("Bar")
        self.program_ids = np.array([tok.token_id(f"Program_{p}" if p != DRUM_PROGRAM else "Program_drum")
                                     for p in range(DRUM_PROGRAM + 1)])
        self.writable_ids = [self.program_ids[sorted(bar.writable)] for bar in bars]
        self.structure = [tok.token_id(f"TimeSig_{n}/{d}") for n, d in tok.time_signatures]
        self.structure += [tok.token_id(f"Tempo_{int(v)}") for v in tok.tempo_values]
        self.pitch_ids = np.array([tok.token_id(f"Pitch_{k}") for k in range(128)])
        self.note_ids = [tok.token_id(f"Position_{k}") for k in range(tok.n_positions)] + self.pitch_ids.tolist()
        self.queue: list[list[int]] = [[] for _ in range(num)]  # tokens to feed as they are
        self.pending: list[list[tuple[int, list[int]]]] = [[] for _ in range(num)]  # given sections to come
        self.bar_of = np.full(num, -1)  # bar index (from 0) each row is in
        self.writing = np.zeros(num, dtype=bool)  # in a section the model writes

    def forced(self) -> np.ndarray:
        """``(rows,)`` bool: the row's next token is fed, not drawn."""
        return np.array([bool(q) for q in self.queue])

    def feed(self, rows: np.ndarray) -> list[int]:
        """The next fed token of each row where ``rows`` holds (taken off its queue)."""
        return [self.queue[row].pop(0) for row in np.flatnonzero(rows)]

    def allowed(self, grammatical: np.ndarray, state) -> np.ndarray:
        """What the model may draw: the grammar's tokens (``(rows, V)``), less meter and
        tempo (the given piece's), notes outside the sections it writes, programs it
        does not write in this bar, notes above the ceiling; ``Bar`` and ``EOS`` wait for
        the bar's given sections, ``EOS`` for the last bar."""
        allowed = grammatical.copy()
        allowed[:, self.structure] = False
        allowed[:, self.program_ids] = False
        allowed[:, self.note_ids] &= self.writing[:, None]
        if self.ceilings is not None:
            self._under_ceilings(allowed, state)
        if self.guard is not None:
            for row in np.flatnonzero(self.writing & ~state.ended):
                self._keep_some_pitch(allowed, row, self.guard.forbidden(row, int(self.bar_of[row]), state))
        for row in np.flatnonzero(~state.ended):
            writable = self.writable_ids[max(int(self.bar_of[row]), 0)]
            allowed[row, writable] = grammatical[row, writable]
            if self.pending[row]:
                program = self.pending[row][0][0]
                allowed[row, self.program_ids[program]] = grammatical[row, self.program_ids[program]]
                allowed[row, self.program_ids[program + 1:]] = False
                allowed[row, [self.bar_id, self.tok.EOS_ID]] = False
            elif self.bar_of[row] < len(self.bars) - 1:
                allowed[row, self.tok.EOS_ID] = False
        return allowed

    def _under_ceilings(self, allowed: np.ndarray, state) -> None:
        """Written notes stay at or below the given notes sounding where they start. Where
        no pitch is left the chord stops there; where a pitch must come (straight after a
        Position) and the ranges leave none under the ceiling, the range wins."""
        rows = np.flatnonzero(self.writing & ~state.ended)
        if not len(rows):
            return
        top = self.ceilings[np.maximum(self.bar_of[rows], 0), np.maximum(state.position[rows], 0)]
        under = allowed[rows[:, None], self.pitch_ids[None, :]] & (np.arange(128)[None, :] <= top[:, None])
        others = allowed[rows].copy()
        others[:, self.pitch_ids] = False
        keep = under.any(axis=1) | others.any(axis=1)
        allowed[rows[keep, None], self.pitch_ids[None, :]] = under[keep]

    def _keep_some_pitch(self, allowed: np.ndarray, row: int, forbidden: np.ndarray) -> None:
        """Clear the ``(128,)`` ``forbidden`` pitches of ``row`` unless that leaves it nothing to draw."""
        if not forbidden.any():
            return
        kept = allowed[row].copy()
        kept[self.pitch_ids[forbidden]] = False
        if kept.any():
            allowed[row] = kept

    def read(self, choice: np.ndarray, forced: np.ndarray, live: np.ndarray, state) -> None:
        """Move each live row on past its token: a ``Bar`` opens the next bar of the plan
        (its header is fed), the ``Program`` of the next given section feeds that section.
        ``state`` is the grammar state before the token."""
        for row in np.flatnonzero(live):
            token = int(choice[row])
            if self.guard is not None and self.writing[row]:
                self.guard.read(row, token, int(self.bar_of[row]), state)
            program = self.tok.program_of(token)
            if token == self.bar_id:
                self.bar_of[row] += 1
                self.writing[row] = False
                bar = self.bars[self.bar_of[row]]
                if not forced[row]:
                    self.queue[row] = list(bar.header[1:])
                self.pending[row] = list(bar.sections)
            elif program is not None:
                given_now = not forced[row] and bool(self.pending[row]) and program == self.pending[row][0][0]
                self.writing[row] = not given_now
                if given_now:
                    self.queue[row] = list(self.pending[row].pop(0)[1][1:])


class _NoParallels:
    """Keeps written notes out of parallel fifths and octaves (and unisons).

    A note of voice ``v`` starting at step ``t`` with pitch ``x`` is forbidden when, for
    another voice ``u`` sounding just before ``t`` and at ``t``, the interval between
    ``v`` and ``u`` just before ``t`` is a perfect fifth or octave (mod 12) and ``x`` keeps
    that interval while both voices move in the same direction. A voice's pitch at a
    step is its highest note sounding there. Times are grid steps from the piece's start.

    Args:
        tok: the events tokenizer (its grid).
        given: the given tracks, as the model reads them (programs).
        starts: the plan's bar lines, in beats.
        num: rows.
    """

    def __init__(self, tok: EventsTokenizer, given: Score, starts: list[float], num: int):
        spb = tok.config.steps_per_beat
        self.tok = tok
        self.bar_start = [int(round(b * spb)) for b in starts]
        fixed: dict[int, list[tuple[int, int, int]]] = {}
        for track in given.tracks:
            if not track.is_drum:
                fixed.setdefault(int(track.program), []).extend(
                    (int(round(n.start * spb)), int(round(n.end * spb)), n.pitch) for n in track.notes)
        self.notes = [{p: list(v) for p, v in fixed.items()} for _ in range(num)]  # per row: program -> notes
        self.open: list[tuple[int, int, int] | None] = [None] * num  # (program, onset, pitch) awaiting its duration
        self.durations = np.zeros(tok.vocab_size, dtype=np.int64)
        for k in range(1, tok.max_duration_steps + 1):
            self.durations[tok.token_id(f"Duration_{k}")] = k

    def _pitch(self, row: int, program: int, step: int) -> int | None:
        sounding = [p for on, off, p in self.notes[row].get(program, ()) if on <= step < off]
        return max(sounding) if sounding else None

    def forbidden(self, row: int, bar: int, state) -> np.ndarray:
        """``(128,)`` bool: the pitches voice ``state.program[row]`` may not take at its
        current position."""
        out = np.zeros(128, dtype=bool)
        voice, position = int(state.program[row]), int(state.position[row])
        if voice < 0 or position < 0 or bar < 0:
            return out
        step = self.bar_start[bar] + position
        before = self._pitch(row, voice, step - 1)
        if before is None:
            return out
        pitches = np.arange(128)
        own = np.sign(pitches - before)
        for other in self.notes[row]:
            if other == voice:
                continue
            then, now = self._pitch(row, other, step - 1), self._pitch(row, other, step)
            if then is None or now is None or now == then:
                continue
            interval = abs(before - then) % 12
            if interval in (0, 7):
                out |= (np.abs(pitches - now) % 12 == interval) & (own == np.sign(now - then))
        return out

    def read(self, row: int, token: int, bar: int, state) -> None:
        """Note a written note: its pitch and onset at ``Pitch``, its end at ``Duration``."""
        pitch = self.tok.pitch_of(token)
        if pitch is not None and bar >= 0:
            self.open[row] = (int(state.program[row]), self.bar_start[bar] + int(state.position[row]), pitch)
        elif self.durations[token] and self.open[row] is not None:
            program, onset, pitch = self.open[row]
            self.notes[row].setdefault(program, []).append((onset, onset + int(self.durations[token]), pitch))
            self.open[row] = None


def _notes_of(score: Score, program: int) -> list[Note]:
    return [n for t in score.tracks if program_code(t) == program for n in t.notes]


def _names(programs: Sequence[int]) -> str:
    return ", ".join("drums" if p == DRUM_PROGRAM else f"program {p}" for p in programs)
