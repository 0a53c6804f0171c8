"""A newcomer's first hour stays green: on a fresh clone, `make lab`, answer an exercise in the
browser, save, run its visible test, stop; the clone is still clean and `grader check` passes.

The clone is of the repository's committed HEAD (uncommitted changes are not in it). It reuses
this test run's environment (``make VENV=...``, its install step marked as done with ``-o``),
and its JupyterLab has empty user settings, as a new user's: no news prompt may appear.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest
from answers import exercises, first_answer
from lab_server import MAKE_LAB_ARGS, TOKEN, free_port, serving

from browser.conftest import REPO
from browser.jupyterlab import Lab, LabServer
from grader.cells import grade_id_of

if TYPE_CHECKING:  # playwright is imported only when a browser test runs
    from playwright.sync_api import Browser

pytestmark = pytest.mark.slow

ASSIGNMENT = "02_gradient_descent"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
NEWS = "official Jupyter news"


def git(clone: Path, *args: str) -> str:
    """The output of ``git args`` in ``clone``."""
    return subprocess.run(
        ["git", *args], cwd=clone, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh ``git clone`` of the repository."""
    subprocess.run(
        ["git", "clone", "--quiet", str(REPO), str(tmp_path / "clone")],
        check=True,
        capture_output=True,
    )
    return tmp_path / "clone"


@pytest.fixture
def make_lab(clone: Path, tmp_path: Path) -> Iterator[tuple[LabServer, dict[str, str]]]:
    """``make lab`` running in ``clone``; the server and the environment it was started with."""
    venv = Path(sys.prefix)
    port = free_port()
    command = ["make", "--no-print-directory", "lab", f"VENV={venv}", f"PORT={port}"]
    command += ["-o", f"{venv}/.chainrule-installed", f"LAB_ARGS={MAKE_LAB_ARGS}"]
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_DB_URL"}
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path / "settings")  # a new user's: empty
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "workspaces")
    base = f"http://127.0.0.1:{port}"
    ready = f"{base}/api/status?token={TOKEN}"
    with serving(command, cwd=clone, log=tmp_path / "lab.log", ready_url=ready, env=env):
        yield LabServer(base, TOKEN, clone / "work"), env


def test_make_lab_answer_save_and_test_leave_the_clone_clean(
    chromium: Browser, make_lab: tuple[LabServer, dict[str, str]], clone: Path, tmp_path: Path
) -> None:
    server, env = make_lab
    signature, answer = first_answer(REPO / "solutions" / NOTEBOOK)
    (exercise,) = exercises(nbformat.read(server.root / NOTEBOOK, as_version=4))[:1]
    test_id = f"test_{grade_id_of(exercise)}"
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        lab = Lab(context.new_page(), server, tmp_path)
        lab.open(NOTEBOOK)
        lab.replace_line(signature, "raise NotImplementedError()", "\n".join(answer).lstrip())
        lab.save()
        lab.run_cell_and_the_next(signature)
        assert lab.errors_of(test_id) == []  # the visible test passes
        lab.save()
        lab.page.screenshot(path=tmp_path / "lab.png")
        assert lab.page.get_by_text(NEWS).count() == 0, "JupyterLab asked about Jupyter news"
    finally:
        context.close()
    saved = exercises(nbformat.read(server.root / NOTEBOOK, as_version=4))[0].source
    assert all(line.strip() in saved for line in answer)  # the work is on disk, in work/

    assert git(clone, "status", "--porcelain", "--untracked-files=all") == ""
    check = subprocess.run(
        [sys.executable, "-m", "grader", "check", ASSIGNMENT],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
