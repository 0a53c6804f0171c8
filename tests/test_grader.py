"""The grader's parts, one at a time (the whole loop is in test_grader_e2e.py)."""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import nbgrader.api
import PIL.Image
import psutil
import pytest
import sqlalchemy
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader import preprocessors as nbgrader_preprocessors
from nbgrader import utils
from nbgrader.api import Gradebook
from threadpoolctl import threadpool_info

import grader.__main__ as grader_main
import grader.autograde as grader_autograde
from grader import demos, execute, kernel_setup, phases, preload, preprocessors, process, worker
from grader.__main__ import _size, main
from grader.autograde import Outcome
from grader.cells import CellKind, cells_of, grade_id_of
from grader.check import AssignmentCheck, copy_course, delimited_regions, leaks, stale_release
from grader.collect import DEFAULT_REGEXP, collect, named_regexp
from grader.course import (
    CONFIG_FILE,
    Course,
    GraderError,
    alembic_head,
    check_result,
    select,
    shared_gradebook_engines,
    with_driver,
)
from grader.execute import CourseError, TrustedExecute, failure_output
from grader.export import plot_histograms
from grader.failures import failure_notebook
from grader.limits import Limits
from grader.packets import GradingResult, GradingTask
from grader.preprocessors import (
    TRUNCATED,
    CheckCellMetadata,
    LimitOutputSize,
    MetadataValidator,
    NormalizeMetadata,
    RestoreDeletedCells,
    SafeFeedback,
)
from grader.process import GradingProcesses, kill_process_tree, remove_abandoned_folders
from grader.release import release
from grader.scores import CellScore
from grader.submissions import (
    GradedTest,
    Submission,
    find_submissions,
    install,
    is_graded,
    not_graded,
    require_graded,
    staging_folder,
    submission_digest,
    write_record,
)
from grader.tasks import TaskMaker
from grader.trusted.notebook import plan, read_source
from grader.trusted.proxy import SandboxError
from grader.trusted.recheck import TestVerdict
from grader.worker import explain_failure, submission_problem, unreadable_reason

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_derivatives"


def nbgrader_cell(source: str, grade_id: str, *, solution: bool = False, points: float = 0):
    """A code cell with nbgrader metadata: an answer cell, or a test cell worth ``points``."""
    meta = {"grade_id": grade_id, "solution": solution, "grade": points > 0, "locked": not solution}
    if points:
        meta["points"] = points
    return new_code_cell(source, metadata={"nbgrader": {**meta, "schema_version": 3}})


def write_notebook(path: Path, notebook: nbformat.NotebookNode) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


# -- course ----------------------------------------------------------------------------------


def test_a_postgresql_url_without_a_driver_gets_psycopg2(course: Course) -> None:
    bare = "postgresql://grader:secret@db.example:5433/chainrule"
    named = "postgresql+psycopg2://grader:secret@db.example:5433/chainrule"
    assert with_driver(bare) == named and with_driver(named) == named
    assert with_driver("postgresql+psycopg://x@h/db") == "postgresql+psycopg://x@h/db"
    assert Course(course.root, db_url=bare).resolved_db_url == named


def test_course_needs_its_configuration(tmp_path: Path) -> None:
    with pytest.raises(GraderError, match="--course"):
        Course(tmp_path)


def test_course_root_and_gradebook_follow_the_copy(course: Course) -> None:
    coursedir = course.coursedir()
    assert Path(coursedir.root) == course.root
    assert coursedir.db_url == f"sqlite:///{course.root / 'gradebook.db'}"
    assert course.directory("release") == course.root / "lectures"
    assert Course(course.root, db_url="sqlite:////elsewhere.db").resolved_db_url == (
        "sqlite:////elsewhere.db"
    )
    with pytest.raises(ValueError, match="step"):
        course.directory("nowhere")


def test_course_files_are_those_nbgrader_finds(course: Course, tmp_path: Path) -> None:
    folder = tmp_path / "a"
    kept = ["x.py", "data/.hidden", "data/.hidden.db", "data/deep/y.csv", "nested/feedbacks.txt"]
    left_out = [
        "b.pyc",
        "__pycache__/x.cpython-311.pyc",
        ".ipynb_checkpoints/n-checkpoint.ipynb",
        "data/g.db",
        "data/deep/__pycache__/y.pyc",
        "feedback/f.html",
        "feedback/inner/f.html",
        "nested/.chainrule-graded.json",
    ]
    for name in kept + left_out:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)
    assert sorted(course.files(folder)) == sorted(Path(n) for n in kept)
    found = utils.find_all_files(str(folder), course.coursedir().ignore)  # nbgrader's own
    assert sorted(course.files(folder).values()) == sorted(Path(p) for p in found)
    assert course.files(folder / "__pycache__") == {}  # an ignored folder, as nbgrader has it


def test_select_names_unknown_items() -> None:
    assert select(None, ["a", "b"]) == ["a", "b"]
    assert select(["b", "b"], ["a", "b"]) == ["b"]
    with pytest.raises(GraderError, match=r"unknown student\(s\) zed; available: a, b"):
        select(["zed"], ["a", "b"], what="student")


def test_check_result_turns_a_failed_api_call_into_an_error() -> None:
    assert check_result({"success": True, "log": "done"}, "x") == "done"
    failure = {"success": False, "log": "[ERROR] bad cell", "error": "Traceback\nValueError: no"}
    with pytest.raises(GraderError, match=r"(?s)release 01 failed:.*bad cell.*ValueError: no"):
        check_result(failure, "release 01")


# -- worker and failures -------------------------------------------------------------------


def test_unreadable_notebooks_are_explained(tmp_path: Path) -> None:
    (tmp_path / "text.ipynb").write_text("not json at all")
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    good = write_notebook(tmp_path / "good.ipynb", new_notebook(cells=[new_code_cell("1")]))
    reason = unreadable_reason(tmp_path / "text.ipynb") or ""
    assert reason.startswith("text.ipynb is not a valid") and "JSON" in reason
    assert "list.ipynb is not a valid" in (unreadable_reason(tmp_path / "list.ipynb") or "")
    assert unreadable_reason(good) is None


def test_failure_reasons_read_from_nbgrader_logs() -> None:
    restore = 'File ".../nbgrader/preprocessors/overwritecells.py", line 80\nKeyError: "x"'
    assert "could not restore the graded cells" in explain_failure(restore)
    other = "[ERROR] Traceback (most recent call last):\n  File x\nKeyError: 'points'\n"
    assert explain_failure(other) == "nbgrader could not grade the notebook (KeyError: 'points')."


def test_failure_notebook_tells_the_student_why() -> None:
    notebook = failure_notebook("The kernel stopped.")
    (cell,) = notebook.cells
    assert cell.cell_type == "markdown"
    assert "score 0" in cell.source and "The kernel stopped." in cell.source


def test_kill_process_tree_reaches_a_grandchild_in_its_own_session() -> None:
    # The child starts a grandchild in a new session, as jupyter_client starts a kernel.
    script = textwrap.dedent(
        """
        import subprocess, sys, time
        grandchild = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True
        )
        print(grandchild.pid, flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    grandchild = psutil.Process(int(child.stdout.readline()))
    kill_process_tree(child.pid)
    child.wait(timeout=10)
    gone, alive = psutil.wait_procs([grandchild], timeout=10)
    assert alive == [] and gone == [grandchild]
    kill_process_tree(child.pid)  # already gone: nothing to do, no error


@pytest.mark.slow
def test_a_grading_process_killed_while_its_sandbox_runs_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (``stop``) kills a grading process whose sandbox is running the student's notebook:
    the process's folder is removed, and with it its sandbox's folder and the notebook in it,
    which the killed process could not remove itself."""
    (tmp_path / "course").mkdir()
    course = copy_course(Course(REPO), tmp_path / "course")
    release(course, [ASSIGNMENT])
    (source,) = course.notebook_paths("source", ASSIGNMENT)
    notebook = nbformat.read(source, as_version=4)
    cells_of(notebook.cells, CellKind.ANSWER)[0].source = "import time\ntime.sleep(600)"
    write_notebook(course.directory("submitted") / "ann" / ASSIGNMENT / source.name, notebook)
    scratch = tmp_path / "tmp"  # this process's temporary files, and its grading processes' folders
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    _, task = TaskMaker(course, Limits(), [ASSIGNMENT]).task(Submission("ann", ASSIGNMENT))
    processes = GradingProcesses(course, [ASSIGNMENT])
    in_sandbox = f"chainrule-grade-*/tmp/chainrule-sandbox-*/work/{source.name}"
    with ThreadPoolExecutor(1) as pool:
        grading = pool.submit(processes.grade, task)
        waited = time.monotonic()
        while not any(scratch.glob(in_sandbox)) and not grading.done():
            assert time.monotonic() - waited < 300, "the sandbox never started"
            time.sleep(0.05)
        assert any(scratch.glob(in_sandbox)), "the sandbox's folder is not in the process's folder"
        processes.stop()
        result = GradingResult.from_bytes(grading.result())
    assert result.error and "ended without a result" in result.error
    assert list(scratch.glob("chainrule-*")) == []  # (pymp-*: this process's multiprocessing)


#: A coordinator's thread, in a process of its own, that has made a grading process's folder.
MAKES_A_FOLDER = """
import sys, tempfile, time
from grader import process
tempfile.tempdir = sys.argv[1]
with process._grading_folder() as folder:
    print(folder, flush=True)
    time.sleep(600)
"""


def test_the_folders_of_a_killed_run_are_removed_by_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed at once (SIGKILL) cannot remove its grading folders: the next run removes
    them, and leaves alone a folder in use (its lock held) or being made (no lock yet)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    run = subprocess.Popen(
        [sys.executable, "-c", MAKES_A_FOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        abandoned = Path(run.stdout.readline().strip())
        assert abandoned.parent == tmp_path and abandoned.is_dir()
        assert remove_abandoned_folders() == []  # in use
    finally:
        run.kill()
        run.wait()
    being_made = tmp_path / "chainrule-grade-being-made"
    being_made.mkdir()
    with process._grading_folder() as in_use:
        assert remove_abandoned_folders() == [abandoned]
        assert not abandoned.exists() and in_use.is_dir() and being_made.is_dir()
    assert not in_use.exists()


def test_submission_problems_name_the_expected_notebook(course: Course) -> None:
    write_notebook(course.root / "solutions/a/a.ipynb", new_notebook())
    folder = course.directory("submitted") / "ann" / "a"
    write_notebook(folder / "A (1).ipynb", new_notebook())
    problem = submission_problem(course, Submission("ann", "a")) or ""
    assert "no notebook named a.ipynb" in problem and "found: A (1).ipynb" in problem
    (folder / "a.ipynb").write_text("")
    assert "a.ipynb is not a valid" in (submission_problem(course, Submission("ann", "a")) or "")
    write_notebook(folder / "a.ipynb", new_notebook())
    assert submission_problem(course, Submission("ann", "a")) is None


def test_a_submission_is_graded_while_its_record_matches_its_files(course: Course) -> None:
    ann, bob = Submission("ann", "a"), Submission("bob", "a")
    for submission in (ann, bob):
        folder = course.directory("submitted") / submission.student / "a"
        write_notebook(folder / "a.ipynb", new_notebook())
    assert not_graded(course, [ann, bob]) == [ann, bob]
    with pytest.raises(GraderError, match=r"2 submission\(s\) not graded.*ann/a, bob/a.*--resume"):
        require_graded(course)
    staged = staging_folder(course, ann)
    (staged / "a.ipynb").write_text("graded")
    digest = submission_digest(course.directory("submitted") / "ann" / "a")
    write_record(staged, digest, [GradedTest("a", "test_a", 1.0, 1.0, "")])
    install(staged, course, ann)
    assert is_graded(course, ann) and not_graded(course, [ann, bob]) == [bob]
    require_graded(course, ["b"])  # no submission of b
    require_graded(course, students=["ann"])  # feedback --student ann: bob's does not matter
    with pytest.raises(GraderError, match=r"1 submission\(s\) not graded.*bob/a"):
        require_graded(course, ["a"], ["ann", "bob"])
    with pytest.raises(GraderError, match=r"unknown student\(s\) cy; available: ann, bob"):
        require_graded(course, students=["cy"])
    # Grading again replaces the folder whole; a changed submission needs grading again.
    staged = staging_folder(course, ann)
    write_record(staged, digest, [])
    install(staged, course, ann)
    autograded = course.directory("autograded") / "ann"
    assert [p.name for p in autograded.iterdir()] == ["a"]
    assert sorted(p.name for p in (autograded / "a").iterdir()) == [".chainrule-graded.json"]
    (course.directory("submitted") / "ann" / "a" / "extra.txt").write_text("changed")
    assert not is_graded(course, ann)


def test_limits_and_sizes_are_checked() -> None:
    assert _size("4G") == 4 * 1024**3 and _size("512MiB") == 512 * 1024**2
    assert _size("1.5g") == 3 * 1024**3 // 2 and _size("1000") == 1000
    with pytest.raises(Exception, match="expected a size"):
        _size("lots")
    with pytest.raises(ValueError, match="memory must be at least 256 MiB"):
        Limits(memory=1024)
    with pytest.raises(ValueError, match="cell_timeout"):
        Limits(cell_timeout=0)
    with pytest.raises(ValueError, match="timeout must be a positive"):
        Limits(timeout=0)
    with pytest.raises(ValueError, match="output"):
        Limits(output=0)
    assert Limits().cell_seconds == 60 and Limits(cell_timeout=5).cell_seconds == 5


def test_find_submissions_filters_by_assignment_and_student(course: Course) -> None:
    for student, assignment in [("ann", "01_a"), ("ann", "02_b"), ("bob", "01_a")]:
        (course.directory("submitted") / student / assignment).mkdir(parents=True)
    assert find_submissions(course) == [
        Submission("ann", "01_a"),
        Submission("ann", "02_b"),
        Submission("bob", "01_a"),
    ]
    assert find_submissions(course, ["01_a"], ["bob"]) == [Submission("bob", "01_a")]
    with pytest.raises(GraderError, match="unknown student"):
        find_submissions(course, students=["eve"])


# -- nbgrader pipeline additions -------------------------------------------------------------


def test_trusted_execute_writes_outputs_and_verdicts_as_nbgrader_scores_them() -> None:
    """A passed test has no output (full points), a failed one one error (0 points); whatever
    the submission had under a test cell is gone; student cells get their sandbox outputs."""
    forged = new_output("stream", name="stdout", text="all tests passed\n")
    answer = nbgrader_cell("x = 1", "x", solution=True)
    answer.outputs = [forged]
    passed, failed = nbgrader_cell("x", "test_a", points=2), nbgrader_cell("x", "test_b", points=2)
    passed.outputs = failed.outputs = [forged]
    notebook = new_notebook(cells=[answer, passed, failed])
    printed = new_output("stream", name="stdout", text="hello\n")
    verdicts = {
        "test_a": TestVerdict(2.0, 2.0, True, ""),
        "test_b": TestVerdict(0.0, 2.0, False, "your f calls the reference"),
    }
    TrustedExecute._write(notebook, {0: [printed]}, verdicts)
    assert notebook.cells[0].outputs == [printed]
    assert notebook.cells[1].outputs == []
    (error,) = notebook.cells[2].outputs
    assert (error.output_type, error.evalue) == ("error", "your f calls the reference")
    assert [utils.determine_grade(cell)[0] for cell in notebook.cells[1:]] == [2.0, 0.0]
    with pytest.raises(CourseError, match="release the assignment again"):
        TrustedExecute._write(notebook, {}, {"test_a": verdicts["test_a"]})


def test_feedback_hides_hidden_tests_and_keeps_outputs() -> None:
    test = nbgrader_cell(
        "assert x\n### BEGIN HIDDEN TESTS\nassert secret_check(x)\n### END HIDDEN TESTS",
        "test_x",
        points=1,
    )
    test.outputs = [failure_output("off by one\n[mistake: off-by-one]")]
    shown = new_code_cell("print(x)")
    shown.outputs = [new_output("stream", name="stdout", text="3\n")]
    notebook = new_notebook(cells=[shown, test])
    SafeFeedback().preprocess(notebook, {})
    assert "secret_check" not in json.dumps(notebook)
    (failed,) = notebook.cells[1].outputs
    assert failed.evalue == "off by one" and "mistake" not in "".join(failed.traceback)
    assert notebook.cells[0].outputs[0].text == "3\n"


def test_release_metadata_is_reduced_to_what_students_need() -> None:
    cell = nbgrader_cell("x = 1", "x", solution=True)
    cell.metadata.update({"execution": {"iopub.status.busy": "2024-01-01"}, "tags": ["t"]})
    notebook = new_notebook(
        cells=[cell, new_markdown_cell("text")],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python", "version": "3.11.7"},
            "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
        },
    )
    notebook, _ = NormalizeMetadata().preprocess(notebook, {})
    assert set(notebook.metadata) == {"kernelspec", "language_info"}
    assert notebook.metadata["language_info"] == {"name": "python"}
    assert set(notebook.cells[0].metadata) == {"nbgrader", "tags"}


def test_a_phase_leaves_out_the_phases_timed_inside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phases, "SECONDS", Counter())
    with phases.timed("nbgrader", "tests"):
        phases.add("tests", 3600.0)  # an inner phase, as TrustedExecute inside nbgrader
    assert phases.SECONDS["tests"] == 3600.0
    assert -3600.0 < phases.SECONDS["nbgrader"] < -3599.0  # the block itself took no hour
    with pytest.raises(ValueError, match="phase must be one of"):
        phases.add("coffee", 1.0)


def test_validate_kernel_prints_warnings_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    saved = warnings.showwarning
    try:
        kernel_setup.warnings_to_stdout()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = kernel_setup._show_warning_on_stdout
            warnings.warn("careful", RuntimeWarning, stacklevel=1)
    finally:
        warnings.showwarning = saved
    captured = capsys.readouterr()
    assert "RuntimeWarning: careful" in captured.out and captured.err == ""


# -- check ---------------------------------------------------------------------------------


def test_delimited_regions() -> None:
    lines = ["a", "# BEGIN X", "b", "c", "# END X", "d", "# BEGIN X", "# END X"]
    assert delimited_regions(lines, "BEGIN X", "END X") == [["b", "c"], []]


def test_leaks_finds_answers_hidden_tests_and_delimiters(course: Course) -> None:
    answer = nbgrader_cell(
        "def f(x):\n    ### BEGIN SOLUTION\n    return x * 41 + 1\n    ### END SOLUTION",
        "f",
        solution=True,
    )
    test = nbgrader_cell(
        "assert f(1) == 42\n### BEGIN HIDDEN TESTS\nassert f(2) == 83\n### END HIDDEN TESTS",
        "test_f",
        points=1,
    )
    write_notebook(course.root / "solutions/a/a.ipynb", new_notebook(cells=[answer, test]))
    release = course.root / "lectures/a/a.ipynb"
    clean = new_notebook(cells=[new_code_cell("def f(x):\n    raise NotImplementedError()")])
    write_notebook(release, clean)
    assert leaks(course, "a") == []
    leaked = [new_code_cell("def f(x):\n    return x * 41 + 1"), new_code_cell("assert f(2) == 83")]
    write_notebook(release, new_notebook(cells=[*leaked, new_code_cell("# END HIDDEN TESTS")]))
    found = leaks(course, "a")
    assert len(found) == 3
    assert any("answer" in f for f in found) and any("hidden test" in f for f in found)
    assert any("delimiter" in f for f in found)


def test_stale_release_lists_missing_extra_and_changed_files(course: Course, tmp_path: Path):
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(course.root / CONFIG_FILE, fresh / CONFIG_FILE)
    for root, files in (
        (course.root, {"same": "1", "changed": "2", "extra": "3"}),
        (fresh, {"same": "1", "changed": "4", "missing": "5"}),
    ):
        folder = root / "lectures" / "a"
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text)
    problems = stale_release(course, Course(fresh), "a")
    assert [p.split(" (run")[0] for p in problems] == [
        "lectures/a/missing is missing",
        "lectures/a/extra is not made by the release",
        "lectures/a/changed differs from a fresh release",
    ]


def score(student: str, cell: str, value: float, top: float = 2.0) -> CellScore:
    return CellScore("a", student, "a", cell, value, top, autograded=True)


def test_check_report_flags_tests_that_do_not_separate_solution_from_blank() -> None:
    good = AssignmentCheck("a")
    good.add_test_scores([score("solution", "t1", 2), score("blank", "t1", 0)], {})
    assert good.ok and str(good).startswith("a: ok (solution 2/2, unanswered release 0/2")
    bad = AssignmentCheck("a")
    why = {
        ("solution", "a", "t1"): GradedTest("a", "t1", 0, 2, "your f calls g"),
        ("blank", "a", "t1"): GradedTest("a", "t1", 2, 2, ""),
    }
    bad.add_test_scores([score("solution", "t1", 0), score("blank", "t1", 2)], why)
    assert not bad.ok
    assert bad.problems == [
        "a/t1 gives the solution 0/2 (your f calls g)",
        "a/t1 gives the unanswered release 2/2",
    ]
    empty = AssignmentCheck("a")
    empty.add_test_scores([], {})
    assert empty.problems == ["no autograded test cell"]


# -- collect -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "student"),
    [
        ("jdoe_12345_67890_01_derivatives.ipynb", "jdoe"),
        ("jdoe_01_derivatives.ipynb", "jdoe"),
        ("export/Jane Doe_4711_assignsubmission_file_01_derivatives.ipynb", "Jane Doe"),
        ("jane_doe/01_derivatives.ipynb", "jane_doe"),
        ("class.zip/jdoe/01_derivatives.ipynb", "jdoe"),
        ("01_derivatives.ipynb", None),  # whose?
        ("jdoe_02_gradient_descent.ipynb", None),  # another assignment
        ("jdoe_01_derivatives (1).ipynb", None),
    ],
)
def test_default_regexp_finds_the_student(relative: str, student: str | None) -> None:
    extracted = Path("/tmp/grader-collect-x/01_derivatives/extracted")
    pattern = named_regexp(DEFAULT_REGEXP, extracted, ASSIGNMENT)
    match = re.match(pattern, f"{extracted}/{relative}")
    assert (match["student_id"] if match else None) == student
    if match:
        assert match["file_id"] == f"{ASSIGNMENT}.ipynb"


@pytest.mark.slow
def test_collect_files_folders_and_zips_into_submitted(course: Course, tmp_path: Path) -> None:
    release = write_notebook(
        course.root / "lectures" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", new_notebook()
    )
    download = tmp_path / "download"
    (download / "amy").mkdir(parents=True)
    shutil.copy(release, download / "bo_123_01_derivatives.ipynb")
    shutil.copy(release, download / "amy" / "01_derivatives.ipynb")
    (download / "notes.txt").write_text("not a notebook")
    assert collect(course, download) == {ASSIGNMENT: ["amy", "bo"]}
    for student in ("amy", "bo"):
        path = course.directory("submitted") / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert path.read_bytes() == release.read_bytes()
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(release, "cy_999_01_derivatives.ipynb")
        zipped.write(release, "bo_123_01_derivatives.ipynb")
    with pytest.raises(GraderError, match="--force"):
        collect(course, archive)
    assert collect(course, archive, force=True) == {ASSIGNMENT: ["bo", "cy"]}
    with pytest.raises(GraderError, match="PATH must be a folder or a zip"):
        collect(course, download / "notes.txt")


# -- export and command line ---------------------------------------------------------------


def test_histogram_png_has_one_panel_per_graded_cell(course: Course, tmp_path: Path) -> None:
    scores = [score(s, c, v) for s, c, v in [("x", "t1", 2), ("y", "t1", 0), ("x", "t2", 1)]]
    plot_histograms(course, scores, tmp_path / "h.png")
    with PIL.Image.open(tmp_path / "h.png") as picture:  # 320 x 260 pixels a panel
        assert (picture.format, picture.size) == ("PNG", (640, 260))  # 2 panels, one row
    five = [score("x", f"t{n}", 1) for n in range(5)]
    plot_histograms(course, five, tmp_path / "h5.png")
    with PIL.Image.open(tmp_path / "h5.png") as picture:
        assert picture.size == (1280, 520)  # 4 columns at most
    with pytest.raises(GraderError, match="nothing to plot"):
        plot_histograms(course, [], tmp_path / "empty.png")


def test_command_line_errors_name_the_problem(
    course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["--course", str(course.root), "autograde", "--jobs", "0"])
    assert "positive integer" in capsys.readouterr().err
    assert main(["--course", str(tmp_path / "nowhere"), "release"]) == 2
    assert "nbgrader_config.py" in capsys.readouterr().err
    assert main(["--course", str(course.root), "autograde"]) == 2
    assert "no submission to grade" in capsys.readouterr().err


@pytest.mark.slow
def test_a_sandbox_that_cannot_start_leaves_the_submission_not_graded(
    course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grading machine's fault: no score, no record, the submission untouched."""
    write_notebook(course.root / "solutions/a/a.ipynb", new_notebook())
    path = write_notebook(course.directory("submitted") / "ann/a/a.ipynb", new_notebook())
    before = path.read_bytes()

    def broken(*args: object, **kwargs: object) -> None:
        raise SandboxError("the sandbox could not start (exit code 1)")

    monkeypatch.setattr(execute, "run_submission", broken)
    workspace = course.root.parent / "workspace"
    workspace.mkdir()
    graded = Course(course.root, db_url=f"sqlite:///{course.root.parent / 'unused.db'}")
    release(graded, ["a"])
    _, task = TaskMaker(graded, Limits(), ["a"]).task(Submission("ann", "a"))
    result = worker.grade_task(graded, GradingTask.from_bytes(task), workspace)
    assert result.failure is None
    assert result.error.startswith("the sandbox could not start: ")
    assert "the sandbox could not start (exit code 1)" in result.error
    assert not is_graded(course, Submission("ann", "a")) and path.read_bytes() == before


def test_the_summary_reports_what_was_not_graded(
    course: Course, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for student in ("ann", "bob"):
        write_notebook(course.directory("submitted") / student / "a/a.ipynb", new_notebook())
    outcomes = [
        Outcome(Submission("ann", "a"), 1.0, failure="03.ipynb is not a valid notebook"),
        Outcome(Submission("bob", "a"), 2.0, error="the trusted re-check could not start"),
    ]
    monkeypatch.setattr(grader_main, "autograde", lambda *args, **kwargs: outcomes)
    assert main(["--course", str(course.root), "autograde", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "failed (score 0): ann/a: 03.ipynb is not a valid notebook" in out
    assert "NOT GRADED (grading machine error): bob/a: the trusted re-check could not" in out
    assert "1 failed (score 0), 1 not graded" in out and "--resume" in out


def test_long_outputs_are_cut_and_keep_their_type() -> None:
    cell = new_code_cell("print(x)")
    cell.outputs = [
        new_output("stream", name="stdout", text="x" * 80),
        new_output("error", ename="ValueError", evalue="y" * 80, traceback=["z" * 80]),
        new_output("execute_result", data={"text/plain": "1.0", "image/png": "A" * 80}),
    ]
    LimitOutputSize(max_chars=100).preprocess_cell(cell, {}, 0)
    stream, error, result = cell.outputs
    assert stream.text == "x" * 80  # within the budget
    assert error.output_type == "error" and error.evalue == "y" * 20 + TRUNCATED
    assert result.output_type == "execute_result" and result.data == {"text/plain": TRUNCATED}


def test_deleted_cells_come_back_in_their_place_in_release_order(course: Course) -> None:
    intro = new_markdown_cell(
        "# Intro", metadata={"nbgrader": {"grade_id": "intro", "locked": True}}
    )
    setup = nbgrader_cell("import numpy as np", "setup")
    stub = "def a():\n    raise NotImplementedError()"
    released = new_notebook(
        cells=[
            intro,
            setup,
            nbgrader_cell(stub, "a", solution=True),
            nbgrader_cell("assert a() == 1", "test_a", points=1),
            new_code_cell("print('a demo')"),
            nbgrader_cell("def b():\n    raise NotImplementedError()", "b", solution=True),
            nbgrader_cell("assert b() == 2", "test_b", points=1),
        ]
    )
    write_notebook(course.directory("release") / "a" / "a.ipynb", released)
    # The student deleted the intro, answer a with its test, and the test of b; added a cell.
    submitted = new_notebook(cells=[released.cells[i] for i in (1, 4, 5)])
    submitted.cells[2].source = "def b():\n    return 2"
    submitted.cells.append(new_code_cell("b()"))
    resources = {"nbgrader": {"assignment": "a", "notebook": "a", "student": "ann"}}
    step = RestoreDeletedCells(config=course.config())
    restored, _ = step.preprocess(submitted, resources)
    assert [grade_id_of(cell) for cell in restored.cells] == [
        "intro", "setup", "a", "test_a", None, "b", "test_b", None
    ]  # fmt: skip
    assert restored.cells[2].source == stub and restored.cells[5].source == "def b():\n    return 2"
    assert restored.cells[7].source == "b()"
    # Without a released notebook nothing changes (nbgrader's own add_missing_cells is left).
    shutil.rmtree(course.directory("release"))
    untouched, _ = step.preprocess(new_notebook(cells=[setup]), resources)
    assert [grade_id_of(cell) for cell in untouched.cells] == ["setup"]


#: nbgrader cell metadata of a test cell, each made invalid in one way: None drops the key.
CORRUPT_METADATA = {
    "schema too old": {"schema_version": 2},
    "schema too new": {"schema_version": 4},
    "schema version not a number": {"schema_version": "3"},
    "no schema version": {"schema_version": None},
    "flag not a boolean": {"grade": "yes"},
    "no solution flag": {"solution": None},
    "negative points": {"points": -1},
    "no points": {"points": None},
    "grade id with a space": {"grade_id": "test a"},
    "empty grade id": {"grade_id": ""},
    "no grade id": {"grade_id": None},
    "unknown key": {"colour": "red"},
    "several problems": {"grade": "yes", "points": -1, "solution": None},
}


def _without_frames(message: str) -> str:
    """A logged message, a traceback's frames left out (the code that raised differs)."""
    lines = message.splitlines()
    if lines and lines[0].startswith("Traceback"):
        lines = lines[next(i for i, line in enumerate(lines) if i and line[:1] != " ") :]
    return "\n".join(lines)


def _check_outcome(
    step: nbgrader_preprocessors.CheckCellMetadata,
    notebook: nbformat.NotebookNode,
    caplog: pytest.LogCaptureFixture,
) -> tuple[str, str, list[str]]:
    """What ``step`` raised on ``notebook`` (type and message) and what it logged."""
    caplog.clear()
    raised = ("", "")
    try:
        step.preprocess(copy.deepcopy(notebook), {})
    except Exception as error:
        raised = (type(error).__name__, str(error))
    return *raised, [_without_frames(record.getMessage()) for record in caplog.records]


@pytest.mark.parametrize("change", list(CORRUPT_METADATA.values()), ids=list(CORRUPT_METADATA))
def test_check_cell_metadata_refuses_what_nbgrader_refuses_as_nbgrader_does(
    change: dict, caplog: pytest.LogCaptureFixture
) -> None:
    test = nbgrader_cell("assert a() == 1", "test_a", points=1)
    for key, value in change.items():
        test.metadata.nbgrader.pop(key, None)
        if value is not None:
            test.metadata.nbgrader[key] = value
    answer = nbgrader_cell("def a():\n    return 1", "a", solution=True)
    log = logging.getLogger("check-cell-metadata")
    steps = [cls(log=log) for cls in (nbgrader_preprocessors.CheckCellMetadata, CheckCellMetadata)]
    for notebook in (new_notebook(cells=[answer]), new_notebook(cells=[answer, test])):
        theirs, ours = (_check_outcome(step, notebook, caplog) for step in steps)
        assert ours == theirs
    assert theirs[0], "nbgrader accepted the corrupt metadata: the case tests nothing"


def test_check_cell_metadata_passes_and_refuses_notebooks_as_nbgrader_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    solution = nbformat.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    duplicated = copy.deepcopy(solution)
    tests = [cell for cell in duplicated.cells if utils.is_grade(cell)]
    tests[1].metadata.nbgrader.grade_id = tests[0].metadata.nbgrader.grade_id
    not_a_dict = new_notebook(cells=[new_code_cell("x = 1", metadata={"nbgrader": ["grade"]})])
    flags = {"grade": True, "solution": False, "locked": False, "points": 1, "schema_version": 3}
    written = new_markdown_cell("Why?", metadata={"nbgrader": {**flags, "grade_id": "why"}})
    log = logging.getLogger("check-cell-metadata")
    steps = [cls(log=log) for cls in (nbgrader_preprocessors.CheckCellMetadata, CheckCellMetadata)]
    outcomes = {}
    for name, notebook in {
        "solution": solution,
        "duplicated grade id": duplicated,
        "metadata not a dict": not_a_dict,
        "markdown grade cell not a solution": new_notebook(cells=[written]),
    }.items():
        theirs, ours = (_check_outcome(step, notebook, caplog) for step in steps)
        assert ours == theirs, name
        outcomes[name] = ours[0]
    assert outcomes == {
        "solution": "",
        "duplicated grade id": "ValidationError",
        "metadata not a dict": "AttributeError",
        "markdown grade cell not a solution": "ValidationError",
    }


def test_autograde_checks_metadata_with_the_graders_step(course: Course) -> None:
    config = course.config()
    for steps in (
        config.Autograde.sanitize_preprocessors,
        config.Autograde.autograde_preprocessors,
    ):
        assert "grader.preprocessors.CheckCellMetadata" in steps
        assert nbgrader_preprocessors.CheckCellMetadata not in steps


def test_the_forkserver_makes_the_validators_grading_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nbformat.validator, "validators", {})
    monkeypatch.setattr(preprocessors, "_SCHEMA_VALIDATORS", {})
    preload.warm_up()
    made = set(nbformat.validator.validators)
    released = nbformat.read(REPO / "lectures" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    for relaxed in (False, True):  # nbformat's reads and writes; nbconvert after each step
        nbformat.validate(released, relax_add_props=relaxed)
    assert made and set(nbformat.validator.validators) == made
    version = MetadataValidator.schema_version
    assert MetadataValidator().schema_validator() is preprocessors._SCHEMA_VALIDATORS[version]


def test_a_plan_after_the_preload_analyses_no_cell_of_the_instructor() -> None:
    """Once the source and release notebooks' cells are analysed, planning the solution and the
    blank release analyses nothing more: every cell they run has the instructor's text."""
    paths = [REPO / step / ASSIGNMENT / f"{ASSIGNMENT}.ipynb" for step in ("solutions", "lectures")]
    demos.binds.cache_clear()
    demos.reads.cache_clear()
    preload.analyse_cells([*paths, REPO / "nowhere.ipynb"])  # a missing notebook is skipped
    analysed = demos.binds.cache_info().misses + demos.reads.cache_info().misses
    assert analysed > 0
    source = read_source(paths[0])
    for path in paths:
        assert plan(source, nbformat.read(path, 4).cells)
    assert demos.binds.cache_info().misses + demos.reads.cache_info().misses == analysed


PROBE = """
import os
from grader import demos
from grader.process import NOTEBOOKS_ENV

def report(conn):
    conn.send((demos.reads.cache_info().currsize, NOTEBOOKS_ENV in os.environ))
"""
FORK = """
import os, sys
from pathlib import Path
import probe
from grader.course import Course
from grader.process import NOTEBOOKS_ENV, GradingProcesses

processes = GradingProcesses(Course(Path(sys.argv[1])), [sys.argv[2]])
processes.warm_up()
assert NOTEBOOKS_ENV not in os.environ
receiver, sender = processes.context.Pipe(duplex=False)
child = processes.context.Process(target=probe.report, args=(sender,))
child.start()
print(receiver.recv())
child.join()
"""


@pytest.mark.slow
def test_grading_processes_fork_with_the_cells_analysed_and_no_course_path(
    tmp_path: Path,
) -> None:
    """The forkserver learns the notebooks from the environment while it starts; what it forks
    has their cells analysed, and neither it nor the coordinator keeps the variable."""
    (tmp_path / "probe.py").write_text(PROBE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    run = subprocess.run(
        [sys.executable, "-c", FORK, str(REPO), ASSIGNMENT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    cells = {
        c.source
        for step in ("solutions", "lectures")
        for c in nbformat.read(REPO / step / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4).cells
        if c.cell_type == "code"
    }
    assert run.stdout.strip() == f"({len(cells)}, False)"


def test_shared_engines_serve_every_gradebook_of_a_database_until_the_block_ends(
    tmp_path: Path,
) -> None:
    """In shared_gradebook_engines (a grading process's and the coordinator's), every nbgrader
    Gradebook of a database uses the same engine, also nested and after another one closed;
    after the block, nbgrader makes its own engines again."""
    own = nbgrader.api.create_engine
    with sqlite3.connect(tmp_path / "a.db") as made:  # a versioned database: no alembic run
        made.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with shared_gradebook_engines():
        with Gradebook(url) as outer:
            with Gradebook(url) as inner:
                assert inner.engine is outer.engine
                inner.add_student("ann")
            assert [s.id for s in outer.students] == ["ann"]  # the inner one disposed the engine
            outer.add_student("bo")
            engine = outer.engine
        with Gradebook(url) as again:
            assert again.engine is engine
            assert sorted(s.id for s in again.students) == ["ann", "bo"]
            again.remove_student("bo")
        shutil.copy(tmp_path / "a.db", tmp_path / "b.db")
        with Gradebook(f"sqlite:///{tmp_path / 'b.db'}") as other:
            other.add_student("cy")
            assert other.engine is not engine
        with Gradebook(url) as first:
            assert [s.id for s in first.students] == ["ann"]
    assert nbgrader.api.create_engine is own
    with Gradebook(url) as after:
        assert after.engine is not engine


def test_the_coordinator_saves_every_result_through_one_engine(
    course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    """autograde opens one engine per database, however many results come: the course's
    gradebook, where it saves each result (its rows, nbgrader's late penalty), and the one its
    tasks are made from."""
    write_notebook(course.root / "solutions/a/a.ipynb", new_notebook())
    release(course, ["a"])
    students = ["ann", "bob", "cy"]
    for student in students:
        write_notebook(course.directory("submitted") / student / "a/a.ipynb", new_notebook())

    class NoProcesses:
        def __init__(self, *args: object) -> None:
            pass

        def warm_up(self) -> None:
            pass

    def graded(processes: object, tasks: Iterator[tuple[Submission, bytes]], jobs: int):
        for submission, _ in tasks:
            yield submission, GradingResult(seconds=0.1).to_bytes()

    made: list[str] = []
    create_engine = sqlalchemy.create_engine

    def counted(url: str, **options: object) -> sqlalchemy.Engine:
        made.append(str(url))
        return create_engine(url, **options)

    monkeypatch.setattr(sqlalchemy, "create_engine", counted)
    monkeypatch.setattr(nbgrader.api, "create_engine", counted)  # what nbgrader calls
    monkeypatch.setattr(grader_autograde, "GradingProcesses", NoProcesses)
    monkeypatch.setattr(grader_autograde, "_grade_here", graded)
    subs = [Submission(student, "a") for student in students]
    outcomes = grader_autograde.autograde(course, subs, progress=False)
    assert [(o.failure, o.error) for o in outcomes] == [(None, None)] * len(students)
    assert all(is_graded(course, s) for s in subs)
    assert course.resolved_db_url in made  # and the task maker's copy of the released one
    assert len(made) == len(set(made)), made


def test_a_new_gradebook_is_versioned_without_running_alembic(
    course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse() -> str:
        raise AssertionError("nbgrader ran the alembic command")

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", refuse)
    with course.gradebook() as gradebook:
        assert gradebook.assignments == []  # nbgrader made its tables
        versions = gradebook.db.execute(sqlalchemy.text("SELECT * FROM alembic_version")).all()
    assert versions == [(alembic_head(),)]
    course.api()  # an existing gradebook is left alone
    with course.gradebook() as gradebook:
        assert (
            gradebook.db.execute(sqlalchemy.text("SELECT * FROM alembic_version")).all() == versions
        )


@pytest.mark.slow
def test_the_alembic_head_is_the_version_nbgrader_writes() -> None:
    assert alembic_head() == nbgrader.api.get_alembic_version()


def test_a_grading_process_computes_on_one_blas_thread() -> None:
    """The forkserver's preload (imported by this module) puts numpy's BLAS on one thread."""
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)
