"""Shared pytest fixtures."""

from pathlib import Path

import pytest

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    """The folder of small music files written by ``tests/fixtures/make_fixtures.py``
    (corrupt ones under ``corrupt/``)."""
    return FIXTURES_DIR


@pytest.fixture(autouse=True, scope="session")
def private_data_dir(tmp_path_factory):
    """Shipped models' feedback stores (``seqart sample folk`` records its files) go to a
    temporary folder during tests, never to the user's data folder."""
    import os

    old = os.environ.get("SEQART_DATA_DIR")
    os.environ["SEQART_DATA_DIR"] = str(tmp_path_factory.mktemp("seqart-data"))
    yield
    if old is None:
        os.environ.pop("SEQART_DATA_DIR", None)
    else:
        os.environ["SEQART_DATA_DIR"] = old
