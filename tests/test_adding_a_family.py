"""Adding a model family is one folder plus one line in the registry's FAMILIES.

``tests/toy_family/`` is such a folder (a unigram model over melody tokens, written
only for this test); registering it is appending its package to FAMILIES. With
nothing else changed, it trains on the one trainer, passes the registry-wide
model checks, samples through :func:`seqart.load` with the shared melody grammar
walker, and shows up in ``seqart presets`` and ``seqart train``/``sample``.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from typer.testing import CliRunner  # noqa: E402

from tests.train_fixtures import tiny_corpus  # noqa: E402,F401


@pytest.fixture
def toy_registered(monkeypatch):
    from seqart.models import registry

    monkeypatch.setattr(registry, "FAMILIES", [*registry.FAMILIES, "tests.toy_family"])  # the one line
    registry.REGISTRY.reload()
    yield registry
    registry.REGISTRY.reload()  # the next use reads the restored FAMILIES


def test_a_new_family_trains_samples_and_is_listed(toy_registered, tiny_corpus, tmp_path):
    import seqart
    from seqart.cli import app
    from seqart.generate.protocol import MusicGenerator
    from seqart.workflows.train import train
    from tests import test_model_registry as shared
    from tests.model_cases import ModelCase

    kind = toy_registered.model_type("toy-unigram")
    assert kind.family == "toy_family" and "toy-unigram-tiny" in toy_registered.presets()
    case = ModelCase("toy-unigram", "toy-unigram", {}, {"seq_len": 32})
    shared.test_train_save_load_and_sample_through_the_protocol(case, tmp_path / "shared")
    shared.test_hostile_configs_are_refused_before_any_memory(case)

    result = train("toy-unigram-tiny", tiny_corpus, tmp_path / "run", settings={"threads": 1}, progress=False)
    assert result["step"] == 20 and result["test"]["loss"] > 0
    gen = seqart.load(str(tmp_path / "run"))
    assert isinstance(gen, MusicGenerator)
    allowed = {7, 9, 11, 0, 2, 4, 6}  # G major
    for melody in gen.sample(4, bars=2, seed=1, key="G major"):
        assert melody.num_notes > 0 and all(n.pitch % 12 in allowed for n in melody.notes)

    runner = CliRunner()
    listed = runner.invoke(app, ["presets"])
    assert listed.exit_code == 0 and "toy-unigram-tiny" in listed.output
    sampled = runner.invoke(app, ["sample", str(tmp_path / "run"), "-o", str(tmp_path / "toy.mid"), "--seed", "2"])
    assert sampled.exit_code == 0, sampled.output
    assert (tmp_path / "toy.mid").is_file()
