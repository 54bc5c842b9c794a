"""Pruning a melody transformer's feed-forward layers (``seqart prune``)."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from seqart.cli import app
from seqart.models.melody_transformer.config import MelodyTransformerConfig
from seqart.models.melody_transformer.model import MelodyTransformer
from seqart.models.melody_transformer.prune import drop_blocks, feed_forward_importance, prune_feed_forward
from tests.train_fixtures import tiny_corpus, tiny_run  # noqa: F401

SMALL = ["--set=batch_size=8", "--set=seq_len=48", "--set=val_every=10", "--set=checkpoint_every=10",
         "--set=threads=1"]


def _model(seed: int = 0) -> MelodyTransformer:
    torch.manual_seed(seed)
    model = MelodyTransformer(MelodyTransformerConfig(vocab_size=30, d_model=16, num_layers=2, num_heads=2,
                                                      ff_dim=12, dropout=0.0, context=32))
    with torch.no_grad():  # trained-looking output columns (the init starts them small)
        for block in model.blocks:
            block.ff_out.weight.normal_(0, 0.3)
    return model.eval()


def _batches(seed: int = 1) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(1, 30, (4, 17), generator=g) for _ in range(3)]


def test_cutting_units_that_add_nothing_changes_no_logit():
    model = _model()
    with torch.no_grad():
        for block in model.blocks:
            block.ff_out.weight[:, 1::2] = 0  # every odd unit adds nothing
    importance = feed_forward_importance(model, _batches(), pad_id=0)
    assert all(torch.all(s[1::2] == 0) and torch.all(s[::2] > 0) for s in importance)
    narrow = prune_feed_forward(model, 6, importance)
    assert narrow.config.ff_dim == 6 and narrow.config.d_model == model.config.d_model
    tokens = _batches(7)[0]
    with torch.no_grad():
        torch.testing.assert_close(narrow(tokens)[0], model(tokens)[0], atol=1e-5, rtol=1e-5)


def test_the_most_important_units_stay_in_their_order_with_their_weights():
    model = _model()
    importance = [torch.tensor([5., 0., 9., 1., 7., 2., 3., 8., 0., 4., 6., 1.]) for _ in model.blocks]
    narrow = prune_feed_forward(model, 4, importance)
    kept = [2, 4, 7, 10]  # importance 9, 7, 8, 6
    for wide_block, block in zip(model.blocks, narrow.blocks):
        assert torch.equal(block.ff_in.weight, wide_block.ff_in.weight[kept])
        assert torch.equal(block.ff_in.bias, wide_block.ff_in.bias[kept])
        assert torch.equal(block.ff_out.weight, wide_block.ff_out.weight[:, kept])
        assert torch.equal(block.qkv.weight, wide_block.qkv.weight)
    assert torch.equal(narrow.embed.weight, model.embed.weight) and narrow.head.weight is narrow.embed.weight


def test_padded_positions_do_not_count():
    model = _model()
    batches = _batches()
    padded = [torch.cat([b, torch.zeros(2, 17, dtype=torch.long)]) for b in batches]
    padded[0][0, 9:] = 0
    batches[0] = batches[0].clone()
    batches[0][0, 9:] = 0  # the same row shortened: only its first 9 positions count in both
    for a, b in zip(feed_forward_importance(model, batches, 0), feed_forward_importance(model, padded, 0)):
        torch.testing.assert_close(a, b)


def test_widths_that_do_not_narrow_are_refused():
    model = _model()
    scores = [torch.ones(12) for _ in model.blocks]
    for width in (0, 13):
        with pytest.raises(ValueError, match="between 1 and the model's 12"):
            prune_feed_forward(model, width, scores)
    with pytest.raises(ValueError, match="one \\(12,\\) tensor per block"):
        prune_feed_forward(model, 6, scores[:1])
    with pytest.raises(ValueError, match="no unpadded token"):
        feed_forward_importance(model, [torch.zeros(2, 5, dtype=torch.long)], 0)


def test_dropping_a_block_that_adds_nothing_changes_no_logit():
    model = MelodyTransformer(MelodyTransformerConfig(vocab_size=30, d_model=16, num_layers=3, num_heads=2, ff_dim=12,
                                                      dropout=0.0, context=32)).eval()
    with torch.no_grad():
        for name in ("proj", "ff_out"):  # block 1 passes its input on unchanged
            getattr(model.blocks[1], name).weight.zero_()
            getattr(model.blocks[1], name).bias.zero_()
        for block in (model.blocks[0], model.blocks[2]):
            block.ff_out.weight.normal_(0, 0.3)
    smaller = drop_blocks(model, [1])
    assert smaller.config.num_layers == 2
    assert torch.equal(smaller.blocks[1].qkv.weight, model.blocks[2].qkv.weight)
    tokens = _batches(3)[0]
    with torch.no_grad():
        torch.testing.assert_close(smaller(tokens)[0], model(tokens)[0], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(drop_blocks(model, [2])(tokens)[0], model(tokens)[0], atol=1e-3)
    for blocks in ([3], [0, 0], [0, 1, 2]):
        with pytest.raises(ValueError, match="different numbers from 0 to 2, leaving at least one"):
            drop_blocks(model, blocks)


def test_prune_writes_a_model_that_samples_and_trains_on(tiny_corpus, tmp_path):
    import seqart
    from seqart.models.folder import load_model

    runner = CliRunner()
    wide = tmp_path / "wide"
    result = runner.invoke(app, ["train", "melody-transformer-tiny", "--data", str(tiny_corpus), "-o", str(wide),
                                 "--steps", "10", *SMALL])
    assert result.exit_code == 0, result.output
    out = tmp_path / "narrow"
    result = runner.invoke(app, ["prune", str(wide / "model"), "--data", str(tiny_corpus), "--ff-dim", "24",
                                 "-o", str(out), "--batches", "2"])
    assert result.exit_code == 0, result.output
    assert "2 blocks x 64 feed-forward units -> 2 x 24" in result.output and "valid loss" in result.output
    model, _, _ = load_model(out)
    assert model.config.ff_dim == 24 and model.blocks[0].ff_in.weight.shape == (24, 32)
    meta = json.loads((out / "config.json").read_text())
    assert meta["pruned_from"] == str((wide / "model").resolve())
    assert meta["pruned_shape"] == {"num_layers": 2, "ff_dim": 64}
    assert (out / "keys.json").read_bytes() == (wide / "model" / "keys.json").read_bytes()
    assert seqart.load(str(out)).sample(2, seed=0, bars=4)
    again = runner.invoke(app, ["train", "melody-transformer-tiny", "--from", str(out), "--data", str(tiny_corpus),
                                "-o", str(tmp_path / "distilled"), "--steps", "2", "--set", "ff_dim=24", *SMALL,
                                "--set", f"teacher={wide / 'model'}"])
    assert again.exit_code == 0, again.output
    shallow = tmp_path / "shallow"
    result = runner.invoke(app, ["prune", str(wide / "model"), "--data", str(tiny_corpus), "--drop-layers", "1",
                                 "-o", str(shallow)])
    assert result.exit_code == 0 and "2 blocks x 64 feed-forward units -> 1 x 64" in result.output, result.output
    assert "--set num_layers=1 --set ff_dim=64" in result.output
    assert load_model(shallow)[0].config.num_layers == 1


def test_what_cannot_be_pruned_is_one_clear_line(tiny_corpus, tiny_run, tmp_path):
    runner = CliRunner()
    base = ["prune", "--data", str(tiny_corpus), "--batches", "1"]
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    same_blocks = "--drop-layers: blocks to drop must be different numbers from 0 to 3"
    for model, cut, out, message in [
            (str(tiny_run / "model"), ["--ff-dim=8"], "a", "only a melody transformer is pruned, not a melody-lstm"),
            ("folk-chords", ["--ff-dim=8"], "b", "holds other tokens than folk-chords reads"),
            ("folk-large", ["--ff-dim=768"], "c", "--ff-dim must be between 1 and 767"),
            ("folk-large", ["--ff-dim=8"], "taken", "exists"),
            ("folk-large", [], "d", "nothing to cut: give --ff-dim, --drop-layers or both"),
            ("folk-large", ["--drop-layers=0,1,2,3"], "e", same_blocks),
            ("folk-large", ["--drop-layers=4"], "f", same_blocks),
            ("folk-large", ["--drop-layers=two"], "g", "--drop-layers: not block numbers separated by commas")]:
        result = runner.invoke(app, [*base, model, *cut, "-o", str(tmp_path / out)])
        assert result.exit_code != 0 and message in result.output, (model, result.output)
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
