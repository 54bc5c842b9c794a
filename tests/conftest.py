"""Shared pytest fixtures."""

from pathlib import Path

import pytest

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    """The folder of small music files written by ``tests/fixtures/make_fixtures.py``
    (corrupt ones under ``corrupt/``)."""
    return FIXTURES_DIR
