"""`make lab` serves the student's working copy of the notebooks, never the tracked `lectures/`,
with nbgrader's extensions; what JupyterLab writes next to a notebook is not a stale release."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lab_server import TOKEN, free_port, get, serving

from grader.__main__ import main
from grader.check import stale_release
from grader.course import CONFIG_FILE, Course
from grader.labcopy import working_copy

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ".ipynb_checkpoints/a-checkpoint.ipynb"


def release_files(course: Course, files: dict[str, str]) -> None:
    """Write ``files`` (path relative to ``lectures/``: text) into the course's release."""
    for name, text in files.items():
        path = course.directory("release") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_stale_release_ignores_what_nbgrader_ignores(course: Course, tmp_path: Path) -> None:
    (tmp_path / "fresh").mkdir()
    fresh = Course(shutil.copy(course.root / CONFIG_FILE, tmp_path / "fresh" / CONFIG_FILE).parent)
    release_files(fresh, {"a/a.ipynb": "{}"})
    # JupyterLab's checkpoint, Python's cache and the course's own ignore list
    # (nbgrader_config.py: *.db) are housekeeping, not files the release failed to make.
    ignored = {f"a/{CHECKPOINT}": "{}", "a/__pycache__/m.pyc": "", "a/notes.db": ""}
    release_files(course, {"a/a.ipynb": "{}", **ignored})
    assert stale_release(course, fresh, "a") == []
    release_files(course, {"a/extra.txt": ""})
    assert [p.split(" (run")[0] for p in stale_release(course, fresh, "a")] == [
        "lectures/a/extra.txt is not made by the release"
    ]


def test_working_copy_adds_missing_files_and_never_overwrites(course: Course, tmp_path: Path):
    release_files(
        course, {"a/a.ipynb": "release a", "b/b.ipynb": "release b", f"a/{CHECKPOINT}": ""}
    )
    work = tmp_path / "work"
    assert working_copy(course, work) == [Path("a/a.ipynb"), Path("b/b.ipynb")]
    (work / "a/a.ipynb").write_text("my answer")
    (work / "b/b.ipynb").unlink()  # starting notebook b over
    release_files(course, {"a/a.ipynb": "new release a", "c/data.csv": "1,2"})
    assert working_copy(course, work) == [Path("b/b.ipynb"), Path("c/data.csv")]
    assert (work / "a/a.ipynb").read_text() == "my answer"
    assert (work / "b/b.ipynb").read_text() == "release b"
    assert not (work / "a/.ipynb_checkpoints").exists()
    assert working_copy(course, work) == []


def test_lab_copy_command_prints_each_new_file(
    course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release_files(course, {"a/a.ipynb": "{}"})
    work = tmp_path / "work"
    assert main(["--course", str(course.root), "lab-copy", "--to", str(work)]) == 0
    assert capsys.readouterr().out == "lab-copy: new work/a/a.ipynb\n"
    assert main(["--course", str(course.root), "lab-copy", "--to", str(work)]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.slow
def test_make_lab_serves_a_working_copy_with_nbgrader(tmp_path: Path) -> None:
    work = tmp_path / "work"
    mine = work / "02_gradient_descent" / "02_gradient_descent.ipynb"
    mine.parent.mkdir(parents=True)
    mine.write_text("my answers")
    port = free_port()
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --IdentityProvider.token={TOKEN}"
    command = ["make", "--no-print-directory", "lab", f"PORT={port}", f"LAB_ARGS={args}"]
    command.append(f"WORK={work}")
    base = f"http://127.0.0.1:{port}"
    ready = f"{base}/lab?token={TOKEN}"
    with serving(command, cwd=ROOT, log=tmp_path / "lab.log", ready_url=ready) as (status, page):
        assert status == 200
        assert b"JupyterLab" in page
        _, contents = get(f"{base}/api/contents?token={TOKEN}")
        served = {item["name"] for item in json.loads(contents)["content"]}
        _, extensions = get(f"{base}/lab/api/extensions?token={TOKEN}")
        enabled = {ext["name"] for ext in json.loads(extensions) if ext["enabled"]}
        assert {"jupyter-nbgrader", "jupyter-widgets-jupyterlab-manager"} <= enabled
    lectures = Course(ROOT).files(ROOT / "lectures")
    # The server's root is the working copy (the contents API does not list hidden files).
    assert served == {p.parts[0] for p in lectures if not p.name.startswith(".")}
    assert mine.read_text() == "my answers"  # a notebook already there is never overwritten
    for relative, path in lectures.items():
        if work / relative != mine:
            assert (work / relative).read_bytes() == path.read_bytes()
