"""Sampling melodies from a melody language model under hard constraints.

The sampler owns the token grammar: it writes ``BOS``, the meter and key tokens
and every ``BAR`` itself, and only asks the model for the step tokens inside
bars. Key, scale and range constraints remove forbidden ``NOTE`` tokens from the
distribution before sampling, so no generated note can break them.

Rules that shape the form of every melody:

- **No silent opening.** A melody without a primer starts with a note on the
  downbeat of bar 1: ``bars=16`` gives sixteen full bars of music. With
  ``pickup=True`` the model may first write an anacrusis (:meth:`MelodySampler._pickups`),
  which the score holds at the end of a first bar padded with silence, as the corpus
  readers give one; the ``bars`` full bars follow it.
- **An ending** (``ending="tonic"``, the default). The last :data:`ENDING_BARS`
  bars are drawn :data:`ENDING_CANDIDATES` times per melody. In each candidate
  the final note is the tonic (in an octave the model picks), starts on a strong
  beat of the last bar (the downbeat, or the half bar of an even meter) and is
  held to the bar's end, so it lasts at least a beat. One candidate is kept,
  drawn in proportion to the model's probability of what was forced (the tonic
  where it starts, each held step, and ending the piece there: ``EOS`` after the
  last bar), i.e. sampling importance resampling: the kept ending is close to a
  draw from the model given that it closes this way, where keeping the likeliest
  candidate favoured the emptiest approach (last bar: 1.9 notes in 4/4 against
  the real tunes' 2.7).
- **Sections that close** (with ``ending="tonic"``, models with section tokens). The
  last :data:`ENDING_BARS` bars of every section before the last (every
  ``section_bars`` bars) are drawn :data:`SECTION_CANDIDATES` times per melody; half
  of the candidates sound the tonic on a strong beat of the section's last bar,
  held for at least a beat, after which the bar runs on (a lead-in to the next
  section), half are drawn freely; one is kept, a tonic close in proportion to the
  model's probability of its forced steps, a free one as if that were
  :data:`FREE_CLOSE_LOGP`. A section closes on the tonic where the model finds that
  natural, and elsewhere it is free to end on the dominant or run on.
- **Continuations answer the primer.** When a primer holds the first two bars of a
  phrase and the continuation reaches the bars :data:`PHRASE_BARS` later (bars 5-6 of
  a tune whose bars 1-4 were given), those two bars are gently pulled toward the
  primer's first two (:data:`ANSWER_BIAS`): a reel's second phrase returns to its
  first about as often as real reels' do, where the model alone did so half the time.
- **Phrase ends keep sounding.** In the last bar of every 4-bar phrase a rest is made
  much less likely (:data:`PHRASE_END_REST_PENALTY`): the model learned to end its many
  short songs with rests, and a 16-bar melody would fall silent after bar 8 or 12.
- **No loops.** While a bar copies the two identical bars before it, or a two-bar figure
  is begun a third time running, the note that would go on copying is made less likely
  (:data:`THIRD_TIME_PENALTIES`); so is a note struck a sixth time running
  (:data:`SAME_NOTE_RUN`), and one more than an octave and a fourth from the last note
  (:data:`LEAP_LIMIT`). The note just struck gives a little of its weight to the other
  notes (:data:`REPEAT_PENALTY`): the model repeats notes more often than the tunes do.
- **No silent bars.** Before the last bar, a silence that has lasted 3/4 of a bar makes
  way for a note (:data:`LONG_SILENCE_SHARE`): a melody does not stop early and wait
  for its forced ending.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from seqart.errors import ScoreError, TokenizerError
from seqart.generate.constraints import allowed_pitch_classes
from seqart.score import KeySignature, Note, Score, TempoChange, TimeSignature, Track
from seqart.tokenizers.melody import BAR, BOS, EOS, HOLD, REST, SECTION_LETTERS, MelodyTokenizer


@dataclass
class SamplingOptions:
    """How to sample; every field is validated by :meth:`check`.

    Attributes:
        bars: bars to generate (after the primer, if any).
        temperature: > 0; below 1 is safer, above 1 wilder.
        pitch_temperature: > 0, the temperature of which note sounds once one starts
            (:func:`draw_tokens`); ``temperature`` then tempers the rest: whether a note
            starts, rests or holds, and the headers. None: ``temperature``.
        top_k: keep only the k most likely step tokens (None = all).
        top_p: keep the smallest set of tokens whose probability reaches p (None = 1).
        key: key to condition on and to stay in (None: the primer's key, or one drawn as
            the training melodies' keys are distributed for the meter).
        scale: restrict notes to this scale on the key's tonic (see ``SCALES``).
        pitch_range: (low, high) MIDI pitches, inclusive.
        time_signature: (numerator, denominator) (None: the primer's, or 4/4).
        tempo: output tempo in bpm (None: the primer's, or 120).
        ending: ``"tonic"`` steers the last two bars to a cadence (module docstring);
            ``"free"`` stops after ``bars`` bars wherever the melody is.
        style: the tune type to write (``reel``, ``jig``, ...; a layout-2 model), None:
            drawn as the training melodies' styles are for the meter.
        form: section letters, one per ``section_bars`` bars (``"AABB"``): a repeated
            letter asks the model to restate that section; None: the model labels its sections.
        pickup: True: a melody of its own (no primer) may open with a pickup (an
            anacrusis before bar 1, at most half a bar) where the model writes one, as
            most training tunes do (a model with ``PICKUP`` tokens); ``bars`` counts the
            full bars after it. False (default): every melody opens on the downbeat of bar 1.
    """

    bars: int = 16
    temperature: float = 1.0
    pitch_temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    key: KeySignature | None = None
    scale: str | None = None
    pitch_range: tuple[int, int] | None = None
    time_signature: tuple[int, int] | None = None
    tempo: float | None = None
    ending: str = "tonic"
    style: str | None = None
    form: str | None = None
    pickup: bool = False

    @classmethod
    def parse(cls, key=None, pitch_range=None, time_signature=None, **options) -> "SamplingOptions":
        """Options as a caller writes them: ``key="D minor"``, ``pitch_range="G3-C6"`` or
        ``(55, 84)``, ``time_signature="6/8"`` or ``(6, 8)``, and the other fields as they are."""
        from seqart.generate.constraints import parse_range, parse_time_signature

        return cls(key=KeySignature.parse(key) if isinstance(key, str) else key,
                   pitch_range=parse_range(pitch_range) if isinstance(pitch_range, str) else pitch_range,
                   time_signature=(parse_time_signature(time_signature) if isinstance(time_signature, str)
                                   else time_signature), **options)

    def check(self) -> None:
        if not isinstance(self.bars, int) or not 1 <= self.bars <= 4096:
            raise ScoreError(f"bars must be a whole number from 1 to 4096, got {self.bars}")
        if not self.temperature > 0:
            raise ScoreError(f"temperature must be above 0, got {self.temperature}")
        if self.pitch_temperature is not None and not 0 < self.pitch_temperature < float("inf"):
            raise ScoreError(f"pitch temperature must be a number above 0, got {self.pitch_temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ScoreError(f"top-k must be at least 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ScoreError(f"top-p must be in (0, 1], got {self.top_p}")
        if self.tempo is not None and not 5 <= self.tempo <= 1000:
            raise ScoreError(f"tempo must be 5-1000 bpm, got {self.tempo}")
        if self.ending not in ENDINGS:
            raise ScoreError(f"ending must be one of {', '.join(ENDINGS)}, got {self.ending!r}")


@dataclass
class _Run:
    """What one :meth:`MelodySampler.sample` call's helpers share."""

    options: SamplingOptions
    rng: np.random.Generator
    bar_steps: int
    form: str | None
    #: step tokens of every row so far, by grid position (-1: not yet), shape (rows, total steps)
    history: np.ndarray | None = None
    #: section letter index of every row's sections (-1: not yet), shape (rows, sections)
    letters: np.ndarray | None = None
    #: grid steps per section (0: the tokenizer has no sections)
    section_steps: int = 0
    #: logit added to the note of the restated section (:data:`RESTATE_BIAS`)
    restate: float = 0.0
    #: grid steps of silence after which a silence is cut short (:data:`LONG_SILENCE_SHARE`)
    long_silence: int = 1 << 30
    #: first grid step of the last bar, where a silence may last (the melody has ended)
    last_bar: int = 1 << 30
    #: the tokenizer's NOTE token ids, one per semitone upward (:meth:`far_leaps`)
    note_ids: np.ndarray | None = None

    def third_time(self, pos: int, figure: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(rows, token ids)``: for each row whose last ``figure`` bars have just come
        twice running and whose music since the second time (up to ``pos``) copies them,
        the token that would go on copying them (:data:`THIRD_TIME_PENALTIES`); None where
        no row does."""
        if self.history is None:
            return None
        span = figure * self.bar_steps
        rows, tokens = [], []
        for begun in range(figure):  # bars of the third time already played
            start = (pos // self.bar_steps - begun) * self.bar_steps  # where the third time began
            if start < 2 * span:
                continue
            last = self.history[:, start - span:start]
            copying = ((last == self.history[:, start - 2 * span:start - span]).all(axis=1)
                       & (self.history[:, start:pos] == last[:, :pos - start]).all(axis=1))
            found = np.flatnonzero(copying)
            rows.append(found)
            tokens.append(last[found, pos - start])
        if not rows:
            return None
        return np.concatenate(rows), np.concatenate(tokens)

    def far_leaps(self, sounded: np.ndarray, last_notes: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``(rows, token ids)``: every note more than :data:`LEAP_LIMIT` semitones from its
        row's last note (``sounded``: the rows that have struck one; ``last_notes``: their
        note token ids); None where no such leap is in range."""
        rows, cols = np.nonzero(np.abs(self.note_ids - last_notes[:, None]) > LEAP_LIMIT)
        return (sounded[rows], self.note_ids[cols]) if len(rows) else None

    def restating(self, pos: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(rows, token ids)``: for each row whose current section repeats an earlier
        section's letter, the step token at the same place in the first such section."""
        if not self.restate or not self.section_steps or self.letters is None:
            return None
        j, offset = divmod(pos, self.section_steps)
        if j == 0 or j >= self.letters.shape[1]:
            return None
        current = self.letters[:, j]
        same = (self.letters[:, :j] == current[:, None]) & (current[:, None] >= 0)
        rows = np.flatnonzero(same.any(axis=1))
        if not len(rows):
            return None
        source = same[rows].argmax(axis=1) * self.section_steps + offset
        tokens = self.history[rows, source]
        keep = tokens >= 0
        return rows[keep], tokens[keep]


# The figures in the comments below ("the shipped model", "default melodies") were measured with
# the 4-block transformer that was the default until it was distilled into today's 3-block ``folk``;
# it ships on as ``folk-large``. Their overlaps with the test tunes differ by 0.007 at most (README).

#: what ``--ending`` accepts
ENDINGS = ("tonic", "free")
#: candidate endings drawn per melody; one is kept, drawn in proportion to the model's
#: probability of its forced steps
ENDING_CANDIDATES = 8
#: bars at the end that the candidates rewrite
ENDING_BARS = 2
#: candidate closes drawn per melody for the last :data:`ENDING_BARS` bars of every section
#: before the last (every ``section_bars`` bars of a layout-2 model), half on the tonic
SECTION_CANDIDATES = 4
#: How a free candidate of a section close is weighed against the tonic closes: as a tonic
#: close whose forced steps the model gives this log-probability (e^-2.5, about 8 %). Measured
#: with the shipped model (three seeds of 64 melodies against the test split), bar 8 closes on
#: the tonic in 47 % of 4/4 melodies (real 35 %) and 60 % in 6/8 (real 59 %), and holds 4.1
#: notes in 4/4 (real 4.4); a weight of -1 gave 40 % and 55 %. Keeping the likeliest candidate
#: instead favoured restatement and held notes: bars repeating an earlier bar 0.22 in 4/4 (real
#: 0.13, now 0.17), 4-bar phrases restated in 73 % of 6/8 melodies (real 57 %, now 62 %).
FREE_CLOSE_LOGP = -2.5
#: In a section whose letter repeats an earlier one (``--form AABA``, or a letter the
#: model drew), each step's logit of the note at the same place in that earlier section
#: is raised by this much (nats, before the temperature): the section is restated
#: unless the model strongly prefers otherwise (a second-time ending).
RESTATE_BIAS = 3.0
#: In the bars that answer a primer's opening (:meth:`MelodySampler._answer`), each step's
#: logit of the primer's token at the same place is raised by this much (nats, before the
#: temperature). Measured with the shipped model on the test split's 4-bar primers
#: continued by 4 bars (``bench/bench_form.py``): bars 5-6 restate bars 1-2 in 69 % of
#: reels (real 73 %), 70 % of jigs (65 %) and 38 % of Essen songs (22 %); a pull of 0.5
#: gives 59, 65 and 28 %, a pull of 1 76, 61 and 45 %. Keeping the likeliest of pulled and
#: free candidates instead restated nearly always: the model finds repetition likelier
#: than the tunes have it. The distilled 3-block ``folk`` restates more readily: with 0.75,
#: 84 % of reels, 74 % of jigs and 40 % of songs; with 0.5, 76, 70 and 33 %.
ANSWER_BIAS = 0.5
#: bars in a phrase: the answer starts this many bars after the primer's first full bar
PHRASE_BARS = 4
#: The same for a letter the model drew itself (no ``--form``): a gentler pull, so its
#: restatements vary about as much as the training tunes' do. With the shipped model
#: (six seeds of 64 melodies against the test split), 0.25 keeps the share of bars that
#: repeat an earlier bar within 10 points of the real tunes' (4/4: 0.17 against 0.13;
#: 6/8: 0.22 against 0.22). Measured when section closes still kept their likeliest
#: candidate (which favoured restatement): 0.25 gave 0.22 and 0.25, 0.5 went 11 points
#: over in 4/4 (0.24), no pull gave 0.19 and 0.24.
DRAWN_RESTATE_BIAS = 0.25
#: In the last bar of every 4-bar phrase (bars 4, 8, 12, 16), the logit of ``REST`` is
#: lowered by this much (nats, before the temperature). The corpus's 6/8 songs are mostly
#: shorter than 16 bars, and the model ends a phrase as it ends those songs: the last note,
#: then rests to the bar line. Real tunes rest 1 % of the time, so a 16-bar melody fell
#: silent at bars 8, 12 and 14 (a quarter of them at bar 8) and the empty-beat rate was the
#: metric furthest from the real tunes'. Chosen on the valid split (six seeds of 64
#: melodies of default sampling, mean overlap with the valid tunes, 4/4 and 6/8): none
#: 0.855 / 0.838, 1: 0.860 / 0.841, 2: 0.865 / 0.852, 3: 0.861 / 0.856, 5: 0.865 / 0.856,
#: 8: 0.864 / 0.858; from 3 on a plateau, 5 its middle.
PHRASE_END_REST_PENALTY = 5.0
#: Before the last bar, a silence that has lasted this share of a bar (4/4: 3 beats; 6/8:
#: 9 sixteenths) gets ``REST`` and ``HOLD`` lowered by :data:`LONG_SILENCE_PENALTY` (nats,
#: before the temperature), so the melody goes on with a note. No tune of the valid or test
#: split (4/4 and 6/8) falls silent for a whole bar, and 1 % of the 4/4 tunes for 3/4 of one;
#: of six seeds of 64 default melodies, 2.6 % (4/4) and 1.6 % (6/8) did, the model having
#: ended a song early (silent from bar 13 to the forced tonic of bar 16). Chosen on the valid
#: split as :data:`PHRASE_END_REST_PENALTY` was: a cap after 2, 4 or 8 steps in both meters
#: lowered the overlap (4/4 | 6/8 0.819 | 0.844, 0.854 | 0.851, 0.862 | 0.856; none: 0.865 |
#: 0.856): real tunes do rest for half a bar; after 3/4 of a bar it leaves it as it was
#: (0.864 | 0.857) with no melody silent for a bar in 4/4 and 0.3 % in 6/8.
LONG_SILENCE_SHARE = 0.75
LONG_SILENCE_PENALTY = 5.0
#: Figures of 1 or 2 bars that have just been played twice running are not played a third
#: time: while the music since the second time still matches the figure, the token that
#: would go on copying it is lowered by this much (nats, before the temperature), by the
#: figure's length in bars. Heard as the melody being stuck, and rare in the tunes:
#:
#: - three identical bars in a row: none of the reels or jigs of the test split, 1-2 % of the
#:   4/4 and 6/8 songs; of three seeds of 64 melodies, 5.7 % of jigs, 3.1 % of 6/8 and 2.1 %
#:   of reels had them, up to the same bar seven times. With 1.5 they are as rare as in the
#:   songs (1.6 % of jigs and 6/8, 0.5 % of reels, none in 4/4; 3 removed them all); the
#:   overlap with the valid tunes stays as it was (4/4 | 6/8: 0.864 | 0.858 with 1.5,
#:   0.865 | 0.857 with 3, 0.864 | 0.857 without).
#: - a two-bar figure (two different bars) three times running: in no tune of the valid or
#:   test split (4/4, 6/8); of three seeds of 64 melodies, 4.2 % of reels, 2.6 % of jigs,
#:   1.6 % of 6/8 and none of 4/4. With 1.5: 1.0, 1.0, 0.5 %; with 3, none, and the overlap
#:   with the valid tunes 0.864 | 0.859 (six seeds; 0.864 | 0.858 without this rule).
#:
#: A bar played four times running is also a two-bar figure played twice: a fifth time is
#: lowered by both.
THIRD_TIME_PENALTIES = {1: 1.5, 2: 3.0}
#: A note struck this many times running (rests and held steps between them do not count)
#: is :data:`SAME_NOTE_PENALTY` nats (before the temperature) less likely to be struck again:
#: a melody does not drone on one note. Of the valid split's tunes, 6.2 % (4/4) and 2.8 %
#: (6/8) strike one note six times running, 0.6 % and none eight times; of six seeds of 64
#: default melodies (temperature 1.05, pitches 0.95), 9.8 % and 14.8 % did, 3.1 % and 2.7 %
#: eight times (a 6/8 song on D5 for 16 bars). With 5 and 2 nats: 4.7 % and 5.5 %, none and
#: 0.3 %; 5 and 4 nats left 0.3 % in 4/4 (fewer than the tunes), 4 and 2 nats 0.8 % in both.
#: The overlap with the valid tunes stays within noise (4/4 | 6/8: 0.881 | 0.854 without,
#: 0.885 | 0.853 with 5 and 2, 0.883 | 0.857 with 5 and 4, 0.881 | 0.854 with 4 and 2).
SAME_NOTE_RUN = 5
SAME_NOTE_PENALTY = 2.0
#: A note more than this many semitones from the last note struck (an octave and a fourth)
#: is :data:`LEAP_PENALTY` nats (before the temperature) less likely: a melody does not throw
#: one note into another register. Such leaps are 0.16 per 1,000 intervals of the test tunes
#: (none over two octaves); of default ``folk`` melodies (six seeds of 64 in 4/4 and 6/8),
#: 0.62 (0.26 over two octaves: a G3 among G6s). With 1.5 nats 0.11 (0.02); 2 and 3 nats
#: leave 0.03. The overlap with the valid tunes stays within noise (4/4 | 6/8: 0.884 | 0.858
#: without, 0.883 | 0.862 with 1.5, 0.885 | 0.860 with 3).
LEAP_LIMIT = 17
LEAP_PENALTY = 1.5
#: The note just struck (rests and held steps since do not count) is this many nats (before
#: the temperatures) less likely to be struck again, and the other notes share out what it
#: gives up, so that the notes together weigh what they weighed: only which note starts
#: moves, not whether one does. The distilled ``folk`` repeats notes more than the tunes do:
#: of six seeds of 64 melodies, 0.092 of the notes of ``--style reel`` repeat the last
#: (train reels 0.077), 0.151 of jigs (0.127), 6/8 0.188 and 4/4 0.201 (valid tunes 0.149
#: and 0.188). With 0.1: 0.080, 0.140, 0.171 and 0.178, the overlap with the valid tunes
#: 0.880 | 0.868 (4/4 | 6/8; 0.883 | 0.862 without). With 0.2 (measured with the other
#: nudges' weight given back too): 0.077, 0.131, 0.158 and 0.157, 4/4 17 % under the tunes.
#: Lowering the note without giving its weight to the others turned repeats into holds and
#: rests (reel rests 0.0025 to 0.0041 at 0.2) and cost more overlap (0.873 | 0.860 at 0.1).
REPEAT_PENALTY = 0.1


def draw_tokens(logits: np.ndarray, mask: np.ndarray, options, rng: np.random.Generator,
                pitch_ids: slice | np.ndarray | None = None) -> np.ndarray:
    """One token per row from masked, tempered, top-k/top-p filtered logits.

    With ``pitch_ids`` and an ``options.pitch_temperature``, the draw is tempered in two
    levels: the notes together get the share ``temperature`` gives them against every
    other token (rest, hold, ...), and ``pitch_temperature`` shares it out among them.

    Args:
        logits: ``(B, V)`` float.
        mask: ``(B, V)`` or ``(V,)`` bool, True where a token is allowed (at least one per row).
        options: has ``temperature`` (> 0), ``top_k`` and ``top_p`` (None: off), and may
            have ``pitch_temperature`` (> 0; None: ``temperature``).
        rng: the generator every draw takes its uniform number from (one per row).
        pitch_ids: the note tokens (a slice of the vocabulary, or their ids), for ``pitch_temperature``.

    Returns:
        ``(B,)`` int token ids.
    """
    pitch_temperature = getattr(options, "pitch_temperature", None)
    if pitch_ids is not None and pitch_temperature not in (None, options.temperature):
        z = _temper_pitches(np.where(mask, logits, -np.inf), pitch_ids, options.temperature, pitch_temperature)
    else:
        z = np.where(mask, logits / options.temperature, -np.inf)
    if options.top_k is not None:  # each row keeps its k best allowed tokens (all, if it allows fewer)
        k = np.minimum(options.top_k, np.broadcast_to(mask, z.shape).sum(axis=1))
        kth = -np.sort(-z, axis=1)[np.arange(len(z)), k - 1][:, None]
        z = np.where(z >= kth, z, -np.inf)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    if options.top_p is not None and options.top_p < 1:
        order = np.argsort(-p, axis=1, kind="stable")
        sorted_p = np.take_along_axis(p, order, axis=1)
        keep_sorted = np.cumsum(sorted_p, axis=1) - sorted_p < options.top_p
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=1)
        p = np.where(keep, p, 0.0)
        p /= p.sum(axis=1, keepdims=True)
    return _inverse_cdf(p, rng)


def _temper_pitches(z: np.ndarray, pitch_ids, temperature: float, pitch_temperature: float) -> np.ndarray:
    """Masked logits ``z`` ``(B, V)`` (-inf: not allowed) tempered in two levels: the notes
    ``pitch_ids`` (a slice or ids) together weigh what they weigh at ``temperature`` (as
    every other token does), and that weight is shared out among them at
    ``pitch_temperature``. Returns ``(B, V)`` log weights."""
    out = z / temperature
    notes = out[:, pitch_ids]
    top = notes.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # a row that allows no note: replaced below
        shifted = notes - top
        total = top + np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        within = shifted * (temperature / pitch_temperature)
        within -= np.log(np.exp(within).sum(axis=1, keepdims=True))
        out[:, pitch_ids] = np.where(top > -np.inf, total + within, -np.inf)
    return out


def _inverse_cdf(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One column per row of ``p`` (rows, k; each row sums to 1), drawn with those probabilities."""
    u = rng.random((p.shape[0], 1))
    return np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), p.shape[1] - 1)


def _beat_starts(step: int, bar_steps: int, steps_per_beat: int = 4) -> bool:
    """Whether a triplet beat (``TRIPLET`` and its three thirds, one beat) may start at
    grid step ``step`` of a melody of ``bar_steps``-step bars: as the tokenizer writes
    them, on a whole beat of a bar that starts on a whole beat, the beat inside the bar."""
    bar_start = step - step % bar_steps
    return step % steps_per_beat == 0 and bar_start % steps_per_beat == 0 and \
        step - bar_start + steps_per_beat <= bar_steps


def cadence_steps(meter: tuple[int, int], bar_steps: int) -> tuple[int, ...]:
    """Steps into a bar where a final note may start: the downbeat, and for a bar of an
    even number of beats (4/4, 2/2, 2/4, 6/8 as two dotted quarters, 12/8) the half bar."""
    numerator, denominator = meter
    beats = numerator // 3 if denominator == 8 and numerator % 3 == 0 and numerator > 3 else numerator
    return (0, bar_steps // 2) if beats % 2 == 0 and bar_steps % 2 == 0 else (0,)


#: Longest primer, in bars, that :meth:`MelodySampler.sample` continues: as many bars
#: as it generates at most. Feeding the model the primer costs as much per step as
#: generating, so a 100,000-note primer would otherwise run for minutes.
MAX_PRIMER_BARS = 4096


class MelodySampler:
    """Grammar- and constraint-aware sampling from a step-wise language model.

    Args:
        lm: an object with ``initial_state(B)``, ``step(tokens (B,), state) -> (logits (B, V), state)``
            and ``run(tokens (B, T), state)`` (e.g. :class:`seqart.models.melody_lm.numpy_lstm.NumpyRNNLM`; its state, batch first, nested as the model likes);
            optionally ``branch(state, k)``: ``k`` continuations per row that share the state
            (the transformer's :class:`~seqart.models.melody_transformer.numpy_transformer.SharedPrefixCache`),
            else candidates copy it.
        tokenizer: the model's melody tokenizer.
    """

    def __init__(self, lm, tokenizer: MelodyTokenizer, openings=None):
        self.lm = lm
        self.tok = tokenizer
        #: the training melodies' styles, meters and keys (:class:`seqart.models.melody_lm.keys.Openings`)
        #: that what a caller leaves open is drawn from; None: the model draws the key
        self.openings = openings
        #: the note tokens (a slice of the vocabulary), which ``options.pitch_temperature`` tempers
        self.pitch_ids = slice(tokenizer.note_base, tokenizer.ts_base)

    def sample(self, num: int, options: SamplingOptions, rng: np.random.Generator,
               primer: Score | None = None, track: int | None = None) -> list[Score]:
        """Generate ``num`` melodies (continuations of ``primer`` if given).

        Args:
            track: index into ``primer.tracks`` of the line to continue (its top voice);
                None: the top voice of all pitched tracks (:mod:`seqart.generate.primer`).

        Returns:
            ``num`` scores; with a primer each begins with the primer's notes, unchanged,
            every track kept; the new notes extend the chosen track (or the primer's one
            pitched track), else they form a track of their own.
        """
        options.check()
        if not 1 <= num <= 100_000:
            raise ScoreError(f"num must be 1-100000, got {num}")
        tok = self.tok
        style, form = self._style_and_form(options, primer)
        key = options.key if options.key is not None else (primer.key if primer is not None else None)
        meter = options.time_signature or (
            (primer.time_signature.numerator, primer.time_signature.denominator) if primer is not None else
            (self.openings.meter_for(style) if style and self.openings is not None else None) or (4, 4))
        meter = tuple(meter)
        if tok.meter_of(tok.meter_id(*meter)) != meter:
            if options.time_signature is None and primer is not None:
                raise ScoreError(f"{primer.source or 'primer'}: its time signature {meter[0]}/{meter[1]} is not "
                                 "supported by this model (choose one with --time-signature)")
            raise ScoreError(f"time signature {meter[0]}/{meter[1]} is not supported by this model")
        bar_steps = tok.steps_per_bar(*meter)
        step_mask = self._step_mask(key, options)

        # What each row opens with: the style and key given, else drawn as the training melodies have them.
        choose_key = key is None and primer is None
        drawn = None
        if self.openings is not None and (choose_key or (tok.layout >= 2 and style is None)):
            drawn = self.openings.draw(num, rng, meter, style)
        styles = [style or ""] * num if style is not None or drawn is None else drawn[0]
        keys: list = [key] * num
        if choose_key and drawn is not None:
            keys = [tok.key_of(k) for k in drawn[1]]

        # The prefix of every row: header, then the primer's tokens.
        body: list[int] = []
        pos = 0
        if primer is not None:
            primed = primer.monophonic(track) if track is not None else primer.copy()
            primed.time_signatures = [TimeSignature(0.0, *meter)]
            primed.key_signatures = [KeySignature(0.0, key.tonic, key.mode)] if key else []
            try:
                encoded = tok.encode(primed, close=False, pickup=False).tolist()
            except TokenizerError as exc:
                raise TokenizerError(f"{primer.source or 'primer'}: {exc}") from None
            body = encoded[tok.key_position + 1:]
            pos = sum(1 for t in body if tok.is_step(t))
            if pos > MAX_PRIMER_BARS * bar_steps:
                raise ScoreError(f"{primer.source or 'primer'}: the primer is {-(-pos // bar_steps)} bars long; "
                                 f"at most {MAX_PRIMER_BARS} can be continued (cut it with Score.slice)")
        headers = np.array([tok.header(meter, k, st) for k, st in zip(keys, styles)])
        total_steps = (-(-pos // bar_steps) + options.bars) * bar_steps
        if choose_key and drawn is None:  # the model draws each melody's key
            logits, state = self.lm.run(headers[:, :tok.key_position], None)
            key_mask = np.zeros(tok.vocab_size, dtype=bool)
            key_mask[tok.key_ids] = True
            chosen = draw_tokens(logits, key_mask, options, rng)
            keys = [tok.key_of(t) for t in chosen]
            logits, state = self.lm.step(chosen, state)
        else:
            logits, state = self.lm.run(headers, None)
        if any(k is not None for k in keys) and choose_key and options.scale:
            # Under --scale a drawn key roots the scale. Otherwise it conditions the model
            # without binding it: the melody may use accidentals, as the training tunes do.
            step_mask = np.stack([self._step_mask(k, options) for k in keys])
        if body:
            logits, state = self.lm.run(np.repeat(np.asarray([body]), num, axis=0), state)
        pickups = [()] * num
        if primer is None and options.pickup and tok.pickup_id is not None:
            pickups = self._pickups(logits, state, bar_steps, step_mask, options, rng)

        # Rows with the same pickup (most often none) go on together from bar 1.
        groups: dict[tuple, list[int]] = {}
        for r, pickup in enumerate(pickups):
            groups.setdefault(pickup, []).append(r)
        generated = np.empty((num, total_steps - pos), dtype=np.int64)
        for pickup, rows in groups.items():
            rows = np.asarray(rows)
            whole = len(rows) == num
            g_logits, g_state = (logits, state) if whole else (logits[rows], _take_rows(state, rows))
            if pickup:  # fed again from the header: rows whose pickups differ in length fell out of step
                g_logits, g_state = self.lm.run(np.repeat([[tok.pickup_id, *pickup]], len(rows), axis=0), g_state)
            generated[rows], settled = self._compose(
                g_logits, g_state, step_mask[rows] if step_mask.ndim == 2 else step_mask, [keys[r] for r in rows],
                body, pos, total_steps, meter, form, options, rng, primed=primer is not None,
                drawn=choose_key and not options.scale)
            for r, k in zip(rows, settled):
                keys[r] = k
        return [self._to_score(row, primer, meter, k, st, options, total_steps, track, pickup)
                for row, k, st, pickup in zip(generated, keys, styles, pickups)]

    def _compose(self, logits, state, step_mask: np.ndarray, keys: list, body: list[int], pos: int,
                 total_steps: int, meter, form: str | None, options: SamplingOptions, rng: np.random.Generator,
                 primed: bool, drawn: bool) -> tuple[np.ndarray, list]:
        """The step tokens of grid positions ``pos`` (after any primer) to ``total_steps``
        (bar 1 on) of every row of ``logits``/``state``, which follow each row's header,
        primer and pickup. ``primed``: the rows continue a primer (``body``, its tokens);
        ``drawn``: their keys were drawn (they condition, they do not bind).

        Returns:
            ``(tokens (rows, total_steps - pos), each row's key)``: the key given or drawn,
            or the one its ending settled.
        """
        tok = self.tok
        num = len(logits)
        bar_steps = tok.steps_per_bar(*meter)
        ctx = _Run(options=options, rng=rng, bar_steps=bar_steps, form=form, last_bar=total_steps - bar_steps,
                   long_silence=math.ceil(LONG_SILENCE_SHARE * bar_steps),
                   note_ids=np.arange(tok.note_base, tok.ts_base))
        if tok.layout >= 2:
            ctx.section_steps = tok.config.section_bars * bar_steps
            ctx.restate = RESTATE_BIAS if form else DRAWN_RESTATE_BIAS
            ctx.history = np.full((num, total_steps), -1, dtype=np.int64)
            ctx.letters = np.full((num, total_steps // ctx.section_steps + 2), -1, dtype=np.int64)
            primer_steps = [t for t in body if tok.is_step(t)]
            ctx.history[:, :len(primer_steps)] = primer_steps
            primer_letters = [tok.section_of(t) for t in body if tok.section_of(t)]
            ctx.letters[:, :len(primer_letters)] = [SECTION_LETTERS.index(x) for x in primer_letters]
        if not body:
            logits, state = self._bar_line(logits, state, 0, ctx)

        steer = options.ending == "tonic"
        free_until = max(pos, total_steps - ENDING_BARS * bar_steps) if steer else total_steps
        out = np.empty((num, total_steps - pos), dtype=np.int64)
        first = pos
        opening = not primed  # a melody of its own opens with a note on the downbeat
        # Passages drawn as candidates, in order: the answer to the primer's opening, then
        # each section's last bars (the likeliest of free and tonic closes).
        answer = self._answer_span(body, pos, bar_steps, free_until) if ctx.history is not None else None
        passages = [(*answer, "answer")] if answer is not None else []
        passages += [(b - ENDING_BARS * bar_steps, b, "close")
                     for b in range(ctx.section_steps, free_until, ctx.section_steps or 1)
                     if steer and ctx.section_steps and b - ENDING_BARS * bar_steps >= pos
                     and not (answer and b - ENDING_BARS * bar_steps < answer[1] and answer[0] < b)]
        for start, stop, kind in sorted(passages):
            logits, state, pos = self._walk(logits, state, out, first, pos, start, step_mask, ctx,
                                            primed, opening)
            at_start = pos == first  # candidates that begin the melody obey its first-step rules
            if kind == "answer":
                logits, state, pos = self._answer(logits, state, out, first, pos, stop,
                                                  start - PHRASE_BARS * bar_steps, step_mask, ctx,
                                                  primed and at_start, opening and at_start)
            else:
                logits, state, pos = self._section_close(logits, state, out, first, pos, stop, meter,
                                                         step_mask, keys, ctx, primed and at_start,
                                                         opening and at_start)
        logits, state, pos = self._walk(logits, state, out, first, pos, free_until, step_mask, ctx,
                                        primed, opening)
        if steer:
            at_start = pos == first
            keys = self._end(logits, state, out, first, pos, total_steps, meter, step_mask, keys, ctx,
                             primed and at_start, opening and at_start, drawn=drawn)
        return out, keys

    def _pickups(self, logits, state, bar_steps: int, step_mask: np.ndarray, options: SamplingOptions,
                 rng: np.random.Generator) -> list[tuple[int, ...]]:
        """Each row's pickup, drawn from the model after its header: ``PICKUP`` or ``BAR``
        first, then, after ``PICKUP``, the anacrusis's step tokens until the model writes
        ``BAR``. A pickup opens with a note, holds no triplet and is at most half a bar
        long, as the tokenizer writes pickups (a first bar sounding for more than half its
        length is bar 1 itself, not a pickup).

        Returns:
            per row, the pickup's step tokens (an empty tuple: the melody opens on bar 1).
        """
        tok = self.tok
        pickups: list[tuple[int, ...]] = [()] * len(logits)
        first_token = np.zeros(tok.vocab_size, dtype=bool)
        first_token[[BAR, tok.pickup_id]] = True
        rows = np.flatnonzero(draw_tokens(logits, first_token, options, rng) == tok.pickup_id)
        if not len(rows):
            return pickups
        logits, state = self.lm.step(np.full(len(rows), tok.pickup_id), _take_rows(state, rows))
        later = np.array(np.broadcast_to(step_mask[rows] if step_mask.ndim == 2 else step_mask,
                                         (len(rows), tok.vocab_size)))
        if tok.triplet_id is not None:
            later[:, tok.triplet_id] = False
        opening = later.copy()
        opening[:, [HOLD, REST]] = False  # a pickup starts with its first note
        later[:, BAR] = True
        steps: list[list[int]] = [[] for _ in rows]
        going = np.ones(len(rows), dtype=bool)
        longest = bar_steps - bar_steps // 2  # steps: half a bar (an odd bar's larger half)
        for i in range(longest):
            choice = draw_tokens(logits, opening if i == 0 else later, options, rng)
            going &= choice != BAR
            for j in np.flatnonzero(going):
                steps[j].append(int(choice[j]))
            if not going.any() or i == longest - 1:
                break
            logits, state = self.lm.step(choice, state)
        for j, r in enumerate(rows):
            pickups[r] = tuple(steps[j])
        return pickups

    def _style_and_form(self, options: SamplingOptions, primer: Score | None) -> tuple[str | None, str | None]:
        """The style (None: drawn) and form letters asked for, checked against the tokenizer."""
        from seqart.tokenizers.melody import SECTION_LETTERS, STYLES

        tok = self.tok
        if tok.layout < 2 and (options.style or options.form):
            raise ScoreError("this model has no style or form tokens (it was trained before they existed); "
                             "leave out --style and --form")
        style = options.style
        if style is not None:
            style = style.strip().lower().replace(" ", "-").replace("_", "-")
            if style not in STYLES:
                raise ScoreError(f"unknown style {options.style!r}; choose one of {', '.join(STYLES)}")
        elif primer is not None and tok.layout >= 2:
            style = getattr(primer, "style", "") or None
        form = None
        if options.form:
            form = options.form.strip().upper()
            bad = sorted(set(form) - set(SECTION_LETTERS))
            if bad or not form:
                raise ScoreError(f"form {options.form!r}: use section letters {', '.join(SECTION_LETTERS)} "
                                 f"(e.g. AABB), one per {tok.config.section_bars} bars")
        return style, form

    def _bar_line(self, logits, state, bar_index: int, ctx: "_Run"):
        """Feed ``BAR`` (and, every ``section_bars`` bars of a layout-2 model, a section token:
        the form's letter, or one the model draws). Returns ``(logits, state)``."""
        tok = self.tok
        rows = len(logits)
        logits, state = self.lm.step(np.full(rows, BAR), state)
        if tok.layout >= 2 and bar_index % tok.config.section_bars == 0:
            section = bar_index // tok.config.section_bars
            if ctx.form and section < len(ctx.form):
                choice = np.full(rows, tok.section_id(ctx.form[section]))
            else:
                mask = np.zeros(tok.vocab_size, dtype=bool)
                mask[tok.section_ids] = True
                choice = draw_tokens(logits, mask, ctx.options, ctx.rng)
            if ctx.letters is not None and section < ctx.letters.shape[1]:
                ctx.letters[:, section] = choice - tok.section_base
            logits, state = self.lm.step(choice, state)
        return logits, state

    def _walk(self, logits, state, out: np.ndarray, first: int, pos: int, stop: int, step_mask: np.ndarray,
              ctx: "_Run", primed: bool, opening: bool, forced=None, forced_logp=None, echo=None):
        """Draw step tokens for grid positions ``pos`` to ``stop`` into ``out[:, pos - first]``,
        feeding bar lines; ``forced(pos) -> mask or None`` narrows the mask at a position;
        ``forced_logp`` (B,), if given, accumulates the model's log-probability of the tokens
        drawn where ``forced`` narrowed a row's mask; ``echo(pos) -> (rows, token ids)`` raises those rows' logits of
        those tokens by :data:`ANSWER_BIAS` (:meth:`_answer`).
        Returns ``(logits, state, stop)``."""
        bar_steps, tok = ctx.bar_steps, self.tok
        off_beat = step_mask  # the mask where no triplet beat may start
        if tok.triplet_id is not None:
            off_beat = step_mask.copy()
            off_beat[..., tok.triplet_id] = False
        silent = _silence_before(ctx, pos, len(logits))
        struck = _struck_before(ctx, pos, tok)
        while pos < stop:
            if pos > 0 and pos % bar_steps == 0:
                logits, state = self._bar_line(logits, state, pos // bar_steps, ctx)
            mask = step_mask
            if pos == first and (primed or opening):
                mask = step_mask.copy()
                mask[..., HOLD] = False  # the primer's last note stays as written
                if opening:
                    mask[..., REST] = False  # and a melody of its own starts with a note
                if tok.triplet_id is not None:
                    mask[..., tok.triplet_id] = False  # (a triplet's first third could hold it)
            elif off_beat is not step_mask and not _beat_starts(pos, bar_steps):
                mask = off_beat  # a triplet fills a whole beat
            narrowed = None  # (B,) rows whose mask ``forced`` narrowed at this position
            if forced is not None and (narrow := forced(pos)) is not None:
                mask = mask & narrow
                narrowed = ~narrow.all(axis=1)
            choice = draw_tokens(_steered(logits, pos, ctx, echo, silent, struck), mask, ctx.options, ctx.rng,
                                 pitch_ids=self.pitch_ids)
            silent = np.where(choice == REST, 1, np.where((choice == HOLD) & (silent > 0), silent + 1, 0))
            if struck is not None:
                struck = _strike(struck, choice, tok)
            if forced_logp is not None and narrowed is not None and narrowed.any():
                step_logp = np.take_along_axis(_log_softmax(logits), choice[:, None], axis=1)[:, 0]
                forced_logp += np.where(narrowed, step_logp, 0.0)
            out[:, pos - first] = choice
            if ctx.history is not None:
                ctx.history[:, pos] = choice
            logits, state = self.lm.step(choice, state)
            pos += 1
        return logits, state, pos

    def _end(self, logits, state, generated: np.ndarray, first: int, pos: int, total_steps: int, meter,
             step_mask: np.ndarray, keys: list, ctx: "_Run", primed: bool, opening: bool, drawn: bool) -> list:
        """Write the last bars of every row (``generated[:, pos - first:]``) with a tonic
        ending: :data:`ENDING_CANDIDATES` candidates per row, one kept, drawn in proportion
        to the model's probability of its forced steps and of ``EOS`` after them.

        With a drawn key (``drawn``: it conditions, it does not bind) a melody may have
        settled in another key; then half the candidates end on the tonic its notes
        suggest, and if one of those wins, the melody's key is that one.

        Returns:
            each row's key (the drawn one, or the one its ending settled).
        """
        num, k = len(generated), ENDING_CANDIDATES
        settled = [None] * num  # the key a drawn-key melody's notes suggest, where it differs
        tonics = np.zeros(num * k, dtype=np.int64)
        for r in range(num):
            if keys[r] is None:
                tonic = _key_guess(self.tok, generated[r, :pos - first]).tonic
            else:
                tonic = keys[r].tonic
                guess = _key_guess(self.tok, generated[r, :pos - first]) if drawn else None
                if guess is not None and guess.tonic != tonic:
                    settled[r] = guess
            tonics[r * k:(r + 1) * k] = tonic
            if settled[r] is not None:
                tonics[r * k + 1:(r + 1) * k:2] = settled[r].tonic
        starts = cadence_steps(meter, ctx.bar_steps)
        cadence = total_steps - ctx.bar_steps + np.array([starts[(j // 2) % len(starts)] for j in range(k)] * num)
        candidates, forced_logp, logits, _ = self._candidates(logits, state, pos, total_steps, tonics, cadence,
                                                                 step_mask, ctx, primed, opening)
        forced_logp += _log_softmax(logits)[:, EOS]  # the model's wish to end the piece here
        choice = _draw_in_proportion(forced_logp.reshape(num, k), ctx.options, ctx.rng)
        generated[:, pos - first:] = candidates[choice + np.arange(num) * k]
        return [KeySignature(0.0, settled[r].tonic, settled[r].mode) if settled[r] is not None and choice[r] % 2
                else keys[r] for r in range(num)]

    def _answer_span(self, body: list[int], pos: int, bar_steps: int, free_until: int) -> tuple[int, int] | None:
        """``(start, stop)`` grid positions of the two bars that answer a primer's opening:
        :data:`PHRASE_BARS` bars after its first full bar (a first bar silent for at least
        half its length is a pickup), when the primer holds that bar and the next and
        the continuation reaches those bars; None otherwise (no primer, too short a
        continuation, an answer inside the primer or in the ending)."""
        if not body:
            return None
        steps = [t for t in body if self.tok.is_step(t)]
        onset = next((i for i, t in enumerate(steps[:bar_steps]) if t != HOLD), bar_steps)
        first_bar = 1 if onset >= bar_steps // 2 else 0
        start = (first_bar + PHRASE_BARS) * bar_steps
        stop = start + ENDING_BARS * bar_steps
        if pos > start or stop > free_until or pos < (first_bar + ENDING_BARS) * bar_steps:
            return None
        return start, stop

    def _answer(self, logits, state, generated: np.ndarray, first: int, pos: int, stop: int, source: int,
                step_mask: np.ndarray, ctx: "_Run", primed: bool, opening: bool):
        """Write grid positions ``pos`` to ``stop`` pulled toward the steps from ``source`` on
        (the primer's opening): each step's logit of the token at the same place there is
        raised by :data:`ANSWER_BIAS`. Returns ``(logits, state, stop)``."""
        opening_steps = ctx.history[:, source:source + stop - pos]
        rows = np.arange(len(generated))

        def echo(p: int):
            tokens = opening_steps[:, p - pos]
            keep = tokens >= 0
            return rows[keep], tokens[keep]

        return self._walk(logits, state, generated, first, pos, stop, step_mask, ctx, primed, opening, echo=echo)

    def _section_close(self, logits, state, generated: np.ndarray, first: int, pos: int, stop: int, meter,
                       step_mask: np.ndarray, keys: list, ctx: "_Run", primed: bool, opening: bool):
        """Write grid positions ``pos`` to ``stop`` (the last bars of a section) as one of
        :data:`SECTION_CANDIDATES` candidates per row, half of which sound the tonic on a
        strong beat of the section's last bar, held for a beat (then the bar runs on); the
        other half are drawn freely. The kept one is drawn in proportion to the model's
        probability of a tonic candidate's forced steps, and ``exp(FREE_CLOSE_LOGP)`` for a
        free one. Returns ``(logits, state, stop)`` of the kept ones."""
        num, k = len(generated), SECTION_CANDIDATES
        tonics = np.repeat([(_key_guess(self.tok, generated[r, :pos - first]) if keys[r] is None else keys[r]).tonic
                            for r in range(num)], k)
        starts = cadence_steps(meter, ctx.bar_steps)
        last_bar = stop - ctx.bar_steps
        cadence = np.array([last_bar + starts[(j // 2) % len(starts)] if j % 2 == 0 else -1 for j in range(k)] * num)
        candidates, forced_logp, logits, state = self._candidates(logits, state, pos, stop, tonics, cadence,
                                                                     step_mask, ctx, primed, opening,
                                                                     hold=self.tok.config.steps_per_beat)
        weights = np.where(cadence >= 0, forced_logp, FREE_CLOSE_LOGP).reshape(num, k)
        kept = _draw_in_proportion(weights, ctx.options, ctx.rng) + np.arange(num) * k
        generated[:, pos - first:stop - first] = candidates[kept]
        if ctx.history is not None:
            ctx.history[:, pos:stop] = candidates[kept]
        return logits[kept], _take_rows(state, kept), stop

    def _candidates(self, logits, state, pos: int, stop: int, tonics: np.ndarray, cadence: np.ndarray,
                    step_mask: np.ndarray, ctx: "_Run", primed: bool, opening: bool, hold: int | None = None):
        """Draw ``len(tonics) // rows`` candidates per row for grid positions ``pos`` to ``stop``.

        Args:
            tonics: (rows * k,) pitch class each candidate closes on.
            cadence: (rows * k,) grid position where its tonic starts; -1: a free candidate.
            hold: steps the tonic lasts (then the candidate runs on freely); None: to ``stop``.

        Returns:
            ``(candidates (rows * k, stop - pos), the model's log-probability of each one's
            forced steps (rows * k,), logits after them, state after them)``.
        """
        tok = self.tok
        k = len(tonics) // len(logits)
        rows = np.repeat(np.arange(len(logits)), k)
        pitch_classes = np.full(tok.vocab_size, -1)  # of each NOTE token; -1 for the others
        pitch_classes[tok.note_base:tok.note_base + tok.num_pitches] = \
            (tok.config.min_pitch + np.arange(tok.num_pitches)) % 12
        tonic_masks = pitch_classes[None, :] == tonics[:, None]  # (rows * k, V)
        allowed = step_mask[rows] if step_mask.ndim == 2 else np.broadcast_to(step_mask, (len(rows), tok.vocab_size))
        tonic_masks &= allowed
        no_tonic = ~tonic_masks.any(axis=1)
        tonic_masks[no_tonic] = allowed[no_tonic]  # the range holds no tonic: any allowed note closes
        held = np.zeros(tok.vocab_size, dtype=bool)
        held[HOLD] = True
        steered = cadence >= 0

        def forced(p: int):
            at = np.where(steered, p - cadence, -1)
            masks = np.ones((len(cadence), tok.vocab_size), dtype=bool)
            masks[at == 0] = tonic_masks[at == 0]
            masks[(at > 0) if hold is None else (at > 0) & (at < hold)] = held
            return masks

        candidates = np.empty((len(rows), stop - pos), dtype=np.int64)
        forced_logp = np.zeros(len(rows))
        if ctx.history is not None:  # each candidate restates and labels as its melody does
            ctx = replace(ctx, history=np.repeat(ctx.history, k, axis=0), letters=np.repeat(ctx.letters, k, axis=0))
        branch = getattr(self.lm, "branch", None)  # continuations that share what came before
        state = branch(state, k) if branch is not None else _repeat_rows(state, k)
        logits, state, _ = self._walk(np.repeat(logits, k, axis=0), state, candidates, pos, pos,
                                      stop, allowed, ctx, primed, opening, forced, forced_logp)
        return candidates, forced_logp, logits, state

    def _step_mask(self, key: KeySignature | None, options: SamplingOptions) -> np.ndarray:
        """Boolean (V,) mask of the step tokens that may be drawn."""
        tok = self.tok
        mask = np.zeros(tok.vocab_size, dtype=bool)
        mask[[REST, HOLD]] = True
        if tok.triplet_id is not None:
            mask[tok.triplet_id] = True  # where a beat starts (:meth:`_walk`)
        classes = allowed_pitch_classes(key, options.scale)
        low, high = options.pitch_range or (tok.config.min_pitch, tok.config.max_pitch)
        if high < tok.config.min_pitch or low > tok.config.max_pitch:
            raise ScoreError(
                f"pitch range {low}-{high} lies outside the model's {tok.config.min_pitch}-{tok.config.max_pitch}"
            )
        allowed = [p for p in range(max(low, tok.config.min_pitch), min(high, tok.config.max_pitch) + 1)
                   if classes is None or p % 12 in classes]
        if not allowed:
            raise ScoreError(f"no pitch satisfies the key/scale within range {low}-{high}")
        mask[[tok.note_id(p) for p in allowed]] = True
        return mask

    def _to_score(self, steps: np.ndarray, primer: Score | None, meter, key, style: str, options,
                  total_steps: int, track: int | None = None, pickup: tuple[int, ...] = ()) -> Score:
        """A melody's score; ``pickup``'s step tokens, if any, end a first bar padded with
        silence (as the corpus readers give an anacrusis), and bar 1 follows it."""
        tok = self.tok
        q = tok.config.steps_per_beat
        start_step = total_steps - len(steps)
        opening = [BOS, tok.meter_id(*meter), tok.pickup_id, *pickup, BAR] if pickup else [BOS, BAR]
        melody = tok.decode(np.concatenate([opening, np.full(start_step, HOLD), steps]))
        new_notes = [Note(n.pitch, n.start, n.duration, n.velocity) for n in melody.tracks[0].notes
                     if n.start >= start_step / q - 1e-9]
        tempo = options.tempo or (primer.tempos[0].bpm if primer is not None and primer.tempos else 120.0)
        if primer is None:
            out = Score(
                tracks=[Track(notes=new_notes, name="seqart melody")],
                tempos=[TempoChange(0.0, float(tempo))],
                time_signatures=[TimeSignature(0.0, *meter)],
                key_signatures=[KeySignature(0.0, key.tonic, key.mode)] if key else [],
                title="seqart melody",
            )
            if style:
                out.style = style
            return out
        out = primer.copy()
        if options.tempo is not None:
            out.tempos = [TempoChange(0.0, float(tempo))]
        pitched = [t for t in out.tracks if not t.is_drum]
        if track is not None:
            out.tracks[track].notes.extend(new_notes)
        elif len(pitched) == 1:
            pitched[0].notes.extend(new_notes)
        else:
            out.tracks.append(Track(notes=new_notes, name="seqart melody"))
        return out


def _silence_before(ctx: "_Run", pos: int, rows: int) -> np.ndarray:
    """(rows,) steps each row has been silent for at grid position ``pos`` (0: a note
    sounds, or no history is kept), read from ``ctx.history``."""
    if ctx.history is None or pos == 0:
        return np.zeros(rows, dtype=np.int64)
    changes = ctx.history[:, pos - 1::-1] != HOLD  # newest first
    back = changes.argmax(axis=1)  # steps back to the last REST or note
    last = ctx.history[np.arange(len(changes)), pos - 1 - back]
    return np.where(changes.any(axis=1) & (last == REST), back + 1, 0)


def _struck_before(ctx: "_Run", pos: int, tok: MelodyTokenizer) -> tuple[np.ndarray, np.ndarray] | None:
    """``(runs, notes)``, each (rows,): how many times running each row's last note token
    has been struck before grid position ``pos`` (0 and -1: none yet), read from
    ``ctx.history``; None where no history is kept."""
    if ctx.history is None:
        return None
    rows = len(ctx.history)
    if pos == 0:
        return np.zeros(rows, dtype=np.int64), np.full(rows, -1, dtype=np.int64)
    back = ctx.history[:, pos - 1::-1]  # newest first
    onset = (back >= tok.note_base) & (back < tok.ts_base)
    notes = np.where(onset.any(axis=1), back[np.arange(rows), onset.argmax(axis=1)], -1)
    other = onset & (back != notes[:, None])  # an earlier, different note ends the run
    runs = (onset & (np.cumsum(other, axis=1) == 0)).sum(axis=1)
    return runs, notes


def _strike(struck: tuple[np.ndarray, np.ndarray], choice: np.ndarray,
            tok: MelodyTokenizer) -> tuple[np.ndarray, np.ndarray]:
    """``struck`` (:func:`_struck_before`) after each row's ``choice`` token."""
    runs, notes = struck
    onset = (choice >= tok.note_base) & (choice < tok.ts_base)
    return np.where(onset, np.where(choice == notes, runs + 1, 1), runs), np.where(onset, choice, notes)


def _steered(logits: np.ndarray, pos: int, ctx: "_Run", echo=None, silent=None, struck=None) -> np.ndarray:
    """The logits (B, V) grid position ``pos`` is drawn from: the model's, each row raised
    toward the note its restated section had there (``ctx.restate``) and toward the
    primer's answer (``echo``, :data:`ANSWER_BIAS`), ``REST`` lowered in a phrase's last
    bar (:data:`PHRASE_END_REST_PENALTY`), the token that would play a bar or two-bar
    figure a third time running lowered (:data:`THIRD_TIME_PENALTIES`), ``REST`` and
    ``HOLD`` lowered in rows silent (``silent``, (B,) steps) for :data:`LONG_SILENCE_SHARE`
    of a bar, a note struck :data:`SAME_NOTE_RUN` times running (``struck``,
    :func:`_struck_before`) lowered, and so every note more than :data:`LEAP_LIMIT` semitones
    from the last one struck (:meth:`_Run.far_leaps`); before all of these, the last note
    struck gives :data:`REPEAT_PENALTY` nats to the other notes (:func:`_shift_from_note`).
    A copy where anything changes: the model's own logits still score the candidates."""
    phrase_end = (pos // ctx.bar_steps) % PHRASE_BARS == PHRASE_BARS - 1
    hush = np.flatnonzero(silent >= ctx.long_silence) if silent is not None and pos < ctx.last_bar else ()
    stuck = np.flatnonzero(struck[0] >= SAME_NOTE_RUN) if struck is not None else ()
    sounded = np.flatnonzero(struck[1] >= 0) if struck is not None else np.zeros(0, dtype=np.int64)
    # (rows and tokens of the logits, nats added), in a fixed order; None or no rows: nothing
    nudges = [(ctx.restating(pos), ctx.restate),
              ((np.arange(len(logits)), REST) if phrase_end else None, -PHRASE_END_REST_PENALTY),  # it sounds
              (echo(pos) if echo is not None else None, ANSWER_BIAS),
              *[(ctx.third_time(pos, figure), -by) for figure, by in THIRD_TIME_PENALTIES.items()],  # no loops
              ((hush[:, None], [REST, HOLD]) if len(hush) else None, -LONG_SILENCE_PENALTY),  # no silent bar
              ((stuck, struck[1][stuck]) if len(stuck) else None, -SAME_NOTE_PENALTY),  # no drone
              (ctx.far_leaps(sounded, struck[1][sounded]) if len(sounded) else None, -LEAP_PENALTY)]  # one register
    nudges = [(where, by) for where, by in nudges if where is not None and len(where[0])]
    repeat = len(sounded) and REPEAT_PENALTY
    if not nudges and not repeat:
        return logits
    drawn = logits.copy()
    if repeat:  # the model's excess of repeated notes, moved among the notes (the first nudge)
        _shift_from_note(drawn, sounded, struck[1][sounded], ctx.note_ids, REPEAT_PENALTY)
    for where, by in nudges:
        drawn[where] += by
    return drawn


def _shift_from_note(logits: np.ndarray, rows: np.ndarray, notes: np.ndarray, note_ids: np.ndarray,
                     by: float) -> None:
    """In place: each of ``rows`` of ``logits`` (B, V) makes its note token ``notes`` (one per
    row) ``by`` nats less likely against the other notes ``note_ids`` (contiguous ids), which
    together keep the weight the notes had: whether a note starts is left as it was, only
    which note it is moves."""
    block = logits[rows[:, None], note_ids]
    before = np.logaddexp.reduce(block, axis=1)
    block[np.arange(len(rows)), notes - note_ids[0]] -= by
    block += (before - np.logaddexp.reduce(block, axis=1))[:, None]
    logits[rows[:, None], note_ids] = block


def _draw_in_proportion(log_weights: np.ndarray, options, rng: np.random.Generator) -> np.ndarray:
    """One column per row of ``log_weights`` (rows, k), drawn with probability proportional to
    ``exp(log_weights / temperature)``; the largest with greedy sampling (``top_k`` 1)."""
    if options.top_k == 1:
        return log_weights.argmax(axis=1)
    scaled = log_weights / options.temperature
    p = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    return _inverse_cdf(p / p.sum(axis=1, keepdims=True), rng)


def _repeat_rows(state, num: int):
    """A model's recurrent state (arrays with the batch first, nested in tuples and lists,
    however the model keeps it: an LSTM's ``(h, c)`` per layer, a key/value cache)
    with each row repeated ``num`` times. A state object with a ``repeat(num)`` method
    (a key/value cache) repeats itself."""
    if hasattr(state, "repeat") and not isinstance(state, np.ndarray):
        return state.repeat(num)
    if isinstance(state, np.ndarray):
        return np.repeat(state, num, axis=0)
    if isinstance(state, (list, tuple)):
        return type(state)(_repeat_rows(s, num) for s in state)
    if isinstance(state, dict):
        return {k: _repeat_rows(v, num) for k, v in state.items()}
    return state



def _take_rows(state, rows: np.ndarray):
    """A model's recurrent state (as :func:`_repeat_rows` takes it) holding only batch rows
    ``rows``, in that order. A state object with a ``take(rows)`` method takes its own."""
    if hasattr(state, "take") and not isinstance(state, np.ndarray):
        return state.take(rows)
    if isinstance(state, np.ndarray):
        return state[rows]
    if isinstance(state, (list, tuple)):
        return type(state)(_take_rows(s, rows) for s in state)
    if isinstance(state, dict):
        return {k: _take_rows(v, rows) for k, v in state.items()}
    return state


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """Natural-log probabilities of logits (B, V), float64."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _key_guess(tok: MelodyTokenizer, steps: np.ndarray) -> KeySignature:
    """The key of a melody's step tokens, each note counted once
    (:func:`seqart.key_finding.estimate_key`); C major for a melody without notes."""
    from seqart.key_finding import estimate_key

    pitches = [p for p in (tok.pitch_of(int(t)) for t in steps) if p is not None]
    return estimate_key(np.array(pitches, dtype=np.int64)) or KeySignature(0.0, 0, "major")
