"""The gradebook on PostgreSQL: a real server, parallel grading, every score written once.

The server is Debian's ``postgresql`` package, started by the ``postgres_url`` fixture
(tests/conftest.py) in a temporary data directory on a free loopback port, as the ``postgres``
user when the tests run as root; the test is skipped, with the reason, when it is not installed.
``.ci/run`` installs it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from grader.__main__ import main
from grader.course import CONFIG_FILE, Course
from grader.scores import cell_scores
from grader.submissions import Submission, is_graded

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "03_softmax"  # the quickest notebook to grade
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


def test_parallel_autograde_into_postgresql(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAINRULE_DB_URL", raising=False)
    root = tmp_path / "course"
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    shutil.copy(REPO / CONFIG_FILE, root / CONFIG_FILE)
    db = ["--course", str(root), "--db-url", postgres_url]
    assert main([*db, "release", ASSIGNMENT]) == 0
    course = Course(root, db_url=postgres_url)
    students = {"solution-1": "source", "solution-2": "source", "blank-1": "release"}
    for student, step in students.items():
        folder = course.directory("submitted") / student / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(course.notebook_paths(step, ASSIGNMENT)[0], folder / NOTEBOOK)

    assert main([*db, "autograde", "--jobs", "2", "--quiet"]) == 0

    with course.gradebook() as gradebook:
        scores = [s for s in cell_scores(gradebook) if s.autograded]
    assert {s.student for s in scores} == set(students)
    for student, step in students.items():
        mine = [s for s in scores if s.student == student]
        expected = [s.max_score for s in mine] if step == "source" else [0.0] * len(mine)
        assert [s.score for s in mine] == expected, student
        assert is_graded(course, Submission(student, ASSIGNMENT))
    # One submission row and one grade row per test cell: each score was written once.
    engine = create_engine(course.resolved_db_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT s.student_id, COUNT(*) FROM grade g "
                "JOIN submitted_notebook n ON g.notebook_id = n.id "
                "JOIN submitted_assignment s ON n.assignment_id = s.id GROUP BY s.student_id"
            )
        ).all()
    engine.dispose()
    tests_per_notebook = len(scores) // len(students)
    assert sorted(rows) == sorted((student, tests_per_notebook) for student in students)
    assert not list(root.glob("*.db")), "an SQLite gradebook was written next to PostgreSQL"
    assert main([*db, "export"]) == 0
