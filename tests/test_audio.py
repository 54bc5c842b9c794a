"""Hearing and seeing scores: the built-in synthesizer, rendering to WAV/FLAC,
transcription of recordings, piano-roll pictures, and their commands."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from seqart.audio import is_audio_path, read_score_or_audio
from seqart.audio import render as render_module
from seqart.audio.render import fluidsynth_available, normalize, render
from seqart.audio.synth import SAMPLE_RATE, TIMBRES, synthesize, timbre_for
from seqart.audio.transcribe import DetectedNote, estimate_tempo, quantize_notes, transcribe
from seqart.cli import app
from seqart.errors import OutputExistsError, ScoreError, ScoreReadError, SeqartError
from seqart.plot import pitch_name, plot_pianoroll
from seqart.score import Note, Score, TempoChange, TimeSignature, Track

runner = CliRunner()
PEAK = 10 ** (-1 / 20)  # -1 dBFS
REST = None


def melody(spec, bpm, program=0, lead_s=0.3, legato=0.9, velocity=90) -> Score:
    """A one-track score from ``[(pitch or REST, beats), ...]``, starting after
    ``lead_s`` seconds of silence; each note sounds for ``legato`` of its length."""
    notes, beat = [], lead_s * bpm / 60
    for pitch, beats in spec:
        if pitch is not None:
            notes.append(Note(pitch, beat, beats * legato, velocity))
        beat += beats
    return Score(tracks=[Track(notes=notes, program=program)], tempos=[TempoChange(0.0, bpm)])


# Known melodies for transcription: different tempi, registers and timbres, with
# repeated notes, rests, dotted rhythms and sixteenths.
MELODIES = {
    "ode-piano-100": ([(64, 1), (64, 1), (65, 1), (67, 1), (67, 1), (65, 1), (64, 1), (62, 1), (60, 1), (60, 1),
                       (62, 1), (64, 1), (64, 1.5), (62, .5), (62, 2)], 100, 0),
    "jig-flute-132": ([(67, .5), (69, .5), (71, .5), (72, .5), (REST, .5), (74, .5), (74, .5), (74, .5), (72, .25),
                       (71, .25), (69, 1), (67, .5), (66, .5), (67, 1.5)], 132, 73),
    "low-bass-84.5": ([(48, 1), (REST, 1), (50, .5), (52, .5), (53, 1), (55, 2), (55, .5), (53, .5), (52, 1),
                       (50, 1), (48, 2)], 84.5, 32),
    "high-organ-160": ([(84, .25), (86, .25), (88, .5), (88, .5), (91, .5), (89, .25), (88, .25), (86, .5), (84, 1),
                        (REST, .5), (79, .5), (81, .5), (83, .5), (84, 1)], 160, 19),
    "slow-strings-72": ([(62, 1), (66, 1), (69, 1), (74, 2), (73, .5), (71, .5), (69, 1), (REST, 1), (69, 1),
                         (69, 1), (67, 2)], 72, 40),
    "guitar-112": ([(52, .5), (55, .5), (57, .5), (59, .5), (57, .5), (55, .5), (52, 1), (52, .5), (52, .5),
                    (50, 1), (52, 2)], 112, 25),
}
VOICE = ([(62, 1), (66, 1), (69, 1), (69, 1), (71, .5), (69, .5), (66, 1), (64, 1), (62, 2)], 96, 73)


def match_rate(truth: Score, got: Score, steps_per_beat: int) -> tuple[int, int]:
    """(notes of ``truth`` found in ``got`` with the same pitch and an onset within one
    grid step, after moving truth's first note to beat 0; notes of ``got`` unmatched)."""
    first = truth.notes[0].start
    free = list(got.notes)
    found = 0
    for note in truth.notes:
        for candidate in free:
            on_time = abs(candidate.start - (note.start - first)) <= 1 / steps_per_beat + 1e-9
            if candidate.pitch == note.pitch and on_time:
                free.remove(candidate)
                found += 1
                break
    return found, len(free)


@pytest.fixture(scope="module")
def voice_wav(tmp_path_factory):
    """A whistled (flute-timbre) D major phrase at 96 bpm, as a WAV file."""
    spec, bpm, program = VOICE
    return render(melody(spec, bpm, program), tmp_path_factory.mktemp("voice") / "voice.wav", engine="builtin")


@pytest.fixture
def noise_wav(tmp_path):
    path = tmp_path / "noise.wav"
    soundfile.write(path, np.random.default_rng(0).uniform(-0.5, 0.5, SAMPLE_RATE).astype(np.float32), SAMPLE_RATE)
    return path


@pytest.fixture
def silence_wav(tmp_path):
    path = tmp_path / "silence.wav"
    soundfile.write(path, np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE)
    return path


@pytest.fixture
def tune_mid(tmp_path):
    score = melody([(60, 1), (64, 1), (67, 1), (72, 1), (REST, 1), (67, 2)], 120)
    score.time_signatures = [TimeSignature(0.0, 3, 4)]
    return score.write(tmp_path / "tune.mid")


# ------------------------------------------------------------------- synth
def test_synth_shape_rate_and_peak():
    score = melody([(69, 2)], 120, lead_s=0.0, legato=1.0)  # one A4 for 1 s
    samples = synthesize(score)
    release = timbre_for(0).release
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) == pytest.approx((1.0 + release) * SAMPLE_RATE, abs=2)
    assert 0.05 < np.abs(samples).max() <= 1.0
    # the pitch is right: the spectrum peaks at 440 Hz
    spectrum = np.abs(np.fft.rfft(samples[: SAMPLE_RATE // 2]))
    assert np.argmax(spectrum) * 2 == pytest.approx(440, abs=2)
    assert synthesize(melody([(69, 1)], 60, lead_s=0.0), sample_rate=22050).shape[0] < len(samples)
    assert synthesize(Score()).shape == (0,)


def test_synth_follows_the_tempo_map():
    score = Score(tracks=[Track(notes=[Note(60, 4.0, 1.0)])],
                  tempos=[TempoChange(0.0, 120.0), TempoChange(2.0, 60.0)])  # beat 4 = 1 s + 2 s
    samples = synthesize(score)
    first = np.flatnonzero(samples)[0]
    assert first == pytest.approx(3 * SAMPLE_RATE, abs=2)


def test_many_voices_never_clip():
    chord = Score(tracks=[Track(notes=[Note(p, 0.0, 2.0, 127) for p in range(48, 84, 2)], program=19)])
    samples = synthesize(chord)
    assert np.abs(samples).max() <= 1.0 and np.all(np.isfinite(samples))


def _edge_jump(samples: np.ndarray, edges: list[int], window: int) -> float:
    return max(float(np.abs(np.diff(samples[max(e - window, 0):e + window])).max()) for e in edges)


@pytest.mark.parametrize("program", [0, 19, 25, 33, 40, 73])
def test_no_clicks_at_note_edges(program):
    # legato, a repeated note, a rest and a very short note: every kind of edge
    score = melody([(60, 1), (60, 1), (67, .5), (REST, .5), (72, .1), (64, 1.4)], 120, program, lead_s=0.1, legato=1.0)
    samples = synthesize(score).astype(np.float64)
    tempo = score.tempo_map
    edges = sorted({int(round(tempo.beats_to_seconds(t) * SAMPLE_RATE))
                    for n in score.notes for t in (n.start, n.end)})
    window = int(0.003 * SAMPLE_RATE)
    away = np.ones(len(samples) - 1, dtype=bool)  # sample steps farther than `window` from every edge
    for e in edges:
        away[max(e - window, 0):e + window] = False

    def steepest_inside(x):  # the steepest the tone itself gets, away from note edges
        return float(np.abs(np.diff(x))[away].max())

    assert _edge_jump(samples, edges, window) <= 1.05 * steepest_inside(samples)
    assert samples[edges[0]] == 0.0 and samples[-1] == pytest.approx(0.0, abs=1e-6)
    # The check has teeth: the same notes switched on and off (no envelope) fail it.
    hard = np.zeros_like(samples)
    for note in score.notes:
        a, b = (int(round(tempo.beats_to_seconds(t) * SAMPLE_RATE)) for t in (note.start, note.end))
        hz = 440 * 2 ** ((note.pitch - 69) / 12)
        hard[a:b] += 0.3 * np.sin(2 * np.pi * hz * np.arange(b - a) / SAMPLE_RATE + 1.0)
    assert _edge_jump(hard, edges, window) > 5 * steepest_inside(hard)


def test_silence_where_no_note_sounds():
    score = melody([(60, 1), (REST, 2), (62, 1)], 120, lead_s=0.5, legato=1.0)
    samples = synthesize(score)
    release = timbre_for(0).release
    assert not samples[: int(0.5 * SAMPLE_RATE) - 1].any()  # before the first note
    gap = samples[int((1.0 + release) * SAMPLE_RATE) + 2:int(2.0 * SAMPLE_RATE) - 1]  # 1.0 s + release .. 2.0 s
    assert len(gap) > 0.5 * SAMPLE_RATE and not gap.any()


def _features(program: int) -> np.ndarray:
    """Relative strengths of harmonics 1-8 early and late in a 1.5 s C4, plus its decay."""
    samples = synthesize(melody([(60, 3)], 120, program, lead_s=0.0, legato=1.0)).astype(np.float64)
    f0 = 440 * 2 ** (-9 / 12)

    def harmonics(a, b):
        part = samples[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)]
        part = part * np.hanning(len(part))
        spectrum = np.abs(np.fft.rfft(part))
        bins = [int(round(k * f0 * len(part) / SAMPLE_RATE)) for k in range(1, 9)]
        h = np.array([spectrum[i - 2:i + 3].max() for i in bins])
        return h / h.sum()

    def rms(a, b):
        return float(np.sqrt(np.mean(samples[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)] ** 2)))

    return np.concatenate([harmonics(0.15, 0.45), harmonics(1.0, 1.3), [rms(1.1, 1.4) / rms(0.1, 0.4)]])


def test_program_families_sound_different():
    programs = {"piano": 0, "organ": 19, "pluck": 25, "bass": 33, "strings": 40, "flute": 73}
    assert {name: timbre_for(p).name for name, p in programs.items()} == {n: n for n in programs}
    assert timbre_for(200) is TIMBRES["flute"] and timbre_for(-3) is TIMBRES["piano"]
    features = {name: _features(p) for name, p in programs.items()}
    names = list(features)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(features[a] - features[b]).sum() > 0.15, (a, b)


def test_drums_are_noise_bursts_and_deterministic():
    drums = Score(tracks=[Track(notes=[Note(36, 0, .5), Note(38, 1, .5), Note(42, 1.5, .5), Note(49, 2, 1)],
                                is_drum=True)])
    once, again = synthesize(drums), synthesize(drums)
    assert np.array_equal(once, again) and np.abs(once).max() > 0.01 and np.all(np.isfinite(once))


def test_sixteen_bars_render_well_under_a_second():
    score = melody([(60 + (i * 7) % 15, .5) for i in range(128)], 120, lead_s=0.0)  # 16 bars of eighths, 32 s
    best = float("inf")
    for _ in range(2):
        began = time.perf_counter()
        synthesize(score)
        best = min(best, time.perf_counter() - began)
    assert best < 1.0


# ------------------------------------------------------------------ render
@pytest.mark.parametrize("suffix,fmt", [(".wav", "WAV"), (".flac", "FLAC")])
def test_render_writes_normalised_audio(tmp_path, tune_mid, suffix, fmt):
    out = render(tune_mid, tmp_path / f"out{suffix}", engine="builtin")
    info = soundfile.info(out)
    assert (info.format, info.samplerate, info.channels) == (fmt, 44100, 1)
    data, rate = soundfile.read(out)
    assert rate == 44100 and np.abs(data).max() == pytest.approx(PEAK, abs=2e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["tune.mid", f"out{suffix}"])  # no temp files left


def test_render_refuses_to_overwrite_and_bad_extensions(tmp_path, tune_mid):
    out = render(tune_mid, tmp_path / "out.wav", engine="builtin")
    before = out.read_bytes()
    with pytest.raises(OutputExistsError, match="exists; pass overwrite=True"):
        render(tune_mid, out, engine="builtin")
    assert out.read_bytes() == before
    louder = Score.from_file(tune_mid)
    louder.tracks[0].program = 73
    render(louder, out, engine="builtin", overwrite=True)
    assert out.read_bytes() != before
    for bad in ("out.mp3", "out.ogg", "out"):
        with pytest.raises(SeqartError, match="use a .wav or .flac"):
            render(tune_mid, tmp_path / bad)
        assert not (tmp_path / bad).exists()
    with pytest.raises(ScoreError, match="no notes"):
        render(Score(), tmp_path / "empty.wav")
    with pytest.raises(SeqartError, match="unknown engine"):
        render(tune_mid, tmp_path / "e.wav", engine="timidity")


def test_a_failed_write_leaves_nothing_behind(tmp_path, tune_mid, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(soundfile, "write", broken)
    with pytest.raises(OSError):
        render(tune_mid, tmp_path / "out.wav", engine="builtin")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tune.mid"]


def test_engine_choice(tmp_path, tune_mid, monkeypatch):
    sine = np.sin(np.linspace(0, 200, 44100)) * 0.25
    calls = []

    def fake_fluidsynth(score, sample_rate, soundfont):
        calls.append(soundfont)
        return sine

    monkeypatch.setattr(render_module, "_fluidsynth", fake_fluidsynth)
    monkeypatch.setattr(render_module, "fluidsynth_available", lambda: True)
    data, _ = soundfile.read(render(tune_mid, tmp_path / "auto.wav"))
    assert calls == [None] and np.allclose(data, normalize(sine), atol=1e-4)
    render(tune_mid, tmp_path / "builtin.wav", engine="builtin")
    assert len(calls) == 1
    font = tmp_path / "my.sf2"
    font.write_bytes(b"RIFF")
    render(tune_mid, tmp_path / "sf.wav", soundfont=font)
    assert calls[-1] == font
    with pytest.raises(ScoreReadError, match="no such soundfont"):
        render(tune_mid, tmp_path / "x.wav", soundfont=tmp_path / "missing.sf2")
    with pytest.raises(SeqartError, match="needs the fluidsynth engine"):
        render(tune_mid, tmp_path / "x.wav", soundfont=font, engine="builtin")
    monkeypatch.setattr(render_module, "fluidsynth_available", lambda: False)
    render(tune_mid, tmp_path / "fallback.wav")  # auto falls back to the built-in synthesizer
    assert len(calls) == 2
    with pytest.raises(SeqartError, match="libfluidsynth3"):
        render(tune_mid, tmp_path / "y.wav", engine="fluidsynth")


@pytest.mark.skipif(not fluidsynth_available(), reason="pyfluidsynth/libfluidsynth not installed")
def test_fluidsynth_renders(tmp_path, tune_mid):
    data, rate = soundfile.read(render(tune_mid, tmp_path / "fs.wav", engine="fluidsynth"))
    assert rate == 44100 and np.abs(data).max() == pytest.approx(PEAK, abs=2e-4)


def test_normalize():
    assert np.abs(normalize(np.array([0.0, 0.1, -0.2]))).max() == pytest.approx(PEAK)
    assert normalize(np.array([0.5]), peak_dbfs=-6.0)[0] == pytest.approx(10 ** (-6 / 20), rel=1e-6)
    assert not normalize(np.zeros(5)).any() and normalize(np.zeros(0)).shape == (0,)


# -------------------------------------------------------------- transcribe
def test_transcription_accuracy(tmp_path):
    steps_per_beat = 4
    found = total = extra = 0
    for name, (spec, bpm, program) in MELODIES.items():
        truth = melody(spec, bpm, program)
        wav = render(truth, tmp_path / f"{name}.wav", engine="builtin")
        got = transcribe(wav, steps_per_beat=steps_per_beat, tempo=bpm)
        assert got.tempos[0].bpm == bpm and len(got.tracks) == 1
        assert got.monophonic().notes == got.notes  # nothing overlaps
        hit, spurious = match_rate(truth, got, steps_per_beat)
        assert hit >= 0.8 * truth.num_notes, (name, hit, truth.num_notes)
        found, total, extra = found + hit, total + truth.num_notes, extra + spurious
    print(f"transcription: {found}/{total} notes = {found / total:.1%}, {extra} spurious")
    assert found >= 0.9 * total
    assert extra <= 0.1 * total


@pytest.mark.parametrize("spec,bpm", [
    (MELODIES["ode-piano-100"][0], 100),
    (MELODIES["jig-flute-132"][0], 132),
    (MELODIES["guitar-112"][0], 112),
    (MELODIES["slow-strings-72"][0], 72),
    (MELODIES["high-organ-160"][0], 160),
    ([(60, .75), (62, .25), (64, 1), (65, .5), (67, .5), (69, 1), (67, 1)] * 3, 93.7),
])
def test_tempo_estimate_from_onsets(spec, bpm):
    score = melody(spec, bpm)
    jitter = np.random.default_rng(1).normal(0, 0.01, score.num_notes)  # 10 ms, a steady player
    onsets = np.array([score.tempo_map.beats_to_seconds(n.start) for n in score.notes]) + jitter
    assert estimate_tempo(onsets, 4) == pytest.approx(bpm, rel=0.015)


def test_quantize_fits_the_grid_phase_and_keeps_notes_apart():
    step = 60 / 120 / 4  # 1/16 at 120 bpm = 0.125 s
    jitter = [0.01, -0.02, 0.015, 0.0, -0.01]
    starts = [0, 2, 4, 8, 9]  # grid steps
    notes = [DetectedNote(1.234 + s * step + j, 1.234 + s * step + j + 0.2, 60 + i, -3.0 * i)
             for i, (s, j) in enumerate(zip(starts, jitter))]
    score = quantize_notes(notes, 120, 4)
    assert [n.start for n in score.notes] == [s / 4 for s in starts]
    assert all(a.end <= b.start for a, b in zip(score.notes, score.notes[1:]))
    assert score.notes[0].velocity == 100 and score.notes[-1].velocity == 76  # 2 per dB below the loudest
    assert score.tempos[0].bpm == 120


def test_transcribe_refuses_noise_silence_and_garbage(tmp_path, noise_wav, silence_wav):
    for wav in (noise_wav, silence_wav):
        with pytest.raises(ScoreReadError, match="no pitched notes"):
            transcribe(wav)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    with pytest.raises(ScoreReadError, match="not readable as audio"):
        transcribe(garbage)
    with pytest.raises(ScoreReadError, match="no such file"):
        transcribe(tmp_path / "missing.wav")
    with pytest.raises(ScoreError, match="steps per beat"):
        transcribe(noise_wav, steps_per_beat=0)


def test_audio_paths_are_transcribed_where_scores_are_read(voice_wav, tune_mid):
    assert is_audio_path("a.WAV") and is_audio_path("b.flac") and is_audio_path("c.mp3")
    assert not is_audio_path("d.mid")
    assert read_score_or_audio(tune_mid).notes == Score.from_file(tune_mid).notes
    heard = read_score_or_audio(voice_wav)
    assert [n.pitch for n in heard.notes] == [p for p, _ in VOICE[0]]


# -------------------------------------------------------------------- plot
def test_plot_writes_a_png(tmp_path, tune_mid):
    score = Score.from_file(tune_mid)
    score.tracks.append(Track(notes=[Note(48, 0, 3, 40), Note(43, 3, 3, 120)], program=33, name="bass"))
    score.time_signatures.append(TimeSignature(3.0, 2, 4))
    out = plot_pianoroll(score, tmp_path / "roll.png", title="Test")
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000
    with pytest.raises(SeqartError, match="exists"):
        plot_pianoroll(score, out)
    plot_pianoroll(tune_mid, out, overwrite=True)
    with pytest.raises(SeqartError, match=".png"):
        plot_pianoroll(score, tmp_path / "roll.jpg")
    with pytest.raises(ScoreError, match="no notes"):
        plot_pianoroll(Score(), tmp_path / "empty.png")
    assert [pitch_name(p) for p in (21, 60, 61, 70, 108)] == ["A0", "C4", "C#4", "Bb4", "C8"]


# --------------------------------------------------------------------- CLI
def test_cli_render_transcribe_plot(tmp_path, tune_mid, voice_wav):
    result = runner.invoke(app, ["render", str(tune_mid), "-o", str(tmp_path / "t.flac"), "--engine", "builtin"])
    assert result.exit_code == 0, result.output
    assert soundfile.info(tmp_path / "t.flac").samplerate == 44100
    assert runner.invoke(app, ["render", str(tune_mid)]).exit_code == 0  # default: tune.wav
    assert (tmp_path / "tune.wav").exists()

    primer = tmp_path / "primer.mid"
    result = runner.invoke(app, ["transcribe", str(voice_wav), "-o", str(primer), "--tempo", "96"])
    assert result.exit_code == 0, result.output
    truth = melody(*VOICE)
    assert match_rate(truth, Score.from_file(primer), 4) == (truth.num_notes, 0)
    result = runner.invoke(app, ["transcribe", str(voice_wav), "-o", str(primer), "--force", "--steps-per-beat", "2"])
    assert result.exit_code == 0, result.output
    estimated = Score.from_file(primer).tempos[0].bpm
    assert min(abs(estimated / 96 - r) for r in (0.5, 1.0, 2.0)) < 0.02, estimated

    result = runner.invoke(app, ["plot", str(tune_mid), "-o", str(tmp_path / "t.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_sample_with_audio_previews(tmp_path):
    out = tmp_path / "tune.mid"
    result = runner.invoke(app, ["sample", "-o", str(out), "--bars", "2", "--seed", "1", "--num", "2", "--audio"])
    assert result.exit_code == 0, result.output
    for i in (1, 2):
        data, rate = soundfile.read(tmp_path / f"tune-{i}.wav")
        assert rate == 44100 and np.abs(data).max() == pytest.approx(PEAK, abs=2e-4)
        # the preview is as long as the melody (2 bars of 4/4), plus the release
        seconds = Score.from_file(tmp_path / f"tune-{i}.mid").tempo_map.beats_to_seconds(8.0)
        assert seconds <= len(data) / rate <= seconds + 0.5
    for i in (1, 2):
        (tmp_path / f"tune-{i}.mid").unlink()  # only the previews are left in the way
    result = runner.invoke(app, ["sample", "-o", str(out), "--bars", "2", "--num", "2", "--audio"])
    assert result.exit_code == 2 and "tune-1.wav exists" in result.output
    assert not list(tmp_path.glob("*.mid"))  # refused before writing anything


def test_cli_sample_continues_a_recording(tmp_path, voice_wav):
    out = tmp_path / "more.mid"
    result = runner.invoke(app, ["sample", "--primer", str(voice_wav), "-o", str(out), "--bars", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    continued = Score.from_file(out).notes
    primer = [p for p, _ in VOICE[0]]
    assert [n.pitch for n in continued[:len(primer)]] == primer
    assert len(continued) > len(primer)


@pytest.mark.parametrize("args", [
    ["render", "{missing}"],
    ["render", "{tune}", "-o", "{tmp}/x.mp3"],
    ["render", "{tune}", "-o", "{existing}"],
    ["render", "{tune}", "-o", "{tmp}/x.wav", "--engine", "bogus"],
    ["render", "{tune}", "-o", "{tmp}/x.wav", "--soundfont", "{missing}"],
    ["transcribe", "{missing}", "-o", "{tmp}/x.mid"],
    ["transcribe", "{noise}", "-o", "{tmp}/x.mid"],
    ["transcribe", "{silence}", "-o", "{tmp}/x.mid"],
    ["transcribe", "{tune}", "-o", "{tmp}/x.mid"],
    ["transcribe", "{silence}", "-o", "{existing}"],
    ["transcribe", "{silence}", "-o", "{tmp}/x.mid", "--tempo", "-5"],
    ["plot", "{missing}", "-o", "{tmp}/x.png"],
    ["plot", "{tune}", "-o", "{tmp}/x.jpg"],
    ["plot", "{tune}", "-o", "{existing}"],
    ["sample", "--primer", "{noise}", "-o", "{tmp}/x.mid"],
    ["sample", "--primer", "{missing_wav}", "-o", "{tmp}/x.mid"],
])
def test_bad_input_is_one_line_and_exit_2(args, tmp_path, tune_mid, noise_wav, silence_wav):
    existing = tmp_path / "existing.wav"
    existing.write_bytes(b"keep me")
    names = {"missing": tmp_path / "missing.mid", "missing_wav": tmp_path / "missing.wav", "tune": tune_mid,
             "tmp": tmp_path, "existing": existing, "noise": noise_wav, "silence": silence_wav}
    if "{existing}" in args and args[0] != "render":
        existing = existing.rename(tmp_path / ("existing.mid" if args[0] == "transcribe" else "existing.png"))
        names["existing"] = existing
    result = runner.invoke(app, [a.format(**names) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert existing.read_bytes() == b"keep me"


def test_help_imports_no_audio_libraries_and_commands_no_torch(tmp_path, tune_mid):
    heavy = ("torch", "librosa", "matplotlib", "soundfile", "numpy")
    code = ("import sys\nfrom seqart.cli import app\nsys.argv = ['seqart', '--help']\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            f"loaded = [m for m in {heavy!r} if m in sys.modules]\nassert not loaded, loaded\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom seqart.cli import app\n"
            f"for args in (['render', {str(tune_mid)!r}, '-o', {str(tmp_path / 'a.wav')!r}],"
            f" ['plot', {str(tune_mid)!r}, '-o', {str(tmp_path / 'a.png')!r}]):\n"
            "    result = CliRunner().invoke(app, args)\n    assert result.exit_code == 0, result.output\n"
            "assert 'torch' not in sys.modules and 'librosa' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
