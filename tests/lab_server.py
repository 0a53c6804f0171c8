"""A Jupyter server for the tests: a free loopback port, starting it, waiting until it answers,
stopping it; and the command line of a Jupyter tool of this venv without jsonschema's RFC 3987
grammar (:func:`jupyter_tool`).

Used by ``test_lab.py`` (``make lab``), ``browser/`` (JupyterLab driven by Chromium) and
``test_student_edition.py`` (``nbgrader validate``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

TOKEN = "chainrule-test"
#: ``LAB_ARGS`` of a test's ``make lab``: no browser, loopback only, no other port, the test's
#: token, and the app exposed so that the tests can read the notebook's state.
MAKE_LAB_ARGS = " ".join(
    [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}",
        "--LabApp.expose_app_in_browser=True",
    ]
)
#: Seconds a server may take to answer its first request (a cold start on a loaded machine).
START_TIMEOUT = 90


def jupyter_tool(module: str) -> list[str]:
    """The command running ``module``'s ``main()``, the entry point of a console script of this
    venv (``jupyterlab.labapp``: ``jupyter lab``; ``nbgrader.apps.nbgraderapp``: ``nbgrader``),
    after ``import grader``, which keeps jsonschema from building its RFC 3987 parser
    (grader/__init__.py): 2-4 CPU-s in each such process. The tool works the same: jsonschema
    leaves the "iri" formats unchecked, and none of the documents it validates has one. As with
    the script, the working directory is not on ``sys.path`` (``-P``)."""
    code = f"import sys, grader; from {module} import main; sys.exit(main())"
    return [sys.executable, "-P", "-c", code]


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    """HTTP status and body of a GET of ``url``."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def wait_until_serving(server: subprocess.Popen, url: str, log: Path) -> tuple[int, bytes]:
    """Poll ``url`` until ``server`` answers; fail the test with its ``log`` if it never does."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            return get(url)
        except (urllib.error.URLError, ConnectionError):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Jupyter server did not start:\n{log.read_text()}")
            time.sleep(0.5)


def stop(server: subprocess.Popen) -> None:
    """Stop the server's whole process group (started with ``start_new_session=True``)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@contextmanager
def serving(
    command: Sequence[str],
    *,
    cwd: Path,
    log: Path,
    ready_url: str,
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[int, bytes]]:
    """Start the server ``command`` in ``cwd`` in a session of its own (``env``: its environment,
    None for this one's), its output in ``log``; yield the HTTP status and body of the first
    answer to ``ready_url`` (:func:`wait_until_serving`); stop the server on exit."""
    with log.open("wb") as output:
        server = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield wait_until_serving(server, ready_url, log)
    finally:
        stop(server)
