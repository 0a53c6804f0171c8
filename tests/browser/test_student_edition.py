"""The student edition works on its own: its two commands, in a fresh environment made from its
own requirements, open JupyterLab, where notebook 02's learning-rate explorer and Validate work.

The edition is published from this working tree into a temporary folder. ``make setup`` there
makes ``.venv/`` with the system's ``python3`` (no site packages of this test run: ``PATH``,
``VIRTUAL_ENV`` and ``PYTHONPATH`` of the test run are left out), installing
``requirements.txt`` through pip, which takes the wheels from pip's cache and the machine's
package indexes (about a minute, so the test is ``slow``), without byte-compiling them: the
modules the lab and its kernels import are compiled, once, when first imported. Then
``make lab`` serves ``work/``. Notebook 02 is answered in ``work/`` beforehand (as a student
who has done the work: Run All reaches the explorer, Validate passes); ``make lab`` never
overwrites it. This is the test that moves the learning-rate explorer's slider (and, with
``CHAINRULE_UPDATE_SCREENSHOTS=1``, updates its picture in ``docs/``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from answers import answer_exercises
from lab_server import MAKE_LAB_ARGS, TOKEN, free_port, serving

from browser.conftest import REPO
from browser.jupyterlab import Lab, LabServer
from browser.test_notebooks import move_explorer_slider
from grader.course import Course
from grader.publish import publish

if TYPE_CHECKING:  # playwright is imported only when a browser test runs
    from playwright.sync_api import Browser

pytestmark = pytest.mark.slow

ASSIGNMENT = "02_gradient_descent"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
#: Seconds ``make setup`` may take: pip installs the edition's requirements into a new venv.
SETUP_TIMEOUT = 600
#: pip's ``--no-compile`` as ``make setup``'s pip commands read it from the environment: the
#: packages' modules are byte-compiled when first imported (``outside_environment``) instead of
#: all at install, two thirds of pip's CPU: the lab and its kernels import a fraction of them.
NO_BYTECODE_AT_INSTALL = {"PIP_COMPILE": "0"}
#: nbgrader's instructor panels, which the edition's postBuild disables (Validate stays).
INSTRUCTOR_PANELS = {
    f"@jupyter/nbgrader:{panel}"
    for panel in ("formgrader", "create-assignment", "assignment-list", "course-list")
}
#: The page configuration JupyterLab's page carries.
PAGE_CONFIG = re.compile(
    r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', re.S
)
#: What the kernel reports about where its Python and modules come from.
WHERE = (
    "import sys, importlib.util, chainrule\n"
    "print(sys.prefix)\nprint(chainrule.__file__)\n"
    "print(importlib.util.find_spec('grader'))"
)


def disabled_extensions(server: LabServer) -> set[str]:
    """The extensions (and plugins) disabled in the page configuration ``server`` gives the
    JupyterLab page."""
    with urllib.request.urlopen(f"{server.url}/lab?token={server.token}", timeout=60) as page:
        found = PAGE_CONFIG.search(page.read().decode())
    assert found, "no page configuration in JupyterLab's page"
    return set(json.loads(found[1])["disabledExtensions"])


def outside_environment(tmp_path: Path) -> dict[str, str]:
    """This process's environment without its venv, with a new user's Jupyter settings, and
    without what an outer ``make`` passes to the ones it runs (``make test VENV=...`` would
    otherwise set up the edition in that venv). Python writes its bytecode caches, as on a
    student's machine, even where this run's environment says not to
    (``PYTHONDONTWRITEBYTECODE``): each module of the edition's venv is compiled once."""
    ours = str(Path(sys.prefix) / "bin")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CHAINRULE_DB_URL"}
        and key not in {"MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL"}
        and key != "PYTHONDONTWRITEBYTECODE"
    }
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != ours)
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jupyter-config")
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path / "settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "workspaces")
    return env


@pytest.fixture
def edition(tmp_path: Path) -> Path:
    """The published edition, set up by its own ``make setup``, notebook 02 answered in work/."""
    edition = tmp_path / "student"
    publish(Course(REPO), edition)
    setup = subprocess.run(
        ["make", "--no-print-directory", "setup", "PYTHON=python3"],
        cwd=edition,
        env={**outside_environment(tmp_path), **NO_BYTECODE_AT_INSTALL},
        capture_output=True,
        text=True,
        timeout=SETUP_TIMEOUT,
    )
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    answered = edition / "work" / NOTEBOOK
    answered.parent.mkdir(parents=True)
    answered.write_bytes((edition / "lectures" / NOTEBOOK).read_bytes())
    answer_exercises(answered, REPO / "solutions" / NOTEBOOK)
    return edition


@pytest.fixture
def make_lab(edition: Path, tmp_path: Path) -> Iterator[LabServer]:
    """``make lab`` running in the edition."""
    port = free_port()
    command = ["make", "--no-print-directory", "lab", f"PORT={port}", f"LAB_ARGS={MAKE_LAB_ARGS}"]
    base = f"http://127.0.0.1:{port}"
    ready = f"{base}/api/status?token={TOKEN}"
    env = outside_environment(tmp_path)
    with serving(command, cwd=edition, log=tmp_path / "lab.log", ready_url=ready, env=env):
        yield LabServer(base, TOKEN, edition / "work")


def test_make_lab_in_the_edition_runs_the_explorer_and_validate(
    chromium: Browser, make_lab: LabServer, edition: Path, tmp_path: Path
) -> None:
    # make lab copied the other notebooks into work/ and kept the answered one.
    released = sorted(p.relative_to(edition / "lectures") for p in edition.glob("lectures/*/*"))
    assert sorted(p.relative_to(make_lab.root) for p in make_lab.root.glob("*/*")) == released
    disabled = disabled_extensions(make_lab)
    assert INSTRUCTOR_PANELS <= disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        lab = Lab(context.new_page(), make_lab, tmp_path)
        lab.open(NOTEBOOK)
        prefix, module, grader = lab.kernel_stdout(WHERE).splitlines()
        assert Path(prefix) == edition / ".venv"
        assert Path(module) == edition / "chainrule" / "__init__.py"
        assert grader == "None"  # nothing of the instructor's course is importable
        lab.run_all()
        move_explorer_slider(lab, "learning rate", "learning_rate_explorer.png")
        assert "Success! Your notebook passes all the tests." in lab.validate("validate.png")
    finally:
        context.close()
