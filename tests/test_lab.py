"""`make lab` starts JupyterLab on the student notebooks with nbgrader's extensions."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "chainrule-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.mark.slow
def test_make_lab_serves_jupyterlab_with_nbgrader(tmp_path):
    port = free_port()
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --IdentityProvider.token={TOKEN}"
    log = (tmp_path / "lab.log").open("wb")
    server = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"PORT={port}", f"LAB_ARGS={args}"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                status, page = get(f"{base}/lab?token={TOKEN}")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text())
                time.sleep(0.5)
        assert status == 200
        assert b"JupyterLab" in page
        _, contents = get(f"{base}/api/contents?token={TOKEN}")
        served = {item["name"] for item in json.loads(contents)["content"]}
        expected = {p.name for p in (ROOT / "lectures").iterdir() if not p.name.startswith(".")}
        assert served == expected  # the server's root is lectures/
        _, extensions = get(f"{base}/lab/api/extensions?token={TOKEN}")
        enabled = {ext["name"] for ext in json.loads(extensions) if ext["enabled"]}
        assert {"jupyter-nbgrader", "jupyter-widgets-jupyterlab-manager"} <= enabled
    finally:
        stop(server)
        log.close()


def stop(server: subprocess.Popen) -> None:
    """Stop the server's whole process group (make and the jupyter it started)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
