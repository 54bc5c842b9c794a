"""Sampling multi-track event tokens (:class:`~seqart.tokenizers.events.EventsTokenizer`)
from a next-token model, constrained by :class:`~seqart.generate.events_grammar.EventsGrammar`.

Every drawn token is one the grammar allows, so every sample decodes, and re-encodes
to the same tokens. The grammar also holds a sample to the programs the model was
trained on (or the primer uses), each pitched program to a pitch range and, with a
key, to its scale (drums are never held to a key), and makes each row end within the
last bar asked for (``bars`` after the primer's): there, the probability the model
gives to a new bar goes to ending the piece. A primer's notes come back
unchanged: the new notes are added to the primer's own tracks (by program), and a
program the primer does not have gets a track of its own. A note tied on from an
earlier bar ends at the last bar line asked for.

Times are in beats; the model's grid is ``steps_per_beat`` steps per beat.
"""

from __future__ import annotations

import numpy as np

from seqart.errors import ScoreError, TokenizerError
from seqart.generate.constraints import allowed_pitch_classes
from seqart.generate.events_grammar import EventsGrammar
from seqart.generate.melody import SamplingOptions, draw_tokens
from seqart.score import Note, Score, TempoChange, Track
from seqart.tokenizers.events import DRUM_PROGRAM, EventsTokenizer

#: Most tokens one sample may draw per bar asked for (a dense bar of a piano piece
#: holds a few hundred); the grammar ends every row well before in practice.
MAX_TOKENS_PER_BAR = 2048


class EventsSampler:
    """Grammar-constrained sampling of multi-track pieces.

    Args:
        lm: an object with ``step(tokens (B,), state) -> (logits (B, V), state)`` and
            ``run(tokens (B, T), state) -> (logits (B, V), state)`` (the NumPy forward of
            the LSTM or the transformer).
        tokenizer: the model's events tokenizer.
        programs: program codes the model was trained on (0-127, 128 for drums), the
            ones a sample may use; None: every program of the vocabulary.
    """

    def __init__(self, lm, tokenizer: EventsTokenizer, programs: tuple[int, ...] | None = None):
        self.lm = lm
        self.tok = tokenizer
        self.programs = tuple(programs) if programs is not None else None

    def sample(self, num: int, options: SamplingOptions, rng: np.random.Generator,
               primer: Score | None = None, ranges=None) -> list[Score]:
        """``num`` pieces of ``options.bars`` bars (after ``primer``'s, if given).

        Honoured options: ``bars``, ``temperature``, ``top_k``, ``top_p``, ``key`` and
        ``scale`` (pitch classes of every pitched program), ``pitch_range`` (of every
        pitched program), ``time_signature`` (of a piece without a primer, for all of it)
        and ``tempo``; ``ranges`` (program -> ``"36-60"`` or ``(36, 60)``) sets the range of
        single instruments over ``pitch_range``.

        Returns:
            ``num`` scores (notes in beats): a primer's tracks first, its notes unchanged.

        Raises:
            ScoreError: for invalid options or a primer the model cannot continue.
        """
        options.check()
        check_num(num)
        tok = self.tok
        prefix, primer_bars = self._prefix(primer, options)
        grammar = self._grammar(primer, options, ranges=ranges)
        try:
            state = grammar.check(np.repeat(np.asarray([prefix]), num, axis=0), complete=False)
        except TokenizerError:
            try:  # a primer may double a note in one instrument, as encode writes it
                grammar = self._grammar(primer, options, unisons=True, ranges=ranges)
                state = grammar.check(np.repeat(np.asarray([prefix]), num, axis=0), complete=False)
            except TokenizerError as exc:
                raise ScoreError(f"{primer.source or 'primer'}: cannot be continued by this model ({exc})") from None
        bars = primer_bars + options.bars
        limit = options.bars * MAX_TOKENS_PER_BAR
        drawn: list[np.ndarray] = []  # one (num,) column per step
        logits, lm_state = self.lm.run(np.repeat(np.asarray([prefix]), num, axis=0), None)
        # a meter asked for holds for the whole piece (the model may change meter otherwise)
        meters = [tok.token_id(f"TimeSig_{n}/{d}") for n, d in tok.time_signatures] if options.time_signature else []
        bar_id = tok.token_id("Bar")
        while not state.ended.all():
            if len(drawn) == limit:
                raise ScoreError(f"sampling drew {limit} tokens without ending {bars} bars")
            live = ~state.ended
            allowed = grammar.mask(state, max_bars=bars)
            allowed[:, meters] = False
            # in the last bar, the model's wish to go on to another bar ends the piece
            closing = (state.bars >= bars) & allowed[:, tok.EOS_ID]
            if closing.any():
                logits = logits.copy()
                logits[closing, tok.EOS_ID] = np.logaddexp(logits[closing, tok.EOS_ID], logits[closing, bar_id])
            choice = draw_tokens(logits, allowed, options, rng)
            choice = np.where(live, choice, tok.PAD_ID)
            grammar.advance(state, choice)
            drawn.append(choice)
            logits, lm_state = self.lm.step(choice, lm_state)
        rows = np.stack(drawn, axis=1)  # (num, tokens drawn)
        return [self._to_score(prefix, row, primer, options) for row in rows]

    # ------------------------------------------------------------ helpers
    def _prefix(self, primer: Score | None, options: SamplingOptions) -> tuple[list[int], int]:
        """The tokens every row starts from (``BOS`` and the primer's, without ``EOS``)
        and the bars they begin."""
        tok = self.tok
        if primer is None:
            prefix = [tok.BOS_ID]
            if options.time_signature is not None:
                meter = tuple(options.time_signature)
                if meter not in tok.time_signatures:
                    raise ScoreError(f"time signature {meter[0]}/{meter[1]} is not in this model's vocabulary")
                prefix += [tok.token_id("Bar"), tok.token_id(f"TimeSig_{meter[0]}/{meter[1]}")]
            return prefix, 0
        if options.time_signature is not None:
            raise ScoreError("time_signature applies to a piece without a primer: a primer keeps its own")
        try:
            encoded = tok.encode(primer).tolist()
        except TokenizerError as exc:
            raise ScoreError(f"{primer.source or 'primer'}: {exc}") from None
        prefix = encoded[:-1]  # without EOS
        return prefix, prefix.count(tok.token_id("Bar"))

    def _grammar(self, primer: Score | None, options: SamplingOptions, unisons: bool = False,
                 ranges=None) -> EventsGrammar:
        """The grammar with this call's programs, ranges and key."""
        programs = set(self.programs) if self.programs is not None else None
        if primer is not None and programs is not None and self.tok.config.programs:
            programs |= {program_code(t) for t in primer.tracks if t.notes}
        pitched = sorted(p for p in (programs if programs is not None else range(128)) if p != DRUM_PROGRAM)
        if not self.tok.config.programs:
            pitched = [0]
        return constrained_grammar(self.tok, programs, pitched, options, ranges, unisons)

    def _to_score(self, prefix: list[int], row: np.ndarray, primer: Score | None,
                  options: SamplingOptions) -> Score:
        """The decoded piece; with a primer, its own notes and the new ones."""
        tok = self.tok
        tokens = np.concatenate([prefix, row[row != tok.PAD_ID]])
        if tokens[-1] != tok.EOS_ID:
            tokens = np.append(tokens, tok.EOS_ID)
        whole = tok.decode(tokens)
        end = last_bar_line(whole, bars=tokens.tolist().count(tok.token_id("Bar")))
        for track in whole.tracks:
            track.notes = cut_notes(track.notes, end)
        if primer is None:
            score = whole
        else:
            score = primer.copy()
            before = {program_code(t): len(t.notes) for t in tok.decode(np.append(prefix, tok.EOS_ID)).tracks}
            for track in whole.tracks:
                new = track.notes[before.get(program_code(track), 0):]
                if new:
                    _track_for(score, program_code(track)).notes.extend(new)
            for track in score.tracks:
                track.notes.sort(key=lambda n: (n.start, n.pitch))
        if options.tempo is not None:
            score.tempos = [TempoChange(0.0, float(options.tempo))]
        return score


def check_num(num) -> None:
    """Raise :class:`ScoreError` unless ``num`` (pieces in one batch) is a whole number 1-10000."""
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or not 1 <= num <= 10_000:
        raise ScoreError(f"num must be 1-10000, got {num!r}")


def constrained_grammar(tok: EventsTokenizer, programs, pitched, options: SamplingOptions, ranges=None,
                        unisons: bool = False) -> EventsGrammar:
    """The grammar of a call: ``programs`` (None: any), and on the ``pitched`` programs
    the call's ranges (:func:`program_ranges`) and key (``options.key``/``scale``)."""
    classes = allowed_pitch_classes(options.key, options.scale)
    return EventsGrammar(
        tok, programs=sorted(programs) if programs is not None else None,
        pitch_ranges=program_ranges(pitched, options.pitch_range, ranges),
        pitch_classes={p: sorted(classes) for p in pitched} if classes is not None and pitched else None,
        unisons=unisons)


def last_bar_line(score: Score, bars: int) -> float:
    """Beat of the bar line that closes bar number ``bars`` (from 1) of ``score``."""
    end = max((n.end for t in score.tracks for n in t.notes), default=0.0)
    return score.bar_starts(end + 64 * max([1.0] + [s.bar_beats for s in score.time_signatures]))[bars]


def cut_notes(notes: list[Note], beat: float) -> list[Note]:
    """``notes`` with each one still sounding at ``beat`` ended there: a note tied on from
    an earlier bar does not ring past the last bar asked for."""
    return [n if n.end <= beat else Note(n.pitch, n.start, beat - n.start, n.velocity) for n in notes]


def program_code(track: Track) -> int:
    """A track's program code: 0-127, or :data:`DRUM_PROGRAM` for drums."""
    return DRUM_PROGRAM if track.is_drum else int(track.program)


def new_track(program: int, notes: list[Note]) -> Track:
    """A track playing the program code ``program`` (drums for :data:`DRUM_PROGRAM`),
    named after it."""
    drum = program == DRUM_PROGRAM
    return Track(notes=notes, program=0 if drum else program, is_drum=drum,
                 name="drums" if drum else f"program {program}")


def _track_for(score: Score, program: int) -> Track:
    """The first track of ``score`` playing ``program`` (a program code), added if there is none."""
    for track in score.tracks:
        if program_code(track) == program:
            return track
    track = new_track(program, [])
    score.tracks.append(track)
    return track


def programs_of(sequences, tokenizer: EventsTokenizer) -> tuple[int, ...]:
    """The program codes the ``Program`` tokens of ``sequences`` name, sorted (0 alone
    for a tokenizer without programs)."""
    if not tokenizer.config.programs:
        return (0,)
    ids = set().union(*(np.unique(np.asarray(s)).tolist() for s in sequences))
    return tuple(sorted(p for p in map(tokenizer.program_of, ids) if p is not None))


def program_ranges(pitched, pitch_range, ranges) -> dict[int, tuple[int, int]] | None:
    """The range of each pitched program a sample writes: ``ranges[program]`` where given
    (``"36-60"``, ``"C2-C4"`` or ``(36, 60)``), else ``pitch_range`` (None: any pitch).

    Raises:
        ScoreError: a program in ``ranges`` that is not written, or a bad range.
    """
    from seqart.generate.constraints import parse_range

    out = {p: tuple(pitch_range) for p in pitched} if pitch_range else {}
    for program, value in (ranges or {}).items():
        if isinstance(program, bool) or not isinstance(program, (int, np.integer)) or int(program) not in pitched:
            raise ScoreError(f"ranges names program {program!r}, which is not one of the pitched instruments "
                             f"written here ({', '.join(map(str, sorted(pitched))) or 'none'})")
        try:
            low, high = parse_range(value) if isinstance(value, str) else (int(value[0]), int(value[1]))
        except (TypeError, ValueError, IndexError):
            raise ScoreError(f"range of program {program} must be LOW-HIGH, got {value!r}") from None
        if not 0 <= low <= high <= 127:
            raise ScoreError(f"range of program {program} must satisfy 0 <= low <= high <= 127, got {low}-{high}")
        out[int(program)] = (low, high)
    return out or None
