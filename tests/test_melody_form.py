"""How sampling shapes a melody: a note on the first downbeat, a tonic ending, keys and
styles drawn as the training melodies have them, section letters for a form."""

import json
import shutil

import numpy as np
import pytest

from seqart.errors import ScoreError
from seqart.generate.melody import cadence_steps
from seqart.models.loading import load_generator
from seqart.score import KeySignature
from tests.train_fixtures import tiny_corpus, tiny_run  # noqa: F401


def _notes(score):
    return sorted(score.tracks[0].notes, key=lambda n: n.start)


def test_cadence_points_are_strong_beats():
    assert cadence_steps((4, 4), 16) == (0, 8)
    assert cadence_steps((6, 8), 12) == (0, 6)
    assert cadence_steps((3, 4), 12) == (0,)
    assert cadence_steps((9, 8), 18) == (0,)


@pytest.mark.parametrize("meter,bar_beats", [("4/4", 4.0), ("6/8", 3.0), ("3/4", 3.0)])
def test_melodies_open_on_the_downbeat_and_end_on_a_held_tonic(tiny_run, meter, bar_beats):
    gen = load_generator(tiny_run)
    bars = 5
    for score in gen.sample(num=6, bars=bars, seed=3, time_signature=meter, temperature=1.3):
        notes = _notes(score)
        assert notes[0].start == 0.0
        last = notes[-1]
        assert last.pitch % 12 == score.key.tonic
        assert abs(last.end - bars * bar_beats) < 1e-9 and last.duration >= 1.0
        assert (last.start - (bars - 1) * bar_beats) in (0.0, bar_beats / 2)


def test_a_free_ending_stops_wherever_the_melody_is(tiny_run):
    gen = load_generator(tiny_run)
    steered = gen.sample(num=8, bars=3, seed=5, temperature=1.5, key="C")
    free = gen.sample(num=8, bars=3, seed=5, temperature=1.5, key="C", ending="free")
    assert all(_notes(s)[-1].pitch % 12 == 0 for s in steered)
    assert [s.to_dict() for s in steered] != [s.to_dict() for s in free]
    with pytest.raises(ScoreError, match="ending"):
        gen.sample(num=1, bars=2, ending="maybe")


def test_a_primer_continuation_ends_on_the_tonic_and_keeps_the_primer(tiny_run):
    gen = load_generator(tiny_run)
    primer = gen.sample(num=1, bars=2, seed=1, key="G", ending="free")[0]
    out = gen.continue_score(primer, bars=3, num=2, seed=2)
    for score in out:
        notes = _notes(score)
        assert [(n.pitch, n.start, n.duration) for n in notes[:len(_notes(primer))]] == \
            [(n.pitch, n.start, n.duration) for n in _notes(primer)]
        assert notes[-1].pitch % 12 == 7


def test_keys_and_styles_follow_the_training_openings(tiny_run, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_run / "model", folder)
    headers = json.loads((folder / "keys.json").read_text())["headers"]
    assert headers and all(len(row) == 4 for row in headers)  # written after training
    (folder / "keys.json").write_text(json.dumps({"headers": [
        ["reel", "2/2", "KEY_D_major", 3], ["reel", "2/2", "KEY_A_dorian", 1], ["jig", "6/8", "KEY_G_major", 5]]}))
    gen = load_generator(folder)
    # ending="free": a tonic ending may settle a drawn key the melody left (test below)
    reels = gen.sample(num=40, bars=2, seed=0, style="reel", ending="free")
    assert {str(s.time_signature) for s in reels} == {"2/2"}  # the style's meter
    assert {s.key.name for s in reels} == {"D major", "A dorian"}
    assert sum(s.key.name == "D major" for s in reels) > 20
    assert {s.style for s in reels} == {"reel"}
    jigs = gen.sample(num=5, bars=2, seed=0, time_signature="6/8", ending="free")
    assert {s.key.name for s in jigs} == {"G major"} and {s.style for s in jigs} == {"jig"}
    # A dorian masks by the mode: no G#, no F
    for score in gen.sample(num=4, bars=4, seed=1, key="A dorian"):
        assert {n.pitch % 12 for n in score.tracks[0].notes} <= {9, 11, 0, 2, 4, 6, 7}


def test_style_and_form_are_checked(tiny_run):
    gen = load_generator(tiny_run)
    with pytest.raises(ScoreError, match="unknown style"):
        gen.sample(num=1, bars=2, style="disco")
    with pytest.raises(ScoreError, match="form"):
        gen.sample(num=1, form="AXB")
    two = gen.sample(num=1, form="AB", seed=0, time_signature="4/4")[0]
    assert two.end == pytest.approx(16 * 4)  # bars default to the form's sections of 8 bars


def test_form_letters_reach_the_model(tiny_run):
    """The section token fed at each section start is the form's letter."""
    gen = load_generator(tiny_run)
    tok = gen.tokenizer
    fed = []
    step = gen.lm.step

    def spy(tokens, state):
        fed.append(np.asarray(tokens).copy())
        return step(tokens, state)

    gen.lm.step = spy
    try:
        gen.sample(num=1, bars=24, form="AABA", seed=0, ending="free", time_signature="4/4")
    finally:
        gen.lm.step = step
    letters = [tok.section_of(int(t[0])) for t in fed if tok.section_of(int(t[0]))]
    assert letters == ["A", "A", "B"]  # bars 1, 9 and 17 open a section


def test_the_cli_takes_style_form_and_ending(tiny_run, tmp_path):
    from typer.testing import CliRunner

    from seqart.cli import app
    from seqart.score import Score

    runner = CliRunner()
    out = tmp_path / "reel.mid"
    result = runner.invoke(app, ["sample", str(tiny_run), "-o", str(out), "--style", "reel", "--form", "AB",
                                 "--time-signature", "4/4", "--seed", "3"])
    assert result.exit_code == 0, result.output
    score = Score.from_file(out)
    assert score.end == pytest.approx(16 * 4)
    free = runner.invoke(app, ["sample", str(tiny_run), "-o", str(tmp_path / "free.mid"), "--ending", "free",
                               "--bars", "2", "--seed", "3"])
    assert free.exit_code == 0, free.output
    bad = runner.invoke(app, ["sample", str(tiny_run), "-o", str(tmp_path / "x.mid"), "--style", "disco"])
    assert bad.exit_code != 0 and "unknown style 'disco'" in bad.output and "Traceback" not in bad.output


def test_a_drawn_key_conditions_without_binding_but_a_given_key_binds(tiny_run):
    gen = load_generator(tiny_run)
    drawn = gen.sample(num=16, bars=8, seed=2, temperature=2.0)
    outside = sum(n.pitch % 12 not in s.key.scale for s in drawn for n in s.notes[:-1])
    assert outside > 0  # accidentals, as the training tunes have them
    given = gen.sample(num=8, bars=8, seed=2, temperature=2.0, key="G")
    assert all(n.pitch % 12 in KeySignature.parse("G").scale for s in given for n in s.notes)


def test_a_repeated_letter_restates_its_section(tiny_run):
    """With --form AA the second section is pulled toward the first (the tiny model alone
    would not restate it)."""
    from seqart.evaluate.form import bars_similarity

    gen = load_generator(tiny_run)
    same = gen.sample(num=8, form="AA", seed=4, time_signature="4/4", ending="free")
    other = gen.sample(num=8, form="AB", seed=4, time_signature="4/4", ending="free")
    alike = np.mean([bars_similarity(s, 1, 9, 8) for s in same])
    unlike = np.mean([bars_similarity(s, 1, 9, 8) for s in other])
    assert alike > unlike + 0.2


def test_an_ending_may_settle_a_drawn_key_but_never_a_given_one(tiny_run):
    gen = load_generator(tiny_run)
    drawn = gen.sample(num=24, bars=4, seed=9, temperature=1.5)
    assert all(_notes(s)[-1].pitch % 12 == s.key.tonic for s in drawn)  # the key written is the one it ends in
    given = gen.sample(num=24, bars=4, seed=9, temperature=1.5, key="Eb")
    assert {s.key.name for s in given} == {"Eb major"} and all(_notes(s)[-1].pitch % 12 == 3 for s in given)


class _FlatLM:
    """Every token equally likely, whatever came before: the tonic closes of a section tie,
    and the first one (a tonic on the downbeat, held a beat) is the likelier to be kept; of
    the endings, one whose tonic starts on the half bar forces fewer held steps, so it is by
    far the likelier to be drawn."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size

    def initial_state(self, batch: int):
        return np.zeros((batch, 1))

    def step(self, tokens, state):
        return np.zeros((len(tokens), self.vocab_size), np.float32), state

    def run(self, tokens, state):
        """Feed a prefix (B, T) step by step (a subclass's state follows it)."""
        tokens = np.atleast_2d(tokens)
        state = self.initial_state(len(tokens)) if state is None else state
        logits = np.zeros((len(tokens), self.vocab_size), np.float32)
        for column in tokens.T:
            logits, state = self.step(column, state)
        return logits, state


@pytest.mark.parametrize("bars,closes", [(16, [8, 16]), (24, [8, 16, 24]), (12, [12])])
def test_every_section_may_close_on_the_tonic(tiny_run, monkeypatch, bars, closes):
    from seqart.generate import melody
    from seqart.generate.melody import MelodySampler, SamplingOptions

    tok = load_generator(tiny_run).tokenizer
    sampler = MelodySampler(_FlatLM(tok.vocab_size), tok)
    options = SamplingOptions(bars=bars, key=KeySignature(0, 2, "major"), time_signature=(4, 4))

    def close_on_d(score, bar):
        """The D that starts on a strong beat (beat 1 or 3) of ``bar``, held at least a beat, or None."""
        return next((n for n in score.tracks[0].notes if n.start in (4 * bar - 4, 4 * bar - 2)
                     and n.end >= n.start + 1 and n.pitch % 12 == 2), None)

    # a flat model gives a tonic close's forced steps far less than FREE_CLOSE_LOGP: the free closes win
    flat = sampler.sample(3, options, np.random.default_rng(0))
    assert not any(close_on_d(score, bar) for score in flat for bar in closes[:-1])
    monkeypatch.setattr(melody, "FREE_CLOSE_LOGP", -np.inf)  # free closes never kept
    for score in sampler.sample(3, options, np.random.default_rng(0)):
        notes = score.tracks[0].notes
        for bar in closes[:-1]:  # a D on a strong beat of the section's last bar, held a beat, then it runs on
            held = close_on_d(score, bar)
            assert held is not None and held.end <= 4 * bar, (bar, notes)
            assert held.end == 4 * bar or any(held.end <= n.start < 4 * bar for n in notes), (bar, held)
        last = notes[-1]  # the tune's last note: a D from a strong beat of the last bar to its end
        assert last.pitch % 12 == 2 and last.start in (4 * closes[-1] - 4, 4 * closes[-1] - 2), last
        assert last.end == 4 * closes[-1]
    free = sampler.sample(3, SamplingOptions(bars=bars, key=KeySignature(0, 2, "major"), time_signature=(4, 4),
                                             ending="free"), np.random.default_rng(0))
    assert not any(n.start == 28 and n.end == 32 and n.pitch % 12 == 2 for s in free for n in s.tracks[0].notes)


def test_the_last_bar_of_a_phrase_keeps_sounding(tiny_run, monkeypatch):
    """A rest is made much less likely in bars 4, 8, 12 and 16 (PHRASE_END_REST_PENALTY): a flat
    model rests there as it does elsewhere once the penalty is off, and still rests elsewhere."""
    from seqart.generate import melody
    from seqart.generate.melody import MelodySampler, SamplingOptions

    tok = load_generator(tiny_run).tokenizer
    sampler = MelodySampler(_FlatLM(tok.vocab_size), tok)
    options = SamplingOptions(bars=16, key=KeySignature(0, 2, "major"), time_signature=(4, 4), ending="free")

    def silent_steps(scores, bars):
        """Sixteenth-note steps of ``bars`` (from 1) where no note sounds, over ``scores``."""
        starts = [4 * (bar - 1) + step / 4 + 0.125 for bar in bars for step in range(16)]
        return sum(not any(n.start <= t < n.end for n in s.tracks[0].notes) for s in scores for t in starts)

    phrase_ends, others = [4, 8, 12, 16], [b for b in range(1, 17) if b % 4]
    kept = sampler.sample(8, options, np.random.default_rng(0))
    monkeypatch.setattr(melody, "PHRASE_END_REST_PENALTY", 0.0)
    plain = sampler.sample(8, options, np.random.default_rng(0))
    assert silent_steps(plain, phrase_ends) > 8 * silent_steps(kept, phrase_ends), \
        (silent_steps(plain, phrase_ends), silent_steps(kept, phrase_ends))
    assert silent_steps(kept, others) > 0


class _HushedLM(_FlatLM):
    """Once silent (its state: 1 after a rest, through holds and bar lines), the silence
    goes on far likelier than anything else: left to itself, a melody falls silent for bars."""

    def step(self, tokens, state):
        from seqart.tokenizers.melody import BAR, HOLD, REST

        tokens = np.asarray(tokens)
        silent = np.where(tokens == REST, 1.0, np.where((tokens == HOLD) | (tokens == BAR), state[:, 0], 0.0))
        logits = np.zeros((len(tokens), self.vocab_size), np.float32)
        logits[:, REST] = 1.0
        logits[silent > 0, HOLD] = 8.0
        return logits, silent[:, None]


class _LoopLM(_FlatLM):
    """Plays again what it played ``bars`` 4/4 bars before (logit +12 for the step token
    16 * ``bars`` steps back; bar lines not counted): left to itself, a melody is its first
    ``bars`` bars over and over."""

    def __init__(self, tokenizer, bars: int = 1):
        super().__init__(tokenizer.vocab_size)
        self.tok = tokenizer
        self.bars = bars

    def initial_state(self, batch: int):
        return np.full((batch, 16 * self.bars), -1, dtype=np.int64)  # the last step tokens, oldest first

    def step(self, tokens, state):
        tokens = np.asarray(tokens)
        steps = np.array([self.tok.is_step(int(t)) for t in tokens])
        state = np.where(steps[:, None], np.concatenate([state[:, 1:], tokens[:, None]], axis=1), state)
        logits = np.zeros((len(tokens), self.vocab_size), np.float32)
        rows = np.flatnonzero(state[:, 0] >= 0)
        logits[rows, state[rows, 0]] += 12.0
        return logits, state


def _longest_run_of_equal_figures(score, bar: float, figure: int = 1) -> int:
    """The most figures of ``figure`` bars in a row with the same notes (onsets in the bar,
    pitches, lengths), figures starting on any bar."""
    bars: dict = {}
    for n in score.tracks[0].notes:
        bars.setdefault(int(n.start // bar), []).append((n.start % bar, n.pitch, n.duration))
    contents = [tuple(bars.get(b, ())) for b in range(max(bars) + 1)]
    best = 1
    for phase in range(figure):
        figures = [contents[i:i + figure] for i in range(phase, len(contents) - figure + 1, figure)]
        run = 1
        for before, after in zip(figures, figures[1:]):
            run = run + 1 if all(after) and after == before else 1
            best = max(best, run)
    return best


@pytest.mark.parametrize("figure", [1, 2])
def test_no_figure_of_one_or_two_bars_comes_a_third_time_running(tiny_run, monkeypatch, figure):
    """While the music copies a figure of one or two bars just played twice running, the
    copying token is lowered (THIRD_TIME_PENALTIES; made overwhelming here, the shipped
    values being nudges that the bench calibrates): a model that repeats its figures plays
    each at most twice in a row, and without the rule one figure throughout."""
    from seqart.generate import melody
    from seqart.generate.melody import MelodySampler, SamplingOptions

    tok = load_generator(tiny_run).tokenizer
    sampler = MelodySampler(_LoopLM(tok, bars=figure), tok)
    options = SamplingOptions(bars=12, key=KeySignature(0, 2, "major"), time_signature=(4, 4), ending="free")
    # the model's first bar is drawn evenly over the whole range, leaping across octaves: the
    # leap rule (LEAP_PENALTY) would weaken its copies and is left out of this test of loops
    monkeypatch.setattr(melody, "LEAP_PENALTY", 0.0)
    monkeypatch.setattr(melody, "THIRD_TIME_PENALTIES", {1: 30.0, 2: 30.0})
    varied = sampler.sample(6, options, np.random.default_rng(0))
    assert max(_longest_run_of_equal_figures(s, 4.0, figure) for s in varied) == 2
    monkeypatch.setattr(melody, "THIRD_TIME_PENALTIES", {1: 0.0, 2: 0.0})
    looped = sampler.sample(6, options, np.random.default_rng(0))
    assert min(_longest_run_of_equal_figures(s, 4.0, figure) for s in looped) >= 12 // figure - 2


@pytest.mark.parametrize("meter", [(4, 4), (6, 8)])
def test_no_silence_lasts_a_bar_before_the_last_bar(tiny_run, monkeypatch, meter):
    """A silence that has lasted 3/4 of a bar makes way for a note (LONG_SILENCE_SHARE) up to
    the last bar; with the penalty off, the same model stays silent for whole bars."""
    from seqart.generate import melody
    from seqart.generate.melody import MelodySampler, SamplingOptions

    tok = load_generator(tiny_run).tokenizer
    sampler = MelodySampler(_HushedLM(tok.vocab_size), tok)
    options = SamplingOptions(bars=8, key=KeySignature(0, 2, "major"), time_signature=meter, ending="free")
    bar = 4 * meter[0] / meter[1]

    def longest_silence(score):
        """Beats of the longest gap between notes that ends before the last bar."""
        notes = score.tracks[0].notes
        gaps = [b.start - a.end for a, b in zip(notes, notes[1:]) if b.start < 7 * bar]
        return max(gaps, default=0.0)

    capped = sampler.sample(6, options, np.random.default_rng(0))
    assert all(longest_silence(s) < bar for s in capped), [longest_silence(s) for s in capped]
    assert max(longest_silence(s) for s in capped) >= bar / 4  # it still rests
    monkeypatch.setattr(melody, "LONG_SILENCE_PENALTY", 0.0)
    plain = sampler.sample(6, options, np.random.default_rng(0))
    assert max(longest_silence(s) for s in plain) >= 2 * bar


class _DroneLM(_FlatLM):
    """Strikes one note (its token's logit +12) at every step: left to itself, a melody is
    that note over and over."""

    def __init__(self, vocab_size: int, note: int):
        super().__init__(vocab_size)
        self.note = note

    def step(self, tokens, state):
        logits = np.zeros((len(tokens), self.vocab_size), np.float32)
        logits[:, self.note] = 12.0
        return logits, state


def test_no_note_is_struck_more_than_five_times_running(tiny_run, monkeypatch):
    """A note struck SAME_NOTE_RUN times running is lowered (made overwhelming here, the
    shipped value being a nudge the bench calibrates), rests and held steps between the
    strikes not counting: a droning model strikes its note at most five times in a row,
    and without the rule all the way through."""
    from seqart.generate import melody
    from seqart.generate.melody import MelodySampler, SamplingOptions

    tok = load_generator(tiny_run).tokenizer
    sampler = MelodySampler(_DroneLM(tok.vocab_size, tok.note_id(62)), tok)
    options = SamplingOptions(bars=4, key=KeySignature(2, 2, "major"), time_signature=(4, 4), ending="free")

    def longest_run(score):
        pitches = [n.pitch for n in score.tracks[0].notes]
        runs = [1]
        for before, after in zip(pitches, pitches[1:]):
            runs.append(runs[-1] + 1 if after == before else 1)
        return max(runs)

    monkeypatch.setattr(melody, "SAME_NOTE_PENALTY", 30.0)
    varied = sampler.sample(6, options, np.random.default_rng(0))
    assert max(longest_run(s) for s in varied) == melody.SAME_NOTE_RUN
    monkeypatch.setattr(melody, "SAME_NOTE_PENALTY", 0.0)
    droned = sampler.sample(6, options, np.random.default_rng(0))
    assert min(longest_run(s) for s in droned) >= 32


def test_a_repeated_note_gives_way_to_other_notes_not_to_rests_or_holds(tiny_run, monkeypatch):
    """REPEAT_PENALTY moves weight from the note just struck to the other notes (made
    overwhelming here; the shipped value is a nudge the bench calibrates): a droning model
    then never strikes one note twice running, yet strikes a note on every step as it does
    without the rule, since the notes together keep their weight against rests and holds."""
    from seqart.generate import melody
    from seqart.generate.melody import MelodySampler, SamplingOptions

    tok = load_generator(tiny_run).tokenizer
    sampler = MelodySampler(_DroneLM(tok.vocab_size, tok.note_id(62)), tok)
    options = SamplingOptions(bars=4, key=KeySignature(2, 2, "major"), time_signature=(4, 4), ending="free")
    monkeypatch.setattr(melody, "REPEAT_PENALTY", 30.0)
    moved = sampler.sample(6, options, np.random.default_rng(0))
    monkeypatch.setattr(melody, "REPEAT_PENALTY", 0.0)
    monkeypatch.setattr(melody, "SAME_NOTE_PENALTY", 0.0)
    droned = sampler.sample(6, options, np.random.default_rng(0))
    for score in moved:
        pitches = [n.pitch for n in score.tracks[0].notes]
        assert all(a != b for a, b in zip(pitches, pitches[1:]))
    assert [len(s.tracks[0].notes) for s in moved] == [len(s.tracks[0].notes) for s in droned] == [64] * 6


def test_shift_from_note_keeps_the_notes_weight():
    """_shift_from_note lowers one note per row by the given nats against the other notes
    while the notes' log-sum-exp, and every token outside them, stay as they were."""
    from seqart.generate.melody import _shift_from_note

    rng = np.random.default_rng(3)
    logits = rng.normal(size=(3, 12))
    note_ids = np.arange(4, 10)
    shifted = logits.copy()
    _shift_from_note(shifted, np.array([0, 2]), np.array([5, 9]), note_ids, 0.7)

    def total(row):
        return np.logaddexp.reduce(row[note_ids])

    for row, note in ((0, 5), (2, 9)):
        assert total(shifted[row]) == pytest.approx(total(logits[row]))
        gap = (shifted[row] - logits[row])[note_ids]
        struck = note_ids == note
        assert np.allclose(gap[~struck], gap[~struck][0]) and gap[~struck][0] > 0
        assert gap[struck][0] == pytest.approx(gap[~struck][0] - 0.7)
        assert np.array_equal(np.delete(shifted[row], note_ids), np.delete(logits[row], note_ids))
    assert np.array_equal(shifted[1], logits[1])


class _TwoRegistersLM(_FlatLM):
    """Favours two notes two octaves apart alike (their logits +8): left to itself, a melody
    jumps between them."""

    def __init__(self, vocab_size: int, notes: tuple[int, int]):
        super().__init__(vocab_size)
        self.notes = list(notes)

    def step(self, tokens, state):
        logits = np.zeros((len(tokens), self.vocab_size), np.float32)
        logits[:, self.notes] = 8.0
        return logits, state


def test_no_note_leaps_further_than_an_octave_and_a_fourth(tiny_run, monkeypatch):
    """A note more than LEAP_LIMIT semitones from the last one struck is lowered (made
    overwhelming here; the shipped value is a nudge the bench calibrates): a model that
    likes two registers two octaves apart keeps to one, and without the rule jumps."""
    from seqart.generate import melody
    from seqart.generate.melody import MelodySampler, SamplingOptions

    tok = load_generator(tiny_run).tokenizer
    sampler = MelodySampler(_TwoRegistersLM(tok.vocab_size, (tok.note_id(50), tok.note_id(74))), tok)
    options = SamplingOptions(bars=4, key=KeySignature(2, 2, "major"), time_signature=(4, 4), ending="free")

    def widest_leap(score):
        pitches = [n.pitch for n in score.tracks[0].notes]
        return max(abs(b - a) for a, b in zip(pitches, pitches[1:]))

    monkeypatch.setattr(melody, "LEAP_PENALTY", 30.0)
    near = sampler.sample(6, options, np.random.default_rng(0))
    assert max(widest_leap(s) for s in near) <= melody.LEAP_LIMIT
    monkeypatch.setattr(melody, "LEAP_PENALTY", 0.0)
    far = sampler.sample(6, options, np.random.default_rng(0))
    assert min(widest_leap(s) for s in far) == 24


def test_runs_of_one_note_are_counted_over_rests_and_holds_and_kept_step_by_step(tiny_run):
    """How many times running each row's last note was struck, read from the history at any
    position, is what a plain count over the notes gives, and what stepping on from an
    earlier position gives."""
    from types import SimpleNamespace

    from seqart.generate.melody import _strike, _struck_before
    from seqart.tokenizers.melody import HOLD, REST

    tok = load_generator(tiny_run).tokenizer
    pool = np.array([REST, HOLD, tok.note_base + 3, tok.note_base + 5])
    history = np.random.default_rng(0).choice(pool, size=(50, 40), p=[0.1, 0.3, 0.4, 0.2])
    ctx = SimpleNamespace(history=np.concatenate([history, np.full((50, 5), -1)], axis=1))

    def plain(row, pos):
        notes = [t for t in history[row, :pos] if tok.note_base <= t < tok.ts_base]
        run = next((i for i, t in enumerate(reversed(notes)) if t != notes[-1]), len(notes)) if notes else 0
        return run, notes[-1] if notes else -1

    for pos in (0, 1, 7, 40):
        runs, notes = _struck_before(ctx, pos, tok)
        assert [(int(r), int(n)) for r, n in zip(runs, notes)] == [plain(row, pos) for row in range(50)]
    stepped = _struck_before(ctx, 10, tok)
    for pos in range(10, 40):
        stepped = _strike(stepped, history[:, pos], tok)
    np.testing.assert_array_equal(np.stack(stepped), np.stack(_struck_before(ctx, 40, tok)))


@pytest.mark.parametrize("pickup", [False, True])
def test_a_continuation_answers_the_primers_opening(tiny_run, monkeypatch, pickup):
    """Bars 5-6 after a 4-bar primer are pulled toward its bars 1-2 (a pickup is not bar 1);
    with the pull made overwhelming, a flat model copies them, and nothing else moves."""
    from seqart.generate import melody
    from seqart.generate.melody import MelodySampler, SamplingOptions
    from seqart.score import Note, Score, TimeSignature, Track

    tok = load_generator(tiny_run).tokenizer
    lead = 3.0 if pickup else 0.0  # a one-beat pickup
    scale = [62, 64, 66, 67, 69, 71, 73, 74]  # D major, the primer's key: the mask keeps it
    notes = [Note(scale[(i * 3) % 8], lead + i, 1.0, 80) for i in range(16)]
    if pickup:
        notes.insert(0, Note(57, 3.0, 1.0, 80))
        notes = [Note(n.pitch, n.start + (1.0 if n is not notes[0] else 0.0), 1.0, 80) for n in notes]
    primer = Score(tracks=[Track(notes=notes)], time_signatures=[TimeSignature(0.0, 4, 4)],
                   key_signatures=[KeySignature(0.0, 2, "major")])
    first_bar = 4.0 if pickup else 0.0
    sampler = MelodySampler(_FlatLM(tok.vocab_size), tok)
    options = SamplingOptions(bars=4, time_signature=(4, 4), ending="free")

    def bars(score, start, count):
        return [(n.pitch, n.start - start) for n in score.tracks[0].notes if start <= n.start < start + 4 * count]

    monkeypatch.setattr(melody, "ANSWER_BIAS", 50.0)
    for out in sampler.sample(3, options, np.random.default_rng(1), primer=primer):
        assert bars(out, first_bar + 16, 2) == bars(primer, first_bar, 2)
        assert bars(out, first_bar, 4) == bars(primer, first_bar, 4)
    monkeypatch.setattr(melody, "ANSWER_BIAS", 0.0)
    free = sampler.sample(3, options, np.random.default_rng(1), primer=primer)
    assert all(bars(out, first_bar + 16, 2) != bars(primer, first_bar, 2) for out in free)


def test_a_pickup_is_drawn_only_when_asked_and_precedes_the_full_bars():
    import seqart

    gen = seqart.load("folk")
    plain = gen.sample(num=12, bars=4, seed=4, time_signature="6/8")
    assert [s.to_dict() for s in plain] == \
        [s.to_dict() for s in gen.sample(num=12, bars=4, seed=4, time_signature="6/8", pickup=False)]
    assert all(_notes(s)[0].start == 0.0 for s in plain)
    picked = gen.sample(num=12, bars=4, seed=4, time_signature="6/8", pickup=True)
    assert [s.to_dict() for s in picked] == \
        [s.to_dict() for s in gen.sample(num=12, bars=4, seed=4, time_signature="6/8", pickup=True)]
    bar = 3.0
    openings = []
    for score in picked:
        notes = _notes(score)
        first = notes[0].start
        openings.append(first)
        if first == 0.0:  # no pickup: four bars from the downbeat
            assert abs(notes[-1].end - 4 * bar) < 1e-9
            continue
        # a pickup: at most half a bar, ending a first bar padded with silence; then bar 1
        # opens with a note on its downbeat, and four full bars follow, closing on the tonic
        assert bar / 2 <= first < bar and all(n.end <= bar + 1e-9 for n in notes if n.start < bar)
        assert any(abs(n.start - bar) < 1e-9 for n in notes)
        assert abs(notes[-1].end - 5 * bar) < 1e-9 and notes[-1].pitch % 12 == score.key.tonic
    assert 0 < sum(first > 0 for first in openings) < len(openings)  # the model chooses, row by row
    with pytest.raises(ScoreError, match="pickup"):
        gen.sample(num=1, bars=2, primer=plain[0], pickup=True)


def test_a_model_without_pickup_tokens_refuses_a_pickup(tiny_run, monkeypatch):
    gen = load_generator(tiny_run)
    monkeypatch.setattr(gen.tokenizer, "pickup_id", None)
    with pytest.raises(ScoreError, match="no pickup tokens"):
        gen.sample(num=1, bars=2, pickup=True)
