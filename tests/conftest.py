"""Fixtures shared by the test modules of several folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.__main__ import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def reading_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder ``python -m grader html`` (``make html``) writes for the repository's course."""
    destination = tmp_path_factory.mktemp("html")
    assert main(["--course", str(REPO), "html", "--to", str(destination)]) == 0
    return destination
