"""Accompaniment: keep the given tracks of a piece note for note and let an event-token
model write the other instruments around them.

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

Times are in beats (a beat is a quarter note).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seqart.errors import ScoreError, TokenizerError
from seqart.generate.constraints import allowed_pitch_classes
from seqart.generate.events_grammar import EventsGrammar
from seqart.generate.melody import SamplingOptions, draw_tokens
from seqart.score import Note, Score, Track
from seqart.tokenizers.events import DRUM_PROGRAM, EventsTokenizer

#: Most tokens the model may write per bar of the given piece.
MAX_TOKENS_PER_BAR = 2048


@dataclass
class GivenBar:
    """One bar of the given piece as tokens.

    Attributes:
        header: ``Bar``, an optional ``TimeSig`` and the bar's ``Position Tempo`` pairs.
        sections: ``(program code, tokens)`` in ascending program; tokens start with
            that ``Program`` token.
    """

    header: list[int]
    sections: list[tuple[int, list[int]]]


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
    known = sorted(set(int(p) for p in model_programs))
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


class Accompanist:
    """Writes the other instruments of a piece around its given tracks.

    Args:
        lm: an object with ``step(tokens (B,), state) -> (logits (B, V), state)`` and
            ``run(tokens (B, T), state) -> (logits (B, V), state)``.
        tokenizer: the model's events tokenizer; its ``order`` must be ``"tracks"``.
        programs: the program codes the model writes (``programs.json``).
    """

    def __init__(self, lm, tokenizer: EventsTokenizer, programs: Sequence[int] | None):
        if tokenizer.config.order != "tracks":
            raise ScoreError("this model cannot accompany: it was trained on events tokens in time order; "
                             "accompaniment needs a corpus built with --set order=tracks")
        self.lm = lm
        self.tok = tokenizer
        self.programs = tuple(programs) if programs is not None else tuple(range(DRUM_PROGRAM + 1))

    def accompany(self, given: Score, num: int, options: SamplingOptions, rng: np.random.Generator,
                  as_programs: Sequence[int] | None = None) -> list[Score]:
        """``num`` pieces: ``given``'s tracks unchanged plus the model's other instruments.

        Honoured options: ``temperature``, ``top_k``, ``top_p``, ``key``/``scale`` and
        ``pitch_range`` (of the written instruments only; the given notes stay as they are).

        Returns:
            ``num`` scores (notes in beats): the given tracks first, then one track per
            instrument written, as long as the given piece.

        Raises:
            ScoreError: for a piece without notes, one the tokenizer cannot hold, or
                programs that do not fit the model.
        """
        options.check()
        if not 1 <= num <= 10_000:
            raise ScoreError(f"num must be 1-10000, got {num}")
        tracks = [t for t in given.tracks if t.notes]
        if not tracks:
            raise ScoreError(f"{given.source or 'the given piece'}: no notes to accompany")
        codes = given_programs(tracks, self.programs, as_programs)
        as_read = Score(tracks=[Track(notes=t.notes, program=0 if c == DRUM_PROGRAM else c, is_drum=c == DRUM_PROGRAM)
                                for t, c in zip(tracks, codes)],
                        tempos=given.tempos, time_signatures=given.time_signatures)
        try:
            bars = split_bars(self.tok.encode(as_read), self.tok)
        except TokenizerError as exc:
            raise ScoreError(f"{given.source or 'the given piece'}: {exc}") from None
        written = [p for p in self.programs if p not in codes]
        grammar = self._grammar(codes, written, options, bars)
        rows = self._write(grammar, bars, set(codes), num, options, rng)
        return [self._to_score(given, row, written) for row in rows]

    # ------------------------------------------------------------ helpers
    def _grammar(self, given: list[int], written: list[int], options: SamplingOptions,
                 bars: list[GivenBar]) -> EventsGrammar:
        """The grammar: every program of the piece, key and range on the written ones;
        doubled notes allowed only when the given tracks have one."""
        pitched = [p for p in written if p != DRUM_PROGRAM]
        classes = allowed_pitch_classes(options.key, options.scale)
        settings = dict(
            programs=sorted(set(given) | set(written)),
            pitch_ranges={p: tuple(options.pitch_range) for p in pitched} if options.pitch_range else None,
            pitch_classes={p: sorted(classes) for p in pitched} if classes is not None and pitched else None)
        flat = [self.tok.BOS_ID] + [t for bar in bars for t in bar.header + [x for _, s in bar.sections for x in s]]
        strict = EventsGrammar(self.tok, **settings)
        if strict.accepts(flat + [self.tok.EOS_ID]):
            return strict
        return EventsGrammar(self.tok, unisons=True, **settings)

    def _write(self, grammar: EventsGrammar, bars: list[GivenBar], given: set[int], num: int,
               options: SamplingOptions, rng: np.random.Generator) -> np.ndarray:
        """Run the rows to their ends; returns ``(num, T)`` ids after ``BOS``, PAD-padded."""
        tok = self.tok
        bar_id = tok.token_id("Bar")
        program_ids = np.array([tok.token_id(f"Program_{p}" if p != DRUM_PROGRAM else "Program_drum")
                                for p in range(DRUM_PROGRAM + 1)])
        meter_ids = [tok.token_id(f"TimeSig_{n}/{d}") for n, d in tok.time_signatures]
        tempo_ids = [tok.token_id(f"Tempo_{int(v)}") for v in tok.tempo_values]
        position_ids = [tok.token_id(f"Position_{k}") for k in range(tok.n_positions)]
        given_ids = program_ids[sorted(given)]
        state = grammar.start(num)
        queue: list[list[int]] = [[] for _ in range(num)]  # tokens to feed as they are, per row
        pending: list[list[tuple[int, list[int]]]] = [[] for _ in range(num)]  # given sections to come
        bar_of = np.full(num, -1)
        in_section = np.zeros(num, dtype=bool)
        logits, lm_state = self.lm.run(np.full((num, 1), tok.BOS_ID), None)
        drawn: list[np.ndarray] = []
        limit = MAX_TOKENS_PER_BAR * len(bars) + sum(len(b.header) for b in bars)
        while not state.ended.all():
            if len(drawn) >= limit:
                raise ScoreError(f"accompaniment drew {limit} tokens without finishing {len(bars)} bars")
            grammatical = grammar.mask(state, max_bars=len(bars))
            allowed = grammatical.copy()
            allowed[:, meter_ids + tempo_ids] = False
            allowed[~in_section[:, None] & np.isin(np.arange(allowed.shape[1]), position_ids)[None, :]] = False
            allowed[:, given_ids] = False
            for row in range(num):
                if pending[row]:
                    next_given = program_ids[pending[row][0][0]]
                    allowed[row, next_given] = grammatical[row, next_given]
                    allowed[row, program_ids[pending[row][0][0] + 1:]] = False
                    allowed[row, [bar_id, tok.EOS_ID]] = False
                elif bar_of[row] < len(bars) - 1:
                    allowed[row, tok.EOS_ID] = False
            forced = np.array([bool(q) for q in queue])
            closing = (state.bars >= len(bars)) & allowed[:, tok.EOS_ID]
            if closing.any():
                logits = logits.copy()
                logits[closing, tok.EOS_ID] = np.logaddexp(logits[closing, tok.EOS_ID], logits[closing, bar_id])
            free = ~forced & ~state.ended
            if (free & ~allowed.any(axis=1)).any():
                raise ScoreError("accompaniment reached a point where the model may write nothing")
            choice = np.full(num, tok.PAD_ID)
            if free.any():
                choice[free] = draw_tokens(logits[free], allowed[free], options, rng)
            for row in np.flatnonzero(forced):
                choice[row] = queue[row].pop(0)
            for row in np.flatnonzero(~state.ended):
                token = int(choice[row])
                if token == bar_id:
                    bar_of[row] += 1
                    in_section[row] = False
                    if not forced[row]:
                        queue[row] = list(bars[bar_of[row]].header[1:])
                    pending[row] = list(bars[bar_of[row]].sections)
                elif tok.program_of(token) is not None:
                    in_section[row] = True
                    if not forced[row] and pending[row] and tok.program_of(token) == pending[row][0][0]:
                        queue[row] = list(pending[row].pop(0)[1][1:])
            grammar.advance(state, choice)
            drawn.append(choice)
            logits, lm_state = self.lm.step(choice, lm_state)
        return np.stack(drawn, axis=1)

    def _to_score(self, given: Score, row: np.ndarray, written: list[int]) -> Score:
        """The given piece with the written instruments added as tracks, cut at its last bar line."""
        tok = self.tok
        tokens = np.concatenate([[tok.BOS_ID], row[row != tok.PAD_ID]])
        whole = tok.decode(tokens)
        bars = int((tokens == tok.token_id("Bar")).sum())
        end = whole.bar_starts(max((n.end for t in whole.tracks for n in t.notes), default=0.0) + 64 * 8)[bars]
        score = given.copy()
        for program in written:
            drum = program == DRUM_PROGRAM
            notes = [n if n.end <= end else Note(n.pitch, n.start, end - n.start, n.velocity)
                     for t in whole.tracks if (DRUM_PROGRAM if t.is_drum else t.program) == program
                     for n in t.notes]
            if notes:
                score.tracks.append(Track(notes=notes, program=0 if drum else program, is_drum=drum,
                                          name="drums" if drum else f"program {program}"))
        return score


def _names(programs: Sequence[int]) -> str:
    return ", ".join("drums" if p == DRUM_PROGRAM else f"program {p}" for p in programs)
