"""The course the test session grades once: every submission the end-to-end tests read.

:func:`build` makes, in an empty folder, a copy of the repository's configuration and source
notebooks, releases every assignment and submits:

* for each assignment, the source notebook as ``solution`` and the release as ``blank``, the
  two notebooks ``python -m grader check`` grades (:data:`grader.check.SOLUTION`, ``BLANK``);
* the wrong-answer catalogue (tests/wrong_answers.py): one student per classic mistake, named
  after it;
* the hostile corpus (tests/submissions/corpus.py): one student per case, named after it;
* the end-to-end students of notebook 01 (:func:`end_to_end_students`);
* the rest of the synthetic class of notebook 04 that the report reads
  (tests/synthetic_class.py);
* ``slow``: notebook 03 answered, with a cell that sleeps (tests/test_resume.py kills a run
  while it grades).

It grades them all in ONE ``python -m grader autograde --jobs 2`` run, with the limits of
:data:`LIMITS`, then writes the feedback pages the tests read (every student of
:data:`E2E_ASSIGNMENT`, each case of the corpus: :func:`feedback_commands`), exports the grades,
writes the report of notebook 04, and grades three students of notebook 01 again, one at a time
(:data:`REGRADED`). What the tests compare with what came later is kept in a
:class:`GradedCourse`: the scores of the first run, the grades CSV and one autograded notebook
before the regrade, and a digest of the course's files before and after grading.

The tests only read the course: a test that grades again works on a copy.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from submissions.corpus import CASES, Case, Notebooks, small, write
from synthetic_class import ASSIGNMENT as CLASS_ASSIGNMENT
from synthetic_class import class_answers
from wrong_answers import answered, catalogue, mistake_notebooks

from grader.cells import CellKind, cells_of, grade_id_of, points_by_test
from grader.check import BLANK, SOLUTION, copy_course
from grader.course import CONFIG_FILE, Course
from grader.export import export_csv
from grader.scores import cell_scores
from grader.secret import SECRET_ENV

ROOT = Path(__file__).resolve().parents[1]
#: Grading processes of the one autograde run.
JOBS = 2
#: Seconds per cell (and per test) and per submission. A cell of a solution notebook runs in
#: under 2 s on an idle laptop: 10 s leaves room for a 2-core machine grading two at once, and
#: the hostile cases that loop forever cost 10 s each. ``slow`` sleeps less than a cell may run.
LIMITS = ("--cell-timeout", "10", "--timeout", "60")
SLOW_SECONDS = 8
#: The student of 03_softmax whose last cell sleeps :data:`SLOW_SECONDS` (a run killed mid-way).
SLOW_STUDENT = "slow"
#: The notebook of the end-to-end students.
E2E_ASSIGNMENT = "01_derivatives"
#: The end-to-end students graded again, one at a time, after the first run.
REGRADED = ("correct", "wrong", "shape-a")
#: What a student of the end-to-end notebook warns while a test calls the answer.
STUDENT_WARNING = "a warning raised by the student's code"
#: The course's gradebook file (nbgrader's default URL, in the course root).
GRADEBOOK = "gradebook.db"
#: The files of the course that record what happened around the regrade.
FIRST_CSV, FIRST_PLOT = "grades-first-run.csv", "grades-first-run.png"
#: The gradebook as ``release`` left it (every assignment, no submission): a test that grades
#: again starts from a copy.
RELEASED_GRADEBOOK = "gradebook-released.db"
REGRADED_CSV = "grades-after-regrade.csv"
SHAPE_BUG_BEFORE = "shape-a-before-regrade.ipynb"

#: assignment -> student -> test -> score.
Scores = dict[str, dict[str, dict[str, float]]]
#: What a student submits: a notebook, raw text, or a case of the corpus (with the notebooks it
#: is built from).
Submitted = nbformat.NotebookNode | str | tuple[Case, Notebooks]


def rewrite_answers(source: str, rewrite: Callable[[list[str], str], list[str]]) -> str:
    """``source`` with the lines of each BEGIN/END SOLUTION region replaced by ``rewrite``
    (given the region's lines and its indentation)."""
    out: list[str] = []
    body: list[str] | None = None
    indent = ""
    for line in source.splitlines():
        if "BEGIN SOLUTION" in line:
            out.append(line)
            body, indent = [], line[: len(line) - len(line.lstrip())]
        elif "END SOLUTION" in line and body is not None:
            out += rewrite(body, indent) + [line]
            body = None
        elif body is not None:
            body.append(line)
        else:
            out.append(line)
    return "\n".join(out)


def answer_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The autograded answer cells: answer cells whose test cell is ``test_<grade_id>``."""
    tests = set(points_by_test(notebook.cells))
    return [
        c for c in cells_of(notebook.cells, CellKind.ANSWER) if f"test_{grade_id_of(c)}" in tests
    ]


@dataclass(frozen=True)
class EndToEnd:
    """The test cells the end-to-end students of notebook 01 are about."""

    first_test: str
    """The test of the first exercise (``a-hang`` and ``dead`` break its answer)."""
    wrong_test: str
    """The test of the last exercise, which ``wrong`` answers with None."""
    shape_bug_test: str
    """The test of tanh_grad, which ``shape-a`` and ``shape-b`` get wrong on hidden shapes."""
    deleted_test: str
    """The test cell ``correct`` deleted (grading puts it back)."""


def end_to_end_tests(solution: nbformat.NotebookNode) -> EndToEnd:
    """The tests the end-to-end students are about, from notebook 01's source."""
    answers = answer_cells(solution)
    tests = [f"test_{grade_id_of(c)}" for c in answers]
    return EndToEnd(tests[0], tests[-1], "test_tanh_grad", tests[1])


def end_to_end_students(
    solution: nbformat.NotebookNode,
) -> dict[str, nbformat.NotebookNode | str]:
    """student -> submission (a notebook, or raw text) of notebook 01's end-to-end tests:

    ``correct`` warns in its first answer and deleted the test of its second; ``wrong`` returns
    None in its last; ``a-hang`` sleeps and ``dead`` ends the sandbox in the first answer;
    ``not-json`` is not a notebook; ``shape-a`` and ``shape-b`` are right on the visible
    tests' shapes and wrong on the hidden ones (the same notebook, two students).
    """
    answers = answer_cells(solution)
    about = end_to_end_tests(solution)

    def variant(cell: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
        notebook = nbformat.from_dict(json.loads(json.dumps(solution)))
        notebook.cells[solution.cells.index(cell)].source = source
        return notebook

    first, last = answers[0], answers[-1]
    (tanh,) = [c for c in answers if f"test_{grade_id_of(c)}" == about.shape_bug_test]
    # Right on a scalar and on 17 points (the visible tests), wrong on 1 to 3 axes of 1 to 5
    # entries (the hidden ones): the feedback shows the hidden inputs.
    shape_bug = [
        "if np.ndim(a) > 0 and np.size(a) != 17:",
        "    return 1 - tanh(a) ** 2 + 0.01 * np.asarray(a)",
    ]
    shape_bug_notebook = variant(
        tanh, rewrite_answers(tanh.source, lambda b, i: [i + w for w in shape_bug] + b)
    )
    warn = ["import warnings", f"warnings.warn({STUDENT_WARNING!r})"]
    correct = variant(first, rewrite_answers(first.source, lambda b, i: [i + w for w in warn] + b))
    correct.cells = [c for c in correct.cells if grade_id_of(c) != about.deleted_test]
    return {
        "a-hang": variant(first, "import time\ntime.sleep(600)"),
        "correct": correct,
        "wrong": variant(last, rewrite_answers(last.source, lambda b, i: [f"{i}return None"])),
        "not-json": "this is not a notebook {",
        "dead": variant(first, "import os\nos._exit(1)"),
        "shape-a": shape_bug_notebook,
        "shape-b": shape_bug_notebook,
    }


def slow_student(notebooks: Notebooks) -> nbformat.NotebookNode:
    """Notebook 03 answered (no text, no demos), with a last cell that sleeps."""
    notebook = small(notebooks)
    sleep = nbformat.v4.new_code_cell(f"import time\ntime.sleep({SLOW_SECONDS})")
    notebook.cells.append(sleep)
    return notebook


def _submit(course: Course, assignment: str, student: str, submission: Submitted) -> None:
    """Write ``student``'s ``submission`` of ``assignment``."""
    folder = course.directory("submitted") / student / assignment
    if folder.exists():
        raise ValueError(f"two submissions of {student} for {assignment}")
    folder.mkdir(parents=True)
    path = folder / f"{assignment}.ipynb"
    if isinstance(submission, str):
        path.write_text(submission)
    elif isinstance(submission, nbformat.NotebookNode):
        nbformat.write(submission, path)
    else:
        case, notebooks = submission
        write(case, notebooks, folder)


def feedback_commands() -> list[tuple[str, ...]]:
    """The ``feedback`` commands that write the pages the tests read, and only those (a page
    costs about half a CPU-second): every student of :data:`E2E_ASSIGNMENT`, and each case of
    the corpus in the other assignments (``--student``)."""
    cases = [case for case in CASES if case.assignment != E2E_ASSIGNMENT]
    others = sorted({case.assignment for case in cases})
    students = sorted({case.name for case in cases})
    return [("feedback", E2E_ASSIGNMENT), ("feedback", *others, "--student", *students)]


def file_digests(root: Path) -> dict[str, str]:
    """What grading must leave alone, by path: the configuration, solutions/, lectures/ and
    submitted/ (the gradebook, autograded/ and feedback/ are grading's output)."""
    files = [root / CONFIG_FILE]
    for folder in ("solutions", "lectures", "submitted"):
        files += [p for p in sorted((root / folder).rglob("*")) if p.is_file()]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def autograded_scores(course: Course) -> Scores:
    """The autograded test scores in the gradebook."""
    scores: Scores = {}
    with course.gradebook() as gradebook:
        for s in cell_scores(gradebook):
            if s.autograded:
                scores.setdefault(s.assignment, {}).setdefault(s.student, {})[s.cell] = s.score
    return scores


def grader_commands(course: Course, *commands: tuple[str, ...]) -> None:
    """``python -m grader --course ROOT COMMAND`` for each of ``commands``, all at once, each as
    a process of its own, as an instructor runs it, on the course's own gradebook and secret
    file. Each command's output and time are printed (the build's log); a command that fails
    fails the build, with its output."""
    env = {k: v for k, v in os.environ.items() if k not in ("CHAINRULE_DB_URL", SECRET_ENV)}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    base = [sys.executable, "-m", "grader", "--course", str(course.root)]
    start = time.monotonic()
    running = [
        (
            command,
            subprocess.Popen(
                [*base, *command],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )
        for command in commands
    ]
    for command, process in running:
        output, _ = process.communicate()
        line = f"python -m grader {' '.join(command)} ({time.monotonic() - start:.0f} s)"
        print(f"{line}\n{output}", flush=True)
        assert process.returncode == 0, f"{line}:\n{output}"


@dataclass(frozen=True)
class FirstRun:
    """The graded course right after its one autograde run, before the feedback, the export, the
    report and the regrade: its submissions, gradebook and autograded/ folder of that run are
    final, but for the :data:`REGRADED` students of :data:`E2E_ASSIGNMENT`."""

    root: Path
    """The course directory."""
    records: Path
    """The folder of what was kept along the way (:data:`RELEASED_GRADEBOOK`, ...)."""


@dataclass(frozen=True)
class GradedCourse:
    """The graded course of the session (module docstring) and what happened around it."""

    root: Path
    """The course directory."""
    records: Path
    """The folder of what was kept along the way (:data:`FIRST_CSV`, ...)."""
    first: Scores
    """The autograded scores after the first (parallel) run."""
    final: Scores
    """The scores after the regrade of :data:`REGRADED`."""
    files_before: dict[str, str]
    files_after: dict[str, str]
    """:func:`file_digests` before and after grading."""
    submitted: dict[str, list[str]]
    """assignment -> the students who submitted it."""
    gradebook_submissions: int
    """The submission rows in the gradebook."""
    end_to_end: EndToEnd

    @property
    def course(self) -> Course:
        """The course, with its own gradebook whatever ``CHAINRULE_DB_URL`` says."""
        return Course(self.root, db_url=f"sqlite:///{self.root / 'gradebook.db'}")

    def points(self, assignment: str) -> dict[str, float]:
        """test -> points of each autograded test of ``assignment``."""
        path = self.course.notebook_paths("source", assignment)[0]
        return points_by_test(nbformat.read(path, as_version=4).cells)

    def to_json(self) -> str:
        fields = dict(self.__dict__)
        fields.update(root=str(self.root), records=str(self.records))
        fields["end_to_end"] = self.end_to_end.__dict__
        return json.dumps(fields)

    @classmethod
    def from_json(cls, text: str) -> GradedCourse:
        fields = json.loads(text)
        fields.update(root=Path(fields["root"]), records=Path(fields["records"]))
        fields["end_to_end"] = EndToEnd(**fields["end_to_end"])
        return cls(**fields)


def build(folder: Path, first_run_done: Callable[[], None] = lambda: None) -> GradedCourse:
    """Build, grade and record the session's course in the empty ``folder`` (module docstring);
    call ``first_run_done`` as soon as the one autograde run has ended."""
    root, records = folder / "course", folder / "records"
    root.mkdir()
    records.mkdir()
    course = copy_course(Course(ROOT), root)
    assignments = course.assignments()
    grader_commands(course, ("release",))
    shutil.copy(root / GRADEBOOK, records / RELEASED_GRADEBOOK)
    notebooks = {
        a: Notebooks(
            *(
                nbformat.read(course.notebook_paths(s, a)[0], as_version=4)
                for s in ("source", "release")
            )
        )
        for a in assignments
    }
    submitted: dict[str, list[str]] = {a: [] for a in assignments}

    def submit(assignment: str, student: str, submission: Submitted) -> None:
        _submit(course, assignment, student, submission)
        submitted[assignment].append(student)

    for assignment in assignments:
        submit(assignment, SOLUTION, notebooks[assignment].source)
        submit(assignment, BLANK, notebooks[assignment].release)
    for assignment, mistakes in catalogue().items():
        n = notebooks[assignment]
        for student, notebook in mistake_notebooks(n.source, n.release, mistakes).items():
            submit(assignment, student, notebook)
    for student, submission in end_to_end_students(notebooks[E2E_ASSIGNMENT].source).items():
        submit(E2E_ASSIGNMENT, student, submission)
    for student, answers in class_answers().items():  # the catalogue's students are there
        if student not in submitted[CLASS_ASSIGNMENT]:
            submit(
                CLASS_ASSIGNMENT, student, answered(notebooks[CLASS_ASSIGNMENT].release, answers)
            )
    submit("03_softmax", SLOW_STUDENT, slow_student(notebooks["03_softmax"]))
    with socket.create_server(("127.0.0.1", 0)) as listening:  # what "network" must not reach
        port = listening.getsockname()[1]
        for case in CASES:
            n = notebooks[case.assignment]
            submit(case.assignment, case.name, (case, Notebooks(n.source, n.release, port)))
        before = file_digests(root)
        grader_commands(course, ("autograde", "--jobs", str(JOBS), "--quiet", *LIMITS))
        after = file_digests(root)
    first_run_done()
    first = autograded_scores(course)
    grader_commands(  # they only read what grading wrote
        course,
        *feedback_commands(),
        ("export", "--to", str(records / FIRST_CSV), "--plot", str(records / FIRST_PLOT)),
        ("report", CLASS_ASSIGNMENT),
    )
    shape_bug = course.directory("autograded") / "shape-a" / E2E_ASSIGNMENT
    shutil.copy(shape_bug / f"{E2E_ASSIGNMENT}.ipynb", records / SHAPE_BUG_BEFORE)
    regrade = ("autograde", E2E_ASSIGNMENT, "--student", *REGRADED, "--jobs", "1", "--quiet")
    grader_commands(course, (*regrade, *LIMITS))
    export_csv(course, records / REGRADED_CSV)
    with course.gradebook() as gradebook:
        rows = sum(len(a.submissions) for a in gradebook.assignments)
    return GradedCourse(
        root,
        records,
        first,
        autograded_scores(course),
        before,
        after,
        submitted,
        rows,
        end_to_end_tests(notebooks[E2E_ASSIGNMENT].source),
    )


class SharedBuild:
    """The graded course of one test run, built once in ``shared``, a folder every process of
    the run sees (with pytest-xdist, the parent of the workers' temporary folders).

    :meth:`start` builds it in a process of its own, in the background, while the tests that do
    not need it run; :meth:`result` waits for it. An exclusive ``flock`` on a file of ``shared``
    is held by whoever builds: the background process (it inherits the lock), or the caller of
    :meth:`result` when nobody started a build (or a started one died without a word).
    """

    def __init__(self, shared: Path) -> None:
        self.folder = shared / "graded-course"
        self.manifest = shared / "graded-course.json"
        self.failed = shared / "graded-course.failed"
        self.lock = shared / "graded-course.lock"
        self.log = shared / "graded-course.log"
        self.first_run_marker = shared / "graded-course.first-run"

    def start(self) -> subprocess.Popen | None:
        """Start building in the background; None when it is built or being built already."""
        with open(self.lock, "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            if self.manifest.exists() or self.failed.exists():
                return None
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                [str(ROOT), str(ROOT / "tests"), *filter(None, [env.get("PYTHONPATH")])]
            )
            with open(self.log, "w") as log:
                return subprocess.Popen(  # keeps the lock until it exits
                    [sys.executable, __file__, str(self.folder.parent)],
                    pass_fds=(lock.fileno(),),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )

    def build_here(self) -> None:
        """Build in this process; record the error if it fails."""
        shutil.rmtree(self.folder, ignore_errors=True)  # what a killed build left
        self.first_run_marker.unlink(missing_ok=True)
        self.folder.mkdir()
        try:
            self.manifest.write_text(build(self.folder, self.first_run_marker.touch).to_json())
        except BaseException:
            self.failed.write_text(traceback.format_exc())
            raise

    def result(self) -> GradedCourse:
        """The graded course: wait for the build, or build it here if nobody did. Raises
        RuntimeError, with its traceback, when the build failed."""
        with open(self.lock, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not (self.manifest.exists() or self.failed.exists()):
                self.build_here()
        if self.failed.exists():
            raise RuntimeError(f"the graded course could not be built:\n{self.failed.read_text()}")
        return GradedCourse.from_json(self.manifest.read_text())

    def first_run(self) -> FirstRun:
        """The course as soon as its one autograde run has ended: wait for that while a build
        is at work, else (nobody builds, or the build has ended) as :meth:`result`."""
        while not self.first_run_marker.exists():
            if self.manifest.exists() or self.failed.exists() or not self._being_built():
                course = self.result()
                return FirstRun(course.root, course.records)
            time.sleep(0.5)
        return FirstRun(self.folder / "course", self.folder / "records")

    def _being_built(self) -> bool:
        """Whether a process holds the build's lock."""
        with open(self.lock, "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False  # released when the file closes


if __name__ == "__main__":  # SharedBuild.start's background process
    SharedBuild(Path(sys.argv[1])).build_here()
