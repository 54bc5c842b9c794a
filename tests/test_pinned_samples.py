"""The shipped models generate the same notes for the same seed and options as the
code that wrote ``tests/fixtures/pinned/samples.json`` (see ``tests/pinned_cases.py``)."""

from __future__ import annotations

import json

import pytest

from tests.pinned_cases import FIXTURE, generate


@pytest.fixture(scope="module")
def fresh():
    pytest.importorskip("torch")
    return generate()


@pytest.mark.parametrize("case", list(json.loads(FIXTURE.read_text(encoding="utf-8"))))
def test_shipped_models_generate_what_they_did(case, fresh):
    pinned = json.loads(FIXTURE.read_text(encoding="utf-8"))[case]
    assert fresh[case] == pinned
