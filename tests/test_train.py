"""The one trainer: end to end, determinism, resume, atomic checkpoints, bad settings."""

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from seqart.errors import SeqartError
from seqart.models.folder import load_model
from seqart.workflows.train import train
from seqart.models.registry import get_preset
from seqart.train.config import TrainConfig, apply_settings, parse_settings
from seqart.train.trainer import lr_factor
from tests.train_fixtures import TINY_SETTINGS, tiny_corpus, tiny_run  # noqa: F401


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


def test_end_to_end_run_folder(tiny_run):
    for name in ("run.json", "metrics.jsonl", "eval.json", "model/config.json", "model/model.safetensors",
                 "model/tokenizer.json", "model/eval.json", "checkpoint/train_state.pt"):
        assert (tiny_run / name).is_file(), name
    evaluation = json.loads((tiny_run / "eval.json").read_text())
    assert evaluation["test"]["loss"] > 0 and evaluation["valid"]["ppl"] == pytest.approx(
        np.exp(evaluation["valid"]["loss"]), rel=1e-6)
    records = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    train_losses = [r["loss"] for r in records if r["split"] == "train"]
    assert train_losses[-1] < train_losses[0]  # it learns
    assert any(r["split"] == "valid" for r in records)


def test_model_folder_loads_strictly(tiny_run):
    model, tokenizer, meta = load_model(tiny_run / "model")
    assert meta["model"] == "melody-lstm" and model.config.vocab_size == tokenizer.vocab_size
    assert model.head.weight.data_ptr() == model.embed.weight.data_ptr()  # tied after loading


def test_same_seed_same_weights(tiny_corpus, tmp_path):
    train("melody-lstm", tiny_corpus, tmp_path / "a", steps=12, settings=TINY_SETTINGS, progress=False)
    train("melody-lstm", tiny_corpus, tmp_path / "b", steps=12, settings=TINY_SETTINGS, progress=False)
    a, b = weights(tmp_path / "a/checkpoint"), weights(tmp_path / "b/checkpoint")
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_ctrl_c_checkpoints_and_resume_matches_uninterrupted_run(tiny_corpus, tmp_path):
    import os
    import signal

    train("melody-lstm", tiny_corpus, tmp_path / "full", steps=20, settings=TINY_SETTINGS, progress=False)

    def press_ctrl_c(record):
        if record["step"] == 15 and record["split"] == "train":
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        train("melody-lstm", tiny_corpus, tmp_path / "cut", steps=20, settings=TINY_SETTINGS, progress=False,
              on_log=press_ctrl_c)
    state = torch.load(tmp_path / "cut/checkpoint/train_state.pt", weights_only=True)
    assert state["step"] == 15  # saved at the step Ctrl-C arrived, not at the last periodic checkpoint
    train("melody-lstm", tiny_corpus, tmp_path / "cut", steps=20, settings=TINY_SETTINGS, resume=True, progress=False)
    full, cut = weights(tmp_path / "full/checkpoint"), weights(tmp_path / "cut/checkpoint")
    for k in full:
        np.testing.assert_allclose(full[k], cut[k], rtol=0, atol=1e-6)


def test_existing_run_is_never_overwritten(tiny_run, tiny_corpus):
    before = (tiny_run / "model/model.safetensors").read_bytes()
    with pytest.raises(SeqartError, match="resume=True"):
        train("melody-lstm", tiny_corpus, tiny_run, steps=5, settings=TINY_SETTINGS, progress=False)
    assert (tiny_run / "model/model.safetensors").read_bytes() == before


def test_dry_run_touches_nothing(tiny_corpus, tmp_path):
    result = train("melody-lstm", tiny_corpus, tmp_path / "dry", settings=TINY_SETTINGS, dry_run=True, progress=False)
    assert result["dry_run"] and result["step"] == 1 and not (tmp_path / "dry").exists()


def test_interrupted_checkpoint_swap_recovers(tiny_run, tiny_corpus, tmp_path):
    import shutil

    run = tmp_path / "crashed"
    shutil.copytree(tiny_run, run)
    # A crash between the two renames leaves only checkpoint.old behind.
    (run / "checkpoint").rename(run / "checkpoint.old")
    result = train("melody-lstm", tiny_corpus, run, steps=35, settings=TINY_SETTINGS, resume=True, progress=False)
    assert result["step"] == 35 and (run / "checkpoint/train_state.pt").is_file()


def test_settings_and_bad_settings():
    model_cfg, cfg = apply_settings(get_preset("melody-lstm"), {"hidden_size": 64, "lr": 0.01, "cell": "gru"})
    assert model_cfg["hidden_size"] == 64 and model_cfg["cell"] == "gru" and cfg.lr == 0.01
    assert parse_settings(["hidden_size=64", "lr=0.01", "cell=gru", "val_batches=none", "model.dropout=0"]) == {
        "hidden_size": 64, "lr": 0.01, "cell": "gru", "val_batches": None, "model.dropout": 0}
    for bad in ({"nonsense": 1}, {"lr": -1}, {"schedule": "wavy"}, {"batch_size": "big"}):
        with pytest.raises(SeqartError):
            apply_settings(get_preset("melody-lstm"), bad)
    with pytest.raises(SeqartError, match="KEY=VALUE"):
        parse_settings(["lr"])
    with pytest.raises(SeqartError, match="unknown preset"):
        get_preset("no-such-preset")


def test_wrong_representation_is_refused(tiny_corpus, tmp_path, monkeypatch):
    import seqart.workflows.train as api

    preset = get_preset("melody-lstm")
    preset.representation = "pianoroll"
    monkeypatch.setattr(api, "get_preset", lambda name: preset)
    with pytest.raises(SeqartError, match="representation pianoroll"):
        train("melody-lstm", tiny_corpus, tmp_path / "x", steps=1, progress=False)


def test_lr_schedule_warms_up_then_decays():
    cfg = TrainConfig(steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    assert lr_factor(0, cfg) == pytest.approx(0.1)
    assert lr_factor(9, cfg) == pytest.approx(1.0)
    assert lr_factor(99, cfg) == pytest.approx(0.1, abs=0.01)
    assert lr_factor(50, cfg) < lr_factor(20, cfg)


def test_style_balance_draws_windows_more_evenly_over_the_styles():
    """style_balance 0 draws windows by tokens; 1 draws every style alike (within the cap);
    validation windows are never reweighted."""
    from seqart.models.melody_lm.data import STYLE_BALANCE_CAP, TokenWindows, style_weights

    seqs = [np.full(20, 7 if i < 90 else 9) for i in range(100)]  # 90 songs, 10 reels, as token 7 or 9
    styles = ["song" if i < 90 else "reel" for i in range(100)]

    def reel_share(balance):
        windows = TokenWindows(seqs, batch_size=64, seq_len=8, styles=styles, style_balance=balance)
        rows = np.concatenate([windows.batch(i).numpy()[:, 0] for i in range(40)])
        return float(np.mean(rows == 9))

    assert abs(reel_share(0.0) - 0.1) < 0.03 and abs(reel_share(1.0) - 0.5) < 0.04
    assert 0.15 < reel_share(0.5) < 0.35  # 0.1 ** 0.5 against 0.9 ** 0.5: a quarter
    capped = style_weights(["a"] * 999 + ["b"], np.ones(1000), 1.0)
    assert capped[-1] == STYLE_BALANCE_CAP and capped[0] == 1.0
    with pytest.raises(SeqartError, match="style_balance"):
        TrainConfig(style_balance=1.5).validate()


def test_model_saved_mid_run_has_its_side_files(tiny_corpus, tmp_path, tiny_run):
    """A run's best model samples mid-run (or after an interruption) with the openings
    (``keys.json``) it will have when the run ends, not keys drawn over all twelve."""
    import os
    import signal

    def press_ctrl_c(record):
        if record["step"] == 15 and record["split"] == "train":  # the model was saved at step 10
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        train("melody-lstm", tiny_corpus, tmp_path / "cut", steps=20, settings=TINY_SETTINGS, progress=False,
              on_log=press_ctrl_c)
    saved = json.loads((tmp_path / "cut/model/keys.json").read_text())
    assert saved["headers"] and saved == json.loads((tiny_run / "model/keys.json").read_text())
