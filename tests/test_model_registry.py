"""Checks every registered model passes, parametrized over :data:`tests.model_cases.CASES`
(the tiny preset each family registers, and the config variants): one training step
through the trainer, save -> load equality, :func:`seqart.load` and the generation
protocol, same seed -> same sample, hostile configs refused, mixed precision, and
data parallelism. A new family is covered without a line added here.

Mixed precision: CUDA autocast turns matrix products into bf16/fp16 and leaves
buffers a model makes with an autocast output's dtype in that dtype; CPU autocast
(bf16) does the same, so these tests catch on a GPU-less CI machine what would
crash on a GPU (a frame model's float32 NLLs put into a bf16 buffer did).
"""

from __future__ import annotations

import copy
import json
import math
from contextlib import nullcontext

import pytest

torch = pytest.importorskip("torch")

from seqart.models import REGISTRY  # noqa: E402
from seqart.train.config import TrainConfig  # noqa: E402
from tests.model_cases import CASES  # noqa: E402

IDS = [case.id for case in CASES]


def test_every_registered_model_has_a_case():
    assert {case.model for case in CASES} == set(REGISTRY)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_a_registration_is_consistent(name):
    from dataclasses import fields, is_dataclass

    kind = REGISTRY[name]
    cls = kind.model_class()
    assert cls.registry_name == name, "the class's registry_name and its registration differ"
    assert kind.model.startswith(kind.generator.rsplit(".", 1)[0].rsplit(".", 1)[0]), "model and sampler in one family"
    assert callable(kind.generator_class())
    assert is_dataclass(kind.config) and callable(kind.config.validate)
    assert kind.presets and all(p.model == name and p.representation in (kind.representation, *kind.also_reads)
                                for p in kind.presets)
    assert any(p.representation == kind.representation for p in kind.presets)
    known = {f.name for f in fields(kind.config)}
    assert all(set(p.model_config) <= known for p in kind.presets), "a preset sets an unknown config entry"
    assert kind.tunable == (name in ("melody-lstm", "melody-transformer", "dcgan", "image-vae"))


def _same(a, b) -> bool:
    """Equal samples: Scores note for note, or image arrays."""
    import numpy as np

    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.array_equal(a, b)
    return [s.to_dict() for s in a] == [s.to_dict() for s in b]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_train_save_load_and_sample_through_the_protocol(case, tmp_path):
    """One trainer step; the model folder loads with equal weights; seqart.load gives a
    generator of the one protocol that samples the same for the same seed."""
    import seqart
    from seqart.generate.protocol import Generator, LatentGenerator, MusicGenerator
    from seqart.models.folder import load_model
    from seqart.train.trainer import Trainer

    model, tokenizer = case.build(seed=0)
    settings = TrainConfig(steps=1, batch_size=4, device="cpu", warmup_steps=0, val_batches=1, threads=1,
                           **case.train)
    trainer = Trainer(model, tokenizer, case.make_data(4, 0, True), case.make_data(4, 0, False), settings,
                      tmp_path / "run", progress=False)
    trainer.fit()
    loaded, loaded_tokenizer, meta = load_model(tmp_path / "run" / "model")
    assert meta["model"] == case.model and loaded_tokenizer == tokenizer
    assert loaded.state_dict().keys() == trainer.model.state_dict().keys()
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, trainer.model.state_dict()[key]), key

    gen = seqart.load(str(tmp_path / "run"))
    assert isinstance(gen, Generator) and gen.model_type == case.model
    first, again = gen.sample(2, seed=3), gen.sample(2, seed=3)
    assert gen.last_seed == 3 and len(first) == 2 and _same(first, again)
    assert not _same(first, gen.sample(2, seed=4)) or case.model in ("poly-lstm", "poly-nade")  # tiny frame models may all be silent
    if isinstance(gen, MusicGenerator):
        primer = first[0] if first[0].num_notes else first[1]
        if primer.num_notes:
            cont = gen.continue_score(primer, bars=1, num=2, seed=5)
            assert len(cont) == 2 and _same(cont, gen.continue_score(primer, bars=1, num=2, seed=5))
    if isinstance(gen, LatentGenerator):
        z = gen.encode(first[0])
        assert z.ndim == 2 and z.shape[1] == gen.latent_size
        assert len(gen.decode(z)) == len(z)
        assert len(gen.interpolate(first[0], first[1], steps=3)) == 3


@pytest.mark.parametrize("case", [c for c in CASES if c.id == c.model], ids=lambda c: c.id)
def test_hostile_configs_are_refused_before_any_memory(case):
    from seqart.errors import ModelError
    from seqart.models.registry import config_from_dict

    cls = case.model_type.model_class()
    good = {**case.config, **cls.data_config(case.make_tokenizer())}
    config_from_dict(case.model, good)
    with pytest.raises(ModelError, match="unknown"):
        config_from_dict(case.model, {**good, "layers_of_doom": 3})
    for key, value in good.items():
        if isinstance(value, int) and not isinstance(value, bool):
            with pytest.raises(ModelError):
                config_from_dict(case.model, {**good, key: 10 ** 12})
            with pytest.raises(ModelError):
                config_from_dict(case.model, {**good, key: "many"})


def _train_step(model, batch, dtype):
    """One ``training_step`` with the model's own optimizers, stepped as the trainer
    steps them, under CPU autocast to ``dtype`` (None: plain fp32).

    Returns:
        the loss each ``step(name, loss)`` call received, by optimizer name.
    """
    optimizers = model.configure_optimizers(TrainConfig(lr=1e-3))
    losses = {}

    def step(name, loss):
        losses[name] = loss
        optimizers[name].zero_grad(set_to_none=True)
        loss.backward()
        optimizers[name].step()

    model.train()
    with torch.autocast("cpu", dtype=dtype) if dtype is not None else nullcontext():
        model.training_step(batch, step)
    return losses


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_training_step_under_cpu_bf16_autocast_matches_fp32(case):
    reference, _ = case.build(seed=0)
    model = copy.deepcopy(reference)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = case.make_data(4, 0, True).batch(0)
    torch.manual_seed(1)
    fp32 = _train_step(reference, batch, None)
    torch.manual_seed(1)
    bf16 = _train_step(model, batch, torch.bfloat16)
    assert set(bf16) == set(model.configure_optimizers(TrainConfig())), "every optimizer took a step"
    for name, loss in bf16.items():
        assert loss.dtype == torch.float32 and loss.ndim == 0, (name, loss.dtype, loss.shape)
        assert math.isfinite(loss.item())
        assert loss.item() == pytest.approx(fp32[name].item(), rel=0.03, abs=0.02), name
    after = model.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())
    moved = [k for k, v in after.items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert moved, "no weight changed"
    assert all(v.dtype == before[k].dtype for k, v in after.items()), "autocast changed a weight's dtype"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_validation_step_under_cpu_bf16_autocast_matches_fp32(case):
    model, _ = case.build(seed=0)
    model.eval()
    batch = next(iter(case.make_data(4, 0, False).eval_batches(1)))
    fp32 = model.validation_step(batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16 = model.validation_step(batch)
    assert set(bf16) == set(fp32) and "weight" in bf16 and "loss" in bf16
    for key, value in bf16.items():
        value = torch.as_tensor(value)
        assert value.dtype in (torch.float32, torch.int64, torch.float64), (key, value.dtype)
        assert torch.isfinite(value).all(), key
    assert float(bf16["loss"]) == pytest.approx(float(fp32["loss"]), rel=0.03)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_trainer_fits_every_model_in_bf16_on_the_cpu(case, tmp_path):
    """``precision=bf16`` on the CPU: the trainer's own autocast path, end to end."""
    from seqart.models.folder import load_model
    from seqart.train.trainer import Trainer

    model, tokenizer = case.build(seed=0)
    settings = TrainConfig(steps=4, batch_size=4, device="cpu", precision="bf16", warmup_steps=0, log_every=1,
                           val_every=4, checkpoint_every=2, val_batches=2, threads=1, **case.train)
    trainer = Trainer(model, tokenizer, case.make_data(4, 0, True), case.make_data(4, 0, False), settings,
                      tmp_path / "run", progress=False)
    assert trainer.amp_dtype == torch.bfloat16
    result = trainer.fit()
    assert result["step"] == 4
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    train_losses = [r for r in records if r["split"] == "train"]
    assert len(train_losses) == 4
    assert all(math.isfinite(v) for r in records for v in r.values() if isinstance(v, float))
    loaded, _, _ = load_model(tmp_path / "run" / "model")
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, trainer.model.state_dict()[key]), key


# ------------------------------------------------------------------ data parallel
def _fit(case, folder, dist=None):
    """Three steps of ``case`` through the trainer (rank ``dist.rank`` of a data-parallel run)."""
    from seqart.train.trainer import Trainer

    model, tokenizer = case.build(seed=0)
    settings = TrainConfig(steps=3, batch_size=4, device="cpu", warmup_steps=0, log_every=1, val_every=3,
                           checkpoint_every=3, val_batches=2, threads=1, **case.train)
    Trainer(model, tokenizer, case.make_data(4, 0, True), case.make_data(4, 0, False), settings, folder,
            progress=False, dist=dist).fit()


def _data_parallel_worker(rank: int, world: int, port: int, folder: str) -> None:
    """One of ``world`` gloo processes training every case."""
    import os
    from pathlib import Path

    from seqart.train.distributed import DistContext

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    dist = DistContext(rank=rank, world_size=world, local_rank=rank, local_world_size=world)
    try:
        for case in CASES:
            _fit(case, Path(folder) / case.id, dist)
    finally:
        torch.distributed.destroy_process_group()


def test_every_model_trains_data_parallel_as_one_process_does(tmp_path):
    """2 gloo processes under DistributedDataParallel end each case's three steps with the
    weights one process reaches on the same global batches (dropout is off in every case)."""
    import socket

    import numpy as np
    import torch.multiprocessing as mp
    from safetensors.numpy import load_file

    for case in CASES:
        _fit(case, tmp_path / "one" / case.id)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.start_processes(_data_parallel_worker, args=(2, port, str(tmp_path / "two")), nprocs=2, join=True,
                       start_method="spawn")
    for case in CASES:
        one = load_file(str(tmp_path / "one" / case.id / "checkpoint" / "model.safetensors"))
        two = load_file(str(tmp_path / "two" / case.id / "checkpoint" / "model.safetensors"))
        start = {k: v.numpy() for k, v in case.build(seed=0)[0].state_dict().items()}
        assert one.keys() == two.keys()
        for k in one:
            assert np.allclose(one[k], two[k], atol=2e-5, rtol=1e-4), (case.id, k)
        assert any(not np.array_equal(one[k], start[k]) for k in one if one[k].dtype.kind == "f"), case.id


@pytest.mark.parametrize("preset", [p for kind in REGISTRY.values() for p in kind.presets], ids=lambda p: p.name)
def test_every_preset_builds_a_valid_config(preset):
    """A preset whose settings contradict each other (tied weights of two widths, say)
    must fail here, not an hour into someone's run."""
    from seqart.models.registry import config_from_dict, model_type
    from seqart.tokenizers import get_tokenizer

    kind = model_type(preset.model)
    image = {k: preset.model_config[k] for k in ("size", "channels") if k in preset.model_config}
    tokenizer = get_tokenizer(preset.representation, **(image if preset.representation == "images" else {}))
    data = kind.model_class().data_config(tokenizer)
    config_from_dict(preset.model, {**data, **preset.model_config})
