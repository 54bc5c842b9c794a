"""Hostile input: about 1,600 mutated and hand-made MIDI, MusicXML and ABC files
(``tests/fuzz_cases.py``, fixed seeds) through :meth:`Score.read_all`, and samples of
them through ``seqart corpus build`` and ``seqart sample folk --primer``.

A file must read, or fail with :class:`ScoreReadError` whose one-line message names
it, within the reader's time limit. The command line must print no traceback, build
a corpus from the good files while listing every bad one with its reason, and exit 2
on a primer it cannot use.

Should a file hang despite the limit, a watchdog writes every thread's stack to
``watchdog-stacks.txt`` in the test's temporary folder (a file, since pytest's capture
loses what a killed process printed) and fails the test with :class:`Hung`, which names
that file. If the test cannot be stopped (a hang inside C code), faulthandler kills the
process GRACE seconds later, adding the stacks then to the same file; look for it
under pytest's base temporary folder (``pytest-of-$USER/pytest-current/<test>0/``).
"""

from __future__ import annotations

import faulthandler
import gc
import hashlib
import json
import re
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqart.cli import app
from seqart.errors import ScoreError, ScoreReadError, TokenizerError
from seqart.score import Note, Score, Track
from seqart.utils.timelimit import TimeLimitExceeded, time_limit
from tests import fuzz_cases

#: Seconds each file may take to read here (seqart's default is 60).
LIMIT = 1.5
#: Allowed on top of LIMIT: validation after the parse, a busy machine.
SLACK = 2.5
#: Seconds after which a case that hangs anyway fails its test with a stack dump.
WATCHDOG = 120
#: Seconds after WATCHDOG at which a hang that cannot be interrupted kills the run.
GRACE = 30

runner = CliRunner()

#: A time limit's alarm that lands in a gc callback (hypothesis keeps one once
#: tests/test_io.py has run) is dropped by Python and repeated by time_limit: expected.
pytestmark = pytest.mark.filterwarnings(
    "ignore:(?s)Exception ignored in.*TimeLimitExceeded:pytest.PytestUnraisableExceptionWarning")


class Hung(BaseException):
    """Raised in the main thread by :func:`watchdog` when its block runs too long; a
    BaseException so that no ``except Exception`` in a parser can swallow it."""


@pytest.fixture
def stacks(tmp_path) -> Path:
    """The file a :func:`watchdog` writes every thread's stack to if its block hangs."""
    return tmp_path / "watchdog-stacks.txt"


@contextmanager
def watchdog(stacks: Path, seconds: float = WATCHDOG):
    """Raise :class:`Hung`, naming ``stacks``, if the block runs longer than ``seconds``,
    after writing every thread's stack there. SIGUSR1 is sent to the main thread every
    half second until the block ends, since Python drops an exception raised in a gc
    callback or ``__del__``; a block still running GRACE seconds later is stuck in C
    code, and faulthandler ends the process (exit 1), adding its stacks to the file."""
    main_thread = threading.get_ident()
    finished = threading.Event()

    def on_interrupt(signum, frame):
        raise Hung(f"still running after {seconds:g} s; every thread's stack is in {stacks}")

    def watch():
        if finished.wait(seconds):
            return
        faulthandler.dump_traceback(log, all_threads=True)
        log.flush()
        while not finished.wait(0.5):
            signal.pthread_kill(main_thread, signal.SIGUSR1)

    with open(stacks, "a", encoding="utf-8") as log:
        previous = signal.signal(signal.SIGUSR1, on_interrupt)
        watcher = threading.Thread(target=watch, name="watchdog", daemon=True)
        faulthandler.dump_traceback_later(seconds + GRACE, exit=True, file=log)
        watcher.start()
        try:
            yield
        finally:
            try:
                faulthandler.cancel_dump_traceback_later()
                finished.set()
                watcher.join()
            finally:  # a last SIGUSR1 may raise Hung just above: restore the handler anyway
                signal.signal(signal.SIGUSR1, previous)


def write_cases(cases: list[tuple[str, bytes]], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in cases:
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def read_each(paths: list[Path], stacks: Path) -> dict[str, list[Score] | ScoreReadError]:
    """Read every file; return name -> scores or the error. Fails on anything else:
    another exception, a message that is not one line naming the file, a slow file;
    a file that hangs fails it through :func:`watchdog`, with its stacks in ``stacks``."""
    outcomes: dict[str, list[Score] | ScoreReadError] = {}
    problems: list[str] = []
    for path in paths:
        started = time.perf_counter()
        try:
            with watchdog(stacks):
                scores = Score.read_all(path, time_limit=LIMIT)
        except ScoreReadError as exc:
            message = str(exc)
            if "\n" in message or "\r" in message or str(path) not in message or not exc.reason:
                problems.append(f"{path.name}: bad message {message!r}")
            outcomes[path.name] = exc
        except (Exception, TimeLimitExceeded) as exc:  # anything else is a bug
            problems.append(f"{path.name}: {type(exc).__name__}: {exc}")
        else:
            if not scores or any(s.num_notes == 0 for s in scores):
                problems.append(f"{path.name}: read without notes")
            outcomes[path.name] = scores
        elapsed = time.perf_counter() - started
        if elapsed > LIMIT + SLACK:
            problems.append(f"{path.name}: took {elapsed:.1f} s (limit {LIMIT} s)")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
    return outcomes


def summary(outcomes) -> tuple[int, int]:
    errors = sum(isinstance(o, ScoreReadError) for o in outcomes.values())
    return len(outcomes) - errors, errors


# ============================================================ the readers
def test_the_cases_are_many_and_deterministic():
    cases = fuzz_cases.all_cases()
    assert len(cases) >= 1500
    assert len({name for name, _ in cases}) == len(cases)

    def digest(cs):
        return hashlib.sha256(b"".join(n.encode() + d for n, d in cs)).hexdigest()

    assert digest(fuzz_cases.all_cases()) == digest(cases)


def test_midi_files_read_or_fail_cleanly(tmp_path, stacks):
    cases = fuzz_cases.midi_cases()
    assert len(cases) >= 1100
    outcomes = read_each(write_cases(cases, tmp_path), stacks)
    good, bad = summary(outcomes)
    assert good >= 100 and bad >= 800  # both branches are exercised
    for name in ("base_twinkle.mid", "base_chords.mid", "notes_100k.mid", "tracks_2000.mid", "text_3_ff.mid"):
        assert not isinstance(outcomes[name], ScoreReadError), outcomes[name]
    assert outcomes["notes_100k.mid"][0].num_notes == 100_000
    for name in ("zero_tracks.mid", "ntracks_0.mid", "tempo_0_w3.mid", "tempo_1_w3.mid", "timesig_0_0.mid",
                 "timesig_255_255.mid", "track_len_4294967295.mid", "empty.mid", "nul_bytes.mid"):
        assert isinstance(outcomes[name], ScoreReadError), name


def test_musicxml_files_read_or_fail_cleanly(tmp_path, stacks):
    cases = fuzz_cases.musicxml_cases()
    outcomes = read_each(write_cases(cases, tmp_path), stacks)
    good, bad = summary(outcomes)
    assert good >= 20 and bad >= 100
    for name in ("time_0_0.musicxml", "tempo_0.musicxml", "tempo_1e9.musicxml", "divisions_0.musicxml",
                 "billion_laughs.musicxml", "external_entity.musicxml", "nested_open_100000.musicxml",
                 "bad_utf8.musicxml", "zip_bomb.mxl", "size_lies.mxl"):
        assert isinstance(outcomes[name], ScoreReadError), name
    assert "passwd" not in str(outcomes["external_entity.musicxml"])
    assert not isinstance(outcomes["good.mxl"], ScoreReadError)


def test_abc_files_read_or_fail_cleanly(tmp_path, stacks):
    cases = fuzz_cases.abc_cases()
    outcomes = read_each(write_cases(cases, tmp_path), stacks)
    good, bad = summary(outcomes)
    assert good >= 50 and bad >= 40
    for name in ("meter_0_0.abc", "length_1_0.abc", "tempo_1_4=0.abc", "tempo_1_4=1000000000.abc", "empty.abc"):
        assert isinstance(outcomes[name], ScoreReadError), name
    assert [s.title for s in outcomes["base_tunes.abc"]] == ["Pickup Reel", "Minor Waltz", "Jig in A"]
    assert not isinstance(outcomes["latin1.abc"], ScoreReadError)


# ============================================ regressions for bugs found here
@pytest.mark.parametrize("name", ["time_1000000_1.musicxml", "meter_1000000_1.abc"])
def test_a_meter_of_a_million_beats_hits_the_time_limit(tmp_path, stacks, name):
    """music21 ran for hours on a 1000000/1 meter; the reader now gives up after its limit."""
    data = dict(fuzz_cases.musicxml_cases() + fuzz_cases.abc_cases())[name]
    path = tmp_path / name
    path.write_bytes(data)
    started = time.perf_counter()
    with watchdog(stacks), pytest.raises(ScoreReadError) as info:
        Score.from_file(path, time_limit=0.5)
    assert time.perf_counter() - started < 0.5 + SLACK
    assert info.value.reason.startswith("gave up after 0.5 s")
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["duration_1e12.musicxml", "forward_huge.musicxml", "long_note.abc",
                                  "delta_max.mid", "duration_2_31.mid"])
def test_notes_at_absurd_beats_are_refused(tmp_path, name):
    """A note at beat 10**12 read fine, then hung or exhausted memory in every tokenizer
    (a corpus build, or a primer); scores now end by beat 100,000."""
    cases = dict(fuzz_cases.midi_hand_made() + fuzz_cases.musicxml_cases() + fuzz_cases.abc_cases())
    path = tmp_path / name
    path.write_bytes(cases[name])
    with pytest.raises(ScoreReadError, match="absurd length: a note ends after beat 100000"):
        Score.from_file(path)


@pytest.mark.parametrize("name", ["time_0_0.musicxml", "step_h.musicxml", "divisions_x.musicxml"])
def test_music21_warnings_stay_inside_the_reader(tmp_path, name):
    """music21 warned (printing a line of its own source) before raising, so a bad
    MusicXML primer printed three lines on the command line instead of one."""
    path = tmp_path / name
    path.write_bytes(dict(fuzz_cases.musicxml_cases())[name])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ScoreReadError, match="not valid MusicXML"):
            Score.from_file(path)
    assert [str(w.message) for w in caught] == []


def test_score_validate_bounds_the_length():
    long = Score(tracks=[Track([Note(60, 99_999.0, 1.0)])])
    long.validate()
    long.tracks[0].notes[0].duration = 2.0
    with pytest.raises(ScoreError, match="absurd length"):
        long.validate()
    long.validate(max_beats=1e6)


def test_midi_with_too_many_notes_is_refused(tmp_path, monkeypatch):
    """Tens of millions of notes would take gigabytes as Note objects: refused before conversion."""
    import seqart.io.midi

    monkeypatch.setattr(seqart.io.midi, "MAX_NOTES", 999)
    path = tmp_path / "many.mid"
    path.write_bytes(fuzz_cases.midi(fuzz_cases.many_notes(1000)))
    with pytest.raises(ScoreReadError, match="too many notes \\(1,000; seqart reads at most 999\\)"):
        Score.from_file(path)


def test_time_limit_interrupts_python_code_and_restores_the_handler():
    before = signal.getsignal(signal.SIGALRM)
    started = time.perf_counter()
    with pytest.raises(TimeLimitExceeded, match="gave up after 0.2 s"):
        with time_limit(0.2):
            while True:
                pass
    assert time.perf_counter() - started < 2
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
    with time_limit(None), time_limit(0):
        pass


class SleepsWhenCollected:
    """Its ``__del__`` sleeps, so an alarm that goes off meanwhile raises inside it."""

    def __del__(self):
        time.sleep(0.4)


def sleep_in_a_gc_callback() -> None:
    def sleep_at_start(phase, info):
        if phase == "start":
            time.sleep(0.4)

    gc.callbacks.append(sleep_at_start)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(sleep_at_start)


@pytest.mark.parametrize("swallower", [sleep_in_a_gc_callback, SleepsWhenCollected],
                         ids=["gc callback", "__del__"])
def test_time_limit_outlasts_an_alarm_that_python_drops(swallower):
    """Python drops an exception raised in a gc callback or a ``__del__`` method. After
    tests/test_io.py had run, hypothesis's gc callback caught the one alarm now and
    then, and time_1000000_1.musicxml ran on in music21 until the watchdog killed pytest."""
    started = time.perf_counter()
    with pytest.raises(TimeLimitExceeded, match="gave up after 0.2 s"), time_limit(0.2):
        swallower()  # the alarm goes off here and is lost
        while time.perf_counter() - started < 5:
            pass
    assert time.perf_counter() - started < 2
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_watchdog_fails_the_test_naming_a_file_with_the_stacks(stacks):
    """It used to kill pytest (exit 1), its stack dump lost with the captured output."""
    started = time.perf_counter()
    message = f"still running after 0.3 s; every thread's stack is in {stacks}"
    with pytest.raises(Hung, match=re.escape(message)), watchdog(stacks, seconds=0.3):
        sleep_in_a_gc_callback()  # the first interrupt is lost here
        while time.perf_counter() - started < 5:
            pass
    assert time.perf_counter() - started < 3
    assert "test_the_watchdog_fails_the_test_naming_a_file_with_the_stacks" in stacks.read_text(encoding="utf-8")
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL


def test_time_limit_leaves_an_outer_timer_and_other_threads_alone():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with time_limit(0.05):  # an outer timer is armed: this one must not replace it
            time.sleep(0.1)
        time.sleep(0.4)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    errors = []

    def in_thread():
        try:
            with time_limit(0.01):  # no SIGALRM outside the main thread: no limit, no error
                time.sleep(0.05)
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert errors == []


# ======================================================== corpus build
def corpus_sample() -> list[tuple[str, bytes]]:
    """About 180 mutants of every format, hand-made oddities, the good bases and one
    file that hangs music21."""
    midi = fuzz_cases.midi_cases()
    xml = fuzz_cases.musicxml_cases()
    abc = fuzz_cases.abc_cases()
    big = {"notes_100k.mid", "tracks_2000.mid", "tempo_thousands.mid", "notes_stacked.mid"}
    sample = [c for c in midi[:12] + midi[::10] if c[0] not in big]
    sample += xml[:40:3] + xml[60::12] + abc[:40:3] + abc[60::12]
    sample += [c for c in xml if c[0] in ("time_1000000_1.musicxml", "duration_1e12.musicxml")]
    return list(dict(sample).items())


def accounted(label: str, manifest: dict) -> list[dict]:
    entries = manifest["items"] + manifest["duplicates"] + manifest["skipped"]
    return [e for e in entries if e["source"] == label or e["source"].startswith(label + "#")]


def test_corpus_build_keeps_the_good_files_and_lists_the_bad(tmp_path, stacks, monkeypatch):
    monkeypatch.setenv("SEQART_CACHE_DIR", str(tmp_path / "cache"))
    cases = corpus_sample()
    paths = write_cases(cases, tmp_path / "src")
    outcomes = read_each(paths, stacks)
    out = tmp_path / "corpus"
    with watchdog(stacks):
        result = runner.invoke(app, ["corpus", "build", str(tmp_path / "src"), "-o", str(out), "--workers", "1",
                                     "--time-limit", str(LIMIT)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "skipped" in result.output and "gave up after" in result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    good = [n for n, o in outcomes.items() if not isinstance(o, ScoreReadError)]
    assert len(manifest["items"]) + len(manifest["duplicates"]) >= len(good) // 2 > 10
    for entry in manifest["skipped"]:
        assert entry["reason"] and "\n" not in entry["reason"], entry
    for name, outcome in outcomes.items():
        entries = accounted(name, manifest)
        assert entries, f"{name} is neither kept nor skipped"
        if isinstance(outcome, ScoreReadError) and not name.endswith(".abc"):
            (entry,) = entries
            if outcome.reason.startswith("gave up"):
                assert entry["reason"].startswith("gave up"), entry
            else:
                assert entry["reason"] == outcome.reason, entry


def test_timeouts_are_not_cached_and_worker_processes_enforce_the_limit(tmp_path, stacks, monkeypatch):
    """Parsed in two spawned workers; a unit that ran out of time is parsed again next build
    (a bigger --time-limit may let it through), everything else comes from the cache."""
    from seqart.corpora import build_corpus

    monkeypatch.setenv("SEQART_CACHE_DIR", str(tmp_path / "cache"))
    cases = dict(fuzz_cases.musicxml_cases() + fuzz_cases.abc_cases() + fuzz_cases.midi_cases(mutants=0))
    names = ["time_1000000_1.musicxml", "meter_1000000_1.abc", "base_twinkle.mid", "base_chords.mid",
             "base_melody.musicxml", "tempo_0.abc"]
    write_cases([(n, cases[n]) for n in names], tmp_path / "src")
    started = time.perf_counter()
    with watchdog(stacks):
        first = build_corpus(tmp_path / "src", tmp_path / "c1", workers=2, time_limit=1, progress=False)
    assert time.perf_counter() - started < 60
    reasons = {s["source"]: s["reason"] for s in first.skipped}
    assert reasons["time_1000000_1.musicxml"].startswith("gave up after 1 s")
    assert reasons["meter_1000000_1.abc#1"].startswith("gave up after 1 s")
    assert reasons["tempo_0.abc#1"] == "not valid ABC (division by zero)"
    assert first.kept == 3
    with watchdog(stacks):
        second = build_corpus(tmp_path / "src", tmp_path / "c2", workers=1, time_limit=1, progress=False)
    assert (second.cache_hits, second.parsed) == (4, 2)
    assert second.skipped == first.skipped


# ======================================================== sample --primer
def primer_sample(tmp_path: Path) -> list[Path]:
    midi = fuzz_cases.midi_cases()
    cases = midi[:8] + fuzz_cases.midi_hand_made()[::4] + midi[200::60]
    cases += fuzz_cases.musicxml_cases()[::23] + fuzz_cases.abc_cases()[::21]
    cases += [c for c in midi if c[0] == "timesig_4_7.mid"]
    cases += [c for c in fuzz_cases.musicxml_cases() if c[0] in ("time_0_0.musicxml", "step_h.musicxml")]
    return write_cases(list(dict(cases).items()), tmp_path / "primers")


def test_sample_with_mutant_primers(tmp_path, stacks):
    paths = [p for p in primer_sample(tmp_path) if "1000000_1" not in p.name]
    assert len(paths) >= 50
    outcomes = read_each(paths, stacks)
    problems, codes = [], []
    for path in paths:
        out = tmp_path / "out" / f"{path.stem}.mid"
        with watchdog(stacks):
            result = runner.invoke(app, ["sample", "folk", "--primer", str(path), "-o", str(out), "--bars", "1",
                                         "--seed", "1"])
        lines = [line for line in result.output.splitlines() if line.strip()]
        codes.append(result.exit_code)
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        if crashed or "Traceback" in result.output or result.exit_code not in (0, 2):
            problems.append(f"{path.name}: exit {result.exit_code} {result.exception!r}: {result.output[-300:]}")
        elif result.exit_code == 2 and (len(lines) != 1 or not lines[0].startswith(f"error: {path}")):
            problems.append(f"{path.name}: not one line naming the file: {result.output[-300:]!r}")
        elif isinstance(outcomes[path.name], ScoreReadError) and result.exit_code != 2:
            problems.append(f"{path.name}: unreadable primer accepted")
        elif result.exit_code == 0 and not out.is_file():
            problems.append(f"{path.name}: no output")
    assert not problems, "\n".join(problems)
    assert codes.count(0) >= 10 and codes.count(2) >= 30


def test_primer_errors_name_the_file(tmp_path):
    """Primers that read but cannot be continued said 'no pitched notes to encode' or
    'time signature 4/128 is not supported by this model' without naming the file."""
    cases = dict(fuzz_cases.midi_hand_made())
    drums = tmp_path / "drums.mid"
    drums.write_bytes(fuzz_cases.midi(fuzz_cases.note(36, 120, channel=9)))
    meter = tmp_path / "meter.mid"
    meter.write_bytes(cases["timesig_4_7.mid"])
    for path, reason in ((drums, "no pitched notes to encode"),
                         (meter, "its time signature 4/128 is not supported by this model")):
        result = runner.invoke(app, ["sample", "folk", "--primer", str(path), "-o", str(tmp_path / "o.mid")])
        assert result.exit_code == 2
        assert result.output.strip() == f"error: {path}: {reason}" + (
            " (choose one with --time-signature)" if "time signature" in reason else "")
    result = runner.invoke(app, ["sample", "folk", "--primer", str(meter), "-o", str(tmp_path / "o.mid"),
                                 "--time-signature", "4/4", "--bars", "1"])
    assert result.exit_code == 0, result.output


def test_a_primer_longer_than_the_generation_limit_is_refused_quickly():
    """A 100,000-note primer took 35 s to feed through the model; at most 4096 bars are continued."""
    from seqart.models.loading import load_generator

    notes = [Note(60 + i % 12, i * 0.25, 0.25) for i in range(4096 * 16 + 4)]
    primer = Score(tracks=[Track(notes)], source="long.mid")
    generator = load_generator("folk")
    started = time.perf_counter()
    with pytest.raises(ScoreError, match="long.mid: the primer is 4097 bars long; at most 4096"):
        generator.sample(primer=primer, bars=1, seed=1)
    assert time.perf_counter() - started < 10
    with pytest.raises(TokenizerError, match="^drums: no pitched notes"):
        generator.sample(primer=Score(tracks=[Track([Note(36, 0, 1)], is_drum=True)], source="drums"), bars=1)
