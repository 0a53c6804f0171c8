"""Running the course for a class (``docs/deploy.md``), the parts that can run on one machine.

- nbgrader's exchange: the instructor releases an assignment to an exchange folder, a student
  fetches it, answers and submits with the ``nbgrader`` commands a JupyterHub user has, the
  instructor collects, autogrades and returns feedback, which the student fetches.
- The gradebook URL of a deployment comes from ``CHAINRULE_DB_URL`` through the course's
  ``nbgrader_config.py``. (Grading into a real PostgreSQL server: ``tests/test_postgres.py``.)
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path

import pytest
from answers import answer_exercises
from html_text import page_text

from grader.__main__ import main
from grader.check import copy_course
from grader.course import CONFIG_FILE, Course

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_derivatives"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
NBGRADER = str(Path(sys.executable).parent / "nbgrader")


@pytest.mark.slow
# nbgrader 0.9's release_feedback passes a misspelled keyword ("authentictor") to traitlets.
@pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")
def test_release_fetch_submit_collect_grade_and_feedback_through_the_exchange(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAINRULE_DB_URL", raising=False)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    (tmp_path / "course").mkdir()
    course = copy_course(Course(REPO), tmp_path / "course")  # with an SQLite gradebook
    root = ["--course", str(course.root), "--db-url", str(course.db_url)]
    assert main([*root, "release", ASSIGNMENT]) == 0
    # The instructor's nbgrader_config.py names the exchange (the course id is already set).
    with (course.root / CONFIG_FILE).open("a") as config:
        config.write(f"\nc.Exchange.root = {str(exchange)!r}\n")
    # A student's home: their own nbgrader_config.py names the course and the same exchange.
    home = tmp_path / "student"
    home.mkdir()
    (home / CONFIG_FILE).write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = 'chainrule'\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
    )
    student_env = {**os.environ, "HOME": str(home)}

    def student(command: str) -> None:
        subprocess.run(
            [NBGRADER, command, ASSIGNMENT], cwd=home, env=student_env, check=True, timeout=120
        )

    api = course.api()
    assert api.release_assignment(ASSIGNMENT)["success"]
    student("fetch_assignment")
    fetched = home / ASSIGNMENT / NOTEBOOK
    answer_exercises(fetched, course.notebook_paths("source", ASSIGNMENT)[0])
    student("submit")
    assert api.collect(ASSIGNMENT)["success"]
    student_id = getpass.getuser()  # the exchange files a submission under the user's name
    assert course.notebook_paths("submitted", ASSIGNMENT, student_id)

    assert main([*root, "autograde", "--quiet"]) == 0
    with course.gradebook() as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student_id)
        score, max_score = submission.score, submission.max_score
    assert max_score > 0 and score == max_score
    assert main([*root, "feedback"]) == 0
    assert api.release_feedback(ASSIGNMENT)["success"]
    student("fetch_feedback")
    (page,) = (home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html")
    assert f"{score} / {max_score}" in page_text(page)


def test_the_gradebook_url_comes_from_chainrule_db_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_course(Course(REPO), tmp_path)
    url = "postgresql+psycopg2://grader@db.example.org/chainrule"
    monkeypatch.setenv("CHAINRULE_DB_URL", url)
    assert Course(tmp_path).coursedir().db_url == url
    monkeypatch.delenv("CHAINRULE_DB_URL")
    assert Course(tmp_path).coursedir().db_url == f"sqlite:///{tmp_path / 'gradebook.db'}"
