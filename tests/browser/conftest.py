"""Fixtures of the browser tests: one JupyterLab server per session, Chromium, one page per
test module (JupyterLab loads once; each test closes its notebooks and their kernels after it).

The server's root is a temporary copy of ``lectures/`` in which each exercise is answered with
the reference solution (a student who has done the work), except the first exercise of notebook
01, which the Validate test answers through the editor. Without answers "Run All Cells" stops at
the first stub (it raises NotImplementedError) and never reaches the widgets at the end.
``nbgrader_config.py`` sits in the server's working directory: nbgrader's Validate handler reads
its configuration from there (``os.getcwd()``) and from the Jupyter config path. The kernels run
numpy's BLAS on one thread, as grading does (``ONE_BLAS_THREAD``): notebook 06 runs in half
the CPU.

The ``chromium`` fixture (``tests/conftest.py``) skips the tests, with the reason, when
``/usr/bin/chromium`` or the playwright package is missing; no browser is ever downloaded.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from answers import answer_exercises
from lab_server import TOKEN, free_port, jupyter_tool, serving

from browser.jupyterlab import Lab, LabServer
from grader.course import CONFIG_FILE
from grader.trusted.environment import ONE_BLAS_THREAD

if TYPE_CHECKING:  # playwright is imported only when a browser test runs
    from playwright.sync_api import Browser, BrowserContext

REPO = Path(__file__).resolve().parents[2]
#: The notebook whose first exercise the Validate test answers in the browser.
VALIDATED = "01_derivatives"


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab on 127.0.0.1 serving the answered copy of ``lectures/``."""
    tmp = tmp_path_factory.mktemp("lab")
    course = tmp / "course"
    course.mkdir()
    shutil.copy(REPO / CONFIG_FILE, course / CONFIG_FILE)
    lectures = shutil.copytree(REPO / "lectures", course / "lectures")
    for release in sorted(lectures.glob("*/*.ipynb")):
        solution = REPO / "solutions" / release.relative_to(lectures)
        answer_exercises(release, solution, keep_first=release.stem == VALIDATED)
    port = free_port()
    command = (
        jupyter_tool("jupyterlab.labapp")
        + [
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={lectures}",
            "--LabApp.expose_app_in_browser=True",  # lets the tests read the notebook's state
        ]
        + (["--allow-root"] if os.geteuid() == 0 else [])
    )
    # The user's own JupyterLab settings and workspaces (theme, keymap, open tabs) stay out, and
    # no "get notified about Jupyter news?" toast covers the notebook.
    news = (
        tmp / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
        **ONE_BLAS_THREAD,
    }
    base = f"http://127.0.0.1:{port}"
    ready = f"{base}/api/status?token={TOKEN}"
    with serving(command, cwd=course, log=tmp / "lab.log", ready_url=ready, env=env):
        yield LabServer(base, TOKEN, lectures)


@pytest.fixture(scope="module")
def lab_context(chromium: Browser) -> Iterator[BrowserContext]:
    """The browser context of a test module: its page is the ``lab`` of each test in turn."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def lab(lab_context: BrowserContext, lab_server: LabServer, tmp_path: Path) -> Iterator[Lab]:
    """The module's browser page on the server (a new one for the first test, or after a test
    that left it unusable, e.g. with a dialog open); screenshots go to the test's ``tmp_path``.
    After the test its notebooks are closed and their kernels shut down."""
    from playwright.sync_api import Error

    page = lab_context.pages[0] if lab_context.pages else lab_context.new_page()
    lab = Lab(page, lab_server, tmp_path)
    yield lab
    try:
        reusable = lab.close_notebooks()
    except Error:
        reusable = False
    if not reusable:
        page.close()
