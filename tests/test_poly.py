"""Polyphonic frame models: exact normalisation, sampling, data windows, the benchmark
protocol, and train -> bench -> sample through the CLI on a tiny .mat file."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from typer.testing import CliRunner  # noqa: E402

from seqart.benchmarks.polyphonic import bernoulli_baseline, find_benchmark_file, summarize  # noqa: E402
from seqart.cli import app  # noqa: E402
from seqart.models.poly.config import PolyLSTMConfig, PolyNADEConfig  # noqa: E402
from seqart.models.poly.data import FrameWindows, feasible_shifts, shift_frames  # noqa: E402
from seqart.models.poly.model import PolyLSTM, PolyNADE  # noqa: E402
from tests.train_fixtures import tiny_corpus, tiny_run  # noqa: E402,F401

runner = CliRunner()
SHARED_POLY = Path(__file__).resolve().parents[2] / "shared" / "data" / "polyphonic"

KEYS = 5


def small_models():
    torch.manual_seed(0)
    return {
        "bernoulli": PolyLSTM(PolyLSTMConfig(KEYS, 16, 1, 0.0)),
        "nade": PolyNADE(PolyNADEConfig(KEYS, 16, 2, 0.0, inner="nade", inner_size=8)),
        "note-lstm": PolyNADE(PolyNADEConfig(KEYS, 16, 1, 0.0, inner="note-lstm", inner_size=8, context_size=4,
                                             window=2, pitch_embed=3)),
        "note-lstm-no-window": PolyNADE(PolyNADEConfig(KEYS, 16, 1, 0.0, inner="note-lstm", inner_size=8,
                                                       context_size=4, window=0, pitch_embed=3)),
    }


ALL_FRAMES = torch.tensor(list(itertools.product([0.0, 1.0], repeat=KEYS)))


@pytest.mark.parametrize("kind", list(small_models()))
def test_frame_distribution_sums_to_one_and_sampling_matches_it(kind):
    model = small_models()[kind].eval()
    h = torch.randn(1, 16).expand(len(ALL_FRAMES), -1)
    prev = torch.tensor([[1.0, 0.0, 1.0, 0.0, 0.0]]).expand(len(ALL_FRAMES), -1)
    with torch.no_grad():
        probs = torch.exp(-model.frame_nll(h, prev, ALL_FRAMES))
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-5)
    n = 20000
    with torch.no_grad():
        draws = model.sample_frame(h[:1].expand(n, -1), prev[:1].expand(n, -1), 1.0,
                                   torch.Generator().manual_seed(3))
    codes = (draws * 2 ** torch.arange(KEYS - 1, -1, -1)).sum(1).long()
    empirical = torch.bincount(codes, minlength=2 ** KEYS).double() / n
    # 5 standard errors of a binomial proportion, per frame
    tolerance = 5 * torch.sqrt(probs.double() * (1 - probs.double()) / n) + 1e-3
    assert torch.all((empirical - probs.double()).abs() <= tolerance)


@pytest.mark.parametrize("kind", ["bernoulli", "nade", "note-lstm"])
def test_generate_keeps_the_primer_and_steps_like_teacher_forcing(kind):
    model = small_models()[kind].eval()
    primer = torch.tensor([[1.0, 0, 0, 1, 0], [0, 1, 0, 0, 1], [1, 1, 0, 0, 0]])
    out = model.generate(4, num=3, primer=primer, generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 7, KEYS)
    assert torch.equal(out[:, :3], primer.expand(3, -1, -1))
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    # the NLL of the generated pieces, computed in one teacher-forced pass, equals
    # the sum of the per-frame NLLs a step-by-step pass gives
    batch = {"frames": torch.cat([torch.zeros(3, 1, KEYS), out], 1), "start": torch.ones(3),
             "mask": torch.ones(3, 7)}
    with torch.no_grad():
        whole = model.sequence_nll(batch)
        state, prev, steps = None, torch.zeros(3, KEYS), []
        flag = torch.ones(3)
        for t in range(7):
            h, state = model.frame_states(torch.stack([prev, prev], 1), flag, state)
            steps.append(model.frame_nll(h[:, -1], prev, out[:, t]))
            prev, flag = out[:, t], torch.zeros(3)
    assert torch.allclose(whole, torch.stack(steps, 1), atol=1e-5)


def test_same_seed_same_frames():
    model = small_models()["note-lstm"].eval()
    a = model.generate(10, num=2, generator=torch.Generator().manual_seed(7))
    b = model.generate(10, num=2, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_training_reduces_the_loss():
    torch.manual_seed(0)
    model = PolyNADE(PolyNADEConfig(KEYS, 16, 1, 0.0, inner="note-lstm", inner_size=8, context_size=4,
                                    window=2, pitch_embed=3))
    pattern = np.array([[1, 0, 1, 0, 0], [0, 1, 0, 1, 0], [0, 0, 1, 0, 1]], dtype=np.uint8)
    seqs = [np.tile(pattern, (6, 1)) for _ in range(4)]
    data = FrameWindows(seqs, batch_size=4, seq_len=9, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    first = last = None
    for i in range(60):
        nll = model.sequence_nll(data.batch(i))
        loss = nll.sum() / data.batch(i)["mask"].sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
        last = loss.item()
    assert last < 0.3 * first


# ------------------------------------------------------------------ data windows
def test_windows_are_deterministic_masked_and_cover_every_frame_once():
    rng = np.random.default_rng(0)
    seqs = [(rng.random((n, 12)) < 0.2).astype(np.uint8) for n in (5, 30, 17, 64)]
    data = FrameWindows(seqs, batch_size=6, seq_len=16, seed=3, max_transpose=3, start_prob=0.5)
    a, b = data.batch(11), data.batch(11)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert a["frames"].shape == (6, 17, 12) and a["mask"].shape == (6, 16) and a["start"].shape == (6,)
    # padding rows hold no notes
    assert float((a["frames"][:, 1:].sum(-1) * (1 - a["mask"])).abs().sum()) == 0.0
    total = sum(batch["mask"].sum().item() for batch in data.eval_batches())
    assert total == sum(len(s) for s in seqs)
    for batch in data.eval_batches():
        assert torch.all(batch["start"] == 1) and float(batch["frames"][:, 0].abs().sum()) == 0


def test_transposition_keeps_notes_on_the_keyboard():
    window = np.zeros((4, 10), dtype=np.uint8)
    window[0, 2] = window[3, 8] = 1
    assert feasible_shifts(window, 5) == (-2, 1)
    moved = shift_frames(window, -2)
    assert moved.sum() == 2 and moved[0, 0] == 1 and moved[3, 6] == 1
    data = FrameWindows([window] * 3, batch_size=50, seq_len=4, seed=0, max_transpose=5)
    lowest = set()
    for i in range(5):
        frames = data.batch(i)["frames"]
        assert torch.all(frames.sum(dim=(1, 2)) == 2)  # no note ever pushed off the keyboard
        lowest.update(frames[:, 1].argmax(dim=1).tolist())
    assert lowest == {0, 1, 2, 3}  # every feasible shift (-2..+1) is drawn


# -------------------------------------------------------------------- protocol
def test_frame_weighted_summary_and_first_frame_variant():
    pieces = [np.array([4.0, 1.0, 1.0]), np.array([10.0, 2.0])]
    row = summarize("x", pieces)
    assert row.nll == pytest.approx(18.0 / 5)  # frame-weighted, not the mean of piece means
    assert row.nll_drop_first == pytest.approx(4.0 / 3)
    assert row.frames == 5


def test_bernoulli_baseline_by_hand():
    train = [np.array([[1, 0], [1, 1], [0, 0], [1, 0]], dtype=np.uint8)]
    test = [np.array([[1, 1]], dtype=np.uint8)]
    p = np.array([(3 + 0.5) / 5, (1 + 0.5) / 5])
    assert bernoulli_baseline(train, test).nll == pytest.approx(-np.log(p).sum())


@pytest.mark.skipif(not SHARED_POLY.is_dir(), reason="../shared/data/polyphonic is not present")
@pytest.mark.parametrize("name,published", [("jsb", 11.06), ("nottingham", 10.25), ("musedata", 11.51),
                                            ("piano", 11.05)])
def test_bernoulli_baseline_reproduces_the_published_figure(name, published, monkeypatch):
    from seqart.corpora import load_polyphonic_benchmark

    monkeypatch.setenv("SEQART_SHARED", str(SHARED_POLY.parents[1]))
    data = load_polyphonic_benchmark(find_benchmark_file(name))
    assert bernoulli_baseline(data["train"], data["test"]).nll == pytest.approx(published, abs=0.01)


# ------------------------------------------------------------ end to end (CLI)
@pytest.fixture(scope="module")
def tiny_mat(tmp_path_factory):
    """A .mat file in the benchmark layout: 88-key chorale-like frames, 3 splits."""
    from scipy.io import savemat

    rng = np.random.default_rng(0)

    def piece(n):
        frames = np.zeros((n, 88), dtype=np.uint8)
        root = 39 + int(rng.integers(0, 7))
        for t in range(n):
            chord = root + (t // 2 % 4) * 2
            frames[t, [chord, chord + 4, chord + 7, chord + 12]] = 1
        return frames

    def split(count):
        cell = np.empty((1, count), dtype=object)
        for i in range(count):
            cell[0, i] = piece(int(rng.integers(12, 30)))
        return cell

    path = tmp_path_factory.mktemp("mat") / "tiny_chorales.mat"
    savemat(str(path), {"traindata": split(12), "validdata": split(4), "testdata": split(4)})
    return path


POLY_TINY = ["hidden_size=24", "inner_size=12", "context_size=8", "window=4", "pitch_embed=4", "batch_size=4",
             "seq_len=16", "val_every=10", "checkpoint_every=10", "log_every=5", "warmup_steps=2", "threads=1",
             "dropout=0.0", "lr=0.02"]


@pytest.fixture(scope="module")
def poly_run(tiny_mat, tmp_path_factory):
    root = tmp_path_factory.mktemp("polyrun")
    result = runner.invoke(app, ["corpus", "build", str(tiny_mat), "-o", str(root / "corpus"),
                                 "--representation", "pianoroll"])
    assert result.exit_code == 0, result.output
    args = ["train", "poly-nade-jsb", "--data", str(root / "corpus"), "-o", str(root / "run"), "--steps", "120"]
    for item in POLY_TINY:
        args += ["--set", item]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "nats/frame" in result.output
    return root / "run"


def test_bench_polyphonic_on_a_trained_run(poly_run, tiny_mat, tmp_path):
    out = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", "polyphonic", "--dataset", str(tiny_mat), "--model", str(poly_run),
                                 "--json", str(out)])
    assert result.exit_code == 0, result.output
    import json

    figures = json.loads(out.read_text())
    baseline, model = figures["rows"]
    assert figures["test_pieces"] == 4
    # 120 steps on a regular pattern already beat independent keys by far
    assert model["nll"] < baseline["nll"]
    assert model["nll_drop_first"] <= model["nll"] + 5


def test_sample_frames_reproducible_with_primer(poly_run, tmp_path):
    from seqart.score import Score, Track, Note

    primer = Score(tracks=[Track(notes=[Note(60, 0.0, 2.0, 80), Note(64, 0.0, 2.0, 80), Note(67, 2.0, 1.0, 80)])])
    primer.write(tmp_path / "primer.mid")
    outs = []
    for name in ("a.mid", "b.mid"):
        result = runner.invoke(app, ["sample", str(poly_run), "-o", str(tmp_path / name), "--steps", "12",
                                     "--seed", "5", "--primer", str(tmp_path / "primer.mid")])
        assert result.exit_code == 0, result.output
        outs.append(Score.from_file(tmp_path / name))
    assert outs[0].to_dict()["tracks"] == outs[1].to_dict()["tracks"]
    opening = sorted((n.pitch, n.start) for n in outs[0].notes if n.start < 3.0)
    assert (60, 0.0) in opening and (64, 0.0) in opening and (67, 2.0) in opening


@pytest.mark.parametrize("args,message", [
    (["--key", "D minor"], "key does not apply to a poly-nade model"),
    (["--pitch-temperature", "0.9"], "pitch_temperature does not apply to a poly-nade model"),
    (["--steps", "0"], "steps must be at least 1"),
    (["--temperature", "0"], "temperature must be > 0"),
])
def test_frame_sampling_bad_options(poly_run, tmp_path, args, message):
    result = runner.invoke(app, ["sample", str(poly_run), "-o", str(tmp_path / "x.mid"), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_steps_with_a_melody_model_is_refused(tiny_run, tmp_path):
    result = runner.invoke(app, ["sample", str(tiny_run), "-o", str(tmp_path / "x.mid"), "--steps", "8"])
    assert result.exit_code == 2 and "steps does not apply to a melody-lstm model" in result.output


def test_bench_unknown_dataset_is_one_line():
    result = runner.invoke(app, ["bench", "polyphonic", "--dataset", "beethoven"])
    assert result.exit_code == 2 and "unknown polyphonic dataset" in result.output


@pytest.mark.skipif(not SHARED_POLY.is_dir(), reason="../shared/data/polyphonic is not present")
def test_bench_polyphonic_by_name_prints_the_protocol_table(monkeypatch):
    monkeypatch.setenv("SEQART_SHARED", str(SHARED_POLY.parents[1]))
    result = runner.invoke(app, ["bench", "polyphonic", "--dataset", "jsb"])
    assert result.exit_code == 0, result.output
    assert "11.060" in result.output and "8.67" in result.output and "5.56" in result.output


def test_a_melody_model_is_not_benchmarked_as_frames(tiny_run, tiny_mat):
    result = runner.invoke(app, ["bench", "polyphonic", "--dataset", str(tiny_mat), "--model", str(tiny_run)])
    assert result.exit_code == 2 and "not a frame model" in result.output
