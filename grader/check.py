"""``check``: test the tests of every assignment, in a temporary copy of the course.

For each assignment: the solution notebook, graded as a submission, gets every autograded point;
the release notebook, graded unanswered, runs to the end and gets 0 on every autograded test;
``lectures/`` is byte for byte a fresh release (what nbgrader ignores aside, such as
JupyterLab's ``.ipynb_checkpoints``); and no answer (text between the solution delimiters) nor
hidden test reaches ``lectures/``. Grading is the one path a class is graded by
(:class:`grader.execute.TrustedExecute`: the sandbox, tests from ``solutions/``), and a problem
says why a test failed. The real gradebook and ``submitted/`` are never touched. Manually graded
cells are not counted.
"""

from __future__ import annotations

import filecmp
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

from grader.autograde import autograde
from grader.course import CONFIG_FILE, Course, select
from grader.limits import Limits
from grader.release import release
from grader.scores import CellScore, cell_scores
from grader.submissions import GradedTest, Submission, graded_tests

#: Student ids of the two notebooks graded in the copy of the course.
SOLUTION, BLANK = "solution", "blank"

#: A delimiter nbgrader removes, spelled in any way that shows it was not removed.
_MARKER = re.compile(r"\b(?:BEGIN|END)\s+(?:SOLUTION|HIDDEN\s+TESTS?)\b", re.IGNORECASE)


@dataclass
class AssignmentCheck:
    """What ``check`` found for one assignment."""

    assignment: str
    solution_points: tuple[float, float] = (0.0, 0.0)
    blank_points: tuple[float, float] = (0.0, 0.0)
    problems: list[str] = field(default_factory=list)

    def add_test_scores(
        self, tests: list[CellScore], why: dict[tuple[str, str, str], GradedTest]
    ) -> None:
        """Record the autograded test scores of the SOLUTION and BLANK submissions; ``why``
        holds the graded tests of both, by (student, notebook, cell), to say what failed."""

        def problem(score: CellScore, notebook: str) -> str:
            text = f"{score.notebook}/{score.cell} gives the {notebook} {score.score:g}/"
            text += f"{score.max_score:g}"
            graded = why.get((score.student, score.notebook, score.cell))
            return text + (f" ({graded.message})" if graded and graded.message else "")

        solution = [s for s in tests if s.student == SOLUTION]
        blank = [s for s in tests if s.student == BLANK]
        self.solution_points = (sum(s.score for s in solution), sum(s.max_score for s in solution))
        self.blank_points = (sum(s.score for s in blank), sum(s.max_score for s in blank))
        if not tests:
            self.problems.append("no autograded test cell")
        self.problems += [problem(s, "solution") for s in solution if s.score != s.max_score]
        self.problems += [problem(s, "unanswered release") for s in blank if s.score != 0]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def __str__(self) -> str:
        got, total = self.solution_points
        blank, _ = self.blank_points
        if self.ok:
            return (
                f"{self.assignment}: ok (solution {got:g}/{total:g}, unanswered release "
                f"{blank:g}/{total:g}, lectures/ up to date, no answer or hidden test released)"
            )
        return "\n  - ".join([f"{self.assignment}: FAILED", *self.problems])


def _text(notebook: Path) -> list[str]:
    """The stripped, non-blank source lines of every cell of ``notebook``."""
    cells = nbformat.read(notebook, as_version=4).cells
    return [line.strip() for cell in cells for line in cell.source.splitlines() if line.strip()]


def delimited_regions(lines: list[str], begin: str, end: str) -> list[list[str]]:
    """The line blocks strictly between lines containing ``begin`` and ``end``."""
    regions: list[list[str]] = []
    current: list[str] | None = None
    for line in lines:
        if begin in line:
            current = []
        elif end in line and current is not None:
            regions.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return regions


def leaks(course: Course, assignment: str) -> list[str]:
    """Answers, hidden tests or nbgrader delimiters of ``assignment`` found in ``lectures/``."""
    config = course.config()
    solutions = ClearSolutions(config=config)
    hidden = ClearHiddenTests(config=config)
    delimiters = {
        "answer": (solutions.begin_solution_delimeter, solutions.end_solution_delimeter),
        "hidden test": (hidden.begin_test_delimeter, hidden.end_test_delimeter),
    }
    source = [line for nb in course.notebook_paths("source", assignment) for line in _text(nb)]
    found = []
    for released in course.notebook_paths("release", assignment):
        lines = _text(released)
        text = "\n".join(lines)
        name = released.relative_to(course.root)
        found += [f"{name} contains the delimiter {m!r}" for m in _MARKER.findall(text)]
        for what, (begin, end) in delimiters.items():
            for region in delimited_regions(source, begin, end):
                body = "\n".join(region)
                if body and body in text:
                    found.append(f"{name} contains the {what} {region[0]!r}...")
    return found


def stale_release(course: Course, fresh: Course, assignment: str) -> list[str]:
    """Differences between ``lectures/<assignment>`` of ``course`` and of a fresh release, both
    without what nbgrader ignores (:meth:`Course.files`: e.g. JupyterLab's checkpoints)."""

    ours, theirs = (c.files(c.directory("release") / assignment) for c in (course, fresh))
    where = f"{course.directory('release').name}/{assignment}"
    hint = f" (run: python -m grader release {assignment})"
    return (
        [f"{where}/{p} is missing{hint}" for p in sorted(theirs.keys() - ours.keys())]
        + [
            f"{where}/{p} is not made by the release{hint}"
            for p in sorted(ours.keys() - theirs.keys())
        ]
        + [
            f"{where}/{p} differs from a fresh release{hint}"
            for p in sorted(ours.keys() & theirs.keys())
            if not filecmp.cmp(ours[p], theirs[p], shallow=False)
        ]
    )


def copy_course(course: Course, destination: Path) -> Course:
    """A copy of the course's configuration and sources (without what nbgrader ignores) with a
    gradebook of its own."""
    shutil.copy(course.root / CONFIG_FILE, destination / CONFIG_FILE)
    source = course.directory("source")
    shutil.copytree(
        source,
        destination / source.name,
        ignore=shutil.ignore_patterns(*course.coursedir().ignore),
    )
    return Course(destination, db_url=f"sqlite:///{destination / 'gradebook.db'}")


def _submit_references(copy: Course, names: list[str]) -> list[Submission]:
    """Submit, in the copy, each solution notebook as SOLUTION and each release as BLANK."""
    submissions = []
    for name in names:
        for student, step in ((SOLUTION, "source"), (BLANK, "release")):
            folder = copy.directory("submitted") / student / name
            folder.mkdir(parents=True)
            for notebook in copy.notebook_paths(step, name):
                shutil.copy(notebook, folder / notebook.name)
            submissions.append(Submission(student, name))
    return submissions


def check(
    course: Course,
    assignments: list[str] | None = None,
    *,
    jobs: int = 2,
    limits: Limits | None = None,
    isolation: bool = True,
) -> list[AssignmentCheck]:
    """Check ``assignments`` (default: every assignment with a source notebook), grading
    within ``limits`` (default :class:`grader.limits.Limits`), in bubblewrap if ``isolation``."""
    names = select(assignments, course.assignments())
    results = {name: AssignmentCheck(name) for name in names}
    with tempfile.TemporaryDirectory(prefix="grader-check-") as tmp:
        copy = copy_course(course, Path(tmp))
        release(copy, names)
        for name in names:
            results[name].problems += stale_release(course, copy, name) + leaks(course, name)
        submissions = _submit_references(copy, names)
        graded = autograde(
            copy, submissions, jobs=jobs, limits=limits, isolation=isolation, progress=False
        )
        for outcome in graded:
            reason = outcome.failure or outcome.error
            if reason is not None:
                notebook = "solution" if outcome.submission.student == SOLUTION else "release"
                results[outcome.submission.assignment].problems.append(
                    f"the {notebook} notebook could not be graded: {reason}"
                )
        with copy.gradebook() as gradebook:
            tests = [s for s in cell_scores(gradebook, names) if s.autograded]
        why = {
            (submission.student, graded.notebook, graded.grade_id): graded
            for submission in submissions
            for graded in graded_tests(copy, submission)
        }
    for name, result in results.items():
        result.add_test_scores([s for s in tests if s.assignment == name], why)
    return list(results.values())
