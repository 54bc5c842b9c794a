"""Untrusted model folders: loading never unpickles anything, never allocates more
than the files hold, and refuses every broken folder with a one-line ModelError
naming it, on the NumPy sampling path (``load_generator``) and the torch path
(``load_model``) alike; ``seqart sample BROKEN`` exits 2 with one line.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file
from typer.testing import CliRunner

from seqart.cli import app
from seqart.errors import ModelError
from seqart.models.loading import load_generator
from seqart.models import model_class
from seqart.models.folder import load_model, save_model_folder
from seqart.tokenizers import get_tokenizer
from tests.train_fixtures import TINY, tiny_corpus, tiny_run  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()


class Payload:
    """Unpickling this runs code: it creates the file ``MARKER`` names."""

    marker = ""

    def __reduce__(self):
        return (os.system, (f"touch {Payload.marker}",))


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A tiny melody-lstm folder (2 x 16 units, tied embeddings) that loads and samples
    (layout-1 tokens: 172 ids, as the messages below say)."""
    tokenizer = get_tokenizer("melody", layout=1)
    cls = model_class("melody-lstm")
    config = cls.config_from_dict({"vocab_size": tokenizer.vocab_size, "embed_dim": 16, "hidden_size": 16,
                                   "num_layers": 2})
    torch.manual_seed(0)
    return save_model_folder(tmp_path_factory.mktemp("models") / "good", cls(config), tokenizer)


@pytest.fixture
def marker(tmp_path):
    Payload.marker = str(tmp_path / "CODE_RAN")
    yield tmp_path / "CODE_RAN"
    assert not (tmp_path / "CODE_RAN").exists(), "loading a model folder ran pickled code"


def safetensors_bytes(header, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(raw)) + raw + data


def torch_pickle(obj, zip_format: bool = True) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=zip_format)
    return buf.getvalue()


def edit_config(**changes):
    def apply(folder: Path):
        data = json.loads((folder / "config.json").read_text())
        for key, value in changes.items():
            if key.startswith("top_"):
                data[key[4:]] = value
            elif value is ...:
                del data["config"][key]
            else:
                data["config"][key] = value
        (folder / "config.json").write_text(json.dumps(data))
    return apply


def edit_weights(change):
    def apply(folder: Path):
        weights = load_file(str(folder / "model.safetensors"))
        change(weights)
        save_file(weights, str(folder / "model.safetensors"))
    return apply


def write(name: str, content):
    def apply(folder: Path):
        path = folder / name
        if content is None:
            path.unlink()
        elif callable(content):
            path.write_bytes(content(path.read_bytes()))
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return apply


DEEP = "[" * 100_000 + "]" * 100_000
F32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}

#: name -> (how to break the good folder, what the message says)
BROKEN = {
    # weights that are a pickle (torch.save output), in every pickle flavour
    "weights_torch_zip": (write("model.safetensors", lambda _: torch_pickle({"w": Payload()})), "holds pickle data"),
    "weights_torch_legacy": (write("model.safetensors", lambda _: torch_pickle({"w": Payload()}, False)),
                             "holds pickle data"),
    "weights_pickle_proto0": (write("model.safetensors", lambda _: pickle.dumps(Payload(), protocol=0)),
                              "not a safetensors file"),
    # truncated or garbage safetensors, and headers that lie
    "weights_truncated": (write("model.safetensors", lambda b: b[: len(b) // 2]), "points outside the file"),
    "weights_cut_in_header": (write("model.safetensors", lambda b: b[:40]), "not a safetensors file"),
    "weights_garbage": (write("model.safetensors", bytes(range(256)) * 12), "not a safetensors file"),
    "weights_empty": (write("model.safetensors", b""), "not a safetensors file"),
    "weights_missing": (write("model.safetensors", None), "missing weights file"),
    "header_not_object": (write("model.safetensors", safetensors_bytes([])), "bad header"),
    "header_entry_not_object": (write("model.safetensors", safetensors_bytes({"a": 1})), "malformed header entry"),
    "header_offsets_text": (write("model.safetensors", safetensors_bytes(
        {"embed.weight": {**F32, "data_offsets": ["0", "8"]}}, bytes(8))), "malformed header entry"),
    "header_unknown_dtype": (write("model.safetensors", safetensors_bytes(
        {"embed.weight": {**F32, "dtype": "X99"}}, bytes(8))), "unsupported dtype 'X99'"),
    "header_shape_lies": (write("model.safetensors", safetensors_bytes(
        {"embed.weight": {**F32, "shape": [100_000, 100_000]}}, bytes(8))), "does not fill its 8 bytes"),
    "header_negative_shape": (write("model.safetensors", safetensors_bytes(
        {"embed.weight": {**F32, "shape": [-2]}}, bytes(8))), "malformed header entry"),
    "header_bad_metadata": (write("model.safetensors", safetensors_bytes({"__metadata__": [1]})), "bad __metadata__"),
    "header_nested": (write("model.safetensors", safetensors_bytes(DEEP.encode())), "bad header"),
    # tensors that do not fit the config
    "tensor_too_few_rows": (edit_weights(lambda w: w.update({"embed.weight": w["embed.weight"][:10]})),
                            "'embed.weight' has shape \\[10, 16\\], the config needs \\[172, 16\\]"),
    "tensor_short_bias": (edit_weights(lambda w: w.update({"head.bias": w["head.bias"][:10]})),
                          "'head.bias' has shape \\[10\\]"),
    "tensor_wrong_width": (edit_weights(lambda w: w.update({"rnn.weight_hh_l1": np.zeros((64, 8), np.float32)})),
                           "'rnn.weight_hh_l1' has shape \\[64, 8\\]"),
    "tensor_missing": (edit_weights(lambda w: w.pop("rnn.bias_ih_l1")), "missing tensor 'rnn.bias_ih_l1'"),
    "tensor_unexpected": (edit_weights(lambda w: w.update({"evil": np.zeros(3, np.float32)})),
                          "unexpected tensor 'evil'"),
    "config_wider_than_weights": (edit_config(hidden_size=32, embed_dim=32), "the config needs \\[172, 32\\]"),
    # absurd, mistyped, unknown and missing config entries
    "config_hidden_1e9": (edit_config(hidden_size=10**9), "hidden_size=1000000000 must be an integer"),
    "config_vocab_negative": (edit_config(vocab_size=-1), "vocab_size=-1 must be an integer"),
    "config_hidden_text": (edit_config(hidden_size="16"), "hidden_size='16' must be an integer"),
    "config_hidden_float": (edit_config(hidden_size=16.0), "hidden_size=16.0 must be an integer"),
    "config_hidden_10_400": (edit_config(hidden_size=10**400), "hidden_size=1000"),
    "config_dropout_nan": (edit_config(dropout=float("nan")), "dropout=nan"),
    "config_unknown_key": (edit_config(evil=1), "unknown melody-lstm config key\\(s\\): evil"),
    "config_missing_key": (edit_config(vocab_size=...), "missing 1 required positional argument: 'vocab_size'"),
    "config_model_list": (edit_config(top_model=["melody-lstm"]), "not a seqart model config"),
    "config_model_unknown": (edit_config(top_model="gpt-5"), "gpt-5"),
    "config_format_text": (edit_config(top_format_version="x"), "format_version 'x' is not a whole number"),
    "config_format_newer": (edit_config(top_format_version=99), "model format 99 is newer"),
    "config_not_json": (write("config.json", "{not json"), "unreadable model config"),
    "config_not_utf8": (write("config.json", b'{"model": "\xe9"}'), "unreadable model config"),
    "config_array": (write("config.json", "[1, 2]"), "not a seqart model config"),
    "config_nested": (write("config.json", DEEP), "unreadable model config \\(maximum recursion depth"),
    # tokenizer files that are not JSON, name an unknown tokenizer, or do not fit
    "tokenizer_not_json": (write("tokenizer.json", "nope{"), "unreadable tokenizer file"),
    "tokenizer_unknown": (write("tokenizer.json", json.dumps({"tokenizer": "bpe", "config": {}})),
                          "unusable tokenizer \\(unknown representation 'bpe'"),
    "tokenizer_array": (write("tokenizer.json", "[]"), "not a seqart tokenizer file"),
    "tokenizer_config_number": (write("tokenizer.json", json.dumps({"tokenizer": "melody", "config": 5})),
                                "not a seqart tokenizer file"),
    "tokenizer_config_mistyped": (write("tokenizer.json", json.dumps({"tokenizer": "melody",
                                                                      "config": {"min_pitch": "x"}})),
                                  "unusable tokenizer"),
    "tokenizer_version_text": (write("tokenizer.json", json.dumps({"tokenizer": "melody", "version": "x"})),
                               "unusable tokenizer"),
    "tokenizer_other_kind": (write("tokenizer.json", json.dumps({"tokenizer": "pianoroll", "config": {}})),
                             "vocab_size"),
    "tokenizer_nested": (write("tokenizer.json", DEEP), "unreadable tokenizer file"),
    "tokenizer_missing": (write("tokenizer.json", None), "unreadable tokenizer file \\(No such file"),
}


def broken_copy(good: Path, tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(good, folder)
    BROKEN[name][0](folder)
    return folder


def test_the_good_folder_loads_both_ways(good, tmp_path):
    assert load_generator(good).sample(bars=1, seed=1)[0].num_notes > 0
    model, tokenizer, meta = load_model(good)
    assert meta["model"] == "melody-lstm" and model.head.weight is model.embed.weight
    result = runner.invoke(app, ["sample", str(good), "-o", str(tmp_path / "x.mid"), "--bars", "1"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_folder_is_refused_with_one_line(good, tmp_path, marker, name):
    folder = broken_copy(good, tmp_path, name)
    reason = BROKEN[name][1]
    for load in (load_generator, load_model):
        with pytest.raises(ModelError, match=reason) as info:
            load(folder)
        message = str(info.value)
        assert "\n" not in message and str(folder) in message and len(message) < 400, message
    result = runner.invoke(app, ["sample", str(folder), "-o", str(tmp_path / "out.mid"), "--bars", "1"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(folder) in lines[0], result.output
    assert not (tmp_path / "out.mid").exists()


@pytest.mark.parametrize("content, reason", [
    ("[1]", "not an evaluation file"),
    (DEEP, "unreadable evaluation file"),
])
def test_a_broken_eval_json_is_refused(good, tmp_path, content, reason):
    folder = tmp_path / "eval"
    shutil.copytree(good, folder)
    (folder / "eval.json").write_text(content)
    with pytest.raises(ModelError, match=reason):
        load_generator(folder)
    result = runner.invoke(app, ["sample", str(folder), "-o", str(tmp_path / "o.mid")])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output


def test_a_config_asking_for_gigabytes_allocates_nothing(good, tmp_path):
    """16 layers of 8192 units pass every per-entry bound (34 GB of LSTM weights); the
    weights file holds 30 kB. Both loaders must refuse before building the model, so
    this runs in a child whose address space is capped 3 GB above what it uses."""
    folder = tmp_path / "huge"
    shutil.copytree(good, folder)
    edit_config(embed_dim=8192, hidden_size=8192, num_layers=16)(folder)
    code = f"""
import resource, sys
import torch
from seqart.errors import ModelError
from seqart.models.loading import load_generator
from seqart.models.folder import load_model
import seqart.models.melody_lm.model
pages = int(open("/proc/self/statm").read().split()[0])
cap = pages * resource.getpagesize() + 3 * 2**30
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
for load in (load_generator, load_model):
    try:
        load({str(folder)!r})
    except ModelError as exc:
        print("refused:", exc)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("refused:") for line in lines), result.stdout
    assert "the config needs [172, 8192]" in lines[0] and "the config needs [172, 8192]" in lines[1]


# =============================================================== train_state.pt
def resumed(tiny_run, tiny_corpus, tmp_path, change):  # noqa: F811
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    change(run / "checkpoint")
    return runner.invoke(app, ["train", "melody-lstm", "--data", str(tiny_corpus), "-o", str(run), "--resume",
                               "--steps", "40", *sum((["--set", s] for s in TINY), [])])


def test_a_train_state_holding_code_is_refused_with_one_line(tiny_run, tiny_corpus, tmp_path, marker):  # noqa: F811
    """torch.load(weights_only=True) refuses the pickle without running it; torch's
    several-line reason is folded into one line."""
    result = resumed(tiny_run, tiny_corpus, tmp_path,
                     lambda ckpt: torch.save({"step": Payload()}, ckpt / "train_state.pt"))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "train_state.pt: unreadable training state" in lines[0], result.output


@pytest.mark.parametrize("change", [
    lambda ckpt: torch.save({"step": torch.tensor(1)}, ckpt / "train_state.pt"),
    lambda ckpt: (ckpt / "model.safetensors").write_bytes(torch_pickle({"w": Payload()})),
], ids=["state-without-keys", "checkpoint-weights-pickle"])
def test_a_broken_checkpoint_is_refused_with_one_line(tiny_run, tiny_corpus, tmp_path, marker, change):  # noqa: F811
    result = resumed(tiny_run, tiny_corpus, tmp_path, change)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
