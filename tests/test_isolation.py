"""The sandbox's bubblewrap namespace (grader/trusted/isolation.py): what the student's code sees.

Each test runs a probe with the sandbox's own command line (``isolation.wrap``), as the grader
does, and asserts on what the probe could reach. The corpus (tests/submissions/corpus.py) grades
the same attacks end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nbformat.v4 import new_notebook

import chainrule
from grader import __main__ as grader_main
from grader.course import Course
from grader.submissions import RECORD_NAME
from grader.trusted import isolation

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    isolation.unavailable_reason() is not None,
    reason=f"bubblewrap cannot run here: {isolation.unavailable_reason()}",
)

PROBE = """
import json, os, socket, sys
seen = {
    "course": sorted(os.listdir(sys.argv[1])) if os.path.isdir(sys.argv[1]) else [],
    "solutions": os.path.exists(os.path.join(sys.argv[1], "solutions")),
    "chainrule": __import__("chainrule").__file__,
    "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "tmp": sorted(os.listdir("/tmp")),
    "home": os.listdir(os.environ.get("HOME", "/")) if os.environ.get("HOME") else None,
}
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=2)
    seen["connected"] = True
except OSError as error:
    seen["connected"] = error.errno
try:
    open(os.path.join(os.path.dirname(seen["chainrule"]), "planted.py"), "w")
    seen["wrote"] = True
except OSError as error:
    seen["wrote"] = error.errno
print(json.dumps(seen))
"""


def probe(tmp_path: Path) -> dict:
    """Run the probe in the sandbox's namespace, with a server listening on the machine."""
    import socket

    work = tmp_path / "work"
    work.mkdir()
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        command = isolation.wrap(
            [sys.executable, "-c", PROBE, str(REPO), str(port)], writable=[work], workdir=work
        )
        env = {**os.environ, "PYTHONPATH": str(isolation.PACKAGES), "PYTHONSAFEPATH": "1"}
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_sandbox_sees_the_runtime_but_not_the_course(tmp_path: Path) -> None:
    seen = probe(tmp_path)
    # The grader's own chainrule imports, from a folder that does not say where the course is.
    assert seen["chainrule"] == str(isolation.PACKAGES / "chainrule" / "__init__.py")
    assert Path(chainrule.__file__).read_bytes()  # (the grader's copy, bound read-only)
    assert not seen["solutions"]
    # Of the course folder, only a virtual environment inside it (the runtime) can show.
    venv = Path(sys.prefix).resolve()
    assert seen["course"] == ([venv.name] if venv.parent == REPO else [])
    # A private /tmp: only the way down to the sandbox's own folder (and to the runtime, for a
    # virtual environment that lives under /tmp).
    allowed = {
        path.relative_to("/tmp").parts[0]
        for path in (tmp_path, Path(sys.prefix).resolve())
        if path.is_relative_to("/tmp")
    }
    assert tmp_path.relative_to("/tmp").parts[0] in seen["tmp"]
    assert set(seen["tmp"]) <= allowed
    assert seen["wrote"] is not True  # the runtime is read-only


def test_the_sandbox_has_its_own_processes_and_network(tmp_path: Path) -> None:
    seen = probe(tmp_path)
    assert os.getpid() not in seen["pids"] and max(seen["pids"]) < 10
    assert seen["connected"] == 111  # the machine's 127.0.0.1 is another network's: refused


def test_bwrap_missing_is_named_with_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation.shutil, "which", lambda name: None)
    with pytest.raises(isolation.IsolationUnavailable, match="install the 'bubblewrap' package"):
        isolation.bwrap_path()


@pytest.mark.slow
def test_autograde_refuses_without_bubblewrap_unless_told(
    course: Course, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = course.directory("submitted") / "ann" / "a"
    folder.mkdir(parents=True)
    (course.root / "solutions" / "a").mkdir(parents=True)
    for path in (course.root / "solutions/a/a.ipynb", folder / "a.ipynb"):
        path.write_text(json.dumps(new_notebook()))
    assert grader_main.main(["--course", str(course.root), "release", "a"]) == 0
    monkeypatch.setattr(isolation, "unavailable_reason", lambda: "bubblewrap is not installed")
    assert grader_main.main(["--course", str(course.root), "autograde", "--quiet"]) == 2
    assert "bubblewrap is not installed" in capsys.readouterr().err
    command = ["--course", str(course.root), "autograde", "--quiet", "--no-isolation"]
    assert grader_main.main(command) == 0
    captured = capsys.readouterr()
    assert "--no-isolation" in captured.err and "ISOLATION OFF" in captured.out
    record = json.loads((course.directory("autograded") / "ann/a" / RECORD_NAME).read_text())
    assert record["isolated"] is False
