"""`make lab` starts JupyterLab on the student notebooks with nbgrader's extensions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lab_server import TOKEN, free_port, get, serving

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_make_lab_serves_jupyterlab_with_nbgrader(tmp_path):
    port = free_port()
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --IdentityProvider.token={TOKEN}"
    command = ["make", "--no-print-directory", "lab", f"PORT={port}", f"LAB_ARGS={args}"]
    base = f"http://127.0.0.1:{port}"
    ready = f"{base}/lab?token={TOKEN}"
    with serving(command, cwd=ROOT, log=tmp_path / "lab.log", ready_url=ready) as (status, page):
        assert status == 200
        assert b"JupyterLab" in page
        _, contents = get(f"{base}/api/contents?token={TOKEN}")
        served = {item["name"] for item in json.loads(contents)["content"]}
        expected = {p.name for p in (ROOT / "lectures").iterdir() if not p.name.startswith(".")}
        assert served == expected  # the server's root is lectures/
        _, extensions = get(f"{base}/lab/api/extensions?token={TOKEN}")
        enabled = {ext["name"] for ext in json.loads(extensions) if ext["enabled"]}
        assert {"jupyter-nbgrader", "jupyter-widgets-jupyterlab-manager"} <= enabled
