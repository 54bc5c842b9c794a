"""The melody transformer: its NumPy forward pass with a key/value cache equals torch,
the cache slides past the context, and it trains, samples and tunes like the LSTM."""

from dataclasses import asdict

import numpy as np
import pytest
import torch

from seqart.models.folder import stored_tensors
from seqart.models.melody_transformer.config import MelodyTransformerConfig
from seqart.models.melody_transformer.model import MelodyTransformer
from seqart.models.melody_transformer.numpy_transformer import NumpyTransformerLM
from tests.train_fixtures import tiny_corpus  # noqa: F401


def _pair(context=24, tie=True, seed=0):
    torch.manual_seed(seed)
    config = MelodyTransformerConfig(vocab_size=40, d_model=32, num_layers=2, num_heads=4, ff_dim=48, dropout=0.0,
                                     context=context, tie_weights=tie)
    model = MelodyTransformer(config).eval()
    weights = {k: v.detach().numpy() for k, v in stored_tensors(model).items()}
    return model, NumpyTransformerLM(weights, asdict(config))


@pytest.mark.parametrize("tie", [True, False])
def test_numpy_matches_torch_whole_stepwise_and_chunked(tie):
    model, lm = _pair(tie=tie)
    x = np.random.default_rng(1).integers(1, 40, size=(3, 24))
    with torch.no_grad():
        expected = model(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(lm.logits(x), expected, atol=1e-5, rtol=0)
    state = lm.initial_state(3)
    for t in range(x.shape[1]):
        logits, state = lm.step(x[:, t], state)
        np.testing.assert_allclose(logits, expected[:, t], atol=1e-5, rtol=0)
    logits, state = lm.run(x[:, :7])
    logits, state = lm.run(x[:, 7:], state)
    np.testing.assert_allclose(logits, expected[:, -1], atol=1e-5, rtol=0)


def test_the_cache_slides_past_the_context_and_repeats_rows():
    _, lm = _pair(context=16)
    x = np.random.default_rng(2).integers(1, 40, size=(2, 50))
    state = lm.initial_state(2)
    for t in range(50):
        logits, state = lm.step(x[:, t], state)
        assert state.length <= 16
    assert state.position == 50 and np.isfinite(logits).all()
    # a long prefix in one call goes in chunks and ends in the same place
    logits_run, state_run = lm.run(x)
    assert state_run.position == 50 and state_run.length <= 16
    twins = state.repeat(3)
    a, _ = lm.step(np.repeat(x[:, -1], 3), twins)
    b, _ = lm.step(x[:, -1], state)
    np.testing.assert_allclose(a[::3], b, atol=1e-6)


def test_rotary_positions_make_attention_relative():
    """Shifting every position by the same amount changes nothing (a cached key keeps its meaning)."""
    _, lm = _pair()
    x = np.random.default_rng(3).integers(1, 40, size=(1, 12))
    state = lm.initial_state(1)
    state.position = 1000
    shifted, _ = lm.run(x, state)
    plain, _ = lm.run(x)
    np.testing.assert_allclose(shifted, plain, atol=1e-4)


def test_weights_that_do_not_fit_are_refused():
    _, lm = _pair()
    model, _ = _pair()
    weights = {k: v.detach().numpy() for k, v in stored_tensors(model).items()}
    config = asdict(model.config)
    with pytest.raises(ValueError, match="shape"):
        NumpyTransformerLM({**weights, "blocks.0.qkv.weight": np.zeros((5, 5), np.float32)}, config)
    with pytest.raises(ValueError, match="missing"):
        NumpyTransformerLM({k: v for k, v in weights.items() if k != "ln_f.bias"}, config)
    bad = asdict(model.config) | {"d_model": 30, "num_heads": 4}
    from seqart.errors import ModelError
    with pytest.raises(ModelError):
        MelodyTransformerConfig(**bad).validate()


def test_train_sample_and_tune_a_tiny_transformer(tiny_corpus, tmp_path):
    import seqart
    from seqart.tokenizers.melody import MelodyTokenizer
    from seqart.workflows.train import train
    from seqart.workflows.tune import tune

    run = tmp_path / "run"
    train("melody-transformer-tiny", tiny_corpus, run, steps=20, progress=False,
          settings={"batch_size": 8, "seq_len": 48, "val_every": 10, "checkpoint_every": 10, "threads": 1})
    gen = seqart.load(run)
    assert type(gen).__name__ == "TransformerMelodyGenerator" and (run / "model" / "keys.json").is_file()
    a = gen.sample(num=3, bars=4, seed=5, key="D")
    assert [s.to_dict() for s in a] == [s.to_dict() for s in gen.sample(num=3, bars=4, seed=5, key="D")]
    assert all(s.tracks[0].notes[-1].pitch % 12 == 2 for s in a)
    tok = MelodyTokenizer.from_dict(__import__("json").loads((run / "model" / "tokenizer.json").read_text()))
    liked = [tok.encode(s) for s in a]
    report = tune(run, liked, tmp_path / "tuned", steps=3, batch_size=2, replay_data=None)
    assert (tmp_path / "tuned" / "config.json").is_file() and report is not None
    assert type(seqart.load(tmp_path / "tuned")).__name__ == "TransformerMelodyGenerator"


def test_a_full_cache_is_written_round_robin_and_equals_shifting():
    _, lm = _pair(context=8)
    x = np.random.default_rng(4).integers(1, 40, size=(2, 30))
    ring, shifted = lm.initial_state(2), lm.initial_state(2)
    for t in range(30):
        a, ring = lm.step(x[:, t], ring)
        b, shifted = lm.step(x[:, t], shifted)
        shifted.make_room(0, 8)  # back in order after every step: the same keys, moved
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert ring.length == 8 and ring.oldest == 30 % 8
    c, _ = lm.run(x[:, :3], ring)  # a chunk after round-robin steps puts the cache back in order
    d, _ = lm.run(x[:, :3], shifted)
    np.testing.assert_allclose(c, d, atol=1e-5)


@pytest.mark.parametrize("prefix_len", [5, 14, 40])
def test_branches_share_the_prefix_and_match_repeated_rows(prefix_len):
    """k continuations over one shared prefix give the logits of k copied caches, before
    and after the window (context 16) starts dropping the prefix, and after take()."""
    _, lm = _pair(context=16)
    rng = np.random.default_rng(7)
    prefix = rng.integers(1, 40, size=(2, prefix_len))
    _, copied = lm.run(prefix)
    _, shared = lm.run(prefix)
    copied, shared = copied.repeat(3), lm.branch(shared, 3)
    for t in range(12):
        tokens = rng.integers(1, 40, size=6)
        a, copied = lm.step(tokens, copied)
        b, shared = lm.step(tokens, shared)
        np.testing.assert_allclose(b, a, atol=1e-5)
    rows = np.array([4, 0, 0])
    kept_copied, kept_shared = copied.take(rows), shared.take(rows)
    assert kept_shared.length == kept_copied.length <= 16 and kept_shared.position == kept_copied.position
    tokens = rng.integers(1, 40, size=3)
    np.testing.assert_allclose(lm.step(tokens, kept_shared)[0], lm.step(tokens, kept_copied)[0], atol=1e-5)
