"""Distilling a melody model from a trained teacher (``--set teacher=M``)."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from typer.testing import CliRunner

from seqart.cli import app
from seqart.errors import SeqartError
from seqart.models.melody_transformer.config import MelodyTransformerConfig
from seqart.models.melody_transformer.model import MelodyTransformer
from seqart.train.config import TrainConfig
from tests.train_fixtures import tiny_corpus, tiny_run  # noqa: F401

SMALL = {"batch_size": 8, "seq_len": 48, "val_every": 10, "checkpoint_every": 10, "threads": 1}


def _model(seed: int, width: int = 32) -> MelodyTransformer:
    torch.manual_seed(seed)
    return MelodyTransformer(MelodyTransformerConfig(vocab_size=30, d_model=width, num_layers=2, num_heads=2,
                                                     ff_dim=2 * width, dropout=0.0, context=32))


def _batch(seed: int) -> torch.Tensor:
    batch = torch.randint(1, 30, (4, 17), generator=torch.Generator().manual_seed(seed))
    batch[0, 12:] = 0  # padding is left out of both terms
    return batch


def _kl(student, batch) -> float:
    """Summed KL from the student's teacher on ``batch``."""
    with torch.no_grad():
        return student._distilled(batch)[1].item()


def test_a_copy_of_itself_teaches_nothing_and_the_logged_loss_stays_the_data_nll():
    model = _model(0)
    plain = model.training_step(_batch(1), lambda name, loss: None)["loss"].item()
    model.distil_from(copy.deepcopy(model), 0.5)
    seen = []
    out = model.training_step(_batch(1), lambda name, loss: seen.append(loss.item()))
    assert out["kl"].item() == pytest.approx(0.0, abs=1e-5)
    assert out["loss"].item() == pytest.approx(plain, rel=1e-5)  # curves compare with and without a teacher
    assert seen == [pytest.approx(0.5 * plain, rel=1e-5)]  # (1 - w) * NLL + w * 0
    assert out["items"].item() == (_batch(1)[:, 1:] != 0).sum().item()


def test_the_teacher_is_neither_saved_nor_trained():
    student, teacher = _model(0), _model(1)
    keys = set(student.state_dict())
    student.distil_from(teacher, 1.0)
    assert set(student.state_dict()) == keys
    assert all(not p.requires_grad for p in teacher.parameters())
    assert len(list(student.parameters())) == len(list(_model(0).parameters()))


def test_distillation_pulls_a_smaller_model_toward_its_teacher():
    student, teacher = _model(0, width=16), _model(1)
    student.distil_from(teacher, 1.0)
    opt = torch.optim.Adam(student.parameters(), lr=3e-3)

    def step(name, loss):
        opt.zero_grad()
        loss.backward()
        opt.step()

    held_out = _batch(99)
    before = _kl(student, held_out)
    for i in range(150):
        student.training_step(_batch(i), step)
    after = _kl(student, held_out)
    assert after < 0.5 * before, (before, after)


def test_teacher_weight_must_be_a_share():
    with pytest.raises(SeqartError, match="teacher_weight must be 0-1"):
        TrainConfig(teacher="folk", teacher_weight=1.5).validate()
    with pytest.raises(SeqartError, match="teacher=3 must be text"):
        TrainConfig(teacher=3).validate()


def test_train_with_a_teacher_logs_its_kl_and_saves_a_plain_model(tiny_corpus, tmp_path):
    from safetensors import safe_open

    from seqart.workflows.train import train

    teacher = tmp_path / "teacher"
    train("melody-transformer-tiny", tiny_corpus, teacher, steps=10, settings=SMALL, progress=False)
    run = tmp_path / "student"
    result = CliRunner().invoke(app, ["train", "melody-transformer-tiny", "--data", str(tiny_corpus), "-o", str(run),
                                      "--steps", "10", "--set", "d_model=16", "--set", "ff_dim=32",
                                      *[f"--set={k}={v}" for k, v in SMALL.items()],
                                      "--set", f"teacher={teacher / 'model'}", "--set", "teacher_weight=0.7"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    train_lines = [x for x in lines if x.get("split") == "train"]
    assert train_lines and all(x["kl"] > 0 for x in train_lines)
    assert json.loads((run / "run.json").read_text())["train"]["teacher"] == str(teacher / "model")
    with safe_open(str(run / "model" / "model.safetensors"), "np") as f, \
            safe_open(str(teacher / "model" / "model.safetensors"), "np") as g:
        assert set(f.keys()) == set(g.keys())  # the student's own tensors only
        assert f.get_tensor("embed.weight").shape[1] == 16


def test_a_teacher_of_another_kind_or_other_tokens_is_one_clear_line(tiny_corpus, tmp_path):
    runner = CliRunner()
    args = ["train", "melody-transformer-tiny", "--data", str(tiny_corpus), "--steps", "2",
            *[f"--set={k}={v}" for k, v in SMALL.items()]]
    for n, (teacher, message) in enumerate([("folk-chords", "reads other tokens than the corpus"),
                                            ("folk-vae-2bar", "not a next-token melody model"),
                                            (str(tmp_path / "missing"), "missing")]):
        result = runner.invoke(app, [*args, "-o", str(tmp_path / str(n)), "--set", f"teacher={teacher}"])
        assert result.exit_code != 0 and message in result.output, (teacher, result.output)
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_an_lstm_teaches_a_transformer_over_the_same_tokens(tiny_corpus, tiny_run, tmp_path):
    from seqart.workflows.train import train

    result = train("melody-transformer-tiny", tiny_corpus, tmp_path / "run", steps=4, progress=False,
                   settings={**SMALL, "teacher": str(tiny_run / "model"), "teacher_weight": 1.0})
    assert result["step"] == 4 and (tmp_path / "run" / "model" / "model.safetensors").is_file()


def test_only_next_token_melody_models_distil():
    from seqart.workflows.train import attach_teacher

    class Student(torch.nn.Module):
        registry_name = "melody-vae"

    with pytest.raises(SeqartError, match="only next-token melody models distil, not a melody-vae"):
        attach_teacher(Student(), TrainConfig(teacher="folk"), tokenizer=None)
