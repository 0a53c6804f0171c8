"""A Jupyter server for the tests: a free loopback port, waiting until it answers, stopping it.

Used by ``test_lab.py`` (``make lab``) and ``browser/`` (JupyterLab driven by Chromium).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

TOKEN = "chainrule-test"
#: Seconds a server may take to answer its first request (a cold start on a loaded machine).
START_TIMEOUT = 90


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
