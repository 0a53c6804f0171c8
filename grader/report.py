"""``report``: what a class got right and wrong in one assignment, for the instructor.

It reads the grading records (:mod:`grader.submissions`), never the tests: each autograded
test's score, the failure message the student saw and the identifier of the known mistake the
message names (the tag :mod:`chainrule.checks` ends it with). Per exercise (test cell): points,
pass rate, mean score, the named mistakes with the students who made each, and the other
failures grouped by their first line (numbers masked, since hidden inputs are random). Per
student: the score and the exercises lost. And, per answer cell, the answers unusually close to
each other or to the reference module (:mod:`grader.similarity`). :mod:`grader.report_html`
writes it as ``reports/<assignment>.html`` and ``.csv`` (instructors only: not in feedback/).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

import chainrule
from grader.cells import CellKind, cells_of, grade_id_of
from grader.course import Course, GraderError
from grader.export import grade_ids
from grader.similarity import Fingerprint, Match, fingerprint, reference_snippets, similar_answers
from grader.submissions import GradedTest, find_submissions, graded_tests, require_graded

#: A number in a message (a hidden test's random input, a value, a shape, an index).
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
#: The line of a failure message that explains it, in order of preference.
_EXPLAINING = ("likely mistake: ", "hint: ")


@dataclass
class Group:
    """Students whose failure of one test has the same cause."""

    key: str
    """The mistake identifier, or the masked first line of the message for an unexplained one."""
    label: str
    """How the failure messages word it."""
    students: list[str] = field(default_factory=list)
    example: str = ""
    """One full failure message of the group."""


@dataclass
class Exercise:
    """The class's results on one autograded test."""

    notebook: str
    grade_id: str
    points: float
    scores: dict[str, float]
    """student -> score."""
    mistakes: list[Group]
    """Failures that name a known mistake, most frequent first."""
    unexplained: list[Group]
    """Other failures, grouped by message, most frequent first."""

    @property
    def passed(self) -> int:
        return sum(score >= self.points for score in self.scores.values())

    @property
    def pass_rate(self) -> float:
        return self.passed / len(self.scores) if self.scores else 0.0

    @property
    def mean(self) -> float:
        return sum(self.scores.values()) / len(self.scores) if self.scores else 0.0


@dataclass
class Student:
    """One student's score on the assignment."""

    student: str
    score: float
    max_score: float
    lost: list[str]
    """Grade ids of the tests that scored less than their points."""


@dataclass
class Similarity:
    """Flagged answers to one answer cell."""

    notebook: str
    grade_id: str
    judged: int
    """Answers long enough for a verdict."""
    short: list[str]
    """Students who wrote an answer too short for a verdict."""
    matches: list[Match]


@dataclass
class Report:
    """Everything the report of one assignment shows."""

    assignment: str
    exercises: list[Exercise]
    students: list[Student]
    similarity: list[Similarity]


def explaining_line(message: str) -> str:
    """The words of a failure message that name its cause: its ``likely mistake:`` line, else
    its ``hint:`` line, else its first line."""
    lines = message.splitlines()
    for prefix in _EXPLAINING:
        found = [line[len(prefix) :] for line in lines if line.startswith(prefix)]
        if found:
            return found[-1]
    return lines[0] if lines else ""


def message_key(message: str) -> str:
    """What groups unexplained failures: the first line with every number masked as ``#``."""
    return _NUMBER.sub("#", message.splitlines()[0] if message else "(no message)")


def _groups(
    failures: list[tuple[str, GradedTest]],
    key: Callable[[GradedTest], str],
    label: Callable[[GradedTest], str],
) -> list[Group]:
    """The ``failures`` (student, test) grouped by ``key``; each group worded by the most
    frequent ``label`` of its tests; most students first."""
    groups: dict[str, Group] = {}
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    for student, test in failures:
        group = groups.setdefault(key(test), Group(key(test), "", example=test.message))
        group.students.append(student)
        labels[group.key][label(test)] += 1
    for group in groups.values():
        group.label = labels[group.key].most_common(1)[0][0]
    return sorted(groups.values(), key=lambda g: (-len(g.students), g.key))


def exercises(records: dict[str, list[GradedTest]], order: dict[str, list[str]]) -> list[Exercise]:
    """Per test, from the records (student -> tests), in notebook order (notebook -> grade ids)."""
    tests: dict[tuple[str, str], list[tuple[str, GradedTest]]] = defaultdict(list)
    for student, graded in sorted(records.items()):
        for test in graded:
            tests[test.notebook, test.grade_id].append((student, test))

    def position(key: tuple[str, str]) -> tuple[str, int, str]:
        ids = order.get(key[0], [])
        return key[0], ids.index(key[1]) if key[1] in ids else len(ids), key[1]

    result = []
    for notebook, grade_id in sorted(tests, key=position):
        results = tests[notebook, grade_id]
        failed = [(s, t) for s, t in results if t.score < t.max_score]
        named = [(s, t) for s, t in failed if t.mistake]
        other = [(s, t) for s, t in failed if not t.mistake]
        result.append(
            Exercise(
                notebook,
                grade_id,
                max(t.max_score for _, t in results),
                {s: t.score for s, t in results},
                _groups(named, lambda t: t.mistake, lambda t: explaining_line(t.message)),
                _groups(other, lambda t: message_key(t.message), lambda t: message_key(t.message)),
            )
        )
    return result


def students(records: dict[str, list[GradedTest]]) -> list[Student]:
    """Per student: total score, total points, and the tests lost."""
    return [
        Student(
            student,
            sum(t.score for t in graded),
            sum(t.max_score for t in graded),
            [t.grade_id for t in graded if t.score < t.max_score],
        )
        for student, graded in sorted(records.items())
    ]


def _cells(path: Path) -> dict[str, str]:
    """grade id -> source of the solution cells of the notebook at ``path`` ({} if unreadable).
    A v4 notebook is read as plain JSON: nbformat's validation would be most of the time."""
    try:
        notebook = json.loads(path.read_text())
        if notebook.get("nbformat") != 4:
            notebook = nbformat.read(path, as_version=4)
        cells = [nbformat.from_dict(c) for c in notebook["cells"] if isinstance(c, dict)]
        answers = cells_of(cells, CellKind.ANSWER)
    except Exception:  # a submission that is not a notebook has no answers to compare
        return {}
    found = {}
    for cell in answers:
        source = cell.get("source", "")
        found[str(grade_id_of(cell))] = "".join(source) if isinstance(source, list) else source
    return found


def similarity(course: Course, assignment: str, names: list[str]) -> list[Similarity]:
    """Per answer cell of the released notebooks, the flagged answers of ``names``' submissions."""
    references = reference_snippets(Path(chainrule.__file__).parent)
    result = []
    folder = course.directory("submitted")
    for release in course.notebook_paths("release", assignment):
        templates = _cells(release)
        submitted = {
            student: _cells(folder / student / assignment / release.name) for student in names
        }
        for grade_id, template in templates.items():
            answers: dict[str, Fingerprint] = {}
            for student, cells in submitted.items():
                answers[student] = fingerprint(cells.get(grade_id, template), template)
            short = [s for s, f in answers.items() if 0 < f.tokens and not f.judged]
            judged = sum(f.judged for f in answers.values())
            matches = similar_answers(answers, references)
            result.append(Similarity(release.stem, grade_id, judged, sorted(short), matches))
    return result


def build_report(course: Course, assignment: str) -> Report:
    """The report of ``assignment``; GraderError while one of its submissions is not graded."""
    require_graded(course, [assignment])
    submissions = find_submissions(course, [assignment])
    if not submissions:
        raise GraderError(f"no submission of {assignment} in {course.directory('submitted')}")
    records = {s.student: graded_tests(course, s) for s in submissions}
    order = {
        path.stem: grade_ids(course, assignment, path.stem)
        for path in course.notebook_paths("release", assignment)
    }
    return Report(
        assignment,
        exercises(records, order),
        students(records),
        similarity(course, assignment, sorted(records)),
    )
